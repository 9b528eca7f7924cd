"""Fixtures every test folder uses."""

from pathlib import Path

import cv2
import pytest

VTEST = Path(__file__).resolve().parents[2] / "shared" / "data" / "videos" / "vtest.avi"


@pytest.fixture
def write_clip():
    """write_clip(path, frames): the first frames of vtest.avi as a short MJPG clip at 10 fps."""
    if not VTEST.is_file():
        pytest.skip("../shared/data is absent")

    def write(path: Path, frames: int) -> Path:
        source = cv2.VideoCapture(str(VTEST))
        writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 10.0, (768, 576))
        for _ in range(frames):
            writer.write(source.read()[1])
        writer.release()
        source.release()
        return path

    return write
