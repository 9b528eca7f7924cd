"""Sources over the network, served here by a local HTTP server: a video file by URL, an MJPEG camera stream
that ends, a server that never answers."""

import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import warnings
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import cv2
import numpy as np
import pytest

import main
from core.estimator import PoseEstimator
from core.sources import open_source, source_name, without_password


@pytest.fixture
def server(tmp_path, grey_clip):
    clip = grey_clip(tmp_path / "clip.avi", 10, frames=12, step=6)
    segments = []  # a live HLS stream's: one second each, at 10 fps
    for number in range(4):
        segment = grey_clip(tmp_path / f"seg{number}.ts", 10, frames=10, codec="mp4v", step=6, first=10 * number)
        segments.append(segment.read_bytes())
    running, base = serve(clip, segments)
    yield base
    running.shutdown()


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.0"
    video: bytes = b""
    segments: list[bytes] = []
    started = 0.0

    def log_message(self, *args) -> None:  # quiet
        pass

    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        address = urlsplit(self.path)
        if address.path == "/clip.avi":
            return self._send("video/x-msvideo", self.video)
        if address.path == "/live.m3u8":  # the newest three segments, one more each second, as a live server lists
            newest = int(time.monotonic() - self.started)
            lines = ["#EXTM3U", "#EXT-X-VERSION:3", "#EXT-X-TARGETDURATION:1", f"#EXT-X-MEDIA-SEQUENCE:{newest}"]
            for number in range(newest, newest + 3):
                lines += ["#EXT-X-DISCONTINUITY", "#EXTINF:1.0,", f"seg{number % len(self.segments)}.ts"]
            return self._send("application/vnd.apple.mpegurl", "\n".join(lines[:4] + lines[5:]).encode() + b"\n")
        if address.path.startswith("/seg"):
            return self._send("video/mp2t", self.segments[int(address.path[4:].split(".")[0])])
        query = {key: float(values[0]) for key, values in parse_qs(address.query).items()}
        self.send_response(200)
        self.send_header("Content-Type", "multipart/x-mixed-replace; boundary=frame")
        self.end_headers()
        try:
            for index in range(int(query.get("frames", 10))):
                image = np.full((48, 64, 3), 20 * index % 250, np.uint8)
                jpeg = cv2.imencode(".jpg", image)[1].tobytes()
                head = f"--frame\r\nContent-Type: image/jpeg\r\nContent-Length: {len(jpeg)}\r\n\r\n".encode()
                self.wfile.write(head + jpeg + b"\r\n")
                self.wfile.flush()
                time.sleep(1 / query.get("fps", 10))
        except OSError:  # the reader went away
            pass

    def _send(self, kind: str, data: bytes) -> None:
        self.send_response(200)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


def serve(video: Path, segments: list[bytes]):
    """(server, base URL); ``server.shutdown()`` stops it. ``/clip.avi`` is ``video``; ``/live.mjpg?frames=N&fps=R``
    the camera stream; ``/live.m3u8`` a live HLS stream of ``segments``, played from the server's start."""
    handler = type(
        "Handler", (_Handler,), {"video": video.read_bytes(), "segments": segments, "started": time.monotonic()}
    )
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}"


def test_a_video_file_by_url_gives_every_frame_at_its_own_time(server):
    """It was read as a camera: the frames that came while the caller was busy were dropped, and timed by arrival."""
    with open_source(f"{server}/clip.avi") as source:
        frames = [(frame.index, frame.timestamp_s) for frame in source]
        assert not source.is_live and source.frame_count == 12 and source.fps == 10
    assert frames == [(i, pytest.approx(i / 10)) for i in range(12)]


def test_a_live_hls_stream_is_read_at_its_own_rate_not_a_segment_at_once(server):
    """FFmpeg decodes each segment as it arrives: read as a camera, every frame but a segment's last was skipped as
    stale (one frame a second of a 10 fps stream) and the frames kept were timed in bursts."""
    with open_source(f"{server}/live.m3u8") as source:
        times = []
        for frame in source:  # a consumer that keeps up
            times.append(frame.timestamp_s)
            if len(times) == 25:
                break
        assert source.is_live and source.skipped == 0
    gaps = np.diff(times)
    assert np.median(gaps) == pytest.approx(0.1, abs=0.02) and gaps.max() < 0.5


def test_a_stream_that_ends_is_a_warning_a_batch_summary_repeats(server, tmp_path, model_path, capsys):
    stream = f"{server}/live.mjpg?frames=5&fps=20"
    argv = ["track", stream, f"{server}/clip.avi", "--model", str(model_path), "--max-frames", "20"]
    assert main.main([*argv, "--csv", str(tmp_path / "{name}.csv")]) == 0
    err = capsys.readouterr().err
    assert f"wlitepose: warning: the stream {stream} stopped delivering frames; the run ended there" in err
    assert "2 of 2 sources done" in err and err.rstrip().endswith(f"with warnings (above): {stream}")
    assert json.loads((tmp_path / "clip.csv.json").read_text())["frames_written"] == 12  # the file: every frame


def test_a_stream_that_ends_finishes_the_run_cleanly_and_counts_what_it_skipped(server, tmp_path, model_path, capsys):
    """A camera sending faster than the pipeline runs: the frames that came while it was busy are skipped."""
    argv = ["track", f"{server}/live.mjpg?frames=60&fps=100", "--model", str(model_path)]
    assert main.main([*argv, "--csv", str(tmp_path / "k.csv")]) == 0
    err = capsys.readouterr().err
    assert "stopped delivering frames" in err and "fps overall" in err
    assert re.search(r"\d+ of the \d+ frames the source sent came while the pipeline was busy and were skipped", err)


