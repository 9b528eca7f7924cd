"""The frames an MP4 or MOV file shows where its edit list leaves some of its video track's samples out (a clip
trimmed without re-encoding: ``ffmpeg -ss 3 -t 10 -c copy``, a phone's trim), read from its ``moov`` box without
decoding anything. Box names are those of ISO/IEC 14496-12 (the ISO base media file format): the movie's ``mvhd``
time scale; a track's (``trak``) ``mdia``/``hdlr`` (``vide``: a video track), ``mdhd`` time scale, ``edts``/``elst``
edits and ``minf``/``stbl``/``stts`` (sample durations) and ``ctts`` (presentation offsets: B-frames are shown out
of their decoding order). FFmpeg keeps the samples from the keyframe before an edit's start, and after its end to
the next keyframe, to decode those inside it, and shows only those whose presentation time falls inside it;
OpenCV's frame count counts them all (3,240 for a cut showing 3,207)."""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np

# a movie box larger than this is no index OpenCV's count needs correcting from (an hour at 30 fps holds ~2 MB)
MAX_MOVIE_BYTES = 64 * 1024 * 1024
EMPTY_EDIT = -1  # an edit's media time for a stretch of nothing shown (a delay), not a cut
UNIT_RATE = 0x00010000  # an edit played at normal speed, as a 16.16 fixed-point number
# a track of more samples than this is a damaged count, not a video (a day at 90 fps holds 7.8 million): a run of
# 4 billion samples, each given its own time, took 32 GB
MAX_SAMPLES = 8_000_000


def shown_frames(path: Path) -> int | None:
    """The frames the MP4 or MOV file ``path``'s video track shows, where its edit list leaves samples out at its
    start or end; None where it leaves none out, or the file is no MP4 or MOV whose boxes this reads (then OpenCV's
    count stands)."""
    try:
        movie = movie_box(path)
        return None if movie is None else _shown_in_movie(movie)
    except (OSError, ValueError, struct.error):  # a box cut short or out of bounds: not ours to judge
        return None


def movie_box(path: Path) -> bytes | None:
    """The body of ``path``'s ``moov`` box, found by walking its top-level boxes by their sizes; None where there is
    none, or a top-level box is no box."""
    with open(path, "rb") as file:
        end = file.seek(0, 2)
        start = 0
        while start + 8 <= end:
            file.seek(start)
            size, kind = struct.unpack(">I4s", file.read(8))
            header = 8
            if size == 1:  # a 64-bit size follows (a large mdat)
                size, header = struct.unpack(">Q", file.read(8))[0], 16
            elif size == 0:  # the box runs to the end of the file
                size = end - start
            if size < header or not kind.isascii():
                return None
            if kind == b"moov":
                return file.read(size - header) if size <= MAX_MOVIE_BYTES else None
            start += size
    return None


def _children(data: bytes, start: int = 0, end: int | None = None) -> dict[bytes, list[tuple[int, int]]]:
    """The boxes directly inside ``data[start:end]``, by name: each one's body (start, end)."""
    end = len(data) if end is None else end
    boxes: dict[bytes, list[tuple[int, int]]] = {}
    while start + 8 <= end:
        size, kind = struct.unpack_from(">I4s", data, start)
        header = 8
        if size == 1:
            size, header = struct.unpack_from(">Q", data, start + 8)[0], 16
        if size < header or start + size > end:
            raise ValueError(f"box {kind!r} runs past its parent")
        boxes.setdefault(kind, []).append((start + header, start + size))
        start += size
    return boxes


def _child(data: bytes, parent: tuple[int, int], *path: bytes) -> tuple[int, int] | None:
    """The body of the first box down ``path`` inside ``parent``'s body; None where there is none."""
    for name in path:
        found = _children(data, *parent).get(name)
        if not found:
            return None
        parent = found[0]
    return parent


def _shown_in_movie(movie: bytes) -> int | None:
    """``shown_frames`` from the ``moov`` box's body ``movie``; None where a file of more than one video track
    leaves which one OpenCV reads unsaid."""
    top = (0, len(movie))
    header = _child(movie, top, b"mvhd")
    tracks = [track for track in _children(movie).get(b"trak", []) if _handler(movie, track) == b"vide"]
    if header is None or len(tracks) != 1:
        return None
    return _shown_in_track(movie, tracks[0], _time_scale(movie, header, at=(12, 20)))


