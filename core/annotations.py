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


def load_annotations(annotations_path: str | Path, keypoints=None) -> dict:
    """The dataset dict, checked, with the fields pycocotools needs filled in: ``area`` where missing
    (CrowdPose files), zero keypoints for crowd regions given as a box or polygon only, a box from the
    labelled joints where one is missing. Its people are those of the category listing ``keypoints`` (the
    model's names; see ``keypoint_category``); categories of keypoints named otherwise (hands beside people, as
    COCO Annotator exports them) are left out with their annotations (see ``person_categories``). WLitePoseError
    naming the first fault of a malformed file."""
    data = read_dataset(annotations_path)
    annotations, images, categories = data["annotations"], data["images"], data.get("categories")
    if not isinstance(categories, list):
        raise WLitePoseError(f"{annotations_path} is not a COCO-format keypoint file (it has no 'categories' list)")
    if not categories:
        raise WLitePoseError(f"{annotations_path} has no categories; a keypoint file names its person category")
    for c in categories:  # pycocotools indexes every category by its id
        check_category(c, annotations_path)
    people = person_categories(data, keypoints, annotations_path)
    annotations = _leave_out_other_keypoints(data, people)
    category = keypoint_category(data, keypoints)
    people.add(category)
    k = _keypoint_count(data, category)
    for image in images:
        if not isinstance(image, dict) or "id" not in image or not has_file_name(image):
            raise WLitePoseError(
                f"{annotations_path}: every image needs an id and a file_name ({as_written(image, 80)})"
            )
        if "crowdIndex" in image and not is_number(image["crowdIndex"]):
            raise WLitePoseError(f"{annotations_path}: image {image['file_name']}'s crowdIndex is not a number")
    check_image_ids(images, annotations_path, annotations)
    for number, ann in enumerate(annotations, 1):
        _normalise(ann, k, annotations_path)
        ann["id"] = number  # pycocotools keeps one person per id: two files merged would share them
        if is_person(ann, people):  # people of every category of these keypoints are scored, as trained
            ann["category_id"] = category
    listed = {image["id"] for image in images}
    labelled = [a for a in annotations if a["num_keypoints"] > 0 and not a["iscrowd"] and a["image_id"] in listed]
    if not labelled:
        raise no_people(data, annotations_path, "has no annotated people, so there is nothing to score")
    if not any(ann["category_id"] == category for ann in labelled):  # COCOeval would find nobody: every AP n/a
        given = ", ".join(sorted({as_written(ann["category_id"], 40) for ann in labelled})[:3])
        raise WLitePoseError(
            f"{annotations_path}: its annotated people have category_id {given}, none of them a category with "
            f"keypoints (its person category is {as_written(category, 40)}); give them that id"
        )
    return data


def check_category(category, source) -> None:
    """WLitePoseError if ``category`` (an entry of ``source``'s categories) has no id, one of the wrong kind, or
    keypoints that are not a list."""
    if not isinstance(category, dict) or "id" not in category:
        raise WLitePoseError(f"{source}: every category needs an id ({as_written(category, 80)})")
    name = str(category.get("name"))[:40]
    check_id(category["id"], f"category {name}'s id", source)
    if not isinstance(category.get("keypoints") or [], list):
        raise WLitePoseError(f"{source}: category {name}'s keypoints are not a list")


def _leave_out_other_keypoints(data: dict, people: set) -> list:
    """``data``'s annotations once the categories listing other keypoints than those of ``people`` (a hand's,
    none of them a person's: see ``person_categories``) are taken out of it with their annotations."""
    others = {c["id"] for c in _listing(data)} - people
    if others:
        data["categories"] = [c for c in data["categories"] if c["id"] not in others]
        data["annotations"] = [a for a in data["annotations"] if not _of_category(a, others)]
    return data["annotations"]


def _of_category(ann, categories: set) -> bool:
    """Whether annotation ``ann`` names one of ``categories`` (one naming none, or a malformed one, does not)."""
    return isinstance(ann, dict) and is_id(ann.get("category_id")) and ann["category_id"] in categories


def no_people(data: dict, source, fault: str) -> WLitePoseError:
    """The refusal of ``source``, a file without a labelled person (``fault``: how to say so); a file without any
    keypoint (a tool's detection or segmentation export, or each joint labelled as an object of its own, as
    makesense.ai's COCO export of polygons and a points-as-labels project give) is said to be one."""
    shapes = data["annotations"]  # none at all: nothing labelled, rather than labelled otherwise
    if _listing(data) or not shapes or any(isinstance(a, dict) and a.get("keypoints") for a in shapes):
        return WLitePoseError(f"{source} {fault}")
    return WLitePoseError(
        f"{source} has no keypoints: neither its categories nor its annotations list any (boxes, polygons or joints "
        "labelled as objects of their own are no poses); export it as COCO keypoints, each person one annotation "
        "with its keypoints"
    )


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


