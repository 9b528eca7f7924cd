"""The WLitePose network and its LitePose baselines, built by one code path.

Variants are plain keyword dicts; ``build_model(name, **overrides)`` builds one.

Resolution walk (input H x W, multiples of 32):
    stem            -> 1/2
    stage 1..4      -> 1/4, 1/8, 1/16, 1/16   (LitePose's published strides 2, 2, 2, 1)
    neck (2 fused deconvs) -> 1/8, 1/4         -> K heatmaps + K tags at 1/4
    1/2 branch: WLitePose's light deconv module, or (LitePose baselines) LitePose's own
    third fused deconv + separable heads      -> K heatmaps at 1/2
"""

from __future__ import annotations

from functools import partial
from typing import NamedTuple

import torch
from torch import nn

from models.blocks import ConvBnAct, DFCBottleneck, InvertedBottleneck, LightDeconvModule, SepConv
from models.errors import ModelError

# LitePose's published searched architectures (mit-han-lab/litepose mobile_configs/search-XS.json
# and search-S.json): (num_blocks, stride, channels) per stage, every block expansion 6, kernel 7,
# and the fusion deconv widths.
_LITEPOSE_XS = dict(stages=((6, 2, 16), (8, 2, 32), (10, 2, 48), (10, 1, 80)), stem_chs=16, neck_chs=(16, 24, 24))
_LITEPOSE_S = dict(stages=((6, 2, 16), (8, 2, 32), (10, 2, 48), (10, 1, 120)), stem_chs=16, neck_chs=(32, 24, 32))
_BASELINE = dict(dfc=False, deconv_module=False)
# The DFC-bottleneck runs its 7x7 depthwise conv on the narrow input (ConvNeXt order), so at
# LitePose's expansion of 6 it is *smaller* than LitePose's block (1.37 M params for XS).
# The paper does not state the block's expansion; 10 is the ratio that reproduces its
# parameter counts for both sizes on LitePose's stage settings (XS 2.11 M vs 2.3 M,
# S 3.72 M vs 3.6 M).
_WLITEPOSE = dict(dfc=True, deconv_module=True, exp_ratio=10.0)

VARIANTS: dict[str, dict] = {
    "wlitepose_xs": {**_LITEPOSE_XS, **_WLITEPOSE, "input_size": 256},
    "wlitepose_s": {**_LITEPOSE_S, **_WLITEPOSE, "input_size": 448},
    "litepose_xs": {**_LITEPOSE_XS, **_BASELINE, "input_size": 256},
    "litepose_s": {**_LITEPOSE_S, **_BASELINE, "input_size": 448},
}


class PoseOutputs(NamedTuple):
    heatmaps_4: torch.Tensor  # (B, K, H/4, W/4)
    tags_4: torch.Tensor  # (B, K, H/4, W/4)
    heatmaps_2: torch.Tensor  # (B, K, H/2, W/2)


