"""benchmarks/training_speed.py: the loader's and a step's times, a shrunk copy's speed-up, and its refusals."""

import json
from pathlib import Path

import pytest


def test_training_speed_refuses_a_bad_shrunk_copy_before_timing_anything(tmp_path, shared_data, run_benchmark):
    """A --shrunk folder whose annotations name no labelled person was a traceback, after the original's loader
    run."""
    train = shared_data / "train"
    (tmp_path / "annotations.json").write_text(json.dumps({"images": [], "annotations": []}))
    done = run_benchmark("training_speed.py", "--data", str(train), "--shrunk", ".", "--samples", "1", cwd=tmp_path)
    assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr
    assert "training_speed: " in done.stderr and "has no image with labelled people" in done.stderr, done.stderr
    assert "ms a sample" not in done.stdout


def test_training_speed_refuses_a_folder_without_annotations_as_the_other_scripts_do(tmp_path, run_benchmark):
    """It exited 1 with no script name, where the other scripts' refusals (compression's of a --data without its
    folders) are exit 2 and name the script."""
    done = run_benchmark("training_speed.py", "--data", str(tmp_path), cwd=tmp_path)
    said = [f"training_speed: {tmp_path} is not a training folder (annotations.json and images/)"]
    assert done.returncode == 2 and done.stderr.splitlines() == said, done.stderr


def test_training_speed_loader_is_ms_a_sample_and_a_step_the_median_after_two_warm_ups(load_benchmark, fake_clock):
    training_speed = load_benchmark("training_speed")
    clock = fake_clock()

    class Dataset:
        def __getitem__(self, index: int) -> None:
            clock.now += 0.002

    assert training_speed.ms_a_sample(Dataset(), [0, 3, 1, 3], clock) == pytest.approx(2.0)
    assert training_speed.median_after_warmup_ms([5.0, 3.0, 0.1, 0.3, 0.2]) == pytest.approx(200.0)


def test_training_speed_says_how_much_faster_a_shrunk_copy_loads(load_benchmark):
    """20 ms a sample against the original's 40: twice as fast (it read "2.00x the original images", after 20 ms)."""
    line = load_benchmark("training_speed").shrunk_line(Path("small"), 20.0, 40.0)
    assert line == "  from small: 20.0 ms a sample (2.00x as fast as the original images)"


def test_training_speed_images_a_second_of_a_slow_step_are_not_zero(load_benchmark):
    """A CPU step of 4 images took 44 s on a busy machine, printed "(0 images/s)"."""
    per_second = load_benchmark("training_speed").per_second
    assert (per_second(4, 44061.5), per_second(1, 41.8), per_second(16, 100.0)) == ("0.091", "24", "160")
