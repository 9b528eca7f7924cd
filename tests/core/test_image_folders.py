"""Image folders as sources: their images in natural order, the ones they cannot read or that are too small passed
over and named, and seeks that land on an image that can be shown."""

import os

import cv2
import numpy as np
import pytest

from core.errors import WLitePoseError
from core.frame_loop import source_stamp
from core.sources import (
    is_image_sequence,
    open_source,
    source_name,
)


def test_an_image_folder_skips_to_the_right_file(tmp_path):
    for value in range(5):
        cv2.imwrite(str(tmp_path / f"{value}.png"), np.full((24, 32, 3), value * 40, np.uint8))
    with open_source(str(tmp_path)) as source:
        frames = iter(source)
        next(frames)
        assert source.skip(2) == 2
        frame = next(frames)
        assert (frame.index, int(frame.image[0, 0, 0])) == (3, 120)
        assert source.skip(9) == 1 and list(frames) == []
        source.seek(1)
        frame = next(iter(source))
        assert (frame.index, int(frame.image[0, 0, 0])) == (1, 40)


def test_image_folder_is_sorted_and_single_image_works(tmp_path):
    for name, value in (("b.png", 20), ("a.jpg", 10), ("c.bmp", 30)):
        cv2.imwrite(str(tmp_path / name), np.full((40, 50, 3), value, np.uint8))
    (tmp_path / "notes.txt").write_text("ignored")
    with open_source(str(tmp_path)) as source:
        means = [round(float(f.image.mean())) for f in source]
        assert source.frame_count == 3 and source.size == (50, 40)
    assert means == [10, 20, 30]
    with open_source(str(tmp_path / "b.png")) as single:
        assert [f.index for f in single] == [0]
    numbered = tmp_path / "numbered"  # as people number them: frame2 before frame10, whatever the letter case
    numbered.mkdir()
    for name in ("frame10.png", "frame2.png", "Frame3.png", "frame1.png"):
        cv2.imwrite(str(numbered / name), np.zeros((24, 32, 3), np.uint8))
    with open_source(str(numbered)) as source:
        assert source.frame_files == ["frame1.png", "frame2.png", "Frame3.png", "frame10.png"]


def test_an_image_folder_skips_hidden_files_and_takes_the_formats_opencv_reads(tmp_path):
    folder = tmp_path / "photos"
    folder.mkdir()
    names = (("IMG_1.jpg", ".jpg"), ("IMG_2.ppm", ".ppm"), ("IMG_3.jfif", ".jpg"), ("IMG_4.pnm", ".ppm"))
    for name, encoding in (*names, ("IMG_5.JPG", ".jpg")):  # a camera's card names them in upper case
        cv2.imencode(encoding, np.full((24, 32, 3), 90, np.uint8))[1].tofile(folder / name)
    (folder / "._IMG_1.jpg").write_bytes(b"\x00\x05\x16\x07 AppleDouble")  # a Mac's resource fork copy
    with open_source(str(folder), image_fps=10) as source:
        frames = list(source)
    assert source.frame_files == ["IMG_1.jpg", "IMG_2.ppm", "IMG_3.jfif", "IMG_4.pnm", "IMG_5.JPG"]
    assert not source.unreadable and [f.timestamp_s for f in frames] == pytest.approx([0.0, 0.1, 0.2, 0.3, 0.4])
    with open_source(str(folder / "IMG_2.ppm"), image_fps=10) as one:
        assert one.fps == 10 and one.image_folder is False


def test_a_folder_of_unreadable_images_says_none_can_be_read(tmp_path):
    folder = tmp_path / "allbad"
    folder.mkdir()
    for name in ("a.jpg", "b.jpg"):
        (folder / name).write_bytes(b"broken")
    with pytest.raises(WLitePoseError, match=r"^not one of the 2 images in .*allbad can be read$"):
        open_source(str(folder))
    (folder / "b.jpg").unlink()  # one image: named, and said once ("cannot be read can be read" before)
    with pytest.raises(WLitePoseError, match=r"^the only image in .*allbad, a.jpg, cannot be read$"):
        open_source(str(folder))
    with pytest.raises(WLitePoseError, match=r"^image .*a.jpg cannot be read$"):
        open_source(str(folder / "a.jpg"))


