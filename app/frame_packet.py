"""What the frame worker hands the window: the open source's facts and each processed frame, converted for the
screen on the worker's thread."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from PySide6.QtGui import QImage

from core.poses import Poses


@dataclass(frozen=True)
class SourceInfo:
    spec: str
    fps: float
    size: tuple[int, int]
    frame_count: int | None
    is_live: bool
    images: bool = False  # an image folder: its frame rate is the user's to set


@dataclass(frozen=True)
class FramePacket:
    """One processed frame, ready to paint."""

    image: QImage  # at the size the view shows it
    still: Callable[[], QImage]  # the frame at the source's size, drawn as shown: a saved still
    index: int
    time_s: float  # the frame's own time: a variable-rate file's, by its stamps
    frame_count: int | None
    poses: Poses | None  # None when no model is loaded
    timings_ms: dict[str, float]  # capture, preprocess, inference, grouping, tracking, render; write while recording
    dropped: int  # since the source opened
    started_at: float  # time.perf_counter() when the frame was requested from a file, or came from a live source
    recording: bool = False
    skipped: int = 0  # frames of the file passed over just before this one to keep pace
    # a new frame the open recording already holds (shown again after a step or seek back): the
    # index the recording goes on from; None otherwise
    recording_resumes_at: int | None = None


def to_qimage(image_bgr: np.ndarray) -> QImage:
    """A QImage of its own (safe to hand to another thread) of the BGR frame, in the screen's 32-bit RGB, which
    is painted without converting it first: converted here, on the worker's thread, not at every paint on the
    GUI thread (benchmarks/display.py: an 1100x825 paint takes half the time)."""
    image = np.ascontiguousarray(image_bgr)
    height, width = image.shape[:2]
    shared = QImage(image.data, width, height, image.strides[0], QImage.Format.Format_BGR888)
    return shared.convertToFormat(QImage.Format.Format_RGB32)  # a new image of its own, as copy() made
