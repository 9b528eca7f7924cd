"""The processing worker: a QObject on its own QThread that reads frames, runs core's pipeline,
draws with core.draw and hands the newest annotated frame to the window.

It talks only through signals. Requests (open, play, seek, configure, record...) arrive as
queued slot calls; results leave through `frame_ready`, after which the window takes the
newest packet with `take_packet()`. At most one frame waits for the window: a newer one
replaces it (counted as dropped), so a slow paint never queues stale frames. Live sources
keep only their newest frame themselves (core.sources); gaps in their frame index count as
dropped too.
"""

from __future__ import annotations

import dataclasses
import os
import threading
import time
from functools import partial
from pathlib import Path

import cv2
import numpy as np
from PySide6.QtCore import QObject, QSize, Qt, QThread, QTimer, Signal, Slot
from PySide6.QtGui import QImage

from app.frame_packet import FramePacket, SourceInfo, to_qimage
from app.recording import Recording, release_claims
from core.draw import Overlay, Trails, draw_poses
from core.errors import WLitePoseError
from core.frame_loop import run_meta
from core.pipeline import PipelineConfig, PosePipeline
from core.poses import Poses
from core.session import PoseModel
from core.sinks import SinkOptions
from core.sinks.multi import written_names
from core.sources import IMAGE_FOLDER_FPS, Frame, FrameSource, clean_spec, open_source

LIVE_POLL_S = 0.05  # the longest the worker waits for a live frame before it runs queued requests again


def inference_threads() -> int:
    """ONNX Runtime threads for the live view: all cores but one, which stays with the GUI thread
    (on 2 cores, two inference threads starved painting into 100+ ms stalls; one keeps them under 60)."""
    return max(1, (os.cpu_count() or 2) - 1)


def user_message(error: Exception) -> str:
    """One sentence for a dialog: core's own errors already are; anything else gets its type."""
    if isinstance(error, WLitePoseError):
        return str(error)
    if isinstance(error, MemoryError):  # files already written keep their frames
        return "Out of memory: close other programs, or leave the PoseC3D pickle, held whole, out of long runs."
    return f"Unexpected {type(error).__name__}: {error}"


