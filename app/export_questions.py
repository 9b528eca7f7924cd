"""What the window asks before it replaces or skips earlier exports, or stops a running one to close."""

from __future__ import annotations

from PySide6.QtWidgets import QMessageBox, QWidget

from app.export_job import listing
from app.export_panel import ExportPanel
from app.labels import breakable, keep_breaks_off_the_clipboard, message_room

STOP_EXPORT_TITLE = "Stop the export?"  # the question closing mid-export asks (a second signal answers it)


def ask_skip_finished(parent: QWidget, finished: int, count: int) -> bool | None:
    """Whether a batch passes over the files exported to their end before (a batch cancelled or cut off
    half-way, started again), processes them all again (another overlay for the videos), or is not run."""
    box = QMessageBox(
        QMessageBox.Icon.Question,
        "Files exported before",
        f"{finished} of these {count} files {'was' if finished == 1 else 'were'} exported to their end before, "
        "with this model and these settings. Skip them? The other files' earlier exports are replaced either way.",
        QMessageBox.StandardButton.Cancel,
        parent,
    )
    skip = box.addButton("Skip them", QMessageBox.ButtonRole.AcceptRole)
    again = box.addButton("Process all again", QMessageBox.ButtonRole.DestructiveRole)
    box.setDefaultButton(skip)
    box.exec()
    clicked = box.clickedButton()
    return True if clicked is skip else False if clicked is again else None


def _wrapped(parent: QWidget, text: str) -> str:
    """``text`` with break points in a file name wider than a question box: a long one ran past the screen's edge,
    and which files were meant with it (their endings), and the question, were lost."""
    keep_breaks_off_the_clipboard()
    return breakable(text, parent.fontMetrics(), message_room(parent))


def ask_replace(parent: QWidget, names: list[str]) -> bool:
    """Earlier exports of this source in the folder are replaced only when the user says so."""
    answer = QMessageBox.question(
        parent,
        "Replace earlier exports?",
        _wrapped(
            parent,
            f"{listing(names)} already {'exists' if len(names) == 1 else 'exist'} in the export folder. "
            f"Replace {'it' if len(names) == 1 else 'them'}?",
        ),
        QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
        QMessageBox.StandardButton.No,
    )
    return answer == QMessageBox.StandardButton.Yes


def ask_stop_export(panel: ExportPanel) -> bool:
    """Closing mid-export stops it (its files keep the frames done) only when the user says so."""
    batch = f"{panel.batch_file.full_text()} · " if panel.batch_file.isVisibleTo(panel) else ""
    answer = QMessageBox.question(
        panel.window(),
        STOP_EXPORT_TITLE,
        _wrapped(
            panel.window(),
            f"An export is running ({batch}{panel.eta.full_text()}). Stop it and close? "
            "Its files keep the frames done so far.",
        ),
        QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
        QMessageBox.StandardButton.No,
    )
    return answer == QMessageBox.StandardButton.Yes
