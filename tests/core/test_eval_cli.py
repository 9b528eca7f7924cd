"""`wlitepose eval` end to end through main.main: its scores, intervals and baselines, and every set or model it
cannot score refused in one sentence before any image goes through the network."""

import json
import signal
from pathlib import Path

import cv2
import numpy as np
import pytest

import main
from core.evaluation import CROWD_SPLITS, STAT_NAMES
from core.model_file import file_sha256
from core.session import PoseModel
from core.version import tool_version


def test_eval_on_crowdpose_and_coco_formats(cli, model_path, tmp_path, shared_data, assert_clean_error):
    rc, out, err = cli(
        "eval", "--model", model_path, "--annotations", shared_data / "val" / "annotations.json",
        "--images", shared_data / "val" / "images", "--size", 128, "--out", tmp_path / "stats.json",
    )  # fmt: skip
    assert rc == 0, err
    stats = json.loads((tmp_path / "stats.json").read_text())
    run = stats.pop("run")  # the figures' provenance: --out named neither the model nor the size they came from
    assert list(stats) == ["AP", "AP50", "AP75", "APm", "APl", "AR"]
    assert all(0.0 <= v <= 1.0 for v in stats.values()) and "AP50" in out
    assert run["model"] == str(model_path) and run["model_sha256"] == file_sha256(model_path)
    assert run["input_size"] == 128 and run["bootstrap"] == 0 and run["wlitepose_version"] == tool_version()
    assert run["annotations"] == str(shared_data / "val" / "annotations.json")
    assert run["images"] == str(shared_data / "val" / "images")
    # CrowdPose's 14 keypoints against a 17-keypoint model: a clear refusal
    rc, _, err = cli(
        "eval", "--model", model_path, "--annotations", shared_data / "crowdpose_sample" / "test_crowdpose.json",
        "--images", shared_data / "crowdpose_sample",
    )  # fmt: skip
    assert_clean_error(rc, err, "14 keypoints")


def test_eval_compares_with_a_baseline_on_the_same_redraws(cli, model_path, tmp_path, shared_data, assert_clean_error):
    data = ["--annotations", shared_data / "val" / "annotations.json", "--images", shared_data / "val" / "images"]
    rc, out, err = cli(
        "eval", "--model", model_path, *data, "--size", 128, "--baseline", model_path, "--bootstrap", 40,
        "--out", tmp_path / "stats.json",
    )  # fmt: skip
    assert rc == 0, err
    assert "baseline" in out and "95% interval: AP" in out and "model - baseline" in out
    stats = json.loads((tmp_path / "stats.json").read_text())
    assert stats["baseline"]["AP"] == stats["AP"]  # the same file scores the same
    assert stats["baseline"]["model_sha256"] == stats["run"]["model_sha256"] and stats["run"]["bootstrap"] == 40
    assert stats["baseline"]["input_size"] == stats["run"]["input_size"] == 128
    low, high = stats["intervals"]["AP"]
    assert 0.0 <= low <= high <= 1.0 and stats["baseline"]["intervals"] == stats["intervals"]
    assert stats["difference"]["AP"] == {"interval": [0.0, 0.0], "higher": 0.0}
    rc, _, err = cli("eval", "--model", model_path, *data, "--bootstrap", -1)
    assert_clean_error(rc, err, "--bootstrap must be a positive number")
    rc, _, err = cli("eval", "--model", model_path, *data, "--bootstrap", 1)  # no redraw in the 2.5 % tails
    assert_clean_error(rc, err, "--bootstrap must be at least 40 redraws")
    rc, _, err = cli("eval", "--model", model_path, *data, "--bootstrap", 100_001)  # 10^8 ran for hours
    assert_clean_error(rc, err, "--bootstrap must be at most 100,000 redraws")


