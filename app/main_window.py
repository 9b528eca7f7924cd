"""The main window: lays out the panels and wires them to the worker. Poses are the worker's, the frame rate and
playback speed shown the playback meter's, a recording's file names the export panel's."""

from __future__ import annotations

import dataclasses
import os
import sys
import time
from functools import partial
from pathlib import Path

from PySide6.QtCore import QByteArray, QCoreApplication, QEvent, QSettings, Qt, QTimer
from PySide6.QtGui import QCloseEvent, QDragEnterEvent, QDropEvent, QGuiApplication
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QMainWindow,
    QMessageBox,
    QScrollArea,
    QSplitter,
    QStyle,
    QVBoxLayout,
    QWidget,
)

from app.controls import Controls
from app.dashboard import Dashboard
from app.export_job import ExportRequest, listing
from app.export_panel import ExportPanel
from app.export_questions import ask_replace, ask_skip_finished, ask_stop_export
from app.frame_packet import SourceInfo
from app.frame_saver import FrameSaver, claim_png
from app.labels import NameLabel, breakable, keep_breaks_off_the_clipboard, message_room
from app.output_files import finished_sources, holds_data
from app.playback_meter import PlaybackMeter
from app.recent import RecentSources
from app.settings import load_settings, pipeline_config, save_settings
from app.shortcuts import install_shortcuts, shortcut_help
from app.source_bar import VIDEO_FILTER, SourceBar, dropped_sources
from app.status_line import StatusLine
from app.transport import SPEEDS, Transport
from app.video_view import VideoView
from app.worker_handle import WorkerHandle
from core.assets import SAMPLE_CLIP
from core.draw import Overlay
from core.errors import WLitePoseError
from core.model_file import ModelInfo
from core.progress import frames_text
from core.sinks.base import name_key
from core.sinks.multi import NAME_FIELD, being_written, output_paths, plan_outputs
from core.sources import source_name, without_password

# The HUD shows the playback speed when a file plays below this share of the speed asked for.
SLOW_PLAYBACK = 0.9
PANELS_HIDDEN = "Panels hidden: H shows them"
FRAME_BORDER = 4  # px a window manager's frame may add on each side, beyond the title bar
# Windows not shut down yet: one freed while its threads run aborts the process ("QThread: Destroyed while thread
# is still running"), so an open window is kept, whoever else holds it, until it is shut down (closed, or the
# application quitting), and freed after.
_OPEN_WINDOWS: set[MainWindow] = set()


