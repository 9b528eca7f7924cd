"""Golden files fix every export layout; the sidecar, the CSV and the COCO files hold what a run found."""

import io
import itertools
import json
import os
import pickle
import pickletools
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from core.poses import Poses
from core.sinks import CocoJsonSink, CsvSink, PoseC3DSink, SinkOptions, open_sinks
from core.sinks.coco_json import coco_results
from core.sinks.csv_sink import sidecar_path
from core.version import tool_version

GOLDEN = Path(__file__).parent / "golden"


NAN = np.nan


@pytest.fixture
def write_all(toy_frames, toy_info, toy_meta):
    """write_all(tmp_path) -> SinkOptions: the three frames written to a CSV, a COCO JSON, OpenPose frames, a
    PoseC3D file and a video in ``tmp_path``."""

    def write(tmp_path: Path) -> SinkOptions:
        options = SinkOptions(
            csv=tmp_path / "out.csv",
            coco_json=tmp_path / "out.json",
            openpose_dir=tmp_path / "openpose",
            posec3d=tmp_path / "out.pkl",
            video=tmp_path / "out.avi",
        )
        with open_sinks(options, toy_info, toy_meta) as sinks:
            for index, t, poses in toy_frames():
                sinks.write(index, t, poses, image=np.full((48, 64, 3), 40 * index, np.uint8))
        return options

    return write


def _golden(name: str, text: str, update: bool = False) -> None:
    path = GOLDEN / name
    if update:
        path.write_text(text, encoding="utf-8")
    assert text == path.read_text(encoding="utf-8"), f"{name} layout changed"


def _posec3d_as_json(data: list[dict]) -> str:
    plain = [{k: (v.tolist() if isinstance(v, np.ndarray) else v) for k, v in sample.items()} for sample in data]
    return json.dumps(plain, indent=1, sort_keys=True) + "\n"


def test_the_sidecar_says_once_a_frames_time_is_off_its_rate_at_once(tmp_path, monkeypatch):
    """A variable-rate file's sidecar gave only its average fps: a reader timing rows by frame / fps got them wrong.
    An app recording starts mid-file (frame 500); a frame 0.4 of a frame off is on pace, 0.6 is not. A run under way
    says so at that frame, not at its next rewrite (the clock stands still here: none is due)."""
    monkeypatch.setattr("core.sinks.csv_sink.time.monotonic", lambda: 0.0)
    path = tmp_path / "recording.csv"
    with CsvSink(path, ["nose"], {"fps": 10.0}) as sink:
        for index, time_s in ((500, 50.0), (501, 50.14), (502, 50.2)):
            sink.write(index, time_s, Poses.empty(1))
        assert json.loads(sidecar_path(path).read_text())["frame_times_vary"] is False
        sink.write(503, 50.36, Poses.empty(1))
        assert json.loads(sidecar_path(path).read_text())["frame_times_vary"] is True
        sink.write(504, 50.4, Poses.empty(1))  # back on pace: the rate still varied
    assert json.loads(sidecar_path(path).read_text())["frame_times_vary"] is True


def test_the_sidecar_lists_each_shot_change_as_it_is_found(tmp_path, monkeypatch):
    """A reader of a run under way learns of a cut with its frame's rows, not at the next rewrite (the clock stands
    still): the cut is told once they are written."""
    monkeypatch.setattr("core.sinks.csv_sink.time.monotonic", lambda: 0.0)
    path = tmp_path / "edited.csv"
    with CsvSink(path, ["nose"], {"fps": 10.0}) as sink:
        for index in range(6):
            sink.write(index, index / 10, Poses.empty(1))
            if index in (2, 5):
                sink.shot_changed(index)
            assert json.loads(sidecar_path(path).read_text())["shot_changes"] == [i for i in (2, 5) if i <= index]