def test_eval_gives_one_models_intervals_without_a_baseline(cli, model_path, tmp_path, shared_data):
    rc, out, err = cli(
        "eval", "--model", model_path, "--annotations", shared_data / "val" / "annotations.json",
        "--images", shared_data / "val" / "images", "--size", 128, "--bootstrap", 40, "--out", tmp_path / "stats.json",
    )  # fmt: skip
    assert rc == 0, err
    assert "95% interval: AP" in out and "baseline" not in out and "bootstrap: 40 redraws of the 35 images" in err
    stats = json.loads((tmp_path / "stats.json").read_text())
    assert stats["run"]["bootstrap"] == 40 and "baseline" not in stats and "difference" not in stats
    low, high = stats["intervals"]["AP"]
    assert 0.0 <= low <= high <= 1.0


def test_eval_takes_the_most_redraws_its_limit_names(cli, tmp_path, shared_data, assert_clean_error):
    """--bootstrap 100000 is "at most 100,000": refused, the message would contradict the number typed. The run goes
    on to load the model (absent here, so that no 100,000 redraws run)."""
    rc, _, err = cli(
        "eval", "--model", tmp_path / "absent.onnx", "--annotations", shared_data / "val" / "annotations.json",
        "--images", shared_data / "val" / "images", "--bootstrap", 100_000,
    )  # fmt: skip
    assert_clean_error(rc, err, "absent.onnx")
    assert "--bootstrap" not in err


def test_eval_bootstrap_matches_each_models_people_once_and_gives_the_figures_eval_gives(
    cli, model_path, tmp_path, shared_data, truth_as_results, monkeypatch
):
    """--bootstrap took each model's figures from pycocotools' scoring, then matched every image again for the
    redraws (30 s a model at COCO val2017's size): it matches each model's results once, and its figures are, to
    the last bit, those eval gives without --bootstrap."""
    from pycocotools.cocoeval import COCOeval

    path = shared_data / "val" / "annotations.json"
    moved = [  # every other person's x and y 30 px off
        {**r, "keypoints": [v + 30 * (n % 2 and i % 3 < 2) for i, v in enumerate(r["keypoints"])]}
        for n, r in enumerate(truth_as_results(path))
    ]
    monkeypatch.setattr("core.eval_run.predict_dataset", lambda *args: moved)
    evaluate, matched = COCOeval.evaluate, []
    monkeypatch.setattr(COCOeval, "evaluate", lambda self: matched.append(self) or evaluate(self))
    data = ["--annotations", path, "--images", shared_data / "val" / "images"]
    rc, _, err = cli("eval", "--model", model_path, *data, "--out", tmp_path / "plain.json")
    assert rc == 0, err
    matched.clear()
    rc, _, err = cli(
        "eval", "--model", model_path, *data, "--baseline", model_path, "--bootstrap", 40, "--out", tmp_path / "b.json"
    )
    assert rc == 0, err
    assert len(matched) == 2  # the model's, the baseline's
    plain, bootstrapped = (json.loads((tmp_path / name).read_text()) for name in ("plain.json", "b.json"))
    figures = [plain[name] for name in STAT_NAMES]
    assert 0.2 < plain["AP"] < 0.9
    assert [bootstrapped[name] for name in STAT_NAMES] == [bootstrapped["baseline"][name] for name in STAT_NAMES]
    assert [bootstrapped[name] for name in STAT_NAMES] == figures


def test_eval_bootstrap_gives_crowdposes_splits_as_eval_does(cli, tmp_path, shared_data, truth_as_results, monkeypatch):
    """--bootstrap takes CrowdPose's AP_easy / AP_medium / AP_hard from the matches its redraws add up, each split's
    images scored alone: the figures eval gives without it (a split left out, or scored over every image, differs)."""
    pytest.importorskip("torch")
    from models.export import build_metadata, export_onnx
    from models.schemas import CROWDPOSE14
    from models.wlitepose import build_model

    source = shared_data / "crowdpose_sample"
    data = json.loads((source / "test_crowdpose.json").read_text())
    data["images"][0]["crowdIndex"] = 0.1  # an easy image beside a medium one
    path = tmp_path / "crowdpose.json"
    path.write_text(json.dumps(data))
    model = tmp_path / "crowdpose.onnx"
    meta = build_metadata(CROWDPOSE14, "wlitepose_xs", 256, "crowdpose", False)
    export_onnx(build_model("wlitepose_xs", num_keypoints=14), model, meta, check_sizes=((128, 128),))
    moved = [  # every other person's x and y 7 px off
        {**r, "keypoints": [v + 7 * (n % 2 and i % 3 < 2) for i, v in enumerate(r["keypoints"])]}
        for n, r in enumerate(truth_as_results(path))
    ]
    monkeypatch.setattr("core.eval_run.predict_dataset", lambda *args: moved)
    figures = []
    for extra in ([], ["--bootstrap", 40]):
        out = tmp_path / f"stats{len(extra)}.json"
        rc, _, err = cli("eval", "--model", model, "--annotations", path, "--images", source, "--out", out, *extra)
        assert rc == 0, err
        stats = json.loads(out.read_text())
        figures.append({name: stats.get(name, "absent") for name in (*STAT_NAMES, *CROWD_SPLITS)})
    assert figures[0]["AP_easy"] != figures[0]["AP_medium"] and figures[0]["AP_hard"] is None
    assert figures[1] == figures[0]


