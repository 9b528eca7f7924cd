"""The questions before an export replaces or skips earlier files: Enter gives the answer that loses nothing, Esc
runs nothing."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QApplication, QLabel, QMessageBox, QWidget

from app.export_questions import ask_replace, ask_skip_finished
from app.labels import BREAK

ASKING = {"question": QMessageBox.question, "exec": QMessageBox.exec}  # before conftest turns them off


@pytest.fixture
def answered_by(qtbot, monkeypatch):
    """answered_by(key): the question about to open is asked for real and answered by pressing ``key`` in it, looked
    for until it opens (however slow) and never after the test (no later test's dialog gets the key)."""
    for name, method in ASKING.items():
        monkeypatch.setattr(QMessageBox, name, method)
    looking = [True]

    def answer(key, inspect=None) -> None:  # inspect(box): a look at the box before the key
        def press() -> None:
            box = QApplication.activeModalWidget()
            if box is not None:
                if inspect is not None:
                    inspect(box)
                qtbot.keyClick(box, key)
            elif looking:
                QTimer.singleShot(10, press)

        QTimer.singleShot(0, press)

    yield answer
    looking.clear()


def test_file_names_too_long_for_the_screen_are_wrapped_in_the_question_not_cut(qtbot, answered_by):
    """Three exports of a 196-letter video name ran past the screen's edge in one unbroken line: their endings,
    which files they were, and the question itself were cut off."""
    parent = QWidget()
    qtbot.addWidget(parent)
    parent.show()
    stem = ("north_entrance_camera_03_2024-06-14_" * 6)[:196]
    names = [f"{stem}.csv", f"{stem}_coco.json", f"{stem}_annotated.mp4"]
    seen = []

    def look(box) -> None:  # the question as it opens
        label = box.findChild(QLabel, "qt_msgbox_label")
        widest = max(label.text().replace(BREAK, " ").split(" "), key=label.fontMetrics().horizontalAdvance)
        room, screen = label.contentsRect().width(), box.screen().availableGeometry().width()
        seen.append((label.text().replace(BREAK, ""), label.fontMetrics().horizontalAdvance(widest), room))
        seen.append((box.width(), screen))

    answered_by(Qt.Key.Key_Escape, inspect=look)
    assert ask_replace(parent, names) is False
    (text, widest, room), (width, screen) = seen
    question = " already exist in the export folder. Replace them?"
    assert text == f"{stem}.csv, {stem}_coco.json, {stem}_annotated.mp4{question}"
    assert widest <= room and width <= screen


@pytest.mark.parametrize(
    ("ask", "key", "answer"),
    [
        pytest.param(lambda parent: ask_skip_finished(parent, 1, 3), Qt.Key.Key_Return, True, id="skip-enter"),
        pytest.param(lambda parent: ask_skip_finished(parent, 1, 3), Qt.Key.Key_Escape, None, id="skip-esc"),
        pytest.param(lambda parent: ask_replace(parent, ["clip.csv"]), Qt.Key.Key_Return, False, id="replace-enter"),
        pytest.param(lambda parent: ask_replace(parent, ["clip.csv"]), Qt.Key.Key_Escape, False, id="replace-esc"),
    ],
)
def test_enter_loses_no_file_and_esc_runs_nothing(qtbot, answered_by, ask, key, answer):
    """Enter, the default, passes over the files finished before (processing them again costs the time they took and
    draws their videos anew), and keeps the earlier exports (only Yes, clicked or chosen, replaces them: an Enter
    pressed for the export itself loses no file); Esc, like closing the box, starts no batch and replaces nothing."""
    parent = QWidget()
    qtbot.addWidget(parent)
    answered_by(key)
    assert ask(parent) is answer
