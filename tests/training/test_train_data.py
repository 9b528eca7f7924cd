"""The training and validation data `wlitepose train` is given: faulty annotations and images refused in
one sentence (by eval too), odd but valid ones trained on.
"""

import dataclasses
import json
import subprocess
from pathlib import Path

import pytest

from core.errors import WLitePoseError
from main import main
from training.trainer import train

ROOT = Path(__file__).resolve().parents[2]


def _copy_set(shared_data, tmp_path, change) -> str:
    """The CrowdPose sample as a folder of its own (annotations.json + images), its dict passed through ``change``."""
    folder = shared_data / "crowdpose_sample"
    data = json.loads((folder / "test_crowdpose.json").read_text())
    (tmp_path / "set" / "images").mkdir(parents=True)
    for image in data["images"]:
        (tmp_path / "set" / "images" / image["file_name"]).write_bytes((folder / image["file_name"]).read_bytes())
    change(data)
    (tmp_path / "set" / "annotations.json").write_text(json.dumps(data))
    return str(tmp_path / "set")


def _unlabel_with_null(data):
    for ann in data["annotations"]:
        kps = ann["keypoints"]
        for j in range(0, len(kps), 3):
            if kps[j + 2] == 0:
                kps[j], kps[j + 1] = None, None  # an unlabelled joint without a position, as some tools write
    assert any(None in ann["keypoints"] for ann in data["annotations"])


def _label_a_null(data):
    kps = data["annotations"][0]["keypoints"]
    kps[0], kps[2] = None, 2


def _reorder(data):
    names = data["categories"][0]["keypoints"]
    names[0], names[1] = names[1], names[0]


def _lose_an_image(data):
    data["images"][0]["file_name"] = "elsewhere.jpg"


def _dev_copy(shared_data, tmp_path, change) -> str:
    """The dev set (COCO-17) as a folder of its own, its annotations passed through ``change``."""
    data = json.loads((shared_data / "val" / "annotations.json").read_text())
    change(data)
    (tmp_path / "dev").mkdir()
    (tmp_path / "dev" / "annotations.json").write_text(json.dumps(data))
    (tmp_path / "dev" / "images").symlink_to(shared_data / "val" / "images")
    return str(tmp_path / "dev")


