"""What painting a frame costs the app's GUI thread, by the pixel format the worker hands it the frame in.

    QT_QPA_PLATFORM=offscreen python benchmarks/display.py [--video FILE] [--frames 120] [--size 1100x825]

The worker converts each frame for the screen (``app.frame_packet.to_qimage``); the GUI thread scales it into the
video view with smooth filtering, as ``VideoView.paintEvent`` does. Both ways are measured in one run,
alternating frame by frame so background load hits them alike: the frame handed over as OpenCV's BGR (which
Qt converts at every paint) against the screen's own 32-bit RGB (converted once, on the worker's thread).
Prints the median ms of the conversion, the paint and both, per frame, and the ratio of the two totals.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # this checkout's packages, installed or not

from ctrl_c import say_interrupted  # noqa: E402

if __name__ == "__main__":
    say_interrupted("display")

from arguments import at_least, first_line, view_size  # noqa: E402
from PySide6.QtCore import QRectF  # noqa: E402
from PySide6.QtGui import QGuiApplication, QImage, QPainter  # noqa: E402

from app.frame_packet import to_qimage  # noqa: E402
from core.errors import WLitePoseError  # noqa: E402
from core.sources import open_source  # noqa: E402

DEFAULT_VIDEO = ROOT / "assets" / "samples" / "vtest_clip.mp4"


def as_bgr888(image) -> QImage:
    """The frame as the worker handed it over before: OpenCV's byte order, copied."""
    height, width = image.shape[:2]
    return QImage(image.data, width, height, image.strides[0], QImage.Format.Format_BGR888).copy()


def paint(target: QImage, frame: QImage) -> None:
    painter = QPainter(target)
    painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
    painter.drawImage(QRectF(target.rect()), frame)
    painter.end()


def paint_times(images, frames: int, target: QImage, clock=time.perf_counter) -> dict:
    """Seconds of each way's conversion and paint of the first ``frames`` of ``images``, alternating way by way
    on each frame: {way: (convert seconds, paint seconds)}."""
    times = {name: ([], []) for name in ("BGR888 (before)", "RGB32 (to_qimage)")}
    for count, image in enumerate(images):
        if count == frames:
            break
        for name, convert in zip(times, (as_bgr888, to_qimage), strict=True):
            started = clock()
            frame = convert(image)
            converted = clock()
            paint(target, frame)
            times[name][0].append(converted - started)
            times[name][1].append(clock() - converted)
    return times


def main() -> int:
    parser = argparse.ArgumentParser(description=first_line(__doc__))
    parser.add_argument("--video", type=Path, default=DEFAULT_VIDEO, help="video to paint (default: the sample clip)")
    parser.add_argument("--frames", type=at_least(1), default=120, help="frames to paint (default 120)")
    parser.add_argument(
        "--size", type=view_size, default="1100x825", help="the video view's size, WxH (default 1100x825)"
    )
    args = parser.parse_args()
    width, height = args.size
    app = QGuiApplication(sys.argv[:1])  # noqa: F841 (QPainter needs an application)
    target = QImage(width, height, QImage.Format.Format_RGB32)  # what a window's backing store is
    try:
        with open_source(str(args.video)) as source:
            times = paint_times((frame.image for frame in source), args.frames, target)
    except WLitePoseError as error:
        print(f"display: {error}", file=sys.stderr)
        return 2
    painted_frames = len(next(iter(times.values()))[0])
    print(f"{args.video.name}, {painted_frames} frames painted at {width}x{height} (median ms a frame)")
    print(describe(times))
    return 0


def describe(times: dict[str, tuple[list[float], list[float]]]) -> str:
    """Median ms a frame of each way's conversion, paint and both, from seconds per frame; then the ratio of the
    second way's total to the first's."""
    lines, totals = [], {}
    for name, (convert, painted) in times.items():
        totals[name] = statistics.median(c + p for c, p in zip(convert, painted, strict=True)) * 1e3
        lines.append(
            f"  {name:<18} convert {statistics.median(convert) * 1e3:5.2f}  paint "
            f"{statistics.median(painted) * 1e3:5.2f}  both {totals[name]:5.2f}"
        )
    (first, before), (second, after) = totals.items()
    lines.append(f"  {second.split()[0]} over {first.split()[0]}, both: {after / before:.2f}x the time")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
