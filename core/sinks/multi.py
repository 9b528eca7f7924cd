"""Open the sinks a run asked for, as one context manager."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

from core.errors import OutputTaken, WLitePoseError
from core.model_file import ModelInfo
from core.output_lock import OutputLock, check_free, take
from core.poses import Poses
from core.sinks.base import Sink, name_key, refuse_inputs, writable
from core.sinks.coco_dataset import CocoDatasetSink
from core.sinks.coco_json import CocoJsonSink
from core.sinks.csv_sink import CsvSink, CsvStdoutSink, is_stdout, sidecar_path, unfinish
from core.sinks.openpose import FRAME_FILE, OpenPoseSink, check_frame_names
from core.sinks.posec3d import PoseC3DSink
from core.sinks.video import VideoSink, check_video_name
from core.sources import check_exists, is_image_sequence, source_name
from core.version import tool_version

NAME_FIELD = "{name}"  # in an output path: the source's name (core.sources.source_name)
STDOUT_NAME = "the CSV on the standard output"  # --csv -, as messages name it


@dataclass(frozen=True)
class SinkOptions:
    csv: str | Path | None = None
    coco_json: str | Path | None = None
    openpose_dir: str | Path | None = None
    posec3d: str | Path | None = None
    video: str | Path | None = None
    coco_dataset: str | Path | None = None

    @property
    def templated(self) -> bool:
        """Every path given holds ``{name}``, so each source of a batch gets its own files."""
        return all(NAME_FIELD in str(v) for v in asdict(self).values() if v is not None)

    def for_source(self, name: str) -> SinkOptions:
        """The paths with ``{name}`` replaced by a source's name."""
        return SinkOptions(**{k: v if v is None else str(v).replace(NAME_FIELD, name) for k, v in asdict(self).items()})


class MultiSink(Sink):
    """The sinks of one run; a file that cannot be written (a full disk) is a WLitePoseError naming it. It holds
    its outputs' locks (core.output_lock) until they are closed."""

    def __init__(self) -> None:
        self.sinks: list[Sink] = []
        self.locks: list[OutputLock] = []
        self.source_ended = False  # set by the run once the source's last frame is written
        self.frames_at_people_cap = 0  # frames written that gave as many people as decoding keeps

    def add(self, sink: Sink) -> None:
        self.sinks.append(sink.__enter__())

    @property
    def writes_video(self) -> bool:
        """Whether an annotated video is among the outputs (the others take a frame as analysed, undrawn)."""
        return any(isinstance(sink, VideoSink) for sink in self.sinks)

    def write(self, frame_index: int, time_s: float, poses: Poses, image=None) -> None:
        for sink in self.sinks:
            with _naming(sink.path):
                sink.write(frame_index, time_s, poses, image)

    def settings_changed(self, frame_index: int, settings: dict) -> None:
        for sink in self.sinks:
            with _naming(sink.path):
                sink.settings_changed(frame_index, settings)

    def shot_changed(self, frame_index: int) -> None:
        for sink in self.sinks:
            with _naming(sink.path):
                sink.shot_changed(frame_index)

    def reached_people_cap(self, frame_index: int) -> None:
        self.frames_at_people_cap += 1
        for sink in self.sinks:
            with _naming(sink.path):
                sink.reached_people_cap(frame_index)

    def notes(self) -> list[str]:
        return [note for sink in self.sinks for note in sink.notes()]

    def close(self) -> None:
        """Close every sink, the last opened first, even when one fails or a second Ctrl+C interrupts one;
        then let go of the locks and raise the first failure."""
        failure = None
        for sink in reversed(self.sinks):
            try:
                with _naming(sink.path):
                    sink.close()
            except BaseException as error:  # noqa: BLE001 - the others still close
                failure = failure or error
        for sink in self.sinks if self.source_ended and failure is None else ():
            try:
                with _naming(sink.path):
                    sink.run_finished()
            except BaseException as error:  # noqa: BLE001 - the locks are still let go
                failure = error
                break
        self.sinks = []
        for lock in self.locks:
            lock.release()
        self.locks = []
        if failure is not None:
            raise failure


@contextlib.contextmanager
def _naming(path: Path):
    """An OSError while writing ``path`` (a full disk, a removed drive) as one sentence naming the file."""
    try:
        yield
    except OSError as error:
        raise WLitePoseError(f"cannot write {path}: {error.strerror or error}") from None


