"""Heatmap peak finding: 3x3 max-pool NMS (cv2.dilate), top-k per joint, quarter-pixel refinement.

Glossary: K keypoints, h x w heatmap, M candidates in all (at most ``max_per_joint`` per joint).
"""

from __future__ import annotations

import threading

import cv2
import numpy as np

_KERNEL = np.ones((3, 3), np.uint8)
# Reused per thread: fresh ~1 MB buffers each frame cost more in page faults than the dilate itself.
_workspace = threading.local()


def _buffers(k: int, h: int, w: int) -> tuple[np.ndarray, np.ndarray]:
    """(stacked (k*(h+1), w) with -inf separator rows, pooled (same shape)) for this thread."""
    cached = getattr(_workspace, "buffers", None)
    if cached is None or cached[0].shape != (k * (h + 1), w):
        stacked = np.full((k, h + 1, w), -np.inf, dtype=np.float32).reshape(k * (h + 1), w)
        cached = _workspace.buffers = (stacked, np.empty_like(stacked))
    return cached


def find_peaks(heatmaps: np.ndarray, threshold: float, max_per_joint: int) -> tuple[np.ndarray, ...]:
    """(K, h, w) heatmaps -> (joint (M,), x (M,), y (M,), value (M,)) of local maxima above ``threshold``.

    x, y are integer heatmap cells; the strongest ``max_per_joint`` peaks of each joint are kept,
    sorted by joint then decreasing value.
    """
    k, h, w = heatmaps.shape
    # One dilate over all joints stacked vertically, with a -inf row between them so joints stay apart.
    flat, pooled = _buffers(k, h, w)
    flat.reshape(k, h + 1, w)[:, :h] = heatmaps  # separator rows stay -inf
    cv2.dilate(flat, _KERNEL, dst=pooled)
    idx = np.flatnonzero(flat > threshold)  # few cells pass: compare only those
    idx = idx[flat.ravel()[idx] == pooled.ravel()[idx]]
    idx = idx[~_behind_a_twin(flat, idx)]
    joint, rest = np.divmod(idx, (h + 1) * w)
    y, x = np.divmod(rest, w)
    value = heatmaps[joint, y, x]
    order = np.lexsort((-value, joint))
    joint, y, x, value = joint[order], y[order], x[order], value[order]
    if len(joint):
        first = np.searchsorted(joint, joint)  # index of each joint's first candidate
        keep = np.arange(len(joint)) - first < max_per_joint
        joint, y, x, value = joint[keep], y[keep], x[keep], value[keep]
    return joint, x, y, value


def _behind_a_twin(flat: np.ndarray, idx: np.ndarray) -> np.ndarray:
    """(len(idx),) which of the maxima at flat indices ``idx`` of ``flat`` have a neighbour of the same value
    before them (left, or in the row above): a flat-topped peak (a saturated map) is one joint, not one a cell
    (a constant map gave a hundred people). The row above a joint's first is a -inf separator."""
    rows, cols = np.divmod(idx, flat.shape[1])
    value = flat.ravel()[idx]
    twin = np.zeros(len(idx), bool)
    for dy, dx in ((0, -1), (-1, -1), (-1, 0), (-1, 1)):
        r, c = rows + dy, cols + dx
        inside = (r >= 0) & (c >= 0) & (c < flat.shape[1])
        twin[inside] |= flat[r[inside], c[inside]] == value[inside]
    return twin


def refine_quarter(heatmaps: np.ndarray, joint: np.ndarray, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """(M, 2) float positions: each integer peak moved a quarter cell toward its higher neighbour per axis; not
    along an axis where it lies on the map's edge (without a neighbour beyond, which way it leans is unknown)."""
    k, h, w = heatmaps.shape
    xl, xr = np.clip(x - 1, 0, w - 1), np.clip(x + 1, 0, w - 1)
    yu, yd = np.clip(y - 1, 0, h - 1), np.clip(y + 1, 0, h - 1)
    dx = np.sign(heatmaps[joint, y, xr] - heatmaps[joint, y, xl]) * 0.25 * ((x > 0) & (x < w - 1))
    dy = np.sign(heatmaps[joint, yd, x] - heatmaps[joint, yu, x]) * 0.25 * ((y > 0) & (y < h - 1))
    return np.stack([x + dx, y + dy], axis=1).astype(np.float32)
