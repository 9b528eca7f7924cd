import pytest
import torch
from torch import nn

from models.checkpoint import load_checkpoint
from training.ema import WeightAverage
from training.trainer import train


def test_the_average_follows_the_formula_and_copies_integer_buffers():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 2), nn.BatchNorm1d(2))
    start = model[0].weight.detach().clone()
    ema = WeightAverage(model, decay=0.5)
    with torch.no_grad():
        model[0].weight.add_(1.0)
    model.train()(torch.randn(4, 3))  # moves the BN statistics and its integer batch counter
    ema.update(model)
    d = min(0.5, 2 / 11)  # the ramp rules the first update
    assert torch.allclose(ema.module[0].weight, d * start + (1 - d) * model[0].weight)
    assert torch.allclose(ema.module[1].running_mean, (1 - d) * model[1].running_mean)
    assert ema.module[1].num_batches_tracked.item() == 1
    for _ in range(20):
        ema.update(model)
    assert ema.current_decay() == 0.5  # past the ramp, the decay asked for
    assert torch.allclose(ema.module[0].weight, model[0].weight, atol=1e-5)
    assert not any(p.requires_grad for p in ema.module.parameters())
    with pytest.raises(ValueError, match="strictly between 0 and 1"):
        WeightAverage(model, decay=1.0)


def test_checkpoints_keep_the_average_for_use_and_the_raw_weights_for_resuming(tmp_path, tiny_run):
    out = tmp_path / "run"
    train(tiny_run(out, ema=0.9, max_steps=1))  # one step: epoch 0
    state = torch.load(out / "last.pt", weights_only=False)
    assert state["ema_updates"] == 1
    raw, averaged = state["train_model"], state["model"]
    assert any(not torch.equal(raw[k], averaged[k]) for k in raw if raw[k].is_floating_point())
    exported, _ = load_checkpoint(out / "last.pt")  # export and --init take the average
    assert all(torch.equal(v, averaged[k]) for k, v in exported.state_dict().items())

    train(tiny_run(out, ema=0.9, resume=True))  # epochs 1 and 2, a step each
    resumed = torch.load(out / "last.pt", weights_only=False)
    assert resumed["epoch"] == 2 and resumed["ema_updates"] == 3
    assert any(not torch.equal(resumed["train_model"][k], raw[k]) for k in raw)
