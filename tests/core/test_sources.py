"""Frame sources: video files deliver every frame with its own time stamp, damaged ones read as far as they go; a
source's stamp tells whether it changed; names and bad sources are clear errors."""

import os
import struct
import threading
from pathlib import Path

import cv2
import numpy as np
import pytest

from core.errors import WLitePoseError
from core.frame_loop import source_stamp
from core.sources import (
    check_image_fps,
    frames_due,
    is_live,
    open_source,
    source_name,
)
from core.sources.video_file import VideoFileSource


def test_video_file_delivers_every_frame_with_timestamps(video_path):
    with open_source(str(video_path)) as source:
        assert (source.fps, source.size, source.frame_count, source.is_live) == (10.0, (768, 576), 795, False)
        frames = [f for _, f in zip(range(12), source, strict=False)]
        assert [f.index for f in frames] == list(range(12))
        assert [f.timestamp_s for f in frames] == pytest.approx([i / 10.0 for i in range(12)])
        source.seek(100)
        again = next(iter(source))
        assert again.index == 100 and again.timestamp_s == pytest.approx(10.0)
        assert again.image.shape == (576, 768, 3)


def test_a_file_skips_frames_without_delivering_them(video_path):
    """What a player keeping pace does: the frame after a skip is the right frame, with its own index."""
    with open_source(str(video_path)) as source:
        frames = iter(source)
        assert next(frames).index == 0
        assert source.skip(3) == 3
        after = next(frames)
        assert after.index == 4 and after.timestamp_s == pytest.approx(0.4)
    with open_source(str(video_path)) as plain:
        images = [f.image for _, f in zip(range(5), plain, strict=False)]
    assert np.array_equal(after.image, images[4])
    with open_source(str(video_path)) as source:
        assert source.skip(2) == 2  # before the first frame was read
        assert next(iter(source)).index == 2
        source.seek(790)
        assert source.skip(10) == 5  # up to the end, not past it
        assert list(source) == []


def test_a_step_past_the_end_lands_on_the_last_frame_that_can_be_shown(tmp_path, video_path):
    for value in range(5):
        cv2.imwrite(str(tmp_path / f"{value}.png"), np.full((24, 32, 3), value * 40, np.uint8))
    (tmp_path / "4.png").write_bytes(b"not an image")
    with open_source(str(tmp_path)) as folder:
        assert folder.frame_at_or_before(12) == 3 and folder.frame_at_or_before(2) == 2
    (tmp_path / "1.png").write_bytes(b"not an image")
    with open_source(str(tmp_path)) as folder:
        assert folder.frame_at_or_before(1) == 0
    with open_source(str(video_path)) as video:
        assert video.frame_at_or_before(800) == 794 and video.frame_at_or_before(5) == 5


def test_a_name_too_long_to_be_a_file_is_one_clear_error():
    with pytest.raises(WLitePoseError, match=r"source x{80}… cannot be a file \(File name too long\)"):
        open_source("x" * 3000)


def test_a_frame_rate_from_a_time_base_is_replaced_and_said(tmp_path, grey_clip):
    """960 fps is a high-speed camera's; 1000 is what a variable-rate file's time base gives: timed at 30, and told."""
    with open_source(str(grey_clip(tmp_path / "fast.avi", 960))) as source:
        assert source.fps == 960 and [f.timestamp_s for f in source][-1] == pytest.approx(2 / 960)
        assert source.end_notes(3, 3) == []
    with open_source(str(grey_clip(tmp_path / "base.avi", 1000, frames=30))) as source:  # its stamps 1 ms apart
        assert source.fps == 30 and [f.timestamp_s for f in source] == pytest.approx([i / 30 for i in range(30)])
        source.seek(20)  # its stamps, 1 ms apart, depart from 30 fps: a seek goes by them, and still times at 30
        assert next(iter(source)).timestamp_s == pytest.approx(20 / 30) and not source.variable_rate
        assert source.end_notes(30, 30) == [
            "the file gives no believable frame rate (1000 fps): its frames were timed at 30 fps"
        ]
    with open_source(str(grey_clip(tmp_path / "broken.avi", 0.005))) as source:  # frame 2 was at 400 s
        assert source.fps == 30 and [f.timestamp_s for f in source][-1] == pytest.approx(2 / 30)


def test_a_variable_rate_mkv_under_a_millisecond_time_base_is_timed_by_its_stamps():
    """Its rate reads as 1000 fps, so it was timed at 30 fps, its own right stamps unused (frame 11 at 0.37 s, not
    1.35); its frame count, a guess from its duration (1,351 for 12), said it was cut short. Its video is written
    at the 30 fps standing in for the rate (the note said 'at its average rate')."""
    with open_source(str(Path(__file__).parent / "media" / "vfr_rate1000.mkv")) as source:
        times = [frame.timestamp_s for frame in source]
        notes = source.end_notes(len(times), source.frame_count)
    gaps = [0.1, 0.2, 0.05] * 4
    assert times == pytest.approx([sum(gaps[:i]) for i in range(12)])
    assert notes == [
        "the file's frame rate varies: frames were timed by its own time stamps; an annotated video shows each "
        "frame once, at 30 fps (its header gives no believable rate)"
    ]
    assert source.count_estimated and source.frame_count == 1351  # kept for the progress bar and seeking


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs here")
def test_a_pipe_given_as_a_video_is_refused_as_one_not_as_empty(tmp_path):
    """`cat clip.mp4 | wlitepose track /dev/stdin` was told the video file is empty."""
    fifo = tmp_path / "clip.mp4"
    os.mkfifo(fifo)
    said = []

    def open_it() -> None:  # in a thread of its own: read, a FIFO without a writer would hold the test for ever
        with pytest.raises(WLitePoseError, match=r"clip.mp4 is not a regular file \(a FIFO or a device\): save it"):
            open_source(str(fifo))
        said.append("refused")

    opener = threading.Thread(target=open_it, daemon=True)
    opener.start()
    opener.join(10)
    assert said == ["refused"]


