"""Names the app does not choose, as long as they come (a model file's name, its metadata, a batch's files, a path
in an error): they shorten or wrap inside the window, which never gives way to them."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtWidgets import QApplication, QLabel, QPushButton

from app.main_window import MainWindow
from app.settings import AppSettings
from core.model_file import ModelInfo
from core.progress import batch_left

BREAK = "\u200b"  # the invisible break point a long word may be given (app.labels.BREAK)
MODEL_NAME = "wlitepose_s_256_crowdpose_finetuned_2024-06-14_best.onnx"  # 56 letters: clipped the panel
LONG_VARIANT = ("wlitepose_xs_finetuned_on_crowdpose_plus_inhouse_warehouse_footage_" * 3)[:200]  # the most allowed


def model_info(variant: str = "wlitepose_xs") -> ModelInfo:
    names = tuple(f"joint_{i}" for i in range(17))
    half = (0.5, 0.5, 0.5)
    return ModelInfo(names, ((0, 1),), tuple(range(17)), (0.05,) * 17, half, half, 4, 4, variant, 256, "coco", True)


def assert_side_panel_whole(w: MainWindow) -> None:
    """The side panel is no wider than its scroll area (which never scrolls sideways): wider, the right-hand side
    of every control in it was cut off, the threshold values and the model's … button unseen."""
    side = w._side
    for _ in range(3):  # the layouts' requests, posted, and the scroll area's resizing of its panel
        QApplication.sendPostedEvents()
        QApplication.processEvents()
    assert side.widget().width() <= side.viewport().width()
    assert side.widget().x() == 0  # not scrolled sideways either (ensureWidgetVisible did, half the labels cut)
    browse = next(b for b in w.controls.findChildren(QPushButton) if b.accessibleName() == "Open a model file")
    panel = w.export_panel
    for widget in (w.controls.detection.label, browse, panel.checks["coco_json"], panel.cancel_button):
        right = widget.mapTo(side.viewport(), QPoint(widget.width(), 0)).x()
        assert right <= side.viewport().width(), (widget, right, side.viewport().width())


def test_a_long_model_name_remembered_from_the_last_session_leaves_the_side_panel_whole(qtbot, open_window, tmp_path):
    """A 56-letter model file, the model box sized to it at start: the side panel was 519 px in a 326-px scroll
    area at 150 %, the values, the … button and the right column of export formats cut off."""
    model = tmp_path / MODEL_NAME
    model.write_bytes(b"")  # the box shows what was remembered; nothing loads here
    w = open_window(AppSettings(model=str(model)))
    assert w.controls.model_box.currentData() == str(model)
    assert_side_panel_whole(w)


def test_a_model_with_a_long_name_and_variant_shows_them_whole_or_shortened_inside_the_window(qtbot, open_window):
    """A 200-letter variant (as long as a model file may carry) took the side panel 1,368 px wide in a 326-px
    scroll area at 200 %; a 150-letter file name in the status bar left no room for the status line."""
    w = open_window()
    path = "/models/" + "custom_model_" * 11 + ".onnx"
    w._model_loaded(model_info(LONG_VARIANT), path)
    w.statusBar().showMessage("Opened /videos/concert.mp4")
    assert_side_panel_whole(w)
    info = w.controls.model_info
    assert LONG_VARIANT in info.text().replace(BREAK, "")  # whole, wrapped
    qtbot.waitUntil(lambda: info.height() >= info.heightForWidth(info.width()), timeout=3000)  # no line cut off
    label = w.model_label
    assert label.width() <= w.statusBar().width() // 2 and label.toolTip() == path
    assert "…" in label.text() and label.text().endswith(".onnx")
    assert w.controls.model_box.width() <= w._side.viewport().width()


def test_a_batch_file_name_leaves_the_side_panel_whole_and_the_eta_in_view(qtbot, open_window):
    """The progress line 'concert_recording.mp4 (1/5) · 1234/54321 frames · 23.4 fps · ETA 37:48' took the panel
    471 px wide in its 340-px scroll area, and the scroll to the progress bar an export starts with moved every
    label in the panel half out of sight."""
    w = open_window()
    panel = w.export_panel
    panel._file_started(1, 5, "/videos/concert_recording.mp4")
    panel.show_progress(1234, 54321, 23.4)
    w._side.ensureWidgetVisible(panel.progress)  # as an export's start does
    assert_side_panel_whole(w)
    assert panel.eta.text().endswith("ETA 37:48")
    assert panel.batch_file.toolTip() == "/videos/concert_recording.mp4" and "(1/5)" in panel.batch_file.text()


def test_a_batchs_time_left_of_hours_or_of_an_unknown_end_fits_the_side_panel_whole(qtbot, open_window):
    w = open_window()
    panel = w.export_panel
    panel._file_started(3, 50, "/videos/concert_recording.mp4")
    panel.show_progress(1234, 54321, 23.4)
    panel.batch_left.show()
    for standing in (batch_left([1_030_000], 2.5), batch_left([41_200, None], 20.0)):
        panel.show_batch_progress(standing)
        assert_side_panel_whole(w)
        assert panel.batch_left.text() == f"batch: {standing}"  # whole, not shortened in its middle


