"""Export panel: pick formats and a folder, then record the live session, or process the
whole file or several files in the background (progress, ETA, cancel). The sinks are core's, as in the CLI."""

from __future__ import annotations

import os
from pathlib import Path

from PySide6.QtCore import QThread, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QFileDialog,
    QGridLayout,
    QHBoxLayout,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.export_job import ExportJob, ExportOutcome, ExportRequest, prepare_export
from app.labels import NameLabel
from app.output_files import claim_take, holds_data
from app.transport import QT_INT_MAX
from core.progress import remaining
from core.sinks import SinkOptions
from core.sinks.base import name_key
from core.sinks.multi import output_paths

# SinkOptions field -> (label, output name from a stem)
FORMATS = {
    "csv": ("Keypoint CSV", "{stem}.csv"),
    "coco_json": ("COCO JSON", "{stem}_coco.json"),
    "coco_dataset": ("COCO dataset (CVAT)", "{stem}_coco_dataset.json"),
    "openpose_dir": ("OpenPose JSON", "{stem}_openpose"),
    "posec3d": ("PoseC3D pickle", "{stem}_posec3d.pkl"),
    "video": ("Annotated video", "{stem}_annotated.mp4"),
}


class ExportPanel(QWidget):
    record_toggled = Signal(bool)
    export_requested = Signal()
    batch_requested = Signal()
    message = Signal(str)
    failed = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.checks: dict[str, QCheckBox] = {}
        grid = QGridLayout()
        grid.setHorizontalSpacing(12)
        for i, (name, (label, _)) in enumerate(FORMATS.items()):
            box = QCheckBox(label)
            self.checks[name] = box
            grid.addWidget(box, i // 2, i % 2)
        self.folder = QLineEdit()
        self.folder.setPlaceholderText(f"output folder (empty: {Path.cwd()})")
        self.folder.setAccessibleName("Export folder")
        self.folder.textChanged.connect(self._show_folder_whole)
        self._show_folder_whole()
        browse = QPushButton("…")
        browse.setFixedWidth(32)
        browse.setToolTip("Choose the export folder")
        browse.setAccessibleName("Choose the export folder")
        browse.clicked.connect(self._choose_folder)
        folder_row = QHBoxLayout()
        folder_row.addWidget(self.folder, 1)
        folder_row.addWidget(browse)

        self.record_button = QPushButton("● Record")
        self.record_button.setObjectName("record")
        self.record_button.setCheckable(True)
        self.record_button.setAccessibleName("Record")
        self.record_button.setToolTip("Write what is shown, frame by frame, until pressed again (Ctrl+R)")
        self.record_button.toggled.connect(self.record_toggled)
        self.export_button = QPushButton("Process whole file")
        self.export_button.setToolTip("Run the current file start to end as fast as possible (Ctrl+E)")
        self.export_button.clicked.connect(self.export_requested)
        self.batch_button = QPushButton("Process files…")
        self.batch_button.setToolTip(
            "Choose video files and run each one start to end into the folder, named after the file (Ctrl+Shift+E)"
        )
        self.batch_button.clicked.connect(self.batch_requested)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setEnabled(False)
        self.cancel_button.clicked.connect(self.cancel)
        buttons = QHBoxLayout()
        buttons.addWidget(self.record_button)
        buttons.addWidget(self.export_button, 1)
        buttons.addWidget(self.cancel_button)

        self.progress = QProgressBar()
        self.progress.setRange(0, 100)
        self.progress.setValue(0)
        self.progress.setFormat("%p%")
        self.progress.setAccessibleName("Export progress")
        # a batch's file, on a line of its own shortened to the panel's width (whole in the tooltip): on the
        # progress line, a name of 20 letters took the panel wider than its scroll area, every control cut off
        self.batch_file = NameLabel()
        self.batch_file.setObjectName("caption")
        self.batch_file.hide()
        self.eta = NameLabel()  # shortened in its middle where the panel is narrower: the ETA at its end stays
        self.eta.setObjectName("caption")
        self.batch_left = NameLabel()  # a batch's frames left and the time they take: the file's ETA is the file's
        self.batch_left.setObjectName("caption")
        self.batch_left.hide()

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(grid)
        layout.addLayout(folder_row)
        layout.addLayout(buttons)
        layout.addWidget(self.batch_button)
        layout.addWidget(self.progress)
        layout.addWidget(self.batch_file)
        layout.addWidget(self.eta)
        layout.addWidget(self.batch_left)
        self.job: ExportJob | None = None
        self._thread: QThread | None = None
        self._writing_to = Path()  # the folder of the export running or last run

    def formats(self) -> tuple[str, ...]:
        return tuple(name for name, box in self.checks.items() if box.isChecked())

    def set_formats(self, names: tuple[str, ...]) -> None:
        for name, box in self.checks.items():
            box.setChecked(name in names)

    def _show_folder_whole(self) -> None:
        """The folder the files go to, in full, in the box's tooltip: a long path, or the working folder an empty
        box stands for, is cut at the box's edge (the side panel never widens to it)."""
        try:
            self.folder.setToolTip(str(self.folder_path()))
        except OSError:  # the working folder deleted under the app: each key typed would be an error
            self.folder.setToolTip(self.folder.text())

    def folder_path(self) -> Path:
        """The chosen export folder (the working folder when none is chosen), as a full path: messages name
        files where the user can find them."""
        return Path(os.path.expanduser(self.folder.text().strip() or ".")).absolute()

    def sink_options(self, stem: str, every_format: bool = False) -> SinkOptions:
        """Paths for the checked formats (or ``every_format``) in the chosen folder, named after `stem`."""
        folder = self.folder_path()
        names = FORMATS if every_format else self.formats()
        return SinkOptions(**{name: str(folder / FORMATS[name][1].format(stem=stem)) for name in names})

    def set_recording(self, recording: bool) -> None:
        self.record_button.blockSignals(True)
        self.record_button.setChecked(recording)
        self.record_button.setText("■ Stop" if recording else "● Record")  # as wide: the panel keeps its width
        self.record_button.blockSignals(False)

    def refuse_if_busy(self) -> bool:
        """True (and says so) while an export runs: one at a time."""
        if self.job is not None:
            self.failed.emit("An export is already running; cancel it first.")
        return self.job is not None

    def paths_in_use(self) -> set[str]:
        """Every file the running export writes or will write (by name_key), for a recording to keep clear of."""
        if self.job is None:
            return set()
        return {name_key(path) for _, sinks in self.job.request.jobs for path in output_paths(sinks)}

    def recording_options(self, stem: str) -> SinkOptions:
        """Paths for a new recording named after ``stem``, claimed, whose name no earlier take's file has in any
        format (a CSV and a video of one name are one take), nor a file the running export is to write: a second
        take is <stem>_2, and so on."""
        take, exporting = 1, self.paths_in_use()
        while True:
            name = stem if take == 1 else f"{stem}_{take}"
            paths = output_paths(self.sink_options(name, True))
            if not any(holds_data(path) or name_key(path) in exporting for path in paths):
                options = self.sink_options(name)
                if claim_take(options):  # a take the worker refuses has its claim removed
                    return options
            take += 1

    def start_export(self, request: ExportRequest) -> None:
        if self.refuse_if_busy():
            return
        self._writing_to = self.folder_path()  # where the files go, whatever the box says by the end
        self.job, self._thread = prepare_export(request, self)
        self.job.file_started.connect(self._file_started)
        self.job.progress.connect(self.show_progress)
        self.job.waiting.connect(self._waiting)
        self.job.batch_progress.connect(self.show_batch_progress)
        self.job.finished.connect(self._finished)
        self._thread.finished.connect(self._thread_done)
        self.set_exporting(True)
        # a batch's lines now, not once the job has started: the window scrolls the panel to its end next, and a
        # line coming after pushed the ETA below it out of sight
        self._file_started(1, len(request.jobs), request.jobs[0][0])
        self.show_batch_progress("counting its frames…")
        self.batch_left.setVisible(len(request.jobs) > 1)
        self._thread.start()

    def cancel(self) -> None:
        if self.job is not None:
            self.job.cancel()

    def stop(self) -> None:
        """Cancel a running export and wait for its thread (window closing): it stops after the frame in hand
        and then writes its files out, which for a long file's PoseC3D pickle takes seconds; cut off, the files
        would be lost and Qt would abort on the thread left running. Exports read files, never a stream that
        could hang, so the wait ends."""
        if self._thread is not None:
            self.cancel()
            self._thread.wait()

    def _file_started(self, number: int, count: int, source: str) -> None:
        if count > 1:
            self.batch_file.show_name(Path(source).name, f" ({number}/{count})", tooltip=source)
        self.batch_file.setVisible(count > 1)

    def _waiting(self, name: str) -> None:
        self.progress.setRange(0, 0)  # busy: how long the other run takes is not known
        self.eta.show_name(f"waiting for another run to finish {name}")

    def _finished(self, outcome: ExportOutcome) -> None:
        """The label keeps the outcome, its tooltip the whole story; files gone wrong or cut short are told
        in a dialog, which stays until read (a status line fades while the user is away from a long batch)."""
        label, text = outcome.summary(self._writing_to)
        if not (outcome.cancelled or outcome.failed):  # done: full, whatever a guessed frame count said
            self.progress.setRange(0, 1)
            self.progress.setValue(1)
        elif self.progress.maximum() == 0:  # a file of unknown length ended early: the busy bar stops, empty
            self.progress.setRange(0, 1)
            self.progress.setValue(0)
        self.batch_file.hide()
        self.batch_left.hide()
        self.eta.show_name(label, tooltip=text)
        (self.failed if outcome.alarming else self.message).emit(text)

    def _thread_done(self) -> None:
        self._thread.wait()  # finished() is emitted just before the thread really ends
        self._thread.deleteLater()
        self.job = self._thread = None
        self.set_exporting(False)

    def set_exporting(self, exporting: bool) -> None:
        self.export_button.setEnabled(not exporting)
        self.batch_button.setEnabled(not exporting)
        self.cancel_button.setEnabled(exporting)
        if exporting:
            self.batch_file.hide()
            self.batch_left.hide()
            self.progress.setValue(0)
            self.eta.show_name("starting…", tooltip="")

    def show_progress(self, done: int, total: int | None, rate: float) -> None:
        if total:
            self.progress.setRange(0, min(total, QT_INT_MAX))
            self.progress.setValue(min(done, total, QT_INT_MAX))
            eta = remaining(total - done, rate)
            self.eta.show_name(f"{done}/{total} frames · {rate:.1f} fps · ETA {eta}")
        else:
            self.progress.setRange(0, 0)
            self.eta.show_name(f"{done} frames · {rate:.1f} fps")

    def show_batch_progress(self, standing: str) -> None:
        self.batch_left.show_name(f"batch: {standing}")

    def _choose_folder(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Export folder", self.folder.text())
        if path:
            self.folder.setText(path)
