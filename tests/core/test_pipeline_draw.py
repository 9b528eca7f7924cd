"""PosePipeline on a model with known outputs, live configuration, and the shared drawing function."""

import dataclasses

import numpy as np
import pytest

from core.decode import DecodeConfig
from core.draw import UNTRACKED, Trails, _draw_label, _zoomed, draw_poses, track_color
from core.pipeline import STAGES, PipelineConfig, PosePipeline
from core.poses import Poses
from core.preprocess import letterbox, letterbox_geometry
from core.session import PoseModel
from core.synthetic import STANDING, paint, random_people
from core.tracker import PoseTracker, TrackerConfig


def _pipeline(tmp_path, coco_metadata, painted_model, n=3):
    box = letterbox_geometry((640, 480), 256)
    truth = random_people(np.random.default_rng(4), n, 17, box.input_size, overlap=0.2)
    heatmaps, tags = paint(truth, np.arange(n, dtype=np.float32) * 2, box.input_size)
    model = PoseModel(painted_model(tmp_path / "m.onnx", heatmaps, tags, coco_metadata))
    return PosePipeline(model, PipelineConfig()), box.to_image(truth)


def test_process_returns_image_pixels_and_stage_timings(tmp_path, coco_metadata, painted_model):
    pipeline, expected = _pipeline(tmp_path, coco_metadata, painted_model)
    image = np.zeros((480, 640, 3), np.uint8)
    result = pipeline.process(image, 0.0)
    assert set(result.timings_ms) == set(STAGES) and all(v >= 0 for v in result.timings_ms.values())
    err = np.linalg.norm(result.poses.xy[:, None] - expected[None], axis=3).max(axis=2).min(axis=1)
    assert len(result.poses) == 3 and err.max() <= 2.5 + 1e-6  # 1 network px at scale 0.4


def test_network_pixels_map_back_to_the_image_pixels_resizing_took_them_from():
    """Pixel centres: a 4K frame shrinks 15 times, so input pixel x is image pixel (x + 0.5) * 15 - 0.5; x * 15
    put every joint 7 px right of and below where it is (1 px on vtest.avi)."""
    image = np.zeros((2160, 3840, 3), np.uint8)
    image[900:930, 1500:1530] = 255  # a square centred on image pixel (1514.5, 914.5)
    blob, box = letterbox(image, 256, (0.0, 0.0, 0.0), (1.0, 1.0, 1.0))
    bright = blob[0, 0]
    ys, xs = np.indices(bright.shape)
    centre = np.float32([(xs * bright).sum(), (ys * bright).sum()]) / bright.sum()
    assert np.abs(box.to_image(centre) - [1514.5, 914.5]).max() <= 0.5


def test_the_pipeline_cuts_a_person_grouped_from_two(tmp_path, coco_metadata, painted_model):
    """The head, shoulders and arms of one person with the hips and legs of another 70 px below, grouped as one
    (all one tag): the pipeline gives decoding the model's skeleton, so the person is cut at the long links."""
    box = letterbox_geometry((640, 480), 256)
    merged = (STANDING * 80 + [100, 20])[None].copy()
    merged[0, 11:] += [0, 70]
    heatmaps, tags = paint(merged, np.zeros(1, np.float32), box.input_size)
    model = PoseModel(painted_model(tmp_path / "m.onnx", heatmaps, tags, coco_metadata))
    poses = PosePipeline(model, PipelineConfig(tracker=None)).process(np.zeros((480, 640, 3), np.uint8), 0.0).poses
    assert poses.visible.tolist() == [[True] * 11 + [False] * 6]


