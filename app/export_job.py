"""Process whole files in the background, as fast as the machine allows, into core's sinks (one file, or
several one after another with one model).

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
from pathlib import Path

from PySide6.QtCore import QCoreApplication, QObject, QThread, Signal, Slot

from app.worker import user_message
from core.draw import Overlay
from core.errors import WLitePoseError
from core.frame_loop import run_frames
from core.pipeline import PipelineConfig, PosePipeline
from core.session import PoseModel
from core.sinks import SinkOptions
from core.sources import IMAGE_FOLDER_FPS, open_source

PROGRESS_EVERY_S = 0.2


@dataclass(frozen=True)
class ExportRequest:
    jobs: tuple[tuple[str, SinkOptions], ...]  # each source (file or image folder) with its outputs
    model: str
    config: PipelineConfig
    overlay: Overlay
    image_fps: float = IMAGE_FOLDER_FPS  # the rate image folders play at


class ExportJob(QObject):
    file_started = Signal(int, int, str)  # number from 1, how many, source
    progress = Signal(int, object, float)  # frames done in this file, its frame count (None if unknown), fps
    finished = Signal(int, bool, str)  # frames written in all, cancelled?, a note on files that ended early
    failed = Signal(str)

    def __init__(self, request: ExportRequest) -> None:
        super().__init__()
        self.request = request
        self._cancel = threading.Event()

    def cancel(self) -> None:
        self._cancel.set()

    @Slot()
    def run(self) -> None:
        try:
            done, note = self._run()
        except Exception as error:  # noqa: BLE001 (shown to the user)
            self.failed.emit(user_message(error))
        else:
            self.finished.emit(done, self._cancel.is_set(), note)
        # Hand the job back to the GUI thread before this one ends: Python owns it and frees it
        # there, so the ending thread never deletes it as well (a double delete crashed Qt).
        self.moveToThread(QCoreApplication.instance().thread())
        QThread.currentThread().quit()

    def _run(self) -> tuple[int, str]:
        """Each file in turn through one model; in a batch a file that fails is noted and the rest go on."""
        jobs = self.request.jobs
        pipeline = PosePipeline(PoseModel(self.request.model), self.request.config)
        inputs = (pipeline.model.path, *(spec for spec, _ in jobs))
        done, notes, errors = 0, [], []
        for number, (spec, sinks) in enumerate(jobs, 1):
            if self._cancel.is_set():
                break
            self.file_started.emit(number, len(jobs), spec)
            try:
                frames, short = self._export(spec, sinks, pipeline, inputs)
            except Exception as error:  # noqa: BLE001
                if len(jobs) == 1:
                    raise
                errors.append(f"{Path(spec).name}: {user_message(error)}")
                continue
            done += frames
            if short:
                notes.append(f"{Path(spec).name}: {short}" if len(jobs) > 1 else short)
        if errors:
            raise WLitePoseError(f"{len(jobs) - len(errors)} of {len(jobs)} files exported; " + "; ".join(errors))
        return done, "; ".join(notes)

    def _export(self, spec: str, sinks: SinkOptions, pipeline: PosePipeline, inputs: tuple) -> tuple[int, str | None]:
        """One file; returns the frames written and what to tell about it (a video cut short, a folder's
        skipped images), if anything."""
        done = 0
        with open_source(spec, self.request.image_fps) as source:
            total = source.frame_count
            started = last_report = time.perf_counter()
            frames = run_frames(source, spec, pipeline, sinks, inputs, self.request.overlay)
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
        return done, None if self._cancel.is_set() else "; ".join(source.end_notes(done, total)) or None


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
