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
# Every joint gets a position (fill_missing): COCO's OKS scores all of them. COCO scores 20 people an image; 20
# peaks a joint, as the AP figures in assets/MODEL_CARD.md were measured.
EVAL_DECODE = DecodeConfig(
    detection_threshold=0.01, keypoint_threshold=0.05, max_people=20, max_candidates=20, fill_missing=True
)


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
    splits = _crowd_splits(data) if crowd_splits else {}
    with _quiet():
        evaluator = _evaluator(results, data, sigmas, source)
        evaluator.evaluate()
        evaluator.accumulate()
        evaluator.summarize()
        stats = _stats(evaluator)
        for name, ids in splits.items():
            if not ids:  # nobody in this split (pycocotools would read no image ids as every image)
                stats[name] = float("nan")
                continue
            evaluator.params.imgIds = ids
            evaluator.evaluate()
            evaluator.accumulate()
            evaluator.summarize()
            stats[name] = _stats(evaluator)["AP"]
    return stats


def _crowd_splits(data: dict) -> dict[str, list]:
    """The ids of the images in each of CROWD_SPLITS when every image of ``data`` has a ``crowdIndex``, else none."""
    if not all("crowdIndex" in image for image in data["images"]):
        return {}
    return {
        name: [image["id"] for image in data["images"] if low <= image["crowdIndex"] < high]
        for name, (low, high) in CROWD_SPLITS.items()
    }


class ImageMatches:
    """One model's results matched to a dataset's people image by image, once: COCOeval.evaluate matches each image
    on its own, so a redraw of the images (core.bootstrap) only adds up its images' matches, as COCOeval.accumulate
    would over the redrawn set, and the whole set's stats (``stats``) are the redraw of every image once. A redraw
    of a 5,000-image set scored from scratch took 23 s: the matching, then accumulate's loops in Python over every
    detection (0.5 s); 0.1 s with the matches reused and added up here."""

    def __init__(self, results: list[dict], data: dict, sigmas, source: str | Path = "the annotations") -> None:
        check_count(data, len(sigmas), source, "the model")
        # copies: pycocotools writes its fields (a result's area and box, a person's ignore flags) into them
        data = {**data, "annotations": [dict(ann) for ann in data["annotations"]]}
        with _quiet():
            self._evaluator = _evaluator([dict(result) for result in results], data, sigmas, source)
            self._evaluator.evaluate()
        ids = self._evaluator.params.imgIds  # sorted; evalImgs runs over them for each area range
        position = {image_id: n for n, image_id in enumerate(ids)}
        self._positions = np.array([position[image["id"]] for image in data["images"]], dtype=np.int64)
        # every image once in COCOeval's order (sorted ids), the order its accumulate ranks two images' tied people in
        self._in_order = np.argsort(self._positions)
        self._splits = {name: self._in_order[np.isin(ids, split)] for name, split in _crowd_splits(data).items()}
        evaluated = self._evaluator.evalImgs  # the person category only: one run of the images per area range
        thresholds = len(self._evaluator.params.iouThrs)
        self._areas = [
            _AreaMatches(evaluated[area * len(ids) : (area + 1) * len(ids)], thresholds)
            for area in range(len(self._evaluator.params.areaRng))
        ]

    def __len__(self) -> int:
        """The number of images in the dataset (a redraw's picks index them)."""
        return len(self._positions)

    def stats(self) -> dict[str, float]:
        """score_results' stats of the whole set, bit for bit, CrowdPose's splits included: COCOeval.accumulate
        over every image once, then over each split's images, as score_results scores it."""
        stats = self.scores(self._in_order)
        for name, picks in self._splits.items():
            stats[name] = self.scores(picks)["AP"]
        return stats

    def scores(self, picks: np.ndarray) -> dict[str, float]:
        """score_results' stats (without crowd splits) of the images ``picks`` (indices into the dataset's images;
        one drawn twice counts twice) taken as a dataset of their own."""
        params = self._evaluator.params
        precision = -np.ones((len(params.iouThrs), len(params.recThrs), 1, len(self._areas), 1))  # -1: nobody
        recall = -np.ones((len(params.iouThrs), 1, len(self._areas), 1))
        for a, area in enumerate(self._areas):
            area.accumulate(self._positions[picks], params.recThrs, precision[:, :, 0, a, 0], recall[:, 0, a, 0])
        self._evaluator.eval = {"params": params, "precision": precision, "recall": recall}
        with _quiet():
            self._evaluator.summarize()
        return _stats(self._evaluator)


