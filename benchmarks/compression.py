"""Do smaller copies of a trained model pay off? Size, latency and dev-set AP against the fp32 file.

    python benchmarks/compression.py [--model FP32_FILE.onnx] [--data ../shared/data]
        [--calibration-images 64] [--runs 50]

The default model is the fp32 export of ``assets/wlitepose_xs_256.pt`` (made here, in a temporary
folder): the shipped ``.onnx`` already stores float16 weights, so it cannot be the fp32 reference.

Two copies: ``fp16w`` stores the weights in float16 (``wlitepose export --fp16-weights`` does the
same; the arithmetic stays fp32); ``int8`` is onnxruntime's static QDQ quantization (per-channel
int8 weights, uint8 activations) of the convolutions, calibrated on training images (never the dev
set), with the few convolutions that 8-bit inputs break left in float (see ``float_convs``). One run
measures: file size; CPU latency at the model's input size (round-robin timing, 1 and 2
threads); OKS AP on the dev set; and how far each copy's heatmaps are from the fp32 ones on the
dev images (mean and 99th-percentile absolute difference, and how often the strongest peak of
each joint lands in the same heatmap cell).
"""

from __future__ import annotations

import argparse
import signal
import sys
import tempfile
from pathlib import Path

import numpy as np
from ctrl_c import say_interrupted

if __name__ == "__main__":
    say_interrupted("compression")

from model_latency import MIN_RUNS, measure  # noqa: E402 (first: this checkout's packages on the path, the train extra checked)

# isort: split
import onnx  # noqa: E402
from arguments import at_least  # noqa: E402
from onnx import numpy_helper  # noqa: E402
from onnxruntime.quantization import (  # noqa: E402
    CalibrationDataReader,
    QuantFormat,
    QuantType,
    quant_pre_process,
    quantize_static,
)

from core.errors import WLitePoseError  # noqa: E402
from core.evaluation import evaluate_model  # noqa: E402
from core.preprocess import letterbox  # noqa: E402
from core.session import PoseModel  # noqa: E402
from core.sources import IMAGE_SUFFIXES, read_image  # noqa: E402
from models.export import store_weights_fp16  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
LARGE_WEIGHT = 8.0  # an int8 copy keeps convolutions with a weight beyond this in float (float_convs)


def blobs(model: PoseModel, folder: Path, count: int | None = None) -> list[np.ndarray]:
    """The first ``count`` images of ``folder`` (sorted; None = all), letterboxed as the pipeline does;
    WLitePoseError for one that cannot be read."""
    paths = sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)[:count]
    info = model.info
    out = []
    for path in paths:
        image = read_image(path)
        if image is None:
            raise WLitePoseError(f"image {path} is missing or unreadable")
        out.append(letterbox(image, info.input_size, info.mean, info.std)[0])
    return out


class Calibration(CalibrationDataReader):
    def __init__(self, data: list[np.ndarray]) -> None:
        self._items = iter({"image": blob} for blob in data)

    def get_next(self):
        return next(self._items, None)


def float_convs(model: onnx.ModelProto) -> list[str]:
    """The convolutions an int8 copy keeps in float: those with large weights, and the last ones.

    BatchNorm folded into a 1x1 convolution after a low-variance layer gives it weights up to ~140 that
    cancel out over inputs spanning tens of units (the shipped weights' first expand layer: inputs -11 to
    42, outputs within +-7): an 8-bit input step of ~0.2 times such weights is an error larger than the
    whole output, and with that one layer quantized the heatmaps lose every peak. The last convolutions
    (those reaching an output through no other convolution) write the heatmaps and the tags into one
    tensor, which one 8-bit scale would have to cover.
    """
    weights = {t.name: numpy_helper.to_array(t) for t in model.graph.initializer}
    keep = {
        node.name
        for node in model.graph.node
        if node.op_type == "Conv" and node.input[1] in weights and np.abs(weights[node.input[1]]).max() > LARGE_WEIGHT
    }
    producer = {out: node for node in model.graph.node for out in node.output}
    pending = [o.name for o in model.graph.output]
    seen = set()
    while pending:
        node = producer.get(pending.pop())
        if node is None or node.name in seen:
            continue
        seen.add(node.name)
        if node.op_type == "Conv":
            keep.add(node.name)
        else:
            pending.extend(node.input)
    return sorted(keep)


def quantize(source: Path, target: Path, calibration: list[np.ndarray]) -> None:
    """Static QDQ int8 copy of ``source``'s convolutions, with its metadata carried over (the pipeline
    needs it)."""
    prepared = target.with_suffix(".prep.onnx")
    quant_pre_process(str(source), str(prepared), skip_symbolic_shape=True)  # the input size is dynamic
    quantize_static(
        str(prepared),
        str(target),
        Calibration(calibration),
        quant_format=QuantFormat.QDQ,
        per_channel=True,
        weight_type=QuantType.QInt8,
        activation_type=QuantType.QUInt8,
        op_types_to_quantize=["Conv", "ConvTranspose"],  # the attention's Mul, Sigmoid and Resize stay float
        nodes_to_exclude=float_convs(onnx.load(str(prepared))),
    )
    quantized = onnx.load(str(target))
    del quantized.metadata_props[:]
    quantized.metadata_props.extend(onnx.load(str(source)).metadata_props)
    onnx.save(quantized, str(target))


def fp16_copy(source: Path, target: Path) -> None:
    proto = onnx.load(str(source))
    store_weights_fp16(proto)
    onnx.save(proto, str(target))


