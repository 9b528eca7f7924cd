"""The "#7" tags drawn above tracked people: where they go when there is no room, that none covers another,
and the ink that reads on their colour."""

import numpy as np
import pytest

from core.draw import _draw_label, draw_poses, track_color
from core.poses import Poses


def test_a_label_at_the_frame_edge_stays_whole_inside_the_frame():
    # a person in the top-right corner: above the box there is no room, right of it no room
    xy = np.array([[[196, 2], [199, 30]]], np.float32)
    poses = Poses(xy, [[1, 1]], [0.87], [123])
    image = np.full((60, 200, 3), 100, np.uint8)  # grey: neither ink
    draw_poses(image, poses, [(0, 1)], scores=True)
    tag = np.all(image == track_color(123), axis=2)
    rows, cols = np.nonzero(tag[:, :190])  # the tag, left of the skeleton's column
    # the same tag where there is room (a person mid-frame), for its whole width
    room = np.full((60, 200, 3), 100, np.uint8)
    draw_poses(room, Poses(xy - [100, 0], [[1, 1]], [0.87], [123]), [(0, 1)], scores=True)
    whole = np.all(room == track_color(123), axis=2)

    def bottom_width(drawn):  # the tag's last row: below the joint's dot, above the thin limb
        counts = drawn.sum(axis=1)
        return counts[np.flatnonzero(counts > 10).max()]

    assert bottom_width(tag) == bottom_width(whole)  # "#123 (0.87)" moved left to fit, not cut at the edge
    assert rows.min() == 2  # no room above the person: the tag hangs from the top of their box
    ink = image[rows.min() : rows.max() + 1, cols.min() : cols.max() + 1]
    assert not np.all(ink == 100, axis=2).any()  # the tag is filled: text on it reads on any background


def test_labels_of_people_side_by_side_do_not_cover_each_other():
    xy = np.array([[[60, 80], [62, 140]], [[70, 82], [72, 140]]], np.float32)  # two tops 10 px apart
    image = np.zeros((200, 200, 3), np.uint8)
    draw_poses(image, Poses(xy, [[1, 1], [1, 1]], [0.9, 0.8], [5, 6]), [(0, 1)], scores=True)
    tags = image[:, 100:]  # right of both skeletons: only the tags reach here
    rows = [np.nonzero(np.all(tags == track_color(t), axis=2).any(axis=1))[0] for t in (5, 6)]
    assert len(rows[0]) > 10 and len(rows[1]) > 10  # both tags drawn whole
    assert rows[0].max() < rows[1].min() or rows[1].max() < rows[0].min()  # one above the other


def test_overlapping_peoples_tags_keep_their_places_whichever_is_detected_first():
    """Tags went down in the detections' order, the higher score first at its place: two overlapping people whose
    scores swapped from frame to frame swapped tag places, as if their IDs flickered between them."""
    xy = np.array([[[60, 80], [62, 140]], [[70, 82], [72, 140]]], np.float32)  # two tops 10 px apart

    def tag_rows(order):
        image = np.zeros((200, 200, 3), np.uint8)
        poses = Poses(xy[order], [[1, 1], [1, 1]], [0.9, 0.8], np.array([5, 6])[order])
        draw_poses(image, poses, [(0, 1)], scores=True)
        return [np.nonzero(np.all(image[:, 100:] == track_color(t), axis=2).any(axis=1))[0].tolist() for t in (5, 6)]

    first, swapped = tag_rows([0, 1]), tag_rows([1, 0])
    assert first == swapped and first[0][-1] < first[1][0]  # #5, the older track, at its place; #6 moved below it


def test_overlapping_skeletons_are_drawn_alike_whichever_is_detected_first():
    """Skeletons went down in the detections' order too: two crossing people whose scores swapped from frame to frame
    swapped which one lay on top."""
    xy = np.array([[[40, 60], [160, 140]], [[40, 140], [160, 60]]], np.float32)  # two limbs crossing at (100, 100)

    def drawn(order):
        image = np.zeros((200, 200, 3), np.uint8)
        draw_poses(image, Poses(xy[order], [[1, 1], [1, 1]], [0.9, 0.8], np.array([5, 6])[order]), [(0, 1)])
        return image

    first, swapped = drawn([0, 1]), drawn([1, 0])
    assert np.array_equal(first, swapped) and (first[100, 100] == track_color(6)).all()  # the newer track on top


