"""The training loop: Adam with step schedules, checkpoints every epoch, resume, best-by-AP, DDP.

One readable loop; logging and validation live in small functions beside it.
"""

from __future__ import annotations

import bisect
import contextlib
import itertools
import json
import math
import os
import sys
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path

import cv2
import torch
import torch.distributed as dist
from torch.utils.data import DataLoader, RandomSampler, WeightedRandomSampler
from torch.utils.data.distributed import DistributedSampler

from core.errors import WLitePoseError
from core.output_lock import take
from core.progress import LOG_INTERVAL_S, one_row
from core.sinks.base import cut_back
from models.checkpoint import load_tensors, model_meta
from models.export import build_metadata, export_onnx
from models.schemas import get_schema
from models.wlitepose import build_model
from training.augment import AugmentConfig
from training.dataset import KeypointDataset, network_batch, network_image
from training.distill import FeatureHints
from training.ema import WeightAverage
from training.losses import ae_loss, heatmap_mse_loss, heatmap_weighted_loss
from training.precise_bn import recompute_batchnorm
from training.pretrained import init_heads, load_imagenet_stem, pretrained_batchnorms

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


def _is_main() -> bool:
    return not dist.is_initialized() or dist.get_rank() == 0


def _setup_distributed() -> torch.device:
    if int(os.environ.get("WORLD_SIZE", "1")) > 1 and not dist.is_initialized():
        dist.init_process_group("nccl" if torch.cuda.is_available() else "gloo")
    if torch.cuda.is_available():
        local = int(os.environ.get("LOCAL_RANK", "0"))
        torch.cuda.set_device(local)
        return torch.device("cuda", local)
    return torch.device("cpu")


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


def validate(model: torch.nn.Module, config: TrainConfig, input_size: int, path: Path) -> dict[str, float]:
    """Export the current weights and score them exactly as `wlitepose eval` would (core decoding, OKS)."""
    from core.evaluation import evaluate_model
    from core.session import PoseModel

    schema = get_schema(config.schema)
    meta = build_metadata(schema, config.variant, input_size, config.dataset, trained=True)
    export_onnx(model, path, meta, check_sizes=((input_size, input_size),))
    # every core this process may use: the loader workers and the other ranks wait meanwhile
    threads = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    return evaluate_model(PoseModel(path, threads=threads), config.val_annotations, config.val_images, input_size)


def _diverged(what: str, out: Path, saved: bool) -> None:
    kept = f"{out / 'last.pt'} holds the last good epoch" if saved else "nothing was saved"
    raise WLitePoseError(
        f"training diverged: {what}; {kept} (start another --out from it with --init and a lower --lr)"
    )


def _check_validation_set(path: str, images_dir: str, schema) -> None:
    """What validation will need, checked before an epoch is spent: the schema's keypoints in its order, and
    every image."""
    from core.evaluation import check_images, check_keypoints, load_annotations

    data = load_annotations(path)  # every person's keypoints are as many (3 values each) or it raises
    check_keypoints(data, schema.keypoints, f"--val-data {path}", f"the {schema.name} schema")
    check_images([image["file_name"] for image in data["images"]], images_dir, f"--val-data {path}")


def _reschedule(scheduler: torch.optim.lr_scheduler.MultiStepLR, milestones: tuple[int, ...]) -> None:
    """A resumed run takes the milestones it is given now (to shorten or move the lr drops); the
    current lr becomes what those milestones give at this epoch."""
    scheduler.milestones = Counter(milestones)
    _set_lr(scheduler, scheduler.last_epoch)


def _keep_clock_drops(scheduler: torch.optim.lr_scheduler.MultiStepLR, drops: int) -> None:
    """A run timed by --minutes, resumed by --epochs: the ``drops`` its clock gave stand for the first milestones
    given now, so the lr keeps them and drops again only at the milestones after those."""
    later = sorted(scheduler.milestones.elements())[drops:]
    scheduler.milestones = Counter(later)
    passed = bisect.bisect_right(later, scheduler.last_epoch)
    for group, base in zip(scheduler.optimizer.param_groups, scheduler.base_lrs, strict=True):
        group["lr"] = base * scheduler.gamma ** (drops + passed)


def _set_lr(scheduler: torch.optim.lr_scheduler.MultiStepLR, position: float) -> None:
    """The lr the milestones give at ``position``, in epochs of the schedule (a fraction under --minutes)."""
    drops = bisect.bisect_right(sorted(scheduler.milestones.elements()), position)
    for group, base in zip(scheduler.optimizer.param_groups, scheduler.base_lrs, strict=True):
        group["lr"] = base * scheduler.gamma**drops


