"""Frame sources: video file, image folder (or one image), webcam index, stream URL.

Files deliver every frame with its timestamp (index / fps), unless ``skip`` passes some over
(a player keeping pace with the clock). Live sources (webcams, streams)
are read by a background thread that keeps only the newest frame, so latency never grows;
their frame indices count every captured frame, so a gap shows frames that were dropped.
A live source that stops delivering ends the iteration and sets ``end_reason``.
"""

from __future__ import annotations

import glob
import itertools
import logging
import math
import os
import re
import stat
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote, urlsplit

import cv2
import numpy as np

from core.errors import WLitePoseError
from core.preprocess import too_small
from core.progress import first_few

log = logging.getLogger(__name__)
# the still-image formats OpenCV reads (it decides by the file's content; the suffix says what a file is meant to be)
IMAGE_SUFFIXES = {".jpg", ".jpeg", ".jpe", ".jfif", ".png", ".bmp", ".dib", ".tif", ".tiff", ".webp", ".avif", ".jp2"}
IMAGE_SUFFIXES |= {".ppm", ".pgm", ".pbm", ".pnm", ".gif", ".hdr", ".pic"}
ANIMATION_SUFFIXES = {".gif"}  # alone, such a file is read as a video (its frames); in a folder, as one image
IMAGE_FOLDER_FPS = 30.0  # nominal rate for timestamps of an image sequence
MAX_FPS = 1000.0  # a frame rate above this is a typo, not a camera
MIN_FILE_FPS = 0.01  # a video file's header rate below this (a frame every 100 s) is a broken header, not a rate
# containers that do not count their frames: OpenCV's count is their duration x the rate it reads, which a
# variable-rate file's makes wrong (141 for 120 frames; 1,351 for 12 under a time base read as 1000 fps)
UNCOUNTED_SUFFIXES = (".mkv", ".webm")
MAX_BAD_FRAMES = 32  # a video file's frames that cannot be decoded, passed over in a row before it counts as ended
LIVE_TIMEOUT_S = 5.0  # a live source silent this long has ended
MIXED_SIZES_NOTE = (
    "the images differ in size: keypoints are in each image's own pixels, while the CSV sidecar's "
    "resolution and PoseC3D's img_shape are the first image's"
)
PLAYLIST_SUFFIXES = (".m3u8", ".mpd")  # HLS and DASH, whose frames come a segment at a time
PLAYLIST_CATCH_UP_S = 1.0  # a playlist read late (a slow network) catches up on at most this much at full speed
STREAM_TIMEOUT_MS = 4000  # opening or reading a stream URL gives up after this (FFmpeg's default is 30 s)
# FFmpeg renders text and ANSI-art files as video; those are not videos to track people in.
TEXT_CODECS = {"ansi", "xbin", "bint", "idf", "adf"}
# macOS hands a program no camera until the user has allowed it (it asks once, at the first try)
CAMERA_PERMISSION = (
    "; allow camera access for this terminal or app in System Settings > Privacy & Security > Camera"
    if sys.platform == "darwin"
    else ""
)


@dataclass
class Frame:
    index: int
    timestamp_s: float
    image: np.ndarray = field(repr=False)  # BGR uint8 (its pixels out of the repr a notebook prints)
    path: Path | None = None  # the image file, for a frame of an image folder
    captured_at: float | None = None  # time.perf_counter() when a live source received it


