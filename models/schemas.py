"""Keypoint schemas: names, skeleton links, flip map and OKS sigmas.

These travel into the ONNX metadata at export; the runtime (core/) reads them from the
file and never from here.
"""

from __future__ import annotations

from dataclasses import dataclass


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
    keypoints=(
        "nose",
        "left_eye",
        "right_eye",
        "left_ear",
        "right_ear",
        "left_shoulder",
        "right_shoulder",
        "left_elbow",
        "right_elbow",
        "left_wrist",
        "right_wrist",
        "left_hip",
        "right_hip",
        "left_knee",
        "right_knee",
        "left_ankle",
        "right_ankle",
    ),
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
    # pycocotools' COCOeval.kpt_oks_sigmas.
    sigmas=(
        0.026,
        0.025,
        0.025,
        0.035,
        0.035,
        0.079,
        0.079,
        0.072,
        0.072,
        0.062,
        0.062,
        0.107,
        0.107,
        0.087,
        0.087,
        0.089,
        0.089,
    ),
)

CROWDPOSE14 = KeypointSchema(
    name="crowdpose",
    keypoints=(
        "left_shoulder",
        "right_shoulder",
        "left_elbow",
        "right_elbow",
        "left_wrist",
        "right_wrist",
        "left_hip",
        "right_hip",
        "left_knee",
        "right_knee",
        "left_ankle",
        "right_ankle",
        "top_head",
        "neck",
    ),
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
    # CrowdPose's crowdposetools sigmas (the COCO ones for the 12 limbs, then head, neck).
    sigmas=(
        0.079,
        0.079,
        0.072,
        0.072,
        0.062,
        0.062,
        0.107,
        0.107,
        0.087,
        0.087,
        0.089,
        0.089,
        0.079,
        0.079,
    ),
)

SCHEMAS = {s.name: s for s in (COCO17, CROWDPOSE14)}


def get_schema(name: str) -> KeypointSchema:
    try:
        return SCHEMAS[name]
    except KeyError:
        raise ValueError(f"unknown keypoint schema {name!r}; choose one of {sorted(SCHEMAS)}") from None
