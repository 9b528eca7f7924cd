"""How outputs are written: valid at every frame, replaced through a copy beside them, never through a link nor over
a file the run reads, and whole to their last frame on a full disk."""

import contextlib
import errno
import json
import os
import pickle
import shutil
import signal
from types import SimpleNamespace

import cv2
import numpy as np
import pytest

from core.errors import WLitePoseError
from core.output_lock import check_free
from core.poses import Poses
from core.sinks import CocoDatasetSink, CocoJsonSink, CsvSink, OpenPoseSink, PoseC3DSink, SinkOptions, open_sinks
from core.sinks.base import atomic_write, writable, write_at
from core.sinks.video import VideoSink


def test_files_are_valid_before_close(tmp_path, monkeypatch, toy_frames, toy_info):
    """What an interrupted run leaves: every sink's file parses after each frame, before close."""
    monkeypatch.setattr("core.sinks.posec3d.FLUSH_SPACING", 0)  # every 2 frames however long a replacement takes
    csv_sink = CsvSink(tmp_path / "a.csv", toy_info.keypoint_names, {})
    coco = CocoJsonSink(tmp_path / "a.json")
    openpose = OpenPoseSink(tmp_path / "op")
    posec3d = PoseC3DSink(tmp_path / "a.pkl", 3, (64, 48), "clip", flush_every=2)
    dataset = CocoDatasetSink(tmp_path / "d.json", toy_info, (64, 48))
    sinks = (csv_sink, coco, openpose, posec3d, dataset)
    try:
        assert json.loads((tmp_path / "a.json").read_text()) == []
        assert json.loads((tmp_path / "d.json").read_text())["images"] == []
        for written, (index, t, poses) in enumerate(toy_frames(), start=1):
            for sink in sinks:
                sink.write(index, t, poses)
            coco_entries = json.loads((tmp_path / "a.json").read_text())
            assert len(coco_entries) == sum(len(p) for _, _, p in toy_frames()[:written])
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


@pytest.fixture
def write_until_refused(toy_frames, toy_info, toy_meta):
    """write_until_refused(options, limit) -> the error: frames into ``options``' files, round after round, until a
    file may grow past ``limit`` bytes no more."""

    def write(options: SinkOptions, limit: int) -> WLitePoseError:
        with _files_limited_to(limit), open_sinks(options, toy_info, toy_meta) as sinks:
            for round_ in range(100_000):
                for index, t, poses in toy_frames():
                    try:
                        sinks.write(3 * round_ + index, 3 * round_ * 0.04 + t, poses)
                    except WLitePoseError as error:
                        return error
        raise AssertionError("no write was refused")

    return write


def test_a_csv_whose_first_frame_the_disk_refuses_keeps_its_header(tmp_path, toy_frames, toy_info):
    """A disk full from the first frame on: the CSV is cut back to its header, not to nothing."""
    sink = CsvSink(tmp_path / "out.csv", toy_info.keypoint_names, {"source": "clip.mp4"}, first_frame=0)
    header = (tmp_path / "out.csv").read_text()
    with _files_limited_to(len(header) + 10), pytest.raises(OSError):
        sink.write(*toy_frames()[0])
    sink.close()
    assert (tmp_path / "out.csv").read_text() == header


@pytest.mark.parametrize("field, name", [("csv", "out.csv"), ("coco_json", "out.json"), ("coco_dataset", "out.json")])
def test_a_file_that_cannot_grow_ends_at_its_last_whole_frame(
    tmp_path, field, name, toy_frames, toy_info, toy_meta, write_until_refused
):
    """A full disk mid-run: one sentence naming the file, which stays valid, ending where a frame ended."""
    limited = SinkOptions(**{field: tmp_path / "limited" / name})
    error = write_until_refused(limited, 20_000)
    assert str(error) == f"cannot write {tmp_path / 'limited' / name}: File too large"
    text = (tmp_path / "limited" / name).read_text()
    assert 10_000 < len(text) <= 20_000
    with open_sinks(SinkOptions(**{field: tmp_path / name}), toy_info, toy_meta) as sinks:  # the same frames, no limit
        for round_ in range(200):
            for index, t, poses in toy_frames():
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
def test_an_output_under_folders_not_made_yet_gets_them(tmp_path, field, toy_frames, toy_info, toy_meta):
    """results/2024/run1/out.csv: the folders on the way are made, as for a folder that is only one level deep."""
    name = {"csv": "out.csv", "coco_json": "out.json", "coco_dataset": "ds.json", "openpose_dir": "openpose"}
    name |= {"posec3d": "out.pkl", "video": "out.avi"}
    output = tmp_path / "results" / "2024" / "run1" / name[field]
    with open_sinks(SinkOptions(**{field: output}), toy_info, toy_meta) as sinks:
        for index, t, poses in toy_frames():
            sinks.write(index, t, poses, image=np.zeros((48, 64, 3), np.uint8))
    assert output.exists()


