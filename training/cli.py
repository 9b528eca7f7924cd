"""`wlitepose train` and `wlitepose shrink-data`. Only the standard library is imported at module level."""

from __future__ import annotations

import argparse
import json
import math
import os
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from training.trainer import TrainConfig

MAX_WORKERS = 256  # data loader processes: more than any machine's cores is a typo
MAX_DRAWS = 1000  # --sample-weights, draws of one image per epoch: 1e15 asked the sampler for 16 PB at once
MAX_LOSS_WEIGHT = 1000  # --source-weights: 1e39 is infinite as a float32, and so was the loss ("lower --lr")
MAX_SEED = 2**32 - 1


def _data_folder(path: str, images: str | None, option: str) -> tuple[str, str]:
    """A folder with annotations.json + images/, or an annotation file with its images in
    ``images`` (e.g. COCO's train2017/), else in images/ or beside it; both must exist, the images a folder."""
    from core.errors import WLitePoseError

    given = Path(path)
    if given.suffix != ".json" and images:
        raise WLitePoseError(
            f"{option} goes with an annotation .json; a data folder such as {path} keeps its images in images/ "
            "beside its annotations.json"
        )
    if given.suffix == ".json" and images:
        found = str(given), images
    elif given.suffix == ".json":
        beside = given.parent / "images"
        found = str(given), str(beside if beside.is_dir() else given.parent)
    else:
        found = str(given / "annotations.json"), str(given / "images")
    for part in found:
        if not Path(part).exists():
            raise WLitePoseError(f"{part} does not exist (a data folder holds annotations.json and images/)")
    if not Path(found[1]).is_dir():  # else each of its images would be said missing from it
        raise WLitePoseError(f"{found[1]} is a file, not a folder of images")
    return found


def _weights(option: str, text: str, most: float, meaning: tuple[str, str]) -> dict[str, float]:
    """``text``'s JSON object of names to weights from 0 to ``most`` (``meaning``: what they are, and what to do
    instead of a larger one), or WLitePoseError."""
    from core.errors import WLitePoseError

    try:
        weights = json.loads(text)
        if not isinstance(weights, dict) or not all(0 <= float(v) < math.inf for v in weights.values()):
            raise ValueError
    except (ValueError, TypeError, OverflowError):  # OverflowError: an integer too large for a float
        raise WLitePoseError(f"{option} must be a JSON object of non-negative finite numbers, not {text}") from None
    if any(float(v) > most for v in weights.values()):
        what, instead = meaning
        raise WLitePoseError(f"{option} are {what}, at most {most:g}, not {text} ({instead})")
    return {str(k): float(v) for k, v in weights.items()}


def _milestones(text: str) -> tuple[int, ...]:
    from core.errors import WLitePoseError

    try:
        milestones = tuple(int(m) for m in text.split(","))
        if not all(m > 0 for m in milestones):
            raise ValueError
    except ValueError:
        raise WLitePoseError(f"--milestones must be comma-separated positive epochs, e.g. 40,55, not {text}") from None
    return milestones


