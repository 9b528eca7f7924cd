"""A run's folder: a run never mixes with another there nor writes through a link, a checkpoint holding
code is refused, and a full disk or a diverged loss stops the run in one sentence with its last checkpoint whole.
"""

import json
from pathlib import Path

import pytest
import torch

from core.errors import WLitePoseError
from main import main
from training.trainer import train


def test_a_diverged_run_stops_and_saves_nothing(tmp_path, tiny_run, monkeypatch):
    import training.trainer

    real = training.trainer.compute_losses

    def diverged(model, batch, config):
        losses = real(model, batch, config)
        return {**losses, "total": losses["total"] * float("nan")}

    monkeypatch.setattr(training.trainer, "compute_losses", diverged)
    with pytest.raises(
        WLitePoseError, match=r"diverged: the loss is nan at step 1; nothing was saved \(run again with"
    ):
        train(tiny_run(tmp_path / "run"))
    assert not (tmp_path / "run" / "last.pt").exists()


def _nan_weight(model):
    next(model.parameters()).fill_(float("nan"))


def _inf_batchnorm_statistics(model):
    next(m for m in model.modules() if isinstance(m, torch.nn.BatchNorm2d)).running_var.fill_(float("inf"))


def _overflowing_weights(model):
    """Weights still finite (1e30 fits a float32) whose outputs are not: the first layers' products overflow."""
    for parameter in model.parameters():
        parameter.fill_(1e30)


@pytest.mark.parametrize(
    "break_weights, what, validated, ema",
    [
        (_nan_weight, "the weights are not finite", True, 0.0),  # the export's word, naming neither last.pt nor the lr
        (_inf_batchnorm_statistics, "the weights are not finite", True, 0.0),  # was saved as last.pt, a success
        (_overflowing_weights, "the network's outputs are not finite", True, 0.0),  # the export's word too
        (_overflowing_weights, "the network's outputs are not finite", False, 0.0),  # last.pt, the run a success
        # the average of the good steps gives finite outputs: the raw weights a --resume trains on were saved
        (_overflowing_weights, "the network's outputs are not finite", False, 0.998),
    ],
)
def test_weights_broken_by_an_epochs_last_step_stop_the_run_before_they_are_validated_or_saved(
    tmp_path, tiny_run, shared_data, monkeypatch, break_weights, what, validated, ema
):
    """The last step of an epoch has its loss checked before it moves the weights: only they, or the outputs they
    give, show it diverged; a later step's loss called the last.pt they were saved as the last good epoch."""
    import training.trainer

    real = training.trainer._step

    def breaking(run, batch):
        losses = real(run, batch)
        if run.step == 1:  # the second epoch's only step (run.step counts the steps before this one)
            with torch.no_grad():
                break_weights(run.model)
        return losses

    monkeypatch.setattr(training.trainer, "_step", breaking)
    folder, out = shared_data / "crowdpose_sample", tmp_path / "run"
    val = {"val_annotations": str(folder / "test_crowdpose.json"), "val_images": str(folder)} if validated else {}
    with pytest.raises(WLitePoseError, match=f"diverged: {what} after step 2; {out / 'last.pt'} holds the last good"):
        train(tiny_run(out, epochs=2, ema=ema, **val))
    for name in ("last.pt", "best.pt") if validated else ("last.pt",):
        checkpoint = torch.load(out / name, weights_only=True)
        assert checkpoint["epoch"] == 0
        weights = [*checkpoint["model"].values(), *checkpoint.get("train_model", {}).values()]  # raw ones under --ema
        assert all(torch.isfinite(t).all() for t in weights if t.is_floating_point())


def test_the_output_check_leaves_the_batchnorm_statistics_as_they_were():
    """The check runs the epoch's last batch through the network: in training mode that batch would be gathered
    into the BatchNorm statistics last.pt keeps and the export uses."""
    import training.trainer
    from models.wlitepose import build_model

    model = build_model("wlitepose_xs").train()
    before = {name: value.clone() for name, value in model.state_dict().items()}
    assert training.trainer._finite_outputs(model, torch.rand(2, 3, 64, 64))
    assert all(torch.equal(before[name], value) for name, value in model.state_dict().items())


def test_a_new_run_never_mixes_with_an_earlier_one_in_its_folder(tmp_path, tiny_run):
    out = tmp_path / "run"
    train(tiny_run(out, max_steps=1))
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    with pytest.raises(WLitePoseError, match="holds an earlier run: pass --resume to continue it"):
        train(tiny_run(out, max_steps=1))
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before


