"""Panels on their own (no model, no source): what they show for what they are given."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from PySide6.QtCore import Qt

from app.controls import Controls, ValueSlider
from app.dashboard import HISTORY, Dashboard
from app.export_job import ExportJob, ExportOutcome, ExportRequest
from app.export_panel import ExportPanel
from app.settings import AppSettings
from app.source_bar import SourceBar, dropped_sources
from app.transport import SPEEDS, Transport
from core.draw import Overlay
from core.pipeline import tuned_config
from core.sinks import SinkOptions


def test_dashboard_shows_current_values_and_rolls(qtbot):
    dashboard = Dashboard()
    qtbot.addWidget(dashboard)
    for i in range(HISTORY + 5):
        dashboard.add_sample({"inference": 20.0 + i % 2, "end_to_end": 40.0, "fps": 25.0, "dropped": 3, "people": 4})
    dashboard.refresh()
    assert dashboard.values["inference"].text() == "20.5 ms"
    assert dashboard.values["people"].text() == "4"
    assert dashboard.values["dropped"].text() == "3"
    assert dashboard.values["grouping"].text() == "–"  # never reported
    x, y = dashboard._curves["fps"].getData()
    assert len(y) == HISTORY and np.all(y == 25.0)


def test_the_dashboard_redraws_while_samples_come_and_no_timer_runs_once_they_stop(qtbot):
    """Its 150 ms redraw timer ran from the window's start on, with nothing opened or a video paused: the app at rest
    woke seven times a second to find nothing to draw."""
    dashboard = Dashboard()
    qtbot.addWidget(dashboard)
    assert not dashboard._timer.isActive()
    dashboard.add_sample({"inference": 20.0, "fps": 25.0})
    assert dashboard._timer.isActive()
    dashboard.refresh()  # the sample drawn: the next may come
    assert dashboard._timer.isActive() and dashboard.values["inference"].text() == "20.0 ms"
    dashboard.refresh()  # none came
    assert not dashboard._timer.isActive()
    dashboard.add_sample({"inference": 30.0, "fps": 25.0})
    assert dashboard._timer.isActive()


def test_dashboard_frame_rate_is_the_huds_not_a_mean_of_its_last_readings(qtbot):
    """The playback meter averages the frame rate over time already; a mean of its last 8 readings, at 2 fps four
    seconds of them, read 2.1 fps beside the HUD's 0.8 fps on the same frame."""
    dashboard = Dashboard()
    qtbot.addWidget(dashboard)
    for fps in (float("nan"), 12.0, 6.0, 3.0, 2.0):  # the meter's readings as a file starts playing slowly
        dashboard.add_sample({"inference": 100.0, "fps": fps})
    dashboard.refresh()
    assert dashboard.values["fps"].text() == "2.0"


def test_dashboard_values_are_never_cut_short(qtbot):
    dashboard = Dashboard()
    qtbot.addWidget(dashboard)
    dashboard.resize(500, 200)  # narrow: the plots give way, the numbers do not
    dashboard.show()
    dashboard.add_sample({"end_to_end": 1234.5, "inference": 101.6})
    dashboard.refresh()
    qtbot.waitUntil(lambda: not dashboard.rate_plot.isVisible())
    for key in ("end_to_end", "inference"):
        label = dashboard.values[key]
        assert label.width() >= label.fontMetrics().horizontalAdvance(label.text())
    assert not dashboard.latency_plot.isVisible()
    dashboard.resize(1200, 200)
    qtbot.waitUntil(lambda: dashboard.rate_plot.isVisible() and dashboard.latency_plot.isVisible())


def test_transport_disables_seeking_for_live_sources(qtbot):
    transport = Transport()
    qtbot.addWidget(transport)
    assert transport.position.text() == "—" and not transport.slider.isEnabled()  # nothing open yet
    transport.set_source(frame_count=None, fps=30.0, live=True)
    assert not transport.slider.isEnabled() and transport.play_button.isEnabled()
    transport.set_source(frame_count=100, fps=10.0, live=False)
    assert transport.slider.isEnabled() and transport.slider.maximum() == 99
    transport.show_position(49, 100)
    assert transport.slider.value() == 49
    assert transport.position.text().split() == ["50", "/", "100", "00:04.9"]