class MainWindow(QMainWindow):
    def __init__(self, store: QSettings, cameras: list[int]) -> None:
        super().__init__()
        self.setWindowTitle("WLitePose")
        self.store = store
        self.settings = self._loaded = load_settings(store)
        self.source: SourceInfo | None = None
        self.model_path = ""
        self.model_info: ModelInfo | None = None  # of the model at model_path
        self.last_error = ""
        self.last_packet = None
        self.frames_shown = 0
        self.meter = PlaybackMeter()
        self._awaited: set[str] = set()  # "source", "model": asked of the worker, not done yet (no stall then)
        self._hud_mark = ""  # the heads-up line's recording mark
        self._recording_paths: set[str] = set()  # the files the recording running writes (by name_key)
        self._found = ""  # the people found on the last frame: the line of a paused frame, after the mark
        self._error_box: QMessageBox | None = None

        self.view = VideoView()
        self.source_bar = SourceBar()
        self.source_bar.set_cameras(cameras)
        self.recent = RecentSources(store)
        self.source_bar.set_recent(self.recent.entries())
        self.transport = Transport()
        self.controls = Controls()
        self.dashboard = Dashboard()
        self.export_panel = ExportPanel()
        self.model_label = NameLabel()  # a long model file name shortened, never the status line squeezed out
        self.model_label.setObjectName("caption")
        self.model_label.setContentsMargins(16, 0, 8, 0)  # a long status line ends before the model's name
        self._build_layout()
        self._apply_settings()
        self._stall_watch = QTimer(self)
        self._stall_watch.setInterval(250)
        self._stall_watch.timeout.connect(self._watch_for_stall)  # started while it plays (_watch_while)

        self.handle = WorkerHandle(self)
        _OPEN_WINDOWS.add(self)
        self.frame_saver = FrameSaver(self)
        self.status = StatusLine(self.statusBar())
        self._connect()
        self.shortcuts = install_shortcuts(self, self._actions())
        self.statusBar().addPermanentWidget(self.model_label)
        self.setAcceptDrops(True)  # a video, image folder or model file dragged from the file manager
        self._shut_down = False
        self._paused_by_minimising = False
        QCoreApplication.instance().aboutToQuit.connect(self.shut_down)
        QCoreApplication.instance().focusChanged.connect(self._reveal_focus)
        geometry = store.value("geometry", b"")
        if isinstance(geometry, (bytes, QByteArray)):  # anything else in a hand-edited file is ignored
            self.restoreGeometry(geometry)
        if not store.isWritable():  # a read-only home or settings folder: said now, not found out at the next start
            self.status.hold(f"Settings will not be kept: {store.fileName()} cannot be written", 20000)

    # ---- layout ----------------------------------------------------------------------------
    def _build_layout(self) -> None:
        player = QWidget()
        player_layout = QVBoxLayout(player)
        player_layout.setContentsMargins(0, 0, 0, 0)
        player_layout.addWidget(self.view, 1)
        player_layout.addWidget(self.transport)
        left = QSplitter(Qt.Orientation.Vertical)
        left.addWidget(player)
        self._latency = _group("Latency", self.dashboard)
        left.addWidget(self._latency)
        left.setStretchFactor(0, 1)
        left.setSizes([640, 200])

        side = QWidget()
        side_layout = QVBoxLayout(side)
        side_layout.setContentsMargins(0, 0, 4, 0)
        side_layout.addWidget(self.controls)
        side_layout.addWidget(_group("Export", self.export_panel))
        side_layout.addStretch(1)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        scroll.setWidget(side)
        scroll.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # no dead Tab stop, unseen, between Keep pace and the model
        self._side = scroll
        side.ensurePolished()
        scroll.setMinimumWidth(side.minimumSizeHint().width() + scroll.verticalScrollBar().sizeHint().width())

        splitter = QSplitter()
        splitter.addWidget(left)
        splitter.addWidget(scroll)
        splitter.setStretchFactor(0, 1)
        splitter.setSizes([1100, 340])
        central = QWidget()
        layout = QVBoxLayout(central)
        layout.setContentsMargins(10, 8, 10, 6)
        layout.setSpacing(8)
        layout.addWidget(self.source_bar)
        layout.addWidget(splitter, 1)
        self.setCentralWidget(central)
        # the window's size, within the screen's room (a 1366x768 laptop, or 1920x1080 at 150 %: 1280x720) with
        # its title bar, which the size leaves out: a window as tall as the room had its status bar off the edge
        room = (self.screen() or QGuiApplication.primaryScreen()).availableGeometry()
        title_bar = self.style().pixelMetric(QStyle.PixelMetric.PM_TitleBarHeight) + 2 * FRAME_BORDER
        self.resize(min(1440, room.width() - 2 * FRAME_BORDER), min(900, room.height() - title_bar))

    def _apply_settings(self) -> None:
        s = self.settings
        self.controls.apply(s)
        self.transport.set_speed(s.speed)
        self.transport.keep_pace.setChecked(s.keep_pace)
        self.transport.set_image_fps(s.folder_fps)
        self.export_panel.set_formats(s.export_formats)
        self.export_panel.folder.setText(s.export_dir)
        self.source_bar.start_dir = self.controls.start_dir = s.last_dir
        self.source_bar.url_edit.setText(s.last_url)

    def _connect(self) -> None:
        """Slots are the window's methods, never lambdas: Qt holds a lambda that names ``self`` for as long as the
        signal's object lives, which the window owns, so a closed window was never freed (with its model)."""
        worker = self.handle.worker
        worker.frame_ready.connect(self._show_frame)
        worker.opened.connect(self._opened)
        worker.rate_changed.connect(self._rate_changed)
        worker.length_found.connect(self._length_found)
        worker.model_loaded.connect(self._model_loaded)
        worker.model_failed.connect(self._model_failed)
        worker.playing_changed.connect(self._playing_changed)
        worker.recording_changed.connect(self._recording_changed)
        worker.error.connect(self.show_error)
        worker.notice.connect(self.status.hold)
        self.source_bar.source_requested.connect(self.open_source)
        self.source_bar.refresh_cameras_requested.connect(self._refresh_cameras)
        self.source_bar.recent_gone.connect(self._recent_gone)
        self.source_bar.clear_recent_requested.connect(self._clear_recent)
        self.transport.play_toggled.connect(self._play_toggled)
        self.transport.step_requested.connect(self.handle.step)
        self.transport.seek_requested.connect(self.handle.seek)
        self.transport.speed_changed.connect(self.handle.set_speed)
        self.transport.speed_changed.connect(self.meter.restart)
        self.transport.keep_pace_changed.connect(self.handle.set_keep_pace)
        self.transport.image_fps_changed.connect(self.handle.set_image_fps)
        self.controls.pipeline_changed.connect(self._pipeline_changed)
        self.controls.overlay_changed.connect(self._overlay_changed)
        self.controls.model_requested.connect(self.load_model)
        self.export_panel.record_toggled.connect(self._record)
        self.export_panel.export_requested.connect(self.export_file)
        self.export_panel.batch_requested.connect(self.export_files)
        self.export_panel.message.connect(self.status.show)
        self.export_panel.failed.connect(self.show_error)
        self.frame_saver.saved.connect(self._frame_saved)
        self.frame_saver.failed.connect(self.show_error)
        self.view.resized.connect(self.handle.set_view_size)
        self.handle.set_speed(self.transport.speed)
        self.handle.set_keep_pace(self.transport.keep_pace.isChecked())
        self.handle.set_image_fps(self.transport.image_fps())
        self.handle.set_overlay(self._overlay())

    def _actions(self) -> dict:
        t, c = self.transport, self.controls
        return {
            "play_pause": t.play_button.toggle,
            "step_forward": partial(self.handle.step, 1),
            "step_back": partial(self.handle.step, -1),
            "jump_forward": partial(self.handle.step, 10),
            "jump_back": partial(self.handle.step, -10),
            "seek_start": partial(self.handle.seek, 0),
            "seek_end": self._seek_end,
            "faster": self._faster,
            "slower": self._slower,
            "open_video": self.source_bar.choose_file,
            "open_folder": self.source_bar.choose_folder,
            "open_recent": self.source_bar.recent_button.showMenu,
            "record": self.export_panel.record_button.toggle,
            "save_frame": self.save_frame,
            "export": self.export_file,
            "export_files": self.export_files,
            "toggle_boxes": c.boxes.toggle,
            "toggle_scores": c.scores.toggle,
            "toggle_trails": c.trails.toggle,
            "toggle_mirror": c.mirror.toggle,
            "toggle_panels": self._toggle_panels,
            "fullscreen": self._toggle_fullscreen,
            "leave_fullscreen": self.showNormal,
            "quit": self.close,
            "help": self._show_shortcuts,
        }

    # ---- requests --------------------------------------------------------------------------
    def open_source(self, spec: str) -> None:
        path = Path(os.path.expanduser(spec)).absolute()  # a relative source is remembered where it is, not as "."
        try:
            exists = path.exists()
        except OSError:  # a name too long to be a path: the worker says what is wrong with it
            exists = False
        if exists and path != SAMPLE_CLIP.absolute():  # the bundled clip's folder is no user's (site-packages)
            self.settings = dataclasses.replace(self.settings, last_dir=str(path.parent if path.is_file() else path))
            self.source_bar.start_dir = self.controls.start_dir = self.settings.last_dir
        elif "://" in spec:  # one with a password is not kept: the settings file is plain text
            self.settings = dataclasses.replace(self.settings, last_url=spec if without_password(spec) == spec else "")
        self.status.note(f"Opening {without_password(spec)}…")
        self._awaited.add("source")
        self.handle.open(spec)

    def load_model(self, path: str) -> None:
        """`path` "" = the bundled model; a file that is gone gives way to the bundled one, with a note (anything
        else there, a folder named x.onnx, is the model load's to refuse in words)."""
        try:
            gone = bool(path) and not Path(os.path.expanduser(path)).exists()
        except OSError:  # a name too long to be a file (a hand-edited settings file): the model load says so
            gone = False
        if gone:
            self.status.hold(f"The model {path} no longer exists: using the bundled model.", 15000)
            path = ""
            self.controls.select_model("")  # never saved again
        self.settings = self.controls.read(self.settings)
        resolved = Path(path) if path else self._bundled_model()
        if not path and not resolved.is_file():
            text = f"The bundled model {resolved.name} is not installed yet: pick an ONNX model with …"
            text += " (the video plays without poses meanwhile)"
            self.controls.show_model_info(text)
            self.status.show(text, 20000)
            return
        self._awaited.add("model")
        self.handle.load_model(str(resolved), pipeline_config(self.settings))

    def export_file(self) -> None:
        if self.source is None or self.source.is_live:
            self.show_error("Open a video file or image folder to process it whole; record live sources instead.")
            return
        self._export([self.source.spec])

    def export_files(self, paths: list[str] | None = None) -> None:
        """Several files, each start to end into the export folder under its own name (a dialog asks which)."""
        if self.export_panel.refuse_if_busy():  # before the user picks files
            return
        if paths is None:
            paths, _ = QFileDialog.getOpenFileNames(self, "Process files", self.settings.last_dir, VIDEO_FILTER)
        if paths:
            self.settings = dataclasses.replace(self.settings, last_dir=str(Path(paths[0]).parent.absolute()))
            self.source_bar.start_dir = self.controls.start_dir = self.settings.last_dir
            self._export(paths)

    def _export(self, sources: list[str]) -> None:
        if self.export_panel.refuse_if_busy():  # before asking about files the running export may be writing
            return
        if not self.model_path:
            self.show_error("Load a model before exporting.")
            return
        if not self.export_panel.formats():
            self.show_error("Tick at least one export format.")
            return
        try:
            options, inputs = self.export_panel.sink_options(NAME_FIELD), (self.model_path, *sources)
            held = frozenset(self._recording_paths)  # said below
            # a batch shares its files with other runs of it (track --skip-done, another window): ExportJob
            jobs = plan_outputs(sources, options, inputs, held, shared=len(sources) > 1)
        except WLitePoseError as error:
            self.show_error(str(error))
            return
        planned = [path for _, sinks in jobs for path in output_paths(sinks)]
        recording = [path.name for path in planned if name_key(path) in self._recording_paths]
        if recording:
            self.show_error(
                f"The recording running now writes {listing(recording)}: stop it, or choose another export folder."
            )
            return
        # what another run is writing now is no earlier export to replace: the batch waits for it (ExportJob)
        writing = [spec for spec, sinks in jobs if being_written(sinks, source_name(spec))]
        earlier = {spec: [path.name for path in output_paths(sinks) if holds_data(path)] for spec, sinks in jobs}
        existing = [name for spec, names in earlier.items() if spec not in writing for name in names]
        self.settings = self.controls.read(self.settings)
        config, image_fps = pipeline_config(self.settings), self.transport.image_fps()
        model = self.model_path  # the one the question is about: a model whose load ends while it is open waits
        input_size = self.model_info.input_size
        finished = finished_sources(jobs, model, input_size, config, image_fps) if existing and len(jobs) > 1 else []
        skip = ask_skip_finished(self, len(finished), len(jobs)) if finished else False
        if skip is None or (not finished and existing and not ask_replace(self, existing)):
            return
        if self._shut_down:  # closed while it asked (Ctrl-C in the terminal): an export now would outlive the window
            return
        if skip:
            jobs = [job for job in jobs if job[0] not in finished]
            if not jobs:
                self.status.hold(f"All {len(finished)} files were exported to their end before: nothing to do.")
                return
        overlay = dataclasses.replace(self._overlay(), mirror=False)  # files keep the camera's view
        request = ExportRequest(
            jobs=tuple(jobs),
            model=model,
            config=config,
            overlay=overlay,
            image_fps=image_fps,
            passed_over=tuple(Path(spec).name for spec in finished) if skip else (),
            # replaced as asked: only those the other runs finish meanwhile (the question open) are theirs
            again=frozenset(spec for spec, names in earlier.items() if names and spec not in writing),
        )
        self.export_panel.start_export(request)
        # a small window keeps the progress below the fold; scrolled to once the panel has made room for the
        # batch's lines just shown (its layout's request is posted), the ETA and a batch's time left are not cut off
        panel = self.export_panel
        last = panel.batch_left if panel.batch_left.isVisibleTo(panel) else panel.eta
        QTimer.singleShot(0, self, partial(self._side.ensureWidgetVisible, last))

    def save_frame(self) -> None:
        """The frame on screen, with what is drawn on it, as a PNG in the export folder, at the source's size."""
        packet = self.last_packet
        if packet is None:
            self.show_error("There is no frame to save yet: open a video, folder or webcam first.")
            return
        folder = self.export_panel.folder_path()
        try:
            path = claim_png(folder, f"{self._stem()}_frame{packet.index:06d}")
        except OSError as error:
            self.show_error(f"Cannot write a still into {folder}: {error.strerror or error}.")
            return
        self.frame_saver.save(packet.still, path)  # drawn and encoded off the GUI thread: the picture keeps moving

    def show_error(self, text: str) -> None:
        """A short dialog that does not block the event loop, and the same line in the status bar."""
        self._awaited.discard("source")  # a source that could not be opened, among other errors
        self.last_error = text
        self.status.show(text, 15000)
        if self._error_box is None:
            self._error_box = QMessageBox(QMessageBox.Icon.Warning, "WLitePose", "", parent=self)
            self._error_box.setTextFormat(Qt.TextFormat.PlainText)  # file names and model text as they are
            self._error_box.setWindowModality(Qt.WindowModality.WindowModal)
            keep_breaks_off_the_clipboard()  # a long path in it is broken for the eye, not for a copy of it
        self._error_box.ensurePolished()  # the theme's font, which the text is measured in
        self._error_box.setText(breakable(text, self._error_box.fontMetrics(), message_room(self)))
        self._error_box.open()

    def _reveal_focus(self, _old: QWidget | None, new: QWidget | None) -> None:
        """A side-panel control that takes the focus scrolls into view: Shift+Tab from the source bar wraps to
        the panel's last button, which stayed below the fold of a small window, focused where nobody saw it."""
        if new is not None and self._side.widget().isAncestorOf(new):
            self._side.ensureWidgetVisible(new)

    def _toggle_panels(self) -> None:
        """The picture alone with its transport, for a demo or a small screen (no key moves a splitter's divider),
        or the panels back at the sizes they had."""
        shown = not self._side.isVisible()
        self._side.setVisible(shown)
        self._latency.setVisible(shown)
        if shown:
            self.status.withdraw(PANELS_HIDDEN)  # another line since (a recording saved) stays
        else:
            self.status.hold(PANELS_HIDDEN, 5000)

    def _show_shortcuts(self) -> None:
        """The shortcut list in a box of its own: a message box wraps its text to its width (narrower on a small
        screen), which broke each line of the two columns in two."""
        box = QDialog(self)
        box.setWindowTitle("Keyboard shortcuts")
        text = QLabel(shortcut_help())
        text.setTextFormat(Qt.TextFormat.PlainText)
        text.setStyleSheet("font-family: monospace;")
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok)
        buttons.accepted.connect(box.accept)
        layout = QVBoxLayout(box)
        layout.addWidget(text)
        layout.addWidget(buttons)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.open()

    # ---- worker events ---------------------------------------------------------------------
    def _show_frame(self) -> None:
        packet = self.handle.worker.take_packet()
        if packet is None:
            return
        now, meter = time.perf_counter(), self.meter
        playing = self.transport.play_button.isChecked()
        file_fps = 0.0 if self.source is None or self.source.is_live else self.source.fps
        meter.frame_shown(now, packet.index, packet.skipped, playing, file_fps)
        people = float("nan") if packet.poses is None else len(packet.poses)
        self._found = "no model" if packet.poses is None else f"{people} {'person' if people == 1 else 'people'}"
        self._hud_mark = _rec_mark(packet.recording, packet.recording_resumes_at)
        hud = self._hud_mark + (f"{meter.fps:4.1f} fps · " if playing and meter.fps else "") + self._found
        if meter.play_speed < SLOW_PLAYBACK * self.transport.speed:
            hud += f" · {meter.play_speed:.2f}× real time"
        self.view.show_image(packet.image, hud)
        self.transport.show_position(packet.index, packet.frame_count, packet.time_s)
        if playing:  # the dashboard follows playback, not a paused frame redrawn or re-grouped
            sample = dict(packet.timings_ms)
            rate = meter.fps or float("nan")  # 0 until a frame interval was measured: no rate yet, not 0 fps
            painted = time.perf_counter()  # end to end: to the frame painted (it said 6 ms for 11 in a 1517x860 view)
            sample.update(end_to_end=(painted - packet.started_at) * 1000.0, fps=rate, dropped=packet.dropped)
            sample["people"] = people
            self.dashboard.add_sample(sample)
        self.last_packet = packet
        self.frames_shown += 1

    def _watch_for_stall(self) -> None:
        """While it plays, a frame long overdue (a stream that stalls, a worker busy with a frame) is said in the
        HUD, and the dashboard leaves its frame rate and end-to-end time blank, rather than keep the last ones on;
        not while another source opens or a model loads (the status bar says so)."""
        if not self.transport.play_button.isChecked() or self._awaited:
            return
        pace = self.source.fps * (self.transport.speed or 1.0) if self.source else 0.0
        gap = self.meter.stalled_for(time.perf_counter(), pace)
        if gap:
            self.view.set_hud(f"{self._hud_mark}no new frame for {gap:.0f} s · {self._found}")
            self.dashboard.paused(stalled=True)

    def _opened(self, info: SourceInfo) -> None:
        self._awaited.discard("source")
        self.source = info
        self.last_packet = None  # the last source's frame is not this one's to save
        self.meter.restart()
        self.dashboard.clear()
        self.transport.set_source(info.frame_count, info.fps, info.is_live, info.images)
        self._describe_source(info)
        self.setWindowTitle(f"WLitePose — {_display_name(info.spec)}")
        self.status.note(f"Opened {without_password(info.spec)}")
        self.source_bar.set_recent(self.recent.add(info.spec))  # opened: one that failed is not offered again

    def _recent_gone(self, entry: str) -> None:
        self.source_bar.set_recent(self.recent.drop(entry))
        self.status.hold(f"{entry} is no longer there: taken off the recent list.", 15000)

    def _clear_recent(self) -> None:
        self.source_bar.set_recent(self.recent.clear())

    def _rate_changed(self, info: SourceInfo) -> None:
        self.source = info
        self.meter.restart()
        self._describe_source(info)
        self.status.note(f"{_display_name(info.spec)} plays at {info.fps:g} fps now; tracks start over")

    def _length_found(self, info: SourceInfo) -> None:
        """A file whose frame count was a guess (an MKV's, from its duration) has ended: the seek bar and the
        position take its real count."""
        self.source = info
        self.transport.set_length(info.frame_count)
        self._describe_source(info)
        if self.last_packet is not None:
            self.transport.show_position(self.last_packet.index, info.frame_count, self.last_packet.time_s)

    def _frame_saved(self, path: str) -> None:
        self.status.show(f"Saved {path}", 5000)

    def _describe_source(self, info: SourceInfo) -> None:
        width, height = info.size
        count = info.frame_count
        kind = "live" if info.is_live else frames_text(count) if count else "? frames"
        name = _display_name(info.spec)
        self.source_bar.set_current(name, f" · {width}×{height} · {info.fps:g} fps · {kind}")

    def _model_loaded(self, info, path: str) -> None:
        self._awaited.discard("model")
        self.model_path, self.model_info = path, info
        self.controls.select_model("" if Path(path) == self._bundled_model() else path)
        self.settings = self.controls.read(self.settings)
        trained = "trained" if info.trained else "untrained"
        keypoints = len(info.keypoint_names)
        text = f"{info.variant} · {info.dataset} · {keypoints} keypoints · {trained} at {info.input_size} px"
        self.controls.show_model_info(text)
        self.model_label.show_name(Path(path).name, tooltip=path)

    def _model_failed(self, path: str, message: str) -> None:
        """The model box goes back to the model in use; with none yet (a remembered model that no longer
        loads, at start) the bundled one is loaded instead, so the app never stays without poses for good."""
        self._awaited.discard("model")
        bundled = self._bundled_model()
        fallback = not self.model_path and Path(path) != bundled and bundled.is_file()
        self.show_error(f"{message.rstrip('.')}: using the bundled model." if fallback else message)
        in_use = self.model_path if self.model_path and Path(self.model_path) != bundled else ""
        self.controls.select_model(in_use)
        self.settings = self.controls.read(self.settings)  # the failed path is not remembered
        if fallback:
            self.load_model("")

    def _bundled_model(self) -> Path:
        return dataclasses.replace(self.settings, model="").model_path()

    def _play_toggled(self, playing: bool) -> None:
        """Play or pause pressed: a pause is said at once, not when the worker, busy with a frame, answers (the HUD
        said 'no new frame for 2 s' beside the play button for as long)."""
        self.handle.set_playing(playing)
        self._watch_while(playing)
        if not playing:
            self._show_paused()
        elif self.source is None and "source" not in self._awaited:  # the button springs back: say why
            self.status.show("Nothing to play: open a webcam, video, image folder or stream first")

    def _playing_changed(self, playing: bool) -> None:
        self.transport.set_playing(playing)
        self._watch_while(playing)
        self.meter.pause()
        if not playing:
            self._show_paused()

    def _watch_while(self, playing: bool) -> None:
        """The stall watch runs while it plays: paused, at its end or with nothing open, no timer wakes the app
        four times a second (a laptop's battery, a window left open all day)."""
        if playing:
            self._stall_watch.start()
        else:
            self._stall_watch.stop()

    def _show_paused(self) -> None:
        """The paused frame's line, without the frame rate or playback speed."""
        self.view.set_hud(self._hud_mark + self._found)
        self.dashboard.paused()

    def _recording_changed(self, recording: bool, text: str) -> None:
        self.export_panel.set_recording(recording)
        if not recording:
            self._recording_paths = set()
        if recording:
            self.status.show(text, 5000)
        else:  # what ended it comes next (a source opened, a rate changed): this line stays
            self.status.hold(text)
        if self.last_packet is not None:
            self._hud_mark = _rec_mark(recording)  # until a new frame says so, and after a pause
            if not self.transport.play_button.isChecked():
                self.view.set_hud(self._hud_mark + self._found)

    # ---- control changes -------------------------------------------------------------------
    def _pipeline_changed(self) -> None:
        self.settings = self.controls.read(self.settings)
        self.handle.configure(pipeline_config(self.settings))

    def _overlay_changed(self) -> None:
        self.settings = self.controls.read(self.settings)
        self.handle.set_overlay(self._overlay())

    def _overlay(self) -> Overlay:
        s = self.controls.read(self.settings)
        return Overlay(boxes=s.boxes, scores=s.scores, trails=s.trails, mirror=s.mirror)

    def _record(self, on: bool) -> None:
        self.transport.image_fps()  # a rate typed without Enter applies first, not as the recording runs
        if on:
            options = self.export_panel.recording_options(self._stem() + "_live")
            self._recording_paths = {name_key(path) for path in output_paths(options)}
            self.handle.start_recording(options)
        else:
            self.handle.stop_recording()

    def _faster(self) -> None:
        self._change_speed(1)

    def _slower(self) -> None:
        self._change_speed(-1)

    def _seek_end(self) -> None:
        self.handle.seek(self.transport.slider.maximum())

    def _toggle_fullscreen(self) -> None:
        if self.isFullScreen():
            self.showNormal()
        else:
            self.showFullScreen()

    def _change_speed(self, direction: int) -> None:
        if not self.transport.speed_box.isEnabled():  # a live source, or none: there is no speed to change
            return
        row = min(max(self.transport.speed_box.currentIndex() + direction, 0), len(SPEEDS) - 1)
        self.transport.speed_box.setCurrentIndex(row)

    def _refresh_cameras(self) -> None:
        from core.sources import list_cameras

        cameras = list_cameras()
        self.source_bar.set_cameras(cameras)
        self.status.show(f"Webcams found: {len(cameras)}" if cameras else "No webcam found: connect one and look again")

    def _stem(self) -> str:
        return "wlitepose" if self.source is None else source_name(self.source.spec)

    def changeEvent(self, event: QEvent) -> None:  # noqa: N802 (Qt override)
        """Minimised, a playing source pauses unless it records (nobody sees its poses: a webcam left running
        cost half of a 2-core machine), and plays again when the window comes back."""
        super().changeEvent(event)
        if event.type() != QEvent.Type.WindowStateChange:
            return
        play = self.transport.play_button
        if self.isMinimized() and play.isChecked() and not self.export_panel.record_button.isChecked():
            self._paused_by_minimising = True
            play.setChecked(False)
        elif not self.isMinimized() and self._paused_by_minimising:
            self._paused_by_minimising = False
            play.setChecked(True)

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:  # noqa: N802 (Qt override)
        if dropped_sources(event.mimeData()):
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:  # noqa: N802 (Qt override)
        """A model file loads; a video, image folder, image or stream link opens (the first of several, which
        Process files… runs one after another)."""
        sources = dropped_sources(event.mimeData())
        if not sources:
            return
        event.acceptProposedAction()
        first = sources[0]
        if first.lower().endswith(".onnx") and "://" not in first:
            self.load_model(first)
        else:
            self.open_source(first)
        if len(sources) > 1:
            opened = _display_name(first)
            self.status.hold(f"{len(sources)} items dropped: {opened} opened; Process files… runs several")

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 (Qt override)
        if self.export_panel.job is not None and not ask_stop_export(self.export_panel):
            event.ignore()
            return
        self.shut_down()
        super().closeEvent(event)

    def shut_down(self) -> None:
        """Keep the settings, finish the export and the recording, stop the threads: on closing, and when the
        application quits without a close (the display's connection lost: a remote desktop dropped), which
        aborted the process with the recording unfinished."""
        if self._shut_down:
            return
        self._shut_down = True
        self.settings = dataclasses.replace(
            self.controls.read(self.settings),
            speed=self.transport.speed,
            keep_pace=self.transport.keep_pace.isChecked(),
            folder_fps=self.transport.image_fps(),
            export_dir=self.export_panel.folder.text(),
            export_formats=self.export_panel.formats(),
        )
        save_settings(self.store, self.settings, self._loaded)  # first: whatever the worker is stuck in, they are kept
        self.store.setValue("geometry", self.saveGeometry())
        self.store.sync()
        if self.store.status() != QSettings.Status.NoError:  # the window is going: the console is left to say it
            print(f"wlitepose: settings not kept: {self.store.fileName()} cannot be written", file=sys.stderr)
        self.export_panel.stop()
        if self.export_panel.record_button.isChecked():  # a long recording takes seconds to write out
            self.status.show("Saving the recording before closing…", 0)
            self.statusBar().repaint()
        self.handle.stop()
        self.frame_saver.wait()  # a still being written is finished, not cut off
        _OPEN_WINDOWS.discard(self)


def _group(title: str, widget: QWidget) -> QGroupBox:
    group = QGroupBox(title)
    layout = QHBoxLayout(group)
    layout.setContentsMargins(8, 6, 8, 8)
    layout.addWidget(widget)
    return group


def _display_name(spec: str) -> str:
    """A file or folder by its name, a stream by its address without a password."""
    return without_password(spec) if "://" in spec else Path(spec).name or spec


def _rec_mark(recording: bool, resumes_at: int | None = None) -> str:
    """The HUD's recording mark: where the file goes on from while it shows frames it holds already."""
    if resumes_at is not None:
        return f"● REC from frame {resumes_at + 1}  "
    return "● REC  " if recording else ""
