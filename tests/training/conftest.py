import json
import sys
from pathlib import Path

import pytest


@pytest.fixture
def tiny_run(shared_data):
    """``tiny_run(out, **changes)``: a TrainConfig for a seconds-long run on the CrowdPose sample."""
    from training.trainer import TrainConfig

    folder = shared_data / "crowdpose_sample"
    fields = dict(
        variant="litepose_xs", schema="crowdpose", input_size=64, batch_size=2, workers=0, epochs=3, threads=1
    )

    def make(out, **changes) -> TrainConfig:
        data = {"train_annotations": str(folder / "test_crowdpose.json"), "train_images": str(folder)}
        return TrainConfig(out=str(out), **{**data, **fields, **changes})

    return make


@pytest.fixture(scope="session")
def wlitepose_command():
    """wlitepose_command(*argv) -> the command line running ``wlitepose argv`` from this checkout (run from its root)
    in a process of its own, as users run it: loader workers forked from pytest's own process, after other tests'
    threads, can hang on a lock."""
    runner = "import sys, main; sys.exit(main.main(sys.argv[1:]))"
    return lambda *argv: [sys.executable, "-c", runner, *map(str, argv)]


@pytest.fixture
def run_log():
    """run_log(out) -> the run folder's log.jsonl, one dict an epoch."""

    def read(out) -> list[dict]:
        return [json.loads(line) for line in (Path(out) / "log.jsonl").read_text().splitlines()]

    return read


class _Trap:
    """A pickle that runs code when loaded: here it creates the file ``marker``."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return open, (str(self.marker), "w")


@pytest.fixture
def code_trap():
    """code_trap(marker) -> an object whose unpickling creates the file ``marker``, as a shared .pt or .pth can hold."""
    return _Trap


@pytest.fixture
def tiny_argv() -> list[str]:
    """`wlitepose train`'s options for a run in seconds on the CrowdPose sample (the data and --out not among them)."""
    tiny = ["--schema", "crowdpose", "--variant", "litepose_xs", "--size", "64", "--batch-size", "2", "--workers", "0"]
    return [*tiny, "--threads", "1"]
