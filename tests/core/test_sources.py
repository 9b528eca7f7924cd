"""Frame sources: files deliver every frame with its timestamp; live sources keep only the newest frame."""

import os
import struct
import threading
import time
import weakref
from pathlib import Path
from types import SimpleNamespace

import cv2
import numpy as np
import pytest

from core.errors import WLitePoseError
from core.frame_loop import run_meta, source_stamp
from core.sources import (
    FrameSource,
    LiveSource,
    check_image_fps,
    frames_due,
    is_image_sequence,
    is_live,
    open_source,
    read_image,
    source_name,
    without_password,
)
from core.sources.playlists import check_playlist
from core.sources.video_file import pixel_aspect


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


def test_an_image_folder_skips_to_the_right_file(tmp_path):
    for value in range(5):
        cv2.imwrite(str(tmp_path / f"{value}.png"), np.full((24, 32, 3), value * 40, np.uint8))
    with open_source(str(tmp_path)) as source:
        frames = iter(source)
        next(frames)
        assert source.skip(2) == 2
        frame = next(frames)
        assert (frame.index, int(frame.image[0, 0, 0])) == (3, 120)
        assert source.skip(9) == 1 and list(frames) == []
        source.seek(1)
        frame = next(iter(source))
        assert (frame.index, int(frame.image[0, 0, 0])) == (1, 40)


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


def test_image_folder_is_sorted_and_single_image_works(tmp_path):
    for name, value in (("b.png", 20), ("a.jpg", 10), ("c.bmp", 30)):
        cv2.imwrite(str(tmp_path / name), np.full((40, 50, 3), value, np.uint8))
    (tmp_path / "notes.txt").write_text("ignored")
    with open_source(str(tmp_path)) as source:
        means = [round(float(f.image.mean())) for f in source]
        assert source.frame_count == 3 and source.size == (50, 40)
    assert means == [10, 20, 30]
    with open_source(str(tmp_path / "b.png")) as single:
        assert [f.index for f in single] == [0]
    numbered = tmp_path / "numbered"  # as people number them: frame2 before frame10, whatever the letter case
    numbered.mkdir()
    for name in ("frame10.png", "frame2.png", "Frame3.png", "frame1.png"):
        cv2.imwrite(str(numbered / name), np.zeros((24, 32, 3), np.uint8))
    with open_source(str(numbered)) as source:
        assert source.frame_files == ["frame1.png", "frame2.png", "Frame3.png", "frame10.png"]


def test_live_source_keeps_only_the_newest_frame(video_path):
    """A slow consumer of a live source sees the newest frames (gaps in the index), never a growing backlog."""
    source = LiveSource(str(video_path), "test stream")
    try:
        assert source.is_live and source.frame_count is None
        indices = []
        for frame in source:
            indices.append(frame.index)
            time.sleep(0.02)
        assert len(indices) < 795 and indices == sorted(indices) and indices[-1] >= 700
        assert max(np.diff(indices)) > 1  # frames were dropped, not queued
        assert source.skipped == indices[-1] + 1 - len(indices) > 0  # and counted
        assert "stopped delivering frames" in source.end_reason
        with pytest.raises(WLitePoseError, match="cannot seek"):
            source.seek(0)
    finally:
        source.close()


class FakeCapture:
    """Stands in for OpenCV's capture of a stream: open, at ``rate`` fps, taking no setting; each read a frame."""

    rate = 25.0

    def __init__(self, *args) -> None:
        self.reads, self.released = 0, False

    def isOpened(self) -> bool:  # noqa: N802 (OpenCV's name)
        return True

    def read(self):
        self.reads += 1
        return True, np.zeros((24, 32, 3), np.uint8)

    def get(self, prop) -> float:
        return self.rate

    def set(self, prop, value) -> bool:
        return False

    def release(self) -> None:
        self.released = True


def frozen_stream(monkeypatch, frames: int, then_ends: bool):
    """Stand in for OpenCV's capture: a stream that sends ``frames`` frames, then its read waits until the
    returned event is set (and then ends, or sends again). Returns (event, names of threads that released)."""
    import core.sources

    frozen, released_by = threading.Event(), []

    class FrozenStream(FakeCapture):
        def read(self):
            self.reads += 1
            if self.reads > frames:
                frozen.wait(10)
                if then_ends:
                    return False, None
            return True, np.zeros((24, 32, 3), np.uint8)

        def release(self) -> None:
            released_by.append(threading.current_thread().name)

    monkeypatch.setattr(core.sources.cv2, "VideoCapture", FrozenStream)
    return frozen, released_by


class SkippingClock:
    """``time`` as core.sources.live reads it, with a monotonic clock the test can move on at once: the silence of a
    stream timed with a 0.4 s timeout failed on a loaded machine (a short step measured 0.34 s, over its 0.3 s)."""

    def __init__(self) -> None:
        self.skipped = 0.0
        self.perf_counter = time.perf_counter

    def monotonic(self) -> float:
        return time.monotonic() + self.skipped