def _batches(loader: DataLoader):
    """The loader's batches; a WLitePoseError in a loader worker (a damaged image) comes out as its own sentence,
    not as the worker's traceback torch wraps it in."""
    try:
        yield from loader
    except WLitePoseError as error:
        text = str(error).strip()
        if text.startswith("Caught WLitePoseError in DataLoader worker"):
            text = text.splitlines()[-1].split("WLitePoseError: ", 1)[-1]  # the traceback's last line
        raise WLitePoseError(text) from None


def _model_checkpoint(out: Path) -> Path:
    """The checkpoint a run's model file comes from: best.pt (by validation AP), else last.pt (no validation)."""
    return out / "best.pt" if (out / "best.pt").is_file() else out / "last.pt"


def _clock() -> float:
    """Seconds, for --minutes (a test replaces it with a clock of its own)."""
    return time.perf_counter()


def _agreed(value: float, device: torch.device) -> float:
    """Rank 0's ``value`` on every rank: all of a distributed run's processes follow one clock."""
    if not dist.is_initialized():
        return value
    shared = torch.tensor([value], dtype=torch.float64, device=device)
    dist.broadcast(shared, 0)
    return float(shared)


def _save(
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
) -> None:
    """``model`` holds the weights to use (export, --init: the average when there is one); with a
    weight average, ``train_model`` holds the raw weights the optimiser continues from; with feature
    hints, ``hint_adapters`` their adapters; ``spent_s`` is the run's training time so far (--minutes), ``step``
    its optimiser steps (a run resumed with another --batch-size counts on from them)."""
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


def train(config: TrainConfig) -> Path | None:
    """Train; returns the checkpoint to export (the best by validation AP, or the last when this run did not
    validate), None off rank 0. A second run into the same --out while this one trains is refused."""
    _progress_line["logged"] = -math.inf  # a run's first step is logged, however soon after another run
    with contextlib.ExitStack() as held:
        return _train(config, held)


