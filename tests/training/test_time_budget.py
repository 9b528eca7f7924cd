import itertools
import json

import pytest
import torch

from core.errors import WLitePoseError
from main import main
from training import trainer


@pytest.fixture
def clock(monkeypatch):
    """The trainer's clock, 10 s further at each reading (three readings: the run's start, then each epoch's
    start and end), so epochs last 20 s of it."""
    ticks = itertools.count(0.0, 10.0)
    monkeypatch.setattr(trainer, "_clock", lambda: next(ticks))


def _log(out) -> list[dict]:
    return [json.loads(line) for line in (out / "log.jsonl").read_text().splitlines()]


def test_a_timed_run_ends_with_the_last_epoch_that_fits_and_decays_on_the_clock(tmp_path, tiny_run, clock):
    out = tmp_path / "run"
    # 60 s: epochs end at 20, 40, 60 s; after the third another 20 s would not fit. The drop at
    # epoch 6 of 10 comes at 36 s: the second epoch starts at 30 s, the third at 50 s.
    assert trainer.train(tiny_run(out, minutes=1, epochs=10, milestones=(6,))) == out / "last.pt"
    log = _log(out)
    assert [r["epoch"] for r in log] == [0, 1, 2]
    assert [r["lr"] for r in log] == pytest.approx([1e-3, 1e-3, 1e-4])
    assert [r["minutes"] for r in log] == pytest.approx([20 / 60, 40 / 60, 1.0])
    assert torch.load(out / "last.pt", weights_only=False)["spent_s"] == pytest.approx(60.0)


def test_a_timed_run_resumes_on_the_time_it_has_left(tmp_path, tiny_run, clock):
    out = tmp_path / "run"
    trainer.train(tiny_run(out, minutes=1, epochs=10, milestones=(6,)))
    with pytest.raises(WLitePoseError, match=r"already trained 1\.0 of --minutes 1: pass more --minutes"):
        trainer.train(tiny_run(out, minutes=1, epochs=10, milestones=(6,), resume=True))
    # 2 min: the resumed run goes on from 60 s; its epochs start at 70, 90 and 110 s (the drop now
    # at 72 s) and end at 80, 100 and 120 s, where another 20 s would not fit
    trainer.train(tiny_run(out, minutes=2, epochs=10, milestones=(6,), resume=True))
    log = _log(out)
    assert [r["epoch"] for r in log] == [0, 1, 2, 3, 4, 5]
    assert [r["lr"] for r in log[3:]] == pytest.approx([1e-3, 1e-4, 1e-4])
    assert [r["minutes"] for r in log[3:]] == pytest.approx([80 / 60, 100 / 60, 2.0])


def test_a_timed_run_validates_its_last_epoch(tmp_path, tiny_run, clock):
    folder = tiny_run(tmp_path).train_images
    val = {"val_annotations": f"{folder}/test_crowdpose.json", "val_images": folder}
    trainer.train(tiny_run(tmp_path, minutes=1, epochs=10, milestones=(6,), val_every=5, **val))
    assert [r["epoch"] for r in _log(tmp_path) if "AP" in r] == [2]


def test_minutes_must_be_a_positive_time(tmp_path, shared_data, capsys):
    folder = shared_data / "crowdpose_sample"
    argv = ["train", "--train-data", str(folder / "test_crowdpose.json"), "--out", str(tmp_path / "run")]
    assert main([*argv, "--minutes", "0"]) == 2
    assert "--minutes must be a positive time, not 0.0" in capsys.readouterr().err
    assert not (tmp_path / "run").exists()
