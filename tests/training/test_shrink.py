import json
import signal
from pathlib import Path

import cv2
import numpy as np
import pytest
from pycocotools import mask as mask_utils

from main import main
from models.schemas import get_schema
from training import shrink
from training.dataset import KeypointDataset


def _sample(folder, size, index):
    dataset = KeypointDataset(folder / "annotations.json", folder / "images", get_schema("coco"), size)
    return dataset.view(index, size, None, None)  # the letterboxed view, without augmentation


def test_a_shrunk_set_gives_the_same_training_views(tmp_path, shared_data, capsys):
    out = tmp_path / "small"
    assert main(["shrink-data", str(shared_data / "val"), "--out", str(out), "--size", "128"]) == 0
    assert "wrote 35 images, longest side 192 px" in capsys.readouterr().out
    before = json.loads((shared_data / "val" / "annotations.json").read_text())
    after = json.loads((out / "annotations.json").read_text())
    assert len(after["annotations"]) == len(before["annotations"])
    for info in after["images"]:
        image = cv2.imread(str(out / "images" / info["file_name"]))
        assert info["file_name"].endswith(".webp") and max(image.shape[:2]) == 192
        assert (info["width"], info["height"]) == (image.shape[1], image.shape[0])
    first, shrunk = before["annotations"][0], after["annotations"][0]
    factor = after["images"][0]["width"] / before["images"][0]["width"]
    assert shrunk["area"] == pytest.approx(first["area"] * factor**2, rel=0.02)
    for index in (0, 7, 20):  # a 128 view of the 192-px copy is the 128 view of the original
        image, keypoints, _, valid = _sample(shared_data / "val", 128, index)
        small, small_keypoints, _, small_valid = _sample(out, 128, index)
        np.testing.assert_array_equal(small_keypoints[..., 2], keypoints[..., 2])
        labelled = keypoints[..., 2] > 0
        np.testing.assert_allclose(small_keypoints[labelled][:, :2], keypoints[labelled][:, :2], atol=0.6)
        assert np.abs(small.astype(int) - image.astype(int)).mean() < 3
        assert (small_valid != valid).mean() < 0.01  # crowd regions scaled with the image


@pytest.mark.parametrize("image_format", ["webp", "jpg"])
def test_the_quality_asked_for_is_the_encoders(tmp_path, shared_data, image_format):
    """A lower --quality gives smaller files (it was once left at the default 90 whatever was asked)."""

    def written(quality: int) -> int:
        out = tmp_path / f"q{quality}"
        argv = ["shrink-data", str(shared_data / "val"), "--out", str(out), "--size", "128", "--quality", str(quality)]
        assert main([*argv, "--format", image_format]) == 0
        return sum(path.stat().st_size for path in (out / "images").iterdir())

    assert written(30) < 0.7 * written(95)


def test_crowd_regions_of_either_kind_are_scaled(tmp_path, capsys):
    folder = tmp_path / "set"
    (folder / "images").mkdir(parents=True)
    image = np.full((400, 600, 3), 90, np.uint8)
    cv2.imwrite(str(folder / "images" / "a.png"), image)
    crowd = np.zeros((400, 600), np.uint8)
    crowd[100:200, 300:450] = 1
    rle = mask_utils.encode(np.asfortranarray(crowd))
    region = {"size": [400, 600], "counts": rle["counts"].decode()}
    person = [300.0, 100.0, 2] + [0.0] * 48
    data = {
        "images": [{"id": 7, "file_name": "a.png", "width": 600, "height": 400}],
        "annotations": [
            {"id": 1, "image_id": 7, "keypoints": person, "bbox": [290, 90, 40, 60], "area": 2400},
            {"id": 2, "image_id": 7, "iscrowd": 1, "segmentation": region},
            {"id": 3, "image_id": 7, "iscrowd": 1, "segmentation": [[0, 0, 60, 0, 60, 40, 0, 40]]},
        ],
        "categories": [{"id": 1, "name": "person", "keypoints": list(range(17))}],
    }
    (folder / "annotations.json").write_text(json.dumps(data))
    out = tmp_path / "small"
    assert main(["shrink-data", str(folder), "--out", str(out), "--size", "192", "--format", "jpg"]) == 0
    after = json.loads((out / "annotations.json").read_text())
    assert after["images"] == [{"id": 7, "file_name": "a.jpg", "width": 288, "height": 192}]
    person, region, polygon = after["annotations"]
    assert person["keypoints"][:3] == pytest.approx([143.74, 47.74, 2])  # (x + 0.5) * 0.48 - 0.5
    assert person["bbox"] == pytest.approx([139.2, 43.2, 19.2, 28.8]) and person["area"] == pytest.approx(552.96)
    shrunk = mask_utils.decode({"size": region["segmentation"]["size"], "counts": region["segmentation"]["counts"]})
    assert shrunk.shape == (192, 288) and shrunk[48:96, 144:216].all() and shrunk.sum() == 48 * 72
    assert polygon["segmentation"] == [pytest.approx([0, 0, 28.8, 0, 28.8, 19.2, 0, 19.2])]


