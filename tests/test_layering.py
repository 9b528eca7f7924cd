"""Dependencies point one way: core/ never imports Qt or torch; app/ never imports torch."""

import ast
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
