"""ONNX export: the model file is the only link between training and inference.

The exported graph takes ``image`` (float32, N x 3 x H x W, RGB normalised with the
metadata's mean/std, H and W multiples of 32) and returns
``heatmaps`` (N x K x H/2 x W/2: the 1/4 heatmaps upsampled and averaged with the 1/2
ones, cell u of them at input pixel 2u) and ``tags`` (N x K x H/4 x W/4, one AE tag per joint). Everything the runtime
needs to interpret them is stored as metadata properties (``core.model_file.REQUIRED_KEYS``).
"""

from __future__ import annotations

import copy
import io
import json
import warnings
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from core.model_file import FORMAT_VERSION
from core.sinks.base import atomic_write
from models.errors import ModelError
from models.fuse import fuse_for_inference
from models.schemas import KeypointSchema

# ImageNet statistics, on RGB pixels scaled to [0, 1]; the backbone's init was trained with them.
MEAN = (0.485, 0.456, 0.406)
STD = (0.229, 0.224, 0.225)
PARITY_TOLERANCE = 1e-4
# fp16 weights round each weight by up to 2^-11 of itself (shipped model: dev heatmaps moved 1e-4 mean, 7e-4 p99).
FP16_PARITY_TOLERANCE = 5e-3
FP16_MAX = 65504.0
MIN_FP16_ELEMENTS = 256  # smaller tensors (biases, BN statistics) stay fp32: they weigh nothing


class ExportError(ModelError):
    """The exported file does not reproduce the torch model."""


