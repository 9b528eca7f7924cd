"""The whole window on a real video through the real pipeline (an untrained model, offscreen Qt): the
poses drawn and the picture painted, the work off the GUI thread, its size on a screen, and its end.

An untrained model scores people near chance, so tests that need poses set both thresholds
to 0: the decoder then returns its best (meaningless) candidates, which is enough to check
that real results reach the overlay, the dashboard and the sinks.
"""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import cv2
import numpy as np
from PySide6.QtCore import QSettings, QTimer

from app.main_window import MainWindow

SCREENSHOT = Path(os.environ.get("WLITEPOSE_SCREENSHOT", "/tmp/wlitepose_main.png"))
REPO = Path(__file__).resolve().parents[2]


def qimage_to_bgr(image) -> np.ndarray:
    image = image.convertToFormat(image.Format.Format_BGR888)
    array = np.frombuffer(image.constBits(), np.uint8).reshape(image.height(), image.bytesPerLine())
    return array[:, : image.width() * 3].reshape(image.height(), image.width(), 3).copy()


def read_frame(video: Path, index: int) -> np.ndarray:
    capture = cv2.VideoCapture(str(video))
    for _ in range(index + 1):
        ok, image = capture.read()
        assert ok
    capture.release()
    return image


def test_plays_a_real_video_and_draws_the_poses(qtbot, window, video, play, set_thresholds):
    set_thresholds(window, 0.0, 0.0)
    play(qtbot, window, video, frames=4)
    window.handle.set_playing(False)
    qtbot.waitUntil(lambda: not window.transport.play_button.isChecked())
    packet = window.last_packet
    assert packet.poses is not None and len(packet.poses) > 0
    assert np.isfinite(packet.poses.xy).any()
    drawn = qimage_to_bgr(packet.still())  # at the source's size (the view's: test_the_picture_is_drawn_at_the_size...)
    raw = read_frame(video, packet.index)
    assert drawn.shape == raw.shape
    changed = np.abs(drawn.astype(int) - raw.astype(int)).max(axis=2) > 40
    assert changed.sum() > 100  # skeleton lines and joints were drawn into the frame
    assert window.view.frames_painted > 0 or window.view.image() is packet.image
    window.dashboard.refresh()
    assert window.dashboard.values["inference"].text().endswith(" ms")
    assert window.dashboard.values["people"].text() == str(len(packet.poses))


def test_threshold_changes_apply_live_without_reopening(qtbot, window, video, play, set_thresholds):
    set_thresholds(window, 0.0, 0.0)
    play(qtbot, window, video, frames=2)
    qtbot.waitUntil(lambda: len(window.last_packet.poses) > 0, timeout=20000)
    # count frames shown, not indices (keep pace may skip some): the change lands after the current frame
    changed_at, shown = window.last_packet.index, window.frames_shown
    window.controls.detection.slider.setValue(100)  # as a user drags it to 1.00
    qtbot.waitUntil(lambda: window.frames_shown > shown + 2, timeout=20000)
    assert len(window.last_packet.poses) == 0
    changed_at, shown = window.last_packet.index, window.frames_shown
    window.controls.detection.slider.setValue(0)
    qtbot.waitUntil(lambda: window.frames_shown > shown + 2, timeout=20000)
    assert len(window.last_packet.poses) > 0
    assert window.last_packet.index > changed_at  # the same stream went on, never reopened


def test_a_control_that_does_nothing_now_looks_greyed_out(qtbot, window):
    """Nothing open: the transport's controls are off, and must not look as they do when they work."""
    transport = window.transport
    for widget in (transport.keep_pace, transport.speed_box, transport.forward_button):
        assert not widget.isEnabled()
        off = widget.grab().toImage()
        widget.setEnabled(True)
        on = widget.grab().toImage()
        widget.setEnabled(False)
        changed = sum(off.pixel(x, y) != on.pixel(x, y) for x in range(off.width()) for y in range(off.height()))
        assert changed > 0.02 * off.width() * off.height(), widget


