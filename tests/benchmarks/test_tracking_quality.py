"""benchmarks/tracking_quality.py: its scores counted by hand, the reference tracks it links, the labelled
frames it reads, and its refusals of labels that do not fit the videos."""

import argparse
import json
from pathlib import Path

import numpy as np
import pytest


@pytest.fixture(scope="module")
def tracking_quality(load_benchmark):
    return load_benchmark("tracking_quality")


def _box(x: float) -> list[float]:
    return [x, 0.0, x + 10.0, 10.0]


def test_tracking_scores_match_a_hand_count(tracking_quality):
    """Reference tracks a and b over three frames: b's ID changes once and b is missed in the last frame, where
    an output box overlaps it at IoU 0.18 (no match); a stray person in frame 0. Counted by hand: 5 of 6
    reference people matched, 5 of 7 output people; one ID switch; the best pairing of tracks and IDs (a-1, b-2
    or b-3) has 4 people, so IDF1 = 2 x 4 / (6 + 7)."""
    ref_boxes = {f: np.array([_box(0), _box(100)]) for f in (0, 5, 10)}
    ref_ids = {f: np.array([0, 1]) for f in (0, 5, 10)}  # a = 0, b = 1
    out_boxes = {
        0: np.array([_box(0), _box(100), _box(300)]),
        5: np.array([_box(0), _box(100)]),
        10: np.array([_box(0), _box(107)]),
    }
    out_ids = {0: np.array([1, 2, 5]), 5: np.array([1, 3]), 10: np.array([1, 4])}
    scores = tracking_quality.score(ref_boxes, ref_ids, out_boxes, out_ids)
    assert scores == pytest.approx({"recall": 5 / 6, "precision": 5 / 7, "id_switches": 1, "idf1": 8 / 13})


def test_tracking_misses_people_of_a_frame_without_output_and_counts_a_switch_once(tracking_quality):
    """Reference track a over four labelled frames: the tracker shows nobody in the first (its tracks not yet
    confirmed), then IDs 1, 2, 2: 3 of 4 people found and one ID switch."""
    ref_boxes = {f: np.array([_box(0)]) for f in (0, 5, 10, 15)}
    ref_ids = {f: np.array([0]) for f in ref_boxes}
    out_boxes = {0: np.zeros((0, 4)), **{f: np.array([_box(0)]) for f in (5, 10, 15)}}
    out_ids = {0: np.zeros(0, int), 5: np.array([1]), 10: np.array([2]), 15: np.array([2])}
    scores = tracking_quality.score(ref_boxes, ref_ids, out_boxes, out_ids)
    assert scores == pytest.approx({"recall": 3 / 4, "precision": 1.0, "id_switches": 1, "idf1": 2 * 2 / 7})


def test_reference_tracks_follow_a_walker_across_a_missed_frame_and_not_to_a_stranger(tracking_quality):
    """Labelled every 5th frame: p walks right 20 px a labelled step (a person 100 px high), is not labelled at
    frame 10 and is back at 15 where its speed puts it; q stands at x 1000 and leaves; s comes at frame 10,
    2.5 heights from q: someone else."""

    def person(x: float) -> list[float]:
        return [x - 20.0, 0.0, x + 20.0, 100.0]

    boxes = {
        0: np.array([person(0), person(1000)]),
        5: np.array([person(20), person(1000)]),
        10: np.array([person(1250)]),
        15: np.array([person(60)]),
    }
    ids = tracking_quality.link_tracks(boxes, every=5)
    assert {frame: row.tolist() for frame, row in ids.items()} == {0: [0, 1], 5: [0, 1], 10: [2], 15: [0]}


def test_reference_tracks_follow_a_walker_growing_toward_the_camera(tracking_quality):
    """From 100 to 200 px high, the centre 72 px on: 0.36 of the larger height (0.72 of the smaller), one person."""
    boxes = {0: np.array([[0.0, 0.0, 40.0, 100.0]]), 5: np.array([[20.0, 10.0, 100.0, 210.0]])}
    ids = tracking_quality.link_tracks(boxes, every=5)
    assert {frame: row.tolist() for frame, row in ids.items()} == {0: [0], 5: [0]}


