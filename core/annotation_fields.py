"""One annotation of a COCO-format keypoint file, checked field by field: ids, numbers, keypoints, box, area and
region, each fault named in words."""

from __future__ import annotations

import json
import math

import numpy as np

from core.errors import WLitePoseError


def check_region(ann: dict) -> None:
    """ValueError unless ``ann``'s ``iscrowd`` is 0 or 1 and its segmentation, if any, is polygons (lists of x, y
    numbers) or a mask (an RLE: a size of height and width, counts as text or as runs of pixels): found when the
    file is read, not by a loader hours in."""
    if ann.get("iscrowd", 0) not in (0, 1):
        raise ValueError(f"annotation {ann.get('id')} has iscrowd {as_written(ann['iscrowd'], 40)}, not 0 or 1")
    region = ann.get("segmentation")
    if not region:
        return
    if isinstance(region, dict) and {"counts", "size"} <= region.keys():
        size, counts = region["size"], region["counts"]
        sized = isinstance(size, list) and len(size) == 2 and all(_is_count(side) and side > 0 for side in size)
        if not sized or not (isinstance(counts, str) or isinstance(counts, list) and all_counts(counts)):
            raise ValueError(
                f"annotation {ann.get('id')} has a mask (RLE) whose size is not a height and width or whose counts "
                "are neither text nor runs of pixels"
            )
        return
    polygons = isinstance(region, list) and all(
        isinstance(polygon, list) and len(polygon) % 2 == 0 and all_numbers(polygon) for polygon in region
    )
    if not polygons:
        raise ValueError(
            f"annotation {ann.get('id')} has a segmentation that is neither polygons (lists of x, y numbers) nor a "
            "mask (an RLE with counts and size)"
        )


def check_fields(ann: dict) -> None:
    """ValueError naming ``ann`` and its field unless its keypoints (if any) are a list, three values a keypoint,
    its bbox (if any) four numbers, its area (if any) a finite number, and its iscrowd and segmentation as
    ``check_region`` wants: said when the file is read, not by a loader hours in or half-way through a copy."""
    name = f"annotation {ann.get('id')}"
    keypoints = ann.get("keypoints")
    if keypoints and not isinstance(keypoints, list):
        raise ValueError(f"{name} has keypoints that are not a list of x, y, v numbers, three per keypoint")
    if keypoints and len(keypoints) % 3:
        raise ValueError(f"{name} has {len(keypoints)} keypoint values, not three (x, y, v) per keypoint")
    box = ann.get("bbox")
    if box is not None and not (isinstance(box, list) and len(box) == 4 and all(map(is_number, box))):
        raise ValueError(f"{name} has a bbox that is not four numbers (x, y, width, height)")
    if ann.get("area") is not None and not is_number(ann["area"]):
        raise ValueError(f"{name} has an area that is not a finite number")
    check_region(ann)


def keypoint_values(values, k: int, ann_id) -> np.ndarray:
    """(k, 3) float64 x, y, v of an annotation's flat keypoint list: an unlabelled joint (v 0) may have no
    position (null, NaN: it becomes 0, 0, as COCO writes it), a labelled one must; ValueError otherwise."""
    try:
        array = np.asarray([np.nan if v is None else v for v in values], dtype=np.float64).reshape(k, 3)
    except (TypeError, ValueError, OverflowError):  # a 400-digit integer is no coordinate either
        raise ValueError(f"annotation {ann_id} has keypoints that are not numbers") from None
    if not np.isfinite(array[:, 2]).all():
        raise ValueError(f"annotation {ann_id} has a keypoint whose visibility v is not a number (null, NaN or inf)")
    labelled = array[:, 2] > 0
    if not np.isfinite(array[labelled, :2]).all():
        raise ValueError(f"annotation {ann_id} has a labelled keypoint without a position (null, NaN or inf)")
    array[~labelled & ~np.isfinite(array).all(axis=1)] = 0.0
    return array


def as_written(value, length: int) -> str:
    """``value`` as its JSON file writes it (``true``, ``null``, ``"1"`` for text, ``1`` for a number), cut to
    ``length`` characters for a message."""
    return json.dumps(value, ensure_ascii=False, default=str)[:length]


def check_id(value, what: str, source) -> None:
    """WLitePoseError unless ``value`` can be an id."""
    if not is_id(value):
        raise WLitePoseError(f"{source}: {what} is {as_written(value, 40)}, not a whole number or text")


def is_id(value) -> bool:
    """A whole number or text (a list, an object, 1.5, NaN or True is none: results name their image by an
    integer)."""
    whole = isinstance(value, int) and not isinstance(value, bool) or isinstance(value, float) and value.is_integer()
    return whole or isinstance(value, str)


def all_counts(values: list) -> bool:
    """Whether every one of ``values`` is a whole number of at least 0: ``_is_count`` of each, said at once of
    a list of ints (a crowd mask's millions of runs in COCO's train2017 took seconds one by one)."""
    if set(map(type, values)) <= {int}:  # no bool: its type is bool
        return not values or min(values) >= 0
    return all(map(_is_count, values))


def all_numbers(values: list) -> bool:
    """Whether every one of ``values`` is a finite number: ``is_number`` of each, said at once of a list of
    ints and floats (COCO's train2017 has ten million polygon coordinates: seconds, one by one)."""
    if set(map(type, values)) <= {int, float}:
        try:
            return math.isfinite(math.fsum(values))  # NaN and inf carry through a sum
        except (OverflowError, ValueError):  # an int past a float's range, a sum past it, inf - inf: one by one
            pass
    return all(map(is_number, values))


def _is_count(value) -> bool:
    """A whole number of at least 0 (True is none)."""
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def is_number(value) -> bool:
    """A finite int or float (a 400-digit integer is none: no float holds it)."""
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        return False
    try:
        return math.isfinite(value)
    except OverflowError:
        return False
