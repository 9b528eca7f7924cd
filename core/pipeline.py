"""One frame through the engine: letterbox -> ONNX model -> decode/group -> (track), with per-stage timings."""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass, field

import numpy as np

from core.decode import DecodeConfig, decode, limb_links
from core.errors import WLitePoseError
from core.poses import Poses
from core.preprocess import Letterbox, letterbox
from core.session import PoseModel
from core.shot_changes import ShotChanges
from core.tracker import PoseTracker, TrackerConfig

STAGES = ("preprocess", "inference", "grouping", "tracking")


@dataclass(frozen=True)
class PipelineConfig:
    input_size: int | None = None  # longest side fed to the network; None = the model's training size
    decode: DecodeConfig = field(default_factory=DecodeConfig)
    tracker: TrackerConfig | None = field(default_factory=TrackerConfig)  # None = detection only


def check_fractions(values: dict[str, float | None]) -> None:
    """Thresholds and smoothing are fractions: each value given (keyed by the name the user typed) in 0-1."""
    for name, value in values.items():
        if value is not None and not 0.0 <= value <= 1.0:
            raise WLitePoseError(f"{name} must be between 0 and 1")


def tuned_config(
    input_size: int | None = None,
    detection_threshold: float | None = None,
    keypoint_threshold: float | None = None,
    smoothing: float | None = None,
    tracking: bool = True,
    shot_changes: bool = True,
) -> PipelineConfig:
    """Core's defaults with the knobs users turn (CLI options, GUI controls) replaced where given."""
    thresholds = {"detection_threshold": detection_threshold, "keypoint_threshold": keypoint_threshold}
    decode = dataclasses.replace(DecodeConfig(), **{k: v for k, v in thresholds.items() if v is not None})
    tracker = None
    if tracking:
        tracker = TrackerConfig(shot_changes=shot_changes)
        if smoothing is not None:
            tracker = dataclasses.replace(tracker, smoothing=smoothing)
    return PipelineConfig(input_size=input_size, decode=decode, tracker=tracker)


def run_settings(config: PipelineConfig, model_input_size: int) -> dict:
    """The settings a run of ``config`` on a model trained at ``model_input_size`` records in its sidecar: input
    size, decoding thresholds, tracker settings."""
    tracker = config.tracker
    return {
        "input_size": config.input_size or model_input_size,
        "decode": dataclasses.asdict(config.decode),
        "tracker": dataclasses.asdict(tracker) if tracker is not None else None,
    }


@dataclass
class FrameResult:
    poses: Poses  # in original image pixels
    timings_ms: dict[str, float]  # STAGES -> milliseconds
    new_shot: bool = False  # the frame starts a new shot (a cut): its tracks started over
    # decoding gave DecodeConfig.max_people people: any more in the frame, the weakest, are in no output
    at_people_cap: bool = False


