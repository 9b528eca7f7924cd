"""Checkpoint files: a model's weights plus what is needed to rebuild and describe it."""

from __future__ import annotations

import os
import pickle
import warnings
from pathlib import Path

import torch
from torch import nn

from models.errors import ModelError
from models.schemas import SCHEMAS
from models.wlitepose import build_model


def model_meta(variant: str, schema: str, dataset: str, overrides: dict | None = None) -> dict:
    return {"variant": variant, "schema": schema, "dataset": dataset, "overrides": dict(overrides or {})}


def load_tensors(path: str | Path, map_location="cpu"):
    """``torch.load`` of tensors and plain values only (a file from elsewhere can hold a pickle that runs code on
    load), without torch's warning of a pickle it did not write (protocol 4), which came before our sentence."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return torch.load(path, map_location=map_location, weights_only=True)


def load_checkpoint(path: str | Path) -> tuple[nn.Module, dict]:
    """Rebuild the model stored in a checkpoint; returns (model in eval mode, its meta dict)."""
    path = Path(os.path.expanduser(path))
    if path.is_dir():
        raise ModelError(f"checkpoint {path} is a folder, not a checkpoint file")
    if not path.is_file():
        raise ModelError(f"checkpoint {path} does not exist")
    try:
        state = load_tensors(path)
        meta, weights = state["meta"], state["model"]
        model = build_model(meta["variant"], **meta["overrides"])
    except ModelError:
        raise
    except Exception as error:  # torch raises many types for a bad file
        hint = "; ImageNet MobileNetV2 weights go to --init as imagenet:PATH" if path.suffix == ".pth" else ""
        why = (
            "it holds objects other than tensors and numbers, which are never loaded: they could run code"
            if isinstance(error, pickle.UnpicklingError)
            else "torch reads no wlitepose model from it"
        )
        raise ModelError(f"{path} is not a wlitepose checkpoint ({why}){hint}") from None
    _check_labels(path, meta)
    try:
        model.load_state_dict(weights)
    except (RuntimeError, TypeError, AttributeError):  # layers missing, extra or of other shapes; not a dict
        raise ModelError(
            f"{path}'s weights do not fit the {meta['variant']} network its metadata names (layers missing, "
            "extra or of other shapes)"
        ) from None
    return model.eval(), meta


def _check_labels(path: Path, meta: dict) -> None:
    """Refuse a checkpoint whose metadata cannot describe it (one from a newer version, one made elsewhere): the
    keypoint schema and dataset are what its exported file is labelled with."""
    known = ", ".join(sorted(SCHEMAS))
    if "schema" not in meta:
        raise ModelError(f"{path}'s metadata names no keypoint schema (one of {known})")
    if meta["schema"] not in SCHEMAS:
        raise ModelError(
            f"{path} names the keypoint schema {meta['schema']!r}, which this version does not know ({known})"
        )
    if "dataset" not in meta:
        raise ModelError(f"{path}'s metadata names no dataset, which the exported file records")
