"""Initialisation: the prediction heads, and ImageNet MobileNetV2-1.0 weights (torchvision layout) where shapes match.

Our stem (3->32 3x3 s2, 32 depthwise 3x3, 32->16 1x1, each with BN) is MobileNetV2's
features.0 and features.1 exactly. The DFC-bottleneck blocks have other shapes (7x7 depthwise
on the block input, 10x expansion, GELU, other widths): a MobileNetV2 expand/project weight
would act on other features there, so no slice of it means anything and they start from scratch.
The shared file's BNs are identities carrying TFLite's folded biases: train-mode BN would
normalise that folding away, so the trainer keeps these BNs in eval mode (frozen statistics,
trainable affine), see ``pretrained_batchnorms``.
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from core.errors import WLitePoseError
from models.checkpoint import load_tensors

# our module -> MobileNetV2 module(s): torchvision names the last conv/BN of features.1
# conv.1/conv.2; the shared converted file nests them as conv.1.0/conv.1.1.
STEM_MAP = {
    "stem.0.0": ("features.0.0",),
    "stem.0.1": ("features.0.1",),
    "stem.1.0": ("features.1.conv.0.0",),
    "stem.1.1": ("features.1.conv.0.1",),
    "stem.2.0": ("features.1.conv.1.0", "features.1.conv.1"),
    "stem.2.1": ("features.1.conv.1.1", "features.1.conv.2"),
}

_GIVE = "give the MobileNetV2-1.0 ImageNet .pth"


def check_weights_file(path: str | Path, option: str, give: str = _GIVE) -> None:
    """WLitePoseError unless ``path``, given after ``option`` ("--init imagenet:", "--distill "), is a file; the
    message ends saying to ``give`` what the option takes."""
    if not str(path):
        raise WLitePoseError(f"{option.strip()} names no file: {give} after it")
    if not Path(path).is_file():
        state = "is a folder" if Path(path).is_dir() else "does not exist"
        raise WLitePoseError(f"{option}{path} {state} ({give})")


def read_imagenet_weights(path: str | Path, option: str) -> dict[str, torch.Tensor]:
    """The MobileNetV2 state dict in ``path`` (given after ``option``); WLitePoseError saying in words why not."""
    check_weights_file(path, option)
    try:
        weights = load_tensors(Path(path))
    except OSError as error:
        raise WLitePoseError(f"cannot read {option}{path} ({error.strerror or error})") from None
    except Exception:  # noqa: BLE001 (torch raises many types for a file that is not its own: KeyError, ...)
        weights = None
    if not isinstance(weights, dict) or not all(isinstance(v, torch.Tensor) for v in weights.values()):
        raise WLitePoseError(f"{option}{path} is not a PyTorch state dict of MobileNetV2 weights ({_GIVE})")
    return weights


def load_imagenet_stem(model: nn.Module, path: str | Path, option: str = "") -> int:
    """Copy the matching MobileNetV2 tensors into ``model``; returns the number of parameters copied."""
    source = read_imagenet_weights(path, option)
    own = model.state_dict()
    copied = {}
    for ours, candidates in STEM_MAP.items():
        for name, tensor in own.items():
            if name.startswith(ours + "."):
                for theirs in candidates:
                    other = source.get(theirs + name[len(ours) :])
                    if other is not None and other.shape == tensor.shape:
                        copied[name] = other
                        break
    model.load_state_dict(copied, strict=False)
    params = dict(model.named_parameters())
    return sum(t.numel() for n, t in copied.items() if n in params)


def pretrained_batchnorms(model: nn.Module) -> list[nn.BatchNorm2d]:
    """The BNs that ``load_imagenet_stem`` fills: kept in eval mode while training."""
    modules = dict(model.named_modules())
    return [modules[name] for name in STEM_MAP if isinstance(modules.get(name), nn.BatchNorm2d)]


def init_heads(model: nn.Module) -> None:
    """Start the final 1x1 prediction convs at N(0, 0.001) with zero bias (HigherHRNet's head init).

    The network then starts from flat zero heatmaps and tags. With PyTorch's default init the
    heads start at about +-1 everywhere, and the first hundreds of steps only wash that out:
    a 4-image overfit reached AP 0.29 in 100 steps with this init and stayed at 0 without it.
    """
    names = ("head_refined", "head_raw", "head2_refined", "head2_raw")
    heads = [getattr(model, n)[-1] for n in names if hasattr(model, n)]
    if hasattr(model, "deconv_module"):
        heads.append(model.deconv_module.head)
    for conv in heads:
        nn.init.normal_(conv.weight, std=0.001)
        nn.init.zeros_(conv.bias)
