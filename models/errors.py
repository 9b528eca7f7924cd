"""User-facing errors of the model tools."""

import sys
from pathlib import Path

from core.errors import WLitePoseError


class ModelError(WLitePoseError):
    """Bad variant name, unreadable checkpoint, failed export: one sentence for the user."""


def require_train_extra(command: str) -> None:
    """`info`, `export`, `train` and the model benchmarks run torch and onnx, which inference never installs:
    say how to get them. ``command`` is what the user ran (`wlitepose info`, benchmarks/model_latency.py)."""
    try:
        import onnx  # noqa: F401
        import torch  # noqa: F401
    except ImportError as error:
        raise ModelError(
            f"{command} needs the train extra ({error.name} is not installed): "
            "pip install torch==2.13.0, then the project with its train extra "
            "(in the repository: pip install -e '.[train]')"
        ) from None


def exit_unless_train_extra() -> None:
    """For the benchmark scripts that run torch: exit with require_train_extra's sentence, not a traceback, and
    status 2, as the scripts' other refusals."""
    try:
        require_train_extra(f"benchmarks/{Path(sys.argv[0]).name}")
    except ModelError as error:
        print(error, file=sys.stderr)
        sys.exit(2)
