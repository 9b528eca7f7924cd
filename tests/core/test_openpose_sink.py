"""OpenPose frames: named after a video or a folder's images, a run replacing only its own earlier frames, the folder
holding nothing else."""

import fnmatch
import os
import shutil
import threading

import cv2
import numpy as np
import pytest

from core.errors import WLitePoseError
from core.poses import Poses
from core.sinks import OpenPoseSink, SinkOptions, open_sinks
from core.sinks.multi import plan_outputs


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


def test_a_videos_openpose_frames_go_beside_an_image_folders_and_its_listing_stays(tmp_path, toy_frames):
    """The hidden folder of listings is removed with the last listing only: one that still holds an image folder's
    is no error for a video's run into the same OpenPose folder."""
    OpenPoseSink(tmp_path / "op", "shots", frame_files=["a.jpg", "b.jpg"]).write(*toy_frames()[0])
    with OpenPoseSink(tmp_path / "op", "clip") as sink:
        sink.write(*toy_frames()[0])
    assert (tmp_path / "op" / ".wlitepose" / ".shots.openpose-files.json").is_file()
    assert sorted(path.name for path in (tmp_path / "op").glob("*.json")) == [
        "a_keypoints.json",
        "clip_000000000000_keypoints.json",
    ]


def test_an_openpose_run_named_with_pattern_characters_replaces_its_own_frames_only(tmp_path, toy_frames):
    """cam[1].mp4's run matched cam1's frames as a pattern: it removed that source's and left its own old ones."""
    for stem, frames in (("cam[1]", 3), ("cam1", 3), ("cam[1]", 1)):
        with OpenPoseSink(tmp_path, stem) as sink:
            for index, t, poses in toy_frames()[:frames]:
                sink.write(index, t, poses)
    assert sorted(path.name for path in tmp_path.glob("*_keypoints.json")) == [
        "cam1_000000000000_keypoints.json",
        "cam1_000000000001_keypoints.json",
        "cam1_000000000002_keypoints.json",
        "cam[1]_000000000000_keypoints.json",
    ]


def test_a_listing_an_earlier_release_left_among_the_frames_still_keeps_another_folders_run_off_them(
    tmp_path, toy_frames
):
    """An earlier release kept an image folder's listing among its frames: a folder of the same image names is
    refused there as it is beside a listing of this release, rather than replacing that folder's frames."""
    OpenPoseSink(tmp_path, "cam_a", frame_files=["f0.jpg"]).write(*toy_frames()[0])
    (tmp_path / ".wlitepose" / ".cam_a.openpose-files.json").rename(tmp_path / ".cam_a.openpose-files.json")
    with pytest.raises(WLitePoseError, match="holds the OpenPose frames of cam_a under names this run's images give"):
        OpenPoseSink(tmp_path, "cam_b", frame_files=["f0.jpg"])


def test_openpose_files_of_an_image_folder_are_named_after_their_images(tmp_path, toy_frames, toy_info, toy_meta):
    folder = tmp_path / "op"
    folder.mkdir()
    (folder / "b_keypoints.json").write_text("{}")  # an earlier run's: replaced even where no frame is written
    for files, expected in (
        (["a.jpg", "b.png", "c.jpg"], ["a_keypoints.json", "c_keypoints.json"]),
        (["a.jpg", "a.png", "c.jpg"], ["frames_000000000000_keypoints.json", "frames_000000000002_keypoints.json"]),
    ):
        meta = {**toy_meta, "name": "frames", "frame_files": files}
        with open_sinks(SinkOptions(openpose_dir=folder), toy_info, meta) as sinks:
            for index, t, poses in toy_frames():  # frames 0 and 2 (b's frame, 1, is not written here)
                if index != 1:
                    sinks.write(index, t, poses)
        written = sorted(p.name for p in folder.iterdir() if not p.name.startswith("."))
        assert written == sorted(expected)  # two images named a: by index
        for path in folder.iterdir():
            shutil.rmtree(path) if path.is_dir() else path.unlink()


