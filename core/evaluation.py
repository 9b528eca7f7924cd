"""OKS evaluation with pycocotools (an optional extra, imported lazily): COCO-17 and CrowdPose-14 files."""

from __future__ import annotations

import contextlib
import io
import json
from pathlib import Path

import cv2
import numpy as np

from core.decode import DecodeConfig
from core.errors import WLitePoseError
from core.pipeline import PipelineConfig, PosePipeline
from core.session import PoseModel
from core.sinks.coco_json import coco_results

STAT_NAMES = ("AP", "AP50", "AP75", "APm", "APl", "AR")  # COCOeval.stats[0, 1, 2, 3, 4, 5] for keypoints
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


def load_annotations(annotations_path: str | Path) -> dict:
    """The dataset dict, with the fields pycocotools needs filled in (CrowdPose files lack ``area``)."""
    try:
        data = json.loads(Path(annotations_path).read_text(encoding="utf-8"))
        annotations = data["annotations"]
        data["images"], data["categories"]
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise WLitePoseError(f"{annotations_path} is not a COCO-format keypoint file ({error})") from None
    if not data["categories"]:
        raise WLitePoseError(f"{annotations_path} has no categories; a keypoint file names its person category")
    for ann in annotations:
        ann.setdefault("iscrowd", 0)
        if "area" not in ann:
            x, y, w, h = ann.get("bbox", (0, 0, 0, 0))
            ann["area"] = float(w * h)
        ann.setdefault("num_keypoints", int(np.count_nonzero(np.asarray(ann.get("keypoints", []))[2::3])))
    if not any(ann["num_keypoints"] > 0 and not ann["iscrowd"] for ann in annotations):
        raise WLitePoseError(f"{annotations_path} has no annotated people, so there is nothing to score")
    return data


def coco_evaluate(results: list[dict], annotations_path: str | Path, sigmas) -> dict[str, float]:
    """OKS AP/AR of ``results`` (COCO keypoint results) against the annotations, with per-keypoint ``sigmas``."""
    _pycocotools()
    return score_results(results, load_annotations(annotations_path), sigmas, annotations_path)


def score_results(results: list[dict], data: dict, sigmas, source: str | Path = "the annotations") -> dict[str, float]:
    """pycocotools' OKS AP/AR of ``results`` against a dataset dict from ``load_annotations`` (read from ``source``)."""
    k = len(data["annotations"][0]["keypoints"]) // 3 if data["annotations"] else len(sigmas)
    if k != len(sigmas):
        raise WLitePoseError(f"{source} has {k} keypoints per person but the model has {len(sigmas)}")
    COCO, COCOeval = _pycocotools()
    if not results:
        return {name: 0.0 for name in STAT_NAMES}
    with contextlib.redirect_stdout(io.StringIO()):
        gt = COCO()
        gt.dataset = data
        gt.createIndex()
        dt = gt.loadRes(results)
        evaluator = COCOeval(gt, dt, "keypoints")
        evaluator.params.kpt_oks_sigmas = np.asarray(sigmas, dtype=np.float64)
        evaluator.evaluate()
        evaluator.accumulate()
        evaluator.summarize()
    return {name: float(max(evaluator.stats[i], 0.0)) for i, name in enumerate(STAT_NAMES)}


def predict_dataset(model: PoseModel, data: dict, images_dir: str | Path, input_size: int) -> list[dict]:
    pipeline = PosePipeline(model, PipelineConfig(input_size=input_size, decode=EVAL_DECODE, tracker=None))
    category = int(data["categories"][0]["id"])
    results: list[dict] = []
    for image_info in data["images"]:
        path = Path(images_dir) / image_info["file_name"]
        image = cv2.imread(str(path), cv2.IMREAD_COLOR)
        if image is None:
            raise WLitePoseError(f"image {path} is missing or unreadable")
        poses = pipeline.process(image, 0.0).poses
        results += coco_results(image_info["id"], poses, category)
    return results


def evaluate_model(
    model: PoseModel, annotations_path: str | Path, images_dir: str | Path, input_size: int | None = None
) -> dict[str, float]:
    _pycocotools()
    data = load_annotations(annotations_path)
    results = predict_dataset(model, data, images_dir, input_size or model.info.input_size)
    return score_results(results, data, model.info.sigmas, annotations_path)