def add_arguments(name: str, parser: argparse.ArgumentParser) -> None:
    from core.cli import given

    if name == "shrink-data":
        _add_shrink_arguments(parser)
        return
    parser.add_argument(
        "--variant",
        default="wlitepose_xs",
        help="wlitepose_xs, wlitepose_s, litepose_xs, litepose_s (default wlitepose_xs)",
    )
    parser.add_argument(
        "--train-data",
        required=True,
        type=given,
        help="folder with annotations.json and images/, or an annotation .json (COCO/CrowdPose format)",
    )
    parser.add_argument(
        "--val-data",
        type=given,
        help="validation data in the same layout (scored with OKS AP every --val-every epochs)",
    )
    parser.add_argument(
        "--train-images", type=given, help="images folder of a --train-data .json kept elsewhere (COCO's train2017/)"
    )
    parser.add_argument(
        "--val-images",
        type=given,
        help="images of a --val-data .json kept elsewhere (COCO: val2017/; needs --val-data)",
    )
    parser.add_argument(
        "--val-every",
        type=int,
        default=1,
        metavar="EPOCHS",
        help="validate every this many epochs and at the last one (default 1; best.pt is the best validated epoch)",
    )
    parser.add_argument(
        "--schema", choices=["coco", "crowdpose"], default="coco", help="keypoints the network learns (default coco)"
    )
    parser.add_argument(
        "--preset",
        choices=["coco", "crowdpose"],
        help="the paper's schedule: coco 500 epochs (lr /10 at 350, 480), crowdpose 200 (50, 180); default: --schema's",
    )
    parser.add_argument("--epochs", type=int, help="override the preset's epoch count")
    parser.add_argument("--milestones", type=given, help="override the lr drops, e.g. 40,55")
    parser.add_argument("--batch-size", type=int, default=32, help="images a step in each process (default 32)")
    parser.add_argument("--lr", type=float, help="base learning rate (default 1e-3; a resumed run keeps its own)")
    parser.add_argument(
        "--size", type=int, help="training crop size (default: the variant's; validation and export use the variant's)"
    )
    parser.add_argument(
        "--workers", type=int, default=2, help="DataLoader worker processes, 0-256 (default 2; 0: load in the main one)"
    )
    parser.add_argument(
        "--threads", type=int, help="torch threads per process (default: its share of the cores minus --workers, >= 1)"
    )
    parser.add_argument(
        "--loss", choices=["weighted", "mse"], default="weighted", help="heatmap loss (default weighted; mse: ablation)"
    )
    parser.add_argument(
        "--ae-factor",
        type=float,
        default=1e-3,
        help="weight of the AE pull and push losses (default 1e-3, HigherHRNet's; higher teaches grouping sooner)",
    )
    parser.add_argument(
        "--source-weights",
        type=given,
        default="{}",
        help="JSON, per annotation source: its people's loss weight, e.g. '{\"pseudo-movenet\": 0.5}'",
    )
    parser.add_argument(
        "--sample-weights",
        default="{}",
        type=given,
        help="JSON, per image source: expected draws per epoch of each image (0-1000), e.g. '{\"litehrnet_a\": 0.5}' "
        "(here, as in --source-weights, a name no training image or annotation has is refused)",
    )
    parser.add_argument(
        "--mosaic",
        type=float,
        default=0.0,
        help="probability that a sample is a 2x2 mosaic of four augmented images at half size (teaches small people; "
        "default 0)",
    )
    parser.add_argument(
        "--ema",
        type=float,
        default=0.0,
        help="validate, keep and export a moving average of the weights with this decay per step, e.g. 0.998 "
        "(0: off, the paper's recipe)",
    )
    parser.add_argument(
        "--distill",
        metavar="PATH",
        type=given,
        help="MobileNetV2-1.0 ImageNet .pth whose features at 1/4, 1/8, 1/16 the backbone learns to predict too "
        "(feature hints: general features from few images)",
    )
    parser.add_argument("--distill-factor", type=float, help="weight of the --distill feature-hint loss (default 1e-2)")
    parser.add_argument(
        "--precise-bn",
        type=int,
        default=0,
        metavar="BATCHES",
        help="re-estimate the BatchNorm statistics over this many training batches before each validation and "
        "save, e.g. 30 (0: off, keep the statistics gathered while training)",
    )
    parser.add_argument("--init", type=given, help="imagenet:PATH (MobileNetV2 .pth) or a checkpoint to start from")
    parser.add_argument(
        "--dataset-name", type=given, default="custom", help="recorded in the model file's metadata (default custom)"
    )
    parser.add_argument(
        "--out",
        default="runs/train",
        type=given,
        help="run folder: last.pt, best.pt, log.jsonl, best.onnx (default runs/train)",
    )
    parser.add_argument(
        "--resume",
        action="store_true",
        help="continue the run in --out from its last.pt (none there: a new run starts)",
    )
    parser.add_argument("--max-steps", type=int, help="stop after this many optimisation steps")
    parser.add_argument(
        "--seed",
        type=int,
        default=0,
        help="seed of the initialisation, the sample order and the augmentations: a run with the same seed, data, "
        "--workers and machine draws the same (default 0)",
    )
    parser.add_argument(
        "--minutes",
        type=float,
        help="train for this long (validation included; a resumed run counts its earlier time): the lr drops at "
        "the same fractions of it as --milestones are of --epochs, and the run ends after the last epoch that fits "
        "(or within an epoch when the time is up)",
    )


def _add_shrink_arguments(parser: argparse.ArgumentParser) -> None:
    from core.cli import given

    parser.add_argument("data", type=given, help="folder with annotations.json and images/, or an annotation .json")
    parser.add_argument("--images", type=given, help="images folder of an annotation .json kept elsewhere")
    parser.add_argument("--out", required=True, type=given, help="new folder: annotations.json and images/")
    parser.add_argument(
        "--size",
        type=int,
        default=256,
        help="training crop size the copy is for (default 256): longest image side 1.5x it, the largest zoom",
    )
    parser.add_argument("--format", choices=["webp", "jpg"], default="webp", help="image format (default webp)")
    parser.add_argument("--quality", type=int, default=90, help="encoder quality 1-100 (default 90)")


def run(name: str, args: argparse.Namespace) -> int:
    from models.errors import require_train_extra

    if name == "shrink-data":  # images and JSON only: no torch (pycocotools for crowd masks given as RLE)
        return _shrink(args)
    require_train_extra(f"`wlitepose {name}`")
    from training.progress_line import end_progress_line
    from training.trainer import train

    config = _train_config(args)
    try:
        best = train(config)
    except BaseException:  # an error or Ctrl-C: its message on a line of its own
        end_progress_line()
        raise
    if best is None:  # not rank 0 of a distributed run: rank 0 exports
        return 0
    _export_best(best, Path(config.out))
    return 0