@pytest.mark.parametrize("across", [1, 0])  # the bottom edge of a landscape frame, the right edge of a portrait one
def test_joints_at_the_frame_edge_stay_inside_the_image(tmp_path, coco_metadata, painted_model, across):
    size = (640, 427) if across == 1 else (427, 640)
    box = letterbox_geometry(size, 256)  # 171 rows (or columns) of picture, padded to 192
    truth = random_people(np.random.default_rng(4), 1, 17, box.input_size)
    truth[0, :, across] = 180.0  # along the padding: where a network's peak can fall for a person at the edge
    heatmaps, tags = paint(truth, np.zeros(1, np.float32), box.input_size)
    model = PoseModel(painted_model(tmp_path / "m.onnx", heatmaps, tags, coco_metadata))
    pipeline = PosePipeline(model, PipelineConfig())
    assert box.to_image(truth)[0, :, across].min() > 426
    xy = pipeline.process(np.zeros((size[1], size[0], 3), np.uint8), 0.0).poses.xy
    assert len(xy) == 1 and (xy[0, :, across] == 426).all() and (xy[0, :, 1 - across] <= 639).all()


def test_a_smoothed_person_running_off_the_frame_stays_inside_it(tmp_path, coco_metadata, painted_model):
    box = letterbox_geometry((640, 427), 256)
    base = random_people(np.random.default_rng(4), 1, 17, box.input_size)
    base[0, :, 1] -= base[0, :, 1].min()  # the person's top at row 0, moving down 20 input rows a frame
    frames = [paint(base + [0.0, 20.0 * i], np.zeros(1, np.float32), box.input_size) for i in range(6)]
    model = PoseModel(painted_model(tmp_path / "m.onnx", *frames[0], coco_metadata))
    calls = iter(frames)
    model.run = lambda blob: next(calls)
    pipeline = PosePipeline(model, PipelineConfig())
    for i in range(6):  # the filter's velocity carries its joints past the last row, where the peaks stop
        xy = pipeline.process(np.zeros((427, 640, 3), np.uint8), i / 25).poses.xy
        assert np.nanmax(xy[..., 1]) <= 426 and np.nanmin(xy) >= 0


def test_the_settings_a_sidecar_records_name_the_input_size_a_run_used():
    """Without --input-size a run feeds the model's own size: the sidecar says 256, not null (track --skip-done and
    the app's batch compare these settings, and a reader of the sidecar would not know the size)."""
    from core.pipeline import run_settings, tuned_config

    assert run_settings(tuned_config(), 256)["input_size"] == 256
    assert run_settings(tuned_config(input_size=320), 256)["input_size"] == 320
    assert run_settings(tuned_config(tracking=False), 256)["tracker"] is None


def test_configure_keeps_tracks_on_threshold_change_and_reset_forgets(tmp_path, coco_metadata, painted_model):
    pipeline, _ = _pipeline(tmp_path, coco_metadata, painted_model)
    image = np.zeros((480, 640, 3), np.uint8)
    for i in range(3):
        ids = pipeline.process(image, i / 25).poses.track_ids
    assert sorted(ids) == [1, 2, 3]
    config = pipeline.config
    pipeline.configure(dataclasses.replace(config, decode=DecodeConfig(keypoint_threshold=0.2)))
    pipeline.configure(dataclasses.replace(pipeline.config, tracker=dataclasses.replace(config.tracker, smoothing=0.9)))
    assert sorted(pipeline.process(image, 3 / 25).poses.track_ids) == [1, 2, 3]  # same IDs
    pipeline.configure(dataclasses.replace(pipeline.config, tracker=None))
    assert (pipeline.process(image, 4 / 25).poses.track_ids == -1).all()
    pipeline.configure(config)
    pipeline.reset()
    pipeline.process(image, 0.0)
    assert sorted(pipeline.process(image, 0.04).poses.track_ids) == [1, 2, 3]


def test_redecode_groups_the_last_outputs_again_as_a_fresh_run_would(tmp_path, coco_metadata, painted_model):
    pipeline, _ = _pipeline(tmp_path, coco_metadata, painted_model)
    pipeline.configure(dataclasses.replace(pipeline.config, tracker=None))
    image = np.zeros((480, 640, 3), np.uint8)
    assert pipeline.redecode() is None  # nothing seen yet
    first = pipeline.process(image, 0.0).poses
    strict = dataclasses.replace(pipeline.config, decode=DecodeConfig(keypoint_threshold=0.99))
    pipeline.configure(strict)
    again = pipeline.redecode()
    assert set(again.timings_ms) == {"grouping", "tracking"}  # the network did not run
    fresh = pipeline.process(image, 0.0).poses
    assert np.array_equal(again.poses.xy, fresh.xy, equal_nan=True)
    assert np.isnan(fresh.xy).sum() > np.isnan(first.xy).sum()  # the new threshold did apply
    pipeline.configure(dataclasses.replace(strict, input_size=320))
    assert pipeline.redecode() is None  # other outputs needed: the caller runs the network
    pipeline.reset()
    assert pipeline.redecode() is None


