"""Video files (and a video served over the network) read frame by frame, upright and in square pixels."""

from __future__ import annotations

import math
import os
import struct
from collections.abc import Iterator
from functools import cached_property
from pathlib import Path
from urllib.parse import urlsplit

import cv2
import numpy as np

from core.errors import WLitePoseError
from core.preprocess import too_small
from core.sources.frames import MAX_FPS, Frame, FrameSource
from core.sources.mp4_edits import shown_frames
from core.sources.packet_stamps import (
    MAX_BAD_FRAMES,
    TRAILING_GAP,
    departs,
    index_of,
    off_pace,
    packet_stamps,
    shown_stamps,
    varies,
)

MIN_FILE_FPS = 0.01  # a video file's header rate below this (a frame every 100 s) is a broken header, not a rate
# containers that do not count their frames: OpenCV's count is their duration x the rate it reads, which a
# variable-rate file's makes wrong (141 for 120 frames; 1,351 for 12 under a time base read as 1000 fps)
UNCOUNTED_SUFFIXES = (".mkv", ".webm")
# FFmpeg renders text and ANSI-art files as video; those are not videos to track people in.
TEXT_CODECS = {"ansi", "xbin", "bint", "idf", "adf"}
# a seek in a variable-rate file: OpenCV's seeks to a corrected guess before the frames left are read on to it
SEEK_TRIES = 3
READ_ON = 16  # frames read on rather than seeking again (OpenCV's own seek decodes up to 16 before its frame)


