"""Shot changes: the hard cuts of an edited video (a news clip, a compilation), where the tracks must start over.

Each frame is shrunk to a grey thumbnail THUMB_WIDTH pixels wide, brought to one brightness and contrast (mean 0,
standard deviation CONTRAST grey levels), and scored by the mean absolute difference from the previous frame's. A
frame starts a new shot when its score is over ABSOLUTE (another camera, another photo), or over RATIO times the
scene's pace plus FLOOR (a cut within one camera's footage: the same background with other people, which differs
from the frame before by little more than motion does, but by several times the scene's own pace). The pace is the
mean of the last WINDOW scores, each per square root of the time it spanned, at this frame's gap: frames passed
over (a player or a live source that cannot keep up, analysing only some frames) make a longer gap, which differs
more. A thumbnail of another shape (a photo of another aspect) is a new shot too.

Measured on the shared videos (vtest.avi, person_tracker_cctv.mp4, openpose_video.avi a moving camera at 50 fps,
and the frame folders of every 5th / 10th frame of the first two), each whole and with frames passed over (every
2nd to 25th, or 1 and 3, 1 and 5, 1 and 10, 2 and 6 apart by turns; 6 first frames each): consecutive frames score
10.6 at most (0.77 of the threshold); of 360 runs with frames passed over, one takes a frame for a cut (openpose,
1 and 5 apart by turns, 1.02 of the threshold), where the raw grey-level score this replaced (over 20, or 3 times
the plain mean of the last 10 plus 0.5) took 67 (every 10th frame of openpose scored 23). A frame of another of those
videos scores 49.8 and more (300 of 300 such cuts found); of 400 cuts between frames of vtest.avi 100 and more apart
(a fixed camera) 91 % score over RATIO (96 % with the raw score, which took a light switched on for a cut); of
unrelated photos of one shape 72 % score over ABSOLUTE. On vtest.avi 30 grey levels brighter from a frame on, or
ramped up by 6 a frame, or its exposure cut to 60 %, no frame starts a shot (a step to 140 % that burns out the
highlights still does). Live sources (core.pipeline) look for none: a camera has no edits.
"""

from __future__ import annotations

import math
from collections import deque

import cv2
import numpy as np

THUMB_WIDTH = 32
# the frame is first sampled every so many pixels of a thumbnail pixel's span: shrinking all of a 1080p frame took
# 5.6 ms, as long as the network on a small input; the samples left still average over 8 x 8 of them a pixel
SAMPLES_A_PIXEL = 8
CONTRAST = 40.0  # grey levels: each thumbnail is brought to this standard deviation (and a mean of 0)
MIN_CONTRAST = 8.0  # grey levels: a flatter frame (black, a covered lens) is not stretched further, nor its noise
ABSOLUTE = 35.0  # a moving camera's frames 0.5 s apart scored 31 at most; unrelated scenes of one shape 50
RATIO = 3.0
WINDOW = 10
FLOOR = 0.5  # a still scene's scores near 0 make any flicker a large ratio


def thumbnail(image_bgr: np.ndarray) -> np.ndarray:
    """The grey thumbnail frames are compared by, brought to one brightness and contrast: a light switched on, or a
    camera's exposure moving, changes every grey level of the frame by one step or factor, which is no cut."""
    height, width = image_bgr.shape[:2]
    step = max(1, width // (THUMB_WIDTH * SAMPLES_A_PIXEL))
    sampled = image_bgr[::step, ::step]
    size = (THUMB_WIDTH, max(1, round(THUMB_WIDTH * height / width)))
    small = cv2.resize(sampled, size, interpolation=cv2.INTER_AREA)
    grey = cv2.cvtColor(small, cv2.COLOR_BGR2GRAY).astype(np.float32)
    return (grey - grey.mean()) * (CONTRAST / max(float(grey.std()), MIN_CONTRAST))


class ShotChanges:
    """``is_new_shot(image)`` for each frame in turn: whether it starts a new shot (never the first frame)."""

    def __init__(self) -> None:
        self._paces: deque[float] = deque(maxlen=WINDOW)  # scores per square root of the gap they spanned
        self.reset()

    def reset(self) -> None:
        """A new source: its first frame is compared with nothing (called for every frame not looked at: it
        allocates nothing)."""
        self._last: np.ndarray | None = None
        self._last_time = float("nan")
        self._gap_s = 1.0  # the time between the last two frames that moved the clock on (its unit cancels out)
        self._paces.clear()

    def is_new_shot(self, image_bgr: np.ndarray, timestamp_s: float) -> bool:
        """``timestamp_s``: the frame's time; frames passed over (a player or a live source that cannot keep up)
        make a longer gap, which differs more."""
        thumb = thumbnail(image_bgr)
        last, self._last = self._last, thumb
        span = math.sqrt(self._gap_to(timestamp_s))
        if last is None:
            return False
        if last.shape != thumb.shape:
            return True
        score = float(np.abs(thumb - last).mean())
        # the scene's pace at this frame's gap: in the same footage a gap 10 times as long differed 1.9 to 3.0 times
        # as much on the shared videos (about its square root); with a plain mean, frames 1 and 5 apart by turns made
        # the long gaps score 3 times the mean of the last 10, half of them short
        pace = sum(self._paces) / len(self._paces) * span if self._paces else None
        self._paces.append(score / span)  # a cut's own score stays in: the next frames of a cut are not cuts again
        return score > ABSOLUTE or (pace is not None and score > RATIO * (pace + FLOOR))

    def _gap_to(self, timestamp_s: float) -> float:
        """The time from the last frame; one not after it (none, repeated, a clock that went back) counts as the
        last gap that moved on, as the tracker counts it."""
        gap = timestamp_s - self._last_time
        if gap > 0:  # False for NaN
            self._gap_s = gap
        if math.isfinite(timestamp_s):
            self._last_time = timestamp_s
        return self._gap_s
