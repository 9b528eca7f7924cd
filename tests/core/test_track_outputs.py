"""`wlitepose track`'s outputs end to end: what each holds, where it goes, and the outputs it refuses to write,
before any work and leaving earlier ones as they were."""

import functools
import itertools
import json
import os
import pickle
from pathlib import Path

import cv2
import numpy as np
import pytest

import main
from core.errors import WLitePoseError
from core.pipeline import PosePipeline
from core.preprocess import letterbox_geometry
from core.synthetic import paint, random_people


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
    cli, model_path, video_path, tmp_path, target, words, assert_clean_error
):
    (tmp_path / "file").write_text("x")
    clip = tmp_path / "clip.avi"
    clip.write_bytes(video_path.read_bytes())
    options = ("--csv", tmp_path / "people.csv", "--coco-dataset", target(tmp_path, clip))
    rc, _, err = cli("track", clip, "--model", model_path, "--max-frames", 1, *options)
    assert_clean_error(rc, err, *words)
    assert not (tmp_path / "people.csv").exists() and clip.read_bytes() == video_path.read_bytes()


def test_outputs_another_process_is_writing_are_refused_and_left_as_they_are(
    cli, model_path, video_path, tmp_path, held_elsewhere, assert_clean_error
):
    # two cameras' cam.avi run from a shell loop with --csv "out/{name}.csv": the second must not write into the first's
    out = tmp_path / "out"
    out.mkdir()
    (out / "cam.csv").write_text("earlier run\n")
    track = ("track", video_path, "--model", model_path, "--max-frames", 2, "--threads", 1)
    with held_elsewhere(out / "cam.csv"):
        rc, _, err = cli(*track, "--csv", out / "cam.csv")
    assert_clean_error(rc, err, f"another run (wlitepose track, the app or a training) is writing {out / 'cam.csv'}")
    assert (out / "cam.csv").read_text() == "earlier run\n"
    with held_elsewhere(out / "op" / "vtest.openpose"):
        rc, _, err = cli(*track, "--csv", out / "other.csv", "--openpose-dir", out / "op")
    assert_clean_error(rc, err, f"is writing vtest's OpenPose frames in {out / 'op'} right now")
    assert not (out / "other.csv").exists()
    rc, _, err = cli(*track, "--csv", out / "cam.csv", "--openpose-dir", out / "op")  # the holders ended, killed
    assert rc == 0, err
    assert not list(out.rglob("*.wlitepose-lock"))  # taken over and let go
    clip = Path(main.__file__).parent / "assets" / "samples" / "vtest_clip.mp4"
    with held_elsewhere(out / "vtest_clip.csv"):  # a batch's second source: refused before the first is run
        rc, _, err = cli("track", video_path, clip, *track[2:], "--csv", out / "{name}.csv")
    assert_clean_error(rc, err, f"is writing {out / 'vtest_clip.csv'} right now")
    assert not (out / "vtest.csv").exists()


def test_image_folders_whose_frames_share_names_keep_their_own_openpose_files(
    cli, model_path, tmp_path, assert_clean_error
):
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
    assert_clean_error(rc, err, f"{tmp_path / 'op'} holds the OpenPose frames of cam1 under names this run's images")
    assert {p: p.read_bytes() for p in (tmp_path / "op").rglob("*") if p.is_file()} == first
    rc, _, err = cli(*track[:1], tmp_path / "cam1", *track[1:])  # its own re-run replaces its own
    assert rc == 0, err
    for frame in (tmp_path / "op").glob("*_keypoints.json"):  # cam1's frames removed, its hidden listing left
        frame.unlink()
    rc, _, err = cli(*track[:1], tmp_path / "cam2", *track[1:])  # a listing of frames gone holds nothing
    assert rc == 0, err


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


