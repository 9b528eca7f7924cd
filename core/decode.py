"""Associative-Embedding decoding in the HigherHRNet manner, in numpy.

Glossary: K keypoints; heatmaps (K, h, w) at ``heatmap_stride``; tags (K, h4, w4) at
``tag_stride`` (one tag per joint); M candidates; P people so far; N people returned.

Coordinates: heatmap cell (i, j) is network-input pixel (i * stride, j * stride), i.e. a
training target for a joint at input pixel x is centred on heatmap coordinate x / stride.

A region of the heatmaps holding values far outside the trained 0-1 is cleared first (``drop_out_of_range``).
Grouping goes joint by joint (``joint_order``): each joint's candidates are matched to the
people found so far with the Hungarian algorithm on cost round(|tag - mean tag|) * 100 - value
(the tag distance decides, the heatmap value breaks ties); a match farther than
``tag_threshold`` starts a new person instead. A person joined to another by a link far longer than
their body allows is then cut there (``cut_bridges``), and each person's joints far from the rest of
their body are dropped (``drop_stray_joints``), before the person is scored.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
from scipy.optimize import linear_sum_assignment

from core.errors import WLitePoseError
from core.peaks import find_peaks, refine_quarter
from core.poses import Poses

# Typical lengths of a body's links as a fraction of a person's size (the square root of their keypoint box's
# area): the medians over the 1,647 human-labelled people of the training pool (../shared/data/train) with 12
# or more joints labelled.
LIMB_LENGTHS = {
    ("left_shoulder", "right_shoulder"): 0.32,
    ("left_hip", "right_hip"): 0.21,
    ("left_shoulder", "left_hip"): 0.53,
    ("right_shoulder", "right_hip"): 0.53,
    ("left_shoulder", "left_elbow"): 0.30,
    ("right_shoulder", "right_elbow"): 0.30,
    ("left_elbow", "left_wrist"): 0.25,
    ("right_elbow", "right_wrist"): 0.25,
    ("left_hip", "left_knee"): 0.48,
    ("right_hip", "right_knee"): 0.48,
    ("left_knee", "left_ankle"): 0.47,
    ("right_knee", "right_ankle"): 0.47,
    ("left_ear", "left_shoulder"): 0.24,
    ("right_ear", "right_shoulder"): 0.23,
    ("nose", "left_eye"): 0.053,
    ("nose", "right_eye"): 0.053,
    ("left_eye", "right_eye"): 0.075,
    ("left_eye", "left_ear"): 0.063,
    ("right_eye", "right_ear"): 0.059,
}


# Training targets are Gaussians of height 1 on 0, so a trained network's heatmaps stay near 0-1 (the bundled
# one's within -0.22 and 1.19 on 2,900 real images and video frames). On a frame unlike any it learnt from (a flat
# grey or a gradient, a plain wall at the picture's edge) it answers with a blob of rippled values on every joint
# at once, up to 131 (100 people a frame): a region holding a value outside HEATMAP_RANGE holds no joint
# (drop_out_of_range), and a joint's confidence is its peak capped at MAX_CONFIDENCE, as scores are 0-1.
HEATMAP_RANGE = (-0.5, 1.5)
# a blob's in-range fringe: the cells joined to it where some joint is above this (not the joint threshold, which
# eval's 0.05 or a user's 0 would spread over people across the picture)
BLOB_EDGE = 0.2
MAX_CONFIDENCE = 1.0
STRAY_MIN_JOINTS = 4  # a person with fewer joints has no body to judge a stray one against (drop_stray_joints)


@dataclass(frozen=True)
class DecodeConfig:
    # Defaults for display and tracking, picked with benchmarks/tracking_quality.py for the shipped model
    # (highest IDF1 with recall kept on both labelled videos); evaluation uses its own (core.evaluation).
    detection_threshold: float = 0.15  # minimum person score (mean heatmap value over all K joints)
    keypoint_threshold: float = 0.2  # minimum heatmap peak for a joint candidate; weaker joints are missing
    tag_threshold: float = 1.0  # largest tag distance at which a joint joins an existing person
    max_people: int = 100  # people returned (the best-scoring of a larger crowd)
    # heatmap peaks kept per joint (the strongest), a guard against a noisy map, not a second people cap: kept to
    # max_people, each joint kept a different 100 of a crowd of 120, and 3 of the 100 people returned were whole
    max_candidates: int = 400
    min_keypoints: int = 2  # people with fewer joints are dropped
    joint_order: tuple[int, ...] | None = None  # grouping order; None = the schema's order
    stray_factor: float | None = 3.5  # drop_stray_joints' factor; None keeps every grouped joint
    limb_factor: float | None = 2.5  # cut_bridges' factor; None keeps people joined by overlong links
    fill_missing: bool = False  # evaluation: place every missing joint (HigherHRNet's refine), see fill_missing()


def decode(
    heatmaps: np.ndarray,
    tags: np.ndarray,
    config: DecodeConfig,
    heatmap_stride: int = 2,
    tag_stride: int = 4,
    links: np.ndarray | None = None,
) -> Poses:
    """(K, h, w) heatmaps + (K, h4, w4) tags -> Poses in network-input pixels, best first. ``links``
    (from ``limb_links``) lets ``cut_bridges`` judge the people; without them nobody is cut."""
    k, h, w = heatmaps.shape
    heatmaps = drop_out_of_range(heatmaps)
    joint, x, y, value = find_peaks(heatmaps, config.keypoint_threshold, config.max_candidates)
    value = np.minimum(value, MAX_CONFIDENCE)
    if len(joint) == 0:
        return Poses.empty(k)
    xy = refine_quarter(heatmaps, joint, x, y) * heatmap_stride  # (M, 2) input pixels
    _, h4, w4 = tags.shape
    # the tag cell nearest to the joint, as training indexes it: round(xy / tag_stride)
    tx = np.clip(np.rint(xy[:, 0] / tag_stride).astype(np.int64), 0, w4 - 1)
    ty = np.clip(np.rint(xy[:, 1] / tag_stride).astype(np.int64), 0, h4 - 1)
    tag = tags[joint, ty, tx]  # (M,)
    if not np.isfinite(tag).all():
        raise WLitePoseError("the model's output holds NaN or infinite values: is the model file damaged?")
    person, person_tag = group(joint, value, tag, k, config)  # (M,) person per candidate, (P,) mean tags
    n = int(person.max()) + 1
    out_xy = np.full((n, k, 2), np.nan, dtype=np.float32)
    out_val = np.zeros((n, k), dtype=np.float32)
    out_xy[person, joint] = xy
    out_val[person, joint] = value
    if config.limb_factor is not None and links is not None:
        cut_bridges(out_xy, out_val, links, config.limb_factor, slack=2.0 * heatmap_stride)
    if config.stray_factor is not None:  # after the cut: a body spread over two people hides its strays
        drop_stray_joints(out_xy, out_val, config.stray_factor)
    scores = (out_val.sum(axis=1, dtype=np.float64) / k).astype(np.float32)
    keep = (scores > config.detection_threshold) & ((out_val > 0).sum(axis=1) >= config.min_keypoints)
    order = np.argsort(-scores[keep], kind="stable")[: config.max_people]
    idx = np.flatnonzero(keep)[order]
    out_xy, out_val = out_xy[idx], out_val[idx]
    if config.fill_missing:
        fill_missing(out_xy, out_val, person_tag[idx], heatmaps, tags, heatmap_stride, tag_stride)
    return Poses(out_xy, out_val, scores[idx])


def drop_out_of_range(heatmaps: np.ndarray) -> np.ndarray:
    """(K, h, w) heatmaps, or a copy with each region holding a value outside HEATMAP_RANGE zeroed on every joint:
    a region is the cells connected to it where some joint is above BLOB_EDGE, so the blob's in-range fringe goes
    with its core (the network extrapolating there, not seeing joints) and people apart from it are kept."""
    low, high = HEATMAP_RANGE
    if low <= heatmaps.min() and heatmaps.max() <= high:  # every real frame: a quarter of the work
        return heatmaps
    top, bottom = heatmaps.max(axis=0), heatmaps.min(axis=0)
    wild = ~((low <= bottom) & (top <= high))  # some cell is (or is NaN): the check above failed
    _, region = cv2.connectedComponents(((top > BLOB_EDGE) | wild).astype(np.uint8), connectivity=8)
    return np.where(np.isin(region, region[wild])[None], np.float32(0), heatmaps)


def group(
    joint: np.ndarray, value: np.ndarray, tag: np.ndarray, k: int, config: DecodeConfig
) -> tuple[np.ndarray, np.ndarray]:
    """Candidates sorted by joint -> ((M,) person index for each, (P,) mean tag per person), by joint-order
    Hungarian tag matching."""
    person = np.full(len(joint), -1, dtype=np.int64)
    capacity = len(joint)
    tag_sum = np.zeros(capacity)
    tag_count = np.zeros(capacity)
    people = 0
    starts = np.searchsorted(joint, np.arange(k + 1))
    for j in config.joint_order or range(k):
        lo, hi = starts[j], starts[j + 1]
        if lo == hi:
            continue
        cand = np.arange(lo, hi)
        if people:
            mean_tag = tag_sum[:people] / tag_count[:people]
            dist = np.abs(tag[cand, None] - mean_tag[None, :])  # (m, P)
            cost = np.round(dist) * 100 - value[cand, None]
            rows, cols = linear_sum_assignment(cost)
            ok = dist[rows, cols] < config.tag_threshold
            rows, cols = rows[ok], cols[ok]
            person[cand[rows]] = cols
            new = np.ones(len(cand), bool)
            new[rows] = False
            cand = cand[new]
        person[cand] = np.arange(people, people + len(cand))
        people += len(cand)
        ids = person[lo:hi]  # distinct: one candidate per person per joint
        tag_sum[ids] += tag[lo:hi]
        tag_count[ids] += 1
    return person, tag_sum[:people] / np.maximum(tag_count[:people], 1)


def drop_stray_joints(xy: np.ndarray, value: np.ndarray, factor: float) -> None:
    """In place: drop joints lying more than ``factor`` times the person's spread from their median joint.

    xy (N, K, 2) with NaN gaps, value (N, K). The spread is the 75th percentile of the joints' distances
    from the median joint. A joint whose tag matched a neighbour or a distant false peak draws a long limb
    across the image and inflates the person's box; medians and percentiles ignore such joints, so they
    stand out. People with fewer than STRAY_MIN_JOINTS joints are kept as they are.
    """
    found = ~np.isnan(xy[..., 0])
    counts = found.sum(axis=1)
    judged = counts >= STRAY_MIN_JOINTS
    if not judged.any():
        return
    pts, count = xy[judged], counts[judged]  # (J, K, 2), (J,)
    # x and y medians in one call: rows 0..J-1 are the x coordinates, J..2J-1 the y ones
    centre = row_quantile(np.concatenate([pts[..., 0], pts[..., 1]]), np.tile(count, 2), 0.5).reshape(2, -1).T
    dist = np.linalg.norm(pts - centre[:, None], axis=-1)  # (J, K), NaN where missing
    spread = np.maximum(row_quantile(dist, count, 0.75), 1.0)
    stray = np.zeros_like(found)
    stray[judged] = dist > factor * spread[:, None]  # NaN distances (missing joints) compare False
    xy[stray] = np.nan
    value[stray] = 0.0


def limb_links(keypoint_names, skeleton) -> np.ndarray:
    """(E, 3) rows (joint a, joint b, typical length) for a model's skeleton links; the length is NaN for a
    link LIMB_LENGTHS does not know (another schema's own, such as CrowdPose's head and neck links): such
    links join a body, unjudged."""
    typical = {frozenset(pair): length for pair, length in LIMB_LENGTHS.items()}
    rows = [(a, b, typical.get(frozenset((keypoint_names[a], keypoint_names[b])), np.nan)) for a, b in skeleton]
    return np.array(rows, dtype=np.float64).reshape(-1, 3)


def cut_bridges(xy: np.ndarray, value: np.ndarray, links: np.ndarray, factor: float, slack: float) -> None:
    """In place: a person with a link more than ``factor`` times as long as the rest of their body says (plus
    ``slack`` pixels of rounding: the face's links on a small person are a few pixels) is two people grouped as
    one, joined by that link: they are cut at every such link and only the part with the most heatmap value
    is kept.

    xy (N, K, 2) with NaN gaps, value (N, K), links from ``limb_links``. The body's scale is the median, over
    the person's links with a typical length, of length / typical length; people with fewer than 3 such
    links are not judged. Joints linked to no other joint found are left to ``drop_stray_joints``.
    """
    a, b, typical = links[:, 0].astype(np.int64), links[:, 1].astype(np.int64), links[:, 2]
    found = ~np.isnan(xy[..., 0])
    both = found[:, a] & found[:, b]  # (N, E) links whose two joints were found
    judged = both & np.isfinite(typical)
    length = np.linalg.norm(xy[:, a] - xy[:, b], axis=-1)
    people = np.flatnonzero(judged.sum(axis=1) >= 3)
    if len(people) == 0:
        return
    ratio = np.where(judged[people], length[people] / np.nan_to_num(typical, nan=1.0), np.nan)
    scale = row_quantile(ratio, judged[people].sum(axis=1), 0.5)
    bridge = judged[people] & (length[people] > factor * scale[:, None] * typical + slack)
    k = xy.shape[1]
    for n, cut in zip(people[bridge.any(axis=1)], bridge[bridge.any(axis=1)], strict=True):
        kept = both[n] & ~cut
        part = _parts(k, zip(a[kept].tolist(), b[kept].tolist(), strict=True))
        linked = np.zeros(k, bool)
        linked[a[both[n]]] = linked[b[both[n]]] = True
        weight = np.bincount(part[linked], weights=value[n, linked])
        drop = linked & (part != np.argmax(weight))
        xy[n, drop] = np.nan
        value[n, drop] = 0.0


def _parts(k: int, pairs) -> np.ndarray:
    """(k,) the connected part of each of k joints joined by ``pairs`` (a few dozen links: a union-find)."""
    root = list(range(k))

    def find(i: int) -> int:
        while root[i] != i:
            root[i] = root[root[i]]
            i = root[i]
        return i

    for i, j in pairs:
        root[find(i)] = find(j)
    return np.array([find(i) for i in range(k)])


def row_quantile(values: np.ndarray, count: np.ndarray, q: float) -> np.ndarray:
    """(J, K) values with NaN gaps, (J,) non-NaN counts -> (J,) linear-interpolated q-quantile of each row
    (np.nanquantile's result, without its per-row Python loop)."""
    ordered = np.sort(values, axis=1)  # NaN sorts last
    pos = q * (count - 1)
    lo = np.floor(pos).astype(np.int64)
    hi = np.minimum(lo + 1, count - 1)
    low = np.take_along_axis(ordered, lo[:, None], axis=1)[:, 0]
    high = np.take_along_axis(ordered, hi[:, None], axis=1)[:, 0]
    return low + (pos - lo) * (high - low)


def fill_missing(xy, value, person_tag, heatmaps, tags, heatmap_stride: int, tag_stride: int) -> None:
    """In place: put each missing joint of each person where heatmap - round(|tag - person tag|) is highest.

    xy (N, K, 2) input pixels with NaN gaps, value (N, K), person_tag (N,). The search runs on the
    tag grid (every ``tag_stride / heatmap_stride``-th heatmap cell), then moves to the highest heatmap
    cell nearby and refines a quarter cell.
    COCO-style evaluation scores every joint, so a guess beats a missing joint there.
    """
    missing_p, missing_j = np.nonzero(np.isnan(xy[..., 0]))
    if len(missing_p) == 0:
        return
    ratio = tag_stride // heatmap_stride
    _, h4, w4 = tags.shape
    coarse = heatmaps[:, ::ratio, ::ratio][:, :h4, :w4]
    score = coarse[missing_j] - np.round(
        np.abs(tags[missing_j, : coarse.shape[1], : coarse.shape[2]] - person_tag[missing_p, None, None])
    )
    ty, tx = np.divmod(score.reshape(len(missing_p), -1).argmax(axis=1), coarse.shape[2])
    hy, hx = _local_max(heatmaps, missing_j, ty * ratio, tx * ratio, radius=ratio - 1)
    xy[missing_p, missing_j] = refine_quarter(heatmaps, missing_j, hx, hy) * heatmap_stride
    value[missing_p, missing_j] = np.clip(heatmaps[missing_j, hy, hx], 0.0, MAX_CONFIDENCE)


def _local_max(heatmaps, joint, y, x, radius: int) -> tuple[np.ndarray, np.ndarray]:
    """Move each (y, x) to the highest cell of its joint's heatmap within ``radius`` cells."""
    _, h, w = heatmaps.shape
    offsets = np.arange(-radius, radius + 1)
    dy, dx = (a.ravel() for a in np.meshgrid(offsets, offsets, indexing="ij"))
    ys = np.clip(y[:, None] + dy, 0, h - 1)  # (Q, S)
    xs = np.clip(x[:, None] + dx, 0, w - 1)
    best = heatmaps[joint[:, None], ys, xs].argmax(axis=1)
    rows = np.arange(len(joint))
    return ys[rows, best], xs[rows, best]
