"""Recording from the window: a take's files and sidecar, the names takes claim, and a take refused in a
sentence with the button let up and no file left.

An untrained model scores people near chance, so tests that need poses set both thresholds
to 0: the decoder then returns its best (meaningless) candidates, which is enough to check
that real results reach the overlay, the dashboard and the sinks.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

from PySide6.QtCore import QSettings

from app.main_window import MainWindow
from app.output_files import holds_data


def refused_take(qtbot, w: MainWindow) -> str:
    """Record pressed and refused: what the window said, once the button has come up again."""
    w.last_error = ""
    w.export_panel.record_button.click()
    qtbot.waitUntil(lambda: w.last_error != "", timeout=20000)
    qtbot.waitUntil(lambda: not w.export_panel.record_button.isChecked(), timeout=10000)
    return w.last_error


def test_a_refused_recording_lets_the_record_button_up_and_leaves_no_file(qtbot, qapp, tmp_path):
    w = MainWindow(QSettings(), cameras=[])  # no source, no model
    qtbot.addWidget(w)
    w.export_panel.set_formats(("csv", "video"))
    w.export_panel.folder.setText(str(tmp_path / "out"))
    assert "before recording" in refused_take(qtbot, w)
    assert w.export_panel.record_button.text() == "● Record"
    assert not any((tmp_path / "out").iterdir())  # the take's claimed, empty CSV went with the refusal
    w.export_panel.set_formats(("openpose_dir",))  # a take of OpenPose frames only claims its folder
    refused_take(qtbot, w)
    assert not any((tmp_path / "out").iterdir())  # and the refusal removes it: the next take may have the name
    w.close()


def test_the_recording_mark_counts_frames_from_1_as_the_position_does():
    """Shown again after a step back, a recorded frame's mark named the last frame held, not the next to write."""
    from app.main_window import _rec_mark

    assert _rec_mark(True, resumes_at=6) == "● REC from frame 7  "  # index 6: frame 7 of the position's count
    assert _rec_mark(True) == "● REC  " and _rec_mark(False) == ""


def test_record_the_live_session_to_csv(qtbot, window, video, tmp_path, play, set_thresholds):
    set_thresholds(window, 0.0, 0.0)
    window.export_panel.set_formats(("csv",))
    window.export_panel.folder.setText(str(tmp_path))
    play(qtbot, window, video, frames=1)
    window.export_panel.record_button.click()
    qtbot.waitUntil(lambda: window.last_packet.recording, timeout=20000)
    start = window.frames_shown
    qtbot.waitUntil(lambda: window.frames_shown >= start + 3, timeout=20000)
    assert window.last_packet.timings_ms["write"] > 0  # the recording's time is a stage of its own
    window.dashboard.refresh()
    assert window.dashboard.values["write"].text().endswith(" ms")
    window.controls.detection.slider.setValue(50)  # moved while recording: the sidecar says from when
    qtbot.waitUntil(lambda: window.frames_shown >= start + 5, timeout=20000)
    window.export_panel.record_button.click()
    qtbot.waitUntil(lambda: window.statusBar().currentMessage().startswith("Recording saved: "), timeout=20000)
    assert window.statusBar().currentMessage().endswith(f" frames in {tmp_path}: vtest_live.csv, vtest_live.csv.json")
    rows = list(csv.reader((tmp_path / "vtest_live.csv").open()))
    assert rows[0][:3] == ["frame", "time_s", "track_id"]
    assert len(rows) > 3
    sidecar = json.loads((tmp_path / "vtest_live.csv.json").read_text())
    assert sidecar["settings"]["decode"]["detection_threshold"] == 0.0
    (change,) = sidecar["settings_changes"]
    assert change["settings"]["decode"]["detection_threshold"] == 0.5
    assert change["from_frame"] > int(rows[1][0])  # after the recording's first frame

    first = (tmp_path / "vtest_live.csv").read_bytes()
    window.export_panel.record_button.click()  # a second take: its own files, the first one kept
    qtbot.waitUntil(lambda: window.statusBar().currentMessage().endswith(": vtest_live_2.csv, vtest_live_2.csv.json"))
    start = window.frames_shown
    qtbot.waitUntil(lambda: window.frames_shown >= start + 2, timeout=20000)
    window.export_panel.record_button.click()
    qtbot.waitUntil(lambda: window.statusBar().currentMessage().startswith("Recording saved: "), timeout=20000)
    assert (tmp_path / "vtest_live.csv").read_bytes() == first
    assert json.loads((tmp_path / "vtest_live_2.csv.json").read_text())["frames_written"] >= 2