def test_the_api_tells_a_stream_that_ended_as_a_sentence_that_keeps_its_url(server, model_path):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        frames = list(PoseEstimator(model_path).track(f"{server}/live.mjpg?frames=3&fps=20"))
    assert frames and [str(w.message).split(" stopped")[0] for w in caught] == [
        f"The stream {server}/live.mjpg?frames=3&fps=20"  # was "Http://127..."
    ]


def test_a_program_that_ends_with_a_stream_open_exits_cleanly(server):
    """A script that ended while it held a stream's track loop (a frame taken, the iterator not closed) aborted with
    "FATAL: exception not rethrown": the interpreter's exit stopped the reader thread inside OpenCV's read."""
    held = f"from core.sources import open_source\nframes = iter(open_source({server + '/live.mjpg?frames=1000'!r}))\n"
    proc = subprocess.run(
        [sys.executable, "-c", held + "next(frames)"], cwd=Path(__file__).parents[2], capture_output=True, timeout=60
    )
    assert proc.returncode == 0 and not proc.stderr, proc.stderr


def test_ctrl_c_while_a_stream_opens_is_an_interruption_not_a_failed_source(tmp_path, capsys):
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(1)  # accepted by the kernel and never answered: OpenCV waits its 4 s
    timer = threading.Timer(0.5, os.kill, (os.getpid(), signal.SIGINT))
    try:
        timer.start()
        rc = main.main(["track", f"http://127.0.0.1:{silent.getsockname()[1]}/cam", "--csv", str(tmp_path / "k.csv")])
    finally:
        timer.cancel()
        silent.close()
    err = capsys.readouterr().err
    assert rc == 130 and "interrupted" in err and "cannot be opened" not in err


def test_passwords_with_url_characters_and_in_parameters_are_masked():
    for typed, shown in (
        ("rtsp://admin:abc#123@10.0.0.1:554/live", "rtsp://admin:***@10.0.0.1:554/live"),
        ("rtsp://admin:a/b?c@cam/live", "rtsp://admin:***@cam/live"),
        ("rtsp://admin:1234@cam/x", "rtsp://admin:***@cam/x"),
        ("rtsp://admin:p@ss@cam/x", "rtsp://admin:***@cam/x"),
        ("rtsp://cam/live?user=admin;password=S3", "rtsp://cam/live?user=admin;password=***"),
        ("http://cam/v.cgi?channel=1;pwd=S3&fps=5", "http://cam/v.cgi?channel=1;pwd=***&fps=5"),
        ("http://cam/video.mjpg?user=admin&pwd=hunter2&fps=5", "http://cam/video.mjpg?user=admin&pwd=***&fps=5"),
        ("http://cam/v?Token=abc#part", "http://cam/v?Token=***#part"),
        # the other ways cameras and services take them, recorded in sidecars and file names as they were
        (
            "http://cam/user=admin&password=S3&channel=1&stream=0.avi",
            "http://cam/user=admin&password=***&channel=1&stream=0.avi",
        ),
        ("http://cam/v.cgi?loginuse=admin&loginpas=S3", "http://cam/v.cgi?loginuse=admin&loginpas=***"),
        ("rtsp://cam/live;password=S3;4", "rtsp://cam/live;password=***"),
        (
            "rtsp://cam/user=admin_password=S3_x_channel=1_stream=0.sdp",
            "rtsp://cam/user=admin_password=***_channel=1_stream=0.sdp",
        ),
        ("http://cam/v?pwd=ab/cd;e?f&fps=5&passphrase=S3", "http://cam/v?pwd=***&fps=5&passphrase=***"),
        (
            "http://cdn/v.m3u8?X-Amz-Signature=S3&api-key=S3&pw=S3",
            "http://cdn/v.m3u8?X-Amz-Signature=***&api-key=***&pw=***",
        ),
        # a key's letters percent-encoded are the same key to the server, which decodes them
        ("http://cam/v.mjpg?user=admin&p%61ssword=S3&fps=5", "http://cam/v.mjpg?user=admin&p%61ssword=***&fps=5"),
        ("http://cdn/v.m3u8?api%5Fkey=S3", "http://cdn/v.m3u8?api%5Fkey=***"),
        ("http://cam/user=admin&%70assword=S3&channel=1", "http://cam/user=admin&%70assword=***&channel=1"),
        ("rtsp://cam/live;t%6Fken=S3", "rtsp://cam/live;t%6Fken=***"),
    ):
        assert without_password(typed) == shown
    for typed in (
        "rtsp://admin:#secret@cam/live",
        "http://admin:/secret@cam/live",
        "rtsp://admin:1234/5@cam/live",
        "rtsp://admin:p[ss@cam/live",  # a "[" without its "]": urlsplit raised ValueError (the window's traceback)
        "rtsp://admin:p@ss/word@cam/live",  # an "@", then a "/": the address ended there, "ss/word" was shown
        "rtsp://admin:pa\tss@cam/live",  # a tab or line break, which urlsplit drops: the password was shown whole
        "rtsp://admin:pa\r\nss@cam/live",
    ):
        assert without_password(typed) == "rtsp://admin:***@cam/live".replace("rtsp", typed.split(":")[0])
    for kept in (
        "http://cam/v?keyframes=1",
        "http://user@host/a",
        "http://cam/v?bypass=1&hotkey=2&monkey=3",
        "http://[::1",
    ):
        assert without_password(kept) == kept
    assert source_name("rtsp://admin:abc#123@10.0.0.1:554/live") == "live"  # not the user name
    assert (
        source_name("http://cam/user=admin&password=S3&channel=1&stream=0.avi")
        == "user_admin_password_channel_1_stream_0"
    )
    assert "S3" not in source_name("http://cam/user=admin&%70assword=S3")  # nor in an output's {name}
