"""The whole window on a real video through the real pipeline (an untrained model, offscreen Qt).

An untrained model scores people near chance, so tests that need poses set both thresholds
to 0: the decoder then returns its best (meaningless) candidates, which is enough to check
that real results reach the overlay, the dashboard and the sinks.
"""

from __future__ import annotations

import contextlib
import csv
import itertools
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import cv2
import numpy as np
import pytest
from PySide6.QtCore import QObject, QSettings, Qt, QTimer, Slot
from PySide6.QtWidgets import QApplication, QMessageBox

from app import settings as app_settings
from app.main_window import MainWindow
from app.output_files import holds_data
from core.tracker import TrackerConfig

REAL_QUESTION = QMessageBox.question  # before the suite's guard against unanswered questions replaces it
SCREENSHOT = Path(os.environ.get("WLITEPOSE_SCREENSHOT", "/tmp/wlitepose_main.png"))
REPO = Path(__file__).resolve().parents[2]


def set_thresholds(w: MainWindow, detection: float, keypoint: float) -> None:
    w.controls.detection.set_value(detection)
    w.controls.keypoint.set_value(keypoint)


def play(qtbot, w: MainWindow, source: Path, frames: int) -> None:
    start = w.frames_shown
    w.open_source(str(source))
    qtbot.waitUntil(lambda: w.frames_shown >= start + frames, timeout=30000)


class WorkerEcho(QObject):
    """The worker's Play/Pause answers as the GUI thread receives them: queued behind the frames the worker sent
    before it, so once it says it paused, the frame it had in hand has been shown (a pause pressed in the window
    unticks the button at once, while that frame may take the worker a second more on a loaded machine)."""

    def __init__(self, w: MainWindow) -> None:
        super().__init__(w)  # lives in the GUI thread: the worker's signal reaches it queued
        self.said: list[bool] = []
        w.handle.worker.playing_changed.connect(self.take)

    @Slot(bool)
    def take(self, playing: bool) -> None:
        self.said.append(playing)

    def wait_paused(self, qtbot) -> None:
        qtbot.waitUntil(lambda: self.said[-1:] == [False], timeout=20000)


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


def test_plays_a_real_video_and_draws_the_poses(qtbot, window, video):
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


def test_threshold_changes_apply_live_without_reopening(qtbot, window, video):
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


def test_transport_steps_and_seeks(qtbot, window, video):
    play(qtbot, window, video, frames=1)
    window.transport.play_button.click()  # pause
    qtbot.waitUntil(lambda: not window.transport.play_button.isChecked())
    window.handle.seek(100)
    qtbot.waitUntil(lambda: window.last_packet.index == 100, timeout=20000)
    qtbot.keyClick(window, " ")  # the shortcut users expect: space plays...
    qtbot.waitUntil(lambda: window.last_packet.index > 101, timeout=20000)
    echo = WorkerEcho(window)
    qtbot.keyClick(window, " ")  # ...and pauses
    assert not window.transport.play_button.isChecked()
    echo.wait_paused(qtbot)  # the last frame in flight has arrived
    index = window.last_packet.index
    window.handle.step(1)
    qtbot.waitUntil(lambda: window.last_packet.index == index + 1, timeout=20000)
    window.handle.step(-1)
    qtbot.waitUntil(lambda: window.last_packet.index == index, timeout=20000)
    assert window.transport.slider.value() == index
    qtbot.keyClick(window, Qt.Key.Key_End)  # the last frame, not the one before it
    qtbot.waitUntil(lambda: window.last_packet.index == window.source.frame_count - 1, timeout=20000)
    qtbot.keyClick(window, Qt.Key.Key_Left, Qt.KeyboardModifier.ShiftModifier)  # ten frames back
    qtbot.waitUntil(lambda: window.last_packet.index == window.source.frame_count - 11, timeout=20000)


def test_a_corrupt_file_is_an_error_message_not_a_crash(qtbot, window, video, tmp_path):
    broken = tmp_path / "broken.mp4"
    broken.write_bytes(b"\x00\x00\x00\x18ftypmp42" + os.urandom(4096))
    window.open_source(str(broken))
    qtbot.waitUntil(lambda: window.last_error != "", timeout=20000)
    assert window._error_box.isVisible() and window._error_box.text() == window.last_error
    window._error_box.close()
    play(qtbot, window, video, frames=2)  # still works afterwards


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


def test_play_with_nothing_open_says_what_to_open_first(qtbot, open_window, video):
    """No webcam and no sample clip: Play springs back, with a sentence that says why, not silently; pressed while a
    file opens, nothing is said against it."""
    w = open_window()
    w.transport.play_button.click()
    assert w.statusBar().currentMessage() == "Nothing to play: open a webcam, video, image folder or stream first"
    qtbot.waitUntil(lambda: not w.transport.play_button.isChecked())
    w.open_source(str(video))
    w.transport.play_button.click()  # before the worker has said it opened
    assert w.source is None and not w.statusBar().currentMessage().startswith("Nothing to play")


def test_looking_for_webcams_again_says_what_it_found(open_window, monkeypatch):
    """The look-again button with no webcam plugged in changed nothing on screen: nobody could tell it had looked."""
    from PySide6.QtWidgets import QPushButton

    import core.sources

    w = open_window()
    look_again = next(
        b for b in w.source_bar.findChildren(QPushButton) if b.accessibleName() == "Look for webcams again"
    )
    monkeypatch.setattr(core.sources, "list_cameras", list)
    look_again.click()
    assert w.statusBar().currentMessage() == "No webcam found: connect one and look again"
    monkeypatch.setattr(core.sources, "list_cameras", lambda: [0, 2])
    look_again.click()
    assert w.statusBar().currentMessage() == "Webcams found: 2" and w.source_bar.camera_box.isEnabled()


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


def test_a_source_that_fails_to_open_leaves_the_open_one_playing(qtbot, window, video, tmp_path):
    play(qtbot, window, video, frames=2)
    title = window.windowTitle()
    window.open_source(str(tmp_path / "missing.mp4"))
    qtbot.waitUntil(lambda: window.last_error != "", timeout=20000)
    assert "missing.mp4" in window.last_error
    assert window.source.spec == str(video) and window.windowTitle() == title
    assert not window._awaited  # the source playing on has its stalls said again
    start = window.frames_shown
    qtbot.waitUntil(lambda: window.frames_shown >= start + 2, timeout=20000)  # still playing
    assert window.transport.play_button.isChecked()


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


def test_without_a_model_the_hud_says_so_instead_of_counting_people(qtbot, qapp, write_clip, tmp_path):
    w = MainWindow(QSettings(), cameras=[])
    qtbot.addWidget(w)
    w.show()
    play(qtbot, w, write_clip(tmp_path / "clip.avi", 2), frames=2)
    assert "no model" in w.view._hud and "people" not in w.view._hud
    w.dashboard.refresh()
    assert w.dashboard.values["people"].text() == "–"
    w.close()