def test_a_cut_at_every_frame_rewrites_the_sidecar_no_sooner_than_its_spacing(tmp_path, monkeypatch):
    """A folder of photos of many shapes is a cut at every photo: each rewrote the sidecar, which names every image
    (117.5 s against 107.2 for 3,000 photos of two shapes, growing with the square of their number). A clock
    moving 1 ms a reading: a rewrite taking 1 ms waits 50 ms for the next."""
    from core.sinks import csv_sink

    clock, saved = itertools.count(), []
    monkeypatch.setattr("core.sinks.csv_sink.time.monotonic", lambda: next(clock) / 1000)
    save = csv_sink._save_sidecar
    monkeypatch.setattr(csv_sink, "_save_sidecar", lambda *args: saved.append(1) or save(*args))
    path = tmp_path / "photos.csv"
    with CsvSink(path, ["nose"], {"fps": 10.0}) as sink:
        for index in range(200):
            sink.write(index, index / 10, Poses.empty(1))
            sink.shot_changed(index)
    assert 5 <= len(saved) <= 12  # 202 before; 10 at a spacing of 50, 28 at 15
    assert json.loads(sidecar_path(path).read_text())["shot_changes"] == list(range(200))


def test_the_sidecar_lists_the_frames_not_analysed_and_counts_a_live_sources_skipped_ones(tmp_path):
    """A webcam faster than the pipeline gave one range for every frame written: 1.37 MB of sidecar an hour."""
    with CsvSink(tmp_path / "file.csv", ["nose"], {}, first_frame=0) as sink:
        for index in (1, 2, 4, 5, 9):
            sink.write(index, index / 10, Poses.empty(1))
    assert json.loads((tmp_path / "file.csv.json").read_text())["frames_not_analysed"] == [[0, 0], [3, 3], [6, 8]]
    with CsvSink(tmp_path / "live.csv", ["nose"], {}, live=True) as sink:
        for index in range(0, 3000, 3):
            sink.write(index, index / 30, Poses.empty(1))
    sidecar = json.loads((tmp_path / "live.csv.json").read_text())
    assert sidecar["frames_skipped"] == 1998 and "frames_not_analysed" not in sidecar
    with CsvSink(tmp_path / "recording.csv", ["nose"], {}) as sink:  # an app recording started at frame 500
        for index in (500, 501, 503):
            sink.write(index, index / 10, Poses.empty(1))
    assert json.loads((tmp_path / "recording.csv.json").read_text())["frames_not_analysed"] == [[502, 502]]


def test_the_sidecar_lists_the_frames_at_the_people_cap_as_ranges(tmp_path):
    """A crowd video at the cap in most frames: one range for each run of them, not an index a frame."""
    with CsvSink(tmp_path / "crowd.csv", ["nose"], {}, first_frame=0) as sink:
        for index in range(8):
            sink.write(index, index / 10, Poses.empty(1))
            if index in (1, 2, 3, 6):
                sink.reached_people_cap(index)
    assert json.loads((tmp_path / "crowd.csv.json").read_text())["frames_at_people_cap"] == [[1, 3], [6, 6]]


@pytest.mark.parametrize(
    ("written", "capped", "ranges"),
    [
        # a webcam or the app skipping late frames, a crowd at the cap in each written: one range a frame before
        (range(0, 20, 2), range(0, 20, 2), [[0, 18]]),
        # a written frame below the cap between two runs ends the first, however few frames it is
        (range(5), (0, 1, 3, 4), [[0, 1], [3, 4]]),
    ],
)
def test_a_range_at_the_people_cap_spans_the_frames_not_analysed(tmp_path, written, capped, ranges):
    with CsvSink(tmp_path / "live.csv", ["nose"], {}, live=True) as sink:
        for index in written:
            sink.write(index, index / 10, Poses.empty(1))
            if index in capped:
                sink.reached_people_cap(index)
    assert json.loads((tmp_path / "live.csv.json").read_text())["frames_at_people_cap"] == ranges


