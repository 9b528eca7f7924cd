"""The worker's pacing of a file, driven directly in the test's thread (no model: frames only)."""

from __future__ import annotations

import dataclasses
import time

import numpy as np
import pytest

import app.worker
from app.worker import PoseWorker
from core.errors import WLitePoseError
from core.sources import Frame, FrameSource, LiveSource


class Clock:
    """The worker's clock, moved only by the test: the test's thread preempted between setting a frame's due time
    and the tick reading the clock (50 ms on a loaded machine) made 3.5 frame times late 4, and skipped one more."""

    def __init__(self) -> None:
        self.now = 1000.0

    def perf_counter(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch) -> Clock:
    clock = Clock()
    monkeypatch.setattr(app.worker, "time", clock)  # the worker reads nothing else of time
    return clock


@pytest.fixture
def worker(clock, clip_worker):
    return clip_worker()


def tick_late(w: PoseWorker, frame_times: float) -> None:
    w._next_due = app.worker.time.perf_counter() - frame_times / 10.0  # as after one slow frame
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


def test_ten_frames_on_near_the_end_is_the_last_frame_and_steps_go_on_from_there(worker):
    worker._pending_seek = 115
    worker._do_seek()
    worker.step(10)  # Shift+Right
    worker._do_seek()  # the seek step() asked for, without waiting for the event loop
    assert worker._last_index == 119 and worker.take_packet().index == 119
    worker.step(-1)
    worker._do_seek()
    assert worker._last_index == 118 and worker.errors == []


def test_without_keep_pace_every_frame_is_shown(worker):
    worker.set_keep_pace(False)
    tick_late(worker, 0)
    tick_late(worker, 3.5)
    assert worker._last_index == 1 and worker.take_packet().skipped == 0


def test_time_spent_at_max_speed_is_not_lateness_at_1x(worker, clock):
    worker.set_speed(0.0)  # Max: as fast as frames come, no clock
    for _ in range(5):
        worker._tick()
        worker._timer.stop()
    clock.now += 0.3  # three frame times of the 10 fps clip pass at Max
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
    assert worker.notices == [f"Skipped {tmp_path / '1.png'}: it cannot be read as an image."]  # the status line


class FakeStream(FrameSource):
    """A live source whose frame indices say how many frames the stream has sent (as LiveSource's do)."""

    is_live, fps, size, frame_count = True, 10.0, (8, 6), None

    def __init__(self, spec: str, indices: list[int], waited_s: float = 0.0) -> None:
        self.spec, self.indices, self.waited_s = spec, indices, waited_s

    def __iter__(self):
        for index in self.indices:  # each frame came ``waited_s`` before it is taken
            came = time.perf_counter() - self.waited_s
            yield Frame(index, index / 10.0, np.zeros((6, 8, 3), np.uint8), captured_at=came)

    def ready(self, timeout_s: float) -> bool:
        return True


@pytest.fixture
def stream_worker(qapp, monkeypatch):
    import app.worker

    opened = []

    def open_stream(spec, image_fps):
        if not streams:
            raise WLitePoseError(f"stream {spec} cannot be opened")
        opened.append(spec)
        return FakeStream(spec, streams.pop(0), waited_s)

    streams: list[list[int]] = [[0, 1, 2, 9, 10, 14]]
    waited_s = 0.05
    monkeypatch.setattr(app.worker, "open_source", open_stream)
    w = PoseWorker()
    w.start()
    w.errors = []
    w.error.connect(w.errors.append)
    w.streams, w.opened_specs = streams, opened
    yield w
    w._close_source()


def test_steps_and_seeks_with_nothing_open_or_on_a_live_stream_are_passed_over(stream_worker):
    """The arrow keys, Home and End pressed where there is nothing to move in: no frame, no error."""
    w = stream_worker

    def move() -> None:
        w.step(1)
        w.step(-10)
        w.seek(5)

    move()  # nothing open
    w.open("http://camera/stream")
    w._timer.stop()
    move()
    assert w._pending_seek is None and w.take_packet() is None and w.errors == []


def test_seeks_asked_for_in_a_row_end_on_the_last_one(worker):
    """A dragged seek bar: the seeks that came before the worker got to them give way to the last one."""
    worker.set_playing(False)
    sought, seek = [], worker._source.seek
    worker._source.seek = lambda index: (sought.append(index), seek(index))[1]
    for index in (10, 30, 60, 90):
        worker.seek(index)
    worker._do_seek()
    assert sought == [90]  # the earlier ones given up, not each decoded in turn
    assert worker._last_index == 90 and worker.take_packet().index == 90


