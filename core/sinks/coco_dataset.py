"""COCO keypoints dataset JSON, as COCO's person_keypoints files are: poses to correct in an annotation tool (CVAT's
COCO Keypoints 1.0 import) or to score another model against, where the COCO results JSON (coco_json) is a
list of detections only.

``info``; ``categories``: one, person (id 1), with the model's keypoint names and its skeleton numbered from 1;
``images``: every frame written, people found in it or not: ``id`` the frame index, ``file_name``, ``width``,
``height``; ``annotations``: one a person, ``id`` from 1, ``image_id``, ``category_id`` 1, ``keypoints``
[x, y, v]*K with v 2 for a joint found and 0, 0, 0 for one not, ``num_keypoints``, ``bbox`` [x, y, w, h] and
``area`` of the box around the joints found, ``iscrowd`` 0, ``segmentation`` [] (none), ``score``, ``track_id``
once the tracker has confirmed the person, and ``attributes`` with the same score and track.

What CVAT does with such a file, read in its source (cvat-ai/cvat, cvat/apps/dataset_manager/formats/coco.py and
bindings.py) and its datumaro fork (cvat-ai/datumaro, the COCO extractor):
- its importer hands the .json to datumaro's coco_person_keypoints reader, which wants every annotation to
  have a ``segmentation`` (an empty one is none) and turns each keypoint name into a point of a skeleton label
  named after the category: the task's skeleton is ``person``, its points named as the model's keypoints;
- an image is matched to a task frame by its file name without the extension. A video task names its frames
  ``frame_`` and six digits of their number in the video (the task's start frame plus its frame step times the
  index), so a video's frames are named ``frame_000000.jpg``... here, by frame index (the extension, datumaro's
  default for COCO images, is not compared); an image folder's keep their own names. An image the task does not
  have stops the import, so the task holds the whole video (or every image);
- an annotation becomes a frame of a track only when its attributes hold both ``track_id`` and ``keyframe``
  (else it is a lone skeleton and its track ID is dropped): a confirmed person's say keyframe true, each frame
  being one, and CVAT closes a track over the frames its person is missing from.

The file is valid JSON after every frame, so an interrupted run leaves a file that loads. Annotations are
appended at its end, the closing brackets rewritten behind each frame's; the frame's image, written first (a
reader never meets an annotation of an image not listed yet), goes into a run of spaces kept after the images
(JSON takes any white space between values). When that room is used up the file is replaced by a copy with room
for as many images again, atomically, and at close by a copy without it.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
from pathlib import Path

import numpy as np

from core.model_file import ModelInfo
from core.poses import Poses
from core.sinks.base import Sink, atomic_file, atomic_write, check_in_place, flat_keypoints, writable, write_at
from core.sinks.coco_json import person_facts
from core.version import tool_version

FOUND = 2  # COCO's visibility flag of a joint labelled and visible (1: labelled, hidden; 0: not labelled)
IMAGES_END = b"\n]"  # closes the images; the room for more follows it
ANNOTATIONS = b',\n"annotations":['
END = b"\n]}\n"  # closes the annotations and the file
MIN_ROOM = 4096  # bytes of spaces kept after the images at the least


def video_frame_name(index: int) -> str:
    """The name CVAT gives frame ``index`` of a video task made from the whole video."""
    return f"frame_{index:06d}.jpg"


class CocoDatasetSink(Sink):
    def __init__(
        self,
        path: str | Path,
        info: ModelInfo,
        image_size: tuple[int, int],
        frame_files: list[str] | None = None,
        source: str = "",
    ) -> None:
        self.path = writable(path)
        self.image_size = tuple(image_size)  # (w, h) of a frame that comes without its picture
        self.frame_files = frame_files  # an image folder's (or one image's) file of each frame index
        person = {
            "id": 1,
            "name": "person",
            "supercategory": "person",
            "keypoints": list(info.keypoint_names),
            "skeleton": [[a + 1, b + 1] for a, b in info.skeleton],
        }
        about = {"description": f"poses in {source}", "contributor": f"WLitePose {tool_version()} ({info.variant})"}
        head = b'{"info":' + _json(about) + b',\n"categories":[' + _json(person) + b'],\n"images":['
        self._images_end = len(head)  # where IMAGES_END lies, the room after it
        self._room = MIN_ROOM
        self._annotations_start = self._images_end + len(IMAGES_END) + self._room
        self._annotations_end = self._annotations_start + len(ANNOTATIONS)  # where END lies
        self._images = self._annotations = 0
        # replaced as a whole: a link at the name is replaced, not written through
        atomic_write(self.path, head + IMAGES_END + b" " * self._room + ANNOTATIONS + END)
        self._file = open(self.path, "r+b", buffering=0)  # unbuffered: a write that failed leaves nothing pending

    def write(self, frame_index: int, time_s: float, poses: Poses, image=None) -> None:
        width, height = (image.shape[1], image.shape[0]) if image is not None else self.image_size
        name = self.frame_files[frame_index] if self.frame_files is not None else video_frame_name(frame_index)
        annotations = [self._annotation(frame_index, poses, n) for n in range(len(poses))]
        listed_at = self._images_end
        self._add_image({"id": int(frame_index), "file_name": name, "width": int(width), "height": int(height)})
        if annotations:
            try:
                self._add_annotations(annotations)
            except OSError:
                self._unlist_image(listed_at)  # no image whose people are missing
                raise

    def _annotation(self, frame_index: int, poses: Poses, n: int) -> dict:
        found = ~np.isnan(poses.xy[n, :, 0])
        keypoints = flat_keypoints(poses.xy[n], np.where(found, FOUND, 0))
        joints = np.flatnonzero(found).tolist()
        xs = [keypoints[3 * k] for k in joints]  # as written: the box fits the joints exactly
        ys = [keypoints[3 * k + 1] for k in joints]
        x, y = (min(xs), min(ys)) if xs else (0, 0)
        w, h = (round(max(xs) - x, 2), round(max(ys) - y, 2)) if xs else (0, 0)
        facts = person_facts(poses, n)
        return {
            "id": self._annotations + n + 1,
            "image_id": int(frame_index),
            "category_id": 1,
            "keypoints": keypoints,
            "num_keypoints": len(xs),
            "bbox": [x, y, w, h],
            "area": round(w * h, 2),
            "iscrowd": 0,
            "segmentation": [],
            **facts,
            "attributes": {**facts, "keyframe": True} if "track_id" in facts else facts,
        }

    def _add_image(self, image: dict) -> None:
        data = (b",\n" if self._images else b"\n") + _json(image) + IMAGES_END
        grows = len(data) - len(IMAGES_END)
        if grows > self._room:
            self._make_room(max(MIN_ROOM, grows, self._images_end))  # room for as many images again
        write_at(self._file, self._images_end, data)
        self._images_end += grows
        self._room -= grows
        self._images += 1

    def _unlist_image(self, listed_at: int) -> None:
        """The last image taken out again (written over in place: nothing grows)."""
        freed = self._images_end - listed_at
        write_at(self._file, listed_at, IMAGES_END + b" " * freed)
        self._images_end, self._room, self._images = listed_at, self._room + freed, self._images - 1

    def _add_annotations(self, annotations: list[dict]) -> None:
        data = b"".join((b",\n" if self._annotations + n else b"\n") + _json(a) for n, a in enumerate(annotations))
        try:
            write_at(self._file, self._annotations_end, data + END)
        except OSError:  # a full disk: the file cut back to its last whole frame, which frees the room END takes
            os.ftruncate(self._file.fileno(), self._annotations_end)
            write_at(self._file, self._annotations_end, END)
            raise
        self._annotations_end += len(data)
        self._annotations += len(annotations)

    def _make_room(self, room: int) -> None:
        """The file replaced by a copy with ``room`` spaces after the images; a failure leaves it as it was."""
        self._file.close()  # Windows replaces no file that is open
        try:
            with atomic_file(self.path) as copy, open(self.path, "rb") as old:
                copy.write(old.read(self._images_end + len(IMAGES_END)))
                copy.write(b" " * room)
                old.seek(self._annotations_start)
                shutil.copyfileobj(old, copy)
        finally:
            self._file = open(self.path, "r+b", buffering=0)
        self._annotations_start += room - self._room
        self._annotations_end += room - self._room
        self._room = room

    def close(self) -> None:
        if self._file.closed:
            return
        try:
            check_in_place(self.path, self._file)  # its folder removed: said, not taken for a copy that failed
            if self._room:  # no copy made (a full disk) leaves the file whole and valid, spaces and all
                with contextlib.suppress(OSError):
                    self._make_room(0)
        finally:
            self._file.close()


def _json(value) -> bytes:
    return json.dumps(value, separators=(",", ":")).encode()
