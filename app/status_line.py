"""The main window's status line: lines shown for a while, some held against the passing notes that follow them,
and each kept whole in the status bar's tooltip."""

from __future__ import annotations

import time

from PySide6.QtCore import QObject
from PySide6.QtWidgets import QStatusBar

# A held line (a saved recording's) is not replaced by the passing news that comes with it for this long.
STATUS_HOLD_S = 3.0


class StatusLine(QObject):
    def __init__(self, bar: QStatusBar) -> None:
        super().__init__(bar)
        self._bar = bar
        self._held_until = 0.0
        bar.messageChanged.connect(self._in_tooltip)

    def show(self, text: str, timeout_ms: int = 10000) -> None:
        self._bar.showMessage(text, timeout_ms)

    def hold(self, text: str, timeout_ms: int = 10000) -> None:
        """A line passing notes leave alone for a while (what changed without being asked for)."""
        self._bar.showMessage(text, timeout_ms)
        self._held_until = time.monotonic() + STATUS_HOLD_S

    def note(self, text: str) -> None:
        """A passing line, unless a line is held: where a recording just saved went matters more."""
        if time.monotonic() >= self._held_until:
            self._bar.showMessage(text, 5000)

    def withdraw(self, text: str) -> None:
        """``text`` off the line, if it is still the one shown (a line said since stays)."""
        if self._bar.currentMessage() == text:
            self._bar.clearMessage()

    def _in_tooltip(self, text: str) -> None:
        """Every line whole in the tooltip, where a narrow window cuts it (a path saved to, an image passed over),
        and kept there once the line has gone."""
        if text:
            self._bar.setToolTip(text)
