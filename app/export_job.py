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
from dataclasses import dataclass, field
from pathlib import Path

from PySide6.QtCore import QObject, Qt, QThread, Signal, Slot

from app.worker import user_message
from core.draw import Overlay
from core.errors import OutputTaken, SourceFailed
from core.frame_loop import finished_before, run_frames
from core.pipeline import PipelineConfig, PosePipeline
from core.progress import BatchStanding, frames_text
from core.session import PoseModel
from core.sinks import SinkOptions
from core.sinks.multi import being_written, wait_while_written
from core.sources import IMAGE_FOLDER_FPS, frames_in, open_source, source_name

PROGRESS_EVERY_S = 0.2


@dataclass(frozen=True)
class ExportRequest:
    jobs: tuple[tuple[str, SinkOptions], ...]  # each source (file or image folder) with its outputs
    model: str
    config: PipelineConfig
    overlay: Overlay
    image_fps: float = IMAGE_FOLDER_FPS  # the rate image folders play at
    passed_over: tuple[str, ...] = ()  # the batch's files left out, exported to their end before
    again: frozenset[str] = frozenset()  # sources whose earlier outputs the user chose to replace


@dataclass
class ExportOutcome:
    """What an export of one file or several came to."""

    count: int  # files asked for
    frames: int = 0  # frames written in all
    exported: int = 0  # files run to their end
    notes: list[str] = field(default_factory=list)  # what to know about a file run to its end (a video cut short)
    failed: list[str] = field(default_factory=list)  # each failed file's error and what its outputs hold
    cancelled: bool = False  # the user's cancel ended it (a model that does not load is no cancel)
    stopped: str = ""  # the file a cancel stopped in, and how far it got
    not_started: list[str] = field(default_factory=list)
    passed_over: tuple[str, ...] = ()  # files of the batch left out, exported to their end before
    elsewhere: list[str] = field(default_factory=list)  # files another run was writing, and finished

    def summary(self, folder: Path) -> tuple[str, str]:
        """A label for the panel and the whole story, which names the files gone wrong or left undone."""
        if self.count == 1 and not (self.passed_over or self.elsewhere):
            if self.failed:
                return "export failed", self.failed[0]
            verb = "Export cancelled after" if self.cancelled else "Exported"
            label = f"{verb} {frames_text(self.frames)}"
            return label, "; ".join([f"{label} to {folder}", *self.notes])
        ours = self.count - len(self.elsewhere)  # files left to this export: another run's are no shortfall
        done = f"{self.exported} of {files_text(ours)} exported"
        if self.cancelled:
            label = f"Export cancelled: {done}, {frames_text(self.frames)}"
        elif ours == 0:
            label = f"{files_text(self.count)} exported by another run"
        else:
            label = f"{done if self.exported < ours else f'Exported {files_text(ours)}'}, {frames_text(self.frames)}"
        parts = [f"{label} to {folder}" + (f": {listing(self.elsewhere)}" if ours == 0 else "")]
        if self.passed_over:
            parts.append(f"passed over, exported before: {listing(self.passed_over)}")
        if self.elsewhere and ours:
            parts.append(f"exported by another run: {listing(self.elsewhere)}")
        if self.stopped:
            parts.append(f"cancelled during {self.stopped}")
        if self.not_started:
            parts.append(f"not started: {listing(self.not_started)}")
        if self.failed:
            parts.append(f"failed: {listing(self.failed, 3)}")
        if self.notes:
            parts.append(f"warnings: {listing(self.notes, 3)}")
        return label, "; ".join(parts)

    @property
    def alarming(self) -> bool:
        """A file failed, or one was cut short: said in a dialog, not only in a status line that fades."""
        return bool(self.failed or self.notes)


