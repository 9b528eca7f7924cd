"""The Python API: poses from images, videos, image folders, webcams and streams in a few lines.

    from core.estimator import PoseEstimator

    estimator = PoseEstimator()  # the bundled model; PoseEstimator("my_model.onnx") for another
    for frame, poses in estimator.track("clip.mp4"):
        print(frame.index, poses.track_ids, poses.xy[:, estimator.keypoint_names.index("left_wrist")])

Images are OpenCV's BGR uint8 arrays (a grey image or one with an alpha channel is taken too; an RGB
array, as PIL gives, needs cv2.cvtColor(image, cv2.COLOR_RGB2BGR) first). Poses hold numpy arrays in
image pixels: ``xy`` (N, K, 2) with NaN for a joint not found, ``keypoint_scores`` (N, K), ``scores``
(N,) and ``track_ids`` (N,), -1 for a person not tracked or not yet confirmed. Bad input raises
``WLitePoseError`` with a one-sentence message.

Threads and processes: ``estimate`` and ``track`` may run in several threads at once on one estimator (each
``track`` call has tracks of its own); ``track_frame`` and ``reset`` keep one sequence of tracks, so a
second thread calling them meanwhile gets a ``WLitePoseError`` (give each thread its own estimator). An
estimator pickles as its model file and settings, without tracks, so it can be handed to a process pool
(``threads=1`` there: one inference thread a process keeps the cores from being shared out twice).
"""

from __future__ import annotations

import contextlib
import numbers
import os
import threading
import warnings
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np

from core.assets import DEFAULT_MODEL, SAMPLE_CLIP
from core.draw import draw_poses
from core.errors import WLitePoseError
from core.pipeline import PipelineConfig, PosePipeline, check_fractions, tuned_config
from core.poses import Poses
from core.preprocess import check_input_size
from core.session import PoseModel, check_threads
from core.sources import IMAGE_FOLDER_FPS, Frame, check_image_fps, frames_due, open_source, without_password

__all__ = ["PoseEstimator", "SAMPLE_CLIP", "as_bgr"]  # SAMPLE_CLIP: the bundled clip, wherever it is installed

UNIT_WARNING_STEP_S = 10.0  # track_frame's first frames this far apart are taken for milliseconds, and said so
MAX_DRAWN_PX = 1e5  # joints further out than this are not drawn (OpenCV's integer coordinates overflow)