def test_an_error_escaping_another_thread_is_shown_by_the_gui_thread(qtbot, qapp, window, monkeypatch):
    from app.application import _show_uncaught_errors

    monkeypatch.setattr(sys, "excepthook", sys.excepthook)  # put back after the test
    _show_uncaught_errors(window)
    error = IndexError("list index out of range")
    thread = threading.Thread(target=sys.excepthook, args=(IndexError, error, None))  # as a worker slot's would
    thread.start()
    thread.join()
    qtbot.waitUntil(lambda: window.last_error == "Unexpected IndexError: list index out of range", timeout=5000)
    assert window._error_box.thread() is qapp.thread() and window._error_box.isVisible()
    window._error_box.close()


def test_an_uncaught_error_keeps_its_traceback_on_stderr_beside_the_dialog(qtbot, window, monkeypatch, capsys):
    """The dialog gives one line; the traceback a bug report needs goes to the terminal."""
    from app.application import _show_uncaught_errors

    monkeypatch.setattr(sys, "excepthook", sys.excepthook)  # put back after the test
    _show_uncaught_errors(window)
    try:
        raise KeyError("missing_setting")
    except KeyError as error:
        sys.excepthook(KeyError, error, error.__traceback__)
    qtbot.waitUntil(lambda: window.last_error == "Unexpected KeyError: 'missing_setting'", timeout=5000)
    window._error_box.close()
    err = capsys.readouterr().err
    assert "Traceback (most recent call last)" in err and "KeyError: 'missing_setting'" in err


def test_the_network_runs_off_the_gui_thread_and_the_event_loop_keeps_turning(qtbot, window, video, monkeypatch, play):
    import threading

    from core.session import PoseModel

    threads = set()
    run = PoseModel.run

    def recording_run(self, blob):
        threads.add(threading.current_thread() is threading.main_thread())
        return run(self, blob)

    monkeypatch.setattr(PoseModel, "run", recording_run)
    window.transport.set_speed(0.0)  # Max: process as fast as possible
    play(qtbot, window, video, frames=1)
    ticks = []
    timer = QTimer()
    timer.timeout.connect(lambda: ticks.append(time.perf_counter()))
    timer.start(10)
    start, begun = window.frames_shown, time.perf_counter()
    # 2.5 s of the event loop and at least 5 frames, however long this machine takes for them
    qtbot.waitUntil(lambda: window.frames_shown - start >= 5 and time.perf_counter() - begun >= 2.5, timeout=60000)
    timer.stop()
    assert threads == {False}  # every inference ran in the worker thread
    # a frame's whole processing (~50-100 ms here) would show as a gap if it ran on the GUI thread;
    # the bound is loose so that a busy machine does not fail it
    gaps = np.diff(ticks) * 1000.0
    assert gaps.max() < 500.0, f"event loop blocked for {gaps.max():.0f} ms"


def test_screenshot_of_the_main_window_on_a_real_frame(qtbot, window, video, play, set_thresholds):
    """What users see: the bundled model at its default thresholds where it is installed, else the
    untrained model with both thresholds at 0 (its meaningless best candidates)."""
    from core.assets import DEFAULT_MODEL

    if DEFAULT_MODEL.is_file():
        window.load_model("")
        qtbot.waitUntil(lambda: window.model_path == str(DEFAULT_MODEL), timeout=30000)
    else:
        set_thresholds(window, 0.0, 0.0)
    window.controls.boxes.setChecked(True)
    play(qtbot, window, video, frames=40)
    window.transport.play_button.click()
    qtbot.waitUntil(lambda: not window.transport.play_button.isChecked())
    qtbot.wait(300)  # one dashboard refresh
    pixmap = window.grab()
    SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
    assert pixmap.save(str(SCREENSHOT))
    assert SCREENSHOT.stat().st_size > 10_000


