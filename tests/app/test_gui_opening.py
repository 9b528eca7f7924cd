"""Opening sources and models in the window: files, image folders, streams, webcams, the bundled clip and
items dropped on it, and what it says of one it cannot open.

An untrained model scores people near chance, so tests that need poses set both thresholds
to 0: the decoder then returns its best (meaningless) candidates, which is enough to check
that real results reach the overlay, the dashboard and the sinks.
"""

from __future__ import annotations

import csv
import json
import os
import shutil

import cv2
import numpy as np
import pytest
from PySide6.QtCore import QSettings, Qt
from PySide6.QtWidgets import QApplication

from app.main_window import MainWindow


def test_a_corrupt_file_is_an_error_message_not_a_crash(qtbot, window, video, tmp_path, play):
    broken = tmp_path / "broken.mp4"
    broken.write_bytes(b"\x00\x00\x00\x18ftypmp42" + os.urandom(4096))
    window.open_source(str(broken))
    qtbot.waitUntil(lambda: window.last_error != "", timeout=20000)
    assert window._error_box.isVisible() and window._error_box.text() == window.last_error
    window._error_box.close()
    play(qtbot, window, video, frames=2)  # still works afterwards


def test_play_with_nothing_open_says_what_to_open_first(qtbot, open_window, video):
    """No webcam and no sample clip: Play springs back, with a sentence that says why, not silently; pressed while a
    file opens, nothing is said against it."""
    w = open_window()
    w.transport.play_button.click()
    assert w.statusBar().currentMessage() == "Nothing to play: open a webcam, video, image folder or stream first"
    qtbot.waitUntil(lambda: not w.transport.play_button.isChecked())
    w.open_source(str(video))
    w.transport.play_button.click()  # before the worker has said it opened
    assert w.source is None and not w.statusBar().currentMessage().startswith("Nothing to play")


def test_looking_for_webcams_again_says_what_it_found(open_window, monkeypatch):
    """The look-again button with no webcam plugged in changed nothing on screen: nobody could tell it had looked."""
    from PySide6.QtWidgets import QPushButton

    import core.sources

    w = open_window()
    look_again = next(
        b for b in w.source_bar.findChildren(QPushButton) if b.accessibleName() == "Look for webcams again"
    )
    monkeypatch.setattr(core.sources, "list_cameras", list)
    look_again.click()
    assert w.statusBar().currentMessage() == "No webcam found: connect one and look again"
    monkeypatch.setattr(core.sources, "list_cameras", lambda: [0, 2])
    look_again.click()
    assert w.statusBar().currentMessage() == "Webcams found: 2" and w.source_bar.camera_box.isEnabled()


def test_a_source_that_fails_to_open_leaves_the_open_one_playing(qtbot, window, video, tmp_path, play):
    play(qtbot, window, video, frames=2)
    title = window.windowTitle()
    window.open_source(str(tmp_path / "missing.mp4"))
    qtbot.waitUntil(lambda: window.last_error != "", timeout=20000)
    assert "missing.mp4" in window.last_error
    assert window.source.spec == str(video) and window.windowTitle() == title
    assert not window._awaited  # the source playing on has its stalls said again
    start = window.frames_shown
    qtbot.waitUntil(lambda: window.frames_shown >= start + 2, timeout=20000)  # still playing
    assert window.transport.play_button.isChecked()


def test_a_name_too_long_to_be_a_path_is_refused_in_a_sentence(qtbot, open_window):
    w = open_window()
    w.open_source("a" * 300 + ".mp4")  # the window's look for the file raised "File name too long"
    qtbot.waitUntil(lambda: w.last_error != "", timeout=20000)
    assert "cannot be a file" in w.last_error and "\n" not in w.last_error
    assert w.settings.last_dir == "" and w.source is None


def test_a_source_and_a_model_whose_names_are_not_utf8_are_the_ones_opened(qtbot, open_window, model_path, tmp_path):
    """`wlitepose $'pics\\xff'` (a folder copied from an old archive) opened the folder pics beside it: the name
    went to the worker as a QString, which drops the bytes that are not UTF-8; a model so named was loaded, then
    exported with as another file."""
    try:
        folder = tmp_path / os.fsdecode(b"pics\xff")
        folder.mkdir()
        model = tmp_path / os.fsdecode(b"mod\xe8le.onnx")
        model.write_bytes(model_path.read_bytes())
    except (OSError, UnicodeError):
        pytest.skip("this file system takes only UTF-8 names")
    (tmp_path / "pics").mkdir()
    for name, images in ((folder, 1), (tmp_path / "pics", 3)):
        for n in range(images):
            cv2.imencode(".png", np.full((24, 32, 3), 90, np.uint8))[1].tofile(name / f"{n}.png")
    w = open_window()
    w.load_model(str(model))
    w.open_source(str(folder))
    qtbot.waitUntil(lambda: w.source is not None and w.model_path != "" or w.last_error != "", timeout=20000)
    assert w.last_error == "" and (w.source.spec, w.source.frame_count, w.model_path) == (str(folder), 1, str(model))


