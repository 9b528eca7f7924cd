"""The shared drawing function: track colours, skeletons and joint dots, their size and edges on any picture,
zoomed and mirrored drawings."""

import numpy as np
import pytest

from core.draw import UNTRACKED, Trails, _zoomed, draw_poses, track_color
from core.poses import Poses
from core.synthetic import STANDING


def test_track_colors_are_stable_and_distinct():
    colors = [track_color(i) for i in range(1, 21)]
    assert colors == [track_color(i) for i in range(1, 21)]
    assert len(set(colors)) == 20 and track_color(-1) == UNTRACKED


def test_draw_poses_uses_the_track_colour_and_skips_missing_joints():
    xy = np.array([[[20, 20], [60, 20], [np.nan, np.nan]]], np.float32)
    poses = Poses(xy, [[1, 1, 0]], [0.9], [7])
    image = np.zeros((80, 100, 3), np.uint8)
    trails = Trails(length=5)
    for shift in range(3):
        trails.update(Poses(xy + shift * 2, [[1, 1, 0]], [0.9], [7]))
    out = draw_poses(image, poses, [(0, 1), (1, 2)], boxes=True, scores=True, trails=trails)
    assert out is image
    assert tuple(image[20, 40]) == track_color(7)  # the link between joints 0 and 1
    assert np.all(image[:16] == track_color(7), axis=2).sum() > 200  # the "#7 (0.90)" tag above it, in its colour
    assert image[60:, :].sum() == 0  # nothing drawn for the missing joint's link
    assert len(dict(trails.items())[7]) == 3
    trails.update(Poses.empty(3))
    assert len(dict(trails.items())[7]) == 2  # a vanished track's trail fades
    for _ in range(3):  # out, and forgotten: the frames after it leave nothing of the track to fade
        trails.update(Poses.empty(3))
    assert dict(trails.items()) == {} and trails._joints == {}


def test_draw_poses_zoomed_draws_people_and_trails_where_the_resized_frame_has_them():
    """The app draws the frame on screen resized to the view: joints, links and trails found on the source land on
    the resized picture (pixel centres onto centres), and a copy of the trails keeps them as they were."""
    xy = np.array([[[10, 10], [30, 10]]], np.float32)
    trails = Trails(length=5)
    for shift in range(3):
        trails.update(Poses(xy + [0, 4 * shift], [[1, 1]], [0.9], [7]))
    kept = trails.copy()
    trails.update(Poses.empty(2))
    assert [len(points) for _, points in kept.items()] == [3] and [len(p) for _, p in trails.items()] == [2]
    image = np.zeros((120, 200, 3), np.uint8)  # a 50 x 40 frame, four times larger by x, three by y
    draw_poses(image, Poses(xy + [0, 8], [[1, 1]], [0.9], [7]), [(0, 1)], trails=kept, zoom=(4.0, 3.0))
    assert tuple(image[55, 80]) == track_color(7)  # the link, from (10, 18) to (30, 18): (41.5, 55) to (121.5, 55)
    trail = image[33:42, 81:83, 1].sum(axis=1)  # the means (20, 10) to (20, 18): x 81.5, y 31 to 55
    assert (trail >= 255).all()  # anti-aliased across the two columns
    assert image[:, 140:].sum() == 0 and image[70:].sum() == 0  # nothing where the frame, unzoomed, had it
    corners = _zoomed(np.array([[0, 0], [49, 39]], np.float32), (4.0, 3.0))
    assert corners.tolist() == [[1.5, 1.0], [197.5, 118.0]]  # the first and last pixels' centres, not a pixel off


def test_a_mirrored_drawing_is_the_flipped_picture_with_labels_that_still_read():
    rng = np.random.default_rng(0)
    frame = rng.integers(0, 255, (90, 120, 3), dtype=np.uint8)
    xy = np.array([[[20, 30], [50, 30], [50, 70]]], np.float32)
    untracked = Poses(xy, [[1, 1, 1]], [0.9])  # no label: the drawings are mirror images
    plain = draw_poses(frame.copy(), untracked, [(0, 1), (1, 2)])
    mirrored = draw_poses(frame.copy(), untracked, [(0, 1), (1, 2)], mirror=True)
    assert (mirrored[:, ::-1] == plain).all(axis=2).mean() > 0.98  # anti-aliased edges may differ
    assert tuple(mirrored[30, 119 - 35]) == track_color(-1)  # the link from joint 0 to 1, flipped

    # with labels and trails: the same as drawing the flipped people on the flipped frame, so the
    # "#7" tag reads the right way round instead of being mirrored with the picture
    flip = np.float32([-1, 1]), np.float32([119, 0])  # x -> 119 - x on a frame 120 wide
    tracked, flipped = Poses(xy, [[1, 1, 1]], [0.9], [7]), Poses(xy * flip[0] + flip[1], [[1, 1, 1]], [0.9], [7])
    trails, flipped_trails = Trails(), Trails()
    for shift in (4, 0):
        trails.update(Poses(xy - shift, [[1, 1, 1]], [0.9], [7]))
        flipped_trails.update(Poses((xy - shift) * flip[0] + flip[1], [[1, 1, 1]], [0.9], [7]))
    labelled = draw_poses(frame.copy(), tracked, [(0, 1)], scores=True, trails=trails, mirror=True)
    expected = draw_poses(frame[:, ::-1].copy(), flipped, [(0, 1)], scores=True, trails=flipped_trails)
    assert (labelled == expected).all()
    assert not (labelled == draw_poses(frame.copy(), tracked, [(0, 1)], scores=True, trails=trails)[:, ::-1]).all()