def test_a_silent_stream_is_waited_for_in_short_steps_then_ends(monkeypatch):
    import core.sources.live

    clock = SkippingClock()
    monkeypatch.setattr(core.sources.live, "time", clock)
    frozen, _ = frozen_stream(monkeypatch, frames=1, then_ends=True)
    source = LiveSource("http://camera/stream", "quiet stream")
    try:
        frames = iter(source)
        assert source.ready(0.05) and next(frames).index == 0
        started = time.monotonic()
        assert not source.ready(0.05)  # silent: says so after one short step
        assert time.monotonic() - started < core.sources.live.LIVE_TIMEOUT_S / 2  # not after the whole timeout
        clock.skipped += core.sources.live.LIVE_TIMEOUT_S
        assert source.ready(0.05)  # silent for LIVE_TIMEOUT_S: the iterator ends at once
        assert next(frames, None) is None and "sent no frame for" in source.end_reason
    finally:
        frozen.set()
        source.close()


def test_closing_a_stream_whose_read_hangs_leaves_the_release_to_its_reader(monkeypatch):
    """Releasing a capture under a read that waits on a frozen stream crashed the process."""
    frozen, released_by = frozen_stream(monkeypatch, frames=2, then_ends=False)
    source = LiveSource("http://camera/stream", "camera stream")
    assert next(iter(source)).image.shape == (24, 32, 3)
    deadline = time.monotonic() + 10
    while source._cap.reads < 3 and time.monotonic() < deadline:  # the reader in the read that hangs, not before it
        time.sleep(0.01)
    source.close()  # returns while the read still waits
    assert released_by == []
    frozen.set()
    source._thread.join(5)
    assert released_by == ["source:camera stream"]


@pytest.mark.parametrize(
    "url, paced",
    [
        ("http://tv/live/index.m3u8", True),
        ("https://tv/live/manifest.mpd", True),
        ("http://TV/LIVE/INDEX.M3U8", True),  # a server that names it in upper case
        ("rtsp://cam/1", False),
    ],
)
def test_live_playlists_hls_and_dash_alike_are_read_out_at_their_rate(video_path, url, paced):
    """A segment of seconds arrives at once; a DASH manifest (.mpd) was not paced, its segments' frames skipped."""
    capture = cv2.VideoCapture(str(video_path))
    source = LiveSource(url, "stream", (capture, capture.read()[1]))  # opened as open_capture opens it
    try:
        assert source._pace_s == (pytest.approx(1 / source.fps) if paced else 0.0)
    finally:
        source.close()


def test_a_closed_live_source_is_let_go(video_path):
    """The exit's close of a stream left open was kept for a stream closed too: the app held each camera and stream
    opened and closed since it started, with its newest frame, until it quit."""
    source = LiveSource(str(video_path), "stream")
    source.close()
    source._thread.join(timeout=30)  # close waits 2 s for its reader: a loaded machine may take longer
    closed = weakref.ref(source)
    del source
    assert closed() is None


def test_unopenable_stream_is_a_clear_error():
    with pytest.raises(WLitePoseError, match="cannot be opened"):
        open_source("rtsp://127.0.0.1:9/none")


def test_a_name_too_long_to_be_a_file_is_one_clear_error():
    with pytest.raises(WLitePoseError, match=r"source x{80}… cannot be a file \(File name too long\)"):
        open_source("x" * 3000)


def test_a_stream_that_accepts_and_says_nothing_gives_up_in_seconds():
    import socket

    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)  # connections are accepted by the kernel and never answered
    try:
        started = time.monotonic()
        with pytest.raises(WLitePoseError, match="cannot be opened .no answer within 4 s"):
            open_source(f"http://127.0.0.1:{server.getsockname()[1]}/live.mjpg")
        assert time.monotonic() - started < 15  # FFmpeg's own timeout is 30 s
    finally:
        server.close()


def test_a_stream_password_never_reaches_files_or_messages(video_path, tmp_path):
    assert without_password("rtsp://admin:s3cret@10.0.0.1:554/live?x=1") == "rtsp://admin:***@10.0.0.1:554/live?x=1"
    for kept in ("rtsp://cam.local/live", "http://user@host/a", "0", "clip.mp4"):
        assert without_password(kept) == kept
    source = FrameSource()
    source.fps, source.size, source.frame_count, source.is_live = 25.0, (64, 48), None, True
    pipeline = SimpleNamespace(settings=lambda: {})  # run_meta asks the pipeline only for its settings
    meta = run_meta(source, "http://admin:s3cret@127.0.0.1:8080/cam.mjpg", pipeline)
    assert meta["source"] == "http://admin:***@127.0.0.1:8080/cam.mjpg" and meta["live"] is True