def test_a_name_that_is_not_utf8_reads_as_an_image_and_is_a_clear_error_as_a_video(tmp_path, grey_clip):
    """OpenCV crashes the process on such a name (copied from an old archive): images are read by Python."""
    folder = tmp_path / "latin"
    folder.mkdir()
    try:
        image = folder / os.fsdecode(b"caf\xe9.jpg")
        cv2.imencode(".jpg", np.full((24, 32, 3), 90, np.uint8))[1].tofile(image)
        video = tmp_path / os.fsdecode(b"v\xe9deo.avi")
        video.write_bytes(grey_clip(tmp_path / "plain.avi", 10).read_bytes())
    except (OSError, UnicodeError):
        pytest.skip("this file system takes only UTF-8 names")
    with open_source(str(folder)) as source:
        assert [f.image.shape for f in source] == [(24, 32, 3)] and source.frame_files == [image.name]
    with open_source(str(image)) as source:
        assert next(iter(source)).image.shape == (24, 32, 3)
    with pytest.raises(WLitePoseError, match="not valid UTF-8: rename .*v\ufffddeo.avi"):
        open_source(str(video))


def test_source_names_keep_their_own_spaces_and_only_ascii_digits_are_webcams(tmp_path, monkeypatch, grey_clip):
    monkeypatch.chdir(tmp_path)
    grey_clip(tmp_path / " lead.avi", 10)
    grey_clip(tmp_path / "plain.avi", 10)
    for spec in (" lead.avi", " plain.avi ", "plain.avi"):  # spaces that are not the file's own go
        with open_source(spec) as source:
            assert source.frame_count == 3
    assert source_name(" lead.avi") == " lead" and not is_live(" lead.avi")
    for spec in ("²", "٣"):  # typed on an AZERTY keyboard; an Arabic-Indic three
        assert not is_live(spec)
        with pytest.raises(WLitePoseError, match=f"source {spec} does not exist"):
            open_source(spec)


@pytest.mark.parametrize("repeated", [False, True])
def test_a_variable_rate_files_frame_whose_stamp_does_not_move_on_comes_a_frame_after_the_last(monkeypatch, repeated):
    """A stamp read as 0 (a codec's missing one), or the one before's again (a frame late), in a file timed by
    its stamps: the frame a frame after the one before, not at its index / fps, seconds back (frame 6 at 0.2 s,
    between 0.65 and 0.75), nor at the time of the frame before."""
    with open_source(str(Path(__file__).parent / "media" / "vfr_rate1000.mkv")) as source:
        stamps, stamp = [], source._stamp

        def missing_at_frame_6():  # the first frame's was read as the file opened
            stamps.append(stamp())
            if len(stamps) == 6:
                return stamps[-2] if repeated else 0.0
            return stamps[-1]

        monkeypatch.setattr(source, "_stamp", missing_at_frame_6)
        times = [frame.timestamp_s for frame in source]
    gaps = [0.1, 0.2, 0.05] * 4
    expected = [sum(gaps[:i]) for i in range(12)]
    expected[6] = expected[5] + 1 / 30  # the rate standing in for the header's
    assert times == pytest.approx(expected)


def test_a_file_named_as_a_webcam_index_in_the_working_folder_is_the_file(tmp_path, monkeypatch, grey_clip):
    """`track 0` beside a video named 0 reads the video, not the webcam (or 'there is no camera with index 0')."""
    grey_clip(tmp_path / "clip.avi", 10).rename(tmp_path / "0")
    monkeypatch.chdir(tmp_path)
    assert not is_live("0") and source_name("0") == "0"
    with open_source("0") as source:
        assert not source.is_live and source.frame_count == 3 and len(list(source)) == 3


def test_a_variable_rate_file_seeked_back_is_timed_by_its_stamps_again():
    """A player stepping back in a file timed by its stamps: the frames after the seek at their own times, not
    taken for stamps that do not move on (after the later ones read before) and counted on from there."""
    with open_source(str(Path(__file__).parent / "media" / "vfr_rate1000.mkv")) as source:
        frames = iter(source)
        before = [next(frames).timestamp_s for _ in range(8)]
        source.seek(2)
        frames = iter(source)
        after = [next(frames) for _ in range(3)]
    assert [frame.index for frame in after] == [2, 3, 4]
    assert [frame.timestamp_s for frame in after] == pytest.approx(before[2:5])


