"""The questions before an export replaces or skips earlier files: Enter gives the answer that loses nothing, Esc
runs nothing."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QApplication, QMessageBox, QWidget

from app.export_questions import ask_replace, ask_skip_finished

ASKING = {"question": QMessageBox.question, "exec": QMessageBox.exec}  # before conftest turns them off


def answered_by(qtbot, monkeypatch, key) -> None:
    """The question about to open is asked for real and answered by pressing ``key`` in it."""
    for name, method in ASKING.items():
        monkeypatch.setattr(QMessageBox, name, method)

    def press(tries: int = 100) -> None:
        box = QApplication.activeModalWidget()
        if box is None and tries:  # not open yet: looked for again, for a second at most (never in a later test)
            QTimer.singleShot(10, lambda: press(tries - 1))
        elif box is not None:
            qtbot.keyClick(box, key)

    QTimer.singleShot(0, press)


@pytest.mark.parametrize(
    ("key", "answer"), [(Qt.Key.Key_Return, True), (Qt.Key.Key_Escape, None)], ids=["enter", "esc"]
)
def test_enter_skips_the_files_finished_before_and_esc_runs_nothing(qtbot, monkeypatch, key, answer):
    """Enter, the default, passes over the files finished before (processing them again costs the time they took and
    draws their videos anew); Esc, like closing the box, starts no batch."""
    parent = QWidget()
    qtbot.addWidget(parent)
    answered_by(qtbot, monkeypatch, key)
    assert ask_skip_finished(parent, 1, 3) is answer


@pytest.mark.parametrize("key", [Qt.Key.Key_Return, Qt.Key.Key_Escape], ids=["enter", "esc"])
def test_enter_or_esc_keeps_the_earlier_exports(qtbot, monkeypatch, key):
    """Only Yes, clicked or chosen, replaces them: an Enter pressed for the export itself loses no file."""
    parent = QWidget()
    qtbot.addWidget(parent)
    answered_by(qtbot, monkeypatch, key)
    assert ask_replace(parent, ["clip.csv"]) is False
