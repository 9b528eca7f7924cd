"""A video file's frames' time stamps, read from its packets without decoding them: where a file's rate varies, the
stamp of the frame a seek landed on tells which frame it is."""

from __future__ import annotations

import bisect

import cv2
import numpy as np

MAX_BAD_FRAMES = 32  # a video file's frames that cannot be decoded, passed over in a row before it counts as ended
STAMP_TOLERANCE_S = 1e-4  # a decoded frame's stamp and its packet's are the same number, give or take a rounding
# frames back from the packets' count that a look for the last frame's stamp starts, then 4x as far each time: a file
# trimmed without re-encoding counts the frames before its start too (33 in a 3.1 s cut of a 2 s-keyframe H.264)
LAST_LOOK_BACK = 64
# frames at a file's end whose stamps may run late with its rate constant: a cut without re-encoding (ffmpeg -t 10
# -c copy) keeps packets in their decoding order, so the B-frames shown just before the last one kept are gone (3
# of x264's: its last frame stamped 0.1 s late), a gap that is no rate varying
TRAILING_GAP = 4


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


def shown_stamps(name: str, stamps: list[float], first: float, count: int, at: int = 0) -> list[float]:
    """The stamps of the ``count`` frames the video file ``name`` shows, from its packets' ``stamps`` and the stamp
    ``first`` of its frame ``at`` (its first that can be decoded). A file trimmed without re-encoding (an MP4 edit
    list starting it after its first packet: ``ffmpeg -ss 3 -c copy``, a phone's trim) holds the frames from the
    keyframe before its start, decoded only to build those after it, and where its edit list ends it early, those
    after its end up to a keyframe: OpenCV stamps packets from the first one's time, frames from the first shown.
    Its last frames' stamps tell the shift between them; where they cannot be read or do not fit, the packets' own."""
    last = last_stamps(name, len(stamps))
    run = shown_run(stamps, count, first, last, at) if last else None
    if run is None:
        return stamps
    shift = stamps[run.start + at] - first
    return stamps[run] if abs(shift) < STAMP_TOLERANCE_S else [stamp - shift for stamp in stamps[run]]


def shown_run(stamps: list[float], count: int, first: float, last: list[float], at: int = 0) -> slice | None:
    """Which of the packets' ``stamps`` are those of the ``count`` frames shown (all from the first shown where
    ``count`` is no edit list's, as many as the packets), frame ``at`` stamped ``first`` (the frames before it
    could not be decoded, their stamps unknown) and the last ones ``last``: the run as far apart from its frame
    ``at`` to its end as those, and at its last ones as they, ending at the last packet where that fits, else
    starting ``at`` before the packet stamped ``first``, else the only one that does (an edit list ending it
    early); None where none does, or several do (a variable-rate file's one held frame inside each, far from its
    end)."""
    span, tolerance = last[-1] - first, STAMP_TOLERANCE_S
    if count >= len(stamps):
        start = index_of(stamps, stamps[-1] - span)
        return None if start is None or start < at else slice(start - at, None)
    if at >= count:
        return None
    times = np.asarray(stamps)
    ends = np.arange(count - 1, len(times))
    ends = ends[np.abs(times[ends] - times[ends - count + 1 + at] - span) <= tolerance]
    back = last[-1] - np.asarray(last[::-1][:count])  # how long before the last frame each of the last ones is
    ends = [end for end in ends if np.all(np.abs(times[end] - times[end - np.arange(len(back))] - back) <= tolerance)]
    at_first = index_of(stamps, first)  # the packets already stamped as the frames shown (from the edit's start)
    likely = [len(times) - 1] + ([] if at_first is None else [at_first - at + count - 1])
    end = next((end for end in likely if end in ends), ends[0] if len(ends) == 1 else None)
    return None if end is None else slice(int(end) - count + 1, int(end) + 1)


def last_stamps(name: str, count: int) -> list[float]:
    """The stamps of the last frames the video file ``name``, of ``count`` packets, decodes: OpenCV's seek to a
    frame LAST_LOOK_BACK before the packets' count and frames read on to the end, from further back where it
    found none; none where none is found."""
    capture = cv2.VideoCapture(name, cv2.CAP_FFMPEG)
    try:
        back, last = LAST_LOOK_BACK, []
        while not last and capture.isOpened():
            capture.set(cv2.CAP_PROP_POS_FRAMES, max(0, count - back))
            last = read_on(capture)
            if back >= count:
                break
            back *= 4
    finally:
        capture.release()
    return last


def read_on(capture: cv2.VideoCapture) -> list[float]:
    """The stamps of the frames ``capture`` reads on to its end, passing over up to MAX_BAD_FRAMES in a row that
    cannot be decoded: a damaged one among them (a trimmed file's first shown) ended the read there, and its stamps
    were taken for the last frames'."""
    stamps, failed = [], 0
    while failed <= MAX_BAD_FRAMES:
        if capture.grab():
            stamps.append(capture.get(cv2.CAP_PROP_POS_MSEC) / 1000.0)
            failed = 0
        else:
            failed += 1
    return stamps


def off_pace(since, index, fps: float):
    """Whether frame ``index``'s time ``since`` the first frame (numbers or arrays alike) is more than half a frame
    from where ``fps`` puts it: a rate that varies."""
    return abs(since - index / fps) > 0.5 / fps  # abs, not np.abs: a frame's own is a Python number, per frame


def departs(stamps: list[float], fps: float) -> bool:
    """Whether any of ``stamps`` is off the pace ``fps`` sets (counted from the first): a file whose frames OpenCV's
    seek, which goes by index / its average rate, does not find. None of no stamps does (a file of TRAILING_GAP
    frames or fewer, its last ones left out)."""
    return len(stamps) > 0 and bool(np.any(off_pace(np.asarray(stamps) - stamps[0], np.arange(len(stamps)), fps)))


def varies(stamps: list[float], fps: float) -> bool:
    """Whether ``stamps`` depart from the pace ``fps`` sets before their last TRAILING_GAP: a rate that varies,
    not a file cut at its end."""
    return departs(stamps[:-TRAILING_GAP], fps)


def index_of(stamps: list[float], stamp: float | None) -> int | None:
    """The index of the frame stamped ``stamp`` among ``stamps`` (sorted); None where none is."""
    if stamp is None:
        return None
    at = bisect.bisect_left(stamps, stamp - STAMP_TOLERANCE_S)
    return at if at < len(stamps) and abs(stamps[at] - stamp) <= STAMP_TOLERANCE_S else None