def test_a_frame_rate_from_a_time_base_is_replaced_and_said(tmp_path, grey_clip):
    """960 fps is a high-speed camera's; 1000 is what a variable-rate file's time base gives: timed at 30, and told."""
    with open_source(str(grey_clip(tmp_path / "fast.avi", 960))) as source:
        assert source.fps == 960 and [f.timestamp_s for f in source][-1] == pytest.approx(2 / 960)
        assert source.end_notes(3, 3) == []
    with open_source(str(grey_clip(tmp_path / "base.avi", 1000, frames=30))) as source:  # its stamps 1 ms apart
        assert source.fps == 30 and [f.timestamp_s for f in source] == pytest.approx([i / 30 for i in range(30)])
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


def test_an_image_folder_skips_hidden_files_and_takes_the_formats_opencv_reads(tmp_path):
    folder = tmp_path / "photos"
    folder.mkdir()
    names = (("IMG_1.jpg", ".jpg"), ("IMG_2.ppm", ".ppm"), ("IMG_3.jfif", ".jpg"), ("IMG_4.pnm", ".ppm"))
    for name, encoding in (*names, ("IMG_5.JPG", ".jpg")):  # a camera's card names them in upper case
        cv2.imencode(encoding, np.full((24, 32, 3), 90, np.uint8))[1].tofile(folder / name)
    (folder / "._IMG_1.jpg").write_bytes(b"\x00\x05\x16\x07 AppleDouble")  # a Mac's resource fork copy
    with open_source(str(folder), image_fps=10) as source:
        frames = list(source)
    assert source.frame_files == ["IMG_1.jpg", "IMG_2.ppm", "IMG_3.jfif", "IMG_4.pnm", "IMG_5.JPG"]
    assert not source.unreadable and [f.timestamp_s for f in frames] == pytest.approx([0.0, 0.1, 0.2, 0.3, 0.4])
    with open_source(str(folder / "IMG_2.ppm"), image_fps=10) as one:
        assert one.fps == 10 and one.image_folder is False


def test_a_folder_of_unreadable_images_says_none_can_be_read(tmp_path):
    folder = tmp_path / "allbad"
    folder.mkdir()
    for name in ("a.jpg", "b.jpg"):
        (folder / name).write_bytes(b"broken")
    with pytest.raises(WLitePoseError, match=r"^not one of the 2 images in .*allbad can be read$"):
        open_source(str(folder))
    (folder / "b.jpg").unlink()  # one image: named, and said once ("cannot be read can be read" before)
    with pytest.raises(WLitePoseError, match=r"^the only image in .*allbad, a.jpg, cannot be read$"):
        open_source(str(folder))
    with pytest.raises(WLitePoseError, match=r"^image .*a.jpg cannot be read$"):
        open_source(str(folder / "a.jpg"))


def test_a_player_hears_of_each_skipped_image_once_from_where_it_left_off(tmp_path):
    folder = tmp_path / "some_bad"
    folder.mkdir()
    for name in ("a.png", "c.png"):
        (folder / name).write_bytes(b"broken")
    cv2.imencode(".png", np.zeros((24, 32, 3), np.uint8))[1].tofile(folder / "b.png")
    with open_source(str(folder)) as source:
        frames = iter(source)
        next(frames)
        assert source.skipped_notes() == [f"skipped {folder / 'a.png'}: it cannot be read as an image"]
        assert list(frames) == [] and source.skipped_notes(1) == [
            f"skipped {folder / 'c.png'}: it cannot be read as an image"
        ]
        assert source.end_notes(1, 3) == source.skipped_notes()  # all of them, at the end


def test_a_folders_end_names_ten_images_passed_over_and_counts_the_rest(tmp_path):
    """A folder of frames and their thousand thumbnails ended on a thousand warnings (and one dialog in the app)."""
    folder = tmp_path / "frames"
    folder.mkdir()
    cv2.imencode(".png", np.zeros((48, 64, 3), np.uint8))[1].tofile(folder / "frame.png")
    for n in range(12):
        (folder / f"thumb{n:02d}.png").write_bytes(b"broken")
    with open_source(str(folder)) as source:
        assert len(list(source)) == 1 and len(source.skipped_notes()) == 12  # the player hears of each
        notes = source.end_notes(1, 13)
    assert notes[:10] == source.skipped_notes()[:10]
    assert notes[10:] == ["skipped 2 more images"]


def test_an_image_beyond_opencvs_pixel_limit_is_passed_over_not_a_traceback(tmp_path):
    import struct
    import zlib

    folder = tmp_path / "panorama"
    folder.mkdir()

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", 200000, 200000, 8, 2, 0, 0, 0)  # 40 gigapixels, with data to decode
    png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"")) + chunk(b"IEND", b"")
    (folder / "a_huge.png").write_bytes(png)
    cv2.imencode(".png", np.zeros((24, 32, 3), np.uint8))[1].tofile(folder / "b.png")
    with open_source(str(folder)) as source:
        assert [f.index for f in source] == [1] and source.skipped_notes() == [
            f"skipped {folder / 'a_huge.png'}: it cannot be read as an image"
        ]


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


