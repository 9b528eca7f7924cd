import cv2
import numpy as np
import pytest

from models.schemas import COCO17
from training.augment import AugmentConfig, random_affine, warp_sample
from training.targets import TargetConfig, build_targets, cell_mask, gaussian_heatmaps, joint_indices


def test_gaussian_peaks_at_the_keypoint_divided_by_the_stride():
    kps = np.zeros((1, 2, 3), np.float32)
    kps[0, 0] = (40, 24, 2)  # stride 4 -> cell (10, 6)
    heat = gaussian_heatmaps(kps, 32, 4, sigma=2.0)
    assert heat.shape == (2, 32, 32)
    assert heat[0, 6, 10] == pytest.approx(1.0)
    assert heat[0, 6, 11] == pytest.approx(np.exp(-1 / 8))  # one cell away: exp(-1 / (2 sigma^2))
    assert heat[0, 7, 10] == pytest.approx(np.exp(-1 / 8))  # one cell below: the same sigma along y
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


def test_a_tagged_persons_joints_off_the_map_or_unlabelled_are_flagged_not_visible():
    """The tag loss reads each flagged joint's tag: one off the map would read index 0, joint 0's corner cell."""
    kps = np.zeros((1, 3, 3), np.float32)
    kps[0, 0] = (8, 12, 2)  # on the map: the person is tagged
    kps[0, 1] = (100, 12, 2)  # labelled, but outside a 64-pixel input
    joints = joint_indices(kps, 16, 4, max_people=1)
    assert joints[0, :, 1].tolist() == [1, 0, 0]  # joint 2 is unlabelled
    assert joints[0, 1:, 0].tolist() == [0, 0]


def test_masks_follow_the_ignore_region_at_both_resolutions():
    valid = np.ones((64, 64), np.uint8)
    valid[:32, :32] = 0
    kps = np.array([[[48, 48, 2]] * 17], np.float32)
    _, _, mask4, mask2, _, weight = build_targets(kps, np.array([0.5], np.float32), valid, TargetConfig(64))
    assert mask4.shape == (16, 16) and mask2.shape == (32, 32)
    assert mask4[:8, :8].sum() == 0 and mask4[8:, 8:].all()
    assert mask2[:16, :16].sum() == 0 and mask2[16:, :].all()
    assert weight == 0.5


def test_a_cell_counts_where_more_than_half_of_the_pixels_around_its_own_pixel_count():
    # a region from pixel 41 on: 1/4 cell 10 and 1/2 cell 20 are pixel 40 (a joint there peaks on them), outside it;
    # 1/4 cell 11 (pixel 44) and 1/2 cell 21 (pixel 42) are inside
    valid = np.ones((64, 64), np.uint8)
    valid[:, 41:] = 0
    kps = np.zeros((1, 17, 3), np.float32)
    _, _, mask4, mask2, _, _ = build_targets(kps, np.ones(1, np.float32), valid, TargetConfig(64))  # both masks made
    assert mask4.shape == (16, 16) and mask2.shape == (32, 32)
    assert mask4[0, 9:12].tolist() == [1, 1, 0] and mask2[0, 19:22].tolist() == [1, 1, 0]
    valid = np.ones((64, 64), np.float32)
    valid[:, 38:40] = 0  # 2 of the 5 pixels around 1/4 cell 10's (38-42): it counts
    valid[:, 4:7] = 0  # 3 of those around 1/4 cell 1's (2-6), 2 of the 3 around 1/2 cells 2's and 3's: they do not
    mask4, mask2 = cell_mask(valid, 16, 4), cell_mask(valid, 32, 2)
    assert mask4[0, :3].tolist() == [1, 0, 1] and mask4[0, 10] == 1 and (mask4 == mask4[:1]).all()
    assert mask2[0, 1:5].tolist() == [1, 0, 0, 1] and (mask2 == mask2[:1]).all()
    valid = np.ones((64, 64), np.float32)
    valid[:, 41:] = 0
    thin = np.ones((64, 64), np.float32)
    thin[:, 39:41] = 0  # 1/4 cell 10's own pixel, 2 of the 5 around it: it counts (its pixel alone would not)
    for area, quarter, half in ((valid, [1, 1, 0], [1, 1, 0]), (thin, [1, 1, 1], [1, 0, 1])):
        for oriented in (area, area.T):  # along x and along y alike: a square, not a strip
            mask4, mask2 = cell_mask(oriented, 16, 4), cell_mask(oriented, 32, 2)
            if oriented is not area:
                mask4, mask2 = mask4.T, mask2.T
            assert mask4[0, 9:12].tolist() == quarter and mask2[0, 19:22].tolist() == half


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


