"""Keypoint schemas: names, skeleton links, flip map and OKS sigmas.

These travel into the ONNX metadata at export; the runtime (core/) reads them from the
file and never from here. The keypoint names and OKS sigmas of COCO and CrowdPose are the benchmarks' own,
kept in core.oks, with which `wlitepose eval` scores every model of those keypoints.
"""

from __future__ import annotations

from dataclasses import dataclass

from core.oks import COCO_KEYPOINTS, COCO_SIGMAS, CROWDPOSE_KEYPOINTS, CROWDPOSE_SIGMAS


@dataclass(frozen=True)
class KeypointSchema:
    name: str
    keypoints: tuple[str, ...]
    skeleton: tuple[tuple[int, int], ...]  # 0-based joint index pairs
    flip_map: tuple[int, ...]
    sigmas: tuple[float, ...]  # OKS per-keypoint sigmas

    def __post_init__(self) -> None:
        k = len(self.keypoints)
        if len(self.flip_map) != k or len(self.sigmas) != k:
            raise ValueError(f"schema {self.name}: flip map and sigmas need {k} entries")
        if sorted(self.flip_map) != list(range(k)):
            raise ValueError(f"schema {self.name}: flip map is not a permutation")
        if any(not (0 <= a < k and 0 <= b < k) for a, b in self.skeleton):
            raise ValueError(f"schema {self.name}: skeleton link out of range")

    @property
    def num_keypoints(self) -> int:
        return len(self.keypoints)


COCO17 = KeypointSchema(
    name="coco",
    keypoints=COCO_KEYPOINTS,
    # The COCO person category's skeleton, converted to 0-based indices.
    skeleton=(
        (15, 13),
        (13, 11),
        (16, 14),
        (14, 12),
        (11, 12),
        (5, 11),
        (6, 12),
        (5, 6),
        (5, 7),
        (6, 8),
        (7, 9),
        (8, 10),
        (1, 2),
        (0, 1),
        (0, 2),
        (1, 3),
        (2, 4),
        (3, 5),
        (4, 6),
    ),
    flip_map=(0, 2, 1, 4, 3, 6, 5, 8, 7, 10, 9, 12, 11, 14, 13, 16, 15),
    sigmas=COCO_SIGMAS,
)

CROWDPOSE14 = KeypointSchema(
    name="crowdpose",
    keypoints=CROWDPOSE_KEYPOINTS,
    skeleton=(
        (12, 13),
        (13, 0),
        (13, 1),
        (0, 2),
        (2, 4),
        (1, 3),
        (3, 5),
        (13, 6),
        (13, 7),
        (6, 8),
        (8, 10),
        (7, 9),
        (9, 11),
    ),
    flip_map=(1, 0, 3, 2, 5, 4, 7, 6, 9, 8, 11, 10, 12, 13),
    sigmas=CROWDPOSE_SIGMAS,
)

SCHEMAS = {s.name: s for s in (COCO17, CROWDPOSE14)}


def get_schema(name: str) -> KeypointSchema:
    try:
        return SCHEMAS[name]
    except KeyError:
        raise ValueError(f"unknown keypoint schema {name!r}; choose one of {sorted(SCHEMAS)}") from None
