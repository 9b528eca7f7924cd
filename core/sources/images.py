"""Image folders (and single images) as frame sources, and reading an image file."""

from __future__ import annotations

import itertools
import os
import re
import stat
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np

from core.errors import WLitePoseError
from core.preprocess import too_small
from core.progress import first_few
from core.sources.frames import Frame, FrameSource
from core.sources.video_file import opencv_name

# the still-image formats OpenCV reads (it decides by the file's content; the suffix says what a file is meant to be)
IMAGE_SUFFIXES = {".jpg", ".jpeg", ".jpe", ".jfif", ".png", ".bmp", ".dib", ".tif", ".tiff", ".webp", ".avif", ".jp2"}
IMAGE_SUFFIXES |= {".ppm", ".pgm", ".pbm", ".pnm", ".gif", ".hdr", ".pic"}
ANIMATION_SUFFIXES = {".gif"}  # alone, such a file is read as a video (its frames); in a folder, as one image
MIXED_SIZES_NOTE = (
    "the images differ in size: keypoints are in each image's own pixels, while the CSV sidecar's "
    "resolution and PoseC3D's img_shape are the first image's"
)


def _natural_order(path: Path) -> tuple:
    """frame2 before frame10, and letter case aside: the order people number their images in (names equal
    that way, img1 and img01, in plain order, so the order never depends on the file system's)."""
    parts = re.split(r"([0-9]+)", path.name)
    return [int(part) if part.isdecimal() and part.isascii() else part.lower() for part in parts], path.name


def is_frame_file(path: Path) -> bool:
    """Whether a folder's entry is one of its frames: an image, not hidden (a copy from a Mac leaves a ._photo.jpg
    beside each photo.jpg)."""
    return not path.name.startswith(".") and path.suffix.lower() in IMAGE_SUFFIXES


