"""Annotated video: the frames the caller drew (core.draw), at the source's rate; .mp4 (mp4v) or .avi (MJPG).

A file's frames that were never analysed (damaged ones passed over, an unreadable image of a folder, frames an app
recording was moved past) are filled with the picture before them (a run's first frames: its first picture), up
to MAX_HOLD_S, so the video keeps one frame per frame of the source (a longer gap is a jump, a seek). A
variable-rate file's video shows each frame once at the file's average rate: it keeps the frames, while the other
outputs' times follow the file's clock.

A live source's frames are held on screen until the next one is due by its timestamp, and one that
comes before its slot in the video (a stream faster than the rate it reports) is left out, so the
video plays in real time though the run processed only some of the frames captured. Encoders drop an odd
last row or column, so an odd-sized frame gets a black one added instead.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import cv2
import numpy as np

from core.errors import WLitePoseError
from core.poses import Poses
from core.sinks.base import Sink, check_in_place, own_file, writable
from core.sources import opencv_name

CODECS = {".mp4": "mp4v", ".avi": "MJPG"}
# OpenCV's FFmpeg writers refuse 0.001 fps ("timebase not set") and MPEG-4 above 65,535 (its time base's limit)
MIN_VIDEO_FPS = 0.01  # a frame every 100 s: slower time-lapse folders still get their CSV and JSON files
MAX_VIDEO_FPS = 65535.0
MAX_MP4_SIDE = 8190  # FFmpeg's MPEG-4 encoder takes sides below 8,192 (an odd 8,191 is padded to 8,192)
MAX_CODED_AREA = 2**31 // 8  # FFmpeg's limit on (width + 128) x (height + 128) of a frame it encodes
MAX_HOLD_S = 5.0  # a frame is held at most this long (a longer gap: the run was paused or stalled, or seeked)
# OpenCV's writer says nothing when the disk fills: its free space is looked at every so many frames, and the run
# stopped while the room left still takes the video's index (an .avi's 16 bytes a frame, an .mp4's at its end)
ROOM_CHECK_FRAMES = 25
MIN_ROOM_BYTES = 16 * 2**20
NEARLY_FULL = f"the disk is nearly full (less than {MIN_ROOM_BYTES // 2**20} MB left)"


def check_video_name(path: str | Path) -> None:
    if Path(path).suffix.lower() not in CODECS:
        raise WLitePoseError(f"cannot write video {path}: use a .mp4 or .avi file name")
    opencv_name(path)


def check_video_fps(path: str | Path, fps: float, images: bool = True) -> None:
    """A frame rate the video's encoder can store, checked before anything is written (``images``: the rate is
    an image folder's, which --fps sets; a video file's own rate is what it is)."""
    if not MIN_VIDEO_FPS <= fps <= MAX_VIDEO_FPS:
        hint = "an image folder's rate is --fps" if images else "leave out the annotated video for this source"
        raise WLitePoseError(
            f"cannot write video {path} at {fps:g} fps: a video holds {MIN_VIDEO_FPS:g} to {MAX_VIDEO_FPS:g} "
            f"frames a second ({hint})"
        )


class VideoSink(Sink):
    def __init__(
        self,
        path: str | Path,
        fps: float,
        size: tuple[int, int],
        real_time: bool = False,
        images: bool = True,
        first_frame: int | None = None,
    ) -> None:
        path = Path(path)
        check_video_name(path)
        self.fps = float(fps or 30.0)
        check_video_fps(path, self.fps, images)
        self.size = tuple(int(v) for v in size)  # the frames' own size; the video's is even
        if path.suffix.lower() == ".mp4" and max(self.size) > MAX_MP4_SIDE:
            raise WLitePoseError(
                f"cannot write video {path}: its frames are {self.size[0]}x{self.size[1]} and an .mp4 (MPEG-4) "
                f"frame holds at most {MAX_MP4_SIDE} pixels a side; name it .avi"
            )
        if (self.size[0] + 128) * (self.size[1] + 128) >= MAX_CODED_AREA:
            raise WLitePoseError(
                f"cannot write video {path}: its frames are {self.size[0]}x{self.size[1]}, more pixels than FFmpeg "
                "encodes in a frame (about 268 million); leave the annotated video out for this source"
            )
        self.path = writable(path)
        if _nearly_full(self.path):  # nothing replaced yet: an earlier run's video stays as it was
            raise WLitePoseError(f"cannot write video {path}: {NEARLY_FULL}")
        self.real_time = real_time
        self._hold = max(1, round(MAX_HOLD_S * self.fps))  # the most frames one frame is held for
        self._next_index = first_frame  # a file's frame index that follows the last one written
        self._pad = (self.size[1] % 2, self.size[0] % 2)  # a black row, a black column: encoders need even sizes
        self._start: float | None = None  # the first frame's timestamp
        self._written = 0  # video frames so far, held ones included
        self._given = 0  # frames the run gave it
        self._last: np.ndarray | None = None
        self._last_unwritten = False  # ``_last`` came before its slot and is not in the video yet
        fourcc = cv2.VideoWriter_fourcc(*CODECS[path.suffix.lower()])
        own_file(self.path)
        self._writer = cv2.VideoWriter(opencv_name(self.path), fourcc, self.fps, tuple(v + v % 2 for v in self.size))
        if not self._writer.isOpened():  # writable() passed: no space left, or an OpenCV without FFmpeg
            raise WLitePoseError(
                f"cannot write video {path}: OpenCV could not start its {CODECS[path.suffix.lower()]} encoder there"
            )

    def write(self, frame_index: int, time_s: float, poses: Poses, image=None) -> None:
        if image is None:
            return
        self._given += 1
        # before this frame goes anywhere: a run's outputs (this one is opened first) stop at the same frame
        if self._given % ROOM_CHECK_FRAMES == 0 and _nearly_full(self.path):
            raise WLitePoseError(
                f"cannot write {self.path}: {NEARLY_FULL}; the video is closed with the {self._written} frames written"
            )
        if (image.shape[1], image.shape[0]) != self.size:
            image = _fit(image, self.size)
        if any(self._pad):
            image = cv2.copyMakeBorder(image, 0, self._pad[0], 0, self._pad[1], cv2.BORDER_CONSTANT)
        if self.real_time:
            self._start = time_s if self._start is None else self._start
            behind = round((time_s - self._start) * self.fps) - self._written  # frames due before this one
            if behind > self._hold:  # a pause or a stall: the video goes on after MAX_HOLD_S of it
                self._start += (behind - self._hold) / self.fps
                behind = self._hold
            if behind < 0:  # its slot is filled already: the next frame held shows the newer picture
                self._last, self._last_unwritten = image, True
                return
            for _ in range(behind):
                self._writer.write(self._last)
                self._written += 1
            self._last, self._last_unwritten = image, False
        else:
            gap = 0 if self._next_index is None else frame_index - self._next_index
            held = image if self._last is None else self._last  # before the first picture: the first one
            for _ in range(gap if gap <= self._hold else 0):  # frames passed over: the picture before them
                self._writer.write(held)
                self._written += 1
            self._last, self._next_index = image, frame_index + 1
        self._writer.write(image)
        self._written += 1

    def close(self) -> None:
        if self._last_unwritten:  # the run's last picture, one slot late rather than not at all
            self._writer.write(self._last)
            self._written += 1
        self._writer.release()
        if not self._written:  # no frame (a held one comes after a written one): a container no player opens
            self.path.unlink(missing_ok=True)
            return
        check_in_place(self.path)  # its folder removed or moved during the run: no player opens it here
        stored = _frames_stored(self.path)
        if stored is None:  # OpenCV's writer reports no error: a full disk cost the .mp4's index
            avi = self.path.suffix.lower() == ".avi"
            hint = "" if avi else "; an .avi name keeps the frames written before such an error"
            raise WLitePoseError(
                f"cannot write {self.path}: the annotated video could not be finished (is the disk full?), and "
                f"no player opens it{hint}"
            )
        if stored < self._written:  # an .avi cut short: it plays, with the frames the disk took
            raise WLitePoseError(
                f"cannot write {self.path}: it was cut short (is the disk full?): its header counts {stored} of the "
                f"{self._written} frames written, and it plays up to where writing stopped"
            )


def _nearly_full(path: Path) -> bool:
    """Less room left beside ``path`` than a video's index and a run's last rows need."""
    return shutil.disk_usage(path.parent).free < MIN_ROOM_BYTES


def _frames_stored(path: Path) -> int | None:
    """The frames a player finds in the video just written, or None when none opens it (OpenCV's writer never
    says it failed)."""
    capture = cv2.VideoCapture(opencv_name(path))
    try:
        return int(capture.get(cv2.CAP_PROP_FRAME_COUNT)) if capture.isOpened() and capture.grab() else None
    finally:
        capture.release()


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
