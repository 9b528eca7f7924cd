import numpy as np

from models.schemas import COCO17, CROWDPOSE14
from training.augment import AugmentConfig
from training.dataset import KeypointDataset
from training.occlude import lower_body_joints, occlude_lower_bodies

HIPS, LEGS = lower_body_joints(COCO17.keypoints)
RED = np.array([0, 0, 255], np.uint8)


def _person(x: float, top: float) -> np.ndarray:
    """A standing COCO person: head at ``top``, shoulders 20 px lower, wrists 50, hips 60, knees 100, ankles 140."""
    kps = np.zeros((17, 3), np.float32)
    rows = {0: 0, 1: -2, 2: -2, 3: 0, 4: 0, 5: 20, 6: 20, 7: 40, 8: 40, 9: 50, 10: 50}
    rows.update({11: 60, 12: 60, 13: 100, 14: 100, 15: 140, 16: 140})
    for joint, dy in rows.items():
        side = -10 if joint % 2 else 10
        kps[joint] = (x + (0 if joint == 0 else side), top + dy, 2)
    return kps


def _scene(people: list[np.ndarray], seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """A grey noisy 256 x 256 crop with every labelled joint marked by one pure red pixel."""
    rng = np.random.default_rng(seed)
    image = rng.integers(60, 180, size=(256, 256, 3)).astype(np.uint8)
    keypoints = np.stack(people)
    for x, y, _ in keypoints.reshape(-1, 3):
        image[int(y), int(x)] = RED
    return image, keypoints


def test_schemas_name_their_hips_knees_and_ankles():
    assert lower_body_joints(COCO17.keypoints) == ((11, 12), (13, 14, 15, 16))
    names = CROWDPOSE14.keypoints
    hips, legs = lower_body_joints(names)
    assert [names[i] for i in hips] == ["left_hip", "right_hip"]
    assert sorted(names[i] for i in legs) == ["left_ankle", "left_knee", "right_ankle", "right_knee"]


def test_the_occluder_hides_the_legs_and_keeps_the_head_and_arms():
    for seed in range(20):
        image, keypoints = _scene([_person(128, 40)], seed)
        before = image.copy()
        occlude_lower_bodies(image, keypoints, HIPS, LEGS, 1.0, np.random.default_rng(seed))
        changed = np.argwhere((image != before).any(axis=2))
        top, left = changed.min(axis=0)
        bottom, right = changed.max(axis=0)
        # the band starts between a little above the hips (y 100) and halfway to the ankles (y 180)
        assert 100 - 0.1 * 80 - 1 <= top <= 100 + 0.5 * 80 + 1
        assert bottom >= 180 and left < 118 and right > 138  # wider than the legs, below the feet
        assert (keypoints[0, 15:17, 2] == 0).all()  # ankles hidden
        assert (keypoints[0, :11, 2] == 2).all()  # head, shoulders, elbows and wrists stay labelled
        hidden = keypoints[0, :, 1] >= top
        assert (keypoints[0, hidden, 2] == 0).all() and (keypoints[0, ~hidden, 2] == 2).all()


def test_the_occluder_shows_no_labelled_joint_and_hides_a_neighbours_joints_too():
    for seed in range(20):
        image, keypoints = _scene([_person(100, 40), _person(125, 90)], seed)
        labelled_before = keypoints[..., 2].copy()
        before = image.copy()
        occlude_lower_bodies(image, keypoints, HIPS, LEGS, 1.0, np.random.default_rng(seed))
        changed = (image != before).any(axis=2)
        assert not (image[changed] == RED).all(axis=1).any()  # the texture came from joint-free scene
        for x, y, v in keypoints.reshape(-1, 3):
            if changed[int(y), int(x)]:
                assert v == 0  # whoever the joint belongs to, covered means unlabelled
        assert (keypoints[..., 2] <= labelled_before).all()


def test_nobody_is_occluded_at_probability_zero_or_without_labelled_legs():
    image, keypoints = _scene([_person(128, 40)])
    before, kps_before = image.copy(), keypoints.copy()
    occlude_lower_bodies(image, keypoints, HIPS, LEGS, 0.0, np.random.default_rng(0))
    assert (image == before).all() and (keypoints == kps_before).all()
    keypoints[0, 13:17, 2] = 0
    kps_before = keypoints.copy()
    occlude_lower_bodies(image, keypoints, HIPS, LEGS, 1.0, np.random.default_rng(0))
    assert (image == before).all() and (keypoints == kps_before).all()


def test_occluded_views_lose_leg_labels_on_real_images(shared_data):
    folder = shared_data / "crowdpose_sample"
    plain = KeypointDataset(folder / "test_crowdpose.json", folder, CROWDPOSE14, 256, augment=AugmentConfig())
    hidden = KeypointDataset(
        folder / "test_crowdpose.json", folder, CROWDPOSE14, 256, augment=AugmentConfig(occlude=1.0)
    )
    _, legs = lower_body_joints(CROWDPOSE14.keypoints)
    counts = {}
    for name, dataset in (("plain", plain), ("hidden", hidden)):
        rng = np.random.default_rng(3)
        counts[name] = sum(
            int((dataset.view(i % len(dataset), 256, dataset.augment, rng)[1][:, list(legs), 2] > 0).sum())
            for i in range(12)
        )
    assert counts["hidden"] < 0.5 * counts["plain"]
