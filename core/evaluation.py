"""OKS evaluation with pycocotools (an optional extra, imported lazily): COCO-17 and CrowdPose-14 files."""

from __future__ import annotations

import contextlib
import io
import json
import math
from pathlib import Path

import numpy as np

from core.decode import DecodeConfig
from core.errors import WLitePoseError
from core.oks import scoring_sigmas
from core.pipeline import PipelineConfig, PosePipeline
from core.preprocess import too_small
from core.progress import first_few
from core.session import PoseModel
from core.sinks.coco_json import coco_results
from core.sources import read_image

STAT_NAMES = ("AP", "AP50", "AP75", "APm", "APl", "AR")  # COCOeval.stats[0, 1, 2, 3, 4, 5] for keypoints
# CrowdPose's AP by image crowd index (its `crowdIndex`): easy below 0.2, medium below 0.8, hard above
CROWD_SPLITS = {"AP_easy": (0.0, 0.2), "AP_medium": (0.2, 0.8), "AP_hard": (0.8, float("inf"))}
# Names a benchmark's own files give a keypoint this project names otherwise: CrowdPose's JSON calls the top of
# the head "head", its schema here (as mmpose's) "top_head".
KEYPOINT_ALIASES = {"head": "top_head"}
SEGMENT_SHARE = 0.53  # CrowdPose's area for a person without one: 0.53 x box area (its cocoeval, use_area=False)
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


def read_json(path: str | Path):
    """A JSON file's content; one saved with a byte-order mark (Windows PowerShell 5, Notepad) reads too."""
    return json.loads(Path(path).read_text(encoding="utf-8-sig"))


def read_dataset(path: str | Path) -> dict:
    """An annotation file's content, whose ``images`` and ``annotations`` are lists; WLitePoseError saying in
    words why it is not one (not Python's wording of the fault: 'list indices must be integers')."""
    what = f"{path} is not a COCO-format keypoint file"
    if Path(path).is_dir():  # Windows says "Permission denied" of a folder opened as a file
        raise WLitePoseError(f"{path} is a folder, not a COCO-format keypoint file")
    try:
        data = read_json(path)
    except OSError as error:
        raise WLitePoseError(f"cannot read {path} ({error.strerror})") from None
    except UnicodeDecodeError:
        raise WLitePoseError(f"{what} (it is not text: the file is JSON)") from None
    except json.JSONDecodeError as error:
        raise WLitePoseError(f"{what} (not valid JSON at line {error.lineno}: {error.msg})") from None
    except RecursionError:  # nested past Python's limit
        raise WLitePoseError(f"{what} (its JSON is nested too deeply)") from None
    except ValueError:  # an integer of more digits than Python converts (4,300)
        raise WLitePoseError(f"{what} (it holds a number too long to read)") from None
    if not isinstance(data, dict):
        raise WLitePoseError(f"{what} (it holds a JSON {type(data).__name__}, not an object of images and annotations)")
    for key in ("images", "annotations"):
        if not isinstance(data.get(key), list):
            raise WLitePoseError(f"{what} (it has no '{key}' list)")
    return data


