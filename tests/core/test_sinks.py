"""Golden files fix every export layout; interrupted runs leave valid files."""

import contextlib
import errno
import fnmatch
import io
import json
import os
import pickle
import pickletools
import shutil
import signal
import sys
import threading
from pathlib import Path
from types import SimpleNamespace

import cv2
import numpy as np
import pytest

from core.errors import WLitePoseError
from core.model_file import ModelInfo
from core.output_lock import check_free, take
from core.poses import Poses
from core.sinks import CocoDatasetSink, CocoJsonSink, CsvSink, OpenPoseSink, PoseC3DSink, SinkOptions, open_sinks
from core.sinks.base import atomic_file, atomic_write, name_key, writable, write_at
from core.sinks.coco_json import coco_results
from core.sinks.multi import output_paths, plan_outputs
from core.sinks.posec3d import FLUSH_SPACING
from core.sinks.video import MAX_HOLD_S, VideoSink
from core.version import tool_version

GOLDEN = Path(__file__).parent / "golden"
NAN = np.nan
INFO = ModelInfo(
    keypoint_names=("nose", "left_wrist", "right_wrist"),
    skeleton=((0, 1), (0, 2)),
    flip_map=(0, 2, 1),
    sigmas=(0.026, 0.062, 0.062),
    mean=(0.485, 0.456, 0.406),
    std=(0.229, 0.224, 0.225),
    heatmap_stride=2,
    tag_stride=4,
    variant="wlitepose_xs",
    input_size=256,
    dataset="toy",
    trained=False,
    sha256="0" * 64,
)
META = {"source": "clip.mp4", "fps": 25.0, "size": [64, 48], "frame_count": 3, "settings": {"input_size": 256}}


def _frames() -> list[tuple[int, float, Poses]]:
    first = Poses(
        [[[10.0, 20.0], [12.5, 30.25], [NAN, NAN]], [[40.0, 10.0], [NAN, NAN], [44.125, 18.0]]],
        [[0.9, 0.8, 0.0], [0.7, 0.0, 0.61234]],
        [0.55, 0.43],
        [1, -1],
    )
    second = Poses([[[11.0, 21.0], [13.0, 31.0], [9.0, 29.0]]], [[0.95, 0.85, 0.5]], [0.77], [1])
    return [(0, 0.0, first), (1, 0.04, Poses.empty(3)), (2, 0.08, second)]


def _write_all(tmp_path: Path) -> SinkOptions:
    options = SinkOptions(
        csv=tmp_path / "out.csv",
        coco_json=tmp_path / "out.json",
        openpose_dir=tmp_path / "openpose",
        posec3d=tmp_path / "out.pkl",
        video=tmp_path / "out.avi",
    )
    with open_sinks(options, INFO, META) as sinks:
        for index, t, poses in _frames():
            sinks.write(index, t, poses, image=np.full((48, 64, 3), 40 * index, np.uint8))
    return options


def test_open_outputs_are_held_against_other_runs_until_closed(tmp_path):
    options = SinkOptions(csv=tmp_path / "out.csv", openpose_dir=tmp_path / "openpose", video=tmp_path / "out.avi")
    with open_sinks(options, INFO, META):
        held = ("out.csv", "out.csv.json", "openpose/clip.openpose", "out.avi")  # another run's COCO JSON named
        for output in (tmp_path / name for name in held):  # like the sidecar, too
            with pytest.raises(WLitePoseError, match="another run .* is writing"):
                take(output)  # what a second run does (the lock is the system's: one process or two alike)
    with take(tmp_path / "out.csv"), take(tmp_path / "openpose" / "clip.openpose"):
        pass  # let go at close
    assert not list(tmp_path.rglob("*.wlitepose-lock"))


def test_a_refused_output_is_named_as_the_run_calls_it(tmp_path):
    """An OpenPose folder another run writes is refused by this source's frames in it, not by the hidden name its
    lock takes."""
    options = SinkOptions(openpose_dir=tmp_path / "openpose")
    with open_sinks(options, INFO, META):
        with pytest.raises(WLitePoseError, match="is writing clip's OpenPose frames in .*openpose right now"):
            open_sinks(options, INFO, META)


def test_the_outputs_the_caller_holds_are_passed_over_however_they_are_spelt(tmp_path, monkeypatch):
    """The app's export of a file its own recording writes, spelt ~/...: the window says so, where the check of
    locks blamed another run."""
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("USERPROFILE", str(tmp_path))
    (tmp_path / "clip.mp4").write_bytes(b"")
    recording = SinkOptions(csv=tmp_path / "clip.csv")
    with open_sinks(recording, INFO, META):
        held = frozenset(name_key(path) for path in output_paths(recording))
        jobs = plan_outputs([str(tmp_path / "clip.mp4")], SinkOptions(csv="~/{name}.csv"), (), held=held)
    assert [spec for spec, _ in jobs] == [str(tmp_path / "clip.mp4")]


def test_a_batch_looks_at_each_file_it_reads_once_however_many_sources_it_has(tmp_path, monkeypatch):
    """Each source's outputs were checked against every file the batch reads, all looked at again for each
    source: 300 clips took 4 s before the first frame (1000 a minute, the app's window hung as long)."""
    import core.sinks.base

    clips = [tmp_path / f"clip{i}.avi" for i in range(20)]
    for clip in clips:
        clip.write_bytes(b"")
    looked_at, identity = [], core.sinks.base._identity
    monkeypatch.setattr(core.sinks.base, "_identity", lambda path: looked_at.append(Path(path)) or identity(path))
    plan_outputs(list(map(str, clips)), SinkOptions(csv=tmp_path / "out" / "{name}.csv"), tuple(map(str, clips)))
    assert [looked_at.count(clip) for clip in clips] == [1] * len(clips)


def test_an_output_is_held_under_every_spelling_and_where_locks_are_unsupported_runs_go_on(
    tmp_path, monkeypatch, capsys
):
    (tmp_path / "real").mkdir()
    (tmp_path / "alias").symlink_to(tmp_path / "real")
    (tmp_path / "link.csv").symlink_to(tmp_path / "real" / "out.csv")
    monkeypatch.setenv("HOME", str(tmp_path))
    with take(tmp_path / "real" / "out.csv"):
        for spelling in (tmp_path / "alias" / "out.csv", Path("~/alias/../real/out.csv")):
            with pytest.raises(WLitePoseError, match="another run .* is writing"):
                take(spelling)
        # a link at an output's own name is replaced by it (own_file): the link's name is an output of its own,
        # whose lock two runs writing through it share (they did not: the lock followed the link, the file not)
        with take(tmp_path / "link.csv"), pytest.raises(WLitePoseError, match="another run .* is writing"):
            take(Path("~/alias/../link.csv"))
    assert not (Path.cwd() / "~").exists()
    long = tmp_path / f"{'b' * 245}.mp4"  # a name the file system takes; ".NAME.wlitepose-lock" it would not
    with take(long) as lock:
        assert lock.path.parent == tmp_path and len(lock.path.name) < 60
        with pytest.raises(WLitePoseError, match="another run"):
            take(tmp_path / f"{'B' * 245}.MP4")  # one file on Windows and macOS: one lock everywhere
    with take(tmp_path / f"{'é' * 120}.mp4") as lock:  # 244 bytes in 124 letters: the lock's name counts bytes
        assert len(lock.path.name) < 60
    import core.output_lock

    def unsupported(fd):
        raise OSError(errno.ENOLCK, "No locks available")  # an NFS mount without its lock daemon

    monkeypatch.setattr(core.output_lock, "_try_lock", unsupported)
    with take(tmp_path / "out.csv"), take(tmp_path / "out.csv"):  # not refused for ever
        core.output_lock.check_free(tmp_path / "out.csv")
    assert "takes no lock (No locks available)" in capsys.readouterr().err
    (tmp_path / ".out.csv.wlitepose-lock").write_bytes(b"")  # one a killed run left: no holder, not refused for ever
    core.output_lock.check_free(tmp_path / "out.csv")


def _golden(name: str, text: str, update: bool = False) -> None:
    path = GOLDEN / name
    if update:
        path.write_text(text, encoding="utf-8")
    assert text == path.read_text(encoding="utf-8"), f"{name} layout changed"


def _posec3d_as_json(data: list[dict]) -> str:
    plain = [{k: (v.tolist() if isinstance(v, np.ndarray) else v) for k, v in sample.items()} for sample in data]
    return json.dumps(plain, indent=1, sort_keys=True) + "\n"


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


def test_every_layout_matches_its_golden_file(tmp_path):
    options = _write_all(tmp_path)
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


def test_a_csv_to_the_standard_output_streams_the_golden_files_bytes_frame_by_frame(tmp_path, monkeypatch):
    """`--csv -`: the same bytes as the file, each frame's rows out as it is written (the console holds what it is
    given until flushed, as a pipe's does), whatever its line ends (Windows' "\\r\\n"); nothing written to disk (the
    path "-" was a file named -, with a sidecar -.json)."""
    monkeypatch.chdir(tmp_path)
    console = io.TextIOWrapper(io.BytesIO(), encoding="cp1252", newline="\r\n")
    monkeypatch.setattr(sys, "stdout", console)
    golden = (GOLDEN / "out.csv").read_bytes()
    with open_sinks(SinkOptions(csv="-"), INFO, META) as sinks:
        for index, t, poses in _frames():
            sinks.write(index, t, poses)
            streamed = console.buffer.getvalue()
            assert golden.startswith(streamed) and streamed.count(b"\n") == 1 + sum(
                len(p) for _, _, p in _frames()[: index + 1]
            )
    assert console.buffer.getvalue() == golden
    assert list(tmp_path.iterdir()) == []