def open_sinks(
    options: SinkOptions, info: ModelInfo, source_meta: dict, inputs: tuple = (), tracked: bool = True
) -> MultiSink:
    """source_meta: {"source", "fps", "size": [w, h], "frame_count"}, optionally "name" (for the OpenPose and
    PoseC3D names; else the source's), "live" (a webcam or stream: the video keeps real time), "settings"
    and "frame_files" (recorded in the CSV's sidecar), and "first_frame" (a run from the source's start: 0, so
    that frames not analysed before the first written count too; an app recording starts where it is).
    inputs: other files the run reads (the model); no output may replace them or the source.
    tracked: whether the poses come with track IDs (the PoseC3D pickle's persons are tracks then).

    Every path is checked (and created) here, so an unwritable one fails before any frame is processed.
    """
    _check_paths(options, (source_meta.get("source"), *inputs))
    fps = float(source_meta.get("fps") or 30.0)
    size = tuple(source_meta.get("size") or (0, 0))
    name = source_meta.get("name") or source_name(str(source_meta.get("source", "frames")))
    if options.openpose_dir:  # a frame file's name too long fails here, not after the other files were replaced
        check_frame_names(options.openpose_dir, name, source_meta.get("frame_files"))
    live, first = bool(source_meta.get("live")), source_meta.get("first_frame")
    multi = MultiSink()
    try:
        # each one's folder made, or a sentence on why it cannot be: the CSV's sidecar too, before any sink opens
        # (one that could not be written was found as the CSV opened, after the video had replaced the earlier one)
        for field, path in _outputs(options):
            writable(path, directory=field == "openpose_dir")
        for _, output, shown in _lockables(options, name):  # another process writing one of them is refused here
            multi.locks.append(take(output, shown))
        if options.video:  # first: a video OpenCV cannot start fails before other outputs replace earlier files
            # nor may an earlier run's sidecar still say finished once its video is replaced
            if options.csv and not is_stdout(options.csv):
                with _naming(sidecar_path(Path(options.csv))):
                    unfinish(options.csv)
            with _naming(Path(options.video)):
                multi.add(VideoSink(options.video, fps, size, live, "frame_files" in source_meta, first))
        if is_stdout(options.csv):
            multi.add(CsvStdoutSink(info.keypoint_names))
        elif options.csv:
            sidecar = {
                "source": str(source_meta.get("source")),
                "fps": fps,
                "resolution": list(size),
                "frame_count": source_meta.get("frame_count"),
                "model_sha256": info.sha256,
                "model_variant": info.variant,
                "model_dataset": info.dataset,
                "skeleton": [list(link) for link in info.skeleton],
                "settings": source_meta.get("settings", {}),
                "wlitepose_version": tool_version(),  # which release wrote the files
            }
            if "frame_files" in source_meta:  # an image folder (or one image): which image each frame index is
                sidecar["frame_files"] = source_meta["frame_files"]
            if "source_stamp" in source_meta:  # the file or folder as it was (track --skip-done)
                sidecar["source_stamp"] = source_meta["source_stamp"]
            sidecar["outputs"] = [str(path) for path in output_paths(options)]
            with _naming(Path(options.csv)):
                multi.add(CsvSink(options.csv, info.keypoint_names, sidecar, first, live))
        if options.coco_json:
            with _naming(Path(options.coco_json)):
                multi.add(CocoJsonSink(options.coco_json, source_meta.get("frame_files")))
        if options.coco_dataset:
            with _naming(Path(options.coco_dataset)):
                frame_files, source = source_meta.get("frame_files"), str(source_meta.get("source", ""))
                multi.add(CocoDatasetSink(options.coco_dataset, info, size, frame_files, source))
        if options.openpose_dir:
            with _naming(Path(options.openpose_dir)):
                multi.add(OpenPoseSink(options.openpose_dir, name, source_meta.get("frame_files")))
        if options.posec3d:
            with _naming(Path(options.posec3d)):
                multi.add(PoseC3DSink(options.posec3d, info.num_keypoints, size, name, tracked))
    except BaseException:
        multi.close()
        raise
    return multi


def _lockables(options: SinkOptions, name: str) -> list[tuple[Path, Path, str]]:
    """(the output as given, what is locked, its name for messages) for each output: a file (the CSV's sidecar
    too: another run's COCO JSON may be given its name), or for the OpenPose folder the frames of this source's
    name there."""
    lockables = []
    for field, path in _outputs(options):
        if field == "openpose_dir":
            lockables.append((path, path / f"{name}.openpose", f"{name}'s OpenPose frames in {path}"))
        else:
            lockables.append((path, path, str(path)))
    return lockables


def _outputs(options: SinkOptions) -> list[tuple[str, Path]]:
    """(field, path as given) for every file the options write, the CSV's sidecar after the CSV."""
    outputs = []
    for field, path in _files(options):
        outputs.append((field, Path(path)))
        if field == "csv":
            if not Path(path).name:  # ".", "/" or "": its sidecar would have no name either
                raise WLitePoseError(f"cannot write {path!s}: it is a folder; give the CSV a file name")
            outputs.append((field, sidecar_path(Path(path))))
    return outputs


def _files(options: SinkOptions) -> list[tuple[str, str | Path]]:
    """(field, path as given) for each output given, but the CSV on the standard output."""
    return [(field, path) for field, path in asdict(options).items() if path is not None and not is_stdout(path)]


def written_names(options: SinkOptions) -> list[str]:
    """What the options write, as the user named it (a folder with a trailing /)."""
    files = [str(path) + ("/" if field == "openpose_dir" else "") for field, path in _outputs(options)]
    return [STDOUT_NAME, *files] if is_stdout(options.csv) else files


def output_paths(options: SinkOptions) -> list[Path]:
    """Every path the options write, resolved, the CSV's sidecar included."""
    return [_resolved(path) for _, path in _outputs(options)]


