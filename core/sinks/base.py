"""What every sink shares: the write/close protocol, safe file creation and atomic replacement."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import numpy as np

from core.errors import WLitePoseError
from core.poses import Poses


class Sink:
    """A context manager receiving ``write(frame_index, time_s, poses, image=None)`` once per frame."""

    def write(self, frame_index: int, time_s: float, poses: Poses, image: np.ndarray | None = None) -> None:
        raise NotImplementedError

    def close(self) -> None:
        """Finish the file(s); everything written so far is already valid."""

    def settings_changed(self, frame_index: int, settings: dict) -> None:
        """The pipeline's settings change from this frame on (a live recording whose thresholds were moved)."""

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def writable(path: str | Path, directory: bool = False) -> Path:
    """Create the folder (and check the file can be created); WLitePoseError naming the path if not."""
    path = Path(path).expanduser()
    try:
        if directory:
            path.mkdir(parents=True, exist_ok=True)
            probe = path / ".wlitepose_write_test"
            probe.touch()
            probe.unlink()
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            if path.is_dir():
                raise IsADirectoryError(21, "it is a folder")
            existed = path.exists()
            with open(path, "ab"):
                pass
            if not existed:
                path.unlink()
    except OSError as error:
        raise WLitePoseError(f"cannot write {path}: {error.strerror or error}") from None
    return path


def atomic_write(path: Path, data: bytes) -> None:
    """Replace ``path`` with ``data`` so a reader (or an interrupted run) never sees a half-written file."""
    # open() rather than mkstemp(): the file gets the permissions the user's umask gives, not 0600
    tmp = path.parent / f".{path.name}.{uuid.uuid4().hex[:12]}.tmp"
    file = open(tmp, "xb")  # before the try: a failed open has created nothing to remove
    try:
        with file:
            file.write(data)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def flat_keypoints(xy: np.ndarray, scores: np.ndarray, decimals: int = 2) -> list[float]:
    """(K, 2) + (K,) -> [x, y, c, ...] as COCO/OpenPose store them: a missing joint is 0, 0, 0 in these formats."""
    out = []
    for (x, y), c in zip(xy.tolist(), scores.tolist(), strict=True):  # Python floats: 5x faster than numpy scalars
        if x != x:  # NaN
            out += [0, 0, 0]
        else:
            out += [round(x, decimals), round(y, decimals), round(c, 4)]
    return out
