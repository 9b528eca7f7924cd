"""Multi-person pose tracking: OKS or box-IoU + Hungarian association, Kalman-smoothed keypoints, ID life cycle.

Each track keeps one constant-velocity Kalman filter per keypoint (core.kalman), all tracks in
arrays so the cost stays flat with crowd size. Per frame:

1. predict every track to the frame's timestamp;
2. match detections to tracks seen in the previous frame, then the rest to lost tracks, by the
   Hungarian algorithm on their similarity: the larger of the OKS between the predicted and the
   detected pose (over joints present in both, with the track's box area as scale, widened while
   a track is lost) and the IoU of their keypoint boxes. OKS alone is too strict for small
   people: its tolerance is a few pixels for a pedestrian 60 px tall, less than one heatmap cell
   of the network on such a frame, so the same person's consecutive poses can score near 0 (on
   vtest.avi, the pairs matched only by IoU have a median 16 joints in common and OKS 0.02).
   A track seen on the frame before also scores the IoU of its last measured keypoint box, as it was and
   moved on at the body's measured pace (the median move of its joints between its last two
   measurements): the filter's velocity takes frames to catch up with a runner first seen, or with a turn
   (a tennis player's side step), and lags further at strong smoothing, where its predicted box slid off
   the person and the track lost them each second frame. A track seen once has no velocity yet: left
   unmatched, it takes a free detection of its shape within NEWBORN_SPEED person sizes a second (a runner
   first seen at 10 fps moves off its box) of where it was, or of where the crowd's common move (the median
   move of the people matched on both frames) took it; a track of more than one hit left unmatched that was
   seen on the frame before takes a free detection its last measured box overlaps, moved on at its pace and by
   the crowd's common surprise (the median of those people's moves less what their paces foretold): a camera
   that pans, turns back or shakes moves everyone at once;
3. matched joints update their filter; joints missing in the detection stay missing
   (predictions are never written out as measurements), and so do a minority of joints lying far
   from where they were last seen, moved on with their body or with their own velocity (a neighbour's
   joint or a false peak grouped into the pose);
4. a track gets an ID on the ``min_hits``-th frame it is detected in, its first counted (tentative
   before, track_id -1, and dropped as soon as it goes unmatched); a confirmed track becomes lost when
   unmatched and is dropped after ``max_lost_s`` seconds unseen, so a person who reappears nearby
   within that time gets their old ID back.

Noise is relative to each person's size, so behaviour does not depend on image resolution.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass

import numpy as np
from scipy.optimize import linear_sum_assignment

from core import kalman
from core.poses import Poses, box_iou, keypoint_boxes, median_rows

# At smoothing 1 the filter assumes joint jitter of this fraction of the person's size.
MAX_JITTER = 0.15
# The filter that predicts where people go (which matches them and judges their joints) smooths at least
# this much: trusting each detection fully, it extrapolated their jitter, and a still person 60 px tall
# split into 6 IDs at smoothing 0. Below it the output blends from the raw detection (0) to the filter's.
FILTER_MIN_SMOOTHING = 0.5
# A track seen once may have moved this many person sizes a second (a runner, 3 heights a second), and at most
# NEWBORN_REACH sizes: frames seconds apart (a time-lapse) would let it take anyone in the picture.
NEWBORN_SPEED = 8.0
NEWBORN_REACH = 1.5
# ... and takes a detection whose keypoint box, centred on the track's, overlaps its own this much.
NEWBORN_SHAPE_IOU = 0.5
# Acceleration noise std, in person sizes per s^2.
ACCEL = 3.0
# Speed std of a newly seen joint, in person sizes per s.
INIT_SPEED = 1.0
MIN_SCALE_PX = 8.0
# Tracks and detections whose centres are further apart than this many person sizes never match.
GATE = 1.5
# Frame times computed as i / fps, i * (1 / fps) or from a capture clock differ in their last bits, and the
# time limits below fall on frame boundaries at common rates (1.0 s at 10, 30 or 50 fps): a duration within
# this of a limit counts as on it, so the same frames give the same tracks however their times were computed.
TIME_TOLERANCE_S = 1e-6


@dataclass(frozen=True)
class TrackerConfig:
    max_lost_s: float = 1.0  # an unseen track keeps its ID this long
    smoothing: float = 0.5  # 0 = raw detections; 1 = strongest smoothing (more lag on sudden moves)
    min_hits: int = 2  # frames a track is detected in, its first counted, before it gets an ID
    min_similarity: float = 0.1  # weaker matches (OKS or keypoint-box IoU, see step 2) are refused
    lost_gate_growth: float = 2.0  # a lost track's matching radius grows by this factor per second
    joint_reset_s: float = 0.3  # a joint unseen longer restarts its filter at the next measurement
    joint_gate: float = 0.5  # a joint this many person sizes from where it was last seen is left out (0 = off)
    default_dt: float = 1 / 30  # a frame's time until the caller's clock has moved on (then: its pace)
    shot_changes: bool = True  # a shot change (a cut in an edited video) starts new tracks (core.shot_changes)


MAX_GAP_S = 1e9  # about 30 years: a longer step of the caller's clock counts as this (no overflow to inf)
_STATE = ("_next_id", "_time", "_clock", "_step", "_stalled", "pos", "vel", "cov", "joint_seen", "scale", "ids", "hits")
_STATE += ("last_seen", "last_z", "pace")


class PoseTracker:
    """``update(poses, timestamp_s) -> poses`` with track_ids filled and keypoints smoothed."""

    def __init__(self, config: TrackerConfig, sigmas) -> None:
        self.config = config
        self.kappa2 = (2.0 * np.asarray(sigmas, dtype=np.float64)) ** 2  # (K,)
        self.reset()

    def reset(self, restart_ids: bool = True) -> None:
        """Forget every track; IDs start again at 1 unless ``restart_ids`` is off (a jump within one video,
        whose outputs must not give an ID already written to another person)."""
        k = len(self.kappa2)
        if restart_ids:
            self._next_id = 1
        self._time: float | None = None  # the tracks' own clock: the caller's, plus a step for each stalled time
        self._clock: float | None = None  # the latest time the caller gave
        self._step = self.config.default_dt  # the time between frames, as the caller's clock last moved on
        self._stalled = 0  # frames since then whose time did not move on
        self.pos = np.zeros((0, k, 2))
        self.vel = np.zeros((0, k, 2))
        self.cov = np.zeros((3, 0, k))
        self.joint_seen = np.zeros((0, k))  # time a joint was last measured (-inf: never)
        self.scale = np.zeros(0)  # person size in px (sqrt of box area)
        self.ids = np.zeros(0, np.int64)  # -1 while tentative
        self.hits = np.zeros(0, np.int64)
        self.last_seen = np.zeros(0)
        self.last_z = np.zeros((0, k, 2))  # where each joint was last measured
        self.pace = np.zeros((0, 2))  # the body's measured velocity (px/s) between its last two measurements
        # the IDs given, by row, to tracks of the last snapshot, over every pass from it: a frame tracked
        # again after restore(reuse_ids=False) gives such a track the same spent ID (see restore)
        self._snapshot: dict | None = None
        self._given: dict[int, int] = {}
        self._reissue = False

    def snapshot(self) -> dict:
        """The tracks as they stand, for ``restore``: a frame can then be tracked again, as if for the first time."""
        self._snapshot, self._given = self.state(), {}
        return self._snapshot

    def state(self) -> dict:
        """A copy of the tracks as they stand, for ``set_state``; unlike ``snapshot`` it leaves the snapshot that
        ``restore`` counts IDs from alone."""
        return {name: copy.copy(getattr(self, name)) for name in _STATE}

    def set_state(self, state: dict) -> None:
        """The tracks back as ``state`` holds them (a frame tracked again for the screen only: the tracks go on
        from it as they were)."""
        for name in _STATE:
            setattr(self, name, copy.copy(state[name]))

    def restore(self, snapshot: dict, reuse_ids: bool = True) -> None:
        """Back to ``snapshot`` (a copy: it serves again). With ``reuse_ids`` the IDs given since are given
        again, so a frame tracked again shows the same numbers; without, they stay spent (they were written
        out: a recording must never give one of them to someone else), except to the very track that got
        one when the frame was tracked before: a person confirmed on a recorded frame keeps the number the
        recording holds for them, however often that frame is tracked again."""
        next_id = snapshot["_next_id"] if reuse_ids else max(self._next_id, snapshot["_next_id"])
        self.set_state(snapshot)
        self._next_id = next_id
        if snapshot is not self._snapshot:  # rows given IDs from another snapshot are other tracks
            self._snapshot, self._given = snapshot, {}
        self._reissue = not reuse_ids

    @property
    def next_id(self) -> int:
        """The ID the next confirmed person gets."""
        return self._next_id

    @next_id.setter
    def next_id(self, value: int) -> None:
        self._next_id = int(value)

    def update(self, poses: Poses, timestamp_s: float) -> Poses:
        """Poses with IDs and smoothed joints. A timestamp that does not move on from the latest one (repeated,
        a little back, not a number) counts as one frame on, a frame being the time the caller's clock last moved
        on divided by the frames it took (a clock that stalls, ticks in whole seconds or jitters), or
        ``default_dt`` before it moved; one more than ``max_lost_s`` before the latest (a jump back in a video)
        starts the tracks over with IDs not given before. The tracks' clock moves on at least a frame a frame and
        catches up with the caller's wherever that is ahead, so stalls never add up into a jump."""
        cfg = self.config
        if not math.isfinite(timestamp_s):
            timestamp_s = 0.0 if self._clock is None else self._clock  # as a repeated one
        elif self._clock is not None and _past(self._clock - timestamp_s, cfg.max_lost_s):
            self.reset(restart_ids=False)
        if self._time is None:
            dt, now = cfg.default_dt, timestamp_s
        elif timestamp_s > self._clock:
            self._step, self._stalled = min(timestamp_s - self._clock, MAX_GAP_S) / (self._stalled + 1), 0
            ahead = timestamp_s - self._time  # inf for a clock's extremes (-1e308, then 1e308)
            on_time = self._step <= ahead <= MAX_GAP_S  # the caller's own time, exactly, where it is ahead
            now = timestamp_s if on_time else self._time + min(max(ahead, self._step), MAX_GAP_S)
            dt = now - self._time
        else:
            self._stalled += 1
            dt, now = self._step, self._time + self._step
        self._time = now
        self._clock = timestamp_s if self._clock is None else max(self._clock, timestamp_s)
        # across a gap longer than max_lost_s (a slow time-lapse, a clock jump) only tracks seen on the frame before
        # go on (see _similarity), matched by where they were: predicting further only risks overflow (1e100 s)
        step = min(dt, max(cfg.max_lost_s, cfg.default_dt))
        kalman.predict(self.pos, self.vel, self.cov, step, (ACCEL * self.scale) ** 2)

        det_xy = poses.xy.astype(np.float64)
        det_vis = poses.visible
        det_boxes = poses.boxes()
        track_of = self._associate(det_xy, det_vis, det_boxes, now, dt)  # (N,) track index or -1
        matched = track_of >= 0
        out_xy = poses.xy.copy()
        if matched.any():
            rows = track_of[matched]
            # the track's size stays that of the detection's whole keypoint box, joints left out included: sized
            # from the kept joints alone, tracks matched less often (vtest.avi: 129 IDs instead of 113)
            det_vis[matched] &= ~self._strays(rows, det_xy[matched], det_vis[matched], now)
            self._measure(rows, det_xy[matched], det_vis[matched], det_boxes[matched], now)
            smoothed = self.pos[rows]
            if cfg.smoothing < FILTER_MIN_SMOOTHING:  # raw at 0, the filter's at FILTER_MIN_SMOOTHING
                raw = det_xy[matched]
                smoothed = raw + cfg.smoothing / FILTER_MIN_SMOOTHING * (smoothed - raw)
            out_xy[matched] = np.where(det_vis[matched][..., None], smoothed.astype(np.float32), np.nan)
        known = len(self.ids)  # rows below this were tracks before this frame
        new = ~matched
        if new.any():
            self._spawn(det_xy[new], det_vis[new], det_boxes[new], now)
            track_of[new] = np.arange(len(self.ids) - new.sum(), len(self.ids))
        self.hits[track_of] += 1
        self._promote(known)
        ids = self.ids[track_of]
        self._drop(now)
        keypoint_scores = np.where(det_vis, poses.keypoint_scores, 0.0)
        return Poses(out_xy, keypoint_scores, poses.scores, ids)

    # ---- steps -------------------------------------------------------------------------
    def _promote(self, known: int) -> None:
        """IDs for the tracks with enough hits (step 4): after restore(reuse_ids=False), the one a track of
        the ``known`` rows got on an earlier pass from the same snapshot; else the next one. A track born
        on this frame has no identity across passes (its row follows the detections' order)."""
        reissue, self._reissue = self._reissue, False
        for row in np.flatnonzero((self.ids < 0) & (self.hits >= self.config.min_hits)).tolist():
            if reissue and row in self._given:
                self.ids[row] = self._given[row]
            else:
                self.ids[row] = self._next_id
                self._next_id += 1
            if row < known:
                self._given[row] = int(self.ids[row])

    def _associate(self, det_xy, det_vis, det_boxes, now: float, dt: float) -> np.ndarray:
        n = len(det_xy)
        track_of = np.full(n, -1, np.int64)
        if n == 0 or len(self.ids) == 0:
            return track_of
        lost_for = now - self.last_seen - dt  # 0 for tracks seen in the previous frame
        recent = ~_past(lost_for, 0.0)  # tracks seen on the frame before
        similarity, paced_boxes = self._similarity(det_xy, det_vis, det_boxes, lost_for, recent)  # (T, N), (T, 4)
        free = np.ones(n, bool)
        for stage in (recent, ~recent):
            rows_t = np.flatnonzero(stage)
            cols_d = np.flatnonzero(free)
            if len(rows_t) == 0 or len(cols_d) == 0:
                continue
            sub = similarity[np.ix_(rows_t, cols_d)]
            r, c = linear_sum_assignment(-sub)
            ok = sub[r, c] >= self.config.min_similarity
            track_of[cols_d[c[ok]]] = rows_t[r[ok]]
            free[cols_d[c[ok]]] = False
        shift, surprise = self._crowd_moves(track_of, det_xy, det_vis, recent, now)
        if surprise.any():
            self._match_surprised(track_of, free, det_boxes, recent, paced_boxes + np.tile(surprise, 2))
        self._match_newborn(track_of, free, det_boxes, recent, dt, shift)
        return track_of

    def _crowd_moves(self, track_of, det_xy, det_vis, recent, now: float) -> tuple[np.ndarray, np.ndarray]:
        """((2,), (2,)) px: the crowd's common move since the frame before and its common surprise, the medians over
        the people matched to tracks seen on it (by the joints seen on both frames) of each one's move and of that
        move less the one their pace foretold (0 with no one of known pace). A moving camera moves everyone by the
        first; one that turns back or shakes, off their paces by the second, where people walking each at their own
        pace before a still camera give none (their common move, a marathon's, took a person missed for a frame to
        a newcomer beside them). One person's own stop or turn, alone of known pace, passes for the camera's."""
        cols = np.flatnonzero(track_of >= 0)
        rows = track_of[cols]
        both = det_vis[cols] & (self.joint_seen[rows] >= self.last_seen[rows, None])
        keep = recent[rows] & both.any(1)
        cols, rows, both = cols[keep], rows[keep], both[keep]
        if len(rows) == 0:
            return np.zeros(2), np.zeros(2)
        moves = median_rows(np.where(both[..., None], det_xy[cols] - self.last_z[rows], np.nan))
        shift = np.median(moves, axis=0)
        paced = self.hits[rows] > 1  # a track seen once has no pace yet
        if not paced.any():
            return shift, np.zeros(2)
        foretold = self.pace[rows[paced]] * (now - self.last_seen[rows[paced]])[:, None]
        return shift, np.median(moves[paced] - foretold, axis=0)

    def _match_surprised(self, track_of, free, det_boxes, recent, surprised: np.ndarray) -> None:
        """In place (``track_of``, ``free``): tracks of more than one hit seen on the frame before and still unmatched
        take a ``free`` detection overlapping by ``min_similarity`` their ``surprised`` box (T, 4): the last measured
        keypoint box, moved on at their pace (as _similarity scores it) and by the crowd's common surprise
        (_crowd_moves): a camera that turns back or shakes moves everyone at once off the pace their filters learnt
        (vtest.avi's detections panned to and fro at half a frame width a second: 403 IDs for its 94 people, 328
        so)."""
        rows_t = np.setdiff1d(np.flatnonzero(recent & (self.hits > 1)), track_of)
        cols_d = np.flatnonzero(free)
        if len(rows_t) == 0 or len(cols_d) == 0:
            return
        iou = box_iou(surprised[rows_t], np.nan_to_num(det_boxes[cols_d]))
        r, c = linear_sum_assignment(-iou)
        ok = iou[r, c] >= self.config.min_similarity
        track_of[cols_d[c[ok]]] = rows_t[r[ok]]
        free[cols_d[c[ok]]] = False

    def _match_newborn(self, track_of, free, det_boxes, recent, dt: float, shift: np.ndarray) -> None:
        """In place (``track_of``): tracks seen once, on the frame before, still unmatched take a ``free``
        detection of their shape within NEWBORN_SPEED person sizes a second (step 2) of where they were, or of
        where they were moved on by the crowd's common move (_crowd_moves): a camera panning 0.5 frame widths a
        second moved a pedestrian 6 px wide almost 2 of their sizes a frame at 10 fps, a new track each frame, never
        confirmed."""
        rows_t = np.setdiff1d(np.flatnonzero(recent & (self.hits == 1)), track_of)
        cols_d = np.flatnonzero(free)
        if len(rows_t) == 0 or len(cols_d) == 0:
            return
        seen = self.joint_seen[rows_t] >= self.last_seen[rows_t, None]
        track_boxes = np.nan_to_num(keypoint_boxes(np.where(seen[..., None], self.pos[rows_t], np.nan)))
        boxes = np.nan_to_num(det_boxes[cols_d])
        t_centre, d_centre = (track_boxes[:, :2] + track_boxes[:, 2:]) / 2, (boxes[:, :2] + boxes[:, 2:]) / 2
        shape_iou = box_iou(track_boxes - np.tile(t_centre, 2), boxes - np.tile(d_centre, 2))  # boxes centred on 0
        gap = d_centre[None] - t_centre[:, None]
        moved = np.minimum(np.linalg.norm(gap, axis=-1), np.linalg.norm(gap - shift, axis=-1))
        shape_iou[moved > self.scale[rows_t, None] * min(NEWBORN_SPEED * dt, NEWBORN_REACH)] = 0.0
        r, c = linear_sum_assignment(-shape_iou)
        ok = shape_iou[r, c] >= NEWBORN_SHAPE_IOU
        track_of[cols_d[c[ok]]] = rows_t[r[ok]]

    def _similarity(self, det_xy, det_vis, det_boxes, lost_for, recent) -> tuple[np.ndarray, np.ndarray]:
        """(T, N) max(OKS, keypoint-box IoU) between predicted tracks and detections (step 2), and (T, 4) each track's
        last measured keypoint box moved on at its pace (for tracks ``recent``; meaningless for the rest); the IoU
        is one vectorised pass over all T x N box pairs, the per-joint OKS only runs on gated pairs."""
        # joints with a usable state: measured within max_lost_s, or on the frame before however long ago it was
        # (a folder of frames taken seconds apart, a time-lapse)
        seen_last_frame = (self.joint_seen >= self.last_seen[:, None]) & recent[:, None]
        track_vis = ~_past(self._time - self.joint_seen, self.config.max_lost_s) | seen_last_frame
        oks = self._oks(det_xy, det_vis, track_vis, lost_for)
        # the predicted box, and the last measured one, where it was and moved on at the measured pace (step 2)
        predicted = np.where(track_vis[..., None], self.pos, np.nan)
        measured = np.where(seen_last_frame[..., None], self.last_z, np.nan)
        track_boxes, last_box = np.nan_to_num(keypoint_boxes(np.concatenate([predicted, measured]))).reshape(2, -1, 4)
        moved = last_box + np.tile(self.pace * (self._time - self.last_seen)[:, None], 2)
        boxes = np.concatenate([track_boxes, last_box, moved])  # one pass for all three
        iou = box_iou(boxes, np.nan_to_num(det_boxes)).reshape(3, len(self.ids), -1)  # 0 for a pose without joints
        return np.maximum(np.maximum(oks, iou[0]), iou[1:].max(0) * recent[:, None]), moved

    def _oks(self, det_xy, det_vis, track_vis, lost_for) -> np.ndarray:
        """(T, N) OKS between predicted tracks and detections over joints present in both.

        Only pairs whose pose centres lie within GATE person sizes are scored; a match needs a similarity >=
        min_similarity, for OKS joints about 0.3 sizes apart on average, so pairs further apart (the gate
        leaves room for centres shifted by missing joints) could never match on OKS and stay 0. This keeps
        the per-joint work proportional to the neighbours each person has, not to T x N."""
        growth = 1.0 + self.config.lost_gate_growth * np.maximum(lost_for, 0.0)
        scale = self.scale * growth  # (T,)
        oks = np.zeros((len(self.ids), len(det_xy)))
        t_centre = _centre(self.pos, track_vis)
        d_centre = _centre(np.nan_to_num(det_xy), det_vis)
        gap2 = ((t_centre[:, None] - d_centre[None]) ** 2).sum(-1)
        ti, di = np.nonzero(gap2 < ((GATE * scale) ** 2)[:, None])
        both = track_vis[ti] & det_vis[di]  # (P, K)
        delta = self.pos[ti] - det_xy[di]
        d2 = np.where(both, delta[..., 0] ** 2 + delta[..., 1] ** 2, np.inf)
        e = np.exp((-d2 / (2.0 * (scale[ti] ** 2)[:, None] * self.kappa2 + 1e-9)).astype(np.float32))
        oks[ti, di] = e.sum(-1) / np.maximum(both.sum(-1), 1)  # e is 0 where a joint is not in both
        return oks

    def _strays(self, rows, z, vis, now: float) -> np.ndarray:
        """(M, K) joints of the matched detections to leave out (step 3): each lies more than ``joint_gate``
        person sizes from where it was last measured, moved on with its body's mean velocity, and as far from
        there moved on with its own, a joint the detection took from a neighbour or a false peak (judged
        against the smoothed state, a fast limb that state lags behind was taken for one: a punch lost its
        wrist on 39 % of frames; judged against its body's mean velocity alone, a joint swinging round faster
        than its body was: a person falling to the floor in 0.35 s at 15 fps lost their head on the frame
        before the impact and for 0.2 s lying still after it). Only joints measured within ``joint_reset_s``
        are judged (a joint left out that long restarts at the next measurement, so a real sudden move is
        caught up), and only a minority of them is left out (a majority far from the track says the track is
        wrong, not the detection)."""
        if self.config.joint_gate <= 0:
            return np.zeros_like(vis)
        recent = ~_past(now - self.joint_seen[rows], self.config.joint_reset_s)
        body_vel = (self.vel[rows] * recent[..., None]).sum(1) / np.maximum(recent.sum(1), 1)[:, None]  # (M, 2)
        since = np.where(recent, now - self.joint_seen[rows], 0.0)  # (M, K); 0 where not judged (never seen: inf)
        with_body = self.last_z[rows] + body_vel[:, None] * since[..., None]
        on_its_own = self.last_z[rows] + self.vel[rows] * since[..., None]
        gap = np.minimum(np.linalg.norm(z - with_body, axis=-1), np.linalg.norm(z - on_its_own, axis=-1))
        judged = vis & recent
        far = judged & (gap > self.config.joint_gate * self.scale[rows][:, None])
        return far & (2 * far.sum(1) < judged.sum(1))[:, None]

    def _noise(self, scale: np.ndarray) -> np.ndarray:
        """Measurement variance per track (px^2), at least FILTER_MIN_SMOOTHING's."""
        return (MAX_JITTER * max(self.config.smoothing, FILTER_MIN_SMOOTHING) * scale) ** 2

    def _measure(self, rows, z, vis, boxes, now: float) -> None:
        unseen = _past(now - self.joint_seen[rows], self.config.joint_reset_s)
        stale = vis & unseen
        # the body's pace: the median move of the joints measured now and at its last measurement, kept as it was
        # where none was measured both times (a walker found by their upper body, then by their legs): taken as 0,
        # the walker's next step read as the crowd's surprise (_crowd_moves) and their box left their path
        both = vis & (self.joint_seen[rows] >= self.last_seen[rows, None])
        elapsed = np.maximum(now - self.last_seen[rows], TIME_TOLERANCE_S)[:, None]
        moved = median_rows(np.where(both[..., None], z - self.last_z[rows], np.nan)) / elapsed
        self.pace[rows] = np.where(both.any(1)[:, None], moved, self.pace[rows])
        # a detection of a few joints (a head, the body hidden) keeps the person's size: shrunk to those joints'
        # box, the matching tolerance and the joint gate shrank with it, and the track lost the person
        size = _box_scale(boxes)
        partial = 2 * vis.sum(1) < vis.shape[1]
        self.scale[rows] = np.where(partial, np.maximum(size, self.scale[rows]), size)
        pos, vel, cov = self.pos[rows], self.vel[rows], self.cov[:, rows]
        # joints that restart take the person's mean velocity of the joints still tracked, or with none (the whole
        # body unseen over joint_reset_s) the pace it moved at since it was last seen: restarted still, a walker
        # missed twice within a second was predicted to stand where they were found again, and lost
        live = vis & ~stale
        mean_vel = (vel * live[..., None]).sum(1) / np.maximum(live.sum(1), 1)[:, None]
        mean_vel = np.where(live.any(1)[:, None], mean_vel, self.pace[rows])
        pos[stale] = z[stale]
        vel[stale] = np.broadcast_to(mean_vel[:, None], vel.shape)[stale]
        r = self._noise(self.scale[rows])
        # every joint unseen that long restarts its covariance, measured now or not: nothing reads it before its next
        # measurement restarts it, and kept, each manoeuvre of its body scaled it up (kalman.update) until it
        # overflowed (a waist-up person swaying, legs never in view: inf and NaN within 15 s)
        cov[0] = np.where(unseen, r[:, None], cov[0])
        cov[1] = np.where(unseen, 0.0, cov[1])
        cov[2] = np.where(unseen, ((INIT_SPEED * self.scale[rows]) ** 2)[:, None], cov[2])
        kalman.update(pos, vel, cov, np.nan_to_num(z), live, r)
        self.pos[rows], self.vel[rows], self.cov[:, rows] = pos, vel, cov
        self.joint_seen[rows] = np.where(vis, now, self.joint_seen[rows])
        self.last_z[rows] = np.where(vis[..., None], z, self.last_z[rows])
        self.last_seen[rows] = now

    def _spawn(self, z, vis, boxes, now: float) -> None:
        m, k = vis.shape
        scale = _box_scale(boxes)
        r = self._noise(scale)
        cov = np.zeros((3, m, k))
        cov[0] = r[:, None]
        cov[2] = ((INIT_SPEED * scale) ** 2)[:, None]
        self.pos = np.concatenate([self.pos, np.nan_to_num(z)])
        self.vel = np.concatenate([self.vel, np.zeros((m, k, 2))])
        self.cov = np.concatenate([self.cov, cov], axis=1)
        self.joint_seen = np.concatenate([self.joint_seen, np.where(vis, now, -np.inf)])
        self.scale = np.concatenate([self.scale, scale])
        self.ids = np.concatenate([self.ids, np.full(m, -1, np.int64)])
        self.hits = np.concatenate([self.hits, np.zeros(m, np.int64)])
        self.last_seen = np.concatenate([self.last_seen, np.full(m, now)])
        self.last_z = np.concatenate([self.last_z, np.nan_to_num(z)])
        self.pace = np.concatenate([self.pace, np.zeros((m, 2))])

    def _drop(self, now: float) -> None:
        unseen = self.last_seen < now
        dead = unseen & ((self.ids < 0) | _past(now - self.last_seen, self.config.max_lost_s))
        keep = ~dead
        self.pos, self.vel, self.cov = self.pos[keep], self.vel[keep], self.cov[:, keep]
        self.joint_seen, self.scale = self.joint_seen[keep], self.scale[keep]
        self.ids, self.hits, self.last_seen = self.ids[keep], self.hits[keep], self.last_seen[keep]
        self.last_z, self.pace = self.last_z[keep], self.pace[keep]


def _past(duration, limit: float):
    """Whether ``duration`` (seconds, a number or an array) is beyond ``limit``; within TIME_TOLERANCE_S of it
    counts as on it, however the frame times were computed."""
    return np.greater(duration, limit + TIME_TOLERANCE_S)


def _centre(xy: np.ndarray, vis: np.ndarray) -> np.ndarray:
    """(N, 2) mean of the visible joints (0, 0 for a pose with none: it matches nothing anyway)."""
    count = np.maximum(vis.sum(1), 1)[:, None]
    return (xy * vis[..., None]).sum(1) / count


def _box_scale(boxes: np.ndarray) -> np.ndarray:
    w = np.nan_to_num(boxes[:, 2] - boxes[:, 0])
    h = np.nan_to_num(boxes[:, 3] - boxes[:, 1])
    return np.maximum(np.sqrt(np.maximum(w, 1.0) * np.maximum(h, 1.0)), MIN_SCALE_PX)
