"""GUI tests: offscreen Qt, QSettings in a temp folder, the shared videos (the untrained model: tests/conftest.py)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from app.pyside_fix import protect_singletons  # noqa: E402 (before any signal fires)

protect_singletons()

VIDEOS = Path(__file__).resolve().parents[3] / "shared" / "data" / "videos"


@pytest.fixture(autouse=True)
def no_window_left_open():
    """Every main window a test left open is closed after it: an open window is kept with its threads running (see
    app.main_window), and the next tests would share the CPU with its video."""
    yield
    from PySide6.QtWidgets import QApplication

    from app.main_window import MainWindow

    if QApplication.instance() is not None:
        for window in QApplication.topLevelWidgets():
            if isinstance(window, MainWindow):
                window.close()


@pytest.fixture
def shown_picture(qtbot):
    """show(view_size, picture_size, *hud, colour=red): a video view of ``view_size`` showing a plain picture of
    ``picture_size`` (and the heads-up line, if given): (the view, what it painted)."""
    from PySide6.QtGui import QImage

    from app.video_view import VideoView

    def show(view_size: tuple[int, int], picture_size: tuple[int, int], *hud: str, colour: int = 0xFF0000):
        view = VideoView()
        qtbot.addWidget(view)
        view.resize(*view_size)
        image = QImage(*picture_size, QImage.Format.Format_RGB888)
        image.fill(colour)
        view.show_image(image, *hud)
        return view, view.grab().toImage()

    return show


@pytest.fixture
def fits_full_hd_at_200_percent():
    """fits(size): whether a window or dialog of ``size`` fits a 1920x1080 screen at 200 % (960x540 logical
    pixels, less a taskbar)."""
    return lambda size: size.width() <= 960 and size.height() <= 540 - 48


@pytest.fixture
def open_window(qtbot, qapp):
    """``open_window(settings=None)``: the themed window with nothing open (with ``settings`` saved first), shown
    and active."""
    from PySide6.QtCore import QSettings

    from app.main_window import MainWindow
    from app.settings import save_settings
    from app.theme import apply_theme

    apply_theme(qapp)

    def make(settings=None):
        if settings is not None:
            save_settings(QSettings(), settings)
        w = MainWindow(QSettings(), cameras=[])
        qtbot.addWidget(w)
        w.show()
        w.activateWindow()
        qtbot.waitActive(w)
        return w

    return make


def pytest_collection_modifyitems(items):
    for item in items:
        if Path(str(item.fspath)).parent == Path(__file__).parent:
            item.add_marker(pytest.mark.gui)


@pytest.fixture(autouse=True)
def settings_in_tmp(tmp_path, qapp):
    """Every test starts with empty settings, kept in its own temp folder."""
    from PySide6.QtCore import QSettings

    qapp.setOrganizationName("WLitePoseTest")
    qapp.setApplicationName("WLitePoseTest")
    QSettings.setDefaultFormat(QSettings.Format.IniFormat)
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, str(tmp_path / "settings"))
    yield


@pytest.fixture
def window(qtbot, qapp, model_path):
    """The themed main window (as `wlitepose gui` shows it) with the untrained model loaded."""
    from PySide6.QtCore import QSettings

    from app.main_window import MainWindow
    from app.theme import apply_theme

    apply_theme(qapp)
    w = MainWindow(QSettings(), cameras=[])
    qtbot.addWidget(w)
    w.show()
    w.load_model(str(model_path))
    # wait on GUI-side state: pytest-qt's waitSignal would run its callback in the worker thread
    qtbot.waitUntil(lambda: w.model_path == str(model_path), timeout=30000)
    yield w
    w.export_panel.stop()  # a test that failed mid-export: closing would ask about it, and nobody answers
    w.close()


@pytest.fixture
def qt_messages():
    """The messages Qt gives while the test runs (qWarning and the like, from any thread), as "QtWarningMsg: text",
    taken from the handler that would print them."""
    from PySide6.QtCore import qInstallMessageHandler

    said: list[str] = []
    previous = qInstallMessageHandler(lambda kind, context, text: said.append(f"{kind.name}: {text}"))
    yield said
    qInstallMessageHandler(previous)


@pytest.fixture
def video() -> Path:
    path = VIDEOS / "vtest.avi"
    if not path.is_file():
        pytest.skip("../shared/data/videos is not here")
    return path


@pytest.fixture(autouse=True)
def no_unexpected_questions(monkeypatch):
    """A modal question nobody answers would hang the suite: fail instead (tests that expect one patch it)."""
    from PySide6.QtWidgets import QMessageBox

    def unexpected(parent, title, text, *args, **kwargs):
        raise AssertionError(f"unexpected dialog: {title}: {text}")

    monkeypatch.setattr(QMessageBox, "question", unexpected)
    monkeypatch.setattr(QMessageBox, "exec", lambda box: unexpected(None, box.windowTitle(), box.text()))


@pytest.fixture
def clip_worker(qapp):
    """``clip_worker(model=None, config=None)``: a PoseWorker on the sample clip (120 frames, 10 fps), driven
    in the test's thread with its timer stopped (the test ticks by hand), closed after the test."""
    from app.worker import PoseWorker

    clip = Path(__file__).resolve().parents[2] / "assets" / "samples" / "vtest_clip.mp4"
    if not clip.is_file():
        pytest.skip("the sample clip is not installed")
    made = []

    def make(model=None, config=None) -> PoseWorker:
        w = PoseWorker()
        w.start()
        w.errors, w.notices = [], []
        w.error.connect(w.errors.append)
        w.notice.connect(w.notices.append)
        if model is not None:
            w.load_model(str(model), config)
        w.open(str(clip))
        w._timer.stop()
        made.append(w)
        return w

    yield make
    for w in made:
        w.stop_recording()
        w._close_source()