def _train(config: TrainConfig, held: contextlib.ExitStack) -> Path | None:
    device = _setup_distributed()
    torch.backends.cudnn.benchmark = device.type == "cuda"  # one crop size: each conv's fastest kernel, found once
    torch.set_num_threads(config.threads or _default_threads(config.workers))
    torch.manual_seed(config.seed)
    schema = get_schema(config.schema)
    model = build_model(config.variant, num_keypoints=schema.num_keypoints)
    init_heads(model)
    size = config.input_size or model.input_size
    out = Path(config.out)
    dataset = KeypointDataset(
        config.train_annotations,
        config.train_images,
        schema,
        size,
        augment=AugmentConfig(mosaic=config.mosaic),
        source_weights=config.source_weights,
    )
    if dataset.images_without_people and _is_main():
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
    if config.val_annotations:  # read now: a bad validation set is said before an epoch is spent
        _check_validation_set(config.val_annotations, config.val_images, schema)
    start_epoch, best_ap, spent_before = 0, -1.0, 0.0
    budget = config.minutes * 60 if config.minutes else math.inf
    resuming = config.resume and (out / "last.pt").is_file()  # --resume on a fresh run just starts it
    if config.resume and not resuming and _is_main():  # a misspelt --out would start hours of training afresh
        print(f"wlitepose: note: {out} holds no last.pt to resume: a new run starts there", file=sys.stderr)
    if not config.resume and ((out / "last.pt").is_file() or (out / "best.pt").is_file()):
        raise WLitePoseError(  # a new run there would mix its checkpoints and log with the earlier run's
            f"--out {out} holds an earlier run: pass --resume to continue it, or train into another --out"
        )
    if config.init and not resuming:
        _initialise(model, config.init)
    elif config.init and not config.init.startswith("imagenet:") and _is_main():  # imagenet's keeps its BNs frozen
        print(
            f"wlitepose: note: the run resumes its own weights from {out / 'last.pt'}; --init {config.init} starts a "
            "new run only",
            file=sys.stderr,
        )
    frozen_bn = pretrained_batchnorms(model) if config.init and config.init.startswith("imagenet:") else []
    frozen_bn_names = [name for name, m in model.named_modules() if m in frozen_bn]  # kept by --precise-bn too
    hints = FeatureHints(model, config.distill) if config.distill else None
    out.mkdir(parents=True, exist_ok=True)  # everything refusable has been read: a refused run leaves no folder
    if _is_main():  # the other ranks of a distributed run share it
        held.enter_context(take(out / "training", f"the run folder {out}"))
    model.to(device, memory_format=torch.channels_last)
    groups = [{"params": model.parameters()}] + ([{"params": hints.to(device).adapters.parameters()}] if hints else [])
    optimizer = torch.optim.Adam(groups, lr=config.lr or DEFAULT_LR)
    scheduler = torch.optim.lr_scheduler.MultiStepLR(optimizer, list(config.milestones), gamma=0.1)
    if resuming:
        state, start_epoch, best_ap, spent_before = _resume(
            out, config, device, model, hints, optimizer, scheduler, budget
        )
        if _is_main():
            _drop_cut_line(out / "log.jsonl")
    drops = sorted(scheduler.milestones)  # a new run's, a resumed one's own, or those given now
    if drops and drops[-1] >= config.epochs and _is_main():
        print(
            f"wlitepose: note: the run drops the lr at epochs {','.join(map(str, drops))}, after the "
            f"{config.epochs} epochs asked for now; pass --milestones to decay within them",
            file=sys.stderr,
        )
    # a run resumed with --ema that had none starts its average from the weights it resumes
    ema = WeightAverage(model, config.ema, state.get("ema_updates", 0) if resuming else 0) if config.ema else None
    if ema and resuming and "train_model" in state:
        ema.module.load_state_dict(state["model"])
    wrapped = torch.nn.parallel.DistributedDataParallel(model) if dist.is_initialized() else model
    sampler = _sampler(dataset, config, start_epoch)  # a resumed run must not replay its first epochs' draws
    # the augmentations draw from torch's generator (the loader seeds each worker's from it): one of this rank's
    # own, or every rank would warp its images alike and fill its mosaics with the same images
    torch.manual_seed(_draw_seed(config, start_epoch, AUGMENTATIONS))
    loader = DataLoader(
        dataset,
        batch_size=config.batch_size,
        sampler=sampler,
        num_workers=config.workers,
        drop_last=len(sampler) > config.batch_size,  # an epoch of fewer draws than a batch is one short batch
        persistent_workers=config.workers > 0,
        worker_init_fn=_single_threaded_worker,
        pin_memory=device.type == "cuda",
    )
    use_amp = device.type == "cuda"
    scaler = torch.amp.GradScaler("cuda", enabled=use_amp)
    # a checkpoint before the step was saved: its epochs at this run's batches each
    step, overflows = (state.get("step", start_epoch * len(loader)) if resuming else 0), 0
    if config.max_steps and step >= config.max_steps:  # a resumed run already there would train nothing
        raise WLitePoseError(
            f"{out / 'last.pt'} has already trained {step} steps of --max-steps {config.max_steps}: pass a larger "
            f"--max-steps to go on, or `wlitepose export --checkpoint {_model_checkpoint(out)}` for its model file"
        )
    total_steps = min(config.epochs * len(loader), config.max_steps or math.inf)
    run_started, spent, out_of_time = _clock(), spent_before, False
    if config.minutes:  # under --minutes the lr follows the clock, step by step
        _set_lr(scheduler, spent / budget * config.epochs)
    for epoch in itertools.count(start_epoch) if config.minutes else range(start_epoch, config.epochs):
        if isinstance(sampler, DistributedSampler):
            sampler.set_epoch(epoch)
        model.train()
        for bn in frozen_bn:
            bn.eval()
        sums: dict[str, float] = {}
        seen, started = 0, time.perf_counter()
        lr = optimizer.param_groups[0]["lr"]  # this epoch's (at its start), for the log
        for batch in _batches(loader):
            batch = network_batch(batch, device)
            with torch.autocast(device.type, enabled=use_amp):
                losses = compute_losses(wrapped, batch, config)
                if hints:
                    losses["distill"] = hints.loss(batch["image"])
                    losses["total"] = losses["total"] + config.distill_factor * losses["distill"]
            optimizer.zero_grad(set_to_none=True)
            scaler.scale(losses["total"]).backward()
            if hints and dist.is_initialized():  # the adapters live outside DDP
                for p in hints.adapters.parameters():
                    dist.all_reduce(p.grad)
                    p.grad /= dist.get_world_size()
            scaler.step(optimizer)
            scaler.update()
            if ema:
                ema.update(model)
            step += 1
            seen += len(batch["image"])
            values = {k: float(v.detach()) for k, v in losses.items()}  # one host copy each (on CUDA)
            loss = values["total"]
            if math.isfinite(loss):
                overflows = 0
                for k, v in values.items():
                    sums[k] = sums.get(k, 0.0) + v * len(batch["image"])
            else:  # mixed precision's scaler skips an overflowing step; in fp32, or step after step, it diverged
                overflows += 1
                if not use_amp or overflows >= MAX_OVERFLOWS:
                    _diverged(f"the loss is {loss} at step {step}", out, epoch > start_epoch or resuming)
            spent = spent_before + _clock() - run_started  # earlier epochs' validation included
            if config.minutes:
                spent = _agreed(spent, device)
                _set_lr(scheduler, spent / budget * config.epochs)
                out_of_time = spent >= budget  # ends the epoch too: a long epoch does not overrun the time
            if _is_main():
                rate = seen / max(time.perf_counter() - started, 1e-9)  # images per second this epoch
                if config.minutes:
                    left_min = max(0.0, budget - spent) / 60
                else:
                    left_min = (total_steps - step) * config.batch_size / max(rate, 1e-9) / 60
                _progress(epoch, None if config.minutes else config.epochs, seen, len(sampler), loss, rate, left_min)
            if out_of_time or (config.max_steps and step >= config.max_steps):
                break
        # under --minutes the last epoch is also the one after which another as long as the mean would not fit
        out_of_time = out_of_time or spent + (spent - spent_before) / (epoch - start_epoch + 1) > budget
        if config.minutes:  # the clock sets the lr; the epoch count still moves, for a resume by epochs
            scheduler.last_epoch = epoch + 1
        else:
            scheduler.step()
        record = {
            "epoch": epoch,
            "lr": lr,
            "step": step,
            "minutes": spent / 60,
            "images_per_s": seen
            * (dist.get_world_size() if dist.is_initialized() else 1)
            / (time.perf_counter() - started),
        }
        record.update({k: v / max(seen, 1) for k, v in sums.items()})
        final = out_of_time if config.minutes else epoch == config.epochs - 1
        final = final or bool(config.max_steps and step >= config.max_steps)
        validating = bool(config.val_annotations) and ((epoch + 1) % config.val_every == 0 or final)
        if _is_main():
            scored = ema.module if ema else model  # the weights validated, kept and exported
            if validating and config.precise_bn:
                # what the statistics gathered during training give, for comparison
                record["AP_running_bn"] = validate(scored, config, model.input_size, out / "val.onnx")["AP"]
            if config.precise_bn:
                batches = ({"image": network_image(b["image"], device)} for b in loader)  # BNs see images only
                recompute_batchnorm(scored, batches, config.precise_bn, frozen_bn_names, device)
            if validating:
                stats = validate(scored, config, model.input_size, out / "val.onnx")
                record.update(stats)
                if stats["AP"] > best_ap:
                    best_ap = stats["AP"]
                    _save(out / "best.pt", model, ema, hints, optimizer, scheduler, epoch, best_ap, config, spent, step)
            if not all(torch.isfinite(p).all() for p in model.parameters()):
                _diverged(f"the weights are not finite after step {step}", out, epoch > start_epoch or resuming)
            _save(out / "last.pt", model, ema, hints, optimizer, scheduler, epoch, best_ap, config, spent, step)
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
                    f"cannot write {out / 'log.jsonl'}: {error.strerror or error}; last.pt holds epoch {epoch}"
                ) from None
            end_progress_line()
            print(
                f"epoch {epoch}: " + ", ".join(f"{k} {v:.4g}" for k, v in record.items() if k != "epoch"),
                file=sys.stderr,
            )
        if final:  # ends a --minutes or --max-steps run (a run by epochs ends with its range)
            break
    main = _is_main()
    if dist.is_initialized():
        dist.barrier()
        dist.destroy_process_group()
    if not main:
        return None
    return _model_checkpoint(out) if config.val_annotations else out / "last.pt"


