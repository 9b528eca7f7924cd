import pickle

import pytest
import torch

from core.errors import WLitePoseError
from main import main
from models.wlitepose import build_model
from training.pretrained import load_imagenet_stem, pretrained_batchnorms, read_imagenet_weights
from training.teacher import load_teacher


def test_the_whole_stem_comes_from_mobilenetv2_and_nothing_else(shared_data):
    path = shared_data / "pretrained" / "mobilenetv2_1.0_imagenet.pth"
    model = build_model("wlitepose_xs")
    before = {k: v.clone() for k, v in model.state_dict().items()}
    copied = load_imagenet_stem(model, path)
    assert copied == sum(p.numel() for p in model.stem.parameters())
    source = torch.load(path, weights_only=True)
    assert torch.equal(model.stem[0][0].weight, source["features.0.0.weight"])
    assert torch.equal(model.stem[2][0].weight.flatten(), source["features.1.conv.1.0.weight"].flatten())
    assert torch.equal(model.stem[2][1].bias, source["features.1.conv.1.1.bias"])
    changed = {k for k, v in model.state_dict().items() if not torch.equal(v, before[k])}
    assert changed and all(k.startswith("stem.") for k in changed)
    assert [type(bn).__name__ for bn in pretrained_batchnorms(model)] == ["BatchNorm2d"] * 3


def test_the_imagenet_start_says_how_much_of_the_network_it_set_as_a_checkpoint_start_does(shared_data, capsys):
    """It said "initialised 1824 parameters" where a checkpoint's start says "1,824 of 2,105,189"."""
    from training.trainer import _initialise

    model = build_model("wlitepose_xs")
    _initialise(model, f"imagenet:{shared_data / 'pretrained' / 'mobilenetv2_1.0_imagenet.pth'}")
    stem, total = sum(p.numel() for p in model.stem.parameters()), sum(p.numel() for p in model.parameters())
    assert f"initialised {stem:,} of {total:,} parameters from ImageNet MobileNetV2" in capsys.readouterr().err


def test_bad_imagenet_weights_are_named_with_their_option_and_cause(tmp_path, shared_data, capsys):
    """Said as "cannot read ImageNet weights from /x.pth (FileNotFoundError)", "... from  (IsADirectoryError)"
    for --init imagenet: with no file, and a torch exception's name (UnpicklingError, KeyError) for an .onnx."""
    (tmp_path / "x.onnx").write_bytes(b"\x08\x07\x12\x07pytorch")
    torch.save({"features.0.0.weight": 1}, tmp_path / "odd.pth")  # a dict, of no tensors: a traceback
    data = shared_data / "crowdpose_sample"
    argv = ["train", "--train-data", str(data / "test_crowdpose.json"), "--train-images", str(data)]
    argv += ["--schema", "crowdpose", "--variant", "litepose_xs", "--size", "64", "--workers", "0"]
    argv += ["--max-steps", "1", "--out", str(tmp_path / "run")]
    cases = [
        (["--init", f"imagenet:{tmp_path / 'none.pth'}"], f"--init imagenet:{tmp_path / 'none.pth'} does not exist"),
        (["--init", "imagenet:"], "--init imagenet: names no file: give the MobileNetV2-1.0 ImageNet .pth after it"),
        (["--init", f"imagenet:{tmp_path}"], f"--init imagenet:{tmp_path} is a folder"),
        (["--init", f"imagenet:{tmp_path / 'x.onnx'}"], f"--init imagenet:{tmp_path / 'x.onnx'} is not a PyTorch"),
        (["--init", f"imagenet:{tmp_path / 'odd.pth'}"], "odd.pth is not a PyTorch state dict of MobileNetV2 weights"),
        (["--distill", str(tmp_path / "x.onnx")], f"--distill {tmp_path / 'x.onnx'} is not a PyTorch state dict"),
        (["--distill", str(tmp_path / "odd.pth")], f"--distill {tmp_path / 'odd.pth'} is not a PyTorch state dict"),
    ]
    for options, words in cases:
        assert main([*argv, *options]) == 2
        err = capsys.readouterr().err
        assert words in err and "Error)" not in err and "Traceback" not in err
    assert not (tmp_path / "run").exists()


def test_an_imagenet_file_that_is_not_there_is_said_before_the_data_loads(tmp_path, shared_data, capsys, monkeypatch):
    import training.trainer

    monkeypatch.setattr(training.trainer, "KeypointDataset", lambda *a, **k: pytest.fail("the data loaded first"))
    data = shared_data / "crowdpose_sample"
    argv = ["train", "--train-data", str(data / "test_crowdpose.json"), "--train-images", str(data)]
    argv += ["--schema", "crowdpose", "--variant", "litepose_xs", "--out", str(tmp_path / "run")]
    assert main([*argv, "--init", f"imagenet:{tmp_path / 'none.pth'}"]) == 2
    assert f"--init imagenet:{tmp_path / 'none.pth'} does not exist" in capsys.readouterr().err


