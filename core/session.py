"""The ONNX Runtime session around a WLitePose model file."""

from __future__ import annotations

import hashlib
import os
import re
import threading
from pathlib import Path

import numpy as np

from core.errors import WLitePoseError
from core.model_file import ModelInfo, check_model_path, metadata_map, parse_metadata, read_model_file

# the load check's blank input must come through in this long (the largest input size on a slow CPU: seconds)
LOAD_CHECK_S = 60.0
MAX_THREADS = 1024  # more inference threads than any machine has cores is a typo
FLOAT_TYPES = ("tensor(float)", "tensor(float16)", "tensor(double)")  # what the outputs may be

# Accelerated providers in order of preference; CPU is always the fallback.
PREFERRED_PROVIDERS = ("CUDAExecutionProvider", "CoreMLExecutionProvider", "DmlExecutionProvider")


def best_providers() -> list[str]:
    import onnxruntime as ort

    available = ort.get_available_providers()
    return [p for p in PREFERRED_PROVIDERS if p in available] + ["CPUExecutionProvider"]


def check_threads(threads: int | None, name: str = "threads") -> None:
    """Inference threads as asked for (``name``: the option or argument); None is ONNX Runtime's default."""
    if threads is not None and not 1 <= threads <= MAX_THREADS:
        raise WLitePoseError(f"{name} must be from 1 to {MAX_THREADS}, not {threads}")


def open_session(path: str | Path, threads: int | None = None, providers: list[str] | None = None):
    """An onnxruntime InferenceSession and the SHA-256 of the bytes it loaded (the file is read once: one replaced
    while it loads, by `export --out`, is not hashed instead); WLitePoseError if the file is missing or not ONNX."""
    import onnxruntime as ort

    path = check_model_path(path)
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.log_severity_level = 4  # fatal only: a failure reaches the user as one sentence, not again as its log
    if threads:
        options.intra_op_num_threads = int(threads)
    options.inter_op_num_threads = 1
    # Spinning worker threads collapse on small machines when another thread (reader, GUI) is busy.
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    # Weights kept in another file (external data) are never read: from bytes, ONNX Runtime looked for them in the
    # current folder, so a model handed over could load any file there. The null device is no folder: none is in it.
    options.add_session_config_entry("session.model_external_initializers_file_folder_path", os.devnull)
    # the bytes, not the name: ONNX Runtime cannot take a name whose bytes are not UTF-8
    model = read_model_file(path)
    try:
        session = ort.InferenceSession(model, sess_options=options, providers=providers or best_providers())
    except Exception as error:  # onnxruntime raises several unrelated types for a bad file
        raise WLitePoseError(_load_failure(path, error)) from None
    return session, hashlib.sha256(model).hexdigest()


def _load_failure(path: Path, error: Exception) -> str:
    """One sentence for a file ONNX Runtime refused, without its error code and the path repeated:
    '[ONNXRuntimeError] : 7 : INVALID_PROTOBUF : Load model from x.onnx failed:Protobuf parsing failed.'"""
    if "INVALID_PROTOBUF" in str(error):
        return f"{path} is not an ONNX model file (or it is cut short)"
    if "External data path" in str(error):  # kept out by the session's options (open_session)
        return (
            f"{path} keeps its weights in other files, which are not read (a model file could name any file): save "
            f"it as one file first, in its folder: python -c \"import onnx; onnx.save(onnx.load('{path.name}'), "
            "'whole.onnx')\""
        )
    return f"{path} is not a readable ONNX model file ({_runtime_message(error)})"


def _runtime_message(error: Exception) -> str:
    """The first line of ONNX Runtime's error, without its code and the model's path."""
    text = str(error).splitlines()[0] if str(error) else type(error).__name__
    text = re.sub(r"^\[ONNXRuntimeError\] : \d+ : \w+ : ", "", text)
    text = re.sub(r"^Load model from .* failed: ?", "", text)
    # its C++ source line and function signature, which used up the 200 characters before the reason
    # ("Unsupported model IR version: 11, max supported IR version: 10")
    text = re.sub(r"/?[\w./-]+\.(?:cc|cpp|h):\d+ (?:(?:[\w*&]+ )?[\w:]+::\w+\([^()]*\) )?", "", text)
    return text.rstrip(".")[:200]


