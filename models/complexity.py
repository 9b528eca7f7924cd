"""Parameter and MAC counting in two conventions.

- ``true``: multiply-accumulates of convolutions and transposed convolutions only (the
  networks have no linear layer). A transposed conv costs Cin/g * Cout * k * k per *input* pixel.
- ``paper``: the old ptflops convention behind LitePose's published 1.2 G / 5.0 G
  (and so WLitePose's 1.5 G / 5.8 G): transposed convs counted at *output* resolution,
  conv biases counted, BatchNorm counted as 2 ops per element (affine), activation
  modules as 1 per element.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

_ACTIVATIONS = (nn.ReLU, nn.ReLU6, nn.GELU, nn.Sigmoid, nn.Hardswish, nn.SiLU)


@dataclass(frozen=True)
class Complexity:
    params: int
    macs: int  # true convention
    macs_paper: int  # ptflops-style convention


def count_params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def _conv_macs(module: nn.modules.conv._ConvNd, inp: torch.Tensor, out: torch.Tensor) -> tuple[int, int]:
    kernel = int(torch.tensor(module.kernel_size).prod())
    if isinstance(module, nn.ConvTranspose2d):
        per_pixel = module.in_channels // module.groups * module.out_channels * kernel
        true = inp[0].numel() // module.in_channels * per_pixel
        paper = out[0].numel() // module.out_channels * per_pixel
    else:
        true = paper = out[0].numel() * (module.in_channels // module.groups) * kernel
    if module.bias is not None:
        paper += out[0].numel()
    return true, paper


def measure(model: nn.Module, size: int) -> Complexity:
    """Count params and MACs of ``model`` on one (1, 3, size, size) input."""
    totals = {"true": 0, "paper": 0}

    def hook(module: nn.Module, inputs: tuple, output) -> None:
        inp = inputs[0]
        if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d)):
            true, paper = _conv_macs(module, inp, output)
        elif isinstance(module, nn.BatchNorm2d):
            true, paper = 0, 2 * output[0].numel()
        else:  # activations
            true, paper = 0, output[0].numel()
        totals["true"] += true
        totals["paper"] += paper

    kinds = (nn.Conv2d, nn.ConvTranspose2d, nn.BatchNorm2d, *_ACTIVATIONS)
    handles = [m.register_forward_hook(hook) for m in model.modules() if isinstance(m, kinds)]
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            model(torch.zeros(1, 3, size, size))
    finally:
        for h in handles:
            h.remove()
        model.train(was_training)
    return Complexity(count_params(model), totals["true"], totals["paper"])