def load_annotations(annotations_path: str | Path) -> dict:
    """The dataset dict, checked, with the fields pycocotools needs filled in: ``area`` where missing
    (CrowdPose files), zero keypoints for crowd regions given as a box or polygon only, a box from the
    labelled joints where one is missing. WLitePoseError naming the first fault of a malformed file."""
    data = read_dataset(annotations_path)
    annotations, images, categories = data["annotations"], data["images"], data.get("categories")
    if not isinstance(categories, list):
        raise WLitePoseError(f"{annotations_path} is not a COCO-format keypoint file (it has no 'categories' list)")
    if not categories:
        raise WLitePoseError(f"{annotations_path} has no categories; a keypoint file names its person category")
    for c in categories:  # pycocotools indexes every category by its id
        if not isinstance(c, dict) or "id" not in c:
            raise WLitePoseError(f"{annotations_path}: every category needs an id ({_as_written(c, 80)})")
        name = str(c.get("name"))[:40]
        _check_id(c["id"], f"category {name}'s id", annotations_path)
        if not isinstance(c.get("keypoints") or [], list):
            raise WLitePoseError(f"{annotations_path}: category {name}'s keypoints are not a list")
    category = keypoint_category(data)
    k = _keypoint_count(data, category)
    for image in images:
        if not isinstance(image, dict) or "id" not in image or not has_file_name(image):
            raise WLitePoseError(
                f"{annotations_path}: every image needs an id and a file_name ({_as_written(image, 80)})"
            )
        if "crowdIndex" in image and not is_number(image["crowdIndex"]):
            raise WLitePoseError(f"{annotations_path}: image {image['file_name']}'s crowdIndex is not a number")
    check_image_ids(images, annotations_path, annotations)
    people = {c["id"] for c in categories if c.get("keypoints")} | {category}
    for number, ann in enumerate(annotations, 1):
        _normalise(ann, k, annotations_path)
        ann["id"] = number  # pycocotools keeps one person per id: two files merged would share them
        if is_person(ann, people):  # people of every keypoint category are scored, as trained
            ann["category_id"] = category
    listed = {image["id"] for image in images}
    labelled = [a for a in annotations if a["num_keypoints"] > 0 and not a["iscrowd"] and a["image_id"] in listed]
    if not labelled:
        raise WLitePoseError(f"{annotations_path} has no annotated people, so there is nothing to score")
    if not any(ann["category_id"] == category for ann in labelled):  # COCOeval would find nobody: every AP n/a
        given = ", ".join(sorted({_as_written(ann["category_id"], 40) for ann in labelled})[:3])
        raise WLitePoseError(
            f"{annotations_path}: its annotated people have category_id {given}, none of them a category with "
            f"keypoints (its person category is {_as_written(category, 40)}); give them that id"
        )
    return data


def is_person(ann: dict, categories: set) -> bool:
    """An annotation of one of the keypoint ``categories``, or of none (a file naming no category per person)."""
    return "category_id" not in ann or ann["category_id"] in categories


def check_image_ids(images: list, source, annotations: list) -> None:
    """WLitePoseError if two of ``images`` share an id (two files merged: one image's people would be paired
    with the other's pixels), one is not a whole number or text, the ids mix numbers and text, or one of
    ``annotations`` names its image in the other kind ("2" for the image of id 2 names none: its person would
    be left out unsaid)."""
    for image in images:
        _check_id(image["id"], f"image {str(image.get('file_name'))[:40]}'s id", source)
    ids = [image["id"] for image in images]
    seen: set = set()
    twice = next((i for i in ids if i in seen or seen.add(i)), None)
    if twice is not None:
        raise WLitePoseError(f"{source} lists the image id {_as_written(twice, 40)} twice; give each image its own id")
    if len({isinstance(i, str) for i in ids}) > 1:
        raise WLitePoseError(f"{source} mixes image ids that are numbers with ids that are text; use one kind")
    text = bool(ids) and isinstance(ids[0], str)
    for ann in annotations if ids else ():  # a malformed annotation is refused by the checks of its own fields
        named = ann.get("image_id") if isinstance(ann, dict) else None
        if _is_id(named) and isinstance(named, str) != text:  # one that is no id is refused as such
            raise WLitePoseError(
                f"{source}: annotation {ann.get('id')}'s image_id is {_as_written(named, 40)}, where the images' ids "
                f"are {'text' if text else 'numbers'}; write it as its image's id is written"
            )


def has_file_name(image: dict) -> bool:
    """Whether an annotation file's image entry names its file (a null or empty name is none)."""
    return isinstance(image.get("file_name"), str) and bool(image["file_name"])


