"""What Windows and macOS do differently, checked here by the settings that stand for them: file names that
differ only in case, patterns the shell leaves unexpanded, files held open by other programs, name lengths."""

import os

import pytest

import core.sinks.base as base
import core.sinks.openpose as openpose
import core.sources.live as live
from core.errors import WLitePoseError
from core.poses import Poses
from core.sinks import OpenPoseSink, SinkOptions
from core.sinks.base import atomic_write
from core.sinks.multi import plan_outputs
from core.sources import expand_wildcards, open_source


def test_an_output_that_is_the_source_under_another_name_is_refused(tmp_path):
    """A hard link here; on macOS's case-insensitive disks GX010001.mp4 reaches GX010001.MP4 the same way."""
    source = tmp_path / "GX010001.MP4"
    source.write_bytes(b"video")
    os.link(source, tmp_path / "GX010001.mp4")
    options = SinkOptions(video=tmp_path / "GX010001.mp4")
    with pytest.raises(WLitePoseError, match="GX010001.mp4 is a file this run reads"):
        plan_outputs([str(source)], options, (str(source),))
    assert source.read_bytes() == b"video"


def test_outputs_that_differ_only_in_case_collide_where_names_ignore_case(tmp_path, monkeypatch):
    for folder in ("a", "b"):
        (tmp_path / folder).mkdir()
    (tmp_path / "a" / "Run.mp4").write_bytes(b"")
    (tmp_path / "b" / "run.mp4").write_bytes(b"")
    specs = [str(tmp_path / "a" / "Run.mp4"), str(tmp_path / "b" / "run.mp4")]
    options = SinkOptions(csv=tmp_path / "out" / "{name}.csv")
    assert len(plan_outputs(specs, options, ())) == 2  # two files on Linux's file systems
    monkeypatch.setattr(base, "CASE_INSENSITIVE", True)
    with pytest.raises(WLitePoseError, match="would both write .*run.csv"):
        plan_outputs(specs, options, ())
    with pytest.raises(WLitePoseError, match="share a path"):
        plan_outputs([specs[0]], SinkOptions(csv=tmp_path / "k.csv", coco_json=tmp_path / "K.CSV"), ())


def test_openpose_frames_of_images_whose_names_differ_in_case_are_numbered_where_names_ignore_case(
    tmp_path, monkeypatch
):
    monkeypatch.setattr(base, "CASE_INSENSITIVE", True)
    with OpenPoseSink(tmp_path / "op", "shots", ["IMG_1.JPG", "img_1.png"]) as sink:
        for frame in range(2):
            sink.write(frame, frame / 30, Poses.empty(3))
    names = sorted(p.name for p in (tmp_path / "op").iterdir())
    assert names == ["shots_000000000000_keypoints.json", "shots_000000000001_keypoints.json"]


def test_file_patterns_are_expanded_on_windows_only(tmp_path):
    for name in ("b.mp4", "a.mp4", "notes.txt", "odd[1].mp4"):
        (tmp_path / name).write_bytes(b"")
    pattern = str(tmp_path / "*.mp4")
    assert expand_wildcards([pattern], "linux") == [pattern]  # a POSIX shell has expanded it; this is a name
    assert expand_wildcards([pattern, "0"], "win32") == [
        *(str(tmp_path / name) for name in ("a.mp4", "b.mp4", "odd[1].mp4")),
        "0",
    ]
    literal = str(tmp_path / "odd[1].mp4")  # an existing name is that file, brackets and all
    assert expand_wildcards([literal, "rtsp://cam/*"], "win32") == [literal, "rtsp://cam/*"]
    with pytest.raises(WLitePoseError, match=r"no file or folder matches .*\*.avi"):
        expand_wildcards([str(tmp_path / "*.avi")], "win32")


def test_a_file_another_program_holds_is_replaced_once_it_lets_go(tmp_path, monkeypatch):
    """Windows refuses os.replace onto a file open elsewhere (a reader, a virus scanner) until it is closed."""
    target = tmp_path / "k.csv.json"
    target.write_bytes(b"old")
    real_replace, refusals = os.replace, []

    def held_twice(src, dst):
        if len(refusals) < 2:
            refusals.append(dst)
            raise PermissionError(13, "Access is denied")
        real_replace(src, dst)

    monkeypatch.setattr(base.os, "replace", held_twice)
    monkeypatch.setattr(base, "REPLACE_TRIES", 3)
    monkeypatch.setattr(base.time, "sleep", lambda s: None)
    atomic_write(target, b"new")
    assert target.read_bytes() == b"new" and len(refusals) == 2
    refusals.clear()
    monkeypatch.setattr(base, "REPLACE_TRIES", 2)  # held longer than the tries: the error, the old file kept
    with pytest.raises(PermissionError):
        atomic_write(target, b"newer")
    assert target.read_bytes() == b"new" and [p.name for p in tmp_path.iterdir()] == ["k.csv.json"]


def test_windows_counts_a_frame_file_name_in_utf16_units(tmp_path, monkeypatch):
    stem = "北京" * 40  # 80 characters: 240 bytes in UTF-8, 80 UTF-16 units
    with pytest.raises(WLitePoseError, match="bytes, and its file system takes"):
        openpose.check_frame_names(tmp_path, stem)
    monkeypatch.setattr(openpose, "NAME_UNIT", "UTF-16 units")
    openpose.check_frame_names(tmp_path, stem)  # 108 units: NTFS takes 255
    with pytest.raises(WLitePoseError, match=r"\(264 UTF-16 units, and its file system takes 255\)"):
        openpose.check_frame_names(tmp_path, "v" * 236)


def test_a_missing_camera_on_macos_says_where_access_is_allowed(monkeypatch):
    monkeypatch.setattr(live, "CAMERA_PERMISSION", "; allow camera access (macOS)")
    monkeypatch.setattr(live, "list_cameras", lambda: [])
    with pytest.raises(WLitePoseError, match=r"no camera with index 7 \(cameras found: none\); allow camera access"):
        open_source("7")