def test_transport_emits_seek_and_step(qtbot):
    transport = Transport()
    qtbot.addWidget(transport)
    transport.set_source(frame_count=100, fps=10.0, live=False)
    with qtbot.waitSignal(transport.step_requested) as step:
        transport.forward_button.click()
    assert step.args == [1]
    with qtbot.waitSignal(transport.seek_requested) as seek:
        transport.slider.triggerAction(transport.slider.SliderAction.SliderToMaximum)
    assert seek.args == [99]


def test_video_view_letterboxes_the_image(shown_picture):
    view, grabbed = shown_picture((800, 400), (400, 400), "10 fps")
    assert view.image_rect().getRect() == (200, 0, 400, 400)
    assert grabbed.pixelColor(400, 300).red() > 200  # inside the image
    assert grabbed.pixelColor(50, 200).red() < 40  # the dark letterbox


def test_video_view_says_its_size_again_on_a_screen_of_another_scale(qtbot, shown_picture):
    """The worker draws the picture at the view's size in device pixels: a window moved to a screen of another scale
    changes that size with no resize, and the worker kept drawing at the old one."""
    from PySide6.QtCore import QEvent
    from PySide6.QtWidgets import QApplication

    view, _ = shown_picture((400, 300), (40, 30))
    with qtbot.waitSignal(view.resized, timeout=1000) as said:
        QApplication.sendEvent(view, QEvent(QEvent.Type.DevicePixelRatioChange))
    assert said.args == [(400, 300)]


def test_video_view_cleared_shows_its_placeholder_alone(shown_picture):
    """At a first start with no webcam and no sample clip: no picture, no heads-up line, nothing red left."""
    view, _ = shown_picture((800, 400), (400, 400), "10 fps")
    view.clear("No webcam found and the sample clip is missing: open a video or folder")
    grabbed = view.grab().toImage()
    assert view.image() is None and view.image_rect().isNull() and view.hud_rect().isNull()
    assert grabbed.pixelColor(400, 300).red() < 40  # the picture's place is dark
    view.clear("")
    assert view.grab().toImage() != grabbed  # the placeholder's words were painted


def test_the_heads_up_line_sits_in_a_margin_wide_enough_else_over_the_corner(shown_picture):
    view, _ = shown_picture((900, 300), (400, 300), "● REC  10.1 fps · 4 people")
    tight = (400 + 2 * (view.hud_rect().width() + 5), 300)  # a margin as wide as the line, not its gaps too
    for size, where in (((900, 300), "beside"), ((400, 500), "above"), ((440, 330), "over"), (tight, "over")):
        view.resize(*size)
        hud, picture = view.hud_rect(), view.image_rect()
        assert view.rect().contains(hud), size
        assert hud.intersects(picture) == (where == "over"), size
        if where == "over":  # the picture's top-left corner, as before
            assert picture.contains(hud.topLeft())
        with_hud = view.grab().toImage().copy(hud)  # painted where it says: that patch differs without it
        view.set_hud("")
        assert view.grab().toImage().copy(hud) != with_hud, size
        view.set_hud("● REC  10.1 fps · 4 people")


def test_the_frame_counter_has_room_for_its_digits(qtbot, qapp):
    from app.theme import apply_theme

    apply_theme(qapp)  # the counter's own font, as users see it
    transport = Transport()
    qtbot.addWidget(transport)
    transport.resize(transport.minimumSizeHint())  # as narrow as it goes
    transport.show()
    transport.set_source(frame_count=12345, fps=10.0, live=False)
    transport.show_position(12344, 12345)
    label = transport.position
    assert label.width() >= label.fontMetrics().horizontalAdvance(label.text())