def test_an_untracked_persons_score_tag_gives_way_to_a_tracked_ones():
    """Untracked people (ID -1) have their tags placed after the tracked ones, whichever is detected first: the
    tracked person's tag stays where it is drawn when alone."""
    xy = np.array([[[60, 80], [62, 140]], [[70, 82], [72, 140]]], np.float32)  # two tops 10 px apart

    def tag_rows(order, people=2):
        image = np.zeros((200, 200, 3), np.uint8)
        ids = np.array([-1, 5])[order][:people]
        poses = Poses(xy[order][:people], np.ones((people, 2)), [0.9, 0.8][:people], ids)
        draw_poses(image, poses, [(0, 1)], scores=True)
        return [np.nonzero(np.all(image[:, 82:] == track_color(t), axis=2).any(axis=1))[0].tolist() for t in (5, -1)]

    alone = tag_rows([1, 0], people=1)[0]
    first, swapped = tag_rows([0, 1]), tag_rows([1, 0])
    assert first == swapped and first[0] == alone and first[1] and not set(first[1]) & set(alone)


def test_labels_piled_at_one_corner_are_stacked_in_one_column_from_above_it():
    image = np.zeros((2000, 300, 3), np.uint8)
    tags: list = []
    for n in range(40):  # a crowd whose boxes share a corner: every place near it is taken in turn
        _draw_label(image, "#88", (100, 1000), track_color(n), 0.5, tags)
    height = tags[0][3] - tags[0][1]
    assert tags[0][1] == 1000 - height  # the first above the corner, the next below it, then above again...
    assert [y0 for _, y0, _, _ in tags[1:5]] == [1000 - 2 * height, 1000, 1000 - 3 * height, 1000 + height]
    assert np.diff(sorted(y0 for _, y0, _, _ in tags)).tolist() == [height] * 39  # one column, none overlapping


def test_a_tag_that_only_touches_a_place_leaves_it_free():
    image = np.zeros((2000, 300, 3), np.uint8)
    tags: list = []
    _draw_label(image, "#88", (100, 1000), track_color(0), 0.5, tags)
    x0, y0, x1, y1 = tags[0]
    tags.append((x0 - 40, 2 * y0 - y1, x0, y0))  # ending where a tag above the first would begin
    _draw_label(image, "#88", (100, 1000), track_color(1), 0.5, tags)
    assert tags[-1] == (x0, 2 * y0 - y1, x1, y0)  # above the first, beside the other: no need to go below


def test_a_tag_with_no_free_place_near_stays_inside_the_image():
    image = np.zeros((100, 300, 3), np.uint8)
    tags: list = []
    for n in range(2):  # a person whose box starts below the picture, twice: the bottom row is all there is
        _draw_label(image, "#88", (100, 200), track_color(n), 0.5, tags)
    assert tags[1] == tags[0] and tags[0][3] == 100


def test_a_tag_is_never_painted_over_by_a_later_skeleton():
    first = [[60, 60], [62, 120]]  # its tag lies above (60, 60)
    crossing = [[40, 50], [140, 50]]  # a second person's limb runs across that tag
    image = np.zeros((160, 200, 3), np.uint8)
    draw_poses(image, Poses(np.array([first, crossing], np.float32), [[1, 1], [1, 1]], [0.9, 0.8], [5, 6]), [(0, 1)])
    above = image[:54, 60:]  # above the first person's top joint, from its x on: the tag alone
    rows, cols = np.nonzero(np.all(above == track_color(5), axis=2))
    inside = above[rows.min() : rows.max() + 1, cols.min() : cols.max() + 1]
    assert len(rows) > 50 and not np.all(inside == track_color(6), axis=2).any()  # the limb passes under it


