"""`wlitepose eval`: OKS AP of a model file on a COCO/CrowdPose-format keypoint set.

With ``--bootstrap`` it adds 95 % intervals over images (core.bootstrap); with ``--baseline``
it scores a second model on the same redraws and gives the interval of the difference.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

import numpy as np

from core.annotations import check_keypoints, load_annotations
from core.bootstrap import bootstrap, interval
from core.errors import WLitePoseError
from core.evaluation import STAT_NAMES, ImageMatches, json_ready, predict_dataset, score_results
from core.labelled_images import check_images
from core.oks import scoring_sigmas
from core.output_lock import check_free, take
from core.preprocess import check_input_size
from core.session import PoseModel, check_threads
from core.sinks.base import atomic_write, refuse_inputs, writable
from core.version import tool_version

DEFAULT_REDRAWS = 1000  # with --baseline
MIN_REDRAWS = 40  # a 95 % interval's ends are the 2.5 % tails: fewer redraws have no draw there
MAX_REDRAWS = 100_000  # 1,000 already settle an interval's ends; 10^8 ran for hours without a word
SHOWN = ("AP", "AR")  # the stats whose intervals are printed; --out has all of them


def run_eval(args: argparse.Namespace) -> int:
    if args.out:
        # the files it reads: the models, the annotations, and an image of the set that has that name
        refuse_inputs([args.out], [args.model, args.baseline, args.annotations, args.images / Path(args.out).name])
    out = writable(args.out) if args.out else None
    if out is not None:
        check_free(out)  # a track writing its COCO JSON there: said now, not after the scoring
    if args.annotations.is_dir():
        raise WLitePoseError(f"annotations file {args.annotations} is a folder; pass the .json file")
    if not args.annotations.is_file():
        raise WLitePoseError(f"annotations file {args.annotations} does not exist")
    if not args.images.is_dir():
        state = "is a file, not a folder" if args.images.exists() else "does not exist"
        raise WLitePoseError(f"images folder {args.images} {state}")
    check_input_size(args.size)
    check_threads(args.threads, "--threads")
    redraws = args.bootstrap if args.bootstrap is not None else (DEFAULT_REDRAWS if args.baseline else 0)
    if redraws < 0 or (args.baseline and redraws == 0):
        raise WLitePoseError(f"--bootstrap must be a positive number of redraws, not {redraws}")
    if redraws > MAX_REDRAWS:
        raise WLitePoseError(
            f"--bootstrap must be at most {MAX_REDRAWS:,} redraws (1,000 settle an interval), not {redraws}"
        )
    if 0 < redraws < MIN_REDRAWS:
        raise WLitePoseError(
            f"--bootstrap must be at least {MIN_REDRAWS} redraws for a 95 % interval (its 2.5 % tails), not {redraws}"
        )
    paths = [args.model] + ([args.baseline] if args.baseline else [])
    models = [PoseModel(path, threads=args.threads) for path in paths]
    data = load_annotations(args.annotations, models[0].info.keypoint_names)  # a baseline's are checked below
    for path, model in zip(paths, models, strict=True):  # before any image goes through a network
        named = "the model" if path is args.model else f"baseline {path}"
        check_keypoints(data, model.info.keypoint_names, args.annotations, named)
    check_images([image["file_name"] for image in data["images"]], args.images, args.annotations)
    bare = _images_without_annotations(data)
    if bare:  # a frame an annotation tool exports unannotated is one: each pose found there is scored false
        print(
            f"wlitepose: note: {bare} of the {len(data['images'])} images {'has' if bare == 1 else 'have'} "
            "no annotation at all: each pose found there counts as a false one",
            file=sys.stderr,
        )
    sigmas, whose = _scoring_sigmas(models)
    sizes = [args.size or model.info.input_size for model in models]
    matches, stats = [], []
    for path, model, size in zip(paths, models, sizes, strict=True):
        results = predict_dataset(model, data, args.images, size)
        if redraws:  # matched once: the whole set's stats and every redraw's come from the same matches
            matches.append(ImageMatches(results, data, sigmas, args.annotations))
            stats.append(matches[-1].stats())
        else:
            stats.append(score_results(results, data, sigmas, args.annotations))
        prefix = "" if model is models[0] else f"baseline {path.name}: "
        print(prefix + "  ".join(f"{name} {_shown(value)}" for name, value in stats[-1].items()))
    summary = dict(stats[0])
    summary["run"] = {  # what the figures came from: kept with them in --out
        "model": str(args.model),
        "model_sha256": models[0].info.sha256,
        "annotations": str(args.annotations),
        "images": str(args.images),
        "input_size": sizes[0],
        "oks_sigmas": whose,
        "bootstrap": redraws,
        "wlitepose_version": tool_version(),
    }
    if args.baseline:
        summary["baseline"] = {
            "model": str(args.baseline),
            "model_sha256": models[1].info.sha256,
            "input_size": sizes[1],
            **stats[1],
        }
    if redraws:
        print(f"bootstrap: {redraws} redraws of the {len(data['images'])} images", file=sys.stderr)
        scores = bootstrap(matches, redraws)
        _add_intervals(summary, scores)
    if out is not None:
        with take(out):
            atomic_write(out, (json.dumps(json_ready(summary), indent=2) + "\n").encode())
        print(f"wlitepose: wrote {out}", file=sys.stderr)
    return 0


def _scoring_sigmas(models: list[PoseModel]) -> tuple[tuple[float, ...], str]:
    """The OKS sigmas every model is scored with (core.oks: a benchmark's for its keypoints, else the model file's
    own, said) and whose they are; WLitePoseError if a baseline's would differ (their APs would not compare)."""
    scoring = [scoring_sigmas(model.info.keypoint_names, model.info.sigmas) for model in models]
    if len(set(scoring)) > 1:
        raise WLitePoseError(
            "the model and the baseline give their keypoints different OKS sigmas (their files' own, for keypoints "
            "neither COCO's nor CrowdPose's): their APs would not compare"
        )
    sigmas, whose = scoring[0]
    if whose == "model":
        print(
            "wlitepose: OKS sigmas: the model file's own (its keypoints are neither COCO's nor CrowdPose's)",
            file=sys.stderr,
        )
    return sigmas, whose


