"""PoseModel loading and running a model file: the output contract, thread counts, providers, file names and
hashes, outputs beyond ours and of other floating point types."""

import hashlib
import os

import numpy as np
import pytest

import core.session
from core.errors import WLitePoseError
from core.model_file import read_model_info
from core.session import PoseModel, best_providers


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
