import numpy as np
import pytest

from models.schemas import COCO17
from training.augment import AugmentConfig, random_affine, warp_sample
from training.targets import TargetConfig, build_targets, gaussian_heatmaps, joint_indices


def test_gaussian_peaks_at_the_keypoint_divided_by_the_stride():
    kps = np.zeros((1, 2, 3), np.float32)
    kps[0, 0] = (40, 24, 2)  # stride 4 -> cell (10, 6)
    heat = gaussian_heatmaps(kps, 32, 4, sigma=2.0)
    assert heat.shape == (2, 32, 32)
    assert heat[0, 6, 10] == pytest.approx(1.0)
    assert heat[0, 6, 11] == pytest.approx(np.exp(-1 / 8))  # one cell away: exp(-1 / (2 sigma^2))
    assert heat[0, 6, 10 + 6] == pytest.approx(np.exp(-36 / 8))  # 3 sigma: still inside
    assert heat[0, 6, 10 + 7] == 0.0 and heat[0, 11, 15] == 0.0  # beyond 3 sigma (also diagonally): cut
    assert not heat[1].any()  # unlabelled joint: no target


def test_overlapping_people_take_the_maximum():
    kps = np.array([[[8, 8, 2]], [[12, 8, 2]]], np.float32)
    heat = gaussian_heatmaps(kps, 16, 2, sigma=2.0)
    assert heat[0, 4, 4] == pytest.approx(1.0) and heat[0, 4, 6] == pytest.approx(1.0)
    assert heat[0, 4, 5] == pytest.approx(np.exp(-1 / 8))


def test_joint_indices_are_flat_positions_in_the_quarter_map():
    kps = np.zeros((2, 3, 3), np.float32)
    kps[0, 2] = (8, 12, 2)  # 1/4 cell (2, 3) in a 16 x 16 map, joint 2
    kps[1, 0] = (100, 100, 2)  # outside a 64-pixel input: not supervised
    joints = joint_indices(kps, 16, 4, max_people=4)
    assert joints.shape == (4, 3, 2)
    assert tuple(joints[0, 2]) == (2 * 256 + 3 * 16 + 2, 1)
    assert joints[1].sum() == 0 and joints[2:].sum() == 0


def test_masks_follow_the_ignore_region_at_both_resolutions():
    valid = np.ones((64, 64), np.uint8)
    valid[:32, :32] = 0
    kps = np.array([[[48, 48, 2]] * 17], np.float32)
    _, _, mask4, mask2, _, weight = build_targets(kps, np.array([0.5], np.float32), valid, TargetConfig(64))
    assert mask4.shape == (16, 16) and mask2.shape == (32, 32)
    assert mask4[:8, :8].sum() == 0 and mask4[8:, 8:].all()
    assert mask2[:16, :16].sum() == 0 and mask2[16:, :].all()
    assert weight == 0.5


def test_flip_swaps_left_and_right_joints():
    kps = np.zeros((1, 17, 3), np.float32)
    kps[0, 5] = (10, 20, 2)  # left shoulder on the image's left
    image = np.zeros((64, 64, 3), np.uint8)
    matrix, _ = random_affine(64, 64, 64, None, None)
    flip = np.array([[-1.0, 0.0, 63.0], [0.0, 1.0, 0.0]]) @ np.vstack([matrix, [0, 0, 1]])
    _, out, _ = warp_sample(image, kps, np.ones((64, 64), np.uint8), flip, True, 64, COCO17.flip_map, (0.5, 0.5, 0.5))
    assert out[0, 5, 2] == 0  # the left-shoulder slot now holds the (unlabelled) right shoulder
    assert out[0, 6, 2] == 2 and out[0, 6, 0] == pytest.approx(53.0) and out[0, 6, 1] == pytest.approx(20.0)


def test_a_downscaled_warp_keeps_the_image_on_its_keypoints():
    image = np.zeros((400, 600, 3), np.uint8)
    image[196:204, 296:304] = 255  # an 8x8 spot centred on (299.5, 199.5)
    kps = np.array([[[299.5, 199.5, 2]]], np.float32)
    rng = np.random.default_rng(3)
    matrix, flip = random_affine(600, 400, 128, AugmentConfig(flip=0.0), rng)
    warped, out, _ = warp_sample(image, kps, np.ones((400, 600), np.uint8), matrix, flip, 128, (0,), (0, 0, 0))
    gray = warped[..., 0].astype(np.float64)
    ys, xs = np.mgrid[:128, :128]
    centre = (float((xs * gray).sum() / gray.sum()), float((ys * gray).sum() / gray.sum()))
    assert np.hypot(centre[0] - out[0, 0, 0], centre[1] - out[0, 0, 1]) < 0.3
