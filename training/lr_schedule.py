"""The lr of a run's MultiStepLR set by hand: milestones given to a resumed run, and the clock of --minutes."""

from __future__ import annotations

import bisect
from collections import Counter

import torch


def reschedule(scheduler: torch.optim.lr_scheduler.MultiStepLR, milestones: tuple[int, ...]) -> None:
    """A resumed run takes the milestones it is given now (to shorten or move the lr drops); the
    current lr becomes what those milestones give at this epoch."""
    scheduler.milestones = Counter(milestones)
    set_lr(scheduler, scheduler.last_epoch)


def keep_clock_drops(scheduler: torch.optim.lr_scheduler.MultiStepLR, drops: int) -> None:
    """A run timed by --minutes, resumed by --epochs: the ``drops`` its clock gave stand for the first milestones
    given now, so the lr keeps them and drops again only at the milestones after those."""
    later = sorted(scheduler.milestones.elements())[drops:]
    scheduler.milestones = Counter(later)
    _dropped(scheduler, drops + bisect.bisect_right(later, scheduler.last_epoch))


def set_lr(scheduler: torch.optim.lr_scheduler.MultiStepLR, position: float) -> None:
    """The lr the milestones give at ``position``, in epochs of the schedule (a fraction under --minutes)."""
    _dropped(scheduler, bisect.bisect_right(sorted(scheduler.milestones.elements()), position))


def _dropped(scheduler: torch.optim.lr_scheduler.MultiStepLR, drops: int) -> None:
    """Each group's lr its base lr dropped ``drops`` times."""
    for group, base in zip(scheduler.optimizer.param_groups, scheduler.base_lrs, strict=True):
        group["lr"] = base * scheduler.gamma**drops