def test_the_rate_box_takes_the_wheel_only_once_clicked_into(qtbot):
    from PySide6.QtCore import QPoint, QPointF, Qt
    from PySide6.QtGui import QWheelEvent
    from PySide6.QtWidgets import QApplication

    transport = Transport()
    qtbot.addWidget(transport)
    transport.set_source(frame_count=60, fps=30.0, live=False, images=True)
    transport.show()
    qtbot.waitExposed(transport)
    changed = []
    transport.image_fps_changed.connect(changed.append)
    box = transport.fps_box

    def wheel():  # sent through QApplication, which gives wheel focus (QTest.wheelEvent: PySide6 6.8 and later)
        centre = QPointF(box.rect().center())
        QApplication.sendEvent(
            box,
            QWheelEvent(
                centre,
                QPointF(box.mapToGlobal(box.rect().center())),
                QPoint(),
                QPoint(0, 120),
                Qt.MouseButton.NoButton,
                Qt.KeyboardModifier.NoModifier,
                Qt.ScrollPhase.NoScrollPhase,
                False,
            ),
        )

    wheel()  # scrolling past it: Qt's own wheel focus would step it
    assert box.value() == 30 and changed == [] and not box.hasFocus()
    box.setFocus()
    qtbot.waitUntil(box.hasFocus)
    wheel()  # turned on purpose: applies at once
    assert box.value() == 31 and changed == [31]


def test_a_stream_is_named_without_its_password():
    from app.main_window import _display_name

    assert _display_name("http://user:secret@10.0.0.5:8112") == "http://user:***@10.0.0.5:8112"
    assert _display_name("/videos/clip.mp4") == "clip.mp4"


@pytest.mark.parametrize("typed", ["12.5", "12,5"])
def test_a_folder_rate_typed_with_a_point_or_a_comma_is_the_same_rate_in_a_german_locale(qtbot, typed):
    """Qt's own box, in a decimal-comma locale, read "12.5" as 125 fps (the point a thousands separator)."""
    from PySide6.QtCore import QLocale, Qt

    before = QLocale()
    QLocale.setDefault(QLocale(QLocale.Language.German, QLocale.Country.Germany))
    try:
        transport = Transport()
    finally:
        QLocale.setDefault(before)
    qtbot.addWidget(transport)
    transport.set_source(frame_count=60, fps=30.0, live=False, images=True)
    box = transport.fps_box
    box.selectAll()
    qtbot.keyClicks(box, typed)
    qtbot.keyClick(box, Qt.Key.Key_Return)
    assert box.value() == 12.5 and box.text() == "12.50 fps"


def test_the_theme_follows_a_larger_desktop_font_and_never_shrinks_below_its_own(qtbot, qapp):
    """Every widget was 10 pt whatever the desktop said: a user who reads 16 pt got 10."""
    from PySide6.QtGui import QFont
    from PySide6.QtWidgets import QLabel

    from app.theme import apply_theme

    before, sheet = qapp.font(), qapp.styleSheet()
    sizes = {}
    try:
        for desktop in (16.0, 8.0):
            font = QFont(before)
            font.setPointSizeF(desktop)
            qapp.setFont(font)
            apply_theme(qapp)
            label, caption = QLabel("text"), QLabel("caption")
            caption.setObjectName("caption")
            for widget in (label, caption):
                qtbot.addWidget(widget)
                widget.ensurePolished()
            sizes[desktop] = (label.font().pointSizeF(), caption.font().pointSizeF())
    finally:
        qapp.setFont(before)
        qapp.setStyleSheet(sheet)
    assert sizes == {16.0: (16.0, 14.4), 8.0: (10.0, 9.0)}


