"""The export panel on its own (no model, no source): its folder, its progress and time left, a batch's
file line, and the record button.
"""

from __future__ import annotations

import pytest

from app.export_job import ExportJob, ExportOutcome, ExportRequest
from app.export_panel import ExportPanel
from core.draw import Overlay
from core.pipeline import tuned_config
from core.sinks import SinkOptions


def test_the_export_progress_says_the_frames_done_of_the_total_and_the_time_left(qtbot):
    panel = ExportPanel()
    qtbot.addWidget(panel)
    panel.show_progress(30, 120, 10.0)
    assert panel.eta.full_text() == "30/120 frames · 10.0 fps · ETA 0:09"
    assert (panel.progress.value(), panel.progress.maximum()) == (30, 120)
    panel.show_progress(130, 120, 10.0)  # past a guessed frame count (an MKV's): full, not stuck where it was
    assert panel.progress.value() == 120


def test_an_empty_export_folder_is_the_working_folder_named_in_full(qtbot, tmp_path, monkeypatch):
    """The export's message names where its files went, not "."."""
    monkeypatch.chdir(tmp_path)
    panel = ExportPanel()
    qtbot.addWidget(panel)
    panel.set_formats(("csv",))
    assert panel.folder_path() == tmp_path
    assert panel.sink_options("clip").csv == str(tmp_path / "clip.csv")


def test_the_export_folder_box_names_the_whole_folder_in_its_tooltip(qtbot, tmp_path, monkeypatch):
    """A long folder, or the working folder an empty box stands for, was cut at the box's edge, and nothing showed
    it whole."""
    monkeypatch.chdir(tmp_path)
    panel = ExportPanel()
    qtbot.addWidget(panel)
    panel.show()
    assert panel.folder.toolTip() == str(tmp_path)
    deep = tmp_path.joinpath(*(f"exports_of_the_north_entrance_camera_{i}" for i in range(6)))
    panel.folder.setText(str(deep))
    assert panel.folder.fontMetrics().horizontalAdvance(str(deep)) > panel.folder.width()  # cut in the box
    assert panel.folder.toolTip() == str(deep)


def test_typing_a_folder_after_the_working_folder_was_deleted_is_no_error(qtbot, tmp_path, monkeypatch):
    """The tooltip asked for the working folder at every key typed: each was an error once it was deleted."""
    panel = ExportPanel()
    qtbot.addWidget(panel)
    (tmp_path / "gone").mkdir()
    monkeypatch.chdir(tmp_path / "gone")
    (tmp_path / "gone").rmdir()
    panel.folder.setText("exports")
    assert panel.folder.toolTip() == "exports"


def test_an_export_folder_pasted_with_blanks_around_it_is_the_folder_pasted(qtbot, tmp_path, monkeypatch):
    """Blanks alone are the working folder, and a path pasted with a space or a tab at an end is that path, not a
    folder named " /path\t" made inside the working folder."""
    monkeypatch.chdir(tmp_path)
    panel = ExportPanel()
    qtbot.addWidget(panel)
    panel.folder.setText("   ")
    assert panel.folder_path() == tmp_path
    panel.folder.setText(f" {tmp_path / 'poses'}\t")
    assert panel.folder_path() == tmp_path / "poses"


def test_an_export_asked_for_while_one_runs_is_refused_and_the_running_one_kept(qtbot):
    panel = ExportPanel()
    qtbot.addWidget(panel)
    said = []
    panel.failed.connect(said.append)
    request = ExportRequest(jobs=(), model="model.onnx", config=tuned_config(), overlay=Overlay())
    running = panel.job = ExportJob(request)  # an export under way (its thread is not needed to refuse another)
    assert panel.refuse_if_busy()
    panel.start_export(request)
    assert panel.job is running and panel._thread is None
    assert said == ["An export is already running; cancel it first."] * 2


def test_an_export_that_fails_says_so_beside_a_bar_short_of_full_and_the_next_one_can_start(qtbot, tmp_path):
    panel = ExportPanel()
    qtbot.addWidget(panel)
    jobs = ((str(tmp_path / "clip.mp4"), SinkOptions(csv=str(tmp_path / "clip.csv"))),)
    missing = str(tmp_path / "missing.onnx")  # the model does not load: the export fails before its first frame
    alarms, passing = [], []
    panel.failed.connect(alarms.append)  # a dialog, which stays until read
    panel.message.connect(passing.append)  # the status line, which fades
    panel.start_export(ExportRequest(jobs=jobs, model=missing, config=tuned_config(), overlay=Overlay()))
    assert panel.batch_file.isHidden()  # one file: no "clip.mp4 (1/1)" line
    qtbot.waitUntil(lambda: panel.job is None, timeout=10000)
    assert panel.eta.text() == "export failed" and len(alarms) == 1 and passing == []
    assert panel.progress.value() < panel.progress.maximum()
    assert panel.export_button.isEnabled() and panel.batch_button.isEnabled() and not panel.cancel_button.isEnabled()


