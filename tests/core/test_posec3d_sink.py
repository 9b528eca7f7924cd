"""The PoseC3D file: its rows are tracks or ranks, as many as people at once, the most filled first; it is streamed
to disk and says when it leaves people out."""

import contextlib
import pickle

import numpy as np

from core.poses import Poses
from core.sinks import PoseC3DSink
from core.sinks.base import atomic_file
from core.sinks.posec3d import FLUSH_SPACING


def test_posec3d_rows_are_tracks_or_ranks_never_mixed(tmp_path):
    a = Poses([[[1.0, 1.0], [2.0, 2.0], [3.0, 3.0]]], [[0.9, 0.9, 0.9]], [0.8], [-1])
    b = Poses([[[50.0, 5.0], [51.0, 6.0], [52.0, 7.0]]], [[0.9, 0.9, 0.9]], [0.7], [-1])
    with PoseC3DSink(tmp_path / "t.pkl", 3, (64, 48), "clip") as tracked:
        tracked.write(0, 0.0, a)  # a new track's first frame: no ID yet
        tracked.write(1, 0.04, b)  # another person's first frame
    with PoseC3DSink(tmp_path / "u.pkl", 3, (64, 48), "clip", tracked=False) as untracked:
        untracked.write(0, 0.0, a)
        untracked.write(1, 0.04, b)
        untracked.write(5, 0.2, Poses(np.concatenate([a.xy, b.xy]), np.ones((2, 3)), [0.8, 0.7]))  # 2-4 not read
    with open(tmp_path / "t.pkl", "rb") as f:
        assert pickle.load(f)[0]["keypoint"].shape[0] == 0  # not one row holding two people
    with open(tmp_path / "u.pkl", "rb") as f:
        (data,) = pickle.load(f)
    assert data["keypoint"].shape[:2] == (2, 3) and data["frame_indices"].tolist() == [0, 1, 5]
    assert data["track_ids"].tolist() == [[-1, -1, -1], [-1, -1, -1]]  # row n: each frame's n-th detection
    assert data["keypoint"][:, :, 0, 0].tolist() == [[1.0, 50.0, 1.0], [0.0, 0.0, 50.0]]


def test_posec3d_keeps_every_tracked_person_while_new_tracks_come(tmp_path):
    """A person there all along keeps their row when new tracks come after REUSE_AFTER_S, and two tracks new in one
    frame get a row each: no tracked person is dropped from a frame."""
    sink = PoseC3DSink(tmp_path / "stay.pkl", 3, (64, 48), "clip", flush_every=10**9)
    xy = np.ones((3, 3, 2), np.float32)
    for frame in range(50):  # track 1 throughout, 2 and 3 from 3 s on (10 fps)
        ids = [1] if frame < 30 else [1, 2, 3]
        sink.write(frame, frame / 10, Poses(xy[: len(ids)], np.full((len(ids), 3), 0.9), np.full(len(ids), 0.8), ids))
    sink.close()
    with open(tmp_path / "stay.pkl", "rb") as f:
        ids = pickle.load(f)[0]["track_ids"]
    for track, first in ((1, 0), (2, 30), (3, 30)):
        rows, frames = np.nonzero(ids == track)
        assert len(set(rows.tolist())) == 1 and frames.tolist() == list(range(first, 50)), track


def test_a_growing_posec3d_file_is_replaced_less_often(tmp_path, monkeypatch):
    """Each replacement waits FLUSH_SPACING times the last one's duration (here 1 s on a fake clock)."""
    import core.sinks.posec3d as posec3d

    clock = {"now": 0.0}
    monkeypatch.setattr(posec3d.time, "monotonic", lambda: clock["now"])

    @contextlib.contextmanager
    def slow_file(path):
        with atomic_file(path) as file:
            yield file
        clock["now"] += 1.0

    monkeypatch.setattr(posec3d, "atomic_file", slow_file)
    one = Poses([[[1.0, 1.0], [2.0, 2.0], [3.0, 3.0]]], [[0.9, 0.9, 0.9]], [0.8], [1])

    def frames_in_file() -> int:
        with open(tmp_path / "g.pkl", "rb") as f:
            return pickle.load(f)[0]["total_frames"]

    with PoseC3DSink(tmp_path / "g.pkl", 3, (64, 48), "clip", flush_every=2) as sink:  # written at 1 s
        for n in range(4):
            sink.write(n, n / 10, one)
        assert frames_in_file() == 0  # due at 1 s + FLUSH_SPACING x 1 s
        clock["now"] = 1.0 + FLUSH_SPACING
        sink.write(4, 0.4, one)
        assert frames_in_file() == 5
        sink.write(5, 0.5, one)  # not due for a while: only closing writes it
        assert frames_in_file() == 5
    assert frames_in_file() == 6