def test_every_layout_matches_its_golden_file(tmp_path, write_all):
    options = write_all(tmp_path)
    _golden("out.csv", Path(options.csv).read_text())
    version = f'"wlitepose_version": "{tool_version()}"'  # the release that wrote it, whichever that is
    sidecar = Path(str(options.csv) + ".json").read_text()
    assert version in sidecar
    sidecar = sidecar.replace(version, '"wlitepose_version": "VERSION"').replace(str(tmp_path), "RUN")
    _golden("out.csv.json", sidecar)
    _golden("coco.json", Path(options.coco_json).read_text())
    files = sorted(p.name for p in Path(options.openpose_dir).iterdir())
    assert files == [f"clip_{i:012d}_keypoints.json" for i in range(3)]
    _golden("openpose_000000000000.json", (Path(options.openpose_dir) / files[0]).read_text() + "\n")
    with open(options.posec3d, "rb") as f:
        _golden("posec3d.json", _posec3d_as_json(pickle.load(f)))
    cap = cv2.VideoCapture(str(options.video))
    assert int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) == 3
    assert (cap.get(cv2.CAP_PROP_FRAME_WIDTH), cap.get(cv2.CAP_PROP_FRAME_HEIGHT)) == (64, 48)


def test_a_csv_to_the_standard_output_streams_the_golden_files_bytes_frame_by_frame(
    tmp_path, monkeypatch, toy_frames, toy_info, toy_meta
):
    """`--csv -`: the same bytes as the file, each frame's rows out as it is written (the console holds what it is
    given until flushed, as a pipe's does), whatever its line ends (Windows' "\\r\\n"); nothing written to disk (the
    path "-" was a file named -, with a sidecar -.json)."""
    monkeypatch.chdir(tmp_path)
    console = io.TextIOWrapper(io.BytesIO(), encoding="cp1252", newline="\r\n")
    monkeypatch.setattr(sys, "stdout", console)
    golden = (GOLDEN / "out.csv").read_bytes()
    with open_sinks(SinkOptions(csv="-"), toy_info, toy_meta) as sinks:
        for index, t, poses in toy_frames():
            sinks.write(index, t, poses)
            streamed = console.buffer.getvalue()
            assert golden.startswith(streamed) and streamed.count(b"\n") == 1 + sum(
                len(p) for _, _, p in toy_frames()[: index + 1]
            )
    assert console.buffer.getvalue() == golden
    assert list(tmp_path.iterdir()) == []


