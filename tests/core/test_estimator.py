"""The Python API (core.estimator) on the bundled model and sample clip: the same poses `wlitepose track`
writes, images in the forms users hold them, and one-sentence errors for anything else."""

import csv
import pickle
import re
import shutil
import threading
from pathlib import Path

import cv2
import numpy as np
import pytest

import main
from core.cli import DEFAULT_MODEL
from core.errors import WLitePoseError
from core.estimator import SAMPLE_CLIP as SAMPLE
from core.estimator import PoseEstimator
from core.poses import Poses

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def estimator() -> PoseEstimator:
    if not DEFAULT_MODEL.is_file() or not SAMPLE.is_file():
        pytest.skip("the bundled model or sample clip is absent")
    return PoseEstimator()


@pytest.fixture(scope="module")
def image() -> np.ndarray:
    capture = cv2.VideoCapture(str(SAMPLE))
    for _ in range(10):
        ok, frame = capture.read()
    capture.release()
    assert ok
    return frame


def test_track_gives_the_poses_the_cli_writes(estimator, tmp_path, capsys):
    out = tmp_path / "t.csv"
    assert main.main(["track", str(SAMPLE), "--csv", str(out), "--max-frames", "25"]) == 0
    capsys.readouterr()
    with out.open() as f:
        rows = list(csv.DictReader(f))
    found = [(frame.index, poses) for frame, poses in estimator.track(SAMPLE, max_frames=25)]
    assert [index for index, _ in found] == list(range(25))
    expected = [(int(r["frame"]), int(r["track_id"]), float(r["nose_x"] or "nan")) for r in rows]
    got = [
        (index, int(tid), float(xy[0, 0]))
        for index, poses in found
        for tid, xy in zip(poses.track_ids, poses.xy, strict=True)
    ]
    assert [row[:2] for row in got] == [row[:2] for row in expected]
    np.testing.assert_allclose([row[2] for row in got], [row[2] for row in expected], atol=0.01)
    assert max(tid for _, tid, _ in got) >= 3  # several pedestrians confirmed


def test_estimate_finds_people_untracked_inside_the_image(estimator, image):
    poses = estimator.estimate(image)
    assert len(poses) >= 2 and poses.num_keypoints == len(estimator.keypoint_names) == 17
    assert (poses.track_ids == -1).all()
    xy = poses.xy[poses.visible]
    assert (xy >= 0).all() and (xy[:, 0] <= image.shape[1] - 1).all() and (xy[:, 1] <= image.shape[0] - 1).all()
    again = estimator.estimate(image)  # no state carried between calls
    np.testing.assert_array_equal(again.xy, poses.xy)


def test_featureless_frames_give_nobody(estimator):
    """The bundled model answers a flat grey or a gradient (a title card, a wall) with heatmaps far above its
    trained 0-1 on every joint at once: 100 people on a grey 256x256 frame, and on 39 of these 102 frames."""
    found = {}
    for w, h in [(256, 256), (640, 480), (1280, 720)]:
        for level in range(0, 256, 8):
            found[f"grey {level} at {w}x{h}"] = len(estimator.estimate(np.full((h, w, 3), level, np.uint8)))
        ramp = np.linspace(0, 255, w, dtype=np.uint8)
        found[f"ramp at {w}x{h}"] = len(estimator.estimate(np.tile(ramp[None, :, None], (h, 1, 3))))
    assert found["grey 128 at 256x256"] == found["ramp at 256x256"] == 0
    assert sum(found.values()) <= 4, {name: n for name, n in found.items() if n}  # grey 232 at 256x256: 4


def test_grey_bgra_and_strided_images_are_taken(estimator, image):
    grey = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
    np.testing.assert_array_equal(estimator.estimate(grey).xy, estimator.estimate(cv2.merge([grey] * 3)).xy)
    bgra = cv2.cvtColor(image, cv2.COLOR_BGR2BGRA)
    np.testing.assert_array_equal(estimator.estimate(bgra).xy, estimator.estimate(image).xy)
    flipped = image[:, ::-1]  # a view with a negative stride
    np.testing.assert_array_equal(estimator.estimate(flipped).xy, estimator.estimate(flipped.copy()).xy)


def test_track_frame_confirms_ids_and_reset_starts_them_again(estimator, image):
    estimator.reset()
    first = estimator.track_frame(image)
    second = estimator.track_frame(image, timestamp_s=0.1)
    assert (first.track_ids == -1).all()  # a track is confirmed on its second frame
    ids = sorted(second.track_ids)
    assert ids == list(range(1, len(second) + 1))
    estimator.reset()
    estimator.track_frame(image)
    assert sorted(estimator.track_frame(image).track_ids) == ids


