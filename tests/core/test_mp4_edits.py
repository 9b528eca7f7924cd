"""The frames a trimmed MP4's edit list shows, read from its boxes (core/sources/mp4_edits.py), on files made box by
box: edit lists of each version, an empty edit, presentation offsets (B-frames), and those it leaves to OpenCV; and
which of a variable-rate file's packets are the frames shown (packet_stamps.shown_run)."""

import struct

import pytest

from core.sources.mp4_edits import UNIT_RATE, shown_frames
from core.sources.packet_stamps import shown_run


def _box(kind: bytes, body: bytes, size: int | None = None) -> bytes:
    return struct.pack(">I4s", 8 + len(body) if size is None else size, kind) + body


def _full(kind: bytes, version: int, body: bytes) -> bytes:
    """A box of a version and flags (0)."""
    return _box(kind, bytes([version, 0, 0, 0]) + body)


def _scaled(kind: bytes, scale: int, version: int) -> bytes:
    """An mvhd or mdhd: its times 32 or 64 bits wide by its version, then its time scale."""
    times = struct.pack(">QQ", 0, 0) if version else struct.pack(">II", 0, 0)
    return _full(kind, version, times + struct.pack(">I", scale) + bytes(16))


def _track(durations, edits, elst_version=0, scale=1000, header_version=0, offsets=None, handler=b"vide") -> bytes:
    layout = ">QqI" if elst_version else ">IiI"
    entries = b"".join(struct.pack(layout, *edit) for edit in edits)
    elst = _full(b"elst", elst_version, struct.pack(">I", len(edits)) + entries)
    stts = _full(b"stts", 0, struct.pack(">I", len(durations)) + b"".join(struct.pack(">II", 1, d) for d in durations))
    table = stts
    if offsets is not None:  # version 1: signed
        runs = b"".join(struct.pack(">Ii", 1, offset) for offset in offsets)
        table += _full(b"ctts", 1, struct.pack(">I", len(offsets)) + runs)
    hdlr = _full(b"hdlr", 0, bytes(4) + handler + bytes(12))
    media = _scaled(b"mdhd", scale, header_version) + hdlr + _box(b"minf", _box(b"stbl", table))
    return _box(b"trak", _box(b"edts", elst) + _box(b"mdia", media))


def _mp4(tmp_path, *tracks: bytes, movie_scale=600, header_version=0, large_mdat=False, moov_to_end=False):
    moov_body = _scaled(b"mvhd", movie_scale, header_version) + b"".join(tracks)
    mdat = struct.pack(">I4sQ", 1, b"mdat", 16 + 4) + bytes(4) if large_mdat else _box(b"mdat", bytes(4))
    moov = _box(b"moov", moov_body, size=0 if moov_to_end else None)
    path = tmp_path / "cut.mp4"
    path.write_bytes(_box(b"ftyp", b"isom" + bytes(4)) + mdat + moov)
    return path


TENTHS = [100] * 40  # 40 frames of 0.1 s at the track's time scale of 1000
HELD = [100, 100, 1000] + [100] * 37  # frame 2, cut from the start, held 1 s
# 3.3 s in the movie's time scale of 600 is 1980; 1981 is 3,301.67 in the track's: 3,302 rounded, 3,301 cut short
SHOWN = (1981, 299, UNIT_RATE)  # frames 3 to 36, the last stamped 3,600 (before 299 + 3,302, not 299 + 3,301)


