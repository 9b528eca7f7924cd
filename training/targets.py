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
    max_people: int = 30  # people beyond this count get heatmaps but no AE tag supervision
    sigma: float = 2.0  # Gaussian sigma in heatmap cells, at both resolutions (HigherHRNet's choice)


def gaussian_heatmaps(keypoints: np.ndarray, out_size: int, stride: int, sigma: float) -> np.ndarray:
    """(N, K, 3) keypoints in input pixels -> (K, out_size, out_size) heatmaps (max over people).

    Each Gaussian is cut at 3 sigma, so the target is exactly 0 away from keypoints.
    """
    k = keypoints.shape[1]
    heatmaps = np.zeros((k, out_size, out_size), np.float32)
    radius = int(np.ceil(3 * sigma))
    offsets = np.arange(-radius, radius + 1, dtype=np.float32)
    for person in keypoints:
        for j, (x, y, v) in enumerate(person):
            if v <= 0:
                continue
            cx, cy = x / stride, y / stride
            ix, iy = int(round(cx)), int(round(cy))
            xs, ys = ix + offsets.astype(int), iy + offsets.astype(int)
            gx = np.exp(-((xs - cx) ** 2) / (2 * sigma**2))
            gy = np.exp(-((ys - cy) ** 2) / (2 * sigma**2))
            patch = np.outer(gy, gx)
            patch[np.add.outer((ys - cy) ** 2, (xs - cx) ** 2) > (3 * sigma) ** 2] = 0
            keep_x, keep_y = (xs >= 0) & (xs < out_size), (ys >= 0) & (ys < out_size)
            if keep_x.any() and keep_y.any():
                region = heatmaps[j][np.ix_(ys[keep_y], xs[keep_x])]
                np.maximum(region, patch[np.ix_(keep_y, keep_x)], out=region)
                heatmaps[j][np.ix_(ys[keep_y], xs[keep_x])] = region
    return heatmaps


def joint_indices(keypoints: np.ndarray, out_size: int, stride: int, max_people: int) -> np.ndarray:
    """(max_people, K, 2) int64: flat index k*H*W + y*W + x into the 1/stride tag map, and a visible flag."""
    n, k = keypoints.shape[:2]
    joints = np.zeros((max_people, k, 2), np.int64)
    for p in range(min(n, max_people)):
        for j in range(k):
            x, y, v = keypoints[p, j]
            ix, iy = int(round(x / stride)), int(round(y / stride))
            if v > 0 and 0 <= ix < out_size and 0 <= iy < out_size:
                joints[p, j] = (j * out_size * out_size + iy * out_size + ix, 1)
    return joints


def build_targets(
    keypoints: np.ndarray, weights: np.ndarray, valid: np.ndarray, config: TargetConfig
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, float]:
    """Heatmaps and masks at 1/4 and 1/2, AE joints at 1/4, and the sample's loss weight."""
    s4, s2 = config.input_size // 4, config.input_size // 2
    heat4 = gaussian_heatmaps(keypoints, s4, 4, config.sigma)
    heat2 = gaussian_heatmaps(keypoints, s2, 2, config.sigma)
    mask4 = (cv2.resize(valid.astype(np.float32), (s4, s4), interpolation=cv2.INTER_AREA) > 0.5).astype(np.float32)
    mask2 = (cv2.resize(valid.astype(np.float32), (s2, s2), interpolation=cv2.INTER_AREA) > 0.5).astype(np.float32)
    joints = joint_indices(keypoints, s4, 4, config.max_people)
    return heat4, heat2, mask4, mask2, joints, float(weights.mean())