def test_the_heads_up_line_stays_inside_a_narrow_view_cut_short(shown_picture):
    """The window at its smallest leaves the view 366 px wide: a long line ran off its right edge."""
    line = "● REC 00:20:33  10.0 fps · 12 people · 0.45× real time"
    view, _ = shown_picture((366, 160), (1280, 720), line, colour=0xFFFFFF)
    hud = view.hud_rect()
    assert view.rect().contains(hud) and hud.right() <= view.width() - 10
    view.resize(1200, 700)  # room enough: the whole line, as before
    assert view.hud_rect().width() > hud.width()


def test_a_playing_file_does_not_pull_the_seek_bar_from_under_the_users_drag(qtbot):
    transport = Transport()
    qtbot.addWidget(transport)
    transport.set_source(frame_count=100, fps=10.0, live=False)
    transport.slider.setSliderDown(True)  # held by the mouse at 70
    transport.slider.setSliderPosition(70)
    transport.show_position(12, 100)  # a frame played meanwhile
    assert transport.slider.sliderPosition() == 70 and transport.position.text().split()[:3] == ["13", "/", "100"]


def test_a_remembered_speed_the_box_does_not_offer_plays_at_1x(qtbot):
    transport = Transport()
    qtbot.addWidget(transport)
    transport.set_speed(3.0)  # a settings file from another version, or edited by hand
    assert transport.speed == 1.0


def test_each_speed_the_box_offers_comes_back_as_remembered(qtbot):
    transport = Transport()
    qtbot.addWidget(transport)
    for _, speed in SPEEDS:
        transport.set_speed(speed)
        assert transport.speed == speed


def test_the_export_progress_says_the_frames_done_of_the_total_and_the_time_left(qtbot):
    panel = ExportPanel()
    qtbot.addWidget(panel)
    panel.show_progress(30, 120, 10.0)
    assert panel.eta.full_text() == "30/120 frames · 10.0 fps · ETA 0:09"
    assert (panel.progress.value(), panel.progress.maximum()) == (30, 120)
    panel.show_progress(130, 120, 10.0)  # past a guessed frame count (an MKV's): full, not stuck where it was
    assert panel.progress.value() == 120


def test_a_damaged_header_counting_four_billion_frames_fits_the_seek_bar_and_the_export_progress(qtbot):
    """An AVI whose header counts 4294967280 frames (a recording cut short, its header bogus) opened with
    'Unexpected OverflowError' (a slider's and a progress bar's range is a C int): the window's title and the
    source's line never came; its export's progress raised the same."""
    count = 2**32 - 16
    transport = Transport()
    qtbot.addWidget(transport)
    transport.set_source(frame_count=count, fps=10.0, live=False)
    transport.set_length(count)
    transport.show_position(2, count)
    assert transport.slider.maximum() == 2**31 - 1 and transport.position.text().strip().startswith(f"3 / {count}")
    panel = ExportPanel()
    qtbot.addWidget(panel)
    panel.show_progress(2, count, 10.0)
    assert panel.eta.full_text().startswith(f"2/{count} frames") and panel.progress.maximum() == 2**31 - 1


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


def test_video_view_centres_the_image_in_a_tall_view(shown_picture):
    """A view taller than the picture (the side panels hidden, a portrait window): as much dark margin above the
    picture as below it, not the picture pushed to the bottom."""
    view, grabbed = shown_picture((400, 600), (400, 300))
    assert view.image_rect().getRect() == (0, 150, 400, 300)
    assert grabbed.pixelColor(200, 300).red() > 200 and grabbed.pixelColor(200, 500).red() < 40


def test_a_threshold_shown_by_a_slider_is_the_one_read_back(qtbot):
    """0.29 x 100 is 28.999...: truncated, a remembered 0.29 came back as 0.28."""
    slider = ValueSlider("threshold")
    qtbot.addWidget(slider)
    for value in (0.29, 0.57, 0.58):
        slider.set_value(value)
        assert slider.value() == value and slider.label.text() == f"{value:.2f}"


def test_smoothing_can_be_moved_again_once_tracking_is_ticked_back_on(qtbot):
    controls = Controls()
    qtbot.addWidget(controls)
    controls.apply(dataclasses.replace(AppSettings(), tracking=False))
    assert not controls.smoothing.isEnabled()
    controls.tracking.setChecked(True)
    assert controls.smoothing.isEnabled()