class FrameSource:
    """Iterable of Frame; a context manager. ``fps``, ``size`` (w, h), ``frame_count`` (None when live)."""

    fps: float
    size: tuple[int, int]
    frame_count: int | None
    count_estimated: bool = False  # frame_count is a guess from the duration (a Matroska file)
    is_live: bool = False
    end_reason: str | None = None  # set when a live source ended by itself
    frame_files: list[str] | None = None  # an image folder's (or one image's) file of each frame index
    image_folder: bool = False  # a folder of images, whose frame rate is the user's to set
    spec: str

    def __iter__(self) -> Iterator[Frame]:
        raise NotImplementedError

    def seek(self, index: int) -> None:
        raise WLitePoseError(f"{self.spec} is a live source and cannot seek")

    def skip(self, count: int) -> int:
        """Files: pass over up to ``count`` frames without delivering them; returns how many."""
        raise WLitePoseError(f"{self.spec} is a live source and cannot skip frames")

    def frame_at_or_before(self, index: int) -> int:
        """The index of the last frame at or before ``index`` that can be shown: where a step lands (a step
        of ten near the end lands on the last frame)."""
        return min(index, self.frame_count - 1) if self.frame_count else index

    def end_notes(self, frames_read: int, frames_due: int | None, outputs: bool = True) -> list[str]:
        """What to tell when the source is done (lower-case fragments): a video file that ended before the
        ``frames_due`` (its frame count, or fewer when a run asked for fewer). ``outputs``: whether files
        were written (some notes are about them)."""
        short = None if self.is_live else ended_early(frames_read, frames_due, self.frame_count)
        return [short] if short else []

    def skipped_notes(self, start: int = 0) -> list[str]:
        """What to tell, as it happens, of the files passed over from the ``start``-th on (a folder's images that
        cannot be read), so that a player says each once without going over the earlier ones every frame."""
        return []

    def close(self) -> None:
        """Release the device or file."""

    def __enter__(self) -> FrameSource:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class VideoFileSource(FrameSource):
    """A video file, every frame in order, timed by its frame rate, or by the file's own time stamps once they
    depart from it (a variable-rate file: a phone in low light, a screen recording); also one served over the
    network (an http URL of a file, a recorded HLS playlist), given as its ``opened`` capture and first frame.
    A frame that cannot be decoded is passed over (its index left out), up to MAX_BAD_FRAMES in a row."""

    def __init__(self, path: Path | str, opened: tuple[cv2.VideoCapture, np.ndarray] | None = None) -> None:
        self.spec = str(path)
        if opened is not None:
            self._cap, first = opened
        else:
            if path.stat().st_size == 0:
                raise WLitePoseError(f"video file {path} is empty")
            self._cap = upright(cv2.VideoCapture(opencv_name(path)))
        count = int(self._cap.get(cv2.CAP_PROP_FRAME_COUNT))
        self.frame_count = count if count > 0 else None
        # an estimate (kept for progress and seeking): no warning of a file cut short, none in the sidecar
        name = urlsplit(self.spec).path if "://" in self.spec else self.spec
        self.count_estimated = name.lower().endswith(UNCOUNTED_SUFFIXES)
        self.bad_frames: set[int] = set()  # indices of frames that could not be decoded
        self._next = 0
        if opened is None:
            read = self._decodable(self._cap.read) if self._cap.isOpened() else None  # the first may be damaged
            first = None if read is None else read[1]
            fourcc = (int(self._cap.get(cv2.CAP_PROP_FOURCC)) & 0xFFFFFFFF).to_bytes(4, "little").decode("latin-1")
            if first is None or fourcc.strip("\0 ").lower() in TEXT_CODECS:
                self._cap.release()
                raise WLitePoseError(f"{path} is not a readable video")
        self._widen = pixel_aspect(self._cap)
        # turned a quarter turn as it is read (a rotation in its header): the stored pixels' width is now their height
        self._turned = self._cap.get(cv2.CAP_PROP_ORIENTATION_AUTO) == 1 and quarter_turned(self._cap)
        first = self._shown(first)
        self.size = (first.shape[1], first.shape[0])
        if problem := too_small(self.size):  # before any output replaces an earlier run's
            self._cap.release()
            raise WLitePoseError(f"{path} {problem}")
        fps = self._cap.get(cv2.CAP_PROP_FPS)
        self.fps = float(fps) if MIN_FILE_FPS <= fps < MAX_FPS else 30.0  # 1e-6 fps timed frame 19 at 5 months
        # 1000 fps is a time base (a variable-rate MKV's, say) more often than a camera's rate
        self._fps_note = (
            None
            if self.fps == fps
            else f"the file gives no believable frame rate ({fps:g} fps): its frames were timed at 30 fps"
        )
        self.variable_rate = False  # the file's time stamps have departed from index / fps
        self._origin: tuple[int, float] | None = None  # (index, stamp) of the first stamped frame read
        self._last_stamp: float | None = None  # the latest time stamp that moved on
        self._last_time = 0.0
        self._pending: np.ndarray | None = first
        self._pending_time = self._stamp()
        if self._pending_time is not None:  # the stamps' offset from the frame count, kept across seeks
            self._origin = (self._next, self._pending_time)

    def _shown(self, image: np.ndarray) -> np.ndarray:
        """A frame as a player shows it: a file of non-square pixels (anamorphic DV or HDV footage) widened or
        narrowed to square ones, so people are not found squeezed and keypoints are in the picture's pixels."""
        if self._widen == 1.0:
            return image
        height, width = image.shape[:2]
        if self._turned:
            height = max(1, round(height * self._widen))
        else:
            width = max(1, round(width * self._widen))
        return cv2.resize(image, (width, height), interpolation=cv2.INTER_LINEAR)

    def _stamp(self) -> float | None:
        """The time stamp (s) of the frame just read, as the file gives it; None if it gives none."""
        ms = self._cap.get(cv2.CAP_PROP_POS_MSEC)
        return ms / 1000.0 if math.isfinite(ms) and ms >= 0 else None

    def _time(self, index: int, stamp: float | None) -> float:
        """A frame's time: index / fps, unless the file's stamps, counted from the first read, have departed from
        it by half a frame (where the header's rate was beyond belief, and 30 fps stands in for it, only stamps
        that move on at a believable rate: a variable-rate MKV's, not those OpenCV makes from that rate). A stamp
        that does not move on (a codec's missing one read as 0, or one a frame late) counts as none: a frame
        after the last. A stream whose stamps are all a frame late (raw MPEG-2) is not variable."""
        if self._fps_note and not self.variable_rate and not self._believable(index, stamp):
            return index / self.fps
        if stamp is not None and self._last_stamp is not None and stamp <= self._last_stamp:
            stamp = None
        if stamp is not None:
            self._last_stamp = stamp
            self._origin = self._origin or (index, stamp)
            since = self._origin[0] / self.fps + stamp - self._origin[1]  # the stamps' time for this frame
            self.variable_rate = self.variable_rate or abs(since - index / self.fps) > 0.5 / self.fps
        if not self.variable_rate:
            time_s = index / self.fps
        else:
            time_s = since if stamp is not None else self._last_time + 1 / self.fps
        self._last_time = time_s
        return time_s

    def _believable(self, index: int, stamp: float | None) -> bool:
        """Whether ``stamp``, frame ``index``'s, and the first frame's make a rate of at most half MAX_FPS (and at
        least MIN_FILE_FPS): well away from the header's, which OpenCV's own stamps follow (1 ms apart at 1000 fps,
        give or take a rounding)."""
        if stamp is None or self._origin is None or index <= self._origin[0] or stamp <= self._origin[1]:
            return False
        return MIN_FILE_FPS <= (index - self._origin[0]) / (stamp - self._origin[1]) <= MAX_FPS / 2

    def _decodable(self, read) -> tuple | None:
        """``read()``'s result (the capture's read or grab: ok first) for the next frame that can be decoded, the
        damaged ones before it passed over (their indices left out, up to MAX_BAD_FRAMES in a row); None at the
        end (reads that fail with no decodable frame after them, or beyond the frames the header counts)."""
        failed = 0
        while True:
            result = read()
            if result[0]:
                self.bad_frames.update(range(self._next, self._next + failed))
                self._next += failed
                return result
            left = self.frame_count is not None and self._next + failed < self.frame_count - 1
            if not left or failed >= MAX_BAD_FRAMES:
                return None
            failed += 1

    def seek(self, index: int) -> None:
        self._cap.set(cv2.CAP_PROP_POS_FRAMES, int(index))
        self._next, self._pending, self._last_stamp = int(index), None, None

    def skip(self, count: int) -> int:
        skipped = 0
        if count > 0 and self._pending is not None:
            self._pending, skipped, self._next = None, 1, self._next + 1

        def grab() -> tuple[bool]:  # decodes without converting: ~2/3 of a read
            return (self._cap.grab(),)

        while skipped < count and self._decodable(grab) is not None:
            skipped += 1
            self._next += 1
        return skipped

    def __iter__(self) -> Iterator[Frame]:
        while True:
            if self._pending is not None:
                image, self._pending, stamp = self._pending, None, self._pending_time
            else:
                read = self._decodable(self._cap.read)
                if read is None:
                    return
                image, stamp = self._shown(read[1]), self._stamp()
            index, self._next = self._next, self._next + 1
            yield Frame(index, self._time(index, stamp), image)

    def end_notes(self, frames_read: int, frames_due: int | None, outputs: bool = True) -> list[str]:
        # how far the file was read, damaged frames included (a player's count of frames read may hold them)
        if self.count_estimated and frames_due == self.frame_count:
            frames_due = None  # its count is a guess: fewer frames than it are no sign of damage
        notes = super().end_notes(max(frames_read, self._next), frames_due, outputs)
        if self.bad_frames:
            bad = sorted(self.bad_frames)
            shown = ", ".join(map(str, bad[:5])) + (", …" if len(bad) > 5 else "")
            notes.append(f"{len(bad)} frames could not be decoded and were passed over ({shown})")
        if self.variable_rate:
            average = "" if self._fps_note else f" ({self.fps:g} fps on average)"
            rate = "at 30 fps (its header gives no believable rate)" if self._fps_note else "at its average rate"
            video = f"; an annotated video shows each frame once, {rate}" if outputs else ""
            notes.append(f"the file's frame rate varies: frames were timed by its own time stamps{average}{video}")
        return notes + ([self._fps_note] if self._fps_note and not self.variable_rate else [])

    def close(self) -> None:
        self._cap.release()


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

    def __init__(self, path: Path, fps: float = IMAGE_FOLDER_FPS) -> None:
        self.spec = str(path)
        if path.is_dir():
            shown = [p for p in path.iterdir() if not p.name.startswith(".")]
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
        if self.several_frames:
            named = first_few([f"{path.name} ({count})" for path, count in self.several_frames.items()])
            notes.append(f"only the first frame of images holding several was analysed: {named}")
        if self.left_out:
            notes.append(f"left out of {self.spec}, as no image this tool reads: {first_few(self.left_out)}")
        return notes + ([MIXED_SIZES_NOTE] if outputs and self.mixed_sizes else [])