def test_a_csv_to_the_standard_output_beside_a_video_leaves_a_file_named_dash_alone(
    tmp_path, monkeypatch, capsys, toy_frames, toy_info, toy_meta
):
    """`--csv - --video v.mp4` where an earlier `--csv ./-` run left its files: the video's start must not take back
    that run's finished sidecar, -.json, a file this run was never given."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "-").write_text("frame\n")
    (tmp_path / "-.json").write_text(json.dumps({"finished": True}))
    with open_sinks(SinkOptions(csv="-", video=tmp_path / "v.mp4"), toy_info, toy_meta) as sinks:
        sinks.write(*toy_frames()[0])
    assert json.loads((tmp_path / "-.json").read_text()) == {"finished": True}
    assert capsys.readouterr().out.startswith("frame,")


def test_coco_results_keep_pycocotools_boxes_on_the_joints_found(tmp_path, write_all):
    """A missing joint at 0, 0 stretched the box loadRes takes from all keypoints to the image's corner, and with
    it the area range that sorts the result into APm or APl."""
    pytest.importorskip("pycocotools")
    from pycocotools.coco import COCO

    options = write_all(tmp_path)
    truth = COCO()
    truth.dataset = {"images": [{"id": 0}, {"id": 2}], "annotations": [], "categories": [{"id": 1}]}
    truth.createIndex()
    results = truth.loadRes(str(options.coco_json))
    boxes = [results.anns[n]["bbox"] for n in (1, 2)]
    assert boxes == [pytest.approx([10.0, 20.0, 2.5, 10.25]), pytest.approx([40.0, 10.0, 4.12, 8.0])]


def test_csv_leaves_missing_joints_empty(tmp_path, write_all):
    write_all(tmp_path)
    rows = [line.split(",") for line in (tmp_path / "out.csv").read_text().splitlines()]
    header = rows[0]
    second_person = dict(zip(header, rows[2], strict=True))
    assert second_person["left_wrist_x"] == second_person["left_wrist_y"] == second_person["left_wrist_score"] == ""
    assert second_person["track_id"] == "-1"


@pytest.mark.skipif(os.name != "posix", reason="POSIX permission bits")
def test_outputs_get_the_users_umask_permissions(tmp_path, write_all):
    """Replaced-in-place files (sidecar, OpenPose frames, PoseC3D) are as readable as the CSV beside them: as the
    umask says, whichever it is (a private umask keeps them private)."""
    for umask, mode in ((0o022, 0o644), (0o077, 0o600)):
        folder = tmp_path / oct(umask)
        folder.mkdir()
        previous = os.umask(umask)
        try:
            options = write_all(folder)
        finally:
            os.umask(previous)
        written = [Path(options.csv), Path(str(options.csv) + ".json"), Path(options.posec3d)]
        written += sorted(Path(options.openpose_dir).iterdir())
        assert {oct(p.stat().st_mode & 0o777) for p in written} == {oct(mode)}
        assert not list(folder.glob(".*.tmp"))


def test_a_settings_change_mid_recording_is_in_the_csv_sidecar(tmp_path):
    names = ["nose", "left_eye"]
    with CsvSink(tmp_path / "k.csv", names, {"settings": {"input_size": 256}}) as sink:
        sink.settings_changed(7, {"input_size": 320})
        live = json.loads((tmp_path / "k.csv.json").read_text())  # rewritten at once, not only at close
    assert live["settings"] == {"input_size": 256}
    assert live["settings_changes"] == [{"from_frame": 7, "settings": {"input_size": 320}}]


def test_settings_moved_twice_before_a_frame_leave_one_change(tmp_path):
    with CsvSink(tmp_path / "k.csv", ["nose"], {"settings": {"input_size": 256}}) as sink:
        sink.settings_changed(7, {"input_size": 320})
        sink.settings_changed(7, {"input_size": 384})  # a dragged slider: where it stopped applies
        sink.settings_changed(9, {"input_size": 448})
    changes = json.loads((tmp_path / "k.csv.json").read_text())["settings_changes"]
    assert changes == [
        {"from_frame": 7, "settings": {"input_size": 384}},
        {"from_frame": 9, "settings": {"input_size": 448}},
    ]


def test_coco_entries_from_an_image_folder_name_their_image(tmp_path, toy_frames, toy_info, toy_meta):
    meta = {**toy_meta, "frame_files": ["a.jpg", "b.jpg", "c.jpg"]}
    with open_sinks(SinkOptions(coco_json=tmp_path / "r.json"), toy_info, meta) as sinks:
        for index, t, poses in toy_frames():
            sinks.write(index, t, poses)
    entries = json.loads((tmp_path / "r.json").read_text())
    assert [(e["image_id"], e["file_name"]) for e in entries] == [(0, "a.jpg"), (0, "a.jpg"), (2, "c.jpg")]


def test_a_coco_dataset_is_ground_truth_the_runs_coco_results_score_ap_1_against(
    tmp_path, toy_frames, toy_info, toy_meta
):
    """The layout, joints found flagged 2 and those not 0, 0, 0, the box and area around the joints found, the
    skeleton counted from 1, a confirmed person's track in the attributes CVAT reads; pycocotools loads the file as
    ground truth, and the same run's COCO results (the people, their joints) score AP 1.0 against it."""
    pytest.importorskip("pycocotools")
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    options = SinkOptions(coco_json=tmp_path / "results.json", coco_dataset=tmp_path / "dataset.json")
    with open_sinks(options, toy_info, toy_meta) as sinks:
        for index, t, poses in toy_frames():
            sinks.write(index, t, poses)
    text = Path(options.coco_dataset).read_text()
    assert f'"contributor":"WLitePose {tool_version()} (wlitepose_xs)"' in text
    _golden("coco_dataset.json", text.replace(tool_version(), "VERSION"))
    truth = COCO(str(options.coco_dataset))
    assert truth.imgs[1] == {"id": 1, "file_name": "frame_000001.jpg", "width": 64, "height": 48}  # nobody in it
    assert truth.cats[1]["keypoints"] == list(toy_info.keypoint_names) and truth.cats[1]["skeleton"] == [[1, 2], [1, 3]]
    first, unconfirmed, later = (truth.anns[n] for n in (1, 2, 3))
    assert first["keypoints"] == [10.0, 20.0, 2, 12.5, 30.25, 2, 0, 0, 0] and first["num_keypoints"] == 2
    assert first["bbox"] == [10.0, 20.0, 2.5, 10.25] and first["area"] == 25.62 and first["iscrowd"] == 0
    assert first["attributes"] == {"score": 0.55, "track_id": 1, "keyframe": True} and first["track_id"] == 1
    assert "track_id" not in unconfirmed and unconfirmed["attributes"] == {"score": 0.43}
    assert later["image_id"] == 2 and later["num_keypoints"] == 3 and later["bbox"] == [9.0, 21.0, 4.0, 10.0]
    evaluation = COCOeval(truth, truth.loadRes(str(options.coco_json)), "keypoints")
    evaluation.params.kpt_oks_sigmas = np.array(toy_info.sigmas)  # three keypoints, not COCO's seventeen
    evaluation.evaluate()
    evaluation.accumulate()
    evaluation.summarize()
    assert evaluation.stats[0] == 1.0


