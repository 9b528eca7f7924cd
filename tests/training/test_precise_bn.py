import json

import pytest
import torch
from torch import nn

from training.precise_bn import recompute_batchnorm
from training.trainer import train


def _net() -> nn.Sequential:
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(3, 4, 1), nn.BatchNorm2d(4), nn.ReLU(), nn.Conv2d(4, 2, 1), nn.BatchNorm2d(2))


def _batches(n: int, shift: float = 0.0) -> list[dict]:
    generator = torch.Generator().manual_seed(1)
    return [{"image": torch.randn(4, 3, 5, 5, generator=generator) * (i + 1) + shift} for i in range(n)]


def test_statistics_become_the_plain_average_over_the_batches():
    net = _net()
    batches = _batches(3, shift=2.0)
    with torch.no_grad():
        means = [net[0](b["image"]).mean(dim=(0, 2, 3)) for b in batches]
    assert recompute_batchnorm(net, iter(batches), count=3) == 3
    # first BN: the mean of the three batch means, not the momentum-weighted 0.1 / 0.09 / 0.081 of them
    assert torch.allclose(net[1].running_mean, torch.stack(means).mean(0), atol=1e-5)
    assert net[1].num_batches_tracked.item() == 3 and net[4].num_batches_tracked.item() == 3
    assert net[1].momentum == 0.1 and not net.training and not net[1].training


@pytest.mark.parametrize(
    "available, count, skip",
    [(5, 2, ["4"]), (2, 30, [])],  # --precise-bn 30 over a small set: the training loader runs out first
)
def test_the_batches_used_are_the_count_or_all_there_are_and_skipped_layers_keep_their_statistics(
    available, count, skip
):
    net = _net()
    frozen = net[4].running_mean.clone()
    assert recompute_batchnorm(net, iter(_batches(available)), count=count, skip=skip) == 2
    assert net[1].num_batches_tracked.item() == 2 and net[4].num_batches_tracked.item() == (0 if skip else 2)
    assert torch.equal(net[4].running_mean, frozen) == bool(skip)
    assert net[1].momentum == 0.1 and net[4].momentum == 0.1 and not net.training and not net[4].training


def test_weights_stay_and_no_batches_leave_the_statistics_as_they_were():
    net = _net()
    before = {k: v.clone() for k, v in net.state_dict().items()}
    assert recompute_batchnorm(net, iter([]), count=4) == 0
    assert all(torch.equal(v, before[k]) for k, v in net.state_dict().items())
    recompute_batchnorm(net, iter(_batches(2)), count=2)
    after = net.state_dict()
    assert all(torch.equal(after[k], v) for k, v in before.items() if "running" not in k and "num_batches" not in k)
    assert not torch.equal(after["1.running_mean"], before["1.running_mean"])


@pytest.mark.parametrize("ema", [0.0, 0.9])
def test_the_trainer_validates_and_saves_re_estimated_statistics(tmp_path, tiny_run, ema):
    """Two epochs of one step: without precise BN the raw BNs have tracked two training batches; with it
    they hold the one batch drawn after the last epoch (the average's BNs too), and the log gives the AP
    of both."""
    folder = tiny_run(tmp_path).train_images
    annotations = f"{folder}/test_crowdpose.json"
    plain, precise = tmp_path / "plain", tmp_path / "precise"
    train(tiny_run(plain, epochs=2, ema=ema))
    train(tiny_run(precise, epochs=2, ema=ema, precise_bn=1, val_annotations=annotations, val_images=folder))

    def tracked(run):
        state = torch.load(run / "last.pt", weights_only=False)["model"]
        return {v.item() for k, v in state.items() if k.endswith("num_batches_tracked")}

    assert tracked(plain) == {2} and tracked(precise) == {1}
    log = [json.loads(line) for line in (precise / "log.jsonl").read_text().splitlines()]
    assert all({"AP_running_bn", "AP"} <= set(record) for record in log)


def test_frozen_pretrained_batchnorms_keep_their_statistics(tmp_path, tiny_run, shared_data):
    """The stem's BNs from the ImageNet file are identities carrying folded biases; re-estimating them
    would undo that folding, so --precise-bn leaves them as the file gave them and re-estimates the rest."""
    from training.pretrained import STEM_MAP

    init = f"imagenet:{shared_data / 'pretrained' / 'mobilenetv2_1.0_imagenet.pth'}"
    states = {}
    for batches in (0, 1):
        out = tmp_path / f"run{batches}"
        train(tiny_run(out, epochs=1, precise_bn=batches, init=init))
        states[batches] = torch.load(out / "last.pt", weights_only=False)["model"]
    frozen = [name for name in STEM_MAP if f"{name}.running_var" in states[1]]
    assert frozen
    for name in frozen:
        for stat in ("running_mean", "running_var", "num_batches_tracked"):
            assert torch.equal(states[1][f"{name}.{stat}"], states[0][f"{name}.{stat}"])
    tracked = {k.rsplit(".", 1)[0]: v.item() for k, v in states[1].items() if k.endswith("num_batches_tracked")}
    assert {n for layer, n in tracked.items() if layer not in frozen} == {1}  # every other BN re-estimated
