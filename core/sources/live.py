"""Webcams and stream URLs, read on a thread that keeps only the newest frame."""

from __future__ import annotations

import atexit
import logging
import sys
import threading
import time
from collections.abc import Iterator
from urllib.parse import urlsplit

import cv2
import numpy as np

from core.errors import WLitePoseError
from core.preprocess import too_small
from core.sources.frames import MAX_FPS, Frame, FrameSource
from core.sources.video_file import upright

log = logging.getLogger(__name__)
LIVE_TIMEOUT_S = 5.0  # a live source silent this long has ended
PLAYLIST_SUFFIXES = (".m3u8", ".mpd")  # HLS and DASH, whose frames come a segment at a time
PLAYLIST_CATCH_UP_S = 1.0  # a playlist read late (a slow network) catches up on at most this much at full speed
MAX_CAMERAS = 4  # webcam indices from 0 that list_cameras tries
STREAM_TIMEOUT_MS = 4000  # opening or reading a stream URL gives up after this (FFmpeg's default is 30 s)
# macOS hands a program no camera until the user has allowed it (it asks once, at the first try)
CAMERA_PERMISSION = (
    "; allow camera access for this terminal or app in System Settings > Privacy & Security > Camera"
    if sys.platform == "darwin"
    else ""
)


def open_capture(target: int | str, spec: str) -> tuple[cv2.VideoCapture, np.ndarray]:
    """A webcam (an index) or stream URL opened, with its first frame; WLitePoseError (``spec`` names it) if
    it gives none."""
    if isinstance(target, int):
        capture = cv2.VideoCapture(target)
    else:  # a server that accepts the connection and says nothing must not hold the caller for long
        timeouts = (cv2.CAP_PROP_OPEN_TIMEOUT_MSEC, STREAM_TIMEOUT_MS)
        timeouts += (cv2.CAP_PROP_READ_TIMEOUT_MSEC, STREAM_TIMEOUT_MS)
        capture = upright(cv2.VideoCapture(target, cv2.CAP_FFMPEG, list(timeouts)))  # a file's URL: a phone's too
    ok, first = capture.read() if capture.isOpened() else (False, None)
    if ok:
        return capture, first
    capture.release()
    if isinstance(target, int):
        found = list_cameras()
        raise WLitePoseError(
            f"there is no camera with index {target} (cameras found: {found or 'none'}){CAMERA_PERMISSION}"
        )
    raise WLitePoseError(
        f"stream {spec} cannot be opened (no answer within {STREAM_TIMEOUT_MS / 1000:.0f} s, or not a video)"
    )


