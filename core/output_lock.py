"""One writer at a time for an output, across processes: two `wlitepose track` runs started from a shell loop
(two cameras' ``cam.avi`` into one ``{name}.csv``), an app window and a run, or two trainings into one folder
would otherwise write one file together, torn, and both report success.

The lock is the operating system's on a hidden file beside the output (``.NAME.wlitepose-lock``): it goes with
the process that holds it, however that ends, so a run that was killed never blocks the next one. The file is
removed when the lock is let go; one left by a killed run is taken over by the next.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import stat
import sys
from pathlib import Path

from core.errors import OutputTaken, WLitePoseError

# what a lock another process holds raises; any other error is a file system without locks (an NFS mount
# without its lock daemon), where runs go on unlocked rather than being refused for ever
TAKEN = {errno.EAGAIN, errno.EWOULDBLOCK, errno.EACCES, getattr(errno, "EDEADLOCK", errno.EDEADLK)}

if os.name == "nt":
    import msvcrt

    def _try_lock(fd: int) -> None:
        os.lseek(fd, 0, os.SEEK_SET)  # the first byte: every holder locks the same one
        msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)

    def _unlock(fd: int) -> None:
        os.lseek(fd, 0, os.SEEK_SET)
        msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)  # at once: Windows may let go of a closed file's lock later

else:
    import fcntl

    def _try_lock(fd: int) -> None:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)

    def _unlock(fd: int) -> None:
        """Closing lets go (and the file must go first: see release)."""


LOCK_SUFFIX = ".wlitepose-lock"
LONGEST_NAME_KEPT = 200  # bytes of an output's name kept in its lock's: file systems take 255, the lock adds 16


def lock_path(output: Path) -> Path:
    """The lock file of ``output`` (a file, or a folder and a name within it for an OpenPose run's frames),
    beside the file it names: ``~`` expanded and the folder's links followed, so every spelling of an output
    shares it; a link at the output's own name is not followed, since the output replaces it (sinks' own_file).
    A name too long to take the lock's 16 more bytes is named by its hash (of its letters in one case: a name
    and another spelling of it that Windows and macOS take for one file share it)."""
    output = Path(os.path.expanduser(output))
    output = output.resolve() if output.name in ("", "..") else output.parent.resolve() / output.name
    name = output.name
    if len(os.fsencode(name)) > LONGEST_NAME_KEPT:
        name = hashlib.sha256(name.casefold().encode("utf-8", "surrogatepass")).hexdigest()[:32]
    return output.parent / f".{name}{LOCK_SUFFIX}"


class OutputLock:
    """Held by ``take``; ``release`` (or the end of a ``with`` block) lets it go and removes its file."""

    def __init__(self, path: Path, file) -> None:
        self.path, self._file = path, file

    def release(self) -> None:
        if self._file is None:
            return
        if os.name == "nt":  # an open file cannot be removed there: let go, then remove it unless another has it
            with contextlib.suppress(OSError):
                _unlock(self._file.fileno())
            self._file.close()
            with contextlib.suppress(OSError):
                self.path.unlink()
        else:  # removed while held: a run arriving meanwhile finds the file gone and makes its own
            with contextlib.suppress(OSError):
                self.path.unlink()
            self._file.close()
        self._file = None

    def __enter__(self) -> OutputLock:
        return self

    def __exit__(self, *exc) -> None:
        self.release()


def take(output: Path, what: str | None = None) -> OutputLock:
    """The lock of ``output``, or OutputTaken saying another run holds it (``what`` names the output in the
    message; its path by default); a WLitePoseError if its lock file cannot be made."""
    path = lock_path(output)
    while True:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            file = _open_lock(path, output)
        except OSError as error:
            raise WLitePoseError(f"cannot write {output}: {error.strerror or error}") from None
        try:
            _try_lock(file.fileno())
        except OSError as error:
            file.close()
            if error.errno in TAKEN:
                raise _taken(what or str(output)) from None
            _unlocked(path, error)
            return OutputLock(path, None)
        if _same_file(file, path):
            return OutputLock(path, file)
        file.close()  # the holder let go and removed the file between our open and lock: take the new one


def _open_lock(path: Path, output: Path, create: bool = True):
    """The lock file at ``path``, created if need be (unless ``create`` is off), opened without following a link
    or waiting on a FIFO: anything but a file of its own there (a link would make the lock at its target,
    elsewhere; a FIFO would block) is no lock of this tool's, and is refused rather than removed, since a run may
    be taking the name."""
    flags = os.O_RDWR | (os.O_CREAT if create else 0) | getattr(os, "O_BINARY", 0)  # O_BINARY: Windows'
    flags |= getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)  # POSIX's
    impostor = WLitePoseError(
        f"cannot write {output}: {path.name} beside it, where a run keeps its lock, is a link or a FIFO, not a "
        "lock of this tool's; remove it"
    )
    mode = "r+b"
    try:
        try:
            fd = os.open(path, flags, 0o666)  # as the user's umask gives: another user may take it over later
        except PermissionError:  # another user's, left by a killed run: a lock holds on a file opened to read
            fd, mode = os.open(path, flags & ~(os.O_RDWR | os.O_CREAT) | os.O_RDONLY), "rb"
    except OSError as error:
        if error.errno == errno.ELOOP:  # O_NOFOLLOW met a link
            raise impostor from None
        raise OSError(error.errno, f"{path.name} beside it, where a run keeps its lock: {error.strerror}") from None
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise impostor
    return os.fdopen(fd, mode)


def check_free(output: Path, what: str | None = None) -> None:
    """``take``'s refusal, without creating anything: for the checks made before a run's work starts."""
    path = lock_path(output)
    try:
        file = _open_lock(path, output, create=False)  # as take opens it: a FIFO there must not block the check
    except (FileNotFoundError, NotADirectoryError):  # no lock file, no holder (a folder that cannot be: said later)
        return
    except OSError as error:  # one take could not open either: said now, not after the work
        raise WLitePoseError(f"cannot write {output}: {error.strerror or error}") from None
    with file:
        try:
            _try_lock(file.fileno())
        except OSError as error:
            if error.errno in TAKEN:
                raise _taken(what or str(output)) from None
            return
        _unlock(file.fileno())


def _unlocked(path: Path, error: OSError) -> None:
    path.unlink(missing_ok=True)
    print(
        f"wlitepose: note: the file system of {path.parent} takes no lock ({error.strerror or error}): nothing "
        "stops another run from writing these outputs at the same time",
        file=sys.stderr,
    )


def _taken(what: str) -> OutputTaken:
    return OutputTaken(
        f"another run (wlitepose track, the app or a training) is writing {what} right now; wait for it to end, "
        "or write to other names or another folder",
        what,
    )


def _same_file(file, path: Path) -> bool:
    try:
        here, there = os.fstat(file.fileno()), os.stat(path)
    except OSError:
        return False
    return (here.st_dev, here.st_ino) == (there.st_dev, there.st_ino)
