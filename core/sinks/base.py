"""What every sink shares: the write/close protocol, safe file creation and atomic replacement."""

from __future__ import annotations

import errno
import os
import stat
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

import numpy as np

from core.errors import WLitePoseError
from core.poses import Poses
from core.sources import IMAGE_SUFFIXES


class Sink:
    """A context manager receiving ``write(frame_index, time_s, poses, image=None)`` once per frame: ``image`` is
    the frame (with the poses drawn where an annotated video is written), or None."""

    path: Path  # the file (or folder) it writes, for messages

    def write(self, frame_index: int, time_s: float, poses: Poses, image: np.ndarray | None = None) -> None:
        raise NotImplementedError

    def close(self) -> None:
        """Finish the file(s); everything written so far is already valid."""

    def settings_changed(self, frame_index: int, settings: dict) -> None:
        """The pipeline's settings change from this frame on (a live recording whose thresholds were moved)."""

    def shot_changed(self, frame_index: int) -> None:
        """A new shot (a cut in an edited video) starts at this frame, just written: the tracks started over."""

    def reached_people_cap(self, frame_index: int) -> None:
        """This frame, just written, gave as many people as decoding keeps (DecodeConfig.max_people): any more in it
        are left out."""

    def notes(self) -> list[str]:
        """What the user should know about the file so far (poses it had to leave out), if anything."""
        return []

    def run_finished(self) -> None:
        """Every output of the run closed whole after the source's last frame (a run to record as finished)."""

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()


# Windows' and macOS's usual file systems take names that differ only in case for one file
CASE_INSENSITIVE = sys.platform in ("win32", "darwin")


def name_key(path: str | Path) -> str:
    """``path`` as this platform's file systems tell names apart: ``Clip.MP4`` and ``clip.mp4`` are one file
    on Windows and macOS."""
    return str(path).casefold() if CASE_INSENSITIVE else str(path)


def refuse_inputs(outputs, inputs) -> None:
    """WLitePoseError if one of ``outputs`` is (or links to) one of the files a run reads, ``inputs``, or
    would be an image of a folder among them (the run reads every image there). Existing files are compared
    as files, so a hard link or another spelling of the name (``CLIP.MP4`` on macOS) counts too."""
    read, folders = set(), set()
    for given in inputs:
        path = Path(os.path.expanduser(str(given))) if given is not None else None
        if path is not None and path.is_file():
            read.update((path.resolve(), _identity(path)))
        elif path is not None and path.is_dir():
            folders.update((path.resolve(), _identity(path)))
    read.discard(None)
    folders.discard(None)
    for path in outputs:
        resolved = Path(os.path.expanduser(path)).resolve()
        if resolved in read or _identity(resolved) in read:
            raise WLitePoseError(f"the output {path} is a file this run reads; give the output another path")
        parent = resolved.parent
        if (parent in folders or _identity(parent) in folders) and resolved.suffix.lower() in IMAGE_SUFFIXES:
            raise WLitePoseError(
                f"the output {path} would be an image of the folder {parent} this run reads; "
                "give the output another path"
            )


def _identity(path: Path) -> tuple[int, int] | None:
    """The file system's identity of an existing file or folder (device, inode), whatever name reaches it."""
    try:
        status = path.stat()
    except (OSError, ValueError):
        return None
    return (status.st_dev, status.st_ino) if status.st_ino else None  # 0: a file system that gives none


NO_ROOM = (errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC))  # a full disk, or the user's quota spent
PROBE_BYTES = 4096  # written where an output goes (a block), to find a full disk before any output is replaced


def writable(path: str | Path, directory: bool = False, create: bool = True) -> Path:
    """Check that ``path`` (a file, or with ``directory`` a folder) can be written, creating its folder
    unless ``create`` is off (a check before any work, which leaves nothing behind); WLitePoseError
    naming the path if not."""
    path = Path(os.path.expanduser(path))
    folder = path if directory else path.parent
    try:
        if not directory and path.is_dir():
            raise IsADirectoryError(21, "it is a folder")
        # the folder, or the nearest folder above it (a dangling link counts: nothing can be made there)
        nearest = next(p for p in (folder, *folder.parents) if p.exists() or p.is_symlink())
        if not nearest.is_dir():
            raise NotADirectoryError(20, f"{nearest} is not a folder")
        if create:
            folder.mkdir(parents=True, exist_ok=True)
            nearest = folder
        if not directory and path.exists():
            if not stat.S_ISREG(path.stat().st_mode):  # a FIFO would block the open below until a reader came
                raise OSError(errno.EINVAL, "it is not a regular file (a FIFO or a device)")
            with open(path, "ab"):  # opened, not changed
                pass
        # the folder too: files are replaced through a temporary file beside them (atomic_write); with some bytes,
        # as a full disk still makes an empty file, and a run refused only at its second output had already
        # replaced the first (an earlier run's video deleted)
        probe = nearest / f".wlitepose_write_test_{uuid.uuid4().hex[:8]}"
        file = open(probe, "xb")  # "x": never someone else's file
        try:
            with file:
                file.write(bytes(PROBE_BYTES))
        finally:
            probe.unlink(missing_ok=True)
    except OSError as error:
        raise WLitePoseError(f"cannot write {path}: {error.strerror or error}") from None
    return path


