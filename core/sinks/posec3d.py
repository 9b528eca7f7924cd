"""PoseC3D / mmaction2 skeleton annotation as a pickle.

A list of one sample, as mmaction2's PoseDataset reads an annotation file (several runs' lists concatenate
into one dataset; give each sample its ``label`` first, -1 here). The sample is a dict: ``frame_dir`` (source
name), ``label`` -1, ``img_shape`` and ``original_shape`` (h, w),
``total_frames``, ``keypoint`` (M rows x T frames x K x 2, float32), ``keypoint_score``
(M x T x K), plus ``track_ids`` (M x T: the track in each row at each frame, -1 for none),
``frame_indices`` (T,) and ``wlitepose_layout`` (LAYOUT_VERSION). A row holds one track at a time: a new track
takes the first row whose track has not been seen for REUSE_AFTER_S of the frames' time (the tracker lets a
lost person go after 1 s), so that on a video of more than a few seconds there are about
as many rows as people at once, as mmaction2's own demo makes them, and the file grows with the video's
length rather than with tracks x frames (a row for every track ever seen made a 10-minute crowd video a
1.2 GB file). A detection the tracker has not given an ID yet (a track's first frame) is left out
rather than put in a row other people share (``notes`` says so when that is more than LEFT_OUT_NOTE of the
detections: an image folder of unrelated photos, say). The rows are ordered by how many frames they hold
someone in, most first. Without tracking, row n is the n-th detection of each frame
(track ID -1). As in mmaction2, a missing joint is 0 with score 0. The file is replaced atomically at
close and during the run: after ``flush_every`` frames, and no sooner than ``FLUSH_SPACING`` times the
last replacement took, so that rewriting a file that grows with the frames stays a small share of a long
run. Its arrays are pickled as ``numpy.ndarray(shape, dtype, buffer)``, which every numpy since 1.x reads
(mmaction2 runs on numpy 1.x; numpy 2's own pickles name ``numpy._core``, which numpy 1.x cannot import),
their memory written as it is, with no copy (pickle protocol 5, Python 3.8 or later).
"""

from __future__ import annotations

import pickle
import time
from pathlib import Path

import numpy as np

from core.poses import Poses
from core.sinks.base import Sink, atomic_file, writable