def test_bad_input_is_refused_before_anything_is_written(tmp_path, shared_data, capsys):
    val = str(shared_data / "val")
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "x").write_text("")
    assert main(["shrink-data", val, "--out", str(tmp_path / "full")]) == 2
    assert f"--out {tmp_path / 'full'} already exists and is not an empty folder" in capsys.readouterr().err
    assert main(["shrink-data", val, "--out", str(tmp_path / "a"), "--size", "100"]) == 2
    assert "--size must be a positive multiple of 32" in capsys.readouterr().err
    assert main(["shrink-data", val, "--out", str(tmp_path / "a"), "--quality", "0"]) == 2
    assert "--quality must be 1-100, not 0" in capsys.readouterr().err
    assert main(["shrink-data", str(tmp_path / "none"), "--out", str(tmp_path / "a")]) == 2
    assert "does not exist" in capsys.readouterr().err
    (tmp_path / "text").write_text("")  # each of its images was said missing from it
    text_images = ["--images", str(tmp_path / "text")]
    assert main(["shrink-data", val + "/annotations.json", *text_images, "--out", str(tmp_path / "a")]) == 2
    assert f"{tmp_path / 'text'} is a file, not a folder of images" in capsys.readouterr().err
    assert not (tmp_path / "a").exists()
    data = json.loads((shared_data / "val" / "annotations.json").read_text())
    data["images"][-1]["file_name"] = "gone.jpg"  # the last image: found missing before the others are written
    (tmp_path / "lost").mkdir()
    (tmp_path / "lost" / "annotations.json").write_text(json.dumps(data))
    (tmp_path / "lost" / "images").symlink_to(shared_data / "val" / "images")
    assert main(["shrink-data", str(tmp_path / "lost"), "--out", str(tmp_path / "b")]) == 2
    assert "1 image of" in capsys.readouterr().err and not (tmp_path / "b").exists()  # it left an empty one
    data["images"][-1]["id"] = [1]  # was a TypeError traceback (unhashable type: 'list')
    (tmp_path / "lost" / "annotations.json").write_text(json.dumps(data))
    assert main(["shrink-data", str(tmp_path / "lost"), "--out", str(tmp_path / "b")]) == 2
    assert "image gone.jpg's id is [1], not a whole number or text" in capsys.readouterr().err
    (tmp_path / "list.json").write_text("[1, 2]")
    assert main(["shrink-data", str(tmp_path / "list.json"), "--images", val, "--out", str(tmp_path / "c")]) == 2
    assert "(it holds a JSON list, not an object" in capsys.readouterr().err and not (tmp_path / "c").exists()


def test_only_an_out_folder_without_annotations_json_is_said_to_be_a_stopped_shrink(tmp_path, shared_data, capsys):
    """The hint to remove a stopped shrink's folder must not be given for a finished copy."""
    (tmp_path / "stopped" / "images").mkdir(parents=True)
    (tmp_path / "done").mkdir()
    (tmp_path / "done" / "annotations.json").write_text("{}")
    hint = "(a shrink that stopped leaves a folder without annotations.json: remove it)"
    for folder, told in (("stopped", True), ("done", False)):
        assert main(["shrink-data", str(shared_data / "val"), "--out", str(tmp_path / folder)]) == 2
        assert (hint in capsys.readouterr().err) == told, folder