def _edited_mp4(path, hold: int | None, trim: int = 0, cut_end: int = 0, late: tuple[int, ...] = ()) -> None:
    """OpenCV's one-track MP4 made variable-rate: frame ``hold`` shown 20 frames long (its sample durations,
    stts, rewritten; its edit list, which would end the track at the old length, blanked); with ``trim``, as
    ``ffmpeg -ss`` cuts without re-encoding, its edit list starting it ``trim`` frames in instead, and with
    ``cut_end`` ending it that many frames early; with ``late``, its last frames shown that many frames late each
    (their presentation offsets, a ctts, as B-frames have). ``hold`` None: its rate kept."""
    data = bytearray(path.read_bytes())
    chain = []

    def find(start: int, end: int, names: list[bytes]) -> int:
        while start < end:
            size, kind = struct.unpack(">I4s", data[start : start + 8])
            if kind == names[0]:
                chain.append(start)
                return start if len(names) == 1 else find(start + 8, start + size, names[1:])
            start += size
        raise ValueError(names)

    stts = find(0, len(data), [b"moov", b"trak", b"mdia", b"minf", b"stbl", b"stts"])
    assert data.find(b"mdat") < chain[0]  # the index after the media: no chunk offset moves
    size, _, _, entries, count, delta = struct.unpack(">I4sIIII", data[stts : stts + 24])
    assert entries == 1
    durations = [delta * (20 if i == hold else 1) for i in range(count)]
    body = struct.pack(">II", 0, count) + b"".join(struct.pack(">II", 1, duration) for duration in durations)
    boxes = struct.pack(">I4s", 8 + len(body), b"stts") + body
    if trim or cut_end:  # only its first frame a keyframe (an stss): the cut ones are decoded to build the others
        boxes += struct.pack(">I4sIII", 20, b"stss", 0, 1, 1)
    if late:
        offsets = [(count - len(late), 0)] + [(1, frames * delta) for frames in late]
        runs = b"".join(struct.pack(">Ii", *run) for run in offsets)
        boxes += struct.pack(">I4sII", 16 + len(runs), b"ctts", 0, len(offsets)) + runs
    for offset in chain[:-1]:
        struct.pack_into(">I", data, offset, struct.unpack(">I", data[offset : offset + 4])[0] + len(boxes) - size)
    data[stts : stts + size] = boxes
    edits = data.find(b"edts")
    if trim or cut_end:  # its one edit: (length shown in the movie's time scale, start in the track's)
        movie_scale, media_scale = (
            struct.unpack_from(">I", data, data.find(box) + 16)[0] for box in (b"mvhd", b"mdhd")
        )
        shown = (sum(durations) - (trim + cut_end) * delta) * movie_scale // media_scale
        struct.pack_into(">Ii", data, data.find(b"elst") + 12, shown, trim * delta)
    else:
        data[edits : edits + 4] = b"free"
    path.write_bytes(data)


def test_a_variable_rate_file_is_timed_by_its_own_stamps(tmp_path, grey_clip):
    """A screen recording holding one frame 2 s: time_s was index / the average rate, 1.4 s off after the hold."""
    path = grey_clip(tmp_path / "screen.mp4", 10, frames=20, codec="mp4v", step=12)
    _edited_mp4(path, hold=9)
    with open_source(str(path)) as source:
        times = [frame.timestamp_s for frame in source]
        notes = source.end_notes(len(times), source.frame_count)
    assert times[2:10] == pytest.approx([i / 10 for i in range(2, 10)]) and times[-1] == pytest.approx(3.8)
    assert times[10] == pytest.approx(2.9) and any("frame rate varies" in note for note in notes)
    with open_source(str(path)) as source:  # a seek (the app's slider) keeps the file's own clock
        source.seek(12)
        assert next(iter(source)).timestamp_s == pytest.approx(3.1)
        source.seek(15)
        assert next(iter(source)).timestamp_s == pytest.approx(3.4)


def _phone_clip(tmp_path, grey_clip):
    """A phone's video of 40 frames at 10 fps on average, holding frame 9 for 2 s; frame i grey level 6 i."""
    path = grey_clip(tmp_path / "phone.mp4", 10, frames=40, codec="mp4v", step=6)
    _edited_mp4(path, hold=9)
    return path


def test_a_seek_in_a_variable_rate_file_shows_and_times_the_frame_a_read_from_the_start_does(tmp_path, grey_clip):
    """A phone's video holding frame 9 for 2 s: OpenCV's seek goes by index / the average rate, so frame 25 showed
    frame 28 numbered 25, and 38 showed 29; and the first seek, before the rate was seen to vary, timed frame 39 by
    its index (5.75 s, not its 5.8)."""
    path = _phone_clip(tmp_path, grey_clip)
    with open_source(str(path)) as source:
        frames = list(source)
    with open_source(str(path)) as source:
        for index in (39, 20, 10, 25, 9, 0, 30, 2, 38):
            source.seek(index)
            frame = next(iter(source))
            assert (frame.index, frame.timestamp_s) == (index, pytest.approx(frames[index].timestamp_s))
            assert np.array_equal(frame.image, frames[index].image)
        source.seek(40)
        assert list(source) == [] and source.variable_rate


def _spy_reads_from_start(monkeypatch) -> list[int]:
    """The frames VideoFileSource's seeks read the file again from its start to, as they are made."""
    reads, read_again = [], VideoFileSource._read_from_start
    monkeypatch.setattr(VideoFileSource, "_read_from_start", lambda self, i: reads.append(i) or read_again(self, i))
    return reads


