"""Where a model's OKS AP is lost: in the heatmaps, in grouping, or in the ranking of people.

    python benchmarks/ap_breakdown.py [--model FILE] [--annotations FILE] [--images DIR] [--size N] [--json]

AP mixes three stages; this scores the first two on their own, on the dev set by default, with
COCO's keypoint similarity ks = exp(-d^2 / (2 area (2 sigma)^2)) (d in image pixels, area the
person's, sigma the joint's OKS sigma) and a person's OKS as the mean ks over their labelled joints:

- peaks: the share of labelled joints that have a heatmap peak of their own joint type at
  ks >= 0.5 (peaks as evaluation finds them: local maxima above its joint threshold 0.05, the 20
  strongest a joint). No grouping can place a joint that no peak marks.
- people: the share of labelled people whose best-fitting decoded pose (evaluation's decoding,
  every joint placed) reaches OKS 0.5 or 0.75, over all people, per COCO area range, and for
  people with and without a labelled knee or ankle (seated, close-up or cut by the frame). A
  perfect ranking of the decoded people could match no more at those thresholds.
- AP, AP50 and AR from pycocotools on the same decoded people (as `wlitepose eval` scores them), for comparison.

People marked ``iscrowd`` and people without labelled joints are skipped, as COCOeval skips them.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from ctrl_c import say_interrupted  # noqa: E402

if __name__ == "__main__":
    say_interrupted("ap_breakdown")

from arguments import first_line  # noqa: E402

from core.annotations import check_keypoints, keypoint_category, load_annotations  # noqa: E402
from core.assets import DEFAULT_MODEL  # noqa: E402
from core.decode import decode, limb_links  # noqa: E402
from core.errors import WLitePoseError  # noqa: E402
from core.evaluation import EVAL_DECODE, score_results  # noqa: E402
from core.labelled_images import check_images, read_labelled_image  # noqa: E402
from core.oks import scoring_sigmas  # noqa: E402
from core.peaks import find_peaks, refine_quarter  # noqa: E402
from core.preprocess import check_input_size, letterbox  # noqa: E402
from core.session import PoseModel  # noqa: E402
from core.sinks.coco_json import coco_results  # noqa: E402

DATA = ROOT.parent / "shared" / "data"
AREAS = {"all": (0.0, np.inf), "medium": (32.0**2, 96.0**2), "large": (96.0**2, np.inf)}  # COCOeval's ranges


def similarity(xy: np.ndarray, truth: np.ndarray, area: float, sigmas: np.ndarray) -> np.ndarray:
    """COCO keypoint similarity of positions ``xy`` (..., K, 2) to ``truth`` (K, 2); NaN positions score 0."""
    d2 = ((xy - truth) ** 2).sum(axis=-1)
    return np.nan_to_num(np.exp(-d2 / (2 * area * (2 * sigmas) ** 2)), nan=0.0)


def score_person(
    xy: np.ndarray, truth: np.ndarray, area: float, sigmas: np.ndarray, legs: list[int]
) -> tuple[float, bool]:
    """A labelled person ``truth`` (K, 3: x, y, visibility) against the decoded poses ``xy`` (N, K, 2): the best
    OKS over the person's labelled joints (0 without a pose), and whether a joint of ``legs`` is labelled."""
    labelled = truth[:, 2] > 0
    oks = similarity(xy, truth[:, :2], area, sigmas)[:, labelled].mean(axis=1)
    return (float(oks.max()) if len(oks) else 0.0), bool(labelled[legs].any())


def people_shares(best: np.ndarray, area: np.ndarray, legged: np.ndarray) -> dict:
    """Per group (all, COCO's medium and large area ranges, with and without a labelled leg joint): how many
    people, the share whose best OKS reaches 0.5 and 0.75, and the median best OKS."""
    groups = {name: (area >= low) & (area < high) for name, (low, high) in AREAS.items()}
    groups.update({"legs": legged, "no legs": ~legged})
    people = {}
    for name, members in groups.items():
        chosen = best[members]
        people[name] = {  # None: nobody in the group to count (printed n/a)
            "people": int(len(chosen)),
            "oks_0.5": float((chosen >= 0.5).mean()) if len(chosen) else None,
            "oks_0.75": float((chosen >= 0.75).mean()) if len(chosen) else None,
            "median_best_oks": float(np.median(chosen)) if len(chosen) else None,
        }
    return people


