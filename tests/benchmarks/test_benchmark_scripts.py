"""The benchmark scripts as a user runs them refuse what would make their figures meaningless, in a line: a
negative count sliced a list from its end (calibration on 2,078 images for -5), 0 threads timed ONNX Runtime's
default, bad numbers were tracebacks. Also their help under python -OO, Ctrl-C, and their shared argument types."""

import argparse
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    "script, options, message",
    [
        ("compression.py", ["--calibration-images", "-5"], "--calibration-images: must be at least 1, not -5"),
        ("pipeline.py", ["--threads", "0"], "--threads: must be at least 1, not 0"),
        ("display.py", ["--video", str(ROOT / "README.md")], "display: " + str(ROOT / "README.md") + " is not a"),
    ],
)
def test_a_bad_option_is_one_line_and_exit_2(tmp_path, script, options, message, run_benchmark):
    """The scripts as a user runs them, from anywhere (tracking_quality's and training_speed's refusals below)."""
    done = run_benchmark(script, *options, cwd=tmp_path)
    assert done.returncode == 2 and message in done.stderr, done.stderr
    assert "Traceback" not in done.stderr and not list(tmp_path.iterdir())


@pytest.mark.parametrize(
    "script, options, message",
    [
        ("pipeline.py", ["--frames", "0"], "--frames: must be at least 1, not 0"),
        ("tracking_quality.py", ["--thresholds", "abc"], "'abc' is not a comma-separated list of numbers"),
        ("tracking_quality.py", ["--thresholds", "0.2,5"], "each must be above 0 and at most 1: 0.2,5"),
        (
            "tracking_quality.py",
            ["--annotations", str(ROOT / "README.md"), "--videos", str(ROOT)],
            "cannot be read as JSON",
        ),
        # a joint score above 1 or a negative stray factor drops every joint: figures of nobody, without a word
        (
            "tracking_quality.py",
            ["--keypoint-threshold", "5", "--annotations", str(ROOT / "README.md")],
            "--keypoint-threshold: must be from 0 to 1, not 5",
        ),
        (
            "tracking_quality.py",
            ["--stray-factor", "-1", "--annotations", str(ROOT / "README.md")],
            "--stray-factor: must be at least 0, not -1",
        ),
        ("display.py", ["--size", "0x825"], "--size: both sides must be at least 1: 0x825"),
        ("training_speed.py", ["--samples", "0"], "--samples: must be at least 1, not 0"),
        ("training_speed.py", ["--size", "100"], "--size must be a positive multiple of 32 up to 2048, not 100"),
    ],
)
def test_a_bad_value_is_refused_in_a_line_with_exit_2_before_anything_is_written(
    tmp_path, monkeypatch, capsys, script, options, message, load_benchmark
):
    """main() of each script, in this process, run from tmp_path with ``options`` as its command line."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "argv", [script, *options])
    main = load_benchmark(script.removesuffix(".py")).main
    try:
        code = main()
    except SystemExit as exit_info:
        code = exit_info.code
    err = capsys.readouterr().err
    assert code == 2 and message in err, err
    assert not list(tmp_path.iterdir())


@pytest.mark.parametrize("script", ["pipeline.py", "model_latency.py"])
def test_ctrl_c_mid_run_is_one_line_and_leaves_no_temporary_folder(tmp_path, script):
    """Ctrl-C printed a traceback from wherever it landed (a frame being read, onnxruntime loading: its ImportError).
    It is sent once the script has made its temporary folder, well before its figures."""
    temporary = tmp_path / "tmp"
    temporary.mkdir()
    run = subprocess.Popen(
        [sys.executable, str(ROOT / "benchmarks" / script)],
        cwd=tmp_path,
        env={**os.environ, "QT_QPA_PLATFORM": "offscreen", "TMPDIR": str(temporary)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 60  # a script that never makes its folder fails here, not by hanging
    while run.poll() is None and not list(temporary.glob("tmp*")):  # tempfile's folder, not a library's file
        if time.monotonic() > deadline:
            run.kill()
            pytest.fail("the script made no temporary folder within 60 s")
        time.sleep(0.01)
    run.send_signal(signal.SIGINT)
    out, err = run.communicate(timeout=60)
    assert (run.returncode, out, err) == (-signal.SIGINT, "", f"{script.removesuffix('.py')}: interrupted\n")
    assert not list(temporary.glob("tmp*"))


def test_help_works_under_python_oo_which_strips_docstrings(tmp_path):
    """Five scripts' descriptions came from ``__doc__.splitlines()``: a traceback where docstrings are dropped."""
    done = subprocess.run(
        [sys.executable, "-OO", str(ROOT / "benchmarks" / "pipeline.py"), "--help"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0 and "--model" in done.stdout, done.stderr


def test_a_scripts_description_is_its_docstrings_first_line(load_benchmark):
    arguments = load_benchmark("arguments")
    assert arguments.first_line("Times the pipeline.\n\nIts figures are medians.\n") == "Times the pipeline."
    assert arguments.first_line(None) == ""  # python -OO


def test_a_count_of_at_least_one_takes_one_and_refuses_zero(load_benchmark):
    """With the bound off by one, `display.py --frames 1` said "must be at least 1, not 1"."""
    whole = load_benchmark("arguments").at_least(1)
    assert whole("1") == 1
    with pytest.raises(argparse.ArgumentTypeError, match="must be at least 1, not 0"):
        whole("0")


def test_thresholds_are_sorted_and_above_0(load_benchmark):
    """The lowest threshold is the one grouping runs at: "0.3,0.1" is 0.1 and 0.3."""
    thresholds = load_benchmark("arguments").thresholds
    assert thresholds("0.3,0.1") == [0.1, 0.3]
    with pytest.raises(argparse.ArgumentTypeError, match="each must be above 0 and at most 1: 0,0.2"):
        thresholds("0,0.2")


def test_a_number_in_a_range_takes_its_ends_and_refuses_past_them(load_benchmark):
    fraction, non_negative = load_benchmark("arguments").number_in(0, 1), load_benchmark("arguments").number_in(0)
    assert (fraction("0"), fraction("1"), non_negative("1e9")) == (0.0, 1.0, 1e9)
    for number, text, message in [(fraction, "nan", "from 0 to 1"), (non_negative, "-0.5", "at least 0, not -0.5")]:
        with pytest.raises(argparse.ArgumentTypeError, match=message):
            number(text)
    with pytest.raises(argparse.ArgumentTypeError, match="'x' is not a number"):
        fraction("x")


@pytest.mark.parametrize(
    "raising, code, said",
    [  # Ctrl-C landing in onnxruntime's loading: its ImportError, raised while the KeyboardInterrupt was handled
        (
            "try:\n    raise KeyboardInterrupt\nexcept KeyboardInterrupt:\n    raise ImportError('DLL load failed')",
            -signal.SIGINT,
            "ctrl_c_test: interrupted\n",
        ),
        ("raise ValueError('a fault of its own')", 1, "ValueError: a fault of its own\n"),  # keeps its traceback
        (  # one raised after a Ctrl-C was handled is the script's own too
            "try:\n    raise KeyboardInterrupt\nexcept KeyboardInterrupt:\n    pass\nraise ValueError('after')",
            1,
            "ValueError: after\n",
        ),
    ],
)
def test_an_error_a_ctrl_c_caused_is_one_line_and_any_other_keeps_its_traceback(raising, code, said):
    script = f"from ctrl_c import say_interrupted\nsay_interrupted('ctrl_c_test')\n{raising}\n"
    run = subprocess.run([sys.executable, "-c", script], cwd=ROOT / "benchmarks", capture_output=True, text=True)
    assert (run.returncode, run.stderr.endswith(said)) == (code, True), run.stderr
    assert ("Traceback" in run.stderr) == (code == 1)
