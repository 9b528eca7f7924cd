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
    """The same file however it was reached (a link, "..", a folder's trailing slash): its resolved path."""
    if "://" in entry:
        return entry
    try:
        return str(Path(entry).resolve())
    except (OSError, RuntimeError):  # a link loop
        return entry


def _unique(entries: list[str]) -> list[str]:
    """The first of each source (the newest), at most MAX_RECENT."""
    seen: set[str] = set()
    kept = []
    for entry in entries:
        key = _key(entry)
        if key not in seen:
            seen.add(key)
            kept.append(entry)
    return kept[:MAX_RECENT]


class RecentSources:
    def __init__(self, store: QSettings) -> None:
        self._store = store

    def entries(self) -> list[str]:
        self._store.sync()  # what another window added since
        size = self._store.beginReadArray(ARRAY)
        values = []
        for row in range(size):
            self._store.setArrayIndex(row)
            values.append(self._store.value("source", None))
        self._store.endArray()
        return _unique([value for value in values if isinstance(value, str) and value])  # a hand edit holds anything

    def add(self, spec: str) -> list[str]:
        """``spec`` (opened) first, its earlier place dropped."""
        entry = recent_entry(spec)
        return self.entries() if entry is None else self._write([entry, *self.entries()])

    def drop(self, entry: str) -> list[str]:
        return self._write([kept for kept in self.entries() if _key(kept) != _key(entry)])

    def clear(self) -> list[str]:
        return self._write([])

    def _write(self, entries: list[str]) -> list[str]:
        entries = _unique(entries)
        self._store.remove(ARRAY)
        self._store.beginWriteArray(ARRAY, len(entries))
        for row, entry in enumerate(entries):
            self._store.setArrayIndex(row)
            self._store.setValue("source", entry)
        self._store.endArray()
        self._store.sync()
        return entries
