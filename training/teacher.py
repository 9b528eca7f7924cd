"""ImageNet MobileNetV2-1.0 as a frozen feature teacher (torchvision's layer layout, up to 1/16).

Only the stem of our network can take MobileNetV2 weights directly (training/pretrained.py);
the DFC blocks learn what MobileNetV2's features know through ``training.distill`` instead.

The shared file is a dequantised TFLite model: its input is RGB in [-1, 1] and its BNs are
identities carrying folded biases, so the teacher always runs in eval mode.
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from core.errors import WLitePoseError
from models.export import MEAN, STD
from training.pretrained import read_imagenet_weights

# MobileNetV2's inverted-residual settings: (expansion, channels, blocks, first stride), to 1/16.
_SETTINGS = ((1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1))
# features.N whose outputs are the teacher's hints: 1/4 (24 ch), 1/8 (32 ch), 1/16 (96 ch).
HINT_LAYERS = {3: 24, 6: 32, 13: 96}


def _conv_bn(in_chs: int, out_chs: int, kernel: int = 1, stride: int = 1, groups: int = 1, relu: bool = True):
    layers = [
        nn.Conv2d(in_chs, out_chs, kernel, stride, kernel // 2, groups=groups, bias=False),
        nn.BatchNorm2d(out_chs),
    ]
    return nn.Sequential(*layers, *([nn.ReLU6()] if relu else []))


class _InvertedResidual(nn.Module):
    def __init__(self, in_chs: int, out_chs: int, stride: int, expansion: int) -> None:
        super().__init__()
        mid = in_chs * expansion
        layers = [_conv_bn(in_chs, mid)] if expansion != 1 else []
        layers += [_conv_bn(mid, mid, 3, stride, groups=mid), _conv_bn(mid, out_chs, relu=False)]
        self.conv = nn.Sequential(*layers)
        self.residual = stride == 1 and in_chs == out_chs

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.conv(x) if self.residual else self.conv(x)


class MobileNetV2Teacher(nn.Module):
    """``forward(image normalised with our MEAN/STD) -> [hint features at 1/4, 1/8, 1/16]``."""

    def __init__(self) -> None:
        super().__init__()
        layers: list[nn.Module] = [_conv_bn(3, 32, 3, 2)]
        chs = 32
        for expansion, out_chs, blocks, stride in _SETTINGS:
            for i in range(blocks):
                layers.append(_InvertedResidual(chs, out_chs, stride if i == 0 else 1, expansion))
                chs = out_chs
        self.features = nn.Sequential(*layers)
        # ours: (rgb - MEAN) / STD; MobileNetV2's TFLite input: 2 * rgb - 1
        self.register_buffer("scale", 2.0 * torch.tensor(STD).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("shift", (2.0 * torch.tensor(MEAN) - 1.0).view(1, 3, 1, 1), persistent=False)

    def forward(self, image: torch.Tensor) -> list[torch.Tensor]:
        x = image * self.scale + self.shift
        hints = []
        for index, layer in enumerate(self.features):
            x = layer(x)
            if index in HINT_LAYERS:
                hints.append(x)
        return hints


def load_teacher(path: str | Path, option: str = "") -> MobileNetV2Teacher:
    """The frozen teacher with the shared file's weights (``path`` given after ``option``, e.g. "--distill ");
    WLitePoseError if they do not fit."""
    source = read_imagenet_weights(path, option)
    teacher = MobileNetV2Teacher()
    own = teacher.state_dict()
    missing = [k for k, v in own.items() if k not in source or source[k].shape != v.shape]
    if missing:
        raise WLitePoseError(
            f"{option}{path} is not a MobileNetV2-1.0 state dict ({len(missing)} tensors missing, e.g. {missing[0]})"
        )
    teacher.load_state_dict({k: source[k] for k in own})
    teacher.requires_grad_(False)
    return teacher.eval()