@pytest.mark.parametrize(
    ("field", "name"), [("coco_json", "out.json"), ("coco_dataset", "ds.json"), ("video", "out.avi")]
)
@pytest.mark.parametrize("gone", ["removed", "moved"])
def test_an_output_whose_folder_went_during_the_run_is_an_error_not_a_file_written(
    tmp_path, field, name, gone, toy_frames, toy_info, toy_meta
):
    """Without a CSV, whose sidecar rewrites find it mid-run, a run whose output folder was removed (or moved) said
    it wrote a file that was not there (the video: that the disk may be full)."""
    folder = tmp_path / "out"
    sinks = open_sinks(SinkOptions(**{field: folder / name}), toy_info, toy_meta)
    for index, t, poses in toy_frames():
        sinks.write(index, t, poses, image=np.zeros((48, 64, 3), np.uint8))
    if gone == "removed":
        shutil.rmtree(folder)
    else:
        folder.rename(tmp_path / "elsewhere")
    with pytest.raises(WLitePoseError, match=f"cannot write {folder / name}: it was removed or moved"):
        sinks.close()


@pytest.mark.parametrize("field", ["csv", "coco_json", "coco_dataset", "openpose_dir", "posec3d", "video"])
def test_unwritable_output_is_a_clear_error(tmp_path, field, toy_info, toy_meta):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    options = SinkOptions(**{field: blocker / "sub" / "out.avi"})  # a folder under a plain file
    with pytest.raises(WLitePoseError, match=f"cannot write .*: {blocker} is not a folder"):
        open_sinks(options, toy_info, toy_meta)


def test_a_file_is_replaced_through_a_copy_beside_it_whatever_the_current_folder(tmp_path, monkeypatch):
    """A run started from another drive (a rename across drives fails) or from a folder since removed still
    replaces its outputs."""
    (tmp_path / "gone").mkdir()
    monkeypatch.chdir(tmp_path / "gone")
    (tmp_path / "gone").rmdir()
    atomic_write(tmp_path / "out.json", b"{}")
    assert [path.name for path in tmp_path.iterdir()] == ["out.json"]


@pytest.mark.parametrize(("field", "name"), [("csv", "out.csv"), ("coco_json", "out.json"), ("video", "out.avi")])
def test_an_output_written_in_place_replaces_a_link_at_its_name_not_the_file_it_shares(
    tmp_path, field, name, toy_frames, toy_info, toy_meta
):
    """A hard link at the output's name (a results folder copied with cp -l): the other name's file is left as it
    was, as an atomic write would leave it."""
    kept = tmp_path / "kept"
    kept.write_bytes(b"another program's file")
    os.link(kept, tmp_path / name)
    with open_sinks(SinkOptions(**{field: tmp_path / name}), toy_info, toy_meta) as sinks:
        for index, t, poses in toy_frames():
            sinks.write(index, t, poses, image=np.zeros((48, 64, 3), np.uint8))
    assert kept.read_bytes() == b"another program's file"
    assert (tmp_path / name).stat().st_nlink == 1


def test_a_dangling_link_on_the_way_is_refused_by_the_check_as_by_the_opening(tmp_path):
    (tmp_path / "gone").symlink_to(tmp_path / "missing")
    for create in (False, True):
        with pytest.raises(WLitePoseError, match="is not a folder"):
            writable(tmp_path / "gone" / "out.csv", create=create)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["gone"]  # no probe left behind