def check_region(ann: dict) -> None:
    """ValueError unless ``ann``'s ``iscrowd`` is 0 or 1 and its segmentation, if any, is polygons (lists of x, y
    numbers) or a mask (an RLE: a size of height and width, counts as text or as runs of pixels): found when the
    file is read, not by a loader hours in."""
    if ann.get("iscrowd", 0) not in (0, 1):
        raise ValueError(f"annotation {ann.get('id')} has iscrowd {_as_written(ann['iscrowd'], 40)}, not 0 or 1")
    region = ann.get("segmentation")
    if not region:
        return
    if isinstance(region, dict) and {"counts", "size"} <= region.keys():
        size, counts = region["size"], region["counts"]
        sized = isinstance(size, list) and len(size) == 2 and all(_is_count(side) and side > 0 for side in size)
        if not sized or not (isinstance(counts, str) or isinstance(counts, list) and all(map(_is_count, counts))):
            raise ValueError(
                f"annotation {ann.get('id')} has a mask (RLE) whose size is not a height and width or whose counts "
                "are neither text nor runs of pixels"
            )
        return
    polygons = isinstance(region, list) and all(
        isinstance(polygon, list) and len(polygon) % 2 == 0 and all(is_number(v) for v in polygon) for polygon in region
    )
    if not polygons:
        raise ValueError(
            f"annotation {ann.get('id')} has a segmentation that is neither polygons (lists of x, y numbers) nor a "
            "mask (an RLE with counts and size)"
        )


def check_fields(ann: dict) -> None:
    """ValueError naming ``ann`` and its field unless its keypoints (if any) are a list, three values a keypoint,
    its bbox (if any) four numbers, its area (if any) a finite number, and its iscrowd and segmentation as
    ``check_region`` wants: said when the file is read, not by a loader hours in or half-way through a copy."""
    name = f"annotation {ann.get('id')}"
    keypoints = ann.get("keypoints")
    if keypoints and not isinstance(keypoints, list):
        raise ValueError(f"{name} has keypoints that are not a list of x, y, v numbers, three per keypoint")
    if keypoints and len(keypoints) % 3:
        raise ValueError(f"{name} has {len(keypoints)} keypoint values, not three (x, y, v) per keypoint")
    box = ann.get("bbox")
    if box is not None and not (isinstance(box, list) and len(box) == 4 and all(map(is_number, box))):
        raise ValueError(f"{name} has a bbox that is not four numbers (x, y, width, height)")
    if ann.get("area") is not None and not is_number(ann["area"]):
        raise ValueError(f"{name} has an area that is not a finite number")
    check_region(ann)


def _as_written(value, length: int) -> str:
    """``value`` as its JSON file writes it (``true``, ``null``, ``"1"`` for text, ``1`` for a number), cut to
    ``length`` characters for a message."""
    return json.dumps(value, ensure_ascii=False, default=str)[:length]


def _check_id(value, what: str, source) -> None:
    """WLitePoseError unless ``value`` can be an id."""
    if not _is_id(value):
        raise WLitePoseError(f"{source}: {what} is {_as_written(value, 40)}, not a whole number or text")


def _is_id(value) -> bool:
    """A whole number or text (a list, an object, 1.5, NaN or True is none: results name their image by an
    integer)."""
    whole = isinstance(value, int) and not isinstance(value, bool) or isinstance(value, float) and value.is_integer()
    return whole or isinstance(value, str)


def _is_count(value) -> bool:
    """A whole number of at least 0 (True is none)."""
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def is_number(value) -> bool:
    """A finite int or float (a 400-digit integer is none: no float holds it)."""
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        return False
    try:
        return math.isfinite(value)
    except OverflowError:
        return False


def check_mask_size(ann: dict, width: int, height: int, source) -> None:
    """WLitePoseError if ``ann``'s segmentation is a mask (RLE) of another size than its image, ``width`` x
    ``height`` (made before the images were resized): it would stretch, or fail, over the image."""
    mask = ann.get("segmentation")
    if isinstance(mask, dict) and list(mask.get("size", (height, width))) != [height, width]:
        raise WLitePoseError(
            f"{source}: the region of annotation {ann.get('id')} is a mask of {mask['size'][1]}x{mask['size'][0]} "
            f"on an image of {width}x{height}: it was made for another size"
        )


_STORED: set[tuple[str, tuple]] = set()  # (image, labelled size) read as stored, not as their EXIF turn shows


