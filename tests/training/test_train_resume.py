"""A run resumed with --resume: it goes on where it left off, with its own schedule, draws and log, and
says what it keeps of the options given again.
"""

import json
import os
import re
import signal
import subprocess
import time
import types
from pathlib import Path

import pytest
import torch

from core.errors import Stopped, WLitePoseError
from core.output_lock import take
from main import main
from training import checkpoints, trainer
from training.sampling import batches
from training.trainer import train

ROOT = Path(__file__).resolve().parents[2]


def test_a_run_stops_and_resumes_where_it_left_off(tmp_path, tiny_run, run_log):
    out = tmp_path / "run"
    assert train(tiny_run(out, max_steps=1)) == out / "last.pt"
    first = torch.load(out / "last.pt", weights_only=False)
    assert first["epoch"] == 0 and first["meta"]["overrides"] == {"num_keypoints": 14}
    train(tiny_run(out, resume=True))
    log = run_log(out)
    assert [r["epoch"] for r in log] == [0, 1, 2] and [r["step"] for r in log] == [1, 2, 3]
    assert {"lr", "total", "heatmap_4", "heatmap_2", "pull", "push", "images_per_s"} <= set(log[-1])
    assert torch.load(out / "last.pt", weights_only=False)["epoch"] == 2
    with pytest.raises(WLitePoseError, match="holds litepose_xs"):
        train(tiny_run(out, variant="wlitepose_xs", resume=True))
    # already 3 steps in: it trained nothing, exported and exited 0
    with pytest.raises(WLitePoseError, match="already trained 3 steps of --max-steps 2: pass a larger --max-steps"):
        train(tiny_run(out, epochs=5, max_steps=2, resume=True))
    assert len((out / "log.jsonl").read_text().splitlines()) == 3
    assert torch.load(out / "last.pt", weights_only=False)["epoch"] == 2


def test_a_resumed_run_draws_other_samples_than_its_first_epochs(shared_data):
    from models.schemas import get_schema
    from training.dataset import KeypointDataset
    from training.sampling import epoch_sampler
    from training.trainer import TrainConfig

    val = shared_data / "val"
    dataset = KeypointDataset(str(val / "annotations.json"), str(val / "images"), get_schema("coco"), 64)
    for weights in ({"x": 2.0}, {}):  # weighted draws, and a plain shuffle
        config = TrainConfig(str(val / "annotations.json"), str(val / "images"), "unused", sample_weights=weights)
        fresh, again, resumed = (list(epoch_sampler(dataset, config, epoch)) for epoch in (0, 0, 5))
        assert fresh == again and fresh != resumed and len(resumed) == len(dataset)


def test_each_rank_and_a_resumed_run_augment_with_draws_of_their_own(shared_data, monkeypatch):
    from models.schemas import get_schema
    from training.augment import AugmentConfig
    from training.dataset import KeypointDataset
    from training.sampling import AUGMENTATIONS, draw_seed
    from training.trainer import TrainConfig

    val = shared_data / "val"
    dataset = KeypointDataset(
        str(val / "annotations.json"), str(val / "images"), get_schema("coco"), 64, augment=AugmentConfig()
    )
    config = TrainConfig(str(val / "annotations.json"), str(val / "images"), "unused")
    monkeypatch.setattr("torch.distributed.is_initialized", lambda: True)  # two ranks, as torchrun starts them

    def sample(rank: int, start_epoch: int) -> torch.Tensor:
        monkeypatch.setattr("torch.distributed.get_rank", lambda: rank)
        torch.manual_seed(draw_seed(config, start_epoch, AUGMENTATIONS))
        return dataset[0]["image"]

    first, again, other_rank, resumed = sample(0, 0), sample(0, 0), sample(1, 0), sample(0, 5)
    assert torch.equal(first, again) and not torch.equal(first, other_rank) and not torch.equal(first, resumed)