def _resume(out: Path, config: TrainConfig, device, model, hints, optimizer, scheduler, budget: float):
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
    if config.lr is not None and not math.isclose(config.lr, own_lr) and _is_main():
        print(
            f"wlitepose: note: the run continues its own schedule from --lr {own_lr:g}; the --lr {config.lr:g} "
            "given now is not used (start another --out with --init to train at it)",
            file=sys.stderr,
        )
    had = optimizer.param_groups[0]["lr"]
    if config.milestones_given:  # else the run keeps its own lr drops (a longer --epochs alone extends it)
        _reschedule(scheduler, config.milestones)
    if not config.minutes and state.get("config", {}).get("minutes"):
        _keep_clock_drops(scheduler, round(math.log(had / scheduler.base_lrs[0]) / math.log(scheduler.gamma)))
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
            f"pass more --minutes to go on, or `wlitepose export --checkpoint {_model_checkpoint(out)}` for its "
            "model file"
        )
    if not config.minutes and start_epoch >= config.epochs:
        raise WLitePoseError(
            f"{out / 'last.pt'} has already trained {start_epoch} epochs of --epochs {config.epochs}: "
            "pass a larger --epochs to go on (its lr drops stay; --milestones moves them), or `wlitepose export "
            f"--checkpoint {_model_checkpoint(out)}` for its model file"
        )
    return state, start_epoch, best_ap, spent_before


