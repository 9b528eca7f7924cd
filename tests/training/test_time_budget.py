import itertools
import signal

import pytest
import torch

from core.errors import Stopped, WLitePoseError
from main import main
from training import trainer


@pytest.fixture
def clock(monkeypatch):
    """The trainer's clock, 10 s further at each reading: the run's start, then after each step (a tiny run
    has one step an epoch, so its epochs last 10 s)."""
    ticks = itertools.count(0.0, 10.0)
    monkeypatch.setattr(trainer, "_clock", lambda: next(ticks))


def test_a_timed_run_ends_with_the_last_epoch_that_fits_and_decays_on_the_clock(tmp_path, tiny_run, clock, run_log):
    out = tmp_path / "run"
    # 60 s: epochs end at 10, 20, ... 60 s, where the time is up. The drop at epoch 6 of 10 comes at
    # 36 s, within the fourth epoch: the fifth starts at the lower lr.
    assert trainer.train(tiny_run(out, minutes=1, epochs=10, milestones=(6,))) == out / "last.pt"
    log = run_log(out)
    assert [r["epoch"] for r in log] == [0, 1, 2, 3, 4, 5]
    assert [r["lr"] for r in log] == pytest.approx([1e-3] * 4 + [1e-4] * 2)
    assert [r["minutes"] for r in log] == pytest.approx([i / 6 for i in range(1, 7)])
    assert torch.load(out / "last.pt", weights_only=False)["spent_s"] == pytest.approx(60.0)


def test_a_timed_run_resumes_on_the_time_it_has_left(tmp_path, tiny_run, clock, run_log):
    out = tmp_path / "run"
    trainer.train(tiny_run(out, minutes=1, epochs=10, milestones=(6,)))
    with pytest.raises(WLitePoseError, match=r"already trained 1\.0 of --minutes 1: pass more --minutes"):
        trainer.train(tiny_run(out, minutes=1, epochs=10, milestones=(6,), resume=True))
    # 2 min: the resumed run goes on from 60 s, back before the drop (now at 72 s), until 120 s
    trainer.train(tiny_run(out, minutes=2, epochs=10, milestones=(6,), resume=True))
    log = run_log(out)
    assert [r["epoch"] for r in log] == list(range(12))
    assert [r["lr"] for r in log[6:]] == pytest.approx([1e-3] * 2 + [1e-4] * 4)
    assert [r["minutes"] for r in log[6:]] == pytest.approx([i / 6 for i in range(7, 13)])


def test_a_timed_run_validates_its_last_epoch(tmp_path, tiny_run, clock, run_log):
    folder = tiny_run(tmp_path).train_images
    val = {"val_annotations": f"{folder}/test_crowdpose.json", "val_images": folder}
    trainer.train(tiny_run(tmp_path, minutes=1, epochs=10, milestones=(6,), val_every=5, **val))
    assert [r["epoch"] for r in run_log(tmp_path) if "AP" in r] == [4, 5]


def test_a_timed_run_stops_within_an_epoch_when_the_time_is_up(tmp_path, tiny_run, clock, run_log):
    # four one-image steps an epoch; the time (30 s) is up after the third
    trainer.train(tiny_run(tmp_path, minutes=0.5, batch_size=1, sample_weights={"": 2.0}))
    assert [(r["epoch"], r["step"], r["minutes"]) for r in run_log(tmp_path)] == [(0, 3, 0.5)]


def test_minutes_must_be_a_positive_time(tmp_path, shared_data, capsys):
    folder = shared_data / "crowdpose_sample"
    argv = ["train", "--train-data", str(folder / "test_crowdpose.json"), "--out", str(tmp_path / "run")]
    assert main([*argv, "--minutes", "0"]) == 2
    assert "--minutes must be a positive time, not 0.0" in capsys.readouterr().err
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize("epochs, milestone", [(10, 6), (100, 50)])
def test_a_timed_run_resumed_by_epochs_keeps_its_lr_drops(tmp_path, tiny_run, clock, epochs, milestone, run_log):
    # epochs 0-5 in 60 s, the lr dropped on the clock (at 6 of 10 epochs' time, or 50 of 100): from epoch 4 or 3,
    # though by epoch count the second run is still before milestone 50 when it resumes
    trainer.train(tiny_run(tmp_path, minutes=1, epochs=epochs, milestones=(milestone,)))
    trainer.train(tiny_run(tmp_path, epochs=11, milestones=(milestone,), resume=True))
    assert [r["lr"] for r in run_log(tmp_path)[6:]] == pytest.approx([1e-4] * 5)  # dropped once, never twice


def test_a_run_that_never_timed_itself_is_not_resumed_on_the_clock(tmp_path, tiny_run):
    trainer.train(tiny_run(tmp_path, max_steps=1))
    state = torch.load(tmp_path / "last.pt", weights_only=False)
    del state["spent_s"]  # as checkpoints from before --minutes
    torch.save(state, tmp_path / "last.pt")
    with pytest.raises(WLitePoseError, match="does not record how long it has trained"):
        trainer.train(tiny_run(tmp_path, minutes=1, resume=True))


