"""A run's checkpoints in its --out: last.pt saved every epoch (best.pt at a better AP), and a run resumed from it."""

from __future__ import annotations

import math
import os
import sys
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING

import torch

from core.errors import WLitePoseError
from models.checkpoint import load_tensors, model_meta
from models.schemas import get_schema
from training.distributed import is_main
from training.lr_schedule import keep_clock_drops, reschedule

if TYPE_CHECKING:
    from training.trainer import TrainConfig


def model_checkpoint(out: Path) -> Path:
    """The checkpoint a run's model file comes from: best.pt (by validation AP), else last.pt (no validation)."""
    return out / "best.pt" if (out / "best.pt").is_file() else out / "last.pt"


def save_checkpoint(
    path: Path,
    model,
    ema,
    hints,
    optimizer,
    scheduler,
    epoch: int,
    best_ap: float,
    config: TrainConfig,
    spent_s: float,
    step: int,
    epoch_part: dict | None = None,
    scaler=None,
) -> None:
    """``model`` holds the weights to use (export, --init: the average when there is one); with a
    weight average, ``train_model`` holds the raw weights the optimiser continues from; with feature
    hints, ``hint_adapters`` their adapters; ``spent_s`` is the run's training time so far (--minutes), ``step``
    its optimiser steps (a run resumed with another --batch-size counts on from them); ``epoch`` the last epoch
    trained whole, and ``epoch_part`` the steps of the next one so far, when a stop cut it (the trainer's
    _EpochPart: a resumed run trains only its other steps); ``scaler`` mixed precision's loss scale, when it is on
    (a resumed run would start it again at 65,536 and skip steps until it has come down)."""
    state = {
        "model": (ema.module if ema else model).state_dict(),
        "meta": model_meta(
            config.variant, config.schema, config.dataset, {"num_keypoints": get_schema(config.schema).num_keypoints}
        ),
        "optimizer": optimizer.state_dict(),
        "scheduler": scheduler.state_dict(),
        "epoch": epoch,
        "best_ap": best_ap,
        "spent_s": spent_s,
        "step": step,
        "config": asdict(config),
    }
    if epoch_part:
        state["epoch_part"] = epoch_part
    if scaler is not None and scaler.is_enabled():
        state["scaler"] = scaler.state_dict()
    if ema:
        state["train_model"] = model.state_dict()
        state["ema_updates"] = ema.updates
    if hints:
        state["hint_adapters"] = hints.adapters.state_dict()
    tmp = path.with_suffix(".tmp")
    tmp.unlink(missing_ok=True)  # a link left there would take the checkpoint into its target
    try:
        torch.save(state, tmp)
    except (OSError, RuntimeError) as error:  # torch says a full disk as "enforce fail ... unexpected pos"
        tmp.unlink(missing_ok=True)
        reason = error.strerror if isinstance(error, OSError) and error.strerror else "it could not be written whole"
        kept = f"; {path.name} holds the one saved before" if path.is_file() else ""
        raise WLitePoseError(f"cannot save the checkpoint {path} ({reason}: is the disk full?){kept}") from None
    tmp.replace(path)  # a crash mid-save never leaves a broken checkpoint


def resume_run(out: Path, config: TrainConfig, device, model, hints, optimizer, scheduler, budget: float):
    """The run in ``out``/last.pt loaded into the model, optimiser and schedule (its own lr drops unless
    --milestones is given): (its checkpoint, the first epoch to train, best AP, seconds trained); WLitePoseError
    when it cannot go on as asked."""
    try:
        state = load_tensors(out / "last.pt", map_location=device)  # never code
        variant, schema_name = state["meta"]["variant"], state["meta"]["schema"]
    except Exception as error:  # noqa: BLE001 (torch raises many types for a damaged file)
        raise WLitePoseError(
            f"{out / 'last.pt'} cannot be resumed ({type(error).__name__}: the file is damaged or not a "
            "run's checkpoint); train into another --out, or start from best.pt with --init"
        ) from None
    if (variant, schema_name) != (config.variant, config.schema):
        raise WLitePoseError(
            f"{out / 'last.pt'} holds {variant} ({schema_name}): resume it with --variant {variant} "
            f"--schema {schema_name}, or train into another --out"
        )
    if ("hint_adapters" in state) != bool(hints):
        raise WLitePoseError(
            f"{out / 'last.pt'} was trained {'with' if 'hint_adapters' in state else 'without'} --distill: resume "
            "it the same way, or start another --out from it with --init"
        )
    model.load_state_dict(state.get("train_model", state["model"]))
    if hints:
        hints.adapters.load_state_dict(state["hint_adapters"])
    optimizer.load_state_dict(state["optimizer"])
    scheduler.load_state_dict(state["scheduler"])
    own_lr = scheduler.base_lrs[0]
    if config.lr is not None and not math.isclose(config.lr, own_lr) and is_main():
        print(
            f"wlitepose: note: the run continues its own schedule from --lr {own_lr:g}; the --lr {config.lr:g} "
            "given now is not used (start another --out with --init to train at it)",
            file=sys.stderr,
        )
    had = optimizer.param_groups[0]["lr"]
    if config.milestones_given:  # else the run keeps its own lr drops (a longer --epochs alone extends it)
        reschedule(scheduler, config.milestones)
    if not config.minutes and state.get("config", {}).get("minutes"):
        keep_clock_drops(scheduler, round(math.log(had / scheduler.base_lrs[0]) / math.log(scheduler.gamma)))
    start_epoch, best_ap, spent_before = state["epoch"] + 1, state["best_ap"], state.get("spent_s")
    if config.minutes and spent_before is None:
        raise WLitePoseError(
            f"{out / 'last.pt'} does not record how long it has trained (it predates --minutes): resume it "
            "by --epochs, or start another --out from it with --init"
        )
    spent_before = spent_before or 0.0
    if config.minutes and spent_before >= budget:
        raise WLitePoseError(
            f"{out / 'last.pt'} has already trained {spent_before / 60:.1f} of --minutes {config.minutes:g}: "
            f"pass more --minutes to go on, or `wlitepose export --checkpoint {model_checkpoint(out)}` for its "
            "model file"
        )
    if not config.minutes and start_epoch >= config.epochs:
        raise WLitePoseError(
            f"{out / 'last.pt'} has already trained {start_epoch} epochs of --epochs {config.epochs}: "
            "pass a larger --epochs to go on (its lr drops stay; --milestones moves them), or `wlitepose export "
            f"--checkpoint {model_checkpoint(out)}` for its model file"
        )
    return state, start_epoch, best_ap, spent_before


def drop_cut_line(log: Path) -> None:
    """The last line of ``log`` removed when it has no end (a run killed while writing it, or one an earlier
    release left when the disk filled): the resumed run's first epoch would join it, both lost to a reader of
    one JSON object a line. A log that cannot be read or cut is left as it is: writing to it says why."""
    try:
        text = log.read_bytes()
        if text and not text.endswith(b"\n"):
            os.truncate(log, text.rfind(b"\n") + 1)
    except OSError:
        pass
