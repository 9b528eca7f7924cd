"""The benchmarks refuse what would make their figures meaningless, in a line: a negative count sliced a list
from its end (calibration on 2,078 images for -5), 0 threads timed ONNX Runtime's default, bad numbers were
tracebacks."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize(
    "script, options, message",
    [
        ("compression.py", ["--calibration-images", "-5"], "--calibration-images: must be at least 1, not -5"),
        ("pipeline.py", ["--threads", "0"], "--threads: must be at least 1, not 0"),
        ("tracking_quality.py", ["--thresholds", "abc"], "'abc' is not a comma-separated list of numbers"),
        ("tracking_quality.py", ["--thresholds", "0.2,5"], "each must be above 0 and at most 1: 0.2,5"),
        (
            "tracking_quality.py",
            ["--annotations", str(ROOT / "README.md"), "--videos", str(ROOT)],
            "cannot be read as JSON",
        ),
        ("display.py", ["--size", "0x825"], "--size: both sides must be at least 1: 0x825"),
        ("training_speed.py", ["--samples", "0"], "--samples: must be at least 1, not 0"),
    ],
)
def test_a_bad_option_is_one_line_and_exit_2(tmp_path, script, options, message):
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    done = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / script), *options],
        cwd=tmp_path,  # as run from anywhere
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 2 and message in done.stderr, done.stderr
    assert "Traceback" not in done.stderr and not list(tmp_path.iterdir())