def own_file(path: Path) -> Path:
    """``path`` made ready for an output written in place (the CSV, the COCO JSON, the annotated video): a link
    there, symbolic or a hard link sharing its file with another name, is removed, so the output replaces it as
    an atomic write would, rather than writing through it into a file elsewhere."""
    try:
        status = path.lstat()
    except OSError:
        return path
    if stat.S_ISLNK(status.st_mode) or (stat.S_ISREG(status.st_mode) and status.st_nlink > 1):
        path.unlink()
    return path


def atomic_write(path: Path, data: bytes) -> None:
    """Replace ``path`` with ``data`` so a reader (or an interrupted run) never sees a half-written file."""
    with atomic_file(path) as file:
        file.write(data)


def rewrite_small(path: Path, data: bytes) -> None:
    """``atomic_write``, or where no new copy can be made beside it ``path``'s own space overwritten with ``data``:
    on a full disk when it fits there (a small file rewritten with a few more digits, a sidecar's frame count,
    still fits the block it holds), and in a folder that no longer takes new files (made read-only while a run
    writes into it: its files can still be written)."""
    try:
        atomic_write(path, data)
    except OSError as error:
        if error.errno not in (*NO_ROOM, errno.EACCES, errno.EPERM) or not path.is_file():
            raise
        blocks = getattr(path.stat(), "st_blocks", 0) * 512  # bytes the file holds on disk (POSIX only)
        if error.errno in NO_ROOM and len(data) > blocks:
            raise
        with open(path, "r+b") as file:
            file.write(data)
            file.truncate()


@contextmanager
def atomic_file(path: Path) -> Iterator[BinaryIO]:
    """A file to write whose content replaces ``path`` when the block ends without an error (a large file is
    streamed into it rather than built in memory first); on an error ``path`` is left as it was."""
    # open() rather than mkstemp(): the file gets the permissions the user's umask gives, not 0600
    tmp = path.parent / f".wlitepose_{uuid.uuid4().hex[:12]}.tmp"  # short: a file name near the limit still gets one
    file = open(tmp, "xb")  # before the try: a failed open has created nothing to remove
    try:
        with file:
            yield file
        _replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


# Windows refuses to replace a file another program has open (a reader of the pickle, a virus scanner, a
# syncing OneDrive folder) for as long as it holds it: tries, a tenth of a second apart
REPLACE_TRIES = 30 if os.name == "nt" else 1


def _replace(tmp: Path, path: Path) -> None:
    for attempt in range(1, REPLACE_TRIES + 1):
        try:
            os.replace(tmp, path)
            return
        except PermissionError:
            if attempt == REPLACE_TRIES:
                raise
            time.sleep(0.1)


def write_at(file, at: int, data: bytes) -> None:
    """Write ``data`` at offset ``at`` of an unbuffered ``file`` (one write, unless the system takes part of it: a
    file size limit reached mid-way; the rest then raises)."""
    file.seek(at)
    view = memoryview(data)
    while view:
        view = view[file.write(view) :]


def cut_back(file, length: int, tail: bytes = b"") -> None:
    """After a failed write (a full disk): close ``file`` without what its buffer still holds, cut it back to
    ``length`` bytes, the end of its last complete record, and append ``tail`` (a closing bracket). The cut
    frees the space the tail needs, so the file stays valid."""
    try:
        file.close()  # flushes once more, which may fail again; the descriptor is closed either way
    except OSError:
        pass
    os.truncate(file.name, length)
    if tail:
        with open(file.name, "r+b") as fixed:
            fixed.seek(length)
            fixed.write(tail)


def check_in_place(path: Path, file=None) -> None:
    """FileNotFoundError if ``path`` is gone or no longer names the open ``file`` (its folder removed or moved during
    the run): what was written there is nowhere the user will look, and a run that said it wrote ``path`` would
    mislead."""
    try:
        there = os.stat(path)
    except FileNotFoundError:
        there = None
    if there is None or (file is not None and not os.path.samestat(os.fstat(file.fileno()), there)):
        raise FileNotFoundError(errno.ENOENT, "it was removed or moved while the run wrote it")


def flat_keypoints(xy: np.ndarray, scores: np.ndarray) -> list[float]:
    """(K, 2) + (K,) -> [x, y, c, ...] as COCO/OpenPose store them, pixels to 2 decimals and scores to 4: a missing
    (NaN) joint is 0, 0, 0 there."""
    out = []
    for (x, y), c in zip(xy.tolist(), scores.tolist(), strict=True):  # Python floats: 5x faster than numpy scalars
        if x != x:  # NaN
            out += [0, 0, 0]
        else:
            out += [round(x, 2), round(y, 2), round(c, 4)]
    return out
