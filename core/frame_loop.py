"""One source through the pipeline into the outputs, frame by frame: the loop `wlitepose track` and the
app's whole-file export share, so that both write the same files with the same sidecars."""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Iterator
from pathlib import Path

from core.draw import Overlay, Trails, draw_poses
from core.pipeline import PosePipeline
from core.progress import frames_text
from core.sinks import MultiSink, SinkOptions, open_sinks
from core.sinks.csv_sink import sidecar_path
from core.sinks.multi import output_paths
from core.sources import FrameSource, is_frame_file, is_live, source_name, without_password


def run_meta(source: FrameSource, spec: str, pipeline: PosePipeline) -> dict:
    """What the outputs record about a run (open_sinks' ``source_meta``): the source (a file or folder by
    its full path; an image folder with the file of each frame index) and the pipeline's settings."""
    path = Path(os.path.expanduser(spec))
    meta = {
        "source": source_label(spec),
        "name": source_name(spec),  # what {name} says: `track .` in a folder frames/ writes "frames_..."
        "live": source.is_live,
        "fps": float(source.fps or 0.0),
        "size": list(source.size),
        "frame_count": None if source.count_estimated else source.frame_count,
        "settings": pipeline.settings(),
    }
    if not is_live(spec) and path.exists():
        meta["source_stamp"] = source_stamp(spec)
    if source.frame_files is not None:
        meta["frame_files"] = source.frame_files
    return meta


def source_label(spec: str) -> str:
    """How the outputs name a source: a file or folder by its full path, a webcam or stream as given (no
    password)."""
    path = Path(os.path.expanduser(spec))
    return str(path.absolute()) if not is_live(spec) and path.exists() else without_password(spec)


def source_stamp(spec: str) -> list[int]:
    """The size and modification time (ns) of a file ``spec``; of a folder, the number of its images and a digest of
    their names, sizes and times (not the folder's own time, which the run's outputs written into it change): a file
    replaced or edited, or a folder whose images were added, removed, renamed or written again in place (frames
    extracted anew under the same names) since a run has another."""
    path = Path(os.path.expanduser(spec))
    if not path.is_dir():
        status = path.stat()
        return [status.st_size, status.st_mtime_ns]
    images = sorted(filter(is_frame_file, path.iterdir()))
    digest = hashlib.sha256()
    for image in images:
        try:
            status = image.stat()
            facts = f"{status.st_size}\0{status.st_mtime_ns}"
        except OSError:  # a broken link or an entry gone since the listing: a frame the run passes over, no error
            facts = "unreadable"
        digest.update(f"{image.name}\0{facts}\n".encode("utf-8", "surrogateescape"))
    return [len(images), int.from_bytes(digest.digest()[:8], "big")]


def _changed(spec: str, stamp: list[int]) -> bool:
    """Whether ``spec`` no longer has the source_stamp ``stamp`` (or is gone)."""
    try:
        return source_stamp(spec) != stamp
    except OSError:
        return True


def finished_before(spec: str, options: SinkOptions, model_sha256: str, settings: dict, image_fps: float) -> bool:
    """Whether ``options``' outputs for ``spec`` are those of a run that reached the source's end with the model
    of ``model_sha256`` and these ``settings`` (core.pipeline.run_settings; an image folder's at ``image_fps``):
    its CSV's sidecar says so of the source as it is now (by source_stamp) and of these outputs,
    each still there (a webcam or stream never finishes; outputs without a CSV keep no such record)."""
    return rerun_reason(spec, options, model_sha256, settings, image_fps) is None


def rerun_reason(spec: str, options: SinkOptions, model_sha256: str, settings: dict, image_fps: float) -> str | None:
    """None where ``spec``'s outputs are a finished run's (see finished_before); else why they are not, for the
    user whose long video runs again: "" where no earlier run of these outputs is recorded at all."""
    if is_live(spec) or not options.csv:
        return ""
    try:
        sidecar = json.loads(sidecar_path(Path(os.path.expanduser(options.csv))).read_text(encoding="utf-8"))
        stamp = source_stamp(spec)
    except (OSError, ValueError, RecursionError):
        return ""
    if not isinstance(sidecar, dict) or sidecar.get("source") != source_label(spec):
        return ""  # no record of this source there
    outputs = output_paths(options)
    checks = (
        (sidecar.get("finished") is True, "its last run is not recorded as finished"),
        (sidecar.get("source_stamp") == stamp, "the source has changed since its last run"),
        (sidecar.get("outputs") == [str(path) for path in outputs], "its last run wrote other outputs"),
        ("frame_files" not in sidecar or sidecar.get("fps") == image_fps, "its last run played it at another --fps"),
        (sidecar.get("model_sha256") == model_sha256, "its last run used another model"),
        (sidecar.get("settings") == json.loads(json.dumps(settings)), "its last run used other settings"),
        (all(path.exists() for path in outputs), "an output of its last run is gone"),
    )
    return next((why for held, why in checks if not held), None)


