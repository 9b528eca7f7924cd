"""A built wheel carries the default model and the sample clip where the code looks for them, and the source
distribution what checks the code."""

import hashlib
import shutil
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

from core.assets import DEFAULT_MODEL, SAMPLE_CLIP

ROOT = Path(__file__).resolve().parent.parent
# what a checkout holds besides its sources: a build folder here would be packed again (a deleted module shipped)
NOT_SOURCES = ("build", "dist", "runs", ".git", "*.egg-info", "__pycache__", ".*_cache", "*.pt", "tracked*")


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    """A wheel and an sdist built from a copy of the sources, so that no build folder is left in the checkout
    (setuptools packs an old one's files again, modules deleted since included)."""
    out = tmp_path_factory.mktemp("dist")
    source = out / "source"
    shutil.copytree(ROOT, source, ignore=shutil.ignore_patterns(*NOT_SOURCES))
    pip = [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", "-w", str(out)]
    sdist = "from setuptools import build_meta; import sys; build_meta.build_sdist(sys.argv[1])"
    for command in ([*pip, str(source)], [sys.executable, "-c", sdist, str(out)]):
        built = subprocess.run(command, cwd=source, capture_output=True, text=True)
        assert built.returncode == 0, built.stderr[-2000:]  # what the build said, not only that it failed
    return out


def test_wheel_ships_the_bundled_model_and_sample_next_to_the_code(built):
    (wheel,) = built.glob("wlitepose-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        for path in (DEFAULT_MODEL, SAMPLE_CLIP):
            inside = path.relative_to(ROOT).as_posix()
            assert inside in names, f"{inside} is missing from the wheel"
            assert _sha256(archive.read(inside)) == _sha256(path.read_bytes())
        assert {"main.py", "core/assets.py", "core/cli.py", "app/settings.py"} <= names
        assert not any(name.endswith(".pt") for name in names), "torch weights belong to the repository, not the wheel"
        assert not any(name.startswith("tests/") for name in names)
        metadata = next(name for name in names if name.endswith(".dist-info/METADATA"))
        assert "License-Expression: Apache-2.0" in archive.read(metadata).decode()
        assert any(name.endswith(".dist-info/licenses/LICENSE") for name in names)


def test_the_source_distribution_carries_the_whole_test_suite_and_the_licence(built):
    """It held two test files of the suite (setuptools' default), without the conftest.py they need."""
    (sdist,) = built.glob("wlitepose-*.tar.gz")
    with tarfile.open(sdist) as archive:
        names = {name.split("/", 1)[1] for name in archive.getnames() if "/" in name}
    tests = {path.relative_to(ROOT).as_posix() for path in (ROOT / "tests").rglob("*.py")}
    assert tests <= names, sorted(tests - names)[:5]
    assert {"LICENSE", "benchmarks/pipeline.py", "assets/wlitepose_xs_256.onnx"} <= names
    assert not any("__pycache__" in name for name in names)