def test_eval_reports_the_model_and_the_baseline_each_as_its_own_and_the_difference_the_right_way_round(
    cli, model_path, tmp_path, shared_data, monkeypatch, with_metadata
):
    """The only baseline test compared a model with itself, so the model's and the baseline's figures, sizes, hashes
    and intervals could be swapped, or the difference's sign turned, unseen. Here the model finds every labelled
    person exactly and the baseline (another file, another input size) misses every other one by 30 px."""
    val = json.loads((shared_data / "val" / "annotations.json").read_text())
    images = val["images"][:4]
    kept = {image["id"] for image in images}
    subset = {**val, "images": images, "annotations": [a for a in val["annotations"] if a["image_id"] in kept]}
    (tmp_path / "subset.json").write_text(json.dumps(subset))
    people = [a for a in subset["annotations"] if not a["iscrowd"] and a["num_keypoints"] > 0]
    assert len(people) > 2

    def found(shift_every):
        out = []
        for n, ann in enumerate(people):
            kps = np.asarray(ann["keypoints"], np.float64).reshape(-1, 3)
            kps[:, :2] += 30 * (shift_every > 0 and n % shift_every == 0)
            out.append({"image_id": ann["image_id"], "category_id": 1, "keypoints": kps.ravel().tolist(), "score": 1.0})
        return out

    baseline = with_metadata(model_path, tmp_path / "baseline.onnx", input_size=128)
    exact, worse = file_sha256(model_path), found(2)
    monkeypatch.setattr(
        "core.eval_run.predict_dataset",
        lambda model, data, images, size: found(0) if model.info.sha256 == exact else worse,
    )
    rc, out, err = cli(
        "eval", "--model", model_path, "--annotations", tmp_path / "subset.json",
        "--images", shared_data / "val" / "images", "--baseline", baseline, "--bootstrap", 40,
        "--out", tmp_path / "stats.json",
    )  # fmt: skip
    assert rc == 0, err
    stats = json.loads((tmp_path / "stats.json").read_text())
    assert stats["AP"] == pytest.approx(1.0) and stats["baseline"]["AP"] < 0.9
    assert stats["run"]["model_sha256"] == exact and stats["baseline"]["model_sha256"] == file_sha256(baseline)
    assert stats["run"]["input_size"] == 256 and stats["baseline"]["input_size"] == 128
    assert stats["intervals"]["AP"] == pytest.approx([1.0, 1.0]) and stats["baseline"]["intervals"]["AP"][0] < 0.9
    low, high = stats["difference"]["AP"]["interval"]
    assert 0 < low <= high and stats["difference"]["AP"]["higher"] == 1.0  # the model is the better one
    assert "model - baseline, 95% interval: AP +" in out