def test_same_path_twice_is_refused(tmp_path, toy_info, toy_meta):
    with pytest.raises(WLitePoseError, match="share a path"):
        open_sinks(SinkOptions(csv=tmp_path / "a", coco_json=tmp_path / "a"), toy_info, toy_meta)
    with pytest.raises(WLitePoseError, match="share a path"):  # the CSV's sidecar is an output too
        open_sinks(SinkOptions(csv=tmp_path / "c.csv", coco_json=tmp_path / "c.csv.json"), toy_info, toy_meta)
    assert not list(tmp_path.iterdir())  # refused before anything was written


def test_an_output_never_replaces_a_file_the_run_reads(tmp_path, toy_info, toy_meta):
    source, model = tmp_path / "clip.mp4", tmp_path / "model.onnx"
    source.write_bytes(b"video"), model.write_bytes(b"model")
    meta = {**toy_meta, "source": str(source)}
    for options in (
        SinkOptions(video=source),
        SinkOptions(csv=model),
        SinkOptions(posec3d=tmp_path / "x" / ".." / "clip.mp4"),
    ):
        with pytest.raises(WLitePoseError, match="a file this run reads"):
            open_sinks(options, toy_info, meta, inputs=(model,))
    assert source.read_bytes() == b"video" and model.read_bytes() == b"model"


def test_no_output_becomes_an_image_of_a_folder_the_run_reads(tmp_path, toy_info, toy_meta):
    folder = tmp_path / "frames"
    folder.mkdir()
    cv2.imwrite(str(folder / "img5.jpg"), np.zeros((8, 8, 3), np.uint8))
    before = (folder / "img5.jpg").read_bytes()
    meta = {**toy_meta, "source": str(folder)}
    for options in (SinkOptions(csv=folder / "img5.jpg"), SinkOptions(posec3d=folder / "new.PNG")):
        with pytest.raises(WLitePoseError, match="would be an image of the folder .*frames this run reads"):
            open_sinks(options, toy_info, meta)
    assert (folder / "img5.jpg").read_bytes() == before and sorted(p.name for p in folder.iterdir()) == ["img5.jpg"]
    with open_sinks(SinkOptions(csv=folder / "poses.csv"), toy_info, meta):  # not an image: the folder may hold it
        pass


def test_no_output_takes_the_name_of_an_openpose_frame_file(tmp_path, toy_info, toy_meta):
    options = SinkOptions(openpose_dir=tmp_path / "op", coco_json=tmp_path / "op" / "clip_000000000001_keypoints.json")
    with pytest.raises(WLitePoseError, match="has the name of an OpenPose frame file"):
        open_sinks(options, toy_info, toy_meta)
    assert not (tmp_path / "op").exists()


def test_a_coco_dataset_stays_valid_while_its_file_is_replaced_for_room(tmp_path, monkeypatch, toy_frames, toy_info):
    """Each frame's image goes into room kept after the images; when it runs out the file is replaced by a copy with
    more, and at close by one without any: valid JSON after every frame all the same."""
    monkeypatch.setattr("core.sinks.coco_dataset.MIN_ROOM", 0)  # room for as many images again each time
    path = tmp_path / "d.json"
    files = []  # the file's inode after each frame: another one after each replacement
    with CocoDatasetSink(path, toy_info, (64, 48)) as sink:
        for round_ in range(50):
            for index, t, poses in toy_frames():
                sink.write(3 * round_ + index, t, poses)
                data = json.loads(path.read_text())
                assert data["images"][-1]["id"] == 3 * round_ + index
                files.append(path.stat().st_ino)
        replaced = sum(before != after for before, after in zip(files[:-1], files[1:], strict=True))
        assert len(data["images"]) == 150 and len(data["annotations"]) == 150 and replaced >= 5
        assert b" " * 64 in path.read_bytes()  # the room
    assert json.loads(path.read_text()) == data and b"  " not in path.read_bytes()


@pytest.mark.parametrize("taken", [0.0, 0.5], ids=["nothing", "half"])
def test_a_coco_dataset_frame_whose_people_could_not_be_written_leaves_no_trace(
    tmp_path, monkeypatch, taken, toy_frames, toy_info
):
    """A full disk as a frame's people are appended: its image is taken out again, so the file never says that
    nobody was in a frame whose people are missing; and the bytes of them the disk took first (``taken``) are cut
    off again, so the file still loads (a closing bracket written over them left the rest after it)."""
    sink = CocoDatasetSink(tmp_path / "d.json", toy_info, (64, 48))
    first, _, last = toy_frames()
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