def test_a_paused_frame_is_redrawn_regrouped_or_run_again_as_a_change_needs(qtbot, window, video, play, set_thresholds):
    set_thresholds(window, 0.0, 0.0)
    play(qtbot, window, video, frames=3)
    window.handle.set_playing(False)
    qtbot.waitUntil(lambda: not window.transport.play_button.isChecked())
    worker, before = window.handle.worker, window.last_packet
    runs, process = [], worker._pipeline.process
    worker._pipeline.process = lambda *args, **kwargs: runs.append(kwargs) or process(*args, **kwargs)
    trail_lengths = {track: len(points) for track, points in worker._trails.items()}

    window.controls.boxes.toggle()  # overlay only: the people found are drawn again, the network not run
    qtbot.waitUntil(lambda: window.last_packet is not before, timeout=20000)
    redrawn = window.last_packet
    assert runs == [] and redrawn.poses is before.poses and "inference" not in redrawn.timings_ms
    assert redrawn.index == before.index and redrawn.image != before.image

    window.controls.detection.slider.setValue(100)  # a threshold: the network's outputs grouped again
    qtbot.waitUntil(lambda: window.last_packet is not redrawn, timeout=20000)
    regrouped = window.last_packet
    assert runs == [] and len(regrouped.poses) == 0 and regrouped.index == before.index
    assert "grouping" in regrouped.timings_ms and "inference" not in regrouped.timings_ms
    assert {track: len(points) for track, points in worker._trails.items()} == trail_lengths  # no point twice

    window.controls.size_box.setCurrentIndex(window.controls.size_box.findData(192))  # the network must run
    qtbot.waitUntil(lambda: window.last_packet is not regrouped, timeout=20000)
    assert (
        runs == [{"again": True, "reuse_ids": True}] and "inference" in window.last_packet.timings_ms
    )  # the frame once more
    assert {track: len(points) for track, points in worker._trails.items()} == trail_lengths


def test_save_frame_writes_the_frame_on_screen_as_a_png(qtbot, window, video, tmp_path, play, set_thresholds):
    window.save_frame()  # nothing shown yet: said, not a crash
    assert "no frame to save" in window.statusBar().currentMessage()
    window.export_panel.folder.setText(str(tmp_path / "stills"))
    set_thresholds(window, 0.0, 0.0)
    play(qtbot, window, video, frames=2)
    window.handle.set_playing(False)
    qtbot.waitUntil(lambda: not window.transport.play_button.isChecked())
    shown = window.last_packet
    window.save_frame()
    window.save_frame()  # a second press before the first still is encoded gets a name of its own
    path = tmp_path / "stills" / f"vtest_frame{shown.index:06d}.png"
    second = path.with_name(f"{path.stem}_2.png")
    qtbot.waitUntil(lambda: window.statusBar().currentMessage() == f"Saved {second}", timeout=10000)
    for still in (path, second):
        assert (cv2.imread(str(still)) == qimage_to_bgr(shown.still())).all()  # the drawn frame, losslessly
    window.save_frame()
    window.close()  # closing waits for the still in flight
    width, height = window.source.size  # drawn at the source's size, not the smaller view's
    assert shown.image.width() < width and cv2.imread(str(path.with_name(f"{path.stem}_3.png"))).shape[:2] == (
        height,
        width,
    )