class PoseWorker(QObject):
    opened = Signal(object)  # SourceInfo
    rate_changed = Signal(object)  # SourceInfo: the open image folder now plays at another frame rate
    length_found = Signal(object)  # SourceInfo: a file whose frame count was a guess (an MKV) ended: its real one
    frame_ready = Signal()  # take the packet with take_packet()
    model_loaded = Signal(object, object)  # ModelInfo, path (Python text: see WorkerHandle)
    model_failed = Signal(object, str)  # path, why (one sentence); the model in use, if any, stays
    playing_changed = Signal(bool)
    recording_changed = Signal(bool, str)  # recording?, a line for the status bar
    error = Signal(str)
    notice = Signal(str)  # a passing note on the source (an image passed over while it plays): the status line

    def __init__(self) -> None:
        super().__init__()
        self._source: FrameSource | None = None
        self._info: SourceInfo | None = None
        self._frames = None
        self._model: PoseModel | None = None
        self._pipeline: PosePipeline | None = None
        self._config: PipelineConfig | None = None
        self._overlay = Overlay()
        self._trails: Trails | None = None
        self._view_size: tuple[int, int] | None = None  # the view's room for the picture, in device pixels
        self._shown_at: tuple[int, int] | None = None  # the size the last frame shown was drawn at (None: its own)
        self._recording: Recording | None = None
        self.saving = threading.Event()  # a recording's files are being written out (a long one takes seconds)
        self._playing = False
        self._speed = 1.0
        self._keep_pace = True
        self._image_fps = IMAGE_FOLDER_FPS  # the rate image folders play at
        self._retry_spec: str | None = None  # a live source that could not be reopened: Play tries again
        self._resumed = False  # a live source just resumed: the gap since the pause is not dropped frames
        self._resumed_at = 0.0  # time.perf_counter() when it did
        self._skipped = 0  # passed over since the last packet
        self._last_frame: Frame | None = None
        # the people a pipeline found on a frame (None: no model then), to draw that frame again
        self._found: tuple[Frame, PosePipeline | None, Poses | None] | None = None
        self._last_index = -1
        self._furthest = 0  # frames read, to the furthest shown or skipped: a seek past a file's end reads none
        self._dropped = 0
        self._next_due = 0.0
        self._pending_seek: int | None = None
        self._at_end = False
        self._end_frame: int | None = None  # the file's last frame that can be shown, once looked for
        self._told: set[str] = set()  # what end_notes said about this source (a file cut short, a skipped image)
        self._skips_told = 0  # the source's skipped files told so far
        self._lock = threading.Lock()
        self._packet: FramePacket | None = None
        self._timer: QTimer | None = None

    # ---- thread side -------------------------------------------------------------------
    @Slot()
    def start(self) -> None:
        """Called once the thread runs: timers must be created in the thread that uses them."""
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(self._tick)

    def take_packet(self) -> FramePacket | None:
        """Window side: the newest packet, or None if it was already taken."""
        with self._lock:
            packet, self._packet = self._packet, None
        return packet

    @Slot(object)
    def open(self, spec: str) -> None:
        """The new source opens before the old one closes: if it cannot, what was open stays open
        (only the live source being reopened, a webcam that cannot be opened twice, is closed first)."""
        spec = clean_spec(spec)
        reopening = self._info is not None and self._info.spec == spec and self._info.is_live
        if reopening:
            self._close_source()
        try:
            source = open_source(spec, self._image_fps)
        except Exception as error:  # noqa: BLE001 (shown to the user, the worker carries on)
            if reopening or spec == self._retry_spec:  # Play tries the lost stream again
                self._retry_spec = spec
            self.error.emit(user_message(error))
            return
        self._retry_spec = None
        self._close_source()
        with self._lock:
            self._packet = None  # the last source's frame, not yet shown, is not this one's
        self._source = source
        self._frames = iter(source)
        self._info = SourceInfo(
            spec, float(source.fps or 0.0), tuple(source.size), source.frame_count, source.is_live, source.image_folder
        )
        if self._pipeline is not None:
            self._pipeline.new_source(source.is_live)
        self._trails = Trails()
        self._dropped = self._skipped = 0
        self._last_index = -1
        self._furthest = 0
        self._at_end = False
        self._end_frame = None
        self._told = set()
        self._skips_told = 0  # the source's skipped files told so far
        self.opened.emit(self._info)
        self.set_playing(True)
        self._resumed, self._resumed_at = False, 0.0  # opened, not resumed: its first frame's wait counts

    @Slot(object, object)
    def load_model(self, path: str, config: PipelineConfig) -> None:
        try:
            model = PoseModel(path, threads=inference_threads())
            pipeline = PosePipeline(model, config)
            if self._info is not None:  # loaded over an open source, which may be live (a webcam)
                pipeline.new_source(self._info.is_live)
        except Exception as error:  # noqa: BLE001
            self.model_failed.emit(path, user_message(error))
            return
        self.stop_recording("Another model loaded")  # its IDs (and maybe keypoints) would not continue the file
        self._model, self._pipeline, self._config = model, pipeline, config
        self._trails = Trails()
        self.model_loaded.emit(model.info, path)
        self._refresh_if_paused()

    @Slot(object)
    def configure(self, config: PipelineConfig) -> None:
        """New settings. A recording notes them from the next frame it writes (after a step back, the frame
        after the last one it holds); switching tracking on or off ends it, since its people (the PoseC3D
        pickle's rows) are tracks or per-frame detections from start to end."""
        if self._recording is not None and (config.tracker is None) != (self._config.tracker is None):
            self.stop_recording("Tracking switched " + ("off" if config.tracker is None else "on"))
        self._config = config
        if self._pipeline is None:
            return
        try:
            self._pipeline.configure(config)
            if self._recording is not None:
                resumes_at = max(self._last_index, self._recording.upto) + 1
                self._recording.sinks.settings_changed(resumes_at, self._pipeline.settings())
        except Exception as error:  # noqa: BLE001
            self.error.emit(user_message(error))
            return
        self._refresh_if_paused("group")

    @Slot(object)
    def set_overlay(self, overlay: Overlay) -> None:
        self._overlay = overlay
        self._refresh_if_paused("draw")

    @Slot(object)
    def set_view_size(self, size: tuple[int, int] | None) -> None:
        """The view's size in device pixels: the frame on screen is drawn at the size it is shown there, so its lines
        and tags look the same whatever the source's size (files and stills keep the source's). A paused frame
        is drawn again at once where its size there changed (a window dragged wider than the picture needs not)."""
        self._view_size = size
        if self._last_frame is not None and self._shown_size(self._last_frame.image) != self._shown_at:
            self._refresh_if_paused("draw")

    @Slot(bool)
    def set_playing(self, playing: bool) -> None:
        """Play or pause, as the user asks: a file paused before its first frame shows that frame, not the last
        source's picture (unless a seek is on its way, which shows its own)."""
        was_playing = self._playing
        self._set_playing(playing)
        unshown = self._last_frame is None and self._source is not None and self._pending_seek is None
        if was_playing and not playing and unshown and not self._info.is_live:
            self._show_next()

    def _set_playing(self, playing: bool) -> None:
        if playing and self._source is None and self._retry_spec is not None:  # a reconnection that failed
            self.open(self._retry_spec)
            if self._source is None:  # still gone: Play again tries again
                self.playing_changed.emit(False)
            return
        playing = playing and self._source is not None
        if playing and not self._playing and self._info.is_live:
            self._resumed = True  # the frames the stream sent during the pause were not dropped by us
            self._resumed_at = time.perf_counter()
        self._playing = playing
        self.playing_changed.emit(playing)
        if playing and self._at_end and self._info.is_live:  # a stream or camera that stopped: reconnect
            self.open(self._info.spec)
        elif playing and self._at_end:  # play at the end starts over, as video players do
            self.seek(0)
        elif playing:
            self._next_due = time.perf_counter()
            self._schedule(0)

    @Slot(float)
    def set_speed(self, speed: float) -> None:
        self._speed = speed
        self._next_due = time.perf_counter()  # the clock starts over: time at another speed is not lateness

    @Slot(bool)
    def set_keep_pace(self, keep: bool) -> None:
        self._keep_pace = keep

    @Slot(float)
    def set_image_fps(self, fps: float) -> None:
        """The rate image folders play at (their timestamps, the tracker's timing). An open folder changes
        rate where it stands: its tracks start over as after a seek, and a recording ends, since its
        file's timestamps and frame rate are the old ones."""
        self._image_fps = fps
        if self._info is None or not self._info.images or fps == self._info.fps:
            return
        self.stop_recording(f"{Path(self._info.spec).name} plays at {fps:g} fps now")
        self._source.fps = fps
        self._info = dataclasses.replace(self._info, fps=fps)
        if self._last_frame is not None:  # the paused frame, at its time in the new rate
            old = self._last_frame
            self._last_frame = dataclasses.replace(old, timestamp_s=old.index / fps)
        self._restart_tracks()
        # tracked afresh now, by the new tracks: a recording started on it begins as a run at the new rate would
        self._refresh_if_paused("run")
        self.rate_changed.emit(self._info)

    def _restart_tracks(self) -> None:
        """A jump or a new frame rate breaks motion: tracks and trails start over, pacing too. IDs start at 1
        again, as `track` numbers a run, unless a recording has written some: those are never given again."""
        if self._pipeline is not None:
            self._pipeline.reset(restart_ids=self._recording is None or self._recording.frames == 0)
        self._trails = Trails()
        self._next_due = time.perf_counter()

    @Slot(int)
    def step(self, delta: int) -> None:
        if self._info is None or self._info.is_live:
            return
        self._set_playing(False)  # a step right after opening goes from before the first frame, not after it
        if delta == 1:
            self._show_next()
        else:  # to a frame that can be shown (not past the end; an unreadable image would only lead forward again)
            self.seek(self._source.frame_at_or_before(max(0, self._last_index + delta)))

    @Slot(int)
    def seek(self, index: int) -> None:
        """Files only. Rapid seeks (a dragged slider) collapse into the last one."""
        if self._info is None or self._info.is_live:
            return
        first = self._pending_seek is None
        self._pending_seek = index
        if first:
            QTimer.singleShot(0, self, self._do_seek)

    @Slot(object)
    def start_recording(self, options: SinkOptions) -> None:
        """A new recording from the frame on screen when a file or folder is paused (seek to a frame, record,
        play: that frame is the first one written), else from the next frame."""
        self.stop_recording()
        if self._source is None or self._model is None:
            self._refuse_recording("Open a source and a model before recording.", options)
            return
        if not written_names(options):
            self._refuse_recording("Tick at least one export format to record.")
            return
        try:
            tracked = self._config.tracker is not None
            self._recording = Recording(options, self._model, self._source_meta(), tracked)
        except Exception as error:  # noqa: BLE001
            self._refuse_recording(user_message(error), options)
            return
        self.recording_changed.emit(True, f"Recording to {self._recording.names}")
        if (paused := self._paused_people()) is not None:
            frame, poses = paused
            try:
                self._recording.write(frame, poses, self._drawn(frame.image, poses, False))
            except Exception as error:  # noqa: BLE001
                self._end_recording_for(error)

    def _end_recording_for(self, error: Exception) -> None:
        """Say ``error``, with what the recording it ends kept and where (the error takes its status line's place)."""
        saved = self.stop_recording()
        self.error.emit(user_message(error) + (f"\n{saved}." if saved else ""))

    def _paused_people(self) -> tuple[Frame, Poses] | None:
        """The paused frame of a file or folder with the people found on it, which a new recording starts
        with; None while playing, for a live source (its paused frame may be minutes old) and at a file's
        last frame that can be shown (Play starts the file over)."""
        if self._playing or self._info.is_live or self._at_end or self._found is None:
            return None
        frame, pipeline, poses = self._found
        if frame is not self._last_frame or pipeline is not self._pipeline or poses is None:
            return None
        count = self._info.frame_count  # None: a file whose length is unknown has no known last frame
        return None if count and frame.index >= self._last_showable() else (frame, poses)

    @Slot()
    def stop_recording(self, reason: str = "") -> str:
        """End the recording; ``reason`` (a change that ends it) leads the status line, which is returned ("" when
        nothing was recorded)."""
        if self._recording is None:
            return ""
        recording, self._recording = self._recording, None
        self.saving.set()
        try:
            text = recording.close()
        except Exception as error:  # noqa: BLE001
            self.recording_changed.emit(False, "Recording stopped; saving it failed")
            self.error.emit(user_message(error))
            return ""
        finally:
            self.saving.clear()
        line = f"{reason}: {text[0].lower()}{text[1:]}" if reason else text
        self.recording_changed.emit(False, line)
        return line

    @Slot()
    def shutdown(self) -> None:
        """The end, in the worker's thread: the source and any recording closed, the frame the window has not
        taken dropped (a close shows nothing more), the timer stopped and deleted in this thread, its own; then
        the thread quits. The worker stays in it: it is never moved back to the GUI thread, since a move from
        here held Python's lock while Qt's moveToThread waited on a lock that the GUI thread can hold while it
        waits on Python's (an export's end hung so). Python frees it once the thread has ended."""
        self._close_source()
        self._model = self._pipeline = None
        with self._lock:
            self._packet = None
        if self._timer is not None:
            timer, self._timer = self._timer, None
            timer.stop()
            timer.deleteLater()  # the worker's child, not Python's: deleted here, at the latest as the thread ends
        QThread.currentThread().quit()

    # ---- internals -----------------------------------------------------------------------
    def _refuse_recording(self, text: str, options: SinkOptions | None = None) -> None:
        """The Record button was pressed but nothing records: say why and let the button up, releasing the names
        the window claimed for the take."""
        if options is not None:
            release_claims(options)
        self.recording_changed.emit(False, text)
        self.error.emit(text)

    def _source_meta(self) -> dict:
        return run_meta(self._source, self._info.spec, self._pipeline)

    def _close_source(self) -> None:
        self.stop_recording("Source closed")
        if self._timer is not None:
            self._timer.stop()
        if self._source is not None:
            source, self._source = self._source, None
            self._frames = None
            self._info = None
            self._last_frame = None
            source.close()
        if self._playing:
            self._playing = False
            self.playing_changed.emit(False)

    def _schedule(self, delay_ms: int) -> None:
        if self._timer is not None and self._playing:
            self._timer.start(max(0, delay_ms))

    def _tick(self) -> None:
        if not self._playing or self._source is None:
            return
        if self._info.is_live and not self._source.ready(LIVE_POLL_S):  # a stalled stream: requests go on
            self._schedule(0)
            return
        paced = not self._info.is_live and self._speed > 0 and self._info.fps > 0
        interval = 1.0 / (self._info.fps * self._speed) if paced else 0.0
        if paced and self._keep_pace and self._recording is None:
            self._skip_late_frames(interval)
        if not self._show_next():
            return
        if not paced:
            self._schedule(0)
            return
        self._next_due = max(self._next_due + interval, time.perf_counter() - 0.5)
        self._schedule(int((self._next_due - time.perf_counter()) * 1000))

    def _skip_late_frames(self, interval: float) -> None:
        """Keep pace with the clock: frames whose turn has passed are skipped rather than shown late
        (never while recording, which keeps every frame). The last frame that can be shown is always shown."""
        late = int((time.perf_counter() - self._next_due) / interval)
        if late > 0 and self._info.frame_count:
            late = min(late, self._last_showable() - self._last_index - 1)
        if late > 0:
            skipped = self._source.skip(late)  # files only, and skipping reads no image: it does not raise
            self._next_due += skipped * interval
            self._skipped += skipped
            self._furthest = max(self._furthest, self._last_index + 1 + self._skipped)
            self._dropped += skipped

    def _last_showable(self) -> int:
        """The index of the file's last frame that can be shown: a folder's last images may be unreadable or too
        small (skipping late frames up to them showed none of the frames before them). Looked for once."""
        if self._end_frame is None:
            self._end_frame = self._source.frame_at_or_before(self._info.frame_count - 1)
        return self._end_frame

    def _show_next(self) -> bool:
        started = time.perf_counter()
        try:
            frame = next(self._frames)
        except StopIteration:
            self._at_end = True
            self.set_playing(False)
            read = self._furthest  # not a seek's target: 500 of 3 frames whose header counts 10^9 "ended after 500"
            self._tell(self._source.end_notes(read, self._info.frame_count, outputs=self._recording is not None))
            if self._source.count_estimated and read != self._info.frame_count:
                self._info = dataclasses.replace(self._info, frame_count=read)
                self._end_frame = None
                self.length_found.emit(self._info)
            if self._source.end_reason:  # a live source that stopped by itself
                self.error.emit(f"{self._source.end_reason}. Press Play to reconnect.")
            return False
        except Exception as error:  # noqa: BLE001
            self.set_playing(False)
            self.error.emit(user_message(error))
            return False
        if frame.captured_at is not None:  # live: latency counts from when the frame came, not from the wait for it
            started = max(frame.captured_at, self._resumed_at)  # nor from before a pause
        capture_ms = (time.perf_counter() - started) * 1000.0
        skips = self._source.skipped_notes(self._skips_told)  # a folder's images passed over since the last frame
        self._skips_told += len(skips)
        self._tell(skips, passing=True)
        if self._info.is_live and self._last_index >= 0 and frame.index > self._last_index + 1 and not self._resumed:
            self._dropped += frame.index - self._last_index - 1
        self._resumed = False
        self._last_index = frame.index
        self._furthest = max(self._furthest, frame.index + 1)
        self._last_frame = frame
        return self._process(frame, started, capture_ms, fresh=True)

    def _tell(self, notes: list[str], passing: bool = False) -> None:
        """Each note about the source once, as a sentence; those of one moment together (an end's notes came one
        box after another, each replacing the last), a ``passing`` one (an image passed over as a folder plays)
        in the status line rather than a box that holds the window at every such image."""
        new = [note[0].upper() + note[1:] + "." for note in dict.fromkeys(notes) if note not in self._told]
        self._told.update(notes)
        if passing:
            for note in new:
                self.notice.emit(note)
        elif new:
            self.error.emit("\n".join(new))

    def _do_seek(self) -> None:
        index, self._pending_seek = self._pending_seek, None
        if index is None or self._source is None:
            return
        if self._info.images and index >= self._info.frame_count - 1:
            # a folder's end (the End key, the bar dragged to it): the last image that can be shown, where its last
            # is one passed over (too small, unreadable) and nothing was shown; a video's count may be a guess.
            # Looked for once: the End key again does not read the images passed over again (a thousand thumbnails)
            index = self._last_showable()
        try:
            self._source.seek(index)
        except Exception as error:  # noqa: BLE001
            self.error.emit(user_message(error))
            return
        self._frames = iter(self._source)
        self._at_end = False
        self._last_index, self._skipped = index - 1, 0  # the next frame read is `index`
        self._restart_tracks()
        if self._playing:
            self._schedule(0)
        else:
            self._show_next()

    def _refresh_if_paused(self, again: str = "run") -> None:
        """Show a live change on the paused frame at once, redoing no more than it needs: "draw" draws the
        people already found (an overlay change), "group" groups the network's outputs again (thresholds,
        smoothing: no inference, so a dragged slider follows the mouse), "run" runs the network (a model)."""
        if not self._playing and self._last_frame is not None:
            self._process(self._last_frame, time.perf_counter(), 0.0, fresh=False, again=again)

    def _process(self, frame: Frame, started: float, capture_ms: float, fresh: bool, again: str = "run") -> bool:
        """Find the people, draw, record and hand the frame to the GUI. A ``fresh`` frame is one not shown
        before: only it extends the trails and goes into a recording; ``again`` is how a frame shown
        before is refreshed (``_refresh_if_paused``)."""
        timings = {"capture": capture_ms}
        found, self._found = self._found, None
        redraw = (
            again == "draw" and not fresh and found is not None and found[0] is frame and found[1] is self._pipeline
        )
        poses = found[2] if redraw else None
        new_shot = at_cap = False  # a fresh frame's tracks started over at a cut; it gave max_people people
        try:
            if not redraw and self._pipeline is not None:
                # IDs written to a recording with this frame stay spent when it is tracked again
                reuse = not (self._recording is not None and frame.index <= self._recording.upto)
                # a frame in the recording already is tracked again for the screen only: the tracks then go on
                # from it as it was written, so the rows after it are those of a run whose settings changed there
                written = None if reuse or fresh else self._pipeline.track_state()
                result = self._pipeline.redecode(reuse) if again == "group" and not fresh else None
                result = result or self._pipeline.process(
                    frame.image, frame.timestamp_s, again=not fresh, reuse_ids=reuse
                )
                self._pipeline.set_track_state(written)
                poses, new_shot, at_cap = result.poses, result.new_shot, result.at_people_cap
                timings.update(result.timings_ms)
                if fresh:
                    if new_shot:  # the last shot's people are not in this one: their trails end at the cut
                        self._trails = Trails()
                    self._trails.update(poses)
            self._found = (frame, self._pipeline, poses)
            render_start = time.perf_counter()
            size = self._shown_at = self._shown_size(frame.image)
            shown = self._drawn(frame.image, poses, self._overlay.mirror, size)
            take = self._recording if fresh else None  # a new frame while recording: written, or already held
            recording = take is not None and poses is not None and frame.index > take.upto
            held = take is not None and frame.index <= take.upto
            kept = shown
            if recording and (size is not None or self._overlay.mirror):
                # a recording keeps the source's size and the camera's own left and right, whatever the view
                # shows: drawn again for an annotated video, the frame as analysed for the others' sizes
                kept = self._drawn(frame.image, poses, mirror=False) if take.sinks.writes_video else frame.image
            qimage = to_qimage(shown)
            timings["render"] = (time.perf_counter() - render_start) * 1000.0
            still = partial(QImage, qimage)  # a shared copy: the picture shown is the still
            if size is not None:  # a saved still is drawn at the source's size when asked for: the trails as now
                trails = self._trails.copy() if self._overlay.trails and poses is not None else None
                skeleton = self._model.info.skeleton if poses is not None else None
                still = partial(drawn_still, frame.image, poses, skeleton, self._overlay, trails)
            if recording:
                write_start = time.perf_counter()
                take.write(frame, poses, kept, new_shot, at_cap)
                timings["write"] = (time.perf_counter() - write_start) * 1000.0
        except Exception as error:  # noqa: BLE001
            self.set_playing(False)
            self._end_recording_for(error)
            return False
        packet = FramePacket(
            image=qimage,
            still=still,
            index=frame.index,
            time_s=frame.timestamp_s,
            frame_count=self._info.frame_count,
            poses=poses,
            timings_ms=timings,
            dropped=self._dropped,
            started_at=started,
            recording=self._recording is not None,
            skipped=self._skipped,
            recording_resumes_at=take.upto + 1 if held else None,
        )
        self._skipped = 0
        with self._lock:
            waiting = self._packet is not None
            if waiting:
                self._dropped += 1
            self._packet = packet
        if not waiting:
            self.frame_ready.emit()
        return True

    def _shown_size(self, image: np.ndarray) -> tuple[int, int] | None:
        """The size (w, h) in device pixels ``image`` is shown at in the view, as VideoView fits it there; None where
        that is its own or the view's is not known yet."""
        if self._view_size is None:
            return None
        h, w = image.shape[:2]
        fit = QSize(w, h).scaled(QSize(*self._view_size), Qt.AspectRatioMode.KeepAspectRatio)
        return None if fit.isEmpty() or fit == QSize(w, h) else (fit.width(), fit.height())

    def _drawn(
        self, image: np.ndarray, poses: Poses | None, mirror: bool, size: tuple[int, int] | None = None
    ) -> np.ndarray:
        skeleton = self._model.info.skeleton if poses is not None else None
        return drawn(image, poses, skeleton, self._overlay, self._trails, mirror, size)