def test_thresholds_and_smoothing_options(cli, coco_metadata, painted_model, video_path, tmp_path, assert_clean_error):
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
    assert_clean_error(rc, err, "--detection-threshold", "between 0 and 1")
    for smoothing in (0.9, 0):  # ran, the smoothing silently unused (0 is a smoothing asked for too)
        rc, _, err = cli(*common, "--no-track", "--smoothing", smoothing)
        assert_clean_error(rc, err, "--smoothing smooths each person's track; with --no-track there are no tracks")


@pytest.fixture
def edited_clip(coco_metadata, painted_model, video_path, tmp_path) -> tuple[Path, Path]:
    """(clip, model): an edited clip, vtest.avi's frames 96-99 then 500-503 (the same street, other people), and a
    model that finds two people in every frame, where the first shot's stood."""
    source, clip = cv2.VideoCapture(str(video_path)), tmp_path / "edited.avi"
    writer = cv2.VideoWriter(str(clip), cv2.VideoWriter_fourcc(*"MJPG"), 10.0, (768, 576))
    for first in (96, 500):
        source.set(cv2.CAP_PROP_POS_FRAMES, first)
        for _ in range(4):
            writer.write(source.read()[1])
    writer.release()
    source.release()
    box = letterbox_geometry((768, 576), 256)
    truth = random_people(np.random.default_rng(5), 2, 17, box.input_size, overlap=0.0)
    model = painted_model(tmp_path / "m.onnx", *paint(truth, np.array([0.0, 3.0], np.float32), box.input_size),
                          coco_metadata)  # fmt: skip
    return clip, model


def test_a_cut_starts_new_tracks_and_the_sidecar_lists_it_unless_turned_off(
    cli, edited_clip, tmp_path, assert_clean_error
):
    """The edited clip's people took their IDs across the cut. --no-shot-changes (footage with flashes) keeps the
    tracks on."""
    clip, model = edited_clip
    for turned_off, (listed, after) in {(): ([4], {3, 4}), ("--no-shot-changes",): ([], {1, 2})}.items():
        rc, _, err = cli("track", clip, "--model", model, "--csv", tmp_path / "k.csv", *turned_off)
        assert rc == 0, err
        rows = [line.split(",") for line in (tmp_path / "k.csv").read_text().splitlines()[1:]]
        ids = [{int(r[2]) for r in rows if (int(r[0]) >= 4) == shot} - {-1} for shot in (False, True)]
        assert ids == [{1, 2}, after]
        sidecar = json.loads((tmp_path / "k.csv.json").read_text())
        assert sidecar["shot_changes"] == listed and sidecar["settings"]["tracker"]["shot_changes"] is (not turned_off)
    rc, _, err = cli("track", clip, "--model", model, "--no-track", "--no-shot-changes")
    assert_clean_error(rc, err, "--no-shot-changes keeps tracks across cuts; with --no-track there are no tracks")


def test_the_annotated_videos_trails_start_over_at_a_cut(cli, edited_clip, tmp_path, monkeypatch):
    """The last shot's people's trails faded out over 30 frames drawn on the new shot."""
    import core.frame_loop

    clip, model = edited_clip
    trailed = []  # the IDs with a trail drawn, each frame
    draw = core.frame_loop.draw_poses

    def drawn(image, poses, skeleton, trails, **style):
        trailed.append({track_id for track_id, _ in trails.items()})
        return draw(image, poses, skeleton, trails=trails, **style)

    monkeypatch.setattr(core.frame_loop, "draw_poses", drawn)
    rc, _, err = cli("track", clip, "--model", model, "--video", tmp_path / "k.avi")
    assert rc == 0, err
    assert trailed == [set()] + [{1, 2}] * 3 + [set()] + [{3, 4}] * 3  # a shot's first frame gives no ID yet