def test_no_two_ranks_seeds_or_starting_steps_share_a_stream_of_draws(monkeypatch):
    """Seeds by a formula (seed * 1000 + rank) * 7919 + start met once steps counted the start: rank 0 resumed at
    step 7,919 drew rank 1's draws at the start, and --seed 1 at the start --seed 0's at step 7,919,000."""
    from training.sampling import AUGMENTATIONS, SAMPLE_ORDER, draw_seed
    from training.trainer import TrainConfig

    monkeypatch.setattr("torch.distributed.is_initialized", lambda: True)
    drawn = []
    for rank in (0, 1, 2):
        monkeypatch.setattr("torch.distributed.get_rank", lambda rank=rank: rank)
        for seed in (0, 1):
            config = TrainConfig("unused", "unused", "unused", seed=seed)
            for start in (0, 5, 7919, 15838, 7_919_000):
                drawn += [draw_seed(config, start, stream) for stream in (SAMPLE_ORDER, AUGMENTATIONS)]
    assert len(set(drawn)) == len(drawn) == 60


def test_the_log_gives_each_epoch_the_lr_it_trained_at(tmp_path, tiny_run, run_log):
    train(tiny_run(tmp_path, milestones=(1, 2)))
    log = run_log(tmp_path)
    assert [r["lr"] for r in log] == pytest.approx([1e-3, 1e-4, 1e-5])
    with pytest.raises(WLitePoseError, match="already trained 3 epochs of --epochs 2"):
        train(tiny_run(tmp_path, epochs=2, resume=True))


def test_resume_where_no_run_is_starts_one_and_says_so(tmp_path, tiny_run, capsys, run_log):
    train(tiny_run(tmp_path / "typo", max_steps=1, resume=True))  # a misspelt --out: hours of training afresh
    assert f"{tmp_path / 'typo'} holds no last.pt to resume: a new run starts there" in capsys.readouterr().err
    assert [r["step"] for r in run_log(tmp_path / "typo")] == [1]


def test_a_checkpoint_to_start_from_given_to_a_resumed_run_is_said_unused(tmp_path, tiny_run, capsys):
    train(tiny_run(tmp_path / "first", max_steps=1))
    start = str(tmp_path / "first" / "last.pt")
    train(tiny_run(tmp_path / "run", max_steps=1, init=start, resume=True))  # a new run: started from it
    assert "resumes" not in capsys.readouterr().err
    train(tiny_run(tmp_path / "run", max_steps=2, init=start, resume=True))  # its own weights, silently before
    note = f"the run resumes its own weights from {tmp_path / 'run' / 'last.pt'}; --init {start} starts a new run only"
    assert note in capsys.readouterr().err


def test_a_resumed_run_says_it_keeps_its_own_lr(tmp_path, tiny_run, capsys, run_log):
    train(tiny_run(tmp_path, lr=5e-4, max_steps=1))
    train(tiny_run(tmp_path, max_steps=2, resume=True))  # no --lr: nothing to say
    assert "its own schedule" not in capsys.readouterr().err
    train(tiny_run(tmp_path, lr=1e-3, max_steps=3, resume=True))
    err = capsys.readouterr().err
    assert "continues its own schedule from --lr 0.0005; the --lr 0.001 given now is not used" in err
    log = run_log(tmp_path)
    assert [r["lr"] for r in log] == pytest.approx([5e-4] * 3)


def test_a_finished_run_without_validation_points_at_the_checkpoint_it_has(tmp_path, tiny_run):
    train(tiny_run(tmp_path, epochs=1))
    with pytest.raises(WLitePoseError, match=f"wlitepose export --checkpoint {tmp_path / 'last.pt'}`"):
        train(tiny_run(tmp_path, epochs=1, resume=True))


def test_a_resumed_run_given_more_epochs_keeps_its_own_lr_drops(tmp_path, shared_data, run_log, capsys, tiny_argv):
    data = str(shared_data / "crowdpose_sample" / "test_crowdpose.json")
    argv = ["train", "--train-data", data, *tiny_argv, "--out", str(tmp_path)]
    assert main([*argv, "--epochs", "2", "--milestones", "1"]) == 0
    assert main([*argv, "--epochs", "3", "--resume"]) == 0  # --epochs alone: not the preset's drops, at 50 and 180
    assert "preset drops the lr" not in capsys.readouterr().err
    assert [r["lr"] for r in run_log(tmp_path)] == pytest.approx([1e-3, 1e-4, 1e-4])


