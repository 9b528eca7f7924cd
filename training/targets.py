"""Training targets: Gaussian heatmaps at 1/4 and 1/2 resolution, loss masks and AE joint indices.

A keypoint at input pixel (x, y) peaks at heatmap cell (x / stride, y / stride): the inverse
of core.decode, which multiplies peak positions by the stride.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np


@dataclass(frozen=True)
class TargetConfig:
    input_size: int
    max_people: int = 30  # people tagged (AE) a sample, HigherHRNet's; all get heatmaps (see joint_indices)
    sigma: float = 2.0  # Gaussian sigma in heatmap cells, at both resolutions (HigherHRNet's choice)


def gaussian_heatmaps(keypoints: np.ndarray, out_size: int, stride: int, sigma: float) -> np.ndarray:
    """(N, K, 3) keypoints in input pixels -> (K, out_size, out_size) heatmaps (max over people).

    Each Gaussian is cut at 3 sigma, so the target is exactly 0 away from keypoints. All labelled
    joints at once: a (joints, window, window) block of Gaussians, scattered with a maximum.
    """
    k = keypoints.shape[1]
    heatmaps = np.zeros(k * out_size * out_size, np.float32)
    people, joints = np.nonzero(keypoints[..., 2] > 0)
    if len(joints):
        radius = int(np.ceil(3 * sigma))
        offsets = np.arange(-radius, radius + 1)
        cx, cy = keypoints[people, joints, 0] / stride, keypoints[people, joints, 1] / stride
        xs = np.round(cx).astype(np.int64)[:, None] + offsets  # (M, window): the cells around each joint
        ys = np.round(cy).astype(np.int64)[:, None] + offsets
        dx2, dy2 = (xs - cx[:, None]) ** 2, (ys - cy[:, None]) ** 2
        patches = np.exp(-dy2 / (2 * sigma**2))[:, :, None] * np.exp(-dx2 / (2 * sigma**2))[:, None, :]
        inside = dy2[:, :, None] + dx2[:, None, :] <= (3 * sigma) ** 2
        inside &= ((ys >= 0) & (ys < out_size))[:, :, None] & ((xs >= 0) & (xs < out_size))[:, None, :]
        cells = (joints[:, None, None] * out_size + ys[:, :, None]) * out_size + xs[:, None, :]
        np.maximum.at(heatmaps, cells[inside], patches[inside].astype(np.float32))
    return heatmaps.reshape(k, out_size, out_size)


def joint_indices(
    keypoints: np.ndarray, out_size: int, stride: int, max_people: int, rng: np.random.Generator | None = None
) -> np.ndarray:
    """(max_people, K, 2) int64: flat index k*H*W + y*W + x into the 1/stride tag map, and a visible flag.

    Only people with a labelled joint on the map take a slot: one the crop left out would hold a place that a
    person in it goes without. Of more than ``max_people`` such people, the first in annotation order are
    tagged, or a fresh draw of them with ``rng`` (an augmented sample), so that every person of a crowd gets
    tags over an epoch's draws rather than the same first ones each time (or a mosaic's first tile only).
    """
    cells = np.round(keypoints[..., :2] / stride)  # (N, K, 2) as floats: a far-off joint overflows no integer
    on_map = (keypoints[..., 2] > 0) & np.all((cells >= 0) & (cells < out_size), axis=-1)  # (N, K)
    people = np.flatnonzero(on_map.any(axis=1))
    if rng is not None:
        people = rng.permutation(people)
    people = people[:max_people]
    x, y = np.where(on_map[..., None], cells, 0).astype(np.int64).transpose(2, 0, 1)
    flat = (np.arange(keypoints.shape[1]) * out_size + y) * out_size + x
    joints = np.zeros((max_people, keypoints.shape[1], 2), np.int64)
    joints[: len(people)] = np.stack([flat[people] * on_map[people], on_map[people]], axis=-1)
    return joints


def cell_mask(area: np.ndarray, out_size: int, stride: int) -> np.ndarray:
    """(out_size, out_size) uint8: 1 where more than half of the (stride + 1)-pixel square of ``area`` centred on
    the cell's own input pixel (stride * cell, where a joint there peaks) may count (a plain INTER_AREA resize
    averages the block starting at that pixel instead, a mask (stride - 1) / 2 pixels up-left of the heatmaps)."""
    share = cv2.blur(area, (stride + 1, stride + 1), borderType=cv2.BORDER_REPLICATE)
    return (share[: out_size * stride : stride, : out_size * stride : stride] > 0.5).astype(np.uint8)


def build_targets(
    keypoints: np.ndarray,
    weights: np.ndarray,
    valid: np.ndarray,
    config: TargetConfig,
    rng: np.random.Generator | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, float]:
    """Heatmaps and masks at 1/4 and 1/2, AE joints at 1/4 (which people of a crowd, drawn by ``rng`` when
    given: see joint_indices), and the sample's loss weight."""
    s4, s2 = config.input_size // 4, config.input_size // 2
    heat4 = gaussian_heatmaps(keypoints, s4, 4, config.sigma)
    heat2 = gaussian_heatmaps(keypoints, s2, 2, config.sigma)
    area = valid.astype(np.float32)
    mask4, mask2 = cell_mask(area, s4, 4), cell_mask(area, s2, 2)
    joints = joint_indices(keypoints, s4, 4, config.max_people, rng)
    return heat4, heat2, mask4, mask2, joints, float(weights.mean())
