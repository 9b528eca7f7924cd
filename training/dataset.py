"""COCO-format keypoint datasets: COCO person keypoints, CrowdPose and any `annotations.json` + `images/` folder.

One loader serves all three: each is a COCO-style JSON with `images`, `annotations`
(keypoints as x, y, v triples) and `categories`. CrowdPose files use the same layout with 14
keypoints (and a `crowdIndex` per image, which only evaluation reads).
"""

from __future__ import annotations

import functools
import operator
import pickle
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import cv2
import numpy as np
import torch
from torch.utils.data import Dataset

from core.annotation_fields import check_fields, keypoint_values
from core.annotations import (
    check_image_ids,
    check_keypoint_order,
    has_file_name,
    is_person,
    no_people,
    person_categories,
    read_dataset,
)
from core.errors import WLitePoseError
from core.labelled_images import check_images, check_mask_size, read_labelled_image
from models.export import MEAN, STD
from models.schemas import SCHEMAS, KeypointSchema
from training.augment import AugmentConfig, random_affine, warp_sample
from training.targets import TargetConfig, build_targets


@dataclass(frozen=True)
class Person:
    keypoints: np.ndarray  # (K, 3): x, y, visibility (0 = unlabelled)
    weight: float  # loss weight of this person's source


def trainable_sets() -> str:
    """The keypoint sets training knows, for a refusal: "coco (17 keypoints), crowdpose (14 keypoints)"."""
    return ", ".join(f"{name} ({schema.num_keypoints} keypoints)" for name, schema in SCHEMAS.items())


def _polygon_mask(segmentation, width: int, height: int) -> np.ndarray:
    """1 inside a COCO segmentation (polygons or RLE), 0 elsewhere."""
    if isinstance(segmentation, list):
        mask = np.zeros((height, width), np.uint8)
        for poly in segmentation:
            pts = np.asarray(poly, np.float32).reshape(-1, 2)
            if len(pts) >= 3:
                cv2.fillPoly(mask, [np.round(pts).astype(np.int32)], 1)
        return mask
    from pycocotools import mask as mask_utils

    rle = segmentation
    if isinstance(rle.get("counts"), list):
        rle = mask_utils.frPyObjects(rle, height, width)
    return mask_utils.decode(rle).astype(np.uint8)


class PackedItems(Sequence):
    """A list's items kept pickled in one numpy buffer. Loader workers are forked with the dataset: a list of
    dicts and arrays would be copied into each of them page by page, as reading an item touches its refcounts
    and their garbage collector walks every object (at COCO's size, a GB more per worker); one buffer is shared
    as it is."""

    def __init__(self, items: list) -> None:
        blobs = [pickle.dumps(item, protocol=pickle.HIGHEST_PROTOCOL) for item in items]
        self._ends = np.cumsum([len(blob) for blob in blobs], dtype=np.int64)
        self._buffer = np.frombuffer(b"".join(blobs), dtype=np.uint8)

    def __len__(self) -> int:
        return len(self._ends)

    def __getitem__(self, index: int):
        index = operator.index(index)  # an integer (numpy's too); a slice or 1.0 is a TypeError, not a wrong item
        if not -len(self) <= index < len(self):
            raise IndexError(f"item {index} of {len(self)}")
        index %= len(self)
        start = int(self._ends[index - 1]) if index else 0
        return pickle.loads(self._buffer[start : int(self._ends[index])])