def test_a_folders_name_is_whole_even_with_a_dot_in_it(tmp_path):
    """Folders take.1 and take.2 are two names (a batch's {name}), not both "take"; a file's loses its extension."""
    for name in ("take.1", "take.2"):
        (tmp_path / name).mkdir()
    assert [source_name(str(tmp_path / name)) for name in ("take.1", "take.2", "clip.v2.mp4")] == [
        "take.1",
        "take.2",
        "clip.v2",
    ]


def _variable_rate(path, hold: int) -> None:
    """OpenCV's one-track MP4 made variable-rate: frame ``hold`` shown 20 frames long (its sample durations,
    stts, rewritten; its edit list, which would end the track at the old length, blanked)."""
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
    body = struct.pack(">II", 0, count) + b"".join(
        struct.pack(">II", 1, delta * (20 if i == hold else 1)) for i in range(count)
    )
    for offset in chain[:-1]:
        struct.pack_into(">I", data, offset, struct.unpack(">I", data[offset : offset + 4])[0] + 8 + len(body) - size)
    data[stts : stts + size] = struct.pack(">I4s", 8 + len(body), b"stts") + body
    edits = data.find(b"edts")
    data[edits : edits + 4] = b"free"
    path.write_bytes(data)


def test_a_variable_rate_file_is_timed_by_its_own_stamps(tmp_path, grey_clip):
    """A screen recording holding one frame 2 s: time_s was index / the average rate, 1.4 s off after the hold."""
    path = grey_clip(tmp_path / "screen.mp4", 10, frames=20, codec="mp4v", step=12)
    _variable_rate(path, hold=9)
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


def test_a_playlist_reads_only_the_segments_beside_it(tmp_path, grey_clip):
    """FFmpeg follows a local playlist's entries anywhere: one handed over put the frames of another video of
    the disk (../home/private.avi) into the annotated video made from it."""
    (tmp_path / "home").mkdir()
    (tmp_path / "given").mkdir()
    grey_clip(tmp_path / "home" / "private.avi", 10.0, frames=2, first=3)
    grey_clip(tmp_path / "given" / "seg.avi", 10.0, frames=2)
    head = "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:1\n"
    entry = "#EXTINF:0.2,\n{}\n"
    playlist = tmp_path / "given" / "list.m3u8"
    playlist.write_text(head + entry.format("seg.avi") + "#EXT-X-ENDLIST\n")
    with open_source(str(playlist)) as source:
        assert [round(frame.image.mean() / 60) for frame in source] == [0, 1]  # its own segment, read
    playlist.write_text(head + entry.format(tmp_path / "given" / "seg.avi") + "#EXT-X-ENDLIST\n")
    with open_source(str(playlist)) as source:  # its own segment by its full path
        assert len(list(source)) == 2
    private = tmp_path / "home" / "private.avi"
    for outside in ("../home/private.avi", str(private), "file:///etc/hostname", f"crypto:{private}"):
        playlist.write_text(head + entry.format("seg.avi") + entry.format(outside) + "#EXT-X-ENDLIST\n")
        for spec in (str(playlist), playlist.as_uri()):
            with pytest.raises(WLitePoseError, match=r"^the playlist .*list.m3u8 lists .*, outside its own folder"):
                open_source(spec)
    master = tmp_path / "given" / "master.m3u8"  # a master playlist whose variant lists the outside video
    master.write_text("#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1000\nlist.m3u8\n")
    with pytest.raises(WLitePoseError, match=r"^the playlist .*list.m3u8 lists \.\./home/private.avi"):
        playlist.write_text(head + entry.format("../home/private.avi") + "#EXT-X-ENDLIST\n")
        open_source(str(master))
    playlist.write_text(head + '#EXT-X-MAP:URI="../home/private.avi"\n' + entry.format("seg.avi") + "#EXT-X-ENDLIST\n")
    with pytest.raises(WLitePoseError, match=r"^the playlist .*list.m3u8 lists \.\./home/private.avi"):
        open_source(str(playlist))
    playlist.write_text(head + entry.format("list.m3u8") + "#EXT-X-ENDLIST\n")  # itself: a loop, not a traceback
    with pytest.raises(WLitePoseError, match=r"^the playlist .*list.m3u8 is listed 5 playlists deep"):
        open_source(str(playlist))


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


