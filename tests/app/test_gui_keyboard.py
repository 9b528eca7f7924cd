"""The window driven with the keyboard only, what a screen reader is told about its controls, and what
low vision needs of it."""

from __future__ import annotations

import re

import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QAccessible, QColor
from PySide6.QtWidgets import (
    QAbstractButton,
    QAbstractSlider,
    QApplication,
    QComboBox,
    QLabel,
    QLineEdit,
    QStyle,
    QWidget,
)

from app.theme import BORDER, PANEL, TEXT
from app.video_view import HUD_TEXT


@pytest.fixture
def bare_window(open_window):
    """The themed window with nothing open: enough to route keys and read names."""
    w = open_window()
    yield w
    w.close()


def press(qtbot, widget: QWidget, key) -> None:
    widget.setFocus(Qt.FocusReason.TabFocusReason)
    qtbot.waitUntil(widget.hasFocus)
    qtbot.keyClick(widget, key)


def test_space_ticks_the_focused_box_and_presses_the_focused_button_instead_of_playing(qtbot, bare_window):
    w = bare_window
    play = w.transport.play_button
    for box in (w.export_panel.checks["coco_json"], w.controls.shot_changes, w.controls.tracking, w.controls.boxes):
        before = box.isChecked()
        press(qtbot, box, Qt.Key.Key_Space)
        assert box.isChecked() != before, box.text()
        assert not play.isChecked()
    press(qtbot, w.controls.size_box, Qt.Key.Key_Space)  # a list box opens its list
    qtbot.waitUntil(w.controls.size_box.view().isVisible)
    w.controls.size_box.hidePopup()
    assert not play.isChecked()
    pressed = []
    w.export_panel.cancel_button.setEnabled(True)
    w.export_panel.cancel_button.clicked.connect(lambda: pressed.append(True))
    press(qtbot, w.export_panel.cancel_button, Qt.Key.Key_Space)
    assert pressed and not play.isChecked()


def test_enter_presses_the_focused_button_as_space_does(qtbot, bare_window):
    """Qt gives Enter to the buttons of a dialog only: in the window it did nothing, on Play or Process files…."""
    w = bare_window
    pressed = []
    for button in (w.export_panel.cancel_button, w.transport.play_button):
        button.setEnabled(True)
        button.clicked.connect(lambda checked=False, b=button: pressed.append(b))
        press(qtbot, button, Qt.Key.Key_Return)
    assert pressed == [w.export_panel.cancel_button, w.transport.play_button]
    assert w.transport.play_button.isChecked()


def test_arrows_home_and_end_move_the_focused_threshold_slider_not_the_video(qtbot, bare_window):
    slider = bare_window.controls.detection
    slider.set_value(0.5)
    press(qtbot, slider.slider, Qt.Key.Key_Right)
    assert slider.value() == pytest.approx(0.51)
    press(qtbot, slider.slider, Qt.Key.Key_Home)
    assert slider.value() == 0.0
    press(qtbot, slider.slider, Qt.Key.Key_End)
    assert slider.value() == 1.0
    slider.slider.setFocus(Qt.FocusReason.TabFocusReason)
    qtbot.keyClick(slider.slider, Qt.Key.Key_Left, Qt.KeyboardModifier.KeypadModifier)  # the keypad's, Num Lock off
    assert slider.value() == pytest.approx(0.99)


def test_the_player_keys_still_work_where_no_control_needs_them(qtbot, bare_window):
    w = bare_window
    press(qtbot, w.export_panel.folder, Qt.Key.Key_A)  # typing goes into a field
    assert w.export_panel.folder.text().endswith("a")
    w.setFocus()
    qtbot.keyClick(w, Qt.Key.Key_Space)
    assert w.transport.play_button.isChecked()


def test_every_control_a_keyboard_reaches_has_a_name_a_screen_reader_can_say(bare_window):
    nameless = []
    for widget in bare_window.findChildren(QWidget):
        if not isinstance(widget, (QAbstractButton, QAbstractSlider, QLineEdit, QComboBox)):
            continue
        if not widget.focusPolicy() & Qt.FocusPolicy.TabFocus or widget.parent() is None:
            continue
        if (
            isinstance(widget.parent(), QComboBox)
            or isinstance(widget, QLineEdit)
            and widget.parent().inherits("QAbstractSpinBox")
        ):
            continue  # the combo's or spin box's own parts
        name = QAccessible.queryAccessibleInterface(widget).text(QAccessible.Text.Name)
        if isinstance(widget, QComboBox):  # on Linux a combo's name is its current text: its label is the name
            labels = [label for label in bare_window.findChildren(QLabel) if label.buddy() is widget]
            name = widget.accessibleName() or (labels[0].text() if labels else "")
        if not any(ch.isalpha() for ch in name):  # "", "⟳", "…"
            nameless.append(f"{type(widget).__name__} {name!r} ({widget.toolTip()[:40]!r})")
    assert not nameless, nameless