class PoseModel:
    """A loaded model: ``run(blob (1,3,H,W)) -> (heatmaps (K,H/2,W/2), tags (K,H/4,W/4))``."""

    def __init__(self, path: str | Path, threads: int | None = None) -> None:
        check_threads(threads)  # 0 would be ONNX Runtime's default: a count nobody asked for
        self.path = check_model_path(path)  # ~ expanded
        self._session, sha256 = open_session(self.path, threads)
        self.info: ModelInfo = parse_metadata(metadata_map(self._session, self.path), self.path, sha256)
        inputs = self._session.get_inputs()
        outputs = {o.name: o.type for o in self._session.get_outputs()}
        if [i.name for i in inputs] != ["image"] or not {"heatmaps", "tags"} <= set(outputs):
            raise WLitePoseError(
                f"{self.path} does not have the WLitePose input 'image' and outputs 'heatmaps', 'tags'"
            )
        for name in ("heatmaps", "tags"):  # int32 heatmaps found nobody, bool tags grouped at random: no word said
            if outputs[name] not in FLOAT_TYPES:
                raise WLitePoseError(f"{self.path}'s output '{name}' is {outputs[name]}, not floating point")
        _check_input(self.path, inputs[0])
        self.provider: str = self._session.get_providers()[0]
        self._check_blank()

    def _check_blank(self) -> None:
        """One blank input through the network, as tall as the model's input size and a step wider (frames are
        rarely square): its outputs must be what the metadata says (_check_outputs), or every frame would fail
        or be drawn in the wrong place."""
        import onnxruntime as ort

        info = self.info
        height, width = info.input_size, info.input_size + 32
        options, late = ort.RunOptions(), threading.Event()
        timer = threading.Timer(LOAD_CHECK_S, lambda: late.set() or setattr(options, "terminate", True))
        timer.start()
        try:
            heatmaps, tags = self._run(np.zeros((1, 3, height, width), np.float32), options)
        except WLitePoseError:
            if late.is_set():  # a network that runs on and on (a crafted loop) hung the tool, Ctrl-C and all
                raise WLitePoseError(
                    f"{self.path} did not finish one blank {height}x{width} input in {LOAD_CHECK_S:g} s"
                ) from None
            raise
        finally:
            timer.cancel()
        self._check_outputs(heatmaps, tags, height, width)

    def _check_outputs(self, heatmaps: np.ndarray, tags: np.ndarray, height: int, width: int) -> None:
        """The outputs of a ``height`` x ``width`` input are what the metadata says: a keypoint map per keypoint at
        the strides given, finite. Checked on every frame, as a model may break only on real pictures (a diverged
        training, fp16 weights that overflow): NaN joints had eval score such a model higher than a sound one, an
        infinite map stopped a run with a traceback, and a head of fixed size flattened joints onto the frame's
        edge. Heatmaps above 1 are no sign of a broken model: the bundled one gives up to 131 on a uniform square
        frame (a title card), which decoding judges instead (core.decode's HEATMAP_RANGE)."""
        info, k = self.info, self.info.num_keypoints
        if heatmaps.ndim != 3 or tags.ndim != 3 or heatmaps.shape[0] != k or tags.shape[0] != k:
            raise WLitePoseError(
                f"{self.path} outputs heatmaps {heatmaps.shape} and tags {tags.shape}, not the {k} keypoint maps "
                "its metadata names"
            )
        for name, maps, stride in (("heatmaps", heatmaps, info.heatmap_stride), ("tags", tags, info.tag_stride)):
            if maps.shape[1:] != (height // stride, width // stride):
                raise WLitePoseError(
                    f"{self.path}'s metadata gives its {name} a stride of {stride}, but on a {height}x{width} input "
                    f"they are {maps.shape[1]}x{maps.shape[2]} cells, not {height // stride}x{width // stride}"
                )
        if not (np.isfinite(heatmaps).all() and np.isfinite(tags).all()):
            raise WLitePoseError(
                f"{self.path} outputs numbers that are not finite (NaN or infinite): its weights are broken (a "
                "training that diverged, or fp16 weights that overflow)"
            )

    def run(self, blob: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        heatmaps, tags = self._run(blob)
        self._check_outputs(heatmaps, tags, blob.shape[2], blob.shape[3])
        return heatmaps, tags

    def _run(self, blob: np.ndarray, options=None) -> tuple[np.ndarray, np.ndarray]:
        try:
            heatmaps, tags = self._session.run(["heatmaps", "tags"], {"image": blob}, options)
        except Exception as error:  # noqa: BLE001 (onnxruntime raises its own types)
            size = f"{blob.shape[2]}x{blob.shape[3]}"
            raise WLitePoseError(f"{self.path} fails on a {size} input ({_runtime_message(error)})") from None
        return heatmaps[0], tags[0]


def _check_input(path: Path, image) -> None:
    """The input ``image`` as the runtime feeds it: float32 N x 3 x H x W, any H and W (frames are letterboxed
    to the size asked for, keeping their shape)."""
    shape = list(image.shape)
    if image.type != "tensor(float)" or len(shape) != 4 or isinstance(shape[1], int) and shape[1] != 3:
        raise WLitePoseError(
            f"{path}'s input 'image' is {image.type} {shape}, not float32 N x 3 x H x W (export it with `wlitepose "
            "export`)"
        )
    if isinstance(shape[2], int) or isinstance(shape[3], int):
        raise WLitePoseError(
            f"{path} takes only {shape[2]}x{shape[3]} images; export it with a dynamic height and width "
            "(`wlitepose export` does)"
        )