def test_the_quality_is_90_unless_asked_and_100_is_allowed(tmp_path, capsys):
    """--help says 1-100, default 90."""
    (tmp_path / "set" / "images").mkdir(parents=True)
    noise = np.random.default_rng(0).integers(0, 256, (200, 300, 3), np.uint8)
    cv2.imwrite(str(tmp_path / "set" / "images" / "a.png"), noise)
    images = [{"id": 1, "file_name": "a.png", "width": 300, "height": 200}]
    (tmp_path / "set" / "annotations.json").write_text(json.dumps({"images": images, "annotations": []}))

    def written(*quality: str) -> bytes:
        out = tmp_path / f"q{len(list(tmp_path.iterdir()))}"
        assert main(["shrink-data", str(tmp_path / "set"), "--out", str(out), "--size", "64", *quality]) == 0
        return (out / "images" / "a.webp").read_bytes()

    assert written() == written("--quality", "90") != written("--quality", "100")


def test_images_that_would_share_a_name_are_refused(tmp_path, capsys):
    folder = tmp_path / "set"
    (folder / "images").mkdir(parents=True)
    images = [{"id": i, "file_name": name, "width": 4, "height": 4} for i, name in enumerate(["a.jpg", "a.png"])]
    (folder / "annotations.json").write_text(json.dumps({"images": images, "annotations": []}))
    assert main(["shrink-data", str(folder), "--out", str(tmp_path / "out")]) == 2
    assert "several images that would be written as a.webp" in capsys.readouterr().err
    assert not (tmp_path / "out" / "annotations.json").exists()


def test_thin_images_unlabelled_joints_and_names_outside_the_folder(tmp_path, capsys):
    folder = tmp_path / "set"
    (folder / "images").mkdir(parents=True)
    cv2.imwrite(str(folder / "images" / "thin.png"), np.full((1, 2000, 3), 200, np.uint8))
    joints = [1000.0, 0.0, 0] + [0.0] * 48  # placed but not labelled, then COCO's 0, 0, 0
    data = {
        "images": [{"id": 1, "file_name": "thin.png", "width": 2000, "height": 1}],
        "annotations": [{"id": 1, "image_id": 1, "keypoints": joints}],
    }
    (folder / "annotations.json").write_text(json.dumps(data))
    assert main(["shrink-data", str(folder), "--out", str(tmp_path / "a"), "--size", "64"]) == 0
    after = json.loads((tmp_path / "a" / "annotations.json").read_text())
    assert after["images"][0]["width"] == 96 and after["images"][0]["height"] == 1
    assert after["annotations"][0]["keypoints"][:6] == pytest.approx([47.52, 0.0, 0, 0, 0, 0], abs=0.01)
    data["images"][0]["file_name"] = "../thin.png"
    (folder / "annotations.json").write_text(json.dumps(data))
    assert main(["shrink-data", str(folder), "--out", str(tmp_path / "b")]) == 2
    assert "names an image outside its images folder: ../thin.png" in capsys.readouterr().err


def test_an_unlabelled_joint_without_a_position_is_copied_as_coco_writes_it(tmp_path, capsys):
    """An unlabelled joint given as null (read as COCO's 0, 0) was written NaN, NaN: not JSON to any other tool."""
    folder = tmp_path / "set"
    (folder / "images").mkdir(parents=True)
    cv2.imwrite(str(folder / "images" / "a.png"), np.full((400, 1000, 3), 90, np.uint8))
    joints = [500.0, 200.0, 2, None, None, 0, float("nan"), 3.0, 0] + [0.0] * 42
    data = {
        "images": [{"id": 1, "file_name": "a.png", "width": 1000, "height": 400}],
        "annotations": [{"id": 1, "image_id": 1, "keypoints": joints, "bbox": [400, 100, 200, 200]}],
    }
    (folder / "annotations.json").write_text(json.dumps(data))
    assert main(["shrink-data", str(folder), "--out", str(tmp_path / "a"), "--size", "64"]) == 0
    assert "wrote 1 image, longest side" in capsys.readouterr().out

    def not_json(constant):
        raise AssertionError(f"annotations.json holds {constant}, which JSON has not")

    after = json.loads((tmp_path / "a" / "annotations.json").read_text(), parse_constant=not_json)
    assert after["annotations"][0]["keypoints"][:9] == pytest.approx([47.55, 18.55, 2, 0, 0, 0, 0, 0, 0], abs=0.01)


