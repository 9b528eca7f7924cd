"""Saving the frame on screen as a PNG without stalling the picture.

PNG encoding takes ~0.1 s for a 768x576 frame and ~0.5 s for 1080p at zlib's default level, long
enough to freeze a live webcam view, so the encode runs on Qt's thread pool. The file name is
claimed on the GUI thread (exclusive create) before the encode starts: two quick saves of the
same frame get two names, and an existing file is never replaced.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QBuffer, QByteArray, QIODevice, QObject, QThreadPool, Signal
from PySide6.QtGui import QImage

# Qt maps PNG "quality" to zlib effort: 80 encodes 4-5x faster than the default for ~20 % more bytes.
PNG_QUALITY = 80


def claim_png(folder: Path, name: str) -> Path:
    """Create an empty `name.png` in `folder` (or `name_2.png`, `name_3.png`, ...) and return its path."""
    if folder.exists() and not folder.is_dir():
        raise NotADirectoryError(20, "it is not a folder")
    folder.mkdir(parents=True, exist_ok=True)
    path, copy = folder / f"{name}.png", 2
    while True:
        try:
            with open(path, "xb"):
                return path
        except FileExistsError:  # another session's still or a same-named file: never a silent replace
            path, copy = folder / f"{name}_{copy}.png", copy + 1


class FrameSaver(QObject):
    """Encodes QImages to claimed paths on a thread of its own, one at a time; says how each went."""

    saved = Signal(str)
    failed = Signal(str)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._pool = QThreadPool(self)
        self._pool.setMaxThreadCount(1)  # stills land in the order asked, and one core stays for the model

    def save(self, still: Callable[[], QImage], path: Path) -> None:
        """Write the picture ``still`` gives, asked for on the saver's thread (a frame drawn again at the source's
        size, or a shared copy of the one on screen: FramePacket.still), to `path` in the background."""
        self._pool.start(lambda: self._encode(still(), path))

    def wait(self) -> None:
        """Block until every save asked for is on disk (or has failed): before the window closes."""
        self._pool.waitForDone()

    def _encode(self, image: QImage, path: Path) -> None:
        # encoded in memory, then written by Python, which raises for a full disk: Qt's own file drops the error of
        # its last flush (a still cut short by a full disk was said to be saved), and Qt, given the name, drops its
        # bytes that are not UTF-8 (a still of the folder "pics\xff" was written over one of "pics")
        encoded = QByteArray()
        buffer = QBuffer(encoded)
        buffer.open(QIODevice.OpenModeFlag.WriteOnly)
        why = ""
        if image.save(buffer, "PNG", PNG_QUALITY):
            try:
                path.write_bytes(encoded.data())
                self.saved.emit(str(path))
                return
            except OSError as error:
                why = f": {error.strerror or error}"
        try:
            os.remove(path)  # the empty file claimed for it: nothing half-written is left behind
        except OSError:
            pass
        self.failed.emit(f"Cannot write {path}{why}.")