def test_a_resumed_run_without_validation_exports_what_it_trained(tmp_path, tiny_run, capsys, tiny_argv):
    folder = tiny_run(tmp_path).train_images
    val = {"val_annotations": f"{folder}/test_crowdpose.json", "val_images": folder}
    assert train(tiny_run(tmp_path, epochs=1, **val)) == tmp_path / "best.pt"
    assert train(tiny_run(tmp_path, epochs=2, resume=True)) == tmp_path / "last.pt"  # best.pt is epoch 0's
    argv = ["train", "--train-data", f"{folder}/test_crowdpose.json", *tiny_argv]
    assert main([*argv, "--epochs", "3", "--resume", "--out", str(tmp_path)]) == 0
    assert f"wrote {tmp_path / 'best.onnx'} (from {tmp_path / 'last.pt'})" in capsys.readouterr().out


def test_a_run_resumed_with_another_batch_size_counts_its_steps_on(tmp_path, tiny_run, run_log):
    """The step was the epoch times the new epoch's batches: it went back (40 -> 25), and --max-steps with it."""
    train(tiny_run(tmp_path, epochs=2))  # batches of 2 on 2 images: one step an epoch
    train(tiny_run(tmp_path, epochs=3, batch_size=1, resume=True))  # two steps an epoch now
    log = run_log(tmp_path)
    assert [r["step"] for r in log] == [1, 2, 4]


def test_a_resumed_run_whose_lr_drops_come_after_its_new_end_says_so(tmp_path, tiny_run, capsys):
    train(tiny_run(tmp_path, epochs=2, milestones=(4,)))
    train(tiny_run(tmp_path, epochs=3, resume=True, milestones_given=False))
    err = capsys.readouterr().err
    assert "the run drops the lr at epochs 4, after the 3 epochs asked for now; pass --milestones" in err


def test_a_line_left_cut_short_before_a_resume_is_dropped(tmp_path, tiny_run, run_log):
    """A run killed while writing its epoch's line, or one an earlier release left when the disk filled, ends the
    log without a line end: the resumed run's first epoch joined the cut line, both lost to a line reader."""
    out = tmp_path / "run"
    train(tiny_run(out, max_steps=2))
    whole = (out / "log.jsonl").read_bytes()
    (out / "log.jsonl").write_bytes(whole[:-40])  # epoch 1's line without its end
    train(tiny_run(out, resume=True))
    assert [record["epoch"] for record in run_log(out)] == [0, 2]


def _train_argv(shared_data, tiny_argv, out, *more) -> list[str]:
    folder = shared_data / "crowdpose_sample"  # 2 images: 2 steps an epoch at --batch-size 1
    data = ["--train-data", str(folder / "test_crowdpose.json"), "--train-images", str(folder)]
    return ["train", *data, *tiny_argv, *more, "--out", str(out)]