def test_a_shrunk_copy_names_images_in_folders_with_forward_slashes_and_refuses_case_twins(tmp_path, capsys):
    folder = tmp_path / "set"
    (folder / "images" / "sub").mkdir(parents=True)
    names = ["sub/A.jpg", "sub/a.png"]
    images = [{"id": i, "file_name": name, "width": 4, "height": 4} for i, name in enumerate(names)]
    (folder / "annotations.json").write_text(json.dumps({"images": images, "annotations": []}))
    assert main(["shrink-data", str(folder), "--out", str(tmp_path / "out")]) == 2
    assert "several images that would be written as sub/a.webp" in capsys.readouterr().err
    images[1]["file_name"] = "sub/b.png"
    (folder / "annotations.json").write_text(json.dumps({"images": images, "annotations": []}))
    for image in images:
        (folder / "images" / image["file_name"]).write_bytes(_png())
    assert main(["shrink-data", str(folder), "--out", str(tmp_path / "out")]) == 0
    written = json.loads((tmp_path / "out" / "annotations.json").read_text())
    assert [info["file_name"] for info in written["images"]] == ["sub/A.webp", "sub/b.webp"]


def test_the_default_copy_is_for_256_crops_and_says_what_it_read_and_wrote(tmp_path, shared_data, capsys):
    """Without --size the copy is for 256 crops (--help's default); "was" is the originals' size, not the copy's."""
    out = tmp_path / "small"
    assert main(["shrink-data", str(shared_data / "val"), "--out", str(out)]) == 0
    read = sum(path.stat().st_size for path in (shared_data / "val" / "images").iterdir())
    written = sum(path.stat().st_size for path in (out / "images").iterdir())
    assert f"longest side 384 px ({written / 1e6:.1f} MB, was {read / 1e6:.1f} MB)" in capsys.readouterr().out


def _png() -> bytes:
    return cv2.imencode(".png", np.zeros((4, 4, 3), np.uint8))[1].tobytes()


def test_a_plain_install_shrinks_a_set_without_torch(tmp_path, shared_data, main_without):
    """shrink-data reads images and JSON only, but asked for the train extra (torch and onnx) first."""
    out = tmp_path / "small"
    run = main_without(("torch", "onnx"), "shrink-data", shared_data / "val", "--out", out, "--size", 64)
    assert run.returncode == 0, run.stderr
    assert len(json.loads((out / "annotations.json").read_text())["images"]) == 35


def test_a_plain_install_refuses_rle_crowd_regions_before_any_image_is_written(tmp_path, main_without):
    """pycocotools (the train extra's) was found missing at the first image with a mask, after the images before it
    were written."""
    folder = tmp_path / "set"
    (folder / "images").mkdir(parents=True)
    for name in ("a.png", "b.png"):
        (folder / "images" / name).write_bytes(_png())
    mask = {
        "size": [4, 4],
        "counts": mask_utils.encode(np.asfortranarray(np.ones((4, 4), np.uint8)))["counts"].decode(),
    }
    data = {
        "images": [{"id": 1, "file_name": "a.png"}, {"id": 2, "file_name": "b.png"}],
        "annotations": [{"id": 3, "image_id": 2, "iscrowd": 1, "segmentation": mask}],
    }
    (folder / "annotations.json").write_text(json.dumps(data))
    run = main_without(("pycocotools",), "shrink-data", folder, "--out", tmp_path / "out")
    assert run.returncode == 2 and "crowd regions are RLE masks, which need pycocotools" in run.stderr
    assert run.stderr.count("\n") == 1 and not (tmp_path / "out").exists()