def read_labelled_image(path: Path, info: dict) -> np.ndarray:
    """The image of ``info`` (an annotation file's entry) as its labels see it: a phone photo's stored pixels
    when the file's width and height are those (its EXIF rotation is not applied then); WLitePoseError if the
    image is missing or unreadable, or of another size than the file says (resized after labelling)."""
    size = (info.get("width"), info.get("height"))
    as_stored = (str(path), size) in _STORED  # learnt at the image's first read: one decode a read after
    image = read_image(path, apply_orientation=not as_stored)
    if image is None:
        raise WLitePoseError(f"image {path} is missing or unreadable")
    if not all(isinstance(side, int) and side > 0 for side in size) or image.shape[1::-1] == size:
        return image
    stored = None if as_stored else read_image(path, apply_orientation=False)
    if stored is not None and stored.shape[1::-1] == size:
        _STORED.add((str(path), size))
        return stored
    raise WLitePoseError(
        f"image {path} is {image.shape[1]}x{image.shape[0]}, but its annotations say {size[0]}x{size[1]}: "
        "its labels would not fall on its people (was it resized after labelling?)"
    )


def keypoint_category(data: dict) -> int | str:
    """The id of the dataset's person-keypoint category: the first that lists keypoints (else the first)."""
    with_keypoints = [c for c in data["categories"] if isinstance(c, dict) and c.get("keypoints")]
    chosen = (with_keypoints or data["categories"])[0]
    return chosen["id"] if isinstance(chosen, dict) and "id" in chosen else 1


def _keypoint_count(data: dict, category) -> int:
    named = _category_names(data, category)
    if named:
        return len(named)
    lengths = [len(a["keypoints"]) for a in data["annotations"] if isinstance(a, dict) and a.get("keypoints")]
    return lengths[0] // 3 if lengths else 0


def _category_names(data: dict, category) -> list[str] | None:
    return next(
        (c.get("keypoints") for c in data["categories"] if isinstance(c, dict) and c.get("id") == category), None
    )


def check_images(names: list[str], images_dir: str | Path, source) -> None:
    """WLitePoseError naming the first few of ``names`` (the images ``source`` lists) not in ``images_dir``:
    found before hours of work, not by a loader half-way through. A name reaching out of the folder (``/x.jpg``,
    ``../x.jpg``, ``C:x.jpg`` on Windows) is refused: a file from elsewhere could have any image on the disk read."""
    outside = [name for name in names if Path(name).anchor or ".." in Path(name).parts]
    if outside:
        raise WLitePoseError(
            f"{source} names an image outside its images folder: {outside[0]} (name each image within that folder)"
        )
    missing = [name for name in names if not (Path(images_dir) / name).is_file()]
    if missing:
        counted = f"1 image of {source} is" if len(missing) == 1 else f"{len(missing)} images of {source} are"
        raise WLitePoseError(f"{counted} not in {images_dir}: {first_few(missing)}")


def keypoint_values(values, k: int, ann_id) -> np.ndarray:
    """(k, 3) float64 x, y, v of an annotation's flat keypoint list: an unlabelled joint (v 0) may have no
    position (null, NaN: it becomes 0, 0, as COCO writes it), a labelled one must; ValueError otherwise."""
    try:
        array = np.asarray([np.nan if v is None else v for v in values], dtype=np.float64).reshape(k, 3)
    except (TypeError, ValueError, OverflowError):  # a 400-digit integer is no coordinate either
        raise ValueError(f"annotation {ann_id} has keypoints that are not numbers") from None
    if not np.isfinite(array[:, 2]).all():
        raise ValueError(f"annotation {ann_id} has a keypoint whose visibility v is not a number (null, NaN or inf)")
    labelled = array[:, 2] > 0
    if not np.isfinite(array[labelled, :2]).all():
        raise ValueError(f"annotation {ann_id} has a labelled keypoint without a position (null, NaN or inf)")
    array[~labelled & ~np.isfinite(array).all(axis=1)] = 0.0
    return array