def drawn(image, poses, skeleton, overlay: Overlay, trails, mirror: bool, size=None) -> np.ndarray:
    """A copy of ``image``, resized to ``size`` (w, h) if given, with ``poses`` drawn as ``overlay`` asks (the bare
    frame without a model)."""
    h, w = image.shape[:2]
    picture = image.copy() if size is None else resized(image, size)
    if poses is None:
        return np.ascontiguousarray(picture[:, ::-1]) if mirror else picture
    return draw_poses(
        picture,
        poses,
        skeleton,
        boxes=overlay.boxes,
        scores=overlay.scores,
        trails=trails if overlay.trails else None,
        mirror=mirror,
        zoom=(1.0, 1.0) if size is None else (size[0] / w, size[1] / h),
    )


def resized(image: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """``image`` at ``size`` (w, h): averaged down by the whole factor it holds (INTER_AREA's fast case), then
    interpolated the rest of the way, under 2x, where every pixel still counts (4K into an 817x460 view took 27 ms
    by INTER_AREA in one go, 12 so, which looks the same: 0.6 grey levels apart on average)."""
    h, w = image.shape[:2]
    whole = min(w // size[0], h // size[1])
    if whole > 1:
        image = cv2.resize(image, (w // whole, h // whole), interpolation=cv2.INTER_AREA)
    return cv2.resize(image, size, interpolation=cv2.INTER_LINEAR)


def drawn_still(image, poses, skeleton, overlay: Overlay, trails) -> QImage:
    """The frame at the source's size drawn as the view showed it (a saved still): on the saver's thread."""
    return to_qimage(drawn(image, poses, skeleton, overlay, trails, overlay.mirror))
