"""How sure an OKS AP is on a small keypoint set: a paired bootstrap over images.

On a development set of a few dozen images one epoch's AP can differ from the next by a third.
The bootstrap (Efron & Tibshirani, 1993) redraws the images with replacement, scores each draw
with pycocotools and reads a 95 % interval from the percentiles of those scores. Each model's
people are matched image by image once (core.evaluation.ImageMatches, whose matches give the
whole set's scores too); a redraw only adds up the matches of the images it drew, an image
drawn twice counted twice. Models scored on the same draws are compared pairwise: the interval
of their difference is narrower than either model's own, because an image that is hard for
one is usually hard for the other.
"""

from __future__ import annotations

import numpy as np

from core.evaluation import STAT_NAMES, ImageMatches


def bootstrap(models: list[ImageMatches], resamples: int, seed: int = 0) -> np.ndarray:
    """(resamples, models, len(STAT_NAMES)) scores of every model's matches on the same ``resamples`` redraws."""
    rng = np.random.default_rng(seed)
    n = len(models[0])
    scores = np.zeros((resamples, len(models), len(STAT_NAMES)))
    for r in range(resamples):
        picks = rng.integers(0, n, size=n)
        for m, matches in enumerate(models):
            stats = matches.scores(picks)
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
