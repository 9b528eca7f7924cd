"""Precise BatchNorm statistics: re-estimate the running means and variances before validation.

During training a BN layer's running statistics are an average over the last ~1 / momentum
batches (about 10), gathered while the weights were still moving. With little data and a high
learning rate they are a noisy sample: the shipped XS@256 weights scored dev AP 0.031 with their
stored statistics (as exported and decoded then) and 0.011-0.018 with statistics re-gathered the
same way over 30 other training batches (nine draws). "Precise BN" (Wu & Johnson, "Rethinking
'Batch' in BatchNorm", 2021) replaces them with the plain average over many batches through the
final weights, so each epoch's validation measures its weights rather than the draw of its last
batches.

The per-batch variances are averaged (``momentum=None``), which includes the spread between the
images of each batch; with batches of 16 this is close to the population variance.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable

import torch
from torch import nn


def recompute_batchnorm(
    model: nn.Module, batches: Iterable[dict], count: int, skip: Iterable[str] = (), device: torch.device | None = None
) -> int:
    """Reset and re-estimate ``model``'s BatchNorm statistics from ``count`` batches; returns the batches used.

    ``batches`` yields training batches (dicts with an ``"image"`` tensor); BNs named in ``skip``
    (frozen pretrained ones) keep their statistics. Weights are untouched and the model ends in eval mode.
    """
    skip = set(skip)
    layers = [
        m for name, m in model.named_modules() if isinstance(m, nn.modules.batchnorm._BatchNorm) and name not in skip
    ]
    if not layers or count <= 0:
        return 0
    batches = iter(batches)
    first = next(batches, None)
    if first is None:  # nothing to estimate from: keep the statistics there are
        return 0
    momenta = [m.momentum for m in layers]
    for m in layers:
        m.reset_running_stats()
        m.momentum = None  # cumulative average over the batches below
    model.eval()
    for m in layers:
        m.train()  # only these gather statistics; frozen BNs and everything else stay in eval mode
    used = 0
    with torch.no_grad():
        for batch in itertools.chain([first], batches):
            image = batch["image"]
            model(image.to(device) if device is not None else image)
            used += 1
            if used == count:
                break
    for m, momentum in zip(layers, momenta, strict=True):
        m.momentum = momentum
    model.eval()
    return used
