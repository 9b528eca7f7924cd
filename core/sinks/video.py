"""Annotated video: the frames the caller drew (core.draw), at the source's rate; .mp4 (mp4v) or .avi (MJPG)."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from core.errors import WLitePoseError
from core.poses import Poses
from core.sinks.base import Sink, writable

CODECS = {".mp4": "mp4v", ".avi": "MJPG"}


def check_video_name(path: str | Path) -> None:
    if Path(path).suffix.lower() not in CODECS:
        raise WLitePoseError(f"cannot write video {path}: use a .mp4 or .avi file name")


class VideoSink(Sink):
    def __init__(self, path: str | Path, fps: float, size: tuple[int, int]) -> None:
        path = Path(path)
        check_video_name(path)
        self.path = writable(path)
        self.size = tuple(int(v) for v in size)
        fourcc = cv2.VideoWriter_fourcc(*CODECS[path.suffix.lower()])
        self._writer = cv2.VideoWriter(str(self.path), fourcc, float(fps or 30.0), self.size)
        if not self._writer.isOpened():
            raise WLitePoseError(f"cannot write video {path}: no encoder for {CODECS[path.suffix.lower()]}")

    def write(self, frame_index: int, time_s: float, poses: Poses, image=None) -> None:
        if image is None:
            return
        if (image.shape[1], image.shape[0]) != self.size:
            image = _fit(image, self.size)
        self._writer.write(image)

    def close(self) -> None:
        self._writer.release()


def _fit(image: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """An image of another size (an image folder's) scaled to fit the video's frame, centred on black:
    people keep their shape."""
    w, h = size
    scale = min(w / image.shape[1], h / image.shape[0])
    fw, fh = max(1, round(image.shape[1] * scale)), max(1, round(image.shape[0] * scale))
    frame = np.zeros((h, w, 3), np.uint8)
    x, y = (w - fw) // 2, (h - fh) // 2
    frame[y : y + fh, x : x + fw] = cv2.resize(image, (fw, fh), interpolation=cv2.INTER_AREA)
    return frame
