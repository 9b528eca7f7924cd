"""A recording the worker runs: its open files, the frames written to them (each once, in order), and the line
that says what was kept where once it is closed."""

from __future__ import annotations

from core.poses import Poses
from core.progress import frames_text
from core.session import PoseModel
from core.sinks import SinkOptions, open_sinks
from core.sinks.multi import output_paths
from core.sources import Frame


class Recording:
    def __init__(self, options: SinkOptions, model: PoseModel, meta: dict, tracked: bool) -> None:
        self.sinks = open_sinks(options, model.info, meta, inputs=(model.path,), tracked=tracked)
        self.sinks.__enter__()
        self.upto = -1  # the last frame index written: each frame once, in order
        self.frames = 0
        paths = output_paths(options)
        # the folder first: a status line cut short by the window still says where the files go
        self.names = f"{paths[0].parent}: " + ", ".join(path.name for path in paths)

    def write(self, frame: Frame, poses: Poses, image, new_shot: bool = False, at_people_cap: bool = False) -> None:
        """Write one frame, counting it; ``new_shot``: its tracks started over at a cut; ``at_people_cap``: it gave as
        many people as decoding keeps (the CSV's sidecar lists either)."""
        self.sinks.write(frame.index, frame.timestamp_s, poses, image=image)
        if new_shot:  # once its rows are in: a frame that failed to be written is listed nowhere
            self.sinks.shot_changed(frame.index)
        if at_people_cap:
            self.sinks.reached_people_cap(frame.index)
        self.upto = frame.index
        self.frames += 1

    def close(self) -> str:
        """Finish the files; what they kept, and where."""
        self.sinks.__exit__(None, None, None)
        if self.frames == 0:
            return f"Recording stopped before any frame was written, no poses in {self.names}"
        return f"Recording saved: {frames_text(self.frames)} in {self.names}"


def release_claims(options: SinkOptions) -> None:
    """Remove the empty files (or OpenPose folders) the window claimed for a take that never started: their names
    were chosen free, so an empty one of them is that claim."""
    for path in output_paths(options):
        try:
            if path.is_file() and path.stat().st_size == 0:
                path.unlink(missing_ok=True)
            elif path.is_dir() and not any(path.iterdir()):
                path.rmdir()
        except OSError:  # a name too long to be a file: no claim was made under it (the button stayed down)
            continue
