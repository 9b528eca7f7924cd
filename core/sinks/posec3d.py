"""PoseC3D / mmaction2 skeleton annotation as a pickle.

A dict: ``frame_dir`` (source name), ``label`` -1, ``img_shape`` and ``original_shape`` (h, w),
``total_frames``, ``keypoint`` (M persons x T frames x K x 2, float32), ``keypoint_score``
(M x T x K), plus ``track_ids`` (M,) and ``frame_indices`` (T,). Persons are track IDs in
order of first appearance; a detection the tracker has not given an ID yet (a track's first
frame) is left out rather than put in a row other people share. Without tracking, person n is
the n-th detection of each frame (track ID -1). As in mmaction2, a missing joint is 0 with
score 0. The file is replaced atomically at close and during the run: after ``flush_every`` frames, and
no sooner than ``FLUSH_SPACING`` times the last replacement took, so that rewriting a file that grows with
tracks x frames stays a small share of a long run.
"""

from __future__ import annotations

import pickle
import time
from pathlib import Path

import numpy as np

from core.poses import Poses
from core.sinks.base import Sink, atomic_file, writable

FLUSH_SPACING = 10  # seconds between replacements, in units of the last one's duration


class PoseC3DSink(Sink):
    def __init__(
        self,
        path: str | Path,
        num_keypoints: int,
        image_size: tuple[int, int],
        name: str,
        tracked: bool = True,
        flush_every: int = 25,
    ) -> None:
        self.path = writable(path)
        self.k = num_keypoints
        self.tracked = tracked
        self.image_size = image_size
        self.name = name
        self.flush_every = flush_every
        self._frames: list[dict[int, tuple[np.ndarray, np.ndarray]]] = []
        self._frame_indices: list[int] = []
        self._persons: dict[int, int] = {}  # track id (or detection rank) -> row
        self._flushed = 0  # frames in the file
        self._next_flush = 0.0  # time.monotonic() before which the file is not replaced
        self.flush()

    def write(self, frame_index: int, time_s: float, poses: Poses, image=None) -> None:
        frame = {}
        for n in range(len(poses)):
            if self.tracked and poses.track_ids[n] < 0:
                continue
            key = int(poses.track_ids[n]) if self.tracked else -1 - n
            self._persons.setdefault(key, len(self._persons))
            frame[key] = (np.nan_to_num(poses.xy[n]), np.where(poses.visible[n], poses.keypoint_scores[n], 0.0))
        self._frames.append(frame)
        self._frame_indices.append(int(frame_index))
        if len(self._frames) - self._flushed >= self.flush_every and time.monotonic() >= self._next_flush:
            self.flush()

    def annotation(self) -> dict:
        m, t = len(self._persons), len(self._frames)
        keypoint = np.zeros((m, t, self.k, 2), np.float32)
        score = np.zeros((m, t, self.k), np.float32)
        for ti, frame in enumerate(self._frames):
            for key, (xy, s) in frame.items():
                keypoint[self._persons[key], ti] = xy
                score[self._persons[key], ti] = s
        w, h = self.image_size
        return {
            "frame_dir": self.name,
            "label": -1,
            "img_shape": (h, w),
            "original_shape": (h, w),
            "total_frames": t,
            "keypoint": keypoint,
            "keypoint_score": score,
            "track_ids": np.array([key if key >= 0 else -1 for key in self._persons], np.int64),
            "frame_indices": np.array(self._frame_indices, np.int64),
        }

    def flush(self) -> None:
        started = time.monotonic()
        with atomic_file(self.path) as file:  # protocol 5 writes the arrays' memory as it is, with no copy
            pickle.dump(self.annotation(), file, protocol=5)
        self._flushed = len(self._frames)
        self._next_flush = time.monotonic() + FLUSH_SPACING * (time.monotonic() - started)

    def close(self) -> None:
        self.flush()