def test_weights_read_directly_name_their_option_and_cause(tmp_path, monkeypatch):
    with pytest.raises(WLitePoseError, match=r"^--distill .*none\.pth does not exist"):
        read_imagenet_weights(tmp_path / "none.pth", "--distill ")
    with pytest.raises(WLitePoseError, match=r"^--distill .* is a folder"):
        read_imagenet_weights(tmp_path, "--distill ")
    torch.save({"features.0.0.weight": torch.zeros(1)}, tmp_path / "small.pth")
    with pytest.raises(WLitePoseError, match=r"^--distill .*small\.pth is not a MobileNetV2-1\.0 state dict"):
        load_teacher(tmp_path / "small.pth", "--distill ")

    def refused(*args, **kwargs):  # a file the user may not read (the tests run as root: chmod would not do)
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(torch, "load", refused)
    with pytest.raises(WLitePoseError, match=r"^cannot read --distill .*small\.pth \(Permission denied\)"):
        read_imagenet_weights(tmp_path / "small.pth", "--distill ")


def test_every_stem_tensor_comes_from_its_own_mobilenetv2_layer(shared_data):
    path = shared_data / "pretrained" / "mobilenetv2_1.0_imagenet.pth"
    source = torch.load(path, weights_only=True)
    model = build_model("wlitepose_xs")
    load_imagenet_stem(model, path)
    theirs = {
        "stem.0.0": "features.0.0",
        "stem.0.1": "features.0.1",
        "stem.1.0": "features.1.conv.0.0",
        "stem.1.1": "features.1.conv.0.1",
        "stem.2.0": "features.1.conv.1.0",
        "stem.2.1": "features.1.conv.1.1",
    }
    for name, tensor in model.state_dict().items():
        layer, _, field = name.rpartition(".")
        if layer in theirs and field != "num_batches_tracked":
            assert torch.equal(tensor, source[f"{theirs[layer]}.{field}"].view_as(tensor)), name


def test_init_heads_starts_every_prediction_head_near_zero():
    from training.pretrained import init_heads

    model = build_model("wlitepose_xs")
    init_heads(model)
    heads = [model.head_refined[-1], model.head_raw[-1], model.deconv_module.head]
    for conv in heads:
        assert conv.weight.std().item() < 0.002 and not conv.bias.any()
    with torch.no_grad():
        out = model.eval()(torch.randn(1, 3, 64, 64, generator=torch.Generator().manual_seed(0)))
    assert max(float(o.abs().max()) for o in out) < 0.01


def test_the_paper_variants_start_their_half_scale_heads_near_zero_too():
    """litepose_xs/s have no deconvolution module: their 1/2-scale heatmaps come from head2_refined + head2_raw."""
    from training.pretrained import init_heads

    model = build_model("litepose_xs")
    init_heads(model)
    for conv in (model.head2_refined[-1], model.head2_raw[-1]):
        assert conv.weight.std().item() < 0.002 and not conv.bias.any()


def test_a_state_dict_with_a_value_that_is_no_tensor_is_refused_in_words(tmp_path, shared_data):
    source = torch.load(shared_data / "pretrained" / "mobilenetv2_1.0_imagenet.pth", weights_only=True)
    torch.save({**source, "features.0.0.weight": 1}, tmp_path / "mixed.pth")
    with pytest.raises(WLitePoseError, match=r"mixed\.pth is not a PyTorch state dict of MobileNetV2 weights"):
        load_imagenet_stem(build_model("wlitepose_xs"), tmp_path / "mixed.pth", "--init imagenet:")


def test_a_pickle_torch_did_not_write_is_refused_without_torchs_warning(tmp_path, recwarn):
    """torch's UserWarning of pickle protocol 4 came, in its words, before the refusal."""
    (tmp_path / "plain.pth").write_bytes(pickle.dumps({"features.0.0.weight": [1.0]}, protocol=4))
    with pytest.raises(WLitePoseError, match=r"plain\.pth is not a PyTorch state dict of MobileNetV2 weights"):
        read_imagenet_weights(tmp_path / "plain.pth", "--distill ")
    assert not recwarn.list


def test_a_stem_tensor_of_another_shape_is_left_out_and_the_rest_is_copied(tmp_path, shared_data):
    source = torch.load(shared_data / "pretrained" / "mobilenetv2_1.0_imagenet.pth", weights_only=True)
    torch.save({**source, "features.0.0.weight": torch.zeros(16, 3, 3, 3)}, tmp_path / "narrow.pth")
    model = build_model("wlitepose_xs")
    before = model.stem[0][0].weight.clone()
    copied = load_imagenet_stem(model, tmp_path / "narrow.pth")
    assert copied == sum(p.numel() for p in model.stem.parameters()) - before.numel()
    assert torch.equal(model.stem[0][0].weight, before)
    assert torch.equal(model.stem[0][1].bias, source["features.0.1.bias"])


def test_a_weights_file_holding_code_is_refused_without_running_it(tmp_path, code_trap):
    """An ImageNet .pth from elsewhere (--init imagenet:, --distill) loaded with full pickle would run its code."""
    marker = tmp_path / "ran"
    torch.save({"features.0.0.weight": code_trap(marker)}, tmp_path / "trap.pth")
    with pytest.raises(WLitePoseError, match=r"trap\.pth is not a PyTorch state dict of MobileNetV2 weights"):
        read_imagenet_weights(tmp_path / "trap.pth", "--init imagenet:")
    assert not marker.exists()