def _handler(movie: bytes, track: tuple[int, int]) -> bytes | None:
    """The kind of a track's media (``vide``, ``soun``...), from its ``hdlr``: after version, flags, pre_defined."""
    handler = _child(movie, track, b"mdia", b"hdlr")
    return None if handler is None else movie[handler[0] + 8 : handler[0] + 12]


def _time_scale(movie: bytes, box: tuple[int, int], at: tuple[int, int]) -> int:
    """The time scale (units a second) of an ``mvhd`` or ``mdhd`` box's body: at ``at[version]`` (its times 32 or
    64 bits wide by its version)."""
    scale = struct.unpack_from(">I", movie, box[0] + at[_version(movie, box)])[0]
    if scale == 0:
        raise ValueError("a time scale of 0")
    return scale


def _shown_in_track(movie: bytes, track: tuple[int, int], movie_scale: int) -> int | None:
    """The samples of the video track ``track`` whose presentation time falls inside its one edit; None where that
    is all of them, or the track has no edit list or one of more edits than a delay and one stretch shown."""
    edits = _child(movie, track, b"edts", b"elst")
    media = _child(movie, track, b"mdia")
    table = None if media is None else _child(movie, media, b"minf", b"stbl")
    header = None if media is None else _child(movie, media, b"mdhd")
    if edits is None or table is None or header is None:
        return None
    shown = [edit for edit in _edits(movie, edits) if edit[1] != EMPTY_EDIT]
    if len(shown) != 1 or shown[0][2] != UNIT_RATE:
        return None
    duration, start, _ = shown[0]
    times = _presentation_times(movie, table)
    # the edit's length is in the movie's time scale, its start in the track's: rescaled to the nearest, as FFmpeg
    # does; a length of 0 runs to the track's end
    rescaled = (duration * _time_scale(movie, header, at=(12, 20)) + movie_scale // 2) // movie_scale
    end = start + rescaled if duration else np.inf
    count = int(np.count_nonzero((times >= start) & (times < end)))
    return count if 0 < count < len(times) else None


def _version(movie: bytes, box: tuple[int, int]) -> int:
    """A full box's version, 0 or 1 (its times 32 or 64 bits wide): any other is no layout this reads."""
    version = movie[box[0]] if box[0] < box[1] else None
    if version not in (0, 1):
        raise ValueError(f"a box of version {version}")
    return version


def _edits(movie: bytes, edits: tuple[int, int]) -> list[tuple[int, int, int]]:
    """An ``elst`` box's edits: (length in the movie's time scale, start in the track's, rate)."""
    version, count = _version(movie, edits), struct.unpack_from(">I", movie, edits[0] + 4)[0]
    layout = ">QqI" if version == 1 else ">IiI"
    width = struct.calcsize(layout)
    if edits[0] + 8 + count * width > edits[1]:
        raise ValueError("more edits than the box holds")
    return [struct.unpack_from(layout, movie, edits[0] + 8 + i * width) for i in range(count)]


def _presentation_times(movie: bytes, table: tuple[int, int]) -> np.ndarray:
    """Each sample's presentation time in the track's time scale: its decoding time (the ``stts`` durations summed)
    plus its ``ctts`` offset, where there is one."""
    boxes = _children(movie, *table)
    if b"stts" not in boxes:
        raise ValueError("no sample durations")
    each = _each_sample(*_runs(movie, boxes[b"stts"][0], ">u4"))
    decoded = np.cumsum(each) - each
    if b"ctts" not in boxes:
        return decoded
    # signed whatever the version: FFmpeg reads them so, and writes version 0 boxes of negative offsets
    offsets = _each_sample(*_runs(movie, boxes[b"ctts"][0], ">i4"))
    if len(offsets) != len(decoded):
        raise ValueError("presentation offsets for another number of samples")
    return decoded + offsets


def _runs(movie: bytes, box: tuple[int, int], kind: str) -> tuple[np.ndarray, np.ndarray]:
    """An ``stts`` or ``ctts`` box's runs, its numbers read as ``kind``: (sample counts, each sample's value)."""
    count = struct.unpack_from(">I", movie, box[0] + 4)[0]
    if box[0] + 8 + count * 8 > box[1]:
        raise ValueError("more runs than the box holds")
    runs = np.frombuffer(movie, dtype=kind, count=count * 2, offset=box[0] + 8).reshape(-1, 2).astype(np.int64)
    return runs[:, 0], runs[:, 1]


def _each_sample(counts: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Runs' ``values`` repeated by their sample ``counts``: each sample's own, up to MAX_SAMPLES of them."""
    if counts.sum() > MAX_SAMPLES:
        raise ValueError("more samples than a video holds")
    return np.repeat(values, counts)