def test_a_pause_of_a_live_stream_is_not_counted_as_dropped_frames(stream_worker):
    w = stream_worker
    w.open("http://camera/stream")

    def shown() -> int:  # the next frame, taken by the window at once
        w._tick()
        w._timer.stop()
        return w.take_packet().dropped

    assert [shown() for _ in range(3)] == [0, 0, 0]  # frames 0-2
    w.set_playing(False)
    w.set_playing(True)  # the stream sent frames 3-8 meanwhile: paused, not dropped
    assert [shown() for _ in range(3)] == [0, 0, 3]  # 9, 10, then 14: three frames the pipeline missed


def test_play_tries_a_lost_stream_again_until_it_is_back(stream_worker):
    w = stream_worker
    w.streams.append([0])
    w.open("http://camera/stream")
    for _ in range(7):
        w._tick()  # to the stream's end
    assert w._at_end
    w.streams.clear()  # the camera is still down
    playing = []
    w.playing_changed.connect(playing.append)
    w.set_playing(True)  # reconnect: fails, and says so
    assert w._source is None and w.errors[-1] == "stream http://camera/stream cannot be opened"
    assert playing[-1] is False  # the button shows Play again
    w.set_playing(True)  # again: still down
    assert len(w.errors) == 2 and playing[-1] is False
    w.streams.append([0, 1])  # back
    w.set_playing(True)
    w._timer.stop()
    assert w._source is not None and w.opened_specs == ["http://camera/stream"] * 2


def test_a_live_frames_latency_counts_from_when_it_came(stream_worker):
    w = stream_worker
    w.open("http://camera/stream")
    w._tick()
    w._timer.stop()
    packet = w.take_packet()
    assert packet.timings_ms["capture"] >= 50.0  # it waited 50 ms for the pipeline: part of what users see
    assert time.perf_counter() - packet.started_at >= 0.05


def test_a_frame_from_before_a_pause_does_not_count_the_pause_as_latency(stream_worker):
    w = stream_worker
    w.open("http://camera/stream")
    w._source.waited_s = 30.0  # read as each frame is taken
    w.set_playing(False)
    w.set_playing(True)  # each frame came 30 s before it is taken: during the pause
    w._tick()
    w._timer.stop()
    assert w.take_packet().timings_ms["capture"] < 1000.0


def test_a_stalled_stream_does_not_hold_the_worker(stream_worker, monkeypatch):
    w = stream_worker
    w.open("http://camera/stream")
    waits = []
    monkeypatch.setattr(FakeStream, "ready", lambda self, timeout_s: waits.append(timeout_s) or False)
    w._tick()  # nothing to take: it comes back later instead of waiting for the stream
    assert waits == [0.05] and w._timer.isActive()
    w._timer.stop()
    assert w.take_packet() is None


def test_a_stream_that_stops_by_itself_says_so_and_play_connects_again(qapp, monkeypatch, write_clip, tmp_path):
    """A real live source, read from a short clip, ends as a stream whose server stops sending does."""
    clip = write_clip(tmp_path / "clip.avi", 3)
    monkeypatch.setattr(app.worker, "open_source", lambda spec, image_fps: LiveSource(str(clip), spec))
    w = PoseWorker()
    w.start()
    errors = []
    w.error.connect(errors.append)
    w.open("http://camera/stream")
    for _ in range(200):  # each tick waits at most 50 ms for a frame; the clip's end comes within a few
        w._tick()
        w._timer.stop()
        if w._at_end:
            break
    said = "the stream http://camera/stream stopped delivering frames; the run ended there. Press Play to reconnect."
    assert errors == [said] and not w._playing
    w.set_playing(True)
    w._timer.stop()
    assert w._playing and not w._at_end and w._info.is_live and errors == [said]
    w._close_source()


