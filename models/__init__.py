"""Torch models of WLitePose and their ONNX export. Imports no Qt; takes the model file's format, output locks
and file writing from core."""
