"""The GUI thread's side of the frame worker: it owns the worker's thread and turns method calls into queued
requests (see app.worker)."""

from __future__ import annotations

import threading

from PySide6.QtCore import QObject, Qt, QThread, Signal

from app.worker import PoseWorker
from core.draw import Overlay
from core.pipeline import PipelineConfig
from core.sinks import SinkOptions


class WorkerHandle(QObject):
    """GUI-thread side: owns the thread and turns method calls into queued requests."""

    # paths as Python text, not QString, which drops the bytes of a name that are not UTF-8 (another file opened)
    _open = Signal(object)
    _load_model = Signal(object, object)
    _configure = Signal(object)
    _overlay = Signal(object)
    _view_size = Signal(object)
    _play = Signal(bool)
    _speed = Signal(float)
    _keep_pace = Signal(bool)
    _image_fps = Signal(float)
    _step = Signal(int)
    _seek = Signal(int)
    _record = Signal(object)
    _stop_record = Signal()
    _shutdown = Signal()

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.worker_thread = QThread()
        self.worker_thread.setObjectName("pose-worker")
        self.worker = self._start_worker()
        for signal, slot in (
            (self._open, self.worker.open),
            (self._load_model, self.worker.load_model),
            (self._configure, self.worker.configure),
            (self._overlay, self.worker.set_overlay),
            (self._view_size, self.worker.set_view_size),
            (self._play, self.worker.set_playing),
            (self._speed, self.worker.set_speed),
            (self._keep_pace, self.worker.set_keep_pace),
            (self._image_fps, self.worker.set_image_fps),
            (self._step, self.worker.step),
            (self._seek, self.worker.seek),
            (self._record, self.worker.start_recording),
            (self._stop_record, self.worker.stop_recording),
            (self._shutdown, self.worker.shutdown),
        ):
            signal.connect(slot)

    def _start_worker(self) -> PoseWorker:
        """Start the thread and make the worker, and its timer, in it: it lives there from birth to end and is
        never moved between threads (`PoseWorker.shutdown`)."""
        made: list[PoseWorker | BaseException] = []
        ready = threading.Event()

        def make() -> None:  # in the new thread, by a direct connection from `started`, before its event loop runs
            try:
                worker = PoseWorker()
                worker.start()
                made.append(worker)
            except BaseException as error:  # noqa: BLE001 (raised again in the GUI thread)
                made.append(error)
            finally:
                ready.set()

        self.worker_thread.started.connect(make, Qt.ConnectionType.DirectConnection)
        self.worker_thread.start()
        if not self.worker_thread.isRunning() and not ready.is_set():  # none made (Qt said why): no wait for ever
            raise RuntimeError("The worker's thread could not be started")
        ready.wait()  # Python's lock let go meanwhile: the new thread makes the worker
        worker = made.pop()
        if isinstance(worker, BaseException):
            self.worker_thread.quit()
            self.worker_thread.wait()
            raise worker
        return worker

    def open(self, spec: str) -> None:
        self._open.emit(spec)

    def load_model(self, path: str, config: PipelineConfig) -> None:
        self._load_model.emit(path, config)

    def configure(self, config: PipelineConfig) -> None:
        self._configure.emit(config)

    def set_overlay(self, overlay: Overlay) -> None:
        self._overlay.emit(overlay)

    def set_view_size(self, size: tuple[int, int]) -> None:
        self._view_size.emit(size)

    def set_playing(self, playing: bool) -> None:
        self._play.emit(playing)

    def set_speed(self, speed: float) -> None:
        self._speed.emit(speed)

    def set_keep_pace(self, keep: bool) -> None:
        self._keep_pace.emit(keep)

    def set_image_fps(self, fps: float) -> None:
        self._image_fps.emit(fps)

    def step(self, delta: int) -> None:
        self._step.emit(delta)

    def seek(self, index: int) -> None:
        self._seek.emit(index)

    def start_recording(self, options: SinkOptions) -> None:
        self._record.emit(options)

    def stop_recording(self) -> None:
        self._stop_record.emit()

    def stop(self, timeout_ms: int = 5000) -> None:
        """Close the source and sinks in the worker thread, then end the thread: ended by force after
        ``timeout_ms`` (a stream read that hangs), unless it is saving a recording, which is waited for however
        long it takes (cut off, the files would be lost, and a thread ended mid-write can hang the process)."""
        if not self.worker_thread.isRunning():
            return
        self._shutdown.emit()
        if self.worker_thread.wait(timeout_ms):
            return
        while self.worker.saving.is_set():
            if self.worker_thread.wait(100):
                return
        if not self.worker_thread.wait(500):  # what came after the saving, if any, had its time
            self.worker_thread.terminate()
            self.worker_thread.wait()