def test_at_150_percent_the_picture_drawn_at_the_views_size_is_painted_pixel_for_pixel():
    """Fitted to whole logical pixels, a picture drawn at the view's size in device pixels was painted half a pixel
    off at 150 % and 200 % (801x601: 1202x676 drawn into 1201.5x675), every pixel of it resampled, a 1-pixel
    checkerboard turned grey. The scale is set when Qt starts: another process."""
    code = """
import numpy as np
from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QImage
from PySide6.QtWidgets import QApplication
from app.pyside_fix import protect_singletons
protect_singletons()
application = QApplication([])
from app.frame_packet import to_qimage
from app.video_view import VideoView
view, rooms = VideoView(), []
view.resized.connect(rooms.append)
view.show()
for size in ((801, 601), (817, 460), (640, 640)):
    view.resize(*size)
    application.processEvents()
    fit = QSize(768, 576).scaled(QSize(*rooms[-1]), Qt.AspectRatioMode.KeepAspectRatio)
    y, x = np.mgrid[0 : fit.height(), 0 : fit.width()]
    view.show_image(to_qimage(np.dstack([np.where((x + y) % 2, 255, 0).astype(np.uint8)] * 3)))
    grey = view.grab().toImage().convertToFormat(QImage.Format.Format_Grayscale8)
    pixels = np.frombuffer(grey.constBits(), np.uint8).reshape(grey.height(), grey.bytesPerLine())
    assert view.devicePixelRatioF() == 1.5 and ((pixels > 40) & (pixels < 215)).sum() == 0, size
"""
    env = {**os.environ, "QT_SCALE_FACTOR": "1.5", "QT_QPA_PLATFORM": "offscreen"}
    subprocess.run([sys.executable, "-c", code], cwd=REPO, env=env, check=True, timeout=120)


def test_the_picture_is_drawn_at_the_size_the_view_shows_it(qtbot, window, video, play):
    """Drawn at the source's size and scaled into the view, a 4K video's tags were 9 px tall there, a 320x240
    webcam's blurred and blocky: now the worker draws it as large as the view shows it, pixel for pixel."""
    play(qtbot, window, video, frames=1)
    for size in ((1000, 700), (1600, 1000)):  # the video smaller, then larger, than its own size
        window.resize(*size)
        qtbot.waitUntil(lambda: window.view.image().size() == window.view.image_rect().size(), timeout=10000)
    assert window.view.image().width() > window.source.size[0]


def test_mirror_view_flips_the_picture_but_not_the_recording(qtbot, window, video, tmp_path, play, set_thresholds):
    set_thresholds(window, 1.0, 1.0)  # nobody drawn: the picture is the bare frame (drawing: tests/core)
    play(qtbot, window, video, frames=1)
    window.handle.set_playing(False)
    qtbot.waitUntil(lambda: not window.transport.play_button.isChecked())
    before = window.last_packet
    window.controls.mirror.setChecked(True)  # a paused frame shows the change at once
    qtbot.waitUntil(lambda: window.last_packet is not before, timeout=20000)
    raw = read_frame(video, before.index)
    assert (qimage_to_bgr(before.still()) == raw).all()  # drawn again at the source's size, as a still is
    assert (qimage_to_bgr(window.last_packet.still()) == raw[:, ::-1]).all()

    window.export_panel.set_formats(("video",))
    window.export_panel.folder.setText(str(tmp_path))
    window.export_panel.record_button.click()
    window.handle.set_playing(True)
    qtbot.waitUntil(lambda: window.last_packet.recording, timeout=20000)
    start = window.frames_shown
    qtbot.waitUntil(lambda: window.frames_shown >= start + 2, timeout=20000)
    assert (qimage_to_bgr(window.last_packet.still()) == read_frame(video, window.last_packet.index)[:, ::-1]).all()
    window.export_panel.record_button.click()
    qtbot.waitUntil(lambda: window.statusBar().currentMessage().startswith("Recording saved: "), timeout=20000)
    recorded = read_frame(tmp_path / "vtest_live_annotated.mp4", 0).astype(int)
    source = read_frame(video, before.index + 1).astype(int)  # where playing went on
    assert np.abs(recorded - source).mean() < np.abs(recorded - source[:, ::-1]).mean() / 2