class PoseEstimator:
    """A model with its decoding and tracking settings (None: the defaults `wlitepose track` uses).

    ``estimate`` finds the people in one image; ``track`` runs a whole source with stable IDs and
    smoothed joints, each call with tracks of its own; ``track_frame`` tracks the frames your own loop
    reads (``reset`` before a new source). Both start new tracks, with new IDs, at a shot change (a cut in an
    edited video), as `wlitepose track` does (``track`` looks for none in a webcam or stream); ``shot_changes=False``
    carries them across (footage with flashes or strobes, a camera's frames read by your own loop)."""

    def __init__(
        self,
        model: str | Path | None = None,
        *,
        input_size: int | None = None,
        detection_threshold: float | None = None,
        keypoint_threshold: float | None = None,
        smoothing: float | None = None,
        shot_changes: bool = True,
        threads: int | None = None,
    ) -> None:
        check_input_size(_number(input_size, "input_size", whole=True), "input_size")
        check_threads(_number(threads, "threads", whole=True))
        thresholds = {"detection_threshold": detection_threshold, "keypoint_threshold": keypoint_threshold}
        check_fractions({name: _number(value, name) for name, value in {**thresholds, "smoothing": smoothing}.items()})
        if not isinstance(shot_changes, (bool, np.bool_)):  # numpy's too, as the numbers take numpy's
            raise WLitePoseError(f"shot_changes must be True or False, not {shot_changes!r}")
        shot_changes = bool(shot_changes)  # numpy's as Python's: the settings say True or False
        self.model = PoseModel(_model_path(model), threads)
        self._model_file = os.path.abspath(self.model.path)  # for a copy made after a change of folder
        self._settings = {
            "input_size": input_size,
            **thresholds,
            "smoothing": smoothing,
            "shot_changes": shot_changes,
            "threads": threads,
        }
        self._tracking = threading.Lock()  # held by the thread running track_frame or reset
        self._last_time, self._steps = float("nan"), 0  # track_frame's clock, checked for milliseconds
        self._config: PipelineConfig = tuned_config(
            input_size, **thresholds, smoothing=smoothing, shot_changes=shot_changes
        )
        self._detector = PosePipeline(self.model, replace(self._config, tracker=None))
        self._tracker = PosePipeline(self.model, self._config)

    @property
    def keypoint_names(self) -> list[str]:
        """The names of the K joints, in the order of ``Poses.xy``'s second axis."""
        return list(self.model.info.keypoint_names)

    @property
    def skeleton(self) -> list[tuple[int, int]]:
        """The limbs as pairs of joint indices."""
        return [tuple(link) for link in self.model.info.skeleton]

    def estimate(self, image: np.ndarray) -> Poses:
        """The people in one image, untracked (every ``track_ids`` -1) and unsmoothed."""
        return self._detector.process(as_bgr(image), 0.0).poses

    def track_frame(self, image: np.ndarray, timestamp_s: float | None = None) -> Poses:
        """The people in the next frame of your sequence, with IDs and smoothed joints (a person's first
        frame has ID -1: a track is confirmed on its second). ``timestamp_s`` is the frame's time in
        seconds, which sets how far people may move and how long one may be lost (1 s) before the ID is
        let go; None, or a time not after the latest, counts as one frame on at the rate your clock last
        moved on (30 fps before it has), and a time more than 1 s before the latest starts new tracks (with
        new IDs), as a jump back in a video does; so does a frame that starts a new shot (unless made with
        ``shot_changes=False``)."""
        timestamp = float("nan") if timestamp_s is None else _float(_number(timestamp_s, "timestamp_s"), "timestamp_s")
        with self._one_thread("track_frame"):
            self._check_unit(timestamp)
            before = self._tracker.track_state()
            try:
                return self._tracker.process(as_bgr(image), timestamp).poses
            except BaseException:  # Ctrl-C in a notebook: tracks half updated broke every later frame
                self._tracker.set_track_state(before)  # as if the frame had not come
                raise

    def _check_unit(self, timestamp: float) -> None:
        """Warn once when frames come 10 s and more apart from the start: most likely milliseconds (OpenCV's
        CAP_PROP_POS_MSEC), which make every frame a long gap and give people new IDs on any missed frame; a true
        time-lapse is told what such gaps do to its IDs."""
        last, self._last_time = self._last_time, timestamp
        if self._steps is None or last != last:  # checked already, or no time before this one
            return
        if not timestamp - last >= UNIT_WARNING_STEP_S:  # a step of a real clock (or none: NaN)
            self._steps = None
            return
        self._steps += 1
        if self._steps == 3:  # three in a row, from the first frames on
            self._steps = None
            warnings.warn(
                f"track_frame got frames {timestamp - last:g} s apart: timestamp_s is in seconds (divide "
                "milliseconds, such as OpenCV's CAP_PROP_POS_MSEC, by 1000); a time-lapse this slow keeps IDs only "
                "for people found in consecutive frames",
                stacklevel=3,
            )

    def reset(self) -> None:
        """Forget the tracks of ``track_frame``: the next frame starts a new scene, with IDs from 1 again (and
        its first frames' times are checked for milliseconds, as a new estimator's are)."""
        with self._one_thread("reset"):
            self._tracker.reset()
            self._last_time, self._steps = float("nan"), 0

    @contextlib.contextmanager
    def _one_thread(self, call: str) -> Iterator[None]:
        """The tracks of ``track_frame`` are one sequence: a second thread is refused, not interleaved."""
        if not self._tracking.acquire(blocking=False):
            raise WLitePoseError(
                f"{call} was called while another thread was tracking with this estimator; "
                "give each thread its own PoseEstimator"
            )
        try:
            yield
        finally:
            self._tracking.release()

    def __reduce__(self):
        """Pickled as its model file (its full path: a worker or a later `os.chdir` finds it too), the file's
        hash and the settings (an ONNX Runtime session does not pickle): a process pool's workers each load
        their own; the copy starts with no tracks, and is refused if the file has changed since."""
        return _rebuilt, (self._model_file, self._settings, self.model.info.sha256)

    def track(
        self, source: str | Path | int, *, max_frames: int | None = None, fps: float | None = None
    ) -> Iterator[tuple[Frame, Poses]]:
        """Each frame of a video file, image folder or image, webcam index or stream URL with its tracked
        poses, on tracks of its own (IDs from 1). An image folder plays at ``fps`` (default 30; videos,
        webcams and streams have their own rate) and its frames carry their file as ``frame.path``; an
        image that cannot be read is passed over with a warning. A webcam or stream runs until
        ``max_frames`` or until the loop stops. The source closes when the loop ends; a loop left early
        closes it at once when it holds no reference to the iterator (else call its ``close()``)."""
        if not isinstance(source, (str, os.PathLike, numbers.Integral)) or isinstance(source, bool):
            what = type(source).__name__
            article = "an" if what[0].lower() in "aeiou" else "a"
            raise WLitePoseError(f"the source must be a path, a webcam index or a stream URL, not {article} {what}")
        source = int(source) if isinstance(source, numbers.Integral) else str(source)  # an int is a webcam
        if _number(max_frames, "max_frames", whole=True) is not None and max_frames < 1:
            raise WLitePoseError(f"max_frames must be at least 1, not {max_frames}")
        if fps is not None:
            check_image_fps(_number(fps, "fps"), [] if isinstance(source, int) else [source], "fps")
        return self._track(source, max_frames, IMAGE_FOLDER_FPS if fps is None else float(fps))

    def _track(self, source: str | int, max_frames: int | None, fps: float) -> Iterator[tuple[Frame, Poses]]:
        pipeline = PosePipeline(self.model, self._config)
        with open_source(source, fps) as frames:
            pipeline.new_source(frames.is_live)
            done = 0
            for frame in frames:
                yield frame, pipeline.process(frame.image, frame.timestamp_s).poses
                done += 1
                if done == max_frames:
                    break
            if done == 0:
                raise WLitePoseError(f"source {without_password(source)} delivered no frames")
            due = frames_due(frames.frame_count, max_frames)
            notes = [frames.end_reason] if frames.end_reason else frames.end_notes(done, due, outputs=False)
            for note in notes:  # as `wlitepose track` tells them: a stream that stopped, a skipped image
                warnings.warn(note[0].upper() + note[1:], stacklevel=2)

    def draw(self, image: np.ndarray, poses: Poses, boxes: bool = True) -> np.ndarray:
        """A BGR copy of ``image`` with the skeletons (and boxes with track IDs) drawn in; joints far outside
        the image are left out."""
        k = self.model.info.num_keypoints
        if not isinstance(poses, Poses) or poses.num_keypoints != k:
            raise WLitePoseError(f"poses must be this model's Poses, with {k} joints a person")
        far = ~(np.abs(poses.xy) < MAX_DRAWN_PX).all(axis=-1)  # also inf; NaN stays missing
        shown = replace(poses, xy=np.where(far[..., None], np.nan, poses.xy))
        bgr = as_bgr(image)
        canvas = bgr.copy() if bgr is image else bgr  # grey and BGRA images are converted into a new array
        return draw_poses(canvas, shown, self.model.info.skeleton, boxes=boxes)


