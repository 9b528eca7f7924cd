"""What feeds a training step and what the step costs, on this machine, in one run.

    python benchmarks/training_speed.py [--data ../shared/data/train] [--shrunk DIR] [--schema coco]
        [--size 256] [--batch-size 16] [--samples 200] [--steps 5]

Loader: one process, as one DataLoader worker, builds ``--samples`` augmented samples (``--mosaic``
0.5, the recipe's) of the data folder, and of a ``wlitepose shrink-data`` copy of it when
``--shrunk`` names one (the ratio is against the original images, measured in the same run);
prints ms a sample, images/s a worker, and the bytes a sample travels as.

Step: wlitepose_xs forward, losses, backward, Adam and the weight average, on a batch of real
samples at ``--size``, as the trainer runs it (``network_batch``, channels-last), on CUDA when
there is one (fp32 and mixed precision, with their ratio) else on the CPU; median of ``--steps``
after two warm-up steps.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # this checkout's packages, installed or not

from ctrl_c import say_interrupted  # noqa: E402

if __name__ == "__main__":
    say_interrupted("training_speed")

from models.errors import exit_unless_train_extra  # noqa: E402

exit_unless_train_extra()

import cv2  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402
from arguments import at_least, first_line  # noqa: E402
from torch.utils.data import default_collate  # noqa: E402

from core.errors import WLitePoseError  # noqa: E402
from core.preprocess import check_input_size  # noqa: E402
from models.schemas import KeypointSchema, get_schema  # noqa: E402
from models.wlitepose import build_model  # noqa: E402
from training.augment import AugmentConfig  # noqa: E402
from training.dataset import KeypointDataset, network_batch  # noqa: E402
from training.ema import WeightAverage  # noqa: E402
from training.pretrained import init_heads  # noqa: E402
from training.trainer import TrainConfig, compute_losses  # noqa: E402

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "train"
WARMUP_STEPS = 2  # steps run before the timed ones, left out of the median


def training_set(folder: Path, schema: KeypointSchema, size: int) -> KeypointDataset:
    return KeypointDataset(folder / "annotations.json", folder / "images", schema, size, AugmentConfig(mosaic=0.5))


def loader_ms(dataset: KeypointDataset, samples: int) -> float:
    picks = np.random.default_rng(0).integers(0, len(dataset), samples).tolist()
    return ms_a_sample(dataset, picks)


def ms_a_sample(dataset, picks: list[int], clock=time.perf_counter) -> float:
    """Mean ms ``dataset[index]`` takes over ``picks``, by ``clock`` (seconds)."""
    start = clock()
    for index in picks:
        dataset[index]
    return (clock() - start) / len(picks) * 1000


def step_ms(dataset: KeypointDataset, batch_size: int, steps: int, device: torch.device, amp: bool) -> float:
    torch.manual_seed(0)
    model = build_model("wlitepose_xs", num_keypoints=dataset.schema.num_keypoints)
    init_heads(model)
    model.to(device, memory_format=torch.channels_last).train()
    average = WeightAverage(model, 0.998)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    scaler = torch.amp.GradScaler(device.type, enabled=amp)
    config = TrainConfig("", "", "", pull_factor=1e-2, push_factor=1e-2)
    samples = [dataset[i] for i in range(batch_size)]
    cpu_batch = default_collate(samples)
    times = []
    for _ in range(WARMUP_STEPS + steps):
        start = time.perf_counter()
        batch = network_batch(cpu_batch, device)
        with torch.autocast(device.type, enabled=amp):
            loss = compute_losses(model, batch, config)["total"]
        optimizer.zero_grad(set_to_none=True)
        scaler.scale(loss).backward()
        scaler.step(optimizer)
        scaler.update()
        average.update(model)
        float(loss.detach())  # the trainer reads the losses every step
        times.append(time.perf_counter() - start)
    return median_after_warmup_ms(times)


def median_after_warmup_ms(times_s: list[float]) -> float:
    """The median of the step times in seconds after the first WARMUP_STEPS, in ms."""
    return statistics.median(times_s[WARMUP_STEPS:]) * 1000


def per_second(count: int, ms: float) -> str:
    """``count`` images in ``ms`` as images a second: whole from 10 up, two significant digits below (a slow CPU
    step of 16 images in 44 s is 0.36 images/s, not 0)."""
    rate = count / ms * 1000
    return f"{rate:.0f}" if rate >= 10 else f"{rate:.2g}"


def shrunk_line(folder: Path, shrunk_ms: float, ms: float) -> str:
    """The shrunk copy's ms a sample and its speed against the original images' ``ms``."""
    return f"  from {folder}: {shrunk_ms:.1f} ms a sample ({ms / shrunk_ms:.2f}x as fast as the original images)"


def main() -> int:
    parser = argparse.ArgumentParser(description=first_line(__doc__))
    parser.add_argument(
        "--data", type=Path, default=DATA, help="COCO-format training folder (default: the training pool)"
    )
    parser.add_argument("--schema", choices=["coco", "crowdpose"], default="coco", help="its keypoints, as train's")
    parser.add_argument("--shrunk", type=Path, help="a `wlitepose shrink-data` copy of it, compared in the same run")
    parser.add_argument("--size", type=int, default=256, help="training crop size (default 256)")
    parser.add_argument("--batch-size", type=at_least(1), default=16, help="images a timed step (default 16)")
    parser.add_argument("--samples", type=at_least(1), default=200, help="samples the loader is timed on (default 200)")
    parser.add_argument("--steps", type=at_least(1), default=5, help="timed steps after two warm-ups (default 5)")
    args = parser.parse_args()
    try:
        check_input_size(args.size)
    except WLitePoseError as error:
        parser.error(str(error))
    for folder in filter(None, (args.data, args.shrunk)):
        if not (folder / "annotations.json").is_file():
            print(f"training_speed: {folder} is not a training folder (annotations.json and images/)", file=sys.stderr)
            return 2
    threads = torch.get_num_threads()
    cv2.setNumThreads(1)  # one loader worker
    torch.set_num_threads(1)
    try:  # both folders read before anything is timed
        dataset = training_set(args.data, get_schema(args.schema), args.size)
        shrunk = training_set(args.shrunk, dataset.schema, args.size) if args.shrunk else None
    except WLitePoseError as error:
        print(f"training_speed: {error}", file=sys.stderr)
        return 2
    ms = loader_ms(dataset, args.samples)
    sample = dataset[0]
    megabytes = sum(t.numel() * t.element_size() for t in sample.values()) / 1e6
    print(f"loader at {args.size}, mosaic 0.5, one worker: {ms:.1f} ms a sample ({per_second(1, ms)} images/s)")
    print(f"  a sample travels as {megabytes:.2f} MB")
    if shrunk is not None:
        shrunk_ms = loader_ms(shrunk, args.samples)
        print(shrunk_line(args.shrunk, shrunk_ms, ms))
    torch.set_num_threads(threads)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    name = torch.cuda.get_device_name() if device.type == "cuda" else f"CPU, {torch.get_num_threads()} threads"
    plain = step_ms(dataset, args.batch_size, args.steps, device, amp=False)
    print(f"step, wlitepose_xs, batch {args.batch_size} at {args.size}, {name}:")
    print(f"  fp32 {plain:.1f} ms ({per_second(args.batch_size, plain)} images/s)")
    if device.type == "cuda":
        mixed = step_ms(dataset, args.batch_size, args.steps, device, amp=True)
        print(f"  mixed precision {mixed:.1f} ms ({per_second(args.batch_size, mixed)} images/s, {plain / mixed:.2f}x)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