UNREADABLE = "cannot be read as an image"


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


def opencv_name(path: str | Path) -> str:
    """``path`` as OpenCV's video functions take it: the text whose UTF-8 is the name's bytes on disk. OpenCV
    passes on the UTF-8 of what it is given, so under a locale of another encoding (ISO-8859-1) a name given as
    it is reached another file ("vidé.mp4" written as "vidÃ©.mp4"); bytes that are not UTF-8 it cannot take."""
    data = os.fsencode(str(path))
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        shown = data.decode("utf-8", "replace")
        raise WLitePoseError(f"OpenCV cannot open video files whose name is not valid UTF-8: rename {shown}") from None


def pixel_aspect(capture: cv2.VideoCapture) -> float:
    """The width of the file's pixels over their height as its header gives it (2.0 for 2:1), 1.0 where it gives
    none or one beyond belief (outside 1/4-4)."""
    num, den = capture.get(cv2.CAP_PROP_SAR_NUM), capture.get(cv2.CAP_PROP_SAR_DEN)
    ratio = num / den if den > 0 else 1.0  # a numerator of 0 or less falls outside the range below
    return ratio if 0.25 <= ratio <= 4.0 else 1.0


def quarter_turned(capture: cv2.VideoCapture) -> bool:
    """Whether the file's header turns its picture by 90 or 270 degrees for display."""
    return round(capture.get(cv2.CAP_PROP_ORIENTATION_META)) % 180 == 90