def check_outputs(options: SinkOptions, name: str, held: frozenset[str], shared: bool) -> None:
    """What open_sinks checks, without opening or creating anything, for source ``name`` (but the files the run
    reads, which plan_outputs checks for the whole batch at once): the paths (below), that each can be written
    and that no other run is writing it (but those of ``held``, name_keys of resolved paths this process writes,
    which its caller tells of itself; and any with ``shared``, for a batch that passes over a source another run
    is tracking: being_written)."""
    _check_paths(options)
    if options.video is not None:
        check_video_name(options.video)
    for path, output, shown in _lockables(options, name):
        if name_key(_resolved(path)) in held:
            continue
        try:
            check_free(output, shown)
        except OutputTaken:
            if not shared:
                raise
    for field, path in _files(options):
        writable(path, directory=field == "openpose_dir", create=False)


LOOK_AGAIN_S = 0.5  # how often a run waiting for another to let go of a source's outputs looks again


def being_written(options: SinkOptions, name: str) -> str | None:
    """The output of source ``name`` whose lock another process holds (its name for messages): a run writing it
    now. None where none is held, or where that cannot be told (a lock file that cannot be opened): taking the
    locks then says why."""
    for _, output, shown in _lockables(options, name):
        try:
            check_free(output, shown)
        except OutputTaken:
            return shown
        except WLitePoseError:
            return None
    return None


def wait_while_written(
    options: SinkOptions, name: str, held: str | None, stopped: Callable[[float], bool]
) -> str | None:
    """Until no other run holds the outputs of source ``name`` (``held``, as being_written named it): looked at again
    every LOOK_AGAIN_S, while ``stopped(seconds)``, waiting up to that long, says not to stop. What another run still
    holds when stopped, else None."""
    while held and not stopped(LOOK_AGAIN_S):
        held = being_written(options, name)
    return held


def _check_paths(options: SinkOptions, inputs=()) -> None:
    """Each output its own file (the CSV's sidecar counted), and none of them one of ``inputs``, files the run reads."""
    outputs = output_paths(options)
    if len(set(map(name_key, outputs))) != len(outputs):
        raise WLitePoseError(
            "two outputs (or an output and the CSV's sidecar .csv.json) share a path; give each its own"
        )
    refuse_inputs(outputs, inputs)
    if options.openpose_dir is not None:  # the OpenPose folder's frame files replace what has their names
        folder = _resolved(options.openpose_dir)
        for path in outputs:
            if path.parent == folder and FRAME_FILE.fullmatch(path.name):
                raise WLitePoseError(
                    f"the output {path} has the name of an OpenPose frame file in {folder}; give it another name"
                )


def plan_outputs(
    sources: list[str],
    options: SinkOptions,
    inputs: tuple,
    held: frozenset[str] = frozenset(),
    shared: bool = False,
) -> list[tuple[str, SinkOptions]]:
    """Each source with its own output paths: ``{name}`` in a path becomes the source's name, and a batch
    must use it, so that no source's files replace another's. Every path is checked here, before any
    work: none over a file the run reads (``inputs``), none shared, each writable, none another run is
    writing (``held``, ``shared``: check_outputs). Only the CSV may go to the standard output (``-``), of one
    source."""
    for field, path in asdict(options).items():
        if field != "csv" and is_stdout(path):
            raise WLitePoseError(
                f"--{field.replace('_', '-')} cannot go to the standard output (-), only --csv can; give it a file name"
            )
    if len(sources) > 1 and is_stdout(options.csv):
        raise WLitePoseError(
            "--csv - streams one source's rows to the standard output; for several sources give each its own file, "
            f'e.g. --csv "results/{NAME_FIELD}.csv"'
        )
    if len(sources) > 1 and not options.templated:
        raise WLitePoseError(
            f"with several sources every output path needs {NAME_FIELD} (the source's name), "
            f'e.g. --csv "results/{NAME_FIELD}.csv"'
        )
    for spec in sources:
        check_exists(spec)  # a mistyped name is found before hours of work, not after
    jobs = [(spec, options.for_source(source_name(spec))) for spec in sources]
    # every source's outputs against the files read, looked at once: for each source, 300 sources took 4 s
    refuse_inputs([path for _, planned in jobs for path in output_paths(planned)], inputs)
    writer: dict[str, int] = {}  # by name_key: out/Run.csv and out/run.csv are one file on Windows and macOS
    for number, (spec, planned) in enumerate(jobs):
        check_outputs(planned, source_name(spec), held, shared)
        if planned.openpose_dir is not None and not is_image_sequence(spec):  # a folder's: when it opens
            check_frame_names(planned.openpose_dir, source_name(spec))
        for path in output_paths(planned):
            first = writer.setdefault(name_key(path), number)
            if first != number and _resolved(jobs[first][0]) == _resolved(spec):
                raise WLitePoseError(f"{spec} is given twice")
            if first != number:
                raise WLitePoseError(f"{jobs[first][0]} and {spec} would both write {path}; process them separately")
    return jobs


def _resolved(path) -> Path:
    return Path(os.path.expanduser(str(path))).resolve()
