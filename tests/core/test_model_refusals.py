"""Networks refused in one sentence, at load or on the frame where they break: outputs that contradict the
metadata or are not finite, inputs of another kind or one size, a load that never ends, weights in other files."""

import json
import re
import threading

import numpy as np
import pytest

from core.assets import SAMPLE_CLIP
from core.errors import WLitePoseError
from core.session import PoseModel


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
