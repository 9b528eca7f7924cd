"""The worker driven directly in the test's thread with a real model: paused refreshes and recordings."""

from __future__ import annotations

import csv
import dataclasses
import json
import shutil
import time

import pytest

from app.worker import PoseWorker
from core.draw import Overlay
from core.pipeline import tuned_config
from core.sinks import SinkOptions

EVERYONE = tuned_config(detection_threshold=0.0, keypoint_threshold=0.0)  # an untrained model's best guesses


@pytest.fixture
def worker(clip_worker, model_path):
    return clip_worker(model_path, EVERYONE)


def tick(w: PoseWorker, frames: int = 1) -> None:
    for _ in range(frames):
        w._next_due = time.perf_counter()  # on time: nothing skipped
        w._tick()
        w._timer.stop()


def seek(w: PoseWorker, index: int) -> None:
    w._pending_seek = index
    w._do_seek()
    w._timer.stop()


def test_a_model_loaded_while_playing_is_not_drawn_with_the_last_models_people(worker, model_path):
    tick(worker)
    first = worker.take_packet()
    worker.load_model(str(model_path), EVERYONE)  # playing: nothing refreshed, the next frame would show it
    worker.set_playing(False)
    worker._timer.stop()
    worker.set_overlay(Overlay(boxes=True))
    packet = worker.take_packet()
    assert packet.index == first.index and "inference" in packet.timings_ms  # found again with the new model
    assert packet.poses is not first.poses and worker.errors == []


def test_a_recording_keeps_each_frame_once_in_order_and_ids_count_on_after_a_seek(worker, tmp_path):
    worker.start_recording(SinkOptions(csv=tmp_path / "r.csv"))
    tick(worker, 4)  # frames 0-3
    seek(worker, 1)  # back: frames 1-3 are shown again but already recorded
    tick(worker)
    assert worker.take_packet().recording_resumes_at == 4  # the HUD says so
    tick(worker, 4)  # frames 2-5: only 4 and 5 are new to the recording
    assert worker.take_packet().recording_resumes_at is None
    seek(worker, 60)  # forward: tracks start over, IDs count on
    tick(worker, 3)
    worker.stop_recording()
    rows = list(csv.DictReader((tmp_path / "r.csv").open()))
    frames = [int(r["frame"]) for r in rows]
    assert frames == sorted(frames) and sorted(set(frames)) == [0, 1, 2, 3, 4, 5, 60, 61, 62]
    ids_before = {int(r["track_id"]) for r in rows if int(r["frame"]) < 60} - {-1}
    ids_after = {int(r["track_id"]) for r in rows if int(r["frame"]) >= 60} - {-1}
    assert ids_before and ids_after and min(ids_after) > max(ids_before)
    assert worker.errors == []


def test_a_recording_starts_new_tracks_at_a_shot_change_and_lists_it(worker, tmp_path, cuts_at):
    """The app's tracks start over at a cut, with new IDs, and its recording's sidecar lists the frame, as track's
    does (the sample clip has no cut: the detector is told frame 4 starts a shot)."""
    cuts_at(4)
    worker.start_recording(SinkOptions(csv=tmp_path / "r.csv"))
    tick(worker, 8)
    worker.stop_recording()
    rows = list(csv.DictReader((tmp_path / "r.csv").open()))
    ids_before = {int(r["track_id"]) for r in rows if int(r["frame"]) < 4} - {-1}
    ids_after = {int(r["track_id"]) for r in rows if int(r["frame"]) >= 4} - {-1}
    assert ids_before and ids_after and min(ids_after) > max(ids_before)
    assert json.loads((tmp_path / "r.csv.json").read_text())["shot_changes"] == [4]
    assert worker.errors == []