class _AreaMatches:
    """One area range's matches of every image (COCOeval.evalImgs), packed image after image into flat arrays of
    detections, so that a redraw gathers its images' detections at once."""

    def __init__(self, evaluated: list[dict | None], iou_thresholds: int) -> None:
        kept = [e for e in evaluated if e is not None]  # None: an image with nobody and no detection
        self._counts = np.array([0 if e is None else len(e["dtScores"]) for e in evaluated], dtype=np.int64)
        self._starts = np.cumsum(self._counts) - self._counts
        # labelled people not ignored (outside the area range, crowd regions, no joints): the recall's divisor
        self._people = np.array([0 if e is None else np.count_nonzero(e["gtIgnore"] == 0) for e in evaluated])
        self._scores = np.concatenate([[]] + [e["dtScores"] for e in kept])
        none = np.zeros((iou_thresholds, 0))  # (IoU thresholds, detections) below
        matched = np.concatenate([none] + [e["dtMatches"] for e in kept], axis=1)  # the person's id, else 0
        ignored = np.concatenate([none] + [e["dtIgnore"] for e in kept], axis=1).astype(bool)
        self._true, self._false = (matched != 0) & ~ignored, (matched == 0) & ~ignored

    def accumulate(self, positions: np.ndarray, thresholds: np.ndarray, precision: np.ndarray, recall: np.ndarray):
        """COCOeval.accumulate's ``precision`` (IoU thresholds, recall ``thresholds``) and ``recall`` (IoU thresholds)
        of the images at ``positions`` in draw order, written in place, bit for bit; left at -1 with nobody to count."""
        people = int(self._people[positions].sum())
        if people == 0:
            return
        counts = self._counts[positions]
        drawn = np.repeat(self._starts[positions] - (np.cumsum(counts) - counts), counts) + np.arange(counts.sum())
        # by score, high first; a stable sort keeps tied detections in draw order, as accumulate's mergesort does
        order = drawn[np.argsort(-self._scores[drawn], kind="mergesort")]
        tp = np.cumsum(self._true[:, order], axis=1).astype(float)
        fp = np.cumsum(self._false[:, order], axis=1).astype(float)
        detections = len(order)
        if not detections:  # people, none found
            recall[:], precision[:] = 0, 0
            return
        recalled = tp / people
        recall[:] = recalled[:, -1]
        # the precision at each recall is the best at that recall or beyond (accumulate's backward loop)
        envelope = np.maximum.accumulate((tp / (fp + tp + np.spacing(1)))[:, ::-1], axis=1)[:, ::-1]
        for t, row in enumerate(recalled):
            at = np.searchsorted(row, thresholds, side="left")
            precision[t] = np.where(at < detections, envelope[t, np.minimum(at, detections - 1)], 0.0)


def _evaluator(results: list[dict], data: dict, sigmas, source: str | Path):
    """A pycocotools COCOeval of ``results`` against ``data``'s people of its keypoint category, not yet run."""
    COCO, COCOeval = _pycocotools()
    _check_result_images(results, data, source)
    gt = _indexed(COCO(), data)
    # loadRes refuses an empty list; no detections are a result set with no annotations
    dt = gt.loadRes(results) if results else _indexed(COCO(), {**data, "annotations": []})
    evaluator = COCOeval(gt, dt, "keypoints")
    evaluator.params.kpt_oks_sigmas = np.asarray(sigmas, dtype=np.float64)
    evaluator.params.catIds = [keypoint_category(data)]
    return evaluator


def _check_result_images(results: list[dict], data: dict, source: str | Path) -> None:
    """WLitePoseError for a result of an image ``data`` does not have: pycocotools' loadRes asserts (a traceback)."""
    known = {image["id"] for image in data["images"]}
    strays = [result["image_id"] for result in results if result["image_id"] not in known]
    if strays:
        raise WLitePoseError(f"results name image {strays[0]!r}, which {source} does not have")


def _quiet():
    return contextlib.redirect_stdout(io.StringIO())  # pycocotools prints each step


def _stats(evaluator) -> dict[str, float]:
    """The summarized ``evaluator``'s STAT_NAMES."""
    return {name: _defined(evaluator.stats[i]) for i, name in enumerate(STAT_NAMES)}


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
    model: PoseModel,
    annotations_path: str | Path,
    images_dir: str | Path,
    input_size: int | None = None,
    data: dict | None = None,
) -> dict[str, float]:
    _pycocotools()
    if data is None:  # else the file as read already
        data = load_annotations(annotations_path, model.info.keypoint_names)
    results = predict_dataset(model, data, images_dir, input_size or model.info.input_size)
    sigmas, _ = scoring_sigmas(model.info.keypoint_names, model.info.sigmas)
    return score_results(results, data, sigmas, annotations_path)
