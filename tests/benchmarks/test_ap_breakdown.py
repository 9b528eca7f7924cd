"""benchmarks/ap_breakdown.py: people grouped by area and legs, COCO's similarity, and the images it reads."""

import json
from types import SimpleNamespace

import cv2
import numpy as np
import pytest

from models.schemas import COCO17


def test_ap_breakdown_groups_people_by_coco_area_range_and_labelled_legs(load_benchmark):
    """Areas: small (500, in no range but all), medium (2000), large (96 x 96 exactly, 10000)."""
    ap_breakdown = load_benchmark("ap_breakdown")
    best = np.array([0.9, 0.6, 0.8, 0.3])
    people = ap_breakdown.people_shares(best, np.array([500.0, 2000.0, 96.0**2, 10000.0]), np.array([1, 0, 1, 0], bool))
    shares = {name: (row["people"], row["oks_0.5"], row["oks_0.75"]) for name, row in people.items()}
    assert shares == {
        "all": (4, 0.75, 0.5),
        "medium": (1, 1.0, 0.0),
        "large": (2, 0.5, 0.5),
        "legs": (2, 1.0, 1.0),
        "no legs": (2, 0.5, 0.0),
    }


def test_ap_breakdown_reads_no_image_outside_its_folder(tmp_path, load_benchmark):
    """It read each image by the name the annotation file gave, ../photo.jpg or /any/photo.jpg, as eval no longer
    does; a missing image was found only when its turn came."""
    from core.errors import WLitePoseError

    ap_breakdown = load_benchmark("ap_breakdown")
    (tmp_path / "images").mkdir()
    cv2.imwrite(str(tmp_path / "photo.jpg"), np.zeros((64, 64, 3), np.uint8))
    person = {"id": 1, "image_id": 1, "category_id": 1, "keypoints": [10, 10, 2] * 17, "bbox": [0, 0, 20, 40]}
    data = {"images": [{"id": 1, "file_name": "../photo.jpg"}], "annotations": [person], "categories": [{"id": 1}]}
    (tmp_path / "a.json").write_text(json.dumps(data))
    with pytest.raises(WLitePoseError, match="names an image outside its images folder: ../photo.jpg"):
        model = SimpleNamespace(info=SimpleNamespace(keypoint_names=COCO17.keypoints))  # only its keypoints are read
        ap_breakdown.breakdown(model, tmp_path / "a.json", tmp_path / "images", 256)


def test_ap_breakdown_similarity_is_coco_s(load_benchmark):
    """d = 2 px, area 100, sigma 0.1: ks = exp(-4 / (2 x 100 x (2 x 0.1)^2)) = exp(-0.5); unplaced scores 0."""
    ap_breakdown = load_benchmark("ap_breakdown")
    ks = ap_breakdown.similarity(np.array([[2.0, 0.0], [np.nan, np.nan]]), np.zeros((2, 2)), 100.0, np.full(2, 0.1))
    assert ks == pytest.approx([np.exp(-0.5), 0.0])


def test_ap_breakdown_scores_a_person_by_the_best_pose_over_labelled_joints(load_benchmark):
    """Joint 2 is not labelled: the first pose, exact on joints 0 and 1 and far off on joint 2, has OKS 1; the
    second is off everywhere. Joint 1 (an ankle here) is labelled, joint 2 (the other) not: with legs."""
    ap_breakdown = load_benchmark("ap_breakdown")
    truth = np.array([[10.0, 10.0, 2], [20.0, 20.0, 2], [30.0, 30.0, 0]])
    poses = np.array([[[10.0, 10.0], [20.0, 20.0], [900.0, 900.0]], [[15.0, 10.0], [25.0, 20.0], [35.0, 30.0]]])
    best, legged = ap_breakdown.score_person(poses, truth, 100.0, np.full(3, 0.1), legs=[1, 2])
    assert best == pytest.approx(1.0) and legged
    assert ap_breakdown.score_person(poses[:0], truth, 100.0, np.full(3, 0.1), legs=[2]) == (0.0, False)


def test_ap_breakdown_counts_people_with_labelled_joints_and_those_with_a_labelled_knee_or_ankle(
    tmp_path, shared_data, load_benchmark
):
    """A dev image of 3 labelled people, 1 with a knee or ankle, and 10 with no labelled joint (skipped). Their 27
    labelled joints: the shipped model's peaks mark 6 (their heatmap cells scaled by the heatmap stride, 2)."""
    from core.assets import DEFAULT_MODEL
    from core.session import PoseModel

    val = shared_data / "val"
    data = json.loads((val / "annotations.json").read_text())
    image = next(im for im in data["images"] if im["file_name"] == "cocotrain_000000433998.jpg")
    one = {**data, "images": [image], "annotations": [a for a in data["annotations"] if a["image_id"] == image["id"]]}
    (tmp_path / "one.json").write_text(json.dumps(one))
    report = load_benchmark("ap_breakdown").breakdown(
        PoseModel(DEFAULT_MODEL), tmp_path / "one.json", val / "images", 256
    )
    assert {name: report["people"][name]["people"] for name in ("all", "legs", "no legs")} == {
        "all": 3,
        "legs": 1,
        "no legs": 2,
    }
    labelled = np.sum([np.array(a["keypoints"][2::3]) > 0 for a in one["annotations"] if a["num_keypoints"]], axis=0)
    hits = np.array(list(report["peaks_by_joint"].values())) @ labelled
    assert report["peaks"] == pytest.approx(hits / 27) and labelled.sum() == 27 and hits >= 5  # a share of joints


def test_ap_breakdown_counts_the_people_beside_hands(tmp_path, load_benchmark, model_path, tool_export):
    """COCO Annotator's hands, listed before its people, are left out as `eval` leaves them out."""
    from core.session import PoseModel

    path, images, people = tool_export("coco-annotator")
    breakdown = load_benchmark("ap_breakdown").breakdown(PoseModel(model_path, threads=1), path, images, 64)
    assert breakdown["people"]["all"]["people"] == people