def _images_without_annotations(data: dict) -> int:
    """How many of ``data``'s images (checked by load_annotations) have no annotation at all: a pose found in a
    crowd region or on a person labelled with no joints is not counted against the model, one found there is."""
    annotated = {ann["image_id"] for ann in data["annotations"]}
    return sum(image["id"] not in annotated for image in data["images"])


def _shown(value: float) -> str:
    return "n/a" if math.isnan(value) else f"{value:.3f}"  # n/a: nobody to count (no medium-sized people, say)


def _share_higher(delta: np.ndarray) -> float:
    """The share of redraws where the model scored higher than the baseline, of those where both had someone to
    count (as the interval leaves the others out); NaN where no redraw had."""
    counted = delta[~np.isnan(delta)]
    return float(np.mean(counted > 0)) if len(counted) else float("nan")


def _add_intervals(summary: dict, scores: np.ndarray) -> None:
    """Print and add to ``summary`` the 95 % intervals of (redraws, models, stats) ``scores``."""
    owners = [summary] + ([summary["baseline"]] if "baseline" in summary else [])
    for m, owner in enumerate(owners):
        owner["intervals"] = {name: interval(scores[:, m, i]) for i, name in enumerate(STAT_NAMES)}
        spans = "  ".join(
            f"{name} {owner['intervals'][name][0]:.3f}-{owner['intervals'][name][1]:.3f}" for name in SHOWN
        )
        print(f"95% interval{'' if m == 0 else ' of the baseline'}: {spans}")
    if len(owners) == 1:
        return
    delta = scores[:, 0] - scores[:, 1]
    summary["difference"] = {
        name: {"interval": interval(delta[:, i]), "higher": _share_higher(delta[:, i])}
        for i, name in enumerate(STAT_NAMES)
    }
    parts = []
    for name in SHOWN:
        (low, high), higher = summary["difference"][name]["interval"], summary["difference"][name]["higher"]
        parts.append(f"{name} {low:+.3f} to {high:+.3f} (higher in {higher:.0%} of redraws)")
    print("model - baseline, 95% interval: " + "  ".join(parts))