class WLitePose(nn.Module):
    def __init__(
        self,
        stages: tuple[tuple[int, int, int], ...],
        stem_chs: int,
        neck_chs: tuple[int, int, int],
        num_keypoints: int = 17,
        dfc: bool = True,
        deconv_module: bool = True,
        exp_ratio: float | tuple[float, ...] = 6.0,
        kernel_size: int = 7,
        dfc_kernel: int = 5,
        bn_position: str = "pre_expand",
        upsample: str = "bilinear",
        deconv_width: int = 24,
        gelu_approximate: str = "none",
        input_size: int = 256,
    ) -> None:
        super().__init__()
        self.num_keypoints = num_keypoints
        self.input_size = input_size
        self.stem = nn.Sequential(
            ConvBnAct(3, 32, 3, stride=2),
            ConvBnAct(32, 32, 3, groups=32),
            ConvBnAct(32, stem_chs, 1, act_layer=None),
        )
        ratios = exp_ratio if isinstance(exp_ratio, tuple) else (exp_ratio,) * len(stages)
        gelu = partial(nn.GELU, approximate=gelu_approximate)
        chs = [stem_chs]
        self.stages = nn.ModuleList()
        for (num_blocks, stride, out_chs), t in zip(stages, ratios, strict=True):
            blocks = []
            for i in range(num_blocks):
                s, in_chs = (stride, chs[-1]) if i == 0 else (1, out_chs)
                if dfc:
                    blocks.append(
                        DFCBottleneck(in_chs, out_chs, s, kernel_size, t, dfc_kernel, bn_position, upsample, gelu)
                    )
                else:
                    blocks.append(InvertedBottleneck(in_chs, out_chs, s, kernel_size, t))
            self.stages.append(nn.Sequential(*blocks))
            chs.append(out_chs)
        # chs: [stem 1/2, s1 1/4, s2 1/8, s3 1/16, s4 1/16]

        # LitePose's fusion neck: each step upsamples the refined path and the next-shallower
        # backbone feature with their own transposed convs and adds them.
        self.deconv_refined = nn.ModuleList()
        self.deconv_raw = nn.ModuleList()
        self.deconv_bn_act = nn.ModuleList()
        refined = chs[4]
        # Two steps to 1/4; LitePose's own 1/2 branch adds a third when the module is off.
        for step, planes in enumerate(neck_chs[: 2 if deconv_module else 3]):
            self.deconv_refined.append(nn.ConvTranspose2d(refined, planes, 4, 2, 1, bias=False))
            self.deconv_raw.append(nn.ConvTranspose2d(chs[3 - step], planes, 4, 2, 1, bias=False))
            self.deconv_bn_act.append(nn.Sequential(nn.BatchNorm2d(planes), nn.ReLU(inplace=True)))
            refined = planes
        k = num_keypoints
        self.head_refined = SepConv(neck_chs[1], 2 * k)
        self.head_raw = SepConv(chs[1], 2 * k)
        if deconv_module:
            self.deconv_module = LightDeconvModule(neck_chs[1] + 2 * k, k, deconv_width)
        else:
            self.head2_refined = SepConv(neck_chs[2], k)
            self.head2_raw = SepConv(chs[0], k)

    def forward(self, x: torch.Tensor) -> PoseOutputs:
        feats = [self.stem(x)]  # 1/2
        for stage in self.stages:
            feats.append(stage(feats[-1]))  # 1/4, 1/8, 1/16, 1/16
        refined = self._fuse(0, feats[4], feats[3])  # (B, neck_chs[0], H/8, W/8)
        refined = self._fuse(1, refined, feats[2])  # (B, neck_chs[1], H/4, W/4)
        pred = self.head_refined(refined) + self.head_raw(feats[1])  # (B, 2K, H/4, W/4)
        k = self.num_keypoints
        if hasattr(self, "deconv_module"):
            heatmaps_2 = self.deconv_module(torch.cat([refined, pred], dim=1))
        else:
            refined = self._fuse(2, refined, feats[1])  # (B, neck_chs[2], H/2, W/2)
            heatmaps_2 = self.head2_refined(refined) + self.head2_raw(feats[0])
        return PoseOutputs(pred[:, :k], pred[:, k:], heatmaps_2)  # heatmaps_2: (B, K, H/2, W/2)

    def _fuse(self, step: int, refined: torch.Tensor, raw: torch.Tensor) -> torch.Tensor:
        return self.deconv_bn_act[step](self.deconv_refined[step](refined) + self.deconv_raw[step](raw))


def build_model(name: str, **overrides) -> WLitePose:
    """Build a variant by name; keyword overrides replace its settings (e.g. num_keypoints=14)."""
    if name not in VARIANTS:
        raise ModelError(f"unknown variant {name!r}; choose one of {', '.join(sorted(VARIANTS))}")
    return WLitePose(**{**VARIANTS[name], **overrides})