def upright(capture: cv2.VideoCapture) -> cv2.VideoCapture:
    """``capture`` set to turn each frame as its file's rotation says (a phone's portrait video is stored on its
    side), before its first read: OpenCV 4.11 turned this off by default (opencv/opencv#26795), and a portrait
    clip read on its side finds nobody."""
    capture.set(cv2.CAP_PROP_ORIENTATION_AUTO, 1)  # a backend without it (a webcam's) says False: nothing to turn
    return capture


def open_capture(target: int | str, spec: str) -> tuple[cv2.VideoCapture, np.ndarray]:
    """A webcam (an index) or stream URL opened, with its first frame; WLitePoseError (``spec`` names it) if
    it gives none."""
    if isinstance(target, int):
        capture = cv2.VideoCapture(target)
    else:  # a server that accepts the connection and says nothing must not hold the caller for long
        timeouts = (cv2.CAP_PROP_OPEN_TIMEOUT_MSEC, STREAM_TIMEOUT_MS)
        timeouts += (cv2.CAP_PROP_READ_TIMEOUT_MSEC, STREAM_TIMEOUT_MS)
        capture = upright(cv2.VideoCapture(target, cv2.CAP_FFMPEG, list(timeouts)))  # a file's URL: a phone's too
    ok, first = capture.read() if capture.isOpened() else (False, None)
    if ok:
        return capture, first
    capture.release()
    if isinstance(target, int):
        found = list_cameras()
        raise WLitePoseError(
            f"there is no camera with index {target} (cameras found: {found or 'none'}){CAMERA_PERMISSION}"
        )
    raise WLitePoseError(
        f"stream {spec} cannot be opened (no answer within {STREAM_TIMEOUT_MS / 1000:.0f} s, or not a video)"
    )


