"""The frame rate, playback speed and stalls the window shows, measured on times handed in (no Qt, no clock)."""

import numpy as np
import pytest

from app.playback_meter import STALL_AFTER_S, STALL_FRAMES, PlaybackMeter, decayed


def play(meter: PlaybackMeter, intervals, file_fps: float = 10.0, start: float = 100.0, step: int = 1) -> float:
    """Frames shown ``intervals`` seconds apart, each ``step`` on in the file; the time of the last."""
    now, index = start, 0
    meter.frame_shown(now, index, 0, True, file_fps)
    for interval in intervals:
        now, index = now + interval, index + step
        meter.frame_shown(now, index, 0, True, file_fps)
    return now


def test_the_frame_rate_shown_follows_a_slower_pace_within_seconds_and_holds_steady_at_30():
    recent = (0.0, 0.0)
    for _ in range(100):  # Max speed: 20 frames a second
        recent = decayed(*recent, 0.05)
    for _ in range(5):  # 0.25x of a 10 fps file: a frame every 0.4 s, 2 s of them
        recent = decayed(*recent, 0.4)
    assert abs(recent[0] / recent[1] - 2.5) < 0.3
    jitter = np.random.default_rng(0).uniform(0.7, 1.3, 300) / 30  # 30 fps, each interval +-30 %
    shown = []
    for interval in jitter:
        recent = decayed(*recent, interval)
        shown.append(recent[0] / recent[1])
    assert 25.5 < min(shown[120:]) and max(shown[120:]) < 34.5 and abs(np.median(shown[120:]) - 30) < 1  # 4 s on


def test_a_file_shown_at_4_frames_a_second_of_its_10_plays_at_0_4_of_real_time_even_unevenly():
    meter = PlaybackMeter()
    play(meter, [0.25] * 30)
    assert meter.fps == pytest.approx(4.0) and meter.play_speed == pytest.approx(0.4)
    meter = PlaybackMeter()
    play(meter, [0.05, 0.45] * 30)  # 2 frames a 0.5 s: a mean of each frame's speed read 1.1x
    assert abs(meter.play_speed - 0.4) < 0.05


def test_frames_passed_over_to_keep_pace_count_as_played_and_a_seek_is_left_out():
    meter = PlaybackMeter()
    meter.frame_shown(0.0, 0, 0, True, 10.0)
    for n in range(1, 31):  # every third frame shown, three frame times apart: real time
        meter.frame_shown(0.3 * n, 3 * n, 2, True, 10.0)
    assert meter.play_speed == pytest.approx(1.0)
    meter.frame_shown(9.2, 500, 0, True, 10.0)  # a seek 410 frames on, 0.2 s later
    assert meter.play_speed == pytest.approx(1.0)
    assert meter.fps > 3.0  # the frame still counts as shown


def test_a_live_source_has_a_frame_rate_but_no_speed_to_fall_behind():
    meter = PlaybackMeter()
    play(meter, [0.1] * 20, file_fps=0.0)
    assert meter.fps == pytest.approx(10.0) and meter.play_speed == float("inf")


def test_a_paused_frame_measures_nothing_and_a_pause_keeps_the_frame_rate_but_not_the_speed():
    meter = PlaybackMeter()
    now = play(meter, [0.25] * 30)
    fps = meter.fps
    meter.pause()
    for n in range(1, 4):  # stepped to or re-grouped while paused
        meter.frame_shown(now + 5.0 * n, 30 + n, 0, False, 10.0)
    assert meter.fps == fps and meter.play_speed == float("inf")
    meter.frame_shown(now + 20.0, 34, 0, True, 10.0)  # playing again: the pause is not a 20 s frame
    assert meter.fps == fps
    meter.restart()
    assert meter.fps == 0.0


@pytest.mark.parametrize("fps", [20.0, 2.0])
def test_a_frame_long_overdue_is_a_stall_after_a_second_or_three_frame_times(fps):
    meter = PlaybackMeter()
    now = play(meter, [1 / fps] * 40)
    said_after = max(STALL_AFTER_S, STALL_FRAMES / fps)
    assert meter.stalled_for(now + 0.99 * said_after, pace=25.0) == 0.0
    assert meter.stalled_for(now + 1.01 * said_after, pace=25.0) == pytest.approx(1.01 * said_after)
    meter.pause()
    assert meter.stalled_for(now + 60.0, pace=25.0) == 0.0  # nothing plays


def test_before_a_frame_rate_is_known_a_stall_is_timed_by_the_pace_asked_for():
    meter = PlaybackMeter()
    assert meter.stalled_for(1000.0, pace=1.0) == 0.0  # no frame shown yet
    meter.frame_shown(10.0, 0, 0, True, 1.0)  # the first frame of a 1 fps file
    assert meter.stalled_for(12.9, pace=1.0) == 0.0
    assert meter.stalled_for(13.1, pace=1.0) == pytest.approx(3.1)