def test_the_webcam_box_heading_opens_nothing(qtbot):
    bar = SourceBar()
    qtbot.addWidget(bar)
    bar.set_cameras([0])
    asked = []
    bar.source_requested.connect(asked.append)
    bar.camera_box.activated.emit(0)  # "Webcam…"
    bar.camera_box.activated.emit(1)
    assert asked == ["0"]


def test_the_controls_read_back_the_settings_they_show(qtbot):
    """Each slider gives its own value, and smoothing can be moved while tracking is on."""
    controls = Controls()
    qtbot.addWidget(controls)
    shown = dataclasses.replace(AppSettings(), detection_threshold=0.3, keypoint_threshold=0.6, smoothing=0.7)
    controls.apply(shown)
    read = controls.read(AppSettings())
    assert (read.detection_threshold, read.keypoint_threshold, read.smoothing) == (0.3, 0.6, 0.7)
    assert controls.smoothing.isEnabled()
    controls.apply(dataclasses.replace(shown, tracking=False))
    assert not controls.smoothing.isEnabled()


def test_the_people_and_dropped_counts_are_the_last_frames_not_an_average(qtbot):
    dashboard = Dashboard()
    qtbot.addWidget(dashboard)
    for i, people in enumerate((3, 4, 4, 5)):
        dashboard.add_sample({"inference": 20.0, "people": people, "dropped": i})
    dashboard.refresh()
    assert dashboard.values["people"].text() == "5" and dashboard.values["dropped"].text() == "3"


def test_a_new_sources_plot_starts_again_at_the_left(qtbot):
    """Cleared for a new source, the plots fill from the left again, not from where the last source's ended."""
    dashboard = Dashboard()
    qtbot.addWidget(dashboard)
    for _ in range(40):
        dashboard.add_sample({"inference": 20.0, "fps": 25.0})
    dashboard.clear()
    for _ in range(5):
        dashboard.add_sample({"inference": 30.0, "fps": 24.0})
    dashboard.refresh()
    x, y = dashboard._curves["inference"].getData()
    assert list(x) == [0, 1, 2, 3, 4] and np.all(y == 30.0)


def test_a_wheel_turned_over_the_model_box_loads_no_model(qtbot):
    from PySide6.QtCore import QPoint, QPointF, Qt
    from PySide6.QtGui import QWheelEvent
    from PySide6.QtWidgets import QApplication

    controls = Controls()
    qtbot.addWidget(controls)
    controls.model_box.addItem("other.onnx", "/models/other.onnx")
    controls.show()
    qtbot.waitExposed(controls)
    box = controls.model_box
    centre = QPointF(box.rect().center())
    turn = QWheelEvent(
        centre,
        QPointF(box.mapToGlobal(box.rect().center())),
        QPoint(),
        QPoint(0, -120),
        Qt.MouseButton.NoButton,
        Qt.KeyboardModifier.NoModifier,
        Qt.ScrollPhase.NoScrollPhase,
        False,
    )
    QApplication.sendEvent(box, turn)
    assert box.currentIndex() == 0


def test_a_stream_link_dragged_from_a_browser_opens_as_the_link_and_a_file_as_its_path():
    from PySide6.QtCore import QMimeData, QUrl

    mime = QMimeData()
    mime.setUrls([QUrl("http://cam.local/live.m3u8"), QUrl.fromLocalFile("/videos/a.mp4")])
    assert dropped_sources(mime) == ["http://cam.local/live.m3u8", "/videos/a.mp4"]


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


def test_the_source_line_keeps_its_size_and_rate_in_its_tooltip_when_cut_short(qtbot):
    bar = SourceBar()
    qtbot.addWidget(bar)
    bar.set_current("street_camera.avi", " · 768×576 · 10 fps · 795 frames")
    assert bar.current.toolTip() == "street_camera.avi · 768×576 · 10 fps · 795 frames"