# a folder's name broken at its separators, and one with none in it (a hash, a stream's token): anywhere
@pytest.mark.parametrize("folder", ["_".join(["camera_archive"] * 30), "3f9a" * 100], ids=["separators", "none"])
def test_an_error_naming_a_long_path_shows_all_of_it_and_copies_it_as_it_is(qtbot, open_window, folder):
    """A path of 450 letters without a space was cut off mid-word at the box's edge (the screen's at 200 %), the
    rest of the message lost. Broken where it must be for the eye, it is copied whole, as written."""
    w = open_window()
    path = f"/mnt/storage/{folder}/clip.mp4"
    message = f"Cannot open {path}: no such file or folder"
    w.show_error(message)
    box = w._error_box
    qtbot.waitUntil(box.isVisible)
    label = box.findChild(QLabel, "qt_msgbox_label")
    assert label.text().replace(BREAK, "") == message and w.last_error == message
    room = label.contentsRect().width()
    pieces = label.text().replace(BREAK, " ").split(" ")
    widest = max(pieces, key=label.fontMetrics().horizontalAdvance)
    assert label.fontMetrics().horizontalAdvance(widest) <= room, widest
    assert box.width() <= w.screen().availableGeometry().width()
    label.setSelection(0, len(label.text()))
    label.setFocus()
    qtbot.keyClick(label, Qt.Key.Key_C, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: QApplication.clipboard().text() == message, timeout=3000)
    box.close()


def test_a_status_line_a_narrow_window_cuts_is_whole_in_the_status_bars_tooltip(qtbot, open_window, tmp_path):
    """A line naming a long path (an image passed over, a still saved) was cut mid-word at the window's edge with
    no way to read the rest: only a recording's line went into the tooltip, and it stayed there over later lines."""
    folder = tmp_path / ("north_entrance_camera_03_" * 8)
    folder.mkdir()
    for i in range(3):
        cv2.imwrite(str(folder / f"{i}.png"), np.zeros((48, 64, 3), np.uint8))
    (folder / "1.png").write_bytes(b"broken")
    w = open_window()
    w.resize(w.minimumSizeHint())
    bar = w.statusBar()
    shown = []  # each line with the tooltip it came with: a line fades in seconds
    bar.messageChanged.connect(lambda text: shown.append((text, bar.toolTip())))
    w.open_source(str(folder))
    said = f"Skipped {folder / '1.png'}: it cannot be read as an image."
    qtbot.waitUntil(lambda: any(text == said for text, _ in shown), timeout=20000)
    assert bar.fontMetrics().horizontalAdvance(said) > bar.width()  # the line is cut
    assert (said, said) in shown


def test_a_short_error_is_shown_as_written(qtbot, open_window):
    w = open_window()
    message = "Cannot open /home/me/videos/2024-06-14_north_entrance_camera_03.mp4: no such file or folder"
    w.show_error(message)
    assert w._error_box.text() == message
    w._error_box.close()


def test_the_model_facts_of_an_ordinary_model_read_as_before(qtbot, open_window):
    w = open_window()
    w._model_loaded(model_info(), "/models/m.onnx")
    assert w.controls.model_info.text() == "wlitepose_xs · coco · 17 keypoints · trained at 256 px"
    qtbot.waitUntil(lambda: w.model_label.text() == "m.onnx", timeout=3000)  # once the status bar has laid it out
    assert w.model_label.toolTip() == "/models/m.onnx"


def test_the_status_bars_tooltip_keeps_a_line_once_it_has_gone(open_window):
    """A line fades in seconds: its path, cut by a narrow window, stays readable in the tooltip until the next."""
    w = open_window()
    w.status.show("Saved /home/me/stills/north_entrance_camera_03_frame_0412.png")
    w.statusBar().clearMessage()
    assert w.statusBar().toolTip() == "Saved /home/me/stills/north_entrance_camera_03_frame_0412.png"


def test_the_empty_views_placeholder_wraps_inside_a_narrow_view(qtbot):
    """At the window's smallest the view is narrower than the placeholder's line, which was cut at both ends."""
    from app.video_view import VideoView

    view = VideoView()
    qtbot.addWidget(view)
    view.resize(300, 200)
    painted = view.grab().toImage()
    background = painted.pixel(0, 0)
    # cut to one line inside the 8-pixel margins, it painted columns 8-291; wrapped, 21-278
    edges = [(x, y) for x in (*range(12), *range(288, 300)) for y in range(200)]
    assert all(painted.pixel(x, y) == background for x, y in edges)
    assert sum(painted.pixel(x, y) != background for x in range(300) for y in range(200)) > 500  # it is painted