@pytest.mark.parametrize(
    "durations, edits, more, shown",
    [
        (TENTHS, [SHOWN], {}, 34),
        (TENTHS, [SHOWN], {"elst_version": 1}, 34),
        (TENTHS, [SHOWN], {"header_version": 1}, 34),
        (TENTHS, [(500, -1, UNIT_RATE), SHOWN], {}, 34),  # a delay before it: not a cut
        (TENTHS, [(0, 300, UNIT_RATE)], {}, 37),  # a length of 0: to the track's end
        (HELD, [(1980, 1200, UNIT_RATE)], {}, 33),  # by presentation times, not the frame count
        (HELD, [(0, 1200, UNIT_RATE)], {}, 37),
        (TENTHS, [(0, 500, UNIT_RATE)], {"offsets": [200] * 40}, 37),  # B-frames: presented 200 after decoding
        (TENTHS, [(0, 100, UNIT_RATE)], {"offsets": [-200] * 40}, 37),  # ffmpeg's negative offsets
        (TENTHS, [(0, 0, UNIT_RATE)], {}, None),  # every frame shown: OpenCV's count stands
        (TENTHS, [(0, 300, 2 * UNIT_RATE)], {}, None),  # played at another speed
        (TENTHS, [(600, 300, UNIT_RATE), (600, 2000, UNIT_RATE)], {}, None),  # two stretches shown
    ],
)
def test_a_trimmed_mp4_counts_the_frames_its_edit_list_shows(tmp_path, durations, edits, more, shown):
    """ffmpeg -ss/-t -c copy, a phone's trim: OpenCV counted the frames cut too (3,240 for 3,207 shown)."""
    more = dict(more)  # the parametrize case's own stays whole for a rerun
    header_version = more.pop("header_version", 0)
    track = _track(durations, edits, header_version=header_version, **more)
    assert shown_frames(_mp4(tmp_path, track, header_version=header_version)) == shown


@pytest.mark.parametrize("layout", [{"large_mdat": True}, {"moov_to_end": True}])
def test_the_movie_box_is_found_after_a_64_bit_box_or_as_one_running_to_the_files_end(tmp_path, layout):
    assert shown_frames(_mp4(tmp_path, _track(TENTHS, [SHOWN]), **layout)) == 34


def test_a_file_of_two_video_tracks_leaves_the_count_to_opencv(tmp_path):
    """Which of them OpenCV reads is not said: its count stands. A sound track beside it is no video track."""
    video, sound = _track(TENTHS, [SHOWN]), _track(TENTHS, [(0, 0, UNIT_RATE)], handler=b"soun")
    assert shown_frames(_mp4(tmp_path, sound, video)) == 34
    assert shown_frames(_mp4(tmp_path, video, video)) is None


# packets of 0.1 s, packet 1 held 2 s: its stamps 0, 0.1, 2.1, 2.2 ... 2.8
HELD_STAMPS = [0.0, 0.1] + [round(2.1 + 0.1 * i, 1) for i in range(8)]


def test_the_frames_shown_of_a_variable_rate_file_counted_as_its_packets_start_where_its_last_place_them():
    """No edit list's count (as many frames as packets): the last frame 0.2 s after the first shown puts it at
    packet 2, not at packet 0."""
    assert shown_run([0.0, 0.1, 0.2, 0.3, 0.4], 5, 0.0, [0.2]) == slice(2, None)


@pytest.mark.parametrize(
    "first, last, run",
    [
        (0.0, [0.4, 0.5], slice(4, 10)),  # several runs fit: the one ending at the last packet (a start cut)
        (0.0, [2.3, 2.4], slice(0, 6)),  # it does not fit: the one starting at the packet stamped first (an end cut)
        (0.05, [2.35, 2.45], None),  # neither fits, two others do: which is unsaid
    ],
)
def test_which_packets_are_the_frames_shown_when_several_runs_fit(first, last, run):
    assert shown_run(HELD_STAMPS, 6, first, last) == run


TENTH_STAMPS = [round(0.1 * i, 1) for i in range(16)] + [3.0]  # packets of 0.1 s, the last but one held 1.5 s