@pytest.mark.parametrize(
    ("name", "folder", "said"),
    [
        pytest.param("x.onnx", True, "model file {} is a folder; pass the .onnx file in it", id="folder"),
        pytest.param("m" * 300 + ".onnx", False, "cannot read model file {}: File name too long", id="name-too-long"),
    ],
)
def test_a_model_that_cannot_be_a_file_is_refused_in_a_sentence(
    qtbot, window, tmp_path, model_path, name, folder, said
):
    """A dropped folder x.onnx was "no longer exists", though it was there; the window's look for a name too long
    raised "File name too long": a settings file naming one stopped the start."""
    path = tmp_path / name
    if folder:
        path.mkdir()
    window.load_model(str(path))
    qtbot.waitUntil(lambda: window.last_error != "", timeout=30000)
    assert window.last_error == said.format(path)
    assert window.model_path == str(model_path)  # the model in use stays


def test_a_missing_bundled_model_is_explained(qtbot, monkeypatch, tmp_path):
    import app.settings

    monkeypatch.setattr(app.settings, "DEFAULT_MODEL", tmp_path / "absent.onnx")
    w = MainWindow(QSettings(), cameras=[])
    qtbot.addWidget(w)
    w.load_model("")
    assert "not installed" in w.controls.model_info.text()
    w.close()


def test_the_bundled_clip_shown_at_first_start_leaves_the_open_dialogs_where_they_were(qtbot, window, play):
    """Installed from a wheel, the first Open video… dialog opened inside site-packages/assets/samples."""
    from core.assets import SAMPLE_CLIP

    before = window.settings.last_dir
    play(qtbot, window, SAMPLE_CLIP, frames=1)
    assert window.settings.last_dir == before and window.source_bar.start_dir != str(SAMPLE_CLIP.parent)


def _drop(window, *paths) -> bool:
    """Files dragged from a file manager over the window and let go (or links, given as QUrl, from a browser);
    whether the window took them."""
    from PySide6.QtCore import QMimeData, QPoint, QPointF, QUrl
    from PySide6.QtGui import QDragEnterEvent, QDropEvent

    mime = QMimeData()
    mime.setUrls([path if isinstance(path, QUrl) else QUrl.fromLocalFile(str(path)) for path in paths])
    # a QPoint, as Qt declares it (PySide6 before 6.12 takes no QPointF there)
    enter = QDragEnterEvent(QPoint(100, 100), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton, Qt.NoModifier)
    QApplication.sendEvent(window, enter)
    if not (window.acceptDrops() and enter.isAccepted()):
        return False
    drop = QDropEvent(QPointF(100, 100), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton, Qt.NoModifier)
    QApplication.sendEvent(window, drop)
    return drop.isAccepted()


def test_a_video_or_a_model_dropped_on_the_window_opens_or_loads(qtbot, window, write_clip, model_path, tmp_path):
    first, second = write_clip(tmp_path / "first.avi", 3), write_clip(tmp_path / "second.avi", 3)
    assert _drop(window, first, second)
    qtbot.waitUntil(lambda: window.source is not None and window.source.spec == str(first), timeout=20000)
    assert "2 items dropped: first.avi opened" in window.statusBar().currentMessage()
    other = shutil.copy(model_path, tmp_path / "other.onnx")
    assert _drop(window, other)
    qtbot.waitUntil(lambda: window.model_path == str(other), timeout=30000)


def test_stream_links_dropped_together_are_named_without_their_password(open_window, tmp_path):
    """The status line named the first of several dropped links by its last path part: a stream's address with
    no path showed its password there."""
    from PySide6.QtCore import QUrl

    w = open_window()
    assert _drop(w, QUrl("http://user:secret@127.0.0.1:9"), tmp_path / "second.avi")
    said = w.statusBar().currentMessage()  # before the worker says the stream cannot be opened
    assert said.startswith("2 items dropped: http://user:***@127.0.0.1:9 opened") and "secret" not in said


def test_the_model_picker_opens_in_the_folder_of_the_model_in_use(window, model_path, monkeypatch):
    from PySide6.QtWidgets import QFileDialog

    opened = []
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *args: opened.append(args[2]) or ("", ""))
    window.controls.choose_model()
    assert opened == [str(model_path.parent)]