def test_a_csv_to_the_standard_output_beside_a_video_leaves_a_file_named_dash_alone(tmp_path, monkeypatch, capsys):
    """`--csv - --video v.mp4` where an earlier `--csv ./-` run left its files: the video's start must not take back
    that run's finished sidecar, -.json, a file this run was never given."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "-").write_text("frame\n")
    (tmp_path / "-.json").write_text(json.dumps({"finished": True}))
    with open_sinks(SinkOptions(csv="-", video=tmp_path / "v.mp4"), INFO, META) as sinks:
        sinks.write(*_frames()[0])
    assert json.loads((tmp_path / "-.json").read_text()) == {"finished": True}
    assert capsys.readouterr().out.startswith("frame,")


def test_coco_results_keep_pycocotools_boxes_on_the_joints_found(tmp_path):
    """A missing joint at 0, 0 stretched the box loadRes takes from all keypoints to the image's corner, and with
    it the area range that sorts the result into APm or APl."""
    pytest.importorskip("pycocotools")
    from pycocotools.coco import COCO

    options = _write_all(tmp_path)
    truth = COCO()
    truth.dataset = {"images": [{"id": 0}, {"id": 2}], "annotations": [], "categories": [{"id": 1}]}
    truth.createIndex()
    results = truth.loadRes(str(options.coco_json))
    boxes = [results.anns[n]["bbox"] for n in (1, 2)]
    assert boxes == [pytest.approx([10.0, 20.0, 2.5, 10.25]), pytest.approx([40.0, 10.0, 4.12, 8.0])]


def test_csv_leaves_missing_joints_empty(tmp_path):
    _write_all(tmp_path)
    rows = [line.split(",") for line in (tmp_path / "out.csv").read_text().splitlines()]
    header = rows[0]
    second_person = dict(zip(header, rows[2], strict=True))
    assert second_person["left_wrist_x"] == second_person["left_wrist_y"] == second_person["left_wrist_score"] == ""
    assert second_person["track_id"] == "-1"


@pytest.mark.skipif(os.name != "posix", reason="POSIX permission bits")
def test_outputs_get_the_users_umask_permissions(tmp_path):
    """Replaced-in-place files (sidecar, OpenPose frames, PoseC3D) are as readable as the CSV beside them: as the
    umask says, whichever it is (a private umask keeps them private)."""
    for umask, mode in ((0o022, 0o644), (0o077, 0o600)):
        folder = tmp_path / oct(umask)
        folder.mkdir()
        previous = os.umask(umask)
        try:
            options = _write_all(folder)
        finally:
            os.umask(previous)
        written = [Path(options.csv), Path(str(options.csv) + ".json"), Path(options.posec3d)]
        written += sorted(Path(options.openpose_dir).iterdir())
        assert {oct(p.stat().st_mode & 0o777) for p in written} == {oct(mode)}
        assert not list(folder.glob(".*.tmp"))


def test_files_are_valid_before_close(tmp_path, monkeypatch):
    """What an interrupted run leaves: every sink's file parses after each frame, before close."""
    monkeypatch.setattr("core.sinks.posec3d.FLUSH_SPACING", 0)  # every 2 frames however long a replacement takes
    csv_sink = CsvSink(tmp_path / "a.csv", INFO.keypoint_names, {})
    coco = CocoJsonSink(tmp_path / "a.json")
    openpose = OpenPoseSink(tmp_path / "op")
    posec3d = PoseC3DSink(tmp_path / "a.pkl", 3, (64, 48), "clip", flush_every=2)
    dataset = CocoDatasetSink(tmp_path / "d.json", INFO, (64, 48))
    sinks = (csv_sink, coco, openpose, posec3d, dataset)
    try:
        assert json.loads((tmp_path / "a.json").read_text()) == []
        assert json.loads((tmp_path / "d.json").read_text())["images"] == []
        for written, (index, t, poses) in enumerate(_frames(), start=1):
            for sink in sinks:
                sink.write(index, t, poses)
            coco_entries = json.loads((tmp_path / "a.json").read_text())
            assert len(coco_entries) == sum(len(p) for _, _, p in _frames()[:written])
            data = json.loads((tmp_path / "d.json").read_text())  # frame 1 has nobody: an image all the same
            assert len(data["images"]) == written and len(data["annotations"]) == len(coco_entries)
            assert len((tmp_path / "a.csv").read_text().splitlines()) == 1 + len(coco_entries)
            with open(tmp_path / "a.pkl", "rb") as f:
                assert pickle.load(f)[0]["total_frames"] == written // 2 * 2  # flushed every 2 frames
    finally:
        for sink in sinks:
            sink.close()
    with open(tmp_path / "a.pkl", "rb") as f:
        (data,) = pickle.load(f)
    assert data["total_frames"] == 3 and data["keypoint"].shape == (1, 3, 3, 2)  # track 1; the untracked one is out