def test_draw_returns_an_annotated_copy(estimator, image):
    before = image.copy()
    drawn = estimator.draw(image, estimator.estimate(image))
    np.testing.assert_array_equal(image, before)
    assert drawn.shape == image.shape and (drawn != image).any(axis=2).mean() > 0.001


@pytest.mark.parametrize(
    "bad, words",
    [
        (lambda im: im.astype(np.float32), "8-bit (uint8), not float32"),
        (lambda im: im[:0], "not (0, 768, 3)"),
        (lambda im: im[..., :2], "not (576, 768, 2)"),
        (lambda im: "photo.jpg", "numpy array (as cv2.imread returns), not str"),
    ],
)
def test_bad_images_are_refused_in_one_sentence(estimator, image, bad, words):
    with pytest.raises(WLitePoseError, match=re.escape(words)):
        estimator.estimate(bad(image))


@pytest.mark.parametrize(
    "kwargs, words",
    [
        ({"input_size": 100}, "input_size must be a positive multiple of 32 up to 2048, not 100"),
        ({"detection_threshold": 1.5}, "detection_threshold must be between 0 and 1"),
        ({"smoothing": float("nan")}, "smoothing must be between 0 and 1"),
        ({"model": "absent.onnx"}, "model file absent.onnx does not exist"),
        ({"threads": 0}, "threads must be from 1 to 1024, not 0"),
        ({"threads": 2**63}, "threads must be from 1 to 1024, not 9223372036854775808"),
        ({"model": "x" * 300 + ".onnx"}, "cannot read model file"),  # longer than a file name may be
        ({"threads": 1.5}, "threads must be a whole number, not 1.5"),
        ({"input_size": "256"}, "input_size must be a whole number, not '256'"),
        ({"detection_threshold": "0.3"}, "detection_threshold must be a number, not '0.3'"),
        ({"smoothing": True}, "smoothing must be a number, not True"),
        ({"shot_changes": "no"}, "shot_changes must be True or False, not 'no'"),
        ({"model": 5}, "the model must be the path of an .onnx file, not 5"),
        ({"model": ""}, "no model file given"),
    ],
)
def test_bad_settings_are_refused_in_one_sentence(kwargs, words):
    with pytest.raises(WLitePoseError, match=re.escape(words)):
        PoseEstimator(**kwargs)


def test_an_estimator_without_the_bundled_model_says_to_pass_one(monkeypatch, tmp_path):
    import core.estimator

    monkeypatch.setattr(core.estimator, "DEFAULT_MODEL", tmp_path / "absent.onnx")
    with pytest.raises(WLitePoseError, match=r"^the bundled model .*absent.onnx is not installed; pass a model file$"):
        PoseEstimator()


@pytest.mark.parametrize(
    "call, words",
    [
        (lambda e, d: e.track(SAMPLE, max_frames=0), "max_frames must be at least 1, not 0"),
        (lambda e, d: e.track(SAMPLE, max_frames=2.5), "max_frames must be a whole number, not 2.5"),
        (lambda e, d: e.track(d, fps=-1), "fps must be above 0 and at most 1000, not -1"),
        (lambda e, d: e.track(d, fps="5"), "fps must be a number, not '5'"),
        (lambda e, d: e.track(SAMPLE, fps=5), "fps sets the frame rate of image folders"),
        (lambda e, d: e.track([SAMPLE]), "the source must be a path, a webcam index or a stream URL, not a list"),
        (lambda e, d: e.track(True), "the source must be a path, a webcam index or a stream URL, not a bool"),
        (lambda e, d: next(e.track(d / "absent.mp4")), "does not exist"),
        (lambda e, d: e.track(d / "mistyped_folder", fps=10), "does not exist"),
        (lambda e, d: e.track_frame(np.zeros((8, 8, 3), np.uint8), "1.0"), "timestamp_s must be a number, not '1.0'"),
        (lambda e, d: e.track_frame(np.zeros((8, 8, 3), np.uint8), 10**400), "timestamp_s is too large"),
        (lambda e, d: next(e.track(2**40)), "no webcam has the index 1099511627776"),
    ],
)
def test_bad_track_arguments_are_refused_in_one_sentence(estimator, tmp_path, call, words):
    with pytest.raises(WLitePoseError, match=re.escape(words)):
        call(estimator, tmp_path)


