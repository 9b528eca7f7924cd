"""The benchmarks refuse what would make their figures meaningless, in a line: a negative count sliced a list
from its end (calibration on 2,078 images for -5), 0 threads timed ONNX Runtime's default, bad numbers were
tracebacks."""

import argparse
import importlib.util
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

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
        ("display.py", ["--video", str(ROOT / "README.md")], "display: " + str(ROOT / "README.md") + " is not a"),
    ],
)
def test_a_bad_option_is_one_line_and_exit_2(tmp_path, script, options, message):
    """The scripts as a user runs them, from anywhere (tracking_quality's and training_speed's refusals below)."""
    done = run_benchmark(script, *options, cwd=tmp_path)
    assert done.returncode == 2 and message in done.stderr, done.stderr
    assert "Traceback" not in done.stderr and not list(tmp_path.iterdir())


@pytest.mark.parametrize("script", ["pipeline.py", "model_latency.py"])
def test_ctrl_c_mid_run_is_one_line_and_leaves_no_temporary_folder(tmp_path, script):
    """Ctrl-C printed a traceback from wherever it landed (a frame being read, onnxruntime loading: its ImportError).
    It is sent once the script has made its temporary folder, well before its figures."""
    temporary = tmp_path / "tmp"
    temporary.mkdir()
    run = subprocess.Popen(
        [sys.executable, str(ROOT / "benchmarks" / script)],
        cwd=tmp_path,
        env={**os.environ, "QT_QPA_PLATFORM": "offscreen", "TMPDIR": str(temporary)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    while run.poll() is None and not list(temporary.glob("tmp*")):  # tempfile's folder, not a library's file
        time.sleep(0.01)
    run.send_signal(signal.SIGINT)
    out, err = run.communicate(timeout=60)
    assert (run.returncode, out, err) == (-signal.SIGINT, "", f"{script.removesuffix('.py')}: interrupted\n")
    assert not list(temporary.glob("tmp*"))


def test_compression_ends_as_an_interrupted_export_did_rather_than_calling_it_failed(monkeypatch, tmp_path, capsys):
    """Ctrl-C during the export of the shipped weights was said by `wlitepose`, then called a failed export (exit
    2)."""
    compression = load_benchmark("compression")

    def ctrl_c(*args, **kwargs):  # where Ctrl-C lands: in the export itself
        raise KeyboardInterrupt

    monkeypatch.setattr("models.export.export_onnx", ctrl_c)
    with pytest.raises(SystemExit) as ended:
        compression.export_fp32(tmp_path)
    assert ended.value.code == 128 + signal.SIGINT and capsys.readouterr().err == "wlitepose: interrupted\n"


def test_help_works_under_python_oo_which_strips_docstrings(tmp_path):
    """Five scripts' descriptions came from ``__doc__.splitlines()``: a traceback where docstrings are dropped."""
    done = subprocess.run(
        [sys.executable, "-OO", str(ROOT / "benchmarks" / "pipeline.py"), "--help"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0 and "--model" in done.stdout, done.stderr


def test_a_scripts_description_is_its_docstrings_first_line():
    arguments = load_benchmark("arguments")
    assert arguments.first_line("Times the pipeline.\n\nIts figures are medians.\n") == "Times the pipeline."
    assert arguments.first_line(None) == ""  # python -OO


def load_benchmark(name: str):
    """benchmarks/``name``.py as a module (it imports its neighbours, such as arguments.py, as when run)."""
    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        spec = importlib.util.spec_from_file_location(name, ROOT / "benchmarks" / f"{name}.py")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    finally:
        sys.path.remove(str(ROOT / "benchmarks"))
    return module


@pytest.mark.parametrize(
    "script, options, message",
    [
        ("pipeline.py", ["--frames", "0"], "--frames: must be at least 1, not 0"),
        ("tracking_quality.py", ["--thresholds", "abc"], "'abc' is not a comma-separated list of numbers"),
        ("tracking_quality.py", ["--thresholds", "0.2,5"], "each must be above 0 and at most 1: 0.2,5"),
        (
            "tracking_quality.py",
            ["--annotations", str(ROOT / "README.md"), "--videos", str(ROOT)],
            "cannot be read as JSON",
        ),
        # a joint score above 1 or a negative stray factor drops every joint: figures of nobody, without a word
        (
            "tracking_quality.py",
            ["--keypoint-threshold", "5", "--annotations", str(ROOT / "README.md")],
            "--keypoint-threshold: must be from 0 to 1, not 5",
        ),
        (
            "tracking_quality.py",
            ["--stray-factor", "-1", "--annotations", str(ROOT / "README.md")],
            "--stray-factor: must be at least 0, not -1",
        ),
        ("display.py", ["--size", "0x825"], "--size: both sides must be at least 1: 0x825"),
        ("training_speed.py", ["--samples", "0"], "--samples: must be at least 1, not 0"),
        ("training_speed.py", ["--size", "100"], "--size must be a positive multiple of 32 up to 2048, not 100"),
    ],
)
def test_a_bad_value_is_refused_in_a_line_with_exit_2_before_anything_is_written(
    tmp_path, monkeypatch, capsys, script, options, message
):
    """main() of each script, in this process, run from tmp_path with ``options`` as its command line."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "argv", [script, *options])
    main = load_benchmark(script.removesuffix(".py")).main
    try:
        code = main()
    except SystemExit as exit_info:
        code = exit_info.code
    err = capsys.readouterr().err
    assert code == 2 and message in err, err
    assert not list(tmp_path.iterdir())


@pytest.fixture(scope="module")
def tracking_quality():
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


def test_tracking_quality_refuses_annotations_without_the_clips_frames_before_running_the_network(tmp_path):
    """An annotation file labelling no frame of a clip (the val set) was a traceback, after a pass over vtest.avi."""
    unlabelled = {"images": [{"id": 1, "file_name": "vtest_00000.jpg"}], "annotations": []}
    (tmp_path / "val.json").write_text(json.dumps(unlabelled))
    _benchmark_clips(tmp_path, frames=2)
    options = ["--annotations", "val.json", "--videos", "."]
    done = run_benchmark("tracking_quality.py", *options, cwd=tmp_path)
    assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr
    assert "labels no person in a frame of vtest.avi, person_tracker_cctv.mp4" in done.stderr, done.stderr


def test_tracking_quality_refuses_a_video_shorter_than_its_labels(tmp_path):
    """vtest_00002 is video frame 10 of a 4-frame clip: a KeyError traceback, after the network's pass."""
    labelled = {
        "images": [{"id": 1, "file_name": "vtest_00002.jpg"}, {"id": 2, "file_name": "cctv_00000.jpg"}],
        "annotations": [{"image_id": n, "keypoints": [100, 100, 2, 140, 300, 2]} for n in (1, 2)],
    }
    (tmp_path / "labels.json").write_text(json.dumps(labelled))
    _benchmark_clips(tmp_path, frames=4)
    done = run_benchmark("tracking_quality.py", "--annotations", "labels.json", "--videos", ".", cwd=tmp_path)
    assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr
    assert "vtest.avi has 4 frames; labels.json labels its frame 10" in done.stderr, done.stderr


def test_training_speed_refuses_a_bad_shrunk_copy_before_timing_anything(tmp_path, shared_data):
    """A --shrunk folder whose annotations name no labelled person was a traceback, after the original's loader
    run."""
    train = shared_data / "train"
    (tmp_path / "annotations.json").write_text(json.dumps({"images": [], "annotations": []}))
    done = run_benchmark("training_speed.py", "--data", str(train), "--shrunk", ".", "--samples", "1", cwd=tmp_path)
    assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr
    assert "training_speed: " in done.stderr and "has no image with labelled people" in done.stderr, done.stderr
    assert "ms a sample" not in done.stdout


def test_training_speed_refuses_a_folder_without_annotations_as_the_other_scripts_do(tmp_path):
    """It exited 1 with no script name, where the other scripts' refusals (compression's of a --data without its
    folders) are exit 2 and name the script."""
    done = run_benchmark("training_speed.py", "--data", str(tmp_path), cwd=tmp_path)
    said = [f"training_speed: {tmp_path} is not a training folder (annotations.json and images/)"]
    assert done.returncode == 2 and done.stderr.splitlines() == said, done.stderr


class FakeClock:
    """Seconds that pass only when a fake piece of work says so."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_model_latency_is_median_and_p90_ms_of_the_timed_runs_at_the_threads_asked():
    """Two warm-up runs of 1 s each, then five timed runs per file: a's 1, 2, 3, 4 and 10 ms (median 3, mean 4),
    b's 2 ms each; round-robin, with the thread count asked of every session, each fed an image of its size."""
    model_latency = load_benchmark("model_latency")
    clock, opened, fed = FakeClock(), [], set()
    costs = {"a": iter([1.0, 1.0, 0.001, 0.002, 0.003, 0.004, 0.010]), "b": iter([1.0, 1.0] + [0.002] * 5)}

    class Session:
        def __init__(self, path: Path, threads: int, providers: list[str]) -> None:
            opened.append(threads)
            self.costs = costs[path.stem]

        def run(self, outputs, feeds) -> None:
            fed.add(feeds["image"].shape)
            clock.now += next(self.costs)

    files = {"a": (Path("a.onnx"), 32), "b": (Path("b.onnx"), 64)}
    rows = model_latency.measure(files, threads=2, runs=5, warmup=2, clock=clock, opener=Session)
    assert opened == [2, 2] and [(r["variant"], r["size"], r["threads"]) for r in rows] == [("a", 32, 2), ("b", 64, 2)]
    assert fed == {(1, 3, 32, 32), (1, 3, 64, 64)}
    assert [r["median_ms"] for r in rows] == pytest.approx([3.0, 2.0])
    assert [r["p90_ms"] for r in rows] == pytest.approx([np.percentile([1, 2, 3, 4, 10], 90), 2.0])


def test_model_latency_ratios_are_each_wlitepose_variant_over_its_litepose():
    model_latency = load_benchmark("model_latency")
    medians = {
        "litepose_xs": (10.0, 8.0),
        "wlitepose_xs": (5.0, 2.0),
        "litepose_s": (20.0, 10.0),
        "wlitepose_s": (30, 5),
    }
    rows = [
        {"variant": v, "size": 256, "threads": t, "median_ms": float(ms[t - 1]), "p90_ms": 1.0}
        for t in (1, 2)
        for v, ms in medians.items()
    ]
    text = model_latency.describe(rows)
    assert text.splitlines()[1].split() == ["litepose_xs", "256", "1", "10.00", "1.00"]  # median, then p90
    assert "wlitepose_xs / litepose_xs median time: 1 thread(s) 0.50x, 2 thread(s) 0.25x (above 1: slower)" in text
    assert "wlitepose_s / litepose_s median time: 1 thread(s) 1.50x, 2 thread(s) 0.50x (above 1: slower)" in text


def test_model_latency_runs_its_default_and_refuses_fewer_runs(capsys):
    model_latency = load_benchmark("model_latency")
    assert model_latency.parse_args([]).runs == model_latency.MIN_RUNS == 50
    with pytest.raises(SystemExit):
        model_latency.parse_args(["--runs", "49"])
    assert "--runs must be at least 50" in capsys.readouterr().err


def test_pipeline_fps_are_frames_over_seconds_and_the_ratio_is_end_to_end_over_model_only():
    pipeline = load_benchmark("pipeline")
    figures = pipeline.fps_figures(30, 1.5, [10.0, 10.0, 40.0])  # 20 fps; the network 20 ms a run: 50 fps
    assert figures == {"end_to_end_fps": 20.0, "model_only_fps": 50.0, "fps_ratio": 0.4}


def test_pipeline_crowd_figures_are_medians_and_the_overhead_takes_the_crowd_of_5():
    pipeline = load_benchmark("pipeline")
    row = pipeline.crowd_row([1.0, 1.0, 9.0], [2.0, 20.0, 2.0], [5, 2, 6])
    assert row == {"people_found": 5, "grouping_ms": 1.0, "tracking_ms": 2.0, "total_ms": 3.0}
    stages = {"read": 1.0, "preprocess": 2.0, "inference": 50.0, "decode": 4.0, "write": 3.0}
    crowds = {"1": {"total_ms": 0.5}, "5": {"total_ms": 4.0}, "50": {"total_ms": 40.0}}
    assert pipeline.overhead_ms(stages, crowds) == 10.0
    assert pipeline.overhead_figures(stages, crowds) == {  # 10 ms is 20 % of 50: met; 40 ms at 50 people: not
        "overhead_at_5_people_ms": 10.0,
        "overhead_fraction_of_inference": 0.2,
        "goals": {"overhead_at_5_people_le_20pct": True, "grouping_tracking_at_50_lt_5ms": False},
    }


@pytest.mark.parametrize(
    "times, lines",
    [
        (  # BGR888 both: 5, 5 and 14 ms (median 5, mean 8); RGB32 2 ms: ratio 0.40
            {
                "BGR888 (before)": ([0.001, 0.001, 0.010], [0.004, 0.004, 0.004]),
                "RGB32 (to_qimage)": ([0.0, 0.0, 0.0], [0.002, 0.002, 0.002]),
            },
            [
                "  BGR888 (before)    convert  1.00  paint  4.00  both  5.00",
                "  RGB32 (to_qimage)  convert  0.00  paint  2.00  both  2.00",
                "  RGB32 over BGR888, both: 0.40x the time",
            ],
        ),
        (  # convert 1, 1, 10 ms and paint 4, 9, 4 ms: the frames take 5, 10 and 14 ms, median 10 (the medians add to 5)
            {"BGR888 (before)": ([0.001, 0.001, 0.010], [0.004, 0.009, 0.004]), "RGB32 (to_qimage)": ([0.0], [0.005])},
            [
                "  BGR888 (before)    convert  1.00  paint  4.00  both 10.00",
                "  RGB32 (to_qimage)  convert  0.00  paint  5.00  both  5.00",
                "  RGB32 over BGR888, both: 0.50x the time",
            ],
        ),
    ],
)
def test_display_figures_are_median_ms_of_each_frame_s_sum_and_the_ratio_is_rgb32_over_bgr888(times, lines):
    assert load_benchmark("display").describe(times).splitlines() == lines


def test_display_paints_the_frames_asked(tmp_path):
    done = run_benchmark("display.py", "--frames", "2", "--size", "64x48", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("vtest_clip.mp4, 2 frames painted at 64x48"), done.stdout


def test_training_speed_loader_is_ms_a_sample_and_a_step_the_median_after_two_warm_ups():
    training_speed = load_benchmark("training_speed")
    clock = FakeClock()

    class Dataset:
        def __getitem__(self, index: int) -> None:
            clock.now += 0.002

    assert training_speed.ms_a_sample(Dataset(), [0, 3, 1, 3], clock) == pytest.approx(2.0)
    assert training_speed.median_after_warmup_ms([5.0, 3.0, 0.1, 0.3, 0.2]) == pytest.approx(200.0)


def test_ap_breakdown_groups_people_by_coco_area_range_and_labelled_legs():
    """Areas: small (500, in no range but all), medium (2000), large (96 x 96 exactly, 10000)."""
    ap_breakdown = load_benchmark("ap_breakdown")
    best = np.array([0.9, 0.6, 0.8, 0.3])
    people = ap_breakdown.people_shares(best, np.array([500.0, 2000.0, 96.0**2, 10000.0]), np.array([1, 0, 1, 0], bool))
    shares = {name: (row["people"], row["oks_0.5"], row["oks_0.75"]) for name, row in people.items()}
    assert shares == {
        "all": (4, 0.75, 0.5),
        "medium": (1, 1.0, 0.0),
        "large": (2, 0.5, 0.5),
        "legs": (2, 1.0, 1.0),
        "no legs": (2, 0.5, 0.0),
    }


def test_ap_breakdown_reads_no_image_outside_its_folder(tmp_path):
    """It read each image by the name the annotation file gave, ../photo.jpg or /any/photo.jpg, as eval no longer
    does; a missing image was found only when its turn came."""
    from core.errors import WLitePoseError

    ap_breakdown = load_benchmark("ap_breakdown")
    (tmp_path / "images").mkdir()
    cv2.imwrite(str(tmp_path / "photo.jpg"), np.zeros((64, 64, 3), np.uint8))
    person = {"id": 1, "image_id": 1, "category_id": 1, "keypoints": [10, 10, 2] * 17, "bbox": [0, 0, 20, 40]}
    data = {"images": [{"id": 1, "file_name": "../photo.jpg"}], "annotations": [person], "categories": [{"id": 1}]}
    (tmp_path / "a.json").write_text(json.dumps(data))
    with pytest.raises(WLitePoseError, match="names an image outside its images folder: ../photo.jpg"):
        ap_breakdown.breakdown(SimpleNamespace(), tmp_path / "a.json", tmp_path / "images", 256)


def test_ap_breakdown_similarity_is_coco_s():
    """d = 2 px, area 100, sigma 0.1: ks = exp(-4 / (2 x 100 x (2 x 0.1)^2)) = exp(-0.5); unplaced scores 0."""
    ap_breakdown = load_benchmark("ap_breakdown")
    ks = ap_breakdown.similarity(np.array([[2.0, 0.0], [np.nan, np.nan]]), np.zeros((2, 2)), 100.0, np.full(2, 0.1))
    assert ks == pytest.approx([np.exp(-0.5), 0.0])


def test_ap_breakdown_scores_a_person_by_the_best_pose_over_labelled_joints():
    """Joint 2 is not labelled: the first pose, exact on joints 0 and 1 and far off on joint 2, has OKS 1; the
    second is off everywhere. Joint 1 (an ankle here) is labelled, joint 2 (the other) not: with legs."""
    ap_breakdown = load_benchmark("ap_breakdown")
    truth = np.array([[10.0, 10.0, 2], [20.0, 20.0, 2], [30.0, 30.0, 0]])
    poses = np.array([[[10.0, 10.0], [20.0, 20.0], [900.0, 900.0]], [[15.0, 10.0], [25.0, 20.0], [35.0, 30.0]]])
    best, legged = ap_breakdown.score_person(poses, truth, 100.0, np.full(3, 0.1), legs=[1, 2])
    assert best == pytest.approx(1.0) and legged
    assert ap_breakdown.score_person(poses[:0], truth, 100.0, np.full(3, 0.1), legs=[2]) == (0.0, False)


def test_ap_breakdown_counts_people_with_labelled_joints_and_those_with_a_labelled_knee_or_ankle(tmp_path, shared_data):
    """A dev image of 3 labelled people, 1 with a knee or ankle, and 10 with no labelled joint (skipped). Their 27
    labelled joints: the shipped model's peaks mark 6 (their heatmap cells scaled by the heatmap stride, 2)."""
    from core.assets import DEFAULT_MODEL
    from core.session import PoseModel

    val = shared_data / "val"
    data = json.loads((val / "annotations.json").read_text())
    image = next(im for im in data["images"] if im["file_name"] == "cocotrain_000000433998.jpg")
    one = {**data, "images": [image], "annotations": [a for a in data["annotations"] if a["image_id"] == image["id"]]}
    (tmp_path / "one.json").write_text(json.dumps(one))
    report = load_benchmark("ap_breakdown").breakdown(
        PoseModel(DEFAULT_MODEL), tmp_path / "one.json", val / "images", 256
    )
    assert {name: report["people"][name]["people"] for name in ("all", "legs", "no legs")} == {
        "all": 3,
        "legs": 1,
        "no legs": 2,
    }
    labelled = np.sum([np.array(a["keypoints"][2::3]) > 0 for a in one["annotations"] if a["num_keypoints"]], axis=0)
    hits = np.array(list(report["peaks_by_joint"].values())) @ labelled
    assert report["peaks"] == pytest.approx(hits / 27) and labelled.sum() == 27 and hits >= 5  # a share of joints


def test_compression_heatmap_agreement_compares_each_copy_with_the_fp32_maps():
    """Two joints on 2 x 2 maps: the copy moves joint 1's peak and is 0.1 off in every cell."""
    compression = load_benchmark("compression")
    fp32_maps = np.array([[[1.0, 0.0], [0.0, 0.0]], [[0.0, 1.0], [0.0, 0.0]]])
    copy_maps = fp32_maps + 0.1
    copy_maps[1, 1, 1] = 2.0

    class Model:
        def __init__(self, maps: np.ndarray) -> None:
            self.maps = maps

        def run(self, blob) -> tuple:
            return (self.maps, None)

    mean, p99, same = compression.heatmap_agreement(Model(fp32_maps), Model(copy_maps), [None])
    assert (mean, same) == pytest.approx(((7 * 0.1 + 2.0) / 8, 0.5))
    assert p99 == pytest.approx(np.percentile([0.1] * 7 + [2.0], 99))


def test_compression_fp16_copy_stores_float16_weights(tmp_path):
    import onnx
    from onnx import helper, numpy_helper

    weight = numpy_helper.from_array(np.ones((16, 16), np.float32), "w")  # 256 values: stored fp16
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["x", "w"], ["y"])],
        "g",
        [helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, [1, 16])],
        [helper.make_tensor_value_info("y", onnx.TensorProto.FLOAT, [1, 16])],
        [weight],
    )
    onnx.save(helper.make_model(graph), str(tmp_path / "fp32.onnx"))
    compression = load_benchmark("compression")
    compression.fp16_copy(tmp_path / "fp32.onnx", tmp_path / "fp16w.onnx")
    assert not compression.has_fp16_weights(tmp_path / "fp32.onnx")
    assert compression.has_fp16_weights(tmp_path / "fp16w.onnx")


def test_compression_ratios_are_each_copy_over_fp32():
    compression = load_benchmark("compression")
    latency = {("fp32", 1): 10.0, ("fp32", 2): 8.0, ("int8", 1): 5.0, ("int8", 2): 6.0}
    ap = {name: {"AP": 0.5, "AP50": 0.7, "AR": 0.6} for name in ("fp32", "int8")}
    text = compression.describe({"fp32": 9.0, "int8": 2.5}, latency, ap, {"int8": (0.01, 0.05, 0.9)})
    assert "int8 / fp32 latency: 1 thread 0.50x, 2 threads 0.75x;" in text
    assert text.splitlines()[2].split()[:4] == ["int8", "2.50", "5.00", "6.00"]  # MB, 1 thread, 2 threads


def test_pipeline_read_is_the_wait_for_each_frame_and_stops_at_the_frames_asked():
    """Each frame takes 5 ms to arrive and 50 ms to handle; 3 of 5 frames asked."""
    pipeline = load_benchmark("pipeline")
    clock = FakeClock()

    def source():
        for index in range(5):
            clock.now += 0.005
            yield index

    def handle(frame: int) -> dict[str, float]:
        clock.now += 0.050
        return {"inference": 50.0}

    times, wall_s, last = pipeline.time_frames(source(), handle, 3, clock)
    assert (times.frames, last, wall_s) == pytest.approx((3, 2, 0.165))
    assert times.per_frame() == pytest.approx({"read": 5.0, "inference": 50.0})


def test_pipeline_crowd_times_grouping_and_tracking_apart(monkeypatch):
    """Grouping (decode) made to take 3 ms a frame and tracking 1 ms, by a clock that moves only then."""
    from core.assets import DEFAULT_MODEL
    from core.session import PoseModel

    pipeline = load_benchmark("pipeline")
    clock, decode, tracker = FakeClock(), pipeline.decode, pipeline.PoseTracker

    def slow_decode(*args, **kwargs):
        clock.now += 0.003
        return decode(*args, **kwargs)

    class SlowTracker(tracker):
        def update(self, *args):
            clock.now += 0.001
            return super().update(*args)

    monkeypatch.setattr(pipeline, "decode", slow_decode)
    monkeypatch.setattr(pipeline, "PoseTracker", SlowTracker)
    crowds = pipeline.crowd_costs(PoseModel(DEFAULT_MODEL).info, frames=2, clock=clock)
    assert {(row["grouping_ms"], row["tracking_ms"]) for row in crowds.values()} == {(3.0, 1.0)}


def test_pipeline_threads_reach_the_model(monkeypatch, tmp_path):
    pipeline = load_benchmark("pipeline")
    asked = []

    def model(path: Path, threads: int | None = None):
        asked.append(threads)
        raise pipeline.WLitePoseError("enough")

    monkeypatch.setattr(pipeline, "PoseModel", model)
    monkeypatch.setattr(sys, "argv", ["pipeline.py", "--model", str(tmp_path / "m.onnx"), "--threads", "1"])
    assert pipeline.main() == 2 and asked == [1]


def test_display_times_each_way_s_conversion_and_paint_apart(monkeypatch):
    """Converting takes 1 ms as BGR888 and 2 ms as RGB32, painting 4 ms, on a clock that moves only then; 2 of 3
    frames asked."""
    display = load_benchmark("display")
    clock = FakeClock()

    def taking(seconds: float):
        def work(*args) -> None:
            clock.now += seconds

        return work

    monkeypatch.setattr(display, "as_bgr888", taking(0.001))
    monkeypatch.setattr(display, "to_qimage", taking(0.002))
    monkeypatch.setattr(display, "paint", taking(0.004))
    times = display.paint_times([None] * 3, 2, None, clock)
    ms = {name: [[round(s * 1e3, 6) for s in series] for series in pair] for name, pair in times.items()}
    assert ms == {"BGR888 (before)": [[1.0, 1.0], [4.0, 4.0]], "RGB32 (to_qimage)": [[2.0, 2.0], [4.0, 4.0]]}


def test_training_speed_says_how_much_faster_a_shrunk_copy_loads():
    """20 ms a sample against the original's 40: twice as fast (it read "2.00x the original images", after 20 ms)."""
    line = load_benchmark("training_speed").shrunk_line(Path("small"), 20.0, 40.0)
    assert line == "  from small: 20.0 ms a sample (2.00x as fast as the original images)"


def test_compression_scores_each_copy_from_its_own_file(monkeypatch):
    compression = load_benchmark("compression")
    monkeypatch.setattr(compression, "PoseModel", lambda path, threads: f"model of {path.name}")
    paths = {"fp32": Path("fp32.onnx"), "fp16w": Path("fp16w.onnx"), "int8": Path("int8.onnx")}
    models = compression.open_models("fp32 as opened", paths)
    assert models == {"fp32": "fp32 as opened", "fp16w": "model of fp16w.onnx", "int8": "model of int8.onnx"}


def test_compression_calibrates_the_int8_copy_on_training_images_never_the_dev_set(monkeypatch, tmp_path):
    """Calibrated on the dev images, the int8 copy's dev AP rose from 0.0058 to 0.0124 (4 calibration images)."""
    compression = load_benchmark("compression")
    read = []

    class Quantized(Exception):
        pass

    def quantize(source: Path, target: Path, calibration: list) -> None:
        raise Quantized

    monkeypatch.setattr(
        compression, "PoseModel", lambda path, threads: SimpleNamespace(info=SimpleNamespace(input_size=256))
    )
    monkeypatch.setattr(compression, "has_fp16_weights", lambda path: False)
    monkeypatch.setattr(compression, "fp16_copy", lambda source, target: None)
    monkeypatch.setattr(compression, "blobs", lambda model, folder, count=None: read.append((folder, count)) or [])
    monkeypatch.setattr(compression, "quantize", quantize)
    args = argparse.Namespace(data=tmp_path, calibration_images=3, runs=50)
    with pytest.raises(Quantized):
        compression.compare(tmp_path / "fp32.onnx", args, tmp_path)
    assert read == [(tmp_path / "train" / "images", 3)]


def test_compression_names_an_unreadable_image_rather_than_failing_on_it(tmp_path):
    """An empty .jpg among the calibration images ended the run in an AttributeError traceback."""
    compression = load_benchmark("compression")
    cv2.imwrite(str(tmp_path / "a.png"), np.zeros((48, 64, 3), np.uint8))
    (tmp_path / "b.jpg").write_bytes(b"")
    model = SimpleNamespace(info=SimpleNamespace(input_size=32, mean=(0.0, 0.0, 0.0), std=(1.0, 1.0, 1.0)))
    assert len(compression.blobs(model, tmp_path, 1)) == 1
    with pytest.raises(compression.WLitePoseError, match=r"b\.jpg is missing or unreadable"):
        compression.blobs(model, tmp_path)


def test_a_count_of_at_least_one_takes_one_and_refuses_zero():
    """With the bound off by one, `display.py --frames 1` said "must be at least 1, not 1"."""
    whole = load_benchmark("arguments").at_least(1)
    assert whole("1") == 1
    with pytest.raises(argparse.ArgumentTypeError, match="must be at least 1, not 0"):
        whole("0")


def test_thresholds_are_sorted_and_above_0():
    """The lowest threshold is the one grouping runs at: "0.3,0.1" is 0.1 and 0.3."""
    thresholds = load_benchmark("arguments").thresholds
    assert thresholds("0.3,0.1") == [0.1, 0.3]
    with pytest.raises(argparse.ArgumentTypeError, match="each must be above 0 and at most 1: 0,0.2"):
        thresholds("0,0.2")


def test_a_number_in_a_range_takes_its_ends_and_refuses_past_them():
    fraction, non_negative = load_benchmark("arguments").number_in(0, 1), load_benchmark("arguments").number_in(0)
    assert (fraction("0"), fraction("1"), non_negative("1e9")) == (0.0, 1.0, 1e9)
    for number, text, message in [(fraction, "nan", "from 0 to 1"), (non_negative, "-0.5", "at least 0, not -0.5")]:
        with pytest.raises(argparse.ArgumentTypeError, match=message):
            number(text)
    with pytest.raises(argparse.ArgumentTypeError, match="'x' is not a number"):
        fraction("x")


def test_training_speed_images_a_second_of_a_slow_step_are_not_zero():
    """A CPU step of 4 images took 44 s on a busy machine, printed "(0 images/s)"."""
    per_second = load_benchmark("training_speed").per_second
    assert (per_second(4, 44061.5), per_second(1, 41.8), per_second(16, 100.0)) == ("0.091", "24", "160")