def test_eval_scores_coco_keypoints_with_cocos_sigmas_whatever_the_model_file_says(
    cli, tmp_path, shared_data, with_metadata
):
    """A shared model whose metadata gave every joint an OKS sigma of 1.0 was scored with them: the shipped network
    read AP 0.591 for its 0.034 (a helper's measure), and beside a baseline each was scored with its own."""
    shipped = Path(main.__file__).parent / "assets" / "wlitepose_xs_256.onnx"
    loose = with_metadata(shipped, tmp_path / "loose.onnx", oks_sigmas=[1.0] * 17)
    val = json.loads((shared_data / "val" / "annotations.json").read_text())
    images = val["images"][:12]
    kept = {image["id"] for image in images}
    subset = {**val, "images": images, "annotations": [a for a in val["annotations"] if a["image_id"] in kept]}
    (tmp_path / "subset.json").write_text(json.dumps(subset))
    data = ["--annotations", tmp_path / "subset.json", "--images", shared_data / "val" / "images"]
    rc, _, err = cli(
        "eval", "--model", loose, *data, "--size", 128, "--baseline", shipped, "--bootstrap", 40,
        "--out", tmp_path / "stats.json",
    )  # fmt: skip
    assert rc == 0, err
    stats = json.loads((tmp_path / "stats.json").read_text())
    assert stats["AP"] == stats["baseline"]["AP"] > 0 and stats["run"]["oks_sigmas"] == "coco"
    low, high = stats["intervals"]["AP"]  # the redraws scored with COCO's sigmas too, not the file's 1.0
    assert low <= stats["AP"] <= high and stats["intervals"] == stats["baseline"]["intervals"]


def test_eval_of_other_keypoints_scores_with_the_models_own_sigmas_and_refuses_a_baseline_of_others(
    cli, model_path, tmp_path, assert_clean_error, with_metadata
):
    names = [f"joint{i}" for i in range(17)]
    own = with_metadata(model_path, tmp_path / "own.onnx", keypoint_names=names, oks_sigmas=[0.05] * 17)
    other = with_metadata(model_path, tmp_path / "other.onnx", keypoint_names=names, oks_sigmas=[0.5] * 17)
    cv2.imwrite(str(tmp_path / "a.png"), np.full((64, 64, 3), 128, np.uint8))
    content = {**ONE_IMAGE, "categories": [{"id": 1, "name": "person", "keypoints": names}], "annotations": [PERSON]}
    (tmp_path / "a.json").write_text(json.dumps(content))
    data = ["--annotations", tmp_path / "a.json", "--images", tmp_path]
    rc, _, err = cli("eval", "--model", own, *data, "--out", tmp_path / "stats.json")
    assert rc == 0, err
    assert "OKS sigmas: the model file's own" in err
    assert json.loads((tmp_path / "stats.json").read_text())["run"]["oks_sigmas"] == "model"
    rc, _, err = cli("eval", "--model", own, *data, "--baseline", other)
    assert_clean_error(rc, err, "different OKS sigmas", "would not compare")


def test_eval_never_replaces_a_file_another_run_is_writing(
    cli, model_path, tmp_path, shared_data, held_elsewhere, monkeypatch, assert_clean_error
):
    """A track writing its COCO JSON as res.json, and an eval --out res.json: both said 'wrote', one file lived. The
    refusal comes before the scoring, not after it (minutes on COCO val)."""
    import core.eval_run

    monkeypatch.setattr(core.eval_run, "predict_dataset", lambda *a: pytest.fail("the network ran first"))
    data = ["--annotations", shared_data / "val" / "annotations.json", "--images", shared_data / "val" / "images"]
    (tmp_path / "res.json").write_text("[]")
    with held_elsewhere(tmp_path / "res.json"):
        rc, _, err = cli("eval", "--model", model_path, *data, "--size", 128, "--out", tmp_path / "res.json")
    assert_clean_error(rc, err, f"is writing {tmp_path / 'res.json'} right now")
    assert (tmp_path / "res.json").read_text() == "[]"


@pytest.mark.parametrize(
    "tool, refusal", [("coco-annotator", None), ("merged-crowdpose", 'category "other people" lists 14 keypoints')]
)
def test_eval_scores_the_people_beside_hands_and_refuses_people_of_another_set(
    tool, refusal, cli, model_path, tool_export, assert_clean_error
):
    """COCO Annotator's hands, listed before its people, are left out (eval picked them: "annotation 1 has 51
    keypoint values, not 63"); CrowdPose's people merged beside COCO's were left out unsaid, scored as missed."""
    path, images, _ = tool_export(tool)
    rc, out, err = cli("eval", "--model", model_path, "--annotations", path, "--images", images, "--size", 64)
    if refusal:
        assert_clean_error(rc, err, refusal)
    else:
        assert rc == 0 and "AP50" in out, err