def test_dragging_the_seek_bar_seeks_to_where_it_is_dragged(qtbot):
    transport = Transport()
    qtbot.addWidget(transport)
    transport.set_source(frame_count=795, fps=10.0, live=False)
    seeks = []
    transport.seek_requested.connect(seeks.append)
    transport.slider.setSliderDown(True)  # the handle held, as a mouse drag holds it
    transport.slider.setSliderPosition(386)
    transport.slider.setSliderDown(False)
    assert seeks[-1:] == [386]


@pytest.mark.parametrize("label, speed", [("0.5×", 0.5), ("2×", 2.0), ("Max", 0.0)])
def test_the_speed_chosen_in_the_box_is_the_speed_asked_for(qtbot, label, speed):
    transport = Transport()
    qtbot.addWidget(transport)
    transport.set_source(frame_count=795, fps=10.0, live=False)
    speeds = []
    transport.speed_changed.connect(speeds.append)
    transport.speed_box.setCurrentIndex(transport.speed_box.findText(label))
    assert speeds == [speed] and transport.speed == speed


@pytest.mark.parametrize(
    "finish",
    [
        pytest.param(lambda qtbot, transport: qtbot.keyClick(transport.fps_box, Qt.Key.Key_Return), id="enter"),
        pytest.param(lambda qtbot, transport: transport.image_fps(), id="read"),  # Ctrl+E or Record before Enter
    ],
)
def test_a_folder_rate_being_typed_applies_once_on_enter_or_when_read_not_at_each_digit(qtbot, finish):
    """Each rate applied starts a folder's tracks over and ends a recording: "12.5" typed is one change; an export
    started with it still in the box (no Enter yet) times its files at 12.5 fps, not the old rate."""
    transport = Transport()
    qtbot.addWidget(transport)
    transport.set_source(frame_count=40, fps=30.0, live=False, images=True)
    rates = []
    transport.image_fps_changed.connect(rates.append)
    transport.fps_box.lineEdit().selectAll()
    qtbot.keyClicks(transport.fps_box, "12.5")
    assert rates == []
    finish(qtbot, transport)
    assert rates == [12.5] and transport.image_fps() == 12.5


def test_a_cancelled_open_dialog_asks_for_no_source(qtbot, monkeypatch):
    from PySide6.QtWidgets import QFileDialog

    bar = SourceBar()
    qtbot.addWidget(bar)
    requested = []
    bar.source_requested.connect(requested.append)
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *args: ("/videos/clip.mp4", ""))
    bar.open_file_button.click()
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *args: ("", ""))  # the dialog cancelled
    bar.open_file_button.click()
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", lambda *args: "/videos/frames")
    bar.open_folder_button.click()
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", lambda *args: "")
    bar.open_folder_button.click()
    assert requested == ["/videos/clip.mp4", "/videos/frames"]


def test_a_stream_url_pasted_with_spaces_around_it_connects_and_blanks_connect_nothing(qtbot):
    bar = SourceBar()
    qtbot.addWidget(bar)
    requested = []
    bar.source_requested.connect(requested.append)
    for typed in (" rtsp://cam.local/live ", "   "):
        bar.url_edit.setText(typed)
        qtbot.keyClick(bar.url_edit, Qt.Key.Key_Return)
    assert requested == ["rtsp://cam.local/live"]


def test_a_cancelled_model_dialog_keeps_the_model_in_use(qtbot, monkeypatch):
    """The model dialog cancelled asks for nothing: "" would load the bundled model in place of the one in use."""
    from PySide6.QtWidgets import QFileDialog, QPushButton

    controls = Controls()
    qtbot.addWidget(controls)
    controls.select_model("/models/mine.onnx")
    asked = []
    controls.model_requested.connect(asked.append)
    browse = next(b for b in controls.findChildren(QPushButton) if b.accessibleName() == "Open a model file")
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *args: ("/models/other.onnx", ""))
    browse.click()
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *args: ("", ""))  # the dialog cancelled
    browse.click()
    assert asked == ["/models/other.onnx"]


