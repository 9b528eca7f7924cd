"""The WLitePose inference engine: numpy, OpenCV, onnxruntime, filterpy, scipy. No Qt, no torch."""