class LiveSource(FrameSource):
    """A camera or stream read on a thread that keeps only the newest frame."""

    is_live = True

    def __init__(self, target: int | str, spec: str, opened: tuple[cv2.VideoCapture, np.ndarray] | None = None) -> None:
        self.spec = spec
        self._called = spec if isinstance(target, int) else f"the stream {spec}"  # "camera 0", or a URL
        self._cap, first = opened if opened is not None else open_capture(target, spec)
        self.size = (first.shape[1], first.shape[0])
        if problem := too_small(self.size):
            self._cap.release()
            raise WLitePoseError(f"{self._called} {problem}")
        fps = self._cap.get(cv2.CAP_PROP_FPS)
        self.fps = float(fps) if 0 < fps < MAX_FPS else 30.0
        self.frame_count = None
        self._start = time.monotonic()
        self._cond = threading.Condition()
        self._latest: Frame | None = Frame(0, 0.0, first, captured_at=time.perf_counter())
        self._captured = 1
        self._delivered = 0
        self._last_delivered = -1  # the index of the newest frame handed out
        self._handed_at = time.monotonic()  # when it was (silence is counted from then)
        self._stopped = False
        # a live playlist (HLS, DASH) arrives a segment of seconds at a time, which FFmpeg decodes at once: its
        # frames are read out at the stream's rate, or all but each segment's last would be skipped as stale
        playlist = isinstance(target, str) and urlsplit(target).path.lower().endswith(PLAYLIST_SUFFIXES)
        self._pace_s = 1.0 / self.fps if playlist else 0.0
        self._thread = threading.Thread(target=self._read_loop, name=f"source:{spec}", daemon=True)
        self._thread.start()

    def _read_loop(self) -> None:
        """Runs until closed or the stream ends, then releases the capture: here, never while a read is
        still waiting on a stream that hangs (releasing it then from another thread crashes)."""
        due = time.monotonic()  # when the next frame of a playlist is to be handed on
        try:
            while not self._stopped:
                if self._pace_s:
                    due = max(due + self._pace_s, time.monotonic() - PLAYLIST_CATCH_UP_S)
                    with self._cond:
                        self._cond.wait_for(lambda: self._stopped, max(0.0, due - time.monotonic()))
                try:
                    ok, image = self._cap.read()
                except cv2.error:  # a backend that raises rather than returning False
                    ok, image = False, None
                with self._cond:
                    if not ok:
                        if not self._stopped:
                            self.end_reason = f"{self._called} stopped delivering frames; the run ended there"
                            log.info(self.end_reason)
                        self._stopped = True
                    else:
                        self._latest = Frame(
                            self._captured, time.monotonic() - self._start, image, captured_at=time.perf_counter()
                        )
                        self._captured += 1
                    self._cond.notify_all()
        finally:
            self._cap.release()

    @property
    def skipped(self) -> int:
        """Frames the stream sent while the caller was busy, replaced by newer ones before it took them."""
        return self._last_delivered + 1 - self._delivered

    def ready(self, timeout_s: float) -> bool:
        """Whether the next frame can be taken without waiting, waiting at most ``timeout_s`` for it: a frame
        is there, the source ended, or it has been silent LIVE_TIMEOUT_S (the iterator then ends). A caller
        that must stay responsive (the app's worker) waits in such short steps."""
        with self._cond:
            silent_for = time.monotonic() - self._handed_at
            wait = min(timeout_s, max(0.0, LIVE_TIMEOUT_S - silent_for))
            return self._cond.wait_for(self._taken_at_once, wait) or silent_for + wait >= LIVE_TIMEOUT_S

    def _taken_at_once(self) -> bool:
        return self._latest is not None or self._stopped

    def __iter__(self) -> Iterator[Frame]:
        while True:
            with self._cond:
                if not self._taken_at_once():  # silence counts from the last frame handed out
                    self._cond.wait_for(self._taken_at_once, LIVE_TIMEOUT_S - (time.monotonic() - self._handed_at))
                frame, self._latest = self._latest, None
                if frame is None:
                    if not self._stopped:
                        self.end_reason = (
                            f"{self._called} sent no frame for {LIVE_TIMEOUT_S:.0f} s; the run ended there"
                        )
                    return
                self._delivered += 1
                self._last_delivered = frame.index
                self._handed_at = time.monotonic()
            yield frame

    def close(self) -> None:
        """Stop reading; the reader thread releases the capture once its read returns (at most the stream's
        read timeout later, for a stream that hangs)."""
        with self._cond:
            self._stopped = True
            self._cond.notify_all()
        self._thread.join(timeout=2.0)


