"""Shared fixtures for core tests: a "painted" model, clips made to order, the sample videos."""

from pathlib import Path

import numpy as np
import pytest


@pytest.fixture(scope="session")
def grey_clip():
    """grey_clip(path, fps, frames=3, codec="MJPG", step=60, first=0) -> path: a 32x24 clip whose frame i is all
    grey level ``step`` * (``first`` + i), so a frame tells its index."""
    return write_grey_clip


@pytest.fixture(scope="session")
def damaged():
    """damaged(path, frames) -> path: ``path`` (an MJPG clip) with the JPEG data of ``frames`` zeroed: frames no
    decoder can read."""
    return damage_frames


def damage_frames(path: Path, frames) -> Path:
    data = bytearray(path.read_bytes())
    starts = [i for i in range(len(data) - 2) if data[i : i + 3] == b"\xff\xd8\xff"]  # each frame's JPEG
    for k in frames:
        end = data.index(b"\xff\xd9", starts[k]) + 2
        data[starts[k] : end] = bytes(end - starts[k])
    path.write_bytes(data)
    return path


def write_grey_clip(path: Path, fps: float, frames: int = 3, codec: str = "MJPG", step: int = 60, first: int = 0):
    import cv2

    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*codec), fps, (32, 24))
    for i in range(first, first + frames):
        writer.write(np.full((24, 32, 3), step * i % 250, np.uint8))
    writer.release()
    return path


@pytest.fixture(scope="session")
def painted_model():
    """write_painted_model(path, heatmaps, tags, metadata) -> path."""
    pytest.importorskip("onnx")
    return write_painted_model


@pytest.fixture(scope="session")
def video_path(shared_data) -> Path:
    return shared_data / "videos" / "vtest.avi"


def write_painted_model(path: Path, heatmaps: np.ndarray, tags: np.ndarray, metadata: dict[str, str]) -> Path:
    """An ONNX file that ignores its image and returns fixed maps (perfect outputs for a known input size). As a
    network's, its outputs follow the input's size, at strides 2 and 4: the maps, cut or padded with zeros."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    k = heatmaps.shape[0]
    nodes = [
        helper.make_node("ReduceSum", ["image"], ["total"], keepdims=1),
        helper.make_node("Mul", ["total", "zero"], ["nothing"]),  # keeps the image as a real input
        helper.make_node("Shape", ["image"], ["image_shape"]),
        helper.make_node("Slice", ["image_shape", "two", "four"], ["image_hw"]),
    ]
    constants = [
        numpy_helper.from_array(np.zeros((1, 1, 1, 1), np.float32), "zero"),
        numpy_helper.from_array(np.array([2], np.int64), "two"),
        numpy_helper.from_array(np.array([4], np.int64), "four"),
        numpy_helper.from_array(np.zeros(2, np.int64), "no_growth"),
        numpy_helper.from_array(np.zeros(6, np.int64), "no_pads"),
        numpy_helper.from_array(np.array([2, 3], np.int64), "hw_axes"),
    ]
    for name, maps, stride in (("heatmaps", heatmaps, 2), ("tags", tags, 4)):
        constants += [
            numpy_helper.from_array(maps[None].astype(np.float32), f"{name}_const"),
            numpy_helper.from_array(np.array(maps.shape[1:], np.int64), f"{name}_hw"),
            numpy_helper.from_array(np.array([stride], np.int64), f"{name}_stride"),
        ]
        nodes += [
            helper.make_node("Div", ["image_hw", f"{name}_stride"], [f"{name}_want"]),
            helper.make_node("Sub", [f"{name}_want", f"{name}_hw"], [f"{name}_short"]),
            helper.make_node("Max", [f"{name}_short", "no_growth"], [f"{name}_growth"]),
            helper.make_node("Concat", ["no_pads", f"{name}_growth"], [f"{name}_pads"], axis=0),
            helper.make_node("Pad", [f"{name}_const", f"{name}_pads"], [f"{name}_padded"]),
            helper.make_node("Slice", [f"{name}_padded", "no_growth", f"{name}_want", "hw_axes"], [f"{name}_cut"]),
            helper.make_node("Add", [f"{name}_cut", "nothing"], [name]),
        ]
    graph = helper.make_graph(
        nodes,
        "painted",
        [helper.make_tensor_value_info("image", TensorProto.FLOAT, [1, 3, "h", "w"])],
        [
            helper.make_tensor_value_info("heatmaps", TensorProto.FLOAT, [1, k, "h2", "w2"]),
            helper.make_tensor_value_info("tags", TensorProto.FLOAT, [1, k, "h4", "w4"]),
        ],
        constants,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    for key, value in metadata.items():
        model.metadata_props.add(key=key, value=value)
    onnx.save(model, str(path))
    return path


@pytest.fixture(scope="session")
def coco_metadata() -> dict[str, str]:
    pytest.importorskip("torch")  # models.export builds the metadata
    from models.export import build_metadata
    from models.schemas import COCO17

    return build_metadata(COCO17, "wlitepose_xs", 256, "coco", False)
