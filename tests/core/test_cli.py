"""`wlitepose track` / `eval` end to end through main.main, and every bad input: one sentence, exit 2, no traceback."""

import contextlib
import functools
import io
import itertools
import json
import os
import pickle
import re
import signal
import subprocess
import sys
import types
from pathlib import Path

import cv2
import numpy as np
import pytest

import main
from core.cli import SAMPLE_CLIP
from core.errors import WLitePoseError
from core.model_file import file_sha256
from core.pipeline import PosePipeline
from core.preprocess import letterbox_geometry
from core.progress import ProgressBar
from core.session import PoseModel
from core.sources.frames import Frame, FrameSource
from core.synthetic import paint, random_people
from core.version import tool_version


@pytest.fixture
def cli(monkeypatch, capsys):
    """Run main.main(argv) with only core's subcommands (other packages may not have landed); (rc, out, err)."""
    monkeypatch.setattr(main, "COMMANDS", {k: v for k, v in main.COMMANDS.items() if k in ("track", "eval")})

    def run(*argv):
        rc = main.main([str(a) for a in argv])
        out, err = capsys.readouterr()
        return rc, out, err

    return run


def _assert_clean_error(rc, err, *words):
    assert rc == 2
    lines = [line for line in err.splitlines() if line.startswith("wlitepose: error:")]
    assert len(lines) == 1 and "Traceback" not in err, err
    for word in words:
        assert word.lower() in lines[0].lower(), lines[0]


def test_track_writes_every_output_with_an_exported_model(cli, model_path, video_path, tmp_path):
    out = tmp_path / "out"
    rc, _, err = cli(
        "track", video_path, "--model", model_path, "--max-frames", 6, "--threads", 1,
        "--csv", out / "k.csv", "--coco-json", out / "k.json", "--openpose-dir", out / "op",
        "--posec3d", out / "k.pkl", "--video", out / "k.mp4", "--coco-dataset", out / "k_dataset.json",
    )  # fmt: skip
    assert rc == 0, err
    for stage in ("read", "preprocess", "inference", "grouping", "tracking", "write", "fps overall", "ETA"):
        assert stage in err
    (wrote,) = [line for line in err.splitlines() if line.startswith("wlitepose: wrote ")]
    for name in ("k.csv,", "k.csv.json", "k.json", "op/", "k.pkl", "k.mp4", "k_dataset.json"):
        assert name in wrote
    assert "only measures speed" not in err
    header = (out / "k.csv").read_text().splitlines()[0].split(",")
    assert header[:8] == ["frame", "time_s", "track_id", "score", "x_min", "y_min", "x_max", "y_max"]
    assert header[8:11] == ["nose_x", "nose_y", "nose_score"] and len(header) == 8 + 17 * 3
    sidecar = json.loads((out / "k.csv.json").read_text())
    assert sidecar["frames_written"] == 6 and sidecar["resolution"] == [768, 576] and sidecar["fps"] == 10.0
    assert len(sidecar["model_sha256"]) == 64 and sidecar["keypoint_names"][0] == "nose"
    assert isinstance(json.loads((out / "k.json").read_text()), list)
    assert len(list((out / "op").glob("vtest_*_keypoints.json"))) == 6
    with open(out / "k.pkl", "rb") as f:
        assert pickle.load(f)[0]["total_frames"] == 6
    cap = cv2.VideoCapture(str(out / "k.mp4"))
    assert int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) == 6 and cap.get(cv2.CAP_PROP_FRAME_WIDTH) == 768
    dataset = json.loads((out / "k_dataset.json").read_text())  # a video's frames named as CVAT names them
    assert dataset["images"][5] == {"id": 5, "file_name": "frame_000005.jpg", "width": 768, "height": 576}
    assert len(dataset["images"]) == 6 and dataset["categories"][0]["keypoints"] == sidecar["keypoint_names"]
    assert dataset["categories"][0]["skeleton"] == [[a + 1, b + 1] for a, b in sidecar["skeleton"]]


def test_a_coco_dataset_of_an_image_folder_lists_each_image_by_name_at_its_own_size(cli, model_path, tmp_path):
    folder = tmp_path / "photos"
    folder.mkdir()
    cv2.imwrite(str(folder / "wide.jpg"), np.full((120, 200, 3), 90, np.uint8))
    cv2.imwrite(str(folder / "tall.png"), np.full((160, 100, 3), 90, np.uint8))
    rc, _, err = cli("track", folder, "--model", model_path, "--coco-dataset", tmp_path / "photos.json")
    assert rc == 0, err
    images = json.loads((tmp_path / "photos.json").read_text())["images"]
    assert images == [{"id": 0, "file_name": "tall.png", "width": 100, "height": 160},
                      {"id": 1, "file_name": "wide.jpg", "width": 200, "height": 120}]  # fmt: skip


@pytest.mark.parametrize(
    "target, words",
    [
        (lambda d, clip: d / "file" / "people.json", ["cannot write", "people.json", "is not a folder"]),
        (lambda d, clip: d, ["cannot write", "it is a folder"]),
        (lambda d, clip: clip, ["a file this run reads"]),
        (lambda d, clip: d / "people.csv.json", ["share a path"]),
    ],
)
def test_a_coco_dataset_path_that_cannot_be_written_is_refused_in_one_sentence(
    cli, model_path, video_path, tmp_path, target, words
):
    (tmp_path / "file").write_text("x")
    clip = tmp_path / "clip.avi"
    clip.write_bytes(video_path.read_bytes())
    options = ("--csv", tmp_path / "people.csv", "--coco-dataset", target(tmp_path, clip))
    rc, _, err = cli("track", clip, "--model", model_path, "--max-frames", 1, *options)
    _assert_clean_error(rc, err, *words)
    assert not (tmp_path / "people.csv").exists() and clip.read_bytes() == video_path.read_bytes()


def test_outputs_another_process_is_writing_are_refused_and_left_as_they_are(
    cli, model_path, video_path, tmp_path, held_elsewhere
):
    # two cameras' cam.avi run from a shell loop with --csv "out/{name}.csv": the second must not write into the first's
    out = tmp_path / "out"
    out.mkdir()
    (out / "cam.csv").write_text("earlier run\n")
    track = ("track", video_path, "--model", model_path, "--max-frames", 2, "--threads", 1)
    with held_elsewhere(out / "cam.csv"):
        rc, _, err = cli(*track, "--csv", out / "cam.csv")
    _assert_clean_error(rc, err, f"another run (wlitepose track, the app or a training) is writing {out / 'cam.csv'}")
    assert (out / "cam.csv").read_text() == "earlier run\n"
    with held_elsewhere(out / "op" / "vtest.openpose"):
        rc, _, err = cli(*track, "--csv", out / "other.csv", "--openpose-dir", out / "op")
    _assert_clean_error(rc, err, f"is writing vtest's OpenPose frames in {out / 'op'} right now")
    assert not (out / "other.csv").exists()
    rc, _, err = cli(*track, "--csv", out / "cam.csv", "--openpose-dir", out / "op")  # the holders ended, killed
    assert rc == 0, err
    assert not list(out.rglob("*.wlitepose-lock"))  # taken over and let go
    clip = Path(main.__file__).parent / "assets" / "samples" / "vtest_clip.mp4"
    with held_elsewhere(out / "vtest_clip.csv"):  # a batch's second source: refused before the first is run
        rc, _, err = cli("track", video_path, clip, *track[2:], "--csv", out / "{name}.csv")
    _assert_clean_error(rc, err, f"is writing {out / 'vtest_clip.csv'} right now")
    assert not (out / "vtest.csv").exists()


def test_image_folders_whose_frames_share_names_keep_their_own_openpose_files(cli, model_path, tmp_path):
    """Frames extracted per camera (cam1/frame_000001.png, cam2/frame_000001.png) into one --openpose-dir: the
    second camera's run replaced the first's files, silently, leaving its listing naming the other's frames."""
    for camera in ("cam1", "cam2"):
        (tmp_path / camera).mkdir()
        for i in range(1, 3):
            cv2.imwrite(str(tmp_path / camera / f"frame_{i:06d}.png"), np.full((48, 64, 3), 40 * i, np.uint8))
    track = ("track", "--model", model_path, "--size", 128, "--openpose-dir", tmp_path / "op")
    rc, _, err = cli(*track[:1], tmp_path / "cam1", *track[1:])
    assert rc == 0, err
    first = {p: p.read_bytes() for p in (tmp_path / "op").rglob("*") if p.is_file()}  # its listing's too
    rc, _, err = cli(*track[:1], tmp_path / "cam2", *track[1:])
    _assert_clean_error(rc, err, f"{tmp_path / 'op'} holds the OpenPose frames of cam1 under names this run's images")
    assert {p: p.read_bytes() for p in (tmp_path / "op").rglob("*") if p.is_file()} == first
    rc, _, err = cli(*track[:1], tmp_path / "cam1", *track[1:])  # its own re-run replaces its own
    assert rc == 0, err
    for frame in (tmp_path / "op").glob("*_keypoints.json"):  # cam1's frames removed, its hidden listing left
        frame.unlink()
    rc, _, err = cli(*track[:1], tmp_path / "cam2", *track[1:])  # a listing of frames gone holds nothing
    assert rc == 0, err


def test_a_matroska_files_guessed_frame_count_is_no_warning_and_not_in_the_sidecar(cli, model_path, tmp_path):
    """1,351 'frames its header counts' for 12: a damaged-file warning for a valid file, and a sidecar count that
    a completeness check (frames_written == frame_count) failed on."""
    mkv = Path(__file__).parent / "media" / "vfr_rate1000.mkv"
    rc, _, err = cli("track", mkv, "--model", model_path, "--size", 128, "--csv", tmp_path / "v.csv")
    assert rc == 0 and "ended after" not in err and "timed by its own time stamps" in err, err
    sidecar = json.loads((tmp_path / "v.csv.json").read_text())
    assert sidecar["frame_count"] is None and sidecar["frames_written"] == 12


def test_a_variable_rate_files_csv_rows_are_timed_by_its_own_stamps(cli, coco_metadata, painted_model, tmp_path):
    """The source times its frames by the file's stamps; the CSV's time_s must be those, not frame / fps."""
    box = letterbox_geometry((768, 576), 256)
    truth = random_people(np.random.default_rng(3), 2, 17, box.input_size, overlap=0.0)
    heatmaps, tags = paint(truth, np.array([0.0, 3.0], np.float32), box.input_size)
    model = painted_model(tmp_path / "m.onnx", heatmaps, tags, coco_metadata)  # people in every frame: rows
    mkv = Path(__file__).parent / "media" / "vfr_rate1000.mkv"
    rc, _, err = cli("track", mkv, "--model", model, "--csv", tmp_path / "v.csv")
    assert rc == 0, err
    times = {}
    for row in (tmp_path / "v.csv").read_text().splitlines()[1:]:
        frame, time_s = row.split(",")[:2]
        times[int(frame)] = float(time_s)
    gaps = [0.1, 0.2, 0.05] * 4
    assert sorted(times) == list(range(12))
    assert [times[n] for n in range(12)] == pytest.approx([sum(gaps[:i]) for i in range(12)], abs=1e-4)


def test_frames_never_analysed_are_listed_and_held_in_the_annotated_video(
    cli, model_path, tmp_path, grey_clip, damaged
):
    """Frames that could not be decoded had no rows in the CSV, as frames where nobody was found have, and the
    annotated video was as many frames short, everything after them early against the CSV's times."""
    clip = damaged(grey_clip(tmp_path / "d.avi", 10, frames=12, step=20), (0, 5, 6))  # the first too
    out = tmp_path / "out"
    rc, _, err = cli(
        "track", clip, "--model", model_path, "--threads", 1, "--csv", out / "d.csv", "--video", out / "d.avi"
    )
    assert rc == 0, err
    assert json.loads((out / "d.csv.json").read_text())["frames_not_analysed"] == [[0, 0], [5, 6]]
    capture, frames = cv2.VideoCapture(str(out / "d.avi")), []
    while (frame := capture.read())[0]:
        frames.append(frame[1])
    assert len(frames) == 12  # one a frame of the source, the damaged ones showing the picture before them
    assert np.array_equal(frames[5], frames[4]) and np.array_equal(frames[6], frames[4])
    assert np.array_equal(frames[0], frames[1]) and not np.array_equal(frames[7], frames[4])
    folder = tmp_path / "slow"  # a time-lapse folder at 0.1 fps: no frame was held for a picture not read
    folder.mkdir()
    for n in range(4):
        cv2.imwrite(str(folder / f"{n}.png"), np.full((24, 32, 3), 60 * n, np.uint8))
    (folder / "2.png").write_bytes(b"broken")
    rc, _, err = cli("track", folder, "--model", model_path, "--fps", 0.1, "--video", out / "slow.avi")
    capture = cv2.VideoCapture(str(out / "slow.avi"))
    assert rc == 0 and int(capture.get(cv2.CAP_PROP_FRAME_COUNT)) == 4, err


def test_track_without_outputs_says_it_only_measures_speed(cli, model_path, video_path):
    rc, _, err = cli("track", video_path, "--model", model_path, "--max-frames", 2)
    assert rc == 0 and "no output asked for" in err and "wlitepose: wrote" not in err


def test_track_maps_people_back_to_image_pixels(cli, coco_metadata, painted_model, video_path, tmp_path):
    """A model file with known outputs: the CSV must hold those people, in image pixels, with stable IDs."""
    box = letterbox_geometry((768, 576), 256)  # vtest.avi at input 256 -> 256 x 192
    rng = np.random.default_rng(11)
    truth = random_people(rng, 3, 17, box.input_size, overlap=0.3)
    heatmaps, tags = paint(truth, np.array([0.0, 2.0, 4.0], np.float32), box.input_size)
    model = painted_model(tmp_path / "painted.onnx", heatmaps, tags, coco_metadata)
    track = ("track", video_path, "--model", model, "--posec3d", tmp_path / "k.pkl", "--max-frames")
    rc, _, err = cli(*track, 5, "--csv", tmp_path / "k.csv")
    assert rc == 0 and "leaves out" not in err, err  # the first frame's three people of 15: no track yet
    rows = [line.split(",") for line in (tmp_path / "k.csv").read_text().splitlines()[1:]]
    assert len(rows) == 15
    rc, _, err = cli(*track, 2)  # half of them: told
    assert rc == 0 and "warning: the PoseC3D file leaves out 3 of the 6 people detected" in err, err
    rc, _, err = cli(*track, 2, "--no-track")
    assert rc == 0 and "leaves out" not in err, err
    expected = box.to_image(truth)  # (3, 17, 2)
    last = [r for r in rows if r[0] == "4"]
    assert sorted(int(r[2]) for r in last) == [1, 2, 3]  # confirmed and stable
    for row in last:
        xy = np.array([float(v) for v in row[8:]]).reshape(17, 3)[:, :2]
        error = np.linalg.norm(expected - xy[None], axis=2).max(axis=1).min()
        assert error <= 1.0 / box.scale + 0.5, error  # 1 network pixel