def _drop_cut_line(log: Path) -> None:
    """The last line of ``log`` removed when it has no end (a run killed while writing it, or one an earlier
    release left when the disk filled): the resumed run's first epoch would join it, both lost to a reader of
    one JSON object a line. A log that cannot be read or cut is left as it is: writing to it says why."""
    try:
        text = log.read_bytes()
        if text and not text.endswith(b"\n"):
            os.truncate(log, text.rfind(b"\n") + 1)
    except OSError:
        pass


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


def _single_threaded_worker(_: int) -> None:
    cv2.setNumThreads(1)  # each loader worker is one process doing one image at a time


SAMPLE_ORDER, AUGMENTATIONS = 0, 1  # the two streams of draws of a run


def _draw_seed(config: TrainConfig, start_epoch: int, stream: int) -> int:
    """The seed of one ``stream`` of draws of a run of ``config.seed``, of its own per rank and starting epoch: the
    ranks draw apart, and a resumed run does not replay its first epochs' draws."""
    rank = dist.get_rank() if dist.is_initialized() else 0
    return ((config.seed * 1000 + rank) * 7919 + start_epoch) * 2 + stream


def _sampler(dataset: KeypointDataset, config: TrainConfig, start_epoch: int = 0):
    """A shuffle, a DistributedSampler, or a per-image-source weighted sampler (one stream per rank), drawn
    from a stream of its own per rank and starting epoch."""
    world = dist.get_world_size() if dist.is_initialized() else 1
    if not config.sample_weights and world > 1:
        return DistributedSampler(dataset, seed=config.seed)  # its set_epoch gives each epoch its order
    generator = torch.Generator().manual_seed(_draw_seed(config, start_epoch, SAMPLE_ORDER))
    if not config.sample_weights:
        return RandomSampler(dataset, generator=generator)
    # float64: a weight of 1e-50 is no 0, which float32 would make it (and then nothing could be drawn)
    weights = torch.tensor([config.sample_weights.get(s, 1.0) for s in dataset.image_sources()], dtype=torch.float64)
    per_rank = max(1, round(float(weights.sum()) / world))
    return WeightedRandomSampler(weights, per_rank, replacement=True, generator=generator)


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
    if _is_main():
        total = sum(p.numel() for p in model.parameters())
        print(f"initialised {copied:,} of {total:,} parameters from {source}", file=sys.stderr)


_progress_line = {"open": False, "logged": -math.inf}  # a line drawn and not yet ended; when one was last logged


def end_progress_line() -> None:
    """End the step progress line, so what is printed next (an epoch's summary, an error) starts a line."""
    if _progress_line["open"]:
        print(file=sys.stderr)
        _progress_line["open"] = False


def _progress(epoch: int, epochs: int | None, seen: int, size: int, loss, rate: float, left_min: float):
    """The step progress line, redrawn in place on a terminal; on a pipe or log file a plain line every
    LOG_INTERVAL_S (a redrawn line there is one line of every step's fragments). ``epochs`` None: a --minutes run,
    whose end is its time left."""
    of = f"/{epochs}" if epochs else ""
    text = f"epoch {epoch + 1}{of} {seen}/{size} loss {float(loss):.5f} {rate:5.1f} img/s ETA {left_min:.0f} min"
    if sys.stderr.isatty():
        _progress_line["open"] = True
        print(f"\r{one_row(text, sys.stderr)}", end="", file=sys.stderr, flush=True)
    elif time.perf_counter() - _progress_line["logged"] >= LOG_INTERVAL_S:
        _progress_line["logged"] = time.perf_counter()
        print(text, file=sys.stderr, flush=True)
