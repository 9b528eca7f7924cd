"""Read and validate the metadata a WLitePose ONNX file carries (the training -> inference contract)."""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
from dataclasses import dataclass
from pathlib import Path

from core.assets import DEFAULT_MODEL, bundled_hint
from core.errors import WLitePoseError
from core.preprocess import MAX_INPUT_SIZE

FORMAT_VERSION = "1"
REQUIRED_KEYS = (
    "wlitepose_format",
    "variant",
    "input_size",
    "dataset",
    "trained",
    "keypoint_names",
    "skeleton",
    "flip_map",
    "oks_sigmas",
    "mean",
    "std",
    "heatmap_stride",
    "tag_stride",
)


@dataclass(frozen=True)
class ModelInfo:
    keypoint_names: tuple[str, ...]
    skeleton: tuple[tuple[int, int], ...]
    flip_map: tuple[int, ...]
    sigmas: tuple[float, ...]
    mean: tuple[float, float, float]  # RGB, 0-1 scale
    std: tuple[float, float, float]
    heatmap_stride: int
    tag_stride: int
    variant: str
    input_size: int
    dataset: str
    trained: bool
    sha256: str = ""  # of the model file, recorded in the CSV sidecar

    @property
    def num_keypoints(self) -> int:
        return len(self.keypoint_names)


def parse_metadata(meta: dict[str, str], path: str | Path, sha256: str = "") -> ModelInfo:
    """Build a ModelInfo from ONNX metadata_props; a WLitePoseError names what is missing or wrong."""
    missing = [key for key in REQUIRED_KEYS if key not in meta]
    if len(missing) == len(REQUIRED_KEYS):
        raise WLitePoseError(
            f"{path} is an ONNX model without WLitePose metadata; give a model made by `wlitepose export`"
        )
    if missing:
        raise WLitePoseError(
            f"{path} is not a WLitePose model file: its metadata lacks {', '.join(missing)} "
            "(export it with `wlitepose export`)"
        )
    if meta["wlitepose_format"] != FORMAT_VERSION:
        version = meta["wlitepose_format"]
        newer = version.isascii() and version.isdigit() and int(version) > int(FORMAT_VERSION)
        remedy = (
            "upgrade WLitePose to use it" if newer else "export it again from its checkpoint with `wlitepose export`"
        )
        raise WLitePoseError(
            f"{path} uses model format {version}, but this version reads format {FORMAT_VERSION}: {remedy}"
        )
    try:
        names = tuple(_listed(meta, "keypoint_names", str))
        info = ModelInfo(
            keypoint_names=names,
            skeleton=_links(_listed(meta, "skeleton", list)),
            flip_map=tuple(_listed(meta, "flip_map", int)),
            sigmas=tuple(float(s) for s in _listed(meta, "oks_sigmas", (int, float))),
            mean=tuple(float(m) for m in _listed(meta, "mean", (int, float))),
            std=tuple(float(s) for s in _listed(meta, "std", (int, float))),
            heatmap_stride=_whole(meta, "heatmap_stride"),
            tag_stride=_whole(meta, "tag_stride"),
            variant=_text(meta, "variant"),
            input_size=_whole(meta, "input_size"),
            dataset=_text(meta, "dataset"),
            trained={"true": True, "false": False}[meta["trained"]],
            sha256=sha256,
        )
    except KeyError:
        raise WLitePoseError(f"{path} has malformed WLitePose metadata (trained is neither true nor false)") from None
    except (ValueError, TypeError) as error:
        raise WLitePoseError(f"{path} has malformed WLitePose metadata ({error})") from None
    k = len(names)
    if k > MAX_KEYPOINTS or len(info.skeleton) > MAX_LINKS:
        raise WLitePoseError(
            f"{path} has impossible metadata: {k} keypoints and {len(info.skeleton)} skeleton links (at most "
            f"{MAX_KEYPOINTS} keypoints and {MAX_LINKS} links)"
        )
    if len(set(names)) != k:
        twice = next(name for name in names if names.count(name) > 1)
        raise WLitePoseError(f"{path} has malformed WLitePose metadata (it names the keypoint {twice} twice)")
    if len(info.flip_map) != k or len(info.sigmas) != k or len(info.mean) != 3 or len(info.std) != 3:
        raise WLitePoseError(f"{path} has inconsistent metadata: {k} keypoints but other lists disagree")
    if any(not (0 <= a < k and 0 <= b < k) for a, b in info.skeleton):
        raise WLitePoseError(f"{path} has a skeleton link to a keypoint that does not exist")
    if k == 0 or any(not 0 <= i < k for i in info.flip_map) or any(not 0 < s <= MAX_SIGMA for s in info.sigmas):
        raise WLitePoseError(
            f"{path} has impossible metadata: no keypoints, a flip to none, or a sigma not above 0 and at most "
            f"{MAX_SIGMA:g}"
        )
    if (
        info.heatmap_stride < 1
        or info.tag_stride < 1
        or info.input_size % 32
        or not 32 <= info.input_size <= MAX_INPUT_SIZE
    ):
        raise WLitePoseError(
            f"{path} has impossible metadata: strides must be at least 1 and the input size a multiple of 32 "
            f"from 32 to {MAX_INPUT_SIZE}"
        )
    if any(not s > 0 for s in info.std):
        raise WLitePoseError(f"{path} has impossible metadata: a normalisation std not above 0")
    if any(not 0 <= m <= 1 for m in info.mean) or any(s > 1 for s in info.std):
        # 0-255 figures (mmpose's, torchvision's) turned every frame into one flat colour: nobody found, no word
        raise WLitePoseError(
            f"{path} has impossible metadata: the mean and std must be on the 0-1 scale of RGB pixels (mean 0 to 1, "
            f"std at most 1), not {list(info.mean)} and {list(info.std)}"
        )
    return info


