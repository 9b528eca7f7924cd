"""COCO keypoint results JSON: a list of {image_id, category_id, keypoints [x, y, score]*K, score}, plus
``track_id`` for a person the tracker has confirmed (pycocotools ignores extra keys).

``image_id`` is the frame index (or the dataset's image id in evaluation), ``category_id`` 1; from an
image folder each entry also names its image, ``file_name``, to map it onto an annotation file's ids.
The COCO format has no empty value: a missing joint has score 0 and lies at the middle of the person's found
joints, since pycocotools' ``loadRes`` takes a result's box, and with it the area range that APm and APl sort
it by, from all its keypoints (at 0, 0 it stretched to the image's corner). The file is a valid
JSON array after every frame: each frame's entries go in with the closing bracket behind them, in one write
(a run killed between two writes would leave an array without its bracket).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from core.poses import Poses
from core.sinks.base import Sink, check_in_place, cut_back, flat_keypoints, own_file, writable, write_at

CLOSE = b"\n]\n"


def coco_results(image_id: int | str, poses: Poses, category_id: int | str = 1) -> list[dict]:
    """One entry per person; ``image_id`` as the dataset has it (pycocotools allows strings), else an int."""
    image_id = image_id if isinstance(image_id, str) else int(image_id)
    return [
        {
            "image_id": image_id,
            "category_id": category_id,
            "keypoints": flat_keypoints(*_filled(poses.xy[n], poses.keypoint_scores[n])),
            **person_facts(poses, n),
        }
        for n in range(len(poses))
    ]


def person_facts(poses: Poses, n: int) -> dict:
    """Person ``n``'s score and, once the tracker has confirmed them, track ID, as both COCO outputs write them."""
    track = int(poses.track_ids[n])
    return {"score": round(float(poses.scores[n]), 4), **({"track_id": track} if track >= 0 else {})}


def _filled(xy: np.ndarray, scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """One person's (K, 2) joints and (K,) scores with each missing joint at the middle of the found ones, score 0
    (a person without any keeps them missing: 0, 0, 0)."""
    found = ~np.isnan(xy[:, 0])
    if found.all() or not found.any():
        return xy, scores
    return np.where(found[:, None], xy, xy[found].mean(axis=0)), np.where(found, scores, 0.0)


class CocoJsonSink(Sink):
    def __init__(self, path: str | Path, frame_files: list[str] | None = None) -> None:
        self.path = writable(path)
        self.frame_files = frame_files  # an image folder's (or one image's) file of each frame index
        self._file = open(own_file(self.path), "wb", buffering=0)  # unbuffered: each write reaches the file whole
        write_at(self._file, 0, b"[" + CLOSE)
        self._end = 1  # where the next entry goes (before the closing bracket)
        self._count = 0

    def write(self, frame_index: int, time_s: float, poses: Poses, image=None) -> None:
        entries = coco_results(frame_index, poses)
        if self.frame_files is not None:
            for entry in entries:
                entry["file_name"] = self.frame_files[frame_index]
        if not entries:
            return
        lines = ",".join("\n" + json.dumps(entry, separators=(",", ":")) for entry in entries)
        data = (("," if self._count else "") + lines).encode("utf-8")
        try:
            write_at(self._file, self._end, data + CLOSE)
        except OSError:
            cut_back(self._file, self._end, CLOSE)  # the array as it was before this frame
            raise
        end = self._end + len(data)
        self._end, self._count = end, self._count + len(entries)

    def close(self) -> None:
        if self._file.closed:  # after a failed write (cut_back)
            return
        try:
            check_in_place(self.path, self._file)
        finally:
            self._file.close()
