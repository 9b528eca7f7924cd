"""The OKS sigmas keypoint benchmarks score with (each joint's spread, a fraction of the person's size): COCO's
(pycocotools' COCOeval.kpt_oks_sigmas) and CrowdPose's (crowdposetools: COCO's for the 12 limbs, then the top of
the head and the neck). `wlitepose eval` scores a model of either set's keypoints with them whatever its file says:
a model's own sigmas tune its tracker, and sigmas of 1.0 in a shared model's metadata read AP 0.591 for a network
that scores 0.034. models.schemas builds its keypoint schemas from these."""

from __future__ import annotations

COCO_KEYPOINTS = (
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
)
COCO_SIGMAS = (
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
)
CROWDPOSE_KEYPOINTS = COCO_KEYPOINTS[5:] + ("top_head", "neck")  # COCO's 12 limb joints, then two of its own
CROWDPOSE_SIGMAS = COCO_SIGMAS[5:] + (0.079, 0.079)
BENCHMARKS = {"coco": (COCO_KEYPOINTS, COCO_SIGMAS), "crowdpose": (CROWDPOSE_KEYPOINTS, CROWDPOSE_SIGMAS)}


def scoring_sigmas(names, own) -> tuple[tuple[float, ...], str]:
    """The OKS sigmas to score a model of keypoints ``names`` with, and whose they are: a benchmark's (its name)
    where the keypoints are that benchmark's in its order, else ``own``, the model file's ("model")."""
    for benchmark, (keypoints, sigmas) in BENCHMARKS.items():
        if tuple(names) == keypoints:
            return sigmas, benchmark
    return tuple(float(s) for s in own), "model"
