"""Process a whole file in the background, as fast as the machine allows, into core's sinks.

Runs in its own QThread with its own model session and pipeline, so the live view keeps
playing while an export runs. Progress is reported a few times a second; `cancel()` is
safe from any thread, and the sinks are closed either way (they flush as they go, so a
cancelled export leaves valid files up to the last frame).
"""

from __future__ import annotations

import contextlib
import threading
import time
from dataclasses import dataclass

from PySide6.QtCore import QCoreApplication, QObject, QThread, Signal, Slot

from app.worker import user_message
from core.draw import Overlay
from core.frame_loop import run_frames
from core.pipeline import PipelineConfig, PosePipeline
from core.session import PoseModel
from core.sinks import SinkOptions
from core.sources import open_source

PROGRESS_EVERY_S = 0.2


@dataclass(frozen=True)
class ExportRequest:
    source: str
    model: str
    config: PipelineConfig
    overlay: Overlay
    sinks: SinkOptions


class ExportJob(QObject):
    progress = Signal(int, object, float)  # frames done, frame count (None if unknown), frames per second
    finished = Signal(int, bool)  # frames written, cancelled?
    failed = Signal(str)

    def __init__(self, request: ExportRequest) -> None:
        super().__init__()
        self.request = request
        self._cancel = threading.Event()

    def cancel(self) -> None:
        self._cancel.set()

    @Slot()
    def run(self) -> None:
        done = 0
        try:
            done = self._run()
        except Exception as error:  # noqa: BLE001 (shown to the user)
            self.failed.emit(user_message(error))
        else:
            self.finished.emit(done, self._cancel.is_set())
        # Hand the job back to the GUI thread before this one ends: Python owns it and frees it
        # there, so the ending thread never deletes it as well (a double delete crashed Qt).
        self.moveToThread(QCoreApplication.instance().thread())
        QThread.currentThread().quit()

    def _run(self) -> int:
        request = self.request
        model = PoseModel(request.model)
        pipeline = PosePipeline(model, request.config)
        done = 0
        with open_source(request.source) as source:
            total = source.frame_count
            started = last_report = time.perf_counter()
            frames = run_frames(source, request.source, pipeline, request.sinks, (model.path,), request.overlay)
            with contextlib.closing(frames):
                for _ in frames:
                    done += 1
                    now = time.perf_counter()
                    if now - last_report >= PROGRESS_EVERY_S:
                        last_report = now
                        self.progress.emit(done, total, done / (now - started))
                    if self._cancel.is_set():
                        break
            self.progress.emit(done, total, done / max(time.perf_counter() - started, 1e-6))
        return done


def prepare_export(request: ExportRequest, parent: QObject) -> tuple[ExportJob, QThread]:
    """A job moved to a new thread, not started: connect to the job's signals, then `thread.start()`.

    The caller keeps the job (Python owns it) until `thread.finished`; the job returns itself to
    the GUI thread when it ends, so dropping it then frees it in the thread it belongs to.
    """
    job = ExportJob(request)
    thread = QThread(parent)
    thread.setObjectName("export")
    job.moveToThread(thread)
    thread.started.connect(job.run)
    return job, thread
