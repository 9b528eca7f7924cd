"""`wlitepose train` runs in seconds on the CrowdPose sample: validation and best.pt, the weights a run
starts from, the same seed's same weights, the model it exports and the progress it logs.
"""

import os

import pytest
import torch

from main import main
from training.progress_line import end_progress_line, restart_progress, show_progress
from training.trainer import train


def test_validation_every_few_epochs_and_at_the_last(tmp_path, tiny_run, run_log, monkeypatch):
    """A run reads its validation annotations once: each validation read and checked the file again (0.8-2 s an
    epoch at COCO val2017's size, measured on a synthetic file of that size)."""
    import core.annotations

    folder = tiny_run(tmp_path).train_images
    val = {"val_annotations": f"{folder}/test_crowdpose.json", "val_images": folder}
    reads, read_dataset = [], core.annotations.read_dataset
    monkeypatch.setattr(core.annotations, "read_dataset", lambda path: reads.append(path) or read_dataset(path))

    def validated(name: str, **changes) -> list[int]:
        reads.clear()
        train(tiny_run(tmp_path / name, epochs=5, **val, **changes))
        assert reads == [val["val_annotations"]]
        log = run_log(tmp_path / name)
        return [r["epoch"] for r in log if "AP" in r]

    assert validated("run", val_every=2) == [1, 3, 4]
    assert torch.load(tmp_path / "run" / "best.pt", weights_only=False)["epoch"] in (1, 3, 4)
    assert validated("stopped", val_every=3, max_steps=2) == [1]  # one step an epoch: --max-steps ends epoch 1


def test_a_run_again_with_its_seed_learns_the_same_weights(tmp_path, tiny_run):
    def weights(out: str) -> dict:  # two steps on augmented samples
        train(tiny_run(tmp_path / out, seed=3, max_steps=2))
        return torch.load(tmp_path / out / "last.pt", weights_only=False)["model"]

    first, again = weights("first"), weights("again")
    assert all(torch.equal(first[k], again[k]) for k in first)


def test_the_step_progress_on_a_log_file_is_whole_lines(tmp_path, tiny_run, capsys):
    train(tiny_run(tmp_path, batch_size=1, epochs=1))  # two steps: a redrawn line would be two fragments
    err = capsys.readouterr().err
    assert "\r" not in err  # stderr here is no terminal: a line ended by \r there is one the log never ends
    assert any(line.startswith("epoch 1/1 1/2 loss") for line in err.splitlines())  # the first step, logged


@pytest.mark.skipif(os.name == "nt", reason="a pseudo-terminal is POSIX's")
def test_a_training_step_line_drawn_shorter_than_the_last_leaves_none_of_it_on_screen(
    monkeypatch, on_terminal, redraws
):
    """The ETA of a --minutes run falling from 10 to 9 minutes left "... ETA 9 minn" on screen."""

    def draw(terminal):
        monkeypatch.setattr("sys.stderr", terminal)
        show_progress(0, None, 16, 64, 0.5, 12.0, 10.0)
        show_progress(0, None, 16, 64, 0.5, 12.0, 9.0)
        end_progress_line()

    seen = redraws(on_terminal(120, draw))
    assert [row.rstrip() for _, row in seen] == [
        "epoch 1 16/64 loss 0.50000  12.0 img/s ETA 10 min",
        "epoch 1 16/64 loss 0.50000  12.0 img/s ETA 9 min",
    ]


@pytest.mark.skipif(os.name == "nt", reason="a pseudo-terminal is POSIX's")
def test_the_step_progress_on_a_terminal_that_cannot_redraw_is_whole_lines(monkeypatch, on_terminal):
    """TERM=dumb (Emacs' shell, a CI console) showed every step's redraw, carriage returns and all."""

    def draw(terminal):
        monkeypatch.setattr("sys.stderr", terminal)
        restart_progress()
        show_progress(0, 2, 16, 64, 0.5, 12.0, 10.0)
        show_progress(0, 2, 32, 64, 0.5, 12.0, 9.0)  # within LOG_INTERVAL_S: not logged
        end_progress_line()

    monkeypatch.setenv("TERM", "dumb")
    monkeypatch.setattr("training.progress_line.time.perf_counter", lambda: 100.0)  # the second call within 10 s
    assert on_terminal(120, draw) == "epoch 1/2 16/64 loss 0.50000  12.0 img/s ETA 10 min\r\n"


def test_an_epochs_summary_counts_it_as_its_progress_line_does(tmp_path, tiny_run, capsys, run_log):
    """The progress of the first epoch read "epoch 1/2", and its summary below it "epoch 0: lr ...": the log.jsonl
    and the checkpoints count from 0, a person from 1."""
    train(tiny_run(tmp_path, batch_size=2, epochs=2))
    lines = capsys.readouterr().err.splitlines()
    counted = [line.split(" ")[1] for line in lines if line.startswith("epoch ")]
    assert counted[0] == "1/2" and [word for word in counted if word.endswith(":")] == ["1:", "2:"]
    summaries = [line for line in lines if line.startswith(("epoch 1: ", "epoch 2: "))]
    assert all(line.split(": ", 1)[1].startswith("lr ") and " epoch " not in line for line in summaries)
    assert [record["epoch"] for record in run_log(tmp_path)] == [0, 1]  # the log's own count


def test_a_run_on_small_crops_exports_a_model_for_the_variants_size(tmp_path, shared_data, tiny_argv):
    import onnxruntime

    data = shared_data / "crowdpose_sample" / "test_crowdpose.json"
    argv = ["train", "--train-data", str(data), *tiny_argv, "--max-steps", "1", "--epochs", "1", "--out", str(tmp_path)]
    assert main(argv) == 0
    meta = onnxruntime.InferenceSession(str(tmp_path / "best.onnx")).get_modelmeta().custom_metadata_map
    assert meta["input_size"] == "256"  # litepose_xs's, not the 64 px training crop