def test_a_folders_notes_come_as_status_lines_while_it_plays_and_together_at_its_end(worker, tmp_path):
    """Each note opened a warning box that held the window, the next replacing it: of a folder's three end notes
    only the last could be read, and each image passed over while it played stopped the user's hand."""
    import cv2

    cv2.imwrite(str(tmp_path / "0.png"), np.zeros((48, 64, 3), np.uint8))
    cv2.imwrite(str(tmp_path / "1.png"), np.zeros((16, 16, 3), np.uint8))  # too small: passed over
    cv2.imwritemulti(str(tmp_path / "2.tif"), [np.zeros((48, 64, 3), np.uint8)] * 2)  # two pages
    (tmp_path / "notes.txt").write_text("not an image")
    worker.set_keep_pace(False)
    worker.open(str(tmp_path))
    for _ in range(4):
        worker._tick()
        worker._timer.stop()
    assert worker.notices == [f"Skipped {tmp_path / '1.png'}: it is 16x16 pixels, too small to find people in (under "
                              "32 on its longer side)."]  # fmt: skip
    assert worker.errors == [
        "Only the first frame of images holding several was analysed: 2.tif (2).\n"
        f"Left out of {tmp_path}, as no image this tool reads: notes.txt."
    ]


def test_a_seek_onto_a_folders_last_image_too_small_shows_the_one_before(worker, tmp_path):
    """The seek bar's end showed nothing (the picture stayed on the frame before, the bar at the end)."""
    import cv2

    for i in range(3):
        cv2.imwrite(str(tmp_path / f"{i}.png"), np.full((48, 64, 3), 40 * i, np.uint8))
    cv2.imwrite(str(tmp_path / "3.png"), np.zeros((16, 16, 3), np.uint8))
    worker.set_keep_pace(False)
    worker.open(str(tmp_path))
    worker._tick()
    worker._timer.stop()
    assert worker.take_packet().index == 0
    worker.set_playing(False)  # paused, or playing: the same frame comes
    worker.seek(3)
    worker._do_seek()
    packet = worker.take_packet()  # none was shown
    assert packet is not None and packet.index == 2 and worker._last_index == 2


def test_the_end_of_a_folder_is_looked_for_once_not_at_each_seek_to_it(worker, tmp_path, monkeypatch):
    """Each End key read again every image passed over at the folder's end (a folder's thumbnails sorted last)."""
    import cv2

    import core.sources.images

    for i in range(3):
        cv2.imwrite(str(tmp_path / f"frame{i}.png"), np.full((48, 64, 3), 40 * i, np.uint8))
    for i in range(20):
        cv2.imwrite(str(tmp_path / f"thumb{i}.png"), np.zeros((16, 16, 3), np.uint8))  # too small
    worker.open(str(tmp_path))
    worker.set_playing(False)
    reads = []
    read_image = core.sources.images.read_image
    monkeypatch.setattr(core.sources.images, "read_image", lambda *a, **k: reads.append(a[0]) or read_image(*a, **k))
    for _ in range(3):
        worker.seek(22)
        worker._do_seek()
        assert worker.take_packet().index == 2
    assert len(reads) == 21 + 3  # the thumbnails and frame2 looked at once, and frame2 read at each seek


def test_a_newly_opened_file_counts_its_own_dropped_frames_from_zero(worker):
    """The HUD's dropped count went on from the last source's."""
    tick_late(worker, 0)
    tick_late(worker, 3.5)
    assert worker.take_packet().dropped >= 3
    worker.open(worker._info.spec)
    worker._timer.stop()
    tick_late(worker, 0)
    assert worker.take_packet().dropped == 0


def test_a_shorter_file_opened_after_skipping_near_anothers_end_shows_its_last_frame(worker, write_clip, tmp_path):
    """The last frame that can be shown is looked for again in a new file: the last one's (119) let late frames be
    skipped past the end of an 8-frame clip, whose last frame was never shown."""
    worker._pending_seek = 116
    worker._do_seek()
    worker._timer.stop()
    tick_late(worker, 6)  # the clip's last frame that can be shown was looked for: 119
    worker.open(str(write_clip(tmp_path / "short.avi", 8)))
    worker._timer.stop()
    tick_late(worker, 0)
    tick_late(worker, 20)  # twenty frame times late with seven frames left: six are skipped
    assert worker._last_index == 7 and not worker._at_end


def test_frames_skipped_to_keep_pace_put_the_clock_back_on_time(worker):
    """Skipping caught up with the clock: the next frame comes on time, nothing more skipped."""
    tick_late(worker, 0)
    tick_late(worker, 3.5)  # frames 1-3 skipped, 4 shown
    assert worker.take_packet().skipped == 3
    worker._tick()  # at once, well before frame 5 is due
    worker._timer.stop()
    packet = worker.take_packet()
    assert packet.index == 5 and packet.skipped == 0


