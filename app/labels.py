"""Labels for text the app does not choose (file and folder names, a model's metadata, messages naming them):
they give way to the window, never the window to them."""

from __future__ import annotations

from collections import deque

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QClipboard, QFontMetrics, QGuiApplication
from PySide6.QtWidgets import QLabel, QWidget

BREAK = "\u200b"  # zero-width space: where a word-wrapped label may break a word that has no space in it
_AFTER = "/\\_-.,:;"  # a long word breaks after these first: a path at its folders, a variant at its parts
_BROKEN: deque[str] = deque(maxlen=16)  # the texts lately broken, whose copies the clipboard gets clean


def breakable(text: str, metrics: QFontMetrics, room: int) -> str:
    """``text`` with invisible break points in each word wider than ``room`` pixels, so that a word-wrapped
    label wraps it rather than widening to it, or cutting it off where its width is capped (Qt wraps at spaces
    only; a message box's own wrap-anywhere for text wider than the screen never takes effect). A word that
    fits is left as it is."""
    broken = " ".join(
        _broken(word, metrics, room) if metrics.horizontalAdvance(word) > room else word for word in text.split(" ")
    )
    if broken != text:
        _BROKEN.append(text)
    return broken


def _broken(word: str, metrics: QFontMetrics, room: int) -> str:
    out, run = [], ""
    for char in word:
        if run and metrics.horizontalAdvance(run + char) > room:  # a run without a separator: broken anywhere
            out.append(BREAK)
            run = ""
        out.append(char)
        run += char
        if char in _AFTER:
            out.append(BREAK)
            run = ""
    return "".join(out)


def message_room(widget: QWidget) -> int:
    """The widest a message box's text may be on ``widget``'s screen (Qt's limit: the screen's width up to 1024 px,
    else 480 px less up to 1000, less the icon and margins): a path wider than this, with no space to wrap at, was
    cut off mid-word, the rest of the message lost."""
    screen = (widget.screen() or QGuiApplication.primaryScreen()).availableGeometry().width()
    return (screen if screen <= 1024 else min(screen - 480, 1000)) - 120


def keep_breaks_off_the_clipboard() -> None:
    """Text copied from what ``breakable`` broke (a path selected in a message box and copied) goes to the
    clipboard without the break points: pasted into a shell, an invisible character in a path names another
    file. Only such text is touched, never what another program put there; once per application."""
    clipboard = QGuiApplication.clipboard()
    if clipboard is None or clipboard.property("wlitepose_clean"):
        return
    clipboard.setProperty("wlitepose_clean", True)

    def clean(mode: QClipboard.Mode) -> None:
        text = clipboard.text(mode)
        if BREAK in text and any(text.replace(BREAK, "") in whole for whole in _BROKEN):
            clipboard.setText(text.replace(BREAK, ""), mode)

    clipboard.changed.connect(clean)


class NameLabel(QLabel):
    """A name and what follows it on one line that gives way to its layout: a long name is shortened in its
    middle (…) to the room left, the details kept whole while they fit, and the whole line in the tooltip (or
    the tooltip given). A 90-letter file name in full took the window past a 1920-px screen at 150 %; in the
    side panel a batch's file name took the panel wider than its scroll area, which cut off the right-hand
    side of every control in it, and in the status bar a model's name left no room for the status line."""

    SHORTEST = "MMMMMMMMMM"  # the label never shrinks below about this
    LONGEST = "x" * 48  # nor asks for more than this before its neighbours have their room

    def __init__(self, text: str = "") -> None:
        super().__init__(text)
        self.setTextFormat(Qt.TextFormat.PlainText)  # a file named <img src=...>.mp4 is a name, never HTML
        self._name, self._details = text, ""

    def show_name(self, name: str, details: str = "", tooltip: str | None = None) -> None:
        self._name, self._details = name, details
        self.setToolTip(f"{name}{details}" if tooltip is None else tooltip)
        self._fit()
        self.updateGeometry()

    def full_text(self) -> str:
        """The line as given, however much of it is shown."""
        return self._name + self._details

    def sizeHint(self) -> QSize:  # noqa: N802 (Qt override)
        width = min(self._advance(self._name + self._details), self._advance(self.LONGEST))
        return QSize(width, super().sizeHint().height())

    def minimumSizeHint(self) -> QSize:  # noqa: N802 (Qt override)
        least = self._advance(self.SHORTEST)
        return QSize(min(least, self.sizeHint().width()), super().minimumSizeHint().height())

    def resizeEvent(self, event) -> None:  # noqa: N802 (Qt override)
        super().resizeEvent(event)
        self._fit()

    def _advance(self, text: str) -> int:
        margins = self.contentsMargins()
        return self.fontMetrics().horizontalAdvance(text) + margins.left() + margins.right() + 2

    def _fit(self) -> None:
        metrics, width = self.fontMetrics(), self.contentsRect().width() - 2
        room = width - metrics.horizontalAdvance(self._details)
        if metrics.horizontalAdvance(self._name + self._details) <= width:  # elidedText rounds otherwise: m.…nx
            self.setText(self._name + self._details)
        elif room >= metrics.horizontalAdvance(self.SHORTEST) or room >= metrics.horizontalAdvance(self._name):
            self.setText(metrics.elidedText(self._name, Qt.TextElideMode.ElideMiddle, room) + self._details)
        else:  # too narrow for the details too: the line cut at its end
            self.setText(metrics.elidedText(self._name + self._details, Qt.TextElideMode.ElideRight, width))
