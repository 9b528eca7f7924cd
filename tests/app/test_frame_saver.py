"""Stills: names claimed before the encode, failures leave nothing behind."""

import os
from functools import partial

import numpy as np
import pytest
from PySide6.QtGui import QImage

from app.frame_packet import to_qimage
from app.frame_saver import FrameSaver, claim_png


def test_claim_png_never_reuses_a_name(tmp_path):
    (tmp_path / "still.png").write_bytes(b"an earlier still")
    (tmp_path / "still_2.png").mkdir()  # whatever is in the way, it is skipped, not replaced
    assert claim_png(tmp_path, "still") == tmp_path / "still_3.png"
    assert claim_png(tmp_path, "still") == tmp_path / "still_4.png"
    assert (tmp_path / "still.png").read_bytes() == b"an earlier still"


def test_claim_png_into_a_file_is_refused(tmp_path):
    (tmp_path / "exports").write_text("not a folder")
    with pytest.raises(OSError):
        claim_png(tmp_path / "exports", "still")


def test_a_failed_encode_says_so_and_removes_the_claimed_file(qtbot, tmp_path):
    saver = FrameSaver()
    path = claim_png(tmp_path, "still")
    said = []
    saver.failed.connect(said.append)
    saver.save(QImage, path)  # a null image: Qt refuses to write it
    saver.wait()
    qtbot.waitUntil(lambda: said == [f"Cannot write {path}."], timeout=5000)
    assert not path.exists()


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full, where every write finds the disk full")
def test_a_still_cut_short_by_a_full_disk_is_said_not_saved(qtbot, tmp_path):
    """Qt's file dropped the error of its last flush: a small still on a full disk was said to be saved, cut short."""
    saver = FrameSaver()
    path = tmp_path / "still.png"
    path.symlink_to("/dev/full")  # the claimed name, on a full disk; the link is removed, never the device
    said = []
    saver.saved.connect(lambda saved: said.append(f"saved {saved}"))
    saver.failed.connect(said.append)
    image = QImage(64, 48, QImage.Format.Format_RGB888)
    image.fill(0x3366AA)
    saver.save(partial(QImage, image), path)
    saver.wait()
    qtbot.waitUntil(lambda: said == [f"Cannot write {path}: No space left on device."], timeout=5000)
    assert not path.is_symlink()  # the claimed name removed


def test_saves_land_in_order_and_wait_finishes_them(qtbot, tmp_path):
    saver = FrameSaver()
    image = QImage(640, 480, QImage.Format.Format_RGB888)
    image.fill(0x3366AA)
    paths = [claim_png(tmp_path, "still") for _ in range(3)]
    done = []
    saver.saved.connect(done.append)
    for path in paths:
        saver.save(partial(QImage, image), path)
    saver.wait()
    qtbot.waitUntil(lambda: len(done) == 3, timeout=5000)
    assert done == [str(p) for p in paths]
    assert all(QImage(str(p)).pixel(5, 5) == image.pixel(5, 5) for p in paths)


def test_a_still_whose_name_is_not_utf8_lands_in_the_file_claimed(qtbot, tmp_path):
    """A still of the folder "pics\\xff" was written by Qt as pics_frame000000.png (over that folder's still), the
    claimed file left empty."""
    try:
        path = claim_png(tmp_path, os.fsdecode(b"pics\xff_frame000000"))
    except (OSError, UnicodeError):
        pytest.skip("this file system takes only UTF-8 names")
    image = QImage(64, 48, QImage.Format.Format_RGB888)
    image.fill(0x3366AA)
    saver = FrameSaver()
    saver.save(partial(QImage, image), path)
    saver.wait()
    assert QImage.fromData(path.read_bytes()).pixel(5, 5) == image.pixel(5, 5)
    assert sorted(os.listdir(tmp_path)) == [path.name]


def test_an_export_folder_that_is_now_a_file_is_said_so(tmp_path):
    (tmp_path / "exports").write_text("a file where the folder was")
    with pytest.raises(NotADirectoryError, match="not a folder"):  # before: "File exists"
        claim_png(tmp_path / "exports", "still")


def test_a_frame_reaches_the_view_as_the_screen_paints_it_with_its_own_pixels():
    """Handed over in OpenCV's byte order, each paint on the GUI thread converted it again (benchmarks/display.py)."""
    bgr = np.zeros((3, 5, 3), np.uint8)
    bgr[1, 2] = (10, 20, 30)  # blue, green, red
    image = to_qimage(bgr)
    bgr[1, 2] = 0  # the worker's array is reused; the image keeps its own copy
    assert image.format() == QImage.Format.Format_RGB32 and (image.width(), image.height()) == (5, 3)
    assert image.pixelColor(2, 1).getRgb()[:3] == (30, 20, 10) and image.pixelColor(0, 0).getRgb()[:3] == (0, 0, 0)


def test_a_still_goes_into_an_export_folder_not_made_yet_however_deep(tmp_path):
    """The export folder is typed: a new one two levels down is made, as an export into it makes it."""
    folder = tmp_path / "poses" / "session1"
    assert claim_png(folder, "still") == folder / "still.png" and (folder / "still.png").is_file()