def test_track_without_tracking_and_image_folder(cli, coco_metadata, painted_model, tmp_path):
    folder = tmp_path / "frames"
    folder.mkdir()
    for i in range(3):
        cv2.imwrite(str(folder / f"{i:03d}.png"), np.full((120, 160, 3), 60 * i, np.uint8))
    box = letterbox_geometry((160, 120), 256)
    truth = random_people(np.random.default_rng(2), 2, 17, box.input_size, overlap=0.0)
    heatmaps, tags = paint(truth, np.array([0.0, 3.0], np.float32), box.input_size)
    model = painted_model(tmp_path / "m.onnx", heatmaps, tags, coco_metadata)
    rc, _, err = cli("track", folder, "--model", model, "--no-track", "--coco-json", tmp_path / "r.json")
    assert rc == 0, err
    entries = json.loads((tmp_path / "r.json").read_text())
    assert [e["image_id"] for e in entries] == [0, 0, 1, 1, 2, 2]
    assert all("track_id" not in e for e in entries)


def test_one_image_is_named_as_an_image_folders_are(cli, coco_metadata, painted_model, tmp_path):
    """A single photo's outputs say which file they are: its OpenPose frame after the image, its COCO entries
    with the file name (to map onto an annotation file's ids), the sidecar's frame_files."""
    image = tmp_path / "photo.jpg"
    cv2.imwrite(str(image), np.full((120, 160, 3), 90, np.uint8))
    box = letterbox_geometry((160, 120), 256)
    truth = random_people(np.random.default_rng(2), 2, 17, box.input_size, overlap=0.0)
    heatmaps, tags = paint(truth, np.array([0.0, 3.0], np.float32), box.input_size)
    model = painted_model(tmp_path / "m.onnx", heatmaps, tags, coco_metadata)
    out = tmp_path / "out"
    rc, _, err = cli("track", image, "--model", model, "--coco-json", out / "r.json", "--openpose-dir", out / "op",
                     "--csv", out / "r.csv")  # fmt: skip
    assert rc == 0, err
    assert [p.name for p in (out / "op").iterdir() if not p.name.startswith(".")] == ["photo_keypoints.json"]
    entries = json.loads((out / "r.json").read_text())
    assert len(entries) == 2 and {e["file_name"] for e in entries} == {"photo.jpg"}
    assert json.loads((out / "r.csv.json").read_text())["frame_files"] == ["photo.jpg"]


def test_thresholds_and_smoothing_options(cli, coco_metadata, painted_model, video_path, tmp_path):
    """A person threshold above every painted person keeps none; the settings land in the sidecar."""
    box = letterbox_geometry((768, 576), 256)
    truth = random_people(np.random.default_rng(5), 2, 17, box.input_size, overlap=0.0)
    heatmaps, tags = paint(truth, np.array([0.0, 3.0], np.float32), box.input_size)
    model = painted_model(tmp_path / "m.onnx", heatmaps, tags, coco_metadata)
    common = ("track", video_path, "--model", model, "--max-frames", 2)
    rc, _, err = cli(*common, "--csv", tmp_path / "all.csv", "--keypoint-threshold", 0.2, "--smoothing", 0)
    assert rc == 0, err
    assert len((tmp_path / "all.csv").read_text().splitlines()) == 1 + 2 * 2
    settings = json.loads((tmp_path / "all.csv.json").read_text())["settings"]
    assert settings["decode"]["keypoint_threshold"] == 0.2 and settings["tracker"]["smoothing"] == 0.0
    rc, _, err = cli(*common, "--csv", tmp_path / "none.csv", "--detection-threshold", 1.0)
    assert rc == 0, err
    assert len((tmp_path / "none.csv").read_text().splitlines()) == 1
    rc, _, err = cli(*common, "--detection-threshold", 1.5)
    _assert_clean_error(rc, err, "--detection-threshold", "between 0 and 1")
    for smoothing in (0.9, 0):  # ran, the smoothing silently unused (0 is a smoothing asked for too)
        rc, _, err = cli(*common, "--no-track", "--smoothing", smoothing)
        _assert_clean_error(rc, err, "--smoothing smooths each person's track; with --no-track there are no tracks")


def test_missing_default_model_tells_to_pass_model(cli, monkeypatch, video_path, tmp_path):
    import core.cli

    monkeypatch.setattr(core.cli, "DEFAULT_MODEL", tmp_path / "absent.onnx")
    rc, _, err = cli("track", video_path)
    _assert_clean_error(rc, err, "--model")


def test_each_threshold_option_sets_its_own_threshold(cli, model_path, write_clip, tmp_path):
    """--detection-threshold taken for the keypoint threshold kept people it should drop (vtest's first 30 frames
    at 0.3: 120 CSV rows instead of 88)."""
    clip = write_clip(tmp_path / "c.avi", 1)
    thresholds = ("--detection-threshold", 0.3, "--keypoint-threshold", 0.4)
    rc, _, err = cli("track", clip, "--model", model_path, "--csv", tmp_path / "c.csv", *thresholds)
    decode = json.loads((tmp_path / "c.csv.json").read_text())["settings"]["decode"]
    assert rc == 0 and (decode["detection_threshold"], decode["keypoint_threshold"]) == (0.3, 0.4), err


@pytest.mark.parametrize(
    "make_source, words",
    [
        (lambda d: d / "nothing.mp4", ["does not exist"]),
        (lambda d: "~no_such_user_wlp/clip.mp4", ["~no_such_user_wlp/clip.mp4 does not exist"]),  # not a traceback
        (lambda d: _touch(d / "empty.mp4", b""), ["empty"]),
        (lambda d: _touch(d / "corrupt.mp4", b"\x00\x00\x00\x18ftypmp42" + bytes(range(256)) * 40), ["not a readable"]),
        (lambda d: _touch(d / "notes.txt", b"hello, not a video\n" * 50), ["not a readable"]),
        (lambda d: _mkdir(d / "no_images"), ["no images"]),
        (lambda d: "9", ["no camera", "9"]),
    ],
)
def test_bad_sources(cli, model_path, tmp_path, make_source, words):
    rc, _, err = cli("track", make_source(tmp_path), "--model", model_path, "--csv", tmp_path / "o.csv")
    _assert_clean_error(rc, err, *words)


@pytest.mark.parametrize(
    "make_model, words",
    [
        (lambda d, m: d / "absent.onnx", ["does not exist"]),
        (lambda d, m: "~no_such_user_wlp/m.onnx", ["~no_such_user_wlp/m.onnx does not exist"]),
        (lambda d, m: _touch(d / "empty.onnx", b""), ["empty"]),
        (lambda d, m: _touch(d / "text.onnx", b"this is not a protobuf at all" * 10), ["not an onnx model file"]),
        (lambda d, m: _strip_metadata(m, d / "bare.onnx"), ["an onnx model without wlitepose metadata"]),
        (lambda d, m: d, ["is a folder"]),
    ],
)
def test_bad_models(cli, model_path, video_path, tmp_path, make_model, words):
    rc, _, err = cli("track", video_path, "--model", make_model(tmp_path, model_path), "--max-frames", 1)
    _assert_clean_error(rc, err, *words)


def test_a_name_beginning_with_a_tilde_and_no_user_s_is_a_name_as_shells_leave_it(
    cli, model_path, write_clip, tmp_path, monkeypatch
):
    """~clip.avi (no user "clip.avi": the shell passes it as typed) stopped track with a RuntimeError traceback."""
    monkeypatch.chdir(tmp_path)
    write_clip(tmp_path / "~clip.avi", 1)
    rc, _, err = cli("track", "~clip.avi", "--model", model_path, "--csv", "~out.csv")
    assert rc == 0 and (tmp_path / "~out.csv").is_file(), err


def test_no_module_expands_a_users_path_with_pathlibs_expanduser():
    """Path.expanduser raises RuntimeError for ~name with no user name, where os.path.expanduser leaves the name as
    the shell does; 26 places took the first (the test above is one of them)."""
    root = Path(main.__file__).parent
    files = [root / "main.py"] + [
        p for package in ("core", "app", "models", "training") for p in (root / package).rglob("*.py")
    ]
    assert not [str(p.relative_to(root)) for p in files if ".expanduser()" in p.read_text(encoding="utf-8")]