def test_a_coco_dataset_whose_room_a_full_disk_keeps_at_close_is_whole_and_no_error(
    tmp_path, monkeypatch, toy_frames, toy_info
):
    """No room on the disk for the copy without the spaces: the file, valid as it is, stays, and the run is not
    told it could not be written."""
    sink = CocoDatasetSink(tmp_path / "d.json", toy_info, (64, 48))
    for frame in toy_frames():
        sink.write(*frame)

    def no_room(room):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(sink, "_make_room", no_room)
    sink.close()
    data = json.loads((tmp_path / "d.json").read_text())
    assert [image["id"] for image in data["images"]] == [0, 1, 2] and len(data["annotations"]) == 3


def test_a_full_disk_still_gets_the_frame_count_into_the_sidecar(tmp_path, monkeypatch, toy_frames, toy_info):
    """A CSV cut at its last whole frame by a full disk: the sidecar's copy-and-replace finds no room either,
    so its own space is rewritten, and it does not say 0 frames beside a CSV of 3."""
    sink = CsvSink(tmp_path / "a.csv", toy_info.keypoint_names, {"source": "clip.mp4"})
    for index, t, poses in toy_frames():
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


def test_the_sidecar_keeps_count_during_a_run_for_one_killed_outright(tmp_path, monkeypatch, toy_frames, toy_info):
    """A run killed by the kernel (out of memory) left a CSV of 1,267 frames beside a sidecar saying 0; the count
    is rewritten every SIDECAR_EVERY_S (a fake clock here), and a rewrite another program blocks is let go."""
    import core.sinks.csv_sink as csv_sink

    clock = {"now": 0.0}
    monkeypatch.setattr(csv_sink, "time", SimpleNamespace(monotonic=lambda: clock["now"]))  # this module's only
    sink = CsvSink(tmp_path / "a.csv", toy_info.keypoint_names, {})
    clock["now"] += csv_sink.FIRST_SIDECAR_S - 0.01
    sink.write(*toy_frames()[0][:2], toy_frames()[0][2])
    assert json.loads((tmp_path / "a.csv.json").read_text())["frames_written"] == 0
    clock["now"] += 0.01  # a run killed in its first seconds: counted after one (every 10 s before)
    for written, (index, t, poses) in enumerate(toy_frames(), start=2):
        sink.write(index, t, poses)
        assert json.loads((tmp_path / "a.csv.json").read_text())["frames_written"] == written
        clock["now"] += csv_sink.SIDECAR_EVERY_S

    def held(path, data):
        raise PermissionError(13, "another program has it open")

    monkeypatch.setattr(csv_sink, "rewrite_small", held)
    monkeypatch.setattr(csv_sink, "HELD_ELSEWHERE", (PermissionError,))  # as Windows says it
    sink.write(3, 0.12, toy_frames()[0][2])  # written on; the sidecar's count waits for the next try
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


def test_a_run_is_recorded_as_finished_only_when_every_output_closed_whole(tmp_path, monkeypatch, toy_info, toy_meta):
    """track --skip-done passes over a source whose sidecar says finished: a video cut short at its close must not
    leave a CSV that says so."""
    import core.sinks.video as video

    image = np.zeros((48, 64, 3), np.uint8)
    for failing in (False, True):
        if failing:
            monkeypatch.setattr(video.VideoSink, "close", lambda self: (_ for _ in ()).throw(WLitePoseError("cut")))
        options = SinkOptions(csv=tmp_path / f"{failing}.csv", video=tmp_path / f"{failing}.avi")
        with contextlib.suppress(WLitePoseError), open_sinks(options, toy_info, toy_meta) as sinks:
            sinks.write(0, 0.0, Poses.empty(3), image)
            sinks.source_ended = True
        assert json.loads((tmp_path / f"{failing}.csv.json").read_text())["finished"] is not failing
    monkeypatch.setattr(CsvSink, "run_finished", lambda self: (_ for _ in ()).throw(OSError(28, "No space left")))
    options = SinkOptions(csv=tmp_path / "full.csv")
    with pytest.raises(WLitePoseError, match="No space left"), open_sinks(options, toy_info, toy_meta) as sinks:
        sinks.source_ended = True
    check_free(tmp_path / "full.csv")  # its lock let go all the same