def test_a_mirrored_drawing_leaves_the_peoples_coordinates_as_they_were():
    """The app draws the people mirrored for the screen and then records them: flipped in place, the recording's
    CSV had every x mirrored (409 px off on average on vtest_clip.mp4, 768 px wide)."""
    xy = np.array([[[20, 20], [60, 40]]], np.float32)
    poses = Poses(xy.copy(), [[1, 1]], [0.9], [7])
    draw_poses(np.zeros((80, 100, 3), np.uint8), poses, [(0, 1)], mirror=True)
    assert np.array_equal(poses.xy, xy)


def _standing_person(height: float, x: float, y: float, track_id: int) -> Poses:
    xy = ((STANDING - STANDING.mean(0)) * height + [x, y]).astype(np.float32)[None]
    return Poses(xy, np.ones((1, 17), np.float32), np.full(1, 0.8, np.float32), np.array([track_id]))


@pytest.mark.parametrize("size", [(160, 120), (4000, 300)])
def test_the_overlay_scales_with_the_pictures_area_not_its_longer_side(size):
    """Sizes followed the longer side: a 4000 x 300 panorama got 4K's 11 px lines and 55 px tags over people
    150 px tall (its skeleton covered 91 % of the person's box), a 160 x 120 frame 55 % and a tag 16 % of its
    height."""
    from models.schemas import COCO17

    w, h = size
    image = np.zeros((h, w, 3), np.uint8)
    person = _standing_person(h * 0.6, w / 2, h / 2, 4)
    draw_poses(image, person, COCO17.skeleton, scores=True)
    drawn = np.all(image == track_color(4), axis=2)
    x0, y0, x1, y1 = person.boxes()[0].astype(int)
    assert drawn[y0 + 3 : y1, x0:x1].mean() < 0.4  # limbs and joints leave the person to be seen
    assert drawn[: y0 - 4].any(axis=1).sum() <= 0.1 * h  # the tag above them


def test_untracked_people_show_on_a_bright_picture_and_tags_take_the_ink_that_reads():
    """Untracked people were light grey on their own (1.3:1 on snow); a third of the track colours got white ink
    where black read twice as well (magenta #3: 2.95:1 against 7.1:1)."""
    from models.schemas import COCO17

    snow = np.full((480, 640, 3), 235, np.uint8)
    draw_poses(snow, _standing_person(300, 320, 240, -1), COCO17.skeleton)
    assert (snow.max(axis=2) < 80).sum() > 200  # the dark edge around the grey skeleton
    image = np.zeros((480, 640, 3), np.uint8)
    person = _standing_person(300, 320, 300, 3)
    draw_poses(image, person, COCO17.skeleton)
    above = image[: int(person.boxes()[0, 1]) - 4]  # above the person's joints: the tag alone
    tag = np.all(above == track_color(3), axis=2)
    rows, cols = np.nonzero(tag)
    ink = above[rows.min() : rows.max() + 1, cols.min() : cols.max() + 1]
    assert (ink.max(axis=2) < 60).sum() > 20  # black text on magenta


@pytest.mark.parametrize("track_id", [2, 10, 23])
def test_light_track_colours_show_on_a_bright_picture(track_id):
    """Yellow, lime and cyan people (#10 at 1.08:1 on snow, 42 % of the IDs lighter than the untracked grey) had
    no dark edge where the grey got one."""
    from models.schemas import COCO17

    snow = np.full((480, 640, 3), 235, np.uint8)
    draw_poses(snow, _standing_person(300, 320, 240, track_id), COCO17.skeleton)
    assert (snow.max(axis=2) < 120).sum() > 500  # the dark edge around the skeleton, more than the tag's ink
    lone = np.full((480, 640, 3), 235, np.uint8)  # one joint, no limb: its dot's own edge
    draw_poses(lone, Poses(np.array([[[320.0, 300.0]]], np.float32), [[1.0]], [0.9], [track_id]), [])
    assert (lone[301:310, 310:331].max(axis=2) < 120).any()  # under the joint, where no tag goes


def test_a_limb_with_one_end_missing_is_not_drawn_to_the_corner():
    """A missing joint's place is NaN, drawn as (0, 0): a limb drawn with one end found ran from the person to the
    picture's top-left corner (5 % of vtest_clip.mp4's pixels)."""
    xy = np.array([[[60, 50], [70, 70], [np.nan, np.nan]]], np.float32)
    image = np.zeros((80, 100, 3), np.uint8)
    draw_poses(image, Poses(xy, [[1, 1, 0]], [0.9], [7]), [(0, 1), (0, 2), (1, 2)])
    assert not image[:30, :40].any()


def _dot_rows(width: int, height: int) -> int:
    """How many rows the joint dot of an untracked person takes on a black picture of that size."""
    image = np.zeros((height, width, 3), np.uint8)
    joint = np.array([[[width / 2, height / 2]]], np.float32)
    draw_poses(image, Poses(joint, [[1]], [0.9], [-1]), [])
    return int(np.all(image == UNTRACKED, axis=2).any(axis=1).sum())


def test_joint_dots_are_smaller_on_a_small_frame():
    """A 160 x 120 frame's people are a few dots tall: its dots as big as a VGA frame's (7 rows, not 5) merged into
    blobs that hid the limbs (3.5 % of vtest.avi's pixels at 160 x 120 changed)."""
    assert _dot_rows(160, 120) < _dot_rows(640, 480)


def test_a_joint_found_alone_is_a_filled_dot():
    """A joint whose neighbours were not found has no limb to show it: drawn as a ring it all but vanished (a 5 px
    circle one pixel thick on vtest_clip.mp4)."""
    image = np.zeros((120, 160, 3), np.uint8)
    draw_poses(image, Poses(np.array([[[80, 60]]], np.float32), [[1]], [0.9], [-1]), [])
    assert tuple(image[60, 80]) == UNTRACKED