def test_eval_checks_the_keypoints_before_any_image_goes_through_the_network(
    cli, model_path, tmp_path, monkeypatch, assert_clean_error
):
    import core.eval_run

    monkeypatch.setattr(core.eval_run, "predict_dataset", lambda *a: pytest.fail("the network ran first"))
    names = list(PoseModel(model_path).info.keypoint_names)[::-1]  # the model's joints, listed backwards
    content = {**ONE_IMAGE, "categories": [{"id": 1, "keypoints": names}], "annotations": [PERSON]}
    (tmp_path / "a.json").write_text(json.dumps(content))
    rc, _, err = cli("eval", "--model", model_path, "--annotations", tmp_path / "a.json", "--images", tmp_path)
    assert_clean_error(rc, err, "in another order than the model")


def test_eval_finds_images_missing_from_the_folder_before_any_goes_through_the_network(
    cli, model_path, tmp_path, shared_data, monkeypatch, assert_clean_error
):
    """A folder missing the set's last image failed after every other image was scored (minutes on COCO val)."""
    import core.eval_run

    monkeypatch.setattr(core.eval_run, "predict_dataset", lambda *a: pytest.fail("the network ran first"))
    data = json.loads((shared_data / "val" / "annotations.json").read_text())
    for image in data["images"][:-1]:
        (tmp_path / image["file_name"]).symlink_to(shared_data / "val" / "images" / image["file_name"])
    (tmp_path / "a.json").write_text(json.dumps(data))
    rc, _, err = cli("eval", "--model", model_path, "--annotations", tmp_path / "a.json", "--images", tmp_path)
    assert_clean_error(
        rc, err, f"1 image of {tmp_path / 'a.json'} is not in {tmp_path}: {data['images'][-1]['file_name']}"
    )


def test_eval_says_how_many_images_have_no_annotation_at_all(cli, model_path, tmp_path):
    """A CVAT task holding more frames than a --max-frames run tracked exports the others with nobody in them: each
    pose found there counted as a false one unsaid (AP 0.562 fell to 0.130 with 141 such frames of 200)."""
    names = ["a.png", "b.png", "c.png"]
    for name in names:
        cv2.imwrite(str(tmp_path / name), np.full((64, 64, 3), 128, np.uint8))
    images = [{"id": n, "file_name": name, "width": 64, "height": 64} for n, name in enumerate(names, 1)]
    args = ("eval", "--model", model_path, "--annotations", tmp_path / "a.json", "--images", tmp_path)
    crowd = {**PERSON, "id": 2, "image_id": 3, "iscrowd": 1}  # a pose in a crowd region counts against nobody
    (tmp_path / "a.json").write_text(json.dumps({**ONE_IMAGE, "images": images, "annotations": [PERSON, crowd]}))
    rc, _, err = cli(*args)
    assert rc == 0 and "wlitepose: note: 1 of the 3 images has no annotation at all" in err, err
    everyone = [{**PERSON, "id": n, "image_id": n} for n in (1, 2, 3)]
    (tmp_path / "a.json").write_text(json.dumps({**ONE_IMAGE, "images": images, "annotations": everyone}))
    rc, _, err = cli(*args)
    assert rc == 0 and "no annotation" not in err, err


def test_eval_reads_no_image_outside_its_folder(
    cli, model_path, tmp_path, shared_data, monkeypatch, assert_clean_error
):
    """An annotation file naming /any/photo.jpg or ../photo.jpg had eval read it from anywhere on the disk (train
    too: the same check_images serves both); shrink-data alone refused it."""
    import core.eval_run

    monkeypatch.setattr(core.eval_run, "predict_dataset", lambda *a: pytest.fail("an image outside was read"))
    data = json.loads((shared_data / "val" / "annotations.json").read_text())
    first = shared_data / "val" / "images" / data["images"][0]["file_name"]
    (tmp_path / "images").mkdir()
    for image in data["images"][1:]:  # the others are there: the first alone is looked for elsewhere
        (tmp_path / "images" / image["file_name"]).symlink_to(first.parent / image["file_name"])
    (tmp_path / first.name).symlink_to(first)  # beside the images folder
    for name in (str(first), f"../{first.name}"):
        data["images"][0]["file_name"] = name
        (tmp_path / "a.json").write_text(json.dumps(data))
        rc, _, err = cli(
            "eval", "--model", model_path, "--annotations", tmp_path / "a.json", "--images", tmp_path / "images"
        )
        assert_clean_error(rc, err, f"{tmp_path / 'a.json'} names an image outside its images folder: {name}")