def breakdown(model: PoseModel, annotations: Path, images: Path, size: int) -> dict:
    data = load_annotations(annotations, model.info.keypoint_names)
    check_images([image["file_name"] for image in data["images"]], images, annotations)  # as `eval` checks them
    info = model.info
    sigmas = np.asarray(scoring_sigmas(info.keypoint_names, info.sigmas)[0])  # as eval scores it
    check_keypoints(data, info.keypoint_names, annotations, model.path)
    category = keypoint_category(data)
    k = info.num_keypoints
    links = limb_links(info.keypoint_names, info.skeleton)
    people_of: dict[int, list[dict]] = {}
    for ann in data["annotations"]:
        if not ann.get("iscrowd") and ann["num_keypoints"] > 0:
            people_of.setdefault(ann["image_id"], []).append(ann)
    joint_hits, joint_total = np.zeros(k), np.zeros(k)
    legs = [j for j, name in enumerate(info.keypoint_names) if "knee" in name or "ankle" in name]
    best_oks, areas, with_legs, results = [], [], [], []
    for image_info in data["images"]:
        image = read_labelled_image(images / image_info["file_name"], image_info)  # as `eval` reads it
        blob, box = letterbox(image, size, info.mean, info.std)
        heatmaps, tags = model.run(blob)
        poses = decode(heatmaps, tags, EVAL_DECODE, info.heatmap_stride, info.tag_stride, links).scaled(box.to_image)
        results += coco_results(image_info["id"], poses, category)
        joint, x, y, _ = find_peaks(heatmaps, EVAL_DECODE.keypoint_threshold, EVAL_DECODE.max_candidates)
        peak_xy = box.to_image(refine_quarter(heatmaps, joint, x, y) * info.heatmap_stride)
        for ann in people_of.get(image_info["id"], []):
            truth = np.asarray(ann["keypoints"], np.float32).reshape(k, 3)
            labelled = truth[:, 2] > 0
            for j in np.flatnonzero(labelled):
                mine = peak_xy[joint == j]
                joint_total[j] += 1
                joint_hits[j] += bool(len(mine)) and similarity(mine, truth[j, :2], ann["area"], sigmas[j]).max() >= 0.5
            best, legged = score_person(poses.xy, truth, ann["area"], sigmas, legs)
            best_oks.append(best)
            areas.append(float(ann["area"]))
            with_legs.append(legged)
    return {
        "peaks": float(joint_hits.sum() / max(joint_total.sum(), 1)),
        "peaks_by_joint": {
            n: float(h / max(t, 1)) for n, h, t in zip(info.keypoint_names, joint_hits, joint_total, strict=True)
        },
        "people": people_shares(np.asarray(best_oks), np.asarray(areas), np.asarray(with_legs, bool)),
        "coco": score_results(results, data, sigmas, annotations),
    }


def describe(report: dict, model_name: str, size: int) -> str:
    """The report as the text the script prints."""
    coco = report["coco"]
    lines = [
        f"model {model_name}, input {size}: AP {coco['AP']:.3f}  AP50 {coco['AP50']:.3f}  AR {coco['AR']:.3f}",
        "",
        f"joints with a peak of their type at ks >= 0.5: {report['peaks']:.3f}",
        "  " + "  ".join(f"{name} {share:.2f}" for name, share in report["peaks_by_joint"].items()),
        "",
        "people whose best decoded pose reaches   OKS 0.5   OKS 0.75   median best OKS",
    ]
    lines += [
        f"  {name:7s} ({row['people']:4d} people)              {_share(row['oks_0.5'], 7)}"
        f"   {_share(row['oks_0.75'], 8)}   {_share(row['median_best_oks'], 15)}"
        for name, row in report["people"].items()
    ]
    return "\n".join(lines)


def _share(value: float | None, width: int) -> str:
    return f"{value:{width}.3f}" if value is not None else f"{'n/a':>{width}}"


def main() -> int:
    parser = argparse.ArgumentParser(description=first_line(__doc__))
    parser.add_argument("--model", type=Path, default=DEFAULT_MODEL, help="ONNX model file (default: the bundled one)")
    parser.add_argument(
        "--annotations",
        type=Path,
        default=DATA / "val" / "annotations.json",
        help="COCO-format keypoint annotations JSON (default: the dev set's)",
    )
    parser.add_argument(
        "--images",
        type=Path,
        default=DATA / "val" / "images",
        help="folder with the annotated images (default: the dev set's)",
    )
    parser.add_argument("--size", type=int, default=None, help="network input size (default: the model's)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args()
    for path in (args.model, args.annotations, args.images):
        if not path.exists():
            print(f"ap_breakdown: {path} does not exist", file=sys.stderr)
            return 2
    try:
        check_input_size(args.size)
        model = PoseModel(args.model)
        size = args.size or model.info.input_size
        report = breakdown(model, args.annotations, args.images, size)
    except WLitePoseError as error:
        print(f"ap_breakdown: {error}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    print(describe(report, args.model.name, size))
    return 0


if __name__ == "__main__":
    sys.exit(main())
