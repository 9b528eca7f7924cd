"""`wlitepose gui [SOURCE]`. Only the standard library is imported at module level."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Mapping


def add_arguments(name: str, parser: argparse.ArgumentParser) -> None:
    from core.cli import given

    parser.add_argument(
        "source",
        nargs="?",
        type=given,
        help="video file, image folder, webcam index or stream URL to open at start "
        "(default: the first webcam, else the bundled sample clip)",
    )
    parser.add_argument(
        "--model",
        help="an ONNX model file with WLitePose metadata (default: the last one the app used, else the bundled one)",
    )


def check_display(environ: Mapping[str, str] | None = None, platform: str | None = None) -> None:
    """Refuse to start the window where Qt would abort for want of a screen (a Linux shell over SSH)."""
    from core.errors import WLitePoseError

    environ = os.environ if environ is None else environ
    platform = sys.platform if platform is None else platform
    # offscreen, vnc, eglfs... need no screen, xcb and wayland(-egl) do; Qt takes the first of a list
    # ("wayland;xcb") that loads, so one screenless entry is enough
    platforms = [name.split(":")[0].strip() for name in environ.get("QT_QPA_PLATFORM", "").split(";")]
    windowless = any(name and not name.startswith(("xcb", "wayland")) for name in platforms)
    if not platform.startswith("linux") or windowless or environ.get("DISPLAY") or environ.get("WAYLAND_DISPLAY"):
        return
    raise WLitePoseError(
        "no display to open the app on (DISPLAY and WAYLAND_DISPLAY are unset): run it in a desktop session, "
        "or use `wlitepose track` for files and webcams without a window"
    )


def run(name: str, args: argparse.Namespace) -> int:
    check_display()
    if args.model is not None:  # a mistyped --model is an error here, not the bundled model in its place
        from core.model_file import read_model_info

        read_model_info(args.model)
    from app.application import run_app

    return run_app(source=args.source, model=args.model)