def test_redecode_tracks_the_frame_as_if_for_the_first_time(tmp_path, coco_metadata, painted_model):
    """A slider dragged over a paused frame re-groups it many times: the tracks must not move on with each
    (the tracker's clock, hits and filters stay where that frame left them)."""
    pipeline, _ = _pipeline(tmp_path, coco_metadata, painted_model)
    image = np.zeros((480, 640, 3), np.uint8)
    for i in range(3):
        shown = pipeline.process(image, i / 25).poses
    after = pipeline.tracker.snapshot()
    for _ in range(5):
        again = pipeline.redecode().poses
        assert np.array_equal(again.xy, shown.xy, equal_nan=True)
        assert np.array_equal(again.track_ids, shown.track_ids)
    now = pipeline.tracker.snapshot()
    assert now.keys() == after.keys()
    for name, value in after.items():
        assert np.array_equal(now[name], value), name
    pipeline.configure(dataclasses.replace(pipeline.config, input_size=320))
    pipeline.process(image, 2 / 25, again=True)  # a new input size: the network runs on the same frame
    rerun = pipeline.tracker.snapshot()  # other detections, so other positions, but no step in time
    assert rerun["_time"] == after["_time"] and rerun["_next_id"] == after["_next_id"]
    assert (rerun["hits"] <= after["hits"].max()).all()


def test_tracking_switched_on_over_a_paused_frame_tracks_it_once(tmp_path, coco_metadata, painted_model):
    pipeline, _ = _pipeline(tmp_path, coco_metadata, painted_model)
    tracking = pipeline.config
    pipeline.configure(dataclasses.replace(tracking, tracker=None))
    image = np.zeros((480, 640, 3), np.uint8)
    pipeline.process(image, 0.5)
    pipeline.configure(tracking)
    for _ in range(4):
        assert (pipeline.redecode().poses.track_ids == -1).all()  # first sight: nobody confirmed yet
    assert pipeline.tracker._time == 0.5 and pipeline.tracker.hits.max() == 1


def test_a_model_loaded_over_a_paused_frame_tracks_it_once(tmp_path, coco_metadata, painted_model):
    pipeline, _ = _pipeline(tmp_path, coco_metadata, painted_model)  # new: it has tracked nothing yet
    image = np.zeros((480, 640, 3), np.uint8)
    pipeline.process(image, 1.0, again=True)
    for _ in range(3):
        assert (pipeline.redecode().poses.track_ids == -1).all()
    assert pipeline.tracker._time == 1.0 and pipeline.tracker.hits.max() == 1


def test_tracking_off_and_on_again_gives_no_id_twice(tmp_path, coco_metadata, painted_model):
    pipeline, _ = _pipeline(tmp_path, coco_metadata, painted_model)
    tracking = pipeline.config
    image = np.zeros((480, 640, 3), np.uint8)
    for i in range(2):
        first = pipeline.process(image, i / 25).poses.track_ids
    pipeline.configure(dataclasses.replace(tracking, tracker=None))
    pipeline.process(image, 2 / 25)
    pipeline.configure(tracking)
    for i in range(3, 5):
        later = pipeline.process(image, i / 25).poses.track_ids
    assert min(later) > max(first) == 3


def test_a_frame_the_network_failed_on_leaves_nothing_to_regroup(tmp_path, coco_metadata, painted_model):
    pipeline, _ = _pipeline(tmp_path, coco_metadata, painted_model)
    image = np.zeros((480, 640, 3), np.uint8)
    pipeline.process(image, 0.0)

    def broken(blob):
        raise RuntimeError("the network failed")

    pipeline.model.run = broken
    with pytest.raises(RuntimeError):
        pipeline.process(image, 0.04)
    assert pipeline.redecode() is None  # not the previous frame's people on this frame