def test_a_clip_trimmed_at_both_ends_counts_the_frames_it_shows(tmp_path, grey_clip, monkeypatch):
    """A clip cut without re-encoding (ffmpeg -ss 3 -t 10 -c copy: its edit list shows frames 3 to 35 of 40): its
    count was the packets' 40, so the seek bar, the progress total and the sidecar's count ran 7 frames long, a
    seek to the last counted (the app's End key) read the file again from its start to find none (10 s in a
    720p H.264), and track's end note said the video ended after 33 of the 40 frames its header counts."""
    path = grey_clip(tmp_path / "cut.mp4", 10, frames=40, codec="mp4v", step=6)
    _edited_mp4(path, hold=None, trim=3, cut_end=4)
    reads = _spy_reads_from_start(monkeypatch)
    with open_source(str(path)) as source:
        frames = list(source)
        assert source.frame_count == len(frames) == 33 and source.end_notes(33, source.frame_count) == []
        source.seek(source.frame_count - 1)
        assert [frame.index for frame in source] == [32] and reads == []
    assert [round(frame.image.mean() / 6) for frame in (frames[0], frames[-1])] == [3, 35]


def _ebml_number(data: bytes, at: int, marker: bool) -> tuple[int, int]:
    """A Matroska element's ID (``marker`` kept) or size at ``at``: its value and where it ends."""
    length = 9 - data[at].bit_length()
    value = int.from_bytes(data[at : at + length], "big")
    return (value if marker else value & ~(1 << (7 * length))), at + length


def _ebml_children(data: bytes, start: int, end: int):
    """(ID, body start, body end) of each element from ``start`` to ``end``."""
    while start < end:
        kind, at = _ebml_number(data, start, True)
        size, at = _ebml_number(data, at, False)
        yield kind, at, at + size
        start = at + size


def _late_mkv(path, late: tuple[int, ...]) -> None:
    """OpenCV's MKV of 10 fps with its last frames shown ``late`` frames late each (their blocks' times moved on)
    and its duration as long: the count OpenCV estimates from it is as many frames longer."""
    data = bytearray(path.read_bytes())
    segment = next(body for body in _ebml_children(data, 0, len(data)) if body[0] == 0x18538067)
    blocks, duration = [], None
    for kind, start, end in _ebml_children(data, *segment[1:]):
        if kind == 0x1549A966:  # Info: its Duration, in ms
            duration = next((at, stop - at) for k, at, stop in _ebml_children(data, start, end) if k == 0x4489)
        elif kind == 0x1F43B675:  # a Cluster: its SimpleBlocks' times follow their track number (1 byte)
            blocks += [at + 1 for k, at, _ in _ebml_children(data, start, end) if k == 0xA3]
    for frames, at in zip(late, blocks[-len(late) :], strict=True):
        struct.pack_into(">h", data, at, struct.unpack_from(">h", data, at)[0] + frames * 100)
    layout = ">d" if duration[1] == 8 else ">f"
    struct.pack_into(layout, data, duration[0], struct.unpack_from(layout, data, duration[0])[0] + max(late) * 100)
    path.write_bytes(data)


@pytest.mark.parametrize("seek", [False, True])
@pytest.mark.parametrize(
    "late",
    [
        (2,),  # x264's 3 B-frames cut after the P-frame they refer to: all 3 gone
        (1, 2),  # cut after the middle B-frame of x264's pyramid (P8 B6 | B5 B7): frames 4, 6, 8 shown
        (2, 3, 6, 13),  # x264 --bframes 16's pyramid cut after P17 B9 B5 B3: frames 0, 3, 5, 9, 17 shown
    ],
)
@pytest.mark.parametrize("suffix", [".mp4", ".mkv"])
def test_a_constant_rate_clip_cut_at_its_end_whose_last_frames_come_late_is_no_variable_rate(
    tmp_path, grey_clip, seek, late, suffix
):
    """ffmpeg -t 10 -c copy keeps an H.264's packets in decoding order: the B-frames shown before its last kept
    ones go, and those are stamped late (0.1 s in an x264 file at 30 fps). The file was taken for variable-rate,
    read through or after a seek (its packets' stamps): the last rows' time_s were its stamps, the CSV sidecar said
    frame_times_vary and the end note that its frame rate varies. An MKV, whose frame count is an estimate (53 for
    40 frames at most here), was so read through but not after a seek."""
    path = grey_clip(tmp_path / f"cut{suffix}", 10, frames=40, codec="mp4v", step=6)
    if suffix == ".mkv":
        _late_mkv(path, late)
    else:
        _edited_mp4(path, hold=None, late=late)
    with open_source(str(path)) as source:
        if seek:
            source.seek(36)
        frames = list(source)
        assert not source.variable_rate and source.end_notes(40, 40) == []
    assert [(frame.index, frame.timestamp_s) for frame in frames[-4:]] == [(36, 3.6), (37, 3.7), (38, 3.8), (39, 3.9)]


def test_a_seek_in_a_variable_rate_file_of_4_frames_finds_its_frame(tmp_path, grey_clip):
    """Its stamps but the last 4 (none) were looked at for a rate that varies: IndexError. As read through, its
    departing only in its last 4 frames (its held frame 1) is no variable rate: its frames are timed by index."""
    path = grey_clip(tmp_path / "short.mp4", 10, frames=4, codec="mp4v", step=6)
    _edited_mp4(path, hold=1)
    with open_source(str(path)) as source:
        read = list(source)
        source.seek(2)
        seeked = list(source)
        assert not source.variable_rate
    assert [(frame.index, frame.timestamp_s) for frame in seeked] == [
        (2, read[2].timestamp_s),
        (3, read[3].timestamp_s),
    ]
    assert all(np.array_equal(frame.image, read[frame.index].image) for frame in seeked)


