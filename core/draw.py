"""Skeleton drawing shared by the CLI's annotated video and the GUI: one colour per track ID."""

from __future__ import annotations

import colorsys
import math
from collections import deque
from dataclasses import dataclass, replace

import cv2
import numpy as np

from core.poses import Poses, median_rows

UNTRACKED = (200, 200, 200)  # BGR for people without a track ID
DARK_EDGE = (40, 40, 40)  # under light skeletons (the untracked grey, yellows), which alone vanished on snow
# Sizes follow the picture's area (the square root of it), not its longer side: a 4000 x 300 panorama got 4K's
# 11 px lines and 55 px tags over people 150 px tall; a 160 x 120 frame, tags 16 % of its height.
SIZE_PER_THICKNESS = 400
GOLDEN = 0.618033988749895


@dataclass(frozen=True)
class Overlay:
    """What is drawn besides the skeletons and track IDs, and whether the picture is shown mirrored."""

    boxes: bool = False
    scores: bool = False
    trails: bool = True
    # left and right swapped as a selfie camera shows them: the app's live view only, never an
    # exported or recorded file, so the numbers keep the camera's own left and right
    mirror: bool = False


def track_color(track_id: int) -> tuple[int, int, int]:
    """A stable, well-spread BGR colour for a track ID (hues stepped by the golden ratio)."""
    if track_id < 0:
        return UNTRACKED
    r, g, b = colorsys.hsv_to_rgb((track_id * GOLDEN) % 1.0, 0.75, 1.0)
    return int(b * 255), int(g * 255), int(r * 255)


class Trails:
    """Recent positions per track ID, for motion trails.

    A trail follows the mean of the person's joints, each one where it was last found and, while the
    detections miss it, carried along by the median movement of the joints still found; the plain mean
    of the found joints would jump up and down as legs or arms come and go between frames. A joint
    missed for a whole trail's length is forgotten."""

    def __init__(self, length: int = 30) -> None:
        self.length = length
        self._points: dict[int, deque] = {}
        # per track: (K, 2) where each joint is taken to be (NaN if unknown), (K,) updates since each was found
        self._joints: dict[int, tuple[np.ndarray, np.ndarray]] = {}

    def update(self, poses: Poses) -> None:
        tracked = (poses.track_ids >= 0) & poses.visible.any(axis=1)
        # the first of a track ID given twice (a tracker gives each once), so each track moves on once a frame
        ids, first = np.unique(poses.track_ids[tracked], return_index=True)
        ids = ids.tolist()
        anchors = self._anchors(ids, poses.xy[tracked][first])
        for track_id, anchor in zip(ids, anchors, strict=True):
            self._points.setdefault(track_id, deque(maxlen=self.length)).append(anchor)
        seen = set(ids)
        for track_id in list(self._points):
            if track_id not in seen:
                trail = self._points[track_id]
                trail.popleft()  # a vanished track's trail fades out
                if not trail:
                    del self._points[track_id], self._joints[track_id]

    def _anchors(self, ids: list[int], xy: np.ndarray) -> np.ndarray:
        """(M, 2) this frame's trail point of each track ``ids``, found at ``xy`` (M, K, 2); the joints each is
        taken to be at move on. All people at once: one by one, 100 people took 10 ms a frame here, against 0.6."""
        k = xy.shape[1]
        fresh = (np.full((k, 2), np.nan), np.zeros(k, np.int64))
        remembered = [self._joints.get(track_id, fresh) for track_id in ids]
        joints = np.array([j for j, _ in remembered]).reshape(-1, k, 2)
        unseen = np.array([u for _, u in remembered]).reshape(-1, k)
        found, known = ~np.isnan(xy[..., 0]), ~np.isnan(joints[..., 0])
        # joints missed now move with the median move of those found now and before (none such: they stay)
        shift = median_rows(np.where((found & known)[..., None], xy - joints, np.nan))
        joints = np.where(found[..., None], xy, joints + shift[:, None])
        unseen = np.where(found, 0, unseen + 1)
        joints[unseen >= self.length] = np.nan
        for track_id, track_joints, track_unseen in zip(ids, joints, unseen, strict=True):
            self._joints[track_id] = track_joints, track_unseen
        known = ~np.isnan(joints[..., 0])
        # np.nanmean's numbers, at a third of its cost
        return np.where(known[..., None], joints, 0.0).sum(axis=1) / known.sum(axis=1)[:, None]

    def items(self):
        return self._points.items()

    def copy(self) -> Trails:
        """The trails as they are now, which the updates of these leave alone (a frame drawn again later)."""
        copy = Trails(self.length)
        copy._points = {track_id: deque(points, self.length) for track_id, points in self._points.items()}
        copy._joints = {track_id: (joints.copy(), unseen.copy()) for track_id, (joints, unseen) in self._joints.items()}
        return copy


