"""Shared fixtures for the benchmarks' tests: a script run as a user runs it or loaded as a module, a clock that
moves only when told, and the benchmark videos made from the sample clip."""

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import cv2
import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def run_benchmark():
    """run_benchmark(script, *options, cwd) -> subprocess.CompletedProcess: benchmarks/``script`` run as a user
    runs it, from ``cwd``, offscreen."""
    return _run_benchmark


def _run_benchmark(script: str, *options: str, cwd: Path) -> subprocess.CompletedProcess:
    """benchmarks/``script`` run as a user runs it, from ``cwd``, offscreen."""
    return subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / script), *options],
        cwd=cwd,
        env={**os.environ, "QT_QPA_PLATFORM": "offscreen"},
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.fixture(scope="session")
def load_benchmark():
    """load_benchmark(name) -> benchmarks/``name``.py as a module."""
    return _load_benchmark


def _load_benchmark(name: str):
    """benchmarks/``name``.py as a module (it imports its neighbours, such as arguments.py, as when run)."""
    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        spec = importlib.util.spec_from_file_location(name, ROOT / "benchmarks" / f"{name}.py")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    finally:
        sys.path.remove(str(ROOT / "benchmarks"))
    return module


@pytest.fixture(scope="session")
def fake_clock():
    """fake_clock() -> a clock whose seconds (its ``now``) pass only when a fake piece of work adds to them."""
    return FakeClock


class FakeClock:
    """Seconds that pass only when a fake piece of work says so."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture(scope="session")
def benchmark_clips():
    """benchmark_clips(folder, frames): the sample clip's first ``frames`` frames as both benchmark videos in
    ``folder``."""
    return _benchmark_clips


def _benchmark_clips(folder: Path, frames: int) -> None:
    """The sample clip's first frames under the names of both benchmark videos."""
    capture = cv2.VideoCapture(str(ROOT / "assets" / "samples" / "vtest_clip.mp4"))
    images = [capture.read()[1] for _ in range(frames)]
    capture.release()
    for name, codec in (("vtest.avi", "MJPG"), ("person_tracker_cctv.mp4", "mp4v")):
        height, width = images[0].shape[:2]
        writer = cv2.VideoWriter(str(folder / name), cv2.VideoWriter_fourcc(*codec), 10.0, (width, height))
        for image in images:
            writer.write(image)
        writer.release()