def test_a_frame_tracked_again_shows_the_same_new_ids():
    tracker = PoseTracker(TrackerConfig(), np.full(3, 0.05))
    person = Poses(np.array([[[10, 10], [20, 10], [15, 30]]], np.float32), [[1, 1, 1]], [0.9])
    tracker.update(person, 0.0)
    before = tracker.snapshot()
    for _ in range(3):  # the person is confirmed on this frame: the same number every time
        assert tracker.update(person, 0.04).track_ids.tolist() == [1]
        tracker.restore(before)


def test_an_id_written_out_before_a_restore_is_never_given_to_someone_else():
    tracker = PoseTracker(TrackerConfig(), np.full(3, 0.05))
    person = Poses(np.array([[[10, 10], [20, 10], [15, 30]]], np.float32), [[1, 1, 1]], [0.9])
    tracker.update(person, 0.0)
    before = tracker.snapshot()
    assert tracker.update(person, 0.04).track_ids.tolist() == [1]  # written to a recording, say
    tracker.restore(before, reuse_ids=False)
    tracker.update(Poses.empty(3), 0.04)  # the frame again with a threshold that hides the person
    other = Poses(person.xy + 300, person.keypoint_scores, person.scores)
    tracker.update(other, 0.08)
    assert tracker.update(other, 0.12).track_ids.tolist() == [2]


def people(*shifts: float) -> Poses:
    """A fully visible three-joint person per ``shift`` (px, along both axes)."""
    xy = np.array([[10, 10], [20, 10], [15, 30]], np.float32)
    return Poses(np.stack([xy + d for d in shifts]), [[1, 1, 1]] * len(shifts), [0.9] * len(shifts))


def test_a_person_confirmed_on_a_recorded_frame_keeps_the_written_id_when_it_is_tracked_again():
    tracker = PoseTracker(TrackerConfig(), np.full(3, 0.05))
    person, both = people(0), people(0, 300)
    tracker.update(both, 0.0)
    before = tracker.snapshot()
    assert tracker.update(person, 0.04).track_ids.tolist() == [1]  # written to a recording
    for shown in (Poses.empty(3), person, people(300, 0)):  # threshold changes while paused
        tracker.restore(before, reuse_ids=False)
        ids = tracker.update(shown, 0.04).track_ids.tolist()
    assert ids == [2, 1]  # the recorded person keeps 1; the other, seen now, gets a number never written
    assert tracker.update(both, 0.08).track_ids.tolist() == [1, 2]  # playing on


def test_a_frame_that_failed_before_tracking_reissues_no_id_of_the_frame_before():
    tracker = PoseTracker(TrackerConfig(), np.full(3, 0.05))
    tracker.update(people(0, 300), 0.0)  # p and q, tentative
    tracker.snapshot()
    assert tracker.update(people(300, 600), 0.04).track_ids.tolist() == [1, -1]  # q confirmed, r new, p gone
    before = tracker.snapshot()  # the next frame's network run fails: nothing is tracked from here
    tracker.restore(before, reuse_ids=False)  # the frame again (reuse off: a recording holds ID 1)
    assert tracker.update(people(300, 600), 0.08).track_ids.tolist() == [1, 2]  # r's row was q's: still new


def test_a_restored_tracker_is_the_one_snapshotted_and_the_snapshot_serves_again():
    tracker = PoseTracker(TrackerConfig(), np.full(3, 0.05))
    poses = Poses(np.array([[[10, 10], [20, 10], [15, 30]]], np.float32), [[1, 1, 1]], [0.9])
    tracker.update(poses, 0.0)
    saved = tracker.snapshot()
    for _ in range(2):
        tracker.update(Poses(poses.xy + 3, poses.keypoint_scores, poses.scores), 0.04)
        assert tracker._time == 0.04 and not np.array_equal(tracker.pos, saved["pos"])
        tracker.restore(saved)
        assert tracker._time == 0.0 and np.array_equal(tracker.pos, saved["pos"])


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