def _normalise(ann, k: int, source) -> None:
    if not isinstance(ann, dict) or "image_id" not in ann:
        raise WLitePoseError(f"{source}: every annotation needs an image_id ({_as_written(ann, 80)})")
    _check_id(ann["image_id"], f"annotation {ann.get('id')}'s image_id", source)
    if "category_id" in ann:
        _check_id(ann["category_id"], f"annotation {ann.get('id')}'s category_id", source)
    ann.setdefault("iscrowd", 0)
    for key in ("bbox", "area"):  # null: none given, worked out below as where it is missing
        if key in ann and ann[key] is None:
            del ann[key]
    if not ann.get("keypoints"):  # a crowd region as a box or polygon: no joint to score, an area to ignore
        ann["keypoints"] = [0] * (3 * k)
    try:
        check_fields(ann)
        if len(ann["keypoints"]) != 3 * k:
            raise ValueError(
                f"annotation {ann.get('id')} has {len(ann['keypoints'])} keypoint values, not {3 * k} "
                f"({k} keypoints x, y, v)"
            )
        keypoints = keypoint_values(ann["keypoints"], k, ann.get("id"))
    except ValueError as error:
        raise WLitePoseError(f"{source}: {error}") from None
    ann["keypoints"] = keypoints.ravel().tolist()  # what pycocotools reads: numbers only
    labelled = keypoints[keypoints[:, 2] > 0]
    if not isinstance(ann.get("num_keypoints"), int) or (ann["num_keypoints"] > 0) != (len(labelled) > 0):
        ann["num_keypoints"] = len(labelled)  # scored as trained: a person with labelled joints, or not
    if "bbox" not in ann:
        if not len(labelled):
            raise WLitePoseError(f"{source}: annotation {ann.get('id')} has neither a bbox nor a labelled keypoint")
        (x0, y0), (x1, y1) = labelled[:, :2].min(axis=0), labelled[:, :2].max(axis=0)
        ann["bbox"] = [float(x0), float(y0), float(x1 - x0), float(y1 - y0)]
    if "area" not in ann:
        ann["area"] = SEGMENT_SHARE * float(ann["bbox"][2] * ann["bbox"][3])
    if ann["num_keypoints"] and not ann["iscrowd"] and not ann["area"] > 0:  # OKS divides by it
        raise WLitePoseError(
            f"{source}: annotation {ann.get('id')} has an area of 0, so no pose could match it; give it a bbox or area"
        )


def check_keypoints(data: dict, names, source: str | Path = "the annotations", model: str | Path = "the model") -> None:
    """WLitePoseError if the dataset's people have another number of keypoints than ``model`` (whose keypoints
    are ``names``), or the same keypoint names in another order."""
    _check_count(data, len(names), source, model)
    check_keypoint_order(data, names, source, model)


def check_keypoint_order(
    data: dict, names, source: str | Path = "the annotations", model: str | Path = "the model"
) -> None:
    """WLitePoseError if the dataset's category names ``names``' keypoints in another order (its flip map and
    OKS sigmas would then belong to other joints)."""
    if not isinstance(data.get("categories"), list) or not data["categories"]:
        return  # nothing names the keypoints: their order cannot be checked
    listed = _category_names(data, keypoint_category(data))
    if not isinstance(listed, list):
        return
    listed, names = _own_spelling(listed), _own_spelling(names)
    if set(listed) == set(names) and listed != names:
        raise WLitePoseError(f"{source} lists its keypoints in another order than {model}; reorder one to match")


def _own_spelling(names) -> list[str]:
    """``names`` with a keypoint a benchmark's files name otherwise (KEYPOINT_ALIASES) named as here."""
    return [KEYPOINT_ALIASES.get(str(name), str(name)) for name in names]


def _check_count(data: dict, k_model: int, source, model: str | Path) -> None:
    k = len(data["annotations"][0]["keypoints"]) // 3 if data["annotations"] else k_model
    if k != k_model:
        raise WLitePoseError(f"{source} has {k} keypoints per person but {model} has {k_model}")


def score_results(
    results: list[dict], data: dict, sigmas, source: str | Path = "the annotations", crowd_splits: bool = True
) -> dict[str, float]:
    """pycocotools' OKS AP/AR of ``results`` against a dataset dict from ``load_annotations`` (read from
    ``source``); a score with nobody to count (APm on a set without medium-sized people) is NaN. Images with
    a ``crowdIndex`` (CrowdPose) add CrowdPose's AP_easy / AP_medium / AP_hard unless ``crowd_splits`` is off."""
    _check_count(data, len(sigmas), source, "the model")
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
