"""Shot changes: the hard cuts of an edited video (a news clip, a compilation), where the tracks must start over.

Each frame is shrunk to a grey thumbnail THUMB_WIDTH pixels wide, and scored by the mean absolute difference from the
previous frame's (grey levels, 0-255). A frame starts a new shot when its score is over ABSOLUTE (another camera,
another photo), or over RATIO times the mean of the last WINDOW scores plus FLOOR (a cut within one camera's
footage: the same background with other people, which differs from the frame before by little more than motion
does, but by several times the scene's own pace). Measured on the shared videos (vtest.avi, person_tracker_cctv.mp4,
openpose_video.avi, 1,638 pairs of consecutive frames, and every 5th / 10th frame of the first two extracted to
folders): the largest score of consecutive frames is 7.8 and the largest ratio 2.16 (0.72 of the threshold); 300
cuts to another of those videos score a ratio of 8.9 and more, and of 400 cuts between frames of vtest.avi 100 and
more apart (a fixed camera) 97 % score over RATIO (a RATIO of 2.5 with a FLOOR of 1.0 caught 90 %, the largest
ratio of consecutive frames then 1.63). A thumbnail of another shape (a photo of another aspect) is a new shot too.
"""

from __future__ import annotations

from collections import deque

import cv2
import numpy as np

THUMB_WIDTH = 32
# the frame is first sampled every so many pixels of a thumbnail pixel's span: shrinking all of a 1080p frame took
# 5.6 ms, as long as the network on a small input; the samples left still average over 8 x 8 of them a pixel
SAMPLES_A_PIXEL = 8
ABSOLUTE = 20.0  # 96.7 % of unrelated photos of one shape score more
RATIO = 3.0
WINDOW = 10
FLOOR = 0.5  # grey levels: a still scene's scores near 0 make any flicker a large ratio


def thumbnail(image_bgr: np.ndarray) -> np.ndarray:
    """The grey thumbnail frames are compared by (int16, so differences do not wrap around)."""
    height, width = image_bgr.shape[:2]
    step = max(1, width // (THUMB_WIDTH * SAMPLES_A_PIXEL))
    sampled = image_bgr[::step, ::step]
    size = (THUMB_WIDTH, max(1, round(THUMB_WIDTH * height / width)))
    small = cv2.resize(sampled, size, interpolation=cv2.INTER_AREA)
    return cv2.cvtColor(small, cv2.COLOR_BGR2GRAY).astype(np.int16)


class ShotChanges:
    """``is_new_shot(image)`` for each frame in turn: whether it starts a new shot (never the first frame)."""

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        """A new source: its first frame is compared with nothing."""
        self._last: np.ndarray | None = None
        self._scores: deque[float] = deque(maxlen=WINDOW)

    def is_new_shot(self, image_bgr: np.ndarray) -> bool:
        thumb = thumbnail(image_bgr)
        last, self._last = self._last, thumb
        if last is None:
            return False
        if last.shape != thumb.shape:
            return True
        score = float(np.abs(thumb - last).mean())
        pace = sum(self._scores) / len(self._scores) if self._scores else None
        self._scores.append(score)  # a cut's own score stays in: the next frames of a cut are not cuts again
        return score > ABSOLUTE or (pace is not None and score > RATIO * (pace + FLOOR))