def test_looking_for_webcams_again_lists_those_plugged_in_since(open_window, monkeypatch):
    from PySide6.QtWidgets import QPushButton

    w = open_window()  # started with none
    box = w.source_bar.camera_box
    monkeypatch.setattr("core.sources.list_cameras", lambda: [0, 2])  # two plugged in meanwhile
    refresh = next(b for b in w.source_bar.findChildren(QPushButton) if b.accessibleName() == "Look for webcams again")
    refresh.click()
    assert box.isEnabled() and [box.itemText(row) for row in range(box.count())] == ["Webcam…", "Webcam 0", "Webcam 2"]


def test_a_folder_paused_and_given_another_rate_shows_its_frame_tracked_afresh(
    qtbot, window, frames_folder, play, set_thresholds
):
    set_thresholds(window, 0.0, 0.0)  # the untrained model's people, on every frame
    # every one of the 8 frames: kept to its 30 fps pace, a machine slower than 33 ms a frame skips most of them
    # and the folder ended before 4 were shown
    window.transport.keep_pace.setChecked(False)
    play(qtbot, window, frames_folder, frames=4)
    window.handle.set_playing(False)
    qtbot.waitUntil(lambda: not window.transport.play_button.isChecked())  # the worker's answer: it has stopped
    worker = window.handle.worker
    assert (worker._found[2].track_ids > 0).any()  # confirmed people on the paused frame
    window.handle.set_image_fps(10)
    qtbot.waitUntil(lambda: window.source.fps == 10, timeout=10000)
    frame, _, poses = worker._found  # what a recording started now would write first: a fresh run's first frame
    assert frame.timestamp_s == pytest.approx(frame.index / 10) and len(poses) and (poses.track_ids == -1).all()


def test_an_image_passed_over_as_a_folder_plays_is_said_in_the_status_line(qtbot, open_window, tmp_path):
    folder = tmp_path / "shots"
    folder.mkdir()
    for i in range(4):
        cv2.imwrite(str(folder / f"{i}.png"), np.zeros((48, 64, 3), np.uint8))
    (folder / "1.png").write_bytes(b"broken")
    w = open_window()
    w.transport.keep_pace.setChecked(False)  # kept to its pace, a loaded machine passes over 1.png unread, unsaid
    shown = []  # every message, not the one still shown: a note fades after 10 s
    w.statusBar().messageChanged.connect(shown.append)
    w.open_source(str(folder))
    said = f"Skipped {folder / '1.png'}: it cannot be read as an image."
    qtbot.waitUntil(lambda: said in shown, timeout=20000)
    qtbot.waitUntil(lambda: not w.transport.play_button.isChecked(), timeout=20000)  # the folder's end
    assert said in shown and w.last_error == ""  # not a box that holds the window


def test_an_image_folder_plays_at_the_frame_rate_set_for_it(
    qtbot, window, frames_folder, video, tmp_path, play, set_thresholds
):
    set_thresholds(window, 0.0, 0.0)  # the untrained model's people, on every frame
    window.export_panel.set_formats(("csv",))
    window.export_panel.folder.setText(str(tmp_path))
    play(qtbot, window, video, frames=1)
    assert not window.transport.fps_box.isVisibleTo(window)  # a video has its own rate
    play(qtbot, window, frames_folder, frames=1)
    # the video's frame in the worker's hands may be the one counted, and its frame 3 the one waited for below
    qtbot.waitUntil(lambda: window.source.images, timeout=10000)
    window.handle.set_playing(False)
    window.handle.seek(3)  # paused on frame 3
    qtbot.waitUntil(lambda: window.last_packet is not None and window.last_packet.index == 3, timeout=10000)
    assert window.transport.fps_box.isVisibleTo(window) and "· 30 fps ·" in window.source_bar.current.toolTip()
    window.export_panel.record_button.click()
    qtbot.waitUntil(lambda: window.export_panel.record_button.isChecked(), timeout=10000)
    box = window.transport.fps_box
    box.setFocus()
    box.selectAll()
    qtbot.keyClicks(box, "10")
    assert window.source.fps == 30  # typed: applied on Enter, not digit by digit
    qtbot.keyClick(box, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: window.source.fps == 10, timeout=10000)
    assert "· 10 fps ·" in window.source_bar.current.toolTip() and not box.hasFocus()  # the player's keys again
    # the recording's timestamps and sidecar were at 30 fps: it ends rather than mix two rates
    qtbot.waitUntil(lambda: not window.export_panel.record_button.isChecked(), timeout=10000)
    assert json.loads((tmp_path / "vtest_frames_live.csv.json").read_text())["fps"] == 30
    paused = window.handle.worker._last_frame  # tracked again on a change while paused: at the new rate
    assert paused.index == 3 and paused.timestamp_s == pytest.approx(0.3)

    box.setFocus()
    box.selectAll()
    qtbot.keyClicks(box, "12.5")  # no Enter: an export started now still takes the rate on screen
    window.export_file()
    qtbot.waitUntil(lambda: window.export_panel.job is None, timeout=60000)
    assert json.loads((tmp_path / "vtest_frames.csv.json").read_text())["fps"] == 12.5
    times = {row["frame"]: row["time_s"] for row in csv.DictReader((tmp_path / "vtest_frames.csv").open())}
    assert float(times["3"]) == pytest.approx(0.24)
    window.close()
    again = MainWindow(QSettings(), cameras=[])  # and the rate is remembered
    qtbot.addWidget(again)
    assert again.transport.image_fps() == 12.5
    again.close()


