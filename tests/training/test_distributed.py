import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
@pytest.mark.parametrize("hints", [False, True], ids=["plain", "feature-hints"])
def test_two_process_torchrun_on_cpu_trains_and_writes_one_checkpoint(tmp_path, shared_data, hints):
    source = json.loads((shared_data / "crowdpose_sample" / "test_crowdpose.json").read_text())
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "annotations.json").write_text(json.dumps(source))
    (tmp_path / "data" / "images").symlink_to(shared_data / "crowdpose_sample")
    out = tmp_path / "run"
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
        "--epochs",
        "1",
        "--max-steps",
        "2",
        "--out",
        str(out),
    ]
    if hints:  # the hint adapters sit outside DDP and average their gradients themselves
        cmd += ["--distill", str(shared_data / "pretrained" / "mobilenetv2_1.0_imagenet.pth")]
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=600, cwd=ROOT)
    assert result.returncode == 0, result.stderr[-2000:]
    assert sorted(p.name for p in out.glob("*.pt")) == ["last.pt"]
    state = torch.load(out / "last.pt", weights_only=False)
    assert state["meta"]["schema"] == "crowdpose" and state["epoch"] == 0
    assert ("hint_adapters" in state) == hints
    assert (out / "best.onnx").is_file()