def test_a_downscaled_warp_whose_sides_shrink_by_other_factors_keeps_the_image_on_its_keypoints():
    image = np.zeros((402, 600, 3), np.uint8)  # at 1/4: 600 columns -> 150, 402 rows -> 100 (x and y factors differ)
    image[196:204, 496:504] = 255  # an 8x8 spot centred on (499.5, 199.5), far from the origin in x
    kps = np.array([[[499.5, 199.5, 2]]], np.float32)
    matrix = np.array([[0.25, 0.0, -0.375], [0.0, 0.25, -0.375]])  # the letterbox at 1/4
    warped, out, _ = warp_sample(image, kps, np.ones((402, 600), np.uint8), matrix, False, 160, (0,), (0, 0, 0))
    gray = warped[..., 0].astype(np.float64)
    ys, xs = np.mgrid[:160, :160]
    centre = (float((xs * gray).sum() / gray.sum()), float((ys * gray).sum() / gray.sum()))
    assert np.hypot(centre[0] - out[0, 0, 0], centre[1] - out[0, 0, 1]) < 0.3


def test_a_mildly_downscaled_warp_averages_fine_detail_as_inference_does():
    image = np.zeros((100, 100, 3), np.uint8)
    image[:, ::2] = 255  # one-pixel stripes: a plain warp at 0.7 aliases them into coarse bands
    matrix = np.array([[0.7, 0.0, -0.15], [0.0, 0.7, -0.15]])  # the letterbox of 100 pixels into 70
    kps = np.zeros((1, 1, 3), np.float32)
    warped, _, _ = warp_sample(image, kps, np.ones((100, 100), np.uint8), matrix, False, 70, (0,), (0, 0, 0))
    area = cv2.resize(image, (70, 70), interpolation=cv2.INTER_AREA)
    assert np.abs(warped.astype(int) - area.astype(int)).mean() < 2


def _still(**changes):
    from dataclasses import replace

    return replace(AugmentConfig(max_rotation=0, min_scale=1, max_scale=1, max_translate=0, flip=0.0), **changes)


def test_a_flipped_view_mirrors_the_image_and_its_keypoints_and_swaps_left_and_right(shared_data):
    from training.dataset import KeypointDataset

    data = KeypointDataset(shared_data / "val" / "annotations.json", shared_data / "val" / "images", COCO17, 128)
    fm = list(COCO17.flip_map)
    checked = 0
    for index in range(4):
        image, kps, _, _ = data.view(index, 128, _still(), np.random.default_rng(0))
        flipped, kps_f, _, _ = data.view(index, 128, _still(flip=1.0), np.random.default_rng(0))
        mirrored = kps[:, fm]  # the person's left joint is the image's right one after a mirror
        np.testing.assert_array_equal(kps_f[..., 2], mirrored[..., 2])
        labelled = kps_f[..., 2] > 0
        sums = kps_f[labelled][:, 0] + mirrored[labelled][:, 0]  # x' = c - x for one mirror axis c
        c = round(float(sums.mean()))
        np.testing.assert_allclose(sums, c, atol=1e-3)
        np.testing.assert_allclose(kps_f[labelled][:, 1], mirrored[labelled][:, 1], atol=1e-3)
        columns = np.arange(max(0, c - 127), min(128, c + 1))  # the image mirrors about the same axis
        diff = np.abs(flipped[:, columns].astype(int) - image[:, c - columns].astype(int)).mean()
        assert diff < 1.0
        checked += int(labelled.sum())
    assert checked > 20


def test_augmentation_draws_the_papers_ranges_and_the_flip_probability():
    rng = np.random.default_rng(0)
    letterbox = 256 / 640
    scales, angles, shifts, flips = [], [], [], []
    for _ in range(300):
        m, flip = random_affine(640, 480, 256, AugmentConfig(), rng)
        scales.append(np.sqrt(abs(np.linalg.det(m[:, :2]))) / letterbox)
        angles.append(np.degrees(np.arctan2(-m[1, 0], m[1, 1])))  # the flip leaves the second row alone
        shifts.append(m @ np.array([319.5, 239.5, 1.0]) - 127.5)  # the image centre's move
        flips.append(flip)
    assert 0.75 <= min(scales) < 0.8 and 1.45 < max(scales) <= 1.5
    assert -30 <= min(angles) < -25 and 25 < max(angles) <= 30
    dx, dy = np.array(shifts).T
    assert -40 <= min(dy) < -35 and 35 < max(dy) <= 40
    kept = ~np.array(flips)  # a flip mirrors the horizontal move
    assert abs(np.corrcoef(dx[kept], dy[kept])[0, 1]) < 0.3  # drawn apart, not along one diagonal
    assert 0.4 < np.mean(flips) < 0.6
    assert not any(random_affine(640, 480, 256, AugmentConfig(flip=0.0), rng)[1] for _ in range(50))


