"""`wlitepose shrink-data`: a copy of a COCO-format training set with its images no larger than training uses.

A training crop of size S shows an image at most ``max_scale`` (1.5) times its letterbox scale, so
no pixel of a longest side beyond 1.5 S is ever seen (the augmentation shrinks the image first).
Shrinking to that side, and writing WebP, keeps the training samples (up to resampling) and makes
the set a fraction of its size: for copying to a rented GPU machine, or reading from a slow disk.
Keypoints move with the pixel centres, as the letterbox maps them; boxes, polygons and areas scale.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
from collections import Counter
from pathlib import Path

import cv2
import numpy as np

from core.annotation_fields import check_fields, keypoint_values
from core.annotations import check_image_ids, read_dataset
from core.errors import WLitePoseError
from core.labelled_images import check_images, check_mask_size, read_labelled_image
from training.augment import AugmentConfig

FORMATS = {"webp": (".webp", cv2.IMWRITE_WEBP_QUALITY), "jpg": (".jpg", cv2.IMWRITE_JPEG_QUALITY)}


def longest_side(size: int) -> int:
    """The longest image side a training crop of ``size`` can use."""
    return math.ceil(size * AugmentConfig().max_scale)


def _mask_utils():
    """pycocotools' mask functions, for crowd regions given as RLE masks; WLitePoseError if it is not installed."""
    try:
        from pycocotools import mask as mask_utils
    except ImportError:
        raise WLitePoseError(
            "this file's crowd regions are RLE masks, which need pycocotools: pip install pycocotools"
        ) from None
    return mask_utils