def ended_early(frames_read: int, frames_due: int | None, frame_count: int | None) -> str | None:
    """The warning for a video file that ended before the ``frames_due`` (the frame count its header gives, or
    fewer a run asked for; None if it did not; OpenCV's count may be one off), e.g. a file cut short while
    being copied."""
    if not frames_due or frames_read >= frames_due - 1:
        return None
    due = f"the {frames_due} frames {'its header counts' if frames_due == frame_count else 'asked for'}"
    counted = f"; its header counts {frame_count}" if frame_count and frame_count != frames_due else ""
    return (
        f"the video ended after {frames_read} of {due} (the file may be damaged or cut short, or an edit list "
        f"leaves some out{counted})"
    )


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
        found = Path(spec).expanduser().exists()
    except OSError as error:  # a name too long for the file system, say
        shown = spec if len(spec) <= 80 else spec[:80] + "…"
        raise WLitePoseError(f"source {shown} cannot be a file ({error.strerror})") from None
    if not found:
        from core.assets import SAMPLE_CLIP

        if Path(spec).name == SAMPLE_CLIP.name and SAMPLE_CLIP.is_file():  # the README's command, run elsewhere
            raise WLitePoseError(f"source {spec} does not exist here; the bundled sample clip is {SAMPLE_CLIP}")
        raise WLitePoseError(f"source {spec} does not exist")


