"""A source as the user names it: a webcam index, a stream URL, a file or folder; what it is and its short name."""

from __future__ import annotations

import glob
import os
import re
import sys
from pathlib import Path
from urllib.parse import urlsplit

from core.errors import WLitePoseError
from core.sources.frames import MAX_FPS
from core.sources.images import ANIMATION_SUFFIXES, IMAGE_SUFFIXES
from core.sources.passwords import without_password


def clean_spec(spec) -> str:
    """A source as typed, without stray spaces around it unless they belong to a file's name."""
    spec = str(spec)
    return spec if os.path.lexists(os.path.expanduser(spec)) else spec.strip()


def is_camera(spec: str) -> bool:
    """A webcam index (ASCII digits); a file named "0" in the working folder is a file."""
    return spec.isascii() and spec.isdecimal() and not Path(spec).exists()


def is_live(spec: str) -> bool:
    """A webcam index or a stream URL (the sources with no end of their own)."""
    spec = clean_spec(spec)
    return is_camera(spec) or "://" in spec


def expand_wildcards(sources: list[str], platform: str = sys.platform) -> list[str]:
    """``sources`` with each file pattern (``clips/*.mp4``) replaced by the files it matches, in order, on
    Windows, whose shells pass patterns on as they are typed (elsewhere the shell has expanded them, and a
    name with ``*`` or ``[`` in it is a name)."""
    if platform != "win32":
        return sources
    expanded = []
    for spec in sources:
        if is_live(spec) or os.path.lexists(os.path.expanduser(spec)) or not re.search(r"[*?[]", spec):
            expanded.append(spec)
            continue
        matches = sorted(glob.glob(os.path.expanduser(spec)))  # in the order a shell lists them
        if not matches:
            raise WLitePoseError(f"no file or folder matches {spec}")
        expanded += matches
    return expanded


def check_exists(spec: str) -> None:
    """A file or folder source must exist (webcams and stream URLs are checked when they open)."""
    spec = clean_spec(spec)
    if is_live(spec):
        return
    try:
        found = Path(os.path.expanduser(spec)).exists()
    except OSError as error:  # a name too long for the file system, say
        shown = spec if len(spec) <= 80 else spec[:80] + "…"
        raise WLitePoseError(f"source {shown} cannot be a file ({error.strerror})") from None
    if not found:
        from core.assets import SAMPLE_CLIP, bundled_hint

        raise WLitePoseError(f"source {spec} does not exist{bundled_hint(Path(spec), SAMPLE_CLIP, 'sample clip')}")


def source_name(spec: str) -> str:
    """A short name for a source's output files: a file's name without its extension, a folder's name,
    ``camera0`` for webcam 0, or a stream URL's last path part (its host when the path is empty)."""
    spec = clean_spec(spec)
    if is_camera(spec):
        return f"camera{spec}"
    if "://" in spec:
        try:
            address = urlsplit(without_password(spec))  # a password with "#" or "/" in it is no part of the name
        except ValueError:  # a host's "[" without its "]" (http://[::1): the stream's opening refuses it
            return "stream"
        name = Path(address.path).stem or address.hostname or "stream"
        return re.sub(r"[^\w.-]+", "_", name).strip("._") or "stream"
    path = Path(os.path.abspath(os.path.expanduser(spec)))  # "." and ".." by the folders they are
    name = path.name if path.is_dir() else path.stem  # a folder "run.1" keeps its whole name
    return name if name.strip(".") else "source"  # the root folder


def is_image_sequence(spec: str) -> bool:
    """An image folder or a single image (a source whose frame rate is ours to choose)."""
    path = Path(os.path.expanduser(clean_spec(spec)))
    suffix = path.suffix.lower()
    return not is_live(spec) and (path.is_dir() or suffix in IMAGE_SUFFIXES and suffix not in ANIMATION_SUFFIXES)


def check_image_fps(fps: float, sources: list[str], name: str = "--fps") -> None:
    """The frame rate image folders are played at, set for ``sources`` (``name``: the option or argument
    that set it): a number in range, and a source it applies to."""
    if not 0 < fps <= MAX_FPS:  # also NaN
        raise WLitePoseError(f"{name} must be above 0 and at most {MAX_FPS:g}, not {fps}")
    if not any(map(is_image_sequence, sources)):
        for spec in sources:  # a mistyped folder name is what to tell first
            check_exists(spec)
        raise WLitePoseError(f"{name} sets the frame rate of image folders; videos, webcams and streams have their own")