@pytest.mark.parametrize("times", [1, 2])
def test_a_stop_signal_ends_training_keeping_the_last_epoch_and_says_how_to_go_on(
    tmp_path, shared_data, tiny_run, tiny_argv, signal_on_call, run_log, capsys, monkeypatch, times
):
    """SIGTERM (a cluster's time limit, `kill`) killed the run by its default action (exit -15, not a word); it
    stops after its step, last.pt holds the last epoch done and that step of the next, and --resume trains only that
    epoch's other step (it trained the cut epoch again whole). A second signal stops at once: last.pt holds the last
    epoch done, and --resume trains the cut epoch whole. SIGHUP ignored at start (nohup) stays ignored."""
    out = tmp_path / "run"
    argv = _train_argv(shared_data, tiny_argv, out, "--batch-size", "1", "--epochs", "3")
    hangup = signal.signal(signal.SIGHUP, signal.SIG_IGN)
    steps, step = [], trainer._step  # the steps taken: a second signal stops before the third
    monkeypatch.setattr(trainer, "_step", lambda *args, **kwargs: steps.append(1) or step(*args, **kwargs))
    try:
        signal_on_call(trainer, "_step", signal.SIGHUP, call=1)
        signal_on_call(trainer, "_step", signal.SIGTERM, call=3, times=times)  # the first step of epoch 2
        assert main(argv) == 128 + signal.SIGTERM
    finally:
        signal.signal(signal.SIGHUP, hangup)
    err = capsys.readouterr().err
    cut = " and 1 of epoch 2's 2 steps" if times == 1 else ""
    assert err.endswith(
        f"wlitepose: interrupted; {out / 'last.pt'} holds epoch 1 of 3{cut}: rerun the same command with --resume to "
        "go on\n"
    ), err
    assert err.count("wlitepose: interrupted") == 1 and "Traceback" not in err
    assert len(steps) == (3 if times == 1 else 2)
    saved = torch.load(out / "last.pt", weights_only=False)
    assert (saved["epoch"], saved["step"]) == (0, len(steps)) and [r["epoch"] for r in run_log(out)] == [0]
    train(tiny_run(out, batch_size=1, resume=True))  # as `--resume` (without its export)
    assert [(r["epoch"], r["step"]) for r in run_log(out)] == [(0, 2), (1, 4), (2, 6)]
    assert len(steps) == 6  # as many as the run uninterrupted


def test_a_stop_signal_after_an_epochs_last_step_keeps_that_epoch(
    tmp_path, tiny_run, signal_on_call, monkeypatch, run_log
):
    """A signal while the loader winds down, after the epoch's last step asked whether to stop: asked again after
    the epoch, the run threw that epoch away though it had trained it whole. It is saved, and the run stops after
    the next step, which is the next epoch's last too: that epoch is saved whole."""
    out = tmp_path / "run"
    loader = types.SimpleNamespace(ended=lambda: None)  # called as an epoch's batches run out
    signal_on_call(loader, "ended", signal.SIGTERM)  # the first epoch's (one step of 2 images)

    def batches_then_end(data):
        yield from batches(data)
        loader.ended()

    monkeypatch.setattr(trainer, "batches", batches_then_end)
    with pytest.raises(Stopped) as stopped:
        train(tiny_run(out))
    assert stopped.value.left == f"{out / 'last.pt'} holds epoch 2 of 3: rerun the same command with --resume to go on"
    saved = torch.load(out / "last.pt", weights_only=False)
    assert (saved["epoch"], saved["step"]) == (1, 2) and [r["epoch"] for r in run_log(out)] == [0, 1]
    assert "epoch_part" not in saved


def test_a_hangup_to_a_run_with_loader_workers_stops_it_without_their_tracebacks(
    tmp_path, shared_data, tiny_argv, wlitepose_command
):
    """A closed terminal (or a cluster's scheduler) signals the whole process group, loader workers too: the run
    died by SIGHUP; a worker killed first would end it in torch's "worker exited unexpectedly" traceback."""
    out = tmp_path / "run"
    argv = _train_argv(shared_data, tiny_argv, out, "--workers", "2", "--epochs", "500")
    run = subprocess.Popen(
        wlitepose_command(*argv), cwd=ROOT, stderr=subprocess.PIPE, text=True, start_new_session=True
    )
    deadline = time.monotonic() + 120
    while not (out / "log.jsonl").is_file() and run.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert run.poll() is None and (out / "log.jsonl").is_file(), run.stderr.read()
    os.killpg(run.pid, signal.SIGHUP)
    err = run.communicate(timeout=120)[1]
    assert run.returncode == 128 + signal.SIGHUP, err
    assert "Traceback" not in err and "Error" not in err
    kept = int(re.search(r"wlitepose: interrupted; \S+ holds epoch (\d+) of 500: rerun the same command", err)[1])
    lines = (out / "log.jsonl").read_text().splitlines()
    assert [json.loads(line)["epoch"] for line in lines] == list(range(kept))
    assert torch.load(out / "last.pt", weights_only=False)["epoch"] == kept - 1