@contextlib.contextmanager
def _files_limited_to(size: int):
    """No file this process writes may grow past ``size`` bytes (the OS refuses with EFBIG, as a full disk
    refuses with ENOSPC)."""
    resource = pytest.importorskip("resource")
    handler = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # the error, not the signal that would kill us
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    resource.setrlimit(resource.RLIMIT_FSIZE, (size, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
        signal.signal(signal.SIGXFSZ, handler)


def _write_until_refused(options: SinkOptions, limit: int) -> WLitePoseError:
    """Frames into ``options``' files, round after round, until a file may grow no more; the error."""
    with _files_limited_to(limit), open_sinks(options, INFO, META) as sinks:
        for round_ in range(100_000):
            for index, t, poses in _frames():
                try:
                    sinks.write(3 * round_ + index, 3 * round_ * 0.04 + t, poses)
                except WLitePoseError as error:
                    return error
    raise AssertionError("no write was refused")


def test_a_csv_whose_first_frame_the_disk_refuses_keeps_its_header(tmp_path):
    """A disk full from the first frame on: the CSV is cut back to its header, not to nothing."""
    sink = CsvSink(tmp_path / "out.csv", INFO.keypoint_names, {"source": "clip.mp4"}, first_frame=0)
    header = (tmp_path / "out.csv").read_text()
    with _files_limited_to(len(header) + 10), pytest.raises(OSError):
        sink.write(*_frames()[0])
    sink.close()
    assert (tmp_path / "out.csv").read_text() == header


@pytest.mark.parametrize("field, name", [("csv", "out.csv"), ("coco_json", "out.json"), ("coco_dataset", "out.json")])
def test_a_file_that_cannot_grow_ends_at_its_last_whole_frame(tmp_path, field, name):
    """A full disk mid-run: one sentence naming the file, which stays valid, ending where a frame ended."""
    limited = SinkOptions(**{field: tmp_path / "limited" / name})
    error = _write_until_refused(limited, 20_000)
    assert str(error) == f"cannot write {tmp_path / 'limited' / name}: File too large"
    text = (tmp_path / "limited" / name).read_text()
    assert 10_000 < len(text) <= 20_000
    with open_sinks(SinkOptions(**{field: tmp_path / name}), INFO, META) as sinks:  # the same frames, no limit
        for round_ in range(200):
            for index, t, poses in _frames():
                sinks.write(3 * round_ + index, 3 * round_ * 0.04 + t, poses)
    full = (tmp_path / name).read_text()
    if field == "csv":
        assert full.startswith(text) and text.endswith("\n")
        last = max(int(line.split(",")[0]) for line in text.splitlines()[1:])
        written = json.loads((tmp_path / "limited" / "out.csv.json").read_text())["frames_written"]
        assert last + 1 <= written <= last + 2  # the frame after the last row's may have had nobody in it
    elif field == "coco_dataset":  # the images listed, each with all its people and no more
        limited, whole = json.loads(text), json.loads(full)
        listed = [image["id"] for image in limited["images"]]
        assert limited["images"] == whole["images"][: len(listed)] and len(listed) > 30
        assert limited["annotations"] == [a for a in whole["annotations"] if a["image_id"] in listed]
    else:
        entries = json.loads(text)
        assert entries == json.loads(full)[: len(entries)] and len(entries) > 30


@pytest.mark.parametrize("field", ["csv", "coco_json", "coco_dataset", "openpose_dir", "posec3d", "video"])
def test_an_output_under_folders_not_made_yet_gets_them(tmp_path, field):
    """results/2024/run1/out.csv: the folders on the way are made, as for a folder that is only one level deep."""
    name = {"csv": "out.csv", "coco_json": "out.json", "coco_dataset": "ds.json", "openpose_dir": "openpose"}
    name |= {"posec3d": "out.pkl", "video": "out.avi"}
    output = tmp_path / "results" / "2024" / "run1" / name[field]
    with open_sinks(SinkOptions(**{field: output}), INFO, META) as sinks:
        for index, t, poses in _frames():
            sinks.write(index, t, poses, image=np.zeros((48, 64, 3), np.uint8))
    assert output.exists()


@pytest.mark.parametrize(
    ("field", "name"), [("coco_json", "out.json"), ("coco_dataset", "ds.json"), ("video", "out.avi")]
)
@pytest.mark.parametrize("gone", ["removed", "moved"])
def test_an_output_whose_folder_went_during_the_run_is_an_error_not_a_file_written(tmp_path, field, name, gone):
    """Without a CSV, whose sidecar rewrites find it mid-run, a run whose output folder was removed (or moved) said
    it wrote a file that was not there (the video: that the disk may be full)."""
    folder = tmp_path / "out"
    sinks = open_sinks(SinkOptions(**{field: folder / name}), INFO, META)
    for index, t, poses in _frames():
        sinks.write(index, t, poses, image=np.zeros((48, 64, 3), np.uint8))
    if gone == "removed":
        shutil.rmtree(folder)
    else:
        folder.rename(tmp_path / "elsewhere")
    with pytest.raises(WLitePoseError, match=f"cannot write {folder / name}: it was removed or moved"):
        sinks.close()


@pytest.mark.parametrize("field", ["csv", "coco_json", "coco_dataset", "openpose_dir", "posec3d", "video"])
def test_unwritable_output_is_a_clear_error(tmp_path, field):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    options = SinkOptions(**{field: blocker / "sub" / "out.avi"})  # a folder under a plain file
    with pytest.raises(WLitePoseError, match=f"cannot write .*: {blocker} is not a folder"):
        open_sinks(options, INFO, META)


def test_a_file_is_replaced_through_a_copy_beside_it_whatever_the_current_folder(tmp_path, monkeypatch):
    """A run started from another drive (a rename across drives fails) or from a folder since removed still
    replaces its outputs."""
    (tmp_path / "gone").mkdir()
    monkeypatch.chdir(tmp_path / "gone")
    (tmp_path / "gone").rmdir()
    atomic_write(tmp_path / "out.json", b"{}")
    assert [path.name for path in tmp_path.iterdir()] == ["out.json"]


@pytest.mark.parametrize(("field", "name"), [("csv", "out.csv"), ("coco_json", "out.json"), ("video", "out.avi")])
def test_an_output_written_in_place_replaces_a_link_at_its_name_not_the_file_it_shares(tmp_path, field, name):
    """A hard link at the output's name (a results folder copied with cp -l): the other name's file is left as it
    was, as an atomic write would leave it."""
    kept = tmp_path / "kept"
    kept.write_bytes(b"another program's file")
    os.link(kept, tmp_path / name)
    with open_sinks(SinkOptions(**{field: tmp_path / name}), INFO, META) as sinks:
        for index, t, poses in _frames():
            sinks.write(index, t, poses, image=np.zeros((48, 64, 3), np.uint8))
    assert kept.read_bytes() == b"another program's file"
    assert (tmp_path / name).stat().st_nlink == 1


def test_a_dangling_link_on_the_way_is_refused_by_the_check_as_by_the_opening(tmp_path):
    (tmp_path / "gone").symlink_to(tmp_path / "missing")
    for create in (False, True):
        with pytest.raises(WLitePoseError, match="is not a folder"):
            writable(tmp_path / "gone" / "out.csv", create=create)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["gone"]  # no probe left behind


def test_same_path_twice_is_refused(tmp_path):
    with pytest.raises(WLitePoseError, match="share a path"):
        open_sinks(SinkOptions(csv=tmp_path / "a", coco_json=tmp_path / "a"), INFO, META)
    with pytest.raises(WLitePoseError, match="share a path"):  # the CSV's sidecar is an output too
        open_sinks(SinkOptions(csv=tmp_path / "c.csv", coco_json=tmp_path / "c.csv.json"), INFO, META)
    assert not list(tmp_path.iterdir())  # refused before anything was written


def test_an_output_never_replaces_a_file_the_run_reads(tmp_path):
    source, model = tmp_path / "clip.mp4", tmp_path / "model.onnx"
    source.write_bytes(b"video"), model.write_bytes(b"model")
    meta = {**META, "source": str(source)}
    for options in (
        SinkOptions(video=source),
        SinkOptions(csv=model),
        SinkOptions(posec3d=tmp_path / "x" / ".." / "clip.mp4"),
    ):
        with pytest.raises(WLitePoseError, match="a file this run reads"):
            open_sinks(options, INFO, meta, inputs=(model,))
    assert source.read_bytes() == b"video" and model.read_bytes() == b"model"


def test_posec3d_rows_are_tracks_or_ranks_never_mixed(tmp_path):
    a = Poses([[[1.0, 1.0], [2.0, 2.0], [3.0, 3.0]]], [[0.9, 0.9, 0.9]], [0.8], [-1])
    b = Poses([[[50.0, 5.0], [51.0, 6.0], [52.0, 7.0]]], [[0.9, 0.9, 0.9]], [0.7], [-1])
    with PoseC3DSink(tmp_path / "t.pkl", 3, (64, 48), "clip") as tracked:
        tracked.write(0, 0.0, a)  # a new track's first frame: no ID yet
        tracked.write(1, 0.04, b)  # another person's first frame
    with PoseC3DSink(tmp_path / "u.pkl", 3, (64, 48), "clip", tracked=False) as untracked:
        untracked.write(0, 0.0, a)
        untracked.write(1, 0.04, b)
        untracked.write(5, 0.2, Poses(np.concatenate([a.xy, b.xy]), np.ones((2, 3)), [0.8, 0.7]))  # 2-4 not read
    with open(tmp_path / "t.pkl", "rb") as f:
        assert pickle.load(f)[0]["keypoint"].shape[0] == 0  # not one row holding two people
    with open(tmp_path / "u.pkl", "rb") as f:
        (data,) = pickle.load(f)
    assert data["keypoint"].shape[:2] == (2, 3) and data["frame_indices"].tolist() == [0, 1, 5]
    assert data["track_ids"].tolist() == [[-1, -1, -1], [-1, -1, -1]]  # row n: each frame's n-th detection
    assert data["keypoint"][:, :, 0, 0].tolist() == [[1.0, 50.0, 1.0], [0.0, 0.0, 50.0]]


def test_posec3d_keeps_every_tracked_person_while_new_tracks_come(tmp_path):
    """A person there all along keeps their row when new tracks come after REUSE_AFTER_S, and two tracks new in one
    frame get a row each: no tracked person is dropped from a frame."""
    sink = PoseC3DSink(tmp_path / "stay.pkl", 3, (64, 48), "clip", flush_every=10**9)
    xy = np.ones((3, 3, 2), np.float32)
    for frame in range(50):  # track 1 throughout, 2 and 3 from 3 s on (10 fps)
        ids = [1] if frame < 30 else [1, 2, 3]
        sink.write(frame, frame / 10, Poses(xy[: len(ids)], np.full((len(ids), 3), 0.9), np.full(len(ids), 0.8), ids))
    sink.close()
    with open(tmp_path / "stay.pkl", "rb") as f:
        ids = pickle.load(f)[0]["track_ids"]
    for track, first in ((1, 0), (2, 30), (3, 30)):
        rows, frames = np.nonzero(ids == track)
        assert len(set(rows.tolist())) == 1 and frames.tolist() == list(range(first, 50)), track


def test_video_needs_a_known_container(tmp_path):
    with pytest.raises(WLitePoseError, match=".mp4 or .avi"):
        open_sinks(SinkOptions(video=tmp_path / "a.mkv"), INFO, META)


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


def test_an_openpose_run_replaces_an_earlier_runs_frames_of_its_name_only(tmp_path):
    folder = tmp_path / "op"
    folder.mkdir()
    for name in ("clip_000000000007_keypoints.json", "other_000000000001_keypoints.json", "notes.txt"):
        (folder / name).write_text("{}")
    sink = OpenPoseSink(folder, stem="clip")
    sink.write(0, 0.0, Poses.empty(17))
    sink.close()
    assert sorted(p.name for p in folder.iterdir()) == [
        "clip_000000000000_keypoints.json",  # frame 7 of the longer earlier run is gone
        "notes.txt",
        "other_000000000001_keypoints.json",
    ]


def test_no_output_becomes_an_image_of_a_folder_the_run_reads(tmp_path):
    folder = tmp_path / "frames"
    folder.mkdir()
    cv2.imwrite(str(folder / "img5.jpg"), np.zeros((8, 8, 3), np.uint8))
    before = (folder / "img5.jpg").read_bytes()
    meta = {**META, "source": str(folder)}
    for options in (SinkOptions(csv=folder / "img5.jpg"), SinkOptions(posec3d=folder / "new.PNG")):
        with pytest.raises(WLitePoseError, match="would be an image of the folder .*frames this run reads"):
            open_sinks(options, INFO, meta)
    assert (folder / "img5.jpg").read_bytes() == before and sorted(p.name for p in folder.iterdir()) == ["img5.jpg"]
    with open_sinks(SinkOptions(csv=folder / "poses.csv"), INFO, meta):  # not an image: the folder may hold it
        pass


def test_no_output_takes_the_name_of_an_openpose_frame_file(tmp_path):
    options = SinkOptions(openpose_dir=tmp_path / "op", coco_json=tmp_path / "op" / "clip_000000000001_keypoints.json")
    with pytest.raises(WLitePoseError, match="has the name of an OpenPose frame file"):
        open_sinks(options, INFO, META)
    assert not (tmp_path / "op").exists()


def test_coco_entries_from_an_image_folder_name_their_image(tmp_path):
    meta = {**META, "frame_files": ["a.jpg", "b.jpg", "c.jpg"]}
    with open_sinks(SinkOptions(coco_json=tmp_path / "r.json"), INFO, meta) as sinks:
        for index, t, poses in _frames():
            sinks.write(index, t, poses)
    entries = json.loads((tmp_path / "r.json").read_text())
    assert [(e["image_id"], e["file_name"]) for e in entries] == [(0, "a.jpg"), (0, "a.jpg"), (2, "c.jpg")]


def test_a_coco_dataset_is_ground_truth_the_runs_coco_results_score_ap_1_against(tmp_path):
    """The layout, joints found flagged 2 and those not 0, 0, 0, the box and area around the joints found, the
    skeleton counted from 1, a confirmed person's track in the attributes CVAT reads; pycocotools loads the file as
    ground truth, and the same run's COCO results (the people, their joints) score AP 1.0 against it."""
    pytest.importorskip("pycocotools")
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    options = SinkOptions(coco_json=tmp_path / "results.json", coco_dataset=tmp_path / "dataset.json")
    with open_sinks(options, INFO, META) as sinks:
        for index, t, poses in _frames():
            sinks.write(index, t, poses)
    text = Path(options.coco_dataset).read_text()
    assert f'"contributor":"WLitePose {tool_version()} (wlitepose_xs)"' in text
    _golden("coco_dataset.json", text.replace(tool_version(), "VERSION"))
    truth = COCO(str(options.coco_dataset))
    assert truth.imgs[1] == {"id": 1, "file_name": "frame_000001.jpg", "width": 64, "height": 48}  # nobody in it
    assert truth.cats[1]["keypoints"] == list(INFO.keypoint_names) and truth.cats[1]["skeleton"] == [[1, 2], [1, 3]]
    first, unconfirmed, later = (truth.anns[n] for n in (1, 2, 3))
    assert first["keypoints"] == [10.0, 20.0, 2, 12.5, 30.25, 2, 0, 0, 0] and first["num_keypoints"] == 2
    assert first["bbox"] == [10.0, 20.0, 2.5, 10.25] and first["area"] == 25.62 and first["iscrowd"] == 0
    assert first["attributes"] == {"score": 0.55, "track_id": 1, "keyframe": True} and first["track_id"] == 1
    assert "track_id" not in unconfirmed and unconfirmed["attributes"] == {"score": 0.43}
    assert later["image_id"] == 2 and later["num_keypoints"] == 3 and later["bbox"] == [9.0, 21.0, 4.0, 10.0]
    evaluation = COCOeval(truth, truth.loadRes(str(options.coco_json)), "keypoints")
    evaluation.params.kpt_oks_sigmas = np.array(INFO.sigmas)  # three keypoints, not COCO's seventeen
    evaluation.evaluate()
    evaluation.accumulate()
    evaluation.summarize()
    assert evaluation.stats[0] == 1.0


def test_a_coco_datasets_images_are_a_folders_own_names_and_sizes(tmp_path):
    meta = {**META, "frame_files": ["a.jpg", "b.png", "c.jpg"]}
    with open_sinks(SinkOptions(coco_dataset=tmp_path / "d.json"), INFO, meta) as sinks:
        for index, t, poses in _frames():
            sinks.write(index, t, poses, image=np.zeros((30 + index, 40, 3), np.uint8))
    images = json.loads((tmp_path / "d.json").read_text())["images"]
    assert [(i["file_name"], i["width"], i["height"]) for i in images] == [("a.jpg", 40, 30), ("b.png", 40, 31),
                                                                           ("c.jpg", 40, 32)]  # fmt: skip


def test_a_coco_dataset_stays_valid_while_its_file_is_replaced_for_room(tmp_path, monkeypatch):
    """Each frame's image goes into room kept after the images; when it runs out the file is replaced by a copy with
    more, and at close by one without any: valid JSON after every frame all the same."""
    monkeypatch.setattr("core.sinks.coco_dataset.MIN_ROOM", 0)  # room for as many images again each time
    path = tmp_path / "d.json"
    files = []  # the file's inode after each frame: another one after each replacement
    with CocoDatasetSink(path, INFO, (64, 48)) as sink:
        for round_ in range(50):
            for index, t, poses in _frames():
                sink.write(3 * round_ + index, t, poses)
                data = json.loads(path.read_text())
                assert data["images"][-1]["id"] == 3 * round_ + index
                files.append(path.stat().st_ino)
        replaced = sum(before != after for before, after in zip(files[:-1], files[1:], strict=True))
        assert len(data["images"]) == 150 and len(data["annotations"]) == 150 and replaced >= 5
        assert b" " * 64 in path.read_bytes()  # the room
    assert json.loads(path.read_text()) == data and b"  " not in path.read_bytes()


@pytest.mark.parametrize("taken", [0.0, 0.5], ids=["nothing", "half"])
def test_a_coco_dataset_frame_whose_people_could_not_be_written_leaves_no_trace(tmp_path, monkeypatch, taken):
    """A full disk as a frame's people are appended: its image is taken out again, so the file never says that
    nobody was in a frame whose people are missing; and the bytes of them the disk took first (``taken``) are cut
    off again, so the file still loads (a closing bracket written over them left the rest after it)."""
    sink = CocoDatasetSink(tmp_path / "d.json", INFO, (64, 48))
    first, _, last = _frames()
    sink.write(*first)

    def filling(file, at, data):
        if data.endswith(b"\n]}\n") and len(data) > 4:  # annotations, not the bare end put back after the failure
            write_at(file, at, data[: int(len(data) * taken)])
            raise OSError(errno.ENOSPC, "No space left on device")
        write_at(file, at, data)

    monkeypatch.setattr("core.sinks.coco_dataset.write_at", filling)
    with pytest.raises(OSError):
        sink.write(*last)
    sink.close()
    data = json.loads((tmp_path / "d.json").read_text())
    assert [image["id"] for image in data["images"]] == [0] and len(data["annotations"]) == 2


def test_a_coco_dataset_whose_room_a_full_disk_keeps_at_close_is_whole_and_no_error(tmp_path, monkeypatch):
    """No room on the disk for the copy without the spaces: the file, valid as it is, stays, and the run is not
    told it could not be written."""
    sink = CocoDatasetSink(tmp_path / "d.json", INFO, (64, 48))
    for frame in _frames():
        sink.write(*frame)

    def no_room(room):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(sink, "_make_room", no_room)
    sink.close()
    data = json.loads((tmp_path / "d.json").read_text())
    assert [image["id"] for image in data["images"]] == [0, 1, 2] and len(data["annotations"]) == 3


def _read_video(path: Path) -> list[np.ndarray]:
    capture = cv2.VideoCapture(str(path))
    frames = []
    while (frame := capture.read()[1]) is not None:
        frames.append(frame)
    capture.release()
    return frames


def test_a_gap_longer_than_a_picture_is_held_is_a_jump_in_the_video(tmp_path):
    """An app recording moved 19 s on: the video jumps there, rather than freezing for MAX_HOLD_S first."""
    sink = VideoSink(tmp_path / "out.avi", 10.0, (64, 48))
    for index in [*range(3), *range(200, 203)]:
        sink.write(index, index / 10, Poses.empty(3), image=np.full((48, 64, 3), 40, np.uint8))
    sink.close()
    assert len(_read_video(tmp_path / "out.avi")) == 6


def test_an_odd_sized_video_keeps_every_pixel(tmp_path):
    image = np.full((47, 63, 3), 200, np.uint8)
    with VideoSink(tmp_path / "odd.avi", 10, (63, 47)) as sink:
        sink.write(0, 0.0, Poses.empty(3), image)
    (frame,) = _read_video(tmp_path / "odd.avi")
    assert frame.shape == (48, 64, 3)  # a black row and column added, none of the frame's dropped
    assert frame[:47, :63].mean() > 180 and frame[-1].mean() < 30 and frame[:, -1].mean() < 30


def test_an_image_of_another_shape_is_fitted_into_the_video_frame(tmp_path):
    """An image folder's portrait photo (its height the video's width) and one of another aspect: each is scaled
    to fit the video's frame, centred on black, never written at its own size (a frame the encoder drops)."""
    with VideoSink(tmp_path / "mixed.avi", 10, (64, 48)) as sink:
        sink.write(0, 0.0, Poses.empty(3), np.full((64, 48, 3), 200, np.uint8))
        sink.write(1, 0.1, Poses.empty(3), np.full((31, 40, 3), 200, np.uint8))
    portrait, wide = _read_video(tmp_path / "mixed.avi")
    assert portrait[:, 14:34].mean() > 180 and portrait[:, :10].mean() < 30 and portrait[:, -10:].mean() < 30
    assert wide[:, 3:60].mean() > 180 and wide[:, 0].mean() < 30  # 62 x 48, a black column each side


def test_a_live_video_holds_each_frame_until_the_next_is_due(tmp_path):
    """A live run that processed frames at 0, 0.5 and 0.6 s plays them there at 10 fps; a gap longer than
    MAX_HOLD_S (a pause) is held for MAX_HOLD_S only."""
    times = [0.0, 0.5, 0.6, 0.6 + MAX_HOLD_S + 3.0, 0.8 + MAX_HOLD_S + 3.0]
    with VideoSink(tmp_path / "live.avi", 10, (64, 48), real_time=True) as sink:
        for n, t in enumerate(times):
            sink.write(n, t, Poses.empty(3), np.full((48, 64, 3), 50 * (n + 1), np.uint8))
    shades = [round(float(f.mean()) / 50) for f in _read_video(tmp_path / "live.avi")]
    hold = round(MAX_HOLD_S * 10)
    assert shades == [1] * 5 + [2] + [3] * (1 + hold) + [4] * 2 + [5]  # after the pause, real time again
    with VideoSink(tmp_path / "file.avi", 10, (64, 48)) as sink:  # a file's frames are each written once
        for n, t in enumerate(times):
            sink.write(n, t, Poses.empty(3), np.full((48, 64, 3), 50 * (n + 1), np.uint8))
    assert len(_read_video(tmp_path / "file.avi")) == 5


def test_a_live_video_faster_than_its_rate_stays_real_time(tmp_path):
    """A stream that says 10 fps and sends 30: 3 s of it make 3 s of video, each slot the newest frame then."""
    with VideoSink(tmp_path / "fast.avi", 10, (64, 48), real_time=True) as sink:
        for n in range(91):
            sink.write(n, n / 30, Poses.empty(3), np.full((48, 64, 3), n, np.uint8))
    shades = [round(float(f.mean())) for f in _read_video(tmp_path / "fast.avi")]
    # one frame a slot, each one of the frames due then (MJPG shifts shades by ~1), and the last one at the end
    assert len(shades) == 32 and abs(shades[-1] - 90) <= 2
    assert all(abs(shade - 3 * slot) <= 2 for slot, shade in enumerate(shades[:-1])), shades
    with VideoSink(tmp_path / "end.avi", 10, (64, 48), real_time=True) as sink:
        for n in range(4):  # slots 0, 0, 1, 1: the last frame comes early and is the run's last
            sink.write(n, n / 30, Poses.empty(3), np.full((48, 64, 3), 60 * n, np.uint8))
    assert [round(float(f.mean()) / 60) for f in _read_video(tmp_path / "end.avi")] == [0, 2, 3]


def test_a_growing_posec3d_file_is_replaced_less_often(tmp_path, monkeypatch):
    """Each replacement waits FLUSH_SPACING times the last one's duration (here 1 s on a fake clock)."""
    import core.sinks.posec3d as posec3d

    clock = {"now": 0.0}
    monkeypatch.setattr(posec3d.time, "monotonic", lambda: clock["now"])

    @contextlib.contextmanager
    def slow_file(path):
        with atomic_file(path) as file:
            yield file
        clock["now"] += 1.0

    monkeypatch.setattr(posec3d, "atomic_file", slow_file)
    one = Poses([[[1.0, 1.0], [2.0, 2.0], [3.0, 3.0]]], [[0.9, 0.9, 0.9]], [0.8], [1])

    def frames_in_file() -> int:
        with open(tmp_path / "g.pkl", "rb") as f:
            return pickle.load(f)[0]["total_frames"]

    with PoseC3DSink(tmp_path / "g.pkl", 3, (64, 48), "clip", flush_every=2) as sink:  # written at 1 s
        for n in range(4):
            sink.write(n, n / 10, one)
        assert frames_in_file() == 0  # due at 1 s + FLUSH_SPACING x 1 s
        clock["now"] = 1.0 + FLUSH_SPACING
        sink.write(4, 0.4, one)
        assert frames_in_file() == 5
        sink.write(5, 0.5, one)  # not due for a while: only closing writes it
        assert frames_in_file() == 5
    assert frames_in_file() == 6


def test_a_videos_openpose_frames_go_beside_an_image_folders_and_its_listing_stays(tmp_path):
    """The hidden folder of listings is removed with the last listing only: one that still holds an image folder's
    is no error for a video's run into the same OpenPose folder."""
    OpenPoseSink(tmp_path / "op", "shots", frame_files=["a.jpg", "b.jpg"]).write(*_frames()[0])
    with OpenPoseSink(tmp_path / "op", "clip") as sink:
        sink.write(*_frames()[0])
    assert (tmp_path / "op" / ".wlitepose" / ".shots.openpose-files.json").is_file()
    assert sorted(path.name for path in (tmp_path / "op").glob("*.json")) == [
        "a_keypoints.json",
        "clip_000000000000_keypoints.json",
    ]


def test_an_openpose_run_named_with_pattern_characters_replaces_its_own_frames_only(tmp_path):
    """cam[1].mp4's run matched cam1's frames as a pattern: it removed that source's and left its own old ones."""
    for stem, frames in (("cam[1]", 3), ("cam1", 3), ("cam[1]", 1)):
        with OpenPoseSink(tmp_path, stem) as sink:
            for index, t, poses in _frames()[:frames]:
                sink.write(index, t, poses)
    assert sorted(path.name for path in tmp_path.glob("*_keypoints.json")) == [
        "cam1_000000000000_keypoints.json",
        "cam1_000000000001_keypoints.json",
        "cam1_000000000002_keypoints.json",
        "cam[1]_000000000000_keypoints.json",
    ]


def test_a_listing_an_earlier_release_left_among_the_frames_still_keeps_another_folders_run_off_them(tmp_path):
    """An earlier release kept an image folder's listing among its frames: a folder of the same image names is
    refused there as it is beside a listing of this release, rather than replacing that folder's frames."""
    OpenPoseSink(tmp_path, "cam_a", frame_files=["f0.jpg"]).write(*_frames()[0])
    (tmp_path / ".wlitepose" / ".cam_a.openpose-files.json").rename(tmp_path / ".cam_a.openpose-files.json")
    with pytest.raises(WLitePoseError, match="holds the OpenPose frames of cam_a under names this run's images give"):
        OpenPoseSink(tmp_path, "cam_b", frame_files=["f0.jpg"])


def test_openpose_files_of_an_image_folder_are_named_after_their_images(tmp_path):
    folder = tmp_path / "op"
    folder.mkdir()
    (folder / "b_keypoints.json").write_text("{}")  # an earlier run's: replaced even where no frame is written
    for files, expected in (
        (["a.jpg", "b.png", "c.jpg"], ["a_keypoints.json", "c_keypoints.json"]),
        (["a.jpg", "a.png", "c.jpg"], ["frames_000000000000_keypoints.json", "frames_000000000002_keypoints.json"]),
    ):
        meta = {**META, "name": "frames", "frame_files": files}
        with open_sinks(SinkOptions(openpose_dir=folder), INFO, meta) as sinks:
            for index, t, poses in _frames():  # frames 0 and 2 (b's frame, 1, is not written here)
                if index != 1:
                    sinks.write(index, t, poses)
        written = sorted(p.name for p in folder.iterdir() if not p.name.startswith("."))
        assert written == sorted(expected)  # two images named a: by index
        for path in folder.iterdir():
            shutil.rmtree(path) if path.is_dir() else path.unlink()


def test_an_image_folders_openpose_folder_holds_no_file_but_its_frames(tmp_path):
    """Pose2Sim takes every ``*.json`` of an OpenPose folder for a frame (fnmatch over os.listdir, dotfiles too),
    and its JSON display every file, sorted by the last number in its name: the listing of a folder's frames,
    a hidden ``.frames.openpose-files.json`` among them, was an IndexError there and a frame too many."""
    folder = tmp_path / "cam1_json"
    folder.mkdir()
    # a listing an earlier release left among the frames still has its frames removed, and goes with them
    (folder / ".frames.openpose-files.json").write_text('["gone_keypoints.json"]')
    (folder / "gone_keypoints.json").write_text("{}")
    meta = {**META, "name": "frames", "frame_files": ["frame_0001.jpg", "frame_0002.jpg", "frame_0003.jpg"]}
    with open_sinks(SinkOptions(openpose_dir=folder), INFO, meta) as sinks:
        for index, t, poses in _frames():
            sinks.write(index, t, poses)
    frames = ["frame_0001_keypoints.json", "frame_0002_keypoints.json", "frame_0003_keypoints.json"]
    assert sorted(fnmatch.filter(os.listdir(folder), "*.json")) == frames
    assert sorted(name for name in os.listdir(folder) if (folder / name).is_file()) == frames
    with open_sinks(SinkOptions(openpose_dir=folder), INFO, {**META, "name": "frames"}) as sinks:  # a video of it
        sinks.write(0, 0.0, Poses.empty(3))
    assert os.listdir(folder) == ["frames_000000000000_keypoints.json"]  # the hidden folder went with its listings
    (tmp_path / "op").mkdir()
    (tmp_path / "op" / ".wlitepose").write_text("")  # not the folder the listing goes in: said, not a traceback
    with pytest.raises(WLitePoseError, match=r"\.wlitepose there is not a folder"):
        open_sinks(SinkOptions(openpose_dir=tmp_path / "op"), INFO, meta)


def test_an_image_folders_rerun_replaces_the_earlier_runs_frames_whatever_images_it_now_holds(tmp_path):
    """The frames an earlier run named after images go even when the folder lost those images, when its
    images now share a name (frames then by index) and when a video of the same name follows it."""
    folder = tmp_path / "op"

    def run(files: list[str] | None, name: str = "frames") -> list[str]:
        meta = {**META, "name": name, **({"frame_files": files} if files else {})}
        with open_sinks(SinkOptions(openpose_dir=folder), INFO, meta) as sinks:
            for index, t, poses in _frames():
                sinks.write(index, t, poses)
        return sorted(p.name for p in folder.iterdir() if not p.name.startswith("."))

    (folder / "other").mkdir(parents=True)
    (folder / "x_keypoints.json").write_text("{}")  # not this name's: stays
    assert run(["a.jpg", "b.jpg", "c.jpg"]) == ["a_keypoints.json", "b_keypoints.json", "c_keypoints.json", "other",
                                                "x_keypoints.json"]  # fmt: skip
    assert run(["b.jpg", "d.jpg", "e.jpg"]) == ["b_keypoints.json", "d_keypoints.json", "e_keypoints.json", "other",
                                                "x_keypoints.json"]  # fmt: skip
    by_index = [f"frames_{i:012d}_keypoints.json" for i in range(3)]
    assert run(["b.jpg", "b.png", "e.jpg"]) == by_index + ["other", "x_keypoints.json"]
    run(["f.jpg", "g.jpg", "h.jpg"])
    assert run(None) == by_index + ["other", "x_keypoints.json"]  # a video of the same name
    assert not list(folder.glob(".*"))  # the list (and its hidden folder) goes with the frames it named

    run(["f.jpg", "g.jpg", "h.jpg"])  # a damaged or edited list removes only frame files of the folder
    listing = folder / ".wlitepose" / ".frames.openpose-files.json"
    listing.write_text('["other", "../outside_keypoints.json", "f_keypoints.json"]')
    (tmp_path / "outside_keypoints.json").write_text("{}")
    assert run(["q.jpg", "r.jpg", "s.jpg"]) == ["g_keypoints.json", "h_keypoints.json", "other", "q_keypoints.json",
                                                "r_keypoints.json", "s_keypoints.json", "x_keypoints.json"]  # fmt: skip
    assert (tmp_path / "outside_keypoints.json").exists()
    listing.write_text("not json")
    assert "q_keypoints.json" in run(["t.jpg", "u.jpg", "v.jpg"])
    listing.write_text('{"q_keypoints.json": 1}')  # JSON, but no list: nothing it holds is a frame to remove
    assert "q_keypoints.json" in run(["t.jpg", "u.jpg", "v.jpg"])
    # a folder of a frame's name stopped every re-run ("cannot write: Is a directory"); a list nested past
    # Python's limit was a RecursionError traceback; a FIFO in its place hung the run
    (folder / "w_keypoints.json").mkdir()
    listing.write_text('["w_keypoints.json"]')
    assert "w_keypoints.json" in run(["t.jpg", "u.jpg", "v.jpg"])
    listing.write_text("[" * 100_000)
    assert "t_keypoints.json" in run(["t.jpg", "u.jpg", "v.jpg"])
    if hasattr(os, "mkfifo"):
        listing.unlink()
        os.mkfifo(listing)
        names = []
        rerun = threading.Thread(target=lambda: names.extend(run(["t.jpg", "u.jpg", "v.jpg"])), daemon=True)
        rerun.start()
        rerun.join(30)
        if rerun.is_alive():  # it waits on the FIFO for a writer: give it one, so the test fails, not hangs
            with open(listing, "w"):
                pass
        assert "t_keypoints.json" in names


def test_a_frame_larger_than_ffmpeg_encodes_is_refused_before_the_avi_opens(tmp_path):
    """A 24000x12000 first image gave an 18.7 MB .avi no player opens and 11 GB of memory, then a wrong hint."""
    with pytest.raises(WLitePoseError, match=r"its frames are 24000x12000, more pixels than FFmpeg encodes"):
        VideoSink(tmp_path / "pano.avi", 10.0, (24000, 12000))
    assert not (tmp_path / "pano.avi").exists()


def test_a_video_too_large_for_mp4_is_refused_before_it_opens_and_avi_takes_it(tmp_path):
    with pytest.raises(WLitePoseError, match=r"its frames are 8191x10 .* at most 8190 pixels a side; name it \.avi"):
        VideoSink(tmp_path / "big.mp4", 10.0, (8191, 10))
    assert not (tmp_path / "big.mp4").exists()
    for path, size in ((tmp_path / "edge.mp4", (8190, 10)), (tmp_path / "big.avi", (8191, 10))):
        sink = VideoSink(path, 10.0, size)
        sink.write(0, 0.0, Poses.empty(3), image=np.zeros((size[1], size[0], 3), np.uint8))
        sink.close()
        assert cv2.VideoCapture(str(path)).read()[0]


def test_a_video_files_rate_too_slow_for_a_video_does_not_point_at_fps(tmp_path):
    """--fps sets an image folder's rate only; a video file's own rate cannot be changed, so the hint differs."""
    meta = {**META, "fps": 0.001}
    with pytest.raises(WLitePoseError, match=r"at 0.001 fps: .*\(leave out the annotated video for this source\)$"):
        open_sinks(SinkOptions(video=tmp_path / "v.mp4"), INFO, meta)
    with pytest.raises(WLitePoseError, match=r"\(an image folder's rate is --fps\)$"):
        open_sinks(SinkOptions(video=tmp_path / "v.mp4"), INFO, {**meta, "frame_files": ["a.jpg"]})


def test_a_video_output_whose_name_is_not_utf8_is_a_clear_error_before_any_work(tmp_path):
    video = tmp_path / "out" / os.fsdecode(b"\xe9t\xe9.mp4")
    (tmp_path / "clip.mp4").write_bytes(b"")
    with pytest.raises(WLitePoseError, match="not valid UTF-8: rename .*\ufffdt\ufffd.mp4"):
        plan_outputs([str(tmp_path / "clip.mp4")], SinkOptions(csv=tmp_path / "out" / "k.csv", video=video), ())
    assert not (tmp_path / "out").exists()


def test_openpose_frame_names_too_long_for_the_file_system_fail_before_any_file_is_replaced(tmp_path):
    folder = tmp_path / "op"
    long_name = "v" * 236  # with _000000000000_keypoints.json, 264 bytes: more than the 255 a name may have
    (tmp_path / "k.csv").write_text("an earlier run's\n")
    (tmp_path / f"{long_name}.avi").write_bytes(b"")
    options = SinkOptions(csv=tmp_path / "k.csv", openpose_dir=folder)
    with pytest.raises(WLitePoseError, match=f"cannot write OpenPose frames in .*op: .*{long_name[:40]}… \\(264 bytes"):
        plan_outputs([str(tmp_path / f"{long_name}.avi")], options, ())
    # an image of 249 characters is a file; its frame file would not be (260)
    for meta in ({**META, "name": long_name}, {**META, "name": "x", "frame_files": ["w" * 245 + ".jpg", "b.jpg"]}):
        with pytest.raises(WLitePoseError, match="give the source a shorter name"):
            open_sinks(options, INFO, meta)
    (folder / ".wlitepose").mkdir(parents=True)  # an earlier image folder run's: the name of a frame list there, too
    # long as well, cannot even be looked up
    with pytest.raises(WLitePoseError, match="give the source a shorter name"):
        plan_outputs([str(tmp_path / f"{long_name}.avi")], options, ())
    assert (tmp_path / "k.csv").read_text() == "an earlier run's\n"


def test_a_posec3d_file_is_streamed_to_disk_not_copied_in_memory_first(tmp_path):
    """Its arrays grow with rows x frames (a long video: hundreds of MB); writing them must not hold a second copy."""
    import tracemalloc

    sink = PoseC3DSink(tmp_path / "long.pkl", 17, (640, 480), "clip", flush_every=10**9)
    xy = np.ones((20, 17, 2), np.float32)
    for frame in range(1000):  # twenty people at a time, for the whole run
        sink.write(frame, frame / 30, Poses(xy, np.full((20, 17), 0.9), np.full(20, 0.8), np.arange(1, 21)))
    arrays = 20 * 1000 * (17 * (2 + 1) * 4 + 8)  # keypoint and keypoint_score, float32; track_ids, int64
    tracemalloc.start()
    sink.close()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert arrays <= peak < 1.3 * arrays  # pickle.dumps made a bytes copy as large: 2x
    with open(tmp_path / "long.pkl", "rb") as f:
        (data,) = pickle.load(f)
    assert data["keypoint"].shape == (20, 1000, 17, 2) and data["keypoint_score"][19, 999, 0] == np.float32(0.9)


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


def test_a_posec3d_files_total_frames_is_the_frames_its_arrays_hold_not_the_last_frames_number(tmp_path):
    """mmaction2 samples frame numbers below total_frames from the arrays: a folder with an unreadable image
    (frame 6 never analysed) counted 13 frames over 12 held, and a sampled frame 12 was past the arrays' end."""
    person = Poses([[[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]]], [[0.9, 0.8, 0.7]], [0.7], [1])
    with PoseC3DSink(tmp_path / "gap.pkl", 3, (64, 48), "clip") as sink:
        for frame in (0, 1, 3, 4):  # frame 2 damaged, passed over
            sink.write(frame, frame / 10, person)
    with open(tmp_path / "gap.pkl", "rb") as f:
        (sample,) = pickle.load(f)
    assert sample["total_frames"] == sample["keypoint"].shape[1] == sample["keypoint_score"].shape[1] == 4
    assert sample["frame_indices"].tolist() == [0, 1, 3, 4]


def test_a_posec3d_file_says_when_it_leaves_out_many_people(tmp_path):
    photo = Poses([[[1.0, 1.0], [2.0, 2.0], [3.0, 3.0]]], [[0.9, 0.9, 0.9]], [0.8], [-1])  # never tracked
    walker = Poses(photo.xy, photo.keypoint_scores, photo.scores, [4])
    with PoseC3DSink(tmp_path / "photos.pkl", 3, (64, 48), "clip") as photos:
        for n in range(10):
            photos.write(n, n * 0.1, photo)
        assert photos.notes() == [
            "the PoseC3D file leaves out 10 of the 10 people detected, those no track held (a track's first frame, "
            "people seen once: unrelated photos); with tracking off (--no-track, or Track people unticked in the app) "
            "it keeps them all"
        ]
    with PoseC3DSink(tmp_path / "walk.pkl", 3, (64, 48), "clip") as walk:
        for n in range(10):
            walk.write(n, n * 0.1, photo if n == 0 else walker)  # a track's first frame: 1 of 10, said by no note
        assert walk.notes() == []


def test_posec3d_rows_are_as_many_as_people_at_once_not_as_tracks_ever_seen(tmp_path):
    """A row for every track made a 10-minute crowd video a 1.2 GB file (938 tracks x 6,360 frames, 0.65 %
    of it anyone), growing with the square of the run; a row now takes a new track 2 s after its last left."""
    sink = PoseC3DSink(tmp_path / "crowd.pkl", 3, (64, 48), "clip", flush_every=10**9)  # 10 fps below
    xy = np.ones((3, 3, 2), np.float32)
    for frame in range(3000):  # three people at a time, a new one every 10 frames: 302 tracks
        ids = [frame // 10 + 1, frame // 10 + 2, frame // 10 + 3]
        if frame == 1500:
            ids[0] = 7  # track 7, gone since frame 69, back (a tracker keeps no ID so long: as if it did)
        sink.write(frame, frame / 10, Poses(xy * (frame + 1), np.full((3, 3), 0.9), np.full(3, 0.8), ids))
    sink.close()
    with open(tmp_path / "crowd.pkl", "rb") as f:
        (data,) = pickle.load(f)
    ids = data["track_ids"]
    assert ids.shape == (len(data["keypoint"]), 3000) and len(data["keypoint"]) <= 6  # 3 at once + 2 s to free
    assert sorted(set(ids.ravel().tolist()) - {-1}) == list(range(1, 303))
    for track in (1, 150, 302):  # each track in one row, every frame of it
        rows, frames = np.nonzero(ids == track)
        present = range(max(0, 10 * track - 30), min(10 * track, 3000))
        assert len(set(rows.tolist())) == 1 and frames.tolist() == list(present)
    row, frame = np.argwhere(ids == 7)[-1]
    assert frame == 1500 and data["keypoint"][row, frame, 0, 0] == 1501  # the joints are where the ID is
    assert (data["keypoint_score"][ids == -1] == 0).all()


def test_a_posec3d_track_lost_for_less_than_the_tracker_keeps_it_comes_back_to_its_own_row(tmp_path):
    """The tracker keeps a lost person's ID for 1 s: a row given to a new track sooner split that person over two
    rows (vtest.avi with rows freed after 0.5 s: 2 of its 94 tracks)."""
    sink = PoseC3DSink(tmp_path / "back.pkl", 3, (64, 48), "clip", flush_every=10**9)
    xy = np.ones((2, 3, 2), np.float32)
    for frame in range(26):  # 10 fps: track 1 in frames 0-9 and, back after 0.8 s, 18-25; track 2 from frame 16
        ids = [i for i in (1, 2) if (i == 1 and (frame < 10 or frame >= 18)) or (i == 2 and frame >= 16)]
        sink.write(frame, frame / 10, Poses(xy[: len(ids)], np.full((len(ids), 3), 0.9), np.full(len(ids), 0.8), ids))
    sink.close()
    with open(tmp_path / "back.pkl", "rb") as f:
        ids = pickle.load(f)[0]["track_ids"]
    for track in (1, 2):
        assert len(set(np.nonzero(ids == track)[0].tolist())) == 1, track


def test_posec3d_rows_most_filled_come_first_for_readers_keeping_the_first_few(tmp_path):
    """mmaction2's FormatGCNInput(num_person=2) keeps rows 0 and 1: they held tracks seen once at the start (a
    3 s clip: both empty in 37 of its 150 frames while two people or more were in 149)."""
    sink = PoseC3DSink(tmp_path / "clip.pkl", 3, (64, 48), "clip", flush_every=10**9)
    xy = np.ones((3, 3, 2), np.float32)
    for frame in range(30):  # tracks 1 and 2 in the first two frames only, 3 and 4 in every frame after
        ids = [1, 2] if frame < 2 else [3, 4]
        sink.write(frame, frame / 10, Poses(xy[:2], np.full((2, 3), 0.9), np.full(2, 0.8), ids))
    sink.write(30, 3.0, Poses(xy, np.full((3, 3), 0.9), np.full(3, 0.8), [3, 4, 5]))
    sink.close()
    with open(tmp_path / "clip.pkl", "rb") as f:
        (data,) = pickle.load(f)
    assert data["track_ids"][:, -1].tolist() == [3, 4, 5, -1]  # 5 took the row 1 left 2 s before
    assert (data["track_ids"][:2, 2:] >= 0).all() and (data["keypoint_score"][:2, 2:] > 0).all()
    assert data["track_ids"][2:4, :2].tolist() == [[1, 1], [2, 2]]  # the joints moved with their IDs
    sink = PoseC3DSink(tmp_path / "three.pkl", 3, (64, 48), "clip", flush_every=10**9)
    for frame in range(30):  # track 1 in one frame, 2 in all 30, 3 in the first 15: no order reads the same backwards
        ids = [i for i in (1, 2, 3) if (i != 1 or frame == 0) and (i != 3 or frame < 15)]
        sink.write(frame, frame / 10, Poses(xy[: len(ids)], np.full((len(ids), 3), 0.9), np.full(len(ids), 0.8), ids))
    sink.close()
    with open(tmp_path / "three.pkl", "rb") as f:
        assert pickle.load(f)[0]["track_ids"][:, 0].tolist() == [2, 3, 1]


def test_a_long_folder_name_is_fine_for_openpose_frames_named_after_its_images(tmp_path):
    folder = tmp_path / ("d" * 230)  # its frames are a_keypoints.json; a numbered frame's name would not fit
    folder.mkdir()
    cv2.imwrite(str(folder / "a.png"), np.zeros((8, 8, 3), np.uint8))
    options = SinkOptions(openpose_dir=tmp_path / "op")
    assert plan_outputs([str(folder)], options, ())
    meta = {**META, "name": folder.name, "frame_files": ["a.png"]}
    with open_sinks(options, INFO, meta) as sinks:
        sinks.write(0, 0.0, Poses.empty(3))
    assert (tmp_path / "op" / "a_keypoints.json").is_file()


def test_an_annotated_video_that_got_no_frame_is_not_left_behind(tmp_path):
    """A recording stopped before its first frame left a 257-byte .mp4 no player opens."""
    VideoSink(tmp_path / "empty.mp4", 10.0, (64, 48)).close()
    assert not (tmp_path / "empty.mp4").exists()
    with VideoSink(tmp_path / "one.mp4", 10.0, (64, 48)) as sink:
        sink.write(0, 0.0, Poses.empty(3), np.zeros((48, 64, 3), np.uint8))
    assert cv2.VideoCapture(str(tmp_path / "one.mp4")).read()[0]


def test_a_full_disk_still_gets_the_frame_count_into_the_sidecar(tmp_path, monkeypatch):
    """A CSV cut at its last whole frame by a full disk: the sidecar's copy-and-replace finds no room either,
    so its own space is rewritten, and it does not say 0 frames beside a CSV of 3."""
    sink = CsvSink(tmp_path / "a.csv", INFO.keypoint_names, {"source": "clip.mp4"})
    for index, t, poses in _frames():
        sink.write(index, t, poses)

    def disk_full(tmp, path):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr("core.sinks.base._replace", disk_full)  # the new copy cannot be made whole
    sink.close()
    sidecar = json.loads((tmp_path / "a.csv.json").read_text())
    assert sidecar["frames_written"] == 3 and sidecar["source"] == "clip.mp4"
    assert not list(tmp_path.glob(".wlitepose_*"))


def test_a_sidecar_longer_than_its_blocks_is_left_whole_on_a_full_disk(tmp_path, monkeypatch):
    """Written in place, data past the blocks the sidecar holds would need new ones the full disk has not: the write
    would stop part-way through the JSON. The error is said and the earlier sidecar stays whole."""
    from core.sinks.base import rewrite_small

    path = tmp_path / "a.csv.json"
    path.write_text('{"frames_written": 3}')

    def disk_full(tmp, path):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr("core.sinks.base._replace", disk_full)
    longer = json.dumps({"frame_files": ["x" * 100] * (path.stat().st_blocks * 512 // 100)}).encode()
    with pytest.raises(OSError, match="No space left"):
        rewrite_small(path, longer)
    assert path.read_text() == '{"frames_written": 3}' and not list(tmp_path.glob(".wlitepose_*"))


def test_the_sidecar_keeps_count_during_a_run_for_one_killed_outright(tmp_path, monkeypatch):
    """A run killed by the kernel (out of memory) left a CSV of 1,267 frames beside a sidecar saying 0; the count
    is rewritten every SIDECAR_EVERY_S (a fake clock here), and a rewrite another program blocks is let go."""
    import core.sinks.csv_sink as csv_sink

    clock = {"now": 0.0}
    monkeypatch.setattr(csv_sink, "time", SimpleNamespace(monotonic=lambda: clock["now"]))  # this module's only
    sink = CsvSink(tmp_path / "a.csv", INFO.keypoint_names, {})
    clock["now"] += csv_sink.FIRST_SIDECAR_S - 0.01
    sink.write(*_frames()[0][:2], _frames()[0][2])
    assert json.loads((tmp_path / "a.csv.json").read_text())["frames_written"] == 0
    clock["now"] += 0.01  # a run killed in its first seconds: counted after one (every 10 s before)
    for written, (index, t, poses) in enumerate(_frames(), start=2):
        sink.write(index, t, poses)
        assert json.loads((tmp_path / "a.csv.json").read_text())["frames_written"] == written
        clock["now"] += csv_sink.SIDECAR_EVERY_S

    def held(path, data):
        raise PermissionError(13, "another program has it open")

    monkeypatch.setattr(csv_sink, "rewrite_small", held)
    monkeypatch.setattr(csv_sink, "HELD_ELSEWHERE", (PermissionError,))  # as Windows says it
    sink.write(3, 0.12, _frames()[0][2])  # written on; the sidecar's count waits for the next try
    assert json.loads((tmp_path / "a.csv.json").read_text())["frames_written"] == 4
    monkeypatch.undo()
    sink.close()
    assert json.loads((tmp_path / "a.csv.json").read_text())["frames_written"] == 5


def test_an_annotated_mp4_a_full_disk_left_unplayable_is_an_error_not_a_success(tmp_path):
    """OpenCV's writer says nothing when the disk fills: a video-only run exited 0 with 'wrote a.mp4', a file no
    player opens (its index is written last)."""
    image = np.random.default_rng(0).integers(0, 255, (240, 320, 3), np.uint8)  # noise: no encoder makes it small
    with _files_limited_to(20_000):
        sink = VideoSink(tmp_path / "a.mp4", 10.0, (320, 240))
        for index in range(60):
            sink.write(index, index / 10, Poses.empty(3), image)
        with pytest.raises(WLitePoseError, match=r"^cannot write .*a.mp4: the annotated video could not be finished"):
            sink.close()
    sink = VideoSink(tmp_path / "b.mp4", 10.0, (320, 240))  # the same frames with room: no complaint
    for index in range(60):
        sink.write(index, index / 10, Poses.empty(3), image)
    sink.close()


@pytest.mark.skipif(os.name == "nt", reason="POSIX permissions")
def test_a_lock_file_removed_between_its_opening_and_locking_is_not_held(tmp_path, monkeypatch):
    """The holder lets go and removes the file after another run opened it but before it locked it: that run
    holds a file no longer at the lock's name, and takes the new one, so a third run cannot hold it as well."""
    import core.output_lock
    from core.output_lock import lock_path

    output, try_lock, removed = tmp_path / "c.csv", core.output_lock._try_lock, []

    def holder_lets_go_first(fd):
        if not removed:
            removed.append(lock_path(output))
            lock_path(output).unlink()
        try_lock(fd)

    monkeypatch.setattr(core.output_lock, "_try_lock", holder_lets_go_first)
    with take(output):
        assert removed and lock_path(output).is_file()
        with pytest.raises(WLitePoseError, match="another run"):
            take(output)


def test_another_users_lock_left_by_a_killed_run_is_taken_over(tmp_path, monkeypatch):
    """In a shared folder a killed run's lock, made 0644 whatever the umask, could not be opened by the next user:
    'cannot write c.csv: Permission denied' after the model loaded, naming a file they could write."""
    from core.output_lock import lock_path

    output = tmp_path / "c.csv"
    old = os.umask(0)
    try:
        with take(output):
            assert lock_path(output).stat().st_mode & 0o777 == 0o666  # the umask decides, as for the outputs
    finally:
        os.umask(old)
    lock_path(output).write_bytes(b"")  # left by a run killed outright
    real_open = os.open

    def not_ours(path, flags, *mode):  # what another user meets at a 0644 lock (root passes any permission)
        if Path(path) == lock_path(output) and flags & os.O_RDWR:
            raise PermissionError(errno.EACCES, "Permission denied")
        return real_open(path, flags, *mode)

    monkeypatch.setattr(os, "open", not_ours)
    with take(output):  # held on a file opened to read
        with pytest.raises(WLitePoseError, match="another run"):
            take(output)
    monkeypatch.undo()
    with take(output):  # the check before a run's work, at another user's held lock: was taken for free, and
        monkeypatch.setattr(os, "open", not_ours)  # eval refused only after its scoring
        with pytest.raises(WLitePoseError, match="another run"):
            check_free(output)


def test_an_annotated_avi_cut_short_by_a_full_disk_is_an_error_not_a_success(tmp_path):
    """An .avi plays whatever the disk took of it: 5 of 200 frames, and the run said 'wrote a.avi' with exit 0."""
    image = np.random.default_rng(0).integers(0, 255, (240, 320, 3), np.uint8)  # noise: no encoder makes it small
    with _files_limited_to(200_000):
        sink = VideoSink(tmp_path / "a.avi", 10.0, (320, 240))
        for index in range(60):
            sink.write(index, index / 10, Poses.empty(3), image)
        with pytest.raises(
            WLitePoseError, match=r"^cannot write .*a.avi: it was cut short .*counts \d+ of the 60 frames"
        ):
            sink.close()


def test_a_disk_filling_under_a_video_stops_the_run_while_its_index_still_fits(tmp_path, monkeypatch):
    """OpenCV's writer is silent when the disk fills: an .mp4's run went on for hours to fail at its end. The run
    stops before the frame goes to any output, so the CSV and the video end at the same frame."""
    import core.sinks.video as video

    room = {"free": 10**12}
    monkeypatch.setattr(video.shutil, "disk_usage", lambda path: SimpleNamespace(free=room["free"]))
    image = np.zeros((48, 64, 3), np.uint8)
    options = SinkOptions(csv=tmp_path / "a.csv", video=tmp_path / "a.mp4")
    with pytest.raises(WLitePoseError, match=r"a.mp4: the disk is nearly full .*closed with the 49 frames written"):
        with open_sinks(options, INFO, META) as sinks:
            for index in range(200):
                if index == 30:
                    room["free"] = 2**20  # the disk fills
                sinks.write(index, index / 25, Poses.empty(3), image)
    assert int(cv2.VideoCapture(str(tmp_path / "a.mp4")).get(cv2.CAP_PROP_FRAME_COUNT)) == 49  # not the 50th
    assert json.loads((tmp_path / "a.csv.json").read_text())["frames_written"] == 49


def test_a_nearly_full_disk_refuses_a_video_before_an_earlier_one_is_replaced(tmp_path, monkeypatch):
    """The room was looked at from the 25th frame on: on a disk with a few MB left each take (the app's Record
    pressed again) replaced the earlier video by one of 24 frames."""
    import core.sinks.video as video

    monkeypatch.setattr(video.shutil, "disk_usage", lambda path: SimpleNamespace(free=2**20))
    earlier = tmp_path / "a.mp4"
    earlier.write_bytes(b"an earlier run's video")
    options = SinkOptions(csv=tmp_path / "a.csv", video=earlier)
    with pytest.raises(WLitePoseError, match=r"^cannot write video .*a.mp4: the disk is nearly full \(less than 16"):
        open_sinks(options, INFO, META)
    assert earlier.read_bytes() == b"an earlier run's video"
    assert not (tmp_path / "a.csv").exists()


def test_an_output_that_cannot_open_lets_go_of_the_locks_already_taken(tmp_path, monkeypatch):
    """The last output failing to open (a full disk): the locks of all of them are let go and their files removed,
    not left beside the outputs."""
    import core.sinks.multi

    def full_disk(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(core.sinks.multi, "PoseC3DSink", full_disk)
    options = SinkOptions(csv=tmp_path / "out.csv", posec3d=tmp_path / "out.pkl")
    with pytest.raises(WLitePoseError, match="cannot write .*out.pkl: No space left on device"):
        open_sinks(options, INFO, META)
    assert not list(tmp_path.rglob("*.wlitepose-lock"))


def test_ctrl_c_while_the_outputs_open_leaves_no_lock_and_no_empty_video(tmp_path, monkeypatch):
    """Ctrl+C as the third output opens: those already open are closed (a video without frames removed) and the
    locks let go, their files removed, as for an output that could not open."""
    from core.sinks import multi

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(multi, "CocoJsonSink", interrupted)
    options = SinkOptions(video=tmp_path / "out.avi", csv=tmp_path / "out.csv", coco_json=tmp_path / "out.json")
    with pytest.raises(KeyboardInterrupt):
        open_sinks(options, INFO, META)
    assert sorted(path.name for path in tmp_path.iterdir()) == ["out.csv", "out.csv.json"]


def test_a_file_system_without_locks_is_left_without_lock_files(tmp_path, monkeypatch):
    """An NFS mount without its lock daemon: the run goes on unlocked, and leaves no hidden file beside each output."""
    import errno

    import core.output_lock

    def unsupported(fd):
        raise OSError(errno.ENOLCK, "No locks available")

    monkeypatch.setattr(core.output_lock, "_try_lock", unsupported)
    with open_sinks(SinkOptions(csv=tmp_path / "out.csv"), INFO, META) as sinks:
        sinks.write(0, 0.0, Poses.empty(3))
    assert (tmp_path / "out.csv").is_file() and not list(tmp_path.rglob("*.wlitepose-lock"))


def test_a_run_is_recorded_as_finished_only_when_every_output_closed_whole(tmp_path, monkeypatch):
    """track --skip-done passes over a source whose sidecar says finished: a video cut short at its close must not
    leave a CSV that says so."""
    import core.sinks.video as video

    image = np.zeros((48, 64, 3), np.uint8)
    for failing in (False, True):
        if failing:
            monkeypatch.setattr(video.VideoSink, "close", lambda self: (_ for _ in ()).throw(WLitePoseError("cut")))
        options = SinkOptions(csv=tmp_path / f"{failing}.csv", video=tmp_path / f"{failing}.avi")
        with contextlib.suppress(WLitePoseError), open_sinks(options, INFO, META) as sinks:
            sinks.write(0, 0.0, Poses.empty(3), image)
            sinks.source_ended = True
        assert json.loads((tmp_path / f"{failing}.csv.json").read_text())["finished"] is not failing
    monkeypatch.setattr(CsvSink, "run_finished", lambda self: (_ for _ in ()).throw(OSError(28, "No space left")))
    options = SinkOptions(csv=tmp_path / "full.csv")
    with pytest.raises(WLitePoseError, match="No space left"), open_sinks(options, INFO, META) as sinks:
        sinks.source_ended = True
    check_free(tmp_path / "full.csv")  # its lock let go all the same


def test_a_lock_that_cannot_be_opened_is_named_in_the_refusal(tmp_path, monkeypatch):
    """Another user's 0600 lock: 'cannot write c.csv: Permission denied' named a file the user could write."""
    from core.output_lock import lock_path

    output = tmp_path / "c.csv"
    real_open = os.open

    def refused(path, flags, *mode):
        if Path(path) == lock_path(output):
            raise PermissionError(errno.EACCES, "Permission denied")
        return real_open(path, flags, *mode)

    monkeypatch.setattr(os, "open", refused)
    with pytest.raises(
        WLitePoseError, match=r"c.csv: .c.csv.wlitepose-lock beside it, where a run keeps its lock: Perm"
    ):
        take(output)


def test_a_folder_at_a_locks_name_is_said_by_the_check_before_any_work(tmp_path):
    (tmp_path / ".d.csv.wlitepose-lock").mkdir()
    with pytest.raises(WLitePoseError, match=r"^cannot write .*d.csv: .d.csv.wlitepose-lock beside it, where a run"):
        check_free(tmp_path / "d.csv")


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="FIFOs are POSIX")
def test_the_check_before_a_run_never_waits_on_a_fifo_it_may_only_read(tmp_path, monkeypatch):
    """Its read-only fallback opened another user's FIFO at a lock's name as a file: the check blocked for ever."""
    from core.output_lock import lock_path

    output = tmp_path / "out.csv"
    os.mkfifo(lock_path(output))
    real_open = os.open

    def read_only(path, flags, *mode):  # what another user meets at a 0444 FIFO
        if Path(path) == lock_path(output) and flags & os.O_RDWR:
            raise PermissionError(errno.EACCES, "Permission denied")
        return real_open(path, flags, *mode)

    monkeypatch.setattr(os, "open", read_only)
    outcome = []

    def check() -> None:
        try:
            check_free(output)
        except WLitePoseError as error:
            outcome.append(str(error))

    worker = threading.Thread(target=check, daemon=True)
    worker.start()
    worker.join(10)
    assert outcome and "is a link or a FIFO" in outcome[0]


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
