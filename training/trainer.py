"""The training loop: Adam with step schedules, checkpoints every epoch, resume, best-by-AP, DDP.

One readable loop; logging and validation live in small functions beside it.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import math
import os
import pickle
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch
import torch.distributed as dist
from torch.utils.data import DataLoader
from torch.utils.data.distributed import DistributedSampler

from core.errors import Stopped, WLitePoseError
from core.output_lock import take
from core.sinks.base import cut_back
from core.stop_request import StopRequest
from models.export import build_metadata, export_onnx
from models.schemas import get_schema
from models.wlitepose import build_model
from training.augment import AugmentConfig
from training.checkpoints import drop_cut_line, model_checkpoint, resume_run, save_checkpoint
from training.dataset import KeypointDataset, network_batch, network_image
from training.distill import FeatureHints
from training.distributed import agreed, is_main, setup_distributed, wait_for_all
from training.ema import WeightAverage
from training.losses import ae_loss, heatmap_mse_loss, heatmap_weighted_loss
from training.lr_schedule import set_lr
from training.precise_bn import recompute_batchnorm
from training.pretrained import init_heads, load_imagenet_stem, pretrained_batchnorms
from training.progress_line import end_progress_line, restart_progress, show_progress
from training.sampling import batches, end_workers, run_loader

# The paper's schedules: (epochs, epochs at which the lr drops by 10x).
PRESETS = {"coco": (500, (350, 480)), "crowdpose": (200, (50, 180))}
DEFAULT_LR = 1e-3
MAX_OVERFLOWS = 20  # non-finite losses in a row that mixed precision may skip before the run counts as diverged


@dataclass(frozen=True)
class TrainConfig:
    train_annotations: str
    train_images: str
    out: str
    val_annotations: str | None = None
    val_images: str | None = None
    val_every: int = 1  # validate (and pick best.pt) every this many epochs, and at the last one
    variant: str = "wlitepose_xs"
    schema: str = "coco"
    dataset: str = "custom"
    input_size: int | None = None  # training crop; None: the variant's size (validation and export always use it)
    epochs: int = 500
    milestones: tuple[int, ...] = (350, 480)
    milestones_given: bool = True  # False (the CLI without --milestones): a resumed run keeps its own lr drops
    lr: float | None = None  # None: DEFAULT_LR for a new run; a resumed run keeps its own
    batch_size: int = 32
    workers: int = 2
    threads: int | None = None  # torch threads of each training process; None: its share of the cores minus workers
    loss: str = "weighted"  # "weighted" (the paper's) or "mse" (ablation)
    tau: float = 0.01
    heatmap_factors: tuple[float, float] = (1.0, 1.0)  # 1/4 and 1/2 resolutions
    pull_factor: float = 1e-3
    push_factor: float = 1e-3
    source_weights: dict[str, float] = field(default_factory=dict)  # per-annotation-source loss weight
    # per-image-source sampling rate: expected draws per epoch of each image of that source (default 1)
    sample_weights: dict[str, float] = field(default_factory=dict)
    mosaic: float = 0.0  # probability of a 2x2 mosaic sample (training.augment); 0 is the paper's augmentation
    ema: float = 0.0  # decay of a weight average validated and exported instead of the raw weights; 0 = off
    distill: str | None = None  # MobileNetV2 .pth whose features the backbone learns to predict (training.distill)
    distill_factor: float = 1e-2  # weight of that hint loss in the total
    precise_bn: int = 0  # training batches that re-estimate the BN statistics before each validation; 0 = off
    init: str | None = None  # "imagenet:PATH", a checkpoint path, or None
    resume: bool = False
    max_steps: int | None = None
    # wall-clock budget: the lr drops at the fractions of it that milestones are of epochs, and the run
    # ends after the last epoch that fits or when it is spent (epochs then only shapes the schedule)
    minutes: float | None = None
    seed: int = 0


def compute_losses(model: torch.nn.Module, batch: dict, config: TrainConfig) -> dict[str, torch.Tensor]:
    out = model(batch["image"])
    out = type(out)(*(o.float() for o in out))  # the losses run in float32 under autocast
    if config.loss == "weighted":
        hm = lambda p, t, m: heatmap_weighted_loss(p, t, m, config.tau)  # noqa: E731
    else:
        hm = heatmap_mse_loss
    weight = batch["weight"]
    losses = {
        "heatmap_4": (hm(out.heatmaps_4, batch["heatmaps_4"], batch["mask_4"]) * weight).mean(),
        "heatmap_2": (hm(out.heatmaps_2, batch["heatmaps_2"], batch["mask_2"]) * weight).mean(),
    }
    pull, push = ae_loss(out.tags_4, batch["joints"])
    losses["pull"], losses["push"] = (pull * weight).mean(), (push * weight).mean()
    f4, f2 = config.heatmap_factors
    losses["total"] = (
        f4 * losses["heatmap_4"]
        + f2 * losses["heatmap_2"]
        + config.pull_factor * losses["pull"]
        + config.push_factor * losses["push"]
    )
    return losses


def validate(
    model: torch.nn.Module, config: TrainConfig, input_size: int, path: Path, val_set: bytes
) -> dict[str, float]:
    """Export the current weights and score them exactly as `wlitepose eval` would (core decoding, OKS) on
    ``val_set`` (_validation_set's)."""
    from core.evaluation import evaluate_model
    from core.session import PoseModel

    schema = get_schema(config.schema)
    meta = build_metadata(schema, config.variant, input_size, config.dataset, trained=True)
    export_onnx(model, path, meta, check_sizes=((input_size, input_size),))
    # every core this process may use: the loader workers and the other ranks wait meanwhile
    threads = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    data = pickle.loads(val_set)  # a copy of its own: pycocotools writes its fields into the people it scores
    model_file = PoseModel(path, threads=threads)
    return evaluate_model(model_file, config.val_annotations, config.val_images, input_size, data)


def _finite(module: torch.nn.Module) -> bool:
    """Whether a module's weights and buffers (BatchNorm's statistics too: they are exported) are all finite."""
    return all(torch.isfinite(t).all() for t in module.state_dict().values() if t.is_floating_point())


def _finite_outputs(model: torch.nn.Module, images: torch.Tensor) -> bool:
    """Whether the network's outputs on ``images`` (the epoch's last batch), as inference runs it, are all finite:
    finite weights can still be large enough to overflow (the last step of a --lr far too high)."""
    model.eval()  # as exported; the next epoch puts it back in training mode
    with torch.no_grad():
        return all(torch.isfinite(out).all() for out in model(images))


def _diverged(what: str, out: Path, saved: bool) -> None:
    if saved:
        kept = f"{out / 'last.pt'} holds the last good epoch (start another --out from it with --init and a lower --lr)"
    else:
        kept = "nothing was saved (run again with a lower --lr)"
    raise WLitePoseError(f"training diverged: {what}; {kept}")


def _validation_set(path: str, images_dir: str, schema) -> bytes:
    """What validation will need, checked before an epoch is spent (the schema's keypoints in its order, and every
    image), pickled: each validation unpickles a copy (0.2 s at COCO val2017's size, where reading and checking the
    file again took 0.8-2 s), and a forked loader worker shares one bytes object as it is, where its garbage
    collector would walk the file's dicts (46 MB) and copy their pages."""
    from core.annotations import check_keypoints, load_annotations
    from core.labelled_images import check_images

    data = load_annotations(path, schema.keypoints)  # every person's keypoints are as many (3 values each) or it raises
    check_keypoints(data, schema.keypoints, f"--val-data {path}", f"the {schema.name} schema")
    check_images([image["file_name"] for image in data["images"]], images_dir, f"--val-data {path}")
    return pickle.dumps(data, protocol=pickle.HIGHEST_PROTOCOL)


def _clock() -> float:
    """Seconds, for --minutes (a test replaces it with a clock of its own)."""
    return time.perf_counter()


def train(config: TrainConfig) -> Path | None:
    """Train; returns the checkpoint to export (the best by validation AP, or the last when this run did not
    validate), None off rank 0. A second run into the same --out while this one trains is refused."""
    restart_progress()
    with contextlib.ExitStack() as held:
        return _train(config, held)


@dataclass
class _EpochPart:
    """The steps of an epoch so far: what its log line sums, and what last.pt keeps of it when a stop cuts it (so
    that --resume trains only its other steps)."""

    lr: float  # at the epoch's start, for the log
    of: int  # the epoch's steps, at its run's batches
    started_s: float  # the run's training time when the epoch began (--minutes' mean epoch)
    steps: int = 0  # optimiser steps done
    seen: int = 0  # images trained
    seconds: float = 0.0  # wall time of its steps, for the speed
    sums: dict[str, float] = field(default_factory=dict)  # each loss times its batch's images


@dataclass
class _Run:
    """What the steps of one run share: its parts, built once, and where it stands."""

    config: TrainConfig
    out: Path
    device: torch.device
    model: torch.nn.Module  # the raw weights the optimiser steps
    wrapped: torch.nn.Module  # the model, in DistributedDataParallel when distributed
    hints: FeatureHints | None
    ema: WeightAverage | None
    optimizer: torch.optim.Optimizer
    scheduler: torch.optim.lr_scheduler.MultiStepLR
    scaler: torch.amp.GradScaler
    sampler: torch.utils.data.Sampler
    loader: DataLoader
    val_set: bytes | None  # the validation annotations (_validation_set's); None: no --val-data, or not rank 0
    frozen_bn: list[torch.nn.Module]
    frozen_bn_names: list[str]  # kept by --precise-bn too
    resuming: bool
    start_epoch: int
    budget: float  # seconds of --minutes; inf without
    spent_before: float  # seconds trained before this run (a resumed one's)
    counted_from: float  # the training time at the start of this run's first epoch (a cut one's first part's)
    run_started: float  # _clock() before this run's first step
    total_steps: float  # of the whole run, for the ETA
    best_ap: float
    step: int  # optimiser steps, a resumed run's earlier ones included
    spent: float  # seconds trained, earlier runs' included
    kept: int  # epochs last.pt holds whole
    kept_steps: tuple[int, int] | None  # and of the next (steps, of its steps), when a stop cut it
    part: _EpochPart | None  # the epoch under way (before the first: the one a resumed stop cut, if any)
    out_of_time: bool = False
    overflows: int = 0  # non-finite losses in a row
    last_images: torch.Tensor | None = None  # the latest batch's, for _end_epoch's check of the outputs
    stop: StopRequest = field(default_factory=StopRequest)  # its handlers set while the epochs run
    stopping: bool = False  # a stop signal came in (all ranks agreed): the run stops after this step

    @property
    def use_amp(self) -> bool:
        return self.device.type == "cuda"

    def saved(self, epoch: int) -> bool:
        """Whether last.pt holds a good epoch, for a divergence in ``epoch``."""
        return epoch > self.start_epoch or self.resuming


def _train(config: TrainConfig, held: contextlib.ExitStack) -> Path | None:
    device = setup_distributed()
    torch.backends.cudnn.benchmark = device.type == "cuda"  # one crop size: each conv's fastest kernel, found once
    torch.set_num_threads(config.threads or _default_threads(config.workers))
    torch.manual_seed(config.seed)
    run = _prepare(config, device, held)
    try:
        with run.stop:
            _train_epochs(run)
    except Stopped as stop:
        if stop.left:  # stopped after a step
            raise
        # a second signal, at once (last.pt is replaced whole or not at all)
        raise Stopped(stop.signum, at_once=True, left=_resume_hint(run)) from None
    main = is_main()
    if dist.is_initialized():
        dist.barrier()
        dist.destroy_process_group()
    if not main:
        return None
    return model_checkpoint(run.out) if config.val_annotations else run.out / "last.pt"


def _train_epochs(run: _Run) -> None:
    """The run's epochs, each validated and saved; Stopped after the step a stop signal came in (or the first
    step after a validation and save it came in), the steps of the epoch it cut saved for --resume."""
    config = run.config
    for epoch in itertools.count(run.start_epoch) if config.minutes else range(run.start_epoch, config.epochs):
        record = _train_epoch(run, epoch)
        if record is None:  # cut by a stop: saved as done, its other steps would be skipped on resume
            _keep_cut_epoch(run, epoch)
            raise Stopped(run.stop.signum, left=_resume_hint(run))
        final = run.out_of_time if config.minutes else epoch == config.epochs - 1
        final = final or bool(config.max_steps and run.step >= config.max_steps)
        validating = bool(config.val_annotations) and ((epoch + 1) % config.val_every == 0 or final)
        if is_main():
            _end_epoch(run, epoch, record, validating)
        run.kept, run.kept_steps = epoch + 1, None
        if final:  # ends a --minutes or --max-steps run (a run by epochs ends with its range)
            break
        if run.stopping:  # at the epoch's last step: it is kept whole
            wait_for_all()
            raise Stopped(run.stop.signum, left=_resume_hint(run))


def _keep_cut_epoch(run: _Run, epoch: int) -> None:
    """After a stop within ``epoch``: last.pt (rank 0's) holds the epochs before it and its steps so far."""
    kept = (run.part.steps, run.part.of)
    if is_main():
        _save(run, run.out / "last.pt", epoch - 1, run.part)
        run.kept_steps = kept  # before the wait: "stop now" while the others finish their step says it was saved
    wait_for_all()
    run.kept_steps = kept  # the other ranks once rank 0 has saved


def _stop_asked(run: _Run) -> bool:
    """Whether a stop signal came in: rank 0's word on every rank, so that all stop after the same step."""
    return bool(agreed(float(run.stop.requested), run.device))


def _resume_hint(run: _Run) -> str:
    """What a stopped run keeps, and how to go on from it."""
    if not run.kept and not run.kept_steps:
        return "no step was saved: rerun the same command to start again"
    held = [f"epoch {run.kept}" + ("" if run.config.minutes else f" of {run.config.epochs}")] if run.kept else []
    if run.kept_steps:
        held.append(f"{run.kept_steps[0]} of epoch {run.kept + 1}'s {run.kept_steps[1]} steps")
    return f"{run.out / 'last.pt'} holds {' and '.join(held)}: rerun the same command with --resume to go on"


def _prepare(config: TrainConfig, device: torch.device, held: contextlib.ExitStack) -> _Run:
    """The model, data, optimiser and schedule of a run, a resumed one's loaded; WLitePoseError, before the run
    folder is made, for what cannot go on as asked."""
    schema = get_schema(config.schema)
    model = build_model(config.variant, num_keypoints=schema.num_keypoints)
    init_heads(model)
    out = Path(config.out)
    dataset = _training_set(config, schema, config.input_size or model.input_size)
    val_set = _validation_set(config.val_annotations, config.val_images, schema) if config.val_annotations else None
    val_set = val_set if is_main() else None  # checked by every rank alike; rank 0 alone validates
    budget = config.minutes * 60 if config.minutes else math.inf
    resuming = _resumes(config, out)
    frozen_bn = _start_weights(config, model, out, resuming)
    frozen_bn_names = [name for name, m in model.named_modules() if m in frozen_bn]
    hints = FeatureHints(model, config.distill) if config.distill else None
    out.mkdir(parents=True, exist_ok=True)  # everything refusable has been read: a refused run leaves no folder
    if is_main():  # the other ranks of a distributed run share it
        held.enter_context(take(out / "training", f"the run folder {out}"))
    model.to(device, memory_format=torch.channels_last)
    groups = [{"params": model.parameters()}] + ([{"params": hints.to(device).adapters.parameters()}] if hints else [])
    optimizer = torch.optim.Adam(groups, lr=config.lr or DEFAULT_LR)
    scheduler = torch.optim.lr_scheduler.MultiStepLR(optimizer, list(config.milestones), gamma=0.1)
    state, start_epoch, best_ap, spent_before = {}, 0, -1.0, 0.0
    if resuming:
        state, start_epoch, best_ap, spent_before = resume_run(
            out, config, device, model, hints, optimizer, scheduler, budget
        )
        if is_main():
            drop_cut_line(out / "log.jsonl")
    _note_late_drops(config, scheduler)
    # a run resumed with --ema that had none starts its average from the weights it resumes
    ema = WeightAverage(model, config.ema, state.get("ema_updates", 0)) if config.ema else None
    if ema and "train_model" in state:
        ema.module.load_state_dict(state["model"])
    wrapped = torch.nn.parallel.DistributedDataParallel(model) if dist.is_initialized() else model
    # a checkpoint before the step was saved starts its draws at its epoch (its steps are counted after the loader)
    sampler, loader = run_loader(dataset, config, state.get("step", start_epoch), device)
    held.callback(end_workers, loader)
    scaler = torch.amp.GradScaler("cuda", enabled=device.type == "cuda")
    if state.get("scaler") and scaler.is_enabled():  # one saved on a GPU, resumed on one
        scaler.load_state_dict(state["scaler"])
    # a checkpoint before the step was saved: its epochs at this run's batches each
    step = state.get("step", start_epoch * len(loader))
    part = _cut_epoch(state, len(loader))
    if config.max_steps and step >= config.max_steps:  # a resumed run already there would train nothing
        raise WLitePoseError(
            f"{out / 'last.pt'} has already trained {step} steps of --max-steps {config.max_steps}: pass a larger "
            f"--max-steps to go on, or `wlitepose export --checkpoint {model_checkpoint(out)}` for its model file"
        )
    run = _Run(
        config=config,
        out=out,
        device=device,
        model=model,
        wrapped=wrapped,
        hints=hints,
        ema=ema,
        optimizer=optimizer,
        scheduler=scheduler,
        scaler=scaler,
        sampler=sampler,
        loader=loader,
        val_set=val_set,
        frozen_bn=frozen_bn,
        frozen_bn_names=frozen_bn_names,
        resuming=resuming,
        start_epoch=start_epoch,
        budget=budget,
        spent_before=spent_before,
        counted_from=part.started_s if part else spent_before,
        run_started=_clock(),
        total_steps=min(config.epochs * len(loader), config.max_steps or math.inf),
        best_ap=best_ap,
        step=step,
        spent=spent_before,
        kept=start_epoch,
        kept_steps=(state["epoch_part"]["steps"], state["epoch_part"]["of"]) if part else None,
        part=part,
    )
    if config.minutes:  # under --minutes the lr follows the clock, step by step
        set_lr(scheduler, run.spent / budget * config.epochs)
    return run


def _cut_epoch(state: dict, steps: int) -> _EpochPart | None:
    """The part of an epoch a resumed checkpoint holds (a stop cut it), its steps counted at this run's ``steps``
    an epoch: a run resumed with another --batch-size trains the same share of the epoch."""
    if "epoch_part" not in state:
        return None
    part = _EpochPart(**state["epoch_part"])
    if part.of != steps:
        part.steps, part.of = min(round(part.steps * steps / part.of), steps - 1), steps
    return part


def _training_set(config: TrainConfig, schema, size: int) -> KeypointDataset:
    """The training set at crop ``size``, its source names and sampling weights checked."""
    dataset = KeypointDataset(
        config.train_annotations,
        config.train_images,
        schema,
        size,
        augment=AugmentConfig(mosaic=config.mosaic),
        source_weights=config.source_weights,
    )
    if dataset.images_without_people and is_main():
        one = dataset.images_without_people == 1
        print(
            f"wlitepose: note: {dataset.images_without_people} of the training images {'has' if one else 'have'} no "
            f"labelled person and {'is' if one else 'are'} left out (bottom-up training learns the background from the "
            "images with people)",
            file=sys.stderr,
        )
    _check_source_names(config, dataset)
    if config.sample_weights and not any(config.sample_weights.get(s, 1.0) > 0 for s in dataset.image_sources()):
        raise WLitePoseError("--sample-weights give every training image weight 0: nothing would be drawn")
    return dataset


def _resumes(config: TrainConfig, out: Path) -> bool:
    """Whether the run resumes the one in ``out``; WLitePoseError for a new run into a folder that holds one."""
    resuming = config.resume and (out / "last.pt").is_file()  # --resume on a fresh run just starts it
    if config.resume and not resuming and is_main():  # a misspelt --out would start hours of training afresh
        print(f"wlitepose: note: {out} holds no last.pt to resume: a new run starts there", file=sys.stderr)
    if not config.resume and ((out / "last.pt").is_file() or (out / "best.pt").is_file()):
        raise WLitePoseError(  # a new run there would mix its checkpoints and log with the earlier run's
            f"--out {out} holds an earlier run: pass --resume to continue it, or train into another --out"
        )
    return resuming


def _start_weights(config: TrainConfig, model: torch.nn.Module, out: Path, resuming: bool) -> list[torch.nn.Module]:
    """A new run's --init copied into ``model`` (a resumed run's note that it keeps its own); the batch norms
    that --init imagenet: keeps frozen."""
    if config.init and not resuming:
        _initialise(model, config.init)
    elif config.init and not config.init.startswith("imagenet:") and is_main():  # imagenet's keeps its BNs frozen
        print(
            f"wlitepose: note: the run resumes its own weights from {out / 'last.pt'}; --init {config.init} starts a "
            "new run only",
            file=sys.stderr,
        )
    return pretrained_batchnorms(model) if config.init and config.init.startswith("imagenet:") else []


def _note_late_drops(config: TrainConfig, scheduler: torch.optim.lr_scheduler.MultiStepLR) -> None:
    drops = sorted(scheduler.milestones)  # a new run's, a resumed one's own, or those given now
    if drops and drops[-1] >= config.epochs and is_main():
        print(
            f"wlitepose: note: the run drops the lr at epochs {','.join(map(str, drops))}, after the "
            f"{config.epochs} epochs asked for now; pass --milestones to decay within them",
            file=sys.stderr,
        )


def _train_epoch(run: _Run, epoch: int) -> dict[str, float] | None:
    """One epoch's steps (fewer when --max-steps or the clock of --minutes ends it; only the rest of the one a stop
    cut, resumed), the schedule stepped after them; its record for the log: lr, step, time, speed and mean losses.
    None when a stop cut it: ``run.part`` holds its steps so far."""
    config = run.config
    if isinstance(run.sampler, DistributedSampler):
        run.sampler.set_epoch(epoch)
    run.model.train()
    for bn in run.frozen_bn:
        bn.eval()
    if run.part is None:  # lr: this epoch's (at its start), for the log
        run.part = _EpochPart(lr=run.optimizer.param_groups[0]["lr"], of=len(run.loader), started_s=run.spent)
    part = run.part
    started = time.perf_counter() - part.seconds
    ended = False  # by --max-steps or the clock
    draws = batches(run.loader)
    if part.steps:  # the rest of the epoch a stop cut (a whole one runs its loader to its end)
        draws = itertools.islice(draws, part.of - part.steps)
    for batch in draws:
        batch = network_batch(batch, run.device)
        run.last_images = batch["image"]
        values = _step(run, batch)
        run.step += 1
        part.steps += 1
        part.seen += len(batch["image"])
        loss = values["total"]
        if math.isfinite(loss):
            run.overflows = 0
            for k, v in values.items():
                part.sums[k] = part.sums.get(k, 0.0) + v * len(batch["image"])
        else:  # mixed precision's scaler skips an overflowing step; in fp32, or step after step, it diverged
            run.overflows += 1
            if not run.use_amp or run.overflows >= MAX_OVERFLOWS:
                _diverged(f"the loss is {loss} at step {run.step}", run.out, run.saved(epoch))
        _tick(run)
        part.seconds = time.perf_counter() - started
        if is_main():
            _say_progress(run, epoch, part.seen, started, loss)
        run.stopping = _stop_asked(run)
        ended = run.out_of_time or bool(config.max_steps and run.step >= config.max_steps)
        if ended or run.stopping:
            break
    if run.stopping and not ended and part.steps < part.of:
        return None
    run.part = None
    # under --minutes the last epoch is also the one after which another as long as the mean would not fit
    mean_s = (run.spent - run.counted_from) / (epoch - run.start_epoch + 1)
    run.out_of_time = run.out_of_time or run.spent + mean_s > run.budget
    if config.minutes:  # the clock sets the lr; the epoch count still moves, for a resume by epochs
        run.scheduler.last_epoch = epoch + 1
    else:
        run.scheduler.step()
    world = dist.get_world_size() if dist.is_initialized() else 1
    record = {
        "epoch": epoch,
        "lr": part.lr,
        "step": run.step,
        "minutes": run.spent / 60,
        "images_per_s": part.seen * world / max(part.seconds, 1e-9),
    }
    record.update({k: v / max(part.seen, 1) for k, v in part.sums.items()})
    return record


def _step(run: _Run, batch: dict) -> dict[str, float]:
    """One optimiser step on ``batch`` (the weight average follows it); its losses, one float each."""
    with torch.autocast(run.device.type, enabled=run.use_amp):
        losses = compute_losses(run.wrapped, batch, run.config)
        if run.hints:
            losses["distill"] = run.hints.loss(batch["image"])
            losses["total"] = losses["total"] + run.config.distill_factor * losses["distill"]
    run.optimizer.zero_grad(set_to_none=True)
    run.scaler.scale(losses["total"]).backward()
    if run.hints and dist.is_initialized():  # the adapters live outside DDP
        for p in run.hints.adapters.parameters():
            dist.all_reduce(p.grad)
            p.grad /= dist.get_world_size()
    run.scaler.step(run.optimizer)
    run.scaler.update()
    if run.ema:
        run.ema.update(run.model)
    return {k: float(v.detach()) for k, v in losses.items()}  # one host copy each (on CUDA)


def _tick(run: _Run) -> None:
    """The time trained, after a step; under --minutes the lr it gives, and whether it is spent."""
    run.spent = run.spent_before + _clock() - run.run_started  # earlier epochs' validation included
    if run.config.minutes:
        run.spent = agreed(run.spent, run.device)
        set_lr(run.scheduler, run.spent / run.budget * run.config.epochs)
        run.out_of_time = run.spent >= run.budget  # ends the epoch too: a long epoch does not overrun the time


def _say_progress(run: _Run, epoch: int, seen: int, started: float, loss: float) -> None:
    config = run.config
    rate = seen / max(time.perf_counter() - started, 1e-9)  # images per second this epoch
    if config.minutes:
        left_min = max(0.0, run.budget - run.spent) / 60
    else:
        left_min = (run.total_steps - run.step) * config.batch_size / max(rate, 1e-9) / 60
    show_progress(epoch, None if config.minutes else config.epochs, seen, len(run.sampler), loss, rate, left_min)


def _end_epoch(run: _Run, epoch: int, record: dict[str, float], validating: bool) -> None:
    """Rank 0 after an epoch: check the weights, validate (best.pt at a better AP), save last.pt, log and say
    ``record``."""
    config, out = run.config, run.out
    scored = run.ema.module if run.ema else run.model  # the weights validated, kept and exported
    # and the raw weights, which a --resume trains on: an average of good steps hid their overflow under --ema
    checked = (run.model, scored) if run.ema else (run.model,)
    # before validating and saving: the export refused diverged weights in a sentence naming neither last.pt nor the
    # lr, and weights whose outputs overflow were saved as last.pt, which the next step's loss then called good
    if not all(_finite(module) for module in checked):
        _diverged(f"the weights are not finite after step {run.step}", out, run.saved(epoch))
    if not all(_finite_outputs(module, run.last_images) for module in checked):
        _diverged(f"the network's outputs are not finite after step {run.step}", out, run.saved(epoch))
    if validating and config.precise_bn:
        # what the statistics gathered during training give, for comparison
        record["AP_running_bn"] = validate(scored, config, run.model.input_size, out / "val.onnx", run.val_set)["AP"]
    if config.precise_bn:
        images = ({"image": network_image(b["image"], run.device)} for b in run.loader)  # BNs see images only
        recompute_batchnorm(scored, images, config.precise_bn, run.frozen_bn_names, run.device)
    if validating:
        stats = validate(scored, config, run.model.input_size, out / "val.onnx", run.val_set)
        record.update(stats)
        if stats["AP"] > run.best_ap:
            run.best_ap = stats["AP"]
            _save(run, out / "best.pt", epoch)
    _save(run, out / "last.pt", epoch)
    _log_epoch(out, epoch, record)


def _save(run: _Run, path: Path, epoch: int, part: _EpochPart | None = None) -> None:
    save_checkpoint(
        path,
        run.model,
        run.ema,
        run.hints,
        run.optimizer,
        run.scheduler,
        epoch,
        run.best_ap,
        run.config,
        run.spent,
        run.step,
        asdict(part) if part else None,
        run.scaler,
    )


def _log_epoch(out: Path, epoch: int, record: dict[str, float]) -> None:
    """``record`` appended to the run's log.jsonl, and said on stderr."""
    from core.evaluation import json_ready  # with onnxruntime, as validate's imports

    try:
        with open(out / "log.jsonl", "a", encoding="utf-8") as log:
            whole = log.tell()  # the end of the last epoch's line
            try:
                log.write(json.dumps(json_ready(record)) + "\n")  # APm of a set without medium people: null
                log.flush()
            except OSError:  # a full disk: the part written is cut, or a resumed run's next line joined it
                cut_back(log, whole)
                raise
    except OSError as error:
        raise WLitePoseError(
            f"cannot write {out / 'log.jsonl'}: {error.strerror or error}; last.pt holds epoch {epoch + 1}"
        ) from None
    end_progress_line()
    print(
        f"epoch {epoch + 1}: " + ", ".join(f"{k} {v:.4g}" for k, v in record.items() if k != "epoch"),
        file=sys.stderr,
    )


def _check_source_names(config: TrainConfig, dataset: KeypointDataset) -> None:
    """WLitePoseError for a --source-weights or --sample-weights key that no training annotation or image has
    for its ``source``: a misspelt name would weigh nothing, silently."""
    for option, weights, known, what in (
        ("--source-weights", config.source_weights, dataset.annotation_sources, "annotation"),
        ("--sample-weights", config.sample_weights, set(dataset.image_sources()), "image with people"),
    ):
        unknown = sorted(set(weights) - known)
        if unknown:
            listed = ", ".join(sorted(name for name in known if name)) or "none (no source fields)"
            raise WLitePoseError(
                f"{option} names {', '.join(map(repr, unknown))}, the source of no training {what}; theirs are {listed}"
            )


def _default_threads(workers: int) -> int:
    """Cores per process minus the loader workers: on a shared 2-core CPU two torch threads next to
    busy workers thrash (XS@256 fell from 7.8 to 0.7 images/s with 2 threads instead of 1)."""
    per_process = (os.cpu_count() or 1) // int(os.environ.get("LOCAL_WORLD_SIZE", "1"))
    return max(1, per_process - workers)


def _initialise(model: torch.nn.Module, init: str) -> None:
    if init.startswith("imagenet:"):
        copied = load_imagenet_stem(model, init.split(":", 1)[1], "--init imagenet:")
        if not copied:
            raise WLitePoseError(f"--init {init}: no MobileNetV2 layer found in it to copy")
        _say_initialised(model, copied, "ImageNet MobileNetV2")
        return
    from models.checkpoint import load_checkpoint

    source, _ = load_checkpoint(init)
    own = model.state_dict()
    matching = {k: v for k, v in source.state_dict().items() if k in own and own[k].shape == v.shape}
    model.load_state_dict(matching, strict=False)
    names = {name for name, _ in model.named_parameters()}
    _say_initialised(model, sum(v.numel() for k, v in matching.items() if k in names), init)


def _say_initialised(model: torch.nn.Module, copied: int, source: str) -> None:
    if is_main():
        total = sum(p.numel() for p in model.parameters())
        print(f"initialised {copied:,} of {total:,} parameters from {source}", file=sys.stderr)
