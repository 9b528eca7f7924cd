"""Building blocks of the WLitePose and LitePose networks.

Shapes in comments: B batch, C channels, H x W the block's input resolution.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


def make_divisible(value: float, divisor: int = 8) -> int:
    """Round a channel count to a multiple of ``divisor``, never more than 10% down."""
    rounded = max(divisor, int(value + divisor / 2) // divisor * divisor)
    return rounded + divisor if rounded < 0.9 * value else rounded


class ConvBnAct(nn.Sequential):
    def __init__(
        self,
        in_chs: int,
        out_chs: int,
        kernel_size: int = 3,
        stride: int = 1,
        groups: int = 1,
        act_layer: type[nn.Module] | None = nn.ReLU6,
    ) -> None:
        layers: list[nn.Module] = [
            nn.Conv2d(in_chs, out_chs, kernel_size, stride, kernel_size // 2, groups=groups, bias=False),
            nn.BatchNorm2d(out_chs),
        ]
        if act_layer is not None:
            layers.append(act_layer())
        super().__init__(*layers)


class InvertedBottleneck(nn.Module):
    """LitePose's block (MobileNetV2 style): 1x1 expand -> KxK depthwise -> 1x1 project."""

    def __init__(self, in_chs: int, out_chs: int, stride: int = 1, kernel_size: int = 7, exp_ratio: float = 6.0):
        super().__init__()
        mid = make_divisible(in_chs * exp_ratio)
        self.expand = ConvBnAct(in_chs, mid, 1)
        self.dw = ConvBnAct(mid, mid, kernel_size, stride, groups=mid)
        self.project = ConvBnAct(mid, out_chs, 1, act_layer=None)
        self.has_residual = stride == 1 and in_chs == out_chs

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.project(self.dw(self.expand(x)))
        return out + x if self.has_residual else out


class DFCAttention(nn.Module):
    """GhostNetV2's decoupled fully-connected attention, at half resolution.

    avg-pool /2 -> 1x1 conv -> (1 x K) depthwise -> (K x 1) depthwise -> sigmoid, then
    resized to ``out_size``. The depthwise "FC" convs are long-range along one axis each,
    which is how DFC reaches far pixels at O(K) cost. No BN inside: the block keeps one.
    """

    def __init__(self, chs: int, kernel_size: int = 5, upsample: str = "bilinear") -> None:
        super().__init__()
        pad = kernel_size // 2
        self.pool = nn.AvgPool2d(2)
        self.reduce = nn.Conv2d(chs, chs, 1)
        # Bias-free, so horizontal then vertical equals one KxK depthwise conv, borders included
        # (models/fuse.py merges them for inference).
        self.horizontal = nn.Conv2d(chs, chs, (1, kernel_size), padding=(0, pad), groups=chs, bias=False)
        self.vertical = nn.Conv2d(chs, chs, (kernel_size, 1), padding=(pad, 0), groups=chs)
        self.upsample = upsample

    def forward(self, x: torch.Tensor, stride: int) -> torch.Tensor:
        a = self.reduce(self.pool(x))  # (B, C, H/2, W/2)
        a = torch.sigmoid(self.vertical(self.horizontal(a)))
        if stride == 2:  # the pooled map already has the block's output size
            return a
        # A fixed scale (inputs are multiples of 32) keeps the exported graph free of shape arithmetic.
        kwargs = {"align_corners": False} if self.upsample == "bilinear" else {}
        return F.interpolate(a, scale_factor=2.0, mode=self.upsample, **kwargs)  # (B, C, H, W)


