"""The processes of a distributed run (torchrun): which one speaks and saves, its device, one shared clock."""

from __future__ import annotations

import os

import torch
import torch.distributed as dist


def is_main() -> bool:
    return not dist.is_initialized() or dist.get_rank() == 0


def setup_distributed() -> torch.device:
    if int(os.environ.get("WORLD_SIZE", "1")) > 1 and not dist.is_initialized():
        dist.init_process_group("nccl" if torch.cuda.is_available() else "gloo")
    if torch.cuda.is_available():
        local = int(os.environ.get("LOCAL_RANK", "0"))
        torch.cuda.set_device(local)
        return torch.device("cuda", local)
    return torch.device("cpu")


def agreed(value: float, device: torch.device) -> float:
    """Rank 0's ``value`` on every rank: all of a distributed run's processes follow one clock."""
    if not dist.is_initialized():
        return value
    shared = torch.tensor([value], dtype=torch.float64, device=device)
    dist.broadcast(shared, 0)
    return float(shared)


def wait_for_all() -> None:
    """Every rank of a distributed run waits here for the others (rank 0's save before a stop: a rank that left
    first would have torchrun end rank 0 mid-save)."""
    if dist.is_initialized():
        dist.barrier()
