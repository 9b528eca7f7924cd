"""Frame sources: video file, image folder (or one image), webcam index, stream URL.

Files deliver every frame with its timestamp (index / fps, or a variable-rate video's own time stamps),
unless ``skip`` passes some over (a player keeping pace with the clock). Live sources (webcams, streams)
are read by a background thread that keeps only the newest frame, so latency never grows;
their frame indices count every captured frame, so a gap shows frames that were dropped.
A live source that stops delivering ends the iteration and sets ``end_reason``.

The package's modules: ``frames`` (Frame, FrameSource), ``video_file``, ``images``, ``live`` (webcams and
streams), ``specs`` (a source as named: what it is, its short name), ``passwords`` and ``playlists``;
``open_source`` picks the source for a name, and the names others use are here.
"""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import unquote, urlsplit

import cv2

from core.errors import WLitePoseError
from core.sources.frames import IMAGE_FOLDER_FPS, MAX_FPS, Frame, FrameSource, frames_due
from core.sources.images import IMAGE_SUFFIXES, ImageFolderSource, is_frame_file, read_image
from core.sources.live import LiveSource, list_cameras, open_capture
from core.sources.passwords import without_password
from core.sources.playlists import check_playlist
from core.sources.specs import (
    check_exists,
    check_image_fps,
    clean_spec,
    expand_wildcards,
    is_camera,
    is_image_sequence,
    is_live,
    source_name,
)
from core.sources.video_file import VideoFileSource, opencv_name

__all__ = [
    "IMAGE_FOLDER_FPS",
    "IMAGE_SUFFIXES",
    "MAX_FPS",
    "Frame",
    "FrameSource",
    "check_exists",
    "check_image_fps",
    "clean_spec",
    "expand_wildcards",
    "frames_due",
    "frames_in",
    "is_frame_file",
    "is_image_sequence",
    "is_live",
    "list_cameras",
    "open_source",
    "opencv_name",
    "read_image",
    "source_name",
    "without_password",
]


def open_source(spec: str | int, image_fps: float = IMAGE_FOLDER_FPS) -> FrameSource:
    """A FrameSource for a video path, image folder or file (played at ``image_fps``), webcam index ("0", or an
    int: a webcam even where a file is named "0") or rtsp/http(s) URL."""
    if not isinstance(spec, int):
        spec = clean_spec(spec)
        if not spec:
            raise WLitePoseError("no source given: pass a video file, image folder, webcam index or stream URL")
        spec = int(spec) if is_camera(spec) else spec
    if isinstance(spec, int):
        if not 0 <= spec < 2**31:  # OpenCV takes a C int
            raise WLitePoseError(f"no webcam has the index {spec}")
        return LiveSource(spec, f"camera {spec}")
    if "://" in spec:
        if spec.lower().startswith("file://"):  # a playlist by its URL is a local playlist too
            check_playlist(Path(unquote(urlsplit(spec).path)))
        shown = without_password(spec)
        capture, first = open_capture(spec, shown)
        if capture.get(cv2.CAP_PROP_FRAME_COUNT) > 0:  # a file (http://, file://) or a recorded HLS playlist:
            return VideoFileSource(shown, (capture, first))  # every frame at its own time, as a file's
        return LiveSource(spec, shown, (capture, first))
    check_exists(spec)
    path = Path(os.path.expanduser(spec))
    if is_image_sequence(spec):
        return ImageFolderSource(path, image_fps)
    check_playlist(path)
    return VideoFileSource(path)


def frames_in(spec: str, image_fps: float = IMAGE_FOLDER_FPS) -> int | None:
    """The frames a file or image folder holds as its header or listing counts them, for a batch's time left: None
    where that is not known (a webcam or stream, a file that does not say), 0 for one that does not open (it
    fails when its turn comes)."""
    if is_live(spec):
        return None
    try:
        with open_source(spec, image_fps) as source:
            return source.frame_count
    except (WLitePoseError, OSError):  # a count only: the source fails in words when its turn comes
        return 0