class VideoFileSource(FrameSource):
    """A video file, every frame in order, timed by its frame rate, or by the file's own time stamps once they
    depart from it (a variable-rate file: a phone in low light, a screen recording); also one served over the
    network (an http URL of a file, a recorded HLS playlist), given as its ``opened`` capture and first frame.
    A frame that cannot be decoded is passed over (its index left out), up to MAX_BAD_FRAMES in a row."""

    def __init__(self, path: Path | str, opened: tuple[cv2.VideoCapture, np.ndarray] | None = None) -> None:
        self.spec = str(path)
        self._path = None if opened is not None else path  # a local file, opened again to read from its start
        if opened is not None:
            self._cap, first = opened
        else:
            if not path.is_file():  # a pipe without a writer (a FIFO, /dev/stdin) would be waited on, Ctrl+C unheard
                raise WLitePoseError(f"video file {path} is not a regular file (a FIFO or a device): save it to a file")
            if path.stat().st_size == 0:
                raise WLitePoseError(f"video file {path} is empty")
            if bottom_up_rgb_avi(path):
                raise WLitePoseError(
                    f"{path} is an uncompressed AVI of 24-bit frames stored bottom-up, which OpenCV cannot read "
                    f"without crashing: convert it first (ffmpeg -i {path.name} -c:v ffv1 converted.avi)"
                )
            self._cap = upright(cv2.VideoCapture(opencv_name(path)))
        count = int(self._cap.get(cv2.CAP_PROP_FRAME_COUNT))
        # OpenCV counts the samples an MP4's edit list leaves out (a clip trimmed without re-encoding) too: a seek
        # to those it counted last read the file again from its start to find none (10 s in a 3,240-frame 720p)
        count = (opened is None and shown_frames(path)) or count
        self.frame_count = count if count > 0 else None
        # an estimate (kept for progress and seeking): no warning of a file cut short, none in the sidecar
        name = urlsplit(self.spec).path if "://" in self.spec else self.spec
        self.count_estimated = name.lower().endswith(UNCOUNTED_SUFFIXES)
        self.bad_frames: set[int] = set()  # indices of frames that could not be decoded
        self._next = 0
        self._reached = 0  # the frames read so far, to the furthest: where a seek past the file's end reads none
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
        stamp = self._after_first(index, stamp)
        if stamp is not None:
            self._last_stamp = stamp
            self._origin = self._origin or (index, stamp)
            since = self._since(stamp)
            self.variable_rate = self.variable_rate or (off_pace(since, index, self.fps) and not self._trailing(index))
        if not self.variable_rate:
            time_s = index / self.fps
        else:
            time_s = since if stamp is not None else self._last_time + 1 / self.fps
        self._last_time = time_s
        return time_s

    def _trailing(self, index: int) -> bool:
        """Whether frame ``index`` is among a file's last TRAILING_GAP, whose stamps may run late without its rate
        varying (a file cut at its end without re-encoding), as a seek's look at its packets finds them (``varies``).
        Where its count is an estimate (an MKV's duration x rate: 141 for 120 frames), its packets are counted
        instead, once a frame departs: by the estimate middle frames could pass for its last ones, or its last for
        none, and an MKV cut at its end was variable-rate read through but not after a seek. A stream's packets
        cannot be read: none of its frames is."""
        if self.count_estimated:
            count = None if self._packet_stamps is None else len(self._packet_stamps)
        else:
            count = self.frame_count
        return count is not None and index >= count - TRAILING_GAP

    @cached_property
    def _packet_stamps(self) -> list[float] | None:
        """A local file's packets' stamps (``packet_stamps``: ~8 µs a frame), read once; None for a stream."""
        return None if self._path is None else packet_stamps(opencv_name(self._path))

    def _after_first(self, index: int, stamp: float | None) -> float | None:
        """``stamp``, frame ``index``'s, unless it is not after the first stamped frame's for a later frame (a last
        frame's read as 0, as MPEG-2 in AVI or in a program stream gives it, seen after a seek to it): no stamp."""
        early = stamp is not None and self._origin is not None and index > self._origin[0] and stamp <= self._origin[1]
        return None if early else stamp

    def _since(self, stamp: float) -> float:
        """The time of the frame stamped ``stamp`` by the stamps, counted from the first stamped frame's."""
        return self._origin[0] / self.fps + stamp - self._origin[1]

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
                self._reached = max(self._reached, self._next + 1)
                return result
            left = self.frame_count is not None and self._next + failed < self.frame_count - 1
            if not left or failed >= MAX_BAD_FRAMES:
                return None
            failed += 1

    def seek(self, index: int) -> None:
        """To frame ``index`` as a read from the start counts it. OpenCV's seek goes by index / the file's average
        rate: in a local file whose stamps depart from it (a variable rate: a phone's video holding a frame 2 s)
        it landed 1-9 frames off, and there the stamps tell where it landed (``_seek_by_stamps``). It also lands
        on a later frame where it cannot seek back far enough (an MPEG-1 or MPEG-2 program or transport stream: a
        seek into its first group of pictures, frame 0 included, landed 3 to 12 frames on). In a local file of a
        constant rate (so far as it was read) the frame's stamp, or a failed read of a frame read before, says
        so, and the file is read again from its start to ``index``."""
        index = int(index)
        self._next, self._pending, self._last_stamp = index, None, None
        if self._varying_stamps is not None:
            # they tell the rate varies before its frames do, where they depart before a cut end's late last frames
            # (which are still found by them); where 30 fps stands in for a header's rate beyond belief, the
            # frames' own stamps still tell whether they are believable (a time base's 1 ms apart are not)
            varying = not self._fps_note and varies(self._varying_stamps, self.fps)
            self.variable_rate = self.variable_rate or varying
            self._seek_by_stamps(index, self._varying_stamps)
            return
        self._cap.set(cv2.CAP_PROP_POS_FRAMES, index)
        if self._path is None or self.variable_rate or self._fps_note or self._origin is None:
            return
        read = self._decodable(self._cap.read)
        if read is None and index >= max(self.frame_count or 0, self._reached):  # past the end, as far as known
            return
        raw = None if read is None else self._stamp()
        stamp = None if raw is None else self._after_first(self._next, raw)
        # a stamp not after the first frame's: a last frame's of MPEG-2 (stamped 0), else a frame before the one
        # asked for (a seek past a first frame that cannot be decoded landed on the second)
        early = stamp is None and raw is not None and self._next < (self.frame_count or math.inf) - 1
        if read is not None and not early and (stamp is None or not off_pace(self._since(stamp), self._next, self.fps)):
            self._pending, self._pending_time = self._shown(read[1]), stamp
            return
        self._read_from_start(index)

    @cached_property
    def _varying_stamps(self) -> list[float] | None:
        """A local file's frames' stamps, read from its packets at its first seek (~8 µs a frame), where
        they depart from index / fps; None where they do not, or cannot tell its frames apart. Those of a file
        trimmed without re-encoding are its shown frames', as its first frame's stamp and its last's place them
        (a seek there read the file again from its start: 10 s to frame 2,900 of a 720p H.264)."""
        stamps = self._packet_stamps
        if stamps is None or not departs(stamps, self.fps):
            return None
        if self._origin is None:
            return stamps
        at, first = self._origin  # the first frame that could be decoded, the damaged ones before it passed over
        return shown_stamps(opencv_name(self._path), stamps, first, self.frame_count or len(stamps), at)

    def _seek_by_stamps(self, index: int, stamps: list[float]) -> None:
        """To frame ``index`` of a file whose ``stamps`` vary: OpenCV's seek to a guess (``index`` at first), the
        frame it landed on told by its stamp and the guess moved by as many frames as that was off (READ_ON back
        where it found none: past the file's end by the average rate), up to SEEK_TRIES times, then frames read on
        to ``index``; where it landed past ``index``, or on a frame whose stamp is none of the packets', the file is
        read again from its start. Past the last frame, none is left."""
        last = min(index, len(stamps) - 1)
        guess, landed = last, None
        for _ in range(SEEK_TRIES):
            self._cap.set(cv2.CAP_PROP_POS_FRAMES, guess)
            if not self._cap.grab():  # past the end by the average rate (a file whose last frames come faster)
                guess, landed = max(0, guess - READ_ON), None
                continue
            landed = index_of(stamps, self._stamp())
            if landed is None or 0 <= last - landed <= READ_ON:
                break
            guess = max(0, guess + last - landed)
        on = landed is not None and landed <= last and all(self._cap.grab() for _ in range(last - landed))
        if not on or index_of(stamps, self._stamp()) != last:
            self._read_from_start(index)
            return
        self._reached = max(self._reached, last + 1)
        if index == last:  # the frame grabbed, not yet converted
            self._pending, self._pending_time = self._shown(self._cap.retrieve()[1]), self._stamp()

    def _read_from_start(self, index: int) -> None:
        """The file opened again and read from its start up to frame ``index``, those passed over not converted;
        frames that cannot be decoded count (``skip``, a player's, counts only frames shown), and where ``index``
        is one of them the frame after it is next. Where the file cannot be opened again (renamed or moved while
        open) the seek is OpenCV's."""
        capture = upright(cv2.VideoCapture(opencv_name(self._path)))
        if not capture.isOpened():
            capture.release()
            self._cap.set(cv2.CAP_PROP_POS_FRAMES, index)
            self._next = index
            return
        self._cap.release()
        self._cap, self._next = capture, 0
        while self._next < index and self._decodable(self._grab) is not None:
            if self._next >= index:  # the frames before it that cannot be decoded passed over: this one is next
                self._pending, self._pending_time = self._shown(self._cap.retrieve()[1]), self._stamp()
                return
            self._next += 1

    def _grab(self) -> tuple[bool]:
        """A frame decoded without converting it (~2/3 of a read)."""
        return (self._cap.grab(),)

    def skip(self, count: int) -> int:
        skipped = 0
        if count > 0 and self._pending is not None:
            self._pending, skipped, self._next = None, 1, self._next + 1

        while skipped < count and self._decodable(self._grab) is not None:
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
        notes = super().end_notes(max(frames_read, self._reached), frames_due, outputs)
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


def bottom_up_rgb_avi(path: Path) -> bool:
    """Whether ``path`` is an AVI whose video is uncompressed 24-bit BGR rows stored bottom-up (BI_RGB with a
    positive height: the classic uncompressed AVI of Windows capture tools). FFmpeg hands OpenCV such a frame with
    its rows counted backwards, and OpenCV's reader (5.1) then crashes the process on the first frame."""
    try:
        with open(path, "rb") as file:
            head = file.read(64 * 1024)  # the header lists come first
    except OSError:  # unreadable: OpenCV's opening says so
        return False
    video = head.find(b"vids")
    info = head.find(b"strf", video) + 8  # the video stream's BITMAPINFOHEADER
    if head[:4] != b"RIFF" or head[8:12] != b"AVI " or video < 0 or info < 8 or len(head) < info + 20:
        return False
    height, _, bits, compression = struct.unpack_from("<iHHI", head, info + 8)
    return compression == 0 and bits == 24 and height > 0


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
