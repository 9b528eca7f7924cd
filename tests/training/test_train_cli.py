import dataclasses
import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from core.errors import WLitePoseError
from main import build_parser, main
from training.lr_schedule import reschedule
from training.trainer import train

ROOT = Path(__file__).resolve().parents[2]
# `wlitepose train` on the CrowdPose sample in seconds
TINY = ["--schema", "crowdpose", "--variant", "litepose_xs", "--size", "64", "--batch-size", "2", "--workers", "0"]
TINY += ["--threads", "1"]


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


def test_validation_every_few_epochs_and_at_the_last(tmp_path, tiny_run, run_log):
    folder = tiny_run(tmp_path).train_images
    val = {"val_annotations": f"{folder}/test_crowdpose.json", "val_images": folder}

    def validated(name: str, **changes) -> list[int]:
        train(tiny_run(tmp_path / name, epochs=5, **val, **changes))
        log = run_log(tmp_path / name)
        return [r["epoch"] for r in log if "AP" in r]

    assert validated("run", val_every=2) == [1, 3, 4]
    assert torch.load(tmp_path / "run" / "best.pt", weights_only=False)["epoch"] in (1, 3, 4)
    assert validated("stopped", val_every=3, max_steps=2) == [1]  # one step an epoch: --max-steps ends epoch 1


def test_images_apart_from_a_data_folder_are_refused(tmp_path, shared_data, capsys):
    argv = ["train", "--train-data", str(shared_data / "val"), "--train-images", str(tmp_path)]
    assert main([*argv, "--out", str(tmp_path / "run")]) == 2
    assert "--train-images goes with an annotation .json" in capsys.readouterr().err


def test_bad_weights_are_a_clear_error(tmp_path, shared_data, capsys):
    folder = shared_data / "crowdpose_sample"
    argv = ["train", "--train-data", str(folder / "test_crowdpose.json"), "--source-weights", "[1, 2]"]
    assert main([*argv, "--out", str(tmp_path)]) == 2
    assert "--source-weights must be a JSON object" in capsys.readouterr().err
    argv[-1] = '{"human": 0.5}'  # a misspelt source weighed nothing, silently
    quick = ["--schema", "crowdpose", "--max-steps", "1", "--workers", "0", "--out", str(tmp_path / "run")]
    assert main([*argv, *quick]) == 2
    assert "--source-weights names 'human', the source of no training annotation" in capsys.readouterr().err
    assert main([*argv[:3], "--ae-factor", "-1", "--out", str(tmp_path)]) == 2
    assert "--ae-factor must be non-negative" in capsys.readouterr().err
    assert main([*argv[:3], "--mosaic", "1.5", "--out", str(tmp_path)]) == 2
    assert "--mosaic must be a probability" in capsys.readouterr().err
    assert main([*argv[:3], "--ema", "1", "--out", str(tmp_path)]) == 2
    assert "--ema must be a decay" in capsys.readouterr().err
    assert main([*argv[:3], "--precise-bn", "-1", "--out", str(tmp_path)]) == 2
    assert "--precise-bn must be a number of batches" in capsys.readouterr().err
    assert main([*argv[:3], "--seed", "-1", "--out", str(tmp_path)]) == 2
    assert "--seed must be a whole number from 0 to 4294967295, not -1" in capsys.readouterr().err
    largest = "--seed", "4294967295"  # taken: the run goes on to its next check
    assert main([*argv[:3], *largest, "--source-weights", '{"": 1e39}', "--out", str(tmp_path)]) == 2  # float32 inf
    assert "--source-weights are loss weights of each source's people, at most 1000" in capsys.readouterr().err


def test_a_run_again_with_its_seed_learns_the_same_weights(tmp_path, tiny_run):
    def weights(out: str) -> dict:  # two steps on augmented samples
        train(tiny_run(tmp_path / out, seed=3, max_steps=2))
        return torch.load(tmp_path / out / "last.pt", weights_only=False)["model"]

    first, again = weights("first"), weights("again")
    assert all(torch.equal(first[k], again[k]) for k in first)


