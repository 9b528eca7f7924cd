"""OKS evaluation with pycocotools (an optional extra, imported lazily): a model run over the images of a COCO-17
or CrowdPose-14 file (core.annotations), and its poses scored against the file's people."""

from __future__ import annotations

import contextlib
import io
import math
from pathlib import Path

import numpy as np

from core.annotations import check_count, keypoint_category, load_annotations
from core.decode import DecodeConfig
from core.errors import WLitePoseError
from core.labelled_images import read_labelled_image
from core.oks import scoring_sigmas
from core.pipeline import PipelineConfig, PosePipeline
from core.preprocess import too_small
from core.session import PoseModel
from core.sinks.coco_json import coco_results

STAT_NAMES = ("AP", "AP50", "AP75", "APm", "APl", "AR")  # COCOeval.stats[0, 1, 2, 3, 4, 5] for keypoints
# CrowdPose's AP by image crowd index (its `crowdIndex`): easy below 0.2, medium below 0.8, hard above
CROWD_SPLITS = {"AP_easy": (0.0, 0.2), "AP_medium": (0.2, 0.8), "AP_hard": (0.8, float("inf"))}
# Evaluation ranks people by score, so weak people and joints are kept rather than dropped.
# Every joint gets a position (fill_missing): COCO's OKS scores all of them.
EVAL_DECODE = DecodeConfig(detection_threshold=0.01, keypoint_threshold=0.05, max_people=20, fill_missing=True)


def _pycocotools():
    try:
        from pycocotools.coco import COCO
        from pycocotools.cocoeval import COCOeval
    except ImportError:
        raise WLitePoseError("evaluation needs pycocotools: pip install pycocotools (or the train extra)") from None
    return COCO, COCOeval


def score_results(
    results: list[dict], data: dict, sigmas, source: str | Path = "the annotations", crowd_splits: bool = True
) -> dict[str, float]:
    """pycocotools' OKS AP/AR of ``results`` against a dataset dict from ``load_annotations`` (read from
    ``source``); a score with nobody to count (APm on a set without medium-sized people) is NaN. Images with
    a ``crowdIndex`` (CrowdPose) add CrowdPose's AP_easy / AP_medium / AP_hard unless ``crowd_splits`` is off."""
    check_count(data, len(sigmas), source, "the model")
    COCO, COCOeval = _pycocotools()
    splits = {}
    if crowd_splits and all("crowdIndex" in image for image in data["images"]):
        for name, (low, high) in CROWD_SPLITS.items():
            splits[name] = [image["id"] for image in data["images"] if low <= image["crowdIndex"] < high]
    with contextlib.redirect_stdout(io.StringIO()):
        gt = _indexed(COCO(), data)
        # loadRes refuses an empty list; no detections are a result set with no annotations
        dt = gt.loadRes(results) if results else _indexed(COCO(), {**data, "annotations": []})
        evaluator = COCOeval(gt, dt, "keypoints")
        evaluator.params.kpt_oks_sigmas = np.asarray(sigmas, dtype=np.float64)
        evaluator.params.catIds = [keypoint_category(data)]
        evaluator.evaluate()
        evaluator.accumulate()
        evaluator.summarize()
        stats = {name: _defined(evaluator.stats[i]) for i, name in enumerate(STAT_NAMES)}
        for name, ids in splits.items():
            if not ids:  # nobody in this split (pycocotools would read no image ids as every image)
                stats[name] = float("nan")
                continue
            evaluator.params.imgIds = ids
            evaluator.evaluate()
            evaluator.accumulate()
            evaluator.summarize()
            stats[name] = _defined(evaluator.stats[0])
    return stats


def _indexed(coco, dataset: dict):
    """A pycocotools COCO object over ``dataset``, indexed."""
    coco.dataset = dataset
    coco.createIndex()
    return coco


def json_ready(value):
    """``value`` (stats, nested in dicts and lists) with NaN as null, which JSON has (NaN is not JSON)."""
    if isinstance(value, dict):
        return {k: json_ready(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_ready(v) for v in value]
    return None if isinstance(value, float) and math.isnan(value) else value


def _defined(value: float) -> float:
    return float(value) if value >= 0 else float("nan")  # pycocotools' -1: nobody to count


def predict_dataset(model: PoseModel, data: dict, images_dir: str | Path, input_size: int) -> list[dict]:
    pipeline = PosePipeline(model, PipelineConfig(input_size=input_size, decode=EVAL_DECODE, tracker=None))
    category = keypoint_category(data)
    results: list[dict] = []
    for image_info in data["images"]:
        image = read_labelled_image(Path(images_dir) / image_info["file_name"], image_info)
        if too_small((image.shape[1], image.shape[0])):  # as track passes it over: its people count as missed
            continue
        poses = pipeline.process(image, 0.0).poses
        results += coco_results(image_info["id"], poses, category)
    return results


def evaluate_model(
    model: PoseModel, annotations_path: str | Path, images_dir: str | Path, input_size: int | None = None
) -> dict[str, float]:
    _pycocotools()
    data = load_annotations(annotations_path)
    results = predict_dataset(model, data, images_dir, input_size or model.info.input_size)
    sigmas, _ = scoring_sigmas(model.info.keypoint_names, model.info.sigmas)
    return score_results(results, data, sigmas, annotations_path)
