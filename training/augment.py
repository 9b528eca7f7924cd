"""The paper's augmentation: rotation, scale, translation and horizontal flip with the flip map.

Beside it, two options. A mosaic (YOLOv4's): four augmented images shrunk into the quarters of
one crop, so that single-person photos also teach small people and several people a crop. A
half-body crop (after HRNet's half-body transform, here for a bottom-up crop): the view zooms
onto one person's head, arms and hips, so that the crop's edge cuts them at the thighs, as
tables, desks and the frame's edge cut the seated and close-up people of everyday photos.
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
    half_body: float = 0.0  # probability that a view is a half-body crop of one person (0: the paper's)
    half_body_zoom: tuple[float, float] = (1.2, 2.0)  # crop side / the upper body's longer side, uniform
    min_half_body_joints: int = 3  # labelled upper-body joints a person needs to be picked


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
    return _centred_affine(((width - 1) / 2, (height - 1) / 2), scale, size, config, rng)


def half_body_affine(
    keypoints: np.ndarray,
    upper_body: tuple[int, ...],
    width: int,
    height: int,
    size: int,
    config: AugmentConfig,
    rng: np.random.Generator,
) -> tuple[np.ndarray, bool] | None:
    """A crop matrix centred on one random person's labelled upper-body joints, or None if nobody has enough.

    The joints' box (its longer side times ``half_body_zoom``) fills the crop, so the crop's lower
    edge falls below the hips; the zoom is capped at 4x the letterbox scale so small people do
    not become a blur. Rotation, translation and flip are drawn as in ``random_affine``.
    """
    upper = keypoints[:, list(upper_body)]  # (N, U, 3)
    labelled = upper[..., 2] > 0
    candidates = np.flatnonzero(labelled.sum(axis=1) >= config.min_half_body_joints)
    if len(candidates) == 0:
        return None
    person = int(rng.choice(candidates))
    xy = upper[person, labelled[person], :2]
    low, high = xy.min(axis=0), xy.max(axis=0)
    extent = max(float((high - low).max()), 1.0) * rng.uniform(*config.half_body_zoom)
    scale = min(size / extent, 4.0 * size / max(width, height))
    return _centred_affine(tuple((low + high) / 2), scale, size, config, rng)


def _centred_affine(
    centre: tuple[float, float], scale: float, size: int, config: AugmentConfig, rng: np.random.Generator
) -> tuple[np.ndarray, bool]:
    """Image point ``centre`` to the crop's centre (plus a random shift), scaled, rotated, maybe flipped."""
    angle = rng.uniform(-config.max_rotation, config.max_rotation)
    tx, ty = rng.uniform(-config.max_translate, config.max_translate, size=2)
    flip = bool(rng.random() < config.flip)
    cx, cy = centre
    matrix = cv2.getRotationMatrix2D((float(cx), float(cy)), angle, scale)
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
