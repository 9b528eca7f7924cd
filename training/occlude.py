"""Synthetic occlusion of the lower body: a band of texture hides a person from the hips down.

Everyday photos show many people behind tables, desks and counters: head, shoulders and arms
in view, legs hidden but inside the frame (46 % of the dev set's people show no knee or ankle;
the studio photos of the training pool none). Pasting an occluder over the body is Sarandi et
al.'s synthetic occlusion (2018); here it sits where tables do, and the person keeps the size
and the surroundings of the view, unlike a half-body zoom. Hidden joints become unlabelled, as
COCO leaves them, so the heatmaps learn no peak there.
"""

from __future__ import annotations

import numpy as np

_TRIES = 8  # source regions tried for a texture patch free of labelled joints
_MIN_STD = 2.0  # grey levels: a flatter patch is the letterbox padding, not scene


def lower_body_joints(keypoint_names: tuple[str, ...]) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """(hip joints, knee and ankle joints) of a schema, by name."""
    hips = tuple(i for i, name in enumerate(keypoint_names) if name.endswith("hip"))
    legs = tuple(i for i, name in enumerate(keypoint_names) if name.endswith(("knee", "ankle")))
    return hips, legs


def occlude_lower_bodies(
    image: np.ndarray,
    keypoints: np.ndarray,
    hips: tuple[int, ...],
    legs: tuple[int, ...],
    probability: float,
    rng: np.random.Generator,
) -> None:
    """In place: with ``probability`` each person with a labelled hip and knee or ankle gets an occluder.

    The occluder's top edge lies between the hips (or a little above) and halfway to the lowest
    leg joint; it reaches the crop's bottom or a little below the feet, and is wider than the
    legs by up to half the hip-to-feet height each side. It is filled with a patch of the crop
    that holds no labelled joint and is not flat padding (a plain noisy colour if none is
    found), so it looks like a piece of the scene. Every labelled joint it covers, of any person, becomes unlabelled.
    """
    size_y, size_x = image.shape[:2]
    labelled = keypoints[..., 2] > 0
    for person in range(len(keypoints)):
        hip, leg = labelled[person, list(hips)], labelled[person, list(legs)]
        if not (hip.any() and leg.any()) or rng.random() >= probability:
            continue
        hip_y = keypoints[person, list(hips), 1][hip].mean()
        feet_y = keypoints[person, list(legs), 1][leg].max()
        span = feet_y - hip_y
        if span < 4:  # lying or folded people: no table line to draw
            continue
        leg_x = keypoints[person, list(legs) + list(hips), 0][np.concatenate([leg, hip])]
        top = int(round(hip_y + rng.uniform(-0.1, 0.5) * span))
        bottom = size_y if rng.random() < 0.5 else int(round(feet_y + rng.uniform(0.05, 0.3) * span))
        left = int(round(leg_x.min() - rng.uniform(0.1, 0.5) * span))
        right = int(round(leg_x.max() + rng.uniform(0.1, 0.5) * span))
        top, bottom = max(top, 0), min(bottom, size_y)
        left, right = max(left, 0), min(right, size_x)
        if bottom - top < 2 or right - left < 2:
            continue
        image[top:bottom, left:right] = _texture(image, keypoints, bottom - top, right - left, rng)
        x, y = keypoints[..., 0], keypoints[..., 1]
        covered = (x >= left) & (x < right) & (y >= top) & (y < bottom)
        keypoints[covered, 2] = 0
        labelled = keypoints[..., 2] > 0


def _texture(image: np.ndarray, keypoints: np.ndarray, h: int, w: int, rng: np.random.Generator) -> np.ndarray:
    """An (h, w) patch copied from a part of ``image`` without labelled joints, or a noisy plain colour."""
    size_y, size_x = image.shape[:2]
    joints = keypoints[keypoints[..., 2] > 0][:, :2]
    if h < size_y and w < size_x:
        for _ in range(_TRIES):
            y0, x0 = int(rng.integers(0, size_y - h + 1)), int(rng.integers(0, size_x - w + 1))
            inside = (joints[:, 0] >= x0) & (joints[:, 0] < x0 + w) & (joints[:, 1] >= y0) & (joints[:, 1] < y0 + h)
            patch = image[y0 : y0 + h, x0 : x0 + w]
            if not inside.any() and patch.std() > _MIN_STD:
                return patch.copy()
    colour = rng.integers(0, 256, size=3)
    noise = rng.normal(0.0, 12.0, size=(h, w, 1))
    return np.clip(colour + noise, 0, 255).astype(image.dtype)
