"""`wlitepose` / `wlitepose gui` where no window can open."""

import pytest

import main
from app.cli import check_display


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