def test_a_posec3d_file_is_streamed_to_disk_not_copied_in_memory_first(tmp_path):
    """Its arrays grow with rows x frames (a long video: hundreds of MB); writing them must not hold a second copy."""
    import tracemalloc

    sink = PoseC3DSink(tmp_path / "long.pkl", 17, (640, 480), "clip", flush_every=10**9)
    xy = np.ones((20, 17, 2), np.float32)
    for frame in range(1000):  # twenty people at a time, for the whole run
        sink.write(frame, frame / 30, Poses(xy, np.full((20, 17), 0.9), np.full(20, 0.8), np.arange(1, 21)))
    arrays = 20 * 1000 * (17 * (2 + 1) * 4 + 8)  # keypoint and keypoint_score, float32; track_ids, int64
    tracemalloc.start()
    sink.close()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert arrays <= peak < 1.3 * arrays  # pickle.dumps made a bytes copy as large: 2x
    with open(tmp_path / "long.pkl", "rb") as f:
        (data,) = pickle.load(f)
    assert data["keypoint"].shape == (20, 1000, 17, 2) and data["keypoint_score"][19, 999, 0] == np.float32(0.9)


def test_a_posec3d_files_total_frames_is_the_frames_its_arrays_hold_not_the_last_frames_number(tmp_path):
    """mmaction2 samples frame numbers below total_frames from the arrays: a folder with an unreadable image
    (frame 6 never analysed) counted 13 frames over 12 held, and a sampled frame 12 was past the arrays' end."""
    person = Poses([[[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]]], [[0.9, 0.8, 0.7]], [0.7], [1])
    with PoseC3DSink(tmp_path / "gap.pkl", 3, (64, 48), "clip") as sink:
        for frame in (0, 1, 3, 4):  # frame 2 damaged, passed over
            sink.write(frame, frame / 10, person)
    with open(tmp_path / "gap.pkl", "rb") as f:
        (sample,) = pickle.load(f)
    assert sample["total_frames"] == sample["keypoint"].shape[1] == sample["keypoint_score"].shape[1] == 4
    assert sample["frame_indices"].tolist() == [0, 1, 3, 4]


def test_a_posec3d_file_says_when_it_leaves_out_many_people(tmp_path):
    photo = Poses([[[1.0, 1.0], [2.0, 2.0], [3.0, 3.0]]], [[0.9, 0.9, 0.9]], [0.8], [-1])  # never tracked
    walker = Poses(photo.xy, photo.keypoint_scores, photo.scores, [4])
    with PoseC3DSink(tmp_path / "photos.pkl", 3, (64, 48), "clip") as photos:
        for n in range(10):
            photos.write(n, n * 0.1, photo)
        assert photos.notes() == [
            "the PoseC3D file leaves out 10 of the 10 people detected, those no track held (a track's first frame, "
            "people seen once: unrelated photos); with tracking off (--no-track, or Track people unticked in the app) "
            "it keeps them all"
        ]
    with PoseC3DSink(tmp_path / "walk.pkl", 3, (64, 48), "clip") as walk:
        for n in range(10):
            walk.write(n, n * 0.1, photo if n == 0 else walker)  # a track's first frame: 1 of 10, said by no note
        assert walk.notes() == []


