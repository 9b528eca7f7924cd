"""The annotated video: one frame of it a frame due, every pixel kept, live sources in real time, and sizes, rates
and disks it cannot take refused before an earlier video is replaced."""

import json
import os
from pathlib import Path
from types import SimpleNamespace

import cv2
import numpy as np
import pytest

from core.errors import WLitePoseError
from core.poses import Poses
from core.sinks import SinkOptions, open_sinks
from core.sinks.multi import plan_outputs
from core.sinks.video import MAX_HOLD_S, VideoSink


def test_video_needs_a_known_container(tmp_path, toy_info, toy_meta):
    with pytest.raises(WLitePoseError, match=".mp4 or .avi"):
        open_sinks(SinkOptions(video=tmp_path / "a.mkv"), toy_info, toy_meta)


def _read_video(path: Path) -> list[np.ndarray]:
    capture = cv2.VideoCapture(str(path))
    frames = []
    while (frame := capture.read()[1]) is not None:
        frames.append(frame)
    capture.release()
    return frames


def test_a_gap_longer_than_a_picture_is_held_is_a_jump_in_the_video(tmp_path):
    """An app recording moved 19 s on: the video jumps there, rather than freezing for MAX_HOLD_S first."""
    sink = VideoSink(tmp_path / "out.avi", 10.0, (64, 48))
    for index in [*range(3), *range(200, 203)]:
        sink.write(index, index / 10, Poses.empty(3), image=np.full((48, 64, 3), 40, np.uint8))
    sink.close()
    assert len(_read_video(tmp_path / "out.avi")) == 6


def test_an_odd_sized_video_keeps_every_pixel(tmp_path):
    image = np.full((47, 63, 3), 200, np.uint8)
    with VideoSink(tmp_path / "odd.avi", 10, (63, 47)) as sink:
        sink.write(0, 0.0, Poses.empty(3), image)
    (frame,) = _read_video(tmp_path / "odd.avi")
    assert frame.shape == (48, 64, 3)  # a black row and column added, none of the frame's dropped
    assert frame[:47, :63].mean() > 180 and frame[-1].mean() < 30 and frame[:, -1].mean() < 30


def test_an_image_of_another_shape_is_fitted_into_the_video_frame(tmp_path):
    """An image folder's portrait photo (its height the video's width) and one of another aspect: each is scaled
    to fit the video's frame, centred on black, never written at its own size (a frame the encoder drops)."""
    with VideoSink(tmp_path / "mixed.avi", 10, (64, 48)) as sink:
        sink.write(0, 0.0, Poses.empty(3), np.full((64, 48, 3), 200, np.uint8))
        sink.write(1, 0.1, Poses.empty(3), np.full((31, 40, 3), 200, np.uint8))
    portrait, wide = _read_video(tmp_path / "mixed.avi")
    assert portrait[:, 14:34].mean() > 180 and portrait[:, :10].mean() < 30 and portrait[:, -10:].mean() < 30
    assert wide[:, 3:60].mean() > 180 and wide[:, 0].mean() < 30  # 62 x 48, a black column each side


def test_a_live_video_holds_each_frame_until_the_next_is_due(tmp_path):
    """A live run that processed frames at 0, 0.5 and 0.6 s plays them there at 10 fps; a gap longer than
    MAX_HOLD_S (a pause) is held for MAX_HOLD_S only."""
    times = [0.0, 0.5, 0.6, 0.6 + MAX_HOLD_S + 3.0, 0.8 + MAX_HOLD_S + 3.0]
    with VideoSink(tmp_path / "live.avi", 10, (64, 48), real_time=True) as sink:
        for n, t in enumerate(times):
            sink.write(n, t, Poses.empty(3), np.full((48, 64, 3), 50 * (n + 1), np.uint8))
    shades = [round(float(f.mean()) / 50) for f in _read_video(tmp_path / "live.avi")]
    hold = round(MAX_HOLD_S * 10)
    assert shades == [1] * 5 + [2] + [3] * (1 + hold) + [4] * 2 + [5]  # after the pause, real time again
    with VideoSink(tmp_path / "file.avi", 10, (64, 48)) as sink:  # a file's frames are each written once
        for n, t in enumerate(times):
            sink.write(n, t, Poses.empty(3), np.full((48, 64, 3), 50 * (n + 1), np.uint8))
    assert len(_read_video(tmp_path / "file.avi")) == 5


def test_a_live_video_faster_than_its_rate_stays_real_time(tmp_path):
    """A stream that says 10 fps and sends 30: 3 s of it make 3 s of video, each slot the newest frame then."""
    with VideoSink(tmp_path / "fast.avi", 10, (64, 48), real_time=True) as sink:
        for n in range(91):
            sink.write(n, n / 30, Poses.empty(3), np.full((48, 64, 3), n, np.uint8))
    shades = [round(float(f.mean())) for f in _read_video(tmp_path / "fast.avi")]
    # one frame a slot, each one of the frames due then (MJPG shifts shades by ~1), and the last one at the end
    assert len(shades) == 32 and abs(shades[-1] - 90) <= 2
    assert all(abs(shade - 3 * slot) <= 2 for slot, shade in enumerate(shades[:-1])), shades
    with VideoSink(tmp_path / "end.avi", 10, (64, 48), real_time=True) as sink:
        for n in range(4):  # slots 0, 0, 1, 1: the last frame comes early and is the run's last
            sink.write(n, n / 30, Poses.empty(3), np.full((48, 64, 3), 60 * n, np.uint8))
    assert [round(float(f.mean()) / 60) for f in _read_video(tmp_path / "end.avi")] == [0, 2, 3]