@pytest.mark.parametrize(
    "options,message",
    [
        (["--batch-size", "0"], "--batch-size must be positive, not 0"),
        (["--epochs", "0", "--max-steps", "1"], "--epochs must be positive, not 0"),
        (["--max-steps", "0"], "--max-steps must be positive, not 0"),
        (["--workers", "-1"], "--workers must be a number of processes"),
        (["--threads", "0"], "--threads must be from 1 to 1024, not 0"),
        (["--threads", "1000000000000"], "--threads must be from 1 to 1024, not 1000000000000"),  # a traceback
        (["--workers", "1000000000000"], "--workers must be a number of processes from 0"),  # hung, forking
        (["--val-images", "{tmp}"], "--val-images goes with --val-data"),  # silently unused
        (["--distill", "{tmp}"], "is a folder (give the MobileNetV2-1.0 ImageNet .pth)"),  # "does not exist"
        (["--init", "{tmp}/gone.pt"], "gone.pt does not exist (give a checkpoint"),  # said once the data had loaded
        (["--lr", "-1"], "--lr must be a positive learning rate, not -1.0"),
        (["--milestones", "abc"], "--milestones must be comma-separated positive epochs"),
        (["--milestones", "40,0"], "--milestones must be comma-separated positive epochs"),
        (["--size", "0"], "--size must be a positive multiple of 32 up to 2048, not 0"),
        (["--size", "100"], "--size must be a positive multiple of 32 up to 2048, not 100"),
        (["--val-every", "0"], "--val-every must be positive, not 0"),
        (["--val-every", "5"], "--val-every needs --val-data"),
        (["--out", "{tmp}/text.avi"], "text.avi is a file, not a run folder"),
        (["--out", "{tmp}/text.avi/run"], "text.avi is not a folder"),
        (["--lr", "inf"], "--lr must be a positive learning rate, not inf"),
        (["--ae-factor", "nan"], "--ae-factor must be non-negative, not nan"),
        (["--epochs", "9", "--milestones", "5,3"], "the lr drops must rise and come before the last of 9 epochs"),
        (["--epochs", "4", "--milestones", "2,4"], "the lr drops must rise and come before the last of 4 epochs"),
        (["--epochs", "9", "--milestones", "3,3"], "the lr drops must rise and come before the last of 9 epochs"),
        (["--distill-factor", "0"], "--distill-factor must be positive, not 0.0"),
        (["--distill-factor", "0.05"], "--distill-factor weighs the feature hints of --distill"),  # silently unused
        # the model file it would end in is refused by every command (a variant or dataset that is not one line)
        (["--dataset-name", "mine\nwlitepose: wrote"], "--dataset-name must be one line of printable text of at most"),
    ],
)
def test_bad_counts_rates_and_run_folders_are_one_sentence_and_exit_2(options, message, tmp_path, shared_data, capsys):
    (tmp_path / "text.avi").write_text("")
    data = shared_data / "crowdpose_sample" / "test_crowdpose.json"
    argv = ["train", "--train-data", str(data), "--out", str(tmp_path / "run")]
    assert main([*argv, *(option.format(tmp=tmp_path) for option in options)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err and "Traceback" not in err
    assert not (tmp_path / "run").exists() and (tmp_path / "text.avi").read_text() == ""


def test_resumed_schedule_takes_the_new_milestones():
    """A run saved at epoch 25 of a 350/480 schedule, resumed with drops at 20 and 30: lr 1e-4 now,
    1e-5 from epoch 30."""
    model = torch.nn.Linear(2, 2)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    scheduler = torch.optim.lr_scheduler.MultiStepLR(optimizer, [350, 480], gamma=0.1)
    for _ in range(25):
        optimizer.step()
        scheduler.step()
    reschedule(scheduler, (20, 30))
    assert optimizer.param_groups[0]["lr"] == pytest.approx(1e-4)
    for _ in range(5):
        optimizer.step()
        scheduler.step()
    assert scheduler.last_epoch == 30 and optimizer.param_groups[0]["lr"] == pytest.approx(1e-5)


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


def test_the_step_progress_on_a_log_file_is_whole_lines(tmp_path, tiny_run, capsys):
    train(tiny_run(tmp_path, batch_size=1, epochs=1))  # two steps: a redrawn line would be two fragments
    err = capsys.readouterr().err
    assert "\r" not in err  # stderr here is no terminal: a line ended by \r there is one the log never ends
    assert any(line.startswith("epoch 1/1 1/2 loss") for line in err.splitlines())  # the first step, logged


def test_an_epochs_summary_counts_it_as_its_progress_line_does(tmp_path, tiny_run, capsys):
    """The progress of the first epoch read "epoch 1/2", and its summary below it "epoch 0: lr ...": the log.jsonl
    and the checkpoints count from 0, a person from 1."""
    train(tiny_run(tmp_path, batch_size=2, epochs=2))
    lines = capsys.readouterr().err.splitlines()
    counted = [line.split(" ")[1] for line in lines if line.startswith("epoch ")]
    assert counted[0] == "1/2" and [word for word in counted if word.endswith(":")] == ["1:", "2:"]


def test_a_resumed_run_says_it_keeps_its_own_lr(tmp_path, tiny_run, capsys, run_log):
    train(tiny_run(tmp_path, lr=5e-4, max_steps=1))
    train(tiny_run(tmp_path, max_steps=2, resume=True))  # no --lr: nothing to say
    assert "its own schedule" not in capsys.readouterr().err
    train(tiny_run(tmp_path, lr=1e-3, max_steps=3, resume=True))
    err = capsys.readouterr().err
    assert "continues its own schedule from --lr 0.0005; the --lr 0.001 given now is not used" in err
    log = run_log(tmp_path)
    assert [r["lr"] for r in log] == pytest.approx([5e-4] * 3)


def test_a_diverged_run_stops_and_saves_nothing(tmp_path, tiny_run, monkeypatch):
    import training.trainer

    real = training.trainer.compute_losses

    def diverged(model, batch, config):
        losses = real(model, batch, config)
        return {**losses, "total": losses["total"] * float("nan")}

    monkeypatch.setattr(training.trainer, "compute_losses", diverged)
    with pytest.raises(WLitePoseError, match="training diverged: the loss is nan at step 1; nothing was saved"):
        train(tiny_run(tmp_path / "run"))
    assert not (tmp_path / "run" / "last.pt").exists()


def test_a_new_run_never_mixes_with_an_earlier_one_in_its_folder(tmp_path, tiny_run):
    out = tmp_path / "run"
    train(tiny_run(out, max_steps=1))
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    with pytest.raises(WLitePoseError, match="holds an earlier run: pass --resume to continue it"):
        train(tiny_run(out, max_steps=1))
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before


def test_a_finished_run_without_validation_points_at_the_checkpoint_it_has(tmp_path, tiny_run):
    train(tiny_run(tmp_path, epochs=1))
    with pytest.raises(WLitePoseError, match=f"wlitepose export --checkpoint {tmp_path / 'last.pt'}`"):
        train(tiny_run(tmp_path, epochs=1, resume=True))


def _copy_set(shared_data, tmp_path, change) -> str:
    """The CrowdPose sample as a folder of its own (annotations.json + images), its dict passed through ``change``."""
    folder = shared_data / "crowdpose_sample"
    data = json.loads((folder / "test_crowdpose.json").read_text())
    (tmp_path / "set" / "images").mkdir(parents=True)
    for image in data["images"]:
        (tmp_path / "set" / "images" / image["file_name"]).write_bytes((folder / image["file_name"]).read_bytes())
    change(data)
    (tmp_path / "set" / "annotations.json").write_text(json.dumps(data))
    return str(tmp_path / "set")


def _unlabel_with_null(data):
    for ann in data["annotations"]:
        kps = ann["keypoints"]
        for j in range(0, len(kps), 3):
            if kps[j + 2] == 0:
                kps[j], kps[j + 1] = None, None  # an unlabelled joint without a position, as some tools write
    assert any(None in ann["keypoints"] for ann in data["annotations"])


def _label_a_null(data):
    kps = data["annotations"][0]["keypoints"]
    kps[0], kps[2] = None, 2


def _reorder(data):
    names = data["categories"][0]["keypoints"]
    names[0], names[1] = names[1], names[0]


def _lose_an_image(data):
    data["images"][0]["file_name"] = "elsewhere.jpg"


def _dev_copy(shared_data, tmp_path, change) -> str:
    """The dev set (COCO-17) as a folder of its own, its annotations passed through ``change``."""
    data = json.loads((shared_data / "val" / "annotations.json").read_text())
    change(data)
    (tmp_path / "dev").mkdir()
    (tmp_path / "dev" / "annotations.json").write_text(json.dumps(data))
    (tmp_path / "dev" / "images").symlink_to(shared_data / "val" / "images")
    return str(tmp_path / "dev")


@pytest.mark.parametrize(
    "change, message",
    [
        (_label_a_null, "has a labelled keypoint without a position (null, NaN or inf)"),
        (_reorder, "lists its keypoints in another order than the coco schema"),
        (_lose_an_image, "1 image of --val-data"),
    ],
)
def test_a_faulty_validation_set_is_refused_before_an_epoch_is_spent(tmp_path, shared_data, capsys, change, message):
    argv = ["train", "--train-data", str(shared_data / "val"), "--val-data", _dev_copy(shared_data, tmp_path, change)]
    assert main([*argv, "--out", str(tmp_path / "run")]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1 and not (tmp_path / "run").exists()


def test_unlabelled_joints_without_a_position_train_and_evaluate(tmp_path, shared_data, tiny_run, capsys):
    folder = _copy_set(shared_data, tmp_path, _unlabel_with_null)
    train(
        tiny_run(
            tmp_path / "run",
            max_steps=1,
            train_annotations=f"{folder}/annotations.json",
            train_images=f"{folder}/images",
        )
    )
    assert main(["export", "--checkpoint", str(tmp_path / "run" / "last.pt"), "--out", str(tmp_path / "m.onnx")]) == 0
    argv = ["eval", "--model", str(tmp_path / "m.onnx"), "--annotations", f"{folder}/annotations.json"]
    assert main([*argv, "--images", f"{folder}/images"]) == 0, capsys.readouterr().err


def test_training_data_in_another_keypoint_order_is_refused(tmp_path, shared_data, capsys):
    argv = ["train", "--train-data", _dev_copy(shared_data, tmp_path, _reorder), "--out", str(tmp_path / "run")]
    assert main(argv) == 2
    assert "lists its keypoints in another order than the coco schema" in capsys.readouterr().err


@pytest.mark.parametrize(
    "weights, message",
    [
        ('{"": 0}', "give every training image weight 0"),
        ('{"cctv": 1e309}', "must be a JSON object of non-negative finite numbers"),
        ('{"vtset": 2}', "--sample-weights names 'vtset', the source of no training image with people; theirs are"),
        ('{"": 1e15}', "--sample-weights are draws of an image per epoch, at most 1000"),  # was 16 PB asked for
    ],
)
def test_sample_weights_that_draw_nothing_or_too_much_are_refused(tmp_path, shared_data, capsys, weights, message):
    folder = shared_data / "crowdpose_sample"
    argv = ["train", "--train-data", str(folder / "test_crowdpose.json"), "--schema", "crowdpose", "--max-steps", "1"]
    assert main([*argv, "--workers", "0", "--sample-weights", weights, "--out", str(tmp_path / "run")]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err and not (tmp_path / "run").exists()


def test_a_damaged_image_read_by_a_loader_worker_is_one_sentence(tmp_path, shared_data):
    # in a process of its own, as users run it: a loader worker forked from a test process that has run Qt or
    # ONNX Runtime threads could deadlock
    folder = _copy_set(shared_data, tmp_path, lambda data: None)
    for image in (tmp_path / "set" / "images").iterdir():
        image.write_bytes(b"not a jpeg")
    argv = ["train", "--train-data", folder, "--schema", "crowdpose", "--variant", "litepose_xs", "--size", "64"]
    argv += ["--batch-size", "2", "--workers", "1", "--max-steps", "1", "--out", str(tmp_path / "run")]
    runner = "import sys, main; sys.exit(main.main(sys.argv[1:]))"
    done = subprocess.run([sys.executable, "-c", runner, *argv], capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert done.returncode == 2 and done.stderr.startswith("wlitepose: error: image "), done.stderr
    assert "missing or unreadable" in done.stderr and done.stderr.count("\n") == 1


def test_a_home_relative_out_is_written_in_home(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.chdir(tmp_path)
    assert main(["export", "--variant", "litepose_xs", "--out=~/x.onnx"]) == 0
    assert (tmp_path / "home" / "x.onnx").is_file() and not (tmp_path / "~").exists()


@pytest.mark.parametrize("categories", [[], [{"keypoints": 5}]])
def test_odd_categories_of_training_data_are_no_traceback(tmp_path, shared_data, tiny_run, categories):
    folder = _copy_set(shared_data, tmp_path, lambda data: data.update(categories=categories))
    run = tiny_run(tmp_path / "run", max_steps=1, train_annotations=f"{folder}/annotations.json")
    try:
        train(dataclasses.replace(run, train_images=f"{folder}/images"))
    except WLitePoseError as error:  # refused in one sentence, or trained
        assert "\n" not in str(error)


@pytest.mark.parametrize(
    ("options", "schedule"),
    [
        (["--schema", "crowdpose"], (200, (50, 180))),  # CrowdPose data trains on the paper's CrowdPose schedule
        (["--schema", "crowdpose", "--preset", "coco"], (500, (350, 480))),
        ([], (500, (350, 480))),
        (["--preset", "crowdpose"], (200, (50, 180))),
    ],
)
def test_the_schedule_follows_the_schema_unless_a_preset_is_given(
    tmp_path, shared_data, monkeypatch, options, schedule
):
    started = []
    monkeypatch.setattr("training.trainer.train", lambda config: started.append(config))  # None: nothing to export
    crowdpose = options[:2] == ["--schema", "crowdpose"]
    data = shared_data / ("crowdpose_sample/test_crowdpose.json" if crowdpose else "val")
    assert main(["train", "--train-data", str(data), *options, "--out", str(tmp_path / "run")]) == 0
    assert (started[0].epochs, tuple(started[0].milestones)) == schedule


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


def test_a_resumed_run_given_more_epochs_keeps_its_own_lr_drops(tmp_path, shared_data, run_log, capsys):
    data = str(shared_data / "crowdpose_sample" / "test_crowdpose.json")
    argv = ["train", "--train-data", data, *TINY, "--out", str(tmp_path)]
    assert main([*argv, "--epochs", "2", "--milestones", "1"]) == 0
    assert main([*argv, "--epochs", "3", "--resume"]) == 0  # --epochs alone: not the preset's drops, at 50 and 180
    assert "preset drops the lr" not in capsys.readouterr().err
    assert [r["lr"] for r in run_log(tmp_path)] == pytest.approx([1e-3, 1e-4, 1e-4])


def test_a_resumed_run_without_validation_exports_what_it_trained(tmp_path, tiny_run, capsys):
    folder = tiny_run(tmp_path).train_images
    val = {"val_annotations": f"{folder}/test_crowdpose.json", "val_images": folder}
    assert train(tiny_run(tmp_path, epochs=1, **val)) == tmp_path / "best.pt"
    assert train(tiny_run(tmp_path, epochs=2, resume=True)) == tmp_path / "last.pt"  # best.pt is epoch 0's
    argv = ["train", "--train-data", f"{folder}/test_crowdpose.json", *TINY]
    assert main([*argv, "--epochs", "3", "--resume", "--out", str(tmp_path)]) == 0
    assert f"wrote {tmp_path / 'best.onnx'} (from {tmp_path / 'last.pt'})" in capsys.readouterr().out


@pytest.fixture(scope="module")
def crowdpose_model(tmp_path_factory) -> Path:
    """An untrained 14-keypoint model file, for eval's checks of the annotations."""
    path = tmp_path_factory.mktemp("model") / "crowdpose.onnx"
    assert main(["export", "--variant", "litepose_xs", "--schema", "crowdpose", "--out", str(path)]) == 0
    return path


def _bad_polygon(data):
    data["annotations"].append({"id": 9, "image_id": data["images"][0]["id"], "iscrowd": 1, "bbox": [1, 2, 29, 2]})
    data["annotations"][-1]["segmentation"] = [[1, 2, 30, 4, 30]]  # five numbers: no x, y pairs


def _mask_of_words(data):
    _bad_polygon(data)
    image = data["images"][0]
    data["annotations"][-1]["segmentation"] = {"size": [image["height"], image["width"]], "counts": ["x"]}


def _null_file_name(data):
    data["images"][0]["file_name"] = None


def _iscrowd_in_words(data):
    data["annotations"][0]["iscrowd"] = "no"


def _background_image(data):
    data["images"].append({"id": 1, "file_name": "empty.jpg", "width": 64, "height": 64})


@pytest.mark.parametrize(
    "change, message",
    [
        (_bad_polygon, "annotation 9 has a segmentation that is neither polygons (lists of x, y numbers) nor a mask"),
        (_mask_of_words, "annotation 9 has a mask (RLE) whose size is not a height and width or whose counts are"),
        (_null_file_name, "every image needs an id and a file_name"),
        (_iscrowd_in_words, 'has iscrowd "no", not 0 or 1'),
    ],
)
def test_malformed_regions_and_images_are_one_sentence_in_train_and_eval(
    tmp_path, shared_data, capsys, crowdpose_model, change, message
):
    folder = _copy_set(shared_data, tmp_path, change)
    argv = ["train", "--train-data", folder, *TINY, "--max-steps", "1", "--out", str(tmp_path / "run")]
    assert main(argv) == 2  # refused when the file is read: a step never comes
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err and not (tmp_path / "run").exists()
    assert message in err or change is _null_file_name and "image 106848 has no file_name" in err, err
    argv = ["eval", "--model", str(crowdpose_model), "--annotations", f"{folder}/annotations.json"]
    assert main([*argv, "--images", f"{folder}/images"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err, err


def test_images_without_people_are_said_to_be_left_out(tmp_path, shared_data, tiny_run, capsys):
    folder = _copy_set(shared_data, tmp_path, _background_image)
    data = {"train_annotations": f"{folder}/annotations.json", "train_images": f"{folder}/images"}
    train(tiny_run(tmp_path / "run", max_steps=1, **data))
    assert "1 of the training images has no labelled person and is left out" in capsys.readouterr().err


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


@pytest.mark.parametrize(
    "argv",
    [
        ["track", "clip.mp4", "--openpose-dir", ""],
        ["track", ""],
        ["eval", "--model", "", "--annotations", "a.json", "--images", "images"],
        ["train", "--train-data", "data", "--init", ""],
        ["train", "--train-data", "data", "--val-data", ""],
        ["train", "--train-data", "data", "--milestones", ""],
        ["train", "--train-data", "data", "--distill", ""],
        ["train", "--train-data", "data", "--out", ""],
        ["export", "--checkpoint", "", "--out", "x.onnx"],
        ["shrink-data", "data", "--out", ""],
        ["gui", ""],  # `wlitepose ""`: the app, on the current folder
    ],
)
def test_an_empty_value_is_refused_by_its_option(argv, capsys):
    """An unset shell variable: --init '' trained from random weights, --val-data '' left validation out, and
    --openpose-dir '' wrote into the current folder, each exiting 0; --checkpoint '' was an 'unknown variant None'."""
    with pytest.raises(SystemExit) as exit_info:
        build_parser().parse_args(argv)  # the parser's refusal: were it gone, no command (the app) starts here
    err = capsys.readouterr().err
    assert exit_info.value.code == 2 and "is empty (an unset shell variable?)" in err and "Traceback" not in err


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


def test_a_line_left_cut_short_before_a_resume_is_dropped(tmp_path, tiny_run, run_log):
    """A run killed while writing its epoch's line, or one an earlier release left when the disk filled, ends the
    log without a line end: the resumed run's first epoch joined the cut line, both lost to a line reader."""
    out = tmp_path / "run"
    train(tiny_run(out, max_steps=2))
    whole = (out / "log.jsonl").read_bytes()
    (out / "log.jsonl").write_bytes(whole[:-40])  # epoch 1's line without its end
    train(tiny_run(out, resume=True))
    assert [record["epoch"] for record in run_log(out)] == [0, 2]


def test_each_option_reaches_the_training_config(tmp_path, shared_data, monkeypatch):
    import training.trainer

    configs = []
    monkeypatch.setattr(training.trainer, "train", lambda config: configs.append(config))  # None: as rank > 0
    data = shared_data / "crowdpose_sample" / "test_crowdpose.json"
    pth = shared_data / "pretrained" / "mobilenetv2_1.0_imagenet.pth"
    argv = ["train", "--train-data", str(data), "--out", str(tmp_path / "run"), "--epochs", "4"]
    argv += ["--milestones", "2", "--ae-factor", "0.02", "--distill", str(pth), "--distill-factor", "0.05"]
    argv += ["--dataset-name", "mine", "--mosaic", "1", "--ema", "0.9", "--precise-bn", "3"]
    argv += ["--source-weights", '{"human": 0}', "--sample-weights", '{"": 2}']  # 0: leave a source out
    argv += ["--loss", "mse", "--threads", "1", "--workers", "0", "--size", "64", "--lr", "0.002", "--max-steps", "5"]
    argv += ["--minutes", "2", "--init", f"imagenet:{pth}", "--resume", "--seed", "7"]
    assert main(argv) == 0
    config = configs[0]
    assert (config.pull_factor, config.push_factor, config.distill_factor) == (0.02, 0.02, 0.05)
    assert (config.dataset, config.mosaic, config.ema, config.precise_bn) == ("mine", 1.0, 0.9, 3)
    assert (config.source_weights, config.sample_weights) == ({"human": 0.0}, {"": 2.0})
    assert (config.epochs, config.milestones, config.milestones_given) == (4, (2,), True)
    assert (config.loss, config.threads, config.workers, config.input_size, config.lr) == ("mse", 1, 0, 64, 0.002)
    assert (config.max_steps, config.minutes, config.init, config.resume) == (5, 2.0, f"imagenet:{pth}", True)
    assert config.seed == 7


def test_an_annotation_file_reads_the_images_folder_beside_it_else_its_own(tmp_path, shared_data, monkeypatch):
    import training.trainer

    configs = []
    monkeypatch.setattr(training.trainer, "train", lambda config: configs.append(config))
    (tmp_path / "dev" / "images").mkdir(parents=True)  # COCO's layout: dev.json beside images/
    (tmp_path / "dev" / "dev.json").write_text((shared_data / "val" / "annotations.json").read_text())
    sample = shared_data / "crowdpose_sample"  # its images lie beside its .json
    argv = ["train", "--train-data", str(sample / "test_crowdpose.json"), "--schema", "crowdpose"]
    argv += ["--val-data", str(tmp_path / "dev" / "dev.json"), "--out", str(tmp_path / "run")]
    assert main(argv) == 0
    assert (configs[0].train_images, configs[0].val_images) == (str(sample), str(tmp_path / "dev" / "images"))


def test_a_run_on_small_crops_exports_a_model_for_the_variants_size(tmp_path, shared_data):
    import onnxruntime

    data = shared_data / "crowdpose_sample" / "test_crowdpose.json"
    argv = ["train", "--train-data", str(data), *TINY, "--max-steps", "1", "--epochs", "1", "--out", str(tmp_path)]
    assert main(argv) == 0
    meta = onnxruntime.InferenceSession(str(tmp_path / "best.onnx")).get_modelmeta().custom_metadata_map
    assert meta["input_size"] == "256"  # litepose_xs's, not the 64 px training crop


def test_best_pt_keeps_the_epoch_of_the_highest_validation_ap(tmp_path, tiny_run, run_log, monkeypatch):
    from training import trainer

    scores = iter([0.2, 0.5, 0.3])
    monkeypatch.setattr(trainer, "validate", lambda model, config, size, path: {"AP": next(scores)})
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
    monkeypatch.setattr(trainer, "validate", lambda model, config, size, path: {"AP": next(scores)})
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


def test_init_from_imagenet_weights_without_a_mobilenetv2_layer_is_refused(tmp_path, shared_data, capsys):
    torch.save({"classifier.weight": torch.zeros(3)}, tmp_path / "other.pth")
    argv = ["train", "--train-data", str(shared_data / "crowdpose_sample" / "test_crowdpose.json"), *TINY]
    argv += ["--train-images", str(shared_data / "crowdpose_sample"), "--init", f"imagenet:{tmp_path / 'other.pth'}"]
    assert main([*argv, "--out", str(tmp_path / "run")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "no MobileNetV2 layer found in it to copy" in err
    assert not (tmp_path / "run").exists()