def test_a_player_hears_of_each_skipped_image_once_from_where_it_left_off(tmp_path):
    folder = tmp_path / "some_bad"
    folder.mkdir()
    for name in ("a.png", "c.png"):
        (folder / name).write_bytes(b"broken")
    cv2.imencode(".png", np.zeros((24, 32, 3), np.uint8))[1].tofile(folder / "b.png")
    with open_source(str(folder)) as source:
        frames = iter(source)
        next(frames)
        assert source.skipped_notes() == [f"skipped {folder / 'a.png'}: it cannot be read as an image"]
        assert list(frames) == [] and source.skipped_notes(1) == [
            f"skipped {folder / 'c.png'}: it cannot be read as an image"
        ]
        assert source.end_notes(1, 3) == source.skipped_notes()  # all of them, at the end


def test_a_folders_end_names_ten_images_passed_over_and_counts_the_rest(tmp_path):
    """A folder of frames and their thousand thumbnails ended on a thousand warnings (and one dialog in the app)."""
    folder = tmp_path / "frames"
    folder.mkdir()
    cv2.imencode(".png", np.zeros((48, 64, 3), np.uint8))[1].tofile(folder / "frame.png")
    for n in range(12):
        (folder / f"thumb{n:02d}.png").write_bytes(b"broken")
    with open_source(str(folder)) as source:
        assert len(list(source)) == 1 and len(source.skipped_notes()) == 12  # the player hears of each
        notes = source.end_notes(1, 13)
    assert notes[:10] == source.skipped_notes()[:10]
    assert notes[10:] == ["skipped 2 more images"]


def test_an_image_beyond_opencvs_pixel_limit_is_passed_over_not_a_traceback(tmp_path):
    import struct
    import zlib

    folder = tmp_path / "panorama"
    folder.mkdir()

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", 200000, 200000, 8, 2, 0, 0, 0)  # 40 gigapixels, with data to decode
    png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"")) + chunk(b"IEND", b"")
    (folder / "a_huge.png").write_bytes(png)
    cv2.imencode(".png", np.zeros((24, 32, 3), np.uint8))[1].tofile(folder / "b.png")
    with open_source(str(folder)) as source:
        assert [f.index for f in source] == [1] and source.skipped_notes() == [
            f"skipped {folder / 'a_huge.png'}: it cannot be read as an image"
        ]


def test_a_folders_name_is_whole_even_with_a_dot_in_it(tmp_path):
    """Folders take.1 and take.2 are two names (a batch's {name}), not both "take"; a file's loses its extension."""
    for name in ("take.1", "take.2"):
        (tmp_path / name).mkdir()
    assert [source_name(str(tmp_path / name)) for name in ("take.1", "take.2", "clip.v2.mp4")] == [
        "take.1",
        "take.2",
        "clip.v2",
    ]


@pytest.mark.skipif(not cv2.haveImageWriter("a.gif"), reason="OpenCV reads GIF from 4.12 on (which needs numpy 2)")
def test_a_folder_takes_gif_and_hdr_stills_and_says_what_it_left_out_or_read_in_part(tmp_path):
    """A folder's .gif and .hdr images, which OpenCV reads (and eval and training took), vanished from a run
    without a word, as did its files of formats no reader takes; a TIFF's later pages went unread unsaid."""
    still = np.full((40, 50, 3), 90, np.uint8)
    cv2.imwrite(str(tmp_path / "a.gif"), still)
    cv2.imwritemulti(str(tmp_path / "b.tif"), [still, still, still])  # three pages
    cv2.imwrite(str(tmp_path / "c.hdr"), still.astype(np.float32) / 255)
    (tmp_path / "d.heic").write_bytes(b"a format OpenCV does not read")
    (tmp_path / ".DS_Store").write_bytes(b"")
    with open_source(str(tmp_path)) as source:
        assert source.frame_files == ["a.gif", "b.tif", "c.hdr"] and len(list(source)) == 3
        assert source.end_notes(3, 3) == [
            "only the first frame of images holding several was analysed: b.tif (3)",
            f"left out of {tmp_path}, as no image this tool reads: d.heic",
        ]
    assert not is_image_sequence(str(tmp_path / "a.gif"))  # alone, a GIF is an animation: read as a video