def test_a_cut_or_a_crowd_at_the_cap_whose_frame_failed_to_be_written_is_not_listed(
    cli, edited_clip, tmp_path, csv_disk_full_at, assert_clean_error, monkeypatch
):
    """A disk full at the cut's frame: its rows are not in the CSV, so its sidecar, written on closing, lists no
    cut there, nor the frame among those at the people cap (a cap of 2: the clip's two people reach it each frame)."""
    import core.pipeline
    from core.decode import DecodeConfig

    monkeypatch.setattr(core.pipeline, "DecodeConfig", functools.partial(DecodeConfig, max_people=2))
    clip, model = edited_clip
    csv_disk_full_at(4)
    rc, _, err = cli("track", clip, "--model", model, "--csv", tmp_path / "k.csv")
    assert_clean_error(rc, err, "k.csv")
    sidecar = json.loads((tmp_path / "k.csv.json").read_text())
    assert sidecar["frames_written"] == 4 and sidecar["shot_changes"] == []
    assert sidecar["frames_at_people_cap"] == [[0, 3]]


def test_a_live_source_looks_for_no_shot_change(cli, edited_clip, tmp_path, played_live):
    """A camera has no edits: the edited clip played as a stream keeps its tracks across the cut, and the sidecar's
    settings say none was looked for (a webcam's frames taken after some passed over, someone stepping up to it,
    were taken for cuts, everyone given a new ID)."""
    import core.track_run

    clip, model = edited_clip
    played_live(core.track_run, clip)
    rc, _, err = cli("track", "rtsp://camera/live", "--model", model, "--csv", tmp_path / "k.csv")
    assert rc == 0, err
    rows = [line.split(",") for line in (tmp_path / "k.csv").read_text().splitlines()[1:]]
    assert {int(r[2]) for r in rows if int(r[0]) >= 4} == {1, 2}
    sidecar = json.loads((tmp_path / "k.csv.json").read_text())
    assert sidecar["shot_changes"] == [] and sidecar["settings"]["tracker"]["shot_changes"] is False


def test_each_threshold_option_sets_its_own_threshold(cli, model_path, write_clip, tmp_path):
    """--detection-threshold taken for the keypoint threshold kept people it should drop (vtest's first 30 frames
    at 0.3: 120 CSV rows instead of 88)."""
    clip = write_clip(tmp_path / "c.avi", 1)
    thresholds = ("--detection-threshold", 0.3, "--keypoint-threshold", 0.4)
    rc, _, err = cli("track", clip, "--model", model_path, "--csv", tmp_path / "c.csv", *thresholds)
    decode = json.loads((tmp_path / "c.csv.json").read_text())["settings"]["decode"]
    assert rc == 0 and (decode["detection_threshold"], decode["keypoint_threshold"]) == (0.3, 0.4), err


def test_unwritable_output_keeps_nothing_half_done(cli, model_path, video_path, tmp_path, assert_clean_error):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    rc, _, err = cli("track", video_path, "--model", model_path, "--csv", blocker / "o.csv", "--max-frames", 1)
    assert_clean_error(rc, err, "cannot write", "o.csv")


def test_a_refused_run_leaves_no_folders_behind(cli, model_path, video_path, tmp_path, assert_clean_error):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    rc, _, err = cli("track", video_path, "--model", model_path, "--csv", tmp_path / "new" / "a.csv",
                     "--openpose-dir", tmp_path / "op" / "frames", "--video", blocker / "v.mp4")  # fmt: skip
    assert_clean_error(rc, err, "cannot write", "v.mp4", "is not a folder")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file"]  # the csv's and openpose's folders too


def test_a_video_format_it_cannot_write_is_refused_before_any_work(
    cli, model_path, video_path, tmp_path, assert_clean_error
):
    out = tmp_path / "out"
    rc, _, err = cli("track", video_path, "--model", model_path, "--csv", out / "a.csv", "--video", out / "a.mkv")
    assert_clean_error(rc, err, "a.mkv", ".mp4 or .avi")
    assert not (out / "a.csv").exists() and "wlitepose_xs" not in err  # refused before the model loaded


def test_error_mid_run_leaves_valid_outputs(cli, model_path, tmp_path, monkeypatch, assert_clean_error):
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
    assert_clean_error(rc, err, "network failed")
    assert isinstance(json.loads((tmp_path / "r.json").read_text()), list)  # still a valid array
    assert json.loads((tmp_path / "k.csv.json").read_text())["frames_written"] == 3


