"""The bundled model and sample clip: next to the code in a checkout and in an installed wheel alike."""

from pathlib import Path

DEFAULT_MODEL = Path(__file__).resolve().parent.parent / "assets" / "wlitepose_xs_256.onnx"
SAMPLE_CLIP = DEFAULT_MODEL.parent / "samples" / "vtest_clip.mp4"
