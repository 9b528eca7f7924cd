"""What the app remembers between runs (QSettings), as one frozen dataclass.

Threshold and smoothing defaults come from core's configs, so the GUI and the CLI start
from the same numbers. Only the fields a user moved from their defaults are stored, so a default a later release
changes reaches everyone who never chose otherwise. They are stored in a group of their own (GROUP): earlier
releases, which stored every field at close, defaults included, write outside it, and an earlier release still
open after an upgrade cannot pin its defaults there again.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from pathlib import Path

from PySide6.QtCore import QSettings

from core.assets import DEFAULT_MODEL
from core.decode import DecodeConfig
from core.draw import Overlay
from core.pipeline import PipelineConfig, tuned_config
from core.sources import IMAGE_FOLDER_FPS, MAX_FPS
from core.tracker import TrackerConfig

INPUT_SIZES = (0, 192, 256, 320, 384, 448, 512, 640)  # 0 = the size the model was trained at
EXPORT_FORMATS = ("csv", "coco_json", "coco_dataset", "openpose_dir", "posec3d", "video")  # SinkOptions field names
# the values a field may hold: a settings file edited by hand, or by another version, holds anything
RANGES = {
    "detection_threshold": (0.0, 1.0),
    "keypoint_threshold": (0.0, 1.0),
    "smoothing": (0.0, 1.0),
    "folder_fps": (0.01, MAX_FPS),
}
TRUE, FALSE = {"true", "1", "yes", "on"}, {"false", "0", "no", "off"}
GROUP = "settings2"  # the fields a user chose, in this version's way (earlier releases: outside any group)
VERSION_KEY = f"{GROUP}/version"
# the defaults of earlier releases, which stored every field at close as if the user had chosen it
FORMER_DEFAULTS = {"detection_threshold": (0.1, 0.2), "keypoint_threshold": (0.1,)}


@dataclass(frozen=True)
class AppSettings:
    model: str = ""  # "" = the bundled model
    input_size: int = 0  # 0 = the model's training size
    detection_threshold: float = field(default_factory=lambda: DecodeConfig().detection_threshold)
    keypoint_threshold: float = field(default_factory=lambda: DecodeConfig().keypoint_threshold)
    smoothing: float = field(default_factory=lambda: TrackerConfig().smoothing)
    tracking: bool = True
    shot_changes: bool = field(default_factory=lambda: TrackerConfig().shot_changes)  # a cut starts new tracks
    boxes: bool = field(default_factory=lambda: Overlay().boxes)
    scores: bool = field(default_factory=lambda: Overlay().scores)
    trails: bool = field(default_factory=lambda: Overlay().trails)
    mirror: bool = field(default_factory=lambda: Overlay().mirror)
    speed: float = 1.0
    keep_pace: bool = True
    folder_fps: float = IMAGE_FOLDER_FPS  # the rate image folders play at (track's --fps)
    last_dir: str = ""
    last_url: str = ""
    export_dir: str = ""
    export_formats: tuple[str, ...] = ("csv",)

    def model_path(self) -> Path:
        return Path(self.model) if self.model else DEFAULT_MODEL


def pipeline_config(settings: AppSettings) -> PipelineConfig:
    """The pipeline settings the controls describe, on top of core's defaults."""
    return tuned_config(
        settings.input_size or None,
        settings.detection_threshold,
        settings.keypoint_threshold,
        settings.smoothing,
        tracking=settings.tracking,
        shot_changes=settings.shot_changes,
    )


def load_settings(store: QSettings) -> AppSettings:
    """Read every field, falling back to the default for missing or unreadable values."""
    if not store.contains(VERSION_KEY):
        _take_over_earlier_settings(store)
    defaults = AppSettings()
    values = {}
    for f in dataclasses.fields(AppSettings):
        default = getattr(defaults, f.name)
        raw = store.value(f"{GROUP}/{f.name}", None)
        if raw is None:
            continue
        try:
            values[f.name] = _coerce(raw, default, f.name)
        except (TypeError, ValueError, OverflowError):
            continue
    return dataclasses.replace(defaults, **values)


def save_settings(store: QSettings, settings: AppSettings, loaded: AppSettings | None = None) -> None:
    """Store the fields that differ from ``loaded`` (what this window read at its start; every field without
    it), so that a second window closed later keeps the first one's changes to fields it never touched: a field
    moved back to its default is removed, so that it follows the default of later releases."""
    store.sync()  # what another window wrote since this one started: else a field it added reads as missing
    defaults = AppSettings()
    for f in dataclasses.fields(AppSettings):
        value = getattr(settings, f.name)
        if loaded is not None and value == getattr(loaded, f.name):
            continue
        _store(store, f.name, value, getattr(defaults, f.name))
    store.setValue(VERSION_KEY, 1)
    store.sync()


def _store(store: QSettings, name: str, value: object, default: object) -> None:
    """A field in the group: removed when it holds its default, which it then follows."""
    if value == default:
        store.remove(f"{GROUP}/{name}")
    else:
        store.setValue(f"{GROUP}/{name}", ",".join(value) if isinstance(value, tuple) else value)


def _take_over_earlier_settings(store: QSettings) -> None:
    """The fields an earlier release stored (every one, at close) moved into the group, but for the values that
    were its defaults (today's, or a release's before them): no choice of the user's, they give way to today's."""
    defaults = AppSettings()
    for f in dataclasses.fields(AppSettings):
        raw, default = store.value(f.name, None), getattr(defaults, f.name)
        store.remove(f.name)
        if raw is None:
            continue
        try:
            value = _coerce(raw, default, f.name)
        except (TypeError, ValueError, OverflowError):
            continue
        _store(store, f.name, default if value in FORMER_DEFAULTS.get(f.name, ()) else value, default)
    store.setValue(VERSION_KEY, 1)
    store.sync()


def _coerce(raw: object, default: object, name: str) -> object:
    """``raw`` as the field's type and within its range; ValueError for anything else."""
    if isinstance(default, bool):  # QSettings' INI backend hands booleans back as "true"/"false"
        if isinstance(raw, bool):
            return raw
        word = str(raw).strip().lower()
        if word not in TRUE | FALSE:
            raise ValueError(f"{raw} is not true or false")
        return word in TRUE
    if isinstance(default, tuple):
        items = raw if isinstance(raw, list) else str(raw).split(",")
        return tuple(item for item in items if item in EXPORT_FORMATS)
    if isinstance(default, str) and not isinstance(raw, str):  # "a, b" by hand is a list: str() made "['a', 'b']"
        raise ValueError(f"{raw} is not text")
    value = type(default)(raw)
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError(f"{raw} is not a finite number")
    low, high = RANGES.get(name, (None, None))
    if name == "input_size" and value not in INPUT_SIZES or low is not None and not low <= value <= high:
        raise ValueError(f"{raw} is out of range for {name}")
    return value
