"""The trails drawn behind tracked people: the mean of the joints each is taken to be at, frame by frame."""

import numpy as np
import pytest

from core.draw import Trails, draw_poses
from core.poses import Poses


def test_a_trail_runs_straight_while_joints_come_and_go():
    """A person walking right whose legs are found every other frame: the mean of the found joints would jump
    up and down by a quarter of their height; the trail carries the missed joints along and stays level."""
    body = np.array([[0, 0], [-10, 40], [10, 40], [-10, 80], [10, 80], [-8, 120], [8, 120]], np.float32)
    trails = Trails(length=20)
    for i in range(12):
        xy = body + [100 + 6 * i, 50]
        if i % 2:
            xy[3:] = np.nan  # legs missed
        trails.update(Poses(xy[None], np.ones((1, 7)), [0.9], [3]))
    points = np.array(dict(trails.items())[3])
    assert np.ptp(points[:, 1]) < 0.5 and np.allclose(np.diff(points[:, 0]), 6.0)


def test_a_trail_point_is_the_nan_mean_of_the_joints_remembered_to_the_last_bit():
    """The trail follows np.nanmean of the joints each person is taken to be at: the annotated video a run writes
    stays the same picture for picture whatever computes that mean."""
    rng = np.random.default_rng(3)
    trails = Trails(length=4)
    for _ in range(12):
        xy = rng.uniform(0, 700, (17, 2)).astype(np.float32)
        xy[rng.random(17) < 0.4] = np.nan
        trails.update(Poses(xy[None], np.ones((1, 17)), [0.9], [3]))
        joints = trails._joints[3][0]
        np.testing.assert_array_equal(dict(trails.items())[3][-1], np.nanmean(joints, axis=0))


def test_a_joint_missed_for_a_whole_trail_is_forgotten():
    body = np.array([[0, 0], [0, 40], [0, 80]], np.float32)
    trails = Trails(length=5)
    first = body + [100, 50]
    first[0] = [300, 50]  # a stray joint far to the right, found once
    trails.update(Poses(first[None], np.ones((1, 3)), [0.9], [3]))
    for _ in range(5):
        xy = body + [100, 50]
        xy[0] = np.nan
        trails.update(Poses(xy[None], np.ones((1, 3)), [0.9], [3]))
    assert dict(trails.items())[3][-2][0] > 150  # remembered for fewer than 5 updates
    assert np.allclose(dict(trails.items())[3][-1], [100, 110])  # then the other joints' mean alone


def test_people_without_a_track_leave_no_trail():
    """Every unconfirmed person has ID -1: a trail for -1 joined one such person's place to another's, a grey line
    across the picture between strangers (300 px on vtest_clip.mp4's first frames)."""
    left = np.array([[[20, 20], [20, 60]]], np.float32)
    trails = Trails(length=5)
    trails.update(Poses(left, [[1, 1]], [0.9], [-1]))
    trails.update(Poses(left + [120, 0], [[1, 1]], [0.9], [-1]))
    assert dict(trails.items()) == {}


def test_a_trail_is_an_open_line_from_where_the_person_was_to_where_they_are():
    """A closed trail drew a straight line from the person back to where their trail began (across the road on
    vtest_clip.mp4)."""
    trails = Trails(length=5)
    for x, y in ((20, 20), (80, 20), (80, 80)):  # right, then down: an L
        trails.update(Poses(np.array([[[x, y]]], np.float32), [[1]], [0.9], [7]))
    image = np.zeros((100, 100, 3), np.uint8)
    draw_poses(image, Poses.empty(1), [], trails=trails)
    assert image[18:23, 50].any() and image[50, 78:83].any()  # the L itself
    assert not image[45:56, 45:56].any()  # nothing on the diagonal that would close the L


def test_a_crowd_updated_at_once_leaves_each_person_the_trail_they_would_leave_alone():
    """The trails of a frame's people are worked out together: no one's missed joints move with another's."""
    rng = np.random.default_rng(5)
    walks = rng.uniform(0, 700, (30, 1, 17, 2)) + np.cumsum(rng.normal(0, 4, (30, 15, 17, 2)), axis=1)
    walks[rng.random((30, 15, 17)) < 0.3] = np.nan
    walks[3, 7] = np.nan  # someone not found for a frame
    together, alone = Trails(length=6), {n: Trails(length=6) for n in range(30)}
    for t in range(15):
        together.update(Poses(walks[:, t], np.ones((30, 17)), np.ones(30), np.arange(30)))
        for n, trails in alone.items():
            trails.update(Poses(walks[n, t][None], np.ones((1, 17)), [1.0], [n]))
    expected = {n: np.array(points).tolist() for trails in alone.values() for n, points in trails.items()}
    assert {n: np.array(points).tolist() for n, points in together.items()} == expected


@pytest.mark.parametrize(
    "then",
    [
        Poses.empty(1),
        # still tracked, but no joint found: nothing to follow, so the trail fades as the track's vanishing does
        Poses(np.full((1, 1, 2), np.nan, np.float32), [[0]], [0.9], [4]),
    ],
)
def test_a_frame_without_tracked_people_fades_the_trails(then):
    trails = Trails(length=3)
    for x in (10, 20):
        trails.update(Poses(np.array([[[x, 10]]], np.float32), [[1]], [0.9], [4]))
    trails.update(then)
    assert [p.tolist() for p in dict(trails.items())[4]] == [[20.0, 10.0]]


def test_a_track_id_given_twice_in_a_frame_moves_its_trail_on_once_to_the_first():
    """A tracker gives each ID once a frame; where one came twice, the trail took a point for each."""
    trails = Trails(length=5)
    trails.update(Poses(np.array([[[0, 10]]], np.float32), [[1]], [0.9], [4]))
    trails.update(Poses(np.array([[[10, 10]], [[50, 10]]], np.float32), [[1], [1]], [0.9, 0.8], [4, 4]))
    assert [p.tolist() for p in dict(trails.items())[4]] == [[0.0, 10.0], [10.0, 10.0]]