def test_an_input_size_chosen_applies_at_once(qtbot):
    controls = Controls()
    qtbot.addWidget(controls)
    controls.apply(AppSettings())
    changes = []
    controls.pipeline_changed.connect(lambda: changes.append(controls.read(AppSettings()).input_size))
    controls.size_box.setCurrentIndex(controls.size_box.findData(512))
    assert changes == [512]


def test_the_bundled_model_chosen_again_is_its_own_entry_not_a_blank_one(qtbot):
    controls = Controls()
    qtbot.addWidget(controls)
    controls.select_model("")
    controls.select_model("/models/mine.onnx")
    controls.select_model("")
    texts = [controls.model_box.itemText(row) for row in range(controls.model_box.count())]
    assert texts == [controls.model_box.itemText(0), "mine.onnx"] and texts[0].startswith("Bundled")
    assert controls.model_box.currentIndex() == 0


def test_a_long_source_name_gives_way_to_its_size_and_rate_on_the_source_line(qtbot):
    """The name is shortened in its middle to leave the details whole, not the details pushed out of view."""
    bar = SourceBar()
    qtbot.addWidget(bar)
    bar.current.resize(420, 24)
    details = " · 768×576 · 10 fps · 795 frames"
    bar.set_current("a_very_long_recording_name_from_the_street_camera_" * 2 + ".avi", details)
    shown = bar.current.text()
    assert shown.endswith(details) and "…" in shown
    assert bar.current.fontMetrics().horizontalAdvance(shown) <= bar.current.contentsRect().width()


def test_a_frame_shown_just_before_a_pause_brings_no_frame_rate_back(qtbot):
    """The plots redraw on a timer: a sample taken just before the pause must not put a frame rate back."""
    dashboard = Dashboard()
    qtbot.addWidget(dashboard)
    dashboard.add_sample({"end_to_end": 40.0, "fps": 25.0, "people": 3.0})
    dashboard.paused()
    dashboard.refresh()
    assert dashboard.values["fps"].text() == "–" and dashboard.values["end_to_end"].text() == "40.0 ms"


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


def test_the_clock_beside_the_frame_counter_turns_the_minute_over_rather_than_showing_60_seconds(qtbot):
    transport = Transport()
    qtbot.addWidget(transport)
    transport.set_source(frame_count=1510, fps=25.0, live=False)
    transport.show_position(1499, 1510)  # 59.96 s
    assert transport.position.text() == " 1500 / 1510  01:00.0"


def test_a_folder_given_another_rate_clocks_its_frames_at_that_rate(qtbot):
    transport = Transport()
    qtbot.addWidget(transport)
    transport.set_source(frame_count=100, fps=10.0, live=False, images=True)
    transport.set_rate(25.0)
    transport.show_position(50, 100)
    assert transport.position.text() == "   51 / 100  00:02.0"


def test_a_file_of_unknown_length_counts_its_frames_without_calling_itself_live(qtbot):
    transport = Transport()
    qtbot.addWidget(transport)
    transport.set_source(frame_count=None, fps=10.0, live=False)
    transport.show_position(12, None)
    assert "live" not in transport.position.text() and transport.position.text().split() == ["13", "00:01.2"]
    transport.set_source(frame_count=None, fps=30.0, live=True)
    transport.show_position(12, None)
    assert transport.position.text() == "live  #12"


def test_a_small_picture_is_scaled_up_to_fill_its_place_in_the_view(shown_picture):
    """Painted at its own size, a 160 x 120 picture took the top-left quarter of a 640 x 480 view, the rest dark."""
    _, grabbed = shown_picture((640, 480), (160, 120))
    assert grabbed.pixelColor(600, 440).red() > 200 and grabbed.pixelColor(320, 240).red() > 200