@pytest.mark.skipif(not cv2.haveImageWriter("a.gif"), reason="OpenCV reads GIF from 4.12 on (which needs numpy 2)")
def test_a_folder_takes_gif_and_hdr_stills_and_says_what_it_left_out_or_read_in_part(tmp_path):
    """A folder's .gif and .hdr images, which OpenCV reads (and eval and training took), vanished from a run
    without a word, as did its files of formats no reader takes; a TIFF's later pages went unread unsaid."""
    still = np.full((40, 50, 3), 90, np.uint8)
    cv2.imwrite(str(tmp_path / "a.gif"), still)
    cv2.imwritemulti(str(tmp_path / "b.tif"), [still, still, still])  # three pages
    cv2.imwrite(str(tmp_path / "c.hdr"), still.astype(np.float32) / 255)
    (tmp_path / "d.heic").write_bytes(b"a format OpenCV does not read")
    (tmp_path / ".DS_Store").write_bytes(b"")
    with open_source(str(tmp_path)) as source:
        assert source.frame_files == ["a.gif", "b.tif", "c.hdr"] and len(list(source)) == 3
        assert source.end_notes(3, 3) == [
            "only the first frame of images holding several was analysed: b.tif (3)",
            f"left out of {tmp_path}, as no image this tool reads: d.heic",
        ]
    assert not is_image_sequence(str(tmp_path / "a.gif"))  # alone, a GIF is an animation: read as a video


def test_a_folder_of_images_too_small_says_so_not_that_they_cannot_be_read(tmp_path):
    folder = tmp_path / "thumbs"
    folder.mkdir()
    cv2.imwrite(str(folder / "a.png"), np.full((24, 24, 3), 90, np.uint8))
    with pytest.raises(WLitePoseError, match=r"^the only image in .*thumbs, a.png, is 24x24 pixels, too small to find"):
        open_source(str(folder))
    cv2.imwrite(str(folder / "b.png"), np.full((20, 30, 3), 90, np.uint8))
    with pytest.raises(
        WLitePoseError, match=r"^not one of the 2 images in .*thumbs is large enough to find people in$"
    ):
        open_source(str(folder))
    (folder / "c.png").write_bytes(b"not an image")
    with pytest.raises(WLitePoseError, match=r"not one of the 3 images in .*thumbs can be read and is large enough"):
        open_source(str(folder))


def test_a_stream_too_small_to_find_people_in_is_refused(monkeypatch):
    import core.sources

    class Thumbnail(FakeCapture):  # a stream of 16 x 16 frames
        def read(self):
            return True, np.zeros((16, 16, 3), np.uint8)

    monkeypatch.setattr(core.sources.cv2, "VideoCapture", Thumbnail)
    with pytest.raises(WLitePoseError, match=r"^the stream http://cam/thumb is 16x16 pixels, too small to find people"):
        LiveSource("http://cam/thumb", "http://cam/thumb")


def test_seeking_in_a_folder_lands_past_images_too_small(tmp_path):
    for value in range(4):
        cv2.imwrite(str(tmp_path / f"{value}.png"), np.full((24, 32, 3), value * 40, np.uint8))
    cv2.imwrite(str(tmp_path / "4.png"), np.full((16, 16, 3), 200, np.uint8))
    (tmp_path / "sub").mkdir()  # a folder inside is neither a frame nor a file left out
    with open_source(str(tmp_path)) as folder:
        assert folder.frame_at_or_before(12) == 3
        assert not any("left out" in note for note in folder.end_notes(4, 5))


def _rotated_mp4(path: Path, turn: int = 90) -> np.ndarray:
    """A 64x48 MP4 (OpenCV's own writer, no FFmpeg tool) whose track header turns it 90 degrees clockwise for
    display (or 270 with ``turn``: a phone held the other way), as a phone stores a portrait video; returns its stored
    picture (a white patch at the top left)."""
    image = np.zeros((48, 64, 3), np.uint8)
    image[:16, :24] = 255
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 10.0, (64, 48))
    for _ in range(3):
        writer.write(image)
    writer.release()
    data = bytearray(path.read_bytes())
    at = data.find(b"tkhd")
    matrix = at + 4 + 4 + (32 if data[at + 4] == 1 else 20) + 16  # past version, times, ids, layer, volume
    assert struct.unpack(">9i", data[matrix : matrix + 36])[:5] == (0x10000, 0, 0, 0, 0x10000)
    sin = 0x10000 if turn == 90 else -0x10000  # 90 degrees clockwise, or 270
    data[matrix : matrix + 20] = struct.pack(">5i", 0, sin, 0, -sin, 0)
    path.write_bytes(bytes(data))
    return image


