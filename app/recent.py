"""The sources opened lately (video files, image folders, stream URLs), newest first, for the source bar's Recent
menu. Kept in the settings file as soon as a source opens, re-read before each change: a second window's sources
are kept too, and a crash loses none."""

from __future__ import annotations

import os
from pathlib import Path

from PySide6.QtCore import QSettings

from core.assets import SAMPLE_CLIP
from core.sources import clean_spec, is_camera, without_password

MAX_RECENT = 10
ARRAY = "recent"  # a settings array: a path may hold commas, which a list in one INI value splits at


def recent_entry(spec: str) -> str | None:
    """What an opened source is remembered as: a file or folder by its absolute path, a stream by its URL. None
    for what is not: a webcam (the webcam box lists them), the bundled clip (opened at every start without a
    webcam), and a URL that carries a password, which would sit in the settings file, and stripped of it would
    no longer open the stream."""
    spec = clean_spec(spec)
    if "://" in spec:
        return None if without_password(spec) != spec else spec
    if is_camera(spec):
        return None
    path = os.path.abspath(os.path.expanduser(spec))  # where it is, not "." or "clips/../a.mp4"
    return None if Path(path) == SAMPLE_CLIP.absolute() else path


def is_gone(entry: str) -> bool:
    """A remembered file or folder that is no longer there (a stream's answer is the worker's to find)."""
    if "://" in entry:
        return False
    try:
        return not Path(entry).exists()
    except OSError:  # a hand-edited name too long to be a path
        return True


def _key(entry: str) -> str:
    """The same file however it was reached (a link, "..", a folder's trailing slash): its resolved path, found as
    it opens and kept beside it (resolving a remembered path on a share that no longer answers held the window up
    for the lost server's timeout, at its start and at each source opened)."""
    if "://" in entry:
        return entry
    try:
        return str(Path(entry).resolve())
    except (OSError, RuntimeError):  # a link loop
        return entry


def _unique(rows: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """The first (entry, key) of each key (the newest), at most MAX_RECENT."""
    seen: set[str] = set()
    kept = []
    for entry, key in rows:
        if key not in seen:
            seen.add(key)
            kept.append((entry, key))
    return kept[:MAX_RECENT]


class RecentSources:
    def __init__(self, store: QSettings) -> None:
        self._store = store

    def entries(self) -> list[str]:
        return [entry for entry, _ in self._rows()]

    def add(self, spec: str) -> list[str]:
        """``spec`` (opened) first, its earlier place dropped."""
        entry = recent_entry(spec)
        return self.entries() if entry is None else self._write([(entry, _key(entry)), *self._rows()])

    def drop(self, entry: str) -> list[str]:
        return self._write([row for row in self._rows() if row[0] != entry])

    def clear(self) -> list[str]:
        return self._write([])

    def _rows(self) -> list[tuple[str, str]]:
        """Each remembered entry with its key (the entry itself where a hand edit left none)."""
        self._store.sync()  # what another window added since
        size = self._store.beginReadArray(ARRAY)
        rows = []
        for row in range(size):
            self._store.setArrayIndex(row)
            entry, key = self._store.value("source", None), self._store.value("key", None)
            if isinstance(entry, str) and entry:  # a hand edit holds anything
                rows.append((entry, key if isinstance(key, str) and key else entry))
        self._store.endArray()
        return _unique(rows)

    def _write(self, rows: list[tuple[str, str]]) -> list[str]:
        rows = _unique(rows)
        self._store.remove(ARRAY)
        self._store.beginWriteArray(ARRAY, len(rows))
        for row, (entry, key) in enumerate(rows):
            self._store.setArrayIndex(row)
            self._store.setValue("source", entry)
            self._store.setValue("key", key)
        self._store.endArray()
        self._store.sync()
        return [entry for entry, _ in rows]