def test_an_edit_list_that_does_not_parse_leaves_the_count_opencv_gives(tmp_path, grey_clip):
    """An elst counting more edits than it holds: no count read from it, OpenCV's stands (as before edit lists
    were read)."""
    path = grey_clip(tmp_path / "cut.mp4", 10, frames=40, codec="mp4v", step=6)
    _edited_mp4(path, hold=None, trim=3)
    data = bytearray(path.read_bytes())
    struct.pack_into(">I", data, data.find(b"elst") + 8, 1000)
    path.write_bytes(data)
    with open_source(str(path)) as source:
        assert source.frame_count == 40


def test_a_seek_to_the_last_frames_of_a_file_held_late_finds_them_by_stamps(tmp_path, grey_clip, monkeypatch):
    """A screen recording holding frame 30 of 40 for 2 s: OpenCV's seek to its last frames, by the average rate,
    found none (past its end by that rate), and the file was read again from its start (2.4 s to the last of a
    246-frame 720p clip trimmed without re-encoding)."""
    path = grey_clip(tmp_path / "screen.mp4", 10, frames=40, codec="mp4v", step=6)
    _edited_mp4(path, hold=30)
    with open_source(str(path)) as source:
        frames = list(source)
    reads = _spy_reads_from_start(monkeypatch)
    with open_source(str(path)) as source:
        for index in (39, 33):
            source.seek(index)
            frame = next(iter(source))
            assert frame.index == index and np.array_equal(frame.image, frames[index].image)
    assert reads == []


@pytest.mark.parametrize("cut_end", [0, 4])
def test_a_seek_in_a_trimmed_variable_rate_file_finds_its_frame_by_stamps(tmp_path, grey_clip, monkeypatch, cut_end):
    """A phone's clip trimmed without re-encoding (its edit list starts it 3 frames in, or also ends it 4 early):
    its packets' stamps hold the cut frames' too, so seeks near its held frame found no frame by them and read the
    file again from its start (10 s to frame 2,900 of a 720p H.264), each time."""
    path = grey_clip(tmp_path / "trimmed.mp4", 10, frames=40, codec="mp4v", step=6)
    _edited_mp4(path, hold=9, trim=3, cut_end=cut_end)
    with open_source(str(path)) as source:
        frames = list(source)
    assert len(frames) == 37 - cut_end and round(frames[0].image.mean() / 6) == 3 and frames[0].timestamp_s == 0
    reads = _spy_reads_from_start(monkeypatch)
    with open_source(str(path)) as source:
        for index in (30, 7, 0, len(frames) - 1, 8, 5, 6):
            source.seek(index)
            frame = next(iter(source))
            assert (frame.index, frame.timestamp_s) == (index, pytest.approx(frames[index].timestamp_s))
            assert np.array_equal(frame.image, frames[index].image)
    assert reads == []


def test_a_seek_in_a_trimmed_variable_rate_file_whose_first_frame_is_damaged_finds_its_frame_by_stamps(
    tmp_path, grey_clip, damaged, monkeypatch
):
    """Its first shown frame (packet 3) cannot be decoded: the look for the last frames' stamps, reading on from
    before it, ended there with none, and its packets' stamps were taken as they are (those of the 3 frames cut
    too), so seeks near its held frame read the file again from its start. Now they place the first frame that
    can be decoded (1) among them. OpenCV writes MJPG into an MP4 (each frame a JPEG to damage)."""
    path = grey_clip(tmp_path / "trimmed.mp4", 10, frames=40, codec="MJPG", step=6)
    _edited_mp4(path, hold=9, trim=3)
    damaged(path, [3])
    with open_source(str(path)) as source:
        frames = list(source)
    assert [frame.index for frame in frames[:2]] == [1, 2] and round(frames[0].image.mean() / 6) == 4
    reads = _spy_reads_from_start(monkeypatch)
    with open_source(str(path)) as source:
        for index in (30, 7, 8, 5, 6, len(frames)):
            source.seek(index)
            frame = next(iter(source))
            assert frame.index == index and np.array_equal(frame.image, frames[index - 1].image)
    assert reads == []


@pytest.mark.parametrize("bad", [(5,), (0, 1, 20, 21)])
def test_a_seek_among_frames_that_cannot_be_decoded_shows_the_frame_it_numbers(tmp_path, grey_clip, damaged, bad):
    """A damaged frame 5: seeks to 7-21 showed the frame after the one asked for (a read from the start counted
    only frames decoded); damaged first frames: a seek landed on frame 2, numbered as the frame asked for, or on
    nothing near the end."""
    path = damaged(grey_clip(tmp_path / "damaged.avi", 10, frames=40, step=6), bad)
    shown = [i for i in range(40) if i not in bad]
    for index in (2, 7, 10, 19, 20, 22, 38, 39):
        with open_source(str(path)) as source:  # each seek the first, as an analyst's after opening the file
            source.seek(index)
            frame = next(iter(source))
            due = min(i for i in shown if i >= index)  # a damaged frame asked for: the next one
            assert (frame.index, round(frame.image.mean() / 6), frame.timestamp_s) == (
                due,
                due,
                pytest.approx(due / 10),
            )
    with open_source(str(path)) as source:
        source.seek(10)
        assert source.skip(2) == 2 and next(iter(source)).index == 12  # keeping pace after a seek


