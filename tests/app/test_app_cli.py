"""`wlitepose` / `wlitepose gui` where no window can open."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import cv2
import numpy as np
import pytest

import main
from app.cli import check_display

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    "environ, platform, refused",
    [
        ({}, "linux", True),
        ({"DISPLAY": ""}, "linux", True),
        ({"DISPLAY": ":0"}, "linux", False),
        ({"WAYLAND_DISPLAY": "wayland-0"}, "linux", False),
        ({"QT_QPA_PLATFORM": "offscreen"}, "linux", False),
        ({"QT_QPA_PLATFORM": "vnc:size=800x600"}, "linux", False),
        ({"QT_QPA_PLATFORM": "xcb"}, "linux", True),
        ({"QT_QPA_PLATFORM": "wayland"}, "linux", True),
        ({"QT_QPA_PLATFORM": "wayland-egl"}, "linux", True),
        ({"QT_QPA_PLATFORM": "wayland;xcb"}, "linux", True),
        ({"QT_QPA_PLATFORM": "xcb;offscreen"}, "linux", False),
        ({}, "win32", False),
        ({}, "darwin", False),
    ],
)
def test_the_app_is_refused_only_where_linux_has_no_screen(environ, platform, refused):
    if refused:
        with pytest.raises(Exception, match="no display"):
            check_display(environ, platform)
    else:
        check_display(environ, platform)


def test_no_screen_gives_one_line_and_exit_2_instead_of_a_qt_abort(monkeypatch, capsys):
    for name in ("QT_QPA_PLATFORM", "DISPLAY", "WAYLAND_DISPLAY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr("sys.platform", "linux")
    monkeypatch.setattr("app.application.run_app", lambda **_: pytest.fail("the window was started"))
    assert main.main([]) == 2
    err = capsys.readouterr().err
    assert err.startswith("wlitepose: error: no display") and err.count("\n") == 1
    assert "wlitepose track" in err


def handles_stop_signals(pid: int) -> bool:
    """Whether process ``pid`` has its own handlers for SIGTERM and SIGHUP (the last the app installs) in place;
    where /proc does not say, after a generous wait."""
    try:
        caught = int(Path(f"/proc/{pid}/status").read_text().split("SigCgt:")[1].split()[0], 16)
    except FileNotFoundError:
        return False  # the process has ended
    except (OSError, IndexError):  # no /proc (macOS, Windows)
        time.sleep(30)
        return True
    return all(caught & (1 << (sig - 1)) for sig in (signal.SIGTERM, signal.SIGHUP))


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_ctrl_c_or_kill_closes_the_app_as_its_window_would_settings_saved(tmp_path, sig):
    """Before, Ctrl-C became an 'Unexpected KeyboardInterrupt' dialog and the app ran on; kill lost the session."""
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "XDG_CONFIG_HOME": str(tmp_path / "config")}
    folder = tmp_path / "frames"  # a small source, so the window is up at once
    folder.mkdir()
    cv2.imwrite(str(folder / "a.png"), np.zeros((48, 64, 3), np.uint8))
    app = subprocess.Popen([sys.executable, str(ROOT / "main.py"), "gui", str(folder)], env=env, cwd=tmp_path,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)  # fmt: skip
    settings = tmp_path / "config" / "WLitePose" / "WLitePose.conf"
    # once the app handles the signals (its source asked for before): a fixed 6 s was before its imports ended on
    # a loaded machine (13 s), and the signal killed it (-15) or interrupted the imports (130)
    deadline = time.monotonic() + 300
    while not handles_stop_signals(app.pid) and app.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    app.send_signal(sig)
    out, err = app.communicate(timeout=120)
    assert app.returncode == 0, err
    assert "KeyboardInterrupt" not in err and f"last_dir={folder}" in settings.read_text()


def test_ctrl_c_while_the_window_is_built_is_said_and_exits_130(tmp_path):
    """A Ctrl-C while Qt ran one of the window's own event handlers as the window was built, before the app took
    the signals: the KeyboardInterrupt crossed Qt and the app crashed (SIGSEGV). The signal is sent from the first
    changeEvent, which Qt runs while MainWindow is made."""
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "XDG_CONFIG_HOME": str(tmp_path / "config")}
    folder = tmp_path / "frames"
    folder.mkdir()
    cv2.imwrite(str(folder / "a.png"), np.zeros((48, 64, 3), np.uint8))
    code = (
        "import os, signal, sys, main; from app.main_window import MainWindow; seen = MainWindow.changeEvent\n"
        "def first(self, event):\n"
        "    MainWindow.changeEvent = seen\n"
        "    os.kill(os.getpid(), signal.SIGINT)\n"
        "    seen(self, event)\n"
        "MainWindow.changeEvent = first\n"
        f"sys.exit(main.main(['gui', {str(folder)!r}]))\n"
    )
    app = subprocess.run([sys.executable, "-c", code], env=env, cwd=ROOT, capture_output=True, text=True, timeout=120,
                         preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))  # fmt: skip
    assert app.returncode == 128 + signal.SIGINT, app.stderr
    assert "wlitepose: interrupted" in app.stderr and "Traceback" not in app.stderr


def test_a_model_given_on_the_command_line_that_does_not_load_is_one_sentence(tmp_path, capsys):
    (tmp_path / "typo.onnx").write_bytes(b"not a model")
    for path in (tmp_path / "missing.onnx", tmp_path / "typo.onnx"):
        assert main.main(["gui", "--model", str(path)]) == 2
        err = capsys.readouterr().err
        assert err.startswith("wlitepose: error: ") and str(path) in err and err.count("\n") == 1


def started_with(source, model, cameras) -> list[tuple[str, str]]:
    """What app.application.start asks a window with a model in its settings to load and open, in order."""
    from app.application import start

    asked = []
    window = SimpleNamespace(
        settings=SimpleNamespace(model="last_used.onnx"),
        load_model=lambda path: asked.append(("model", path)),
        open_source=lambda spec: asked.append(("source", spec)),
        view=SimpleNamespace(clear=lambda placeholder: asked.append(("placeholder", placeholder))),
    )
    start(window, source, model, cameras)
    return asked


def test_the_app_starts_with_the_model_given_over_the_last_one_and_on_the_first_webcam():
    assert started_with(None, "given.onnx", [0, 2]) == [("model", "given.onnx"), ("source", "0")]
    assert started_with("clip.mp4", None, []) == [("model", "last_used.onnx"), ("source", "clip.mp4")]


def test_the_app_without_a_webcam_opens_the_sample_clip_and_says_so_where_it_is_missing(monkeypatch, tmp_path):
    from core.assets import SAMPLE_CLIP

    if not SAMPLE_CLIP.is_file():
        pytest.skip("the sample clip is not installed")
    assert started_with(None, None, []) == [("model", "last_used.onnx"), ("source", str(SAMPLE_CLIP))]
    gone = tmp_path / "vtest_clip.mp4"
    monkeypatch.setattr("app.application.SAMPLE_CLIP", gone)
    placeholder = f"No webcam found and the sample clip {gone} is missing: open a video or folder"
    assert started_with(None, None, []) == [("model", "last_used.onnx"), ("placeholder", placeholder)]


def test_an_empty_model_on_the_command_line_is_refused_before_the_window(monkeypatch, capsys):
    """`wlitepose gui --model "$MODEL"` with MODEL unset opened the window on the current folder as the model."""
    monkeypatch.setattr("app.application.run_app", lambda **_: pytest.fail("the window was started"))
    assert main.main(["gui", "--model", ""]) == 2
    assert "no model file given" in capsys.readouterr().err


def test_a_model_given_on_the_command_line_reaches_the_app(monkeypatch):
    """`wlitepose gui --model mine.onnx` opened the bundled model (or the last one used) if the model stopped
    at the command line."""
    from core.assets import DEFAULT_MODEL

    started = []
    monkeypatch.setenv("QT_QPA_PLATFORM", "offscreen")
    monkeypatch.setattr("app.application.run_app", lambda **given: started.append(given) or 0)
    assert main.main(["gui", "clip.mp4", "--model", str(DEFAULT_MODEL)]) == 0
    assert started == [{"source": "clip.mp4", "model": str(DEFAULT_MODEL)}]


def app_started(monkeypatch, source, model, cameras) -> tuple:
    """(source, model, cameras) that run_app hands to start, with the window, Qt and the webcams stood in for."""
    import app.application as application

    class App:
        instance = staticmethod(lambda: App())
        setOrganizationName = setApplicationName = lambda self, name: None  # noqa: E731
        exec = lambda self: 0  # noqa: E731

    class Timer:
        singleShot = staticmethod(lambda delay, call: call())

    handed = []
    monkeypatch.setattr(application, "QApplication", App)
    monkeypatch.setattr(application, "QTimer", Timer)
    monkeypatch.setattr(application, "apply_theme", lambda app: None)
    monkeypatch.setattr(application, "MainWindow", lambda settings, cameras: SimpleNamespace(show=lambda: None))
    monkeypatch.setattr(application, "_show_uncaught_errors", lambda window: None)
    monkeypatch.setattr(application, "_close_on_signals", lambda window: None)
    monkeypatch.setattr(application, "list_cameras", lambda: cameras)
    monkeypatch.setattr(application, "start", lambda window, *given: handed.append(given))
    assert application.run_app(source, model) == 0
    return handed[0]


def test_the_app_keeps_a_model_given_by_a_relative_path_as_its_full_path(monkeypatch, tmp_path):
    """The app saves the model it loads for its next start: `--model ../mine.onnx` kept as given was saved so,
    and from another folder the next start found no such file and took the bundled model."""
    (tmp_path / "mine.onnx").touch()
    (tmp_path / "run").mkdir()
    monkeypatch.chdir(tmp_path / "run")
    assert app_started(monkeypatch, "clip.mp4", "../mine.onnx", [0]) == ("clip.mp4", str(tmp_path / "mine.onnx"), [])


def test_the_app_started_without_a_source_lists_the_webcams_and_opens_the_first(monkeypatch):
    assert app_started(monkeypatch, None, None, [0, 2]) == (None, None, [0, 2])