class DFCBottleneck(nn.Module):
    """The DFC-bottleneck block of WLitePose.

    Measured on onnxruntime CPU: the GELU (erf form, as the paper has it) runs outside the
    blocked NCHWc conv layout, and the reorders around the 34 GELUs cost about 4 ms of 13.8 ms
    at XS@256 on 2 threads; with ReLU the network would run at 1.22x LitePose-XS instead of
    about 1.45x. The sigmoid form of GELU did not help (onnxruntime fuses it into QuickGelu,
    also outside that layout).

    X -> [7x7 depthwise v(X)] * sigmoid-gated [DFC attention A(X)] -> BN -> 1x1 expand
    -> GELU -> 1x1 project (+ X where shapes allow).

    Choices the paper leaves open (switchable):
    - ``bn_position``: ``"pre_expand"`` (default) puts the single BN right before the 1x1
      expand, as ConvNeXt puts its norm; at export it folds exactly into that conv, so
      inference pays nothing for it. ``"post_dw"`` puts it after the depthwise conv,
      where onnxruntime fuses it into the conv.
    - ``dfc_kernel``: 5, GhostNetV2's choice; on 1/16 maps at 256 input (16 x 16, pooled
      to 8 x 8) a 5-tap row/column covers most of the map.
    """

    def __init__(
        self,
        in_chs: int,
        out_chs: int,
        stride: int = 1,
        kernel_size: int = 7,
        exp_ratio: float = 6.0,
        dfc_kernel: int = 5,
        bn_position: str = "pre_expand",
        upsample: str = "bilinear",
        act_layer: type[nn.Module] = nn.GELU,
    ) -> None:
        super().__init__()
        if bn_position not in ("pre_expand", "post_dw"):
            raise ValueError(f"bn_position must be 'pre_expand' or 'post_dw', not {bn_position!r}")
        mid = make_divisible(in_chs * exp_ratio)
        self.dw = nn.Conv2d(
            in_chs, in_chs, kernel_size, stride, kernel_size // 2, groups=in_chs, bias=bn_position != "post_dw"
        )
        self.attention = DFCAttention(in_chs, dfc_kernel, upsample)
        self.bn = nn.BatchNorm2d(in_chs)
        self.bn_position = bn_position
        self.expand = nn.Conv2d(in_chs, mid, 1)
        self.act = act_layer()
        self.project = nn.Conv2d(mid, out_chs, 1)
        self.stride = stride
        self.has_residual = stride == 1 and in_chs == out_chs

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        v = self.dw(x)  # (B, C_in, H/s, W/s)
        if self.bn_position == "post_dw":
            v = self.bn(v)
        out = v * self.attention(x, self.stride)
        if self.bn_position == "pre_expand":
            out = self.bn(out)
        out = self.project(self.act(self.expand(out)))  # (B, C_out, H/s, W/s)
        return out + x if self.has_residual else out


class SepConv(nn.Sequential):
    """LitePose's prediction head: KxK depthwise -> BN -> ReLU -> 1x1 conv."""

    def __init__(self, in_chs: int, out_chs: int, kernel_size: int = 5) -> None:
        super().__init__(
            nn.Conv2d(in_chs, in_chs, kernel_size, 1, kernel_size // 2, groups=in_chs, bias=False),
            nn.BatchNorm2d(in_chs),
            nn.ReLU(inplace=True),
            nn.Conv2d(in_chs, out_chs, 1),
        )


def shuffle_order(channels: int, groups: int) -> torch.Tensor:
    """Channel order of a shuffle: output channel j takes input channel order[j]."""
    return torch.arange(channels).reshape(groups, channels // groups).t().reshape(-1)


class ShuffleResidual(nn.Module):
    """Lightweight residual block: 1x1 group conv -> shuffle -> 3x3 depthwise -> 1x1 group conv."""

    def __init__(self, chs: int, groups: int = 3) -> None:
        super().__init__()
        if chs % groups:
            raise ValueError(f"{chs} channels cannot be split into {groups} groups")
        # A constant-index gather exports to one ONNX Gather; reshape/transpose needs shape arithmetic.
        self.register_buffer("order", shuffle_order(chs, groups), persistent=False)
        self.reduce = nn.Sequential(
            nn.Conv2d(chs, chs, 1, groups=groups, bias=False), nn.BatchNorm2d(chs), nn.ReLU(inplace=True)
        )
        self.dw = nn.Sequential(nn.Conv2d(chs, chs, 3, 1, 1, groups=chs, bias=False), nn.BatchNorm2d(chs))
        self.restore = nn.Sequential(nn.Conv2d(chs, chs, 1, groups=groups, bias=False), nn.BatchNorm2d(chs))
        self.act = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.reduce(x)
        if self.order is not None:  # None once models/fuse.py has folded the shuffle into a dense conv
            out = out[:, self.order]
        out = self.restore(self.dw(out))
        return self.act(out + x)


class LightDeconvModule(nn.Module):
    """WLitePose's lightweight deconvolution module: 1/4 features + 1/4 predictions -> 1/2 heatmaps.

    4x4 depthwise transposed conv (stride 2) + pointwise conv -> BN -> ReLU, then
    ``num_blocks`` shuffle residual blocks, then a 1x1 head to K heatmaps.
    The paper's width is 32, but a group conv with g=3 needs a multiple of 3. We use 24
    (a multiple of 3 and 8): at 1/2 resolution this module is the costliest part of the
    network on a CPU, and 24 instead of 33 channels saved 1.7 ms of ~19 ms at XS@256.
    """

    def __init__(self, in_chs: int, num_keypoints: int, width: int = 24, num_blocks: int = 4, groups: int = 3) -> None:
        super().__init__()
        self.up = nn.ConvTranspose2d(in_chs, in_chs, 4, stride=2, padding=1, groups=in_chs, bias=False)
        self.pointwise = nn.Sequential(
            nn.Conv2d(in_chs, width, 1, bias=False), nn.BatchNorm2d(width), nn.ReLU(inplace=True)
        )
        self.blocks = nn.Sequential(*[ShuffleResidual(width, groups) for _ in range(num_blocks)])
        self.head = nn.Conv2d(width, num_keypoints, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.pointwise(self.up(x))  # (B, width, 2H, 2W)
        return self.head(self.blocks(x))  # (B, K, 2H, 2W)
