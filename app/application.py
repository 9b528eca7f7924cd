"""Start the app: QApplication, theme, settings, the window, and the first source and model."""

from __future__ import annotations

import os
import signal
import sys
import traceback
from pathlib import Path

from PySide6.QtCore import QObject, QSettings, QTimer, Signal
from PySide6.QtWidgets import QApplication, QMessageBox

from app.export_questions import STOP_EXPORT_TITLE
from app.main_window import MainWindow
from app.pyside_fix import protect_singletons
from app.theme import apply_theme
from core.assets import SAMPLE_CLIP
from core.sources import list_cameras
from core.stop_request import caught_signals


def default_source(cameras: list[int]) -> str | None:
    """The first webcam, else the bundled sample clip, else nothing."""
    if cameras:
        return str(cameras[0])
    return str(SAMPLE_CLIP) if SAMPLE_CLIP.is_file() else None


def start(window: MainWindow, source: str | None, model: str | None, cameras: list[int]) -> None:
    """Load the model and open the first source (both in the worker)."""
    window.load_model(model or window.settings.model)
    spec = source or default_source(cameras)
    if spec is None:
        window.view.clear(f"No webcam found and the sample clip {SAMPLE_CLIP} is missing: open a video or folder")
        return
    window.open_source(spec)


def run_app(source: str | None = None, model: str | None = None) -> int:
    protect_singletons()
    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setOrganizationName("WLitePose")
    app.setApplicationName("WLitePose")
    apply_theme(app)
    cameras = list_cameras() if source is None else []
    window = MainWindow(QSettings(), cameras)
    _show_uncaught_errors(window)
    if model is not None:
        model = str(Path(os.path.expanduser(model)).resolve())
    # queued before any close a signal asks for: a Ctrl-C at start still closes a window that asked for its source
    QTimer.singleShot(0, lambda: start(window, source, model, cameras))
    _close_on_signals(window)
    window.show()
    return app.exec()


class _ErrorRelay(QObject):
    """Lives in the GUI thread: its signal, emitted from the worker's thread, reaches the window queued."""

    raised = Signal(str)


def _close_on_signals(window: MainWindow) -> None:
    """Ctrl-C in the terminal, ``kill`` or the terminal closing close the window as its close button does
    (settings saved, a recording finished), any other question the window is asking left as Escape leaves it; a
    second one while the window asks whether to stop an export answers yes, as a second Ctrl-C stops `wlitepose
    track` (a logout's SIGKILL follows). Python runs its signal handlers between bytecodes, which an idle Qt event
    loop never reaches: a timer lets it in a few times a second."""

    def close(signum, frame) -> None:
        question = QApplication.activeModalWidget()
        if isinstance(question, QMessageBox) and question.windowTitle() == STOP_EXPORT_TITLE:  # the first's
            question.button(QMessageBox.StandardButton.Yes).click()
            return
        if question is not None:  # another the window waits on (replace earlier exports?): answered as Escape
            question.reject()  # does, which starts nothing; left open, it kept the app running with no window
        # closed from the event loop: a signal that came before it ran (a slow start) closed the window at once,
        # the loop's quit then came before the loop, which ran on for ever with no window and no worker
        QTimer.singleShot(0, window.close)

    for sig in caught_signals():  # the signals that stop `wlitepose track`
        signal.signal(sig, close)
    timer = QTimer(window)
    timer.timeout.connect(lambda: None)
    timer.start(200)


def _show_uncaught_errors(window: MainWindow) -> None:
    """An exception escaping a slot, in the GUI thread or the worker's, becomes a dialog and a stderr
    traceback, not a dead window; the dialog is always made in the GUI thread (widgets belong to it)."""
    relay = _ErrorRelay(window)
    relay.raised.connect(window.show_error)

    def hook(kind, error, tb) -> None:
        traceback.print_exception(kind, error, tb)
        relay.raised.emit(f"Unexpected {kind.__name__}: {error}")

    sys.excepthook = hook
