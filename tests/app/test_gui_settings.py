"""The window's settings: what a user chose comes back at the next start, hand-edited or unwritable
settings and a model gone since fall back in a sentence, and two windows keep each other's choices.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import QSettings

from app import settings as app_settings
from app.main_window import MainWindow
from core.tracker import TrackerConfig


def test_settings_are_remembered(qtbot, model_path):
    first = MainWindow(QSettings(), cameras=[])
    qtbot.addWidget(first)
    first.controls.detection.slider.setValue(37)
    first.controls.trails.setChecked(False)
    first.transport.keep_pace.setChecked(False)
    first.close()
    second = MainWindow(QSettings(), cameras=[])
    qtbot.addWidget(second)
    assert second.controls.detection.value() == pytest.approx(0.37)
    assert not second.controls.trails.isChecked()
    assert not second.transport.keep_pace.isChecked()
    # and the worker plays every frame as the box says: it kept pace, skipping frames, until the box was touched
    qtbot.waitUntil(lambda: not second.handle.worker._keep_pace, timeout=5000)
    second.close()


def test_new_tracks_at_cuts_unticked_reaches_the_worker_and_stays_unticked_at_the_next_start(qtbot):
    first = MainWindow(QSettings(), cameras=[])
    qtbot.addWidget(first)
    assert first.controls.shot_changes.isChecked()  # a first start: on, as in `track`
    first.controls.shot_changes.click()
    worker = first.handle.worker  # told in its thread: the config it was sent, from a model's load on
    qtbot.waitUntil(lambda: worker._config is not None and worker._config.tracker.shot_changes is False, timeout=5000)
    first.close()
    second = MainWindow(QSettings(), cameras=[])
    qtbot.addWidget(second)
    assert not second.controls.shot_changes.isChecked() and second.controls.shot_changes.isEnabled()
    assert app_settings.pipeline_config(second.settings).tracker.shot_changes is False  # what a model loads with
    second.close()


def test_a_stream_address_opened_is_offered_again_at_the_next_start(qtbot, open_window):
    url = "rtsp://127.0.0.1:1/live"  # nothing answers there: refused, but the address typed is kept
    first = open_window()
    first.open_source(url)
    qtbot.waitUntil(lambda: url in first.last_error, timeout=20000)
    first.close()
    assert open_window().source_bar.url_edit.text() == url


def test_a_stream_address_with_a_password_is_not_kept_for_the_next_start(qtbot, open_window):
    url = "rtsp://admin:secret@127.0.0.1:1/live"
    first = open_window()
    first.open_source(url)
    qtbot.waitUntil(lambda: "127.0.0.1" in first.last_error, timeout=20000)
    ini = first.store.fileName()
    first.close()
    assert open_window().source_bar.url_edit.text() == ""
    assert "secret" not in Path(ini).read_text()


def test_the_export_formats_ticked_are_remembered(qtbot):
    first = MainWindow(QSettings(), cameras=[])
    qtbot.addWidget(first)
    first.export_panel.set_formats(("coco_json", "video"))
    first.close()
    second = MainWindow(QSettings(), cameras=[])
    qtbot.addWidget(second)
    assert second.export_panel.formats() == ("coco_json", "video")
    second.close()


def test_hand_edited_settings_and_a_deleted_model_fall_back_to_defaults(qtbot, monkeypatch, tmp_path, model_path):
    import app.settings

    monkeypatch.setattr(app.settings, "DEFAULT_MODEL", model_path)  # the untrained test model stands in
    ini = tmp_path / "wlitepose.ini"
    gone = tmp_path / "gone.onnx"
    ini.write_text(f"[General]\ngeometry=garbage\ndetection_threshold=nan\nsmoothing=inf\nmodel={gone}\n")
    w = MainWindow(QSettings(str(ini), QSettings.Format.IniFormat), cameras=[])
    qtbot.addWidget(w)
    assert w.controls.detection.value() == pytest.approx(0.15) and w.controls.smoothing.value() == pytest.approx(0.5)
    w.load_model(w.settings.model)
    qtbot.waitUntil(lambda: w.model_path == str(model_path), timeout=30000)
    assert "no longer exists: using the bundled model" in w.statusBar().currentMessage()
    w.close()
    assert str(gone) not in ini.read_text()  # not saved again for the next start


def test_two_windows_of_a_first_start_keep_each_others_settings(qtbot, tmp_path):
    """With no settings file at its start, the window closed last wrote every field, undoing what another
    window (another process) had saved meanwhile."""
    ini = tmp_path / "shared.ini"
    window = MainWindow(QSettings(str(ini), QSettings.Format.IniFormat), cameras=[])
    qtbot.addWidget(window)
    ini.write_text("[settings2]\ndetection_threshold=0.42\nversion=1\n")  # the other window, closed first
    window.controls.mirror.setChecked(True)
    window.close()
    again = MainWindow(QSettings(str(ini), QSettings.Format.IniFormat), cameras=[])
    qtbot.addWidget(again)
    assert again.controls.detection.value() == pytest.approx(0.42) and again.controls.mirror.isChecked()
    again.close()


def test_defaults_an_earlier_release_stored_give_way_to_todays(qtbot, tmp_path):
    """Earlier releases stored every field at close, defaults included: a window upgraded from one kept their
    detection 0.1 and keypoint 0.1 for good (886 rows and 29 IDs on the sample clip against track's 684 and 21)."""
    ini = tmp_path / "old.ini"
    ini.write_text("[General]\ndetection_threshold=0.1\nkeypoint_threshold=0.1\nsmoothing=0.5\nboxes=true\n")
    window = MainWindow(QSettings(str(ini), QSettings.Format.IniFormat), cameras=[])
    qtbot.addWidget(window)
    assert window.controls.detection.value() == pytest.approx(0.15)
    assert window.controls.keypoint.value() == pytest.approx(0.2)
    assert window.controls.boxes.isChecked()  # a choice: kept
    window.controls.smoothing.slider.setValue(70)
    window.close()
    stored = QSettings(str(ini), QSettings.Format.IniFormat)
    assert stored.value("settings2/smoothing") is not None and stored.value("settings2/boxes") is not None
    assert stored.value("settings2/detection_threshold") is None and stored.value("detection_threshold") is None
    # an earlier release still open writes every field back at its close: outside this version's group
    stored.setValue("detection_threshold", 0.1)
    stored.sync()
    again = MainWindow(stored, cameras=[])
    qtbot.addWidget(again)
    assert again.controls.detection.value() == pytest.approx(0.15) and again.controls.boxes.isChecked()
    again.controls.detection.slider.setValue(10)  # chosen now: a former default, kept as the user's
    again.close()
    chosen = MainWindow(QSettings(str(ini), QSettings.Format.IniFormat), cameras=[])
    qtbot.addWidget(chosen)
    assert chosen.controls.detection.value() == pytest.approx(0.1)
    chosen.close()
    again = MainWindow(QSettings(str(ini), QSettings.Format.IniFormat), cameras=[])
    qtbot.addWidget(again)
    again.controls.smoothing.slider.setValue(round(TrackerConfig().smoothing * 100))  # back to the default
    again.close()
    assert QSettings(str(ini), QSettings.Format.IniFormat).value("settings2/smoothing") is None  # follows the default


def test_a_remembered_model_that_no_longer_loads_gives_way_to_the_bundled_one(qtbot, monkeypatch, tmp_path, model_path):
    """Before, the app stayed without a model (and said so on every start, the bad path saved again)."""
    import app.settings

    monkeypatch.setattr(app.settings, "DEFAULT_MODEL", model_path)
    broken = tmp_path / "mine.onnx"
    broken.write_bytes(b"not a model")
    ini = tmp_path / "wlitepose.ini"
    ini.write_text(f"[General]\nmodel={broken}\n")
    w = MainWindow(QSettings(str(ini), QSettings.Format.IniFormat), cameras=[])
    qtbot.addWidget(w)
    w.load_model(w.settings.model)
    qtbot.waitUntil(lambda: w.model_path == str(model_path), timeout=30000)
    assert w.last_error.endswith(": using the bundled model.") and "mine.onnx" in w.last_error
    assert w.controls.model_box.currentData() == ""  # the box shows the model in use
    w.last_error = ""
    w.load_model(str(broken))  # picked while a model is loaded: that one stays, and the box says so
    qtbot.waitUntil(lambda: "mine.onnx" in w.last_error, timeout=30000)
    assert w.model_path == str(model_path) and w.controls.model_box.currentData() == ""
    w.close()
    assert str(broken) not in ini.read_text()  # not remembered for the next start


@pytest.mark.parametrize(
    "line",
    ["smoothing=1e10", "detection_threshold=-3e7", "keypoint_threshold=1e308", "input_size=99999999999999999999"],
)
def test_a_hand_edited_number_out_of_range_falls_back_to_its_default(qtbot, tmp_path, line):
    """Such a value stopped the app before its window opened, on every start (OverflowError in a slider)."""
    ini = tmp_path / "wlitepose.ini"
    ini.write_text(f"[General]\n{line}\ntracking=1\nkeep_pace=banana\nmirror=yes\n")
    w = MainWindow(QSettings(str(ini), QSettings.Format.IniFormat), cameras=[])
    qtbot.addWidget(w)
    defaults = app_settings.AppSettings()
    name = line.split("=")[0]
    assert getattr(w.settings, name) == getattr(defaults, name)
    assert (w.settings.tracking, w.settings.keep_pace, w.settings.mirror) == (True, True, True)  # 1, unreadable, yes
    w.close()


def test_settings_that_cannot_be_written_are_said_at_start_and_at_close(qtbot, tmp_path, capfd):
    """A read-only home or settings folder: the app's choices were lost at every close without a word."""
    (tmp_path / "file").write_text("")
    store = QSettings(str(tmp_path / "file" / "settings.ini"), QSettings.Format.IniFormat)  # a folder under a file
    w = MainWindow(store, cameras=[])
    qtbot.addWidget(w)
    assert w.statusBar().currentMessage() == f"Settings will not be kept: {store.fileName()} cannot be written"
    w.close()
    assert f"wlitepose: settings not kept: {store.fileName()} cannot be written" in capfd.readouterr().err


def test_recent_sources_come_back_at_the_next_start_without_a_password(open_window, tmp_path):
    """A stream's password is never written to the settings file for the Recent menu: a URL that carries one is
    not remembered (stripped of it, it would not open the stream)."""
    from app.frame_packet import SourceInfo

    video = tmp_path / "a.mp4"
    video.touch()
    first = open_window()
    for spec in (
        "rtsp://cam.local/live",
        str(video),
        "rtsp://admin:secret@cam.local/live",
        "http://cam.local/video?user=admin&pwd=secret",
    ):
        first.handle.worker.opened.emit(SourceInfo(spec, 25.0, (64, 48), None, "://" in spec))
    ini = first.store.fileName()
    first.close()
    again = open_window()
    assert [action.data() for action in again.source_bar.recent_button.menu().actions() if action.data()] == [
        str(video),
        "rtsp://cam.local/live",
    ]
    assert "secret" not in Path(ini).read_text()


def _recent_opened(w: MainWindow, spec) -> None:
    from app.frame_packet import SourceInfo

    w.handle.worker.opened.emit(SourceInfo(str(spec), 25.0, (64, 48), 8, False))


def test_a_source_opened_is_in_the_settings_file_at_once_and_one_cleared_is_not(open_window, tmp_path):
    """A crash loses none of the list; Clear list leaves no path of it in the file (rows past its new size were
    kept)."""
    video = tmp_path / "private.mp4"
    video.touch()
    w = open_window()
    _recent_opened(w, video)
    ini = Path(w.store.fileName())
    assert str(video) in ini.read_text()
    w.source_bar.clear_recent_requested.emit()
    assert "private.mp4" not in ini.read_text()


def test_a_source_another_window_opened_since_stays_on_the_recent_list(open_window, tmp_path):
    """The settings file as another window's process left it (it kept its own list, read before this one's)."""
    import os

    first, other, second = (tmp_path / name for name in ("first.mp4", "other.mp4", "second.mp4"))
    for path in (first, other, second):
        path.touch()
    w = open_window()
    _recent_opened(w, first)
    ini = Path(w.store.fileName())
    ini.write_text(ini.read_text().replace("size=1", f"size=2\n2\\source={other}"))
    os.utime(ini, (ini.stat().st_atime, ini.stat().st_mtime + 10))  # written later, as the other process did
    _recent_opened(w, second)
    assert w.recent.entries() == [str(second), str(first), str(other)]


def test_recent_entries_hand_edited_into_another_type_are_passed_over(qtbot, tmp_path):
    ini = tmp_path / "wlitepose.ini"
    rows = [
        "size=4",
        "1\\source=a, b",
        "2\\source=@Variant(\\0\\0\\0\\x2\\0\\0\\0\\x5)",
        "3\\source=",
        f"4\\source={tmp_path}",
    ]
    ini.write_text("[recent]\n" + "\n".join(rows) + "\n")  # a list, a number, nothing, a folder
    w = MainWindow(QSettings(str(ini), QSettings.Format.IniFormat), cameras=[])
    qtbot.addWidget(w)
    assert [action.data() for action in w.source_bar.recent_button.menu().actions() if action.data()] == [str(tmp_path)]
    w.close()
