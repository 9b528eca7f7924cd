"""Keyboard shortcuts people know from video players and annotation tools."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import QWidget

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
    ("Ctrl+R", "record", "Start / stop recording"),
    ("Ctrl+S", "save_frame", "Save the frame as a PNG (export folder)"),
    ("Ctrl+E", "export", "Process the whole file"),
    ("Ctrl+Shift+E", "export_files", "Process several files"),
    ("B", "toggle_boxes", "Boxes on / off"),
    ("S", "toggle_scores", "Person scores on / off"),
    ("T", "toggle_trails", "Motion trails on / off"),
    ("M", "toggle_mirror", "Mirror view on / off"),
    ("F", "fullscreen", "Full screen"),
    ("F11", "fullscreen", "Full screen"),
    ("Esc", "leave_fullscreen", "Leave full screen"),
    ("Ctrl+Q", "quit", "Quit"),
    ("?", "help", "This list"),
    ("F1", "help", "This list"),
)


def install_shortcuts(window: QWidget, actions: dict[str, Callable[[], None]]) -> list[QShortcut]:
    """One QShortcut per entry of SHORTCUTS, calling actions[name]."""
    shortcuts = []
    for keys, name, _ in SHORTCUTS:
        shortcut = QShortcut(QKeySequence(keys), window)
        shortcut.activated.connect(actions[name])
        shortcuts.append(shortcut)
    return shortcuts


def shortcut_help() -> str:
    return "\n".join(f"{keys:<14} {text}" for keys, _, text in SHORTCUTS)