FLUSH_SPACING = 10  # seconds between replacements, in units of the last one's duration
REUSE_AFTER_S = 2.0  # a row whose track has been gone this long takes the next new track
# 3: a list of one sample; 2: the sample alone, rows holding one track at a time, track_ids rows x frames;
# 1 (unmarked): the sample alone, a row a track, track_ids (M,)
LAYOUT_VERSION = 3
LEFT_OUT_NOTE = 0.25  # share of the detections left out (no track held them) past which notes() says so


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
        # per frame: the rows, their track IDs, (n, K, 2) joints and (n, K) scores of the people written
        self._frames: list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = []
        self._frame_indices: list[int] = []
        self._holder: list[int] = []  # row -> the track ID holding it (-1 - n: detection rank n, untracked)
        self._seen: list[float] = []  # row -> the time of the last frame its track was in
        self._row: dict[int, int] = {}  # track ID -> its row, while it holds one
        self._flushed = 0  # frames in the file
        self._detections = self._left_out = 0  # people detected, and those no track held (tracked runs)
        self._next_flush = 0.0  # time.monotonic() before which the file is not replaced
        self.flush()

    def write(self, frame_index: int, time_s: float, poses: Poses, image=None) -> None:
        if self.tracked:
            picked = np.flatnonzero(poses.track_ids >= 0)
            keys = poses.track_ids[picked].tolist()
            self._detections += len(poses)
            self._left_out += len(poses) - len(picked)
        else:
            picked = np.arange(len(poses))
            keys = [-1 - n for n in range(len(poses))]
        rows = self._rows_for(keys, time_s)
        ids = [key if key >= 0 else -1 for key in keys]
        xy = np.nan_to_num(poses.xy[picked])
        scores = np.where(poses.visible[picked], poses.keypoint_scores[picked], 0.0).astype(np.float32)
        self._frames.append((np.array(rows, np.int64), np.array(ids, np.int64), xy, scores))
        self._frame_indices.append(int(frame_index))
        if len(self._frames) - self._flushed >= self.flush_every and time.monotonic() >= self._next_flush:
            self.flush()

    def _rows_for(self, keys: list[int], now: float) -> list[int]:
        """The row of each track of this frame (at ``now`` s): its own while it holds one, else a row free again
        or a new one. Gone is timed by the frames' clock, so a live run that drops frames waits as long."""
        rows = [self._row.get(key) for key in keys]
        for row in rows:  # first those who hold a row: one back after a while keeps it
            if row is not None:
                self._seen[row] = now
        for i, key in enumerate(keys):
            if rows[i] is not None:
                continue
            gone = (r for r, seen in enumerate(self._seen) if now - seen > REUSE_AFTER_S)
            free = next(gone, None) if self.tracked else None  # a detection rank keeps a row of its own
            if free is None:
                free = len(self._holder)
                self._holder.append(key)
                self._seen.append(now)
            else:
                del self._row[self._holder[free]]
                self._holder[free], self._seen[free] = key, now
            self._row[key] = rows[i] = free
        return rows

    def notes(self) -> list[str]:
        if self._left_out <= LEFT_OUT_NOTE * self._detections:
            return []
        return [
            f"the PoseC3D file leaves out {self._left_out} of the {self._detections} people detected, those no "
            "track held (a track's first frame, people seen once: unrelated photos); with tracking off (--no-track, "
            "or Track people unticked in the app) it keeps them all"
        ]

    def annotation(self) -> dict:
        m, t = len(self._holder), len(self._frames)
        keypoint = np.zeros((m, t, self.k, 2), np.float32)
        score = np.zeros((m, t, self.k), np.float32)
        track_ids = np.full((m, t), -1, np.int64)
        # the rows most filled first: a reader keeping the first few (mmaction2's FormatGCNInput(num_person=2))
        # keeps the rows most filled (one may hold several tracks in turn), rather than rows of tracks long gone
        filled = np.bincount(np.concatenate([np.zeros(0, np.int64), *(f[0] for f in self._frames)]), minlength=m)
        place = np.empty(m, np.int64)
        place[np.argsort(-filled, kind="stable")] = np.arange(m)
        for ti, (rows, ids, xy, scores) in enumerate(self._frames):
            keypoint[place[rows], ti] = xy
            score[place[rows], ti] = scores
            track_ids[place[rows], ti] = ids
        w, h = self.image_size
        return {
            "frame_dir": self.name,
            "wlitepose_layout": LAYOUT_VERSION,
            "label": -1,
            "img_shape": (h, w),
            "original_shape": (h, w),
            "total_frames": t,
            "keypoint": keypoint,
            "keypoint_score": score,
            "track_ids": track_ids,
            "frame_indices": np.array(self._frame_indices, np.int64),
        }

    def flush(self) -> None:
        started = time.monotonic()
        with atomic_file(self.path) as file:
            _AnyNumpyPickler(file, protocol=5).dump([self.annotation()])
        self._flushed = len(self._frames)
        self._next_flush = time.monotonic() + FLUSH_SPACING * (time.monotonic() - started)

    def close(self) -> None:
        self.flush()


class _AnyNumpyPickler(pickle.Pickler):
    """A pickler writing each array as ``numpy.ndarray(shape, dtype, buffer)`` over its own memory, a writable
    buffer (an in-place transform of the reader's works on it)."""

    def reducer_override(self, obj):
        if type(obj) is not np.ndarray:
            return NotImplemented
        array = np.ascontiguousarray(obj)
        return np.ndarray, (array.shape, array.dtype.str, pickle.PickleBuffer(array))