def test_tracking_summary_counts_people_shown_a_frame_over_all_frames(tracking_quality):
    """Ten frames: a stays, b leaves after 4 frames, c after 6, and d scores under the threshold. An ID is shown
    from a person's second frame: a 9 frames, b 3, c 5; 17 people shown in 10 frames, median track 5 (mean 5.7)."""
    from core.poses import Poses
    from models.schemas import COCO17

    def person(x: float) -> np.ndarray:
        return np.stack([x + np.arange(17) % 4 * 10.0, 100.0 + np.arange(17) // 4 * 20.0], axis=1)

    present = {100.0: (range(10), 0.9), 400.0: (range(4), 0.9), 700.0: (range(6), 0.9), 1000.0: (range(10), 0.2)}
    frames = []
    for i in range(10):
        here = [(x, score) for x, (shown, score) in present.items() if i in shown]
        xy = np.array([person(x) for x, _ in here])
        frames.append((i / 10, Poses(xy, np.full((len(here), 17), 0.9), np.array([s for _, s in here]))))
    _, out_ids, summary = tracking_quality.track(frames, 0.5, COCO17.sigmas, labelled={0: None, 5: None})
    assert {frame: ids.tolist() for frame, ids in out_ids.items()} == {0: [], 5: [1, 3]}
    assert summary == {"ids": 3, "people_per_frame": 1.7, "median_track": 5.0}


def test_labelled_frames_are_their_image_index_times_the_labelling_step(tracking_quality):
    """vtest_00002.jpg is the third labelled frame: video frame 10 when every 5th frame is labelled."""
    annotations = {
        "images": [{"id": 7, "file_name": "vtest_00002.jpg"}, {"id": 8, "file_name": "cctv_00002.jpg"}],
        "annotations": [
            {"image_id": 7, "keypoints": [10, 20, 2, 30, 60, 2, 0, 0, 0]},
            {"image_id": 8, "keypoints": [1, 2, 2, 3, 4, 2, 0, 0, 0]},
        ],
    }
    boxes = tracking_quality.labelled_boxes(annotations, "vtest_", 5)
    assert list(boxes) == [10] and boxes[10].tolist() == [[10.0, 20.0, 30.0, 60.0]]


def test_tracking_quality_figures_of_a_threshold_do_not_depend_on_the_others_listed(
    tmp_path, run_benchmark, benchmark_clips
):
    """Grouping must run at the lowest threshold compared: at a higher one, every lower threshold's row repeats
    the highest's figures. Two reference people on two labelled frames of vtest, one on one of cctv."""
    videos = tmp_path / "videos"
    videos.mkdir()
    benchmark_clips(videos, frames=10)
    person = [[x, 100, 2, x + 40, 300, 2] for x in (100, 500)]
    annotations = {
        "images": [{"id": n, "file_name": name} for n, name in enumerate(["vtest_0.jpg", "vtest_1.jpg", "cctv_0.jpg"])],
        "annotations": [{"image_id": n, "keypoints": person[p]} for n, p in ((0, 0), (0, 1), (1, 0), (1, 1), (2, 0))],
    }
    (tmp_path / "annotations.json").write_text(json.dumps(annotations))

    def figures(thresholds: str) -> dict:
        options = ["--annotations", str(tmp_path / "annotations.json"), "--videos", str(videos), "--json"]
        done = run_benchmark("tracking_quality.py", *options, "--thresholds", thresholds, cwd=tmp_path)
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout)

    both, alone = figures("0.1,0.3"), figures("0.1")
    assert [both[video]["reference_tracks"] for video in both] == [2, 1]
    for video in both:
        assert both[video]["by_threshold"]["0.1"] == alone[video]["by_threshold"]["0.1"], video


def test_tracking_quality_groups_at_the_lowest_threshold_with_the_keypoint_options_asked(
    monkeypatch, tmp_path, tracking_quality
):
    """--keypoint-threshold 0.6 and --stray-factor 0 (off) reach the grouping the network's frames go through."""
    from core.assets import DEFAULT_MODEL

    class Detecting(Exception):
        pass

    def detect(model, video: Path, config) -> list:
        raise Detecting(config.decode)

    person = {"keypoints": [100, 100, 2, 140, 300, 2]}
    annotations = {
        "images": [{"id": 1, "file_name": "vtest_0.jpg"}, {"id": 2, "file_name": "cctv_0.jpg"}],
        "annotations": [{"image_id": 1, **person}, {"image_id": 2, **person}],
    }
    (tmp_path / "annotations.json").write_text(json.dumps(annotations))
    options = {"model": DEFAULT_MODEL, "annotations": tmp_path / "annotations.json", "videos": tmp_path, "size": None}
    args = argparse.Namespace(**options, thresholds=[0.2, 0.4], keypoint_threshold=0.6, stray_factor=0.0, json=True)
    monkeypatch.setattr(tracking_quality, "detect", detect)
    with pytest.raises(Detecting) as detecting:
        tracking_quality.compare(args)
    decode = detecting.value.args[0]
    assert (decode.detection_threshold, decode.keypoint_threshold, decode.stray_factor) == (0.2, 0.6, None)


def test_tracking_quality_refuses_annotations_without_the_clips_frames_before_running_the_network(
    tmp_path, run_benchmark, benchmark_clips
):
    """An annotation file labelling no frame of a clip (the val set) was a traceback, after a pass over vtest.avi."""
    unlabelled = {"images": [{"id": 1, "file_name": "vtest_00000.jpg"}], "annotations": []}
    (tmp_path / "val.json").write_text(json.dumps(unlabelled))
    benchmark_clips(tmp_path, frames=2)
    options = ["--annotations", "val.json", "--videos", "."]
    done = run_benchmark("tracking_quality.py", *options, cwd=tmp_path)
    assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr
    assert "labels no person in a frame of vtest.avi, person_tracker_cctv.mp4" in done.stderr, done.stderr


def test_tracking_quality_refuses_a_video_shorter_than_its_labels(tmp_path, run_benchmark, benchmark_clips):
    """vtest_00002 is video frame 10 of a 4-frame clip: a KeyError traceback, after the network's pass."""
    labelled = {
        "images": [{"id": 1, "file_name": "vtest_00002.jpg"}, {"id": 2, "file_name": "cctv_00000.jpg"}],
        "annotations": [{"image_id": n, "keypoints": [100, 100, 2, 140, 300, 2]} for n in (1, 2)],
    }
    (tmp_path / "labels.json").write_text(json.dumps(labelled))
    benchmark_clips(tmp_path, frames=4)
    done = run_benchmark("tracking_quality.py", "--annotations", "labels.json", "--videos", ".", cwd=tmp_path)
    assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr
    assert "vtest.avi has 4 frames; labels.json labels its frame 10" in done.stderr, done.stderr
