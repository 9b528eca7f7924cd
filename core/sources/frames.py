"""What every source gives: frames, their indices and times, and the ``FrameSource`` interface."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from core.errors import WLitePoseError

IMAGE_FOLDER_FPS = 30.0  # nominal rate for timestamps of an image sequence
MAX_FPS = 1000.0  # a frame rate above this is a typo, not a camera


@dataclass
class Frame:
    index: int
    timestamp_s: float
    image: np.ndarray = field(repr=False)  # BGR uint8 (its pixels out of the repr a notebook prints)
    path: Path | None = None  # the image file, for a frame of an image folder
    captured_at: float | None = None  # time.perf_counter() when a live source received it


class FrameSource:
    """Iterable of Frame; a context manager. ``fps``, ``size`` (w, h), ``frame_count`` (None when live)."""

    fps: float
    size: tuple[int, int]
    frame_count: int | None
    count_estimated: bool = False  # frame_count is a guess from the duration (a Matroska file)
    is_live: bool = False
    end_reason: str | None = None  # set when a live source ended by itself
    frame_files: list[str] | None = None  # an image folder's (or one image's) file of each frame index
    image_folder: bool = False  # a folder of images, whose frame rate is the user's to set
    passed_over: int = 0  # of frame_count, the frames found to be none so far (a folder's unreadable images)
    spec: str

    def __iter__(self) -> Iterator[Frame]:
        raise NotImplementedError

    def seek(self, index: int) -> None:
        raise WLitePoseError(f"{self.spec} is a live source and cannot seek")

    def skip(self, count: int) -> int:
        """Files: pass over up to ``count`` frames without delivering them; returns how many."""
        raise WLitePoseError(f"{self.spec} is a live source and cannot skip frames")

    def frame_at_or_before(self, index: int) -> int:
        """The index of the last frame at or before ``index`` that can be shown: where a step lands (a step
        of ten near the end lands on the last frame)."""
        return min(index, self.frame_count - 1) if self.frame_count else index

    def frames_shown(self) -> int | None:
        """``frame_count`` less the frames found to be none so far (a folder's images passed over): what a progress
        bar counts up to, so that it ends full."""
        return self.frame_count and self.frame_count - self.passed_over

    def end_notes(self, frames_read: int, frames_due: int | None, outputs: bool = True) -> list[str]:
        """What to tell when the source is done (lower-case fragments): a video file that ended before the
        ``frames_due`` (its frame count, or fewer when a run asked for fewer). ``outputs``: whether files
        were written (some notes are about them)."""
        short = None if self.is_live else ended_early(frames_read, frames_due, self.frame_count)
        return [short] if short else []

    def skipped_notes(self, start: int = 0) -> list[str]:
        """What to tell, as it happens, of the files passed over from the ``start``-th on (a folder's images that
        cannot be read), so that a player says each once without going over the earlier ones every frame."""
        return []

    def close(self) -> None:
        """Release the device or file."""

    def __enter__(self) -> FrameSource:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def ended_early(frames_read: int, frames_due: int | None, frame_count: int | None) -> str | None:
    """The warning for a video file that ended before the ``frames_due`` (the frame count its header gives, or
    fewer a run asked for; None if it did not; OpenCV's count may be one off), e.g. a file cut short while
    being copied. A file whose header gives no count (a raw MJPEG or H.264 stream) is never one cut short: ending
    before the frames a run asked for is all it can do."""
    if not frames_due or not frame_count or frames_read >= frames_due - 1:
        return None
    due = f"the {frames_due} frames {'its header counts' if frames_due == frame_count else 'asked for'}"
    counted = f"; its header counts {frame_count}" if frame_count != frames_due else ""
    return (
        f"the video ended after {frames_read} of {due} (the file may be damaged or cut short, or an edit list "
        f"leaves some out{counted})"
    )


def frames_due(frame_count: int | None, max_frames: int | None) -> int | None:
    """The frames a run is due from a source of ``frame_count`` (None: unknown, as live sources) when it
    asks for at most ``max_frames`` (None: all)."""
    if not max_frames:
        return frame_count
    return min(frame_count, max_frames) if frame_count else max_frames
