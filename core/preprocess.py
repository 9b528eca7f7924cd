"""Letterbox: keep the aspect ratio, longest side to the input size, pad right/bottom to a multiple of 32.

Coordinates follow OpenCV's resize convention (pixel centres): an input pixel x maps to
image pixel (x + 0.5) / scale - 0.5.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from core.errors import WLitePoseError

STRIDE = 32
MAX_INPUT_SIZE = 2048  # a 2048 x 2048 input already takes 50 MB and seconds a frame on a CPU
# An image smaller than this on its longer side is blown up more than 8 times into the network: the blur of a
# 1x1 or 16x16 picture gave a hundred people at score 0.9, where nobody can be made out.
MIN_IMAGE_SIDE = 32


@dataclass(frozen=True)
class Letterbox:
    scale: float  # network-input pixels per image pixel
    image_size: tuple[int, int]  # (w, h) of the original image
    input_size: tuple[int, int]  # (w, h) of the padded network input

    def to_image(self, xy: np.ndarray) -> np.ndarray:
        """Network-input pixel coordinates (..., 2) -> original image pixels."""
        return ((np.asarray(xy, dtype=np.float32) + 0.5) / self.scale - 0.5).astype(np.float32)


def check_input_size(size: int | None, name: str = "--size") -> None:
    """A requested network input size (None: the model's own) must be a positive multiple of the stride
    and no larger than memory allows; ``name`` is the option or argument the user set it with."""
    if size is not None and (size < STRIDE or size % STRIDE or size > MAX_INPUT_SIZE):
        raise WLitePoseError(f"{name} must be a positive multiple of {STRIDE} up to {MAX_INPUT_SIZE}, not {size}")


def too_small(size: tuple[int, int]) -> str:
    """Why a (w, h) image is too small to find people in ("" when it is not), to follow its name."""
    w, h = size
    if max(w, h) >= MIN_IMAGE_SIDE:
        return ""
    return f"is {w}x{h} pixels, too small to find people in (under {MIN_IMAGE_SIDE} on its longer side)"


def letterbox_geometry(image_size: tuple[int, int], input_size: int) -> Letterbox:
    w, h = image_size
    scale = input_size / max(w, h)
    rw, rh = max(1, round(w * scale)), max(1, round(h * scale))
    pw, ph = -(-rw // STRIDE) * STRIDE, -(-rh // STRIDE) * STRIDE
    return Letterbox(scale, (w, h), (pw, ph))


def letterbox(image_bgr: np.ndarray, input_size: int, mean, std) -> tuple[np.ndarray, Letterbox]:
    """BGR uint8 image -> ((1, 3, H, W) float32 normalised RGB blob, Letterbox)."""
    h, w = image_bgr.shape[:2]
    if problem := too_small((w, h)):
        raise WLitePoseError(f"the image {problem}")
    box = letterbox_geometry((w, h), input_size)
    rw, rh = max(1, round(w * box.scale)), max(1, round(h * box.scale))
    resized = cv2.resize(image_bgr, (rw, rh), interpolation=cv2.INTER_AREA if box.scale < 1 else cv2.INTER_LINEAR)
    pw, ph = box.input_size
    mean_bgr = [m * 255.0 for m in reversed(mean)]
    # pad with the mean colour so padding normalises to 0
    padded = cv2.copyMakeBorder(resized, 0, ph - rh, 0, pw - rw, cv2.BORDER_CONSTANT, value=mean_bgr)
    params = cv2.dnn.Image2BlobParams()
    params.scalefactor = tuple(1.0 / (255.0 * s) for s in std) + (0.0,)
    params.mean = tuple(m * 255.0 for m in mean) + (0.0,)  # applied after the swap, so RGB order
    params.swapRB = True
    params.ddepth = cv2.CV_32F
    blob = cv2.dnn.blobFromImageWithParams(padded, params)  # (1, 3, H, W): (RGB - mean) * scalefactor
    return blob, box