def test_a_frame_larger_than_ffmpeg_encodes_is_refused_before_the_avi_opens(tmp_path):
    """A 24000x12000 first image gave an 18.7 MB .avi no player opens and 11 GB of memory, then a wrong hint."""
    with pytest.raises(WLitePoseError, match=r"its frames are 24000x12000, more pixels than FFmpeg encodes"):
        VideoSink(tmp_path / "pano.avi", 10.0, (24000, 12000))
    assert not (tmp_path / "pano.avi").exists()


def test_a_video_too_large_for_mp4_is_refused_before_it_opens_and_avi_takes_it(tmp_path):
    with pytest.raises(WLitePoseError, match=r"its frames are 8191x10 .* at most 8190 pixels a side; name it \.avi"):
        VideoSink(tmp_path / "big.mp4", 10.0, (8191, 10))
    assert not (tmp_path / "big.mp4").exists()
    for path, size in ((tmp_path / "edge.mp4", (8190, 10)), (tmp_path / "big.avi", (8191, 10))):
        sink = VideoSink(path, 10.0, size)
        sink.write(0, 0.0, Poses.empty(3), image=np.zeros((size[1], size[0], 3), np.uint8))
        sink.close()
        assert cv2.VideoCapture(str(path)).read()[0]


def test_a_video_files_rate_too_slow_for_a_video_does_not_point_at_fps(tmp_path, toy_info, toy_meta):
    """--fps sets an image folder's rate only; a video file's own rate cannot be changed, so the hint differs."""
    meta = {**toy_meta, "fps": 0.001}
    with pytest.raises(WLitePoseError, match=r"at 0.001 fps: .*\(leave out the annotated video for this source\)$"):
        open_sinks(SinkOptions(video=tmp_path / "v.mp4"), toy_info, meta)
    with pytest.raises(WLitePoseError, match=r"\(an image folder's rate is --fps\)$"):
        open_sinks(SinkOptions(video=tmp_path / "v.mp4"), toy_info, {**meta, "frame_files": ["a.jpg"]})


def test_a_video_output_whose_name_is_not_utf8_is_a_clear_error_before_any_work(tmp_path):
    video = tmp_path / "out" / os.fsdecode(b"\xe9t\xe9.mp4")
    (tmp_path / "clip.mp4").write_bytes(b"")
    with pytest.raises(WLitePoseError, match="not valid UTF-8: rename .*\ufffdt\ufffd.mp4"):
        plan_outputs([str(tmp_path / "clip.mp4")], SinkOptions(csv=tmp_path / "out" / "k.csv", video=video), ())
    assert not (tmp_path / "out").exists()


def test_an_annotated_video_that_got_no_frame_is_not_left_behind(tmp_path):
    """A recording stopped before its first frame left a 257-byte .mp4 no player opens."""
    VideoSink(tmp_path / "empty.mp4", 10.0, (64, 48)).close()
    assert not (tmp_path / "empty.mp4").exists()
    with VideoSink(tmp_path / "one.mp4", 10.0, (64, 48)) as sink:
        sink.write(0, 0.0, Poses.empty(3), np.zeros((48, 64, 3), np.uint8))
    assert cv2.VideoCapture(str(tmp_path / "one.mp4")).read()[0]


def test_a_disk_filling_under_a_video_stops_the_run_while_its_index_still_fits(
    tmp_path, monkeypatch, toy_info, toy_meta
):
    """OpenCV's writer is silent when the disk fills: an .mp4's run went on for hours to fail at its end. The run
    stops before the frame goes to any output, so the CSV and the video end at the same frame."""
    import core.sinks.video as video

    room = {"free": 10**12}
    monkeypatch.setattr(video.shutil, "disk_usage", lambda path: SimpleNamespace(free=room["free"]))
    image = np.zeros((48, 64, 3), np.uint8)
    options = SinkOptions(csv=tmp_path / "a.csv", video=tmp_path / "a.mp4")
    with pytest.raises(WLitePoseError, match=r"a.mp4: the disk is nearly full .*closed with the 49 frames written"):
        with open_sinks(options, toy_info, toy_meta) as sinks:
            for index in range(200):
                if index == 30:
                    room["free"] = 2**20  # the disk fills
                sinks.write(index, index / 25, Poses.empty(3), image)
    assert int(cv2.VideoCapture(str(tmp_path / "a.mp4")).get(cv2.CAP_PROP_FRAME_COUNT)) == 49  # not the 50th
    assert json.loads((tmp_path / "a.csv.json").read_text())["frames_written"] == 49


def test_a_nearly_full_disk_refuses_a_video_before_an_earlier_one_is_replaced(
    tmp_path, monkeypatch, toy_info, toy_meta
):
    """The room was looked at from the 25th frame on: on a disk with a few MB left each take (the app's Record
    pressed again) replaced the earlier video by one of 24 frames."""
    import core.sinks.video as video

    monkeypatch.setattr(video.shutil, "disk_usage", lambda path: SimpleNamespace(free=2**20))
    earlier = tmp_path / "a.mp4"
    earlier.write_bytes(b"an earlier run's video")
    options = SinkOptions(csv=tmp_path / "a.csv", video=earlier)
    with pytest.raises(WLitePoseError, match=r"^cannot write video .*a.mp4: the disk is nearly full \(less than 16"):
        open_sinks(options, toy_info, toy_meta)
    assert earlier.read_bytes() == b"an earlier run's video"
    assert not (tmp_path / "a.csv").exists()