def test_a_run_ended_by_an_error_ends_its_loader_workers_and_lets_go_of_its_folder(tmp_path, tiny_run, monkeypatch):
    """Its workers, deaf to SIGTERM, were left to Python's exit, which waited for them for ever: the loader that
    trained is ended as the error leaves the run (ending them: test_sampling's
    test_ending_a_loaders_workers_leaves_none_running), and the run folder is free for the command run again."""
    events, end = [], trainer.end_workers
    monkeypatch.setattr(trainer, "end_workers", lambda loader: events.append(("ended", loader)) or end(loader))

    def failing_epoch(run, epoch):
        events.append(("failed", run.loader))
        raise ZeroDivisionError

    monkeypatch.setattr(trainer, "_train_epoch", failing_epoch)
    with pytest.raises(ZeroDivisionError):
        train(tiny_run(tmp_path / "run", workers=1))  # its workers start with the epoch's first batch: none here
    assert [what for what, _ in events] == ["failed", "ended"] and events[0][1] is events[1][1]
    with take(tmp_path / "run" / "training", "the run folder"):  # OutputTaken while the run still held it
        pass


def test_a_resumed_run_stopped_in_its_first_epoch_stops_after_that_step_keeping_the_epoch_it_resumed_from(
    tmp_path, tiny_run, signal_on_call, monkeypatch
):
    """The hint of a resumed run counted the epochs this run finished, not those last.pt holds."""
    out = tmp_path / "run"
    train(tiny_run(out, batch_size=1, max_steps=2))
    steps, step = [], trainer._step
    monkeypatch.setattr(trainer, "_step", lambda *args, **kwargs: steps.append(1) or step(*args, **kwargs))
    signal_on_call(trainer, "_step", signal.SIGTERM)
    with pytest.raises(Stopped) as stopped:
        train(tiny_run(out, batch_size=1, resume=True))
    assert len(steps) == 1  # the step it came in, none after
    left = f"{out / 'last.pt'} holds epoch 1 of 3 and 1 of epoch 2's 2 steps: rerun the same command with --resume"
    assert stopped.value.left == f"{left} to go on"


@pytest.mark.parametrize("limit", [{}, {"max_steps": 5}])
def test_a_run_stopped_within_an_epoch_resumes_with_only_its_other_steps(
    tmp_path, tiny_run, signal_on_call, monkeypatch, run_log, limit
):
    """The steps of the epoch a stop cut were thrown away and trained again on resume (a cluster's time limit lost
    up to an epoch each time): the stopped and resumed run trains as many steps as the run uninterrupted, logs each
    epoch once, and ends at the same epoch, step, lr, schedule, optimiser and weight average."""
    steps, step = [], trainer._step
    monkeypatch.setattr(trainer, "_step", lambda *args, **kwargs: steps.append(1) or step(*args, **kwargs))
    run = lambda out, **more: tiny_run(out, batch_size=1, milestones=(1, 2), ema=0.9, **limit, **more)  # noqa: E731
    train(run(tmp_path / "whole"))  # 2 steps an epoch
    whole_steps = len(steps)
    signal_on_call(trainer, "_step", signal.SIGTERM, call=3)  # the first step of epoch 2
    with pytest.raises(Stopped):
        train(run(tmp_path / "cut"))
    cut = torch.load(tmp_path / "cut" / "last.pt", weights_only=False)
    assert (cut["epoch"], cut["step"], cut["epoch_part"]["steps"]) == (0, 3, 1)
    train(run(tmp_path / "cut", resume=True))
    assert len(steps) - whole_steps == whole_steps
    logs = [[(r["epoch"], r["step"], r["lr"]) for r in run_log(tmp_path / name)] for name in ("whole", "cut")]
    assert logs[1] == logs[0]
    ends = [torch.load(tmp_path / name / "last.pt", weights_only=False) for name in ("whole", "cut")]
    assert [(s["epoch"], s["step"], s["scheduler"], s["ema_updates"], "epoch_part" in s) for s in ends] == [
        (ends[0]["epoch"], ends[0]["step"], ends[0]["scheduler"], ends[0]["ema_updates"], False)
    ] * 2
    assert [s["optimizer"]["state"][0]["step"] for s in ends] == [ends[0]["optimizer"]["state"][0]["step"]] * 2


