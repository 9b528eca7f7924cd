"""Output files seen from the window: whether one holds an earlier export, which sources of a batch were exported
to their end before, and a recording's names claimed before it starts."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

from core.frame_loop import finished_before
from core.model_file import file_sha256
from core.output_lock import LOCK_SUFFIX
from core.pipeline import PipelineConfig, run_settings
from core.sinks import SinkOptions


def holds_data(path: Path) -> bool:
    """An earlier export: a file, or a folder with files (an empty OpenPose folder holds nothing to lose, nor one
    holding only the lock a killed run left); nor a name too long to look at, which writing it refuses in words
    (raised here, it ended a press of Record in a traceback, the button left down)."""
    try:
        return path.is_file() or (path.is_dir() and any(not p.name.endswith(LOCK_SUFFIX) for p in path.iterdir()))
    except OSError:
        return False


def finished_sources(
    jobs: list[tuple[str, SinkOptions]], model: str, input_size: int, config: PipelineConfig, image_fps: float
) -> list[str]:
    """The sources of a batch whose exports in the folder ran to the end with the model file ``model`` as the
    export will load it (another written over it since it was loaded is another model) and these settings
    (their CSVs' sidecars say so)."""
    try:
        sha256 = file_sha256(model)
    except OSError:
        return []  # gone: the export says so
    settings = run_settings(config, input_size)
    return [spec for spec, sinks in jobs if finished_before(spec, sinks, sha256, settings, image_fps)]


def claim_take(options: SinkOptions) -> bool:
    """Create the take's first file (or its OpenPose folder, when that is all it writes) now, empty, unless it
    exists (False): a second window recording the same source at the same moment takes the next name, rather
    than both writing into one CSV or one folder of frames."""
    fields = [(field, path) for field, path in asdict(options).items() if path]
    if not fields:
        return True
    field, first = next(((f, p) for f, p in fields if f != "openpose_dir"), fields[0])
    try:
        Path(first).parent.mkdir(parents=True, exist_ok=True)
    except OSError:  # a file in the folder's place, or no right to make it: the recording says so when it starts
        return True  # (False asks for the next take's name in the same folder: the window looked for one for ever)
    try:
        if field == "openpose_dir":
            Path(first).mkdir()
        else:
            open(first, "xb").close()
    except FileExistsError:
        return False
    except OSError:  # an unwritable folder: the recording says so when it starts
        pass
    return True