def _rebuilt(model: str, settings: dict, sha256: str = "") -> PoseEstimator:
    estimator = PoseEstimator(model, **settings)
    if sha256 and estimator.model.info.sha256 != sha256:
        raise WLitePoseError(
            f"the model file {model} has changed since the estimator was pickled (retrained or replaced); "
            "make a new PoseEstimator from it"
        )
    return estimator


def _model_path(model: str | os.PathLike | None) -> str | os.PathLike:
    """The model file a user named (None: the bundled one)."""
    if model is None:
        if not DEFAULT_MODEL.is_file():
            raise WLitePoseError(f"the bundled model {DEFAULT_MODEL} is not installed; pass a model file")
        return DEFAULT_MODEL
    if not isinstance(model, (str, os.PathLike)):
        raise WLitePoseError(f"the model must be the path of an .onnx file, not {model!r}")
    return model


def _number(value, name: str, whole: bool = False):
    """``value`` unchanged if it is None or a number (a whole one if ``whole``); WLitePoseError otherwise."""
    kind = numbers.Integral if whole else numbers.Real
    if value is not None and (isinstance(value, bool) or not isinstance(value, kind)):
        raise WLitePoseError(f"{name} must be a {'whole ' * whole}number, not {value!r}")
    return value


def _float(value, name: str) -> float:
    """A number as a float; WLitePoseError for an integer too large for one."""
    try:
        return float(value)
    except OverflowError:
        raise WLitePoseError(f"{name} is too large for a time in seconds ({len(str(value))} digits)") from None


def as_bgr(image: np.ndarray) -> np.ndarray:
    """A 3-channel BGR uint8 view or copy of an image array; WLitePoseError for anything else."""
    if not isinstance(image, np.ndarray):
        raise WLitePoseError(f"the image must be a numpy array (as cv2.imread returns), not {type(image).__name__}")
    if image.dtype != np.uint8:
        raise WLitePoseError(f"the image must be 8-bit (uint8), not {image.dtype}")
    channels = 1 if image.ndim == 2 else image.shape[2] if image.ndim == 3 else 0
    if channels not in (1, 3, 4) or image.shape[0] == 0 or image.shape[1] == 0:
        raise WLitePoseError(f"the image must be H x W (grey), H x W x 3 (BGR) or H x W x 4 (BGRA), not {image.shape}")
    if channels == 1:
        return cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
    if channels == 4:
        return cv2.cvtColor(image, cv2.COLOR_BGRA2BGR)
    return image