def test_a_second_signal_while_a_stop_saves_the_cut_epoch_leaves_the_last_whole_save(
    tmp_path, tiny_run, signal_on_call, run_log
):
    """last.pt is replaced whole or not at all: "stop now" during the save of the steps a stop kept leaves the
    epoch saved before, and the line says so."""
    out = tmp_path / "run"
    signal_on_call(trainer, "_step", signal.SIGTERM, call=3)  # the first step of epoch 2
    signal_on_call(checkpoints.torch, "save", signal.SIGTERM, call=2)  # epoch 1's last.pt, then the cut epoch's
    with pytest.raises(Stopped) as stopped:
        train(tiny_run(out, batch_size=1))
    assert stopped.value.at_once
    assert stopped.value.left == f"{out / 'last.pt'} holds epoch 1 of 3: rerun the same command with --resume to go on"
    saved = torch.load(out / "last.pt", weights_only=False)
    assert (saved["epoch"], saved["step"], "epoch_part" in saved) == (0, 2, False)
    assert sorted(p.name for p in out.iterdir()) == ["last.pt", "log.jsonl"]  # no checkpoint half-written


@pytest.mark.parametrize(("cut_at", "batch_size", "rest"), [(2, 2, 2), (5, 4, 1)])
def test_a_cut_epoch_resumed_at_another_batch_size_trains_the_share_of_it_left(
    tmp_path, tiny_run, signal_on_call, monkeypatch, run_log, cut_at, batch_size, rest
):
    """Six one-image steps an epoch, cut after ``cut_at``: the resumed run's epoch of 6 // ``batch_size`` steps
    trains the same share of it (at least one step: an epoch of none has no batch to check its outputs on)."""
    out, weights = tmp_path / "run", {"": 3.0}  # three draws of each of the two images an epoch
    signal_on_call(trainer, "_step", signal.SIGTERM, call=cut_at)
    with pytest.raises(Stopped):
        train(tiny_run(out, batch_size=1, epochs=1, sample_weights=weights))
    steps, step = [], trainer._step
    monkeypatch.setattr(trainer, "_step", lambda *args, **kwargs: steps.append(1) or step(*args, **kwargs))
    train(tiny_run(out, batch_size=batch_size, epochs=1, sample_weights=weights, resume=True))
    assert len(steps) == rest
    assert [(r["epoch"], r["step"]) for r in run_log(out)] == [(0, cut_at + rest)]


def test_a_stop_at_the_last_step_of_a_resumed_cut_epoch_keeps_it_whole_and_says_so(
    tmp_path, tiny_run, signal_on_call, run_log
):
    """The hint still counted the cut epoch's first part once the resumed run had trained that epoch whole."""
    out = tmp_path / "run"
    signal_on_call(trainer, "_step", signal.SIGTERM, call=3)  # the first step of epoch 2
    with pytest.raises(Stopped):
        train(tiny_run(out, batch_size=1))
    signal_on_call(trainer, "_step", signal.SIGTERM, call=1)  # the resumed run's first: epoch 2's last
    with pytest.raises(Stopped) as stopped:
        train(tiny_run(out, batch_size=1, resume=True))
    assert stopped.value.left == f"{out / 'last.pt'} holds epoch 2 of 3: rerun the same command with --resume to go on"
    saved = torch.load(out / "last.pt", weights_only=False)
    assert (saved["epoch"], saved["step"], "epoch_part" in saved) == (1, 4, False)
    assert [(r["epoch"], r["step"]) for r in run_log(out)] == [(0, 2), (1, 4)]


def test_a_first_epoch_cut_is_kept_and_its_resume_stopped_at_once_says_it_is_still_there(
    tmp_path, tiny_run, signal_on_call
):
    """A stop in the first epoch keeps its steps (no epoch whole yet); "stop now" in the resumed run before it saved
    again said that nothing was saved, though last.pt still holds that step."""
    out = tmp_path / "run"
    left = f"{out / 'last.pt'} holds 1 of epoch 1's 2 steps: rerun the same command with --resume to go on"
    signal_on_call(trainer, "_step", signal.SIGTERM, call=1)
    with pytest.raises(Stopped) as stopped:
        train(tiny_run(out, batch_size=1))
    assert stopped.value.left == left
    saved = torch.load(out / "last.pt", weights_only=False)
    assert (saved["epoch"], saved["step"], saved["epoch_part"]["steps"]) == (-1, 1, 1)
    signal_on_call(trainer, "_step", signal.SIGTERM, call=1, times=2)  # "stop now" before the resumed run's step
    with pytest.raises(Stopped) as stopped:
        train(tiny_run(out, batch_size=1, resume=True))
    assert stopped.value.at_once and stopped.value.left == left