def draw_poses(
    image_bgr: np.ndarray,
    poses: Poses,
    skeleton,
    *,
    boxes: bool = False,
    scores: bool = False,
    trails: Trails | None = None,
    mirror: bool = False,
    zoom: tuple[float, float] = (1.0, 1.0),
) -> np.ndarray:
    """Draw skeletons (and optional boxes, scores, trails) into ``image_bgr`` in place; returns it.

    With ``mirror`` the image is flipped left-right first and the people drawn where they now are;
    their labels still read the right way round. ``zoom``: the image is the frame the poses and trails
    were found on, resized by these factors (x, y), as a view shows it; lines and tags follow its size."""
    h, w = image_bgr.shape[:2]
    size = math.sqrt(h * w)
    thickness = max(1, round(size / SIZE_PER_THICKNESS))
    dot = thickness + (2 if size >= SIZE_PER_THICKNESS else 1)  # a small frame's people are a few dots tall
    zoomed = zoom != (1.0, 1.0)
    if zoomed:
        poses = poses.scaled(lambda xy: _zoomed(xy, zoom))
    if mirror:
        image_bgr[:] = image_bgr[:, ::-1]
        poses = replace(poses, xy=_mirrored(poses.xy, w))
    if trails is not None:
        for track_id, points in trails.items():
            if len(points) > 1:
                pts = _zoomed(np.array(points), zoom) if zoomed else np.array(points)
                pts = np.round(_mirrored(pts, w) if mirror else pts).astype(np.int32)
                cv2.polylines(image_bgr, [pts], False, track_color(track_id), thickness, cv2.LINE_AA)
    # every person's numbers as Python ints and bools at once: OpenCV takes tuples of them as they are, where
    # numpy scalars, converted one by one for each of a person's joints, took a fifth of the drawing's time
    person_boxes = np.round(poses.boxes()).tolist()
    all_pts = np.round(np.nan_to_num(poses.xy)).astype(np.int32).tolist()
    all_found = poses.visible.tolist()
    track_ids = poses.track_ids.tolist()
    labels = []  # (text, top-left corner, colour), drawn after every skeleton so none is painted over
    # people go down by track ID, oldest first, untracked last, not in the detections' order: the order of scores,
    # swapping from frame to frame, swapped which of two overlapping people's skeletons lay on top, and which one's
    # tag kept its place while the other's moved aside (their IDs seemed to flicker between them)
    for n in sorted(range(len(poses)), key=lambda n: (track_ids[n] < 0, track_ids[n])):
        color = track_color(track_ids[n])
        found = all_found[n]
        pts = [tuple(p) for p in all_pts[n]]
        links = [(pts[a], pts[b]) for a, b in skeleton if found[a] and found[b]]
        joints = [p for p, seen in zip(pts, found, strict=True) if seen]
        if _luminance(color) >= EDGED_FROM:
            for a, b in links:
                cv2.line(image_bgr, a, b, DARK_EDGE, thickness + 3, cv2.LINE_AA)
            for p in joints:
                cv2.circle(image_bgr, p, dot + 1, DARK_EDGE, -1, cv2.LINE_AA)
        for a, b in links:
            cv2.line(image_bgr, a, b, color, thickness + 1, cv2.LINE_AA)
        for p in joints:
            cv2.circle(image_bgr, p, dot, color, -1, cv2.LINE_AA)
        if not joints:
            continue
        x0, y0, x1, y1 = map(int, person_boxes[n])
        if boxes:
            cv2.rectangle(image_bgr, (x0, y0), (x1, y1), color, thickness)
        label = []
        if track_ids[n] >= 0:
            label.append(f"#{track_ids[n]}")
        if scores:
            label.append(f"({poses.scores[n]:.2f})")
        if label:
            labels.append((" ".join(label), (x0, y0), color))
    tags: list[tuple[int, int, int, int]] = []  # label rectangles drawn so far
    # text as tall as the lines are thick, and smaller on a small frame (its floor 0.3: still legible)
    scale = max(0.3, min(0.4 + 0.15 * thickness, 0.55 * size / SIZE_PER_THICKNESS))
    for text, corner, color in labels:
        _draw_label(image_bgr, text, corner, color, scale, tags)
    return image_bgr