def test_an_epoch_of_fewer_draws_than_a_batch_is_one_short_batch(tmp_path, tiny_run, clock, run_log):
    # one draw an epoch with batches of two: without the short batch no step is made and the clock never moves
    trainer.train(tiny_run(tmp_path, minutes=0.5, sample_weights={"": 0.5}))
    assert [(r["epoch"], r["step"]) for r in run_log(tmp_path)] == [(0, 1), (1, 2), (2, 3)]


def test_a_timed_run_resumed_by_epochs_drops_the_lr_at_the_milestone_epoch(tmp_path, tiny_run, clock, run_log):
    trainer.train(tiny_run(tmp_path, minutes=1, epochs=100, milestones=(200,)))  # epochs 0-5, no drop
    trainer.train(tiny_run(tmp_path, epochs=9, milestones=(7,), resume=True))
    lrs = [(r["epoch"], r["lr"]) for r in run_log(tmp_path)]
    assert lrs[6:] == [(6, pytest.approx(1e-3)), (7, pytest.approx(1e-4)), (8, pytest.approx(1e-4))], lrs


def test_a_timed_run_stopped_within_an_epoch_resumes_with_only_its_other_steps(
    tmp_path, tiny_run, clock, signal_on_call, run_log, monkeypatch
):
    """A stop's cut epoch was trained again whole on resume, and its steps' time spent again: the stopped and
    resumed run trains the steps, epochs, lr and time of the run uninterrupted."""
    run = lambda out, **more: tiny_run(out, minutes=1, epochs=10, milestones=(6,), batch_size=1, **more)  # noqa: E731
    trainer.train(run(tmp_path / "whole"))  # two 10 s steps an epoch: 6 steps in the minute
    steps, step = [], trainer._step
    monkeypatch.setattr(trainer, "_step", lambda *args, **kwargs: steps.append(1) or step(*args, **kwargs))
    signal_on_call(trainer, "_step", signal.SIGTERM, call=3)  # the first step of epoch 2
    with pytest.raises(Stopped):
        trainer.train(run(tmp_path / "cut"))
    trainer.train(run(tmp_path / "cut", resume=True))
    assert len(steps) == 6
    logs = [[(r["epoch"], r["step"], r["lr"], r["minutes"]) for r in run_log(tmp_path / n)] for n in ("whole", "cut")]
    assert logs[1] == logs[0] == [(0, 2, 1e-3, 20 / 60), (1, 4, 1e-3, 40 / 60), (2, 6, 1e-4, 1.0)]
    ends = [torch.load(tmp_path / n / "last.pt", weights_only=False) for n in ("whole", "cut")]
    assert [(s["step"], s["spent_s"], s["scheduler"]["last_epoch"]) for s in ends] == [(6, 60.0, 3)] * 2


def test_a_timed_run_resumed_in_a_cut_epoch_ends_where_the_run_uninterrupted_does(
    tmp_path, tiny_run, clock, signal_on_call, run_log
):
    """Its mean epoch counted the cut epoch's time from the resume, not from the epoch's start: 55 s fit no third
    epoch of 20 s, and the run uninterrupted ends after two; resumed, it took the cut epoch for a 10 s one."""
    run = lambda out, **more: tiny_run(out, minutes=55 / 60, epochs=10, batch_size=1, **more)  # noqa: E731
    trainer.train(run(tmp_path / "whole"))  # two 10 s steps an epoch
    signal_on_call(trainer, "_step", signal.SIGTERM, call=3)  # the first step of epoch 2
    with pytest.raises(Stopped):
        trainer.train(run(tmp_path / "cut"))
    trainer.train(run(tmp_path / "cut", resume=True))
    logs = [[(r["epoch"], r["step"]) for r in run_log(tmp_path / n)] for n in ("whole", "cut")]
    assert logs[1] == logs[0] == [(0, 2), (1, 4)]


def test_a_stop_in_the_step_where_the_time_runs_out_ends_the_run_as_finished(
    tmp_path, tiny_run, signal_on_call, run_log, monkeypatch
):
    """As --max-steps' last step: kept as a cut epoch, it would leave a last.pt that --resume refuses (its minutes
    spent), that epoch never logged."""
    ticks = iter([0.0, 10.0, 20.0, 100.0])  # the start, then three steps: the third (epoch 2's first) runs long
    monkeypatch.setattr(trainer, "_clock", lambda: next(ticks))
    signal_on_call(trainer, "_step", signal.SIGTERM, call=3)
    out = tmp_path / "run"
    assert trainer.train(tiny_run(out, minutes=1, epochs=10, batch_size=1)) == out / "last.pt"
    saved = torch.load(out / "last.pt", weights_only=False)
    assert (saved["epoch"], saved["step"], "epoch_part" in saved) == (1, 3, False)
    assert [(r["epoch"], r["step"]) for r in run_log(out)] == [(0, 2), (1, 3)]
