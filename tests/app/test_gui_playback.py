"""Playing in the window: stepping, seeking, speed and keeping pace, what the heads-up line and the
dashboard say of the rate and of stalls, a pause, and a file whose length is not what its header says.

An untrained model scores people near chance, so tests that need poses set both thresholds
to 0: the decoder then returns its best (meaningless) candidates, which is enough to check
that real results reach the overlay, the dashboard and the sinks.
"""

from __future__ import annotations

import itertools
import time
from pathlib import Path

import numpy as np
from PySide6.QtCore import QObject, QSettings, Qt, Slot

from app.main_window import MainWindow


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


def test_transport_steps_and_seeks(qtbot, window, video, play):
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


def test_the_clock_beside_the_frame_counter_shows_a_variable_rate_files_own_time(qtbot, window, play):
    """Frame 8 of an MKV whose frames come 0.1, 0.2 and 0.05 s apart is 1 s in, as its CSV row says: the clock
    said 00:00.3, its index over the 30 fps standing in for the header's rate."""
    play(qtbot, window, Path(__file__).parents[1] / "core" / "media" / "vfr_rate1000.mkv", frames=1)
    window.transport.play_button.click()  # pause
    window.handle.seek(8)
    qtbot.waitUntil(lambda: window.last_packet.index == 8, timeout=20000)
    assert window.transport.position.text().split()[-1] == "00:01.0"


def test_without_a_model_the_hud_says_so_instead_of_counting_people(qtbot, qapp, write_clip, tmp_path, play):
    w = MainWindow(QSettings(), cameras=[])
    qtbot.addWidget(w)
    w.show()
    play(qtbot, w, write_clip(tmp_path / "clip.avi", 2), frames=2)
    assert "no model" in w.view._hud and "people" not in w.view._hud
    w.dashboard.refresh()
    assert w.dashboard.values["people"].text() == "–"
    w.close()


def test_each_frame_counted_as_shown_is_painted_and_its_end_to_end_time_ends_at_the_paint(
    qtbot, qapp, write_clip, tmp_path, monkeypatch, play
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


def test_the_hud_says_when_a_file_plays_slower_than_real_time(qtbot, window, video, play):
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


def test_a_stalled_source_is_said_rather_than_its_last_frame_rate_and_latency(
    qtbot, window, video, monkeypatch, held_inference, play
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


def test_a_pause_pressed_while_a_frame_is_overdue_is_said_at_once(qtbot, window, video, held_inference, play):
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


def test_the_stall_watch_runs_only_while_it_plays(qtbot, window, video, play):
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


def test_a_paused_frame_keeps_the_frame_rate_and_shows_the_recording_state_at_once(
    qtbot, window, video, tmp_path, play, set_thresholds
):
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


def test_keep_pace_skips_the_frames_a_slow_machine_cannot_show_in_time(
    qtbot, window, video, monkeypatch, tmp_path, collect_packets
):
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


def test_a_frame_rate_not_measured_yet_is_not_plotted_as_zero(qtbot, window, video):
    """The first frame played has no frame interval before it: the meter has no rate yet (0), and as a sample it
    showed "0.0" fps, then an average pulled down by it for 7 more frames (8.6 for 10.3 fps)."""
    window.open_source(str(video))
    qtbot.waitUntil(lambda: window.dashboard.samples >= 3, timeout=30000)
    rates = window.dashboard._data["fps"][-window.dashboard.samples :]
    assert np.isnan(rates[0]) and np.all(rates[1:] > 0)


def test_a_minimised_window_pauses_what_it_plays_unless_it_records(qtbot, window, video, tmp_path, play):
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


def test_a_source_paused_before_its_first_frame_shows_that_frame(qtbot, window, video, frames_folder, play):
    """Paused at once after opening, the view kept the last source's picture and Ctrl+S said there was no frame."""
    play(qtbot, window, video, frames=2)
    window.open_source(str(frames_folder))
    window.handle.set_playing(False)
    qtbot.waitUntil(lambda: window.source.spec == str(frames_folder), timeout=20000)
    qtbot.waitUntil(lambda: window.last_packet is not None, timeout=20000)
    assert window.last_packet.index == 0
    assert not window.transport.play_button.isChecked()


def test_an_mkvs_guessed_length_gives_way_to_its_real_one_in_the_seek_bar_and_the_export(qtbot, window, tmp_path, play):
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