def test_a_folder_of_images_too_small_says_so_not_that_they_cannot_be_read(tmp_path):
    folder = tmp_path / "thumbs"
    folder.mkdir()
    cv2.imwrite(str(folder / "a.png"), np.full((24, 24, 3), 90, np.uint8))
    with pytest.raises(WLitePoseError, match=r"^the only image in .*thumbs, a.png, is 24x24 pixels, too small to find"):
        open_source(str(folder))
    cv2.imwrite(str(folder / "b.png"), np.full((20, 30, 3), 90, np.uint8))
    with pytest.raises(
        WLitePoseError, match=r"^not one of the 2 images in .*thumbs is large enough to find people in$"
    ):
        open_source(str(folder))
    (folder / "c.png").write_bytes(b"not an image")
    with pytest.raises(WLitePoseError, match=r"not one of the 3 images in .*thumbs can be read and is large enough"):
        open_source(str(folder))


def test_seeking_in_a_folder_lands_past_images_too_small(tmp_path):
    for value in range(4):
        cv2.imwrite(str(tmp_path / f"{value}.png"), np.full((24, 32, 3), value * 40, np.uint8))
    cv2.imwrite(str(tmp_path / "4.png"), np.full((16, 16, 3), 200, np.uint8))
    (tmp_path / "sub").mkdir()  # a folder inside is neither a frame nor a file left out
    with open_source(str(tmp_path)) as folder:
        assert folder.frame_at_or_before(12) == 3
        assert not any("left out" in note for note in folder.end_notes(4, 5))


def test_names_with_other_scripts_digits_are_ordered_not_a_crash(tmp_path):
    """A name whose letters are digits of another script (Arabic-Indic ٣) next to ASCII ones: taken for a number,
    it was compared with another name's letters, a TypeError traceback instead of a run."""
    for name in ("٣1.png", "a1.png", "b2.png"):
        cv2.imencode(".png", np.zeros((24, 32, 3), np.uint8))[1].tofile(tmp_path / name)
    with open_source(str(tmp_path)) as source:
        assert source.frame_files == ["a1.png", "b2.png", "٣1.png"]


def test_an_image_named_in_upper_case_is_not_said_to_be_left_out(tmp_path):
    """A camera card's IMG_1.JPG is one of the frames: the end of the run named it among the files left out."""
    cv2.imwrite(str(tmp_path / "IMG_1.JPG"), np.zeros((24, 32, 3), np.uint8))
    (tmp_path / "NOTES.TXT").write_text("not an image")
    with open_source(str(tmp_path)) as source:
        assert source.frame_files == ["IMG_1.JPG"] and len(list(source)) == 1
        assert source.end_notes(1, 1) == [f"left out of {tmp_path}, as no image this tool reads: NOTES.TXT"]


def test_images_of_two_sizes_are_told_of_only_where_files_were_written(tmp_path):
    """The note is about the CSV sidecar's and PoseC3D's sizes: the Python API, which writes none, warned of them."""
    cv2.imwrite(str(tmp_path / "a.png"), np.zeros((40, 50, 3), np.uint8))
    cv2.imwrite(str(tmp_path / "b.png"), np.zeros((50, 40, 3), np.uint8))
    with open_source(str(tmp_path)) as source:
        assert len(list(source)) == 2
        assert source.end_notes(2, 2, outputs=False) == []
        assert any("differ in size" in note for note in source.end_notes(2, 2))


@pytest.mark.skipif(os.name == "nt", reason="links need privileges on Windows")
def test_a_link_that_leads_to_itself_in_a_folder_is_a_frame_passed_over_not_an_error(tmp_path):
    """Its stat fails with 'too many levels of symbolic links', not 'not found': the stamp stopped the run."""
    cv2.imwrite(str(tmp_path / "a.png"), np.zeros((40, 50, 3), np.uint8))
    (tmp_path / "loop.png").symlink_to(tmp_path / "loop.png")
    assert source_stamp(str(tmp_path))[0] == 2
    with open_source(str(tmp_path)) as source:
        assert [frame.index for frame in source] == [0] and "loop.png" in source.skipped_notes()[0]