def test_the_video_and_the_plots_have_names_a_screen_reader_can_say(bare_window):
    """A screen reader walking the window met three nameless things, the biggest in it among them."""
    w = bare_window
    for widget in (w.view, w.dashboard.latency_plot, w.dashboard.rate_plot):
        name = QAccessible.queryAccessibleInterface(widget).text(QAccessible.Text.Name)
        assert any(ch.isalpha() for ch in name), type(widget).__name__


def test_the_focused_control_looks_different_from_the_same_control_unfocused(qtbot, bare_window):
    w = bare_window
    controls = (w.source_bar.open_file_button, w.controls.tracking, w.controls.detection.slider, w.controls.size_box)
    for widget in controls:
        widget.setFocus(Qt.FocusReason.TabFocusReason)
        qtbot.waitUntil(widget.hasFocus)
        focused = widget.grab().toImage()
        widget.clearFocus()
        qtbot.waitUntil(lambda w=widget: not w.hasFocus())
        assert widget.grab().toImage() != focused, type(widget).__name__


def test_arrows_on_a_closed_model_or_webcam_box_open_its_list_rather_than_choose_each_item(qtbot, bare_window):
    """One Down loaded the next model (ending a recording); on the webcam box each Down opened a webcam."""
    w = bare_window
    w.controls.model_box.addItem("other.onnx", "/models/other.onnx")
    w.source_bar.set_cameras([0, 1])
    chosen = []
    w.controls.model_requested.connect(chosen.append)
    w.source_bar.source_requested.connect(chosen.append)
    for box in (w.controls.model_box, w.source_bar.camera_box):
        for key in (Qt.Key.Key_Down, Qt.Key.Key_PageDown):
            press(qtbot, box, key)
            qtbot.waitUntil(box.view().isVisible)
            box.hidePopup()
    assert chosen == []


def _contrast(one: QColor, other: QColor) -> float:
    """WCAG 2.1's contrast ratio of two colours, 1 to 21."""
    lighter, darker = sorted(map(_luminance, (one, other)), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


def _luminance(colour: QColor) -> float:
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in colour.getRgbF()[:3]]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def test_an_unticked_box_stands_out_from_its_panel(bare_window):
    """WCAG asks 3:1 of a control's edge against what is around it; the unticked boxes had 1.2:1."""
    box = bare_window.controls.scores
    box.setChecked(False)
    image = box.grab().toImage()
    side = box.style().pixelMetric(QStyle.PixelMetric.PM_IndicatorWidth)  # the indicator, at the box's left
    brightest = max((image.pixelColor(x, y) for x in range(side) for y in range(image.height())), key=_luminance)
    assert _contrast(brightest, QColor(PANEL)) >= 3