def test_new_tracks_at_cuts_switched_off_and_on_is_noted_in_recordings(worker, tmp_path, cuts_at):
    """Switched off, a cut keeps the tracks, the next recording's sidecar says so and lists none; switched on
    mid-recording, settings_changes says from which frame, and the cuts after it are listed."""
    cuts_at()  # every frame a cut
    worker.configure(dataclasses.replace(EVERYONE, tracker=dataclasses.replace(EVERYONE.tracker, shot_changes=False)))
    tick(worker, 2)  # frames 0-1 before the recording
    worker.start_recording(SinkOptions(csv=tmp_path / "r.csv"))
    tick(worker, 2)  # frames 2-3: no cut looked for
    worker.configure(EVERYONE)
    tick(worker, 2)  # frames 4-5: a cut each
    worker.stop_recording()
    sidecar = json.loads((tmp_path / "r.csv.json").read_text())
    assert sidecar["settings"]["tracker"]["shot_changes"] is False
    (change,) = sidecar["settings_changes"]
    assert change["from_frame"] == 4 and change["settings"]["tracker"]["shot_changes"] is True
    assert sidecar["shot_changes"] == [4, 5] and worker.errors == []


def test_a_recording_lists_the_frames_at_the_people_cap(worker, tmp_path):
    """A crowd larger than max_people lost its weakest people from the recording, and its sidecar did not say so:
    the untrained model's guesses, a person or more a frame, at a cap of one."""
    worker.configure(dataclasses.replace(EVERYONE, decode=dataclasses.replace(EVERYONE.decode, max_people=1)))
    worker.start_recording(SinkOptions(csv=tmp_path / "r.csv"))
    tick(worker, 3)
    worker.stop_recording()
    assert json.loads((tmp_path / "r.csv.json").read_text())["frames_at_people_cap"] == [[0, 2]]


def test_the_views_trails_start_over_at_a_shot_change(worker, cuts_at):
    """The last shot's people's trails faded out over 30 frames drawn on the new shot (a seek already ended them)."""
    cuts_at(4)
    tick(worker, 4)
    before = {track_id for track_id, _ in worker._trails.items()}
    tick(worker, 1)
    assert before and not before & {track_id for track_id, _ in worker._trails.items()}


def test_a_recorded_cut_or_crowd_at_the_cap_whose_frame_failed_to_be_written_is_not_listed(
    worker, tmp_path, csv_disk_full_at, cuts_at
):
    """A disk full at the cut's frame: its rows are not in the recording's CSV, so its sidecar lists no cut there,
    nor the frame among those at the people cap (the untrained model's person or more a frame, at a cap of one)."""
    worker.configure(dataclasses.replace(EVERYONE, decode=dataclasses.replace(EVERYONE.decode, max_people=1)))
    cuts_at(2)
    csv_disk_full_at(2)
    worker.start_recording(SinkOptions(csv=tmp_path / "r.csv"))
    tick(worker, 3)
    sidecar = json.loads((tmp_path / "r.csv.json").read_text())
    assert sidecar["frames_written"] == 2 and sidecar["shot_changes"] == []
    assert sidecar["frames_at_people_cap"] == [[0, 1]]
    assert "Recording saved: 2 frames" in worker.errors[-1]


def test_a_webcam_recording_looks_for_no_shot_change(worker, tmp_path, played_live, cuts_at):
    """A camera has no edits: the app's tracks go on across what would pass for a cut (someone stepping up to the
    camera, a frame taken after several passed over), and the recording's sidecar says none was looked for, as
    `track 0`'s does."""
    import app.worker

    played_live(app.worker, worker._info.spec)
    cuts_at()
    worker.open("0")
    worker._timer.stop()
    worker.start_recording(SinkOptions(csv=tmp_path / "r.csv"))
    tick(worker, 8)
    worker.stop_recording()
    sidecar = json.loads((tmp_path / "r.csv.json").read_text())
    assert sidecar["frames_written"] == 8 and sidecar["shot_changes"] == []
    assert sidecar["settings"]["tracker"]["shot_changes"] is False
    assert worker.errors == []