def test_an_output_over_an_input_is_refused_and_the_input_kept(
    cli, model_path, video_path, tmp_path, assert_clean_error
):
    clip, model = tmp_path / "clip.avi", tmp_path / "model.onnx"
    clip.write_bytes(video_path.read_bytes())
    model.write_bytes(model_path.read_bytes())
    for option, target in (("--video", clip), ("--csv", clip), ("--posec3d", model)):
        rc, _, err = cli("track", clip, "--model", model, option, target, "--max-frames", 1)
        assert_clean_error(rc, err, "a file this run reads")
    assert clip.read_bytes() == video_path.read_bytes() and model.read_bytes() == model_path.read_bytes()


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


@pytest.mark.parametrize("path", [".", "/"])  # an empty one is argparse's to refuse (test_train_options)
def test_a_csv_path_without_a_file_name_is_a_clear_error(cli, model_path, video_path, path, assert_clean_error):
    rc, _, err = cli("track", video_path, "--model", model_path, "--max-frames", 1, "--csv", path)
    assert_clean_error(rc, err, "cannot write", "it is a folder")


def test_a_source_typed_with_a_stray_space_is_still_protected_from_the_outputs(
    cli, model_path, write_clip, tmp_path, assert_clean_error
):
    clip = write_clip(tmp_path / "clip.avi", 3)
    before = clip.read_bytes()
    rc, _, err = cli("track", f"{clip} ", "--model", model_path, "--video", clip)  # opened as clip.avi: so is it
    assert_clean_error(rc, err, "a file this run reads")
    assert clip.read_bytes() == before


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


def test_a_run_refused_before_its_first_frame_leaves_the_earlier_outputs(
    cli, model_path, video_path, tmp_path, assert_clean_error
):
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
    assert_clean_error(rc, err, "k.csv.json", "it is a folder")
    (tmp_path / "k.csv.json").rmdir()
    (tmp_path / "op" / ".wlitepose" / ".vtest.openpose-files.json").mkdir(parents=True)
    rc, _, err = cli("track", video_path, *options)
    assert_clean_error(rc, err, ".wlitepose/.vtest.openpose-files.json there is a folder")
    del earlier[tmp_path / "k.csv.json"]
    assert {path: path.read_bytes() for path in earlier} == earlier


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="FIFOs are POSIX's")
def test_a_fifo_is_no_output_image_playlist_or_lock_and_hangs_nothing(cli, model_path, tmp_path, assert_clean_error):
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
    assert_clean_error(rc, err, "fifo.csv", "not a regular file")
    assert_clean_error(rc2, err2, ".k.json.wlitepose-lock beside it, where a run keeps its lock, is a link or a FIFO")
    assert_clean_error(rc3, err3, "list.m3u8 is not a regular file")


def test_a_link_at_a_locks_name_makes_no_file_where_it_leads(cli, model_path, video_path, tmp_path, assert_clean_error):
    (tmp_path / "other").mkdir()
    (tmp_path / ".k.json.wlitepose-lock").symlink_to(tmp_path / "other" / "made")
    rc, _, err = cli("track", video_path, "--model", model_path, "--max-frames", 1, "--coco-json", tmp_path / "k.json")
    assert_clean_error(rc, err, "is a link or a FIFO, not a lock of this tool's; remove it")
    assert not (tmp_path / "other" / "made").exists() and not (tmp_path / "k.json").exists()


@pytest.mark.parametrize("option", ["--csv", "--video"])
def test_a_path_of_spaces_is_refused_not_written_as_a_file_named_blank(cli, video_path, tmp_path, monkeypatch, option):
    """`--csv "$OUT "` with OUT unset wrote a CSV named ' ' and a sidecar ' .json' into the current folder."""
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as exit_info:
        cli("track", video_path, "--max-frames", 1, option, " ")
    assert exit_info.value.code == 2 and list(tmp_path.iterdir()) == []
