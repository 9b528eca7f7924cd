"""A built wheel carries the default model and the sample clip where the code looks for them."""

import hashlib
import subprocess
import sys
import zipfile
from pathlib import Path

from app.settings import BUNDLED_MODEL, SAMPLE_VIDEO
from core.cli import DEFAULT_MODEL

ROOT = Path(__file__).resolve().parent.parent


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def test_wheel_ships_the_bundled_model_and_sample_next_to_the_code(tmp_path):
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", "-w", str(tmp_path), ROOT],
        check=True,
        capture_output=True,
    )
    (wheel,) = tmp_path.glob("wlitepose-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        for path in (DEFAULT_MODEL, BUNDLED_MODEL, SAMPLE_VIDEO):
            inside = path.relative_to(ROOT).as_posix()
            assert inside in names, f"{inside} is missing from the wheel"
            assert _sha256(archive.read(inside)) == _sha256(path.read_bytes())
        assert {"main.py", "core/cli.py", "app/settings.py"} <= names
        assert not any(name.endswith(".pt") for name in names), "torch weights belong to the repository, not the wheel"