def test_a_recording_from_the_start_after_a_seek_numbers_people_as_track_does(worker, tmp_path):
    tick(worker, 6)  # watched, not recorded: people get IDs
    assert max(worker.take_packet().poses.track_ids) > 1
    worker.start_recording(SinkOptions(csv=tmp_path / "r.csv"))  # nothing written yet (paused at the end, say)
    worker.set_playing(False)
    seek(worker, 0)  # Home, or Play at the end
    worker.set_playing(True)
    tick(worker, 4)
    worker.stop_recording()
    ids = {int(r["track_id"]) for r in csv.DictReader((tmp_path / "r.csv").open())} - {-1}
    assert min(ids) == 1


def test_a_recorded_frame_regrouped_keeps_its_ids_spent(worker, tmp_path):
    calls = []
    redecode = worker._pipeline.redecode
    worker._pipeline.redecode = lambda reuse_ids=True: calls.append(reuse_ids) or redecode(reuse_ids)
    worker.start_recording(SinkOptions(csv=tmp_path / "r.csv"))
    tick(worker, 2)
    worker.set_playing(False)
    worker.configure(tuned_config(detection_threshold=0.5, keypoint_threshold=0.0))  # over a recorded frame
    worker.stop_recording()
    worker.configure(EVERYONE)  # the same frame, no longer part of an open recording
    assert calls == [False, True] and worker.errors == []


def test_a_model_loaded_while_recording_ends_the_recording(worker, model_path, tmp_path):
    saved = []
    worker.recording_changed.connect(lambda on, text: saved.append((on, text)))
    worker.start_recording(SinkOptions(csv=tmp_path / "r.csv"))
    tick(worker, 2)
    worker.load_model(str(model_path), EVERYONE)  # its IDs would start again at 1 in the same file
    assert worker._recording is None
    assert saved[-1] == (False, f"Another model loaded: recording saved: 2 frames in {tmp_path}: r.csv, r.csv.json")
    assert len({row["frame"] for row in csv.DictReader((tmp_path / "r.csv").open())}) == 2


def test_settings_changed_after_a_step_back_apply_from_the_next_frame_written(worker, tmp_path):
    worker.start_recording(SinkOptions(csv=tmp_path / "r.csv"))
    tick(worker, 3)  # frames 0-2
    worker.configure(tuned_config(detection_threshold=0.3, keypoint_threshold=0.0))  # from frame 3
    tick(worker, 3)  # frames 3-5
    seek(worker, 2)  # back: frames 2-5 are held already
    worker.configure(tuned_config(detection_threshold=0.6, keypoint_threshold=0.0))  # from frame 6, not 3
    tick(worker, 5)  # frames 2-6
    worker.stop_recording()
    changes = json.loads((tmp_path / "r.csv.json").read_text())["settings_changes"]
    assert [(c["from_frame"], c["settings"]["decode"]["detection_threshold"]) for c in changes] == [(3, 0.3), (6, 0.6)]


