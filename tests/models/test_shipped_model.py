"""The shipped model file must be what the shipped checkpoint gives through today's network code, and
its metadata what today's export writes: a change to the network, the aggregation or the metadata that
keeps every shape would otherwise pass every shape and self-consistency check."""

import json
from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest
import torch

from models.checkpoint import load_checkpoint
from models.export import FP16_PARITY_TOLERANCE, InferenceGraph, build_metadata
from models.schemas import COCO17

SHIPPED = Path(__file__).resolve().parents[2] / "assets" / "wlitepose_xs_256.onnx"


def test_the_bundled_checkpoint_gives_the_shipped_model_files_outputs(bundled_checkpoint):
    if not SHIPPED.is_file():
        pytest.skip("assets/wlitepose_xs_256.onnx is not here")
    model, meta = load_checkpoint(bundled_checkpoint)
    assert not model.training  # BN must use its running statistics
    session = ort.InferenceSession(str(SHIPPED), providers=["CPUExecutionProvider"])
    image = np.random.default_rng(0).standard_normal((2, 3, 256, 192)).astype(np.float32)
    got = session.run(["heatmaps", "tags"], {"image": image})
    with torch.no_grad():
        expected = [t.numpy() for t in InferenceGraph(model)(torch.from_numpy(image))]
    for e, g in zip(expected, got, strict=True):
        assert e.shape == g.shape
        # the shipped file stores fp16 weights: within export's fp16 tolerance, relative beyond magnitude 1
        assert np.abs(e - g).max() / max(1.0, np.abs(e).max()) < FP16_PARITY_TOLERANCE
    shipped = session.get_modelmeta().custom_metadata_map
    assert build_metadata(COCO17, meta["variant"], 256, meta["dataset"], trained=True) == shipped
    assert json.loads(shipped["mean"]) == pytest.approx([0.485, 0.456, 0.406])
    assert json.loads(shipped["std"]) == pytest.approx([0.229, 0.224, 0.225])


def test_metadata_describes_the_model_it_is_given():
    from models.export import MEAN, STD
    from models.schemas import CROWDPOSE14

    meta = build_metadata(CROWDPOSE14, "wlitepose_s", 448, "mine", trained=False)
    assert (meta["variant"], meta["input_size"], meta["dataset"], meta["trained"]) == (
        "wlitepose_s",
        "448",
        "mine",
        "false",
    )
    assert json.loads(meta["flip_map"]) == list(CROWDPOSE14.flip_map)
    assert json.loads(meta["mean"]) == list(MEAN) and json.loads(meta["std"]) == list(STD)
    assert (meta["heatmap_stride"], meta["tag_stride"]) == ("2", "4")


def _tiny_export(tmp_path, model, **kwargs):
    from models.export import export_onnx

    meta = build_metadata(COCO17, "wlitepose_xs", 64, "coco", False)
    return export_onnx(model, tmp_path / "m.onnx", meta, check_sizes=((64, 64), (64, 96)), **kwargs)


def test_export_leaves_the_model_it_is_given_untouched(tmp_path):
    """The trainer exports its training model at every validation: a fusion in place would train on without BNs."""
    from models.wlitepose import build_model

    torch.manual_seed(0)
    model = build_model("wlitepose_xs").train()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    _tiny_export(tmp_path, model)
    after = model.state_dict()
    assert after.keys() == before.keys()  # (it is left in eval mode: the trainer sets train() each epoch)
    assert all(torch.equal(after[k], v) for k, v in before.items())


def test_export_checks_the_fusion_against_the_unfused_model(tmp_path, monkeypatch):
    from models import export as export_module
    from models.export import ExportError
    from models.fuse import fuse_for_inference
    from models.wlitepose import build_model

    def broken(model):
        fused = fuse_for_inference(model)
        with torch.no_grad():
            fused.deconv_module.head.bias.add_(0.5)
        return fused

    monkeypatch.setattr(export_module, "fuse_for_inference", broken)
    with pytest.raises(ExportError, match="differs"):
        _tiny_export(tmp_path, build_model("wlitepose_xs"))


@pytest.mark.parametrize("off_call", [1, 2])
def test_export_refuses_a_mismatch_at_any_checked_size(tmp_path, monkeypatch, off_call):
    from models.export import ExportError
    from models.wlitepose import build_model

    real = ort.InferenceSession

    class OneSizeOff:  # an ONNX file off at one checked size only
        def __init__(self, *args, **kwargs):
            self.session, self.calls = real(*args, **kwargs), 0

        def run(self, names, feeds):
            self.calls += 1
            outputs = self.session.run(names, feeds)
            return [o + 0.5 for o in outputs] if self.calls == off_call else outputs

    monkeypatch.setattr(ort, "InferenceSession", OneSizeOff)
    with pytest.raises(ExportError, match="differs"):
        _tiny_export(tmp_path, build_model("litepose_xs"))


def test_export_refuses_a_file_off_at_a_single_cell(tmp_path, monkeypatch):
    """A difference averaged over every cell of every map (one joint wrong in a corner: 0.01 / 17 / 1024) passed."""
    from models.export import ExportError
    from models.wlitepose import build_model

    real = ort.InferenceSession

    class OneCellOff:
        def __init__(self, *args, **kwargs):
            self.session = real(*args, **kwargs)

        def run(self, names, feeds):
            heatmaps, tags = self.session.run(names, feeds)
            heatmaps[0, 3, -1, -1] += 0.01
            return [heatmaps, tags]

    monkeypatch.setattr(ort, "InferenceSession", OneCellOff)
    with pytest.raises(ExportError, match="differs from torch by 1.00e-02"):
        _tiny_export(tmp_path, build_model("litepose_xs"))