def test_a_batch_names_its_first_file_as_1_of_its_count_as_soon_as_it_starts(qtbot, tmp_path):
    panel = ExportPanel()
    qtbot.addWidget(panel)
    jobs = tuple((str(tmp_path / f"{stem}.mp4"), SinkOptions(csv=str(tmp_path / f"{stem}.csv"))) for stem in "ab")
    missing = str(tmp_path / "missing.onnx")  # fails at once: the line read is the panel's own, not the job's
    panel.start_export(ExportRequest(jobs=jobs, model=missing, config=tuned_config(), overlay=Overlay()))
    line = panel.batch_file.full_text()
    qtbot.waitUntil(lambda: panel.job is None, timeout=10000)
    assert line == "a.mp4 (1/2)"


def test_a_batch_tells_its_time_left_under_the_files_from_its_start_to_its_end(qtbot, tmp_path):
    """The file's ETA was all a batch told; the batch's line shows at once (a line shown later pushed the ETA out
    of sight) and goes with the batch."""
    panel = ExportPanel()
    qtbot.addWidget(panel)
    jobs = tuple((str(tmp_path / f"{stem}.mp4"), SinkOptions(csv=str(tmp_path / f"{stem}.csv"))) for stem in "ab")
    missing = str(tmp_path / "missing.onnx")  # fails at once: the line read is the panel's own, then the job's
    panel.start_export(ExportRequest(jobs=jobs, model=missing, config=tuned_config(), overlay=Overlay()))
    first, shown = panel.batch_left.full_text(), panel.batch_left.isVisibleTo(panel)
    panel.job.batch_progress.emit("41,200 frames left, about 0:34:20")
    told = panel.batch_left.full_text()
    qtbot.waitUntil(lambda: panel.job is None, timeout=10000)
    assert shown and first == "batch: counting its frames…" and told == "batch: 41,200 frames left, about 0:34:20"
    assert panel.batch_left.isHidden()


def test_an_export_folder_starting_with_a_tilde_is_in_the_home_folder(qtbot, tmp_path, monkeypatch):
    """ "~/stills" is the user's home folder, as a shell reads it, not a folder named "~" in the working folder."""
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.chdir(tmp_path)
    panel = ExportPanel()
    qtbot.addWidget(panel)
    panel.folder.setText("~/stills")
    assert panel.folder_path() == tmp_path / "home" / "stills"


def test_the_record_button_shown_as_recording_starts_no_second_recording(qtbot):
    """The worker saying a recording started (or ended) only sets the button: a double click on Record whose
    answers come after it once started a take for each answer, leaving empty files behind."""
    panel = ExportPanel()
    qtbot.addWidget(panel)
    asked = []
    panel.record_toggled.connect(asked.append)
    panel.set_recording(True)
    assert panel.record_button.isChecked() and panel.record_button.text() == "■ Stop"
    panel.set_recording(False)
    assert not panel.record_button.isChecked() and panel.record_button.text() == "● Record"
    assert asked == []


def test_a_second_export_starts_from_an_empty_bar_not_the_last_ones_full_one(qtbot, tmp_path):
    panel = ExportPanel()
    qtbot.addWidget(panel)
    panel.show_progress(120, 120, 10.0)  # an export that ran to its end
    assert panel.progress.value() == panel.progress.maximum()
    panel.set_exporting(True)
    assert panel.progress.value() < panel.progress.maximum() and panel.eta.full_text() == "starting…"


def test_a_cancelled_folder_dialog_keeps_the_export_folder_chosen_before(qtbot, tmp_path, monkeypatch):
    from PySide6.QtWidgets import QFileDialog, QPushButton

    panel = ExportPanel()
    qtbot.addWidget(panel)
    browse = next(b for b in panel.findChildren(QPushButton) if b.accessibleName() == "Choose the export folder")
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", lambda *args: str(tmp_path / "chosen"))
    browse.click()
    assert panel.folder_path() == tmp_path / "chosen"
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", lambda *args: "")  # the dialog cancelled
    browse.click()
    assert panel.folder_path() == tmp_path / "chosen"


@pytest.mark.parametrize("ended", [dict(cancelled=True), dict(failed=["clip.mjpeg: the disk is full"])])
def test_an_export_of_unknown_length_ended_early_leaves_no_busy_bar_running(qtbot, ended):
    """A file whose frame count is unknown gets a busy bar while it runs; cancelled or failed, the bar stops
    short of full rather than going on as if the export still ran."""
    panel = ExportPanel()
    qtbot.addWidget(panel)
    panel.show_progress(12, None, 6.0)
    assert panel.progress.maximum() == 0  # busy
    panel._finished(ExportOutcome(count=1, frames=12, **ended))
    assert panel.progress.maximum() > 0 and panel.progress.value() < panel.progress.maximum()