def test_a_coco_datasets_images_are_a_folders_own_names_and_sizes(tmp_path, toy_frames, toy_info, toy_meta):
    meta = {**toy_meta, "frame_files": ["a.jpg", "b.png", "c.jpg"]}
    with open_sinks(SinkOptions(coco_dataset=tmp_path / "d.json"), toy_info, meta) as sinks:
        for index, t, poses in toy_frames():
            sinks.write(index, t, poses, image=np.zeros((30 + index, 40, 3), np.uint8))
    images = json.loads((tmp_path / "d.json").read_text())["images"]
    assert [(i["file_name"], i["width"], i["height"]) for i in images] == [("a.jpg", 40, 30), ("b.png", 40, 31),
                                                                           ("c.jpg", 40, 32)]  # fmt: skip


def test_a_posec3d_file_loads_in_any_numpy_and_in_mmaction2s_dataset_layout(tmp_path):
    """numpy 2's own pickles name numpy._core, which numpy 1.x (where mmaction2 runs) cannot import; mmaction2's
    PoseDataset reads a list of samples."""
    with PoseC3DSink(tmp_path / "p.pkl", 3, (64, 48), "clip") as sink:
        sink.write(0, 0.0, Poses([[[1.0, 2.0], [3.0, 4.0], [NAN, NAN]]], [[0.9, 0.8, 0.0]], [0.7], [1]))
    data = (tmp_path / "p.pkl").read_bytes()
    named = {arg for _, arg, _ in pickletools.genops(data) if isinstance(arg, str) and arg.startswith("numpy")}
    assert named == {"numpy"}  # numpy.ndarray only, which every numpy has
    (sample,) = pickle.loads(data)
    assert sample["keypoint"].shape == (1, 1, 3, 2) and sample["wlitepose_layout"] == 3
    sample["keypoint"][..., 0] = 64 - sample["keypoint"][..., 0]  # a flip in place, as a reader's transform does
    assert sample["keypoint"][0, 0, 0].tolist() == [63.0, 2.0]


@pytest.mark.skipif(not Path("/proc/thread-self/io").exists(), reason="counts a thread's writes as Linux does")
def test_a_coco_results_frame_goes_in_one_write_with_its_closing_bracket(tmp_path):
    """Its entries and the bracket behind them were two writes once they passed the 8 KB buffer: a run killed
    between them left an array without its bracket, JSON no reader loads."""
    sink = CocoJsonSink(tmp_path / "a.json")
    crowd = Poses(np.full((60, 17, 2), 5.0), np.full((60, 17), 0.9), np.full(60, 0.9), np.arange(60))

    def writes() -> int:
        io = Path("/proc/thread-self/io").read_text()
        return int(next(line.split()[1] for line in io.splitlines() if line.startswith("syscw")))

    before = writes()
    sink.write(0, 0.0, crowd)
    assert writes() - before == 1 and (tmp_path / "a.json").stat().st_size > 8192
    sink.close()
    assert len(json.loads((tmp_path / "a.json").read_text())) == 60


def test_coco_results_keep_the_person_score_to_four_decimals():
    """The person score rounded to 2 decimals tied people that pycocotools ranks by it (joint scores keep 4)."""
    poses = Poses(np.zeros((1, 3, 2)), np.ones((1, 3)), [0.61234])
    assert coco_results(0, poses)[0]["score"] == 0.6123
