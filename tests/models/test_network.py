import pytest
import torch
from torch import nn

from models.blocks import DFCBottleneck, InvertedBottleneck
from models.complexity import measure
from models.errors import ModelError
from models.wlitepose import VARIANTS, build_model

PAPER_PARAMS_M = {"wlitepose_xs": 2.3, "wlitepose_s": 3.6, "litepose_xs": 1.7, "litepose_s": 2.7}


@pytest.mark.parametrize("variant", sorted(VARIANTS))
@pytest.mark.parametrize("size", [(256, 256), (320, 480)])
def test_output_shapes(variant, size):
    h, w = size
    model = build_model(variant, num_keypoints=14).eval()
    with torch.no_grad():
        out = model(torch.zeros(2, 3, h, w))
    assert out.heatmaps_4.shape == (2, 14, h // 4, w // 4)
    assert out.tags_4.shape == (2, 14, h // 4, w // 4)
    assert out.heatmaps_2.shape == (2, 14, h // 2, w // 2)


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_parameter_count_matches_paper(variant):
    params = sum(p.numel() for p in build_model(variant).parameters())
    assert abs(params / 1e6 - PAPER_PARAMS_M[variant]) <= 0.1 * PAPER_PARAMS_M[variant]


def test_litepose_macs_match_published_true_counts():
    # LitePose-XS@256 / S@448 have about 0.88 G / 3.61 G true conv MACs and 1.2 G / 5.0 G in
    # the old ptflops convention; matching both validates the counter and the baseline.
    xs = measure(build_model("litepose_xs"), 256)
    assert xs.macs == pytest.approx(0.88e9, rel=0.03)
    assert xs.macs_paper == pytest.approx(1.2e9, rel=0.03)


@pytest.mark.parametrize("stride,in_chs,out_chs", [(1, 16, 16), (2, 16, 32)])
@pytest.mark.parametrize("bn_position", ["pre_expand", "post_dw"])
def test_gradient_reaches_every_parameter_of_a_dfc_bottleneck(stride, in_chs, out_chs, bn_position):
    torch.manual_seed(0)
    block = DFCBottleneck(in_chs, out_chs, stride=stride, bn_position=bn_position)
    x = torch.randn(2, in_chs, 32, 32, requires_grad=True)
    out = block(x)
    assert out.shape == (2, out_chs, 32 // stride, 32 // stride)
    out.square().mean().backward()
    for name, p in block.named_parameters():
        assert p.grad is not None and p.grad.abs().sum() > 0, name
    assert x.grad.abs().sum() > 0


def test_unknown_variant_is_refused_with_the_choices():
    with pytest.raises(ModelError, match="wlitepose_xs"):
        build_model("wlitepose_xxl")


# The README's model table as `wlitepose info` prints it (3 decimals; the README rounds to 2):
# default input size, params (M), MACs true and paper convention (G).
README_TABLE = {
    "wlitepose_xs": (256, 2.105, 0.900, 1.036),
    "wlitepose_s": (448, 3.723, 3.991, 4.596),
    "litepose_xs": (256, 1.676, 0.886, 1.206),
    "litepose_s": (448, 2.732, 3.624, 4.994),
}


@pytest.mark.parametrize("variant", sorted(README_TABLE))
def test_default_size_and_complexity_match_the_readme_table(variant):
    size, params_m, macs_g, macs_paper_g = README_TABLE[variant]
    model = build_model(variant)
    assert model.input_size == size
    c = measure(model, size)
    assert (round(c.params / 1e6, 3), round(c.macs / 1e9, 3), round(c.macs_paper / 1e9, 3)) == (
        params_m,
        macs_g,
        macs_paper_g,
    )


def test_every_dfc_bottleneck_has_the_erf_gelu_the_shipped_weights_were_trained_with():
    # the tanh form moves the shipped model's outputs by less than the fp16 tolerance its file is checked with
    acts = [m.act for m in build_model("wlitepose_xs").modules() if isinstance(m, DFCBottleneck)]
    assert len(acts) == 34
    for act in acts:
        assert act(torch.tensor([1.0])).item() == pytest.approx(0.8413447, abs=1e-6)  # Phi(1); tanh form 0.8411920


def test_litepose_block_projects_linearly():
    # MobileNetV2's linear bottleneck: no activation after the 1x1 project, so outputs can be negative
    torch.manual_seed(0)
    block = InvertedBottleneck(8, 16, stride=2).eval()
    with torch.no_grad():
        out = block(torch.randn(1, 8, 16, 16))
    assert out.min() < 0


def test_litepose_block_adds_its_input_where_shapes_match():
    # MobileNetV2's residual: with the projection's BN silenced, a stride-1 block of equal widths passes its input on
    same, down = InvertedBottleneck(16, 16), InvertedBottleneck(16, 16, stride=2)
    for block in (same, down):
        nn.init.zeros_(block.project[1].weight)
    x = torch.randn(1, 16, 8, 8, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        assert torch.equal(same.eval()(x), x)
        assert not down.eval()(x).any()


def test_the_half_resolution_loss_trains_the_quarter_heads_through_the_deconv_module():
    # the module's input concatenates the 1/4 predictions, so the 1/2 heatmaps' loss reaches their heads too
    torch.manual_seed(0)
    model = build_model("wlitepose_xs", num_keypoints=2).train()
    model(torch.randn(2, 3, 64, 64)).heatmaps_2.square().mean().backward()
    assert model.head_raw[3].weight.grad.abs().sum() > 0
