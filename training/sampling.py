"""The draws of a run: which images each epoch samples, the seeds of its streams of draws, and the loader."""

from __future__ import annotations

import signal
from typing import TYPE_CHECKING

import cv2
import numpy as np
import torch
import torch.distributed as dist
from torch.utils.data import DataLoader, RandomSampler, WeightedRandomSampler
from torch.utils.data.distributed import DistributedSampler

from core.errors import WLitePoseError
from core.stop_request import STOP_SIGNALS
from training.dataset import KeypointDataset

if TYPE_CHECKING:
    from training.trainer import TrainConfig


def run_loader(dataset: KeypointDataset, config: TrainConfig, start: int, device: torch.device):
    """(sampler, loader) of a run starting at step ``start``, with torch's generator seeded for its augmentations."""
    sampler = epoch_sampler(dataset, config, start)  # a resumed run must not replay its first steps' draws
    # the augmentations draw from torch's generator (the loader seeds each worker's from it): one of this rank's
    # own, or every rank would warp its images alike and fill its mosaics with the same images
    torch.manual_seed(draw_seed(config, start, AUGMENTATIONS))
    loader = DataLoader(
        dataset,
        batch_size=config.batch_size,
        sampler=sampler,
        num_workers=config.workers,
        drop_last=len(sampler) > config.batch_size,  # an epoch of fewer draws than a batch is one short batch
        persistent_workers=config.workers > 0,
        worker_init_fn=_start_worker,
        pin_memory=device.type == "cuda",
    )
    return sampler, loader


def end_workers(loader: DataLoader) -> None:
    """End the loader's persistent workers now, as its iterator's deletion would. A run ended by an error keeps that
    iterator in the error's traceback until Python's exit, where multiprocessing ends its workers by SIGTERM, which
    they ignore (``_start_worker``), and waits for them for ever."""
    iterator = loader._iterator  # where torch keeps persistent workers: it has no public way to end them
    if iterator is not None:
        loader._iterator = None
        iterator._shutdown_workers()


def _start_worker(_: int) -> None:
    """A loader worker: one process doing one image at a time, deaf to the stop signals that a terminal or a
    cluster's scheduler sends the whole process group. The training process stops after its step and ends its
    workers itself; a worker the signal killed first (a spawned one, as on macOS and Windows, has the default
    action) would end the run in torch's "worker exited unexpectedly" traceback."""
    cv2.setNumThreads(1)
    for sig in STOP_SIGNALS:
        signal.signal(sig, signal.SIG_IGN)


SAMPLE_ORDER, AUGMENTATIONS = 0, 1  # the two streams of draws of a run


def draw_seed(config: TrainConfig, start: int, stream: int) -> int:
    """The seed of one ``stream`` of draws of a run of ``config.seed``, of its own per rank and starting step: the
    ranks draw apart, and a resumed run does not replay its first steps' draws (by step, not epoch: a run resumed
    twice within the epoch a stop cut would draw that epoch's first batches again)."""
    rank = dist.get_rank() if dist.is_initialized() else 0
    # mixed by numpy's SeedSequence: a formula as (seed * 1000 + rank) * 7919 + start gave rank 0 resumed at step
    # 7,919 rank 1's draws at the start
    return int(np.random.SeedSequence([config.seed, rank, start, stream]).generate_state(1, np.uint64)[0])


def epoch_sampler(dataset: KeypointDataset, config: TrainConfig, start: int = 0):
    """A shuffle, a DistributedSampler, or a per-image-source weighted sampler (one stream per rank), drawn
    from a stream of its own per rank and starting step."""
    world = dist.get_world_size() if dist.is_initialized() else 1
    if not config.sample_weights and world > 1:
        # its set_epoch gives each epoch its order, the same on every rank; the start gives the rest of an epoch a
        # stop cut another order than its first part's
        return DistributedSampler(dataset, seed=config.seed + start)
    generator = torch.Generator().manual_seed(draw_seed(config, start, SAMPLE_ORDER))
    if not config.sample_weights:
        return RandomSampler(dataset, generator=generator)
    # float64: a weight of 1e-50 is no 0, which float32 would make it (and then nothing could be drawn)
    weights = torch.tensor([config.sample_weights.get(s, 1.0) for s in dataset.image_sources()], dtype=torch.float64)
    per_rank = max(1, round(float(weights.sum()) / world))
    return WeightedRandomSampler(weights, per_rank, replacement=True, generator=generator)


def batches(loader: DataLoader):
    """The loader's batches; a WLitePoseError in a loader worker (a damaged image) comes out as its own sentence,
    not as the worker's traceback torch wraps it in."""
    try:
        yield from loader
    except WLitePoseError as error:
        text = str(error).strip()
        if text.startswith("Caught WLitePoseError in DataLoader worker"):
            text = text.splitlines()[-1].split("WLitePoseError: ", 1)[-1]  # the traceback's last line
        raise WLitePoseError(text) from None
