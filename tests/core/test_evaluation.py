"""OKS evaluation: ground truth scored as results gives AP 1 (COCO-17 and CrowdPose-14 with their sigmas)."""

import json

import numpy as np
import pytest

from core.errors import WLitePoseError
from core.evaluation import STAT_NAMES, coco_evaluate, evaluate_model
from core.session import PoseModel

COCO_SIGMAS = [0.026, 0.025, 0.025, 0.035, 0.035, 0.079, 0.079, 0.072, 0.072, 0.062, 0.062, 0.107, 0.107]
COCO_SIGMAS += [0.087, 0.087, 0.089, 0.089]


def _truth_as_results(path):
    data = json.loads(path.read_text())
    return [
        {"image_id": a["image_id"], "category_id": a["category_id"], "keypoints": a["keypoints"], "score": 1.0}
        for a in data["annotations"]
        if not a.get("iscrowd") and a.get("num_keypoints", 1) > 0
    ]


@pytest.mark.parametrize(
    "annotations, sigmas",
    [("val/annotations.json", COCO_SIGMAS), ("crowdpose_sample/test_crowdpose.json", None)],
)
def test_ground_truth_scores_perfectly(annotations, sigmas, shared_data):
    path = shared_data / annotations
    if sigmas is None:
        from models.schemas import CROWDPOSE14

        sigmas = CROWDPOSE14.sigmas
    stats = coco_evaluate(_truth_as_results(path), path, sigmas)
    assert list(stats) == list(STAT_NAMES)
    assert stats["AP"] == pytest.approx(1.0) and stats["AR"] == pytest.approx(1.0)
    # shifted results lose AP
    shifted = [
        {**r, "keypoints": (np.array(r["keypoints"]) + [25, 25, 0] * (len(r["keypoints"]) // 3)).tolist()}
        for r in _truth_as_results(path)
    ]
    assert coco_evaluate(shifted, path, sigmas)["AP"] < 0.9


def test_wrong_keypoint_count_is_refused(shared_data):
    path = shared_data / "crowdpose_sample" / "test_crowdpose.json"
    with pytest.raises(WLitePoseError, match="14 keypoints"):
        coco_evaluate([], path, COCO_SIGMAS)


def test_crowdpose_model_runs_on_crowdpose_files(tmp_path, shared_data):
    path = shared_data / "crowdpose_sample" / "test_crowdpose.json"
    from models.export import build_metadata, export_onnx
    from models.schemas import CROWDPOSE14
    from models.wlitepose import build_model

    model_file = tmp_path / "crowdpose.onnx"
    export_onnx(
        build_model("wlitepose_xs", num_keypoints=14),
        model_file,
        build_metadata(CROWDPOSE14, "wlitepose_xs", 256, "crowdpose", False),
        check_sizes=((128, 128),),
    )
    stats = evaluate_model(PoseModel(model_file, threads=1), path, shared_data / "crowdpose_sample", 128)
    assert set(stats) == set(STAT_NAMES) and all(0.0 <= v <= 1.0 for v in stats.values())


def test_missing_pycocotools_is_a_clear_error(monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "pycocotools", None)
    monkeypatch.setitem(sys.modules, "pycocotools.coco", None)
    with pytest.raises(WLitePoseError, match="pip install"):
        coco_evaluate([], "unused.json", COCO_SIGMAS)