# Black ink reads better than white on a colour of relative luminance above this (WCAG's contrast ratios
# (L + 0.05) / 0.05 and 1.05 / (L + 0.05) are equal there); luma above 140 gave white on a third of the track
# colours where black had twice the contrast (magenta #3: 2.95:1 against 7.1:1).
DARK_INK_ABOVE = math.sqrt(1.05 * 0.05) - 0.05


def _luminance(color) -> float:
    """WCAG relative luminance of a BGR colour."""
    b, g, r = (c / 255 for c in color)
    r, g, b = (c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in (r, g, b))
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


EDGED_FROM = _luminance(UNTRACKED)  # colours as light as the grey get its dark edge: 1.08:1 on snow for yellow #10


def _zoomed(xy: np.ndarray, zoom: tuple[float, float]) -> np.ndarray:
    """Pixel coordinates (..., 2) of a frame in the frame resized by ``zoom`` (x, y), pixel centres onto centres."""
    return ((xy + 0.5) * np.asarray(zoom, dtype=np.float32) - 0.5).astype(np.float32)


def _mirrored(xy: np.ndarray, width: int) -> np.ndarray:
    """Pixel coordinates (..., 2) of an image ``width`` wide in the same image flipped left-right."""
    out = np.array(xy, dtype=np.float32)
    out[..., 0] = width - 1 - out[..., 0]
    return out


def _free_place(x: int, top: int, size: tuple[int, int], bottom: int, taken: list) -> int:
    """The first of the heights top - 1, top + 1, top - 2, top + 2 ... tag heights (each kept within 0..bottom)
    where a tag of ``size`` at ``x`` covers none of ``taken``, all tried at once (one by one, 100 tags piled at one
    corner, a crowd far off, took 14 ms a frame here, against 4); else top, as near as the image allows: no free
    place near, so it overlaps where it belongs."""
    tag_w, tag_h = size
    steps = np.arange(1, 2 * len(taken) + 1)
    heights = np.clip(top + (steps + 1) // 2 * np.where(steps % 2, -1, 1) * tag_h, 0, bottom)
    tags = np.array(taken)
    tags = tags[(x < tags[:, 2]) & (tags[:, 0] < x + tag_w)]  # those beside it
    clear = ~((heights[:, None] < tags[:, 3]) & (tags[:, 1] < heights[:, None] + tag_h)).any(axis=1)
    return int(heights[clear.argmax()]) if clear.any() else min(max(top, 0), bottom)


def _draw_label(image_bgr: np.ndarray, text: str, corner: tuple[int, int], color, scale: float, taken: list) -> None:
    """Text on a tag of the track colour above the person's top-left corner (inside the box when there
    is no room above), kept inside the image and moved up or down past the tags already drawn
    (``taken``, updated); black or white ink, whichever reads on the colour."""
    h, w = image_bgr.shape[:2]
    (tw, th), base = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, 1)
    pad = 2
    tag_w, tag_h = tw + 2 * pad, th + base + 2 * pad
    x = min(max(corner[0], 0), max(w - tag_w, 0))
    top = corner[1] - tag_h if corner[1] >= tag_h else max(corner[1], 0)
    bottom = max(h - tag_h, 0)
    y = min(max(top, 0), bottom)
    if any(x < x1 and x0 < x + tag_w and y < y1 and y0 < y + tag_h for x0, y0, x1, y1 in taken):
        y = _free_place(x, top, (tag_w, tag_h), bottom, taken)
    taken.append((x, y, x + tag_w, y + tag_h))
    cv2.rectangle(image_bgr, (x, y), (x + tag_w - 1, y + tag_h - 1), color, -1)
    ink = (0, 0, 0) if _luminance(color) > DARK_INK_ABOVE else (255, 255, 255)
    cv2.putText(image_bgr, text, (x + pad, y + pad + th), cv2.FONT_HERSHEY_SIMPLEX, scale, ink, 1, cv2.LINE_AA)