def test_each_frame_counted_as_shown_is_painted_and_its_end_to_end_time_ends_at_the_paint(
    qtbot, qapp, write_clip, tmp_path, monkeypatch
):
    """The view painted when the GUI thread was next idle: a frame that came before then (the thread busy plotting)
    replaced the one not yet painted, which the frame rate counted and 'dropped' did not (146 frames taken, 140
    painted); and end-to-end stopped before the paint (6 ms of 11 without a model, the view 1517x860)."""
    from app.video_view import VideoView

    painted, taken, checked = {}, [], []
    paint = VideoView.paintEvent

    def stamped_paint(view, event):
        paint(view, event)
        if view.image() is not None:
            painted.setdefault(view.image().cacheKey(), time.perf_counter())

    monkeypatch.setattr(VideoView, "paintEvent", stamped_paint)
    w = MainWindow(QSettings(), cameras=[])
    qtbot.addWidget(w)
    take, add_sample = w.handle.worker.take_packet, w.dashboard.add_sample

    def noted_take():
        taken.append(take())
        return taken[-1]

    def checked_sample(values):
        packet = taken[-1]
        if w.windowHandle().isExposed():  # on screen (offscreen Qt exposes a new window late): a paint is due at once
            ended_at = packet.started_at + values["end_to_end"] / 1000.0
            checked.append(ended_at >= painted.get(packet.image.cacheKey(), float("inf")))
        add_sample(values)

    monkeypatch.setattr(w.handle.worker, "take_packet", noted_take)
    monkeypatch.setattr(w.dashboard, "add_sample", checked_sample)
    w.show()
    play(qtbot, w, write_clip(tmp_path / "clip.avi", 4), frames=4)
    assert len(checked) >= 2 and all(checked)
    w.close()


def test_the_hud_says_when_a_file_plays_slower_than_real_time(qtbot, window, video):
    play(qtbot, window, video, frames=1)
    for _ in range(30):  # the 10 fps file shown at 4 frames a second
        window.meter.played(1, 0, 0.25, window.source.fps)
    assert abs(window.meter.play_speed - 0.4) < 0.01
    start = window.frames_shown
    qtbot.waitUntil(lambda: window.frames_shown > start, timeout=20000)
    # a real frame or two (10 a second) pull the estimate up from 0.4 only gradually
    assert "× real time" in window.view._hud
    window.handle.set_playing(False)
    qtbot.waitUntil(lambda: "× real time" not in window.view._hud, timeout=10000)  # a pause is not slow
    assert "fps" not in window.view._hud and "people" in window.view._hud  # nothing plays: no frame rate
    window.transport.speed_box.setCurrentIndex(3)  # 2×: shown at 1.5× real time is slow too
    window.handle.set_playing(True)
    qtbot.waitUntil(lambda: window.transport.play_button.isChecked(), timeout=10000)
    for _ in range(30):
        window.meter.played(1, 0, 1 / 15, window.source.fps)
    assert abs(window.meter.play_speed - 1.5) < 0.01
    start = window.frames_shown
    qtbot.waitUntil(lambda: window.frames_shown > start, timeout=20000)
    assert window.transport.speed == 2.0 and "× real time" in window.view._hud


@pytest.fixture
def held_inference(monkeypatch):
    """(hold, release): once ``hold`` is set, the next frame's inference waits until ``release`` is set (at the
    test's end at the latest: one that failed leaves no worker held)."""
    from core.session import PoseModel

    run, hold, release = PoseModel.run, threading.Event(), threading.Event()

    def held_run(self, blob):
        if hold.is_set():
            hold.clear()
            release.wait(20)
        return run(self, blob)

    monkeypatch.setattr(PoseModel, "run", held_run)
    yield hold, release
    release.set()


def test_a_stalled_source_is_said_rather_than_its_last_frame_rate_and_latency(
    qtbot, window, video, monkeypatch, held_inference
):
    """With no frame for 4 s (a stream that stalls), the HUD said '24.0 fps' and the dashboard 23.8 fps and
    54 ms end to end all along."""
    stall, release = held_inference  # released once the test has seen the stall said
    play(qtbot, window, video, frames=4)
    window.dashboard.refresh()
    assert window.dashboard.values["end_to_end"].text().endswith(" ms")
    stall.set()
    qtbot.waitUntil(lambda: "no new frame for " in window.view._hud, timeout=10000)
    assert "fps" not in window.view._hud
    assert window.dashboard.values["fps"].text() == window.dashboard.values["end_to_end"].text() == "–"
    release.set()
    start = window.frames_shown
    qtbot.waitUntil(lambda: window.frames_shown > start, timeout=10000)
    qtbot.waitUntil(lambda: "no new frame" not in window.view._hud, timeout=10000)
    window.dashboard.refresh()
    assert window.dashboard.values["end_to_end"].text().endswith(" ms")
    import app.worker
    from app.playback_meter import STALL_AFTER_S, STALL_FRAMES

    start = window.frames_shown
    qtbot.waitUntil(lambda: window.frames_shown > start + 3, timeout=30000)  # the pace of the file again
    # when a stall would be said at this machine's pace (1 s at 3 fps or more; later on a slower machine)
    said_after = max(STALL_AFTER_S, STALL_FRAMES / window.meter.fps)
    opening = app.worker.open_source  # a stream that takes seconds to connect: the old one is not stalled
    monkeypatch.setattr(app.worker, "open_source", lambda *args: time.sleep(2 * said_after + 0.5) or opening(*args))
    window.open_source(str(video))
    qtbot.wait(round(2000 * said_after))  # twice as long as a stall takes to be said, the source still opening
    assert "no new frame" not in window.view._hud


def test_a_pause_pressed_while_a_frame_is_overdue_is_said_at_once(qtbot, window, video, held_inference):
    """Paused while the worker was busy with a frame, the HUD said 'no new frame for 2 s' beside the play button
    until the worker answered."""
    stall, release = held_inference  # released once the test has paused
    play(qtbot, window, video, frames=2)
    stall.set()
    qtbot.waitUntil(lambda: "no new frame for " in window.view._hud, timeout=10000)
    window.transport.play_button.click()  # pause, the worker still stuck in the frame
    hud = window.view._hud
    release.set()
    assert "no new frame" not in hud and "people" in hud


