import torch

from models.wlitepose import build_model
from training.pretrained import load_imagenet_stem, pretrained_batchnorms


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