def test_an_int_source_is_a_webcam_even_beside_a_folder_named_like_it(estimator, image, tmp_path, monkeypatch):
    opened = []

    class Camera:  # no webcam here: record what would be opened
        def __init__(self, index, name):
            opened.append(index)
            raise WLitePoseError(f"{name} is not connected")

    monkeypatch.setattr("core.sources.LiveSource", Camera)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "0").mkdir()
    cv2.imwrite(str(tmp_path / "0" / "a.png"), image)
    with pytest.raises(WLitePoseError, match="camera 0 is not connected"):
        next(estimator.track(0))
    assert opened == [0]
    with pytest.raises(WLitePoseError, match="fps sets the frame rate of image folders"):
        estimator.track(0, fps=2)  # a webcam has its own rate, whatever the folder beside it
    assert [frame.path.name for frame, _ in estimator.track("0")] == ["a.png"]  # the text "0" is the folder here


def test_a_frame_interrupted_while_tracked_leaves_the_tracks_as_they_were(estimator, image, monkeypatch):
    """Ctrl-C in a notebook's track_frame loop landed between two of the tracker's updates: one array held the
    new people, the others not, and every later frame raised a numpy ValueError until reset()."""
    estimator.reset()
    expected = [estimator.track_frame(image, t).track_ids.tolist() for t in (0.1, 0.2)]
    estimator.reset()
    tracker = estimator._tracker.tracker

    def interrupted(z, *_):  # the first of _spawn's arrays grown, then Ctrl-C
        tracker.pos = np.concatenate([tracker.pos, z])
        raise KeyboardInterrupt

    monkeypatch.setattr(tracker, "_spawn", interrupted)
    before = tracker.state()
    try:
        with pytest.raises(KeyboardInterrupt):
            estimator.track_frame(image, 0.0)
        monkeypatch.undo()
        after = tracker.state()  # every part, the clock's too, not only what later IDs show
        assert all(np.array_equal(after[k], before[k]) for k in before)  # state() has its keys always
        assert [estimator.track_frame(image, t).track_ids.tolist() for t in (0.1, 0.2)] == expected  # as if not given
        assert min(expected[1]) >= 1
    finally:
        estimator.reset()  # the module's estimator: no tracks, whole or half-grown, left to the next test


def test_after_a_gap_of_any_length_the_people_seen_just_before_keep_their_ids(estimator, image):
    tracked = [estimator.track_frame(image, t) for t in (0.0, 0.1, 0.2, 1e100)]  # a 1e100 s step overflowed once
    assert len(tracked[2]) and min(tracked[2].track_ids) >= 1
    assert tracked[3].track_ids.tolist() == tracked[2].track_ids.tolist()


def test_poses_compare_by_identity(image, estimator):
    poses, again = estimator.estimate(image), estimator.estimate(image)
    assert poses == poses and poses != again and poses in [again, poses] and [again, poses].index(poses) == 1


def test_each_track_call_has_tracks_of_its_own(estimator, image):
    alone = [poses.track_ids.tolist() for _, poses in estimator.track(SAMPLE, max_frames=12)]
    first, second = estimator.track(SAMPLE, max_frames=12), estimator.track(SAMPLE, max_frames=12)
    estimator.reset()
    for (_, a), (_, b) in zip(first, second, strict=True):  # interleaved, with track_frame in between
        estimator.track_frame(image)
        assert a.track_ids.tolist() == b.track_ids.tolist()
    replay = [poses.track_ids.tolist() for _, poses in estimator.track(SAMPLE, max_frames=12)]
    assert replay == alone and any(ids and min(ids) >= 1 for ids in alone)


def test_an_image_folder_gives_each_frames_file_and_warns_of_unreadable_ones(estimator, image, tmp_path):
    for name in ("a1.png", "a2.png", "a10.png"):
        cv2.imwrite(str(tmp_path / name), image)
    (tmp_path / "a3.png").write_bytes(b"not an image")
    with pytest.warns(UserWarning, match=r"Skipped .*a3\.png: it cannot be read as an image"):
        frames = [(frame.index, frame.path.name, frame.timestamp_s) for frame, _ in estimator.track(tmp_path, fps=4)]
    assert frames == [(0, "a1.png", 0.0), (1, "a2.png", 0.25), (3, "a10.png", 0.75)]
    with pytest.warns(UserWarning, match=r"a3\.png"):  # also when max_frames stops the loop
        assert len(list(estimator.track(tmp_path, max_frames=3))) == 3


def test_a_folder_emptied_once_opened_delivers_no_frames_in_one_sentence(
    estimator, image, tmp_path, images_lost_once_opened
):
    """Its images gone (a drive pulled) once it opened: said as `track` says it, not a loop that ends without a
    frame and without a word."""
    import core.estimator

    cv2.imwrite(str(tmp_path / "a.png"), image)
    images_lost_once_opened(core.estimator, tmp_path / "a.png")
    with pytest.raises(WLitePoseError, match=f"^source {re.escape(str(tmp_path))} delivered no frames$"):
        list(estimator.track(tmp_path))


