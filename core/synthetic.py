"""Perfect network outputs for seeded synthetic people: round-trip tests and the grouping benchmark.

``paint`` draws what an ideal model would predict: a Gaussian per joint on the heatmaps (at
``xy / heatmap_stride``, the decoder's convention) and, on each tag channel, every cell takes
the tag of the person whose joint of that type is nearest.
"""

from __future__ import annotations

import numpy as np

# A person standing, arms down, COCO-17 order, 1 tall with the head's top at 0: the body synthetic COCO-17
# people are drawn from, so that decoding's limb check (core.decode.cut_bridges) sees a human shape.
STANDING = np.float32(
    [[0.0, 0.06], [0.03, 0.04], [-0.03, 0.04], [0.06, 0.05], [-0.06, 0.05], [0.13, 0.19], [-0.13, 0.19]]
    + [[0.16, 0.36], [-0.16, 0.36], [0.17, 0.51], [-0.17, 0.51], [0.09, 0.53], [-0.09, 0.53]]
    + [[0.09, 0.75], [-0.09, 0.75], [0.09, 0.97], [-0.09, 0.97]]
)


def random_people(
    rng: np.random.Generator, n: int, k: int, size: tuple[int, int], min_sep: float = 8.0, overlap: float = 0.3
) -> np.ndarray:
    """(n, k, 2) joint positions in a (w, h) image; about ``overlap`` of the people are shifted copies of
    another person (touching and overlapping bodies); same-type joints of two people are >= ``min_sep`` apart.
    With k = 17 (COCO-17) each person is STANDING, scaled, leaning and with its joints moved a little;
    otherwise its joints are scattered over a box half as wide as it is tall."""
    w, h = size
    human = k == len(STANDING)
    people: list[np.ndarray] = []
    tries = 0
    while len(people) < n:
        tries += 1
        if tries > 1000 * (n + 1):
            raise RuntimeError(f"cannot place {n} people in {size} with min_sep {min_sep}")
        if people and rng.random() < overlap:
            base = people[rng.integers(len(people))]
            jitter = 0.02 * np.ptp(base[:, 1]) if human else 2.0  # a small face stays a face
            cand = base + rng.uniform(-25, 25, 2) + rng.normal(0, jitter, base.shape)
        else:
            height = rng.uniform(40, min(160, 0.8 * h))
            centre = rng.uniform([0.1 * w, 0.1 * h], [0.9 * w, 0.9 * h])
            if human:
                lean = rng.uniform(-0.15, 0.15)
                body = STANDING - [0.0, 0.5] + rng.normal(0, 0.02, (k, 2))
                cand = centre + (body + np.outer(body[:, 1], [lean, 0.0])) * height
            else:
                cand = centre + rng.uniform(-0.5, 0.5, (k, 2)) * [0.5 * height, height]
        if (cand < 4).any() or (cand[:, 0] > w - 5).any() or (cand[:, 1] > h - 5).any():
            continue
        if people and np.linalg.norm(np.stack(people) - cand, axis=2).min() < min_sep:
            continue
        people.append(cand)
    return np.stack(people).astype(np.float32) if people else np.zeros((0, k, 2), np.float32)


def paint(
    xy: np.ndarray,
    tag_values: np.ndarray,
    input_size: tuple[int, int],
    heatmap_stride: int = 2,
    tag_stride: int = 4,
    sigma: float = 1.5,
) -> tuple[np.ndarray, np.ndarray]:
    """(N, K, 2) input-pixel joints (NaN = absent) + (N,) tags -> heatmaps (K, H/s, W/s), tags (K, H/t, W/t)."""
    n, k, _ = xy.shape
    w, h = input_size
    hm = np.zeros((k, h // heatmap_stride, w // heatmap_stride), np.float32)
    tg = np.zeros((k, h // tag_stride, w // tag_stride), np.float32)
    ys, xs = np.mgrid[0 : hm.shape[1], 0 : hm.shape[2]]
    ty, tx = np.mgrid[0 : tg.shape[1], 0 : tg.shape[2]]
    for j in range(k):
        present = ~np.isnan(xy[:, j, 0])
        if not present.any():
            continue
        p = xy[present, j] / heatmap_stride  # (n', 2)
        d2 = (xs[None] - p[:, 0, None, None]) ** 2 + (ys[None] - p[:, 1, None, None]) ** 2
        hm[j] = np.exp(-d2 / (2 * sigma**2)).max(axis=0)
        q = np.rint(xy[present, j] / tag_stride)  # the cell training supervises; nearest wins around it
        t2 = (tx[None] - q[:, 0, None, None]) ** 2 + (ty[None] - q[:, 1, None, None]) ** 2
        tg[j] = tag_values[present][t2.argmin(axis=0)]
    return hm, tg