class LiveSource(FrameSource):
    """A camera or stream read on a thread that keeps only the newest frame."""

    is_live = True

    def __init__(self, target: int | str, spec: str, opened: tuple[cv2.VideoCapture, np.ndarray] | None = None) -> None:
        self.spec = spec
        self._called = spec if isinstance(target, int) else f"the stream {spec}"  # "camera 0", or a URL
        self._cap, first = opened if opened is not None else open_capture(target, spec)
        self.size = (first.shape[1], first.shape[0])
        if problem := too_small(self.size):
            self._cap.release()
            raise WLitePoseError(f"{self._called} {problem}")
        fps = self._cap.get(cv2.CAP_PROP_FPS)
        self.fps = float(fps) if 0 < fps < MAX_FPS else 30.0
        self.frame_count = None
        self._start = time.monotonic()
        self._cond = threading.Condition()
        self._latest: Frame | None = Frame(0, 0.0, first, captured_at=time.perf_counter())
        self._captured = 1
        self._delivered = 0
        self._last_delivered = -1  # the index of the newest frame handed out
        self._handed_at = time.monotonic()  # when it was (silence is counted from then)
        self._stopped = False
        # a live playlist (HLS, DASH) arrives a segment of seconds at a time, which FFmpeg decodes at once: its
        # frames are read out at the stream's rate, or all but each segment's last would be skipped as stale
        playlist = isinstance(target, str) and urlsplit(target).path.lower().endswith(PLAYLIST_SUFFIXES)
        self._pace_s = 1.0 / self.fps if playlist else 0.0
        self._thread = threading.Thread(target=self._read_loop, name=f"source:{spec}", daemon=True)
        self._thread.start()
        # a program that ends with the source open (its track loop still referenced) aborted: the reader, stopped in
        # OpenCV's read by the interpreter's exit, gave "FATAL: exception not rethrown"
        atexit.register(self.close)

    def _read_loop(self) -> None:
        """Runs until closed or the stream ends, then releases the capture: here, never while a read is
        still waiting on a stream that hangs (releasing it then from another thread crashes)."""
        due = time.monotonic()  # when the next frame of a playlist is to be handed on
        try:
            while not self._stopped:
                if self._pace_s:
                    due = max(due + self._pace_s, time.monotonic() - PLAYLIST_CATCH_UP_S)
                    with self._cond:
                        self._cond.wait_for(lambda: self._stopped, max(0.0, due - time.monotonic()))
                try:
                    ok, image = self._cap.read()
                except cv2.error:  # a backend that raises rather than returning False
                    ok, image = False, None
                with self._cond:
                    if not ok:
                        if not self._stopped:
                            self.end_reason = f"{self._called} stopped delivering frames; the run ended there"
                            log.info(self.end_reason)
                        self._stopped = True
                    else:
                        self._latest = Frame(
                            self._captured, time.monotonic() - self._start, image, captured_at=time.perf_counter()
                        )
                        self._captured += 1
                    self._cond.notify_all()
        finally:
            self._cap.release()

    @property
    def skipped(self) -> int:
        """Frames the stream sent while the caller was busy, replaced by newer ones before it took them."""
        return self._last_delivered + 1 - self._delivered

    def ready(self, timeout_s: float) -> bool:
        """Whether the next frame can be taken without waiting, waiting at most ``timeout_s`` for it: a frame
        is there, the source ended, or it has been silent LIVE_TIMEOUT_S (the iterator then ends). A caller
        that must stay responsive (the app's worker) waits in such short steps."""
        with self._cond:
            silent_for = time.monotonic() - self._handed_at
            wait = min(timeout_s, max(0.0, LIVE_TIMEOUT_S - silent_for))
            return self._cond.wait_for(self._taken_at_once, wait) or silent_for + wait >= LIVE_TIMEOUT_S

    def _taken_at_once(self) -> bool:
        return self._latest is not None or self._stopped

    def __iter__(self) -> Iterator[Frame]:
        while True:
            with self._cond:
                if not self._taken_at_once():  # silence counts from the last frame handed out
                    self._cond.wait_for(self._taken_at_once, LIVE_TIMEOUT_S - (time.monotonic() - self._handed_at))
                frame, self._latest = self._latest, None
                if frame is None:
                    if not self._stopped:
                        self.end_reason = (
                            f"{self._called} sent no frame for {LIVE_TIMEOUT_S:.0f} s; the run ended there"
                        )
                    return
                self._delivered += 1
                self._last_delivered = frame.index
                self._handed_at = time.monotonic()
            yield frame

    def close(self) -> None:
        """Stop reading; the reader thread releases the capture once its read returns (at most the stream's
        read timeout later, for a stream that hangs)."""
        with self._cond:
            self._stopped = True
            self._cond.notify_all()
        self._thread.join(timeout=2.0)
        atexit.unregister(self.close)


def list_cameras() -> list[int]:
    """Indices of the cameras that open and deliver a frame, of the first MAX_CAMERAS."""
    found = []
    for index in range(MAX_CAMERAS):
        cap = cv2.VideoCapture(index)
        try:
            if cap.isOpened() and cap.read()[0]:
                found.append(index)
        finally:
            cap.release()
    return found