class ImageFolderSource(FrameSource):
    """A folder's images in natural order (or one image). Frame n is the folder's n-th image, so an image
    that cannot be read is passed over (listed in ``unreadable``) and leaves a gap in the frame indices
    rather than stopping a batch; ``frame_files`` say which file each frame index is."""

    def __init__(self, path: Path, fps: float) -> None:
        self.spec = str(path)
        if path.is_dir():
            try:
                shown = [p for p in path.iterdir() if not p.name.startswith(".")]
            except OSError as error:  # a folder this user may not read
                raise WLitePoseError(f"cannot list the folder {path} ({error.strerror or error})") from None
            files = sorted(filter(is_frame_file, shown), key=_natural_order)
            # said at the end: a photo in a format taken for no image (.heic) would otherwise vanish from the run
            self.left_out = sorted(p.name for p in shown if p.suffix.lower() not in IMAGE_SUFFIXES and p.is_file())
            if not files:
                raise WLitePoseError(f"folder {path} contains no images")
        else:
            files, self.left_out = [path], []
        self._files = files
        problems = []  # why each image before the first usable one is not
        for image, problem in map(_frame_image, files):
            if image is not None:
                break
            problems.append("cannot be read" if problem == UNREADABLE else problem)
        else:
            if not path.is_dir():
                what = f"image {path} {problems[0]}"
            elif len(files) == 1:
                what = f"the only image in {path}, {files[0].name}, {problems[0]}"
            else:
                unread = problems.count("cannot be read")
                if unread == len(files):
                    fault = "can be read"
                elif not unread:
                    fault = "is large enough to find people in"
                else:
                    fault = "can be read and is large enough to find people in"
                what = f"not one of the {len(files)} images in {path} {fault}"
            raise WLitePoseError(what)
        first = image
        self.size = (first.shape[1], first.shape[0])
        self.fps = fps
        self.frame_count = len(files)
        self.frame_files = [p.name for p in files]
        self.image_folder = path.is_dir()
        # the images passed over, in the order met, each with why (a dict: a long folder's lookups stay O(1))
        self.unreadable: dict[Path, str] = {}
        self.mixed_sizes = False  # an image of another size than the first has been delivered
        self.several_frames: dict[Path, int] = {}  # images holding more frames (an animation, pages): the first read
        self._next = 0

    @property
    def passed_over(self) -> int:
        return len(self.unreadable)

    def seek(self, index: int) -> None:
        self._next = int(index)

    def frame_at_or_before(self, index: int) -> int:
        index = super().frame_at_or_before(index)
        while index > 0 and (self._files[index] in self.unreadable or _frame_image(self._files[index])[0] is None):
            index -= 1
        return index

    def skip(self, count: int) -> int:
        skipped = max(0, min(count, len(self._files) - self._next))
        self._next += skipped
        return skipped

    def __iter__(self) -> Iterator[Frame]:
        while self._next < len(self._files):
            index = self._next
            self._next += 1
            image, problem = _frame_image(self._files[index])
            if image is None:
                self.unreadable.setdefault(self._files[index], problem)
                continue
            self.mixed_sizes = self.mixed_sizes or (image.shape[1], image.shape[0]) != self.size
            if (frames := _frames_in(self._files[index])) > 1:
                self.several_frames[self._files[index]] = frames
            yield Frame(index, index / self.fps, image, self._files[index])

    def skipped_notes(self, start: int = 0) -> list[str]:
        skipped = itertools.islice(self.unreadable.items(), start, None)
        return [f"skipped {path}: it {problem}" for path, problem in skipped]

    def end_notes(self, frames_read: int, frames_due: int | None, outputs: bool = True) -> list[str]:
        """The images passed over, those of several frames, the folder's files that are not images and, when files
        were written, that the images differ in size (a folder knows its images: it is never a file cut short)."""
        notes = self.skipped_notes()
        if len(notes) > SKIPPED_NAMED:  # a thousand thumbnails were a thousand lines (and one dialog in the app)
            notes[SKIPPED_NAMED:] = [f"skipped {len(notes) - SKIPPED_NAMED} more images"]
        if self.several_frames:
            named = first_few([f"{path.name} ({count})" for path, count in self.several_frames.items()])
            notes.append(f"only the first frame of images holding several was analysed: {named}")
        if self.left_out:
            notes.append(f"left out of {self.spec}, as no image this tool reads: {first_few(self.left_out)}")
        return notes + ([MIXED_SIZES_NOTE] if outputs and self.mixed_sizes else [])


UNREADABLE = "cannot be read as an image"
SKIPPED_NAMED = 10  # images passed over that a folder's end names, each (the others counted)


def _frames_in(path: Path) -> int:
    """The frames (an animation's, a TIFF's pages) an image file holds, as OpenCV counts them (1 when it cannot)."""
    try:
        return cv2.imcount(opencv_name(path))
    except (WLitePoseError, cv2.error):
        return 1


def _frame_image(path: Path) -> tuple[np.ndarray | None, str]:
    """A folder's image as a frame, or None and why not (to follow "it")."""
    image = read_image(path)
    if image is None:
        return None, UNREADABLE
    problem = too_small((image.shape[1], image.shape[0]))
    return (None, problem) if problem else (image, "")


def read_image(path: str | Path, apply_orientation: bool = True) -> np.ndarray | None:
    """An image file as BGR uint8 (EXIF orientation applied unless ``apply_orientation`` is off), or None when it
    cannot be read. Read by Python and decoded from memory, so a name OpenCV cannot take (not valid UTF-8: copied
    from an old archive) reads too."""
    try:
        if not stat.S_ISREG(os.stat(path).st_mode):  # a FIFO would block the read until a writer came
            return None
        data = np.fromfile(path, np.uint8)
    except (OSError, ValueError):  # missing, a folder, a dangling link, unreadable
        return None
    try:
        flags = cv2.IMREAD_COLOR if apply_orientation else cv2.IMREAD_COLOR | cv2.IMREAD_IGNORE_ORIENTATION
        return cv2.imdecode(data, flags) if data.size else None
    except cv2.error:  # a header beyond OpenCV's limit (CV_IO_MAX_IMAGE_PIXELS, about a gigapixel)
        return None