def test_a_long_stall_does_not_make_the_file_race_to_catch_up(worker, clock):
    """Every frame shown (Keep pace off, or recording): after a stall of seconds the clock waits again within half a
    second's frames, rather than showing the next frames back to back until the whole stall is made up."""
    worker.set_keep_pace(False)
    worker._next_due = clock.now - 5.0  # five seconds behind: a stall
    for _ in range(8):
        worker._tick()
        delay_ms = worker._timer.interval()
        worker._timer.stop()
    assert worker._last_index == 7 and delay_ms > 50


def test_a_frame_replaced_before_the_window_took_it_is_counted_as_dropped(worker):
    for _ in range(3):  # the window was busy painting: frames 0 and 1 never reached the screen
        tick_late(worker, 0)
    packet = worker.take_packet()
    assert packet.index == 2 and packet.dropped == 1  # frame 0 (frame 1's replacement was counted just after)
    tick_late(worker, 0)
    assert worker.take_packet().dropped == 2


def test_a_frame_the_window_never_took_of_the_last_source_is_no_drop_of_the_new_one(worker):
    """The last source's frame still waiting for the window made the new one's first frame count as dropped."""
    tick_late(worker, 0)  # frame 0 waits: the window has not taken it
    worker.open(worker._info.spec)
    worker._timer.stop()
    for _ in range(2):
        tick_late(worker, 0)
        packet = worker.take_packet()
    assert packet.index == 1 and packet.dropped == 0