def test_the_plain_view_is_the_inference_letterbox_padded_with_the_mean(shared_data):
    import torch

    from core.preprocess import letterbox
    from models.export import MEAN, STD
    from training.dataset import KeypointDataset, network_batch

    data = KeypointDataset(shared_data / "val" / "annotations.json", shared_data / "val" / "images", COCO17, 256)
    index = next(i for i, (info, _, _) in enumerate(data.items) if info["width"] > 1.3 * info["height"])
    original = data.load(index)[0]
    rows = round(original.shape[0] * 256 / original.shape[1])
    sample = network_batch({k: v[None] for k, v in data[index].items()}, torch.device("cpu"))["image"][0].numpy()
    blob, _ = letterbox(original, 256, MEAN, STD)
    assert np.abs(sample[:, : rows - 1] - blob[0][:, : rows - 1, :256]).mean() < 0.04  # 0.019: resampling only
    assert np.abs(sample[:, rows + 1 :]).max() < 0.02  # the padding normalises to 0, as inference's does
    assert data[index]["mask_2"][rows // 2 + 1 :].all()  # and is background the loss counts, as in the image


def test_keypoints_that_leave_the_crop_are_unlabelled():
    kps = np.array(
        [[[-5, 10, 2], [70, 10, 2], [10, -6, 1], [10, 75, 2], [63.5, 10, 2], [10, 63.5, 2], [30, 30, 2]]], np.float32
    )  # the last pixel's centre is 63: 63.5 is past it
    matrix, _ = random_affine(64, 64, 64, None, None)
    image = np.zeros((64, 64, 3), np.uint8)
    _, out, _ = warp_sample(image, kps, np.ones((64, 64), np.uint8), matrix, False, 64, tuple(range(7)), (0, 0, 0))
    assert out[0, :6, 2].tolist() == [0] * 6 and out[0, 6, 2] == 2


def test_build_targets_uses_sigma_2_at_the_quarter_and_the_half_resolution():
    kps = np.zeros((1, 17, 3), np.float32)
    kps[0, 0] = (40, 24, 2)
    heat4, heat2, *_ = build_targets(kps, np.ones(1, np.float32), np.ones((64, 64), np.uint8), TargetConfig(64))
    assert heat4[0, 6, 10] == pytest.approx(1.0) and heat4[0, 6, 11] == pytest.approx(np.exp(-1 / 8))
    assert heat2[0, 12, 20] == pytest.approx(1.0) and heat2[0, 12, 21] == pytest.approx(np.exp(-1 / 8))


def test_occluded_joints_get_heatmaps_and_tags():
    kps = np.zeros((1, 17, 3), np.float32)
    kps[0, 3] = (20, 28, 1)  # COCO v = 1: labelled, not visible
    heat4, heat2, _, _, joints, _ = build_targets(kps, np.ones(1), np.ones((64, 64), np.uint8), TargetConfig(64))
    assert heat4[3, 7, 5] == pytest.approx(1.0) and heat2[3, 14, 10] == pytest.approx(1.0)
    assert tuple(joints[0, 3]) == (3 * 256 + 7 * 16 + 5, 1)


def test_every_person_up_to_max_people_is_tagged_and_the_weight_is_the_mean():
    kps = np.zeros((2, 17, 3), np.float32)
    kps[0, 0], kps[1, 0] = (10, 10, 2), (40, 40, 2)
    *_, joints, weight = build_targets(
        kps, np.array([0.5, 1.0], np.float32), np.ones((64, 64), np.uint8), TargetConfig(64)
    )
    assert joints[:2, 0, 1].tolist() == [1, 1] and weight == pytest.approx(0.75)
    crowd = np.full((40, 2, 3), 20, np.float32)  # more people than max_people (a mosaic of crowded images)
    assert joint_indices(crowd, 16, 4, max_people=30).shape == (30, 2, 2)


def _crowd(n: int) -> np.ndarray:
    """(n, 2, 3) people, each with both joints on a cell of its own of a 16 x 16 map (a 64-pixel input)."""
    cells = np.arange(n)
    xy = np.stack([cells % 16, cells // 16], axis=1) * 4.0
    return np.stack([np.column_stack([xy, np.full(n, 2.0)])] * 2, axis=1).astype(np.float32)


def _tagged(joints: np.ndarray) -> set[int]:
    """The cells (y * 16 + x) of the people ``joints`` tags: each _crowd person's own."""
    return {int(row[0, 0]) for row in joints if row[0, 1]}


def test_people_the_crop_left_out_take_no_tag_slot_from_people_in_it():
    crowd = _crowd(32)
    crowd[:2, :, 0] = -40  # the first two people of the annotation list, outside the crop (v kept: any source)
    tagged = _tagged(joint_indices(crowd, 16, 4, max_people=30))
    assert tagged == set(range(2, 32))  # were slots 0 and 1 left empty, people 30 and 31 untagged


def test_a_crowd_beyond_max_people_has_a_fresh_draw_tagged_each_sample():
    crowd = _crowd(100)
    assert _tagged(joint_indices(crowd, 16, 4, max_people=30)) == set(range(30))  # no draw: annotation order
    rng = np.random.default_rng(0)
    draws = [_tagged(build_targets(crowd, np.ones(100), np.ones((64, 64), np.uint8), TargetConfig(64), rng)[4])]
    draws += [_tagged(joint_indices(crowd, 16, 4, max_people=30, rng=rng)) for _ in range(39)]
    assert all(len(drawn) == 30 for drawn in draws)
    assert set().union(*draws) == set(range(100))  # every person tagged in some draw, not the first 30 in each


def test_the_tag_is_read_where_the_heatmap_peaks_and_gaussians_do_not_wrap():
    rng = np.random.default_rng(0)
    kps = np.concatenate([rng.uniform(2, 61, size=(1, 30, 2)), np.full((1, 30, 1), 2)], axis=2).astype(np.float32)
    heat = gaussian_heatmaps(kps, 16, 4, 2.0)
    joints = joint_indices(kps, 16, 4, max_people=1)
    for j in range(30):
        assert joints[0, j, 0] == j * 256 + int(heat[j].argmax())  # same cell as the peak
    edges = np.array([[[0, 32, 2], [63, 32, 2]]], np.float32)  # left and right edge of a 64 input
    heat = gaussian_heatmaps(edges, 16, 4, 2.0)
    assert not heat[0, :, 8:].any() and not heat[1, :, :8].any()


def test_a_joint_whose_cell_rounds_past_the_edge_gets_no_tag_elsewhere():
    kps = np.array([[[63.0, 20.0, 2], [10.0, 63.0, 2]]], np.float32)  # x / 4 and y / 4 round to 16, past a 16-cell map
    joints = joint_indices(kps, 16, 4, max_people=1)
    for j, (x, y) in enumerate(((15, 5), (2, 15))):  # the nearest cell in the map
        assert joints[0, j, 1] == 0 or joints[0, j, 0] == j * 256 + y * 16 + x


def test_a_keypoint_between_cells_centres_its_gaussian_between_them():
    kps = np.array([[[41.0, 26.0, 2]]], np.float32)  # stride 4 -> (10.25, 6.5): no cell centre
    heat = gaussian_heatmaps(kps, 32, 4, sigma=2.0)
    assert heat[0, 6, 10] == pytest.approx(np.exp(-(0.25**2 + 0.5**2) / 8))
    assert heat[0, 7, 11] == pytest.approx(np.exp(-(0.75**2 + 0.5**2) / 8))


def test_a_joint_on_the_top_or_left_edge_keeps_its_peak_there():
    kps = np.array([[[20.0, 0.0, 2], [0.0, 20.0, 2]]], np.float32)  # a head cut by the top, a hand by the left
    for stride, size in ((4, 16), (2, 32)):
        heat = gaussian_heatmaps(kps, size, stride, 2.0)
        assert heat[0, 0, 20 // stride] == pytest.approx(1.0) and heat[1, 20 // stride, 0] == pytest.approx(1.0)


def test_a_downscaled_warp_keeps_the_ignore_region_on_the_image():
    image = np.zeros((400, 600, 3), np.uint8)
    image[100:300, 400:560] = 255  # an unlabelled person, white
    valid = np.ones((400, 600), np.uint8)
    valid[100:300, 400:560] = 0
    matrix, flip = random_affine(600, 400, 128, AugmentConfig(flip=1.0), np.random.default_rng(3))
    no_people = np.zeros((0, 1, 3), np.float32)
    warped, _, out_valid = warp_sample(image, no_people, valid, matrix, flip, 128, (0,), (0, 0, 0))
    white, ignored = warped[..., 0] > 127, out_valid == 0
    assert ignored.sum() > 500 and (white & ignored).sum() / (white | ignored).sum() > 0.9