def keypoint_category(data: dict, names=None) -> int | str:
    """The id of the dataset's person-keypoint category: of those that list keypoints, the first listing ``names``
    (the model's or schema's, in any order and spelling: another order is refused by ``check_keypoint_order``),
    else the first listing as many, else the first; the first category where none lists keypoints."""
    with_keypoints = _listing(data)
    if names is not None:  # a stable sort: of equals, the first in the file
        wanted = sorted(_own_spelling(names))
        with_keypoints.sort(
            key=lambda c: (sorted(_own_spelling(c["keypoints"])) != wanted, len(c["keypoints"]) != len(names))
        )
    chosen = (with_keypoints or data["categories"])[0]
    return chosen["id"] if isinstance(chosen, dict) and "id" in chosen else 1


def person_categories(data: dict, names=None, source="the annotations") -> set:
    """The ids of the categories whose annotations are people: the keypoint category (see ``keypoint_category``)
    and any other listing the same keypoints (two files merged); none where no category lists keypoints. A
    category whose keypoints share no name with the people's (a hand's "wrist", "thumb1", ...) is no person's;
    WLitePoseError for one sharing some (people of another set, CrowdPose's beside COCO's: left out, they would
    be scored as missed and trained as background) or listing them in another order (its people's joints would be
    taken for others), and for one without an id (as ``load_annotations`` says it)."""
    listing = _listing(data)
    for category in listing:
        check_category(category, source)
    if not listing:
        return set()
    chosen = next(c for c in listing if c["id"] == keypoint_category(data, names))  # one of them: see there
    listed = _own_spelling(chosen["keypoints"])
    people = set()
    for category in listing:
        own = _own_spelling(category["keypoints"])
        if own == listed:
            people.add(category["id"])
        elif set(own) & set(listed):
            raise _other_people(category, chosen, set(own) == set(listed), source)
    return people


def _other_people(category: dict, chosen: dict, reordered: bool, source) -> WLitePoseError:
    """The refusal of ``source``'s ``category``, which lists some of the people's (``chosen``'s) keypoints, all of
    them in another order where ``reordered``."""
    named, people = _shown(category), _shown(chosen)
    if reordered:
        return WLitePoseError(
            f"{source}: category {named} lists the keypoints of category {people} in another order, so its people's "
            "joints would be taken for others; reorder one to match"
        )
    return WLitePoseError(
        f"{source}: category {named} lists {len(category['keypoints'])} keypoints, some of them named as the "
        f"{len(chosen['keypoints'])} of category {people}: people of two keypoint sets cannot be scored or trained as "
        "one; give each set a file of its own"
    )


def _shown(category: dict) -> str:
    """A category as a message names it: by its name, else its id, as its file writes them."""
    return as_written(category.get("name", category["id"]), 40)


def _listing(data: dict) -> list[dict]:
    """``data``'s categories that list keypoints (none where its categories are no list)."""
    categories = data.get("categories")
    return [c for c in categories if isinstance(c, dict) and _listed(c)] if isinstance(categories, list) else []


def _listed(category: dict) -> bool:
    """Whether ``category`` lists keypoints (a list of names)."""
    return isinstance(category.get("keypoints"), list) and bool(category["keypoints"])


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
    OKS sigmas would then belong to other joints), spelt as here or as a tool writes them ("Left Eye")."""
    if not isinstance(data.get("categories"), list) or not data["categories"]:
        return  # nothing names the keypoints: their order cannot be checked
    listed = _category_names(data, keypoint_category(data, names))
    if not isinstance(listed, list):
        return
    listed, names = _own_spelling(listed), _own_spelling(names)
    if set(listed) == set(names) and listed != names:
        raise WLitePoseError(f"{source} lists its keypoints in another order than {model}; reorder one to match")


def _own_spelling(names) -> list[str]:
    """``names`` spelt as here: in lower case, words joined by "_" (a labelling tool's "Left Eye", "left-eye"),
    and a keypoint a benchmark's files name otherwise (KEYPOINT_ALIASES) named as here."""
    spelt = ("_".join(str(name).lower().replace("-", " ").split()) for name in names)
    return [KEYPOINT_ALIASES.get(name, name) for name in spelt]


def check_count(data: dict, k_model: int, source, model: str | Path) -> None:
    k = len(data["annotations"][0]["keypoints"]) // 3 if data["annotations"] else k_model
    if k != k_model:
        raise WLitePoseError(f"{source} has {k} keypoints per person but {model} has {k_model}")
