"""Letterboxing a frame for the network (aspect, colour order, pixel centres, area averaging) and the input sizes
and image sizes allowed."""

import cv2
import numpy as np
import pytest

from core.errors import WLitePoseError
from core.preprocess import check_input_size, letterbox, too_small


# 320x241: its height scales to 192.8, one row past a multiple of 32 if truncated (an OpenCV error on every frame)
@pytest.mark.parametrize("size", [(768, 576), (300, 500), (1000, 90), (320, 241)])
def test_letterbox_keeps_aspect_and_maps_points_back(size):
    w, h = size
    image = np.zeros((h, w, 3), np.uint8)
    x, y = int(w * 0.63), int(h * 0.41)
    cv2.circle(image, (x, y), max(3, w // 60), (255, 255, 255), -1)
    mean, std = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)
    blob, box = letterbox(image, 256, mean, std)
    _, _, bh, bw = blob.shape
    assert bh % 32 == 0 and bw % 32 == 0 and max(bh, bw) == 256
    assert box.input_size == (bw, bh)
    assert abs((w * box.scale) / (h * box.scale) - w / h) < 1e-9
    weights = np.clip(blob[0, 0], 0, None)  # the white disc, normalised red channel
    weights = np.where(weights > weights.max() * 0.5, weights, 0)
    yy, xx = np.mgrid[0:bh, 0:bw]
    centre = np.array([(xx * weights).sum(), (yy * weights).sum()]) / weights.sum()
    assert np.abs(box.to_image(centre) - [x, y]).max() <= 1.0 / box.scale
    pixel = blob[0, :, 0, 0]  # black, normalised
    assert pixel == pytest.approx([-m / s for m, s in zip(mean, std, strict=True)], abs=1e-5)
    rw, rh = round(w * box.scale), round(h * box.scale)
    padding = np.concatenate([blob[0, :, rh:].reshape(3, -1), blob[0, :, :, rw:].reshape(3, -1)], axis=1)
    assert np.abs(padding).max(initial=0) < 0.02  # the mean colour, each channel normalised to 0 (uint8 rounding)


def test_letterbox_gives_the_network_rgb_not_bgr():
    """Without the channel swap the network got BGR: a red picture read as blue."""
    red = np.zeros((64, 64, 3), np.uint8)
    red[..., 2] = 255  # OpenCV's BGR order
    mean, std = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)
    blob, _ = letterbox(red, 64, mean, std)
    expected = [(1 - 0.485) / 0.229, (0 - 0.456) / 0.224, (0 - 0.406) / 0.225]  # normalised R, G, B
    np.testing.assert_allclose(blob[0].reshape(3, -1), np.repeat([expected], 64 * 64, 0).T, atol=1e-4)


def test_a_blob_in_a_full_hd_frame_maps_back_onto_itself():
    """A resized height one row short, or to_image without its half-pixel terms, moved joints 3-7 px off."""
    yy, xx = np.mgrid[0:1080, 0:1920]
    shade = np.round(255 * np.exp(-((xx - 1200.0) ** 2 + (yy - 1000.0) ** 2) / (2 * 30.0**2))).astype(np.uint8)
    frame = cv2.cvtColor(shade, cv2.COLOR_GRAY2BGR)
    truth = np.array([(xx * shade).sum(), (yy * shade).sum()]) / shade.sum()  # the blob as cut by the frame's edge
    blob, box = letterbox(frame, 256, (0, 0, 0), (1, 1, 1))
    small = blob[0, 0].astype(np.float64)
    sy, sx = np.mgrid[0 : small.shape[0], 0 : small.shape[1]]
    centre = np.array([(sx * small).sum(), (sy * small).sum()]) / small.sum()
    assert np.abs(box.to_image(centre) - truth).max() < 0.3


def test_network_pixels_map_back_to_the_image_pixels_resizing_took_them_from():
    """Pixel centres: a 4K frame shrinks 15 times, so input pixel x is image pixel (x + 0.5) * 15 - 0.5; x * 15
    put every joint 7 px right of and below where it is (1 px on vtest.avi)."""
    image = np.zeros((2160, 3840, 3), np.uint8)
    image[900:930, 1500:1530] = 255  # a square centred on image pixel (1514.5, 914.5)
    blob, box = letterbox(image, 256, (0.0, 0.0, 0.0), (1.0, 1.0, 1.0))
    bright = blob[0, 0]
    ys, xs = np.indices(bright.shape)
    centre = np.float32([(xs * bright).sum(), (ys * bright).sum()]) / bright.sum()
    assert np.abs(box.to_image(centre) - [1514.5, 914.5]).max() <= 0.5


def test_a_frame_shrunk_for_the_network_is_averaged_over_each_area():
    """INTER_LINEAR on a 7.5-times shrink samples a pixel in seven: fine texture aliased into the input."""
    frame = np.random.default_rng(0).integers(0, 256, (1080, 1920, 3), np.uint8)
    blob, _ = letterbox(frame, 256, (0, 0, 0), (1, 1, 1))
    area = cv2.resize(frame, (256, 144), interpolation=cv2.INTER_AREA)[..., ::-1].transpose(2, 0, 1) / 255.0
    np.testing.assert_allclose(blob[0, :, :144], area, atol=1e-5)


def test_the_largest_documented_input_size_2048_is_allowed():
    """`--size 2048` (the help says "up to 2048") was refused with `>=` in the limit; the smallest, one stride, is
    allowed too."""
    check_input_size(2048)


def test_an_image_is_too_small_only_when_its_longer_side_is():
    """A 640x24 banner is 640 pixels wide: letterboxed, not refused as a thumbnail."""
    assert too_small((640, 24)) == "" and too_small((24, 640)) == ""
    assert "is 31x20 pixels, too small" in too_small((31, 20))
    check_input_size(32)
    with pytest.raises(WLitePoseError, match="multiple of 32 up to 2048, not 0"):
        check_input_size(0)
    with pytest.raises(WLitePoseError, match="up to 2048, not 2080"):
        check_input_size(2080)