def source_name(spec: str) -> str:
    """A short name for a source's output files: a file's name without its extension, a folder's name,
    ``camera0`` for webcam 0, or a stream URL's last path part (its host when the path is empty)."""
    spec = clean_spec(spec)
    if is_camera(spec):
        return f"camera{spec}"
    if "://" in spec:
        address = urlsplit(without_password(spec))  # a password with "#" or "/" in it is no part of the name
        name = Path(address.path).stem or address.hostname or "stream"
        return re.sub(r"[^\w.-]+", "_", name).strip("._") or "stream"
    path = Path(os.path.abspath(Path(spec).expanduser()))  # "." and ".." by the folders they are
    name = path.name if path.is_dir() else path.stem  # a folder "run.1" keeps its whole name
    return name if name.strip(".") else "source"  # the root folder


def frames_due(frame_count: int | None, max_frames: int | None) -> int | None:
    """The frames a run is due from a source of ``frame_count`` (None: unknown, as live sources) when it
    asks for at most ``max_frames`` (None: all)."""
    if not max_frames:
        return frame_count
    return min(frame_count, max_frames) if frame_count else max_frames


def without_password(spec: str) -> str:
    """A stream URL with its password masked (``rtsp://user:***@host/...``), and the values of parameters that
    carry secrets (``?pwd=***``, ``;password=***``, and in a path, as some cameras take them:
    ``/user=admin&password=***&channel=1``, ``/user=admin_password=***_channel=1``), for the files and messages
    others may read; any other source as it is."""
    spec = str(spec)
    scheme, sep, rest = spec.partition("://")
    if not sep:
        return spec
    netloc = urlsplit(spec).netloc
    if "@" in netloc:
        credentials, host = netloc.rpartition("@")[::2]
        rest = rest.replace(netloc, _masked(credentials) + "@" + host, 1)
    elif "@" in rest:  # a password with a "#", "/" or "?" typed as it is ends the address early: up to the last @
        credentials, host = rest.rpartition("@")[::2]  # (a host:port/path@... is masked too: better than a leak)
        rest = _masked(credentials) + "@" + host
    path, question, query = rest.partition("?")
    if not question:
        return scheme + sep + _masked_path(path)
    query, hash_, fragment = query.partition("#")
    fields = (field.partition("=") for field in query.split("&"))  # a value runs to the next &, "/" and ";" in it
    query = "&".join(key + eq + ("***" if eq and _secret(key) else value) for key, eq, value in fields)
    return scheme + sep + _masked_path(path) + question + query + hash_ + fragment


PATH_KEY = re.compile(r"[/&;_]([A-Za-z][A-Za-z0-9-]*)=")  # a key=value in a path, after one of /&;_
# a key names a secret when its last word (or the whole key) is one of these: loginpas, X-Amz-Signature, apiKey,
# access_token; not keyframes, bypass or hotkey
SECRET_WORDS = frozenset(
    "password passwd passphrase pass pas loginpas pwd pw secret token auth authorization key apikey sig signature "
    "credential credentials".split()
)


def _secret(key: str) -> bool:
    words = [word.lower() for word in re.findall(r"[A-Z]?[a-z0-9]+|[A-Z]+(?![a-z])", key)]
    return bool(words) and (words[-1] in SECRET_WORDS or "".join(words) in SECRET_WORDS)


def _masked_path(path: str) -> str:
    """``path`` with each secret key's value masked: up to the next key of the path or its next "/"."""
    keys = list(PATH_KEY.finditer(path))
    kept, last = [], 0
    for n, match in enumerate(keys):
        if not _secret(match.group(1)):
            continue
        end = keys[n + 1].start() if n + 1 < len(keys) else len(path)
        cut = re.search(r"[/#]", path[match.end() : end])
        end = match.end() + cut.start() if cut else end
        kept.append(path[last : match.end()] + "***")
        last = end
    return "".join(kept) + path[last:]


def _masked(credentials: str) -> str:
    """``user:password`` as ``user:***``; a user name alone as it is."""
    user, colon, _ = credentials.partition(":")
    return user + colon + "***" * bool(colon)


def is_image_sequence(spec: str) -> bool:
    """An image folder or a single image (a source whose frame rate is ours to choose)."""
    path = Path(clean_spec(spec)).expanduser()
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