def test_draw_refuses_other_poses_and_leaves_out_joints_far_outside(estimator, image):
    poses = estimator.estimate(image)
    with pytest.raises(WLitePoseError, match="with 17 joints a person"):
        estimator.draw(image, Poses(poses.xy[:, :5], poses.keypoint_scores[:, :5], poses.scores))
    odd = (np.arange(17) % 2 == 1)[None, :, None]
    wild = Poses(np.where(odd, [[[np.inf, 5e9]]], poses.xy), poses.keypoint_scores, poses.scores, poses.track_ids)
    tame = Poses(np.where(odd, np.nan, poses.xy), poses.keypoint_scores, poses.scores, poses.track_ids)
    drawn = estimator.draw(image, wild)  # boxes on: OpenCV cannot take such corners
    np.testing.assert_array_equal(drawn, estimator.draw(image, tame))
    assert (drawn != image).any()  # the joints inside are drawn
    far_in_x = Poses(np.where(odd, [[[3e9, 100.0]]], poses.xy), poses.keypoint_scores, poses.scores, poses.track_ids)
    np.testing.assert_array_equal(estimator.draw(image, far_in_x), drawn)  # one axis far out is far enough


def test_a_model_path_with_a_tilde_is_the_users_home(monkeypatch, tmp_path):
    if not DEFAULT_MODEL.is_file():
        pytest.skip("the bundled model is absent")
    (tmp_path / "m.onnx").write_bytes(DEFAULT_MODEL.read_bytes())
    monkeypatch.setenv("HOME", str(tmp_path))
    assert PoseEstimator("~/m.onnx").model.path == tmp_path / "m.onnx"


def test_the_readme_example_runs(estimator, tmp_path, monkeypatch, capsys):
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("## Python API", 1)[1].split("\n## ", 1)[0]
    code = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    monkeypatch.chdir(tmp_path)  # the example runs from any folder
    exec(compile(code, "README.md", "exec"), {})
    printed = capsys.readouterr().out
    counts = {int(k): int(v) for k, v in re.findall(r"(\d+): (\d+)", printed)}  # wrist points per track ID
    assert 1 in counts and len(counts) >= 3 and max(counts.values()) >= 30, printed
    assert cv2.imread(str(tmp_path / "poses.png")).shape == (576, 768, 3)


def test_a_second_thread_tracking_with_one_estimator_is_refused_not_interleaved(image):
    """track_frame's tracks are one sequence of frames: two threads feeding it at once got numpy errors from
    deep in the tracker (or, worse, mixed tracks); the second is now told to use an estimator of its own."""
    estimator = PoseEstimator(threads=1)
    inside, leave = threading.Event(), threading.Event()
    process = estimator._tracker.process

    def slow_process(frame, timestamp):
        inside.set()
        leave.wait(10)
        return process(frame, timestamp)

    estimator._tracker.process = slow_process
    first = threading.Thread(target=estimator.track_frame, args=(image, 0.0))
    first.start()
    assert inside.wait(10)
    for call in (lambda: estimator.track_frame(image, 0.1), estimator.reset):
        with pytest.raises(WLitePoseError, match="while another thread was tracking with this estimator"):
            call()
    assert len(estimator.estimate(image)) >= 2  # untracked estimates may run meanwhile
    leave.set()
    first.join(10)
    assert len(estimator.track_frame(image, 0.1)) >= 2  # the thread done, tracking goes on


def test_an_estimator_pickles_as_its_model_and_settings_for_a_process_pool(image):
    """Settings read from numpy (a parameter grid) are taken: numpy's bool was refused, and is kept as Python's."""
    estimator = PoseEstimator(
        DEFAULT_MODEL, input_size=np.int64(320), detection_threshold=0.3, shot_changes=np.bool_(False), threads=1
    )
    estimator.track_frame(image, 0.0)
    copy = pickle.loads(pickle.dumps(estimator))
    assert copy.model.path == estimator.model.path and copy._settings == estimator._settings
    assert copy._config.tracker.shot_changes is False
    np.testing.assert_array_equal(copy.estimate(image).xy, estimator.estimate(image).xy)
    assert (copy.track_frame(image, 0.0).track_ids == -1).all()  # no tracks came along: a first frame


