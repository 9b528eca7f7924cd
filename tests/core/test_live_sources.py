"""Live sources (cameras and streams, faked here) keep only the newest frame, wait out a silence for a while and end;
playlists are read out at their rate and read only what lies beside them."""

import threading
import time
import weakref
from types import SimpleNamespace

import cv2
import numpy as np
import pytest

from core.errors import WLitePoseError
from core.frame_loop import run_meta
from core.sources import (
    FrameSource,
    LiveSource,
    frames_due,
    open_source,
    without_password,
)
from core.sources.playlists import check_playlist


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


def test_a_stream_too_small_to_find_people_in_is_refused(monkeypatch):
    import core.sources

    class Thumbnail(FakeCapture):  # a stream of 16 x 16 frames
        def read(self):
            return True, np.zeros((16, 16, 3), np.uint8)

    monkeypatch.setattr(core.sources.cv2, "VideoCapture", Thumbnail)
    with pytest.raises(WLitePoseError, match=r"^the stream http://cam/thumb is 16x16 pixels, too small to find people"):
        LiveSource("http://cam/thumb", "http://cam/thumb")


def test_a_run_asking_for_a_few_frames_of_a_stream_is_due_those_frames():
    """`track URL --max-frames 15`: the progress bar's total and time left come from it (a stream has no count of
    its own: the bar was a bare count, with no time left)."""
    assert frames_due(None, 15) == 15 and frames_due(795, 15) == 15 and frames_due(10, 15) == 10
    assert frames_due(None, None) is None and frames_due(795, None) == 795


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