def test_a_variable_rate_file_renamed_while_open_still_seeks(tmp_path, grey_clip):
    """A seek that read the file again from its start opened it by its name: renamed or moved meanwhile, every
    seek after found no frame, which the app takes for the file's end."""
    path = _phone_clip(tmp_path, grey_clip)
    with open_source(str(path)) as source:
        path.rename(tmp_path / "moved.mp4")
        for index in (25, 0, 12):
            source.seek(index)
            frame = next(iter(source))
            assert frame.index == index
            if index != 25:  # OpenCV's seek, as before: exact on the frames before the one held 2 s, and here
                assert round(frame.image.mean() / 6) == index


def test_frames_that_cannot_be_decoded_are_passed_over_not_the_end(tmp_path, grey_clip, damaged):
    """A damaged first frame refused the whole file; one in the middle ended it there."""
    path = damaged(grey_clip(tmp_path / "damaged.avi", 10, frames=12, step=20), (0, 1, 5))
    with open_source(str(path)) as source:
        frames = [(frame.index, frame.timestamp_s) for frame in source]
        notes = source.end_notes(len(frames), source.frame_count)
    assert [index for index, _ in frames] == [2, 3, 4, 6, 7, 8, 9, 10, 11]
    assert frames[0][1] == pytest.approx(0.2) and notes == [
        "3 frames could not be decoded and were passed over (0, 1, 5)"
    ]


def _uncompressed_avi(path: Path, frame: np.ndarray, bottom_up: bool) -> Path:
    """A one-frame AVI of uncompressed 24-bit BGR rows (32-bit BGRA for a frame of 4 channels), stored bottom-up
    (as Windows capture tools write them) or top-down (a negative height)."""
    h, w = frame.shape[:2]

    def chunk(kind: bytes, data: bytes) -> bytes:
        return kind + struct.pack("<I", len(data)) + data

    avih = struct.pack("<10I16x", 100000, 0, 0, 0, 1, 0, 1, frame.size, w, h)
    strh = b"vids" + bytes(4) + struct.pack("<I2H8I4h", 0, 0, 0, 0, 1, 10, 0, 1, frame.size, 2**32 - 1, 0, 0, 0, w, h)
    strf = struct.pack("<I2i2H6I", 40, w, h if bottom_up else -h, 1, 8 * frame.shape[2], 0, frame.size, 0, 0, 0, 0)
    hdrl = b"hdrl" + chunk(b"avih", avih) + chunk(b"LIST", b"strl" + chunk(b"strh", strh) + chunk(b"strf", strf))
    movi = b"movi" + chunk(b"00db", (frame[::-1] if bottom_up else frame).tobytes())
    path.write_bytes(chunk(b"RIFF", b"AVI " + chunk(b"LIST", hdrl) + chunk(b"LIST", movi)))
    return path


def test_an_uncompressed_avi_stored_bottom_up_is_refused_not_a_crash(tmp_path):
    """OpenCV's reader crashed the process (a segmentation fault) on the first frame of the classic uncompressed
    AVI, 24-bit rows stored bottom-up; one stored top-down it reads as it is."""
    frame = np.random.default_rng(0).integers(0, 256, (24, 32, 3), np.uint8)
    with open_source(str(_uncompressed_avi(tmp_path / "top_down.avi", frame, bottom_up=False))) as source:
        assert np.array_equal(next(iter(source)).image, frame)
    with pytest.raises(WLitePoseError, match="stored bottom-up, which OpenCV cannot read without crashing"):
        open_source(str(_uncompressed_avi(tmp_path / "bottom_up.avi", frame, bottom_up=True)))


def test_only_24_bit_uncompressed_avis_stored_bottom_up_are_refused(tmp_path, grey_clip):
    """OpenCV reads 32-bit rows stored bottom-up as they are, and an MJPG AVI's header gives a positive height
    too (as the 24 bits of its decoded frames): neither is the file that crashed it."""
    frame = np.random.default_rng(0).integers(0, 256, (24, 32, 4), np.uint8)
    with open_source(str(_uncompressed_avi(tmp_path / "bgra.avi", frame, bottom_up=True))) as source:
        assert np.array_equal(next(iter(source)).image, frame[..., :3])
    with open_source(str(grey_clip(tmp_path / "mjpg.avi", 10, step=100, first=1))) as source:
        assert abs(float(next(iter(source)).image.mean()) - 100) < 3


def test_skipping_over_a_damaged_frame_keeps_the_indices_on_the_file(tmp_path, grey_clip, damaged):
    """A skip (the app keeping pace) stopped at a frame it could not decode: every later index was one low."""
    path = damaged(grey_clip(tmp_path / "damaged.avi", 10, frames=12, step=20), (5,))
    with open_source(str(path)) as source:
        assert source.skip(6) == 6  # frames 0-4 and 6; 5 passed over
        frame = next(iter(source))
        assert frame.index == 7 and abs(int(frame.image.mean()) - 140) < 8 and source.bad_frames == {5}


