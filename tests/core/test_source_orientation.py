"""Frames as a player shows them: phone videos on their side, videos of non-square pixels, photos by their EXIF
orientation."""

import struct
import threading
from pathlib import Path

import cv2
import numpy as np
import pytest

from core.sources import (
    open_source,
    read_image,
)
from core.sources.video_file import pixel_aspect


def _rotated_mp4(path: Path, turn: int = 90) -> np.ndarray:
    """A 64x48 MP4 (OpenCV's own writer, no FFmpeg tool) whose track header turns it 90 degrees clockwise for
    display (or 270 with ``turn``: a phone held the other way), as a phone stores a portrait video; returns its stored
    picture (a white patch at the top left)."""
    image = np.zeros((48, 64, 3), np.uint8)
    image[:16, :24] = 255
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 10.0, (64, 48))
    for _ in range(3):
        writer.write(image)
    writer.release()
    data = bytearray(path.read_bytes())
    at = data.find(b"tkhd")
    matrix = at + 4 + 4 + (32 if data[at + 4] == 1 else 20) + 16  # past version, times, ids, layer, volume
    assert struct.unpack(">9i", data[matrix : matrix + 36])[:5] == (0x10000, 0, 0, 0, 0x10000)
    sin = 0x10000 if turn == 90 else -0x10000  # 90 degrees clockwise, or 270
    data[matrix : matrix + 20] = struct.pack(">5i", 0, sin, 0, -sin, 0)
    path.write_bytes(bytes(data))
    return image


@pytest.mark.parametrize("auto_by_default", [True, False], ids=["opencv-default", "opencv-4.11"])
def test_a_phone_video_on_its_side_is_read_upright(tmp_path, monkeypatch, auto_by_default):
    """A portrait phone video (stored on its side, a rotation in its header) is analysed as it is shown, its
    keypoints in the upright picture's pixels, whether or not the OpenCV installed turns frames by itself
    (4.11, which pyproject allows, does not: the clip was read on its side, and nobody was found)."""
    stored = _rotated_mp4(tmp_path / "portrait.mp4")
    if not auto_by_default:
        opened = cv2.VideoCapture

        def capture(*args):  # as OpenCV 4.11 opens a file (a subclass of VideoCapture crashes at exit)
            made = opened(*args)
            made.set(cv2.CAP_PROP_ORIENTATION_AUTO, 0)
            return made

        monkeypatch.setattr(cv2, "VideoCapture", capture)
    with open_source(str(tmp_path / "portrait.mp4")) as source:
        assert source.size == (48, 64)
        frame = next(iter(source))
    expected = cv2.rotate(stored, cv2.ROTATE_90_CLOCKWISE)  # the white patch at the top right
    assert frame.image.shape == expected.shape
    assert np.abs(frame.image.astype(int) - expected).mean() < 8


def test_a_phone_video_on_its_side_is_read_upright_by_url_too(tmp_path, monkeypatch):
    """A portrait clip served over http (a phone's upload on a local server) is opened as a network capture, not a
    file: it too was read on its side where OpenCV does not turn frames by itself (4.11)."""
    import functools
    from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

    stored = _rotated_mp4(tmp_path / "portrait.mp4")
    opened = cv2.VideoCapture

    def capture(*args):  # as OpenCV 4.11 opens a file
        made = opened(*args)
        made.set(cv2.CAP_PROP_ORIENTATION_AUTO, 0)
        return made

    monkeypatch.setattr(cv2, "VideoCapture", capture)
    quiet = type("Quiet", (SimpleHTTPRequestHandler,), {"log_message": lambda self, *args: None})
    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(quiet, directory=str(tmp_path)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        with open_source(f"http://127.0.0.1:{server.server_address[1]}/portrait.mp4") as source:
            assert source.size == (48, 64)
            frame = next(iter(source))
    finally:
        server.shutdown()
        server.server_close()
    expected = cv2.rotate(stored, cv2.ROTATE_90_CLOCKWISE)
    assert frame.image.shape == expected.shape
    assert np.abs(frame.image.astype(int) - expected).mean() < 8


@pytest.fixture
def anamorphic(monkeypatch):
    """OpenCV reading every file as one whose header gives a 2:1 sample aspect ratio (pixels twice as wide as tall)."""
    opened = cv2.VideoCapture

    class Anamorphic:
        def __init__(self, *args) -> None:
            self._capture = opened(*args)

        def get(self, prop) -> float:
            return {cv2.CAP_PROP_SAR_NUM: 2.0, cv2.CAP_PROP_SAR_DEN: 1.0}.get(prop) or self._capture.get(prop)

        def __getattr__(self, name):
            return getattr(self._capture, name)

    monkeypatch.setattr(cv2, "VideoCapture", Anamorphic)


def test_a_video_of_non_square_pixels_is_read_as_a_player_shows_it(tmp_path, anamorphic):
    """Anamorphic footage (pixels twice as wide as tall, as its header says) was analysed squeezed: fewer people
    found (a helper's clip: 121 rows against 163 for the same picture in square pixels) and keypoints in pixels no
    player shows."""
    image = np.zeros((48, 32, 3), np.uint8)
    image[:, :8] = 255  # a white band a quarter of the width
    path = tmp_path / "dv.avi"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 10.0, (32, 48))
    for _ in range(3):
        writer.write(image)
    writer.release()
    with open_source(str(path)) as source:
        assert source.size == (64, 48)
        frames = [frame.image for frame in source]
        source.seek(1)
        frames.append(next(iter(source)).image)
    for frame in frames:
        assert frame.shape == (48, 64, 3)
        assert frame[:, :14].min() > 200 and frame[:, 18:].max() < 60  # the band a quarter of the width still