def test_people_without_a_track_leave_no_trail():
    """Every unconfirmed person has ID -1: a trail for -1 joined one such person's place to another's, a grey line
    across the picture between strangers (300 px on vtest_clip.mp4's first frames)."""
    left = np.array([[[20, 20], [20, 60]]], np.float32)
    trails = Trails(length=5)
    trails.update(Poses(left, [[1, 1]], [0.9], [-1]))
    trails.update(Poses(left + [120, 0], [[1, 1]], [0.9], [-1]))
    assert dict(trails.items()) == {}


def test_a_limb_with_one_end_missing_is_not_drawn_to_the_corner():
    """A missing joint's place is NaN, drawn as (0, 0): a limb drawn with one end found ran from the person to the
    picture's top-left corner (5 % of vtest_clip.mp4's pixels)."""
    xy = np.array([[[60, 50], [70, 70], [np.nan, np.nan]]], np.float32)
    image = np.zeros((80, 100, 3), np.uint8)
    draw_poses(image, Poses(xy, [[1, 1, 0]], [0.9], [7]), [(0, 1), (0, 2), (1, 2)])
    assert not image[:30, :40].any()


def test_a_smoothing_changed_live_is_the_one_the_tracker_smooths_with(tmp_path, coco_metadata, painted_model):
    """The app's smoothing slider moved while a video plays: the tracker kept smoothing at 0.5 while the sidecar
    said 0 (keypoints up to 16 px from the unsmoothed ones on vtest_clip.mp4)."""
    pipeline, _ = _pipeline(tmp_path, coco_metadata, painted_model)
    pipeline.process(np.zeros((480, 640, 3), np.uint8), 0.0)
    smoother = dataclasses.replace(pipeline.config.tracker, smoothing=0.0)
    pipeline.configure(dataclasses.replace(pipeline.config, tracker=smoother))
    assert pipeline.tracker.config == smoother and pipeline.settings()["tracker"]["smoothing"] == 0.0


def test_a_seek_while_tracking_is_off_gives_no_id_twice_when_it_comes_back_on(tmp_path, coco_metadata, painted_model):
    """A recording seeked with tracking off, then tracked again: vtest_clip.mp4's IDs 1-4 were given again to
    other people, where a seek's new tracks take new numbers."""
    pipeline, _ = _pipeline(tmp_path, coco_metadata, painted_model)
    image = np.zeros((480, 640, 3), np.uint8)
    config = pipeline.config
    for i in range(2):
        pipeline.process(image, i / 25)
    pipeline.configure(dataclasses.replace(config, tracker=None))
    pipeline.process(image, 2 / 25)
    pipeline.reset(restart_ids=False)
    pipeline.configure(config)
    for i in range(3, 5):
        ids = pipeline.process(image, i / 25).poses.track_ids
    assert sorted(ids) == [4, 5, 6]


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


def test_a_joint_found_alone_is_a_filled_dot():
    """A joint whose neighbours were not found has no limb to show it: drawn as a ring it all but vanished (a 5 px
    circle one pixel thick on vtest_clip.mp4)."""
    image = np.zeros((120, 160, 3), np.uint8)
    draw_poses(image, Poses(np.array([[[80, 60]]], np.float32), [[1]], [0.9], [-1]), [])
    assert tuple(image[60, 80]) == UNTRACKED


def test_tags_stacked_near_the_bottom_stay_whole_inside_the_frame():
    """Three people side by side low in a strip of picture: their tags make way up and down, and the third went
    down past the frame's bottom edge, cut off, where it belongs over its person instead."""
    xy = np.array([[[40 + 4 * i, 20], [42 + 4 * i, 38]] for i in range(3)], np.float32)
    image = np.zeros((40, 200, 3), np.uint8)
    draw_poses(image, Poses(xy, np.ones((3, 2)), [0.9] * 3, [1, 2, 3]), [])
    for track_id in (1, 2, 3):
        tag_rows = np.all(image[34:] == track_color(track_id), axis=2).sum(axis=1) >= 10
        assert not tag_rows.any()  # no tag at the bottom, where the whole of one would not fit


