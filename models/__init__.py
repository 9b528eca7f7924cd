"""Torch models of WLitePose and their ONNX export. Imports neither Qt nor core."""