def test_a_raw_stream_whose_stamps_lag_a_frame_is_timed_by_its_rate(tmp_path, grey_clip):
    """Raw MPEG-2's stamps run a frame late and end at 0: it was taken for variable-rate, its last frame at 0 s."""
    path = grey_clip(tmp_path / "raw.m2v", 25, frames=40, codec="mpg2", step=6)
    with open_source(str(path)) as source:
        times = [frame.timestamp_s for frame in source]
        assert source.end_notes(len(times), source.frame_count) == [] and not source.variable_rate
    assert times == pytest.approx([i / 25 for i in range(40)])


@pytest.mark.parametrize("spec", ["", "  "])
def test_an_empty_source_is_a_clear_error_in_the_api_too(spec):
    with pytest.raises(WLitePoseError, match="no source given"):
        open_source(spec)


def test_images_and_videos_too_small_to_find_people_in_are_passed_over_or_refused(tmp_path, grey_clip):
    """A 1x1 or 16x16 picture was blown up 16-256 times into the network, whose blur gave 96-100 people at score
    0.9: a folder's is passed over and listed, a lone image or a video is refused before anything is written."""
    folder = tmp_path / "thumbs"
    folder.mkdir()
    for name, (w, h) in (("a.png", (32, 24)), ("b.png", (16, 16)), ("c.png", (31, 200))):
        cv2.imwrite(str(folder / name), np.full((h, w, 3), 90, np.uint8))
    with open_source(str(folder)) as source:
        assert [frame.index for frame in source] == [0, 2]  # 31 x 200: its longer side is enough
        assert source.skipped_notes() == [
            f"skipped {folder / 'b.png'}: it is 16x16 pixels, too small to find people in (under 32 on its longer side)"
        ]
    with pytest.raises(WLitePoseError, match=r"^image .*b.png is 16x16 pixels, too small to find people in"):
        open_source(str(folder / "b.png"))
    clip = tmp_path / "tiny.avi"
    writer = cv2.VideoWriter(str(clip), cv2.VideoWriter_fourcc(*"MJPG"), 10, (16, 16))
    for _ in range(3):
        writer.write(np.full((16, 16, 3), 90, np.uint8))
    writer.release()
    with pytest.raises(WLitePoseError, match=r"tiny.avi is 16x16 pixels, too small to find people in"):
        open_source(str(clip))
    with open_source(str(grey_clip(tmp_path / "small.avi", 10))) as source:  # 32 x 24: taken
        assert source.size == (32, 24)


def test_a_folders_stamp_counts_its_frames_and_changes_with_their_names_not_with_other_files(tmp_path):
    """track --skip-done's record of an image folder (README: the number of its images and a digest of their names,
    sizes and times): a Mac's hidden ._a.png or the run's own CSV written beside the images is no frame of it, and
    frames renamed (times and sizes kept, as mv keeps them) are other frames, their CSV rows and COCO file_names
    another's."""
    cv2.imwrite(str(tmp_path / "a.png"), np.zeros((24, 32, 3), np.uint8))
    cv2.imwrite(str(tmp_path / "b.png"), np.full((24, 32, 3), 90, np.uint8))
    stamp = source_stamp(str(tmp_path))
    assert stamp[0] == 2
    (tmp_path / "._a.png").write_bytes(b"\0\5\26\7 AppleDouble")
    (tmp_path / "out.csv").write_text("frame,time_s\n")
    assert source_stamp(str(tmp_path)) == stamp
    os.rename(tmp_path / "b.png", tmp_path / "c.png")
    assert source_stamp(str(tmp_path))[0] == 2 and source_stamp(str(tmp_path)) != stamp


def test_a_folders_stamp_changes_with_a_frame_written_again_of_the_same_size_or_time(tmp_path):
    """Frames extracted anew as BMP keep their size to the byte (only their time tells), and frames copied in with
    their times kept (cp -p, rsync -t) keep their time (only their size tells)."""
    frame = tmp_path / "1.bmp"
    cv2.imwrite(str(frame), np.zeros((24, 32, 3), np.uint8))
    stamp, size = source_stamp(str(tmp_path)), frame.stat().st_size
    cv2.imwrite(str(frame), np.full((24, 32, 3), 200, np.uint8))
    later = frame.stat().st_mtime_ns + 10**9
    os.utime(frame, ns=(later, later))
    assert frame.stat().st_size == size and source_stamp(str(tmp_path)) != stamp
    stamp = source_stamp(str(tmp_path))
    cv2.imwrite(str(frame), np.zeros((48, 64, 3), np.uint8))
    os.utime(frame, ns=(later, later))
    assert source_stamp(str(tmp_path)) != stamp


def test_a_files_stamp_changes_with_the_file_written_again_within_the_second(tmp_path):
    """An uncompressed clip encoded again keeps its size to the byte; a script doing it within the second the first
    was written changes its time by less than a second, and --skip-done must still see it."""
    clip = tmp_path / "clip.avi"
    clip.write_bytes(b"\0" * 64)
    os.utime(clip, ns=(10**18, 10**18))
    stamp = source_stamp(str(clip))
    os.utime(clip, ns=(10**18 + 10**6, 10**18 + 10**6))  # a millisecond later
    assert source_stamp(str(clip)) != stamp