@pytest.mark.parametrize(
    "change, message",
    [
        (_label_a_null, "has a labelled keypoint without a position (null, NaN or inf)"),
        (_reorder, "lists its keypoints in another order than the coco schema"),
        (_lose_an_image, "1 image of --val-data"),
    ],
)
def test_a_faulty_validation_set_is_refused_before_an_epoch_is_spent(tmp_path, shared_data, capsys, change, message):
    argv = ["train", "--train-data", str(shared_data / "val"), "--val-data", _dev_copy(shared_data, tmp_path, change)]
    assert main([*argv, "--out", str(tmp_path / "run")]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1 and not (tmp_path / "run").exists()


def test_unlabelled_joints_without_a_position_train_and_evaluate(tmp_path, shared_data, tiny_run, capsys):
    folder = _copy_set(shared_data, tmp_path, _unlabel_with_null)
    train(
        tiny_run(
            tmp_path / "run",
            max_steps=1,
            train_annotations=f"{folder}/annotations.json",
            train_images=f"{folder}/images",
        )
    )
    assert main(["export", "--checkpoint", str(tmp_path / "run" / "last.pt"), "--out", str(tmp_path / "m.onnx")]) == 0
    argv = ["eval", "--model", str(tmp_path / "m.onnx"), "--annotations", f"{folder}/annotations.json"]
    assert main([*argv, "--images", f"{folder}/images"]) == 0, capsys.readouterr().err


def test_training_data_in_another_keypoint_order_is_refused(tmp_path, shared_data, capsys):
    argv = ["train", "--train-data", _dev_copy(shared_data, tmp_path, _reorder), "--out", str(tmp_path / "run")]
    assert main(argv) == 2
    assert "lists its keypoints in another order than the coco schema" in capsys.readouterr().err


def test_a_damaged_image_read_by_a_loader_worker_is_one_sentence(tmp_path, shared_data, wlitepose_command):
    # in a process of its own, as users run it: a loader worker forked from a test process that has run Qt or
    # ONNX Runtime threads could deadlock
    folder = _copy_set(shared_data, tmp_path, lambda data: None)
    for image in (tmp_path / "set" / "images").iterdir():
        image.write_bytes(b"not a jpeg")
    argv = ["train", "--train-data", folder, "--schema", "crowdpose", "--variant", "litepose_xs", "--size", "64"]
    argv += ["--batch-size", "2", "--workers", "1", "--max-steps", "1", "--out", str(tmp_path / "run")]
    done = subprocess.run(wlitepose_command(*argv), capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert done.returncode == 2 and done.stderr.startswith("wlitepose: error: image "), done.stderr
    assert "missing or unreadable" in done.stderr and done.stderr.count("\n") == 1


@pytest.mark.parametrize("categories", [[], [{"keypoints": 5}]])
def test_odd_categories_of_training_data_are_no_traceback(tmp_path, shared_data, tiny_run, categories):
    folder = _copy_set(shared_data, tmp_path, lambda data: data.update(categories=categories))
    run = tiny_run(tmp_path / "run", max_steps=1, train_annotations=f"{folder}/annotations.json")
    try:
        train(dataclasses.replace(run, train_images=f"{folder}/images"))
    except WLitePoseError as error:  # refused in one sentence, or trained
        assert "\n" not in str(error)


@pytest.fixture(scope="module")
def crowdpose_model(tmp_path_factory) -> Path:
    """An untrained 14-keypoint model file, for eval's checks of the annotations."""
    path = tmp_path_factory.mktemp("model") / "crowdpose.onnx"
    assert main(["export", "--variant", "litepose_xs", "--schema", "crowdpose", "--out", str(path)]) == 0
    return path


def _bad_polygon(data):
    data["annotations"].append({"id": 9, "image_id": data["images"][0]["id"], "iscrowd": 1, "bbox": [1, 2, 29, 2]})
    data["annotations"][-1]["segmentation"] = [[1, 2, 30, 4, 30]]  # five numbers: no x, y pairs


def _mask_of_words(data):
    _bad_polygon(data)
    image = data["images"][0]
    data["annotations"][-1]["segmentation"] = {"size": [image["height"], image["width"]], "counts": ["x"]}


def _null_file_name(data):
    data["images"][0]["file_name"] = None


def _iscrowd_in_words(data):
    data["annotations"][0]["iscrowd"] = "no"


def _background_image(data):
    data["images"].append({"id": 1, "file_name": "empty.jpg", "width": 64, "height": 64})


@pytest.mark.parametrize(
    "change, message",
    [
        (_bad_polygon, "annotation 9 has a segmentation that is neither polygons (lists of x, y numbers) nor a mask"),
        (_mask_of_words, "annotation 9 has a mask (RLE) whose size is not a height and width or whose counts are"),
        (_null_file_name, "every image needs an id and a file_name"),
        (_iscrowd_in_words, 'has iscrowd "no", not 0 or 1'),
    ],
)
def test_malformed_regions_and_images_are_one_sentence_in_train_and_eval(
    tmp_path, shared_data, capsys, crowdpose_model, change, message, tiny_argv
):
    folder = _copy_set(shared_data, tmp_path, change)
    argv = ["train", "--train-data", folder, *tiny_argv, "--max-steps", "1", "--out", str(tmp_path / "run")]
    assert main(argv) == 2  # refused when the file is read: a step never comes
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err and not (tmp_path / "run").exists()
    assert message in err or change is _null_file_name and "image 106848 has no file_name" in err, err
    argv = ["eval", "--model", str(crowdpose_model), "--annotations", f"{folder}/annotations.json"]
    assert main([*argv, "--images", f"{folder}/images"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err, err


def test_images_without_people_are_said_to_be_left_out(tmp_path, shared_data, tiny_run, capsys):
    folder = _copy_set(shared_data, tmp_path, _background_image)
    data = {"train_annotations": f"{folder}/annotations.json", "train_images": f"{folder}/images"}
    train(tiny_run(tmp_path / "run", max_steps=1, **data))
    assert "1 of the training images has no labelled person and is left out" in capsys.readouterr().err
