"""How sure an OKS AP is on a small keypoint set: a paired bootstrap over images.

On a development set of a few dozen images one epoch's AP can differ from the next by a third.
The bootstrap (Efron & Tibshirani, 1993) redraws the images with replacement, scores each draw
with pycocotools and reads a 95 % interval from the percentiles of those scores. Models scored
on the same draws are compared pairwise: the interval of their difference is narrower than
either model's own, because an image that is hard for one is usually hard for the other.
"""

from __future__ import annotations

import numpy as np

from core.evaluation import STAT_NAMES, score_results


def resample(data: dict, results: list[list[dict]], picks: np.ndarray) -> tuple[dict, list[list[dict]]]:
    """The dataset and each model's results with images ``picks`` (indices into ``data["images"]``).

    An image drawn twice appears twice under new ids, with its people and each model's
    people copied, so COCOeval counts it twice.
    """
    people: dict[int, list[dict]] = {}
    for ann in data["annotations"]:
        people.setdefault(ann["image_id"], []).append(ann)
    found = [{} for _ in results]
    for per_image, model_results in zip(found, results, strict=True):
        for result in model_results:
            per_image.setdefault(result["image_id"], []).append(result)
    images, annotations, drawn = [], [], [[] for _ in results]
    for new_id, pick in enumerate(picks.tolist(), start=1):
        image = data["images"][pick]
        images.append({**image, "id": new_id})
        for ann in people.get(image["id"], []):
            annotations.append({**ann, "image_id": new_id, "id": len(annotations) + 1})
        for per_image, out in zip(found, drawn, strict=True):
            out += [{**result, "image_id": new_id} for result in per_image.get(image["id"], [])]
    return {**data, "images": images, "annotations": annotations}, drawn


def bootstrap(data: dict, results: list[list[dict]], sigmas, resamples: int, seed: int = 0) -> np.ndarray:
    """(resamples, models, len(STAT_NAMES)) scores of every model on the same ``resamples`` redraws."""
    rng = np.random.default_rng(seed)
    n = len(data["images"])
    scores = np.zeros((resamples, len(results), len(STAT_NAMES)))
    for r in range(resamples):
        drawn_data, drawn = resample(data, results, rng.integers(0, n, size=n))
        for m, model_results in enumerate(drawn):
            stats = score_results(model_results, drawn_data, sigmas, crowd_splits=False)
            scores[r, m] = [stats[name] for name in STAT_NAMES]
    return scores


def interval(values: np.ndarray) -> tuple[float, float]:
    """The central 95 % percentile interval of bootstrap values (NaN: redraws with nobody to count are left out;
    NaN, NaN if that is every redraw)."""
    values = values[~np.isnan(values)]
    if not len(values):
        return float("nan"), float("nan")
    low, high = np.percentile(values, [2.5, 97.5])
    return float(low), float(high)
