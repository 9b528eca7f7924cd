"""wlitepose: the command-line entry. Parses the subcommand and hands over to app/core/models/training.

Each subcommand lives in its package's ``cli.py``, which imports only the standard library
at module level, so ``wlitepose track`` never loads torch and ``wlitepose train`` never
loads Qt.
"""

from __future__ import annotations

import argparse
import contextlib
import errno
import importlib
import os
import signal
import sys
import threading
from pathlib import Path

# OpenCV's and FFmpeg's own console lines (a camera index that does not open while cameras are listed,
# "moov atom not found" for a broken file) would only repeat, less clearly, the errors the tool reports
# itself. Set in the tool's own process, before OpenCV loads, and not by `import core`, which leaves a program
# embedding it alone. Set either variable to see them again.
os.environ.setdefault("OPENCV_LOG_LEVEL", "FATAL")
os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")  # AV_LOG_QUIET

# what a write to the standard output fails with when its results are lost: a full disk, a file size limit, a quota
RESULTS_LOST = (errno.ENOSPC, errno.EFBIG, getattr(errno, "EDQUOT", errno.ENOSPC))

# the modules the tool imports -> the package that installs each (as pyproject.toml lists them)
DEPENDENCIES = {
    "numpy": "numpy",
    "scipy": "scipy",
    "cv2": "opencv-python-headless",
    "onnxruntime": "onnxruntime",
    "PySide6": "PySide6-Essentials",
    "pyqtgraph": "pyqtgraph",
    "filterpy": "filterpy",
}

# name -> (module, help); the module defines add_arguments(name, parser) and run(name, args) -> int
COMMANDS: dict[str, tuple[str, str]] = {
    "gui": ("app.cli", "open the desktop application (the default with no subcommand)"),
    "track": ("core.cli", "run pose tracking on a video, image folder, webcam or stream and export results"),
    "eval": ("core.cli", "score a model on a COCO/CrowdPose-format keypoint set (OKS AP)"),
    "info": ("models.cli", "print params, MACs and output shapes of a network variant"),
    "export": ("models.cli", "export a checkpoint or a variant to an ONNX model file with metadata"),
    "train": ("training.cli", "train a network on COCO, CrowdPose or a COCO-format folder"),
    "shrink-data": ("training.cli", "copy a COCO-format training folder with images no larger than training uses"),
}


