"""Dependencies point one way: core/ never imports Qt or torch; app/ never imports torch."""

import ast
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FORBIDDEN = {"core": {"PySide6", "pyqtgraph", "torch"}, "app": {"torch"}}


def _imported_roots(path: Path) -> set[str]:
    roots = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            roots.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            roots.add(node.module.split(".")[0])
    return roots


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_package_does_not_import_forbidden_layers(package):
    files = sorted((ROOT / package).rglob("*.py"))
    assert files, f"{package}/ has no Python files"
    offenders = {
        f"{path.relative_to(ROOT)}: {name}" for path in files for name in _imported_roots(path) & FORBIDDEN[package]
    }
    assert not offenders, f"forbidden imports: {sorted(offenders)}"


def test_scanner_sees_nested_and_from_imports(tmp_path):
    sample = tmp_path / "m.py"
    sample.write_text("def f():\n    import torch.nn\n    from PySide6.QtCore import Qt\n")
    assert {"torch", "PySide6"} <= _imported_roots(sample)


def test_importing_the_engine_leaves_the_process_environment_alone():
    """A program embedding core keeps its own OpenCV and FFmpeg logging (and its children inherit nothing of ours)."""
    probe = (
        "import os, json; before = {k: v for k, v in os.environ.items() if 'OPENCV' in k}; "
        "import core, core.estimator, core.sinks, core.track_run; "
        "print(json.dumps([before, {k: v for k, v in os.environ.items() if 'OPENCV' in k}]))"
    )
    env = {k: v for k, v in os.environ.items() if "OPENCV" not in k}
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=ROOT, env=env, check=True)
    before, after = json.loads(out.stdout)
    assert before == after == {}