def cut_short_copies(folder, names: list[str]) -> list:
    """Copies of one MJPG video whose header counts 8 frames, cut to two fifths of its bytes."""
    import cv2

    whole = folder / "whole.avi"
    writer = cv2.VideoWriter(str(whole), cv2.VideoWriter_fourcc(*"MJPG"), 10.0, (320, 240))
    noise = np.random.default_rng(0)
    for _ in range(8):
        writer.write(noise.integers(0, 256, (240, 320, 3), np.uint8))
    writer.release()
    cut = whole.read_bytes()[: whole.stat().st_size * 2 // 5]
    paths = [folder / name for name in names]
    for path in paths:
        path.write_bytes(cut)
    return paths


def test_every_video_cut_short_is_said_even_when_an_earlier_one_ended_alike(worker, tmp_path):
    """The notes told of one source kept another, or the same one opened again, from saying the same sentence."""
    worker.set_keep_pace(False)
    for path in [*cut_short_copies(tmp_path, ["a.avi", "b.avi"]), tmp_path / "a.avi"]:
        worker.open(str(path))
        for _ in range(10):
            worker._tick()
            worker._timer.stop()
    assert len(worker.errors) == 3 and all("ended after" in error for error in worker.errors)


def test_a_seek_past_where_a_video_cut_short_ends_says_how_far_it_was_read(worker, tmp_path):
    """A seek to frame 6 of 8 counted, in a video cut short in its fourth, said it "ended after 6 of the 8
    frames" (of a header counting 10^9, after as many frames as the seek bar was dragged to). The fourth, cut,
    still decodes, as a read from the start finds (OpenCV's seek to 6 read nothing, so the file is read to it)."""
    worker.open(str(cut_short_copies(tmp_path, ["a.avi"])[0]))
    for _ in range(3):  # frames 0, 1 and 2
        worker._tick()
        worker._timer.stop()
    assert worker._last_index == 2 and worker.errors == []
    worker._pending_seek = 6
    worker._do_seek()
    worker._tick()
    worker._timer.stop()
    assert [error.split(" (")[0] for error in worker.errors] == [
        "The video ended after 4 of the 8 frames its header counts"
    ]


def test_a_folder_opened_after_another_says_its_first_image_passed_over_as_it_plays(worker, tmp_path):
    """The count of the last folder's skipped images held the new folder's first ones back until its end."""
    import cv2

    for name, bad in (("a", "1"), ("b", "2")):
        (tmp_path / name).mkdir()
        for i in range(4):
            cv2.imwrite(str(tmp_path / name / f"{i}.png"), np.zeros((48, 64, 3), np.uint8))
        (tmp_path / name / f"{bad}.png").write_bytes(b"broken")
    worker.set_keep_pace(False)
    for name, ticks in (("a", 4), ("b", 3)):  # b: frames 0 and 1, then 3 past the unreadable 2
        worker.open(str(tmp_path / name))
        for _ in range(ticks):
            worker._tick()
            worker._timer.stop()
    assert worker.notices[-1] == f"Skipped {tmp_path / 'b' / '2.png'}: it cannot be read as an image."
    assert worker.errors == []


def test_play_after_a_pause_goes_on_with_the_next_frame(worker, clock):
    """The time spent paused is no lateness: Play skipped the frames of the pause's length."""
    for _ in range(3):
        tick_late(worker, 0)
    worker.set_playing(False)
    clock.now += 2.0  # the user looked at the paused frame for 2 s
    worker.set_playing(True)
    worker._tick()
    worker._timer.stop()
    packet = worker.take_packet()
    assert packet.index == 3 and packet.skipped == 0


@pytest.mark.parametrize(("speed", "delay_ms"), [(0.5, 200), (2.0, 50)])
def test_a_frame_waits_its_time_at_the_speed_asked_for(worker, speed, delay_ms):
    """At 2x the next frame of the 10 fps clip is due in 50 ms, at 0.5x in 200 ms."""
    worker.set_speed(speed)
    worker._tick()
    assert abs(worker._timer.interval() - delay_ms) <= 1  # whole milliseconds, rounded down
    worker._timer.stop()


def test_a_file_of_unknown_length_skips_late_frames_too(worker):
    """With no frame count to keep the last frame from, lateness still skips: playing never stops at a tick."""
    worker._info = dataclasses.replace(worker._info, frame_count=None)  # OpenCV cannot tell its length
    tick_late(worker, 0)
    tick_late(worker, 3.5)
    packet = worker.take_packet()
    assert packet.index == 4 and packet.skipped == 3


def test_the_end_of_a_file_stops_playing_and_says_so(worker):
    """At the end the Play button stayed down: the stall watch said no frame came, and Play paused."""
    said = []
    worker.playing_changed.connect(said.append)
    worker._pending_seek = 119
    worker._do_seek()
    worker._timer.stop()
    tick_late(worker, 0)  # 119
    tick_late(worker, 0)  # the end
    assert worker._at_end and not worker._playing and said[-1] is False


def test_a_frame_that_fails_to_be_read_pauses_and_says_why_and_the_file_still_steps(worker, monkeypatch):
    """The drive holding the video unplugged: one sentence and a pause, not a worker left playing into the error."""
    tick_late(worker, 0)  # frame 0
    frames = worker._frames

    def failing(*args):
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(worker, "_frames", iter(failing, None))
    tick_late(worker, 0)
    assert worker.errors == ["Unexpected OSError: [Errno 5] Input/output error"] and not worker._playing
    worker._frames = frames  # plugged in again
    worker.step(1)
    assert worker.take_packet().index == 1


def test_a_file_opened_again_that_no_longer_opens_leaves_it_playing(worker, tmp_path):
    """Only a live source is closed before it is opened again (a webcam cannot be opened twice)."""
    import shutil

    copy = tmp_path / "clip.mp4"
    shutil.copy(worker._info.spec, copy)
    worker.open(str(copy))
    tick_late(worker, 0)
    copy.write_bytes(b"written over meanwhile")
    worker.open(str(copy))
    tick_late(worker, 0)
    assert worker.take_packet().index == 1 and "not a readable video" in worker.errors[-1]


def test_a_mirrored_view_without_a_model_flips_the_picture_left_to_right(worker):
    """The bare frame (no model loaded) was flipped upside down."""
    import cv2

    from core.draw import Overlay

    worker.set_overlay(Overlay(mirror=True))
    tick_late(worker, 0)
    image = worker.take_packet().image
    shown = np.frombuffer(image.constBits(), np.uint8).reshape(image.height(), image.bytesPerLine() // 4, 4)
    capture = cv2.VideoCapture(worker._info.spec)
    first = capture.read()[1]
    capture.release()
    assert np.array_equal(shown[:, : image.width(), :3], first[:, ::-1])


def test_frames_skipped_near_a_folders_unreadable_last_image_leave_the_last_one_that_can_be_shown(worker, tmp_path):
    """Skipping stopped short of the folder's last image, which could not be read: the frames before it were
    skipped too, and playing ended on a frame seconds before the end."""
    import cv2

    for i in range(10):
        cv2.imwrite(str(tmp_path / f"{i}.png"), np.full((48, 64, 3), 20 * i, np.uint8))
    (tmp_path / "9.png").write_bytes(b"cut off by a crashed copy")
    worker.set_image_fps(10.0)
    worker.open(str(tmp_path))
    for _ in range(4):
        tick_late(worker, 0)
    tick_late(worker, 10)  # ten frame times late at frame 3: 4 to 7 are skipped, 8 is shown
    packet = worker.take_packet()
    assert packet is not None and packet.index == 8 and packet.skipped == 4
