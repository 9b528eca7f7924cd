"""The paper's augmentation: rotation, scale, translation and horizontal flip with the flip map.

Beside it, an optional mosaic (YOLOv4's): four augmented images shrunk into the quarters of
one crop, so that single-person photos also teach small people and several people a crop.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np


@dataclass(frozen=True)
class AugmentConfig:
    max_rotation: float = 30.0  # degrees, uniform in [-max, max]
    min_scale: float = 0.75
    max_scale: float = 1.5
    max_translate: float = 40.0  # output pixels, uniform in [-max, max] per axis
    flip: float = 0.5  # probability of a horizontal flip
    mosaic: float = 0.0  # probability that a sample is a 2x2 mosaic of four images (0: the paper's)


def random_affine(
    width: int, height: int, size: int, config: AugmentConfig | None, rng: np.random.Generator | None
) -> tuple[np.ndarray, bool]:
    """A 2x3 matrix mapping image pixels into a size x size crop, and whether it flips.

    Without augmentation this is core.preprocess's letterbox: the longest side fits ``size``,
    top-left, x -> (x + 0.5) * scale - 0.5.
    """
    scale = size / max(width, height)
    if config is None or rng is None:
        return np.array([[scale, 0.0, 0.5 * scale - 0.5], [0.0, scale, 0.5 * scale - 0.5]]), False
    scale *= rng.uniform(config.min_scale, config.max_scale)
    angle = rng.uniform(-config.max_rotation, config.max_rotation)
    tx, ty = rng.uniform(-config.max_translate, config.max_translate, size=2)
    flip = bool(rng.random() < config.flip)
    cx, cy = (width - 1) / 2, (height - 1) / 2
    matrix = cv2.getRotationMatrix2D((cx, cy), angle, scale)
    matrix[:, 2] += ((size - 1) / 2 + tx - cx, (size - 1) / 2 + ty - cy)
    if flip:  # x -> size - 1 - x after the affine
        matrix = np.array([[-1.0, 0.0, size - 1.0], [0.0, 1.0, 0.0]]) @ np.vstack([matrix, [0.0, 0.0, 1.0]])
    return matrix, flip


def warp_sample(
    image: np.ndarray,
    keypoints: np.ndarray,
    valid: np.ndarray,
    matrix: np.ndarray,
    flip: bool,
    size: int,
    flip_map: tuple[int, ...],
    mean_rgb: tuple[float, float, float],
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Apply ``matrix`` to the image (padding with the mean colour, as inference pads), keypoints and mask.

    Keypoints that leave the crop become unlabelled (v = 0); a flip also swaps left/right joints.
    """
    border = tuple(float(m * 255) for m in reversed(mean_rgb))
    image, image_matrix = _shrink(image, matrix)
    image = cv2.warpAffine(image, image_matrix, (size, size), flags=cv2.INTER_LINEAR, borderValue=border)
    valid = cv2.warpAffine(valid, matrix, (size, size), flags=cv2.INTER_NEAREST, borderValue=1)
    kps = keypoints.copy()
    kps[..., :2] = kps[..., :2] @ matrix[:, :2].T + matrix[:, 2]
    if flip:
        kps = kps[:, list(flip_map)]
    outside = (kps[..., 0] < 0) | (kps[..., 1] < 0) | (kps[..., 0] > size - 1) | (kps[..., 1] > size - 1)
    kps[outside, 2] = 0
    return image, kps, valid


def _shrink(image: np.ndarray, matrix: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Downscale with INTER_AREA first, as core.preprocess.letterbox does, so the warp never aliases.

    Returns the smaller image and the matrix that maps its pixels where ``matrix`` maps the
    original's (a pixel u of the small image is x = (u + 0.5) / f - 0.5 of the original).
    """
    scale = float(np.sqrt(abs(np.linalg.det(matrix[:, :2]))))
    if scale >= 1.0:
        return image, matrix
    h, w = image.shape[:2]
    small = cv2.resize(image, (max(1, round(w * scale)), max(1, round(h * scale))), interpolation=cv2.INTER_AREA)
    fx, fy = small.shape[1] / w, small.shape[0] / h
    linear = matrix[:, :2] @ np.diag([1 / fx, 1 / fy])
    offset = matrix[:, :2] @ np.array([0.5 / fx - 0.5, 0.5 / fy - 0.5]) + matrix[:, 2]
    return small, np.column_stack([linear, offset])
