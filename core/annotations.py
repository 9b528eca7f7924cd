"""COCO-format keypoint annotation files (COCO-17, CrowdPose-14): read, checked, and filled in as pycocotools
needs them."""

from __future__ import annotations

import json
from pathlib import Path

from core.annotation_fields import as_written, check_fields, check_id, is_id, is_number, keypoint_values
from core.errors import WLitePoseError

# Names a benchmark's own files give a keypoint this project names otherwise: CrowdPose's JSON calls the top of
# the head "head", its schema here (as mmpose's) "top_head".
KEYPOINT_ALIASES = {"head": "top_head"}
SEGMENT_SHARE = 0.53  # CrowdPose's area for a person without one: 0.53 x box area (its cocoeval, use_area=False)


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
            raise WLitePoseError(f"{annotations_path}: every category needs an id ({as_written(c, 80)})")
        name = str(c.get("name"))[:40]
        check_id(c["id"], f"category {name}'s id", annotations_path)
        if not isinstance(c.get("keypoints") or [], list):
            raise WLitePoseError(f"{annotations_path}: category {name}'s keypoints are not a list")
    category = keypoint_category(data)
    k = _keypoint_count(data, category)
    for image in images:
        if not isinstance(image, dict) or "id" not in image or not has_file_name(image):
            raise WLitePoseError(
                f"{annotations_path}: every image needs an id and a file_name ({as_written(image, 80)})"
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
        given = ", ".join(sorted({as_written(ann["category_id"], 40) for ann in labelled})[:3])
        raise WLitePoseError(
            f"{annotations_path}: its annotated people have category_id {given}, none of them a category with "
            f"keypoints (its person category is {as_written(category, 40)}); give them that id"
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
        check_id(image["id"], f"image {str(image.get('file_name'))[:40]}'s id", source)
    ids = [image["id"] for image in images]
    seen: set = set()
    twice = next((i for i in ids if i in seen or seen.add(i)), None)
    if twice is not None:
        raise WLitePoseError(f"{source} lists the image id {as_written(twice, 40)} twice; give each image its own id")
    if len({isinstance(i, str) for i in ids}) > 1:
        raise WLitePoseError(f"{source} mixes image ids that are numbers with ids that are text; use one kind")
    text = bool(ids) and isinstance(ids[0], str)
    for ann in annotations if ids else ():  # a malformed annotation is refused by the checks of its own fields
        named = ann.get("image_id") if isinstance(ann, dict) else None
        if is_id(named) and isinstance(named, str) != text:  # one that is no id is refused as such
            raise WLitePoseError(
                f"{source}: annotation {ann.get('id')}'s image_id is {as_written(named, 40)}, where the images' ids "
                f"are {'text' if text else 'numbers'}; write it as its image's id is written"
            )


def has_file_name(image: dict) -> bool:
    """Whether an annotation file's image entry names its file (a null or empty name is none)."""
    return isinstance(image.get("file_name"), str) and bool(image["file_name"])


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


def _normalise(ann, k: int, source) -> None:
    if not isinstance(ann, dict) or "image_id" not in ann:
        raise WLitePoseError(f"{source}: every annotation needs an image_id ({as_written(ann, 80)})")
    check_id(ann["image_id"], f"annotation {ann.get('id')}'s image_id", source)
    if "category_id" in ann:
        check_id(ann["category_id"], f"annotation {ann.get('id')}'s category_id", source)
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
    check_count(data, len(names), source, model)
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


def check_count(data: dict, k_model: int, source, model: str | Path) -> None:
    k = len(data["annotations"][0]["keypoints"]) // 3 if data["annotations"] else k_model
    if k != k_model:
        raise WLitePoseError(f"{source} has {k} keypoints per person but {model} has {k_model}")