def test_exports_into_no_format_or_a_folder_that_is_a_file_are_refused_in_a_sentence(
    qtbot, window, write_clip, tmp_path, play
):
    """A recording into a folder that is a file froze the window: each take's name was refused in turn, for ever."""
    play(qtbot, window, write_clip(tmp_path / "vtest.avi", 2), frames=1)
    panel, out = window.export_panel, tmp_path / "out"
    panel.set_formats(())
    window.export_file()
    assert window.last_error == "Tick at least one export format."
    assert refused_take(qtbot, window) == "Tick at least one export format to record."
    out.write_text("not a folder")
    panel.set_formats(("csv",))
    panel.folder.setText(str(out))
    window.save_frame()
    assert window.last_error == f"Cannot write a still into {out}: it is not a folder."
    window.export_file()
    assert window.last_error == f"cannot write {out / 'vtest.csv'}: {out} is not a folder" and panel.job is None
    assert refused_take(qtbot, window) == f"cannot write {out / 'vtest_live.csv'}: {out} is not a folder"
    assert out.read_text() == "not a folder"


def test_a_recording_into_a_folder_name_too_long_is_refused_in_a_sentence(qtbot, window, write_clip, tmp_path, play):
    """Looking for the take's name, then for the claim to remove, raised: a traceback, the button left down."""
    play(qtbot, window, write_clip(tmp_path / "vtest.avi", 2), frames=1)
    out = tmp_path / ("z" * 300)
    window.export_panel.folder.setText(str(out))
    assert refused_take(qtbot, window) == f"cannot write {out / 'vtest_live.csv'}: File name too long"


def test_a_batch_never_writes_the_files_of_a_recording_nor_a_recording_those_of_a_batch(
    qtbot, window, write_clip, video, tmp_path, play
):
    """A file whose name ends in _live (concert_live.mp4 beside concert.mp4) has the outputs of concert.mp4's
    recording: one would have overwritten the other's CSV, rows of two sources interleaved."""
    one = write_clip(tmp_path / "one.avi", 40)
    named_like_a_take = write_clip(tmp_path / "one_live.avi", 2)
    window.export_panel.set_formats(("csv",))
    window.export_panel.folder.setText(str(tmp_path / "out"))
    play(qtbot, window, one, frames=1)
    window.export_panel.record_button.click()
    qtbot.waitUntil(lambda: window.statusBar().currentMessage().startswith("Recording to"), timeout=20000)
    window.export_files([str(named_like_a_take)])
    assert window.export_panel.job is None
    assert window.last_error.startswith("The recording running now writes one_live.csv, one_live.csv.json")
    window.export_panel.record_button.click()
    qtbot.waitUntil(lambda: not window.export_panel.record_button.isChecked(), timeout=20000)

    window.export_panel.folder.setText(str(tmp_path / "out2"))  # no take there yet
    window.export_files([str(video), str(named_like_a_take)])  # vtest.avi first: the batch runs a while
    assert window.export_panel.job is not None
    window.export_panel.record_button.click()
    qtbot.waitUntil(lambda: window.statusBar().currentMessage().startswith("Recording to"), timeout=20000)
    assert window.statusBar().currentMessage().endswith("one_live_2.csv, one_live_2.csv.json")
    window.export_panel.record_button.click()
    window.export_panel.cancel_button.click()
    qtbot.waitUntil(lambda: window.export_panel.job is None, timeout=60000)


