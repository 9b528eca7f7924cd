"""Ending the worker's thread (the window closing): a recording being written out is waited for, not cut off; the
worker lives in its thread from start to end, and nothing of it reaches the window after the end."""

from __future__ import annotations

import gc
import pickle
import threading
import time
import weakref
from pathlib import Path

import pytest
from PySide6.QtCore import QObject, Qt

from app.worker import PoseWorker
from app.worker_handle import WorkerHandle
from core.pipeline import tuned_config
from core.sinks import SinkOptions

CLIP = Path(__file__).resolve().parents[2] / "assets" / "samples" / "vtest_clip.mp4"


@pytest.fixture
def handles(qapp):
    """``handles()``: a new WorkerHandle, stopped after the test if still running, whatever happened (one left
    running when Python frees it aborts the whole run: "QThread: Destroyed while thread 'pose-worker' is still
    running", as a wait that timed out on a loaded machine did)."""
    made = []

    def make() -> WorkerHandle:
        handle = WorkerHandle()
        made.append(weakref.ref(handle))
        return handle

    yield make
    for handle in filter(None, (ref() for ref in made)):
        handle.stop()


def test_a_recording_still_saving_when_the_thread_is_stopped_is_finished_not_cut_off(qtbot, model_path, tmp_path,
                                                                                     monkeypatch, handles):  # fmt: skip
    import core.sinks.posec3d as posec3d

    if not CLIP.is_file():
        pytest.skip("the sample clip is not installed")
    close = posec3d.PoseC3DSink.close
    saving = threading.Event()

    def slow_close(sink):  # a long video's pickle takes seconds to write
        saving.set()
        time.sleep(1.5)
        close(sink)

    monkeypatch.setattr(posec3d.PoseC3DSink, "close", slow_close)
    handle = handles()
    said = []
    handle.worker.recording_changed.connect(lambda on, text: said.append(text))
    handle.load_model(str(model_path), tuned_config(detection_threshold=0.0, keypoint_threshold=0.0))
    handle.open(str(CLIP))
    handle.start_recording(SinkOptions(posec3d=tmp_path / "r.pkl", csv=tmp_path / "r.csv"))
    qtbot.waitUntil(lambda: getattr(handle.worker._recording, "frames", 0) >= 3, timeout=30000)
    wait = handle.worker_thread.wait

    def waited(ms: int) -> bool:  # the worker at its save once the thread's time is up, however slow the machine
        ended = wait(ms)
        if not ended and ms == 200:  # on a loaded machine a frame in hand outlasted the 200 ms: nothing was saving yet
            assert saving.wait(30)
        return ended

    handle.worker_thread.wait = waited
    handle.stop(timeout_ms=200)  # the save takes longer than the thread is given to end
    assert handle.worker_thread.isFinished() and not handle.worker.saving.is_set()
    qtbot.waitUntil(lambda: any(text.startswith("Source closed: recording saved: ") for text in said), timeout=5000)
    recorded = int(said[-1].removeprefix("Source closed: recording saved: ").split()[0])
    with open(tmp_path / "r.pkl", "rb") as f:
        assert pickle.load(f)[0]["total_frames"] == recorded >= 3  # every frame the recording wrote


def test_the_worker_is_made_in_its_thread_and_ends_there_never_moved_with_nothing_left_for_the_window(
    qtbot, monkeypatch, qt_messages, capfd, handles
):
    """Moving the worker back to the GUI thread from its own at its end held Python's lock while Qt's moveToThread
    waited on a lock that the GUI thread can hold while it waits on Python's: an export's end hung the suite so.
    The worker is made in its thread and stays there; its timer runs there and is deleted there, and the frame the
    window had not taken yet is dropped, so a close shows nothing more."""
    if not CLIP.is_file():
        pytest.skip("the sample clip is not installed")
    main = threading.main_thread().ident  # idents: Python 3.13 gives a Qt thread a new Thread object each call
    moves = []
    move = QObject.moveToThread

    def recorded(obj, thread):
        moves.append((type(obj).__name__, threading.get_ident()))
        return move(obj, thread)

    monkeypatch.setattr(QObject, "moveToThread", recorded)
    ticks = []
    tick = PoseWorker._tick

    def counted(worker):
        ticks.append(threading.get_ident())
        tick(worker)

    monkeypatch.setattr(PoseWorker, "_tick", counted)
    handle = handles()
    born_in_its_thread = handle.worker.thread() is handle.worker_thread
    handle.open(str(CLIP))
    qtbot.waitUntil(lambda: len(ticks) >= 3, timeout=30000)
    ended_in = []
    handle.worker._timer.destroyed.connect(
        lambda: ended_in.append(threading.get_ident()), Qt.ConnectionType.DirectConnection
    )
    handle.stop()
    assert not handle.worker_thread.isRunning()
    assert [name for name, thread in moves if thread != main] == []
    assert born_in_its_thread and handle.worker.thread() is handle.worker_thread  # never moved at all
    timer_threads = set(ticks)
    assert len(timer_threads) == 1 and main not in timer_threads
    assert ended_in == list(timer_threads)  # the timer was deleted in its own thread, the worker's
    assert handle.worker.take_packet() is None  # a frame_ready still on its way to the window finds nothing
    worker = weakref.ref(handle.worker)
    del handle  # Python frees the worker, its thread ended, and the thread: without a word from Qt either
    gc.collect()
    assert worker() is None
    qtbot.wait(200)  # anything queued to the GUI thread is delivered
    assert qt_messages == [] and capfd.readouterr().err == ""