def test_the_stall_watch_runs_only_while_it_plays(qtbot, window, video):
    """Its 250 ms timer ran from the window's start on, with nothing opened, a video paused or at its end: the app at
    rest woke four times a second to find nothing playing."""
    echo = WorkerEcho(window)
    assert not window._stall_watch.isActive()  # nothing opened
    play(qtbot, window, video, frames=2)
    assert window._stall_watch.isActive()
    window.transport.play_button.click()
    assert not window._stall_watch.isActive()  # paused at once
    echo.wait_paused(qtbot)
    assert not window._stall_watch.isActive()  # and still, once the worker said so
    window.transport.play_button.click()
    assert window._stall_watch.isActive()


def test_a_paused_frame_keeps_the_frame_rate_and_shows_the_recording_state_at_once(qtbot, window, video, tmp_path):
    set_thresholds(window, 0.0, 0.0)
    play(qtbot, window, video, frames=3)
    window.handle.set_playing(False)
    qtbot.waitUntil(lambda: not window.transport.play_button.isChecked())
    fps, samples = window.meter.fps, window.dashboard.samples
    for value in (0.1, 0.2, 0.3):  # each re-groups the paused frame
        shown = window.frames_shown
        window.controls.keypoint.set_value(value)
        qtbot.waitUntil(lambda shown=shown: window.frames_shown > shown, timeout=20000)
    assert window.meter.fps == fps and window.dashboard.samples == samples
    window.export_panel.set_formats(("csv",))
    window.export_panel.folder.setText(str(tmp_path))
    window.export_panel.record_button.click()
    qtbot.waitUntil(lambda: window.view._hud.startswith("● REC  "), timeout=10000)
    window.export_panel.record_button.click()
    qtbot.waitUntil(lambda: not window.view._hud.startswith("●"), timeout=10000)


def slow_down_inference(monkeypatch, seconds: float) -> None:
    from core.session import PoseModel

    run = PoseModel.run

    def slow_run(self, blob):
        time.sleep(seconds)
        return run(self, blob)

    monkeypatch.setattr(PoseModel, "run", slow_run)


def collect_packets(qtbot, w: MainWindow, count: int) -> list:
    seen = []

    def gather() -> bool:
        packet = w.last_packet
        if packet is not None and (not seen or seen[-1] is not packet):
            seen.append(packet)
        return len(seen) >= count

    qtbot.waitUntil(gather, timeout=30000)
    return seen


def test_the_recording_mark_counts_frames_from_1_as_the_position_does():
    """Shown again after a step back, a recorded frame's mark named the last frame held, not the next to write."""
    from app.main_window import _rec_mark

    assert _rec_mark(True, resumes_at=6) == "● REC from frame 7  "  # index 6: frame 7 of the position's count
    assert _rec_mark(True) == "● REC  " and _rec_mark(False) == ""


def test_keep_pace_skips_the_frames_a_slow_machine_cannot_show_in_time(qtbot, window, video, monkeypatch, tmp_path):
    slow_down_inference(monkeypatch, 0.3)  # three frame times of the 10 fps file for each frame
    assert window.transport.keep_pace.isChecked()  # on by default: a demo plays at its own speed
    window.open_source(str(video))
    paced = collect_packets(qtbot, window, 6)[1:]
    assert sum(p.skipped for p in paced) >= 4
    assert all(b.index - a.index == 1 + b.skipped for a, b in itertools.pairwise(paced))
    assert 0.6 < window.meter.play_speed < 1.5  # the skips count as played: about real time

    window.transport.keep_pace.setChecked(False)  # every frame, however slowly
    every = collect_packets(qtbot, window, 6)[2:]  # the change reaches the worker after its current frame
    assert [p.skipped for p in every] == [0] * 4
    assert [b.index - a.index for a, b in itertools.pairwise(every)] == [1, 1, 1]
    assert "× real time" in window.view._hud

    window.transport.keep_pace.setChecked(True)
    window.export_panel.set_formats(("csv",))
    window.export_panel.folder.setText(str(tmp_path))
    window.export_panel.record_button.click()  # a recording keeps every frame
    qtbot.waitUntil(lambda: window.last_packet.recording, timeout=20000)
    recorded = collect_packets(qtbot, window, 4)
    assert [p.skipped for p in recorded] == [0] * 4