@pytest.mark.parametrize("auto_by_default", [True, False], ids=["opencv-default", "opencv-4.11"])
def test_a_phone_video_on_its_side_is_read_upright(tmp_path, monkeypatch, auto_by_default):
    """A portrait phone video (stored on its side, a rotation in its header) is analysed as it is shown, its
    keypoints in the upright picture's pixels, whether or not the OpenCV installed turns frames by itself
    (4.11, which pyproject allows, does not: the clip was read on its side, and nobody was found)."""
    stored = _rotated_mp4(tmp_path / "portrait.mp4")
    if not auto_by_default:
        opened = cv2.VideoCapture

        def capture(*args):  # as OpenCV 4.11 opens a file (a subclass of VideoCapture crashes at exit)
            made = opened(*args)
            made.set(cv2.CAP_PROP_ORIENTATION_AUTO, 0)
            return made

        monkeypatch.setattr(cv2, "VideoCapture", capture)
    with open_source(str(tmp_path / "portrait.mp4")) as source:
        assert source.size == (48, 64)
        frame = next(iter(source))
    expected = cv2.rotate(stored, cv2.ROTATE_90_CLOCKWISE)  # the white patch at the top right
    assert frame.image.shape == expected.shape
    assert np.abs(frame.image.astype(int) - expected).mean() < 8


def test_a_phone_video_on_its_side_is_read_upright_by_url_too(tmp_path, monkeypatch):
    """A portrait clip served over http (a phone's upload on a local server) is opened as a network capture, not a
    file: it too was read on its side where OpenCV does not turn frames by itself (4.11)."""
    import functools
    from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

    stored = _rotated_mp4(tmp_path / "portrait.mp4")
    opened = cv2.VideoCapture

    def capture(*args):  # as OpenCV 4.11 opens a file
        made = opened(*args)
        made.set(cv2.CAP_PROP_ORIENTATION_AUTO, 0)
        return made

    monkeypatch.setattr(cv2, "VideoCapture", capture)
    quiet = type("Quiet", (SimpleHTTPRequestHandler,), {"log_message": lambda self, *args: None})
    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(quiet, directory=str(tmp_path)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        with open_source(f"http://127.0.0.1:{server.server_address[1]}/portrait.mp4") as source:
            assert source.size == (48, 64)
            frame = next(iter(source))
    finally:
        server.shutdown()
        server.server_close()
    expected = cv2.rotate(stored, cv2.ROTATE_90_CLOCKWISE)
    assert frame.image.shape == expected.shape
    assert np.abs(frame.image.astype(int) - expected).mean() < 8


@pytest.fixture
def anamorphic(monkeypatch):
    """OpenCV reading every file as one whose header gives a 2:1 sample aspect ratio (pixels twice as wide as tall)."""
    opened = cv2.VideoCapture

    class Anamorphic:
        def __init__(self, *args) -> None:
            self._capture = opened(*args)

        def get(self, prop) -> float:
            return {cv2.CAP_PROP_SAR_NUM: 2.0, cv2.CAP_PROP_SAR_DEN: 1.0}.get(prop) or self._capture.get(prop)

        def __getattr__(self, name):
            return getattr(self._capture, name)

    monkeypatch.setattr(cv2, "VideoCapture", Anamorphic)


def test_a_video_of_non_square_pixels_is_read_as_a_player_shows_it(tmp_path, anamorphic):
    """Anamorphic footage (pixels twice as wide as tall, as its header says) was analysed squeezed: fewer people
    found (a helper's clip: 121 rows against 163 for the same picture in square pixels) and keypoints in pixels no
    player shows."""
    image = np.zeros((48, 32, 3), np.uint8)
    image[:, :8] = 255  # a white band a quarter of the width
    path = tmp_path / "dv.avi"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 10.0, (32, 48))
    for _ in range(3):
        writer.write(image)
    writer.release()
    with open_source(str(path)) as source:
        assert source.size == (64, 48)
        frames = [frame.image for frame in source]
        source.seek(1)
        frames.append(next(iter(source)).image)
    for frame in frames:
        assert frame.shape == (48, 64, 3)
        assert frame[:, :14].min() > 200 and frame[:, 18:].max() < 60  # the band a quarter of the width still


@pytest.mark.parametrize("turn", [90, 270])
def test_a_turned_video_of_non_square_pixels_is_widened_along_its_stored_width(tmp_path, anamorphic, turn):
    """A file stored 64x48 in pixels twice as wide as tall (128x48 shown) with a quarter turn in its header is
    shown 48x128: the turned picture's height is the stored width, not 96x64 (its width doubled after the turn,
    each person four times too wide for their height); turned 270 degrees, it was taken for unturned."""
    _rotated_mp4(tmp_path / "turned.mp4", turn)
    with open_source(str(tmp_path / "turned.mp4")) as source:
        assert source.size == (48, 128)
        assert all(frame.image.shape == (128, 48, 3) for frame in source)