def test_unwritable_output_keeps_nothing_half_done(cli, model_path, video_path, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    rc, _, err = cli("track", video_path, "--model", model_path, "--csv", blocker / "o.csv", "--max-frames", 1)
    _assert_clean_error(rc, err, "cannot write", "o.csv")


def test_a_refused_run_leaves_no_folders_behind(cli, model_path, video_path, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    rc, _, err = cli("track", video_path, "--model", model_path, "--csv", tmp_path / "new" / "a.csv",
                     "--openpose-dir", tmp_path / "op" / "frames", "--video", blocker / "v.mp4")  # fmt: skip
    _assert_clean_error(rc, err, "cannot write", "v.mp4", "is not a folder")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file"]  # the csv's and openpose's folders too


def test_a_video_format_it_cannot_write_is_refused_before_any_work(cli, model_path, video_path, tmp_path):
    out = tmp_path / "out"
    rc, _, err = cli("track", video_path, "--model", model_path, "--csv", out / "a.csv", "--video", out / "a.mkv")
    _assert_clean_error(rc, err, "a.mkv", ".mp4 or .avi")
    assert not (out / "a.csv").exists() and "wlitepose_xs" not in err  # refused before the model loaded


def test_error_mid_run_leaves_valid_outputs(cli, model_path, tmp_path, monkeypatch):
    folder = tmp_path / "frames"
    folder.mkdir()
    for i in range(5):
        cv2.imwrite(str(folder / f"{i}.png"), np.zeros((64, 64, 3), np.uint8))
    process = PosePipeline.process
    calls = itertools.count()

    def fails_on_the_fourth(self, *args, **kwargs):
        if next(calls) == 3:
            raise WLitePoseError("the network failed on this frame")
        return process(self, *args, **kwargs)

    monkeypatch.setattr(PosePipeline, "process", fails_on_the_fourth)
    rc, _, err = cli(
        "track", folder, "--model", model_path, "--coco-json", tmp_path / "r.json", "--csv", tmp_path / "k.csv"
    )
    _assert_clean_error(rc, err, "network failed")
    assert isinstance(json.loads((tmp_path / "r.json").read_text()), list)  # still a valid array
    assert json.loads((tmp_path / "k.csv.json").read_text())["frames_written"] == 3


def test_an_unreadable_image_of_a_folder_is_passed_over_and_named(cli, model_path, tmp_path):
    folder = tmp_path / "frames"
    folder.mkdir()
    for name in ("img10.png", "IMG2.png", "img1.png"):
        cv2.imwrite(str(folder / name), np.full((64, 48, 3), 200, np.uint8))
    (folder / "img3.png").write_bytes(b"broken")
    cv2.imwrite(str(folder / "img4.png"), np.full((48, 64, 3), 200, np.uint8))  # landscape among portraits
    video = tmp_path / "k.mp4"
    rc, _, err = cli("track", folder, "--model", model_path, "--csv", tmp_path / "k.csv", "--video", video)
    assert rc == 0 and f"warning: skipped {folder / 'img3.png'}: it cannot be read as an image" in err
    assert "ended after" not in err  # a folder is not a file cut short
    assert "the images differ in size" in err
    cap = cv2.VideoCapture(str(video))
    frames = [cap.read()[1] for _ in range(5)]  # one a frame index: img3's shows the picture before it
    assert all(f.shape == (64, 48, 3) for f in frames)  # every frame in the first image's size
    assert np.array_equal(frames[2], frames[1])
    landscape = frames[3].mean(axis=(1, 2))  # img4, fitted: black bands above and below, not stretched to fill
    assert landscape[:10].max() < 30 and landscape[-10:].max() < 30 and landscape[32] > 150
    sidecar = json.loads((tmp_path / "k.csv.json").read_text())
    assert sidecar["frames_not_analysed"] == [[2, 2]]
    assert sidecar["frame_files"] == ["img1.png", "IMG2.png", "img3.png", "img4.png", "img10.png"]  # natural order
    assert sidecar["frames_written"] == 4 and sidecar["source"] == str(folder)


def test_the_progress_of_a_folder_counts_its_images_passed_over_out_of_the_frames_due(
    cli, model_path, tmp_path, monkeypatch
):
    import core.track_run

    folder = tmp_path / "frames"
    folder.mkdir()
    for n in range(1, 5):
        cv2.imwrite(str(folder / f"frame{n}.png"), np.full((64, 48, 3), 200, np.uint8))
        cv2.imwrite(str(folder / f"frame{n}_thumb.png"), np.full((16, 12, 3), 200, np.uint8))  # too small
    rc, _, err = cli("track", folder, "--model", model_path, "--csv", tmp_path / "k.csv")
    assert rc == 0 and err.count("warning: skipped") == 4
    assert "] 4/4 " in err  # the bar ends full: not 4/8, with the time left for frames never due
    rc, _, err = cli("track", folder, "--model", model_path, "--csv", tmp_path / "k.csv", "--max-frames", "2")
    assert rc == 0 and "] 2/2 " in err
    monkeypatch.setattr(core.track_run, "ProgressBar", functools.partial(core.track_run.ProgressBar, log_interval_s=0))
    rc, _, err = cli("track", folder, "--model", model_path, "--csv", tmp_path / "k.csv")  # a line at each frame
    assert rc == 0 and "] 2/7 " in err  # frame1_thumb passed over on the way to frame2: counted from then on


def test_eval_on_crowdpose_and_coco_formats(cli, model_path, tmp_path, shared_data):
    rc, out, err = cli(
        "eval", "--model", model_path, "--annotations", shared_data / "val" / "annotations.json",
        "--images", shared_data / "val" / "images", "--size", 128, "--out", tmp_path / "stats.json",
    )  # fmt: skip
    assert rc == 0, err
    stats = json.loads((tmp_path / "stats.json").read_text())
    run = stats.pop("run")  # the figures' provenance: --out named neither the model nor the size they came from
    assert list(stats) == ["AP", "AP50", "AP75", "APm", "APl", "AR"]
    assert all(0.0 <= v <= 1.0 for v in stats.values()) and "AP50" in out
    assert run["model"] == str(model_path) and run["model_sha256"] == file_sha256(model_path)
    assert run["input_size"] == 128 and run["bootstrap"] == 0 and run["wlitepose_version"] == tool_version()
    assert run["annotations"] == str(shared_data / "val" / "annotations.json")
    assert run["images"] == str(shared_data / "val" / "images")
    # CrowdPose's 14 keypoints against a 17-keypoint model: a clear refusal
    rc, _, err = cli(
        "eval", "--model", model_path, "--annotations", shared_data / "crowdpose_sample" / "test_crowdpose.json",
        "--images", shared_data / "crowdpose_sample",
    )  # fmt: skip
    _assert_clean_error(rc, err, "14 keypoints")


def test_eval_compares_with_a_baseline_on_the_same_redraws(cli, model_path, tmp_path, shared_data):
    data = ["--annotations", shared_data / "val" / "annotations.json", "--images", shared_data / "val" / "images"]
    rc, out, err = cli(
        "eval", "--model", model_path, *data, "--size", 128, "--baseline", model_path, "--bootstrap", 40,
        "--out", tmp_path / "stats.json",
    )  # fmt: skip
    assert rc == 0, err
    assert "baseline" in out and "95% interval: AP" in out and "model - baseline" in out
    stats = json.loads((tmp_path / "stats.json").read_text())
    assert stats["baseline"]["AP"] == stats["AP"]  # the same file scores the same
    assert stats["baseline"]["model_sha256"] == stats["run"]["model_sha256"] and stats["run"]["bootstrap"] == 40
    assert stats["baseline"]["input_size"] == stats["run"]["input_size"] == 128
    low, high = stats["intervals"]["AP"]
    assert 0.0 <= low <= high <= 1.0 and stats["baseline"]["intervals"] == stats["intervals"]
    assert stats["difference"]["AP"] == {"interval": [0.0, 0.0], "higher": 0.0}
    rc, _, err = cli("eval", "--model", model_path, *data, "--bootstrap", -1)
    _assert_clean_error(rc, err, "--bootstrap must be a positive number")
    rc, _, err = cli("eval", "--model", model_path, *data, "--bootstrap", 1)  # no redraw in the 2.5 % tails
    _assert_clean_error(rc, err, "--bootstrap must be at least 40 redraws")
    rc, _, err = cli("eval", "--model", model_path, *data, "--bootstrap", 100_001)  # 10^8 ran for hours
    _assert_clean_error(rc, err, "--bootstrap must be at most 100,000 redraws")


def test_eval_gives_one_models_intervals_without_a_baseline(cli, model_path, tmp_path, shared_data):
    rc, out, err = cli(
        "eval", "--model", model_path, "--annotations", shared_data / "val" / "annotations.json",
        "--images", shared_data / "val" / "images", "--size", 128, "--bootstrap", 40, "--out", tmp_path / "stats.json",
    )  # fmt: skip
    assert rc == 0, err
    assert "95% interval: AP" in out and "baseline" not in out and "bootstrap: 40 redraws of the 35 images" in err
    stats = json.loads((tmp_path / "stats.json").read_text())
    assert stats["run"]["bootstrap"] == 40 and "baseline" not in stats and "difference" not in stats
    low, high = stats["intervals"]["AP"]
    assert 0.0 <= low <= high <= 1.0


def test_eval_takes_the_most_redraws_its_limit_names(cli, tmp_path, shared_data):
    """--bootstrap 100000 is "at most 100,000": refused, the message would contradict the number typed. The run goes
    on to load the model (absent here, so that no 100,000 redraws run)."""
    rc, _, err = cli(
        "eval", "--model", tmp_path / "absent.onnx", "--annotations", shared_data / "val" / "annotations.json",
        "--images", shared_data / "val" / "images", "--bootstrap", 100_000,
    )  # fmt: skip
    _assert_clean_error(rc, err, "absent.onnx")
    assert "--bootstrap" not in err


def test_eval_reports_the_model_and_the_baseline_each_as_its_own_and_the_difference_the_right_way_round(
    cli, model_path, tmp_path, shared_data, monkeypatch
):
    """The only baseline test compared a model with itself, so the model's and the baseline's figures, sizes, hashes
    and intervals could be swapped, or the difference's sign turned, unseen. Here the model finds every labelled
    person exactly and the baseline (another file, another input size) misses every other one by 30 px."""
    val = json.loads((shared_data / "val" / "annotations.json").read_text())
    images = val["images"][:4]
    kept = {image["id"] for image in images}
    subset = {**val, "images": images, "annotations": [a for a in val["annotations"] if a["image_id"] in kept]}
    (tmp_path / "subset.json").write_text(json.dumps(subset))
    people = [a for a in subset["annotations"] if not a["iscrowd"] and a["num_keypoints"] > 0]
    assert len(people) > 2

    def found(shift_every):
        out = []
        for n, ann in enumerate(people):
            kps = np.asarray(ann["keypoints"], np.float64).reshape(-1, 3)
            kps[:, :2] += 30 * (shift_every > 0 and n % shift_every == 0)
            out.append({"image_id": ann["image_id"], "category_id": 1, "keypoints": kps.ravel().tolist(), "score": 1.0})
        return out

    baseline = _with_metadata(model_path, tmp_path / "baseline.onnx", input_size=128)
    exact, worse = file_sha256(model_path), found(2)
    monkeypatch.setattr(
        "core.eval_run.predict_dataset",
        lambda model, data, images, size: found(0) if model.info.sha256 == exact else worse,
    )
    rc, out, err = cli(
        "eval", "--model", model_path, "--annotations", tmp_path / "subset.json",
        "--images", shared_data / "val" / "images", "--baseline", baseline, "--bootstrap", 40,
        "--out", tmp_path / "stats.json",
    )  # fmt: skip
    assert rc == 0, err
    stats = json.loads((tmp_path / "stats.json").read_text())
    assert stats["AP"] == pytest.approx(1.0) and stats["baseline"]["AP"] < 0.9
    assert stats["run"]["model_sha256"] == exact and stats["baseline"]["model_sha256"] == file_sha256(baseline)
    assert stats["run"]["input_size"] == 256 and stats["baseline"]["input_size"] == 128
    assert stats["intervals"]["AP"] == pytest.approx([1.0, 1.0]) and stats["baseline"]["intervals"]["AP"][0] < 0.9
    low, high = stats["difference"]["AP"]["interval"]
    assert 0 < low <= high and stats["difference"]["AP"]["higher"] == 1.0  # the model is the better one
    assert "model - baseline, 95% interval: AP +" in out


def _with_metadata(model_path, out, **changes):
    """A copy of ``model_path`` whose metadata has ``changes`` (values as JSON)."""
    onnx = pytest.importorskip("onnx")

    proto = onnx.load(str(model_path))
    for prop in proto.metadata_props:
        if prop.key in changes:
            prop.value = json.dumps(changes[prop.key])
    onnx.save(proto, str(out))
    return out


def test_eval_scores_coco_keypoints_with_cocos_sigmas_whatever_the_model_file_says(cli, tmp_path, shared_data):
    """A shared model whose metadata gave every joint an OKS sigma of 1.0 was scored with them: the shipped network
    read AP 0.591 for its 0.034 (a helper's measure), and beside a baseline each was scored with its own."""
    shipped = Path(main.__file__).parent / "assets" / "wlitepose_xs_256.onnx"
    loose = _with_metadata(shipped, tmp_path / "loose.onnx", oks_sigmas=[1.0] * 17)
    val = json.loads((shared_data / "val" / "annotations.json").read_text())
    images = val["images"][:12]
    kept = {image["id"] for image in images}
    subset = {**val, "images": images, "annotations": [a for a in val["annotations"] if a["image_id"] in kept]}
    (tmp_path / "subset.json").write_text(json.dumps(subset))
    data = ["--annotations", tmp_path / "subset.json", "--images", shared_data / "val" / "images"]
    rc, _, err = cli(
        "eval", "--model", loose, *data, "--size", 128, "--baseline", shipped, "--bootstrap", 40,
        "--out", tmp_path / "stats.json",
    )  # fmt: skip
    assert rc == 0, err
    stats = json.loads((tmp_path / "stats.json").read_text())
    assert stats["AP"] == stats["baseline"]["AP"] > 0 and stats["run"]["oks_sigmas"] == "coco"
    low, high = stats["intervals"]["AP"]  # the redraws scored with COCO's sigmas too, not the file's 1.0
    assert low <= stats["AP"] <= high and stats["intervals"] == stats["baseline"]["intervals"]


def test_eval_of_other_keypoints_scores_with_the_models_own_sigmas_and_refuses_a_baseline_of_others(
    cli, model_path, tmp_path
):
    names = [f"joint{i}" for i in range(17)]
    own = _with_metadata(model_path, tmp_path / "own.onnx", keypoint_names=names, oks_sigmas=[0.05] * 17)
    other = _with_metadata(model_path, tmp_path / "other.onnx", keypoint_names=names, oks_sigmas=[0.5] * 17)
    cv2.imwrite(str(tmp_path / "a.png"), np.full((64, 64, 3), 128, np.uint8))
    content = {**ONE_IMAGE, "categories": [{"id": 1, "name": "person", "keypoints": names}], "annotations": [PERSON]}
    (tmp_path / "a.json").write_text(json.dumps(content))
    data = ["--annotations", tmp_path / "a.json", "--images", tmp_path]
    rc, _, err = cli("eval", "--model", own, *data, "--out", tmp_path / "stats.json")
    assert rc == 0, err
    assert "OKS sigmas: the model file's own" in err
    assert json.loads((tmp_path / "stats.json").read_text())["run"]["oks_sigmas"] == "model"
    rc, _, err = cli("eval", "--model", own, *data, "--baseline", other)
    _assert_clean_error(rc, err, "different OKS sigmas", "would not compare")


def test_eval_never_replaces_a_file_another_run_is_writing(
    cli, model_path, tmp_path, shared_data, held_elsewhere, monkeypatch
):
    """A track writing its COCO JSON as res.json, and an eval --out res.json: both said 'wrote', one file lived. The
    refusal comes before the scoring, not after it (minutes on COCO val)."""
    import core.eval_run

    monkeypatch.setattr(core.eval_run, "predict_dataset", lambda *a: pytest.fail("the network ran first"))
    data = ["--annotations", shared_data / "val" / "annotations.json", "--images", shared_data / "val" / "images"]
    (tmp_path / "res.json").write_text("[]")
    with held_elsewhere(tmp_path / "res.json"):
        rc, _, err = cli("eval", "--model", model_path, *data, "--size", 128, "--out", tmp_path / "res.json")
    _assert_clean_error(rc, err, f"is writing {tmp_path / 'res.json'} right now")
    assert (tmp_path / "res.json").read_text() == "[]"


def test_eval_checks_the_keypoints_before_any_image_goes_through_the_network(cli, model_path, tmp_path, monkeypatch):
    import core.eval_run

    monkeypatch.setattr(core.eval_run, "predict_dataset", lambda *a: pytest.fail("the network ran first"))
    names = list(PoseModel(model_path).info.keypoint_names)[::-1]  # the model's joints, listed backwards
    content = {**ONE_IMAGE, "categories": [{"id": 1, "keypoints": names}], "annotations": [PERSON]}
    (tmp_path / "a.json").write_text(json.dumps(content))
    rc, _, err = cli("eval", "--model", model_path, "--annotations", tmp_path / "a.json", "--images", tmp_path)
    _assert_clean_error(rc, err, "in another order than the model")


def test_eval_finds_images_missing_from_the_folder_before_any_goes_through_the_network(
    cli, model_path, tmp_path, shared_data, monkeypatch
):
    """A folder missing the set's last image failed after every other image was scored (minutes on COCO val)."""
    import core.eval_run

    monkeypatch.setattr(core.eval_run, "predict_dataset", lambda *a: pytest.fail("the network ran first"))
    data = json.loads((shared_data / "val" / "annotations.json").read_text())
    for image in data["images"][:-1]:
        (tmp_path / image["file_name"]).symlink_to(shared_data / "val" / "images" / image["file_name"])
    (tmp_path / "a.json").write_text(json.dumps(data))
    rc, _, err = cli("eval", "--model", model_path, "--annotations", tmp_path / "a.json", "--images", tmp_path)
    _assert_clean_error(
        rc, err, f"1 image of {tmp_path / 'a.json'} is not in {tmp_path}: {data['images'][-1]['file_name']}"
    )


def test_eval_says_how_many_images_have_no_annotation_at_all(cli, model_path, tmp_path):
    """A CVAT task holding more frames than a --max-frames run tracked exports the others with nobody in them: each
    pose found there counted as a false one unsaid (AP 0.562 fell to 0.130 with 141 such frames of 200)."""
    names = ["a.png", "b.png", "c.png"]
    for name in names:
        cv2.imwrite(str(tmp_path / name), np.full((64, 64, 3), 128, np.uint8))
    images = [{"id": n, "file_name": name, "width": 64, "height": 64} for n, name in enumerate(names, 1)]
    args = ("eval", "--model", model_path, "--annotations", tmp_path / "a.json", "--images", tmp_path)
    crowd = {**PERSON, "id": 2, "image_id": 3, "iscrowd": 1}  # a pose in a crowd region counts against nobody
    (tmp_path / "a.json").write_text(json.dumps({**ONE_IMAGE, "images": images, "annotations": [PERSON, crowd]}))
    rc, _, err = cli(*args)
    assert rc == 0 and "wlitepose: note: 1 of the 3 images has no annotation at all" in err, err
    everyone = [{**PERSON, "id": n, "image_id": n} for n in (1, 2, 3)]
    (tmp_path / "a.json").write_text(json.dumps({**ONE_IMAGE, "images": images, "annotations": everyone}))
    rc, _, err = cli(*args)
    assert rc == 0 and "no annotation" not in err, err


def test_eval_reads_no_image_outside_its_folder(cli, model_path, tmp_path, shared_data, monkeypatch):
    """An annotation file naming /any/photo.jpg or ../photo.jpg had eval read it from anywhere on the disk (train
    too: the same check_images serves both); shrink-data alone refused it."""
    import core.eval_run

    monkeypatch.setattr(core.eval_run, "predict_dataset", lambda *a: pytest.fail("an image outside was read"))
    data = json.loads((shared_data / "val" / "annotations.json").read_text())
    first = shared_data / "val" / "images" / data["images"][0]["file_name"]
    (tmp_path / "images").mkdir()
    for image in data["images"][1:]:  # the others are there: the first alone is looked for elsewhere
        (tmp_path / "images" / image["file_name"]).symlink_to(first.parent / image["file_name"])
    (tmp_path / first.name).symlink_to(first)  # beside the images folder
    for name in (str(first), f"../{first.name}"):
        data["images"][0]["file_name"] = name
        (tmp_path / "a.json").write_text(json.dumps(data))
        rc, _, err = cli(
            "eval", "--model", model_path, "--annotations", tmp_path / "a.json", "--images", tmp_path / "images"
        )
        _assert_clean_error(rc, err, f"{tmp_path / 'a.json'} names an image outside its images folder: {name}")


def test_eval_bad_paths(cli, model_path, tmp_path):
    rc, _, err = cli("eval", "--model", model_path, "--annotations", tmp_path / "a.json", "--images", tmp_path)
    _assert_clean_error(rc, err, "a.json", "does not exist")
    rc, _, err = cli("eval", "--model", model_path, "--annotations", tmp_path, "--images", tmp_path)
    _assert_clean_error(rc, err, "is a folder")
    (tmp_path / "a.json").write_text("[]")
    rc, _, err = cli("eval", "--model", model_path, "--annotations", tmp_path / "a.json", "--images", model_path)
    _assert_clean_error(rc, err, "is a file, not a folder")  # it said the images folder does not exist


def test_eval_never_writes_its_results_over_a_file_it_reads(cli, model_path, tmp_path):
    annotations = tmp_path / "a.json"
    annotations.write_text(json.dumps({**ONE_IMAGE, "annotations": [PERSON]}))
    (tmp_path / "a.png").write_bytes(b"an image of the set")
    model = tmp_path / "m.onnx"
    model.write_bytes(Path(model_path).read_bytes())
    for out in (annotations, model, tmp_path / "a.png"):
        before = out.read_bytes()
        rc, _, err = cli("eval", "--model", model, "--annotations", annotations, "--images", tmp_path, "--out", out)
        _assert_clean_error(rc, err, str(out), "reads")
        assert out.read_bytes() == before


PERSON = {"id": 1, "image_id": 1, "category_id": 1, "iscrowd": 0, "bbox": [0, 0, 9, 9], "keypoints": [5, 5, 2] * 17}
ONE_IMAGE = {"images": [{"id": 1, "file_name": "a.png"}], "categories": [{"id": 1}]}


@pytest.mark.parametrize(
    "content, extra, words",
    [
        ({"images": [], "annotations": [], "categories": []}, (), ["no categories"]),
        ({**ONE_IMAGE, "annotations": []}, (), ["no annotated people"]),
        ({**ONE_IMAGE, "annotations": [PERSON]}, ("--size", 0), ["--size", "multiple of 32"]),
        ({**ONE_IMAGE, "annotations": [PERSON]}, ("--size", 33), ["--size", "multiple of 32"]),
        ({**ONE_IMAGE, "annotations": [PERSON]}, ("--size", 100000), ["--size", "up to 2048"]),
        ({**ONE_IMAGE, "annotations": [PERSON]}, ("--threads", -1), ["--threads"]),
        ({**ONE_IMAGE, "annotations": [PERSON]}, ("--baseline", "b.onnx", "--bootstrap", 0), ["positive number"]),
        ({**ONE_IMAGE, "annotations": [{**PERSON, "image_id": 2}]}, (), ["no annotated people"]),  # not listed
        ({**ONE_IMAGE, "annotations": [{k: v for k, v in PERSON.items() if k != "image_id"}]}, (), ["image_id"]),
        ({**ONE_IMAGE, "annotations": [PERSON, {**PERSON, "keypoints": [5, 5, 2] * 16}]}, (), ["48 keypoint values"]),
        ({**ONE_IMAGE, "annotations": [{**PERSON, "keypoints": ["a"] * 51}]}, (), ["not numbers"]),
        ({**ONE_IMAGE, "images": [{"id": 1}], "annotations": [PERSON]}, (), ["file_name"]),
        ({**ONE_IMAGE, "annotations": [{**PERSON, "keypoints": [5, 5, 2] * 14}]}, (), ["14 keypoints", "has 17"]),
    ],
)
def test_eval_refuses_what_it_cannot_score(cli, model_path, tmp_path, content, extra, words):
    (tmp_path / "a.json").write_text(json.dumps(content))
    rc, out, err = cli(
        "eval", "--model", model_path, "--annotations", tmp_path / "a.json", "--images", tmp_path, *extra
    )
    _assert_clean_error(rc, err, *words)
    assert "AP" not in out


def test_an_output_over_an_input_is_refused_and_the_input_kept(cli, model_path, video_path, tmp_path):
    clip, model = tmp_path / "clip.avi", tmp_path / "model.onnx"
    clip.write_bytes(video_path.read_bytes())
    model.write_bytes(model_path.read_bytes())
    for option, target in (("--video", clip), ("--csv", clip), ("--posec3d", model)):
        rc, _, err = cli("track", clip, "--model", model, option, target, "--max-frames", 1)
        _assert_clean_error(rc, err, "a file this run reads")
    assert clip.read_bytes() == video_path.read_bytes() and model.read_bytes() == model_path.read_bytes()


def test_a_video_cut_short_is_tracked_to_its_end_with_a_warning(cli, model_path, video_path, tmp_path):
    source = cv2.VideoCapture(str(video_path))
    frames = [source.read()[1] for _ in range(8)]
    source.release()
    whole = tmp_path / "whole.avi"
    writer = cv2.VideoWriter(str(whole), cv2.VideoWriter_fourcc(*"MJPG"), 10.0, (768, 576))
    for frame in frames:
        writer.write(frame)
    writer.release()
    cut = tmp_path / "cut.avi"
    cut.write_bytes(whole.read_bytes()[: whole.stat().st_size * 2 // 5])  # the index at the end is gone too
    rc, _, err = cli("track", cut, "--model", model_path, "--csv", tmp_path / "k.csv")
    assert rc == 0, err
    written = json.loads((tmp_path / "k.csv.json").read_text())["frames_written"]
    assert 0 < written < 8
    assert f"ended after {written} of the 8 frames its header counts" in err
    rc, _, err = cli("track", cut, "--model", model_path, "--max-frames", 6, "--csv", tmp_path / "k.csv")
    assert rc == 0, err  # the header's count is not the 6 asked for, as it was called
    assert f"ended after {written} of the 6 frames asked for (" in err and "; its header counts 8)" in err


def _touch(path, data: bytes):
    path.write_bytes(data)
    return path


def _mkdir(path):
    path.mkdir()
    return path


def _strip_metadata(model_path, out):
    onnx = pytest.importorskip("onnx")

    proto = onnx.load(str(model_path))
    del proto.metadata_props[:]
    onnx.save(proto, str(out))
    return out


# main.main with only core's subcommands, in a fresh Python whose standard streams a test chooses
TRACK = "import sys, main; main.COMMANDS = {'track': main.COMMANDS['track']}; sys.exit(main.main(sys.argv[1:]))"


def _track_process(cwd: Path, *argv, **streams) -> subprocess.Popen:
    """`wlitepose track ARGV` started in ``cwd``, its standard streams as ``streams`` give them."""
    env = {**os.environ, "PYTHONPATH": str(Path(main.__file__).resolve().parent)}
    return subprocess.Popen([sys.executable, "-c", TRACK, "track", *map(str, argv)], cwd=cwd, env=env, **streams)


def test_csv_dash_streams_the_csv_files_bytes_to_the_standard_output(
    cli, coco_metadata, painted_model, video_path, tmp_path, monkeypatch
):
    """`track clip --csv - | script`: it wrote a file named - and its sidecar -.json, and nothing to the pipe."""
    monkeypatch.chdir(tmp_path)
    model = _two_people(painted_model, coco_metadata, tmp_path / "m.onnx")
    track = ("track", video_path, "--model", model, "--max-frames", 3)
    rc, out, err = cli(*track, "--csv", "-")
    assert rc == 0 and "wlitepose: wrote the CSV on the standard output\n" in err, err
    assert [path.name for path in tmp_path.iterdir()] == ["m.onnx"]  # no sidecar, no lock
    rc, _, err = cli(*track, "--csv", "./-")  # a file named -, as Unix tools take ./-
    assert rc == 0, err
    assert out.encode() == (tmp_path / "-").read_bytes() and out.count("\n") == 1 + 3 * 2


@pytest.mark.parametrize("people", [2, 0])
def test_a_reader_that_leaves_ends_a_csv_dash_run_quietly(
    coco_metadata, painted_model, model_path, video_path, tmp_path, people
):
    """`track clip --csv - | head -5`: the run stops once its reader has left, as a pipe's writer does: exit 0, no
    traceback, its other outputs closed whole and said to end there. With nobody in view (the untrained model finds
    no one) no row is written that would find the reader gone: the run went on to its end."""
    model = _two_people(painted_model, coco_metadata, tmp_path / "m.onnx") if people else model_path
    argv = (video_path, "--model", model, "--max-frames", 100, "--csv", "-", "--coco-dataset", tmp_path / "d.json")
    with _track_process(tmp_path, *argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE) as run:
        header = run.stdout.readline()
        run.stdout.close()
        err = run.stderr.read().decode()
    assert header.startswith(b"frame,time_s,track_id,score,")
    assert run.returncode == 0 and "Traceback" not in err and "wrote" not in err, err
    assert f"the CSV's reader left: {tmp_path / 'd.json'} end at that frame" in err
    assert len(json.loads((tmp_path / "d.json").read_text())["images"]) < 100  # not the whole run: it stopped
    assert not (tmp_path / "-").exists()


def _screen(master: int) -> str:
    """All a pseudo-terminal showed once every writer closed it (one read can return before the last redraw has
    crossed the terminal)."""
    shown = b""
    with open(master, "rb", buffering=0) as screen:
        try:
            while chunk := screen.read(4096):
                shown += chunk
        except OSError:  # Linux: the terminal closed and everything it wrote was read
            pass
    return shown.decode()


@pytest.mark.skipif(os.name == "nt", reason="a pseudo-terminal is POSIX's")
def test_csv_dash_on_a_terminal_draws_no_progress_bar_amid_its_rows(coco_metadata, painted_model, video_path, tmp_path):
    """`track clip --csv -` typed at a terminal: the bar's redraws landed amid the rows on the same screen."""
    import pty

    model = _two_people(painted_model, coco_metadata, tmp_path / "m.onnx")
    master, child = pty.openpty()
    argv = (video_path, "--model", model, "--max-frames", 3, "--csv", "-")
    with _track_process(tmp_path, *argv, stdout=child, stderr=child) as run:
        os.close(child)
        text = _screen(master).replace("\r\n", "\n")  # the terminal ends its lines so
    assert run.returncode == 0 and "\r" not in text and "[" not in text, text
    lines = text.splitlines()
    rows = [line for line in lines if "," in line and not line.startswith("wlitepose:")]
    assert rows[0].startswith("frame,time_s,track_id,") and len(rows) == 1 + 3 * 2
    assert any(line.startswith("3 frames in ") for line in lines)  # the summary still ends the run


@pytest.mark.skipif(os.name == "nt", reason="a pseudo-terminal is POSIX's")
def test_csv_dash_leaves_the_bar_where_the_rows_are_not_on_its_terminal(
    coco_metadata, painted_model, video_path, tmp_path
):
    """`track clip --csv - > rows.csv` at a terminal draws the bar there; `track clip --csv - 2> log` writes its
    line to the log: the rows are elsewhere in both."""
    import pty

    model = _two_people(painted_model, coco_metadata, tmp_path / "m.onnx")
    argv = (video_path, "--model", model, "--max-frames", 3, "--csv", "-")
    master, child = pty.openpty()
    with _track_process(tmp_path, *argv, stdout=subprocess.PIPE, stderr=child) as run:
        os.close(child)
        screen, rows = _screen(master), run.stdout.read().decode()
    assert run.returncode == 0 and "\r[" in screen and "] 3/3 " in screen and rows.startswith("frame,"), screen
    master, child = pty.openpty()
    with _track_process(tmp_path, *argv, stdout=child, stderr=subprocess.PIPE) as run:
        os.close(child)
        log, screen = run.stderr.read().decode(), _screen(master)
    assert run.returncode == 0 and "] 3/3 " in log and "frame,time_s," in screen, log


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="/dev/full, a device every write to fails, is Linux's")
def test_csv_dash_into_a_full_disk_is_results_lost(model_path, video_path, tmp_path):
    """`track clip --csv - > rows.csv` on a full disk: one sentence, exit 2, as for any command's lost results."""
    argv = (video_path, "--model", model_path, "--max-frames", 3, "--csv", "-")
    with open("/dev/full", "w") as full, _track_process(tmp_path, *argv, stdout=full, stderr=subprocess.PIPE) as run:
        err = run.stderr.read().decode()
    assert run.returncode == 2 and "Traceback" not in err, err
    assert err.endswith("\nwlitepose: error: cannot write the standard output: No space left on device\n")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    "given, words",
    [
        (("--coco-json", "-"), ("--coco-json", "standard output")),
        (("--video", "-"), ("--video", "standard output")),
        (("--posec3d", "-"), ("--posec3d", "standard output")),
        (("--coco-dataset", "-"), ("--coco-dataset", "standard output")),
        (("--openpose-dir", "-"), ("--openpose-dir", "standard output")),
        (("--csv", "-", "--video", "-"), ("--video", "standard output")),
        (("--csv", "-", "--skip-done"), ("--skip-done", "--csv -")),
        ((SAMPLE_CLIP, "--csv", "-"), ("--csv -", "one source")),
    ],
)
def test_what_cannot_go_to_the_standard_output_is_refused_before_any_work(
    cli, model_path, video_path, tmp_path, monkeypatch, given, words
):
    """Only the CSV streams, of one source, without the sidecar --skip-done reads: the others wrote files named -."""
    import core.track_run

    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(core.track_run, "PoseModel", lambda *a, **k: pytest.fail("the model was loaded first"))
    rc, out, err = cli("track", video_path, *given, "--model", model_path)
    _assert_clean_error(rc, err, *words)
    assert out == "" and "source 768x576" not in err and list(tmp_path.iterdir()) == []


def test_a_mistyped_command_is_named_not_opened_in_the_app(cli):
    rc, _, err = cli("trak", "clip.mp4")
    _assert_clean_error(rc, err, "'trak'", "neither a command")


def _two_people(painted_model, coco_metadata, path: Path) -> Path:
    """A painted model file that finds the same two people in every frame of a 768x576 video."""
    box = letterbox_geometry((768, 576), 256)
    truth = random_people(np.random.default_rng(3), 2, 17, box.input_size, overlap=0.0)
    heatmaps, tags = paint(truth, np.array([0.0, 3.0], np.float32), box.input_size)
    return painted_model(path, heatmaps, tags, coco_metadata)


def test_a_batch_gives_each_source_its_own_files_and_fresh_tracks(
    cli, coco_metadata, painted_model, write_clip, tmp_path
):
    model = _two_people(painted_model, coco_metadata, tmp_path / "m.onnx")
    first = write_clip(tmp_path / "first.avi", 4)
    second = tmp_path / "second take.avi"
    second.write_bytes(first.read_bytes())
    out = tmp_path / "out"
    outputs = ("--csv", out / "{name}.csv", "--video", out / "{name}.mp4")
    rc, _, err = cli("track", first, second, "--model", model, *outputs)
    assert rc == 0, err
    assert f"[1/2] {first} (batch: " in err and f"[2/2] {second} (batch: " in err  # no earlier run to tell of
    assert "2 of 2 sources done, 8 frames" in err
    rows = {name: (out / f"{name}.csv").read_text() for name in ("first", "second take")}
    assert rows["first"] == rows["second take"]  # the same frames: the same rows, IDs from 1 again
    assert sorted({line.split(",")[2] for line in rows["first"].splitlines()[-2:]}) == ["1", "2"]
    assert json.loads((out / "second take.csv.json").read_text())["source"] == str(second)
    assert all((out / f"{name}.mp4").stat().st_size > 0 for name in rows)


def test_a_stopped_batch_run_again_with_skip_done_goes_on_where_it_stopped(cli, model_path, write_clip, tmp_path):
    """A batch of many videos stopped at the thirtieth had to run the first twenty-nine again."""
    clips = [write_clip(tmp_path / f"{name}.avi", 4) for name in ("a", "b", "c")]
    out = tmp_path / "out"
    outputs = ("--model", model_path, "--csv", out / "{name}.csv", "--video", out / "{name}.mp4")
    assert cli("track", *clips[:2], *outputs)[0] == 0  # a and b finished
    assert cli("track", clips[2], "--max-frames", 2, *outputs)[0] == 0  # c stopped before its end
    assert [json.loads((out / f"{n}.csv.json").read_text())["finished"] for n in "abc"] == [True, True, False]
    (out / "b.mp4").unlink()  # an output lost since: b is run again
    written = {n: (out / f"{n}.csv.json").stat().st_mtime_ns for n in "abc"}
    rc, _, err = cli("track", *clips, *outputs, "--skip-done")
    assert rc == 0, err
    assert f"[1/3] {clips[0]}: finished before, passed over" in err
    assert f"[2/3] {clips[1]}: run again: an output of its last run is gone" in err  # each told why it runs
    assert f"[3/3] {clips[2]}: run again: its last run is not recorded as finished" in err
    assert "2 of 3 sources done, 8 frames" in err and "1 finished before, passed over (--skip-done)" in err
    assert (out / "a.csv.json").stat().st_mtime_ns == written["a"] and (out / "b.mp4").exists()
    assert json.loads((out / "c.csv.json").read_text())["finished"] is True
    rc, _, err = cli("track", *clips, *outputs, "--skip-done", "--detection-threshold", 0.3)  # other settings
    assert rc == 0 and "3 of 3 sources done" in err and "passed over" not in err
    assert f"[1/3] {clips[0]}: run again: its last run used other settings" in err
    rc, _, err = cli("track", clips[0], "--model", model_path, "--skip-done")
    _assert_clean_error(rc, err, "--skip-done needs --csv")


def _clips(write_clip, tmp_path, names: str) -> tuple[list, Path]:
    """A two-frame clip named after each letter of ``names``, and the folder a batch of them writes into."""
    return [write_clip(tmp_path / f"{name}.avi", 2) for name in names], tmp_path / "out"


def _csv_and_video(model_path, out: Path) -> tuple:
    """`track`'s options for a batch's CSVs and videos into ``out``, on one thread."""
    return ("--model", model_path, "--csv", out / "{name}.csv", "--video", out / "{name}.mp4", "--threads", 1)


def test_skip_done_passes_over_every_source_of_a_finished_batch(cli, model_path, write_clip, tmp_path):
    """Each source is judged by its own outputs: judged by the first source's, a finished batch run again with
    --skip-done ran all but the first again."""
    clips, out = _clips(write_clip, tmp_path, "abc")
    outputs = ("--model", model_path, "--csv", out / "{name}.csv")
    assert cli("track", *clips, *outputs)[0] == 0
    rc, _, err = cli("track", *clips, *outputs, "--skip-done")
    assert rc == 0 and "0 of 3 sources done" in err and "3 finished before, passed over (--skip-done)" in err


def _at_look(monkeypatch, name: str, look: int, then) -> None:
    """Runs ``then`` right after the run's ``look``-th look at whether another run holds an output of source
    ``name`` (being_written): the first is its pass's, the second the first of its wait for it, the third the
    wait's first look again after a pause (a wait that stopped after one look would not reach it)."""
    import core.sinks.multi
    import core.track_run

    real, looks = core.sinks.multi.being_written, itertools.count(1)

    def looking(options, source):
        held = real(options, source)
        if source == name and next(looks) == look:
            then()
        return held

    for module in (core.track_run, core.sinks.multi):  # the pass's look, and the wait's (wait_while_written)
        monkeypatch.setattr(module, "being_written", looking)


def test_skip_done_waits_for_a_source_another_run_is_tracking(
    cli, model_path, write_clip, tmp_path, held_elsewhere, monkeypatch
):
    """One batch started twice with --skip-done to share it out: a run passed over the source the other one held and
    exited 0 at once, not knowing whether the other one would finish it. It waits for it at the end of its pass."""
    clips, out = _clips(write_clip, tmp_path, "ab")
    outputs = _csv_and_video(model_path, out)
    other, finished = _other_run_finishing(cli, clips[0], outputs, out, monkeypatch)
    with other:
        other.enter_context(held_elsewhere(out / "a.csv"))
        rc, _, err = cli("track", *clips, *outputs)  # without --skip-done two runs of one output are a mistake
        _assert_clean_error(rc, err, f"another run (wlitepose track, the app or a training) is writing {out / 'a.csv'}")
        rc, _, err = cli("track", *clips, *outputs, "--skip-done")
    assert rc == 0, err
    assert f"[1/2] {clips[0]}: being tracked by another run (it holds {out / 'a.csv'}), passed over for now" in err
    assert err.count(f"waiting for another run to finish {clips[0]} (it holds {out / 'a.csv'})") == 1
    assert f"[1/2] {clips[0]}: done by another run" in err and "error" not in err
    assert "1 of 2 sources done" in err and "; 1 done by another run (--skip-done)" in err
    assert err.count("), input ") == 1  # b's model line: a was opened by no one here
    assert {path: path.read_bytes() for path in finished} == finished


def _other_run_finishing(cli, clip, outputs, out, monkeypatch) -> tuple[contextlib.ExitStack, dict]:
    """Another run of source a (``clip``): an ExitStack for its locks, which at this run's third look at them (the
    wait's second) writes a finished run's files into ``out`` and lets them go, as a run ends; and those files' bytes
    (made here by a real run first, then removed)."""
    assert cli("track", clip, *outputs)[0] == 0
    finished = {path: path.read_bytes() for path in out.iterdir()}
    other = contextlib.ExitStack()

    def finishes():
        for path, data in finished.items():
            path.write_bytes(data)
        other.close()

    _at_look(monkeypatch, "a", 3, finishes)
    for path in finished:
        path.unlink()
    return other, finished


def test_skip_done_tracks_a_source_another_run_held_and_did_not_finish(
    cli, model_path, write_clip, tmp_path, held_elsewhere, monkeypatch
):
    """The other run (the app recording a.mp4) held only the video: the batch passed a over without saying which
    output was held, exited 0, and a.csv was written by no one. Once let go unfinished, a is tracked here."""
    clips, out = _clips(write_clip, tmp_path, "ab")
    outputs = _csv_and_video(model_path, out)
    with contextlib.ExitStack() as other:
        other.enter_context(held_elsewhere(out / "a.mp4"))
        _at_look(monkeypatch, "a", 3, other.close)  # ended, killed: its lock holds nothing
        rc, _, err = cli("track", *clips, *outputs, "--skip-done")
    assert rc == 0, err
    assert f"[1/2] {clips[0]}: being tracked by another run (it holds {out / 'a.mp4'}), passed over for now" in err
    assert f"waiting for another run to finish {clips[0]} (it holds {out / 'a.mp4'})" in err
    assert f"[2/2] {clips[1]} (batch: 4 frames left)\n" in err  # a's frames too: still to do, here or there
    assert f"[1/2] {clips[0]} (batch: 2 frames left, about " in err and "2 of 2 sources done" in err
    assert "error" not in err
    assert err.count("), input ") == 2 and err.index("), input ") > err.index(f"[2/2] {clips[1]}")  # a: once taken up
    assert json.loads((out / "a.csv.json").read_text())["finished"] is True


def test_a_one_source_skip_done_run_ends_once_the_other_run_finished_its_source(
    cli, model_path, write_clip, tmp_path, held_elsewhere, monkeypatch
):
    """`track a.avi --csv "out/{name}.csv" --skip-done` in a shell loop run in two terminals: one of them exited 0 at
    once, while the other was still writing a.csv, and the script after it read a half-written CSV."""
    clip = write_clip(tmp_path / "a.avi", 2)
    out = tmp_path / "out"
    outputs = ("--model", model_path, "--csv", out / "{name}.csv", "--threads", 1)
    other, _ = _other_run_finishing(cli, clip, outputs, out, monkeypatch)
    with other:
        other.enter_context(held_elsewhere(out / "a.csv"))
        rc, _, err = cli("track", clip, *outputs, "--skip-done")
    assert rc == 0, err
    assert f"waiting for another run to finish {clip} (it holds {out / 'a.csv'})" in err
    assert f"[1/1] {clip}: done by another run" in err and "), input " not in err
    assert json.loads((out / "a.csv.json").read_text())["finished"] is True


def test_skip_done_passes_over_a_source_another_run_took_after_the_check(
    cli, model_path, write_clip, tmp_path, held_elsewhere, monkeypatch
):
    """Two runs reaching one source together: the other run takes its outputs between this run's look at their
    locks and its taking them. The loser moves on, no failure, and takes it up once the other let go unfinished."""
    import core.track_run

    clips, out = _clips(write_clip, tmp_path, "ab")
    judged, other = core.track_run.rerun_reason, contextlib.ExitStack()

    def other_run_arrives(spec, options, *args):  # after this run's look at the locks, before it takes them
        if spec == str(clips[0]) and not (out / "b.csv").exists():
            other.enter_context(held_elsewhere(out / "a.csv"))
        return judged(spec, options, *args)

    monkeypatch.setattr(core.track_run, "rerun_reason", other_run_arrives)
    _at_look(monkeypatch, "a", 3, other.close)
    with other:
        rc, _, err = cli("track", *clips, "--model", model_path, "--csv", out / "{name}.csv", "--skip-done")
    assert rc == 0, err
    assert f"[1/2] {clips[0]}: being tracked by another run (it holds {out / 'a.csv'}), passed over for now" in err
    assert "2 of 2 sources done" in err and "error" not in err
    assert json.loads((out / "a.csv.json").read_text())["finished"] is True


@pytest.mark.parametrize(
    ("held", "look", "stopped"),
    [
        ("a", 1, "stopped; not started: {0}, {1}, {2}"),
        ("ac", 3, "stopped while waiting for another run to finish {0}; not started: {2}"),
    ],
    ids=["pass", "wait"],
)
def test_ctrl_c_by_a_source_another_run_holds_stops_there(
    cli, model_path, write_clip, tmp_path, held_elsewhere, monkeypatch, held, look, stopped
):
    """Ctrl-C while a held source was looked at in the pass still started the next source (its `continue` skipped
    the check); during the wait for it, it must stop the wait and take up no other. The line says what it was doing:
    "stopped during a" read as a tracked in part, where nothing of it was."""
    clips, out = _clips(write_clip, tmp_path, "abc")
    _at_look(monkeypatch, "a", look, lambda: os.kill(os.getpid(), signal.SIGINT))
    with contextlib.ExitStack() as others:
        for name in held:
            others.enter_context(held_elsewhere(out / f"{name}.csv"))
        rc, _, err = cli("track", *clips, "--model", model_path, "--csv", out / "{name}.csv", "--skip-done")
    assert rc == 128 + signal.SIGINT, err
    assert f"wlitepose: {stopped.format(*clips)}\n" in err
    assert err.count("), input ") == len(held) - 1 and f"finish {clips[2]}" not in err  # b's, in the wait's case


def test_without_skip_done_an_output_another_run_took_after_the_start_fails_its_source(
    cli, model_path, write_clip, tmp_path, held_elsewhere, monkeypatch
):
    """Sharing a batch out is --skip-done's: without it, another run taking a source's output once the batch started
    is two runs of one file, a failure the summary names (exit 2), not a source passed over."""
    import core.track_run

    clips, out = _clips(write_clip, tmp_path, "ab")
    loaded, other = core.track_run.PoseModel, contextlib.ExitStack()

    def other_run_arrives(*args, **kwargs):  # after this run's check of its outputs, while its model loads
        other.enter_context(held_elsewhere(out / "a.csv"))
        return loaded(*args, **kwargs)

    monkeypatch.setattr(core.track_run, "PoseModel", other_run_arrives)
    with other:
        rc, _, err = cli("track", *clips, "--model", model_path, "--csv", out / "{name}.csv")
    assert rc == 2 and "passed over" not in err and err.rstrip().endswith(f"; failed: {clips[0]}"), err


def test_a_max_frames_run_that_reached_the_source_end_is_finished(cli, model_path, grey_clip, tmp_path):
    """--max-frames 4 on a clip of 4 frames (or --max-frames 1 on one image) analysed every frame, yet its sidecar
    said not finished, and the run again with --skip-done did it all again."""
    clip = grey_clip(tmp_path / "clip.avi", 10, frames=4)
    outputs = ("--model", model_path, "--csv", tmp_path / "{name}.csv")
    for frames, finished in ((3, False), (4, True)):
        assert cli("track", clip, *outputs, "--max-frames", frames)[0] == 0
        sidecar = json.loads((tmp_path / "clip.csv.json").read_text())
        assert (sidecar["frames_written"], sidecar["finished"]) == (frames, finished)
    rc, _, err = cli("track", clip, *outputs, "--max-frames", 4, "--skip-done")
    assert rc == 0 and "finished before, passed over" in err


def test_max_frames_stops_at_that_many_frames_of_a_clip_whose_header_counts_fewer(cli, model_path, grey_clip, tmp_path):
    """A clip of 5 frames whose headers count 3: --max-frames 3 reads a fourth to learn whether it ended, and must
    not write it, nor the fifth."""
    clip = grey_clip(tmp_path / "clip.avi", 10, frames=5, step=40)
    data = bytearray(clip.read_bytes())
    for chunk, offset in ((b"avih", 16), (b"strh", 32)):  # the main header's frame count, the stream header's length
        data[data.index(chunk) + 8 + offset : data.index(chunk) + 12 + offset] = (3).to_bytes(4, "little")
    clip.write_bytes(data)
    assert cv2.VideoCapture(str(clip)).get(cv2.CAP_PROP_FRAME_COUNT) == 3  # the header counts fewer than it holds
    assert cli("track", clip, "--model", model_path, "--csv", tmp_path / "c.csv", "--max-frames", 3)[0] == 0
    sidecar = json.loads((tmp_path / "c.csv.json").read_text())
    assert (sidecar["frames_written"], sidecar["finished"]) == (3, False)


def test_skip_done_runs_again_what_changed_since(cli, model_path, write_clip, tmp_path, monkeypatch):
    """A reviewer's cases, each passed over with the earlier run's results: a source file replaced by another
    under its name, an image folder at another --fps, an output the earlier run did not write (another run's
    file there); and a ~ in --csv that made every source run again."""
    monkeypatch.setenv("HOME", str(tmp_path))
    clip, other = write_clip(tmp_path / "clip.avi", 3), write_clip(tmp_path / "other.avi", 4)
    folder = tmp_path / "stills"
    folder.mkdir()
    cv2.imwrite(str(folder / "a.png"), cv2.VideoCapture(str(clip)).read()[1])

    said = []

    def again(source, *extra):  # the outputs under ~, as a user types them
        rc, _, err = cli("track", source, "--model", model_path, "--csv", "~/out.csv", *extra, "--skip-done")
        assert rc == 0, err
        said.append(err.partition("run again: ")[2].partition("\n")[0])  # why it ran, where it ran again
        return "passed over" in err

    assert not again(clip) and again(clip)
    os.replace(other, clip)  # another clip under the same name
    assert not again(clip) and again(clip)
    coco = ("--coco-json", tmp_path / "people.json")
    assert not again(clip, *coco) and again(clip, *coco)
    assert not again(folder) and again(folder) and not again(folder, "--fps", 2)
    changed, other_outputs = "the source has changed since its last run", "its last run wrote other outputs"
    assert said == ["", "", changed, "", other_outputs, "", "", "", "its last run played it at another --fps"]


@pytest.mark.parametrize("change", ["replaced", "removed"])
def test_a_source_that_changed_while_it_was_read_is_no_finished_run(
    cli, model_path, write_clip, tmp_path, monkeypatch, change
):
    """A video replaced or removed under a run (the stamp compared is a file's size and time, a folder's images:
    tests/core/test_sources.py checks those): the sidecar said "finished" of results that are not those of the
    source now there, without a word."""
    import core.track_run

    clip, other = write_clip(tmp_path / "clip.avi", 3), write_clip(tmp_path / "other.avi", 4)
    for_frames = core.track_run.run_frames

    def replaced_after_the_first_frame(*args, **kwargs):
        frames = for_frames(*args, **kwargs)
        yield next(frames)
        # as another process's copy lands, or the file is deleted: the run reads on from the file it opened
        if change == "replaced":
            os.replace(other, clip)
        else:
            clip.unlink()
        yield from frames

    monkeypatch.setattr(core.track_run, "run_frames", replaced_after_the_first_frame)
    rc, _, err = cli("track", clip, "--model", model_path, "--csv", tmp_path / "out.csv")
    assert rc == 0 and "clip.avi changed while it was read" in err, err
    sidecar = json.loads((tmp_path / "out.csv.json").read_text())
    assert sidecar["finished"] is False and sidecar["frames_written"] == 3


def test_skip_done_runs_again_a_folder_that_gained_an_image(cli, model_path, write_clip, tmp_path):
    """A folder's size is that of its block on most file systems: the same with one more image; its modification
    time tells."""
    folder = tmp_path / "stills"
    folder.mkdir()
    frame = cv2.VideoCapture(str(write_clip(tmp_path / "clip.avi", 1))).read()[1]
    cv2.imwrite(str(folder / "a.png"), frame)
    outputs = ("--model", model_path, "--csv", tmp_path / "out.csv", "--skip-done")
    assert "passed over" not in cli("track", folder, *outputs)[2]
    cv2.imwrite(str(folder / "b.png"), frame)  # a picture more since
    rc, _, err = cli("track", folder, *outputs)
    assert rc == 0 and "passed over" not in err, err
    assert json.loads((tmp_path / "out.csv.json").read_text())["frames_written"] == 2


def test_skip_done_runs_again_a_folder_whose_images_were_written_again_in_place(cli, model_path, write_clip, tmp_path):
    """Frames extracted anew under the same names (ffmpeg -y, cv2.imwrite) change neither the folder's size nor its
    time: its images' tell. The run's own CSV written into the folder is no image of it."""
    folder = tmp_path / "stills"
    folder.mkdir()
    frames = cv2.VideoCapture(str(write_clip(tmp_path / "clip.avi", 2)))
    first, second = frames.read()[1], frames.read()[1]
    cv2.imwrite(str(folder / "a.png"), first)
    outputs = ("--model", model_path, "--csv", folder / "out.csv", "--skip-done")
    assert cli("track", folder, *outputs)[0] == 0
    assert "passed over" in cli("track", folder, *outputs)[2]  # nothing changed, its CSV beside the images
    since = folder.stat().st_mtime_ns
    cv2.imwrite(str(folder / "a.png"), second)  # the same name, another picture
    later = (folder / "a.png").stat().st_mtime_ns + 10**9  # a second on: a clock coarser than the write
    os.utime(folder / "a.png", ns=(later, later))
    assert folder.stat().st_mtime_ns == since
    rc, _, err = cli("track", folder, *outputs)
    assert rc == 0 and "passed over" not in err, err


def test_a_folder_with_a_broken_link_named_as_an_image_is_tracked_its_link_passed_over(
    cli, model_path, write_clip, tmp_path
):
    """A link to a frame since deleted (x.png -> gone) is an image the folder cannot read, passed over with a
    warning as before: its stamp is no reason for the run, or --skip-done, to stop with 'cannot use x.png'."""
    folder = tmp_path / "stills"
    folder.mkdir()
    cv2.imwrite(str(folder / "a.png"), cv2.VideoCapture(str(write_clip(tmp_path / "clip.avi", 1))).read()[1])
    (folder / "x.png").symlink_to(tmp_path / "gone.png")
    outputs = ("--model", model_path, "--csv", tmp_path / "out.csv", "--skip-done")
    rc, _, err = cli("track", folder, *outputs)
    assert rc == 0 and "skipped" in err and "x.png" in err, err
    assert json.loads((tmp_path / "out.csv.json").read_text())["finished"] is True
    assert "passed over" in cli("track", folder, *outputs)[2]


def test_skip_done_runs_again_with_another_model_or_for_another_source_of_the_same_stamp(
    cli, model_path, write_clip, tmp_path
):
    """A model retrained under another name with the same outputs asked for; and a second day's clip, a copy that
    kept its size and time, written to the same CSV: neither is the run the sidecar records."""
    import shutil

    clip = write_clip(tmp_path / "clip.avi", 2)
    outputs = ("--csv", tmp_path / "out.csv", "--skip-done")
    assert "passed over" not in cli("track", clip, "--model", model_path, *outputs)[2]
    other = _with_metadata(model_path, tmp_path / "other.onnx", oks_sigmas=[0.05] * 17)
    rc, _, err = cli("track", clip, "--model", other, *outputs)
    assert rc == 0 and "passed over" not in err, err
    assert json.loads((tmp_path / "out.csv.json").read_text())["model_sha256"] == file_sha256(other)
    (tmp_path / "day2").mkdir()
    twin = shutil.copy2(clip, tmp_path / "day2" / "clip.avi")  # cp -p: the same size and time
    rc, _, err = cli("track", twin, "--model", other, *outputs)
    assert rc == 0 and "passed over" not in err, err
    assert json.loads((tmp_path / "out.csv.json").read_text())["source"] == str(twin)


def test_skip_done_runs_again_a_file_replaced_by_a_copy_that_kept_its_time(cli, model_path, write_clip, tmp_path):
    clip, other = write_clip(tmp_path / "clip.avi", 2), write_clip(tmp_path / "other.avi", 3)
    outputs = ("--model", model_path, "--csv", tmp_path / "out.csv", "--skip-done")
    assert "passed over" not in cli("track", clip, *outputs)[2]
    stamp = clip.stat().st_mtime_ns
    os.replace(other, clip)
    os.utime(clip, ns=(stamp, stamp))  # another clip copied in with its times kept (cp -p, rsync -t, an archive)
    rc, _, err = cli("track", clip, *outputs)
    assert rc == 0 and "passed over" not in err, err
    assert json.loads((tmp_path / "out.csv.json").read_text())["frames_written"] == 3


def test_the_sidecar_names_a_source_given_relative_to_the_working_folder_by_its_full_path(
    cli, model_path, write_clip, tmp_path, monkeypatch
):
    write_clip(tmp_path / "clip.avi", 1)
    monkeypatch.chdir(tmp_path)
    rc, _, err = cli("track", "clip.avi", "--model", model_path, "--csv", "out.csv")
    assert rc == 0, err
    assert json.loads((tmp_path / "out.csv.json").read_text())["source"] == str(Path.cwd() / "clip.avi")


def test_the_annotated_video_draws_each_persons_trail(
    cli, coco_metadata, painted_model, write_clip, tmp_path, monkeypatch
):
    import core.frame_loop

    box = letterbox_geometry((768, 576), 256)
    truth = random_people(np.random.default_rng(3), 2, 17, box.input_size, overlap=0.0)
    heatmaps, tags = paint(truth, np.array([0.0, 3.0], np.float32), box.input_size)
    model = painted_model(tmp_path / "m.onnx", heatmaps, tags, coco_metadata)
    trails, draw = [], core.frame_loop.draw_poses

    def drawn(image, poses, skeleton, **style):  # the trails each frame is drawn with
        trails.append(sorted(len(points) for _, points in style["trails"].items()))
        return draw(image, poses, skeleton, **style)

    monkeypatch.setattr(core.frame_loop, "draw_poses", drawn)
    rc, _, err = cli("track", write_clip(tmp_path / "c.avi", 3), "--model", model, "--video", tmp_path / "c.mp4")
    assert rc == 0, err
    assert len(trails[-1]) == 2 and min(trails[-1]) > 1  # two people, each with a line of where it was


def test_max_frames_zero_is_refused_not_taken_for_every_frame(cli, model_path, write_clip, tmp_path):
    clip = write_clip(tmp_path / "c.avi", 2)
    rc, _, err = cli("track", clip, "--model", model_path, "--max-frames", 0, "--csv", tmp_path / "c.csv")
    _assert_clean_error(rc, err, "--max-frames must be at least 1")
    assert not (tmp_path / "c.csv").exists()


def test_a_fractional_max_frames_is_refused_not_rounded_up(cli, tmp_path, capsys):
    """A float --max-frames took 2.5 and wrote 3 frames, exit 0."""
    with pytest.raises(SystemExit) as exit_info:
        cli("track", tmp_path / "clip.mp4", "--max-frames", 2.5, "--csv", tmp_path / "out.csv")
    assert exit_info.value.code == 2 and "--max-frames: invalid int value: '2.5'" in capsys.readouterr().err


def test_threads_reach_onnx_runtime(cli, model_path, write_clip, tmp_path, monkeypatch):
    """--threads 6 left out of the model gave ONNX Runtime's default (6 threads in the process instead of 13)."""
    import core.session

    asked, open_session = [], core.session.open_session
    monkeypatch.setattr(
        core.session,
        "open_session",
        lambda path, threads=None: asked.append(threads) or open_session(path),
    )
    clip = write_clip(tmp_path / "c.avi", 1)
    rc, _, err = cli("track", clip, "--model", model_path, "--threads", 3)
    assert rc == 0 and asked == [3], err


@pytest.mark.parametrize("sidecar", ['{"finished": tru', "[]", "[" * 100_000], ids=["cut-short", "a-list", "deep"])
def test_skip_done_runs_a_source_whose_sidecar_is_damaged(cli, model_path, write_clip, tmp_path, sidecar):
    """A sidecar cut short (a full disk, a copy stopped half-way) or another tool's file: not finished, no traceback
    (nor where a video, opened first, would take its 'finished' back)."""
    (tmp_path / "out.csv.json").write_text(sidecar)
    clip = write_clip(tmp_path / "c.avi", 1)
    outputs = "--csv", tmp_path / "out.csv", "--video", tmp_path / "out.mp4"
    rc, _, err = cli("track", clip, "--model", model_path, *outputs, "--skip-done")
    assert rc == 0 and "passed over" not in err, err
    assert json.loads((tmp_path / "out.csv.json").read_text())["finished"] is True


def test_skip_done_runs_again_for_an_output_another_run_wrote(cli, model_path, write_clip, tmp_path):
    """An output asked for now that exists but was no part of the finished run (another run's file by that name)."""
    clip = write_clip(tmp_path / "c.avi", 1)
    outputs = ("--model", model_path, "--csv", tmp_path / "out.csv")
    assert cli("track", clip, *outputs)[0] == 0
    (tmp_path / "people.json").write_text('[{"image_id": 99}]')  # someone else's
    rc, _, err = cli("track", clip, *outputs, "--coco-json", tmp_path / "people.json", "--skip-done")
    assert rc == 0 and "passed over" not in err, err
    assert json.loads((tmp_path / "people.json").read_text()) == []  # this run's: nobody found


def test_a_batch_summary_names_the_sources_it_warned_about(cli, model_path, write_clip, tmp_path):
    folder = tmp_path / "stills"
    folder.mkdir()
    cv2.imwrite(str(folder / "1.png"), np.zeros((48, 64, 3), np.uint8))
    (folder / "2.png").write_bytes(b"broken")
    good = write_clip(tmp_path / "good.avi", 2)
    rc, _, err = cli("track", folder, good, "--model", model_path, "--csv", tmp_path / "out" / "{name}.csv")
    assert rc == 0 and "2 of 2 sources done, 3 frames in" in err
    assert err.rstrip().endswith(f"; with warnings (above): {folder}")


def test_a_batch_reports_a_failed_source_and_finishes_the_others(cli, model_path, write_clip, tmp_path):
    broken = _touch(tmp_path / "broken.mp4", b"not a video" * 100)
    good = write_clip(tmp_path / "good.avi", 3)
    rc, _, err = cli("track", broken, good, "--model", model_path, "--csv", tmp_path / "out" / "{name}.csv")
    assert rc == 2
    assert "broken.mp4 is not a readable video" in err and "1 of 2 sources done" in err and "failed:" in err
    assert json.loads((tmp_path / "out" / "good.csv.json").read_text())["frames_written"] == 3
    assert "broken.mp4 is not a readable video (no frame was written for it)" in err  # it never opened
    assert not (tmp_path / "out" / "broken.csv").exists()


def _batch_lines(err: str) -> list[str]:
    """Each source's start line of a batch, its batch's time left (given at the rate measured) as h:mm:ss."""
    return [re.sub(r"about \d+:\d\d:\d\d", "about h:mm:ss", line) for line in err.splitlines() if "(batch: " in line]


def test_each_source_of_a_batch_says_the_batchs_frames_left_and_time_left(cli, model_path, write_clip, tmp_path):
    """A batch of 50 clips told only the present clip's ETA. --max-frames caps each count; a file that fails, and
    a stream (no length), count none once they are behind: the stream left the batch's end unknown until then."""
    from core.sources import frames_in

    first, second = write_clip(tmp_path / "first.avi", 4), write_clip(tmp_path / "second.avi", 5)
    broken, stream = _touch(tmp_path / "broken.mp4", b"not a video" * 100), "http://127.0.0.1:9/cam"
    sources = (first, broken, stream, second)
    rc, _, err = cli("track", *sources, "--model", model_path, "--max-frames", 3, "--csv", tmp_path / "{name}.csv")
    assert rc == 2 and _batch_lines(err) == [
        f"wlitepose: [1/4] {first} (batch: 6+ frames left, end unknown)",
        f"wlitepose: [2/4] {broken} (batch: 3+ frames left, end unknown)",
        f"wlitepose: [3/4] {stream} (batch: 3+ frames left, end unknown)",
        f"wlitepose: [4/4] {second} (batch: 3 frames left, about h:mm:ss)",
    ]
    assert (frames_in(str(broken)), frames_in(stream)) == (0, None)  # one that fails counts none, a stream unknown


def test_a_folder_that_cannot_be_listed_fails_alone_in_a_batch(cli, model_path, write_clip, tmp_path, monkeypatch):
    """A folder this user may not read (Permission denied) ended a batch before any source was tracked, in
    PermissionError's words, once the batch counted its frames; and the app's batch never finished."""
    first, second = write_clip(tmp_path / "first.avi", 2), write_clip(tmp_path / "second.avi", 2)
    locked = tmp_path / "locked"
    locked.mkdir()
    cv2.imwrite(str(locked / "a.png"), np.zeros((64, 64, 3), np.uint8))
    listing = Path.iterdir

    def iterdir(folder):
        if folder == locked:
            raise PermissionError(13, "Permission denied", str(folder))
        return listing(folder)

    monkeypatch.setattr(Path, "iterdir", iterdir)
    rc, _, err = cli("track", first, locked, second, "--model", model_path, "--csv", tmp_path / "{name}.csv")
    assert rc == 2 and f"cannot list the folder {locked} (Permission denied)" in err, err
    assert (tmp_path / "first.csv").is_file() and (tmp_path / "second.csv").is_file()


def test_a_batchs_frames_left_leave_out_the_sources_skip_done_passes_over(cli, model_path, write_clip, tmp_path):
    clips = [write_clip(tmp_path / f"{name}.avi", frames) for name, frames in (("a", 2), ("b", 3), ("c", 4))]
    csv = tmp_path / "out" / "{name}.csv"
    assert cli("track", clips[1], "--model", model_path, "--csv", csv)[0] == 0
    rc, _, err = cli("track", *clips, "--model", model_path, "--csv", csv, "--skip-done")
    assert rc == 0 and f"[2/3] {clips[1]}: finished before, passed over" in err
    assert _batch_lines(err) == [
        f"wlitepose: [1/3] {clips[0]} (batch: 6 frames left)",  # a's and c's; no rate before a frame
        f"wlitepose: [3/3] {clips[2]} (batch: 4 frames left, about h:mm:ss)",
    ]


def test_a_batchs_time_left_is_at_the_rate_of_the_sources_tracked_so_far(
    cli, model_path, write_clip, tmp_path, monkeypatch
):
    """Each source tracked in a second of a clock that moves a second each time it is read: 4 frames at 4 fps, the
    8 still to do take 2 s."""
    import core.track_run

    clock = itertools.count(1.0)
    monkeypatch.setattr(core.track_run, "time", types.SimpleNamespace(perf_counter=lambda: next(clock)))
    clips = [write_clip(tmp_path / f"{name}.avi", frames) for name, frames in (("a", 4), ("b", 8))]
    rc, _, err = cli("track", *clips, "--model", model_path, "--csv", tmp_path / "{name}.csv")
    assert rc == 0 and f"[2/2] {clips[1]} (batch: 8 frames left, about 0:00:02)\n" in err


def test_a_batchs_time_left_is_its_frames_at_the_rate_so_far_and_never_made_up():
    """41,200 frames at 20 fps: 0:34:20; hours past 59 minutes; no time before any rate, nor with a source of
    unknown length (a webcam, a stream, a file that does not say) still to come."""
    from core.progress import batch_left

    assert batch_left([40_000, 1_200], 20.0) == "41,200 frames left, about 0:34:20"
    assert batch_left([900_000] * 50, 12.5) == "45,000,000 frames left, about 1000:00:00"
    assert batch_left([120, 80], 0.0) == "200 frames left" and batch_left([], 9.0) == "0 frames left, about 0:00:00"
    assert batch_left([41_200, None, 5], 20.0) == batch_left([None, 41_205], 0.0) == "41,205+ frames left, end unknown"


def test_a_batchs_last_line_names_ten_failed_sources_and_counts_the_rest(cli, model_path, write_clip, tmp_path):
    """300 unreadable clips made a last line of 9,660 characters; each is named above as it fails."""
    broken = [_touch(tmp_path / f"broken{n:02d}.mp4", b"not a video" * 100) for n in range(12)]
    good = write_clip(tmp_path / "good.avi", 3)
    rc, _, err = cli("track", *broken, good, "--model", model_path, "--csv", tmp_path / "out" / "{name}.csv")
    last = err.rstrip().splitlines()[-1]
    assert rc == 2 and err.count("is not a readable video") >= 12
    assert last.startswith("wlitepose: 1 of 13 sources done") and last.endswith(f"{broken[9]} and 2 more"), last


@pytest.mark.parametrize(
    "sources, outputs, words",
    [
        (["a.avi", "b.avi"], ["--csv", "out.csv"], ["{name}", "several sources"]),
        (["a.avi", "sub/a.avi"], ["--csv", "{name}.csv"], ["both write", "a.csv"]),
        (["a.avi", "./a.avi"], ["--csv", "{name}.csv"], ["given twice"]),
        (["a.avi", "b.avi"], ["--video", "{name}.avi"], ["a file this run reads"]),
        (["a.avi", "missing.avi"], ["--csv", "out/{name}.csv"], ["missing.avi does not exist"]),
        (["a.avi", "b.avi"], ["--csv", "o/{name}.csv", "--coco-json", "o/{name}.csv.json"], ["share a path"]),
        (["a.avi", "b.avi"], ["--csv", "blocker/{name}.csv"], ["cannot write"]),
        (["a.avi", "0"], ["--csv", "{name}.csv"], ["--max-frames"]),
    ],
)
def test_a_batch_that_would_lose_data_is_refused_before_any_work(
    cli, model_path, write_clip, tmp_path, monkeypatch, sources, outputs, words
):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "sub").mkdir()
    (tmp_path / "blocker").write_text("a file where a folder should be")
    for name in ("a.avi", "b.avi", "sub/a.avi"):
        write_clip(tmp_path / name, 1)
    before = {p: p.read_bytes() for p in tmp_path.rglob("*.avi")}
    rc, _, err = cli("track", *sources, "--model", model_path, *outputs)
    _assert_clean_error(rc, err, *words)
    assert {p: p.read_bytes() for p in tmp_path.rglob("*.avi")} == before
    assert not list(tmp_path.rglob("*.csv")) and "[1/2]" not in err


def test_source_names_for_output_files():
    from core.sources import source_name

    assert source_name("clips/Take 2.mp4") == "Take 2"
    assert source_name("frames/") == "frames"
    assert source_name(Path(__file__).parent) == "core"  # an existing folder keeps its whole name
    assert source_name("0") == "camera0"
    assert source_name("rtsp://10.0.0.7:554/live/cam 1.sdp") == "cam_1"
    assert source_name("http://camera.local:8080/") == "camera.local"
    assert source_name("http://[::1") == "stream"  # a "[" without its "]": urlsplit's ValueError, track's traceback


def test_the_folder_a_run_is_started_in_is_named_as_itself(tmp_path, monkeypatch):
    from core.sources import source_name

    (tmp_path / "frames").mkdir()
    monkeypatch.chdir(tmp_path / "frames")
    assert source_name(".") == "frames" and source_name("./") == "frames" and source_name("..") == tmp_path.name
    assert source_name("/") == "source"


@pytest.mark.parametrize("path", [".", "/"])  # an empty one is argparse's to refuse (test_train_cli)
def test_a_csv_path_without_a_file_name_is_a_clear_error(cli, model_path, video_path, path):
    rc, _, err = cli("track", video_path, "--model", model_path, "--max-frames", 1, "--csv", path)
    _assert_clean_error(rc, err, "cannot write", "it is a folder")


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_redraws_one_line_on_a_terminal_and_logs_plain_lines_elsewhere(monkeypatch):
    clock = itertools.count()  # each reading one second later
    monkeypatch.setattr("core.progress.time.perf_counter", lambda: float(next(clock)))
    for stream, log_interval_s in ((_Tty(), 10.0), (io.StringIO(), 10.0)):
        bar = ProgressBar(20, stream, log_interval_s)
        for _ in range(20):
            bar.update()  # one frame a second
        bar.close()
        text = stream.getvalue()
        if isinstance(stream, _Tty):
            assert text.count("\r") == 20 and text.endswith("20/20   1.0 fps ETA 0:00\n")
        else:  # a log: a line every 10 s and the last one, no carriage returns
            assert "\r" not in text and [line.split("] ")[1] for line in text.splitlines()] == [
                "10/20   1.0 fps ETA 0:10",
                "20/20   1.0 fps ETA 0:00",
            ]


@pytest.mark.skipif(os.name == "nt", reason="a pseudo-terminal is POSIX's")
def test_progress_on_a_narrow_terminal_keeps_to_one_row():
    """On a terminal 20 columns wide the 55-character line wrapped, and each redraw from its carriage return left
    the rows above it on screen: the terminal filled with stale bars."""
    import fcntl
    import pty
    import struct
    import termios

    master, child = pty.openpty()
    fcntl.ioctl(child, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 20, 0, 0))
    with open(child, "w") as terminal:
        bar = ProgressBar(2, terminal)
        bar.update()
        bar.update()
        bar.close()
    shown = _screen(master)
    assert shown.count("\r[") == 2 and max(map(len, shown.replace("\n", "\r").split("\r"))) == 19