def test_the_export_progress_reads_where_the_bar_is_filled(bare_window):
    """The percentage is written across the bar in the theme's text colour: on the filled part, a finished
    export's "100%" had 1.9:1 (4.5:1 needed)."""
    bar = bare_window.export_panel.progress
    bar.setValue(100)
    image = bar.grab().toImage()
    fill = image.pixelColor(6, image.height() // 2)  # left of the centred text
    assert _contrast(QColor(TEXT), fill) >= 4.5


def test_a_sliders_track_stands_out_from_its_panel(bare_window):
    """Where a slider ends is where its value is read against: the track had 1.4:1 on the panel (3:1 needed)."""
    slider = bare_window.controls.detection
    slider.set_value(0.0)
    image = slider.slider.grab().toImage()
    assert _contrast(image.pixelColor(image.width() - 12, image.height() // 2), QColor(PANEL)) >= 3


def test_the_heads_up_line_reads_over_a_white_picture(shown_picture):
    """Over the picture's corner (no margin beside or above it) on a white wall, the line's text had 4.4:1 on its
    shaded box (4.5:1 needed)."""
    view, painted = shown_picture((400, 300), (400, 300), "10.1 fps · 4 people", colour=0xFFFFFF)
    hud = view.hud_rect()
    assert view.image_rect().contains(hud)
    shade = painted.pixelColor(hud.left() + 3, hud.center().y())  # inside the box, left of the text
    assert _contrast(QColor(HUD_TEXT), shade) >= 4.5


def test_the_edges_of_text_fields_and_lists_stand_out_from_their_fill_and_surroundings(bare_window):
    """A text field's edge is all that shows where to type: it had 1.2:1 on its fill, 1.4:1 on the panel (a
    field that does nothing now keeps the dim edge)."""
    w = bare_window
    fields = [f for kind in (QLineEdit, QComboBox) for f in w.findChildren(kind) if f.isVisible()]
    w.setFocus()  # a focused field has the accent's edge instead
    image = w.grab().toImage()
    assert not w.source_bar.camera_box.isEnabled() and len(fields) >= 4  # no webcam here
    for field in fields:
        left = field.mapTo(w, QPoint(0, field.height() // 2))
        if not field.isEnabled():
            assert image.pixelColor(left) == QColor(BORDER), field.accessibleName()
            continue
        outside, edge, inside = (image.pixelColor(left.x() + dx, left.y()) for dx in (-1, 0, 2))
        for other in (outside, inside):
            assert _contrast(edge, other) >= 3, field.accessibleName()


def test_the_window_fits_a_full_hd_screen_at_200_percent(bare_window, fits_full_hd_at_200_percent):
    """1920x1080 at 200 % leaves 960x540 logical pixels, less a taskbar; the window could not shrink below 591 high."""
    assert fits_full_hd_at_200_percent(bare_window.minimumSizeHint())


def test_h_hides_the_panels_for_a_larger_picture_and_shows_them_again_as_they_were(qtbot, bare_window):
    """At 200 % on a 1920x1080 screen the picture was smaller than the latency panel, and no key reaches a
    splitter's divider."""
    w = bare_window
    w.resize(940, 480)
    qtbot.waitUntil(lambda: w.view.width() < 700)
    before = w.view.size()
    w.transport.play_button.setFocus()
    qtbot.keyClick(w.transport.play_button, Qt.Key.Key_H)
    qtbot.waitUntil(lambda: not w._side.isVisible())
    assert not w.dashboard.isVisible() and "H shows them" in w.statusBar().currentMessage()
    qtbot.waitUntil(lambda: w.view.height() > 1.5 * before.height() and w.view.width() > before.width() + 200)
    qtbot.keyClick(w.transport.play_button, Qt.Key.Key_H)
    qtbot.waitUntil(lambda: w.view.size() == before)
    assert w._side.isVisible() and w.dashboard.isVisible() and w.statusBar().currentMessage() == ""


def test_panels_shown_again_leave_a_line_said_since_they_were_hidden(qtbot, bare_window):
    """H cleared the status line whatever it held: "Recording saved: ..." said while the panels were hidden went
    with the note that said how to show them."""
    w = bare_window
    w.transport.play_button.setFocus()
    qtbot.keyClick(w.transport.play_button, Qt.Key.Key_H)
    w.status.hold("Recording saved: 8 frames in /videos: take.csv, take.csv.json")
    qtbot.keyClick(w.transport.play_button, Qt.Key.Key_H)
    assert w._side.isVisible() and w.statusBar().currentMessage().startswith("Recording saved: 8 frames")


def test_letters_typed_into_a_text_field_are_typed_not_taken_as_shortcuts(qtbot, bare_window):
    from app.shortcuts import SHORTCUTS

    w = bare_window
    letters = "".join(keys.lower() for keys, _, _ in SHORTCUTS if len(keys) == 1 and keys.isalpha())
    boxes = (w.controls.boxes, w.controls.scores, w.controls.trails, w.controls.mirror)
    ticks = [box.isChecked() for box in boxes]
    field = w.source_bar.url_edit
    field.clear()
    field.setFocus()
    qtbot.waitUntil(field.hasFocus)
    qtbot.keyClicks(field, letters + letters.upper())
    assert field.text() == letters + letters.upper() and len(letters) >= 6
    assert [box.isChecked() for box in boxes] == ticks and w._side.isVisible() and not w.isFullScreen()


def test_the_shortcut_list_names_every_key_and_fits_a_full_hd_screen_at_200_percent(
    qtbot, bare_window, fits_full_hd_at_200_percent
):
    """26 lines were taller than 1920x1080 at 200 %; in a message box two columns wrapped, each line broken."""
    from PySide6.QtWidgets import QDialog, QLabel

    from app.shortcuts import SHORTCUTS

    qtbot.keyClick(bare_window, Qt.Key.Key_F1)
    box = bare_window.findChild(QDialog)
    qtbot.waitUntil(box.isVisible)
    label = box.findChild(QLabel)
    rows = {}  # action -> its keys and text, as a row of the list shows them
    for keys, action, text in SHORTCUTS:
        rows.setdefault(action, ([], text))[0].append(keys)
    for keys, text in rows.values():  # "B" must lead its own row, not hide in "Boxes"
        row = rf"(^|\s{{2}}){re.escape(', '.join(keys))}\s+{re.escape(text)}(\s{{2}}|$)"
        assert re.search(row, label.text(), re.MULTILINE), (keys, text)
    lines = label.text().count("\n") + 1
    assert not label.wordWrap() and label.sizeHint().height() <= (lines + 1) * label.fontMetrics().lineSpacing()
    assert fits_full_hd_at_200_percent(box.sizeHint())
    box.close()


def test_names_from_files_and_models_are_shown_as_text_never_as_html(bare_window):
    """A crafted model's dataset '<img src="/home/me/photo.jpg">✔ Verified safe' showed the photo and the
    forged line in the model panel: metadata, file names and errors are plain text wherever they are shown."""
    crafted = '<img src="/tmp/photo.jpg"><b>✔ Verified by WLitePose: safe model</b>'
    bare_window.show_error(crafted)
    bare_window.controls.show_model_info(crafted)
    bare_window.source_bar.set_current(crafted, " · 64×48")
    for label in (
        bare_window._error_box,
        bare_window.controls.model_info,
        bare_window.source_bar.current,
        bare_window.export_panel.eta,
        bare_window.model_label,
    ):
        assert label.textFormat() == Qt.TextFormat.PlainText, label
    bare_window._error_box.close()


def test_tab_goes_from_the_player_to_the_first_side_control_with_no_dead_stop_between(qtbot, bare_window):
    """The side panel's scroll area took the focus itself between the player and the model box, outlined
    nowhere: one Tab press did nothing anyone could see."""
    w = bare_window
    press(qtbot, w.transport.play_button, Qt.Key.Key_Tab)  # nothing open: the rest of the player is off
    assert QApplication.focusWidget() is w.controls.model_box


def test_shift_tab_wrapping_into_the_side_panel_scrolls_the_focused_button_into_view(qtbot, bare_window):
    """At the window's smallest, Shift+Tab from the source bar's first control wrapped to Process files…, below
    the side panel's fold: focused where nobody could see it, until a second Shift+Tab scrolled."""
    w = bare_window
    w.resize(w.minimumSizeHint())
    qtbot.waitUntil(lambda: w._side.verticalScrollBar().maximum() > 0)
    w._side.verticalScrollBar().setValue(0)
    buttons = w.source_bar.findChildren(QAbstractButton)
    first = next(b for b in buttons if b.accessibleName() == "Look for webcams again")  # the webcam list is off
    first.setFocus(Qt.FocusReason.TabFocusReason)
    qtbot.waitUntil(first.hasFocus)
    qtbot.keyClick(first, Qt.Key.Key_Backtab, Qt.KeyboardModifier.ShiftModifier)
    last = w.export_panel.batch_button
    assert QApplication.focusWidget() is last
    qtbot.waitUntil(lambda: last.visibleRegion().boundingRect().height() == last.height(), timeout=3000)


@pytest.mark.parametrize(
    ("keys", "action"),
    [
        ("Shift+Right", "jump_forward"),
        ("Shift+Left", "jump_back"),
        ("]", "faster"),
        ("[", "slower"),
        ("M", "toggle_mirror"),
    ],
)
def test_each_key_does_what_video_players_have_it_do(qtbot, keys, action):
    """Shift+Right jumps forward and ] plays faster, as in mpv and VLC; M mirrors, as the help and README say."""
    from app.shortcuts import SHORTCUTS, install_shortcuts

    window = QWidget()
    qtbot.addWidget(window)
    done = []
    shortcuts = install_shortcuts(window, {name: (lambda name=name: done.append(name)) for _, name, _ in SHORTCUTS})
    for shortcut in shortcuts:
        if shortcut.key().toString() == keys:
            shortcut.activated.emit()
    assert done == [action]


def test_the_recent_menu_is_reached_by_tab_and_opened_by_ctrl_shift_r(qtbot, bare_window):
    from PySide6.QtCore import QTimer

    bar = bare_window.source_bar
    press(qtbot, bar.open_folder_button, Qt.Key.Key_Tab)
    assert QApplication.focusWidget() is bar.recent_button
    menu, shown = bar.recent_button.menu(), []
    menu.aboutToShow.connect(lambda: shown.append(True))
    QTimer.singleShot(0, menu.close)  # where the menu runs a loop of its own, the test goes on
    qtbot.keyClick(bare_window, Qt.Key.Key_R, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    assert shown == [True]
