"""Keyboard shortcuts people know from video players and annotation tools."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import QAbstractButton, QAbstractSlider, QComboBox, QPushButton, QWidget

# (keys, action name, what it does); the window maps each action name to a callable; `?` lists them
SHORTCUTS: tuple[tuple[str, str, str], ...] = (
    ("Space", "play_pause", "Play / pause"),
    ("K", "play_pause", "Play / pause"),
    ("Right", "step_forward", "One frame forward"),
    ("Left", "step_back", "One frame back"),
    ("Shift+Right", "jump_forward", "Ten frames forward"),
    ("Shift+Left", "jump_back", "Ten frames back"),
    ("Home", "seek_start", "First frame"),
    ("End", "seek_end", "Last frame"),
    ("]", "faster", "Faster playback"),
    ("[", "slower", "Slower playback"),
    ("Ctrl+O", "open_video", "Open a video"),
    ("Ctrl+Shift+O", "open_folder", "Open an image folder"),
    ("Ctrl+Shift+R", "open_recent", "Open a recent source"),
    ("Ctrl+R", "record", "Start / stop recording"),
    ("Ctrl+S", "save_frame", "Save the frame as a PNG (export folder)"),
    ("Ctrl+E", "export", "Process the whole file"),
    ("Ctrl+Shift+E", "export_files", "Process several files"),
    ("B", "toggle_boxes", "Boxes on / off"),
    ("S", "toggle_scores", "Person scores on / off"),
    ("T", "toggle_trails", "Motion trails on / off"),
    ("M", "toggle_mirror", "Mirror view on / off"),
    ("H", "toggle_panels", "Hide / show the side and latency panels (the picture larger)"),
    ("F", "fullscreen", "Full screen"),
    ("F11", "fullscreen", "Full screen"),
    ("Esc", "leave_fullscreen", "Leave full screen"),
    ("Ctrl+Q", "quit", "Quit"),
    ("?", "help", "This list"),
    ("F1", "help", "This list"),
)


# the keys a focused control uses itself, which a window's single-key shortcut must not take from it
_OWN_KEYS = (
    (QAbstractButton, {Qt.Key.Key_Space}),
    (QComboBox, {Qt.Key.Key_Space}),
    (QAbstractSlider, {Qt.Key.Key_Left, Qt.Key.Key_Right, Qt.Key.Key_Home, Qt.Key.Key_End}),
)
# keys that on a closed list box choose another item at once (Home and End go to the window: first, last frame)
_STEP_KEYS = {Qt.Key.Key_Up, Qt.Key.Key_Down, Qt.Key.Key_PageUp, Qt.Key.Key_PageDown}


def _plain(event) -> bool:
    return event.modifiers() & ~Qt.KeyboardModifier.KeypadModifier == Qt.KeyboardModifier.NoModifier


class _FocusedControlKeys(QObject):
    """Space presses the focused button or ticks the focused box, arrows move the focused slider: a
    ShortcutOverride accepted by the focused widget keeps the key from the window's shortcuts."""

    def eventFilter(self, obj, event) -> bool:  # noqa: N802 (Qt override)
        if event.type() == QEvent.Type.ShortcutOverride and _plain(event):
            if any(isinstance(obj, kind) and event.key() in keys for kind, keys in _OWN_KEYS):
                event.accept()
                return True
        return False


class _ChoiceInList(QObject):
    """A closed list box whose every choice costs (a model load, a webcam opened, a recording ended) opens its
    list for the arrow keys, and takes no wheel turn, rather than choosing each item passed over."""

    def eventFilter(self, obj, event) -> bool:  # noqa: N802 (Qt override)
        if event.type() == QEvent.Type.Wheel:
            return True
        if event.type() == QEvent.Type.KeyPress and event.key() in _STEP_KEYS and _plain(event):
            obj.showPopup()
            return True
        return False


def choose_in_list(box: QComboBox) -> None:
    """Make ``box`` choose only from its opened list (Enter or a click there), see _ChoiceInList."""
    box.installEventFilter(_ChoiceInList(box))


def install_shortcuts(window: QWidget, actions: dict[str, Callable[[], None]]) -> list[QShortcut]:
    """One QShortcut per entry of SHORTCUTS, calling actions[name], each giving way to the keys the window's
    focused control uses itself (call once the window's controls exist). Enter presses the focused button, as
    Space does: Qt gives Enter to buttons in dialogs only, and outside one it did nothing."""
    own_keys = _FocusedControlKeys(window)
    for widget in window.findChildren(QWidget):
        if isinstance(widget, tuple(kind for kind, _ in _OWN_KEYS)):
            widget.installEventFilter(own_keys)
        if isinstance(widget, QPushButton):
            widget.setAutoDefault(True)
    shortcuts = []
    for keys, name, _ in SHORTCUTS:
        shortcut = QShortcut(QKeySequence(keys), window)
        shortcut.activated.connect(actions[name])
        shortcuts.append(shortcut)
    return shortcuts


def shortcut_help() -> str:
    """Every shortcut, the keys of one action on one line, in two columns: one column of 26 lines was taller
    than a 1920x1080 screen at 200 %."""
    actions: dict[str, tuple[list[str], str]] = {}
    for keys, action, text in SHORTCUTS:
        actions.setdefault(action, ([], text))[0].append(keys)
    lines = [f"{', '.join(keys):<13} {text}" for keys, text in actions.values()]
    half = (len(lines) + 1) // 2
    left, right = lines[:half], lines[half:]
    width = max(map(len, left)) + 3
    return "\n".join(f"{a:<{width}}{b}".rstrip() for a, b in zip(left, right + [""], strict=False))
