"""The result type shared by decoding, tracking, drawing and the sinks.

Shapes: N people, K keypoints. Coordinates are pixels (image or network input, as the
producer says); a missing joint is NaN in ``xy`` and 0 in ``keypoint_scores``, never (0, 0).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass(eq=False)  # compared by identity: == on the arrays inside has no single truth value
class Poses:
    xy: np.ndarray  # (N, K, 2) float32, NaN = missing joint
    keypoint_scores: np.ndarray  # (N, K) float32
    scores: np.ndarray  # (N,) float32 person scores
    track_ids: np.ndarray = field(default=None)  # (N,) int64, -1 = not tracked

    def __post_init__(self) -> None:
        self.xy = np.asarray(self.xy, dtype=np.float32)
        if self.xy.ndim != 3 or self.xy.shape[2] != 2:
            raise ValueError(f"xy must be (N, K, 2), got {self.xy.shape}")
        n, k = self.xy.shape[:2]
        self.keypoint_scores = np.asarray(self.keypoint_scores, dtype=np.float32)
        self.scores = np.asarray(self.scores, dtype=np.float32)
        if self.track_ids is None:
            self.track_ids = np.full(n, -1, dtype=np.int64)
        self.track_ids = np.asarray(self.track_ids, dtype=np.int64)
        if self.keypoint_scores.shape != (n, k):
            raise ValueError(f"keypoint_scores must be {(n, k)}, got {self.keypoint_scores.shape}")
        if self.scores.shape != (n,) or self.track_ids.shape != (n,):
            raise ValueError(f"scores and track_ids must be ({n},), got {self.scores.shape}, {self.track_ids.shape}")

    @classmethod
    def empty(cls, k: int) -> Poses:
        return cls(np.zeros((0, k, 2)), np.zeros((0, k)), np.zeros(0))

    def __len__(self) -> int:
        return self.xy.shape[0]

    def __getitem__(self, which) -> Poses:
        """The people ``which`` picks (an index, a slice, a boolean mask or an index array), as Poses:
        ``poses[poses.scores > 0.3]``, ``poses[0]`` (one person), ``for person in poses``."""
        if isinstance(which, (int, np.integer)):
            which = [range(len(self))[which]]  # a negative index counts from the end; past it, IndexError
        return Poses(self.xy[which], self.keypoint_scores[which], self.scores[which], self.track_ids[which])

    def __repr__(self) -> str:
        ids = ", ".join(map(str, self.track_ids[:10].tolist())) + (", ..." if len(self) > 10 else "")
        return f"Poses({len(self)} people, {self.num_keypoints} joints each, track_ids [{ids}])"

    @property
    def num_keypoints(self) -> int:
        return self.xy.shape[1]

    @property
    def visible(self) -> np.ndarray:
        """(N, K) bool: joints that were found."""
        return ~np.isnan(self.xy[..., 0])

    def boxes(self) -> np.ndarray:
        """(N, 4) x_min, y_min, x_max, y_max over the found joints (NaN for a person without joints)."""
        return keypoint_boxes(self.xy)

    def scaled(self, to_image) -> Poses:
        """A copy with ``xy`` mapped through ``to_image`` ((..., 2) -> (..., 2))."""
        return Poses(to_image(self.xy), self.keypoint_scores, self.scores, self.track_ids)

    def inside(self, image_size: tuple[int, int]) -> Poses:
        """A copy with every joint moved onto the nearest pixel centre of a (w, h) image: a peak refined past
        the last cell, or a smoothed joint carried on past the edge, stays in the picture (gaps stay NaN)."""
        w, h = image_size
        xy = np.stack([np.clip(self.xy[..., 0], 0, w - 1), np.clip(self.xy[..., 1], 0, h - 1)], axis=-1)
        return Poses(xy.astype(self.xy.dtype), self.keypoint_scores, self.scores, self.track_ids)


def keypoint_boxes(xy: np.ndarray) -> np.ndarray:
    """(N, K, 2) joints with NaN gaps -> (N, 4) x_min, y_min, x_max, y_max of the found ones, in xy's dtype
    (NaN for a person without joints)."""
    out = np.full((len(xy), 4), np.nan, dtype=xy.dtype)
    has = ~np.isnan(xy[..., 0]).all(axis=1)
    if has.any():
        out[has, :2] = np.nanmin(xy[has], axis=1)
        out[has, 2:] = np.nanmax(xy[has], axis=1)
    return out


def box_iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(A, 4) x (B, 4) boxes (x_min, y_min, x_max, y_max) -> (A, B) intersection over union."""
    a, b = a[:, None], b[None]
    inter = np.prod(np.clip(np.minimum(a[..., 2:], b[..., 2:]) - np.maximum(a[..., :2], b[..., :2]), 0, None), -1)
    area_a, area_b = np.prod(a[..., 2:] - a[..., :2], -1), np.prod(b[..., 2:] - b[..., :2], -1)
    return inter / (area_a + area_b - inter + 1e-9)


def median_rows(values: np.ndarray) -> np.ndarray:
    """(M, K, 2) with NaN gaps -> (M, 2) median over K of the numbers present, 0 where none is (a sort, which puts
    NaN last: numpy's nanmedian took a quarter of the tracker's time)."""
    ordered = np.sort(values, axis=1)
    count = (~np.isnan(values)).sum(axis=1)  # (M, 2)
    low = np.take_along_axis(ordered, (np.maximum(count - 1, 0) // 2)[:, None], axis=1)[:, 0]
    high = np.take_along_axis(ordered, (count // 2)[:, None], axis=1)[:, 0]
    return np.where(count > 0, (low + high) / 2, 0.0)
