"""OpenPose-style output: one ``<stem>_<frame:012d>_keypoints.json`` per frame in a folder; from an image
folder one ``<image name>_keypoints.json`` per image, as OpenPose's ``--image_dir`` names them.

Each file: {"version": 1.3, "people": [{"person_id": [track_id], "pose_keypoints_2d":
[x, y, c]*K in the model's keypoint order (COCO-17 for COCO models, not OpenPose's BODY_25), and
OpenPose's empty face/hand/3-D lists}]}; a missing joint is 0, 0, 0 as in OpenPose. Files are
written atomically, so every file present is complete; a run replaces the files of its stem that an
earlier run left in the folder. An image folder's run lists the files it names after images in
``.wlitepose/.<stem>.openpose-files.json`` there, so that a later run of that name removes them too, whatever
images its folder then holds: a hidden folder, as readers of OpenPose folders pass one over whether they glob
``*_keypoints.json``, take every ``*.json`` (Pose2Sim) or every file (its JSON display), where a listing among
the frames was read as one (an IndexError, a frame too many); one an earlier release left there is honoured and
removed. A run whose images would take names another stem's listing holds (two cameras' folders of
``frame_000001.jpg``...) is refused rather than replacing that source's frames.
"""

from __future__ import annotations

import glob
import json
import os
import re
import stat
from pathlib import Path

from core.errors import WLitePoseError
from core.poses import Poses
from core.sinks.base import Sink, atomic_write, flat_keypoints, name_key, writable

FRAME_FILE = re.compile(r".*_keypoints\.json")  # the name of a frame's file, whatever its stem or image
EMPTY_PARTS = (
    "face_keypoints_2d",
    "hand_left_keypoints_2d",
    "hand_right_keypoints_2d",
    "pose_keypoints_3d",
    "face_keypoints_3d",
    "hand_left_keypoints_3d",
    "hand_right_keypoints_3d",
)


class OpenPoseSink(Sink):
    def __init__(self, folder: str | Path, stem: str = "frame", frame_files: list[str] | None = None) -> None:
        self.path = writable(folder, directory=True)
        self.stem = stem
        self._image_names = _image_names(frame_files)
        check_frame_names(self.path, stem, frame_files)
        # an earlier run's frames of this name go, as any output is replaced: a shorter run, or one of a folder
        # whose images changed, would otherwise leave a folder mixing its frames with the old run's
        listing, legacy = _listing_path(self.path, stem), self.path / _listing_name(stem)
        old = list(self.path.glob(f"{glob.escape(stem)}_{'[0-9]' * 12}_keypoints.json"))
        old += [self.path / name for name in _listed(listing) + _listed(legacy)]
        old += [self.path / f"{name}_keypoints.json" for name in self._image_names or ()]
        for path in old:
            if not path.is_dir() or path.is_symlink():  # a folder of that name is no frame of a run
                path.unlink(missing_ok=True)
        if not _a_folder(legacy):
            legacy.unlink(missing_ok=True)
        if self._image_names is None:
            listing.unlink(missing_ok=True)
            try:
                listing.parent.rmdir()  # the hidden folder goes with the last listing in it
            except OSError:
                pass
        else:
            names = [f"{name}_keypoints.json" for name in self._image_names]
            listing.parent.mkdir(exist_ok=True)
            atomic_write(listing, json.dumps(names).encode())

    def frame_path(self, frame_index: int) -> Path:
        if self._image_names is not None:
            return self.path / f"{self._image_names[frame_index]}_keypoints.json"
        return self.path / f"{self.stem}_{frame_index:012d}_keypoints.json"

    def write(self, frame_index: int, time_s: float, poses: Poses, image=None) -> None:
        people = [
            {
                "person_id": [int(poses.track_ids[n])],
                "pose_keypoints_2d": flat_keypoints(poses.xy[n], poses.keypoint_scores[n]),
                **{part: [] for part in EMPTY_PARTS},
            }
            for n in range(len(poses))
        ]
        data = {"version": 1.3, "people": people}
        atomic_write(self.frame_path(frame_index), json.dumps(data, separators=(",", ":")).encode())


def _image_names(frame_files: list[str] | None) -> list[str] | None:
    """An image folder's frames are named after their images, unless two images share a name (a.jpg, a.png;
    A.jpg and a.png on Windows and macOS)."""
    names = [Path(name).stem for name in frame_files or ()]
    return names if names and len(set(map(name_key, names))) == len(names) else None


LISTING_SUFFIX = ".openpose-files.json"
LISTING_FOLDER = ".wlitepose"  # where in the OpenPose folder the listings are: no file among the frames


