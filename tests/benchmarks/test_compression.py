"""benchmarks/compression.py: the fp16 and int8 copies, how each is scored against the fp32 model, its
calibration images, and a Ctrl-C in its export."""

import argparse
import signal
from pathlib import Path
from types import SimpleNamespace

import cv2
import numpy as np
import pytest


def test_compression_ends_as_an_interrupted_export_did_rather_than_calling_it_failed(
    monkeypatch, tmp_path, capsys, load_benchmark
):
    """Ctrl-C during the export of the shipped weights was said by `wlitepose`, then called a failed export (exit
    2)."""
    compression = load_benchmark("compression")

    def ctrl_c(*args, **kwargs):  # where Ctrl-C lands: in the export itself
        raise KeyboardInterrupt

    monkeypatch.setattr("models.export.export_onnx", ctrl_c)
    with pytest.raises(SystemExit) as ended:
        compression.export_fp32(tmp_path)
    assert ended.value.code == 128 + signal.SIGINT and capsys.readouterr().err == "wlitepose: interrupted\n"


def test_compression_stops_in_a_line_when_the_export_fails(monkeypatch, tmp_path, capsys, load_benchmark):
    """A failed export (`wlitepose` exits 2, having said why) is not scored as though its file were there."""
    from core.errors import WLitePoseError

    compression = load_benchmark("compression")

    def fails(*args, **kwargs):
        raise WLitePoseError("the disk is full")

    monkeypatch.setattr("models.export.export_onnx", fails)
    with pytest.raises(WLitePoseError, match=r"^exporting assets/wlitepose_xs_256\.pt failed$"):
        compression.export_fp32(tmp_path)
    assert capsys.readouterr().err == "wlitepose: error: the disk is full\n"


def test_compression_heatmap_agreement_compares_each_copy_with_the_fp32_maps(load_benchmark):
    """Two joints on 2 x 2 maps: the copy moves joint 1's peak and is 0.1 off in every cell."""
    compression = load_benchmark("compression")
    fp32_maps = np.array([[[1.0, 0.0], [0.0, 0.0]], [[0.0, 1.0], [0.0, 0.0]]])
    copy_maps = fp32_maps + 0.1
    copy_maps[1, 1, 1] = 2.0

    class Model:
        def __init__(self, maps: np.ndarray) -> None:
            self.maps = maps

        def run(self, blob) -> tuple:
            return (self.maps, None)

    mean, p99, same = compression.heatmap_agreement(Model(fp32_maps), Model(copy_maps), [None])
    assert (mean, same) == pytest.approx(((7 * 0.1 + 2.0) / 8, 0.5))
    assert p99 == pytest.approx(np.percentile([0.1] * 7 + [2.0], 99))


def test_compression_fp16_copy_stores_float16_weights(tmp_path, load_benchmark):
    import onnx
    from onnx import helper, numpy_helper

    weight = numpy_helper.from_array(np.ones((16, 16), np.float32), "w")  # 256 values: stored fp16
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["x", "w"], ["y"])],
        "g",
        [helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, [1, 16])],
        [helper.make_tensor_value_info("y", onnx.TensorProto.FLOAT, [1, 16])],
        [weight],
    )
    onnx.save(helper.make_model(graph), str(tmp_path / "fp32.onnx"))
    compression = load_benchmark("compression")
    compression.fp16_copy(tmp_path / "fp32.onnx", tmp_path / "fp16w.onnx")
    assert not compression.has_fp16_weights(tmp_path / "fp32.onnx")
    assert compression.has_fp16_weights(tmp_path / "fp16w.onnx")


def test_compression_ratios_are_each_copy_over_fp32(load_benchmark):
    compression = load_benchmark("compression")
    latency = {("fp32", 1): 10.0, ("fp32", 2): 8.0, ("int8", 1): 5.0, ("int8", 2): 6.0}
    ap = {name: {"AP": 0.5, "AP50": 0.7, "AR": 0.6} for name in ("fp32", "int8")}
    text = compression.describe({"fp32": 9.0, "int8": 2.5}, latency, ap, {"int8": (0.01, 0.05, 0.9)})
    assert "int8 / fp32 latency: 1 thread 0.50x, 2 threads 0.75x;" in text
    assert text.splitlines()[2].split()[:4] == ["int8", "2.50", "5.00", "6.00"]  # MB, 1 thread, 2 threads


def test_compression_scores_each_copy_from_its_own_file(monkeypatch, load_benchmark):
    compression = load_benchmark("compression")
    monkeypatch.setattr(compression, "PoseModel", lambda path, threads: f"model of {path.name}")
    paths = {"fp32": Path("fp32.onnx"), "fp16w": Path("fp16w.onnx"), "int8": Path("int8.onnx")}
    models = compression.open_models("fp32 as opened", paths)
    assert models == {"fp32": "fp32 as opened", "fp16w": "model of fp16w.onnx", "int8": "model of int8.onnx"}


def test_compression_calibrates_the_int8_copy_on_training_images_never_the_dev_set(
    monkeypatch, tmp_path, load_benchmark
):
    """Calibrated on the dev images, the int8 copy's dev AP rose from 0.0058 to 0.0124 (4 calibration images)."""
    compression = load_benchmark("compression")
    read = []

    class Quantized(Exception):
        pass

    def quantize(source: Path, target: Path, calibration: list) -> None:
        raise Quantized

    monkeypatch.setattr(
        compression, "PoseModel", lambda path, threads: SimpleNamespace(info=SimpleNamespace(input_size=256))
    )
    monkeypatch.setattr(compression, "has_fp16_weights", lambda path: False)
    monkeypatch.setattr(compression, "fp16_copy", lambda source, target: None)
    monkeypatch.setattr(compression, "blobs", lambda model, folder, count=None: read.append((folder, count)) or [])
    monkeypatch.setattr(compression, "quantize", quantize)
    args = argparse.Namespace(data=tmp_path, calibration_images=3, runs=50)
    with pytest.raises(Quantized):
        compression.compare(tmp_path / "fp32.onnx", args, tmp_path)
    assert read == [(tmp_path / "train" / "images", 3)]


def test_compression_names_an_unreadable_image_rather_than_failing_on_it(tmp_path, load_benchmark):
    """An empty .jpg among the calibration images ended the run in an AttributeError traceback."""
    compression = load_benchmark("compression")
    cv2.imwrite(str(tmp_path / "a.png"), np.zeros((48, 64, 3), np.uint8))
    (tmp_path / "b.jpg").write_bytes(b"")
    model = SimpleNamespace(info=SimpleNamespace(input_size=32, mean=(0.0, 0.0, 0.0), std=(1.0, 1.0, 1.0)))
    assert len(compression.blobs(model, tmp_path, 1)) == 1
    with pytest.raises(compression.WLitePoseError, match=r"b\.jpg is missing or unreadable"):
        compression.blobs(model, tmp_path)
