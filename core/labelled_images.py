"""The images a COCO-format keypoint file names: within its images folder, present, and read as their labels
see them."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from core.errors import WLitePoseError
from core.progress import first_few
from core.sources import read_image


def check_images(names: list[str], images_dir: str | Path, source) -> None:
    """WLitePoseError naming the first few of ``names`` (the images ``source`` lists) not in ``images_dir``:
    found before hours of work, not by a loader half-way through. A name reaching out of the folder (``/x.jpg``,
    ``../x.jpg``, ``C:x.jpg`` on Windows) is refused: a file from elsewhere could have any image on the disk read."""
    outside = [name for name in names if _reaches_out(name)]
    if outside:
        raise WLitePoseError(
            f"{source} names an image outside its images folder: {outside[0]} (name each image within that folder)"
        )
    listed = _files_listed(images_dir, names)
    missing = [name for name in names if name not in listed and not (Path(images_dir) / name).is_file()]
    if missing:
        counted = f"1 image of {source} is" if len(missing) == 1 else f"{len(missing)} images of {source} are"
        raise WLitePoseError(f"{counted} not in {images_dir}: {first_few(missing)}{_folder_named(missing, images_dir)}")


def _folder_named(missing: list[str], images_dir: str | Path) -> str:
    """A hint where ``missing`` (names not in ``images_dir``) begin with that folder's own name, as Label Studio's
    COCO export writes "images/x.jpg" beside its images/ folder, and are in the folder above. The folder's name is
    matched as the disk would find it: in any case and after a backslash on Windows (the disk then says which)."""
    folder = Path(images_dir).absolute()  # a relative "images" has a parent of its own to name, not "."
    named = all([part.casefold() for part in Path(name).parts[:1]] == [folder.name.casefold()] for name in missing)
    if named and all((folder.parent / name).is_file() for name in missing[:10]):  # a few: a disk's worth is minutes
        return f" (they name their folder too: give {folder.parent} as the images folder)"
    return ""


def _files_listed(images_dir: str | Path, names: list[str]) -> set[str]:
    """Those of ``names`` that their folders' listings show as files: one listing a folder, not a look-up an image
    (COCO's 118,287: minutes on a network disk). A name not shown (another case on a case-blind disk) is looked
    up on its own."""
    listed = set()
    for folder in {name.rpartition("/")[0] for name in names}:  # text, not a Path each: seconds at COCO's size
        try:
            with os.scandir(Path(images_dir) / folder) as entries:
                listed.update(
                    f"{folder}/{entry.name}" if folder else entry.name for entry in entries if entry.is_file()
                )
        except OSError:  # no such folder, or not one: its images are looked up (and found missing) one by one
            continue
    return listed


def _reaches_out(name: str) -> bool:
    """Whether image ``name`` leaves its folder: rooted (``/x.jpg``, ``C:x.jpg`` on Windows) or through ``..``.
    Only a name with a "..", a leading slash or a colon can, so the others make no Path (seconds at COCO's size)."""
    if ".." not in name and name[:1] not in "/\\" and ":" not in name:
        return False
    return bool(Path(name).anchor) or ".." in Path(name).parts


def check_mask_size(ann: dict, width: int, height: int, source) -> None:
    """WLitePoseError if ``ann``'s segmentation is a mask (RLE) of another size than its image, ``width`` x
    ``height`` (made before the images were resized): it would stretch, or fail, over the image."""
    mask = ann.get("segmentation")
    if isinstance(mask, dict) and list(mask.get("size", (height, width))) != [height, width]:
        raise WLitePoseError(
            f"{source}: the region of annotation {ann.get('id')} is a mask of {mask['size'][1]}x{mask['size'][0]} "
            f"on an image of {width}x{height}: it was made for another size"
        )


_STORED: set[tuple[str, tuple]] = set()  # (image, labelled size) read as stored, not as their EXIF turn shows


def read_labelled_image(path: Path, info: dict) -> np.ndarray:
    """The image of ``info`` (an annotation file's entry) as its labels see it: a phone photo's stored pixels
    when the file's width and height are those (its EXIF rotation is not applied then); WLitePoseError if the
    image is missing or unreadable, or of another size than the file says (resized after labelling)."""
    size = (info.get("width"), info.get("height"))
    as_stored = (str(path), size) in _STORED  # learnt at the image's first read: one decode a read after
    image = read_image(path, apply_orientation=not as_stored)
    if image is None:
        raise WLitePoseError(f"image {path} is missing or unreadable")
    if not all(isinstance(side, int) and side > 0 for side in size) or image.shape[1::-1] == size:
        return image
    stored = None if as_stored else read_image(path, apply_orientation=False)
    if stored is not None and stored.shape[1::-1] == size:
        _STORED.add((str(path), size))
        return stored
    raise WLitePoseError(
        f"image {path} is {image.shape[1]}x{image.shape[0]}, but its annotations say {size[0]}x{size[1]}: "
        "its labels would not fall on its people (was it resized after labelling?)"
    )
