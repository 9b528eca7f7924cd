"""The benchmarks refuse what would make their figures meaningless, in a line: a negative count sliced a list
from its end (calibration on 2,078 images for -5), 0 threads timed ONNX Runtime's default, bad numbers were
tracebacks."""

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]


def run_benchmark(script: str, *options: str, cwd: Path) -> subprocess.CompletedProcess:
    """benchmarks/``script`` run as a user runs it, from ``cwd``, offscreen."""
    return subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / script), *options],
        cwd=cwd,
        env={**os.environ, "QT_QPA_PLATFORM": "offscreen"},
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.mark.parametrize(
    "script, options, message",
    [
        ("compression.py", ["--calibration-images", "-5"], "--calibration-images: must be at least 1, not -5"),
        ("pipeline.py", ["--threads", "0"], "--threads: must be at least 1, not 0"),
        ("tracking_quality.py", ["--thresholds", "abc"], "'abc' is not a comma-separated list of numbers"),
        ("tracking_quality.py", ["--thresholds", "0.2,5"], "each must be above 0 and at most 1: 0.2,5"),
        (
            "tracking_quality.py",
            ["--annotations", str(ROOT / "README.md"), "--videos", str(ROOT)],
            "cannot be read as JSON",
        ),
        ("display.py", ["--size", "0x825"], "--size: both sides must be at least 1: 0x825"),
        ("training_speed.py", ["--samples", "0"], "--samples: must be at least 1, not 0"),
    ],
)
def test_a_bad_option_is_one_line_and_exit_2(tmp_path, script, options, message):
    done = run_benchmark(script, *options, cwd=tmp_path)  # as run from anywhere
    assert done.returncode == 2 and message in done.stderr, done.stderr
    assert "Traceback" not in done.stderr and not list(tmp_path.iterdir())


@pytest.fixture(scope="module")
def tracking_quality():
    """benchmarks/tracking_quality.py as a module (it imports its neighbour arguments.py, as when run)."""
    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        spec = importlib.util.spec_from_file_location("tracking_quality", ROOT / "benchmarks" / "tracking_quality.py")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    finally:
        sys.path.remove(str(ROOT / "benchmarks"))
    return module


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


def _benchmark_clips(folder: Path, frames: int) -> None:
    """The sample clip's first frames under the names of both benchmark videos."""
    capture = cv2.VideoCapture(str(ROOT / "assets" / "samples" / "vtest_clip.mp4"))
    images = [capture.read()[1] for _ in range(frames)]
    capture.release()
    for name, codec in (("vtest.avi", "MJPG"), ("person_tracker_cctv.mp4", "mp4v")):
        height, width = images[0].shape[:2]
        writer = cv2.VideoWriter(str(folder / name), cv2.VideoWriter_fourcc(*codec), 10.0, (width, height))
        for image in images:
            writer.write(image)
        writer.release()


def test_tracking_quality_figures_of_a_threshold_do_not_depend_on_the_others_listed(tmp_path):
    """Grouping must run at the lowest threshold compared: at a higher one, every lower threshold's row repeats
    the highest's figures. Two reference people on two labelled frames of vtest, one on one of cctv."""
    videos = tmp_path / "videos"
    videos.mkdir()
    _benchmark_clips(videos, frames=10)
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


def test_tracking_quality_refuses_annotations_without_the_clips_frames_before_running_the_network(tmp_path):
    """An annotation file labelling no frame of a clip (the val set) was a traceback, after a pass over vtest.avi."""
    unlabelled = {"images": [{"id": 1, "file_name": "vtest_00000.jpg"}], "annotations": []}
    (tmp_path / "val.json").write_text(json.dumps(unlabelled))
    _benchmark_clips(tmp_path, frames=2)
    options = ["--annotations", "val.json", "--videos", "."]
    done = run_benchmark("tracking_quality.py", *options, cwd=tmp_path)
    assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr
    assert "labels no person in a frame of vtest.avi, person_tracker_cctv.mp4" in done.stderr, done.stderr