def test_the_bar_keeps_its_width_past_a_guessed_total():
    """An MKV's frame count is a guess: a source may run past it."""
    bar = ProgressBar(2, io.StringIO())
    bar.done = 3
    assert bar.line(bar.start + 1.0) == f"[{'#' * bar.width}] 3/2   3.0 fps ETA 0:00"


def test_an_image_folder_plays_at_the_frame_rate_given(cli, model_path, video_path, tmp_path):
    folder = tmp_path / "frames"
    folder.mkdir()
    for i in range(3):
        cv2.imwrite(str(folder / f"{i}.png"), np.zeros((64, 64, 3), np.uint8))
    rc, _, err = cli("track", folder, "--model", model_path, "--csv", tmp_path / "k.csv", "--fps", 10)
    assert rc == 0, err
    assert json.loads((tmp_path / "k.csv.json").read_text())["fps"] == 10.0 and "@ 10.0 fps" in err
    for bad, words in ((0, "above 0"), ("nan", "above 0"), (5000, "at most 1000")):
        rc, _, err = cli("track", folder, "--model", model_path, "--fps", bad)
        _assert_clean_error(rc, err, "--fps", words)
    rc, _, err = cli("track", video_path, "--model", model_path, "--fps", 10)
    _assert_clean_error(rc, err, "--fps sets the frame rate of image folders")
    # a time-lapse slower than a video file can hold: refused before the CSV an earlier run wrote is replaced
    rc, _, err = cli(
        "track",
        folder,
        "--model",
        model_path,
        "--fps",
        0.001,
        "--csv",
        tmp_path / "k.csv",
        "--video",
        tmp_path / "k.mp4",
    )
    _assert_clean_error(rc, err, "cannot write video", "0.001 fps", "0.01 to 65535")
    assert json.loads((tmp_path / "k.csv.json").read_text())["fps"] == 10.0 and not (tmp_path / "k.mp4").exists()