def build_parser() -> argparse.ArgumentParser:
    from core.version import tool_version

    parser = argparse.ArgumentParser(
        prog="wlitepose", description="Real-time multi-person pose estimation and tracking."
    )
    parser.add_argument("--version", action="version", version=f"wlitepose {tool_version()}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (module, help_text) in COMMANDS.items():
        sub_parser = sub.add_parser(name, help=help_text, description=help_text)
        importlib.import_module(module).add_arguments(name, sub_parser)
    return parser


def main(argv: list[str] | None = None) -> int:
    _fill_closed_descriptors()
    streams = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = _Console(sys.stdout), _Console(sys.stderr)
    ctrl_c = signal.getsignal(signal.SIGINT)
    if ctrl_c is signal.default_int_handler and threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGINT, _interrupt)  # not where the process was started ignoring it, nor a caller's own
    try:
        code = _run(argv)
        sys.stdout.flush()  # what the command printed leaves the buffer while its failure can still be said
        if sys.stdout.lost:  # a full disk under `> results.txt`: the run's results are not where they were sent
            print(f"wlitepose: error: cannot write the standard output: {sys.stdout.lost}", file=sys.stderr)
            return code or 2
        return code
    except ModuleNotFoundError as error:  # `wlitepose VIDEO` imports OpenCV before any command runs
        top = (error.name or "").partition(".")[0]
        if top not in DEPENDENCIES:
            raise
        print(f"wlitepose: error: {_missing(top)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:  # Ctrl-C while the modules load, before a command runs
        print("wlitepose: interrupted", file=sys.stderr)
        return 128 + signal.SIGINT
    finally:
        sys.stdout, sys.stderr = streams
        if signal.getsignal(signal.SIGINT) is _interrupt:  # not interrupted: Ctrl-C is the caller's again
            signal.signal(signal.SIGINT, ctrl_c)


def _interrupt(signum, frame) -> None:
    """Ctrl-C's handler while no command has one of its own: the run stops as at Python's, and a second Ctrl-C
    ends the process at once, as the system ends it (Python's own handler raised it again wherever it landed: a
    traceback where the first was being reported, or in Python's exit; and a hung clean-up could not be left)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    raise KeyboardInterrupt


class _Console:
    """A console stream whose reader may go while a run goes on (its terminal closed, ``| head``, ``2>&-``):
    what is written after that is dropped, rather than the run stopping with a traceback (exit 1, a batch's
    other sources never started). A write that fails while a reader is there (a full disk) is kept in ``lost``."""

    def __init__(self, stream) -> None:
        self._stream = stream  # None: Python found the descriptor closed at start
        self.lost = ""  # why what was written is lost, where its reader did not go

    def write(self, text: str) -> int:
        self._do("write", text)
        return len(text)

    def flush(self) -> None:
        self._do("flush")

    def _do(self, name: str, *args) -> None:
        if self._stream is not None:
            try:
                getattr(self._stream, name)(*args)
            except (OSError, ValueError) as error:  # EPIPE, EIO (a closed terminal), EBADF; ValueError: a closed file
                if getattr(error, "errno", None) in RESULTS_LOST:  # not a reader gone (EINVAL on Windows for a pipe)
                    self.lost = error.strerror or str(error)
                _to_null(self._stream)
                self._stream = None

    def isatty(self) -> bool:
        return self._stream is not None and self._stream.isatty()

    @property
    def closed(self) -> bool:
        """Whether what is written is dropped (its reader gone, or its results lost): ``track --csv -`` ends there."""
        return self._stream is None

    def __getattr__(self, name: str):
        return getattr(self._stream, name)


def _to_null(stream) -> None:
    """The descriptor under ``stream`` pointed at the null device: what its buffer still holds, which Python
    flushes at exit, goes nowhere rather than failing again (exit status 120 after a run that did its work)."""
    try:
        fd, null = stream.fileno(), os.open(os.devnull, os.O_WRONLY)
    except (OSError, ValueError):  # a stream without a descriptor (a test's capture)
        return
    os.dup2(null, fd)
    os.close(null)


def _fill_closed_descriptors() -> None:
    """Standard input, output and error closed at start (``2>&-``) get the null device: else the first file the
    run opens would take that number, and anything a library writes to the console (FFmpeg, ONNX Runtime) would
    land in an output."""
    for fd in (0, 1, 2):
        try:
            os.fstat(fd)
        except OSError:
            os.open(os.devnull, os.O_RDWR)  # the lowest free number: this one, those below it being open


def _run(argv: list[str] | None) -> int:
    from core.errors import WLitePoseError, signal_of
    from core.stop_request import StopAtOnce

    # a printed path the console's code page cannot show (Windows, output redirected) is shown escaped
    # rather than stopping the command after its work is done
    if hasattr(sys.stdout, "reconfigure"):
        sys.stdout.reconfigure(errors="backslashreplace")
    argv = sys.argv[1:] if argv is None else argv
    try:
        os.getcwd()
    except FileNotFoundError:  # relative paths, the app's folder box and a source's name all start from it
        print("wlitepose: error: the current folder no longer exists; cd into an existing one", file=sys.stderr)
        return 2
    if argv and argv[0] not in COMMANDS and not argv[0].startswith("-") and not _looks_like_source(argv[0]):
        print(
            f"wlitepose: error: {argv[0]!r} is neither a command ({', '.join(COMMANDS)}) "
            "nor an existing file, folder, webcam index or stream URL",
            file=sys.stderr,
        )
        return 2
    if not argv or argv[0] not in COMMANDS and not argv[0].startswith("-"):
        argv = ["gui", *argv]  # `wlitepose` and `wlitepose VIDEO` open the app
    args = build_parser().parse_args(argv)
    try:
        with contextlib.ExitStack() as handled:
            if args.command != "gui":  # the app closes its window on the stop signals, once its handlers are in
                handled.enter_context(StopAtOnce())  # track and train set their own while they loop
            return importlib.import_module(COMMANDS[args.command][0]).run(args.command, args)
    except WLitePoseError as error:
        print(f"wlitepose: error: {error}", file=sys.stderr)
        return 2
    except OSError as error:  # one no command words itself (a full disk under a library): a sentence, not a traceback
        named = f"cannot use {error.filename}: " if error.filename else ""
        print(f"wlitepose: error: {named}{error.strerror or error}", file=sys.stderr)
        return 2
    except MemoryError:
        done = (
            "; the outputs hold the frames written before it (a PoseC3D pickle is held whole: leave it out of long "
            "runs)"
            if args.command == "track"
            else ""
        )
        print(f"wlitepose: error: out of memory{done}", file=sys.stderr)
        return 2
    except KeyboardInterrupt as error:  # Ctrl-C, or core.errors.Stopped: a signal a run stopped for
        print(f"wlitepose: interrupted{_left_behind(args.command, error)}", file=sys.stderr)
        return 128 + signal_of(error)


def _left_behind(command: str, stop: KeyboardInterrupt) -> str:
    """What a run stopped by a signal leaves, to follow "interrupted" ("": its outputs are written whole or not at
    all, as export's and eval's are)."""
    from core.errors import Stopped

    stop = stop if isinstance(stop, Stopped) else Stopped(signal.SIGINT)  # Python's own, from Ctrl-C
    if stop.left:
        return f"; {stop.left}"
    if stop.before_start and command == "track":  # its modules, the model, the plan
        return " before tracking began: no output was written"
    if stop.at_once and command == "track":
        return (
            " at once by a second signal: the outputs hold what was written, and may end a frame apart (the "
            "CSV's sidecar may count fewer frames than its rows)"
        )
    return "; outputs written so far are complete up to the last frame" if command == "track" else ""


def _missing(module: str) -> str:
    """One sentence for a dependency that cannot be imported, with the command that installs it."""
    package = DEPENDENCIES[module]
    text = f"the package {package} is not installed here (Python cannot import {module}): pip install {package}"
    if module == "cv2":  # opencv-python removed beside it takes the cv2 folder both install along
        text += " --force-reinstall (opencv-python, uninstalled beside it, took the cv2 folder the two share)"
    return text


def _looks_like_source(word: str) -> bool:
    """`wlitepose SOURCE` opens the app on it: an existing path, a webcam index or a stream URL."""
    from core.sources import clean_spec, is_live

    spec = clean_spec(word)
    return is_live(spec) or Path(os.path.expanduser(spec)).exists()


if __name__ == "__main__":
    sys.exit(main())