class InferenceGraph(nn.Module):
    """image -> (aggregated 1/2 heatmaps, 1/4 tags): what the runtime receives."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, image: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        out = self.model(image)
        heatmaps = (quarter_to_half(out.heatmaps_4) + out.heatmaps_2) * 0.5
        return heatmaps, out.tags_4  # (N, K, H/2, W/2), (N, K, H/4, W/4)


def quarter_to_half(heatmaps: torch.Tensor) -> torch.Tensor:
    """(N, K, h, w) 1/4 heatmaps -> (N, K, 2h, 2w) on the 1/2 grid, cell i landing on cell 2i.

    Training centres a joint at input pixel x on cell x / stride of each map (training.targets), so
    1/4 cell i and 1/2 cell 2i are the same pixel. Plain bilinear upsampling (align_corners False)
    puts cell i at 2i + 0.5, a pixel of the input off, and the average with the 1/2 map then leans
    every joint that way (dev AP75 0.014 against 0.020 aligned). Corner-aligned onto 2h - 1 cells
    places i on 2i exactly; the last row and column, beyond the 1/4 map's last cell, repeat it.
    """
    h, w = heatmaps.shape[-2:]
    up = F.interpolate(heatmaps, size=(2 * h - 1, 2 * w - 1), mode="bilinear", align_corners=True)
    return F.pad(up, (0, 1, 0, 1), mode="replicate")


def build_metadata(
    schema: KeypointSchema, variant: str, input_size: int, dataset: str, trained: bool
) -> dict[str, str]:
    return {
        "wlitepose_format": FORMAT_VERSION,
        "variant": variant,
        "input_size": str(input_size),
        "dataset": dataset,
        "trained": "true" if trained else "false",
        "keypoint_names": json.dumps(list(schema.keypoints)),
        "skeleton": json.dumps([list(link) for link in schema.skeleton]),
        "flip_map": json.dumps(list(schema.flip_map)),
        "oks_sigmas": json.dumps(list(schema.sigmas)),
        "mean": json.dumps(list(MEAN)),
        "std": json.dumps(list(STD)),
        "heatmap_stride": "2",
        "tag_stride": "4",
    }


def store_weights_fp16(proto) -> None:
    """In place: large float32 initializers of an ONNX model become float16 behind a Cast to float32.

    The file halves; the arithmetic stays fp32 (ONNX Runtime folds the casts when it loads the
    file). Tensors beyond fp16's range stay fp32.
    """
    from onnx import TensorProto, helper, numpy_helper

    casts = []
    for tensor in proto.graph.initializer:
        if tensor.data_type != TensorProto.FLOAT:
            continue
        values = numpy_helper.to_array(tensor)
        if values.size < MIN_FP16_ELEMENTS or np.abs(values).max() > FP16_MAX:
            continue
        name = tensor.name
        tensor.CopyFrom(numpy_helper.from_array(values.astype(np.float16), f"{name}.fp16"))
        casts.append(helper.make_node("Cast", [f"{name}.fp16"], [name], to=TensorProto.FLOAT))
    for node in reversed(casts):  # in front of every user: the graph stays topologically sorted
        proto.graph.node.insert(0, node)


def export_onnx(
    model: nn.Module,
    out_path: str | Path,
    metadata: dict[str, str],
    check_sizes: tuple[tuple[int, int], ...] = ((256, 256), (320, 480)),
    seed: int = 0,
    fp16_weights: bool = False,
) -> float:
    """Export ``model`` to ``out_path`` with ``metadata`` and check it against torch.

    ``fp16_weights`` stores the weights as float16 (``store_weights_fp16``). Returns the largest
    difference seen over ``check_sizes`` (absolute, divided by the output's largest magnitude
    where that exceeds 1); raises ``ExportError`` (writing nothing: a file already at ``out_path`` stays) if it exceeds
    ``PARITY_TOLERANCE`` (``FP16_PARITY_TOLERANCE`` with fp16 weights), ``ModelError`` if the file
    cannot be written. A model on a GPU is exported from a CPU copy (as the trainer validates).
    """
    import onnx

    if any(p.device.type != "cpu" for p in model.parameters()):
        model = copy.deepcopy(model).cpu()  # the fusion, the dummy input and the parity check run on the CPU
    graph = InferenceGraph(fuse_for_inference(model)).eval()
    h0, w0 = check_sizes[0]
    dummy = torch.zeros(1, 3, h0, w0)
    buffer = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            graph,
            (dummy,),
            buffer,
            dynamo=False,
            opset_version=17,
            input_names=["image"],
            output_names=["heatmaps", "tags"],
            dynamic_axes={
                "image": {0: "batch", 2: "height", 3: "width"},
                "heatmaps": {0: "batch", 2: "height_2", 3: "width_2"},
                "tags": {0: "batch", 2: "height_4", 3: "width_4"},
            },
        )
    proto = onnx.load_from_string(buffer.getvalue())
    del proto.metadata_props[:]
    for key, value in metadata.items():
        proto.metadata_props.add(key=key, value=value)
    if fp16_weights:
        store_weights_fp16(proto)
    data = proto.SerializeToString()  # checked before it is written: a refused export leaves out_path as it was
    worst = _parity(model, data, check_sizes, seed)
    tolerance = FP16_PARITY_TOLERANCE if fp16_weights else PARITY_TOLERANCE
    if worst > tolerance:
        raise ExportError(f"ONNX output differs from torch by {worst:.2e} (> {tolerance:.0e}); nothing written")
    out_path = Path(out_path)
    try:
        out_path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(out_path, data)
    except OSError as error:
        raise ModelError(f"cannot write {out_path} ({error.strerror})") from None
    return worst


def _parity(model: nn.Module, data: bytes, check_sizes, seed: int) -> float:
    """The largest difference between the ONNX file's outputs and torch's on random images (absolute for
    outputs within [-1, 1], relative to the output's range beyond: trained tags grow large)."""
    import onnxruntime as ort

    session = ort.InferenceSession(data, providers=["CPUExecutionProvider"])
    reference = InferenceGraph(model).eval()  # unfused: checks the BN folding too
    rng = np.random.default_rng(seed)
    worst = 0.0
    for h, w in check_sizes:
        x = rng.standard_normal((1, 3, h, w)).astype(np.float32)
        with torch.no_grad():
            expected = [t.numpy() for t in reference(torch.from_numpy(x))]
        got = session.run(["heatmaps", "tags"], {"image": x})
        if not all(np.isfinite(e).all() for e in expected):
            raise ExportError("the model's outputs are not finite (NaN or inf): its weights diverged; nothing written")
        if not all(np.isfinite(g).all() for g in got):  # a NaN difference would pass any tolerance unseen
            raise ExportError("the ONNX file's outputs are not finite (NaN or inf) where torch's are; nothing written")
        for e, g in zip(expected, got, strict=True):
            worst = max(worst, float(np.abs(e - g).max()) / max(1.0, float(np.abs(e).max())))
    return worst