def test_a_checkpoint_holding_code_is_refused_without_running_it(tmp_path, tiny_run, capsys, code_trap):
    """A .pt from elsewhere (--checkpoint, --init, a run folder to --resume) loaded with full pickle ran its code."""
    marker = tmp_path / "ran"
    trap = tmp_path / "shared.pt"
    torch.save({"model": {}, "meta": code_trap(marker), "epoch": 0}, trap)
    assert main(["export", "--checkpoint", str(trap), "--out", str(tmp_path / "x.onnx")]) == 2
    assert "is not a wlitepose checkpoint (it holds objects other than tensors" in capsys.readouterr().err
    out = tmp_path / "run"
    out.mkdir()
    torch.save({"model": {}, "meta": code_trap(marker), "epoch": 0}, out / "last.pt")
    with pytest.raises(WLitePoseError, match="cannot be resumed .UnpicklingError"):
        train(tiny_run(out, resume=True))
    assert not marker.exists()


def test_a_second_training_into_a_folder_in_use_is_refused(tmp_path, tiny_run, held_elsewhere):
    out = tmp_path / "run"
    out.mkdir()
    with held_elsewhere(out / "training"):  # as a training started a moment earlier holds it, before a checkpoint
        with pytest.raises(WLitePoseError, match=f"another run .* is writing the run folder {out} right now"):
            train(tiny_run(out, max_steps=1))
    # nothing of the refused run; the other ended without letting go (killed): its lock file stays, its lock went
    assert [p.name for p in out.iterdir()] == [".training.wlitepose-lock"]
    assert train(tiny_run(out, max_steps=1)) == out / "last.pt"
    assert not (out / ".training.wlitepose-lock").exists()  # taken over, and let go at the end


def test_a_link_left_at_a_checkpoints_temporary_name_takes_nothing_elsewhere(tmp_path, tiny_run):
    """A last.tmp link (another user's, in a shared run folder) had the checkpoint saved into its target."""
    victim = tmp_path / "victim.txt"
    victim.write_text("someone else's")
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "last.tmp").symlink_to(victim)
    train(tiny_run(tmp_path / "run", max_steps=1))
    assert victim.read_text() == "someone else's" and not (tmp_path / "run" / "last.pt").is_symlink()


def test_a_full_disk_while_saving_is_one_sentence_and_keeps_the_last_checkpoint(tmp_path, tiny_run, monkeypatch):
    """torch says a full disk as "[enforce fail at inline_container.cc] unexpected pos": a traceback, and a
    partial last.tmp left beside the checkpoint."""
    import training.trainer

    out = tmp_path / "run"
    train(tiny_run(out, max_steps=1))
    kept = (out / "last.pt").read_bytes()

    def full(state, path):
        Path(path).write_bytes(b"half")
        raise RuntimeError("[enforce fail at inline_container.cc:672] . unexpected pos 6144 vs 6032")

    monkeypatch.setattr(training.trainer.torch, "save", full)
    with pytest.raises(WLitePoseError, match=r"cannot save the checkpoint .*last\.pt \(it could not be written whole"):
        train(tiny_run(out, max_steps=2, resume=True))
    assert (out / "last.pt").read_bytes() == kept and not (out / "last.tmp").exists()


def test_a_full_disk_while_logging_an_epoch_is_one_sentence(tmp_path, tiny_run, monkeypatch):
    import builtins

    real_open = builtins.open

    def full(file, *args, **kwargs):
        if str(file).endswith("log.jsonl"):
            raise OSError(28, "No space left on device", str(file))
        return real_open(file, *args, **kwargs)

    monkeypatch.setattr(builtins, "open", full)
    said = r"cannot write .*log\.jsonl: No space left on device; last\.pt holds epoch 1$"  # the first, counted from 1
    with pytest.raises(WLitePoseError, match=said):
        train(tiny_run(tmp_path / "run", max_steps=1))


def test_an_epoch_line_cut_short_by_a_full_disk_is_taken_back(tmp_path, tiny_run, run_log):
    """The part of the line that fitted stayed: the resumed run's next epoch joined it, and both were lost to a
    reader of one JSON object a line."""
    resource = pytest.importorskip("resource")  # a file size limit (POSIX), which Python meets with an error
    out = tmp_path / "run"
    train(tiny_run(out, max_steps=1))
    largest = max(path.stat().st_size for path in out.iterdir())
    with open(out / "log.jsonl", "a") as log:  # an earlier epoch's long line: the log the largest file of the run
        log.write(json.dumps({"epoch": -1, "note": "x" * largest}) + "\n")
    whole = (out / "log.jsonl").read_bytes()
    limit = resource.getrlimit(resource.RLIMIT_FSIZE)
    resource.setrlimit(resource.RLIMIT_FSIZE, (len(whole) + 20, limit[1]))  # a real failed write, past 20 bytes
    try:
        with pytest.raises(WLitePoseError, match=r"cannot write .*log\.jsonl: File too large; last\.pt holds"):
            train(tiny_run(out, max_steps=2, resume=True))
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, limit)
    assert (out / "log.jsonl").read_bytes() == whole
    train(tiny_run(out, max_steps=3, resume=True))
    assert [record["epoch"] for record in run_log(out)][-2:] == [-1, 2]