def test_eval_bad_paths(cli, model_path, tmp_path, assert_clean_error):
    rc, _, err = cli("eval", "--model", model_path, "--annotations", tmp_path / "a.json", "--images", tmp_path)
    assert_clean_error(rc, err, "a.json", "does not exist")
    rc, _, err = cli("eval", "--model", model_path, "--annotations", tmp_path, "--images", tmp_path)
    assert_clean_error(rc, err, "is a folder")
    (tmp_path / "a.json").write_text("[]")
    rc, _, err = cli("eval", "--model", model_path, "--annotations", tmp_path / "a.json", "--images", model_path)
    assert_clean_error(rc, err, "is a file, not a folder")  # it said the images folder does not exist


def test_eval_never_writes_its_results_over_a_file_it_reads(cli, model_path, tmp_path, assert_clean_error):
    annotations = tmp_path / "a.json"
    annotations.write_text(json.dumps({**ONE_IMAGE, "annotations": [PERSON]}))
    (tmp_path / "a.png").write_bytes(b"an image of the set")
    model = tmp_path / "m.onnx"
    model.write_bytes(Path(model_path).read_bytes())
    for out in (annotations, model, tmp_path / "a.png"):
        before = out.read_bytes()
        rc, _, err = cli("eval", "--model", model, "--annotations", annotations, "--images", tmp_path, "--out", out)
        assert_clean_error(rc, err, str(out), "reads")
        assert out.read_bytes() == before


PERSON = {"id": 1, "image_id": 1, "category_id": 1, "iscrowd": 0, "bbox": [0, 0, 9, 9], "keypoints": [5, 5, 2] * 17}


ONE_IMAGE = {"images": [{"id": 1, "file_name": "a.png"}], "categories": [{"id": 1}]}


@pytest.mark.parametrize(
    "content, extra, words",
    [
        ({"images": [], "annotations": [], "categories": []}, (), ["no categories"]),
        ({**ONE_IMAGE, "annotations": []}, (), ["no annotated people"]),
        ({**ONE_IMAGE, "annotations": [PERSON]}, ("--size", 0), ["--size", "multiple of 32"]),
        ({**ONE_IMAGE, "annotations": [PERSON]}, ("--size", 33), ["--size", "multiple of 32"]),
        ({**ONE_IMAGE, "annotations": [PERSON]}, ("--size", 100000), ["--size", "up to 2048"]),
        ({**ONE_IMAGE, "annotations": [PERSON]}, ("--threads", -1), ["--threads"]),
        ({**ONE_IMAGE, "annotations": [PERSON]}, ("--baseline", "b.onnx", "--bootstrap", 0), ["positive number"]),
        ({**ONE_IMAGE, "annotations": [{**PERSON, "image_id": 2}]}, (), ["no annotated people"]),  # not listed
        ({**ONE_IMAGE, "annotations": [{k: v for k, v in PERSON.items() if k != "image_id"}]}, (), ["image_id"]),
        ({**ONE_IMAGE, "annotations": [PERSON, {**PERSON, "keypoints": [5, 5, 2] * 16}]}, (), ["48 keypoint values"]),
        ({**ONE_IMAGE, "annotations": [{**PERSON, "keypoints": ["a"] * 51}]}, (), ["not numbers"]),
        ({**ONE_IMAGE, "images": [{"id": 1}], "annotations": [PERSON]}, (), ["file_name"]),
        ({**ONE_IMAGE, "annotations": [{**PERSON, "keypoints": [5, 5, 2] * 14}]}, (), ["14 keypoints", "has 17"]),
    ],
)
def test_eval_refuses_what_it_cannot_score(cli, model_path, tmp_path, content, extra, words, assert_clean_error):
    (tmp_path / "a.json").write_text(json.dumps(content))
    rc, out, err = cli(
        "eval", "--model", model_path, "--annotations", tmp_path / "a.json", "--images", tmp_path, *extra
    )
    assert_clean_error(rc, err, *words)
    assert "AP" not in out