def test_gui_subcommand_parses_without_loading_qt():
    code = (
        "import argparse, sys, app.cli; p = argparse.ArgumentParser(); app.cli.add_arguments('gui', p); "
        "a = p.parse_args(['clip.mp4', '--model', 'm.onnx']); "
        "assert (a.source, a.model) == ('clip.mp4', 'm.onnx'); assert 'PySide6' not in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], cwd=REPO, check=True)


def test_the_window_still_fits_a_full_hd_screen_at_200_percent_with_a_long_named_folder_open(
    qtbot, window, frames_folder, tmp_path, fits_full_hd_at_200_percent, play
):
    """An open folder adds its frame-rate box, and a source's name stood in full beside the stream field:
    a 90-letter name took the window 1,300 px wide, off a 960 px screen."""
    long_name = tmp_path / ("Crowd_survey_2024-06-14_north_entrance_camera_03_afternoon_session_part2_reviewed_" * 2)
    frames_folder.rename(long_name)
    play(qtbot, window, long_name, frames=1)
    assert window.transport.fps_box.isVisibleTo(window)
    assert fits_full_hd_at_200_percent(window.minimumSizeHint())
    assert window.source_bar.current.toolTip().startswith(long_name.name)  # the whole name, on hovering
    narrow = window.source_bar.current.text()
    assert "…" in narrow
    window.resize(2400, 900)  # a wide window gives the name the room it has (a cap kept it at 343 px)
    qtbot.waitUntil(lambda: len(window.source_bar.current.text()) > len(narrow) + 40, timeout=5000)


def test_a_recording_is_finished_when_the_app_quits_without_a_close(
    qtbot, window, video, tmp_path, play, collect_packets
):
    """A remote desktop dropped ends the event loop with no close: the process aborted on the running worker
    thread, the .mp4 unplayable, the sidecar at 0 frames and the settings unsaved."""
    from PySide6.QtCore import QCoreApplication

    window.export_panel.set_formats(("csv",))
    window.export_panel.folder.setText(str(tmp_path))
    play(qtbot, window, video, frames=1)
    window.export_panel.record_button.click()
    qtbot.waitUntil(lambda: window.last_packet.recording, timeout=20000)
    collect_packets(qtbot, window, 3)
    # what the application's quit runs (emitting aboutToQuit here would reach every other receiver of it too)
    assert QCoreApplication.instance().aboutToQuit.disconnect(window.shut_down)
    window.shut_down()
    assert not window.handle.worker_thread.isRunning()
    rows = list(csv.reader((tmp_path / "vtest_live.csv").open()))
    frames = {row[0] for row in rows[1:]}
    assert json.loads((tmp_path / "vtest_live.csv.json").read_text())["frames_written"] >= max(3, len(frames))


def test_no_frame_reaches_the_window_after_it_closes_while_playing_and_qt_warns_of_nothing(
    qtbot, window, video, qt_messages, play
):
    """The frame in the worker's hands as the window closed was shown after the close (its frame_ready was queued
    behind it); the worker ends in its own thread, so Qt says nothing of timers or objects of another thread."""
    play(qtbot, window, video, frames=3)
    window.close()
    shown = window.frames_shown
    qtbot.wait(500)  # what the worker sent before it ended is delivered now
    assert window.frames_shown == shown and not window.handle.worker_thread.isRunning()
    assert [text for text in qt_messages if "propagateSizeHints" not in text] == []  # the offscreen platform's


def test_the_window_leaves_room_for_its_title_bar_on_a_small_screen(qtbot, qapp):
    """Sized to the screen's room without its frame, the window's status bar fell below a 1280x720 screen."""
    from PySide6.QtWidgets import QStyle

    fresh = MainWindow(QSettings(), cameras=[])
    qtbot.addWidget(fresh)
    room = fresh.screen().availableGeometry()
    title_bar = fresh.style().pixelMetric(QStyle.PixelMetric.PM_TitleBarHeight)
    assert fresh.height() + title_bar <= room.height() and fresh.width() < room.width()
    fresh.close()