def test_a_mirrored_drawing_leaves_the_peoples_coordinates_as_they_were():
    """The app draws the people mirrored for the screen and then records them: flipped in place, the recording's
    CSV had every x mirrored (409 px off on average on vtest_clip.mp4, 768 px wide)."""
    xy = np.array([[[20, 20], [60, 40]]], np.float32)
    poses = Poses(xy.copy(), [[1, 1]], [0.9], [7])
    draw_poses(np.zeros((80, 100, 3), np.uint8), poses, [(0, 1)], mirror=True)
    assert np.array_equal(poses.xy, xy)


def test_each_stage_is_timed_in_milliseconds_on_its_own(tmp_path, coco_metadata, painted_model, monkeypatch):
    """Each stage's time is the clock between its own start and end, in ms: preprocess read 0.00 ms when given in
    seconds, and inference or tracking took in the stage before them (tracking 1.2 -> 4.2 ms on vtest_clip.mp4)."""
    import core.pipeline

    pipeline, _ = _pipeline(tmp_path, coco_metadata, painted_model)
    clock = iter([1.0, 1.002, 1.007, 1.008, 1.009, 1.012])  # stages of 2, 5, 1 and 3 ms, 1 ms between two
    monkeypatch.setattr(core.pipeline.time, "perf_counter", lambda: next(clock))
    timings = pipeline.process(np.zeros((480, 640, 3), np.uint8), 0.0).timings_ms
    assert timings == pytest.approx({"preprocess": 2.0, "inference": 5.0, "grouping": 1.0, "tracking": 3.0})


def test_joints_in_the_padding_stay_inside_the_image_without_tracking(tmp_path, coco_metadata, painted_model):
    """With tracking off (--no-track) the decoded people are clipped to the picture too, not only the tracked."""
    box = letterbox_geometry((640, 427), 256)
    truth = random_people(np.random.default_rng(4), 1, 17, box.input_size)
    truth[0, :, 1] = 180.0  # in the padding below the picture
    heatmaps, tags = paint(truth, np.zeros(1, np.float32), box.input_size)
    model = PoseModel(painted_model(tmp_path / "m.onnx", heatmaps, tags, coco_metadata))
    xy = PosePipeline(model, PipelineConfig(tracker=None)).process(np.zeros((427, 640, 3), np.uint8), 0.0).poses.xy
    assert len(xy) == 1 and (xy[0, :, 1] == 426).all()


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


def test_an_exported_video_draws_the_boxes_the_overlay_asks_for_not_the_scores(tmp_path, coco_metadata, painted_model):
    """The app's export with boxes ticked and scores not: the video shows boxes, as the view did."""
    import cv2

    from core.draw import Overlay
    from core.frame_loop import run_frames
    from core.sinks import SinkOptions
    from core.sources import open_source

    pipeline, _ = _pipeline(tmp_path, coco_metadata, painted_model)
    (tmp_path / "frames").mkdir()
    cv2.imwrite(str(tmp_path / "frames" / "1.png"), np.full((480, 640, 3), 90, np.uint8))
    options = SinkOptions(video=tmp_path / "out.avi")
    with open_source(str(tmp_path / "frames"), 10.0) as source:
        for _ in run_frames(source, str(tmp_path / "frames"), pipeline, options, overlay=Overlay(boxes=True), notes=[]):
            pass
    capture = cv2.VideoCapture(str(tmp_path / "out.avi"))
    written = capture.read()[1].astype(np.float32)
    capture.release()
    pipeline.reset()
    poses = pipeline.process(np.full((480, 640, 3), 90, np.uint8), 0.0).poses
    skeleton = pipeline.model.info.skeleton

    def off(**style):  # how far the written frame is from the picture drawn so
        drawn = draw_poses(np.full((480, 640, 3), 90, np.uint8), poses, skeleton, **style)
        return np.abs(written - drawn).mean()

    assert off(boxes=True) < off(scores=True)
