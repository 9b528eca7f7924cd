"""The transport panel on its own (no model, no source): the seek bar, the position and its clock, the
speed box and an image folder's frame rate, as the user drives them.
"""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt

from app.export_panel import ExportPanel
from app.transport import SPEEDS, Transport


def test_transport_disables_seeking_for_live_sources(qtbot):
    transport = Transport()
    qtbot.addWidget(transport)
    assert transport.position.text() == "—" and not transport.slider.isEnabled()  # nothing open yet
    transport.set_source(frame_count=None, fps=30.0, live=True)
    assert not transport.slider.isEnabled() and transport.play_button.isEnabled()
    transport.set_source(frame_count=100, fps=10.0, live=False)
    assert transport.slider.isEnabled() and transport.slider.maximum() == 99
    transport.show_position(49, 100, 4.9)
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


def test_the_frame_counter_has_room_for_its_digits(qtbot, qapp):
    from app.theme import apply_theme

    apply_theme(qapp)  # the counter's own font, as users see it
    transport = Transport()
    qtbot.addWidget(transport)
    transport.resize(transport.minimumSizeHint())  # as narrow as it goes
    transport.show()
    transport.set_source(frame_count=12345, fps=10.0, live=False)
    transport.show_position(12344, 12345, 1234.4)
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


def test_a_playing_file_does_not_pull_the_seek_bar_from_under_the_users_drag(qtbot):
    transport = Transport()
    qtbot.addWidget(transport)
    transport.set_source(frame_count=100, fps=10.0, live=False)
    transport.slider.setSliderDown(True)  # held by the mouse at 70
    transport.slider.setSliderPosition(70)
    transport.show_position(12, 100, 1.2)  # a frame played meanwhile
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


def test_a_damaged_header_counting_four_billion_frames_fits_the_seek_bar_and_the_export_progress(qtbot):
    """An AVI whose header counts 4294967280 frames (a recording cut short, its header bogus) opened with
    'Unexpected OverflowError' (a slider's and a progress bar's range is a C int): the window's title and the
    source's line never came; its export's progress raised the same."""
    count = 2**32 - 16
    transport = Transport()
    qtbot.addWidget(transport)
    transport.set_source(frame_count=count, fps=10.0, live=False)
    transport.set_length(count)
    transport.show_position(2, count, 0.2)
    assert transport.slider.maximum() == 2**31 - 1 and transport.position.text().strip().startswith(f"3 / {count}")
    panel = ExportPanel()
    qtbot.addWidget(panel)
    panel.show_progress(2, count, 10.0)
    assert panel.eta.full_text().startswith(f"2/{count} frames") and panel.progress.maximum() == 2**31 - 1


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


def test_the_clock_beside_the_frame_counter_turns_the_minute_over_rather_than_showing_60_seconds(qtbot):
    transport = Transport()
    qtbot.addWidget(transport)
    transport.set_source(frame_count=1510, fps=25.0, live=False)
    transport.show_position(1499, 1510, 59.96)  # 59.96 s
    assert transport.position.text() == " 1500 / 1510  01:00.0"


def test_a_file_of_unknown_length_counts_its_frames_without_calling_itself_live(qtbot):
    transport = Transport()
    qtbot.addWidget(transport)
    transport.set_source(frame_count=None, fps=10.0, live=False)
    transport.show_position(12, None, 1.2)
    assert "live" not in transport.position.text() and transport.position.text().split() == ["13", "00:01.2"]
    transport.set_source(frame_count=None, fps=30.0, live=True)
    transport.show_position(12, None, 1.2)
    assert transport.position.text() == "live  #12"
