"""Inference-time rewrites that change no output: folding BatchNorm into 1x1 convs."""

from __future__ import annotations

import copy

import torch
from torch import nn

from models.blocks import DFCBottleneck


@torch.no_grad()
def fold_bn_into_next_conv(bn: nn.BatchNorm2d, conv: nn.Conv2d) -> nn.Conv2d:
    """Return a 1x1 conv equal to ``conv(bn(x))``.

    bn(x) = a * x + b per channel with a = gamma / sqrt(var + eps), b = beta - a * mean, so
    conv(bn(x)) = (W diag(a)) x + (W b + c).
    """
    if conv.kernel_size != (1, 1) or conv.groups != 1:
        raise ValueError("only a plain 1x1 conv can absorb a preceding BatchNorm")
    a = bn.weight / torch.sqrt(bn.running_var + bn.eps)
    b = bn.bias - a * bn.running_mean
    fused = nn.Conv2d(conv.in_channels, conv.out_channels, 1, bias=True)
    w = conv.weight[:, :, 0, 0]  # (out, in)
    fused.weight.copy_((w * a[None, :])[:, :, None, None])
    bias = conv.bias if conv.bias is not None else torch.zeros(conv.out_channels)
    fused.bias.copy_(bias + w @ b)
    return fused


def fuse_for_inference(model: nn.Module) -> nn.Module:
    """A copy of ``model`` in eval mode with every pre-expand BN folded into its expand conv."""
    model = copy.deepcopy(model).eval()
    for block in model.modules():
        if isinstance(block, DFCBottleneck) and block.bn_position == "pre_expand":
            block.expand = fold_bn_into_next_conv(block.bn, block.expand)
            block.bn = nn.Identity()
    return model
