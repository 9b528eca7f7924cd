"""`wlitepose gui [SOURCE]`. Only the standard library is imported at module level."""

from __future__ import annotations

import argparse


def add_arguments(name: str, parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "source",
        nargs="?",
        help="video file, image folder, webcam index or stream URL to open at start "
        "(default: the first webcam, else the bundled sample clip)",
    )
    parser.add_argument("--model", help="an ONNX model file with WLitePose metadata (default: the bundled model)")


def run(name: str, args: argparse.Namespace) -> int:
    from app.application import run_app

    return run_app(source=args.source, model=args.model)