def test_a_run_resumed_within_its_first_epoch_does_not_replay_its_first_batch(
    tmp_path, tiny_run, signal_on_call, monkeypatch
):
    """Seeded by its starting epoch, a run resumed within the first epoch drew the first run's first batch again,
    image and augmentation alike."""
    images, step = [], trainer._step
    monkeypatch.setattr(trainer, "_step", lambda run, batch: images.append(batch["image"].clone()) or step(run, batch))
    signal_on_call(trainer, "_step", signal.SIGTERM, call=1)
    with pytest.raises(Stopped):
        train(tiny_run(tmp_path / "run", batch_size=1, epochs=1))
    train(tiny_run(tmp_path / "run", batch_size=1, epochs=1, resume=True))
    assert len(images) == 2  # one image a step
    assert not torch.equal(images[0], images[1]), "the resumed run drew the first run's first batch again"


def test_a_stop_in_the_step_that_max_steps_ends_the_run_at_ends_it_as_finished(
    tmp_path, tiny_run, signal_on_call, run_log
):
    """Kept as a cut epoch, the run's last step left a last.pt that --resume refused (--max-steps already reached)
    with that epoch never logged: it ends the run as it would have ended."""
    out = tmp_path / "run"
    signal_on_call(trainer, "_step", signal.SIGTERM, call=3)  # the first step of epoch 2, and the run's last
    assert train(tiny_run(out, batch_size=1, max_steps=3)) == out / "last.pt"
    saved = torch.load(out / "last.pt", weights_only=False)
    assert (saved["epoch"], saved["step"], "epoch_part" in saved) == (1, 3, False)
    assert [(r["epoch"], r["step"]) for r in run_log(out)] == [(0, 2), (1, 3)]


def test_a_distributed_run_resumed_shuffles_by_its_starting_step(shared_data, monkeypatch):
    """Every rank's DistributedSampler seeded alike, and a resumed run's apart from the run it resumes."""
    from torch.utils.data.distributed import DistributedSampler

    from models.schemas import get_schema
    from training.dataset import KeypointDataset
    from training.sampling import epoch_sampler
    from training.trainer import TrainConfig

    val = shared_data / "val"
    dataset = KeypointDataset(str(val / "annotations.json"), str(val / "images"), get_schema("coco"), 64)
    config = TrainConfig(str(val / "annotations.json"), str(val / "images"), "unused")
    monkeypatch.setattr("torch.distributed.is_initialized", lambda: True)  # two ranks, as torchrun starts them
    monkeypatch.setattr("torch.distributed.get_world_size", lambda: 2)
    orders = []
    for rank, start in ((0, 0), (1, 0), (0, 3)):
        monkeypatch.setattr("torch.distributed.get_rank", lambda rank=rank: rank)
        sampler = epoch_sampler(dataset, config, start)
        assert isinstance(sampler, DistributedSampler)
        orders.append(torch.randperm(len(dataset), generator=torch.Generator().manual_seed(sampler.seed)).tolist())
    assert orders[0] == orders[1] != orders[2]