def test_a_pixel_aspect_beyond_belief_or_of_nothing_is_taken_for_square_pixels():
    """A damaged header's 100:1 would have stretched each frame a hundred times its width (and a 1:0 divided by
    zero); a header without one gives 0:0 or 0:1."""

    class Header:  # a capture whose header gives a sample aspect ratio of num:den
        def __init__(self, num: float, den: float) -> None:
            self.values = {cv2.CAP_PROP_SAR_NUM: num, cv2.CAP_PROP_SAR_DEN: den}

        def get(self, prop) -> float:
            return self.values[prop]

    assert pixel_aspect(Header(16, 11)) == pytest.approx(16 / 11)  # PAL DV widescreen
    assert pixel_aspect(Header(1, 4)) == 0.25 and pixel_aspect(Header(4, 1)) == 4.0
    for num, den in ((100, 1), (1, 100), (1, 0), (0, 0), (0, 1), (-2, 1)):
        assert pixel_aspect(Header(num, den)) == 1.0, (num, den)


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


def _jpeg_turned_a_quarter(path: Path, width: int, height: int) -> None:
    """A ``width`` x ``height`` JPEG whose EXIF says to turn it 90 degrees for display (orientation 6), as a
    phone held upright writes it."""
    ifd = struct.pack("<H", 1) + struct.pack("<HHIHH", 0x0112, 3, 1, 6, 0) + struct.pack("<I", 0)
    exif = b"Exif\0\0" + b"II*\0" + struct.pack("<I", 8) + ifd
    jpeg = cv2.imencode(".jpg", np.full((height, width, 3), 128, np.uint8))[1].tobytes()
    path.write_bytes(jpeg[:2] + b"\xff\xe1" + struct.pack(">H", len(exif) + 2) + exif + jpeg[2:])


def test_a_photo_is_read_as_its_exif_orientation_shows_it_unless_asked_for_its_stored_pixels(tmp_path):
    _jpeg_turned_a_quarter(tmp_path / "upright.jpg", 48, 32)
    assert read_image(tmp_path / "upright.jpg").shape == (48, 32, 3)
    assert read_image(tmp_path / "upright.jpg", apply_orientation=False).shape == (32, 48, 3)


def test_a_run_asking_for_a_few_frames_of_a_stream_is_due_those_frames():
    """`track URL --max-frames 15`: the progress bar's total and time left come from it (a stream has no count of
    its own: the bar was a bare count, with no time left)."""
    assert frames_due(None, 15) == 15 and frames_due(795, 15) == 15 and frames_due(10, 15) == 10
    assert frames_due(None, None) is None and frames_due(795, None) == 795


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


def test_names_with_other_scripts_digits_are_ordered_not_a_crash(tmp_path):
    """A name whose letters are digits of another script (Arabic-Indic ٣) next to ASCII ones: taken for a number,
    it was compared with another name's letters, a TypeError traceback instead of a run."""
    for name in ("٣1.png", "a1.png", "b2.png"):
        cv2.imencode(".png", np.zeros((24, 32, 3), np.uint8))[1].tofile(tmp_path / name)
    with open_source(str(tmp_path)) as source:
        assert source.frame_files == ["a1.png", "b2.png", "٣1.png"]


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


def test_an_image_named_in_upper_case_is_not_said_to_be_left_out(tmp_path):
    """A camera card's IMG_1.JPG is one of the frames: the end of the run named it among the files left out."""
    cv2.imwrite(str(tmp_path / "IMG_1.JPG"), np.zeros((24, 32, 3), np.uint8))
    (tmp_path / "NOTES.TXT").write_text("not an image")
    with open_source(str(tmp_path)) as source:
        assert source.frame_files == ["IMG_1.JPG"] and len(list(source)) == 1
        assert source.end_notes(1, 1) == [f"left out of {tmp_path}, as no image this tool reads: NOTES.TXT"]


def test_images_of_two_sizes_are_told_of_only_where_files_were_written(tmp_path):
    """The note is about the CSV sidecar's and PoseC3D's sizes: the Python API, which writes none, warned of them."""
    cv2.imwrite(str(tmp_path / "a.png"), np.zeros((40, 50, 3), np.uint8))
    cv2.imwrite(str(tmp_path / "b.png"), np.zeros((50, 40, 3), np.uint8))
    with open_source(str(tmp_path)) as source:
        assert len(list(source)) == 2
        assert source.end_notes(2, 2, outputs=False) == []
        assert any("differ in size" in note for note in source.end_notes(2, 2))