def _train_config(args: argparse.Namespace) -> TrainConfig:
    """The training run the options describe, each option checked in turn (the first refused is said) before
    anything is read or written."""
    from core.errors import WLitePoseError
    from training.trainer import TrainConfig

    epochs, milestones = _schedule(args)
    _check_settings(args)
    _check_weights_files(args)
    if not 0 <= args.seed <= MAX_SEED:
        raise WLitePoseError(f"--seed must be a whole number from 0 to {MAX_SEED}, not {args.seed}")
    source_weights = _weights(
        "--source-weights",
        args.source_weights,
        MAX_LOSS_WEIGHT,
        ("loss weights of each source's people", "to weigh the others less, lower theirs"),
    )
    sample_weights = _weights(
        "--sample-weights",
        args.sample_weights,
        MAX_DRAWS,
        ("draws of an image per epoch", "for more passes, raise --epochs"),
    )
    train_ann, train_img, val_ann, val_img = _data(args)
    out = _run_folder(args.out)
    return TrainConfig(
        train_annotations=train_ann,
        train_images=train_img,
        val_annotations=val_ann,
        val_images=val_img,
        val_every=args.val_every,
        out=str(out),
        variant=args.variant,
        schema=args.schema,
        dataset=args.dataset_name,
        input_size=args.size,
        epochs=epochs,
        milestones=milestones,
        milestones_given=bool(args.milestones),
        lr=args.lr,  # None: the default, or a resumed run's own
        batch_size=args.batch_size,
        workers=args.workers,
        threads=args.threads,
        loss=args.loss,
        pull_factor=args.ae_factor,
        push_factor=args.ae_factor,
        source_weights=source_weights,
        sample_weights=sample_weights,
        mosaic=args.mosaic,
        ema=args.ema,
        distill=args.distill,
        distill_factor=args.distill_factor or TrainConfig.distill_factor,
        precise_bn=args.precise_bn,
        init=args.init,
        resume=args.resume,
        max_steps=args.max_steps,
        seed=args.seed,
        minutes=args.minutes,
    )


def _schedule(args: argparse.Namespace) -> tuple[int, tuple[int, ...]]:
    """The epochs and the lr drops: the preset's (by default --schema's), or as --epochs and --milestones say."""
    from core.errors import WLitePoseError
    from training.trainer import PRESETS

    preset = args.preset or args.schema  # a CrowdPose model gets the paper's CrowdPose schedule
    epochs, milestones = PRESETS[preset]
    epochs = args.epochs or epochs
    if args.milestones:
        milestones = _milestones(args.milestones)
        if list(milestones) != sorted(set(milestones)) or milestones[-1] >= epochs:
            raise WLitePoseError(
                f"--milestones {args.milestones}: the lr drops must rise and come before the last of {epochs} epochs"
            )
    return epochs, milestones


def _check_settings(args: argparse.Namespace) -> None:
    """WLitePoseError for the first count, rate, factor or name out of its range."""
    from core.errors import WLitePoseError
    from core.model_file import MAX_TEXT, is_metadata_text
    from core.preprocess import check_input_size
    from core.session import check_threads

    counts = [
        ("--epochs", args.epochs),
        ("--batch-size", args.batch_size),
        ("--max-steps", args.max_steps),
        ("--val-every", args.val_every),
    ]
    for option, value in counts:
        if value is not None and value <= 0:
            raise WLitePoseError(f"{option} must be positive, not {value}")
    if not 0 <= args.workers <= MAX_WORKERS:  # 10^12 started processes until the machine stopped
        raise WLitePoseError(
            f"--workers must be a number of processes from 0 (loading in the main one) to {MAX_WORKERS}, "
            f"not {args.workers}"
        )
    check_threads(args.threads, "--threads")
    if args.minutes is not None and not 0 < args.minutes < math.inf:
        raise WLitePoseError(f"--minutes must be a positive time, not {args.minutes}")
    if args.lr is not None and not 0 < args.lr < math.inf:
        raise WLitePoseError(f"--lr must be a positive learning rate, not {args.lr}")
    check_input_size(args.size)
    if not 0 <= args.ae_factor < math.inf:
        raise WLitePoseError(f"--ae-factor must be non-negative, not {args.ae_factor}")
    if not 0 <= args.mosaic <= 1:
        raise WLitePoseError(f"--mosaic must be a probability between 0 and 1, not {args.mosaic}")
    if not 0 <= args.ema < 1:
        raise WLitePoseError(f"--ema must be a decay in [0, 1), e.g. 0.998, not {args.ema}")
    if args.precise_bn < 0:
        raise WLitePoseError(f"--precise-bn must be a number of batches (0: off), not {args.precise_bn}")
    if args.distill_factor is not None and not 0 < args.distill_factor < math.inf:
        raise WLitePoseError(f"--distill-factor must be positive, not {args.distill_factor}")
    if args.distill_factor is not None and not args.distill:
        raise WLitePoseError("--distill-factor weighs the feature hints of --distill, the weights to learn them from")
    if not is_metadata_text(args.dataset_name):  # the model file it ends in would be refused by every command
        raise WLitePoseError(f"--dataset-name must be one line of printable text of at most {MAX_TEXT} characters")