def test_posec3d_rows_are_as_many_as_people_at_once_not_as_tracks_ever_seen(tmp_path):
    """A row for every track made a 10-minute crowd video a 1.2 GB file (938 tracks x 6,360 frames, 0.65 %
    of it anyone), growing with the square of the run; a row now takes a new track 2 s after its last left."""
    sink = PoseC3DSink(tmp_path / "crowd.pkl", 3, (64, 48), "clip", flush_every=10**9)  # 10 fps below
    xy = np.ones((3, 3, 2), np.float32)
    for frame in range(3000):  # three people at a time, a new one every 10 frames: 302 tracks
        ids = [frame // 10 + 1, frame // 10 + 2, frame // 10 + 3]
        if frame == 1500:
            ids[0] = 7  # track 7, gone since frame 69, back (a tracker keeps no ID so long: as if it did)
        sink.write(frame, frame / 10, Poses(xy * (frame + 1), np.full((3, 3), 0.9), np.full(3, 0.8), ids))
    sink.close()
    with open(tmp_path / "crowd.pkl", "rb") as f:
        (data,) = pickle.load(f)
    ids = data["track_ids"]
    assert ids.shape == (len(data["keypoint"]), 3000) and len(data["keypoint"]) <= 6  # 3 at once + 2 s to free
    assert sorted(set(ids.ravel().tolist()) - {-1}) == list(range(1, 303))
    for track in (1, 150, 302):  # each track in one row, every frame of it
        rows, frames = np.nonzero(ids == track)
        present = range(max(0, 10 * track - 30), min(10 * track, 3000))
        assert len(set(rows.tolist())) == 1 and frames.tolist() == list(present)
    row, frame = np.argwhere(ids == 7)[-1]
    assert frame == 1500 and data["keypoint"][row, frame, 0, 0] == 1501  # the joints are where the ID is
    assert (data["keypoint_score"][ids == -1] == 0).all()


def test_a_posec3d_track_lost_for_less_than_the_tracker_keeps_it_comes_back_to_its_own_row(tmp_path):
    """The tracker keeps a lost person's ID for 1 s: a row given to a new track sooner split that person over two
    rows (vtest.avi with rows freed after 0.5 s: 2 of its 94 tracks)."""
    sink = PoseC3DSink(tmp_path / "back.pkl", 3, (64, 48), "clip", flush_every=10**9)
    xy = np.ones((2, 3, 2), np.float32)
    for frame in range(26):  # 10 fps: track 1 in frames 0-9 and, back after 0.8 s, 18-25; track 2 from frame 16
        ids = [i for i in (1, 2) if (i == 1 and (frame < 10 or frame >= 18)) or (i == 2 and frame >= 16)]
        sink.write(frame, frame / 10, Poses(xy[: len(ids)], np.full((len(ids), 3), 0.9), np.full(len(ids), 0.8), ids))
    sink.close()
    with open(tmp_path / "back.pkl", "rb") as f:
        ids = pickle.load(f)[0]["track_ids"]
    for track in (1, 2):
        assert len(set(np.nonzero(ids == track)[0].tolist())) == 1, track


def test_posec3d_rows_most_filled_come_first_for_readers_keeping_the_first_few(tmp_path):
    """mmaction2's FormatGCNInput(num_person=2) keeps rows 0 and 1: they held tracks seen once at the start (a
    3 s clip: both empty in 37 of its 150 frames while two people or more were in 149)."""
    sink = PoseC3DSink(tmp_path / "clip.pkl", 3, (64, 48), "clip", flush_every=10**9)
    xy = np.ones((3, 3, 2), np.float32)
    for frame in range(30):  # tracks 1 and 2 in the first two frames only, 3 and 4 in every frame after
        ids = [1, 2] if frame < 2 else [3, 4]
        sink.write(frame, frame / 10, Poses(xy[:2], np.full((2, 3), 0.9), np.full(2, 0.8), ids))
    sink.write(30, 3.0, Poses(xy, np.full((3, 3), 0.9), np.full(3, 0.8), [3, 4, 5]))
    sink.close()
    with open(tmp_path / "clip.pkl", "rb") as f:
        (data,) = pickle.load(f)
    assert data["track_ids"][:, -1].tolist() == [3, 4, 5, -1]  # 5 took the row 1 left 2 s before
    assert (data["track_ids"][:2, 2:] >= 0).all() and (data["keypoint_score"][:2, 2:] > 0).all()
    assert data["track_ids"][2:4, :2].tolist() == [[1, 1], [2, 2]]  # the joints moved with their IDs
    sink = PoseC3DSink(tmp_path / "three.pkl", 3, (64, 48), "clip", flush_every=10**9)
    for frame in range(30):  # track 1 in one frame, 2 in all 30, 3 in the first 15: no order reads the same backwards
        ids = [i for i in (1, 2, 3) if (i != 1 or frame == 0) and (i != 3 or frame < 15)]
        sink.write(frame, frame / 10, Poses(xy[: len(ids)], np.full((len(ids), 3), 0.9), np.full(len(ids), 0.8), ids))
    sink.close()
    with open(tmp_path / "three.pkl", "rb") as f:
        assert pickle.load(f)[0]["track_ids"][:, 0].tolist() == [2, 3, 1]
