"""How well `wlitepose track` keeps people and their IDs, per detection threshold, on labelled video frames.

    python benchmarks/tracking_quality.py [--model FILE] [--annotations FILE] [--videos DIR]
        [--thresholds 0.1,0.15,0.2,0.25,0.3] [--keypoint-threshold 0.2] [--stray-factor 3.5] [--size N] [--json]

The offline pool labels every 5th frame of vtest.avi and every 10th of person_tracker_cctv.mp4
(teacher poses, no IDs; see ../shared/data/README.md). Those poses are linked into reference
tracks here: from one labelled frame to the next, each track's centre moves on at its last
velocity and is matched (Hungarian) to the nearest pose within half a person's height; a track
may skip one labelled frame. Every video frame goes through the network once (grouping at the
lowest threshold); then, for each detection threshold, the tracker runs over all frames and its
output on the labelled frames is scored against the reference:

- recall / precision: people matched one to one at IoU >= 0.3 of their keypoint boxes;
- ID switches: times a reference track's matched ID differs from its previous match;
- IDF1: the share of people matched with the right ID under the best one-to-one pairing of
  reference tracks and IDs (2 IDTP / (reference people + output people));
- IDs made, people a frame and the median track length over the whole video.

The reference is a teacher (about AP 0.39 against human labels) and misses people, so
precision is a lower bound; the labelled frames are also in the training pool. The figures
compare settings and models; they are not a held-out benchmark score.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter, defaultdict
from pathlib import Path

import numpy as np
from scipy.optimize import linear_sum_assignment

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from ctrl_c import say_interrupted  # noqa: E402

if __name__ == "__main__":
    say_interrupted("tracking_quality")

from arguments import first_line, number_in, thresholds  # noqa: E402

from core.annotations import read_json  # noqa: E402
from core.assets import DEFAULT_MODEL  # noqa: E402
from core.decode import DecodeConfig  # noqa: E402
from core.errors import WLitePoseError  # noqa: E402
from core.pipeline import PipelineConfig, PosePipeline  # noqa: E402
from core.poses import Poses, box_iou, keypoint_boxes  # noqa: E402
from core.preprocess import check_input_size  # noqa: E402
from core.session import PoseModel  # noqa: E402
from core.sources import open_source  # noqa: E402
from core.tracker import PoseTracker, TrackerConfig  # noqa: E402

DATA = ROOT.parent / "shared" / "data"
# (video file, image name prefix in the annotations, video frames between labelled frames)
CLIPS = (("vtest.avi", "vtest_", 5), ("person_tracker_cctv.mp4", "cctv_", 10))
MATCH_IOU = 0.3
LINK_GATE = 0.5  # person heights a reference track may be from its predicted centre


def labelled_boxes(annotations: dict, prefix: str, every: int) -> dict[int, np.ndarray]:
    """Video frame -> (P, 4) keypoint boxes of the labelled people (name ``prefix`` + index, frame = index * every)."""
    frame_of = {
        im["id"]: int(Path(im["file_name"]).stem[len(prefix) :]) * every
        for im in annotations["images"]
        if im["file_name"].startswith(prefix)
    }
    people = defaultdict(list)  # frame -> (K, 2) keypoints, NaN where unlabelled
    for ann in annotations["annotations"]:
        kp = np.asarray(ann["keypoints"], dtype=np.float64).reshape(-1, 3)
        if ann["image_id"] in frame_of and (kp[:, 2] > 0).sum() >= 2:
            people[frame_of[ann["image_id"]]].append(np.where(kp[:, 2:] > 0, kp[:, :2], np.nan))
    return {f: keypoint_boxes(np.stack(xy)) for f, xy in sorted(people.items())}


def link_tracks(boxes: dict[int, np.ndarray], every: int) -> dict[int, np.ndarray]:
    """Frame -> (P,) reference track IDs for the boxes, by constant-velocity centre matching."""
    ids, live, next_id = {}, {}, 0  # live: id -> (frame, centre, velocity per labelled step, height)
    for frame, b in boxes.items():
        centre, height = (b[:, :2] + b[:, 2:]) / 2, np.maximum(b[:, 3] - b[:, 1], 1.0)
        out = np.full(len(b), -1)
        cand = [k for k, (f0, *_) in live.items() if frame - f0 <= 2 * every]
        if cand:
            cost = np.stack(
                [
                    np.linalg.norm(centre - (c0 + v0 * (frame - f0) / every), axis=1) / np.maximum(h0, height)
                    for f0, c0, v0, h0 in (live[k] for k in cand)
                ]
            )
            rows, cols = linear_sum_assignment(cost)
            ok = cost[rows, cols] < LINK_GATE
            out[cols[ok]] = np.asarray(cand)[rows[ok]]
        for j in range(len(b)):
            if out[j] < 0:
                out[j], next_id = next_id, next_id + 1
                live[out[j]] = (frame, centre[j], np.zeros(2), height[j])
            else:
                f0, c0, v0, _ = live[out[j]]
                step = (centre[j] - c0) / ((frame - f0) / every)
                live[out[j]] = (frame, centre[j], (v0 + step) / 2 if v0.any() else step, height[j])
        ids[frame] = out
    return ids


def score(ref_boxes, ref_ids, out_boxes, out_ids) -> dict[str, float]:
    """Recall, precision, ID switches and IDF1 of the output on the labelled frames (dicts keyed by frame)."""
    together = Counter()  # (reference id, output id) -> frames where they overlap enough to match
    n_ref = n_out = matched = switches = 0
    last = {}
    for frame, ref in ref_boxes.items():
        out, oid = out_boxes[frame], out_ids[frame]
        n_ref, n_out = n_ref + len(ref), n_out + len(out)
        if len(ref) == 0 or len(out) == 0:
            continue
        iou = box_iou(ref, out)
        for i, j in zip(*np.nonzero(iou >= MATCH_IOU), strict=True):
            together[ref_ids[frame][i], oid[j]] += 1
        for i, j in zip(*linear_sum_assignment(-iou), strict=True):
            if iou[i, j] >= MATCH_IOU:
                matched += 1
                rid = ref_ids[frame][i]
                switches += rid in last and last[rid] != oid[j]
                last[rid] = oid[j]
    refs, outs = sorted({r for r, _ in together}), sorted({o for _, o in together})
    pairs = np.zeros((len(refs), len(outs)))
    for (r, o), count in together.items():
        pairs[refs.index(r), outs.index(o)] = count
    idtp = pairs[linear_sum_assignment(-pairs)].sum()
    return {
        "recall": matched / max(n_ref, 1),
        "precision": matched / max(n_out, 1),
        "id_switches": int(switches),
        "idf1": 2 * idtp / max(n_ref + n_out, 1),
    }


def detect(model: PoseModel, video: Path, config: PipelineConfig) -> list[tuple[float, Poses]]:
    pipeline = PosePipeline(model, config)
    with open_source(str(video)) as source:
        return [(frame.timestamp_s, pipeline.process(frame.image, frame.timestamp_s).poses) for frame in source]


def track(frames, threshold: float, sigmas, labelled) -> tuple[dict, dict, dict[str, float]]:
    tracker = PoseTracker(TrackerConfig(), sigmas)
    out_boxes, out_ids, lengths = {}, {}, Counter()
    shown = 0
    for index, (t, poses) in enumerate(frames):
        keep = poses.scores > threshold
        result = tracker.update(Poses(poses.xy[keep], poses.keypoint_scores[keep], poses.scores[keep]), t)
        has_id = result.track_ids > 0
        lengths.update(result.track_ids[has_id].tolist())
        shown += int(has_id.sum())
        if index in labelled:
            out_boxes[index] = result.boxes()[has_id].astype(np.float64)
            out_ids[index] = result.track_ids[has_id]
    spans = np.asarray(list(lengths.values()) or [0])
    summary = {
        "ids": len(lengths),
        "people_per_frame": shown / max(len(frames), 1),
        "median_track": float(np.median(spans)),
    }
    return out_boxes, out_ids, summary


def main() -> int:
    parser = argparse.ArgumentParser(description=first_line(__doc__))
    decode = DecodeConfig()
    parser.add_argument("--model", type=Path, default=DEFAULT_MODEL, help="ONNX model file (default: the bundled one)")
    parser.add_argument(
        "--annotations",
        type=Path,
        default=DATA / "train" / "annotations.json",
        help="labels of the clips' frames (default: the training pool's)",
    )
    parser.add_argument(
        "--videos", type=Path, default=DATA / "videos", help=f"folder with {' and '.join(c[0] for c in CLIPS)}"
    )
    parser.add_argument(
        "--thresholds",
        type=thresholds,
        default="0.1,0.15,0.2,0.25,0.3",
        help="detection thresholds to compare, each above 0 and at most 1 (default 0.1,0.15,0.2,0.25,0.3)",
    )
    parser.add_argument(
        "--keypoint-threshold",
        type=number_in(0, 1),
        default=decode.keypoint_threshold,
        help=f"minimum joint score, 0-1 (default {decode.keypoint_threshold:g})",
    )
    parser.add_argument(
        "--stray-factor",
        type=number_in(0),
        default=decode.stray_factor,
        help=f"drop joints this many spreads from a person's middle (default {decode.stray_factor:g}; 0 keeps them)",
    )
    parser.add_argument("--size", type=int, default=None, help="network input size (default: the model's)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args()
    for path in (args.model, args.annotations, args.videos):
        if not path.exists():
            print(f"tracking_quality: {path} does not exist", file=sys.stderr)
            return 2
    try:
        return compare(args)
    except WLitePoseError as error:
        print(f"tracking_quality: {error}", file=sys.stderr)
        return 2


def compare(args: argparse.Namespace) -> int:
    """The table (or JSON) of each clip at each threshold; WLitePoseError for a file that cannot be used."""
    thresholds = args.thresholds
    try:
        annotations = read_json(args.annotations)
    except (OSError, ValueError) as error:
        raise WLitePoseError(f"{args.annotations} cannot be read as JSON ({error})") from None
    if not isinstance(annotations, dict) or not {"images", "annotations"} <= annotations.keys():
        raise WLitePoseError(f"{args.annotations} is not a COCO-format annotation file (images and annotations)")
    references = {video: labelled_boxes(annotations, prefix, every) for video, prefix, every in CLIPS}
    unlabelled = [video for video, boxes in references.items() if not boxes]
    if unlabelled:
        raise WLitePoseError(f"{args.annotations} labels no person in a frame of {', '.join(unlabelled)}")
    check_input_size(args.size)
    model = PoseModel(args.model)
    decode = DecodeConfig(
        detection_threshold=thresholds[0],
        keypoint_threshold=args.keypoint_threshold,
        stray_factor=args.stray_factor or None,
    )
    config = PipelineConfig(input_size=args.size, decode=decode, tracker=None)
    report = {}
    for video, _, every in CLIPS:
        ref_boxes = references[video]
        ref_ids = link_tracks(ref_boxes, every)
        model_frames = detect(model, args.videos / video, config)
        if len(model_frames) <= max(ref_boxes):
            raise WLitePoseError(
                f"{args.videos / video} has {len(model_frames)} frames; {args.annotations} labels its frame "
                f"{max(ref_boxes)}"
            )
        rows = {}
        for threshold in thresholds:
            out_boxes, out_ids, summary = track(model_frames, threshold, model.info.sigmas, ref_boxes)
            rows[threshold] = {**summary, **score(ref_boxes, ref_ids, out_boxes, out_ids)}
        report[video] = {
            "labelled_frames": len(ref_boxes),
            "reference_tracks": int(max(map(max, ref_ids.values())) + 1),
            "reference_people": sum(map(len, ref_boxes.values())),
            "by_threshold": rows,
        }
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    size = args.size or model.info.input_size
    print(
        f"model {args.model.name}, input {size}, keypoint threshold {args.keypoint_threshold}, "
        f"stray factor {args.stray_factor or 'off'}"
    )
    for video, r in report.items():
        print(
            f"\n{video}: {r['labelled_frames']} labelled frames, {r['reference_people']} people in "
            f"{r['reference_tracks']} reference tracks"
        )
        print("threshold    IDF1  ID sw.  recall  precision    IDs  people/frame  median track")
        for threshold, m in r["by_threshold"].items():
            print(
                f"{threshold:9.3f}  {m['idf1']:6.3f}  {m['id_switches']:6d}  {m['recall']:6.3f}  {m['precision']:9.3f}"
                f"  {m['ids']:5d}  {m['people_per_frame']:12.1f}  {m['median_track']:12.1f}"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