def test_a_batch_of_streams_never_prints_their_passwords(cli, model_path, tmp_path):
    urls = [f"http://user:secret@127.0.0.1:9/{name}" for name in ("a", "b")]  # nothing listens on port 9
    rc, _, err = cli("track", *urls, "--model", model_path, "--max-frames", "1", "--csv", tmp_path / "{name}.csv")
    assert rc == 2 and "secret" not in err and err.count("[") >= 2 and "failed:" in err, err


def test_a_source_typed_with_a_stray_space_is_still_protected_from_the_outputs(cli, model_path, write_clip, tmp_path):
    clip = write_clip(tmp_path / "clip.avi", 3)
    before = clip.read_bytes()
    rc, _, err = cli("track", f"{clip} ", "--model", model_path, "--video", clip)  # opened as clip.avi: so is it
    _assert_clean_error(rc, err, "a file this run reads")
    assert clip.read_bytes() == before


def test_a_missing_dependency_is_one_sentence_naming_the_package(main_without):
    """Uninstalling opencv-python beside the headless build removes the cv2 folder both share: a 16-line
    traceback ended in ModuleNotFoundError."""
    for argv in (["track", SAMPLE_CLIP, "--max-frames", "1"], [SAMPLE_CLIP]):  # the app on a file too
        run = main_without(("cv2",), *argv)
        assert run.returncode == 2 and "Traceback" not in run.stderr, run.stderr
        assert run.stderr.startswith("wlitepose: error: the package opencv-python-headless is not installed here")
        assert "pip install opencv-python-headless --force-reinstall" in run.stderr


