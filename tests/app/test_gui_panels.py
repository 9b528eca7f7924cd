"""Panels on their own (no model, no source): what they show for what they are given (the dashboard, the
video view, the controls, the source bar and the theme; the transport and the export panel have files of their own).
"""

from __future__ import annotations

import dataclasses

import numpy as np
from PySide6.QtCore import Qt

from app.controls import Controls, ValueSlider
from app.dashboard import HISTORY, Dashboard
from app.settings import AppSettings
from app.source_bar import SourceBar, dropped_sources


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


def test_a_stream_is_named_without_its_password():
    from app.main_window import _display_name

    assert _display_name("http://user:secret@10.0.0.5:8112") == "http://user:***@10.0.0.5:8112"
    assert _display_name("/videos/clip.mp4") == "clip.mp4"


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


def test_smoothing_and_new_tracks_at_cuts_can_be_changed_only_while_tracking_is_on(qtbot):
    """Both are tracking's: off with it (shown as they were, for when it comes back), on again with it."""
    controls = Controls()
    qtbot.addWidget(controls)
    controls.apply(dataclasses.replace(AppSettings(), tracking=False, shot_changes=False))
    assert not controls.smoothing.isEnabled() and not controls.shot_changes.isEnabled()
    assert not controls.shot_changes.isChecked()
    controls.tracking.setChecked(True)
    assert controls.smoothing.isEnabled() and controls.shot_changes.isEnabled()
    controls.tracking.setChecked(False)
    assert not controls.smoothing.isEnabled() and not controls.shot_changes.isEnabled()


def test_unticking_new_tracks_at_cuts_says_the_pipeline_changed_and_reads_back(qtbot):
    controls = Controls()
    qtbot.addWidget(controls)
    controls.apply(AppSettings())
    assert controls.shot_changes.isChecked()  # on by default, as in `track`
    changed = []
    controls.pipeline_changed.connect(lambda: changed.append(True))
    controls.shot_changes.setChecked(False)
    assert changed and controls.read(AppSettings()).shot_changes is False


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


def test_the_source_line_keeps_its_size_and_rate_in_its_tooltip_when_cut_short(qtbot):
    bar = SourceBar()
    qtbot.addWidget(bar)
    bar.set_current("street_camera.avi", " · 768×576 · 10 fps · 795 frames")
    assert bar.current.toolTip() == "street_camera.avi · 768×576 · 10 fps · 795 frames"


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


def test_a_small_picture_is_scaled_up_to_fill_its_place_in_the_view(shown_picture):
    """Painted at its own size, a 160 x 120 picture took the top-left quarter of a 640 x 480 view, the rest dark."""
    _, grabbed = shown_picture((640, 480), (160, 120))
    assert grabbed.pixelColor(600, 440).red() > 200 and grabbed.pixelColor(320, 240).red() > 200
