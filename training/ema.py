"""An exponential moving average of a model's weights, for validation and export.

With little data, the weights at the end of one epoch at a high learning rate are a noisy
sample (dev AP swung 0.002-0.032 between neighbouring epochs at lr 1e-3). Averaging the
weights over the last few hundred steps removes most of that noise at no training cost:

    ema = d * ema + (1 - d) * w,   d = min(decay, (n - 1) / n),  n = updates including this one

so until 1 / (1 - decay) updates have been made it is the plain mean of all of them (the
starting weights drop out at the first update), and after that an average over about the
last 1 / (1 - decay) steps. (TensorFlow's (1 + n) / (10 + n) ramp would take 4,500 steps to
reach a decay of 0.998, longer than a whole CPU run here.) Float buffers (BatchNorm running
statistics) are averaged the same way; integer buffers are copied.
"""

from __future__ import annotations

import copy

import torch
from torch import nn


class WeightAverage:
    def __init__(self, model: nn.Module, decay: float, updates: int = 0) -> None:
        if not 0.0 < decay < 1.0:
            raise ValueError(f"EMA decay must lie strictly between 0 and 1, not {decay}")
        self.decay = decay
        self.updates = updates
        self.module = copy.deepcopy(model).eval()
        for p in self.module.parameters():
            p.requires_grad_(False)
        self._pairs: tuple[nn.Module, list, list, list, list] | None = None  # model, our/their floats, others

    def current_decay(self) -> float:
        """The decay of the latest update."""
        return min(self.decay, (self.updates - 1) / max(self.updates, 1))

    @torch.no_grad()
    def update(self, model: nn.Module) -> None:
        self.updates += 1
        if self._pairs is None or self._pairs[0] is not model:
            # views of both models' tensors, found once: each step is then two multi-tensor ops,
            # not a state_dict and a kernel per tensor (619 of them in wlitepose_xs)
            ours, theirs = self.module.state_dict(), model.state_dict()
            floats = [name for name, tensor in ours.items() if tensor.is_floating_point()]
            others = [name for name, tensor in ours.items() if not tensor.is_floating_point()]
            self._pairs = (
                model,
                [ours[n] for n in floats],
                [theirs[n] for n in floats],
                [ours[n] for n in others],
                [theirs[n] for n in others],
            )
        _, our_floats, their_floats, our_others, their_others = self._pairs
        if our_floats:  # the multi-tensor ops refuse empty lists
            torch._foreach_lerp_(our_floats, their_floats, 1.0 - self.current_decay())
        if our_others:
            torch._foreach_copy_(our_others, their_others)