def test_a_broken_video_is_said_in_our_sentence_alone(main_without, tmp_path, monkeypatch):
    """OpenCV's own error lines ("[ERROR:0@0.9] global cap_ffmpeg_impl.hpp:1412 open Could not find decoder") came
    before the sentence, saying the same less clearly."""
    for name in ("OPENCV_LOG_LEVEL", "OPENCV_FFMPEG_LOGLEVEL"):  # as a user's shell has them: unset
        monkeypatch.delenv(name, raising=False)
    clip, broken = Path(SAMPLE_CLIP).read_bytes(), tmp_path / "broken.mp4"
    for size in (10, len(clip) - 1000):  # no header; no index at the end
        broken.write_bytes(clip[:size])
        run = main_without((), "track", broken, "--csv", tmp_path / "out.csv")
        assert run.returncode == 2 and run.stderr == f"wlitepose: error: {broken} is not a readable video\n"


def test_the_version_is_told_and_recorded_with_every_csv(cli, model_path, video_path, tmp_path, capsys):
    from importlib.metadata import version

    with pytest.raises(SystemExit) as stopped:
        main.main(["--version"])
    assert stopped.value.code == 0 and capsys.readouterr().out == f"wlitepose {version('wlitepose')}\n"
    rc, _, err = cli("track", video_path, "--model", model_path, "--max-frames", 1, "--csv", tmp_path / "a.csv")
    assert rc == 0, err
    assert json.loads((tmp_path / "a.csv.json").read_text())["wlitepose_version"] == version("wlitepose")


