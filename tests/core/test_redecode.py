"""A paused frame grouped and tracked again as the app's sliders move: PosePipeline.redecode, and the tracker's
snapshot and restore under it, which must neither move the tracks on nor give an ID twice."""

import dataclasses

import numpy as np
import pytest

from core.decode import DecodeConfig
from core.poses import Poses
from core.tracker import PoseTracker, TrackerConfig


def test_redecode_groups_the_last_outputs_again_as_a_fresh_run_would(
    tmp_path, coco_metadata, painted_model, painted_pipeline
):
    pipeline, _ = painted_pipeline(tmp_path, coco_metadata, painted_model)
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


def test_redecode_tracks_the_frame_as_if_for_the_first_time(tmp_path, coco_metadata, painted_model, painted_pipeline):
    """A slider dragged over a paused frame re-groups it many times: the tracks must not move on with each
    (the tracker's clock, hits and filters stay where that frame left them)."""
    pipeline, _ = painted_pipeline(tmp_path, coco_metadata, painted_model)
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


def test_tracking_switched_on_over_a_paused_frame_tracks_it_once(
    tmp_path, coco_metadata, painted_model, painted_pipeline
):
    pipeline, _ = painted_pipeline(tmp_path, coco_metadata, painted_model)
    tracking = pipeline.config
    pipeline.configure(dataclasses.replace(tracking, tracker=None))
    image = np.zeros((480, 640, 3), np.uint8)
    pipeline.process(image, 0.5)
    pipeline.configure(tracking)
    for _ in range(4):
        assert (pipeline.redecode().poses.track_ids == -1).all()  # first sight: nobody confirmed yet
    assert pipeline.tracker._time == 0.5 and pipeline.tracker.hits.max() == 1


def test_a_model_loaded_over_a_paused_frame_tracks_it_once(tmp_path, coco_metadata, painted_model, painted_pipeline):
    pipeline, _ = painted_pipeline(tmp_path, coco_metadata, painted_model)  # new: it has tracked nothing yet
    image = np.zeros((480, 640, 3), np.uint8)
    pipeline.process(image, 1.0, again=True)
    for _ in range(3):
        assert (pipeline.redecode().poses.track_ids == -1).all()
    assert pipeline.tracker._time == 1.0 and pipeline.tracker.hits.max() == 1


def test_a_frame_the_network_failed_on_leaves_nothing_to_regroup(
    tmp_path, coco_metadata, painted_model, painted_pipeline
):
    pipeline, _ = painted_pipeline(tmp_path, coco_metadata, painted_model)
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