def _listing_name(stem: str) -> str:
    return f".{stem}{LISTING_SUFFIX}"


def _listing_path(folder: Path, stem: str) -> Path:
    return folder / LISTING_FOLDER / _listing_name(stem)


def check_frame_names(folder: str | Path, stem: str, frame_files: list[str] | None = None) -> None:
    """Every file the output of ``stem`` (with ``frame_files``, an image folder's) may write in ``folder`` has
    a name its file system takes: checked before any frame, as a long source name would fail at the first."""
    images = _image_names(frame_files)
    if images is None:
        names = [f"{stem}_{0:012d}_keypoints.json"]
    else:
        names = [_listing_name(stem), *(f"{name}_keypoints.json" for name in images)]
    longest = max(names, key=_name_length)
    folder = Path(os.path.expanduser(folder))
    listing = _listing_path(folder, stem)
    hidden = listing.parent
    if hidden.is_symlink() or (hidden.exists() and not hidden.is_dir()):  # refused before any frame is removed
        raise WLitePoseError(
            f"cannot write OpenPose frames in {folder}: {hidden.name} there is not a folder, where a run keeps the "
            "list of its frames; remove it"
        )
    if _a_folder(listing):
        raise WLitePoseError(
            f"cannot write OpenPose frames in {folder}: {hidden.name}/{listing.name} there is a folder, where a run "
            "keeps the list of its frames; remove it"
        )
    limit = _name_max(folder)
    if _name_length(longest) > limit:
        raise WLitePoseError(
            f"cannot write OpenPose frames in {folder}: a frame file would be named {longest[:40]}… "
            f"({_name_length(longest)} {NAME_UNIT}, and its file system takes {limit}); give the source a shorter name"
        )
    if images is not None:
        _refuse_others_frames(folder, stem, names[1:])


def _refuse_others_frames(folder: Path, stem: str, names: list[str]) -> None:
    """WLitePoseError if another source's listing in ``folder`` holds one of ``names`` (this image folder's
    frame files): writing them would replace that source's frames with this one's."""
    ours = {name_key(name) for name in names}
    listings = [*(folder / LISTING_FOLDER).glob(_listing_name("*")), *folder.glob(_listing_name("*"))]
    for listing in sorted(listings) if folder.is_dir() else ():
        other = listing.name[1 : -len(LISTING_SUFFIX)]
        if name_key(other) == name_key(stem):
            continue
        # a listing whose frames are gone (removed by a glob, which leaves dotfiles) holds nothing
        shared = [name for name in _listed(listing) if name_key(name) in ours and (folder / name).is_file()]
        if shared:
            raise WLitePoseError(
                f"{folder} holds the OpenPose frames of {other} under names this run's images give "
                f"({shared[0]}, {len(shared)} in all); give each image folder an OpenPose folder of its own"
            )


def _a_folder(path: Path) -> bool:
    try:
        return path.is_dir() and not path.is_symlink()
    except OSError:  # a name too long for the file system: check_frame_names says so
        return False


# Windows counts a name's length in UTF-16 code units (255 of them), the file systems of POSIX in bytes
NAME_UNIT = "UTF-16 units" if os.name == "nt" else "bytes"


def _name_length(name: str) -> int:
    return len(name.encode("utf-16-le")) // 2 if NAME_UNIT == "UTF-16 units" else len(os.fsencode(name))


def _name_max(folder: Path) -> int:
    """The longest file name (in NAME_UNIT) the file system of ``folder`` (or its nearest existing parent) takes."""
    nearest = next((p for p in (folder, *folder.parents) if p.is_dir()), Path("."))
    try:
        return os.pathconf(nearest, "PC_NAME_MAX")
    except (OSError, ValueError, AttributeError):  # no pathconf (Windows), or no limit given
        return 255


MAX_LISTING_BYTES = 64 * 2**20  # a listing of a million frames' names is about 30 MB


def _listed(listing: Path) -> list[str]:
    """The frame files an earlier image folder's run listed; only plain frame-file names count, so a damaged
    or edited list can remove nothing else."""
    try:
        status = listing.lstat()
        if not stat.S_ISREG(status.st_mode) or status.st_size > MAX_LISTING_BYTES:  # a FIFO, a link to /dev/zero
            return []
        names = json.loads(listing.read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError):
        return []
    if not isinstance(names, list):
        return []
    return [name for name in names if isinstance(name, str) and Path(name).name == name and FRAME_FILE.fullmatch(name)]