def test_a_take_claims_its_name_at_once_so_a_second_window_takes_the_next(qtbot, window, video, tmp_path, play):
    """Two windows recording one source within a second both chose vtest_live.csv and wrote one CSV together."""
    window.export_panel.set_formats(("csv",))
    window.export_panel.folder.setText(str(tmp_path))
    play(qtbot, window, video, frames=1)
    window.export_panel.record_button.click()
    qtbot.waitUntil(lambda: window.last_packet.recording, timeout=20000)
    window.export_panel.record_button.click()
    qtbot.waitUntil(lambda: not window.export_panel.record_button.isChecked(), timeout=20000)
    first = tmp_path / "vtest_live.csv"
    assert first.is_file()
    claim = window.export_panel.recording_options
    assert Path(claim("vtest_live").csv).name == "vtest_live_2.csv"  # as another window would see it
    assert (tmp_path / "vtest_live_2.csv").is_file()  # created, empty
    assert Path(claim("vtest_live").csv).name == "vtest_live_3.csv"
    window.export_panel.set_formats(("openpose_dir",))  # a take of OpenPose frames only claims its folder
    take = claim("vtest_live")
    assert Path(take.openpose_dir).name == "vtest_live_4_openpose" and Path(take.openpose_dir).is_dir()
    assert Path(claim("vtest_live").openpose_dir).name == "vtest_live_5_openpose"
    left = tmp_path / "vtest_openpose"  # an export killed before its first frame: its lock, no frame
    left.mkdir()
    (left / ".vtest.openpose.wlitepose-lock").touch()
    assert not holds_data(left)  # no earlier export to ask about replacing


def test_a_new_take_is_named_past_every_format_an_earlier_take_wrote(window, tmp_path):
    """A CSV take, then a video-only take: both were <stem>_live, two recordings under one name."""
    window.export_panel.folder.setText(str(tmp_path))
    (tmp_path / "wlitepose_live.csv").write_text("frame\n")  # the first take (no source open: stem wlitepose)
    window.export_panel.set_formats(("video",))
    options = window.export_panel.recording_options("wlitepose_live")
    assert options.csv is None and options.video.endswith("wlitepose_live_2_annotated.mp4")


def test_releasing_a_takes_claims_removes_only_what_is_still_empty(tmp_path):
    """The names claimed for a take that never started go, but a file or folder something has written into since
    (another run given that name) is not the claim and stays."""
    from app.recording import release_claims
    from core.sinks import SinkOptions

    written, claimed = tmp_path / "take.csv", tmp_path / "take.csv.json"
    written.write_text("frame,person\n")
    claimed.touch()
    release_claims(SinkOptions(csv=written))
    assert [path.name for path in tmp_path.iterdir()] == ["take.csv"] and written.read_text() == "frame,person\n"
    folders = {name: tmp_path / name for name in ("empty_openpose", "used_openpose")}
    for folder in folders.values():
        folder.mkdir()
    (folders["used_openpose"] / "take_000000000000_keypoints.json").write_text("{}")
    for folder in folders.values():
        release_claims(SinkOptions(openpose_dir=folder))
    assert not folders["empty_openpose"].exists() and folders["used_openpose"].is_dir()


def test_a_saved_recordings_line_is_not_replaced_by_the_passing_notes_that_follow_it(open_window):
    """Where a take just went matters more than 'Opened …' said of the next file a moment later."""
    w = open_window()
    w.status.note("Opened /videos/first.avi")
    assert w.statusBar().currentMessage() == "Opened /videos/first.avi"  # nothing held: a note shows
    w.status.hold("Recording saved: 8 frames in /videos: take.csv, take.csv.json")
    w.status.note("Opened /videos/next.avi")
    assert w.statusBar().currentMessage() == "Recording saved: 8 frames in /videos: take.csv, take.csv.json"