def test_settings_moved_on_a_paused_recorded_frame_leave_the_tracks_as_written(clip_worker, model_path, tmp_path):
    """Paused on its last recorded frame, a threshold moved there regroups that frame for the screen only: the
    recording goes on exactly as one whose threshold moved between the same two frames while playing."""
    paused, playing = clip_worker(model_path, EVERYONE), clip_worker(model_path, EVERYONE)
    for w, name in ((paused, "paused"), (playing, "playing")):
        w.start_recording(SinkOptions(csv=tmp_path / f"{name}.csv"))
        tick(w, 8)  # frames 0-7
    scores = sorted(playing.take_packet().poses.scores.tolist())
    raised = tuned_config(detection_threshold=scores[len(scores) // 2], keypoint_threshold=0.0)  # half stay
    paused.set_playing(False)
    paused.configure(raised)  # frame 7 grouped again, without the weaker half
    assert paused.take_packet().index == 7
    paused.set_playing(True)
    playing.configure(raised)
    for w in (paused, playing):
        tick(w, 8)  # frames 8-15
        w.stop_recording()
    assert (tmp_path / "paused.csv").read_text() == (tmp_path / "playing.csv").read_text()


def test_switching_tracking_while_recording_ends_the_recording(worker, tmp_path):
    saved = []
    worker.recording_changed.connect(lambda on, text: saved.append((on, text)))
    worker.start_recording(SinkOptions(csv=tmp_path / "r.csv", posec3d=tmp_path / "r.pkl"))
    tick(worker, 2)
    worker.configure(tuned_config(detection_threshold=0.0, keypoint_threshold=0.0, tracking=False))
    assert worker._recording is None and saved[-1][1].startswith("Tracking switched off: recording saved: 2 frames")


def test_stopping_a_recording_says_what_it_holds_or_that_saving_failed(worker, tmp_path):
    said = []
    worker.recording_changed.connect(lambda on, text: said.append(text))
    worker.start_recording(SinkOptions(csv=tmp_path / "r.csv"))
    worker.stop_recording()  # before the first frame came
    assert said == [f"Recording to {tmp_path}: r.csv, r.csv.json", "Recording stopped before any frame was written, "
                    f"no poses in {tmp_path}: r.csv, r.csv.json"]  # fmt: skip
    worker.start_recording(SinkOptions(csv=tmp_path / "gone" / "r.csv"))
    worker.set_playing(True)
    tick(worker, 1)
    shutil.rmtree(tmp_path / "gone")  # the folder deleted under the recording: its sidecar cannot be written
    worker.stop_recording()
    assert said[-1] == "Recording stopped; saving it failed" and len(worker.errors) == 1


@pytest.mark.parametrize("length_known", [True, False])
def test_a_recording_started_while_paused_begins_with_the_frame_on_screen(worker, tmp_path, length_known):
    tick(worker, 3)  # frames 0-2
    if not length_known:  # a file whose frame count OpenCV cannot tell: no frame is known to be its last
        worker._info = dataclasses.replace(worker._info, frame_count=None)
    worker.set_playing(False)
    seek(worker, 10)  # paused on frame 10
    said = []
    worker.recording_changed.connect(lambda on, text: said.append(text))
    worker.start_recording(SinkOptions(csv=tmp_path / "r.csv", video=tmp_path / "r.mp4"))
    worker.set_playing(True)
    tick(worker, 2)
    worker.stop_recording()
    frames = sorted({int(row["frame"]) for row in csv.DictReader((tmp_path / "r.csv").open())})
    assert frames == [10, 11, 12] and json.loads((tmp_path / "r.csv.json").read_text())["frames_written"] == 3
    assert said[-1].startswith("Recording saved: 3 frames in ")  # the frames it holds, not the frame it reached
    assert worker.errors == []


def test_a_recording_asked_for_before_a_new_files_first_frame_never_begins_with_the_last_files(worker, tmp_path):
    """Another file opened, End and Pause pressed and Record at once: the requests ran before the seek's frame came,
    and only the last file's paused frame, still known with its people, was there to begin with."""
    tick(worker, 3)  # the first file's frames 0-2, with people found on them
    worker.open(str(shutil.copy(worker._info.spec, tmp_path / "other.mp4")))
    worker._timer.stop()
    worker.seek(119)  # End: the seek waits its turn in the worker's queue
    worker.set_playing(False)
    worker.start_recording(SinkOptions(csv=tmp_path / "r.csv"))
    assert worker.stop_recording().startswith("Recording stopped before any frame was written")


def test_a_recording_started_paused_at_the_end_records_the_replay_from_the_start(worker, tmp_path):
    seek(worker, 118)
    worker.set_playing(True)
    tick(worker, 3)  # 118, 119, then the end
    assert worker._at_end
    worker.start_recording(SinkOptions(csv=tmp_path / "r.csv"))  # the last frame is not its first: Play starts over
    worker.set_playing(True)
    worker._do_seek()
    tick(worker, 2)
    worker.stop_recording()
    assert sorted({int(row["frame"]) for row in csv.DictReader((tmp_path / "r.csv").open())}) == [0, 1]


@pytest.mark.parametrize("delta, shown", [(1, [0]), (10, [9])])
def test_a_step_right_after_opening_goes_from_before_the_first_frame(worker, delta, shown):
    """Pausing shows an unshown file's first frame; a step's own pause did too, so it then went one frame further."""
    indices = []
    worker.frame_ready.connect(lambda: indices.append(worker.take_packet().index))
    worker.step(delta)
    if worker._pending_seek is not None:  # a jump is a seek, run when the worker's events are
        worker._do_seek()
    worker._timer.stop()
    assert indices == shown


def test_a_step_back_on_the_first_frame_stays_on_it(clip_worker):
    """Not frame -1 (a folder's last image, numbered -1, for an image folder)."""
    worker = clip_worker()
    shown = []
    worker.frame_ready.connect(lambda: shown.append(worker.take_packet().index))
    worker.set_playing(False)  # frame 0 on screen
    worker.step(-1)
    worker._do_seek()
    worker._timer.stop()
    assert shown == [0, 0]


def test_a_frame_that_fails_while_recording_says_what_the_recording_kept(worker, tmp_path, monkeypatch):
    """A full disk (or a model breaking) mid-recording: the error took the status line's place, and that the
    recording was saved, and where, showed nowhere."""
    from app.recording import Recording
    from core.errors import WLitePoseError

    worker.start_recording(SinkOptions(csv=tmp_path / "r.csv"))
    worker.set_playing(True)
    tick(worker, 2)

    def full(*args):
        raise WLitePoseError(f"cannot write {tmp_path / 'r.mp4'}: the disk is nearly full")

    monkeypatch.setattr(Recording, "write", full)
    tick(worker, 1)
    assert worker.errors[-1].endswith(f"the disk is nearly full\nRecording saved: 2 frames in {tmp_path}: r.csv, "
                                      "r.csv.json.")  # fmt: skip


def test_a_recording_refused_at_its_first_paused_frame_says_so_with_the_error(worker, tmp_path, monkeypatch):
    from app.recording import Recording
    from core.errors import WLitePoseError

    tick(worker, 3)
    worker.set_playing(False)

    def full(*args):
        raise WLitePoseError("cannot write r.csv: no space left on the device")

    monkeypatch.setattr(Recording, "write", full)
    worker.start_recording(SinkOptions(csv=tmp_path / "r.csv"))  # begins with the frame on screen, which fails
    assert worker.errors[-1].endswith("no space left on the device\nRecording stopped before any frame was written, "
                                      f"no poses in {tmp_path}: r.csv, r.csv.json.")  # fmt: skip


def recorded_frames(path) -> list[int]:
    return [int(row["frame"]) for row in csv.DictReader(path.open())]


def test_a_recording_keeps_every_frame_even_when_the_machine_falls_behind(worker, tmp_path):
    """Keep pace skips late frames of the view, never of a recording."""
    worker.start_recording(SinkOptions(csv=tmp_path / "r.csv"))
    for _ in range(3):
        worker._next_due = time.perf_counter() - 0.35  # three and a half frame times late
        worker._tick()
        worker._timer.stop()
    worker.stop_recording()
    assert sorted(set(recorded_frames(tmp_path / "r.csv"))) == [0, 1, 2]
    assert json.loads((tmp_path / "r.csv.json").read_text())["frames_written"] == 3


def test_a_second_take_holds_its_own_frames_and_says_its_own_count(worker, tmp_path):
    said = []
    worker.recording_changed.connect(lambda on, text: said.append(text))
    worker.start_recording(SinkOptions(csv=tmp_path / "a.csv"))
    tick(worker, 3)  # frames 0-2
    worker.stop_recording()
    seek(worker, 0)  # back to the start for a second take
    worker.start_recording(SinkOptions(csv=tmp_path / "b.csv"))
    tick(worker, 2)  # frames 0-1
    worker.stop_recording()
    assert sorted(set(recorded_frames(tmp_path / "b.csv"))) == [0, 1]
    assert said[-1] == f"Recording saved: 2 frames in {tmp_path}: b.csv, b.csv.json"


def test_a_frame_shown_again_at_the_recordings_last_one_is_not_written_twice(worker, tmp_path):
    worker.start_recording(SinkOptions(csv=tmp_path / "r.csv"))
    tick(worker, 4)  # frames 0-3
    seek(worker, 3)  # the recording's last frame again (a step back and forward)
    tick(worker)
    worker.stop_recording()
    assert json.loads((tmp_path / "r.csv.json").read_text())["frames_written"] == 4


def test_a_one_frame_recording_says_it_holds_that_frame(worker, tmp_path):
    said = []
    worker.recording_changed.connect(lambda on, text: said.append(text))
    worker.start_recording(SinkOptions(csv=tmp_path / "r.csv"))
    tick(worker)
    worker.stop_recording()
    assert said[-1] == f"Recording saved: 1 frame in {tmp_path}: r.csv, r.csv.json"


def test_a_recording_started_paused_on_the_last_frame_records_the_replay_from_the_start(worker, tmp_path):
    """Not at the end yet (the last frame reached by a seek): Play ends the file, Play again starts it over."""
    worker.set_playing(False)
    seek(worker, 119)
    worker.start_recording(SinkOptions(csv=tmp_path / "r.csv"))
    worker.set_playing(True)
    tick(worker)  # the end
    assert worker._at_end
    worker.set_playing(True)
    worker._do_seek()
    tick(worker, 2)
    worker.stop_recording()
    assert sorted(set(recorded_frames(tmp_path / "r.csv"))) == [0, 1]


def test_a_recording_started_at_the_end_of_a_file_of_unknown_length_records_the_replay(worker, tmp_path):
    worker._info = dataclasses.replace(worker._info, frame_count=None)  # OpenCV cannot tell its length
    seek(worker, 118)
    tick(worker, 3)  # 118, 119, then the end
    assert worker._at_end
    worker.start_recording(SinkOptions(csv=tmp_path / "r.csv"))
    worker.set_playing(True)
    worker._do_seek()
    tick(worker, 2)
    worker.stop_recording()
    assert sorted(set(recorded_frames(tmp_path / "r.csv"))) == [0, 1]


def test_a_model_loaded_while_paused_shows_its_people_on_the_paused_frame(worker, model_path):
    tick(worker)
    worker.set_playing(False)
    first = worker.take_packet()
    worker.load_model(str(model_path), EVERYONE)
    packet = worker.take_packet()
    assert packet is not None and packet.index == first.index and "inference" in packet.timings_ms


@pytest.fixture
def clip_folder(worker, tmp_path):
    """The sample clip's first 4 frames as PNGs: an image folder with people in it."""
    import cv2

    folder = tmp_path / "frames"
    folder.mkdir()
    capture = cv2.VideoCapture(worker._info.spec)
    for i in range(4):
        cv2.imwrite(str(folder / f"{i}.png"), capture.read()[1])
    capture.release()
    return folder


def test_a_folders_new_rate_ends_its_recording(worker, clip_folder, tmp_path):
    said = []
    worker.recording_changed.connect(lambda on, text: said.append(text))
    worker.open(str(clip_folder))
    worker.start_recording(SinkOptions(csv=tmp_path / "r.csv"))
    tick(worker, 2)
    worker.set_image_fps(5.0)  # the file's timestamps and frame rate are the old ones
    assert worker._recording is None
    assert said[-1] == f"frames plays at 5 fps now: recording saved: 2 frames in {tmp_path}: r.csv, r.csv.json"


def test_a_recording_begun_on_a_paused_folder_frame_after_a_rate_change_times_it_at_the_new_rate(
    worker, clip_folder, tmp_path
):
    worker.open(str(clip_folder))
    tick(worker, 3)  # images 0-2 at 30 fps
    worker.set_playing(False)
    worker.set_image_fps(5.0)
    worker.start_recording(SinkOptions(csv=tmp_path / "r.csv"))  # begins with image 2, now at 0.4 s
    worker.stop_recording()
    times = {(row["frame"], row["time_s"]) for row in csv.DictReader((tmp_path / "r.csv").open())}
    assert times and {float(t) for f, t in times} == {0.4}


def test_a_paused_folder_frame_given_another_rate_is_clocked_at_that_rate(worker, clip_folder):
    worker.open(str(clip_folder))
    tick(worker, 3)  # images 0-2 at 30 fps
    worker.set_playing(False)
    worker.take_packet()
    worker.set_image_fps(5.0)
    assert worker.take_packet().time_s == pytest.approx(0.4)  # image 2, shown again


def test_a_mirrored_view_records_every_frame_unmirrored(worker, tmp_path):
    """The recording keeps the camera's own left and right: its first frame did, those after it were flipped."""
    import cv2
    import numpy as np

    worker.configure(tuned_config(detection_threshold=1.0, keypoint_threshold=1.0))  # nobody drawn: bare frames
    worker.set_overlay(Overlay(mirror=True))
    worker.start_recording(SinkOptions(video=tmp_path / "r.mp4"))  # playing: begins with the next frame
    tick(worker, 3)  # frames 0-2
    worker.stop_recording()
    recorded, source = cv2.VideoCapture(str(tmp_path / "r.mp4")), cv2.VideoCapture(worker._info.spec)
    for _ in range(3):
        got, raw = recorded.read()[1].astype(int), source.read()[1].astype(int)
        assert np.abs(got - raw).mean() < np.abs(got - raw[:, ::-1]).mean() / 2


def test_another_model_draws_no_trail_of_the_last_ones_tracks(worker, model_path):
    """The new model's tracks start at ID 1 again: trails kept from the last model's joined other people's paths."""
    worker.set_overlay(Overlay(trails=True))
    tick(worker, 15)
    worker.set_playing(False)
    worker.load_model(str(model_path), EVERYONE)  # the paused frame found again by the new model
    with_trails = worker.take_packet()
    worker.set_overlay(Overlay(trails=False))
    assert worker.take_packet().image == with_trails.image  # no trail yet to draw


def test_settings_moved_on_a_paused_frame_leave_its_trails_as_they_were(worker):
    """Each regrouping of the paused frame added it to the trails again: a dragged slider filled them with that one
    point and pushed the way the people came out of them."""
    worker.set_overlay(Overlay(trails=True))
    tick(worker, 10)
    worker.set_playing(False)
    worker.configure(EVERYONE)
    before = worker.take_packet()
    for _ in range(30):  # a slider dragged to and fro
        worker.configure(EVERYONE)
    assert worker.take_packet().image == before.image


def test_a_recording_started_on_a_folders_last_image_that_can_be_shown_records_the_replay(
    worker, clip_folder, tmp_path
):
    """A folder whose last image cannot be read: its end (the one before) was taken for a frame to record, so Play
    ended the recording at once and the replay, shown as held by it, was never written."""
    (clip_folder / "3.png").write_bytes(b"cut off by a crashed copy")
    worker.open(str(clip_folder))
    worker.set_playing(False)
    seek(worker, 3)  # the End key: shows 2
    worker.start_recording(SinkOptions(csv=tmp_path / "r.csv"))
    worker.set_playing(True)
    tick(worker)  # the end
    worker.set_playing(True)
    worker._do_seek()
    tick(worker, 2)
    worker.stop_recording()
    assert sorted(set(recorded_frames(tmp_path / "r.csv"))) == [0, 1]


def test_the_frame_on_screen_is_drawn_at_the_views_size_and_the_recording_at_the_sources(worker, tmp_path):
    """A 4K video's tags were a few view pixels tall, a small webcam's blurred: drawn at the source's size, then scaled
    into the view. Now the view's room fits the picture (as VideoView.image_rect does), the file keeps the source's."""
    import cv2

    width, height = worker._info.size
    worker.set_view_size((width // 2 + 100, height // 2))  # room to spare beside it, as a wide view has
    worker.set_overlay(Overlay(mirror=True))  # the view mirrored, the file not: both drawn again, each its own way
    worker.start_recording(SinkOptions(video=tmp_path / "r.mp4"))
    tick(worker, 3)
    shown = worker.take_packet()
    worker.stop_recording()
    assert (shown.image.width(), shown.image.height()) == (width // 2, height // 2)
    assert (shown.still().width(), shown.still().height()) == (width, height)  # a saved still: the source's size
    recorded = cv2.VideoCapture(str(tmp_path / "r.mp4"))
    sizes = {recorded.read()[1].shape for _ in range(3)}
    assert sizes == {(height, width, 3)} and worker.errors == []


@pytest.mark.parametrize("mirror", [True, False])
def test_a_recording_without_a_video_draws_each_frame_once_at_the_views_size(worker, tmp_path, monkeypatch, mirror):
    """Drawn at the view's size, each frame recorded to a CSV alone was drawn a second time at the source's, for no
    file (15 ms a 4K frame); the COCO dataset still takes each frame's size from the frame as analysed, the view
    mirrored or not."""
    import app.worker

    drawn_on = []
    monkeypatch.setattr(app.worker, "draw_poses", lambda image, *_, **__: drawn_on.append(image.shape) or image)
    width, height = worker._info.size
    worker.set_view_size((width // 2, height // 2))
    worker.set_overlay(Overlay(mirror=mirror))
    worker.start_recording(SinkOptions(csv=tmp_path / "r.csv", coco_dataset=tmp_path / "d.json"))
    tick(worker, 3)
    worker.stop_recording()
    assert drawn_on == [(height // 2, width // 2, 3)] * 3 and worker.errors == []
    images = json.loads((tmp_path / "d.json").read_text())["images"]
    assert [(i["width"], i["height"]) for i in images] == [(width, height)] * 3


def test_a_picture_resized_into_a_small_view_counts_every_pixel():
    """A 4K frame in an 817x460 view: interpolated in one go, three columns in four were never looked at and fine
    detail shimmered; each view pixel is the mean of the pixels it covers."""
    import numpy as np

    from app.worker import resized

    stripes = np.zeros((40, 400, 3), np.uint8)
    stripes[:, ::4] = 255  # one bright column in four
    assert np.abs(resized(stripes, (100, 10)).astype(int) - 64).max() <= 1


def test_a_still_of_a_frame_shown_at_its_own_size_is_the_picture_on_screen(worker):
    """A frame not drawn again for the view (it has just the source's room) is saved as it is on screen, people and
    all."""
    worker.set_view_size(worker._info.size)  # a view with just the source's room: not drawn again for the still
    tick(worker, 3)
    packet = worker.take_packet()
    assert packet.still() == packet.image and packet.poses is not None


def test_a_still_saved_after_the_frames_behind_it_keeps_the_trails_of_its_own_frame(worker):
    """A still is drawn at the source's size on the saver's thread, once the frames shown since have moved the trails
    on: it keeps the trails as the frame on screen had them."""
    worker.set_overlay(Overlay(trails=True))
    width, height = worker._info.size
    worker.set_view_size((width // 2, height // 2))
    tick(worker, 5)
    packet = worker.take_packet()
    at_once = packet.still()
    tick(worker, 5)
    assert packet.still() == at_once
    worker.set_playing(False)
    with_trails = worker.take_packet().still()
    worker.set_overlay(Overlay(trails=False))
    assert worker.take_packet().still() != with_trails  # the trails are drawn in it


def test_a_view_resized_while_paused_draws_the_paused_frame_again_at_its_new_size(worker):
    worker.set_overlay(Overlay(trails=True))
    tick(worker, 5)
    worker.set_playing(False)
    first = worker.take_packet()
    width, height = worker._info.size
    for room, shown in (
        ((width // 4, height), (width // 4, height // 4)),
        ((3 * width, 2 * height), (2 * width, 2 * height)),
    ):
        worker.set_view_size(room)
        packet = worker.take_packet()
        assert packet.index == first.index and packet.poses is first.poses  # drawn again, not found again
        assert (packet.image.width(), packet.image.height()) == shown
    worker.set_view_size((3 * width + 50, 2 * height))  # wider: the picture keeps its size there
    assert worker.take_packet() is None  # not drawn again for nothing (each event of a window's drag was)