def _check_weights_files(args: argparse.Namespace) -> None:
    """The --distill and --init weights, said now, not after the data has loaded."""
    from training.pretrained import check_weights_file

    if args.distill:
        check_weights_file(args.distill, "--distill ")
    if args.init and args.init.startswith("imagenet:"):
        check_weights_file(args.init.split(":", 1)[1], "--init imagenet:")
    elif args.init:  # a checkpoint
        give = "give a checkpoint, such as a run's best.pt, or imagenet:PATH"
        check_weights_file(Path(os.path.expanduser(args.init)), "--init ", give)  # ~ as load_checkpoint takes it


def _data(args: argparse.Namespace) -> tuple[str, str, str | None, str | None]:
    """The training and the validation annotations and images (None, None: no --val-data), each found."""
    from core.errors import WLitePoseError

    train_ann, train_img = _data_folder(args.train_data, args.train_images, "--train-images")
    if args.val_every != 1 and not args.val_data:
        raise WLitePoseError("--val-every needs --val-data, the set to validate on")
    if args.val_images and not args.val_data:
        raise WLitePoseError("--val-images goes with --val-data, the annotation .json of the set to validate on")
    val_ann, val_img = _data_folder(args.val_data, args.val_images, "--val-images") if args.val_data else (None, None)
    return train_ann, train_img, val_ann, val_img


def _run_folder(path: str) -> Path:
    """--out, a folder that can be made and written (it is not made yet: a refused run leaves none)."""
    from core.errors import WLitePoseError
    from core.sinks.base import writable

    out = Path(os.path.expanduser(path))
    if out.exists() and not out.is_dir():
        raise WLitePoseError(f"--out {out} is a file, not a run folder")
    writable(out, directory=True, create=False)  # created once the data has loaded: a refused run leaves none
    return out


def _export_best(best: Path, out: Path) -> None:
    """The run's best checkpoint as ``out``/best.onnx, at the variant's input size."""
    from models.checkpoint import load_checkpoint
    from models.export import build_metadata, export_onnx
    from models.schemas import get_schema

    model, meta = load_checkpoint(best)
    size = model.input_size  # --size is only the training crop; the model file is for the variant's size
    onnx_path = out / "best.onnx"
    metadata = build_metadata(get_schema(meta["schema"]), meta["variant"], size, meta["dataset"], trained=True)
    export_onnx(model, onnx_path, metadata)
    print(f"wrote {onnx_path} (from {best})")


def _shrink(args: argparse.Namespace) -> int:
    from core.errors import Stopped, WLitePoseError, signal_of
    from core.preprocess import check_input_size
    from core.sinks.base import writable
    from training.shrink import holds_a_part, longest_side, shrink_dataset

    check_input_size(args.size, "--size")
    if not 1 <= args.quality <= 100:
        raise WLitePoseError(f"--quality must be 1-100, not {args.quality}")
    annotations, images = _data_folder(args.data, args.images, "--images")
    out = Path(os.path.expanduser(args.out))
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        unfinished = out.is_dir() and not (out / "annotations.json").exists()
        hint = " (a shrink that stopped leaves a folder without annotations.json: remove it)" if unfinished else ""
        raise WLitePoseError(f"--out {out} already exists and is not an empty folder{hint}")
    writable(out, directory=True, create=False)  # made once the data is read: a refused run leaves none
    try:
        count, read, written = shrink_dataset(
            Path(annotations), Path(images), out, args.size, args.format, args.quality
        )
    except KeyboardInterrupt as stop:  # a signal: a rerun refuses the folder it leaves, so the line says so
        if not holds_a_part(out) or (out / "annotations.json").exists():  # stopped before it began, or once done
            raise
        left = f"{out} is incomplete (no annotations.json): remove it, then run the same command again"
        raise Stopped(signal_of(stop), left=left) from None
    print(
        f"wrote {count} image{'' if count == 1 else 's'}, longest side {longest_side(args.size)} px "
        f"({written / 1e6:.1f} MB, was {read / 1e6:.1f} MB), and {out / 'annotations.json'}"
    )
    return 0
