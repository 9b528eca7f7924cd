"""GUI tests: offscreen Qt, QSettings in a temp folder, the shared videos (the untrained model: tests/conftest.py)."""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from app.pyside_fix import protect_singletons  # noqa: E402 (before any signal fires)

protect_singletons()

if TYPE_CHECKING:
    from app.main_window import MainWindow

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


@pytest.fixture(scope="session")
def play():
    """play(qtbot, w, source, frames): ``source`` opened in the window ``w``, once it has shown ``frames`` frames."""
    return _play


def _play(qtbot, w: MainWindow, source: Path, frames: int) -> None:
    start = w.frames_shown
    w.open_source(str(source))
    qtbot.waitUntil(lambda: w.frames_shown >= start + frames, timeout=30000)


@pytest.fixture(scope="session")
def set_thresholds():
    """set_thresholds(w, detection, keypoint): the window ``w``'s two thresholds set as its sliders would."""
    return _set_thresholds


def _set_thresholds(w: MainWindow, detection: float, keypoint: float) -> None:
    w.controls.detection.set_value(detection)
    w.controls.keypoint.set_value(keypoint)


@pytest.fixture(scope="session")
def collect_packets():
    """collect_packets(qtbot, w, count) -> list: the next ``count`` frames the window ``w`` shows, as they come."""
    return _collect_packets


def _collect_packets(qtbot, w: MainWindow, count: int) -> list:
    seen = []

    def gather() -> bool:
        packet = w.last_packet
        if packet is not None and (not seen or seen[-1] is not packet):
            seen.append(packet)
        return len(seen) >= count

    qtbot.waitUntil(gather, timeout=30000)
    return seen


@pytest.fixture
def held_inference(monkeypatch):
    """(hold, release): once ``hold`` is set, the next frame's inference waits until ``release`` is set (at the
    test's end at the latest: one that failed leaves no worker held)."""
    from core.session import PoseModel

    run, hold, release = PoseModel.run, threading.Event(), threading.Event()

    def held_run(self, blob):
        if hold.is_set():
            hold.clear()
            release.wait(20)
        return run(self, blob)

    monkeypatch.setattr(PoseModel, "run", held_run)
    yield hold, release
    release.set()


@pytest.fixture
def frames_folder(video, tmp_path) -> Path:
    """The first frames of vtest.avi as lossless PNGs: a short real clip that the window and the CLI read alike."""
    import cv2

    folder = tmp_path / "vtest_frames"
    folder.mkdir()
    capture = cv2.VideoCapture(str(video))
    for i in range(8):
        ok, image = capture.read()
        assert ok
        cv2.imwrite(str(folder / f"{i:04d}.png"), image)
    capture.release()
    return folder