def test_a_pickled_estimator_finds_its_model_after_a_change_of_folder_and_refuses_a_changed_file(
    tmp_path, monkeypatch, model_path
):
    """A notebook's `%cd` broke the README's process-pool recipe (the relative path was pickled), and a file
    retrained under the same name was loaded by the copies without a word, which then found other people."""
    shutil.copy(DEFAULT_MODEL, tmp_path / "mine.onnx")
    monkeypatch.chdir(tmp_path)
    estimator = PoseEstimator("mine.onnx", threads=1)
    monkeypatch.chdir(tmp_path.parent)
    assert pickle.loads(pickle.dumps(estimator)).model.info.sha256 == estimator.model.info.sha256
    shutil.copy(model_path, tmp_path / "mine.onnx")  # another network under the same name
    with pytest.raises(WLitePoseError, match=r"^the model file .*mine.onnx has changed since the estimator was"):
        pickle.loads(pickle.dumps(estimator))


def test_timestamps_in_milliseconds_are_warned_of_once_and_seconds_never(image):
    """OpenCV's CAP_PROP_POS_MSEC in timestamp_s made every frame a 33 s gap: 72 IDs for 23 people."""
    import warnings

    in_ms = PoseEstimator(DEFAULT_MODEL)
    with pytest.warns(UserWarning, match=r"^track_frame got frames 33.3 s apart: timestamp_s is in seconds") as said:
        for i in range(6):
            in_ms.track_frame(image, i * 33.3)
    assert len(said) == 1
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        in_s = PoseEstimator(DEFAULT_MODEL)
        for i in range(6):
            in_s.track_frame(image, i / 30)
        for i in range(6):
            in_s.track_frame(image, 1.0 + i * 40.0)  # long pauses after real steps: a real clock's
        in_s.reset()
        for i in range(4):
            in_s.track_frame(image, i * 5.0)  # a time-lapse of a frame every 5 s from the start: seconds too
    in_s.reset()  # a new scene: its first frames are checked as a new estimator's are
    with pytest.warns(UserWarning, match=r"^track_frame got frames 33.3 s apart"):
        for i in range(6):
            in_s.track_frame(image, i * 33.3)


def test_poses_pick_people_as_numpy_does_and_print_short(estimator, image):
    """In a notebook: poses[poses.scores > t], poses[0], `for person in poses` raised TypeError, and printing a
    frame dumped its pixels."""
    poses = estimator.estimate(image)
    assert len(poses) >= 2
    strong = poses[poses.scores > np.median(poses.scores)]
    assert len(strong) == (poses.scores > np.median(poses.scores)).sum()
    np.testing.assert_array_equal(poses[-1].xy, poses.xy[-1:])
    assert [len(person) for person in poses] == [1] * len(poses)
    np.testing.assert_array_equal(poses[1:].scores, poses.scores[1:])
    with pytest.raises(IndexError):
        poses[len(poses)]
    assert repr(poses) == f"Poses({len(poses)} people, 17 joints each, track_ids [{', '.join(['-1'] * len(poses))}])"
    frame = next(iter(estimator.track(SAMPLE, max_frames=1)))[0]
    assert len(repr(frame)) < 120 and "array" not in repr(frame)


@pytest.mark.parametrize(
    "shapes, words",
    [
        (((2, 17), (2, 17), (2,), (2,)), r"xy must be \(N, K, 2\), got \(2, 17\)"),
        (((2, 17, 2), (2, 14), (2,), (2,)), r"keypoint_scores must be \(2, 17\), got \(2, 14\)"),
        (((2, 17, 2), (2, 17), (1,), (2,)), r"scores and track_ids must be \(2,\), got \(1,\), \(2,\)"),
        (((2, 17, 2), (2, 17), (2,), (1,)), r"scores and track_ids must be \(2,\), got \(2,\), \(1,\)"),
    ],
)
def test_poses_of_mismatched_arrays_are_refused_when_made(shapes, words):
    """Poses made by hand (to draw or write them) whose arrays disagree on N or K: refused at once, not an
    IndexError in whatever reads them later."""
    with pytest.raises(ValueError, match=words):
        Poses(*(np.zeros(shape) for shape in shapes))


def test_an_image_too_small_to_find_people_in_is_refused_by_the_api(model_path):
    """A 1x1 image gave 96 people at score 0.94, every joint at (0, 0)."""
    estimator = PoseEstimator(model_path)
    with pytest.raises(WLitePoseError, match=r"^the image is 1x1 pixels, too small to find people in"):
        estimator.estimate(np.zeros((1, 1, 3), np.uint8))


def test_a_track_ended_by_max_frames_warns_of_no_video_cut_short(estimator):
    """Stopping at max_frames warned that the video ended early and may be damaged."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert len(list(estimator.track(SAMPLE, max_frames=3))) == 3