def test_the_readmes_sample_path_run_elsewhere_says_where_the_sample_is(cli, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    rc, _, err = cli("track", "assets/samples/vtest_clip.mp4", "--csv", "t.csv")
    _assert_clean_error(rc, err, f"does not exist here; the bundled sample clip is {SAMPLE_CLIP}")


def test_running_out_of_memory_is_one_sentence_not_a_traceback(cli, monkeypatch):
    """A long run's PoseC3D arrays once outgrew the memory: two chained tracebacks ending in _ArrayMemoryError."""
    import core.eval_run
    import core.track_run

    def allocate(*args):
        raise MemoryError("Unable to allocate 43.6 MiB for an array with shape (220, 1528, 17, 2)")

    monkeypatch.setattr(core.track_run, "run_track", allocate)
    rc, _, err = cli("track", "clip.mp4")
    _assert_clean_error(rc, err, "out of memory; the outputs hold the frames written before it")
    monkeypatch.setattr(core.eval_run, "run_eval", allocate)
    rc, _, err = cli("eval", "--model", "m.onnx", "--annotations", "a.json", "--images", "images")
    _assert_clean_error(rc, err, "out of memory")
    assert "PoseC3D" not in err  # eval writes none


def test_outputs_replace_a_link_at_their_name_rather_than_write_through_it(cli, model_path, video_path, tmp_path):
    """A link left at an output's name (another user's, in a shared folder) had the CSV, the COCO JSON and the
    annotated video written into the file it led to, a hard link's other name included."""
    (tmp_path / "other").mkdir()
    victims = {name: tmp_path / "other" / name for name in ("a.txt", "b.txt", "c.avi")}
    for victim in victims.values():
        victim.write_text("someone else's")
    (tmp_path / "k.csv").symlink_to(victims["a.txt"])
    os.link(victims["b.txt"], tmp_path / "k.json")
    (tmp_path / "k.avi").symlink_to(victims["c.avi"])
    rc, _, err = cli(
        "track", video_path, "--model", model_path, "--max-frames", 2, "--threads", 1,
        "--csv", tmp_path / "k.csv", "--coco-json", tmp_path / "k.json", "--video", tmp_path / "k.avi",
    )  # fmt: skip
    assert rc == 0, err
    assert all(victim.read_bytes() == b"someone else's" for victim in victims.values())
    assert not any((tmp_path / name).is_symlink() for name in ("k.csv", "k.json", "k.avi"))
    assert (tmp_path / "k.csv").read_text().startswith("frame,") and (tmp_path / "k.json").stat().st_nlink == 1


def test_a_run_refused_before_its_first_frame_leaves_the_earlier_outputs(cli, model_path, video_path, tmp_path):
    """A folder at the sidecar's name, or at the OpenPose folder's list of frames, was found only as those
    outputs opened: the earlier annotated video was gone, its CSV and COCO JSON emptied, its frames removed."""
    options = [
        "--model", model_path, "--max-frames", 2, "--threads", 1, "--csv", tmp_path / "k.csv",
        "--coco-json", tmp_path / "k.json", "--openpose-dir", tmp_path / "op", "--video", tmp_path / "k.avi",
    ]  # fmt: skip
    assert cli("track", video_path, *options)[0] == 0
    earlier = {path: path.read_bytes() for path in tmp_path.rglob("*") if path.is_file()}
    (tmp_path / "k.csv.json").unlink()
    (tmp_path / "k.csv.json").mkdir()
    rc, _, err = cli("track", video_path, *options)
    _assert_clean_error(rc, err, "k.csv.json", "it is a folder")
    (tmp_path / "k.csv.json").rmdir()
    (tmp_path / "op" / ".wlitepose" / ".vtest.openpose-files.json").mkdir(parents=True)
    rc, _, err = cli("track", video_path, *options)
    _assert_clean_error(rc, err, ".wlitepose/.vtest.openpose-files.json there is a folder")
    del earlier[tmp_path / "k.csv.json"]
    assert {path: path.read_bytes() for path in earlier} == earlier


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="FIFOs are POSIX's")
def test_a_fifo_is_no_output_image_playlist_or_lock_and_hangs_nothing(cli, model_path, tmp_path):
    """Each of these waited for ever for the other end of a FIFO (one Ctrl-C could not stop it)."""
    import threading

    folder = tmp_path / "frames"
    folder.mkdir()
    cv2.imwrite(str(folder / "a.png"), np.full((48, 64, 3), 128, np.uint8))
    os.mkfifo(folder / "b.png")
    os.mkfifo(tmp_path / "fifo.csv")
    os.mkfifo(tmp_path / ".k.json.wlitepose-lock")  # refused in words: it said "File or stream is not seekable"
    os.mkfifo(tmp_path / "list.m3u8")
    results = []

    def runs():
        results.append(cli("track", folder, "--model", model_path, "--csv", tmp_path / "fifo.csv"))
        results.append(cli("track", folder, "--model", model_path, "--coco-json", tmp_path / "k.json"))
        results.append(cli("track", folder, "--model", model_path, "--csv", tmp_path / "k.csv"))
        results.append(cli("track", tmp_path / "list.m3u8", "--model", model_path))

    worker = threading.Thread(target=runs, daemon=True)
    worker.start()
    worker.join(60)
    assert not worker.is_alive(), "a run waits on a FIFO"
    (rc, _, err), (rc2, _, err2), (rc4, _, err4), (rc3, _, err3) = results
    assert rc4 == 0 and f"skipped {folder / 'b.png'}" in err4
    _assert_clean_error(rc, err, "fifo.csv", "not a regular file")
    _assert_clean_error(rc2, err2, ".k.json.wlitepose-lock beside it, where a run keeps its lock, is a link or a FIFO")
    _assert_clean_error(rc3, err3, "list.m3u8 is not a regular file")