def test_a_full_disk_while_shrinking_is_one_sentence(tmp_path, shared_data, capsys, monkeypatch):
    real = Path.write_bytes

    def full(self, data):
        if self.name.endswith(".json.tmp"):
            real(self, data[:100])  # part of it written: the file left must go
            raise OSError(28, "No space left on device")
        return real(self, data)

    monkeypatch.setattr(Path, "write_bytes", full)
    assert main(["shrink-data", str(shared_data / "val"), "--out", str(tmp_path / "small")]) == 2
    err = capsys.readouterr().err
    assert "annotations.json.tmp: No space left on device;" in err and "is incomplete" in err
    assert "Traceback" not in err and not (tmp_path / "small" / "annotations.json.tmp").exists()


def test_a_full_disk_while_shrinking_an_image_is_one_sentence(tmp_path, shared_data, capsys, monkeypatch):
    real = Path.write_bytes

    def full(self, data):
        if self.parent.name == "images":
            raise OSError(28, "No space left on device")
        return real(self, data)

    monkeypatch.setattr(Path, "write_bytes", full)
    assert main(["shrink-data", str(shared_data / "val"), "--out", str(tmp_path / "small")]) == 2
    err = capsys.readouterr().err
    assert "No space left on device" in err and "Traceback" not in err
    # at the first image: nothing was written, and an empty images/ left made a rerun refuse --out
    assert "is incomplete" not in err and not (tmp_path / "small").exists()


@pytest.mark.parametrize(
    "field, value, words",
    [
        ("keypoints", 5, "annotation 166 has keypoints that are not a list of x, y, v numbers"),
        ("keypoints", ["a"] * 51, "annotation 166 has keypoints that are not numbers"),
        ("bbox", ["a", "b", "c", "d"], "annotation 166 has a bbox that is not four numbers"),
        ("area", "big", "annotation 166 has an area that is not a finite number"),
        ("image_id", "35", "annotation 166's image_id is \"35\", where the images' ids are numbers"),  # left out unsaid
    ],
)
def test_a_malformed_annotation_is_named_before_any_image_is_written(
    tmp_path, shared_data, capsys, field, value, words
):
    """Found at the last image's annotation after the others were written, leaving OUT/images without
    annotations.json; the bbox's fault was said as "can't multiply sequence by non-int of type 'float'"."""
    data = json.loads((shared_data / "val" / "annotations.json").read_text())
    data["annotations"][-1][field] = value
    (tmp_path / "a.json").write_text(json.dumps(data))
    argv = ["shrink-data", str(tmp_path / "a.json"), "--images", str(shared_data / "val" / "images")]
    assert main([*argv, "--out", str(tmp_path / "out"), "--size", "64"]) == 2
    err = capsys.readouterr().err
    assert words in err and "Traceback" not in err and not (tmp_path / "out").exists()


def test_an_image_found_unreadable_half_way_says_the_copy_is_incomplete(tmp_path, shared_data, capsys):
    data = json.loads((shared_data / "val" / "annotations.json").read_text())
    (tmp_path / "images").mkdir()
    for info in data["images"]:
        (tmp_path / "images" / info["file_name"]).symlink_to(shared_data / "val" / "images" / info["file_name"])
    last = tmp_path / "images" / data["images"][-1]["file_name"]
    last.unlink()
    last.write_bytes(b"not an image")
    (tmp_path / "annotations.json").write_text(json.dumps(data))
    assert main(["shrink-data", str(tmp_path), "--out", str(tmp_path / "out"), "--size", "64"]) == 2
    err = capsys.readouterr().err
    assert "is missing or unreadable" in err and f"{tmp_path / 'out'} is incomplete" in err
    assert not (tmp_path / "out" / "annotations.json").exists()