def run_frames(
    source: FrameSource,
    spec: str,
    pipeline: PosePipeline,
    options: SinkOptions,
    inputs: tuple = (),
    overlay: Overlay | None = None,
    *,
    notes: list[str],
    max_frames: int | None = None,
) -> Iterator[dict[str, float]]:
    """Open the outputs ``options`` ask for and send every frame of ``source`` (opened from ``spec``)
    through ``pipeline`` into them, yielding each frame's milliseconds per stage (read, the pipeline's
    stages, write) once the frame is written. ``overlay`` styles the annotated video (default: trails
    only); ``inputs`` are files no output may replace (the model); ``notes`` gets what the outputs have to
    say at the end (people a PoseC3D file left out), and a source changed while it was read; ``max_frames`` ends
    it after that many frames. Close the generator (``contextlib.closing``) to close the outputs at once when
    stopping early: what they hold stays valid. Tracks start over: a new source is a new scene."""
    pipeline.new_source(source.is_live)
    meta = {**run_meta(source, spec, pipeline), "first_frame": 0}  # a whole run: from the source's first frame
    info = pipeline.model.info
    overlay = overlay or Overlay()
    with open_sinks(options, info, meta, inputs=inputs, tracked=pipeline.tracker is not None) as sinks:
        try:
            yield from _frames(source, pipeline, options, overlay, sinks, max_frames)
            if sinks.source_ended and "source_stamp" in meta and _changed(spec, meta["source_stamp"]):
                sinks.source_ended = False  # no finished run: what was read is not the source as it is now
                notes.append(
                    f"{source_label(spec)} changed while it was read (a file still being written, replaced or cut "
                    "short; images added or removed): the outputs hold what was read, and the sidecar does not say "
                    "finished"
                )
        finally:
            notes += sinks.notes()
            if sinks.frames_at_people_cap:
                notes.append(people_cap_note(sinks.frames_at_people_cap, pipeline.config.decode.max_people))


def people_cap_note(frames: int, cap: int) -> str:
    """What to say of ``frames`` written that gave ``cap`` people, as many as decoding keeps: a crowd analyst reading
    the CSV would otherwise count the people there and take the cap for the crowd."""
    return (
        f"{frames_text(frames)} reached the {cap}-people cap: any more people in those frames, the weakest, are not in "
        "the outputs (a CSV's sidecar lists the frames in frames_at_people_cap)"
    )


def _frames(
    source: FrameSource,
    pipeline: PosePipeline,
    options: SinkOptions,
    overlay: Overlay,
    sinks: MultiSink,
    max_frames: int | None,
) -> Iterator[dict[str, float]]:
    """run_frames' loop: each frame read, processed, drawn if a video is written, and written."""
    info = pipeline.model.info
    trails = Trails()
    frames, written = iter(source), 0
    while True:
        # the last frame due written: a source that counts more frames (or a stream, which never ends) goes on past
        # the run; any other's next read tells whether the run reached its end (a finished one for --skip-done)
        if written == max_frames and (source.is_live or (source.frame_count or 0) > written):
            return
        read_start = time.perf_counter()
        frame = next(frames, None)
        if frame is None:
            # a source that gave no frame (a folder emptied once opened) failed: no finished run for --skip-done
            sinks.source_ended = written > 0
            return
        if written == max_frames:  # a frame more than its count said
            return
        read_ms = (time.perf_counter() - read_start) * 1000.0
        result = pipeline.process(frame.image, frame.timestamp_s)
        write_start = time.perf_counter()
        image = frame.image  # as analysed (the COCO dataset takes each image's size from it); drawn on for a video
        if result.new_shot:  # the last shot's people are not in this one: their trails end at the cut
            trails = Trails()
        if options.video:
            if overlay.trails:  # a file's overlay is fixed for the run: trails never drawn need no memory
                trails.update(result.poses)
            shown = trails if overlay.trails else None
            image = draw_poses(
                frame.image, result.poses, info.skeleton, boxes=overlay.boxes, scores=overlay.scores, trails=shown
            )
        sinks.write(frame.index, frame.timestamp_s, result.poses, image=image)
        if result.new_shot:  # once its rows are in: a frame that failed to be written is listed nowhere
            sinks.shot_changed(frame.index)
        if result.at_people_cap:
            sinks.reached_people_cap(frame.index)
        written += 1
        yield {"read": read_ms, **result.timings_ms, "write": (time.perf_counter() - write_start) * 1000.0}