class PosePipeline:
    def __init__(self, model: PoseModel, config: PipelineConfig) -> None:
        self.model = model
        self._links = limb_links(model.info.keypoint_names, model.info.skeleton)
        self.config = config
        self.tracker = self._new_tracker(self.config.tracker)
        self._last: tuple | None = None  # the last frame's (heatmaps, tags, letterbox, input size, timestamp)
        self._tracks_before: dict | None = None  # the tracker as it was before the last frame
        self._next_id = 1  # the ID counter while tracking is off, for when it comes back on
        self._shots = ShotChanges()
        self._live = False  # the source is a webcam or a stream, in which no shot change is looked for

    @property
    def input_size(self) -> int:
        return self.config.input_size or self.model.info.input_size

    def _new_tracker(self, config: TrackerConfig | None) -> PoseTracker | None:
        return None if config is None else PoseTracker(config, self.model.info.sigmas)

    def configure(self, config: PipelineConfig) -> None:
        """Change settings live; tracks survive unless tracking is switched on or off."""
        if (config.tracker is None) != (self.tracker is None):
            if self.tracker is not None:
                self._next_id = self.tracker.next_id  # tracking off and on again gives no ID twice
            self.tracker = self._new_tracker(config.tracker)
            if self.tracker is not None:
                self.tracker.next_id = self._next_id
            # a new tracker has seen nothing: the last frame, tracked again, is its first
            self._tracks_before = self.tracker.snapshot() if self.tracker is not None else None
        elif self.tracker is not None:
            self.tracker.config = config.tracker
        self.config = config

    def settings(self) -> dict:
        """What the outputs' sidecars record: input size, decoding thresholds, tracker settings (``shot_changes``
        off for a live source)."""
        config, tracker = self.config, self.config.tracker
        if self._live and tracker is not None:
            config = dataclasses.replace(config, tracker=dataclasses.replace(tracker, shot_changes=False))
        return run_settings(config, self.model.info.input_size)

    def new_source(self, live: bool) -> None:
        """Tracks start over, with IDs from 1, for a new source. In a live one (a webcam, a stream) no shot change
        is looked for: a camera has no edits, and a frame taken after several passed over (a network slower than the
        camera), or someone stepping up to it, differs from the last as a cut does."""
        self.reset()
        self._live = live

    def reset(self, restart_ids: bool = True) -> None:
        """Forget tracks: after a new source (IDs start again at 1) or a seek (``restart_ids`` off: new
        people get new numbers)."""
        if self.tracker is not None:
            self.tracker.reset(restart_ids)
        if restart_ids:
            self._next_id = 1
        self._last = self._tracks_before = None
        self._shots.reset()

    def process(
        self, image_bgr: np.ndarray, timestamp_s: float, again: bool = False, reuse_ids: bool = True
    ) -> FrameResult:
        """One frame; ``again``: the last frame once more with other settings (a new input size), tracked as
        if for the first time (``reuse_ids`` off: the IDs it gave stay spent, see PoseTracker.restore)."""
        info = self.model.info
        t0 = time.perf_counter()  # the shot-change check (a thumbnail of the frame) counts as preprocessing
        new_shot = False
        if again and self._tracks_before is not None:
            self._rewind_tracks(reuse_ids)
        else:  # a new frame, or one this pipeline has not tracked yet (a model loaded over a paused frame)
            new_shot = self._start_shot_if_cut(image_bgr, timestamp_s)
            self._tracks_before = self.tracker.snapshot() if self.tracker is not None else None
        self._last = None  # until this frame's outputs are in: a failed frame leaves no outputs to re-group
        blob, box = letterbox(image_bgr, self.input_size, info.mean, info.std)
        t1 = time.perf_counter()
        heatmaps, tags = self.model.run(blob)
        t2 = time.perf_counter()
        self._last = (heatmaps, tags, box, self.input_size, timestamp_s)
        result = self._group(heatmaps, tags, box, timestamp_s)
        result.timings_ms = {"preprocess": (t1 - t0) * 1000.0, "inference": (t2 - t1) * 1000.0, **result.timings_ms}
        result.new_shot = new_shot
        return result

    def _start_shot_if_cut(self, image_bgr: np.ndarray, timestamp_s: float) -> bool:
        """Whether the new frame ``image_bgr``, at ``timestamp_s``, starts a new shot (where tracking looks for them,
        in a source that is not live): then the tracks start over, with IDs not given before (those of the shot before
        are in the outputs already); the tracker's snapshot, taken after, makes a frame tracked again the new shot's
        first too."""
        tracker = self.tracker
        looking = tracker is not None and tracker.config.shot_changes and not self._live
        if not looking:
            # the next frame looked at (tracking switched back on) is compared with none: the last one looked at may
            # be hundreds of frames back, and differ from it as a cut does
            self._shots.reset()
            return False
        if not self._shots.is_new_shot(image_bgr, timestamp_s):
            return False
        tracker.reset(restart_ids=False)
        return True

    def redecode(self, reuse_ids: bool = True) -> FrameResult | None:
        """The last frame's network outputs grouped and tracked again with the current settings, without
        running the network (its timings have no preprocess or inference), as if the frame came for the
        first time: the tracker goes back to where it stood before it (``reuse_ids``: as in ``process``).
        None if there is no last frame or the input size has changed since."""
        if self._last is None or self._last[3] != self.input_size:
            return None
        self._rewind_tracks(reuse_ids)
        heatmaps, tags, box, _, timestamp_s = self._last
        return self._group(heatmaps, tags, box, timestamp_s)

    def track_state(self) -> dict | None:
        """The tracker's tracks, a copy for ``set_track_state`` (None without tracking)."""
        return None if self.tracker is None else self.tracker.state()

    def set_track_state(self, state: dict | None) -> None:
        if self.tracker is not None and state is not None:
            self.tracker.set_state(state)

    def _rewind_tracks(self, reuse_ids: bool) -> None:
        """The tracker back to where it stood before the last frame, so that frame can be tracked again."""
        if self.tracker is not None and self._tracks_before is not None:
            self.tracker.restore(self._tracks_before, reuse_ids)

    def _group(self, heatmaps: np.ndarray, tags: np.ndarray, box: Letterbox, timestamp_s: float) -> FrameResult:
        info = self.model.info
        t0 = time.perf_counter()
        poses = decode(heatmaps, tags, self.config.decode, info.heatmap_stride, info.tag_stride, self._links)
        at_cap = len(poses) >= self.config.decode.max_people
        poses = poses.scaled(box.to_image).inside(box.image_size)
        t1 = time.perf_counter()
        if self.tracker is not None:
            poses = self.tracker.update(poses, timestamp_s).inside(box.image_size)
        t2 = time.perf_counter()
        timings = {"grouping": (t1 - t0) * 1000.0, "tracking": (t2 - t1) * 1000.0}
        return FrameResult(poses, timings, at_people_cap=at_cap)
