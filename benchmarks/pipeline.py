"""Where the time goes around the network, and how grouping + tracking grow with crowd size.

    python benchmarks/pipeline.py [--model FILE] [--video FILE] [--frames 150] [--threads N] [--crowds N ...] [--json]

1. A real video (../shared/data/videos/vtest.avi) through the full `wlitepose track` path
   (read, letterbox, ONNX, decode, tracker, CSV + COCO sinks): ms per frame per stage, the
   end-to-end fps and its ratio to the model-only fps (the network alone on the same input).
2. Synthetic perfect heatmaps and tags at 1, 5, 20 and 50 moving people, and the sizes --crowds adds (100 200:
   a frame gives up to 100 people), at the network output size of a 768x576 frame at input 256, decoded and
   tracked, and the overlay of an annotated video drawn (trails and skeletons): ms per frame of each. A network
   with random weights finds few people, so crowd cost is measured here rather than on video.
3. The overhead goal: everything except inference at 5 people (read + pre-process + write from
   (1), grouping + tracking from (2)) as a fraction of inference time.

Without --model, a WLitePose-XS with random weights is exported (latency does not depend on
the weights); the bundled assets/wlitepose_xs_256.onnx is used when it exists.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from ctrl_c import say_interrupted  # noqa: E402

if __name__ == "__main__":
    say_interrupted("pipeline")

from arguments import at_least, first_line  # noqa: E402

from core.assets import DEFAULT_MODEL  # noqa: E402
from core.decode import DecodeConfig, decode, limb_links  # noqa: E402
from core.draw import Trails, draw_poses  # noqa: E402
from core.errors import WLitePoseError  # noqa: E402
from core.model_file import ModelInfo  # noqa: E402
from core.pipeline import PipelineConfig, PosePipeline  # noqa: E402
from core.preprocess import letterbox, letterbox_geometry  # noqa: E402
from core.progress import StageTimes  # noqa: E402
from core.session import PoseModel  # noqa: E402
from core.sinks import SinkOptions, open_sinks  # noqa: E402
from core.sources import open_source  # noqa: E402
from core.synthetic import paint, random_people  # noqa: E402
from core.tracker import PoseTracker, TrackerConfig  # noqa: E402
from models.schemas import COCO17  # noqa: E402

DEFAULT_VIDEO = ROOT.parent / "shared" / "data" / "videos" / "vtest.avi"
CROWDS = (1, 5, 20, 50)
CROWD_FRAME = (768, 576)  # the frame size (w, h) whose network output the crowds are painted at (vtest.avi's)


def get_model(path: Path | None, workdir: Path) -> Path:
    if path is not None:
        return path
    if DEFAULT_MODEL.is_file():
        return DEFAULT_MODEL
    from models.export import build_metadata, export_onnx
    from models.wlitepose import build_model

    out = workdir / "wlitepose_xs_256.onnx"
    export_onnx(build_model("wlitepose_xs"), out, build_metadata(COCO17, "wlitepose_xs", 256, "coco", False))
    return out


def video_stages(model: PoseModel, video: Path, frames: int, workdir: Path) -> dict:
    pipeline = PosePipeline(model, PipelineConfig())
    options = SinkOptions(csv=workdir / "k.csv", coco_json=workdir / "k.json")
    with open_source(str(video)) as source:
        meta = {"source": str(video), "fps": source.fps, "size": list(source.size), "frame_count": source.frame_count}
        with open_sinks(options, model.info, meta) as sinks:

            def track(frame) -> dict[str, float]:
                result = pipeline.process(frame.image, frame.timestamp_s)
                write_start = time.perf_counter()
                sinks.write(frame.index, frame.timestamp_s, result.poses)
                return {**result.timings_ms, "write": (time.perf_counter() - write_start) * 1e3}

            times, wall, frame = time_frames(source, track, frames)
        blob, _ = letterbox(frame.image, pipeline.input_size, model.info.mean, model.info.std)
    model_ms = []
    for _ in range(frames):
        t0 = time.perf_counter()
        model.run(blob)
        model_ms.append((time.perf_counter() - t0) * 1000.0)
    return {
        "frames": times.frames,
        "input": list(blob.shape[2:]),
        "ms_per_frame": {k: round(v, 3) for k, v in times.per_frame().items()},
        **fps_figures(times.frames, wall, model_ms),
    }


def time_frames(source, handle, frames: int, clock=time.perf_counter) -> tuple[StageTimes, float, object]:
    """The first ``frames`` frames of ``source``, each given to ``handle`` (which returns its stages' ms): ms per
    stage, "read" the wait for each frame; the seconds of the whole by ``clock``; and the last frame."""
    times = StageTimes()
    start = clock()
    read_start = start
    for frame in source:
        read_ms = (clock() - read_start) * 1000.0
        times.add({"read": read_ms, **handle(frame)})
        times.frames += 1
        if times.frames >= frames:
            break
        read_start = clock()
    return times, clock() - start, frame


def fps_figures(frames: int, wall_s: float, model_ms: list[float]) -> dict:
    """End-to-end fps of ``frames`` in ``wall_s`` seconds, the network's alone from its ``model_ms`` runs, and
    their ratio (below 1: the time around the network)."""
    end_to_end_fps = frames / wall_s
    model_fps = 1000.0 / float(np.mean(model_ms))
    return {
        "end_to_end_fps": round(end_to_end_fps, 2),
        "model_only_fps": round(model_fps, 2),
        "fps_ratio": round(end_to_end_fps / model_fps, 3),
    }


def crowd_costs(info: ModelInfo, crowds=CROWDS, frames=60, clock=time.perf_counter) -> dict:
    """The model's keypoints, skeleton and sigmas (COCO-17 people stand; other schemas' are scattered joints)."""
    box = letterbox_geometry(CROWD_FRAME, info.input_size)
    links = limb_links(info.keypoint_names, info.skeleton)  # decoded as the pipeline does, limb check included
    k = info.num_keypoints
    out = {}
    for n in crowds:
        rng = np.random.default_rng(n)
        people = random_people(rng, n, k, box.input_size, min_sep=4.0, overlap=0.2)
        velocity = rng.uniform(-1.0, 1.0, (n, 1, 2))  # px per frame
        maps = []
        for i in range(10):  # 10 distinct painted frames, replayed
            xy = np.clip(people + velocity * i, 2, np.array(box.input_size) - 3)
            maps.append(paint(xy, np.arange(n, dtype=np.float32) * 2.0, box.input_size))
        tracker = PoseTracker(TrackerConfig(), info.sigmas)
        config = DecodeConfig()
        trails, image = Trails(), np.zeros((CROWD_FRAME[1], CROWD_FRAME[0], 3), np.uint8)
        group_ms, track_ms, overlay_ms, found = [], [], [], []
        for i in range(frames):
            heatmaps, tags = maps[i % 10]
            t0 = clock()
            poses = decode(heatmaps, tags, config, links=links).scaled(box.to_image)
            t1 = clock()
            poses = tracker.update(poses, i / 25.0)
            t2 = clock()
            trails.update(poses)
            draw_poses(image, poses, info.skeleton, trails=trails)
            t3 = clock()
            group_ms.append((t1 - t0) * 1e3)
            track_ms.append((t2 - t1) * 1e3)
            overlay_ms.append((t3 - t2) * 1e3)
            found.append(len(poses))
        out[str(n)] = crowd_row(group_ms, track_ms, overlay_ms, found)
    return out


def crowd_row(group_ms: list[float], track_ms: list[float], overlay_ms: list[float], found: list[int]) -> dict:
    """Median ms a frame of grouping, of tracking and their sum, of drawing the overlay (an annotated video's
    alone), and the median number of people found."""
    grouping, tracking = float(np.median(group_ms)), float(np.median(track_ms))
    return {
        "people_found": int(np.median(found)),
        "grouping_ms": round(grouping, 3),
        "tracking_ms": round(tracking, 3),
        "total_ms": round(grouping + tracking, 3),
        "overlay_ms": round(float(np.median(overlay_ms)), 3),
    }


def overhead_ms(stages: dict[str, float], crowds: dict[str, dict]) -> float:
    """Everything but inference at 5 people: read, pre-process and write on the video, grouping and tracking of
    the synthetic crowd of 5."""
    return stages["read"] + stages["preprocess"] + stages["write"] + crowds["5"]["total_ms"]


def overhead_figures(stages: dict[str, float], crowds: dict[str, dict]) -> dict:
    """The overhead at 5 people (``overhead_ms``), its fraction of inference, and whether the goals are met."""
    overhead = overhead_ms(stages, crowds)
    return {
        "overhead_at_5_people_ms": round(overhead, 3),
        "overhead_fraction_of_inference": round(overhead / stages["inference"], 3),
        "goals": {
            "overhead_at_5_people_le_20pct": overhead <= 0.2 * stages["inference"],
            "grouping_tracking_at_50_lt_5ms": crowds["50"]["total_ms"] < 5.0,
        },
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=first_line(__doc__))
    parser.add_argument("--model", type=Path, help="ONNX model file (default: the bundled one)")
    parser.add_argument(
        "--video", type=Path, default=DEFAULT_VIDEO, help=f"video to time (default {DEFAULT_VIDEO.name})"
    )
    parser.add_argument("--frames", type=at_least(1), default=150, help="frames to time (default 150)")
    parser.add_argument(
        "--threads", type=at_least(1), default=None, help="onnxruntime intra-op threads (default: ONNX Runtime's)"
    )
    parser.add_argument(
        "--crowds", type=at_least(1), nargs="+", default=(), help="crowd sizes timed besides 1, 5, 20 and 50"
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        try:
            model = PoseModel(get_model(args.model, Path(tmp)), threads=args.threads)
            video = video_stages(model, args.video, args.frames, Path(tmp))
        except WLitePoseError as error:
            print(f"pipeline: {error}", file=sys.stderr)
            return 2
    crowds = crowd_costs(model.info, sorted(set(CROWDS) | set(args.crowds)))
    stages = video["ms_per_frame"]
    report = {"device": model.provider, "video": video, "crowd": crowds, **overhead_figures(stages, crowds)}
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    print(f"video: {video['frames']} frames at input {video['input']} ({model.provider})")
    for stage, ms in stages.items():
        print(f"  {stage:<11} {ms:7.2f} ms/frame")
    print(
        f"  end-to-end {video['end_to_end_fps']:.1f} fps, model only {video['model_only_fps']:.1f} fps, "
        f"ratio {video['fps_ratio']:.2f}"
    )
    print("crowd (synthetic maps, median ms/frame):")
    for n, row in crowds.items():
        print(
            f"  {n:>3} people: grouping {row['grouping_ms']:6.2f}  tracking {row['tracking_ms']:6.2f}  "
            f"total {row['total_ms']:6.2f}  overlay {row['overlay_ms']:6.2f}  (found {row['people_found']})"
        )
    overhead, fraction = report["overhead_at_5_people_ms"], report["overhead_fraction_of_inference"]
    print(f"overhead at 5 people: {overhead:.2f} ms = {fraction:.0%} of inference")
    for goal, ok in report["goals"].items():
        print(f"  {goal}: {'met' if ok else 'NOT met'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