@pytest.mark.parametrize("turn", [90, 270])
def test_a_turned_video_of_non_square_pixels_is_widened_along_its_stored_width(tmp_path, anamorphic, turn):
    """A file stored 64x48 in pixels twice as wide as tall (128x48 shown) with a quarter turn in its header is
    shown 48x128: the turned picture's height is the stored width, not 96x64 (its width doubled after the turn,
    each person four times too wide for their height); turned 270 degrees, it was taken for unturned."""
    _rotated_mp4(tmp_path / "turned.mp4", turn)
    with open_source(str(tmp_path / "turned.mp4")) as source:
        assert source.size == (48, 128)
        assert all(frame.image.shape == (128, 48, 3) for frame in source)


def test_a_pixel_aspect_beyond_belief_or_of_nothing_is_taken_for_square_pixels():
    """A damaged header's 100:1 would have stretched each frame a hundred times its width (and a 1:0 divided by
    zero); a header without one gives 0:0 or 0:1."""

    class Header:  # a capture whose header gives a sample aspect ratio of num:den
        def __init__(self, num: float, den: float) -> None:
            self.values = {cv2.CAP_PROP_SAR_NUM: num, cv2.CAP_PROP_SAR_DEN: den}

        def get(self, prop) -> float:
            return self.values[prop]

    assert pixel_aspect(Header(16, 11)) == pytest.approx(16 / 11)  # PAL DV widescreen
    assert pixel_aspect(Header(1, 4)) == 0.25 and pixel_aspect(Header(4, 1)) == 4.0
    for num, den in ((100, 1), (1, 100), (1, 0), (0, 0), (0, 1), (-2, 1)):
        assert pixel_aspect(Header(num, den)) == 1.0, (num, den)


def _jpeg_turned_a_quarter(path: Path, width: int, height: int) -> None:
    """A ``width`` x ``height`` JPEG whose EXIF says to turn it 90 degrees for display (orientation 6), as a
    phone held upright writes it."""
    ifd = struct.pack("<H", 1) + struct.pack("<HHIHH", 0x0112, 3, 1, 6, 0) + struct.pack("<I", 0)
    exif = b"Exif\0\0" + b"II*\0" + struct.pack("<I", 8) + ifd
    jpeg = cv2.imencode(".jpg", np.full((height, width, 3), 128, np.uint8))[1].tobytes()
    path.write_bytes(jpeg[:2] + b"\xff\xe1" + struct.pack(">H", len(exif) + 2) + exif + jpeg[2:])


def test_a_photo_is_read_as_its_exif_orientation_shows_it_unless_asked_for_its_stored_pixels(tmp_path):
    _jpeg_turned_a_quarter(tmp_path / "upright.jpg", 48, 32)
    assert read_image(tmp_path / "upright.jpg").shape == (48, 32, 3)
    assert read_image(tmp_path / "upright.jpg", apply_orientation=False).shape == (32, 48, 3)
