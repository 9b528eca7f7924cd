"""The Python API: poses from images, videos, image folders, webcams and streams in a few lines.

    from core.estimator import PoseEstimator

    estimator = PoseEstimator()  # the bundled model; PoseEstimator("my_model.onnx") for another
    for frame, poses in estimator.track("clip.mp4"):
        print(frame.index, poses.track_ids, poses.xy[:, estimator.keypoint_names.index("left_wrist")])

Images are OpenCV's BGR uint8 arrays (a grey image or one with an alpha channel is taken too). Poses
hold numpy arrays in image pixels: ``xy`` (N, K, 2) with NaN for a joint not found,
``keypoint_scores`` (N, K), ``scores`` (N,) and ``track_ids`` (N,), -1 for a person not tracked or
not yet confirmed. Bad input raises ``WLitePoseError`` with a one-sentence message.
"""

from __future__ import annotations

from collections.abc import Iterator
from itertools import islice
from pathlib import Path

import cv2
import numpy as np

from core.cli import DEFAULT_MODEL, SAMPLE_CLIP
from core.draw import draw_poses
from core.errors import WLitePoseError
from core.pipeline import PosePipeline, check_fractions, tuned_config
from core.poses import Poses
from core.preprocess import check_input_size
from core.session import PoseModel
from core.sources import IMAGE_FOLDER_FPS, Frame, check_image_fps, open_source

__all__ = ["PoseEstimator", "SAMPLE_CLIP", "as_bgr"]  # SAMPLE_CLIP: the bundled clip, wherever it is installed


class PoseEstimator:
    """A model with its decoding and tracking settings (None: the defaults `wlitepose track` uses).

    ``estimate`` finds the people in one image; ``track`` runs a whole source with stable IDs and
    smoothed joints; ``track_frame`` does the same for frames your own loop reads (a new scene:
    ``reset``)."""

    def __init__(
        self,
        model: str | Path | None = None,
        *,
        input_size: int | None = None,
        detection_threshold: float | None = None,
        keypoint_threshold: float | None = None,
        smoothing: float | None = None,
        threads: int | None = None,
    ) -> None:
        check_input_size(input_size, "input_size")
        if threads is not None and (not isinstance(threads, int) or threads < 1):
            raise WLitePoseError(f"threads must be a whole number of at least 1, not {threads}")
        thresholds = {"detection_threshold": detection_threshold, "keypoint_threshold": keypoint_threshold}
        check_fractions({**thresholds, "smoothing": smoothing})
        if model is None:
            if not DEFAULT_MODEL.is_file():
                raise WLitePoseError(f"the bundled model {DEFAULT_MODEL} is not installed; pass a model file")
            model = DEFAULT_MODEL
        self.model = PoseModel(model, threads)
        self._detector = PosePipeline(self.model, tuned_config(input_size, **thresholds, tracking=False))
        self._tracker = PosePipeline(self.model, tuned_config(input_size, **thresholds, smoothing=smoothing))

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
        """The people in the next frame of a sequence, with IDs and smoothed joints. ``timestamp_s`` is the
        frame's time in seconds (None: one frame at 30 fps after the last), which sets how far people may
        move and how long one may be lost before the ID is let go."""
        timestamp = float("nan") if timestamp_s is None else float(timestamp_s)
        return self._tracker.process(as_bgr(image), timestamp).poses

    def reset(self) -> None:
        """Forget every track: the next frame starts a new scene, with IDs from 1 again."""
        self._tracker.reset()

    def track(
        self, source: str | Path | int, *, max_frames: int | None = None, fps: float = IMAGE_FOLDER_FPS
    ) -> Iterator[tuple[Frame, Poses]]:
        """Each frame of a video file, image folder (played at ``fps``), webcam index or stream URL with
        its tracked poses, from new tracks. A webcam or stream runs until ``max_frames`` or until the loop
        stops; the source is closed when the loop ends or is left early."""
        if max_frames is not None and max_frames < 1:
            raise WLitePoseError(f"max_frames must be at least 1, not {max_frames}")
        check_image_fps(fps, "fps")
        return self._track(str(source), max_frames, fps)

    def _track(self, source: str, max_frames: int | None, fps: float) -> Iterator[tuple[Frame, Poses]]:
        self.reset()
        with open_source(source, fps) as frames:
            for frame in islice(frames, max_frames):
                yield frame, self._tracker.process(frame.image, frame.timestamp_s).poses

    def draw(self, image: np.ndarray, poses: Poses, boxes: bool = True) -> np.ndarray:
        """A copy of ``image`` with the skeletons (and boxes with track IDs) drawn in."""
        return draw_poses(as_bgr(image).copy(), poses, self.model.info.skeleton, boxes=boxes)


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