def test_boxes_and_polygons_scale_each_axis_by_its_own_factor(tmp_path, capsys):
    folder = tmp_path / "set"
    (folder / "images").mkdir(parents=True)
    cv2.imwrite(str(folder / "images" / "thin.png"), np.full((3, 2000, 3), 200, np.uint8))
    ann = {
        "id": 1,
        "image_id": 1,
        "iscrowd": 1,
        "bbox": [100, 1, 1000, 2],
        "segmentation": [[100, 1, 1100, 1, 1100, 3]],
    }
    data = {"images": [{"id": 1, "file_name": "thin.png", "width": 2000, "height": 3}], "annotations": [ann]}
    (folder / "annotations.json").write_text(json.dumps(data))
    assert main(["shrink-data", str(folder), "--out", str(tmp_path / "a"), "--size", "64"]) == 0
    after = json.loads((tmp_path / "a" / "annotations.json").read_text())
    assert (after["images"][0]["width"], after["images"][0]["height"]) == (96, 1)
    fx, fy = 96 / 2000, 1 / 3
    (shrunk,) = after["annotations"]
    assert shrunk["bbox"] == pytest.approx([100 * fx, 1 * fy, 1000 * fx, 2 * fy])
    assert shrunk["segmentation"] == [pytest.approx([100 * fx, fy, 1100 * fx, fy, 1100 * fx, 3 * fy])]


def _in_a_subfolder(data: Path, folder: Path) -> Path:
    """A copy of the data folder ``data``'s first image, in images/sub/ of ``folder``, with its people."""
    annotations = json.loads((data / "annotations.json").read_text())
    image = annotations["images"][0]
    (folder / "images" / "sub").mkdir(parents=True)
    (folder / "images" / "sub" / "a.jpg").write_bytes((data / "images" / image["file_name"]).read_bytes())
    people = [ann for ann in annotations["annotations"] if ann["image_id"] == image["id"]]
    copy = {**annotations, "images": [{**image, "file_name": "sub/a.jpg"}], "annotations": people}
    (folder / "annotations.json").write_text(json.dumps(copy))
    return folder


@pytest.mark.parametrize("out_is", ["new", "given", "new with its parents", "new, images in a subfolder"])
@pytest.mark.parametrize("stopped_in", ["read_labelled_image", "_written"])  # before images/ is made, after it
def test_a_stop_before_the_first_image_is_written_leaves_no_copy(
    tmp_path, shared_data, capsys, signal_on_call, stopped_in, out_is
):
    """The folders made were left: an empty --out (and the parents made for it), or one with an empty images/
    (and its subfolders) said to be an incomplete copy to remove. An empty folder given as --out is left as it
    was."""
    data = shared_data / "val"
    if out_is == "new, images in a subfolder":  # images/sub/ is made for the first image, before it is written
        data = _in_a_subfolder(data, tmp_path / "set")
    out = tmp_path / ("new/deeper/small" if out_is == "new with its parents" else "small")
    if out_is == "given":
        out.mkdir()
    signal_on_call(shrink, stopped_in, signal.SIGTERM)
    assert main(["shrink-data", str(data), "--out", str(out)]) == 128 + signal.SIGTERM
    assert capsys.readouterr().err == "wlitepose: interrupted\n"
    assert [path for path in tmp_path.rglob("*") if "set" not in path.parts] == ([out] if out_is == "given" else [])


def test_a_stop_signal_half_way_says_the_copy_is_incomplete_and_a_rerun_refuses_it(
    tmp_path, shared_data, capsys, signal_on_call
):
    """shrink-data died by SIGTERM's default action, without a word, its half-made copy not named."""
    out = tmp_path / "small"
    signal_on_call(shrink, "read_labelled_image", signal.SIGTERM, call=2)  # the first image written
    assert main(["shrink-data", str(shared_data / "val"), "--out", str(out)]) == 128 + signal.SIGTERM
    told = f"{out} is incomplete (no annotations.json): remove it, then run the same command again"
    assert capsys.readouterr().err == f"wlitepose: interrupted; {told}\n"
    assert not (out / "annotations.json").exists() and len(list((out / "images").iterdir())) == 1
    assert main(["shrink-data", str(shared_data / "val"), "--out", str(out)]) == 2
    assert "a shrink that stopped leaves a folder without annotations.json" in capsys.readouterr().err
