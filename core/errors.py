"""The one exception type for problems a user can cause and fix."""

import signal


class WLitePoseError(Exception):
    """A user-facing error: its message is one sentence that names the problem.

    The CLI prints it without a traceback and exits with status 2; the GUI shows it in a
    dialog or the status bar.
    """


class Stopped(KeyboardInterrupt):
    """A run stopped by signal ``signum`` (Ctrl-C, kill: the exit status is 128 + it); ``at_once`` when a second
    signal cut a frame or the closing of the outputs short rather than waiting for the frame's end;
    ``before_start`` when it came before any output was opened; ``left`` says what the run leaves and how to go
    on, for the line that reports the stop."""

    def __init__(self, signum: int, at_once: bool = False, before_start: bool = False, left: str = "") -> None:
        super().__init__(signum)
        self.signum, self.at_once, self.before_start, self.left = signum, at_once, before_start, left


def signal_of(stop: KeyboardInterrupt) -> int:
    """The signal a run stopped for: a Stopped's, else Ctrl-C's (Python's own KeyboardInterrupt)."""
    return stop.signum if isinstance(stop, Stopped) else signal.SIGINT


class OutputTaken(WLitePoseError):
    """An output another process holds the lock of (core.output_lock): a run writing it right now; ``output`` is
    its name for messages."""

    def __init__(self, message: str, output: str) -> None:
        super().__init__(message)
        self.output = output


class ReaderGone(Exception):
    """The standard output a run streams its CSV to takes no more (its reader left, as ``| head`` does; or a full
    disk, which the command reports as results lost): the run ends there, as a pipe's writer does."""


class SourceFailed(WLitePoseError):
    """A source of a run that failed after ``frames`` frames had been written to its outputs; ``taken`` names the
    output another run held (OutputTaken), so that nothing was written."""

    def __init__(self, message: str, frames: int, taken: str | None) -> None:
        super().__init__(message)
        self.frames, self.taken = frames, taken

    def left_behind(self) -> str:
        """What the failed source leaves in its output files, to follow its error."""
        if self.frames:
            from core.progress import frames_text

            return f"its outputs hold the {frames_text(self.frames)} before the error"
        return "no frame was written for it"
