"""The WLitePose inference engine: numpy, OpenCV, onnxruntime, filterpy, scipy. No Qt, no torch."""

import os

# OpenCV's and FFmpeg's own console lines (a camera index that does not open while cameras are
# listed, "moov atom not found" for a broken file) would only repeat, less clearly, the errors
# core reports itself. Set either variable to see them again.
os.environ.setdefault("OPENCV_LOG_LEVEL", "ERROR")
os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")  # AV_LOG_QUIET
