"""The worker's pacing of a file, driven directly in the test's thread (no model: frames only)."""

from __future__ import annotations

import time

import pytest

from app.worker import PoseWorker


@pytest.fixture
def worker(clip_worker):
    return clip_worker()


def tick_late(w: PoseWorker, frame_times: float) -> None:
    w._next_due = time.perf_counter() - frame_times / 10.0  # as after one slow frame
    w._tick()
    w._timer.stop()


def test_late_frames_are_skipped_and_counted(worker):
    tick_late(worker, 0)
    assert worker._last_index == 0
    tick_late(worker, 3.5)  # frames 1, 2 and 3 are past their time
    assert worker._last_index == 4
    packet = worker.take_packet()
    assert packet.index == 4 and packet.skipped == 3 and packet.dropped >= 3


def test_the_last_frame_is_shown_however_late_and_no_damage_is_reported(worker):
    worker._pending_seek = 116
    worker._do_seek()
    worker._timer.stop()
    tick_late(worker, 6)  # six frame times late with three frames left: two are skipped, not five
    assert worker._last_index == 119
    tick_late(worker, 0)
    assert worker._at_end and worker.errors == []


def test_without_keep_pace_every_frame_is_shown(worker):
    worker.set_keep_pace(False)
    tick_late(worker, 0)
    tick_late(worker, 3.5)
    assert worker._last_index == 1 and worker.take_packet().skipped == 0


def test_time_spent_at_max_speed_is_not_lateness_at_1x(worker):
    worker.set_speed(0.0)  # Max: as fast as frames come, no clock
    for _ in range(5):
        worker._tick()
        worker._timer.stop()
    time.sleep(0.3)  # three frame times of the 10 fps clip pass at Max
    worker.set_speed(1.0)
    worker._tick()
    worker._timer.stop()
    assert worker._last_index == 5 and worker.take_packet().skipped == 0  # on from the frame on screen


def test_an_unreadable_image_of_a_folder_is_passed_over_and_said_once(worker, tmp_path):
    import cv2
    import numpy as np

    for i in range(4):
        cv2.imwrite(str(tmp_path / f"{i}.png"), np.zeros((48, 64, 3), np.uint8))
    (tmp_path / "1.png").write_bytes(b"broken")
    worker.set_keep_pace(False)
    worker.open(str(tmp_path))
    shown = []
    for _ in range(4):
        worker._tick()
        worker._timer.stop()
        shown.append(worker._last_index)
    for _ in range(2):  # back to 2, then past the unreadable 1 to 0 (not forward to 2 again)
        worker.step(-1)
        worker._do_seek()
        shown.append(worker._last_index)
    worker.seek(1)  # onto the unreadable image again: shows 2, said only once
    worker._do_seek()
    assert shown == [0, 2, 3, 3, 2, 0]
    assert worker.errors == [f"Skipped {tmp_path / '1.png'}: it cannot be read as an image."]