@pytest.mark.parametrize(
    "spec, name",
    [
        ("/home/me/videos/street.avi", "street.avi"),
        ("rtsp://admin:secret@192.168.1.20:554/stream1", "rtsp://admin:***@192.168.1.20:554/stream1"),
        ("/", "/"),  # a folder with no last part to name it by (a card's root, D:\ on Windows): named whole
    ],
)
def test_a_source_is_named_by_its_last_part_or_whole_where_it_has_none(spec, name):
    from app.main_window import _display_name

    assert _display_name(spec) == name


def _opened(w: MainWindow, spec) -> None:
    """The worker's word that ``spec`` opened (the window's side of it; no file is read)."""
    from app.frame_packet import SourceInfo

    w.handle.worker.opened.emit(SourceInfo(str(spec), 10.0, (64, 48), 8, False))


def _recent_actions(w: MainWindow) -> list:
    return [action for action in w.source_bar.recent_button.menu().actions() if action.data()]


def test_a_source_opened_is_offered_again_and_one_that_failed_is_not(qtbot, open_window, frames_folder, tmp_path):
    w = open_window()
    w.open_source(str(frames_folder))
    qtbot.waitUntil(lambda: w.source is not None, timeout=20000)
    w.open_source(str(tmp_path / "missing.mp4"))
    qtbot.waitUntil(lambda: w.last_error != "", timeout=20000)
    assert [action.data() for action in _recent_actions(w)] == [str(frames_folder)]
    entry = _recent_actions(w)[0]  # by its name, its folder beside it (shortened), whole in its tooltip
    assert entry.text().startswith("vtest_frames  —  /") and entry.toolTip() == str(frames_folder)


def test_recent_sources_come_newest_first_once_each_ten_at_most(open_window, tmp_path):
    """The same file reached another way (a link to it) moves up, not in twice; webcams (their own box) and the
    bundled clip (opened at every start without one) are not listed."""
    from core.assets import SAMPLE_CLIP

    files = [tmp_path / f"clip{n:02d}.mp4" for n in range(12)]
    for path in files:
        path.touch()
    link = tmp_path / "today.mp4"
    link.symlink_to(files[5])
    w = open_window()
    for path in files:
        _opened(w, path)
    _opened(w, link)
    _opened(w, "0")
    _opened(w, SAMPLE_CLIP)
    expected = [str(link)] + [str(files[n]) for n in (11, 10, 9, 8, 7, 6, 4, 3, 2)]
    assert [action.data() for action in _recent_actions(w)] == expected
    assert w.recent.entries() == expected  # kept as it changed, not at close


def test_choosing_a_recent_source_opens_it_as_its_button_does(open_window, frames_folder, monkeypatch):
    w = open_window()
    _opened(w, frames_folder)
    requested, asked = [], []
    w.source_bar.source_requested.connect(requested.append)
    monkeypatch.setattr(w.handle, "open", asked.append)
    _recent_actions(w)[0].trigger()
    assert requested == asked == [str(frames_folder)]
    assert w.statusBar().currentMessage() == f"Opening {frames_folder}…"


def test_a_recent_file_gone_since_is_said_and_taken_off_the_list(open_window, tmp_path, monkeypatch):
    kept, gone = tmp_path / "kept.mp4", tmp_path / "gone.mp4"
    kept.touch()
    gone.touch()
    w = open_window()
    _opened(w, kept)
    _opened(w, gone)
    gone.unlink()
    asked = []
    monkeypatch.setattr(w.handle, "open", asked.append)
    _recent_actions(w)[0].trigger()
    assert asked == [] and w.statusBar().currentMessage() == f"{gone} is no longer there: taken off the recent list."
    assert [action.data() for action in _recent_actions(w)] == w.recent.entries() == [str(kept)]


