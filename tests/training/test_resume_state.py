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


def test_a_milestone_at_the_resume_epoch_drops_the_lr_then_and_for_good():
    """Resumed at epoch 30 with --milestones 30: the lr is dropped for epoch 30 (as MultiStepLR would have),
    and a drop missed then is never made later."""
    model = torch.nn.Linear(2, 2)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    scheduler = torch.optim.lr_scheduler.MultiStepLR(optimizer, [350, 480], gamma=0.1)
    for _ in range(30):
        optimizer.step()
        scheduler.step()
    reschedule(scheduler, (30,))
    assert optimizer.param_groups[0]["lr"] == pytest.approx(1e-4)
    for _ in range(3):
        optimizer.step()
        scheduler.step()
    assert optimizer.param_groups[0]["lr"] == pytest.approx(1e-4)
