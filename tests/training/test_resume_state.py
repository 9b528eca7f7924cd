"""What a resume must restore, checked directly: a resumed run that silently restarts its optimiser, its
schedule, its weight average or its best AP trains (and keeps) something else than the run it continues."""

import math

import pytest
import torch

from models.wlitepose import build_model
from training import trainer
from training.checkpoints import resume_run
from training.lr_schedule import reschedule


def _fresh(config):
    model = build_model(config.variant, num_keypoints=14)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    scheduler = torch.optim.lr_scheduler.MultiStepLR(optimizer, list(config.milestones), gamma=0.1)
    return model, optimizer, scheduler


def test_resume_restores_the_raw_weights_optimiser_schedule_epoch_and_best_ap(tmp_path, tiny_run):
    out = tmp_path / "run"
    trainer.train(tiny_run(out, ema=0.9, max_steps=2))  # epochs 0 and 1, with a weight average
    state = torch.load(out / "last.pt", weights_only=False)
    state["best_ap"] = 0.25  # as if epoch 1 had validated at 0.25
    torch.save(state, out / "last.pt")
    config = tiny_run(out, ema=0.9, resume=True, milestones_given=False)
    model, optimizer, scheduler = _fresh(config)
    _, start, best_ap, _ = resume_run(out, config, torch.device("cpu"), model, None, optimizer, scheduler, math.inf)
    assert (start, best_ap) == (state["epoch"] + 1, 0.25)
    # the optimiser continues from the raw weights, not from their average
    assert all(torch.equal(v, state["train_model"][k]) for k, v in model.state_dict().items())
    saved, now = state["optimizer"]["state"], optimizer.state_dict()["state"]
    assert saved.keys() == now.keys() and len(now) > 0
    assert all(torch.equal(now[i][k], saved[i][k]) for i in saved for k in ("exp_avg", "exp_avg_sq", "step"))
    assert scheduler.last_epoch == state["scheduler"]["last_epoch"]


def test_resume_continues_the_weight_average_it_saved(tmp_path, tiny_run):
    out = tmp_path / "run"
    trainer.train(tiny_run(out, ema=0.5, max_steps=2))
    before = torch.load(out / "last.pt", weights_only=False)
    trainer.train(tiny_run(out, ema=0.5, resume=True))  # epoch 2: one more step, decay min(0.5, 2/3) = 0.5
    after = torch.load(out / "last.pt", weights_only=False)
    assert after["ema_updates"] == 3
    for k, v in after["model"].items():
        if v.is_floating_point() and "running" not in k:
            expected = 0.5 * before["model"][k] + 0.5 * after["train_model"][k]
            assert torch.allclose(v, expected, atol=1e-6), k


def _stepped(optimizer, scheduler, epochs: int) -> None:
    for _ in range(epochs):
        optimizer.step()
        scheduler.step()


def _saved_at(epoch: int):
    """An optimiser and its 350/480 schedule as a run saved at ``epoch`` left them (lr 1e-3 from the start)."""
    optimizer = torch.optim.Adam(torch.nn.Linear(2, 2).parameters(), lr=1e-3)
    scheduler = torch.optim.lr_scheduler.MultiStepLR(optimizer, [350, 480], gamma=0.1)
    _stepped(optimizer, scheduler, epoch)
    return optimizer, scheduler


def test_resumed_schedule_takes_the_new_milestones():
    """A run saved at epoch 25 of a 350/480 schedule, resumed with drops at 20 and 30: lr 1e-4 now,
    1e-5 from epoch 30."""
    optimizer, scheduler = _saved_at(25)
    reschedule(scheduler, (20, 30))
    assert optimizer.param_groups[0]["lr"] == pytest.approx(1e-4)
    _stepped(optimizer, scheduler, 5)
    assert scheduler.last_epoch == 30 and optimizer.param_groups[0]["lr"] == pytest.approx(1e-5)


def test_a_milestone_at_the_resume_epoch_drops_the_lr_then_and_for_good():
    """Resumed at epoch 30 with --milestones 30: the lr is dropped for epoch 30 (as MultiStepLR would have),
    and a drop missed then is never made later."""
    optimizer, scheduler = _saved_at(30)
    reschedule(scheduler, (30,))
    assert optimizer.param_groups[0]["lr"] == pytest.approx(1e-4)
    _stepped(optimizer, scheduler, 3)
    assert optimizer.param_groups[0]["lr"] == pytest.approx(1e-4)