def _scale_annotation(ann: dict, fx: float, fy: float, width: int, height: int) -> dict:
    ann = dict(ann)
    if ann.get("keypoints"):
        kps = keypoint_values(ann["keypoints"], len(ann["keypoints"]) // 3, ann.get("id"))  # NaN: 0, 0
        placed = (kps[:, 2] > 0) | np.any(kps[:, :2] != 0, axis=1)  # COCO's unlabelled joints are 0, 0, 0
        kps[placed, 0] = (kps[placed, 0] + 0.5) * fx - 0.5
        kps[placed, 1] = (kps[placed, 1] + 0.5) * fy - 0.5
        ann["keypoints"] = [round(v, 2) for v in kps.ravel().tolist()]
    if ann.get("bbox") is not None and len(ann["bbox"]) == 4:
        x, y, w, h = ann["bbox"]
        ann["bbox"] = [x * fx, y * fy, w * fx, h * fy]
    if ann.get("area") is not None:
        ann["area"] = ann["area"] * fx * fy
    seg = ann.get("segmentation")
    if isinstance(seg, list):
        ann["segmentation"] = [[v * (fy if i % 2 else fx) for i, v in enumerate(poly)] for poly in seg]
    elif isinstance(seg, dict):
        mask_utils = _mask_utils()
        rle = mask_utils.frPyObjects(seg, *seg["size"]) if isinstance(seg.get("counts"), list) else seg
        small = cv2.resize(mask_utils.decode(rle), (width, height), interpolation=cv2.INTER_NEAREST)
        rle = mask_utils.encode(np.asfortranarray(small))
        ann["segmentation"] = {"size": rle["size"], "counts": rle["counts"].decode("ascii")}
    return ann


def shrink_dataset(
    annotations: Path, images: Path, out: Path, size: int, image_format: str, quality: int
) -> tuple[int, int, int]:
    """Write ``out``/annotations.json and ``out``/images/; returns (images, bytes read, bytes written).

    annotations.json is written last: a folder without it was not finished.
    """
    suffix, quality_flag = FORMATS[image_format]
    try:
        data = read_dataset(annotations)
        infos, anns = data["images"], data["annotations"]
        by_image: dict = {}
        for ann in anns:
            by_image.setdefault(ann["image_id"], []).append(ann)
            check_fields(ann)  # before any image is written: a refused run leaves no half-made copy
            if ann.get("keypoints"):  # numbers (or null where unlabelled), as training reads them
                keypoint_values(ann["keypoints"], len(ann["keypoints"]) // 3, ann.get("id"))
        # "/" on every system: the copy is made to be read on another machine (a Linux GPU machine, say)
        names = [Path(info["file_name"]).with_suffix(suffix).as_posix() for info in infos]
        ids = [info["id"] for info in infos]
    except (OSError, ValueError, KeyError, TypeError, AttributeError, RecursionError) as error:
        what = f"missing field {error}" if isinstance(error, KeyError) else str(error)
        raise WLitePoseError(f"{annotations} is not a COCO-format keypoint file ({what})") from None
    check_image_ids(infos, annotations, anns)
    if any(isinstance(ann.get("segmentation"), dict) for ann in anns):
        _mask_utils()  # said before any image is written, as a malformed annotation is
    twins = sorted(name for name, count in Counter(name.casefold() for name in names).items() if count > 1)
    if twins:  # a.jpg and a.png would both become a.webp (A.jpg and a.png too, on Windows and macOS)
        raise WLitePoseError(f"{annotations} has several images that would be written as {twins[0]}")
    check_images([info["file_name"] for info in infos], images, annotations)  # before any is written
    made = [folder for folder in (out, *out.parents) if not folder.exists()]  # --out's first, then its parents'
    out.mkdir(parents=True, exist_ok=True)
    try:  # what fails from here on (an unreadable image, a full disk) leaves the copy unfinished
        side = longest_side(size)
        new_infos, new_anns, read, written = [], [], 0, 0
        for info, name, image_id in zip(infos, names, ids, strict=True):
            source = images / info["file_name"]
            image = read_labelled_image(source, info)  # its stored pixels, if those are what was labelled
            h, w = image.shape[:2]
            factor = min(1.0, side / max(h, w))
            if factor < 1.0:
                small = (max(1, round(w * factor)), max(1, round(h * factor)))
                image = cv2.resize(image, small, interpolation=cv2.INTER_AREA)
            target = out / "images" / name
            target.parent.mkdir(parents=True, exist_ok=True)
            ok, encoded = cv2.imencode(suffix, image, [quality_flag, quality])
            if not ok:
                raise WLitePoseError(f"cannot encode {source} as {image_format}")
            _written(target, encoded.tobytes())
            read, written = read + source.stat().st_size, written + len(encoded)
            height, width = image.shape[:2]
            new_infos.append({**info, "file_name": name, "width": width, "height": height})
            fx, fy = width / w, height / h
            for ann in by_image.get(image_id, []):
                check_mask_size(ann, w, h, annotations)
                try:
                    new_anns.append(_scale_annotation(ann, fx, fy, width, height))
                except (ValueError, TypeError, KeyError, AttributeError, OverflowError) as error:
                    raise WLitePoseError(f"{annotations}: annotation {ann.get('id')} is malformed ({error})") from None
        tmp = out / "annotations.json.tmp"
        _written(tmp, json.dumps({**data, "images": new_infos, "annotations": new_anns}).encode())
        tmp.replace(out / "annotations.json")
    except (WLitePoseError, KeyboardInterrupt) as error:  # a signal's KeyboardInterrupt: `shrink-data` words it
        _remove_empty_folders(out, made)
        if isinstance(error, KeyboardInterrupt) or not holds_a_part(out):
            raise
        raise WLitePoseError(f"{error}; {out} is incomplete (no annotations.json of this run)") from None
    return len(new_infos), read, written


def holds_a_part(out: Path) -> bool:
    """Whether ``out`` holds what a copy wrote: a rerun refuses it, where it takes an empty folder."""
    return out.is_dir() and any(out.iterdir())


def _remove_empty_folders(out: Path, made: list[Path]) -> None:
    """The folders of an unfinished copy that hold no image, and those of ``made`` (``out`` and the parents this run
    made for it, deepest first) left empty: a copy stopped or failed before its first image was written leaves
    nothing that a rerun would refuse."""
    folders = [folder for folder, _, _ in os.walk(out / "images", topdown=False)]  # a folder's subfolders first
    for folder in [*folders, *made]:
        with contextlib.suppress(OSError):  # one holding an image is not empty: rmdir refuses it
            os.rmdir(folder)


def _written(path: Path, data: bytes) -> None:
    """``data`` into ``path``; WLitePoseError in one sentence if it cannot be (a full disk)."""
    try:
        path.write_bytes(data)
    except OSError as error:
        path.unlink(missing_ok=True)
        raise WLitePoseError(f"cannot write {path}: {error.strerror or error}") from None