def heatmap_agreement(fp32: PoseModel, other: PoseModel, data: list[np.ndarray]) -> tuple[float, float, float]:
    diffs, same = [], []
    for blob in data:
        a, b = fp32.run(blob)[0], other.run(blob)[0]  # (K, h, w) heatmaps
        diffs.append(np.abs(a - b).ravel())
        same.append(a.reshape(len(a), -1).argmax(1) == b.reshape(len(b), -1).argmax(1))
    diff = np.concatenate(diffs)
    return float(diff.mean()), float(np.percentile(diff, 99)), float(np.concatenate(same).mean())


def open_models(fp32: PoseModel, paths: dict[str, Path]) -> dict[str, PoseModel]:
    """The fp32 model as opened, and each copy from its own file."""
    return {name: fp32 if name == "fp32" else PoseModel(path, threads=2) for name, path in paths.items()}


def has_fp16_weights(path: Path) -> bool:
    return any(t.data_type == onnx.TensorProto.FLOAT16 for t in onnx.load(str(path)).graph.initializer)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", type=Path, help="an fp32 model file (default: exported from the shipped .pt)")
    parser.add_argument(
        "--data",
        type=Path,
        default=ROOT.parent / "shared" / "data",
        help="has train/ and val/ (default ../shared/data)",
    )
    parser.add_argument(
        "--calibration-images",
        type=at_least(1),
        default=64,
        help="training images the int8 copy is calibrated on (default 64)",
    )
    parser.add_argument(
        "--runs",
        type=int,
        default=MIN_RUNS,
        help=f"timed runs per file and thread count (default {MIN_RUNS}, the least)",
    )
    args = parser.parse_args()
    for folder in (args.data / "train" / "images", args.data / "val" / "images"):
        if not folder.is_dir():
            print(f"compression: {folder} does not exist (--data needs train/images and val/)", file=sys.stderr)
            return 2
    if args.runs < MIN_RUNS:
        parser.error(f"--runs must be at least {MIN_RUNS}: fewer make the medians noise")
    with tempfile.TemporaryDirectory() as tmp:
        try:
            return compare(args.model or export_fp32(Path(tmp)), args, Path(tmp))
        except WLitePoseError as error:
            print(f"compression: {error}", file=sys.stderr)
            return 2


def export_fp32(workdir: Path) -> Path:
    """The shipped torch weights exported in fp32, with `wlitepose export`."""
    from main import main as wlitepose

    out, checkpoint = workdir / "fp32.onnx", ROOT / "assets" / "wlitepose_xs_256.pt"
    if not checkpoint.is_file():
        raise WLitePoseError(
            "assets/wlitepose_xs_256.pt is not here (the repository has it, the sdist does not); pass --model, an "
            "fp32 model file"
        )
    code = wlitepose(["export", "--checkpoint", str(checkpoint), "--out", str(out)])
    if code == 128 + signal.SIGINT:  # Ctrl-C during the export, which `wlitepose` has said: not a failure
        raise SystemExit(code)
    if code:
        raise WLitePoseError("exporting assets/wlitepose_xs_256.pt failed")
    return out


def compare(model_path: Path, args: argparse.Namespace, tmp: Path) -> int:
    fp32 = PoseModel(model_path, threads=2)
    if has_fp16_weights(model_path):
        raise WLitePoseError(f"{model_path} already stores float16 weights; pass the fp32 file it was made from")
    size = fp32.info.input_size
    val = args.data / "val"
    paths = {"fp32": model_path, "fp16w": tmp / "fp16w.onnx", "int8": tmp / "int8.onnx"}
    fp16_copy(model_path, paths["fp16w"])
    quantize(model_path, paths["int8"], blobs(fp32, args.data / "train" / "images", args.calibration_images))
    models = open_models(fp32, paths)
    files = {name: (path, size) for name, path in paths.items()}
    rows = [row for threads in (1, 2) for row in measure(files, threads, args.runs)]
    latency = {(r["variant"], r["threads"]): r["median_ms"] for r in rows}
    ap = {name: evaluate_model(m, val / "annotations.json", val / "images") for name, m in models.items()}
    dev_blobs = blobs(fp32, val / "images")
    agreement = {name: heatmap_agreement(fp32, m, dev_blobs) for name, m in models.items() if name != "fp32"}
    sizes = {name: path.stat().st_size / 1e6 for name, path in paths.items()}
    print(describe(sizes, latency, ap, agreement))
    return 0


def describe(
    sizes: dict[str, float],
    latency: dict[tuple[str, int], float],
    ap: dict[str, dict[str, float]],
    agreement: dict[str, tuple[float, float, float]],
) -> str:
    """The figures as the text the script prints: a row per file (MB, median ms at 1 and 2 threads, AP, AP50,
    AR), then each copy's latency over the fp32 file's and its heatmaps' distance from the fp32 ones."""
    lines = [f"{'file':5s} {'MB':>6s} {'1 thread ms':>12s} {'2 threads ms':>13s} {'AP':>7s} {'AP50':>7s} {'AR':>7s}"]
    lines += [
        f"{name:5s} {sizes[name]:6.2f} {latency[name, 1]:12.2f} {latency[name, 2]:13.2f} "
        f"{ap[name]['AP']:7.4f} {ap[name]['AP50']:7.4f} {ap[name]['AR']:7.4f}"
        for name in sizes
    ]
    lines += [
        f"{name} / fp32 latency: 1 thread {latency[name, 1] / latency['fp32', 1]:.2f}x, "
        f"2 threads {latency[name, 2] / latency['fp32', 2]:.2f}x; heatmaps |{name} - fp32|: "
        f"mean {mean_diff:.4f}, p99 {p99_diff:.4f}; same peak cell {same_peak:.1%} of joints"
        for name, (mean_diff, p99_diff, same_peak) in agreement.items()
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
