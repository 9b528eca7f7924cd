import pytest
import torch
from torch import nn

from models.blocks import DFCAttention, ShuffleResidual
from models.fuse import (
    dense_from_group_conv,
    fold_bn_into_conv,
    fold_bn_into_next_conv,
    fuse_for_inference,
    merge_row_column,
)
from models.wlitepose import build_model


def _randomise_bn(model: nn.Module) -> None:
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.running_mean.uniform_(-0.5, 0.5)
            m.running_var.uniform_(0.5, 2.0)
            m.weight.data.uniform_(0.5, 1.5)
            m.bias.data.uniform_(-0.2, 0.2)


def test_row_then_column_equals_the_merged_square_conv_at_the_borders_too():
    torch.manual_seed(0)
    att = DFCAttention(6, kernel_size=5)
    x = torch.randn(1, 6, 9, 11)
    merged = merge_row_column(att.horizontal, att.vertical)
    assert torch.allclose(att.vertical(att.horizontal(x)), merged(x), atol=1e-6)


def test_group_conv_with_shuffle_becomes_one_dense_conv():
    torch.manual_seed(0)
    block = ShuffleResidual(12, groups=3).eval()
    _randomise_bn(block)
    x = torch.randn(1, 12, 8, 8)
    conv = fold_bn_into_conv(block.reduce[0], block.reduce[1])
    dense = dense_from_group_conv(conv, block.order)
    expected = block.reduce[1](block.reduce[0](x))[:, block.order]
    assert torch.allclose(dense(x), expected, atol=1e-5)


def test_fused_network_gives_the_same_outputs():
    torch.manual_seed(0)
    model = build_model("wlitepose_xs").eval()
    _randomise_bn(model)
    fused = fuse_for_inference(model)
    x = torch.randn(1, 3, 256, 320)
    with torch.no_grad():
        for a, b in zip(model(x), fused(x), strict=True):
            assert torch.allclose(a, b, atol=1e-4)
    assert not any(isinstance(m, nn.BatchNorm2d) for m in fused.modules() if m in set(fused.stages.modules()))


@pytest.mark.parametrize("bn_first", [True, False])
def test_folding_keeps_eps_for_a_channel_that_never_fired(bn_first):
    # the bundled checkpoint has BN channels with running_var about 1e-44: only eps keeps them finite
    torch.manual_seed(0)
    conv, bn = nn.Conv2d(4, 4, 1), nn.BatchNorm2d(4).eval()
    _randomise_bn(bn)
    bn.running_var[0] = 0.0
    x = torch.randn(1, 4, 5, 5)
    with torch.no_grad():
        if bn_first:
            expected, got = conv(bn(x)), fold_bn_into_next_conv(bn, conv)(x)
        else:
            expected, got = bn(conv(x)), fold_bn_into_conv(conv, bn)(x)
    assert torch.allclose(got, expected, atol=1e-5)


def test_a_network_with_its_bn_after_the_depthwise_conv_fuses_to_the_same_outputs():
    # only a pre-expand BN folds into the expand conv; a post-dw one sits before the attention gate
    torch.manual_seed(0)
    model = build_model("wlitepose_xs", num_keypoints=2, bn_position="post_dw").eval()
    _randomise_bn(model)
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        for a, b in zip(model(x), fuse_for_inference(model)(x), strict=True):
            assert torch.allclose(a, b, atol=1e-4)
