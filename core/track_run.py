"""`wlitepose track`: source -> pipeline -> sinks, with a progress bar and a per-stage summary on stderr."""

from __future__ import annotations

import argparse
import dataclasses
import signal
import sys
import threading
import time
from pathlib import Path

from core.draw import Trails, draw_poses
from core.errors import WLitePoseError
from core.pipeline import PipelineConfig, PosePipeline, tuned_config
from core.preprocess import check_input_size
from core.progress import ProgressBar, StageTimes
from core.session import PoseModel
from core.sinks import SinkOptions, open_sinks
from core.sources import ended_early, open_source


class StopRequest:
    """SIGINT/SIGTERM handler: the first signal stops after the current frame (so no row is cut in half),
    a second one interrupts at once."""

    def __init__(self) -> None:
        self.requested = False
        self._previous: dict[int, object] = {}

    def __call__(self, signum, frame) -> None:
        if self.requested:
            raise KeyboardInterrupt
        self.requested = True

    def __enter__(self) -> StopRequest:
        if threading.current_thread() is not threading.main_thread():
            return self  # signals reach the main thread only; a caller thread stops runs its own way
        for sig in (signal.SIGINT, signal.SIGTERM):
            self._previous[sig] = signal.signal(sig, self)
        return self

    def __exit__(self, *exc) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)


def resolve_model(model: Path | None, default: Path) -> Path:
    if model is not None:
        return model
    if not default.is_file():
        raise WLitePoseError(f"the default model {default} is not installed yet; pass --model FILE.onnx")
    return default


def pipeline_config(args: argparse.Namespace) -> PipelineConfig:
    """The pipeline the options describe (each threshold range-checked)."""
    for option in ("detection_threshold", "keypoint_threshold", "smoothing"):
        value = getattr(args, option)
        if value is not None and not 0.0 <= value <= 1.0:
            raise WLitePoseError(f"--{option.replace('_', '-')} must be between 0 and 1")
    return tuned_config(
        args.size, args.detection_threshold, args.keypoint_threshold, args.smoothing, tracking=not args.no_track
    )


def run_track(args: argparse.Namespace, default_model: Path) -> int:
    if args.max_frames is not None and args.max_frames < 1:
        raise WLitePoseError("--max-frames must be at least 1")
    check_input_size(args.size)
    config = pipeline_config(args)
    if args.threads is not None and args.threads < 1:
        raise WLitePoseError("--threads must be at least 1")
    model = PoseModel(resolve_model(args.model, default_model), threads=args.threads)
    pipeline = PosePipeline(model, config)
    options = SinkOptions(args.csv, args.coco_json, args.openpose_dir, args.posec3d, args.video)
    times = StageTimes()
    with StopRequest() as stop, open_source(args.source) as source:
        meta = {
            "source": str(args.source),
            "fps": source.fps,
            "size": list(source.size),
            "frame_count": source.frame_count,
            "settings": {
                "input_size": pipeline.input_size,
                "decode": dataclasses.asdict(config.decode),
                "tracker": dataclasses.asdict(config.tracker) if config.tracker else None,
            },
        }
        total = source.frame_count
        if args.max_frames:
            total = min(total, args.max_frames) if total else args.max_frames
        print(
            f"wlitepose: {model.info.variant} ({model.provider}), input {pipeline.input_size}, "
            f"source {source.size[0]}x{source.size[1]} @ {source.fps:.1f} fps",
            file=sys.stderr,
        )
        trails = Trails()
        progress = ProgressBar(total)
        started = time.perf_counter()
        with open_sinks(options, model.info, meta, inputs=(model.path,), tracked=config.tracker is not None) as sinks:
            try:
                read_start = time.perf_counter()
                for frame in source:
                    read_ms = (time.perf_counter() - read_start) * 1000.0
                    result = pipeline.process(frame.image, frame.timestamp_s)
                    write_start = time.perf_counter()
                    image = None
                    if options.video:
                        trails.update(result.poses)
                        image = draw_poses(frame.image, result.poses, model.info.skeleton, trails=trails)
                    sinks.write(frame.index, frame.timestamp_s, result.poses, image=image)
                    times.add({"read": read_ms, **result.timings_ms})
                    times.add({"write": (time.perf_counter() - write_start) * 1000.0})
                    times.frames += 1
                    progress.update()
                    if stop.requested or (args.max_frames and times.frames >= args.max_frames):
                        break
                    read_start = time.perf_counter()
            finally:
                progress.close()
        if source.end_reason:
            print(f"wlitepose: {source.end_reason}", file=sys.stderr)
        elif not stop.requested and ended_early(times.frames, total):
            print(
                f"wlitepose: warning: {ended_early(times.frames, total)}; the outputs hold the frames read",
                file=sys.stderr,
            )
    if times.frames == 0:
        raise WLitePoseError(f"source {args.source} delivered no frames")
    print(times.summary(time.perf_counter() - started), file=sys.stderr)
    if stop.requested:
        raise KeyboardInterrupt  # main() reports it; the outputs are already closed
    return 0