def test_a_link_at_a_locks_name_makes_no_file_where_it_leads(cli, model_path, video_path, tmp_path):
    (tmp_path / "other").mkdir()
    (tmp_path / ".k.json.wlitepose-lock").symlink_to(tmp_path / "other" / "made")
    rc, _, err = cli("track", video_path, "--model", model_path, "--max-frames", 1, "--coco-json", tmp_path / "k.json")
    _assert_clean_error(rc, err, "is a link or a FIFO, not a lock of this tool's; remove it")
    assert not (tmp_path / "other" / "made").exists() and not (tmp_path / "k.json").exists()


def test_the_time_left_is_never_negative_nor_made_up():
    """Past a guessed total (an MKV's frame count) it read -1:57; before any rate it is unknown."""
    from core.progress import remaining

    assert remaining(-100, 30.0) == "0:00" and remaining(5400, 30.0) == "3:00" and remaining(10, 0.0) == "?"


def test_messages_count_frames_and_name_files_in_words():
    """Not 'Export cancelled after 0 frame' (the app's label), nor 'a.txt, b.txt, c.txt and 0 more'."""
    from core.progress import first_few, frames_text

    assert [frames_text(count) for count in (0, 1, 2)] == ["0 frames", "1 frame", "2 frames"]
    assert first_few(["a", "b", "c"]) == "a, b, c" and first_few(["a", "b", "c", "d", "e"]) == "a, b, c and 2 more"


def test_the_stage_summary_gives_milliseconds_per_frame_and_the_overall_rate():
    from core.progress import StageTimes

    times = StageTimes()
    for _ in range(4):
        times.add({"read": 2.0, "inference": 10.0})
    times.frames = 4
    lines = times.summary(2.0).splitlines()
    assert lines[0] == "4 frames in 2.0 s: 2.0 fps overall"
    assert lines[1].split() == ["read", "2.00", "ms/frame"] and lines[2].split() == ["inference", "10.00", "ms/frame"]
    times.frames = 1  # said "1 frames"
    assert times.summary(0.5).splitlines()[0] == "1 frame in 0.5 s: 2.0 fps overall"


def _large_people_only(shared_data, path) -> Path:
    """Writes to ``path`` the dev set's images with large people only, those people alone; returns ``path``."""
    val = json.loads((shared_data / "val" / "annotations.json").read_text())
    people = [a for a in val["annotations"] if not a["iscrowd"] and a["num_keypoints"] > 0 and a["area"] > 96**2]
    kept = {a["image_id"] for a in people}
    path.write_text(json.dumps({**val, "images": [i for i in val["images"] if i["id"] in kept], "annotations": people}))
    return path


def test_eval_says_n_a_for_a_score_with_nobody_to_count(
    cli, model_path, tmp_path, shared_data, truth_as_results, monkeypatch
):
    """On a set without medium-sized people APm has nobody to count: the line says n/a, as documented, not nan."""
    found = truth_as_results(_large_people_only(shared_data, tmp_path / "large.json"))
    monkeypatch.setattr("core.eval_run.predict_dataset", lambda *args: found)
    rc, out, err = cli(
        "eval", "--model", model_path, "--annotations", tmp_path / "large.json",
        "--images", shared_data / "val" / "images", "--out", tmp_path / "stats.json",
    )  # fmt: skip
    assert rc == 0, err
    assert "APm n/a" in out and "AP 1.000" in out and "nan" not in out
    assert json.loads((tmp_path / "stats.json").read_text())["APm"] is None


def test_eval_checks_the_baselines_keypoint_order_too(cli, model_path, tmp_path, monkeypatch):
    """A baseline whose keypoints (neither COCO's nor CrowdPose's, with the same sigmas) come in another order than
    the file's would be scored joint against the wrong joint: it is refused before any image goes through a network."""
    import core.eval_run

    monkeypatch.setattr(core.eval_run, "predict_dataset", lambda *a: pytest.fail("the network ran first"))
    names = [f"joint{i}" for i in range(17)]
    model = _with_metadata(model_path, tmp_path / "m.onnx", keypoint_names=names, oks_sigmas=[0.05] * 17)
    backwards = _with_metadata(model_path, tmp_path / "b.onnx", keypoint_names=names[::-1], oks_sigmas=[0.05] * 17)
    content = {**ONE_IMAGE, "categories": [{"id": 1, "keypoints": names}], "annotations": [PERSON]}
    (tmp_path / "a.json").write_text(json.dumps(content))
    data = ["--annotations", tmp_path / "a.json", "--images", tmp_path]
    rc, _, err = cli("eval", "--model", model, *data, "--baseline", backwards, "--bootstrap", 40)
    _assert_clean_error(rc, err, f"in another order than baseline {backwards}")


def test_eval_gives_no_share_of_redraws_for_a_score_with_nobody_to_count(
    cli, model_path, tmp_path, shared_data, truth_as_results, monkeypatch
):
    """Without medium-sized people APm compares nothing in any redraw: its difference is null, not 'the model higher
    in 0 % of redraws', which read as the baseline at least as good in every one."""
    exact = truth_as_results(_large_people_only(shared_data, tmp_path / "large.json"))
    off = [{**r, "keypoints": [v + 40 * (i % 3 < 2) for i, v in enumerate(r["keypoints"])]} for r in exact]
    baseline = _with_metadata(model_path, tmp_path / "baseline.onnx", input_size=128)
    monkeypatch.setattr(
        "core.eval_run.predict_dataset", lambda model, data, images, size: off if size == 128 else exact
    )
    rc, _, err = cli(
        "eval", "--model", model_path, "--annotations", tmp_path / "large.json",
        "--images", shared_data / "val" / "images", "--baseline", baseline, "--bootstrap", 40,
        "--out", tmp_path / "stats.json",
    )  # fmt: skip
    assert rc == 0, err
    difference = json.loads((tmp_path / "stats.json").read_text())["difference"]
    assert difference["APm"] == {"interval": [None, None], "higher": None}
    assert difference["AP"]["higher"] == 1.0


@pytest.mark.parametrize("option", ["--csv", "--video"])
def test_a_path_of_spaces_is_refused_not_written_as_a_file_named_blank(cli, video_path, tmp_path, monkeypatch, option):
    """`--csv "$OUT "` with OUT unset wrote a CSV named ' ' and a sidecar ' .json' into the current folder."""
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as exit_info:
        cli("track", video_path, "--max-frames", 1, option, " ")
    assert exit_info.value.code == 2 and list(tmp_path.iterdir()) == []


def test_track_without_a_source_is_refused_not_a_silent_success(cli, capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli("track", "--csv", "out.csv")
    assert exit_info.value.code == 2 and "required: SOURCE" in capsys.readouterr().err


def test_eval_without_a_model_is_refused_before_reading_the_set(cli, tmp_path, capsys):
    """Without --model, eval checked the annotations and images, then stopped with a TypeError traceback."""
    with pytest.raises(SystemExit) as exit_info:
        cli("eval", "--annotations", tmp_path / "a.json", "--images", tmp_path)
    assert exit_info.value.code == 2 and "required: --model" in capsys.readouterr().err


def test_a_batch_source_that_fails_mid_run_is_named_with_the_frames_its_outputs_hold(
    cli, model_path, write_clip, tmp_path, monkeypatch
):
    """The summary counts the frames of the sources done; the failed one's error says what its outputs hold."""
    process = PosePipeline.process
    calls = itertools.count()

    def fails_on_the_fifth(self, *args, **kwargs):
        if next(calls) == 4:  # the second frame of the second source
            raise WLitePoseError("the network failed on this frame")
        return process(self, *args, **kwargs)

    monkeypatch.setattr(PosePipeline, "process", fails_on_the_fifth)
    first, second, third = (write_clip(tmp_path / f"{name}.avi", 3) for name in ("first", "second", "third"))
    out = tmp_path / "out"
    rc, _, err = cli("track", first, second, third, "--model", model_path, "--csv", out / "{name}.csv")
    assert rc == 2
    assert "network failed on this frame (its outputs hold the 1 frame before the error)" in err
    assert "2 of 3 sources done, 6 frames in" in err and err.rstrip().endswith(f"; failed: {second}")
    assert [
        json.loads((out / f"{name}.csv.json").read_text())["frames_written"] for name in ("first", "second", "third")
    ] == [3, 1, 3]


def test_max_frames_stops_each_source_of_a_batch_at_that_many_frames(cli, model_path, write_clip, tmp_path):
    clips = [write_clip(tmp_path / f"{name}.avi", 4) for name in ("a", "b")]
    out = tmp_path / "out"
    rc, _, err = cli("track", *clips, "--model", model_path, "--max-frames", 2, "--csv", out / "{name}.csv")
    assert rc == 0 and "2 of 2 sources done, 4 frames in" in err
    assert [json.loads((out / f"{name}.csv.json").read_text())["frames_written"] for name in "ab"] == [2, 2]


class BusyStream(FrameSource):
    """A stream whose every other frame came while the pipeline was busy: ``frames`` handed on, as many skipped."""

    is_live = True

    def __init__(self, spec: str, frames: int) -> None:
        self.spec, self.size, self.fps, self.frame_count = spec, (160, 120), 10.0, None
        self.skipped, self._frames = 0, frames

    def __iter__(self):
        for n in range(self._frames):
            self.skipped = n + 1
            yield Frame(2 * n + 1, n / 10, np.zeros((120, 160, 3), np.uint8))


def test_a_stream_that_outran_the_pipeline_counts_the_frames_it_sent_skipped_ones_included(
    cli, model_path, tmp_path, monkeypatch
):
    import core.track_run

    monkeypatch.setattr(core.track_run, "open_source", lambda spec, fps: BusyStream(spec, 3))
    rc, _, err = cli("track", "rtsp://camera/live", "--model", model_path, "--csv", tmp_path / "k.csv")
    assert rc == 0, err
    assert "3 of the 6 frames the source sent came while the pipeline was busy and were skipped" in err


def test_a_source_that_delivers_no_frames_is_an_error(cli, model_path, tmp_path, monkeypatch):
    import core.track_run

    monkeypatch.setattr(core.track_run, "open_source", lambda spec, fps: BusyStream(spec, 0))
    rc, _, err = cli("track", "rtsp://camera/live", "--model", model_path, "--csv", tmp_path / "k.csv")
    _assert_clean_error(rc, err, "source rtsp://camera/live delivered no frames")


def test_a_folder_emptied_once_opened_is_no_finished_run_for_skip_done(
    cli, model_path, tmp_path, images_lost_once_opened
):
    """A folder whose images went (a drive pulled) once it had opened delivers no frames: an error, whose CSV sidecar
    said "finished", so that the run again with --skip-done passed the folder over as done and exited 0."""
    import core.track_run

    folder = tmp_path / "frames"
    folder.mkdir()
    cv2.imwrite(str(folder / "a.png"), np.zeros((120, 160, 3), np.uint8))
    images_lost_once_opened(core.track_run, folder / "a.png")
    csv = tmp_path / "k.csv"
    rc, _, err = cli("track", folder, "--model", model_path, "--csv", csv)
    _assert_clean_error(rc, err, "delivered no frames")
    assert json.loads((tmp_path / "k.csv.json").read_text())["finished"] is False
    rc, _, err = cli("track", folder, "--model", model_path, "--csv", csv, "--skip-done")
    assert "finished before" not in err and rc == 2


def _paired_scores(*args) -> np.ndarray:
    """(40 redraws, 2 models, 6 stats) bootstrap scores: the redraws move both models from 0.2 to 0.6, the model
    always 0.01 above the baseline."""
    moved = np.linspace(0.2, 0.6, 40)[:, None, None] + np.array([0.01, 0.0])[None, :, None]
    return np.repeat(moved, 6, axis=2)


@pytest.fixture
def paired_eval(cli, model_path, tmp_path, shared_data, truth_as_results, monkeypatch):
    """`eval --baseline --bootstrap 40 --out` on the dev set, the model finding everyone exactly and the baseline
    (input size 128) nobody, their redraws' scores _paired_scores; (what it printed, the --out file's stats)."""
    path = shared_data / "val" / "annotations.json"
    truth = truth_as_results(path)
    baseline = _with_metadata(model_path, tmp_path / "baseline.onnx", input_size=128)
    monkeypatch.setattr("core.eval_run.predict_dataset", lambda model, data, images, size: [] if size == 128 else truth)
    monkeypatch.setattr("core.eval_run.bootstrap", _paired_scores)
    rc, out, err = cli(
        "eval", "--model", model_path, "--annotations", path, "--images", shared_data / "val" / "images",
        "--baseline", baseline, "--bootstrap", 40, "--out", tmp_path / "stats.json",
    )  # fmt: skip
    assert rc == 0, err
    return out, json.loads((tmp_path / "stats.json").read_text())


def test_eval_takes_the_difference_with_the_baseline_redraw_by_redraw(paired_eval):
    """The paired interval is of each redraw's model score less the baseline's on the same images: a model 0.01 above
    the baseline in every redraw, however far the redraws move both, is 0.01 above it (less the baseline's average
    over the redraws, the interval was -0.18 to +0.20 and the model higher in half of them)."""
    out, stats = paired_eval
    difference = stats["difference"]["AP"]
    assert difference["interval"] == pytest.approx([0.01, 0.01]) and difference["higher"] == 1.0
    assert "AP +0.010 to +0.010 (higher in 100% of redraws)" in out


def test_eval_prints_each_models_own_figures_and_intervals(paired_eval):
    """The model's line and the baseline's each give that model's figures, and each interval line its two ends
    (the baseline's line repeated the model's; an interval printed as its low end twice read 0.014-0.014)."""
    out, _ = paired_eval
    lines = out.splitlines()
    assert lines[0].startswith("AP 1.000") and lines[1].startswith("baseline baseline.onnx: AP 0.000")
    assert "95% interval: AP 0.220-0.600" in out and "95% interval of the baseline: AP 0.210-0.590" in out
