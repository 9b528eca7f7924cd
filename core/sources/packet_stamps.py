"""A video file's frames' time stamps, read from its packets without decoding them: where a file's rate varies, the
stamp of the frame a seek landed on tells which frame it is."""

from __future__ import annotations

import bisect

import cv2
import numpy as np

STAMP_TOLERANCE_S = 1e-4  # a decoded frame's stamp and its packet's are the same number, give or take a rounding


def packet_stamps(name: str) -> list[float] | None:
    """The time stamps (s) of the video file ``name``'s frames in the order they are shown (packets come in the
    order they are decoded: a B-frame's after the later frame it refers to), ~8 µs a frame; None where they
    cannot tell its frames apart (an MPEG-1 or MPEG-2 program stream stamps some of its packets 0)."""
    capture = cv2.VideoCapture(name, cv2.CAP_FFMPEG)
    try:
        if not capture.isOpened() or not capture.set(cv2.CAP_PROP_FORMAT, -1):  # -1: packets as they are
            return None
        stamps = []
        while capture.grab():
            stamps.append(capture.get(cv2.CAP_PROP_POS_MSEC) / 1000.0)
    finally:
        capture.release()
    stamps.sort()
    apart = len(stamps) > 1 and bool(np.all(np.diff(stamps) > STAMP_TOLERANCE_S))
    return stamps if apart else None


def off_pace(since, index, fps: float):
    """Whether frame ``index``'s time ``since`` the first frame (numbers or arrays alike) is more than half a frame
    from where ``fps`` puts it: a rate that varies."""
    return abs(since - index / fps) > 0.5 / fps  # abs, not np.abs: a frame's own is a Python number, per frame


def departs(stamps: list[float], fps: float) -> bool:
    """Whether any of ``stamps`` is off the pace ``fps`` sets (counted from the first): a file whose frames OpenCV's
    seek, which goes by index / its average rate, does not find."""
    return bool(np.any(off_pace(np.asarray(stamps) - stamps[0], np.arange(len(stamps)), fps)))


def index_of(stamps: list[float], stamp: float | None) -> int | None:
    """The index of the frame stamped ``stamp`` among ``stamps`` (sorted); None where none is."""
    if stamp is None:
        return None
    at = bisect.bisect_left(stamps, stamp - STAMP_TOLERANCE_S)
    return at if at < len(stamps) and abs(stamps[at] - stamp) <= STAMP_TOLERANCE_S else None
