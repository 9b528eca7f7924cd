import json

import numpy as np
import pytest

from models.schemas import COCO17, KeypointSchema
from training.augment import AugmentConfig, half_body_affine, warp_sample
from training.dataset import KeypointDataset

STILL = AugmentConfig(max_rotation=0, max_translate=0, flip=0, half_body=1, half_body_zoom=(1.5, 1.5))
UPPER = list(COCO17.upper_body)


def standing_person(x: float, top: float, height: float) -> np.ndarray:
    """(17, 3) COCO joints of an upright person: head at ``top``, ankles at ``top + height``."""
    rows = [0.0, -0.02, -0.02, 0.0, 0.0, 0.15, 0.15, 0.3, 0.3, 0.45, 0.45, 0.5, 0.5, 0.75, 0.75, 1.0, 1.0]
    side = [0, -1, 1, -2, 2, -3, 3, -4, 4, -4, 4, -2, 2, -2, 2, -2, 2]
    kps = np.zeros((17, 3), np.float32)
    kps[:, 0] = x + np.asarray(side) * height * 0.03
    kps[:, 1] = top + np.asarray(rows) * height
    kps[:, 2] = 2
    return kps


def crop(keypoints, size=128, width=640, height=480, config=STILL, seed=0):
    matrix, flip = half_body_affine(
        keypoints, COCO17.upper_body, width, height, size, config, np.random.default_rng(seed)
    )
    image = np.zeros((height, width, 3), np.uint8)
    valid = np.ones((height, width), np.uint8)
    _, out, _ = warp_sample(image, keypoints, valid, matrix, flip, size, COCO17.flip_map, (0.5, 0.5, 0.5))
    return out


def test_the_upper_body_fills_the_crop_and_the_crop_edge_cuts_the_legs():
    person = standing_person(300, 100, 300)  # head at y 100, hips at 250, ankles at 400
    out = crop(person[None])[0]
    upper = out[UPPER]
    assert np.all(upper[:, 2] == 2)
    low, high = upper[:, :2].min(axis=0), upper[:, :2].max(axis=0)
    assert (high - low).max() == pytest.approx(128 / 1.5, rel=1e-4)  # the box's longer side is crop / zoom
    assert (low + high) / 2 == pytest.approx((63.5, 63.5), abs=1e-3)  # and it is centred
    assert np.all(out[13:, 2] == 0)  # knees and ankles fall below the crop: unlabelled, as a cut-off body is


def test_only_people_with_enough_upper_body_joints_are_framed():
    legs_only = standing_person(100, 50, 200)
    legs_only[UPPER, 2] = 0
    whole = standing_person(500, 150, 200)
    for seed in range(8):  # whichever person the draw would pick, only the one with a labelled upper body qualifies
        out = crop(np.stack([legs_only, whole]), seed=seed)
        assert np.all(out[1, UPPER, 2] == 2) and np.all(out[0, :, 2] == 0)
    rng = np.random.default_rng(0)
    assert half_body_affine(legs_only[None], COCO17.upper_body, 640, 480, 128, STILL, rng) is None


def test_a_tiny_person_is_zoomed_at_most_four_times_the_letterbox_scale():
    person = standing_person(300, 200, 20)  # a 20-pixel person in a 640 x 480 image
    out = crop(person[None])[0]
    tall = np.ptp(person[UPPER, 1])
    assert np.ptp(out[UPPER, 1]) == pytest.approx(tall * 4 * 128 / 640, rel=1e-3)  # not 128 / 1.5


def test_training_views_of_a_studio_photo_cut_the_person_at_the_thighs(tmp_path, shared_data):
    source = json.loads((shared_data / "train" / "annotations.json").read_text())
    ann = next(a for a in source["annotations"] if a.get("source") == "human" and a["num_keypoints"] == 17)
    image = next(i for i in source["images"] if i["id"] == ann["image_id"])
    (tmp_path / "one.json").write_text(json.dumps({**source, "images": [image], "annotations": [ann]}))
    data = KeypointDataset(tmp_path / "one.json", shared_data / "train" / "images", COCO17, 192, augment=STILL)
    _, plain, _, _ = data.view(0, 192, AugmentConfig(max_rotation=0, max_translate=0, flip=0), np.random.default_rng(0))
    _, cut, _, _ = data.view(0, 192, STILL, np.random.default_rng(0))
    assert np.all(plain[0, :, 2] > 0)  # the whole person fits a plain view
    assert np.all(cut[0, 15:, 2] == 0) and np.all(cut[0, UPPER, 2] > 0)  # the half-body view loses the ankles
    upper = cut[0, UPPER, :2]
    assert (upper.max(axis=0) - upper.min(axis=0)).max() == pytest.approx(192 / 1.5, rel=1e-3)


def test_a_schema_with_an_upper_body_joint_out_of_range_is_refused():
    with pytest.raises(ValueError, match="upper-body joint out of range"):
        KeypointSchema("bad", ("a", "b"), ((0, 1),), (1, 0), (0.1, 0.1), upper_body=(0, 2))