class KeypointDataset(Dataset):
    """Samples for bottom-up training: augmented image, heatmaps at 1/4 and 1/2, AE joints, masks.

    ``augment=None`` gives the plain letterbox-like view (for checks); training passes an
    ``AugmentConfig``. Ignore regions (``iscrowd`` annotations and people without labelled keypoints) are masked
    out of the loss, so unlabelled people are never punished as background.
    """

    def __init__(
        self,
        annotations: str | Path,
        images_dir: str | Path,
        schema: KeypointSchema,
        input_size: int,
        augment: AugmentConfig | None = None,
        source_weights: dict[str, float] | None = None,
    ) -> None:
        data = read_dataset(annotations)
        images, anns = data["images"], data["annotations"]
        self.annotations, self.images_dir = annotations, Path(images_dir)
        check_keypoint_order(data, schema.keypoints, annotations, f"the {schema.name} schema")
        self.schema, self.input_size, self.augment = schema, input_size, augment
        self.targets = TargetConfig(input_size=input_size)
        try:
            # a file with other categories too (cars, hands): only the schema's keypoint category's annotations count
            people = person_categories(data, schema.keypoints, annotations)
            if people:  # an annotation without a category is a person (as `eval` scores it)
                anns = [a for a in anns if is_person(a, people)]
            check_image_ids(images, annotations, anns)
            items = self._index(images, anns, schema, source_weights or {})
            self.annotation_sources = {str(ann.get("source", "")) for ann in anns}  # what --source-weights names
            self.images_without_people = len(images) - len(items)  # not trained on (see _index)
        except (KeyError, TypeError, ValueError, AttributeError) as error:
            what = f"missing field {error}" if isinstance(error, KeyError) else str(error)
            raise WLitePoseError(f"{annotations} is not a COCO-format keypoint file ({what})") from None
        if not items:
            raise no_people(data, annotations, "has no image with labelled people")
        # found now, not by a loader worker half-way through an epoch
        check_images([info["file_name"] for info, _, _ in items], self.images_dir, annotations)
        self._sources = [info.get("source", "") for info, _, _ in items]  # read by the main process only
        self.items = PackedItems(items)

    def _index(self, images: list, anns: list, schema: KeypointSchema, weights: dict) -> list:
        """(image info, people, ignore regions) per image with labelled people (an image without any, a
        background only, is left out, as bottom-up COCO training commonly leaves such images out); raises on
        malformed entries."""
        by_image: dict[int, list[dict]] = {}
        for ann in anns:
            by_image.setdefault(ann["image_id"], []).append(ann)
        items = []
        k = schema.num_keypoints
        for info in images:
            people, ignore = [], []
            for ann in by_image.get(info["id"], []):
                check_fields(ann)  # ValueError (said as a fault of the file) for a field of the wrong kind
                values = ann.get("keypoints") or []
                if values and len(values) != 3 * k:
                    raise WLitePoseError(
                        f"{self.annotations}: annotation {ann.get('id')} has {len(values) // 3} keypoints, "
                        f"the {schema.name} schema has {k}; training knows {trainable_sets()} (--schema)"
                    )
                kps = np.zeros((0, 3), np.float32)
                if values:  # ValueError for a labelled joint without a position
                    kps = keypoint_values(values, k, ann.get("id")).astype(np.float32)
                if ann.get("iscrowd", 0) or not np.any(kps[:, 2] > 0):
                    ignore.append(ann)
                else:
                    people.append(Person(kps, float(weights.get(ann.get("source", ""), 1.0))))
            if people:
                if not has_file_name(info):
                    raise ValueError(f"image {info.get('id')!r} has no file_name")  # an image trained on
                items.append((info, people, ignore))
        return items

    def __len__(self) -> int:
        return len(self.items)

    def image_sources(self) -> list[str]:
        return list(self._sources)

    def load(self, index: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(image BGR, keypoints (N, K, 3), person weights (N,), valid mask (H, W)) before augmentation."""
        info, people, ignore = self.items[index]
        image = read_labelled_image(self.images_dir / info["file_name"], info)
        h, w = image.shape[:2]
        valid = np.ones((h, w), np.uint8)
        for ann in ignore:
            seg = ann.get("segmentation")
            check_mask_size(ann, w, h, self.annotations)
            if seg:
                try:
                    valid &= 1 - _polygon_mask(seg, w, h)
                except (ValueError, OverflowError):  # pycocotools: runs past its size, or text that is no RLE
                    raise WLitePoseError(
                        f"{self.annotations}: the region of annotation {ann.get('id')} is a mask (RLE) that does not "
                        "decode; its counts do not fit its size"
                    ) from None
            elif ann.get("bbox") is not None:
                x, y, bw, bh = (int(round(v)) for v in ann["bbox"])
                # ends clipped at 0 too: a box wholly above or left of the image would count from the far side
                valid[max(y, 0) : max(y + bh, 0), max(x, 0) : max(x + bw, 0)] = 0
        keypoints = np.stack([p.keypoints for p in people])
        weights = np.asarray([p.weight for p in people], np.float32)
        return image, keypoints, weights, valid

    def view(
        self, index: int, size: int, augment: AugmentConfig | None, rng: np.random.Generator | None
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """One image warped into a size x size crop: (image, keypoints, person weights, valid mask)."""
        image, keypoints, weights, valid = self.load(index)
        matrix, flip = random_affine(image.shape[1], image.shape[0], size, augment, rng)
        image, keypoints, valid = warp_sample(image, keypoints, valid, matrix, flip, size, self.schema.flip_map, MEAN)
        return image, keypoints, weights, valid

    def mosaic(self, index: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """``index`` and three random images, each augmented into one quarter of the crop.

        Every quarter is a full augmented view at half the size (translation halved with it),
        so its people are half as tall as in a plain sample.
        """
        size, half = self.input_size, self.input_size // 2
        tile_augment = replace(self.augment, max_translate=self.augment.max_translate / 2)
        picks = [index, *rng.integers(0, len(self), size=3).tolist()]
        image = np.zeros((size, size, 3), np.uint8)
        valid = np.zeros((size, size), np.uint8)  # an odd size's last row and column stay out of the loss
        all_keypoints, all_weights = [], []
        for quarter, pick in enumerate(picks):
            tile, keypoints, weights, tile_valid = self.view(pick, half, tile_augment, rng)
            y, x = divmod(quarter, 2)
            quarter_cells = np.s_[y * half : (y + 1) * half, x * half : (x + 1) * half]
            image[quarter_cells], valid[quarter_cells] = tile, tile_valid
            keypoints[..., :2] += (x * half, y * half)
            all_keypoints.append(keypoints)
            all_weights.append(weights)
        return image, np.concatenate(all_keypoints), np.concatenate(all_weights), valid

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        # drawn from torch's generator, which the trainer seeds per run seed, rank and starting epoch, and the loader
        # again in each worker: a run's samples repeat with its seed, and no two workers draw the same augmentations
        rng = np.random.default_rng(int(torch.randint(2**62, ()))) if self.augment else None
        if rng is not None and rng.random() < self.augment.mosaic:
            image, keypoints, weights, valid = self.mosaic(index, rng)
        else:
            image, keypoints, weights, valid = self.view(index, self.input_size, self.augment, rng)
        heat4, heat2, mask4, mask2, joints, weight = build_targets(keypoints, weights, valid, self.targets, rng)
        # compact (0.9 MB instead of 2.3 at 256) through the loader's shared memory and onto a GPU;
        # network_batch makes the float tensors the network and the losses take
        return {
            "image": torch.from_numpy(np.ascontiguousarray(image[:, :, ::-1].transpose(2, 0, 1))),  # RGB uint8
            "heatmaps_4": torch.from_numpy(heat4.astype(np.float16)),
            "heatmaps_2": torch.from_numpy(heat2.astype(np.float16)),
            "mask_4": torch.from_numpy(mask4),
            "mask_2": torch.from_numpy(mask2),
            "joints": torch.from_numpy(joints),
            "weight": torch.tensor(weight),
        }


@functools.lru_cache(maxsize=8)
def _mean_std(device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    """The normalisation on ``device``, made once: a copy from the host each step would wait on a GPU."""
    return (torch.tensor(MEAN, device=device).view(1, 3, 1, 1), torch.tensor(STD, device=device).view(1, 3, 1, 1))


def network_batch(batch: dict[str, torch.Tensor], device: torch.device) -> dict[str, torch.Tensor]:
    """A loader batch (or one sample's tensors stacked) on ``device`` as the network and the losses take it:
    the image as ``network_image`` makes it, targets and masks float."""
    batch = {k: v.to(device, non_blocking=True) for k, v in batch.items()}
    batch["image"] = network_image(batch["image"], device)
    for name in ("heatmaps_4", "heatmaps_2", "mask_4", "mask_2"):
        batch[name] = batch[name].float()
    return batch


def network_image(image: torch.Tensor, device: torch.device) -> torch.Tensor:
    """uint8 RGB images (B, 3, H, W) on ``device``, normalised as inference does (core.preprocess), channels-last."""
    mean, std = _mean_std(device)
    image = image.to(device, non_blocking=True).float()
    return ((image / 255.0 - mean) / std).contiguous(memory_format=torch.channels_last)
