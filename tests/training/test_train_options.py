"""`wlitepose train`'s options: each reaches the run's config, and a bad one is refused in one sentence with
exit 2 and no run folder.
"""

import pytest

from main import build_parser, main


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
        # each image was said missing (the schema given: the coco one's keypoint count is refused first)
        (["--schema", "crowdpose", "--train-images", "{tmp}/text.avi"], "text.avi is a file, not a folder of images"),
        (["--schema", "crowdpose", "--val-data", "{tmp}/set"], "images is a file, not a folder of images"),
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
    (tmp_path / "set").mkdir()
    (tmp_path / "set" / "annotations.json").write_text("{}")
    (tmp_path / "set" / "images").write_text("")
    data = shared_data / "crowdpose_sample" / "test_crowdpose.json"
    argv = ["train", "--train-data", str(data), "--out", str(tmp_path / "run")]
    assert main([*argv, *(option.format(tmp=tmp_path) for option in options)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err and "Traceback" not in err
    assert not (tmp_path / "run").exists() and (tmp_path / "text.avi").read_text() == ""


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


def test_a_home_relative_out_is_written_in_home(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.chdir(tmp_path)
    assert main(["export", "--variant", "litepose_xs", "--out=~/x.onnx"]) == 0
    assert (tmp_path / "home" / "x.onnx").is_file() and not (tmp_path / "~").exists()


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