# A keypoint name is a CSV column's stem and a label in the app: plain words, never a spreadsheet formula
# (=, +, -, @ first) or a line break, which a crafted model could put into every CSV written with it.
KEYPOINT_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_ .-]{0,63}")
# The variant and dataset are printed on the console (`track`'s first line), shown in the app and written into
# every sidecar: a line of printable text. A 10 MB one froze the app for seconds on each repaint, and escape codes
# cleared the user's terminal and forged a line of output.
MAX_TEXT = 200
# The most keypoints a model may have (COCO-WholeBody's 133 and more: the network's heads grow with it), and so `info
# --keypoints` too. 100,000 names, one of them twice, took 188 s to be refused; 10^6 links drew each frame in 11 s.
MAX_KEYPOINTS = 1024
MAX_LINKS = 2 * MAX_KEYPOINTS
# OKS sigmas are a joint's spread as a fraction of the person's size (COCO's largest 0.107); 1e300 overflowed the
# tracker's similarity into NaN and stopped the run with a traceback.
MAX_SIGMA = 1.0


def _text(meta: dict[str, str], key: str) -> str:
    """``meta[key]`` if it is a line of printable text up to MAX_TEXT characters; ValueError naming the key if not."""
    if not is_metadata_text(meta[key]):
        raise ValueError(f"{key} is not a line of printable text of at most {MAX_TEXT} characters")
    return meta[key]


def is_metadata_text(text: str) -> bool:
    """Whether ``text`` may be a model file's variant or dataset (`wlitepose train --dataset-name` checks it too)."""
    return len(text) <= MAX_TEXT and text.isprintable()


def _whole(meta: dict[str, str], key: str) -> int:
    """The whole number ``meta[key]`` holds; ValueError naming the key if not."""
    try:
        return int(meta[key])
    except ValueError:
        raise ValueError(f"{key} is {meta[key][:40]!r}, not a whole number") from None


def _listed(meta: dict[str, str], key: str, kind) -> list:
    """The JSON list ``meta[key]`` holds, each item of type ``kind``; ValueError naming the key if not. Numbers
    must be finite and whole numbers integers (``1.7`` is no keypoint index, ``NaN`` no mean)."""
    try:
        items = json.loads(meta[key], parse_constant=lambda constant: float("nan"))
    except (ValueError, RecursionError):  # nested past Python's limit: no list a model needs
        raise ValueError(f"{key} is not JSON") from None
    numbers = kind is int or (isinstance(kind, tuple) and int in kind)
    if not isinstance(items, list) or not all(
        isinstance(item, kind) and not isinstance(item, bool) and (not numbers or _finite(item)) for item in items
    ):
        raise ValueError(f"{key} is not a list of {_KINDS[kind]}")
    if kind is str and not all(KEYPOINT_NAME.fullmatch(item) for item in items):
        bad = next(item for item in items if not KEYPOINT_NAME.fullmatch(item))
        raise ValueError(f"the keypoint name {bad[:40]!r} is not letters, digits and _ . - or spaces")
    return items


def _finite(number: int | float) -> bool:
    """A number a float holds and not infinite or NaN (an integer of 400 digits is none)."""
    try:
        return math.isfinite(number)
    except OverflowError:
        return False


_KINDS = {str: "names", int: "whole numbers", list: "pairs", (int, float): "finite numbers"}


def _links(links: list) -> tuple[tuple[int, int], ...]:
    """The skeleton's links, each a pair of whole numbers; ValueError if not."""
    if not all(len(link) == 2 and all(type(i) is int for i in link) for link in links):
        raise ValueError("skeleton is not a list of pairs of whole numbers")
    return tuple((a, b) for a, b in links)


def file_sha256(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def read_model_file(path: Path) -> bytes:
    """The whole file, read once: what a session loads and the sidecars' model_sha256 hashes."""
    try:
        return path.read_bytes()
    except OSError as error:  # no right to read it, or gone since check_model_path
        raise WLitePoseError(f"cannot read model file {path}: {error.strerror or error}") from None


def check_model_path(path: str | Path) -> Path:
    if not str(path).strip():
        raise WLitePoseError("no model file given: pass the path of an .onnx file")
    path = Path(os.path.expanduser(path))
    try:
        if path.is_dir():
            raise WLitePoseError(f"model file {path} is a folder; pass the .onnx file in it")
        if not path.is_file():
            raise WLitePoseError(
                f"model file {path} does not exist{bundled_hint(path, DEFAULT_MODEL, 'default model')}"
            )
        if path.stat().st_size == 0:
            raise WLitePoseError(f"model file {path} is empty")
    except OSError as error:  # a name too long for the file system, a folder it may not read
        raise WLitePoseError(f"cannot read model file {path}: {error.strerror or error}") from None
    return path


def read_model_info(path: str | Path) -> ModelInfo:
    """Read a model file's metadata without keeping a session."""
    from core.session import open_session

    path = check_model_path(path)  # ~ expanded, as PoseModel does
    session, sha256 = open_session(path, threads=1, providers=["CPUExecutionProvider"])
    return parse_metadata(metadata_map(session, path), path, sha256)


def metadata_map(session, path: str | Path) -> dict[str, str]:
    """The metadata_props of a session's model; WLitePoseError if they are not UTF-8 (ONNX Runtime does not check
    the file's strings, and its Python binding then raised UnicodeDecodeError: a traceback)."""
    try:
        return session.get_modelmeta().custom_metadata_map
    except UnicodeDecodeError:
        raise WLitePoseError(f"{path} has malformed WLitePose metadata (text that is not UTF-8)") from None
