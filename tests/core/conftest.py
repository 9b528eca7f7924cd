"""Shared fixtures for core tests: a "painted" model and a pipeline on one, clips made to order, the sample videos,
and `wlitepose` run in this process with the checks its runs share."""

import json
from pathlib import Path

import numpy as np
import pytest

import main
from core.model_file import ModelInfo
from core.pipeline import PipelineConfig, PosePipeline
from core.poses import Poses
from core.preprocess import letterbox_geometry
from core.session import PoseModel
from core.synthetic import paint, random_people


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


@pytest.fixture
def cli(monkeypatch, capsys):
    """Run main.main(argv) with only core's subcommands (other packages may not have landed); (rc, out, err)."""
    monkeypatch.setattr(main, "COMMANDS", {k: v for k, v in main.COMMANDS.items() if k in ("track", "eval")})

    def run(*argv):
        rc = main.main([str(a) for a in argv])
        out, err = capsys.readouterr()
        return rc, out, err

    return run


@pytest.fixture(scope="session")
def assert_clean_error():
    """assert_clean_error(rc, err, *words): the run was refused in one sentence (exit 2, one "wlitepose: error:"
    line, no traceback) that holds each of ``words``, whatever their case."""
    return _assert_clean_error


def _assert_clean_error(rc, err, *words):
    assert rc == 2
    lines = [line for line in err.splitlines() if line.startswith("wlitepose: error:")]
    assert len(lines) == 1 and "Traceback" not in err, err
    for word in words:
        assert word.lower() in lines[0].lower(), lines[0]


@pytest.fixture(scope="session")
def with_metadata():
    """with_metadata(model_path, out, **changes) -> out: a copy of ``model_path`` whose metadata has ``changes``."""
    return _with_metadata


def _with_metadata(model_path, out, **changes):
    """A copy of ``model_path`` whose metadata has ``changes`` (values as JSON)."""
    onnx = pytest.importorskip("onnx")

    proto = onnx.load(str(model_path))
    for prop in proto.metadata_props:
        if prop.key in changes:
            prop.value = json.dumps(changes[prop.key])
    onnx.save(proto, str(out))
    return out


@pytest.fixture(scope="session")
def two_people():
    """two_people(painted_model, coco_metadata, path) -> path: a painted model file that finds the same two people
    in every frame of a 768x576 video."""
    return _two_people


def _two_people(painted_model, coco_metadata, path: Path) -> Path:
    """A painted model file that finds the same two people in every frame of a 768x576 video."""
    box = letterbox_geometry((768, 576), 256)
    truth = random_people(np.random.default_rng(3), 2, 17, box.input_size, overlap=0.0)
    heatmaps, tags = paint(truth, np.array([0.0, 3.0], np.float32), box.input_size)
    return painted_model(path, heatmaps, tags, coco_metadata)


@pytest.fixture(scope="session")
def painted_pipeline():
    """painted_pipeline(tmp_path, coco_metadata, painted_model) -> (pipeline, people): a PosePipeline on a painted
    model file that finds the same three people in every 640x480 frame, and where they are in the frame."""
    return _pipeline


def _pipeline(tmp_path, coco_metadata, painted_model, n=3):
    box = letterbox_geometry((640, 480), 256)
    truth = random_people(np.random.default_rng(4), n, 17, box.input_size, overlap=0.2)
    heatmaps, tags = paint(truth, np.arange(n, dtype=np.float32) * 2, box.input_size)
    model = PoseModel(painted_model(tmp_path / "m.onnx", heatmaps, tags, coco_metadata))
    return PosePipeline(model, PipelineConfig()), box.to_image(truth)


@pytest.fixture(scope="session")
def toy_info() -> ModelInfo:
    """The model file's metadata the outputs' tests write with: three keypoints (nose and wrists)."""
    return INFO


@pytest.fixture(scope="session")
def toy_meta() -> dict:
    """A run's description (source, rate, size, settings) for the outputs' tests."""
    return META


@pytest.fixture(scope="session")
def toy_frames():
    """toy_frames() -> [(index, time, poses)]: three frames of toy_info's keypoints: two people each missing a joint
    (the second not tracked), nobody, one tracked person."""
    return _frames


INFO = ModelInfo(
    keypoint_names=("nose", "left_wrist", "right_wrist"),
    skeleton=((0, 1), (0, 2)),
    flip_map=(0, 2, 1),
    sigmas=(0.026, 0.062, 0.062),
    mean=(0.485, 0.456, 0.406),
    std=(0.229, 0.224, 0.225),
    heatmap_stride=2,
    tag_stride=4,
    variant="wlitepose_xs",
    input_size=256,
    dataset="toy",
    trained=False,
    sha256="0" * 64,
)
META = {"source": "clip.mp4", "fps": 25.0, "size": [64, 48], "frame_count": 3, "settings": {"input_size": 256}}


def _frames() -> list[tuple[int, float, Poses]]:
    first = Poses(
        [[[10.0, 20.0], [12.5, 30.25], [np.nan, np.nan]], [[40.0, 10.0], [np.nan, np.nan], [44.125, 18.0]]],
        [[0.9, 0.8, 0.0], [0.7, 0.0, 0.61234]],
        [0.55, 0.43],
        [1, -1],
    )
    second = Poses([[[11.0, 21.0], [13.0, 31.0], [9.0, 29.0]]], [[0.95, 0.85, 0.5]], [0.77], [1])
    return [(0, 0.0, first), (1, 0.04, Poses.empty(3)), (2, 0.08, second)]