def test_a_person_without_joints_gets_no_tag_in_the_corner():
    """A tracked person whose joints are all missing (or all left out by PoseEstimator.draw, far outside) has a NaN
    box; without the skip their "#7" tag was drawn in the picture's top-left corner, where nobody is."""
    poses = Poses(np.full((1, 3, 2), np.nan, np.float32), [[0, 0, 0]], [0.9], [7])
    image = np.zeros((120, 160, 3), np.uint8)
    with np.errstate(invalid="ignore"):
        draw_poses(image, poses, [(0, 1), (1, 2)], scores=True)
    assert not image.any()


def test_a_tag_without_room_moves_up_past_the_one_there_before_it_goes_down_over_the_person():
    """Tags make way 0, -1, +1, ... tag heights from their place: up, away from the person, first; the second of
    two people with the same top had its tag pushed down over their head."""
    xy = np.array([[[60, 80], [62, 140]], [[70, 80], [72, 140]]], np.float32)  # same top, 10 px apart
    image = np.zeros((200, 200, 3), np.uint8)
    draw_poses(image, Poses(xy, [[1, 1], [1, 1]], [0.9, 0.8], [5, 6]), [(0, 1)])
    tops = [np.nonzero(np.all(image == track_color(t), axis=2).any(axis=1))[0].min() for t in (5, 6)]
    assert tops[1] < tops[0] < 75  # #6's tag above #5's, both above the heads (their joints at y 80)


def test_tag_ink_weighs_red_green_and_blue_of_a_bgr_colour_as_wcag_does():
    """Red and blue weighed the other way round gave 22 of the IDs 1-100 the ink with less contrast (#6: black on
    its blue, 3.8:1, where white reads 5.5:1)."""
    from core.draw import DARK_INK_ABOVE, _luminance

    assert _luminance((255, 0, 0)) == pytest.approx(0.0722) and _luminance((0, 0, 255)) == pytest.approx(0.2126)
    assert _luminance(track_color(6)) < DARK_INK_ABOVE  # white ink on #6


def test_tags_stacked_near_the_bottom_stay_whole_inside_the_frame():
    """Three people side by side low in a strip of picture: their tags make way up and down, and the third went
    down past the frame's bottom edge, cut off, where it belongs over its person instead."""
    xy = np.array([[[40 + 4 * i, 20], [42 + 4 * i, 38]] for i in range(3)], np.float32)
    image = np.zeros((40, 200, 3), np.uint8)
    draw_poses(image, Poses(xy, np.ones((3, 2)), [0.9] * 3, [1, 2, 3]), [])
    for track_id in (1, 2, 3):
        tag_rows = np.all(image[34:] == track_color(track_id), axis=2).sum(axis=1) >= 10
        assert not tag_rows.any()  # no tag at the bottom, where the whole of one would not fit


def test_a_person_found_only_at_joints_no_limb_joins_keeps_their_tag():
    """A person at the frame's edge found at the nose and one ankle alone: two dots, no limb, still their "#4"."""
    xy = np.array([[[30, 60], [np.nan, np.nan], [34, 140]]], np.float32)
    image = np.zeros((160, 200, 3), np.uint8)
    draw_poses(image, Poses(xy, [[1, 0, 1]], [0.9], [4]), [(0, 1), (1, 2)])
    assert np.all(image[:60, 40:] == track_color(4), axis=2).sum() > 50  # the tag above the nose, right of the dots


def test_a_tag_that_just_fits_above_the_person_is_drawn_above_not_over_them():
    """A person whose top is exactly a tag's height below the frame's top has room for it above, as one lower does."""

    def tag_rows(top):
        image = np.zeros((160, 200, 3), np.uint8)
        xy = np.array([[[10, top], [12, top + 60]]], np.float32)
        draw_poses(image, Poses(xy, [[1, 1]], [0.9], [5]), [(0, 1)])
        return np.flatnonzero(np.all(image[:, 20:] == track_color(5), axis=2).any(axis=1))  # right of the dots

    rows = tag_rows(80)
    height = rows.max() - rows.min() + 1
    assert rows.max() == 79  # a tag ends on the row above the person's top
    assert tag_rows(height).tolist() == list(range(height))
