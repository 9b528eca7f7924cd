"""Feature hints from ImageNet MobileNetV2 (FitNets, Romero et al. 2015) for the DFC backbone.

Our backbone cannot take MobileNetV2's weights (training/pretrained.py says why), and 2,083
training images are far too few to learn general features from scratch: the network fits
the training scenes (their AP rose 0.058 -> 0.137 while dev AP stayed put). With
``--distill PATH`` a frozen MobileNetV2 sees every training batch, and a 1x1 adapter from each
of three backbone stages must predict its features at the same stride:

    stage 1 (1/4, 16 ch) -> features.3 (24 ch),  stage 2 (1/8, 32 ch) -> features.6 (32 ch),
    stage 4 (1/16, 80 ch) -> features.13 (96 ch)

    distill = mean over the three of MSE(adapter(student), standardise(teacher))

Teacher features are standardised per channel over the batch, so each target has unit
variance and the loss starts near 1 whatever the layer's scale. The adapters train with the
network and live in the checkpoint, never in the exported model; the hint needs no labels.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from training.teacher import HINT_LAYERS, load_teacher

STUDENT_STAGES = (0, 1, 3)  # indices into WLitePose.stages: outputs at 1/4, 1/8, 1/16


class FeatureHints(nn.Module):
    """Adapters + frozen teacher; ``loss(images)`` after the student's forward pass on the same images."""

    def __init__(self, student: nn.Module, teacher_path: str) -> None:
        super().__init__()
        self.teacher = load_teacher(teacher_path, "--distill ")
        # the last conv of a stage is its last block's 1x1 projection
        student_chs = [
            [m for m in student.stages[i].modules() if isinstance(m, nn.Conv2d)][-1].out_channels
            for i in STUDENT_STAGES
        ]
        # each adapter standardises the student's features first, so trained weights with large
        # activations (the shipped model's stage-4 output: std 67, peaks of 240) start where fresh ones do
        self.adapters = nn.ModuleList(
            nn.Sequential(nn.BatchNorm2d(s, affine=False), nn.Conv2d(s, t, 1))
            for s, t in zip(student_chs, HINT_LAYERS.values(), strict=True)
        )
        self._features: dict[int, torch.Tensor] = {}
        for slot, index in enumerate(STUDENT_STAGES):
            student.stages[index].register_forward_hook(self._keeper(slot))

    def _keeper(self, slot: int):
        def keep(module: nn.Module, _inputs, output: torch.Tensor) -> None:
            if module.training:  # validation exports and weight averages run in eval mode
                self._features[slot] = output

        return keep

    def loss(self, images: torch.Tensor) -> torch.Tensor:
        if len(self._features) != len(self.adapters):
            raise RuntimeError("FeatureHints.loss needs the student's training forward pass on these images first")
        with torch.no_grad():
            targets = self.teacher(images.float())
        total = images.new_zeros((), dtype=torch.float32)
        for slot, (adapter, target) in enumerate(zip(self.adapters, targets, strict=True)):
            target = F.batch_norm(target, None, None, training=True)  # per-channel standardisation
            total = total + F.mse_loss(adapter(self._features[slot].float()), target)
        self._features.clear()
        return total / len(self.adapters)
