"""User-facing errors of the model tools (kept apart from core/, which models/ never imports)."""


class ModelError(ValueError):
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