def test_a_stream_running_longer_than_the_silence_limit_is_waited_for_from_its_last_frame(monkeypatch):
    """Silence counts from the frame handed out last: counted from the start, a camera sending steadily was ended
    LIVE_TIMEOUT_S into the run at the first frame not there yet ('sent no frame for 5 s' after 90 of 160 frames)."""
    import core.sources
    import core.sources.live

    clock = SkippingClock()
    monkeypatch.setattr(core.sources.live, "time", clock)
    sent, ended = threading.Semaphore(1), threading.Event()  # a frame the stream may send: the first as it opens

    class GatedStream(FakeCapture):
        def read(self):
            while not sent.acquire(timeout=0.05):
                if ended.is_set():
                    return False, None
            return True, np.zeros((24, 32, 3), np.uint8)

    monkeypatch.setattr(core.sources.cv2, "VideoCapture", GatedStream)
    source = LiveSource("http://camera/stream", "camera stream")
    try:
        frames = iter(source)
        next(frames)
        sent.release()
        deadline = time.monotonic() + 10
        while source._latest is None and time.monotonic() < deadline:  # the second frame has come
            time.sleep(0.01)
        clock.skipped += core.sources.live.LIVE_TIMEOUT_S + 1  # the run has gone on longer than the limit
        assert next(frames).index == 1
        threading.Timer(0.5, sent.release).start()  # the third comes while the caller already waits
        assert next(frames, None) is not None and source.end_reason is None
    finally:
        ended.set()
        source.close()


def test_a_stream_that_gives_no_frame_rate_is_timed_at_30_fps(monkeypatch):
    """Many webcam drivers and some streams read 0 fps: the run said 'source 768x576 @ 0 fps', and a live playlist's
    pacing divided by it."""
    import core.sources

    class NoRate(FakeCapture):
        rate = 0.0

        def read(self):
            self.reads += 1
            return self.reads == 1, np.zeros((24, 32, 3), np.uint8)

    monkeypatch.setattr(core.sources.cv2, "VideoCapture", NoRate)
    with open_source("http://tv/live/index.m3u8") as source:
        assert source.is_live and source.fps == 30.0 and source._pace_s == pytest.approx(1 / 30)


def test_a_frame_rate_for_a_batch_of_folders_and_videos_is_taken(tmp_path, video_path):
    """`track frames/ clip.mp4 --fps 5`: the rate is for the folder; the videos keep their own."""
    cv2.imwrite(str(tmp_path / "a.png"), np.zeros((40, 50, 3), np.uint8))
    check_image_fps(5.0, [str(tmp_path), str(video_path)])
    with pytest.raises(WLitePoseError, match="sets the frame rate of image folders"):
        check_image_fps(5.0, [str(video_path)])


@pytest.mark.skipif(os.name == "nt", reason="links need privileges on Windows")
def test_a_link_that_leads_to_itself_in_a_folder_is_a_frame_passed_over_not_an_error(tmp_path):
    """Its stat fails with 'too many levels of symbolic links', not 'not found': the stamp stopped the run."""
    cv2.imwrite(str(tmp_path / "a.png"), np.zeros((40, 50, 3), np.uint8))
    (tmp_path / "loop.png").symlink_to(tmp_path / "loop.png")
    assert source_stamp(str(tmp_path))[0] == 2
    with open_source(str(tmp_path)) as source:
        assert [frame.index for frame in source] == [0] and "loop.png" in source.skipped_notes()[0]


def test_a_playlists_entries_in_a_folder_below_are_read_and_an_upper_case_playlist_is_checked(tmp_path):
    """HLS segments in a folder of their own (seg/0.ts) are in the playlist's folder; a playlist named INDEX.M3U8
    was not checked at all, so it could list any video on the disk."""
    (tmp_path / "live").mkdir()
    (tmp_path / "live" / "index.m3u8").write_text("#EXTM3U\n#EXTINF:2.0,\nseg/0.ts\n")
    check_playlist(tmp_path / "live" / "index.m3u8")
    # segments on the web are read wherever they are (a CDN's): only the disk's are held to the folder
    (tmp_path / "live" / "web.m3u8").write_text("#EXTM3U\n#EXTINF:2.0,\nhttps://cdn.example/seg/0.ts\nHTTP://x/1.ts\n")
    check_playlist(tmp_path / "live" / "web.m3u8")
    (tmp_path / "live" / "INDEX.M3U8").write_text("#EXTM3U\n#EXTINF:2.0,\n../private.ts\n")
    with pytest.raises(WLitePoseError, match="outside its own folder"):
        check_playlist(tmp_path / "live" / "INDEX.M3U8")


def test_a_playlist_entry_with_a_nul_in_it_is_refused_in_words(tmp_path):
    """A segment named seg%00.ts (or with a NUL byte as it is) ended `track list.m3u8` in a traceback (ValueError:
    embedded null byte): no file has such a name, and the check cannot place it."""
    for entry in ("seg%00.ts", "seg\0.ts", '#EXT-X-MAP:URI="init%00.mp4"'):
        (tmp_path / "list.m3u8").write_text(f"#EXTM3U\n#EXTINF:2.0,\n{entry}\n")
        with pytest.raises(WLitePoseError, match=r"^the playlist .*list.m3u8 lists .*, which no file is named"):
            check_playlist(tmp_path / "list.m3u8")