def test_clear_list_empties_the_recent_menu(open_window, tmp_path):
    (tmp_path / "a.mp4").touch()
    w = open_window()
    _opened(w, tmp_path / "a.mp4")
    clear = next(a for a in w.source_bar.recent_button.menu().actions() if a.text() == "Clear list")
    clear.trigger()
    assert _recent_actions(w) == [] and w.recent.entries() == []
    menu = [(a.text(), a.isEnabled()) for a in w.source_bar.recent_button.menu().actions() if not a.isSeparator()]
    assert menu == [("No source opened yet", False), ("Clear list", False)]


def test_a_recent_stream_opens_and_is_not_taken_for_a_file_gone(open_window, monkeypatch):
    w = open_window()
    _opened(w, "rtsp://cam.local/live")
    asked = []
    monkeypatch.setattr(w.handle, "open", asked.append)
    _recent_actions(w)[0].trigger()
    assert asked == ["rtsp://cam.local/live"] and w.recent.entries() == ["rtsp://cam.local/live"]


def test_a_source_opened_by_a_relative_name_is_remembered_where_it_is(open_window, tmp_path, monkeypatch):
    """``wlitepose gui clip.mp4``: the list holds the file, not "clip.mp4" wherever the next start runs."""
    (tmp_path / "clip.mp4").touch()
    monkeypatch.chdir(tmp_path)
    w = open_window()
    _opened(w, "clip.mp4")
    assert w.recent.entries() == [str(tmp_path / "clip.mp4")]


def test_an_ampersand_in_a_recent_name_is_shown_not_taken_for_a_shortcut_key(open_window, tmp_path):
    """One "&" in a menu entry underlines the next letter and is not shown: doubled, it shows as typed."""
    folder = tmp_path / "Tom & Jerry"
    folder.mkdir()
    (folder / "a&b.mp4").touch()
    w = open_window()
    _opened(w, folder / "a&b.mp4")
    _opened(w, "http://cam.local/video?user=admin&channel=1")
    texts = [action.text() for action in _recent_actions(w)]
    assert texts[0] == "http://cam.local/video?user=admin&&channel=1"
    assert texts[1].startswith("a&&b.mp4  —  ") and texts[1].endswith("Tom && Jerry")


def test_the_recent_menu_fits_a_full_hd_screen_at_200_percent_with_long_names(
    open_window, tmp_path, fits_full_hd_at_200_percent
):
    """A long file name, folder or stream link is shortened in the middle, each whole in its entry's tooltip: the
    menu ran off the screen, the folder of a long-named file out of sight; a tab in a name is no shortcut column."""
    deep = tmp_path.joinpath(*["folder"] * 40)
    deep.mkdir(parents=True)
    long_name = deep / ("interview_" + "x" * 200 + ".mp4")
    tabbed = tmp_path / "take\t2.mp4"
    for path in (long_name, tabbed):
        path.touch()
    w = open_window()
    for spec in (long_name, tabbed, "http://cam.local/live?" + "&".join(f"camera{n}=front" for n in range(30))):
        _opened(w, spec)
    assert fits_full_hd_at_200_percent(w.source_bar.recent_button.menu().sizeHint())
    assert all("\t" not in action.text() for action in _recent_actions(w))
    assert str(long_name) in [action.toolTip() for action in _recent_actions(w)]


def test_opening_a_source_resolves_no_other_remembered_path(open_window, tmp_path, monkeypatch):
    """A remembered file on a share that no longer answers held the window up at its start and at each source
    opened, for a lost server's timeout each time its path was resolved (twice a source): only the one that
    opened is resolved, and a link to a remembered file still takes its place."""
    from pathlib import Path

    files = [tmp_path / f"clip{n}.mp4" for n in range(3)]
    for path in files:
        path.touch()
    (tmp_path / "today.mp4").symlink_to(files[0])
    first = open_window()
    for path in files[:2]:
        _opened(first, path)
    first.close()
    resolved, real = [], Path.resolve
    monkeypatch.setattr(Path, "resolve", lambda self, *args: resolved.append(str(self)) or real(self, *args))
    w = open_window()
    _opened(w, files[2])
    _opened(w, tmp_path / "today.mp4")
    assert [path for path in resolved if path in (str(files[0]), str(files[1]))] == []
    assert w.recent.entries() == [str(tmp_path / "today.mp4"), str(files[2]), str(files[1])]