def test_a_matroska_file_named_in_upper_case_is_still_one_whose_count_is_a_guess(tmp_path):
    """A camera card or a Windows copy names it CLIP.MKV: its count guessed from its duration (1,351 for 12) would
    say it was cut short, and be written in the sidecar as the file's own."""
    clip = tmp_path / "VFR.MKV"
    clip.write_bytes((Path(__file__).parent / "media" / "vfr_rate1000.mkv").read_bytes())
    with open_source(str(clip)) as source:
        frames = len(list(source))
        notes = source.end_notes(frames, source.frame_count)
    assert frames == 12 and source.count_estimated
    assert not any("ended after" in note for note in notes)


def test_a_seek_into_an_mpeg2_streams_first_pictures_shows_the_frame_it_numbers(tmp_path):
    """A camcorder's or DVD's MPEG-2 program stream: OpenCV's seek to frame 0 (Home, Play at the end) showed frame 3,
    and to 1 frame 4, each numbered and timed as the frame asked for, and the file was then taken to vary its rate."""
    clip = tmp_path / "camcorder.mpg"
    noise = np.random.default_rng(1)
    writer = cv2.VideoWriter(str(clip), cv2.VideoWriter_fourcc(*"MPG2"), 25.0, (128, 96))
    for _ in range(30):
        writer.write(noise.integers(0, 256, (96, 128, 3), np.uint8))
    writer.release()
    with open_source(str(clip)) as source:
        images = [frame.image for frame in source]
        for index in (0, 1, 20, 5):
            source.seek(index)
            frame = next(iter(source))
            assert (frame.index, frame.timestamp_s) == (index, pytest.approx(index / 25))
            assert np.array_equal(frame.image, images[index])
        assert not source.variable_rate


def test_a_seek_to_the_last_frame_of_mpeg2_in_avi_times_it_by_its_index(tmp_path, grey_clip):
    """OpenCV stamps the last frame of MPEG-2 in AVI 0 s: read in turn it is a stamp that does not move on, but
    after a seek (the End key) it timed the frame -0.04 s and called the file's rate variable."""
    clip = grey_clip(tmp_path / "clip.avi", 25, frames=20, codec="MPEG", step=12)
    with open_source(str(clip)) as source:
        source.seek(19)
        frame = next(iter(source))
        assert (frame.index, frame.timestamp_s, round(frame.image.mean() / 12)) == (19, pytest.approx(0.76), 19)
        assert not source.variable_rate and source.end_notes(20, source.frame_count) == []


def test_a_seek_to_the_last_frame_of_an_mpeg2_program_stream_times_it_by_its_index(tmp_path, grey_clip):
    """Its last frame is stamped 0, as its first is: after End it was timed 0 s and the file taken to vary its rate,
    and the seek after it (Home, a step back) showed no frame at all."""
    clip = grey_clip(tmp_path / "clip.mpg", 25, frames=30, codec="MPG2", step=6)
    with open_source(str(clip)) as source:
        for index in (29, 12):
            source.seek(index)
            frame = next(iter(source))
            assert (frame.index, round(frame.image.mean() / 6)) == (index, index)
            assert frame.timestamp_s == pytest.approx(index / 25)
        assert not source.variable_rate


def test_a_seek_past_the_end_of_a_file_whose_header_counts_more_says_how_far_it_was_read(tmp_path, grey_clip):
    """3 frames whose headers count 1,000: the app's seek bar spans 1,000, and a seek to 500 said "the video ended
    after 500 of the 1000 frames its header counts", where it holds 3."""
    clip = grey_clip(tmp_path / "clip.avi", 10, frames=3)
    data = bytearray(clip.read_bytes())
    for chunk, offset in ((b"avih", 16), (b"strh", 32)):  # the main header's frame count, the stream header's length
        data[data.index(chunk) + 8 + offset : data.index(chunk) + 12 + offset] = (1000).to_bytes(4, "little")
    clip.write_bytes(data)
    with open_source(str(clip)) as source:
        assert len(list(source)) == 3 and source.frame_count == 1000
        source.seek(500)
        assert list(source) == []
        notes = source.end_notes(3, source.frame_count)
    assert "the video ended after 3 of the 1000 frames its header counts" in notes[0]


def test_a_video_whose_header_counts_no_frames_is_no_file_cut_short_for_ending_before_max_frames(tmp_path, video_path):
    """A raw MJPEG or H.264 stream (an IP camera's dump) gives no count: `--max-frames 50` on its 20 frames said
    the file may be damaged or cut short, and a batch ended 'with warnings'."""
    clip = tmp_path / "dump.mjpeg"
    writer = cv2.VideoWriter(str(clip), cv2.VideoWriter_fourcc(*"MJPG"), 10.0, (768, 576))
    with open_source(str(video_path)) as source:
        for _, frame in zip(range(20), source, strict=False):
            writer.write(frame.image)
    writer.release()
    with open_source(str(clip)) as source:
        frames = len(list(source))
        assert source.frame_count is None and frames == 20
        assert source.frames_shown() is None  # a bar with no end, not a TypeError at each frame
        assert source.end_notes(frames, frames_due(source.frame_count, 50)) == []


def test_a_frame_rate_for_a_batch_of_folders_and_videos_is_taken(tmp_path, video_path):
    """`track frames/ clip.mp4 --fps 5`: the rate is for the folder; the videos keep their own."""
    cv2.imwrite(str(tmp_path / "a.png"), np.zeros((40, 50, 3), np.uint8))
    check_image_fps(5.0, [str(tmp_path), str(video_path)])
    with pytest.raises(WLitePoseError, match="sets the frame rate of image folders"):
        check_image_fps(5.0, [str(video_path)])