@pytest.mark.parametrize(
    "stamps, count, first, last, run",
    [
        # as many frames as packets, frame 1 stamped 0.1 and the last 0.2: shown from packet 2, not 3
        ([0.0, 0.1, 0.2, 0.3, 0.4], 5, 0.1, [0.2], slice(2, None)),
        # 6 frames shown from packet 3 (an edit list's): frame 1 is the packet stamped 0.4, the end at packet 8 of
        # the many that fit (the last packet's does not: it is held)
        (TENTH_STAMPS, 6, 0.4, [0.7, 0.8], slice(3, 9)),
        (TENTH_STAMPS, 1, 0.4, [0.4], None),  # none shown after the frame that could not be decoded
    ],
)
def test_the_frames_shown_are_placed_by_the_first_that_can_be_decoded_after_damaged_ones(
    stamps, count, first, last, run
):
    """A trimmed file's first shown frame cannot be decoded: frame 1 is the first whose stamp is known."""
    assert shown_run(stamps, count, first, last, at=1) == run


def _damaged(data: bytes, box: bytes, at: int, value: bytes) -> bytes:
    """``data`` with ``value`` written ``at`` bytes into the body of its first ``box``."""
    start = data.find(box) + 4 + at
    return data[:start] + value + data[start + len(value) :]


@pytest.mark.parametrize(
    "box, at, value",
    [
        (b"mdhd", 0, b"\x02"),  # a version of no known layout: its time scale was read from a made-up place
        (b"mvhd", 0, b"\x02"),
        (b"elst", 0, b"\x02"),
        (b"stts", 8, struct.pack(">I", 0xFFFFFFFF)),  # a run of 4 billion samples: 32 GB, or the process killed
        (b"ctts", 8, struct.pack(">I", 0xFFFFFFFF)),
        (b"stts", 4, struct.pack(">I", 0xFFFFFFFF)),  # more runs than the box holds
        (b"stts", 4, bytes(4)),  # no runs at all
        (b"elst", 4, bytes(4)),  # no edits
        (b"stbl", -8, struct.pack(">I", 0xFFFF)),  # a box running past its parent
    ],
)
def test_a_damaged_movie_box_leaves_the_count_to_opencv(tmp_path, box, at, value):
    """A box of an unknown version raised IndexError out of opening the file, and an absurd sample count ran it out
    of memory: neither is a count to correct OpenCV's by."""
    path = _mp4(tmp_path, _track(TENTHS, [SHOWN], offsets=[0] * 40))
    path.write_bytes(_damaged(path.read_bytes(), box, at, value))
    assert shown_frames(path) is None


@pytest.mark.parametrize("keep", [12, 40, 120, 200])
def test_a_movie_box_cut_short_leaves_the_count_to_opencv(tmp_path, keep):
    """A file cut off inside its moov box (a download stopped): its boxes run past the file."""
    path = _mp4(tmp_path, _track(TENTHS, [SHOWN]))
    data = path.read_bytes()
    path.write_bytes(data[: data.find(b"moov") + keep])
    assert shown_frames(path) is None


# a free box (its bytes anything: here the movie's time scale where an mvhd keeps it) after an empty mvhd
PADDING_LIKE_A_HEADER = _box(b"free", bytes(4) + struct.pack(">I", 600) + bytes(16))


@pytest.mark.parametrize("at_end", [True, False])
def test_an_empty_full_box_leaves_the_count_to_opencv(tmp_path, at_end):
    """An mvhd of no body at the end of the movie box: its version was read past the box; before other boxes, its
    version and time scale read from the next one's bytes."""
    path = _mp4(tmp_path, _track(TENTHS, [SHOWN]))
    data = path.read_bytes()
    moov = data.find(b"moov") - 4
    tracks = data[moov + 8 :].replace(_scaled(b"mvhd", 600, 0), b"")
    body = tracks + _box(b"mvhd", b"") if at_end else _box(b"mvhd", b"") + PADDING_LIKE_A_HEADER + tracks
    path.write_bytes(data[:moov] + _box(b"moov", body))
    assert shown_frames(path) is None