def test_best_pt_keeps_the_epoch_of_the_highest_validation_ap(tmp_path, tiny_run, run_log, monkeypatch):
    from training import trainer

    scores = iter([0.2, 0.5, 0.3])
    monkeypatch.setattr(trainer, "validate", lambda *args: {"AP": next(scores)})
    folder = tiny_run(tmp_path).train_images
    out = tmp_path / "run"
    train(tiny_run(out, val_annotations=f"{folder}/test_crowdpose.json", val_images=folder))
    assert [r["AP"] for r in run_log(out)] == [0.2, 0.5, 0.3]
    best = torch.load(out / "best.pt", weights_only=False)
    assert (best["epoch"], best["best_ap"]) == (1, 0.5)
    assert torch.load(out / "last.pt", weights_only=False)["best_ap"] == 0.5  # what a resume must beat


def test_every_epoch_after_a_validation_trains_in_train_mode(tmp_path, tiny_run, monkeypatch):
    from training import trainer

    modes, losses = [], trainer.compute_losses

    def recording(model, batch, config):
        modes.append(model.training)
        return losses(model, batch, config)

    monkeypatch.setattr(trainer, "compute_losses", recording)
    folder = tiny_run(tmp_path).train_images
    val = {"val_annotations": f"{folder}/test_crowdpose.json", "val_images": folder}
    train(tiny_run(tmp_path / "run", epochs=2, **val))  # validation exports the model, which puts it in eval mode
    assert len(modes) >= 2 and all(modes)  # BatchNorm normalises by the batch and gathers statistics every epoch


def test_with_a_weight_average_best_pt_keeps_the_average_it_validated(tmp_path, tiny_run, monkeypatch):
    from training import trainer

    scores = iter([0.1, 0.2])
    monkeypatch.setattr(trainer, "validate", lambda *args: {"AP": next(scores)})
    folder = tiny_run(tmp_path).train_images
    out = tmp_path / "run"
    train(tiny_run(out, epochs=2, ema=0.9, val_annotations=f"{folder}/test_crowdpose.json", val_images=folder))
    best, last = (torch.load(out / name, weights_only=False) for name in ("best.pt", "last.pt"))
    assert best["epoch"] == last["epoch"] == 1
    assert all(torch.equal(v, last["model"][k]) for k, v in best["model"].items())  # the average, as validated
    assert not all(torch.equal(v, last["train_model"][k]) for k, v in best["model"].items())


def test_imagenet_batchnorms_keep_their_statistics_while_training(tmp_path, tiny_run, shared_data):
    from models.wlitepose import build_model
    from training.pretrained import STEM_MAP, load_imagenet_stem

    path = shared_data / "pretrained" / "mobilenetv2_1.0_imagenet.pth"
    model = build_model("litepose_xs", num_keypoints=14)
    load_imagenet_stem(model, path)
    own = model.state_dict()
    frozen = [name for name in STEM_MAP if f"{name}.running_var" in own]
    assert frozen  # the stem's BNs, named here: were the trainer to freeze none, the loop below would check none
    train(tiny_run(tmp_path / "run", epochs=1, max_steps=2, init=f"imagenet:{path}"))
    trained = torch.load(tmp_path / "run" / "last.pt", weights_only=False)["model"]
    for name in frozen:  # the shared file's BNs are folded identities that batch statistics would undo
        for buffer in ("running_mean", "running_var"):
            assert torch.equal(trained[f"{name}.{buffer}"], own[f"{name}.{buffer}"])


def test_init_from_a_coco_checkpoint_starts_a_crowdpose_run_with_all_but_its_heads(tmp_path, capsys):
    from models.checkpoint import model_meta
    from models.wlitepose import build_model
    from training.trainer import _initialise

    torch.manual_seed(1)
    coco = build_model("litepose_xs").state_dict()
    meta = model_meta("litepose_xs", "coco", "mine", {"num_keypoints": 17})
    torch.save({"model": coco, "meta": meta}, tmp_path / "coco.pt")
    model = build_model("litepose_xs", num_keypoints=14)
    fresh = {k: v.clone() for k, v in model.state_dict().items()}
    _initialise(model, str(tmp_path / "coco.pt"))
    started = model.state_dict()
    heads = [k for k in started if started[k].shape != coco[k].shape]
    assert heads and all(k.startswith(("head_", "head2_")) for k in heads)  # 2 x 14 or 14 channels, not 17's
    assert all(torch.equal(started[k], fresh[k]) for k in heads)
    assert all(torch.equal(started[k], coco[k]) for k in started if k not in heads)
    copied = sum(p.numel() for name, p in model.named_parameters() if name not in heads)
    total = sum(p.numel() for p in model.parameters())
    assert f"initialised {copied:,} of {total:,} parameters from {tmp_path / 'coco.pt'}" in capsys.readouterr().err


def test_init_from_imagenet_weights_without_a_mobilenetv2_layer_is_refused(tmp_path, shared_data, capsys, tiny_argv):
    torch.save({"classifier.weight": torch.zeros(3)}, tmp_path / "other.pth")
    argv = ["train", "--train-data", str(shared_data / "crowdpose_sample" / "test_crowdpose.json"), *tiny_argv]
    argv += ["--train-images", str(shared_data / "crowdpose_sample"), "--init", f"imagenet:{tmp_path / 'other.pth'}"]
    assert main([*argv, "--out", str(tmp_path / "run")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "no MobileNetV2 layer found in it to copy" in err
    assert not (tmp_path / "run").exists()
