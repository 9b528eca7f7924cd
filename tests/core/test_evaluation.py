"""OKS evaluation: ground truth scored as results gives AP 1 (COCO-17 and CrowdPose-14 with their sigmas)."""

import json
import struct
from pathlib import Path

import cv2
import numpy as np
import pytest

from core.annotations import SEGMENT_SHARE, check_keypoints, load_annotations
from core.errors import WLitePoseError
from core.evaluation import CROWD_SPLITS, EVAL_DECODE, STAT_NAMES, evaluate_model, predict_dataset, score_results
from core.labelled_images import check_images, read_labelled_image
from core.session import PoseModel
from models.schemas import COCO17

COCO_SIGMAS = [0.026, 0.025, 0.025, 0.035, 0.035, 0.079, 0.079, 0.072, 0.072, 0.062, 0.062, 0.107, 0.107]
COCO_SIGMAS += [0.087, 0.087, 0.089, 0.089]


def coco_evaluate(results, path, sigmas):
    return score_results(results, load_annotations(path), sigmas, path)


@pytest.mark.parametrize(
    "annotations, sigmas",
    [("val/annotations.json", COCO_SIGMAS), ("crowdpose_sample/test_crowdpose.json", None)],
)
def test_ground_truth_scores_perfectly(annotations, sigmas, shared_data, truth_as_results):
    path = shared_data / annotations
    if sigmas is None:
        from models.schemas import CROWDPOSE14

        sigmas = CROWDPOSE14.sigmas
    stats = coco_evaluate(truth_as_results(path), path, sigmas)
    assert list(stats)[: len(STAT_NAMES)] == list(STAT_NAMES)
    assert stats["AP"] == pytest.approx(1.0) and stats["AR"] == pytest.approx(1.0)
    # shifted results lose AP
    shifted = [
        {**r, "keypoints": (np.array(r["keypoints"]) + [25, 25, 0] * (len(r["keypoints"]) // 3)).tolist()}
        for r in truth_as_results(path)
    ]
    assert coco_evaluate(shifted, path, sigmas)["AP"] < 0.9


@pytest.mark.parametrize("tool", ["roboflow", "coco-annotator", "label-studio"])
def test_each_tools_keypoint_export_scores_the_people_it_labels(tool, tool_export, monkeypatch):
    """Roboflow's placeholder category and images numbered from 0, Label Studio's "Left Eye" names beside boxes
    of a category of their own, and COCO Annotator's hands (21 keypoints, listed first: refused as "annotation 1
    has 51 keypoint values, not 63"): the truth scores AP 1 on each by evaluate_model (training's validation AP),
    its people and only them counted."""
    from types import SimpleNamespace

    import core.evaluation

    path, images, people = tool_export(tool)
    data = load_annotations(path, COCO17.keypoints)
    check_keypoints(data, COCO17.keypoints, path)
    truth = [
        {"image_id": a["image_id"], "category_id": a["category_id"], "keypoints": a["keypoints"], "score": 1.0}
        for a in data["annotations"]
        if not a["iscrowd"] and a["num_keypoints"] > 0
    ]
    monkeypatch.setattr(core.evaluation, "predict_dataset", lambda *args: truth)
    model = SimpleNamespace(info=SimpleNamespace(keypoint_names=COCO17.keypoints, sigmas=COCO17.sigmas, input_size=64))
    assert len(truth) == people and evaluate_model(model, path, images)["AP"] == pytest.approx(1.0)


@pytest.mark.parametrize(
    "tool, names, refusal",
    [
        ("label-studio-alphabetical", None, "in another order than the model"),
        ("coco-annotator-alphabetical", COCO17.keypoints, "in another order than the model"),  # hands listed first
        ("merged-reordered", COCO17.keypoints, 'category "other people" lists the keypoints of category "person" in'),
        ("merged-crowdpose", COCO17.keypoints, 'category "other people" lists 14 keypoints, some of them named as'),
    ],
)
def test_people_of_other_keypoints_or_another_order_are_refused(tool, names, refusal, tool_export):
    """Label Studio's keypoints ("Left Eye") in their model_index order, here alphabetical, were scored as COCO's;
    COCO Annotator's people in another order behind its hands too. People of a second category in another order,
    or of another keypoint set (CrowdPose's merged with COCO's), were left out unsaid: scored as missed."""
    path, _, _ = tool_export(tool)
    with pytest.raises(WLitePoseError, match=refusal):
        check_keypoints(load_annotations(path, names), COCO17.keypoints, path)


@pytest.mark.parametrize(
    "spelling", [lambda name: name.replace("_", " ").title(), lambda name: name.replace("_", "-"), str.upper]
)
def test_keypoint_names_match_as_tools_spell_them(spelling):
    """ "Left Eye", "left-eye" and "LEFT_EYE" are COCO's left_eye: in COCO's order they score, in another refused."""
    from core.annotations import check_keypoint_order

    spelt = [spelling(name) for name in COCO17.keypoints]
    check_keypoint_order({"categories": [{"id": 1, "keypoints": spelt}]}, COCO17.keypoints)
    with pytest.raises(WLitePoseError, match="in another order"):
        check_keypoint_order({"categories": [{"id": 1, "keypoints": spelt[::-1]}]}, COCO17.keypoints)


def test_of_categories_of_other_names_the_one_of_as_many_keypoints_is_the_peoples():
    """Hands (21 keypoints) listed before people of 17 named otherwise (not COCO's): the 17 are the people."""
    from core.annotations import keypoint_category

    hand = {"id": 8, "keypoints": [f"joint_{n}" for n in range(21)]}
    people = {"id": 3, "keypoints": [f"point_{n}" for n in range(17)]}
    assert keypoint_category({"categories": [hand, people]}, COCO17.keypoints) == 3


@pytest.mark.parametrize(
    "data, said",
    [
        ({"annotations": [], "categories": [{"id": 1}]}, "has no annotated people"),  # nothing labelled at all
        ({"annotations": [{"segmentation": [[0, 0, 1, 0, 1, 1]]}], "categories": [{"id": 1, "keypoints": ["a"]}]},
         "has no annotated people"),  # keypoints listed: the polygons are beside people, not instead of them
        ({"annotations": [{"segmentation": [[0, 0, 1, 0, 1, 1]]}], "categories": 5}, "has no keypoints:"),
    ],
)  # fmt: skip
def test_a_file_without_people_says_whether_it_has_keypoints_at_all(data, said):
    from core.annotations import no_people

    assert str(no_people(data, "a.json", "has no annotated people")).startswith(f"a.json {said}")


def test_a_tools_export_without_keypoints_is_said_to_be_one(tool_export):
    """makesense.ai's COCO export (polygons only) was "no annotated people", with no word of why."""
    path, _, _ = tool_export("makesense")
    with pytest.raises(WLitePoseError, match=r"makesense.json has no keypoints: .* export it as COCO keypoints"):
        load_annotations(path)


def test_images_named_with_their_folder_are_said_to_be_in_the_folder_above(tmp_path, monkeypatch):
    """Label Studio's export names its images "images/x.jpg" beside its images/ folder, which `train` takes for the
    images folder of a result.json given alone: the refusal says which folder holds them (a relative folder's
    too, not "."); names of another folder, or not in the folder above, get no hint."""
    for name in ("images/a.jpg", "other/b.jpg"):
        (tmp_path / name).parent.mkdir(exist_ok=True)
        (tmp_path / name).write_bytes(b"")
    monkeypatch.chdir(tmp_path)
    for folder in (tmp_path / "images", Path("images")):
        with pytest.raises(WLitePoseError) as refused:
            check_images(["images/a.jpg"], folder, "result.json")
        assert str(refused.value).endswith(f"(they name their folder too: give {tmp_path} as the images folder)")
    for names in (["images/a.jpg", "images/missing.jpg"], ["images/a.jpg", "other/b.jpg"]):
        with pytest.raises(WLitePoseError) as refused:
            check_images(names, tmp_path / "images", "result.json")
        assert "name their folder" not in str(refused.value)


def test_an_image_name_reaching_out_of_its_folder_anywhere_in_it_is_refused_the_first_named(tmp_path):
    """sub/../../photo.jpg leaves the images folder as ../photo.jpg does, though its first part is no "..": the
    refusal names the first such image of the file."""
    (tmp_path / "images" / "sub").mkdir(parents=True)
    (tmp_path / "photo.jpg").write_bytes(b"")
    names = ["sub/../../photo.jpg", "../photo.jpg", str(tmp_path / "photo.jpg")]
    with pytest.raises(WLitePoseError) as refused:
        check_images(names, tmp_path / "images", "a.json")
    assert str(refused.value).startswith("a.json names an image outside its images folder: sub/../../photo.jpg (")


def test_images_are_found_by_listing_their_folders_not_by_a_look_up_each(tmp_path, monkeypatch):
    """Every image was looked up on its own: COCO's 118,287 are minutes on a network disk. Their folders are
    listed once now; a name not listed (a link to nowhere, a folder of that name, a missing one) is still looked up
    and refused as before."""
    (tmp_path / "images" / "sub").mkdir(parents=True)
    for name in ("a.jpg", "b.jpg", "sub/c.jpg"):
        (tmp_path / "images" / name).write_bytes(b"")
    (tmp_path / "images" / "dir.jpg").mkdir()
    (tmp_path / "images" / "gone.jpg").symlink_to(tmp_path / "nowhere.jpg")
    looked_up = []
    is_file = Path.is_file
    monkeypatch.setattr(Path, "is_file", lambda path: looked_up.append(path.name) or is_file(path))
    check_images(["a.jpg", "b.jpg", "sub/c.jpg"], tmp_path / "images", "a.json")
    assert looked_up == []
    with pytest.raises(WLitePoseError) as refused:
        check_images(["a.jpg", "dir.jpg", "gone.jpg", "none/x.jpg"], tmp_path / "images", "a.json")
    assert str(refused.value) == f"3 images of a.json are not in {tmp_path / 'images'}: dir.jpg, gone.jpg, none/x.jpg"
    assert looked_up == ["dir.jpg", "gone.jpg", "x.jpg"]


def test_wrong_keypoint_count_is_refused(shared_data):
    path = shared_data / "crowdpose_sample" / "test_crowdpose.json"
    with pytest.raises(WLitePoseError, match="14 keypoints"):
        coco_evaluate([], path, COCO_SIGMAS)


def test_a_crowdpose_file_in_its_own_names_is_held_to_the_models_keypoint_order(shared_data):
    """CrowdPose's files name the top of the head "head", a CrowdPose model "top_head": the order check compares
    the two as one joint, so a file listing the joints in another order is refused rather than scored."""
    from core.annotations import check_keypoint_order
    from models.schemas import CROWDPOSE14

    data = load_annotations(shared_data / "crowdpose_sample" / "test_crowdpose.json")
    check_keypoint_order(data, CROWDPOSE14.keypoints)  # CrowdPose's order: accepted
    names = data["categories"][0]["keypoints"]
    data["categories"][0]["keypoints"] = names[12:] + names[:12]  # head and neck first
    with pytest.raises(WLitePoseError, match="in another order than the model"):
        check_keypoint_order(data, CROWDPOSE14.keypoints)


def test_crowdpose_model_runs_on_crowdpose_files(tmp_path, shared_data):
    pytest.importorskip("torch")
    path = shared_data / "crowdpose_sample" / "test_crowdpose.json"
    from models.export import build_metadata, export_onnx
    from models.schemas import CROWDPOSE14
    from models.wlitepose import build_model

    model_file = tmp_path / "crowdpose.onnx"
    export_onnx(
        build_model("wlitepose_xs", num_keypoints=14),
        model_file,
        build_metadata(CROWDPOSE14, "wlitepose_xs", 256, "crowdpose", False),
        check_sizes=((128, 128),),
    )
    stats = evaluate_model(PoseModel(model_file, threads=1), path, shared_data / "crowdpose_sample", 128)
    assert set(stats) == {*STAT_NAMES, *CROWD_SPLITS}
    assert all(0.0 <= v <= 1.0 or np.isnan(v) for v in stats.values())


def test_a_benchmarks_keypoints_are_scored_with_its_own_sigmas_whatever_the_model_file_says(
    shared_data, monkeypatch, truth_as_results
):
    """A shared model whose metadata gave each joint a sigma of 1.0 read AP 0.591 for a network of 0.034: COCO's
    and CrowdPose's keypoints (in their order) are scored with the benchmark's sigmas, others with the file's own;
    evaluate_model (training's validation AP) as `wlitepose eval`."""
    from types import SimpleNamespace

    import core.evaluation
    from core.oks import scoring_sigmas
    from models.schemas import CROWDPOSE14

    assert scoring_sigmas(COCO17.keypoints, [1.0] * 17) == (tuple(COCO_SIGMAS), "coco")
    assert scoring_sigmas(CROWDPOSE14.keypoints, [1.0] * 14) == (CROWDPOSE14.sigmas, "crowdpose")
    assert CROWDPOSE14.keypoints[-2:] == ("top_head", "neck") and CROWDPOSE14.sigmas[-2:] == (0.079, 0.079)
    assert scoring_sigmas(CROWDPOSE14.keypoints[::-1], [0.5] * 14) == ((0.5,) * 14, "model")  # not in its order
    path = shared_data / "val" / "annotations.json"
    shifted = [
        {**r, "keypoints": (np.array(r["keypoints"]) + [25, 25, 0] * (len(r["keypoints"]) // 3)).tolist()}
        for r in truth_as_results(path)
    ]
    monkeypatch.setattr(core.evaluation, "predict_dataset", lambda *args: shifted)
    loose = SimpleNamespace(info=SimpleNamespace(keypoint_names=COCO17.keypoints, sigmas=(1.0,) * 17, input_size=256))
    assert evaluate_model(loose, path, "unused")["AP"] == coco_evaluate(shifted, path, COCO_SIGMAS)["AP"] < 0.9


def test_missing_pycocotools_is_a_clear_error(monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "pycocotools", None)
    monkeypatch.setitem(sys.modules, "pycocotools.coco", None)
    with pytest.raises(WLitePoseError, match="pip install"):
        evaluate_model(None, "unused.json", "unused")


def _jittered(results, pixels, seed=0):
    rng = np.random.default_rng(seed)
    out = []
    for r in results:
        kps = np.array(r["keypoints"], dtype=np.float64).reshape(-1, 3)
        kps[:, :2] += rng.normal(0, pixels, (len(kps), 2))
        out.append({**r, "keypoints": kps.ravel().tolist()})
    return out


def test_crowdpose_people_get_crowdposes_area_and_its_crowd_splits(shared_data, tmp_path, truth_as_results):
    """A file without ``area`` is scored as CrowdPose's evaluation scores it: 0.53 x box area, and AP by crowd
    index (both sample images have 0.3-0.4: medium); an AP with nobody to count is NaN, not 0."""
    from models.schemas import CROWDPOSE14

    path = shared_data / "crowdpose_sample" / "test_crowdpose.json"
    results = _jittered(truth_as_results(path), 10.0)
    stats = coco_evaluate(results, path, CROWDPOSE14.sigmas)
    data = json.loads(path.read_text())
    for share, expected in ((SEGMENT_SHARE, stats["AP"]), (1.0, None)):
        for ann in data["annotations"]:
            ann["area"] = share * ann["bbox"][2] * ann["bbox"][3]
        (tmp_path / "a.json").write_text(json.dumps(data))
        given = coco_evaluate(results, tmp_path / "a.json", CROWDPOSE14.sigmas)["AP"]
        if expected is None:
            assert given > stats["AP"] + 0.05  # the whole box as the area forgives more: a higher AP
        else:
            assert given == pytest.approx(expected)
    assert stats["AP_medium"] == pytest.approx(stats["AP"])
    assert np.isnan(stats["AP_easy"]) and np.isnan(stats["AP_hard"]) and np.isnan(stats["APm"])


def test_a_file_scores_whatever_order_its_crowd_regions_and_categories_come_in(shared_data, tmp_path, truth_as_results):
    path = shared_data / "val" / "annotations.json"
    data = json.loads(path.read_text())
    data["categories"].insert(0, {"id": 7, "name": "dog"})  # the keypoint category is not the first
    crowds = [a for a in data["annotations"] if a["iscrowd"]]
    for crowd in crowds:
        del crowd["keypoints"], crowd["num_keypoints"]  # crowd regions as a box or polygon only
    people = [a for a in data["annotations"] if not a["iscrowd"]]
    data["annotations"] = crowds[:2] + people + crowds[2:]
    for image in data["images"]:
        image["id"] = f"img{image['id']}"  # pycocotools allows string ids
    for ann in data["annotations"]:
        ann["image_id"] = f"img{ann['image_id']}"
    (tmp_path / "a.json").write_text(json.dumps(data))
    stats = coco_evaluate(truth_as_results(tmp_path / "a.json"), tmp_path / "a.json", COCO_SIGMAS)
    assert stats["AP"] == pytest.approx(1.0) and stats["AR"] == pytest.approx(1.0)


def test_no_detections_score_zero_where_someone_counts_and_nan_where_nobody_does(shared_data):
    from models.schemas import CROWDPOSE14

    stats = coco_evaluate([], shared_data / "crowdpose_sample" / "test_crowdpose.json", CROWDPOSE14.sigmas)
    assert [stats[name] for name in ("AP", "AP50", "AP75", "APl", "AR", "AP_medium")] == [0.0] * 6
    assert np.isnan(stats["APm"]) and np.isnan(stats["AP_easy"]) and np.isnan(stats["AP_hard"])  # as with detections


def test_keypoint_values_take_unlabelled_joints_without_a_position_and_say_what_is_missing():
    from core.annotation_fields import keypoint_values

    values = keypoint_values([None, None, 0, 5, 6, 2], 2, 7)
    assert values.tolist() == [[0.0, 0.0, 0.0], [5.0, 6.0, 2.0]]
    with pytest.raises(ValueError, match="annotation 7 has a labelled keypoint without a position"):
        keypoint_values([float("nan"), 1, 2, 5, 6, 2], 2, 7)
    with pytest.raises(ValueError, match="annotation 7 has a keypoint whose visibility v is not a number"):
        keypoint_values([None, None, None, 5, 6, 2], 2, 7)


@pytest.fixture
def val_copy(shared_data, tmp_path, truth_as_results):
    """val_copy(change) -> (path, truth): the dev set's annotations changed by ``change(data)``, written to tmp_path;
    the unchanged truth as results, every detection filed under the keypoint category as `eval` files a model's."""

    def copy(change) -> tuple:
        data = json.loads((shared_data / "val" / "annotations.json").read_text())
        truth = [{**r, "category_id": 1} for r in truth_as_results(shared_data / "val" / "annotations.json")]
        change(data)
        path = tmp_path / "changed.json"
        path.write_text(json.dumps(data))
        return path, truth

    return copy


def _merged_ids(data):
    for ann in data["annotations"]:
        ann["id"] = 7  # two files merged: each numbered its people from 1


def _second_category(data):
    data["categories"].append({**data["categories"][0], "id": 2, "name": "person_b"})
    for ann in data["annotations"][::2]:
        ann["category_id"] = 2


@pytest.mark.parametrize(
    "change",
    [
        _merged_ids,
        lambda d: [a.pop("id") for a in d["annotations"]],
        lambda d: [a.pop("category_id") for a in d["annotations"]],
        _second_category,
    ],
)
def test_people_of_merged_or_hand_made_files_are_each_scored(change, val_copy):
    """pycocotools keeps one person per annotation id (AP 0.44 for the truth itself), raised KeyError without an
    id or category, and scored only the first of two keypoint categories (training takes both)."""
    path, truth = val_copy(change)
    assert coco_evaluate(truth, path, COCO_SIGMAS)["AP"] == pytest.approx(1.0)


def test_a_file_whose_category_names_no_keypoints_is_scored_in_the_models_order(val_copy):
    """A hand-made file may leave the category's keypoint names out: nothing to check the order by, the count is
    the annotations' (`eval` gives the same AP as with the names)."""
    path, truth = val_copy(lambda d: [c.pop("keypoints") for c in d["categories"]])
    data = load_annotations(path)
    check_keypoints(data, COCO17.keypoints, path)
    assert score_results(truth, data, COCO_SIGMAS, path)["AP"] == pytest.approx(1.0)


def test_a_null_bbox_or_area_is_worked_out_as_a_missing_one(val_copy):
    """A null passed the field checks and ended eval in pycocotools' traceback."""
    path, truth = val_copy(lambda d: d["annotations"][0].update(bbox=None, area=None))
    assert coco_evaluate(truth, path, COCO_SIGMAS)["AP"] == pytest.approx(1.0)


def test_a_person_whose_num_keypoints_says_otherwise_is_scored_by_their_joints(shared_data, val_copy):
    """Labelled joints with num_keypoints 0 made the person one eval ignores (training trains on them)."""
    path, truth = val_copy(lambda d: d["annotations"][0].update(num_keypoints=0))
    first = json.loads((shared_data / "val" / "annotations.json").read_text())["annotations"][0]
    missed = [r for r in truth if r["keypoints"] != first["keypoints"]]
    assert coco_evaluate(missed, path, COCO_SIGMAS)["AR"] < 1.0


@pytest.mark.parametrize(
    "change, words",
    [
        (lambda d: d["images"][1].update(id=d["images"][0]["id"]), "lists the image id .* twice"),
        (lambda d: d["images"][0].update(id="first"), "mixes image ids that are numbers with ids that are text"),
        (lambda d: d["annotations"][0].update(image_id="1"), "annotation 1's image_id is \"1\", where the images' ids"),
        (lambda d: d["annotations"][0].update(image_id="Straße"), 'image_id is "Straße", where the images\' ids'),
        (  # text ids and one that is no id at all: said as no id, not as a number where text belongs
            lambda d: (
                [i.update(id=f"{i['id']}") for i in d["images"]]
                and [a.update(image_id=f"{a['image_id']}") for a in d["annotations"]]
                and d["annotations"][0].update(image_id=[1])
            ),
            r"annotation 1's image_id is \[1\], not a whole number or text",
        ),
        (  # ids of text and an annotation naming its image by a number: its person matched no image, unsaid
            lambda d: [i.update(id=f"{i['id']}") for i in d["images"]] and d["annotations"][0].update(image_id=1),
            "annotation 1's image_id is 1, where the images' ids are text",
        ),
        (  # ids of text and the one annotation naming no image: said so, not as a number where text belongs
            lambda d: d.update(
                images=[{**i, "id": f"{i['id']}"} for i in d["images"]],
                annotations=[{k: v for k, v in d["annotations"][0].items() if k != "image_id"}],
            ),
            "every annotation needs an image_id",
        ),
        (lambda d: d["annotations"][0].update(bbox=[5, 5, 10, 0]) or d["annotations"][0].pop("area"), "an area of 0"),
        # 400-digit numbers were an OverflowError traceback (an area's only after every image went through the net)
        (lambda d: d["annotations"][0]["keypoints"].__setitem__(0, 10**400), "has keypoints that are not numbers"),
        (lambda d: d["annotations"][0].update(bbox=[10**400, 0, 1, 1]), "a bbox that is not four numbers"),
        (lambda d: d["annotations"][0].update(area=10**400), "an area that is not a finite number"),
        # fields of another type were tracebacks (TypeError, unhashable list) or Python's own words
        (lambda d: d["annotations"][0].update(area="5"), "annotation 1 has an area that is not a finite number"),
        (lambda d: d["annotations"][0].update(area="abc"), "annotation 1 has an area that is not a finite number"),
        (
            lambda d: d["annotations"][0].update(bbox=["1", "2", "3", "4"]) or d["annotations"][0].pop("area"),
            "annotation 1 has a bbox that is not four numbers",
        ),
        (
            lambda d: d["annotations"][0].update(keypoints=5),
            "annotation 1 has keypoints that are not a list of x, y, v",
        ),
        (lambda d: d["images"][0].update(id=[1]), r"image \S+'s id is \[1\], not a whole number or text"),
        (lambda d: d["annotations"][0].update(image_id=[1]), r"annotation 1's image_id is \[1\], not a whole number"),
        (lambda d: d["annotations"][0].update(category_id=[1]), r"annotation 1's category_id is \[1\], not a"),
        (lambda d: d["categories"][0].update(id=[1]), r"category person's id is \[1\], not a whole number or text"),
        # pycocotools indexes every category by its id: a KeyError traceback once every image had been through the net
        (lambda d: d["categories"].append({"name": "ball"}), r'every category needs an id \(\{"name": "ball"\}\)'),
        (lambda d: d["categories"].append("ball"), r'every category needs an id \("ball"\)'),
        (lambda d: d["annotations"][0]["keypoints"].pop(), "annotation 1 has 50 keypoint values, not three"),
        (
            lambda d: d["annotations"][0].update(keypoints=[0] * 51) or d["annotations"][0].pop("bbox"),
            "annotation 1 has neither a bbox nor a labelled keypoint",
        ),
        (lambda d: d["images"][0].update(crowdIndex="0.3"), r"image \S+'s crowdIndex is not a number"),
        (lambda d: d["images"][0].update(crowdIndex=True), r"image \S+'s crowdIndex is not a number"),
        (lambda d: d["images"][0].update(id=True), r"image \S+'s id is true, not a whole number or text"),
        (lambda d: d["annotations"][0].update(iscrowd="1"), 'annotation 1 has iscrowd "1", not 0 or 1'),
        # pycocotools' traceback: keypoints that are no list (TypeError), results of image 1 for image 1.5
        (lambda d: d["categories"][0].update(keypoints=17), "category person's keypoints are not a list"),
        (lambda d: d["images"][0].update(id=1.5), r"image \S+'s id is 1.5, not a whole number or text"),
        (lambda d: d["images"][0].update(id=float("nan")), r"image \S+'s id is NaN, not a whole number or text"),
        # a crowd region's mask of no height and width, or of runs that are no counts: training's traceback
        (lambda d: d["annotations"][0].update(segmentation={"counts": "", "size": 5}), "a mask .RLE. whose size is"),
        (lambda d: d["annotations"][0].update(segmentation={"counts": [-5, 3], "size": [4, 4]}), "nor runs of pixels"),
        (lambda d: d["annotations"][0].update(segmentation={"counts": [], "size": [0, 0]}), "whose size is not"),
        (lambda d: d["annotations"][0].update(segmentation={"counts": [16], "size": [4, 4, 1]}), "whose size is not"),
        (lambda d: d["categories"].append(5), r"every category needs an id \(5\)"),  # "id" in 5: a TypeError
        # people without a labelled joint are nobody to score; people of no keypoint category printed AP n/a
        (
            lambda d: [a.update(keypoints=[0] * 51, num_keypoints=0) for a in d["annotations"]],
            "has no annotated people",
        ),
        (lambda d: [a.update(category_id=2) for a in d["annotations"]], "category_id 2, none of them a category"),
        (
            lambda d: [a.update(category_id="1") for a in d["annotations"]],
            r'category_id "1", none of them a category with keypoints \(its person category is 1\)',
        ),
        (
            lambda d: d["categories"][0].update(id="person"),
            r'category_id 1, none of them a category with keypoints \(its person category is "person"\)',
        ),
    ],
)
def test_files_that_would_be_scored_wrongly_are_refused(change, words, val_copy):
    path, _ = val_copy(change)
    with pytest.raises(WLitePoseError, match=words):
        coco_evaluate([], path, COCO_SIGMAS)


def _with_orientation(jpeg: bytes, orientation: int) -> bytes:
    """A JPEG with an EXIF segment holding only an orientation tag (as a phone writes for a turned camera)."""
    tiff = b"MM\x00\x2a\x00\x00\x00\x08\x00\x01" + struct.pack(">HHIHH", 0x0112, 3, 1, orientation, 0) + bytes(4)
    app1 = b"Exif\x00\x00" + tiff
    return jpeg[:2] + b"\xff\xe1" + struct.pack(">H", len(app1) + 2) + app1 + jpeg[2:]


def test_an_image_is_read_as_its_labels_see_it(tmp_path):
    """A phone photo labelled as stored was read turned by its EXIF tag, its labels falling elsewhere; an image
    resized after labelling had every label at twice its place."""
    image = np.zeros((32, 64, 3), np.uint8)
    image[:, :8] = 255  # a bright left edge: where it ends up tells the orientation
    path = tmp_path / "phone.jpg"
    path.write_bytes(_with_orientation(cv2.imencode(".jpg", image)[1].tobytes(), 6))
    stored = read_labelled_image(path, {"width": 64, "height": 32})
    assert stored.shape[:2] == (32, 64) and stored[:, :8].mean() > 200
    assert read_labelled_image(path, {"width": 32, "height": 64}).shape[:2] == (64, 32)  # labelled as shown
    assert read_labelled_image(path, {}).shape[:2] == (64, 32)  # no size given: as a viewer shows it
    with pytest.raises(WLitePoseError, match="is 32x64, but its annotations say 128x64: .* resized after labelling"):
        read_labelled_image(path, {"width": 128, "height": 64})


def test_a_file_saved_with_a_byte_order_mark_is_scored_as_without(val_copy):
    """Windows PowerShell 5 and Notepad save UTF-8 with a BOM: the file was refused as not COCO-format."""
    path, truth = val_copy(lambda d: None)
    path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())
    assert coco_evaluate(truth, path, COCO_SIGMAS)["AP"] == pytest.approx(1.0)


@pytest.mark.parametrize(
    "content, words",
    [
        (b"[1, 2]", "(it holds a JSON list, not an object of images and annotations)"),  # 'list indices must be..'
        (b'{"images": []}', "(it has no 'annotations' list)"),  # "('annotations')"
        (b'{"images": [], "annotations": [], "categories": {}}', "(it has no 'categories' list)"),
        (b"{nope", "(not valid JSON at line 1: "),
        (b"\xff\xd8\xff\xe0 a photo", "(it is not text: the file is JSON)"),
        # was said to be "nested too deeply"
        pytest.param(b'{"images": [{"id": 1' + b"0" * 5000 + b"}]}", "(it holds a number too long to read)", id="long"),
        (None, "is a folder, not a COCO-format keypoint file"),  # "([Errno 21] Is a directory: ...)"
    ],
)
def test_a_file_that_is_no_annotation_file_is_said_so_in_words(tmp_path, content, words):
    path = tmp_path / "a.json"
    path.mkdir() if content is None else path.write_bytes(content)
    with pytest.raises(WLitePoseError) as error:
        load_annotations(path)
    assert words in str(error.value) and str(error.value).count("(") <= 1


def test_a_file_nested_past_pythons_limit_is_refused_in_one_sentence(tmp_path):
    path = tmp_path / "deep.json"
    path.write_text("[" * 100_000)
    with pytest.raises(WLitePoseError, match="is not a COCO-format keypoint file"):
        coco_evaluate([], path, COCO_SIGMAS)


def test_an_image_too_small_to_find_people_in_is_passed_over_not_an_error(model_path, tmp_path):
    """track passes such an image over; eval stopped on it (the network's input is refused under 32 pixels)."""
    cv2.imwrite(str(tmp_path / "thumb.png"), np.full((16, 16, 3), 90, np.uint8))
    cv2.imwrite(str(tmp_path / "photo.png"), np.full((96, 128, 3), 90, np.uint8))
    data = {
        "images": [
            {"id": 1, "file_name": "thumb.png", "width": 16, "height": 16},
            {"id": 2, "file_name": "photo.png", "width": 128, "height": 96},
        ],
        "annotations": [],
        "categories": [{"id": 1, "name": "person", "keypoints": list(COCO17.keypoints), "skeleton": []}],
    }
    results = predict_dataset(PoseModel(model_path), data, tmp_path, 256)
    assert results and all(result["image_id"] == 2 for result in results)  # the photo analysed, the thumbnail not


def test_joints_each_two_sigmas_off_score_oks_0_61(shared_data):
    """Each joint 2 sigma sqrt(area) off has OKS term exp(-0.5) = 0.61: matched at 0.5, not 0.75 (with the sigmas
    doubled in scoring it was 0.88, AP75 1)."""
    path = shared_data / "val" / "annotations.json"
    data = load_annotations(path)
    results = []
    for ann in data["annotations"]:
        if ann["num_keypoints"] and not ann["iscrowd"]:
            keypoints = np.array(ann["keypoints"], np.float64).reshape(-1, 3)
            keypoints[:, 0] += 2 * np.array(COCO_SIGMAS) * np.sqrt(ann["area"])
            person = {"image_id": ann["image_id"], "category_id": ann["category_id"], "score": 1.0}
            results.append({**person, "keypoints": keypoints.ravel().tolist()})
    stats = score_results(results, data, COCO_SIGMAS, path)
    assert stats["AP50"] == pytest.approx(1.0) and stats["AP75"] == 0.0


def test_a_person_without_a_bbox_gets_the_box_and_area_of_their_labelled_joints(val_copy):
    """The box worked out from the joints was stored as x0, y0, x1, y1, not x, y, width, height: a wrong area."""
    path, _ = val_copy(lambda d: [d["annotations"][0].pop(key) for key in ("bbox", "area")])
    ann = load_annotations(path)["annotations"][0]
    keypoints = np.array(ann["keypoints"]).reshape(-1, 3)
    (x0, y0), (x1, y1) = keypoints[keypoints[:, 2] > 0, :2].min(0), keypoints[keypoints[:, 2] > 0, :2].max(0)
    assert ann["bbox"] == pytest.approx([x0, y0, x1 - x0, y1 - y0])
    assert ann["area"] == pytest.approx(SEGMENT_SHARE * (x1 - x0) * (y1 - y0))


def test_people_without_an_area_count_crowdposes_share_of_their_box(shared_data):
    """CrowdPose's evaluation takes 0.53 x box area for a person's OKS scale (its cocoeval, use_area=False): a file
    without ``area`` gets that number, not the module's own idea of it."""
    data = load_annotations(shared_data / "crowdpose_sample" / "test_crowdpose.json")
    for ann in data["annotations"]:
        assert ann["area"] == pytest.approx(0.53 * ann["bbox"][2] * ann["bbox"][3])


@pytest.mark.parametrize(
    "crowd_index, split",
    [(0.0, "AP_easy"), (0.19, "AP_easy"), (0.2, "AP_medium"), (0.79, "AP_medium"), (0.8, "AP_hard")],
)
def test_an_image_falls_in_crowdposes_split_by_its_crowd_index(
    shared_data, tmp_path, crowd_index, split, truth_as_results
):
    """CrowdPose's splits: easy below 0.2, medium from 0.2 to below 0.8, hard from 0.8 (its crowdposetools)."""
    from models.schemas import CROWDPOSE14

    data = json.loads((shared_data / "crowdpose_sample" / "test_crowdpose.json").read_text())
    for image in data["images"]:
        image["crowdIndex"] = crowd_index
    (tmp_path / "a.json").write_text(json.dumps(data))
    stats = coco_evaluate(truth_as_results(tmp_path / "a.json"), tmp_path / "a.json", CROWDPOSE14.sigmas)
    assert {name: stats[name] for name in CROWD_SPLITS if not np.isnan(stats[name])} == {split: pytest.approx(1.0)}


def test_the_model_places_every_joint_of_a_person_it_finds(shared_data):
    """COCO's OKS scores all 17 joints of a result: evaluation has the decoder place each one (a joint left out lies
    at the middle of the person's others and costs AP: 0.034 fell to 0.032 on the dev set)."""
    shipped = Path(__file__).parents[2] / "assets" / "wlitepose_xs_256.onnx"
    data = load_annotations(shared_data / "val" / "annotations.json")
    data["images"] = data["images"][:3]
    results = predict_dataset(PoseModel(shipped), data, shared_data / "val" / "images", 256)
    scores = np.array([r["keypoints"] for r in results]).reshape(len(results), -1, 3)[:, :, 2]
    assert len(results) > 10 and (scores > 0).all()


def test_evaluation_decodes_as_the_model_cards_ap_figures_were_measured():
    """assets/MODEL_CARD.md's AP figures were measured keeping 20 people an image (COCO scores 20) and 20 peaks a
    joint: track's 400 peaks a joint, for crowds, would move them."""
    assert (EVAL_DECODE.max_people, EVAL_DECODE.max_candidates) == (20, 20)


def test_a_file_where_only_some_images_have_a_crowd_index_is_scored_without_the_splits(
    shared_data, tmp_path, truth_as_results
):
    """Two files merged, one CrowdPose's and one without crowd indices: the splits need every image's, so there are
    none, and the rest is scored (it stopped with a KeyError traceback when any image's was read as enough)."""
    from models.schemas import CROWDPOSE14

    data = json.loads((shared_data / "crowdpose_sample" / "test_crowdpose.json").read_text())
    del data["images"][1]["crowdIndex"]
    (tmp_path / "a.json").write_text(json.dumps(data))
    stats = coco_evaluate(truth_as_results(tmp_path / "a.json"), tmp_path / "a.json", CROWDPOSE14.sigmas)
    assert list(stats) == list(STAT_NAMES) and stats["AP"] == pytest.approx(1.0)


def test_evaluate_model_scores_at_the_input_size_it_is_given(shared_data, monkeypatch):
    """Training's validation AP at its own input size: evaluate_model's size reaches the network, the model file's
    only where none is given (AP 0.018 at 128 against 0.034 at 256 for the shipped model)."""
    from types import SimpleNamespace

    import core.evaluation

    sizes = []
    monkeypatch.setattr(core.evaluation, "predict_dataset", lambda model, data, images, size: sizes.append(size) or [])
    model = SimpleNamespace(info=SimpleNamespace(keypoint_names=COCO17.keypoints, sigmas=COCO17.sigmas, input_size=256))
    for size in (128, None):
        evaluate_model(model, shared_data / "val" / "annotations.json", "unused", size)
    assert sizes == [128, 256]


def test_each_image_reaches_the_network_as_track_reads_it(tmp_path, monkeypatch):
    """The pipeline takes frames in OpenCV's BGR order, as `track` gives them: an image handed over in RGB scored
    the shipped model's AP 0.002 for its 0.034 on the dev set."""
    from types import SimpleNamespace

    import core.evaluation

    image = np.zeros((48, 64, 3), np.uint8)
    image[:, :, 0], image[:, :, 2] = 200, 30  # blue in OpenCV's order
    cv2.imwrite(str(tmp_path / "a.png"), image)
    seen = []

    class Recording:
        def __init__(self, model, config):
            pass

        def process(self, frame, time_s):
            seen.append(frame.copy())
            return SimpleNamespace(poses=[])

    monkeypatch.setattr(core.evaluation, "PosePipeline", Recording)
    data = {"images": [{"id": 1, "file_name": "a.png", "width": 64, "height": 48}], "categories": [{"id": 1}]}
    assert predict_dataset(None, data, tmp_path, 256) == []
    assert len(seen) == 1 and np.array_equal(seen[0], image)


def test_annotations_of_a_category_without_keypoints_are_not_scored(shared_data, tmp_path, truth_as_results):
    """A file that also labels another category (a dog, naming no keypoints) is scored on its people only: the
    dog's AP, 0 with no dog found, would halve the people's."""
    data = json.loads((shared_data / "val" / "annotations.json").read_text())
    data["categories"].append({"id": 7, "name": "dog"})
    for ann in [a for a in data["annotations"] if not a["iscrowd"] and a["num_keypoints"] > 0][:2]:
        ann["category_id"] = 7
    (tmp_path / "a.json").write_text(json.dumps(data))
    people = [r for r in truth_as_results(tmp_path / "a.json") if r["category_id"] == 1]
    assert coco_evaluate(people, tmp_path / "a.json", COCO_SIGMAS)["AP"] == pytest.approx(1.0)


def test_a_crowd_region_with_an_empty_keypoint_list_is_a_region_to_ignore(val_copy):
    """A crowd region written with `"keypoints": []` (a box to ignore, no joint) is one without keypoints, not a
    person of 0 keypoint values refused."""
    path, truth = val_copy(lambda d: [a.update(keypoints=[]) for a in d["annotations"] if a["iscrowd"]])
    assert coco_evaluate(truth, path, COCO_SIGMAS)["AP"] == pytest.approx(1.0)


def test_a_crowd_mask_whose_first_pixel_is_set_and_a_category_of_no_keypoints_are_not_refused(val_copy):
    """A mask's runs start with the unset pixels before its first set one: 0 of them where the first pixel is set
    (COCO's own files hold such masks); a category other than the people's may give its keypoints as null."""

    def change(data):
        sizes = {image["id"]: (image["height"], image["width"]) for image in data["images"]}
        for ann in data["annotations"]:
            if ann["iscrowd"]:
                h, w = sizes[ann["image_id"]]
                ann["segmentation"] = {"counts": [0, 2 * w, h * w - 2 * w], "size": [h, w]}  # the top two rows
        data["categories"].append({"id": 7, "name": "dog", "keypoints": None})

    path, truth = val_copy(change)
    assert coco_evaluate(truth, path, COCO_SIGMAS)["AP"] == pytest.approx(1.0)


def test_a_joint_labelled_as_hidden_needs_a_position_too():
    """v 1 (labelled, not visible) is a labelled joint: without a position it is an error, not a joint at 0, 0."""
    from core.annotation_fields import keypoint_values

    with pytest.raises(ValueError, match="annotation 7 has a labelled keypoint without a position"):
        keypoint_values([None, None, 1, 5, 6, 2], 2, 7)


def test_people_whose_joints_are_all_labelled_as_hidden_are_scored(val_copy):
    """v 1 counts as labelled as v 2 does (COCO's num_keypoints): a file marking every joint 1 is scored as the same
    file with 2 (its people were ignored, or the file refused as one with nobody to score)."""

    def hidden(data):
        for ann in data["annotations"]:
            ann["keypoints"] = [1 if i % 3 == 2 and v > 0 else v for i, v in enumerate(ann["keypoints"])]

    path, truth = val_copy(hidden)
    stats = coco_evaluate(truth, path, COCO_SIGMAS)
    assert stats["AP"] == pytest.approx(1.0) and stats["AR"] == pytest.approx(1.0)


def test_a_single_result_is_scored(shared_data, truth_as_results):
    """A model that finds one person in the whole set has one result, scored (not taken for none: AP 0)."""
    path = shared_data / "val" / "annotations.json"
    truth = truth_as_results(path)
    stats = coco_evaluate(truth[:1], path, COCO_SIGMAS)
    assert stats["AR"] == pytest.approx(1 / len(truth)) and stats["AP"] > 0


def test_each_crowd_split_scores_only_its_own_images(shared_data, tmp_path, truth_as_results):
    """AP_easy is the AP of the images of crowd index below 0.2 alone: an easy image found exactly and a medium
    one missed give AP_easy 1 and AP_medium low, not both the whole set's AP."""
    from models.schemas import CROWDPOSE14

    data = json.loads((shared_data / "crowdpose_sample" / "test_crowdpose.json").read_text())
    data["images"][0]["crowdIndex"], data["images"][1]["crowdIndex"] = 0.1, 0.5
    (tmp_path / "a.json").write_text(json.dumps(data))
    medium = data["images"][1]["id"]
    results = [
        {**r, "keypoints": (np.array(r["keypoints"]) + [30, 30, 0] * 14).tolist()} if r["image_id"] == medium else r
        for r in truth_as_results(tmp_path / "a.json")
    ]
    stats = coco_evaluate(results, tmp_path / "a.json", CROWDPOSE14.sigmas)
    assert stats["AP_easy"] == pytest.approx(1.0) and stats["AP_medium"] < 0.5 and np.isnan(stats["AP_hard"])


def test_apm_counts_only_people_of_32_to_96_pixels_square(val_copy):
    """COCO's medium people are of area 32^2 to 96^2: people under 32^2 (a third of the dev set's, here), all missed,
    lower AP but not APm."""

    def shrink(data):
        for n, ann in enumerate(a for a in data["annotations"] if not a["iscrowd"]):
            ann["area"] = 600.0 if n % 3 == 0 else ann["area"]

    path, truth = val_copy(shrink)
    people = [a for a in json.loads(path.read_text())["annotations"] if not a["iscrowd"] and a["num_keypoints"] > 0]
    results = [
        {**r, "keypoints": (np.array(r["keypoints"]) + [30, 30, 0] * 17).tolist()} if a["area"] == 600.0 else r
        for r, a in zip(truth, people, strict=True)
    ]
    stats = coco_evaluate(results, path, COCO_SIGMAS)
    assert stats["APm"] > 0.9 and stats["AP"] < 0.6


@pytest.mark.parametrize(
    "values",
    [
        [],
        [1, 2.5],
        [True, 1],
        [10**400, 1],
        [float("nan"), 1],
        [float("inf"), 1],
        [float("inf"), float("-inf")],
        ["1", 2],
        [1e308, 1e308],
        [-1, 2],
        [0, 3],
        [np.float64(1.0)],
        [2**70],
        [1e308, 1e308, -1e308],
    ],
)
def test_a_whole_polygon_or_mask_is_checked_at_once_as_each_value_was(values):
    """COCO train2017's ten million polygon values and millions of mask runs were checked one by one (seconds of a
    training run's start); the check of a whole list says what the one of each value said."""
    from core.annotation_fields import _is_count, all_counts, all_numbers, is_number

    assert all_numbers(values) == all(map(is_number, values))
    assert all_counts(values) == all(map(_is_count, values))
