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
    ema.update(model)  # the first update replaces the starting weights
    assert torch.equal(ema.module[0].weight, model[0].weight) and ema.current_decay() == 0.0
    assert torch.equal(ema.module[1].running_mean, model[1].running_mean)
    assert ema.module[1].num_batches_tracked.item() == 1
    first = model[0].weight.detach().clone()
    with torch.no_grad():
        model[0].weight.add_(1.0)
    ema.update(model)  # two updates: their plain mean (1 - 1/2 = the decay asked for)
    assert torch.allclose(ema.module[0].weight, (first + model[0].weight) / 2)
    with torch.no_grad():
        model[0].weight.add_(1.0)
    ema.update(model)  # then d = 0.5: half the old average, half the new weights
    assert ema.current_decay() == 0.5
    assert torch.allclose(ema.module[0].weight, 0.5 * (first + model[0].weight - 1) / 2 + 0.5 * model[0].weight)
    assert not torch.equal(ema.module[0].weight, start)
    assert not any(p.requires_grad for p in ema.module.parameters())
    with pytest.raises(ValueError, match="strictly between 0 and 1"):
        WeightAverage(model, decay=1.0)


def test_checkpoints_keep_the_average_for_use_and_the_raw_weights_for_resuming(tmp_path, tiny_run):
    out = tmp_path / "run"
    train(tiny_run(out, ema=0.9, max_steps=2))  # a step an epoch: epochs 0 and 1
    state = torch.load(out / "last.pt", weights_only=False)
    assert state["ema_updates"] == 2
    raw, averaged = state["train_model"], state["model"]
    assert any(not torch.equal(raw[k], averaged[k]) for k in raw if raw[k].is_floating_point())
    exported, _ = load_checkpoint(out / "last.pt")  # export and --init take the average
    assert all(torch.equal(v, averaged[k]) for k, v in exported.state_dict().items())

    train(tiny_run(out, ema=0.9, resume=True))  # epoch 2
    resumed = torch.load(out / "last.pt", weights_only=False)
    assert resumed["epoch"] == 2 and resumed["ema_updates"] == 3
    assert any(not torch.equal(resumed["train_model"][k], raw[k]) for k in raw)


def test_validation_scores_the_average(tmp_path, tiny_run, monkeypatch):
    """With --ema the average is validated, so best.pt is picked by its AP, not by the raw weights (not exported)."""
    import training.trainer

    scored = []

    def spy(model, *args):
        scored.append({k: v.clone() for k, v in model.state_dict().items()})
        return validate(model, *args)

    validate = training.trainer.validate
    monkeypatch.setattr(training.trainer, "validate", spy)
    folder = tiny_run(tmp_path).train_images
    out = tmp_path / "run"
    train(tiny_run(out, ema=0.9, epochs=2, val_annotations=f"{folder}/test_crowdpose.json", val_images=folder))
    state = torch.load(out / "last.pt", weights_only=False)  # a step an epoch: the average of two steps
    averaged, raw = state["model"], state["train_model"]
    assert len(scored) == 2 and all(torch.equal(v, averaged[k]) for k, v in scored[-1].items())
    assert any(not torch.equal(v, raw[k]) for k, v in scored[-1].items() if v.is_floating_point())


def test_a_model_without_integer_buffers_is_averaged_too():
    model = nn.Linear(3, 2)
    ema = WeightAverage(model, decay=0.5)
    with torch.no_grad():
        model.weight.add_(2.0)
    ema.update(model)
    ema.update(model)  # the first update takes the weights, the second averages equal ones
    assert torch.equal(ema.module.weight, model.weight)


def test_after_the_warm_up_the_average_keeps_the_decay_asked_for():
    model = nn.Linear(1, 1, bias=False)
    ema = WeightAverage(model, decay=0.9)
    for value in range(1, 21):  # 20 updates: past the 1 / (1 - 0.9) = 10 of the plain mean
        with torch.no_grad():
            model.weight.fill_(float(value))
        previous = ema.module.weight.item()
        ema.update(model)
    assert ema.current_decay() == pytest.approx(0.9)
    assert ema.module.weight.item() == pytest.approx(0.9 * previous + 0.1 * 20)
