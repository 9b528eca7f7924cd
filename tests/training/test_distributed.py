import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parents[2]


def _torchrun_train(tmp_path, shared_data, *options: str) -> subprocess.CompletedProcess:
    """Two CPU processes (gloo) training litepose_xs at 64 on the CrowdPose sample into tmp_path/run."""
    source = json.loads((shared_data / "crowdpose_sample" / "test_crowdpose.json").read_text())
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "annotations.json").write_text(json.dumps(source))
    (tmp_path / "data" / "images").symlink_to(shared_data / "crowdpose_sample")
    cmd = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--standalone",
        "--nproc_per_node=2",
        str(ROOT / "main.py"),
        "train",
        "--variant",
        "litepose_xs",
        "--schema",
        "crowdpose",
        "--train-data",
        str(tmp_path / "data"),
        "--size",
        "64",
        "--batch-size",
        "1",
        "--workers",
        "0",
        "--out",
        str(tmp_path / "run"),
        *options,
    ]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=600, cwd=ROOT)


@pytest.mark.slow
@pytest.mark.parametrize("hints", [False, True], ids=["plain", "feature-hints"])
def test_two_process_torchrun_on_cpu_trains_and_writes_one_checkpoint(tmp_path, shared_data, hints):
    # the hint adapters sit outside DDP and average their gradients themselves
    distill = ["--distill", str(shared_data / "pretrained" / "mobilenetv2_1.0_imagenet.pth")] if hints else []
    result = _torchrun_train(tmp_path, shared_data, "--epochs", "1", "--max-steps", "2", *distill)
    assert result.returncode == 0, result.stderr[-2000:]
    out = tmp_path / "run"
    assert sorted(p.name for p in out.glob("*.pt")) == ["last.pt"]
    state = torch.load(out / "last.pt", weights_only=False)
    assert state["meta"]["schema"] == "crowdpose" and state["epoch"] == 0
    assert ("hint_adapters" in state) == hints
    assert (out / "best.onnx").is_file()


@pytest.mark.slow
def test_two_processes_on_one_clock_stop_together_and_drop_the_lr_on_time(tmp_path, shared_data):
    options = ["--epochs", "10", "--milestones", "5", "--minutes", "0.2", "--val-data", str(tmp_path / "data")]
    result = _torchrun_train(tmp_path, shared_data, *options, "--val-every", "5")
    assert result.returncode == 0, result.stderr[-2000:]  # a rank that stopped alone would hang the other
    log = [json.loads(line) for line in (tmp_path / "run" / "log.jsonl").read_text().splitlines()]
    # stopped at the time (give or take an epoch of about a second), its last epoch validated
    assert 0.15 <= log[-1]["minutes"] <= 0.3 and "AP" in log[-1]
    lrs = [r["lr"] for r in log]
    assert lrs[0] == pytest.approx(1e-3) and lrs[-1] == pytest.approx(1e-4)
    dropped = next(r["minutes"] for r in log if r["lr"] < 1e-3)  # the lr of the epoch's start
    assert 0.1 <= dropped <= 0.2 + 0.05