def _large_people_only(shared_data, path) -> Path:
    """Writes to ``path`` the dev set's images with large people only, those people alone; returns ``path``."""
    val = json.loads((shared_data / "val" / "annotations.json").read_text())
    people = [a for a in val["annotations"] if not a["iscrowd"] and a["num_keypoints"] > 0 and a["area"] > 96**2]
    kept = {a["image_id"] for a in people}
    path.write_text(json.dumps({**val, "images": [i for i in val["images"] if i["id"] in kept], "annotations": people}))
    return path


def test_eval_says_n_a_for_a_score_with_nobody_to_count(
    cli, model_path, tmp_path, shared_data, truth_as_results, monkeypatch
):
    """On a set without medium-sized people APm has nobody to count: the line says n/a, as documented, not nan."""
    found = truth_as_results(_large_people_only(shared_data, tmp_path / "large.json"))
    monkeypatch.setattr("core.eval_run.predict_dataset", lambda *args: found)
    rc, out, err = cli(
        "eval", "--model", model_path, "--annotations", tmp_path / "large.json",
        "--images", shared_data / "val" / "images", "--out", tmp_path / "stats.json",
    )  # fmt: skip
    assert rc == 0, err
    assert "APm n/a" in out and "AP 1.000" in out and "nan" not in out
    assert json.loads((tmp_path / "stats.json").read_text())["APm"] is None


def test_eval_checks_the_baselines_keypoint_order_too(
    cli, model_path, tmp_path, monkeypatch, assert_clean_error, with_metadata
):
    """A baseline whose keypoints (neither COCO's nor CrowdPose's, with the same sigmas) come in another order than
    the file's would be scored joint against the wrong joint: it is refused before any image goes through a network."""
    import core.eval_run

    monkeypatch.setattr(core.eval_run, "predict_dataset", lambda *a: pytest.fail("the network ran first"))
    names = [f"joint{i}" for i in range(17)]
    model = with_metadata(model_path, tmp_path / "m.onnx", keypoint_names=names, oks_sigmas=[0.05] * 17)
    backwards = with_metadata(model_path, tmp_path / "b.onnx", keypoint_names=names[::-1], oks_sigmas=[0.05] * 17)
    content = {**ONE_IMAGE, "categories": [{"id": 1, "keypoints": names}], "annotations": [PERSON]}
    (tmp_path / "a.json").write_text(json.dumps(content))
    data = ["--annotations", tmp_path / "a.json", "--images", tmp_path]
    rc, _, err = cli("eval", "--model", model, *data, "--baseline", backwards, "--bootstrap", 40)
    assert_clean_error(rc, err, f"in another order than baseline {backwards}")


def test_eval_gives_no_share_of_redraws_for_a_score_with_nobody_to_count(
    cli, model_path, tmp_path, shared_data, truth_as_results, monkeypatch, with_metadata
):
    """Without medium-sized people APm compares nothing in any redraw: its difference is null, not 'the model higher
    in 0 % of redraws', which read as the baseline at least as good in every one."""
    exact = truth_as_results(_large_people_only(shared_data, tmp_path / "large.json"))
    off = [{**r, "keypoints": [v + 40 * (i % 3 < 2) for i, v in enumerate(r["keypoints"])]} for r in exact]
    baseline = with_metadata(model_path, tmp_path / "baseline.onnx", input_size=128)
    monkeypatch.setattr(
        "core.eval_run.predict_dataset", lambda model, data, images, size: off if size == 128 else exact
    )
    rc, _, err = cli(
        "eval", "--model", model_path, "--annotations", tmp_path / "large.json",
        "--images", shared_data / "val" / "images", "--baseline", baseline, "--bootstrap", 40,
        "--out", tmp_path / "stats.json",
    )  # fmt: skip
    assert rc == 0, err
    difference = json.loads((tmp_path / "stats.json").read_text())["difference"]
    assert difference["APm"] == {"interval": [None, None], "higher": None}
    assert difference["AP"]["higher"] == 1.0