class ExportJob(QObject):
    file_started = Signal(int, int, str)  # number from 1, how many, source
    progress = Signal(int, object, float)  # frames done in this file, its frames to show (None if unknown), fps
    finished = Signal(object)  # ExportOutcome
    waiting = Signal(str)  # the file whose outputs another run is writing, waited for
    batch_progress = Signal(str)  # a batch's frames left and the time they take (core.progress.batch_left)

    def __init__(self, request: ExportRequest) -> None:
        super().__init__()
        self.request = request
        self._cancel = threading.Event()
        self._standing = BatchStanding({})  # a batch's files still to do (by number from 1) and their frames

    def cancel(self) -> None:
        self._cancel.set()

    @Slot()
    def run(self) -> None:
        """Called in the export thread; the job itself stays in the GUI thread, so its signals reach the panel
        queued, and Python frees it there."""
        self.finished.emit(self._run())
        QThread.currentThread().quit()

    def _run(self) -> ExportOutcome:
        """Each file in turn through one model; a file that fails is noted and the rest go on. A file another run
        (`track --skip-done`, another window) is writing is passed over for now, and once the others are done its
        outputs are waited for: counted as that run's if it finished them, else exported here. So is a file another
        run finished since the user asked for the export, but those whose earlier outputs the user chose to replace."""
        jobs = self.request.jobs
        outcome = ExportOutcome(len(jobs), passed_over=self.request.passed_over)
        try:
            pipeline = PosePipeline(PoseModel(self.request.model), self.request.config)
        except Exception as error:  # noqa: BLE001 (shown to the user)
            outcome.failed.append(user_message(error))
            outcome.not_started = [Path(spec).name for spec, _ in jobs]
            return outcome
        inputs = (pipeline.model.path, *(spec for spec, _ in jobs))
        model, settings, image_fps = pipeline.model.info.sha256, pipeline.settings(), self.request.image_fps
        if len(jobs) > 1:
            self._standing.counts = {number: frames_in(spec, image_fps) for number, (spec, _) in enumerate(jobs, 1)}
        later = []  # (number, spec, sinks) of each file another run was writing, taken up after the pass
        for number, (spec, sinks) in enumerate(jobs, 1):
            if self._cancel.is_set():
                outcome.cancelled, outcome.not_started = True, [Path(spec).name for spec, _ in jobs[number - 1 :]]
                break
            if spec not in self.request.again and finished_before(spec, sinks, model, settings, image_fps):
                outcome.elsewhere.append(Path(spec).name)  # by another run since the user asked (a question open)
                self._standing.take(number)
                continue
            held = being_written(sinks, source_name(spec))  # another run is writing its outputs now
            if held or not self._file(outcome, number, spec, sinks, pipeline, inputs):
                later.append((number, spec, sinks))
        for index, (number, spec, sinks) in enumerate(later):
            if not self._cancel.is_set():
                self._wait_for(number, spec, sinks)
            if self._cancel.is_set():
                outcome.cancelled = True
                outcome.not_started[:0] = [Path(spec).name for _, spec, _ in later[index:]]
                break
            if finished_before(spec, sinks, model, settings, image_fps):
                outcome.elsewhere.append(Path(spec).name)
                self._standing.take(number)
            elif not self._file(outcome, number, spec, sinks, pipeline, inputs):  # taken again since
                later.append((number, spec, sinks))
        return outcome

    def _wait_for(self, number: int, spec: str, sinks: SinkOptions) -> None:
        """Until no other run holds file ``number``'s outputs, or a cancel; the panel says so while it lasts."""
        self.file_started.emit(number, len(self.request.jobs), spec)
        held = being_written(sinks, source_name(spec))
        if held:
            self.waiting.emit(Path(spec).name)
        wait_while_written(sinks, source_name(spec), held, self._cancel.wait)

    def _file(
        self, outcome: ExportOutcome, number: int, spec: str, sinks: SinkOptions, pipeline: PosePipeline, inputs: tuple
    ) -> bool:
        """One file exported into ``outcome``; False (nothing written) where another run took its outputs first."""
        jobs, name = self.request.jobs, Path(spec).name
        self.file_started.emit(number, len(jobs), spec)
        due = self._standing.take(number)  # its frames, told as this file's from here on
        self._tell_batch(due)
        try:
            frames, total, short = self._export(spec, sinks, pipeline, inputs)
        except SourceFailed as error:
            if error.taken:
                self._standing.counts[number] = due  # still to do, here or by that run
                return False
            text = f"{error} ({error.left_behind()})"
            outcome.failed.append(f"{name}: {text}" if len(jobs) > 1 else text)
            outcome.frames += error.frames
            return True
        outcome.frames += frames
        if self._cancel.is_set() and (total is None or frames < total):
            outcome.cancelled = True
            outcome.stopped = f"{name} (its files hold {frames_text(frames)}" + (f" of {total})" if total else ")")
            return True
        outcome.exported += 1
        if short:
            outcome.notes.append(f"{name}: {short}" if len(jobs) > 1 else short)
        return True

    def _tell_batch(self, due: int | None, done: int = 0, seconds: float = 0.0) -> None:
        """A batch's standing, ``done`` of the present file's ``due`` frames (None: not known) in ``seconds``."""
        if len(self.request.jobs) > 1:
            self.batch_progress.emit(self._standing.told(due, done, seconds))

    def _export(
        self, spec: str, sinks: SinkOptions, pipeline: PosePipeline, inputs: tuple
    ) -> tuple[int, int | None, str | None]:
        """One file; returns the frames written, its frames to show (the frame count less a folder's images passed
        over; None if unknown) and what to tell about it (a video cut short, a folder's skipped images), if
        anything. SourceFailed, with the frames written, if it fails."""
        done = 0
        try:
            with open_source(spec, self.request.image_fps) as source:
                total = source.frame_count
                started = last_report = time.perf_counter()
                said: list[str] = []  # what the outputs say at the end (people a PoseC3D file left out)
                frames = run_frames(source, spec, pipeline, sinks, inputs, self.request.overlay, notes=said)
                with contextlib.closing(frames):
                    for _ in frames:
                        done += 1
                        now = time.perf_counter()
                        if now - last_report >= PROGRESS_EVERY_S:
                            last_report = now
                            self.progress.emit(done, source.frames_shown(), done / (now - started))
                            self._tell_batch(source.frames_shown(), done, now - started)
                        if self._cancel.is_set():
                            break
                shown = source.frames_shown()  # a folder's images passed over are none of its frames: it ends full
                took = time.perf_counter() - started
                self.progress.emit(done, shown, done / max(took, 1e-6))
                self._standing.frames += done
                self._standing.seconds += took
                told = [] if self._cancel.is_set() else source.end_notes(done, total)
                short = "; ".join(told + said) or None
        except Exception as error:  # noqa: BLE001 (told to the user, with what the outputs hold)
            taken = error.output if isinstance(error, OutputTaken) else None  # another run's: nothing written
            raise SourceFailed(user_message(error), done, taken) from error
        return done, shown, short


def files_text(count: int) -> str:
    return f"{count} file" if count == 1 else f"{count} files"


def listing(names: list[str] | tuple[str, ...], most: int = 4) -> str:
    """'a, b, c, d and 3 more' rather than a dialog as long as a batch."""
    return ", ".join(names) if len(names) <= most else f"{', '.join(names[:most])} and {len(names) - most} more"


def prepare_export(request: ExportRequest, parent: QObject) -> tuple[ExportJob, QThread]:
    """A job and the thread that runs it, not started: connect to the job's signals, then `thread.start()`.

    The job is never moved to the thread (it runs there by a direct connection from `started`): moving it back
    at its end, from the export thread, held Python's lock while Qt's moveToThread waited on a lock the GUI
    thread held while it waited on Python's (a test run hung for good). The caller keeps the job until
    `thread.finished`.
    """
    job = ExportJob(request)
    thread = QThread(parent)
    thread.setObjectName("export")
    thread.started.connect(job.run, Qt.ConnectionType.DirectConnection)
    return job, thread
