"""`wlitepose track` and `wlitepose eval`: argument parsing only; the work lives in core.track_run / core.eval_run.

Imports only the standard library at module level so building the parser stays cheap.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from core.assets import DEFAULT_MODEL, SAMPLE_CLIP
from core.errors import Stopped, signal_of


def given(text: str) -> str:
    """An argparse type for a file, folder or text value that must not be empty: an unset shell variable gives
    '', which as a path reads as the current folder."""
    if not text.strip():
        raise argparse.ArgumentTypeError("is empty (an unset shell variable?)")
    return text


def given_path(text: str) -> Path:
    return Path(given(text))


THREADS_HELP = "onnxruntime intra-op threads (default: ONNX Runtime's, one per physical core)"


def add_arguments(name: str, parser: argparse.ArgumentParser) -> None:
    if name == "track":
        parser.add_argument(
            "sources",
            nargs="+",
            type=given,
            metavar="SOURCE",
            help="video file, image folder, webcam index (0) or stream URL; several are processed one after "
            'another, and then every output path needs {name} (each source\'s name), e.g. --csv "out/{name}.csv"; '
            f"the bundled sample clip is {SAMPLE_CLIP}",
        )
        parser.add_argument(
            "--model", type=given_path, default=None, help=f"ONNX model file (default {DEFAULT_MODEL.name})"
        )
        parser.add_argument(
            "--size", type=int, default=None, help="network input size, a multiple of 32 (default: the model's)"
        )
        parser.add_argument(
            "--csv",
            type=given,  # a string: ./- stays a file named -
            help="keypoint CSV (with a sidecar .json), or - for the standard output (no sidecar; one source)",
        )
        parser.add_argument("--coco-json", type=given_path, help="COCO results JSON")
        parser.add_argument(
            "--coco-dataset",
            type=given_path,
            help="COCO keypoints dataset JSON (images, annotations with visibility flags, categories): "
            "pre-annotations for CVAT's COCO Keypoints 1.0 import, or ground truth to score against",
        )
        parser.add_argument("--openpose-dir", type=given_path, help="folder of OpenPose-style per-frame JSON")
        parser.add_argument(
            "--posec3d",
            type=given_path,
            help="PoseC3D pickle: a list of one sample, as mmaction2's PoseDataset reads it",
        )
        parser.add_argument("--video", type=given_path, help="annotated video (.mp4 or .avi)")
        parser.add_argument("--no-track", action="store_true", help="detect only; no track IDs, no smoothing")
        parser.add_argument(
            "--no-shot-changes",
            action="store_true",
            help="carry the tracks across what looks like a cut (footage with flashes or strobes); by default a "
            "shot change in an edited video starts new tracks, and the CSV's sidecar lists its frame (a webcam or "
            "stream looks for none)",
        )
        parser.add_argument(
            "--detection-threshold", type=float, default=None, help="minimum person score, 0-1 (default 0.15)"
        )
        parser.add_argument(
            "--keypoint-threshold", type=float, default=None, help="minimum joint score, 0-1 (default 0.2)"
        )
        parser.add_argument(
            "--smoothing",
            type=float,
            default=None,
            help="0 = raw keypoints ... 1 = strongest smoothing (default 0.5; not with --no-track)",
        )
        parser.add_argument("--max-frames", type=int, default=None, metavar="N", help="stop each source after N frames")
        parser.add_argument(
            "--skip-done",
            action="store_true",
            help="pass over each source whose outputs an earlier run finished with this model and these settings "
            "(its CSV's sidecar says so, and every other output is there): a stopped batch run again goes on "
            "where it stopped; and each source another run is tracking now, waited for at the end and tracked if "
            "that run did not finish it: runs started together share a batch; "
            "needs --csv",
        )
        parser.add_argument(
            "--fps",
            type=float,
            default=None,
            help="frame rate of image-folder sources, for their timestamps and the tracker (default 30)",
        )
        parser.add_argument("--threads", type=int, default=None, help=THREADS_HELP)
    elif name == "eval":
        parser.add_argument("--model", type=given_path, required=True, help="ONNX model file")
        parser.add_argument(
            "--annotations", type=given_path, required=True, help="COCO-format keypoint annotations JSON"
        )
        parser.add_argument("--images", type=given_path, required=True, help="folder with the annotated images")
        parser.add_argument(
            "--size", type=int, default=None, help="network input size, a multiple of 32 (default: the model's)"
        )
        parser.add_argument(
            "--out",
            type=given_path,
            help="write AP, AP50, AP75, APm, APl, AR (CrowdPose: also AP_easy, AP_medium, AP_hard), any intervals, "
            "the baseline's figures and what they came from (run: model and its SHA-256, data, input size, redraws, "
            "version) as JSON (null: nobody to count)",
        )
        parser.add_argument(
            "--bootstrap",
            type=int,
            default=None,
            metavar="N",
            help="redraw the images N times (40 to 100,000) for 95%% intervals (each image is matched once a model, "
            "then about 3 ms a redraw a model on 35 images, 0.1 s on 5,000; default: off, or 1000 with --baseline)",
        )
        parser.add_argument(
            "--baseline",
            type=given_path,
            help="also score this model file and give the paired interval of the difference",
        )
        parser.add_argument("--threads", type=int, default=None, help=THREADS_HELP)
    else:
        raise ValueError(f"core.cli has no subcommand {name!r}")


def run(name: str, args: argparse.Namespace) -> int:
    if name == "track":
        try:
            from core.track_run import run_track  # seconds: ONNX Runtime, OpenCV, SciPy
        except KeyboardInterrupt as error:
            raise Stopped(signal_of(error), before_start=True) from error
        return run_track(args, DEFAULT_MODEL)
    from core.eval_run import run_eval

    return run_eval(args)
