"""A recording's take claims its first file before it starts, and never over an existing one."""

from __future__ import annotations

from app.output_files import claim_take, holds_data
from core.output_lock import LOCK_SUFFIX
from core.sinks import SinkOptions


def test_a_take_claimed_twice_gets_its_name_once_and_an_existing_file_is_kept(tmp_path):
    options = SinkOptions(csv=str(tmp_path / "clip_live.csv"), video=str(tmp_path / "clip_live_annotated.mp4"))
    assert claim_take(options) and (tmp_path / "clip_live.csv").stat().st_size == 0
    (tmp_path / "clip_live.csv").write_text("frame,time_s\n0,0.0\n")  # the first take's rows, written meanwhile
    assert not claim_take(options)  # another window: the next name, never this file emptied
    assert (tmp_path / "clip_live.csv").read_text() == "frame,time_s\n0,0.0\n"


def test_a_take_of_an_openpose_folder_alone_is_claimed_once(tmp_path):
    """Two windows recording the same source at the same moment wrote their frames into one folder."""
    options = SinkOptions(openpose_dir=str(tmp_path / "clip_live_openpose"))
    assert claim_take(options) and (tmp_path / "clip_live_openpose").is_dir()
    assert not claim_take(options)


def test_a_take_whose_folder_is_a_file_is_left_for_the_recording_to_refuse(tmp_path):
    """Refused here, every next take's name was refused alike: the window looked for a free one for ever."""
    (tmp_path / "out").write_text("not a folder")
    assert claim_take(SinkOptions(csv=str(tmp_path / "out" / "clip_live.csv")))
    assert claim_take(SinkOptions(openpose_dir=str(tmp_path / "out" / "clip_live_openpose")))
    assert (tmp_path / "out").read_text() == "not a folder"


def test_a_name_too_long_to_look_at_holds_no_earlier_export(tmp_path):
    """Its error ended the Record button's press in a traceback: writing it says what is wrong with the name."""
    assert not holds_data(tmp_path / ("z" * 300) / "clip_live.csv")


def test_an_openpose_folder_holding_only_a_killed_runs_lock_holds_no_earlier_export(tmp_path):
    folder = tmp_path / "clip_openpose"
    folder.mkdir()
    (folder / f".frames{LOCK_SUFFIX}").write_text("")
    assert not holds_data(folder)
    (folder / "clip_000000000000_keypoints.json").write_text("{}")
    assert holds_data(folder)