def test_an_image_folders_openpose_folder_holds_no_file_but_its_frames(tmp_path, toy_frames, toy_info, toy_meta):
    """Pose2Sim takes every ``*.json`` of an OpenPose folder for a frame (fnmatch over os.listdir, dotfiles too),
    and its JSON display every file, sorted by the last number in its name: the listing of a folder's frames,
    a hidden ``.frames.openpose-files.json`` among them, was an IndexError there and a frame too many."""
    folder = tmp_path / "cam1_json"
    folder.mkdir()
    # a listing an earlier release left among the frames still has its frames removed, and goes with them
    (folder / ".frames.openpose-files.json").write_text('["gone_keypoints.json"]')
    (folder / "gone_keypoints.json").write_text("{}")
    meta = {**toy_meta, "name": "frames", "frame_files": ["frame_0001.jpg", "frame_0002.jpg", "frame_0003.jpg"]}
    with open_sinks(SinkOptions(openpose_dir=folder), toy_info, meta) as sinks:
        for index, t, poses in toy_frames():
            sinks.write(index, t, poses)
    frames = ["frame_0001_keypoints.json", "frame_0002_keypoints.json", "frame_0003_keypoints.json"]
    assert sorted(fnmatch.filter(os.listdir(folder), "*.json")) == frames
    assert sorted(name for name in os.listdir(folder) if (folder / name).is_file()) == frames
    with open_sinks(
        SinkOptions(openpose_dir=folder), toy_info, {**toy_meta, "name": "frames"}
    ) as sinks:  # a video of it
        sinks.write(0, 0.0, Poses.empty(3))
    assert os.listdir(folder) == ["frames_000000000000_keypoints.json"]  # the hidden folder went with its listings
    (tmp_path / "op").mkdir()
    (tmp_path / "op" / ".wlitepose").write_text("")  # not the folder the listing goes in: said, not a traceback
    with pytest.raises(WLitePoseError, match=r"\.wlitepose there is not a folder"):
        open_sinks(SinkOptions(openpose_dir=tmp_path / "op"), toy_info, meta)


def test_an_image_folders_rerun_replaces_the_earlier_runs_frames_whatever_images_it_now_holds(
    tmp_path, toy_frames, toy_info, toy_meta
):
    """The frames an earlier run named after images go even when the folder lost those images, when its
    images now share a name (frames then by index) and when a video of the same name follows it."""
    folder = tmp_path / "op"

    def run(files: list[str] | None, name: str = "frames") -> list[str]:
        meta = {**toy_meta, "name": name, **({"frame_files": files} if files else {})}
        with open_sinks(SinkOptions(openpose_dir=folder), toy_info, meta) as sinks:
            for index, t, poses in toy_frames():
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


def test_openpose_frame_names_too_long_for_the_file_system_fail_before_any_file_is_replaced(
    tmp_path, toy_info, toy_meta
):
    folder = tmp_path / "op"
    long_name = "v" * 236  # with _000000000000_keypoints.json, 264 bytes: more than the 255 a name may have
    (tmp_path / "k.csv").write_text("an earlier run's\n")
    (tmp_path / f"{long_name}.avi").write_bytes(b"")
    options = SinkOptions(csv=tmp_path / "k.csv", openpose_dir=folder)
    with pytest.raises(WLitePoseError, match=f"cannot write OpenPose frames in .*op: .*{long_name[:40]}… \\(264 bytes"):
        plan_outputs([str(tmp_path / f"{long_name}.avi")], options, ())
    # an image of 249 characters is a file; its frame file would not be (260)
    for meta in (
        {**toy_meta, "name": long_name},
        {**toy_meta, "name": "x", "frame_files": ["w" * 245 + ".jpg", "b.jpg"]},
    ):
        with pytest.raises(WLitePoseError, match="give the source a shorter name"):
            open_sinks(options, toy_info, meta)
    (folder / ".wlitepose").mkdir(parents=True)  # an earlier image folder run's: the name of a frame list there, too
    # long as well, cannot even be looked up
    with pytest.raises(WLitePoseError, match="give the source a shorter name"):
        plan_outputs([str(tmp_path / f"{long_name}.avi")], options, ())
    assert (tmp_path / "k.csv").read_text() == "an earlier run's\n"


def test_a_long_folder_name_is_fine_for_openpose_frames_named_after_its_images(tmp_path, toy_info, toy_meta):
    folder = tmp_path / ("d" * 230)  # its frames are a_keypoints.json; a numbered frame's name would not fit
    folder.mkdir()
    cv2.imwrite(str(folder / "a.png"), np.zeros((8, 8, 3), np.uint8))
    options = SinkOptions(openpose_dir=tmp_path / "op")
    assert plan_outputs([str(folder)], options, ())
    meta = {**toy_meta, "name": folder.name, "frame_files": ["a.png"]}
    with open_sinks(options, toy_info, meta) as sinks:
        sinks.write(0, 0.0, Poses.empty(3))
    assert (tmp_path / "op" / "a_keypoints.json").is_file()
