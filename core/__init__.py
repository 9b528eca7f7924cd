"""The WLitePose inference engine: numpy, OpenCV, onnxruntime, filterpy, scipy. No Qt, no torch.

Importing it changes nothing in the process (environment, logging, OpenCV's settings): a program that embeds
it keeps its own. The ``wlitepose`` command quiets OpenCV's and FFmpeg's console lines in its own process.
"""