def test_eval_without_a_model_is_refused_before_reading_the_set(cli, tmp_path, capsys):
    """Without --model, eval checked the annotations and images, then stopped with a TypeError traceback."""
    with pytest.raises(SystemExit) as exit_info:
        cli("eval", "--annotations", tmp_path / "a.json", "--images", tmp_path)
    assert exit_info.value.code == 2 and "required: --model" in capsys.readouterr().err


def _paired_scores(*args) -> np.ndarray:
    """(40 redraws, 2 models, 6 stats) bootstrap scores: the redraws move both models from 0.2 to 0.6, the model
    always 0.01 above the baseline."""
    moved = np.linspace(0.2, 0.6, 40)[:, None, None] + np.array([0.01, 0.0])[None, :, None]
    return np.repeat(moved, 6, axis=2)


@pytest.fixture
def paired_eval(cli, model_path, tmp_path, shared_data, truth_as_results, monkeypatch, with_metadata):
    """`eval --baseline --bootstrap 40 --out` on the dev set, the model finding everyone exactly and the baseline
    (input size 128) nobody, their redraws' scores _paired_scores; (what it printed, the --out file's stats)."""
    path = shared_data / "val" / "annotations.json"
    truth = truth_as_results(path)
    baseline = with_metadata(model_path, tmp_path / "baseline.onnx", input_size=128)
    monkeypatch.setattr("core.eval_run.predict_dataset", lambda model, data, images, size: [] if size == 128 else truth)
    monkeypatch.setattr("core.eval_run.bootstrap", _paired_scores)
    rc, out, err = cli(
        "eval", "--model", model_path, "--annotations", path, "--images", shared_data / "val" / "images",
        "--baseline", baseline, "--bootstrap", 40, "--out", tmp_path / "stats.json",
    )  # fmt: skip
    assert rc == 0, err
    return out, json.loads((tmp_path / "stats.json").read_text())


def test_eval_takes_the_difference_with_the_baseline_redraw_by_redraw(paired_eval):
    """The paired interval is of each redraw's model score less the baseline's on the same images: a model 0.01 above
    the baseline in every redraw, however far the redraws move both, is 0.01 above it (less the baseline's average
    over the redraws, the interval was -0.18 to +0.20 and the model higher in half of them)."""
    out, stats = paired_eval
    difference = stats["difference"]["AP"]
    assert difference["interval"] == pytest.approx([0.01, 0.01]) and difference["higher"] == 1.0
    assert "AP +0.010 to +0.010 (higher in 100% of redraws)" in out


def test_eval_prints_each_models_own_figures_and_intervals(paired_eval):
    """The model's line and the baseline's each give that model's figures, and each interval line its two ends
    (the baseline's line repeated the model's; an interval printed as its low end twice read 0.014-0.014)."""
    out, _ = paired_eval
    lines = out.splitlines()
    assert lines[0].startswith("AP 1.000") and lines[1].startswith("baseline baseline.onnx: AP 0.000")
    assert "95% interval: AP 0.220-0.600" in out and "95% interval of the baseline: AP 0.210-0.590" in out


def test_a_stop_signal_while_eval_writes_out_leaves_no_file_and_is_one_line(
    cli, model_path, tmp_path, shared_data, signal_on_call
):
    """eval died by SIGTERM's default action, without a word; --out is written whole or not at all."""
    from core.sinks import base

    signal_on_call(base, "_replace", signal.SIGTERM)  # the figures written beside --out, before they replace it
    rc, _, err = cli(
        "eval", "--model", model_path, "--annotations", shared_data / "val" / "annotations.json",
        "--images", shared_data / "val" / "images", "--size", 64, "--out", tmp_path / "stats.json",
    )  # fmt: skip
    assert (rc, err) == (128 + signal.SIGTERM, "wlitepose: interrupted\n") and list(tmp_path.iterdir()) == []
