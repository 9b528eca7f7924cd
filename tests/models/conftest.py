from pathlib import Path

import pytest

CHECKPOINT = Path(__file__).resolve().parents[2] / "assets" / "wlitepose_xs_256.pt"


@pytest.fixture(scope="session")
def bundled_checkpoint() -> Path:
    """The shipped model's torch weights: in the repository, not in the wheel or the sdist."""
    if not CHECKPOINT.is_file():
        pytest.skip("assets/wlitepose_xs_256.pt is not here (the repository has it, the sdist does not)")
    return CHECKPOINT