LOCAL_PLAYLIST_SUFFIXES = (".m3u8", ".m3u")  # playlists on the disk, whose entries are checked
MAX_PLAYLIST_DEPTH = 4  # playlists listing playlists: a master one and its variants are 2
MAX_PLAYLIST_BYTES = 16 * 2**20  # a playlist's first 16 MB are checked (a day of 2-s segments is 2 MB)


def open_source(spec: str | int, image_fps: float = IMAGE_FOLDER_FPS) -> FrameSource:
    """A FrameSource for a video path, image folder or file (played at ``image_fps``), webcam index ("0", or an
    int: a webcam even where a file is named "0") or rtsp/http(s) URL."""
    if not isinstance(spec, int):
        spec = clean_spec(spec)
        if not spec:
            raise WLitePoseError("no source given: pass a video file, image folder, webcam index or stream URL")
        spec = int(spec) if is_camera(spec) else spec
    if isinstance(spec, int):
        if not 0 <= spec < 2**31:  # OpenCV takes a C int
            raise WLitePoseError(f"no webcam has the index {spec}")
        return LiveSource(spec, f"camera {spec}")
    if "://" in spec:
        if spec.lower().startswith("file://"):  # a playlist by its URL is a local playlist too
            check_playlist(Path(unquote(urlsplit(spec).path)))
        shown = without_password(spec)
        capture, first = open_capture(spec, shown)
        if capture.get(cv2.CAP_PROP_FRAME_COUNT) > 0:  # a file (http://, file://) or a recorded HLS playlist:
            return VideoFileSource(shown, (capture, first))  # every frame at its own time, as a file's
        return LiveSource(spec, shown, (capture, first))
    check_exists(spec)
    path = Path(spec).expanduser()
    if is_image_sequence(spec):
        return ImageFolderSource(path, image_fps)
    check_playlist(path)
    return VideoFileSource(path)


def check_playlist(path: Path, depth: int = 0) -> None:
    """A local HLS playlist's entries (and those of the playlists it lists) must lie in its folder or below, or
    on the web: FFmpeg follows a playlist's local entries anywhere on the disk, so a playlist handed over could
    put the frames of any video whose path it guesses into the outputs made from it."""
    if path.suffix.lower() not in LOCAL_PLAYLIST_SUFFIXES:
        return
    if depth > MAX_PLAYLIST_DEPTH:
        raise WLitePoseError(f"the playlist {path} is listed {depth} playlists deep; players follow 2 at most")
    folder = path.resolve().parent
    try:
        if not stat.S_ISREG(path.stat().st_mode):  # a FIFO would block the read until a writer came
            raise WLitePoseError(f"the playlist {path} is not a regular file (a FIFO or a device)")
        with open(path, encoding="utf-8", errors="replace") as file:
            text = file.read(MAX_PLAYLIST_BYTES)
    except OSError:
        return  # the video reader says what is wrong with it
    entries = [line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")]
    entries += re.findall(r'URI="([^"]*)"', text)  # an init segment (#EXT-X-MAP), a key, an audio playlist
    for entry in entries:
        if entry.lower().startswith(("http://", "https://")):
            continue
        local = unquote(re.sub(r"^file:(//)?", "", entry, flags=re.IGNORECASE))
        scheme = re.match(r"^[A-Za-z][A-Za-z0-9+.-]+:", local)  # another protocol (a drive letter is one letter)
        target = (folder / local).resolve()
        if scheme or folder not in target.parents:
            raise WLitePoseError(
                f"the playlist {path} lists {entry[:80]}, outside its own folder: only entries in its folder or "
                "on the web are read (a playlist from elsewhere could pull any video on this disk into the outputs)"
            )
        check_playlist(target, depth + 1)  # a variant playlist of a master one


def list_cameras(max_index: int = 4) -> list[int]:
    """Indices of the cameras that open and deliver a frame."""
    found = []
    for index in range(max_index):
        cap = cv2.VideoCapture(index)
        try:
            if cap.isOpened() and cap.read()[0]:
                found.append(index)
        finally:
            cap.release()
    return found