def test_a_video_cut_short_says_so_when_it_ends(qtbot, window, write_clip, tmp_path):
    whole = write_clip(tmp_path / "whole.avi", 8)
    cut = tmp_path / "cut.avi"
    cut.write_bytes(whole.read_bytes()[: whole.stat().st_size * 2 // 5])
    window.open_source(str(cut))
    qtbot.waitUntil(lambda: window.last_error != "", timeout=20000)
    assert "ended after" in window.last_error and "of the 8 frames its header counts" in window.last_error


def test_the_network_runs_off_the_gui_thread_and_the_event_loop_keeps_turning(qtbot, window, video, monkeypatch):
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


def test_screenshot_of_the_main_window_on_a_real_frame(qtbot, window, video):
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


def test_a_stream_address_opened_is_offered_again_at_the_next_start(qtbot, open_window):
    url = "rtsp://127.0.0.1:1/live"  # nothing answers there: refused, but the address typed is kept
    first = open_window()
    first.open_source(url)
    qtbot.waitUntil(lambda: url in first.last_error, timeout=20000)
    first.close()
    assert open_window().source_bar.url_edit.text() == url


def test_a_name_too_long_to_be_a_path_is_refused_in_a_sentence(qtbot, open_window):
    w = open_window()
    w.open_source("a" * 300 + ".mp4")  # the window's look for the file raised "File name too long"
    qtbot.waitUntil(lambda: w.last_error != "", timeout=20000)
    assert "cannot be a file" in w.last_error and "\n" not in w.last_error
    assert w.settings.last_dir == "" and w.source is None


def test_a_source_and_a_model_whose_names_are_not_utf8_are_the_ones_opened(qtbot, open_window, model_path, tmp_path):
    """`wlitepose $'pics\\xff'` (a folder copied from an old archive) opened the folder pics beside it: the name
    went to the worker as a QString, which drops the bytes that are not UTF-8; a model so named was loaded, then
    exported with as another file."""
    try:
        folder = tmp_path / os.fsdecode(b"pics\xff")
        folder.mkdir()
        model = tmp_path / os.fsdecode(b"mod\xe8le.onnx")
        model.write_bytes(model_path.read_bytes())
    except (OSError, UnicodeError):
        pytest.skip("this file system takes only UTF-8 names")
    (tmp_path / "pics").mkdir()
    for name, images in ((folder, 1), (tmp_path / "pics", 3)):
        for n in range(images):
            cv2.imencode(".png", np.full((24, 32, 3), 90, np.uint8))[1].tofile(name / f"{n}.png")
    w = open_window()
    w.load_model(str(model))
    w.open_source(str(folder))
    qtbot.waitUntil(lambda: w.source is not None and w.model_path != "" or w.last_error != "", timeout=20000)
    assert w.last_error == "" and (w.source.spec, w.source.frame_count, w.model_path) == (str(folder), 1, str(model))


def test_the_export_formats_ticked_are_remembered(qtbot):
    first = MainWindow(QSettings(), cameras=[])
    qtbot.addWidget(first)
    first.export_panel.set_formats(("coco_json", "video"))
    first.close()
    second = MainWindow(QSettings(), cameras=[])
    qtbot.addWidget(second)
    assert second.export_panel.formats() == ("coco_json", "video")
    second.close()


def test_faster_at_the_fastest_speed_stays_there_and_slower_at_the_slowest_too(qtbot):
    """] past Max left the speed box blank (no speed: the next press raised) and then wrapped round to 0.25x."""
    w = MainWindow(QSettings(), cameras=[])
    qtbot.addWidget(w)
    w.transport.set_source(None, 30.0, True)  # a webcam: it plays as it comes, ] and [ change nothing
    w._faster()
    assert w.transport.speed == 1.0
    w.transport.set_source(120, 10.0, False, False)  # a file is open: its speed can change
    for change, text, speed in ((w._faster, "Max", 0.0), (w._slower, "0.25×", 0.25)):
        for _ in range(8):
            change()
        assert (w.transport.speed_box.currentText(), w.transport.speed) == (text, speed)
    w.close()


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


@pytest.mark.parametrize(
    ("name", "folder", "said"),
    [
        pytest.param("x.onnx", True, "model file {} is a folder; pass the .onnx file in it", id="folder"),
        pytest.param("m" * 300 + ".onnx", False, "cannot read model file {}: File name too long", id="name-too-long"),
    ],
)
def test_a_model_that_cannot_be_a_file_is_refused_in_a_sentence(
    qtbot, window, tmp_path, model_path, name, folder, said
):
    """A dropped folder x.onnx was "no longer exists", though it was there; the window's look for a name too long
    raised "File name too long": a settings file naming one stopped the start."""
    path = tmp_path / name
    if folder:
        path.mkdir()
    window.load_model(str(path))
    qtbot.waitUntil(lambda: window.last_error != "", timeout=30000)
    assert window.last_error == said.format(path)
    assert window.model_path == str(model_path)  # the model in use stays


def test_a_missing_bundled_model_is_explained(qtbot, monkeypatch, tmp_path):
    import app.settings

    monkeypatch.setattr(app.settings, "DEFAULT_MODEL", tmp_path / "absent.onnx")
    w = MainWindow(QSettings(), cameras=[])
    qtbot.addWidget(w)
    w.load_model("")
    assert "not installed" in w.controls.model_info.text()
    w.close()


def test_record_the_live_session_to_csv(qtbot, window, video, tmp_path):
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


def test_a_paused_frame_is_redrawn_regrouped_or_run_again_as_a_change_needs(qtbot, window, video):
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


def test_save_frame_writes_the_frame_on_screen_as_a_png(qtbot, window, video, tmp_path):
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


def test_the_picture_is_drawn_at_the_size_the_view_shows_it(qtbot, window, video):
    """Drawn at the source's size and scaled into the view, a 4K video's tags were 9 px tall there, a 320x240
    webcam's blurred and blocky: now the worker draws it as large as the view shows it, pixel for pixel."""
    play(qtbot, window, video, frames=1)
    for size in ((1000, 700), (1600, 1000)):  # the video smaller, then larger, than its own size
        window.resize(*size)
        qtbot.waitUntil(lambda: window.view.image().size() == window.view.image_rect().size(), timeout=10000)
    assert window.view.image().width() > window.source.size[0]


def test_an_export_asked_for_before_it_can_run_says_what_it_lacks(open_window, video):
    w = open_window()  # nothing open, no model
    w.export_file()
    assert w.last_error == "Open a video file or image folder to process it whole; record live sources instead."
    w.export_files([str(video)])
    assert w.last_error == "Load a model before exporting."
    assert w.export_panel.job is None


def test_exports_into_no_format_or_a_folder_that_is_a_file_are_refused_in_a_sentence(
    qtbot, window, write_clip, tmp_path
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


def test_a_recording_into_a_folder_name_too_long_is_refused_in_a_sentence(qtbot, window, write_clip, tmp_path):
    """Looking for the take's name, then for the claim to remove, raised: a traceback, the button left down."""
    play(qtbot, window, write_clip(tmp_path / "vtest.avi", 2), frames=1)
    out = tmp_path / ("z" * 300)
    window.export_panel.folder.setText(str(out))
    assert refused_take(qtbot, window) == f"cannot write {out / 'vtest_live.csv'}: File name too long"


def test_mirror_view_flips_the_picture_but_not_the_recording(qtbot, window, video, tmp_path):
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


@pytest.fixture
def frames_folder(video, tmp_path) -> Path:
    """The first frames of vtest.avi as lossless PNGs: a short real clip both runs read alike."""
    folder = tmp_path / "vtest_frames"
    folder.mkdir()
    capture = cv2.VideoCapture(str(video))
    for i in range(8):
        ok, image = capture.read()
        assert ok
        cv2.imwrite(str(folder / f"{i:04d}.png"), image)
    capture.release()
    return folder


def test_whole_file_export_writes_every_format_and_csv_matches_the_cli(qtbot, window, frames_folder, tmp_path):
    from main import main

    out = tmp_path / "gui"
    set_thresholds(window, 0.0, 0.0)
    window.export_panel.set_formats(("csv", "coco_json", "openpose_dir", "posec3d", "video"))
    window.export_panel.folder.setText(str(out))
    play(qtbot, window, frames_folder, frames=1)
    window.export_panel.export_button.click()
    window.export_panel.folder.setText(str(tmp_path / "next"))  # edited while it runs: the message names where it wrote
    qtbot.waitUntil(lambda: window.export_panel.job is None, timeout=60000)
    assert window.export_panel.eta.text() == "Exported 8 frames", window.last_error
    assert window.statusBar().currentMessage() == f"Exported 8 frames to {out}"
    stem = frames_folder.name
    for name in (f"{stem}.csv", f"{stem}_coco.json", f"{stem}_posec3d.pkl", f"{stem}_annotated.mp4"):
        assert (out / name).stat().st_size > 0, name
    assert any((out / f"{stem}_openpose").iterdir())

    cli_csv = tmp_path / "cli.csv"
    argv = ["track", str(frames_folder), "--model", window.model_path, "--csv", str(cli_csv)]
    argv += ["--detection-threshold", "0", "--keypoint-threshold", "0"]
    assert main(argv) == 0
    gui_rows = list(csv.reader((out / f"{stem}.csv").open()))
    cli_rows = list(csv.reader(cli_csv.open()))
    assert len(gui_rows) > 8  # a header and people on the frames (thresholds at 0)
    assert gui_rows == cli_rows
    gui_sidecar = json.loads((out / f"{stem}.csv.json").read_text())
    assert gui_sidecar["settings"] == json.loads(cli_csv.with_suffix(".csv.json").read_text())["settings"]


EARLIER = "an analyst's earlier export\n"


def _earlier_export(qtbot, window, frames_folder, out: Path) -> Path:
    """The window playing ``frames_folder`` with the CSV ticked and an earlier export of it in ``out``: that file."""
    out.mkdir(exist_ok=True)
    earlier = out / f"{frames_folder.name}.csv"
    earlier.write_text(EARLIER)
    window.export_panel.set_formats(("csv",))
    window.export_panel.folder.setText(str(out))
    play(qtbot, window, frames_folder, frames=1)
    return earlier


def test_an_export_over_earlier_files_asks_first(qtbot, window, frames_folder, tmp_path, monkeypatch):
    from PySide6.QtWidgets import QMessageBox

    earlier = _earlier_export(qtbot, window, frames_folder, tmp_path / "gui")
    asked = []

    def answer(reply):
        return lambda *args: asked.append(args[2]) or reply

    monkeypatch.setattr(QMessageBox, "question", answer(QMessageBox.StandardButton.No))
    window.export_panel.export_button.click()
    assert window.export_panel.job is None and earlier.read_text() == EARLIER
    assert f"{frames_folder.name}.csv already exists" in asked[0]
    monkeypatch.setattr(QMessageBox, "question", answer(QMessageBox.StandardButton.Yes))
    window.export_panel.export_button.click()
    qtbot.waitUntil(lambda: window.export_panel.job is None, timeout=60000)
    assert earlier.read_text().startswith("frame,time_s,track_id")
    window.export_panel.export_button.click()  # over the export just finished: one file, asked of as one
    qtbot.waitUntil(lambda: window.export_panel.job is None, timeout=60000)
    assert len(asked) == 3 and asked[2].endswith("already exist in the export folder. Replace them?")


def test_a_window_closed_while_it_asks_to_replace_starts_no_export(qtbot, window, frames_folder, tmp_path, monkeypatch):
    """Ctrl-C in the terminal closes the window under the question; a Yes given after started an export that
    nothing stopped: its thread ran on past the window, and the process ended mid-file with its locks left."""
    earlier = _earlier_export(qtbot, window, frames_folder, tmp_path / "gui")

    def closed_then_yes(*args):
        window.close()  # what the handler of a terminal's Ctrl-C does while the question waits
        return QMessageBox.StandardButton.Yes

    monkeypatch.setattr(QMessageBox, "question", closed_then_yes)
    window.export_panel.export_button.click()
    assert window.export_panel.job is None and earlier.read_text() == EARLIER


def test_a_cancelled_export_keeps_valid_files_of_the_frames_done(qtbot, window, video, tmp_path, monkeypatch):
    from PySide6.QtWidgets import QMessageBox

    window.export_panel.set_formats(("csv", "coco_json"))
    window.export_panel.folder.setText(str(tmp_path))
    play(qtbot, window, video, frames=1)
    window.handle.set_playing(False)
    window.export_panel.export_button.click()
    qtbot.waitUntil(lambda: window.export_panel.progress.value() > 0, timeout=60000)
    window.export_file()  # again while it runs: refused before asking to replace the files it is writing
    assert window.last_error == "An export is already running; cancel it first."
    asked = []
    monkeypatch.setattr(QMessageBox, "question", lambda *args: asked.append(args[2]) or QMessageBox.StandardButton.No)
    window.close()  # closing mid-export asks first; "No" keeps both open
    assert window.isVisible() and window.export_panel.job is not None and "An export is running" in asked[0]
    window.export_panel.cancel_button.click()
    qtbot.waitUntil(lambda: window.export_panel.job is None, timeout=60000)
    assert window.export_panel.eta.text().startswith("Export cancelled after"), window.export_panel.eta.text()
    done = json.loads((tmp_path / "vtest.csv.json").read_text())["frames_written"]
    assert 0 < done < 795
    assert f"after {done} frames" in window.export_panel.eta.text()
    assert isinstance(json.loads((tmp_path / "vtest_coco.json").read_text()), list)


def test_process_files_exports_each_file_under_its_own_name(qtbot, window, write_clip, tmp_path):
    clips = [write_clip(tmp_path / name, 3) for name in ("first.avi", "second.avi")]
    out = tmp_path / "out"
    window.export_panel.set_formats(("csv",))
    window.export_panel.folder.setText(str(out))
    window.export_files([str(c) for c in clips])
    qtbot.waitUntil(lambda: window.export_panel.job is None, timeout=60000)
    assert window.export_panel.eta.text() == "Exported 2 files, 6 frames", window.last_error
    assert window.settings.last_dir == str(tmp_path)  # the next "Process files" dialog opens where these were
    for clip in clips:
        sidecar = json.loads((out / f"{clip.stem}.csv.json").read_text())
        assert sidecar["frames_written"] == 3 and sidecar["source"] == str(clip)

    broken = tmp_path / "broken.avi"
    broken.write_bytes(b"not a video" * 100)
    window.export_panel.folder.setText(str(tmp_path / "again"))  # no earlier exports to ask about
    window.export_files([str(clips[0]), str(broken)])  # a failed file is named, the others are done
    qtbot.waitUntil(lambda: window.export_panel.job is None, timeout=60000)
    assert "1 of 2 files exported" in window.last_error and "failed: broken.avi" in window.last_error
    assert window.export_panel.eta.text() == "1 of 2 files exported, 3 frames"

    (tmp_path / "sub").mkdir()
    twin = write_clip(tmp_path / "sub" / "first.avi", 1)
    window.export_files([str(clips[0]), str(twin)])  # the same name twice: refused, nothing starts
    assert "both write" in window.last_error and window.export_panel.job is None


def test_a_batch_keeps_its_progress_line_in_view(qtbot, window, write_clip, tmp_path, held_inference):
    """At 1280x800 the batch's file line came after the scroll to the progress bar an export starts with, and
    pushed '2/40 frames · 6.1 fps · ETA 0:06' half out of sight below the panel. The window at its smallest has
    the line below the fold before the export, whatever the fonts (at 1280x800 here it was in view unscrolled:
    the test passed with no scroll at all)."""
    from PySide6.QtCore import QPoint

    hold, release = held_inference
    hold.set()
    clips = [write_clip(tmp_path / name, 2) for name in ("first.avi", "second.avi")]
    window.resize(window.minimumSizeHint())
    panel = window.export_panel
    panel.set_formats(("csv",))
    panel.folder.setText(str(tmp_path / "out"))
    viewport = window._side.viewport()
    qtbot.waitUntil(lambda: panel.eta.mapTo(viewport, QPoint(0, panel.eta.height())).y() > viewport.height())
    window.export_files([str(c) for c in clips])
    qtbot.waitUntil(lambda: panel.batch_file.isVisible(), timeout=10000)  # the first file held in its first frame
    try:  # the layouts' requests are posted: in view once they have run (out of view for good before the fix)
        qtbot.waitUntil(lambda: panel.eta.mapTo(viewport, QPoint(0, panel.eta.height())).y() <= viewport.height())
        line = panel.batch_file.text()
    finally:  # a failed wait lets the held export go on, so the window closes on a finished job
        release.set()
        qtbot.waitUntil(lambda: panel.job is None, timeout=60000)
    assert "(1/2)" in line


def test_a_batch_never_writes_the_files_of_a_recording_nor_a_recording_those_of_a_batch(
    qtbot, window, write_clip, video, tmp_path
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


def test_the_window_still_fits_a_full_hd_screen_at_200_percent_with_a_long_named_folder_open(
    qtbot, window, frames_folder, tmp_path, fits_full_hd_at_200_percent
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


def test_the_bundled_clip_shown_at_first_start_leaves_the_open_dialogs_where_they_were(qtbot, window):
    """Installed from a wheel, the first Open video… dialog opened inside site-packages/assets/samples."""
    from core.assets import SAMPLE_CLIP

    before = window.settings.last_dir
    play(qtbot, window, SAMPLE_CLIP, frames=1)
    assert window.settings.last_dir == before and window.source_bar.start_dir != str(SAMPLE_CLIP.parent)


def _drop(window, *paths) -> bool:
    """Files dragged from a file manager over the window and let go (or links, given as QUrl, from a browser);
    whether the window took them."""
    from PySide6.QtCore import QMimeData, QPoint, QPointF, QUrl
    from PySide6.QtGui import QDragEnterEvent, QDropEvent

    mime = QMimeData()
    mime.setUrls([path if isinstance(path, QUrl) else QUrl.fromLocalFile(str(path)) for path in paths])
    # a QPoint, as Qt declares it (PySide6 before 6.12 takes no QPointF there)
    enter = QDragEnterEvent(QPoint(100, 100), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton, Qt.NoModifier)
    QApplication.sendEvent(window, enter)
    if not (window.acceptDrops() and enter.isAccepted()):
        return False
    drop = QDropEvent(QPointF(100, 100), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton, Qt.NoModifier)
    QApplication.sendEvent(window, drop)
    return drop.isAccepted()


def test_a_video_or_a_model_dropped_on_the_window_opens_or_loads(qtbot, window, write_clip, model_path, tmp_path):
    first, second = write_clip(tmp_path / "first.avi", 3), write_clip(tmp_path / "second.avi", 3)
    assert _drop(window, first, second)
    qtbot.waitUntil(lambda: window.source is not None and window.source.spec == str(first), timeout=20000)
    assert "2 items dropped: first.avi opened" in window.statusBar().currentMessage()
    other = shutil.copy(model_path, tmp_path / "other.onnx")
    assert _drop(window, other)
    qtbot.waitUntil(lambda: window.model_path == str(other), timeout=30000)


def test_stream_links_dropped_together_are_named_without_their_password(open_window, tmp_path):
    """The status line named the first of several dropped links by its last path part: a stream's address with
    no path showed its password there."""
    from PySide6.QtCore import QUrl

    w = open_window()
    assert _drop(w, QUrl("http://user:secret@127.0.0.1:9"), tmp_path / "second.avi")
    said = w.statusBar().currentMessage()  # before the worker says the stream cannot be opened
    assert said.startswith("2 items dropped: http://user:***@127.0.0.1:9 opened") and "secret" not in said


def test_a_recording_is_finished_when_the_app_quits_without_a_close(qtbot, window, video, tmp_path):
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
    qtbot, window, video, qt_messages
):
    """The frame in the worker's hands as the window closed was shown after the close (its frame_ready was queued
    behind it); the worker ends in its own thread, so Qt says nothing of timers or objects of another thread."""
    play(qtbot, window, video, frames=3)
    window.close()
    shown = window.frames_shown
    qtbot.wait(500)  # what the worker sent before it ended is delivered now
    assert window.frames_shown == shown and not window.handle.worker_thread.isRunning()
    assert [text for text in qt_messages if "propagateSizeHints" not in text] == []  # the offscreen platform's


@contextlib.contextmanager
def _closing_on_signals(window):
    """The window closed by signals as the app has it (application._close_on_signals), the handlers given back
    after. A question still open 10 s on (the behaviour under test broken) is answered No, so that the test fails
    rather than hangs; the watchdog timer is what the block gets."""
    from app.application import _close_on_signals
    from core.track_run import STOP_SIGNALS

    handlers = {sig: signal.getsignal(sig) for sig in STOP_SIGNALS}

    def unanswered() -> None:
        question = QApplication.activeModalWidget()
        if isinstance(question, QMessageBox) and question.button(QMessageBox.StandardButton.No) is not None:
            question.button(QMessageBox.StandardButton.No).click()

    watchdog = QTimer()  # stopped at the end: left running, it fired into a later test's dialog
    watchdog.setSingleShot(True)
    watchdog.timeout.connect(unanswered)
    try:
        _close_on_signals(window)
        watchdog.start(10000)
        yield watchdog
    finally:
        watchdog.stop()
        for sig, handler in handlers.items():
            signal.signal(sig, handler)


def test_a_second_kill_while_the_window_asks_to_stop_an_export_answers_yes(qtbot, window, video, tmp_path, monkeypatch):
    """The first signal asks 'Stop the export?'; a second did nothing, and a logout's SIGKILL followed."""
    monkeypatch.setattr(QMessageBox, "question", REAL_QUESTION)  # the real modal question, answered by a signal
    window.export_panel.set_formats(("csv",))
    window.export_panel.folder.setText(str(tmp_path))
    play(qtbot, window, video, frames=1)
    window.export_panel.export_button.click()
    qtbot.waitUntil(lambda: window.export_panel.progress.value() > 0, timeout=60000)
    with _closing_on_signals(window):  # the fix broken: the question would wait for ever, and SIGTERM with it
        QTimer.singleShot(500, lambda: signal.raise_signal(signal.SIGTERM))  # while the question is open
        signal.raise_signal(signal.SIGTERM)
        qtbot.waitUntil(lambda: not window.isVisible(), timeout=30000)
    qtbot.waitUntil(lambda: window.export_panel.job is None, timeout=30000)  # stopped: its files written out
    assert 0 < json.loads((tmp_path / "vtest.csv.json").read_text())["frames_written"] < 795


def test_a_kill_while_the_window_asks_to_replace_earlier_exports_closes_the_question_too(
    qtbot, window, frames_folder, tmp_path, monkeypatch
):
    """The window closed under its question and the question stayed: the app ran on with no window until someone
    answered it."""
    monkeypatch.setattr(QMessageBox, "question", REAL_QUESTION)  # the real modal question, answered by a signal
    earlier = _earlier_export(qtbot, window, frames_folder, tmp_path)
    asked = []
    with _closing_on_signals(window) as watchdog:  # the fix broken: the question would wait for ever
        QTimer.singleShot(
            500, lambda: asked.append(QApplication.activeModalWidget()) or signal.raise_signal(signal.SIGTERM)
        )
        window.export_panel.export_button.click()  # returns once the question is gone
        assert watchdog.isActive()  # the signal closed it, not the watchdog
        qtbot.waitUntil(lambda: not window.isVisible(), timeout=30000)
    assert isinstance(asked[0], QMessageBox) and QApplication.activeModalWidget() is None
    assert window.export_panel.job is None and earlier.read_text() == EARLIER


def test_a_frame_rate_not_measured_yet_is_not_plotted_as_zero(qtbot, window, video):
    """The first frame played has no frame interval before it: the meter has no rate yet (0), and as a sample it
    showed "0.0" fps, then an average pulled down by it for 7 more frames (8.6 for 10.3 fps)."""
    window.open_source(str(video))
    qtbot.waitUntil(lambda: window.dashboard.samples >= 3, timeout=30000)
    rates = window.dashboard._data["fps"][-window.dashboard.samples :]
    assert np.isnan(rates[0]) and np.all(rates[1:] > 0)


def test_a_minimised_window_pauses_what_it_plays_unless_it_records(qtbot, window, video, tmp_path):
    """Nobody sees a minimised window's poses: a webcam left playing there cost half of a 2-core machine."""
    play(qtbot, window, video, frames=2)
    window.setWindowState(Qt.WindowState.WindowMinimized)
    qtbot.waitUntil(lambda: not window.transport.play_button.isChecked(), timeout=10000)
    # no frame rate while nothing plays (once the worker says it has paused)
    qtbot.waitUntil(lambda: window.dashboard.values["fps"].text() == "–", timeout=10000)
    shown = window.frames_shown
    qtbot.wait(500)
    assert window.frames_shown <= shown + 1  # at most a frame already on its way
    window.setWindowState(Qt.WindowState.WindowNoState)
    qtbot.waitUntil(lambda: window.frames_shown > shown + 2, timeout=20000)
    window.export_panel.set_formats(("csv",))
    window.export_panel.folder.setText(str(tmp_path))
    window.export_panel.record_button.click()
    qtbot.waitUntil(lambda: window.last_packet.recording, timeout=20000)
    window.setWindowState(Qt.WindowState.WindowMinimized)  # changeEvent runs at once
    assert window.transport.play_button.isChecked()  # a recording goes on: what it writes is wanted
    window.setWindowState(Qt.WindowState.WindowNoState)


def test_a_take_claims_its_name_at_once_so_a_second_window_takes_the_next(qtbot, window, video, tmp_path):
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


def test_the_window_leaves_room_for_its_title_bar_on_a_small_screen(qtbot, qapp):
    """Sized to the screen's room without its frame, the window's status bar fell below a 1280x720 screen."""
    from PySide6.QtWidgets import QStyle

    fresh = MainWindow(QSettings(), cameras=[])
    qtbot.addWidget(fresh)
    room = fresh.screen().availableGeometry()
    title_bar = fresh.style().pixelMetric(QStyle.PixelMetric.PM_TitleBarHeight)
    assert fresh.height() + title_bar <= room.height() and fresh.width() < room.width()
    fresh.close()


def test_the_model_picker_opens_in_the_folder_of_the_model_in_use(window, model_path, monkeypatch):
    from PySide6.QtWidgets import QFileDialog

    opened = []
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *args: opened.append(args[2]) or ("", ""))
    window.controls.choose_model()
    assert opened == [str(model_path.parent)]


def test_process_files_asks_which_files_in_the_last_folder_and_a_cancelled_dialog_does_nothing(
    open_window, write_clip, tmp_path, monkeypatch
):
    from PySide6.QtWidgets import QFileDialog

    w = open_window()
    w.open_source(str(write_clip(tmp_path / "clip.avi", 2)))
    asked = []
    monkeypatch.setattr(QFileDialog, "getOpenFileNames", lambda *args: asked.append(args[2]) or ([], ""))
    w.export_panel.batch_button.click()
    assert asked == [str(tmp_path)] and w.last_error == "" and w.export_panel.job is None


def test_looking_for_webcams_again_lists_those_plugged_in_since(open_window, monkeypatch):
    from PySide6.QtWidgets import QPushButton

    w = open_window()  # started with none
    box = w.source_bar.camera_box
    monkeypatch.setattr("core.sources.list_cameras", lambda: [0, 2])  # two plugged in meanwhile
    refresh = next(b for b in w.source_bar.findChildren(QPushButton) if b.accessibleName() == "Look for webcams again")
    refresh.click()
    assert box.isEnabled() and [box.itemText(row) for row in range(box.count())] == ["Webcam…", "Webcam 0", "Webcam 2"]


def test_a_folder_paused_and_given_another_rate_shows_its_frame_tracked_afresh(qtbot, window, frames_folder):
    set_thresholds(window, 0.0, 0.0)  # the untrained model's people, on every frame
    # every one of the 8 frames: kept to its 30 fps pace, a machine slower than 33 ms a frame skips most of them
    # and the folder ended before 4 were shown
    window.transport.keep_pace.setChecked(False)
    play(qtbot, window, frames_folder, frames=4)
    window.handle.set_playing(False)
    qtbot.waitUntil(lambda: not window.transport.play_button.isChecked())  # the worker's answer: it has stopped
    worker = window.handle.worker
    assert (worker._found[2].track_ids > 0).any()  # confirmed people on the paused frame
    window.handle.set_image_fps(10)
    qtbot.waitUntil(lambda: window.source.fps == 10, timeout=10000)
    frame, _, poses = worker._found  # what a recording started now would write first: a fresh run's first frame
    assert frame.timestamp_s == pytest.approx(frame.index / 10) and len(poses) and (poses.track_ids == -1).all()


def test_an_image_passed_over_as_a_folder_plays_is_said_in_the_status_line(qtbot, open_window, tmp_path):
    folder = tmp_path / "shots"
    folder.mkdir()
    for i in range(4):
        cv2.imwrite(str(folder / f"{i}.png"), np.zeros((48, 64, 3), np.uint8))
    (folder / "1.png").write_bytes(b"broken")
    w = open_window()
    shown = []  # every message, not the one still shown: a note fades after 10 s
    w.statusBar().messageChanged.connect(shown.append)
    w.open_source(str(folder))
    said = f"Skipped {folder / '1.png'}: it cannot be read as an image."
    qtbot.waitUntil(lambda: said in shown, timeout=20000)
    qtbot.waitUntil(lambda: not w.transport.play_button.isChecked(), timeout=20000)  # the folder's end
    assert said in shown and w.last_error == ""  # not a box that holds the window


def test_an_image_folder_plays_at_the_frame_rate_set_for_it(qtbot, window, frames_folder, video, tmp_path):
    set_thresholds(window, 0.0, 0.0)  # the untrained model's people, on every frame
    window.export_panel.set_formats(("csv",))
    window.export_panel.folder.setText(str(tmp_path))
    play(qtbot, window, video, frames=1)
    assert not window.transport.fps_box.isVisibleTo(window)  # a video has its own rate
    play(qtbot, window, frames_folder, frames=1)
    # the video's frame in the worker's hands may be the one counted, and its frame 3 the one waited for below
    qtbot.waitUntil(lambda: window.source.images, timeout=10000)
    window.handle.set_playing(False)
    window.handle.seek(3)  # paused on frame 3
    qtbot.waitUntil(lambda: window.last_packet is not None and window.last_packet.index == 3, timeout=10000)
    assert window.transport.fps_box.isVisibleTo(window) and "· 30 fps ·" in window.source_bar.current.toolTip()
    window.export_panel.record_button.click()
    qtbot.waitUntil(lambda: window.export_panel.record_button.isChecked(), timeout=10000)
    box = window.transport.fps_box
    box.setFocus()
    box.selectAll()
    qtbot.keyClicks(box, "10")
    assert window.source.fps == 30  # typed: applied on Enter, not digit by digit
    qtbot.keyClick(box, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: window.source.fps == 10, timeout=10000)
    assert "· 10 fps ·" in window.source_bar.current.toolTip() and not box.hasFocus()  # the player's keys again
    # the recording's timestamps and sidecar were at 30 fps: it ends rather than mix two rates
    qtbot.waitUntil(lambda: not window.export_panel.record_button.isChecked(), timeout=10000)
    assert json.loads((tmp_path / "vtest_frames_live.csv.json").read_text())["fps"] == 30
    paused = window.handle.worker._last_frame  # tracked again on a change while paused: at the new rate
    assert paused.index == 3 and paused.timestamp_s == pytest.approx(0.3)

    box.setFocus()
    box.selectAll()
    qtbot.keyClicks(box, "12.5")  # no Enter: an export started now still takes the rate on screen
    window.export_file()
    qtbot.waitUntil(lambda: window.export_panel.job is None, timeout=60000)
    assert json.loads((tmp_path / "vtest_frames.csv.json").read_text())["fps"] == 12.5
    times = {row["frame"]: row["time_s"] for row in csv.DictReader((tmp_path / "vtest_frames.csv").open())}
    assert float(times["3"]) == pytest.approx(0.24)
    window.close()
    again = MainWindow(QSettings(), cameras=[])  # and the rate is remembered
    qtbot.addWidget(again)
    assert again.transport.image_fps() == 12.5
    again.close()


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


def test_a_source_paused_before_its_first_frame_shows_that_frame(qtbot, window, video, frames_folder):
    """Paused at once after opening, the view kept the last source's picture and Ctrl+S said there was no frame."""
    play(qtbot, window, video, frames=2)
    window.open_source(str(frames_folder))
    window.handle.set_playing(False)
    qtbot.waitUntil(lambda: window.source.spec == str(frames_folder), timeout=20000)
    qtbot.waitUntil(lambda: window.last_packet is not None, timeout=20000)
    assert window.last_packet.index == 0
    assert not window.transport.play_button.isChecked()


def test_a_new_take_is_named_past_every_format_an_earlier_take_wrote(window, tmp_path):
    """A CSV take, then a video-only take: both were <stem>_live, two recordings under one name."""
    window.export_panel.folder.setText(str(tmp_path))
    (tmp_path / "wlitepose_live.csv").write_text("frame\n")  # the first take (no source open: stem wlitepose)
    window.export_panel.set_formats(("video",))
    options = window.export_panel.recording_options("wlitepose_live")
    assert options.csv is None and options.video.endswith("wlitepose_live_2_annotated.mp4")


def test_an_mkvs_guessed_length_gives_way_to_its_real_one_in_the_seek_bar_and_the_export(qtbot, window, tmp_path):
    """An MKV counts no frames: OpenCV's guess from its duration (1,351 for 12) sized the seek bar for good, and a
    finished export's progress bar stayed at 12 of 1,351: 0 %."""
    mkv = Path(__file__).parents[1] / "core" / "media" / "vfr_rate1000.mkv"
    ranges = []  # the seek bar's, as they come: 12 frames may all play before the test looks (a loaded machine)
    window.transport.slider.rangeChanged.connect(lambda low, high: ranges.append(high))
    # every frame shown: kept to its 30 fps pace, a machine slower than that skips frames, the last among them
    # (its count is a guess: no frame is known to be the last), and the position ended at "7 / 12"
    window.transport.keep_pace.setChecked(False)
    play(qtbot, window, mkv, frames=1)
    assert ranges[0] == 1350  # the guess, while the file plays
    qtbot.waitUntil(lambda: window.transport.slider.maximum() == 11, timeout=30000)  # ended: its real 12 frames
    assert window.source.frame_count == 12 and window.transport.position.text().split()[:3] == ["12", "/", "12"]
    assert "1351" not in window.source_bar.current.toolTip() + window.source_bar.current.text()
    window.export_panel.set_formats(("csv",))
    window.export_panel.folder.setText(str(tmp_path))
    window.export_panel.export_button.click()
    qtbot.waitUntil(lambda: window.export_panel.job is None, timeout=60000)
    assert window.export_panel.eta.text() == "Exported 12 frames", window.last_error
    assert window.export_panel.progress.value() == window.export_panel.progress.maximum() > 0


def test_settings_that_cannot_be_written_are_said_at_start_and_at_close(qtbot, tmp_path, capfd):
    """A read-only home or settings folder: the app's choices were lost at every close without a word."""
    (tmp_path / "file").write_text("")
    store = QSettings(str(tmp_path / "file" / "settings.ini"), QSettings.Format.IniFormat)  # a folder under a file
    w = MainWindow(store, cameras=[])
    qtbot.addWidget(w)
    assert w.statusBar().currentMessage() == f"Settings will not be kept: {store.fileName()} cannot be written"
    w.close()
    assert f"wlitepose: settings not kept: {store.fileName()} cannot be written" in capfd.readouterr().err