@pytest.mark.parametrize(("stop_in_step", "kept"), [(3, "steps of epoch 2"), (2, "epoch 1 whole")])
def test_every_rank_waits_for_the_save_a_stop_keeps_before_it_stops(
    tmp_path, tiny_run, signal_on_call, monkeypatch, stop_in_step, kept
):
    """Under torchrun the other ranks stopped while rank 0 still saved what the stop kept; torchrun then ended rank
    0 mid-save (its SIGTERM read as "stop now") and last.pt was lost (2 CPU ranks, a save of 2 s). Every rank now
    waits for the save before it stops."""
    events, save = [], trainer._save
    monkeypatch.setattr(trainer, "_save", lambda *args, **kwargs: events.append("save") or save(*args, **kwargs))
    monkeypatch.setattr(trainer, "wait_for_all", lambda: events.append("wait"))
    signal_on_call(trainer, "_step", signal.SIGTERM, call=stop_in_step)  # 2 steps an epoch
    with pytest.raises(Stopped):
        train(tiny_run(tmp_path / "run", batch_size=1))
    assert events[-2:] == ["save", "wait"], kept


def test_a_second_signal_while_the_ranks_wait_after_the_cut_epochs_save_says_it_was_saved(
    tmp_path, tiny_run, signal_on_call
):
    """ "Stop now" while the ranks waited for one another after rank 0 had saved the cut epoch's steps said that
    last.pt held only the epoch before, as if that save had not finished."""
    out = tmp_path / "run"
    signal_on_call(trainer, "_step", signal.SIGTERM, call=3)  # the first step of epoch 2
    signal_on_call(trainer, "wait_for_all", signal.SIGTERM)  # after the cut epoch's save
    with pytest.raises(Stopped) as stopped:
        train(tiny_run(out, batch_size=1))
    assert stopped.value.at_once
    saved = torch.load(out / "last.pt", weights_only=False)
    assert (saved["epoch"], saved["step"], saved["epoch_part"]["steps"]) == (0, 3, 1)
    left = f"{out / 'last.pt'} holds epoch 1 of 3 and 1 of epoch 2's 2 steps: rerun the same command with --resume"
    assert stopped.value.left == f"{left} to go on"


def test_a_resumed_cut_epoch_is_logged_with_the_losses_and_speed_of_both_its_parts(
    tmp_path, tiny_run, signal_on_call, monkeypatch, run_log
):
    """The log line of the epoch a stop cut gives its mean losses and speed over both parts (a step of loss 1 before
    the stop, one of loss 3 after it, one second each), not over the resumed part alone."""
    out, now, real_step = tmp_path / "run", [0.0], trainer._step
    monkeypatch.setattr(trainer, "time", types.SimpleNamespace(perf_counter=lambda: now[0]))

    def step_of(loss: float):
        def step(run, batch):
            real_step(run, batch)
            now[0] += 1.0
            return {"total": loss}

        return step

    monkeypatch.setattr(trainer, "_step", step_of(1.0))
    signal_on_call(trainer, "_step", signal.SIGTERM, call=3)  # the first step of epoch 2
    with pytest.raises(Stopped):
        train(tiny_run(out, batch_size=1))
    monkeypatch.setattr(trainer, "_step", step_of(3.0))
    train(tiny_run(out, batch_size=1, epochs=2, resume=True))
    assert [(r["epoch"], r["total"], r["images_per_s"]) for r in run_log(out)] == [(0, 1.0, 1.0), (1, 2.0, 1.0)]


def test_a_resumed_run_goes_on_at_the_loss_scale_mixed_precision_had_reached(
    tmp_path, tiny_run, signal_on_call, monkeypatch
):
    """On a GPU the loss scale started again at 65,536 at each resume and steps were skipped until it came down.
    A scaler that doubles at each step (on the CPU) shows it kept: stopped and resumed, it ends where the run
    uninterrupted does."""
    scaler = torch.amp.GradScaler
    monkeypatch.setattr(
        trainer.torch.amp, "GradScaler", lambda *a, **k: scaler("cpu", init_scale=2.0**10, growth_interval=1)
    )
    train(tiny_run(tmp_path / "whole", batch_size=1))  # 6 steps
    signal_on_call(trainer, "_step", signal.SIGTERM, call=3)
    with pytest.raises(Stopped):
        train(tiny_run(tmp_path / "cut", batch_size=1))
    train(tiny_run(tmp_path / "cut", batch_size=1, resume=True))
    scales = [torch.load(tmp_path / n / "last.pt", weights_only=False)["scaler"]["scale"] for n in ("whole", "cut")]
    assert scales == [2.0**16, 2.0**16]
