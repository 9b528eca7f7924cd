"""The export job on its own thread-free: what a batch of files comes to and how it is told."""

from __future__ import annotations

import itertools
import json
import re
from pathlib import Path

import pytest

from app.export_job import ExportJob, ExportOutcome, ExportRequest
from core.draw import Overlay
from core.pipeline import tuned_config
from core.sinks import SinkOptions

FOLDER = Path("/exports")
NOTE_END = " (the file may be damaged or cut short, or an edit list leaves some out)"


def job_of(jobs, model) -> ExportJob:
    """The export job of ``jobs`` ((source, SinkOptions) each) through ``model`` with the display defaults."""
    return ExportJob(ExportRequest(tuple(jobs), str(model), tuned_config(256, 0.15, 0.2, 0.5), Overlay()))


def csv_jobs(sources, out: Path) -> tuple:
    """Each source with its CSV in ``out`` named after it."""
    return tuple((str(path), SinkOptions(csv=out / f"{Path(path).stem}.csv")) for path in sources)


def frames_with_thumbnails(tmp_path, thumbnail: str) -> Path:
    """A folder of 3 frames and 3 thumbnails too small to analyse, named ``thumbnail`` with {n} for each."""
    import cv2
    import numpy as np

    folder = tmp_path / "frames"
    folder.mkdir()
    for n in range(3):
        cv2.imwrite(str(folder / f"frame{n}.png"), np.full((64, 48, 3), 200, np.uint8))
        cv2.imwrite(str(folder / thumbnail.format(n=n)), np.full((16, 12, 3), 200, np.uint8))
    return folder


def test_a_cancelled_batchs_summary_counts_only_the_files_it_finished_and_names_the_rest():
    outcome = ExportOutcome(4, frames=38, exported=1, failed=["garbage.mp4: not a readable video"], cancelled=True)
    outcome.stopped, outcome.not_started = "long.mp4 (its files hold 23 frames of 200)", ["two.mp4"]
    label, text = outcome.summary(FOLDER)
    assert label == "Export cancelled: 1 of 4 files exported, 38 frames"
    assert text == (
        f"{label} to {FOLDER}; cancelled during long.mp4 (its files hold 23 frames of 200); not started: two.mp4; "
        "failed: garbage.mp4: not a readable video"
    )
    assert outcome.alarming


def test_a_summary_keeps_warnings_beside_failures_and_lists_a_hundred_failures_in_a_line():
    failed = [f"bad_{n}.mp4: not a readable video" for n in range(120)]
    outcome = ExportOutcome(122, frames=50, exported=2, notes=["cut.avi: ended after 16 of 30 frames"], failed=failed)
    label, text = outcome.summary(FOLDER)
    assert label == "2 of 122 files exported, 50 frames"
    assert "failed: bad_0.mp4: not a readable video, bad_1.mp4" in text and text.count("bad_") == 3
    assert "and 117 more" in text and text.endswith("warnings: cut.avi: ended after 16 of 30 frames")
    assert len(text) < 400


def test_one_file_is_told_as_before():
    done = ExportOutcome(1, frames=8, exported=1)
    assert done.summary(FOLDER) == ("Exported 8 frames", f"Exported 8 frames to {FOLDER}")
    cancelled = ExportOutcome(1, frames=1, cancelled=True, stopped="a.mp4 (its files hold 1 frame of 9)")
    label = "Export cancelled after 1 frame"
    assert cancelled.summary(FOLDER) == (label, f"{label} to {FOLDER}")
    assert not cancelled.alarming  # the user pressed Cancel: a status line says it
    failed = ExportOutcome(1, failed=["cannot write /x.csv: No space left on device (no frame was written for it)"])
    assert failed.summary(FOLDER) == ("export failed", failed.failed[0])


def test_the_one_file_left_of_a_batch_started_again_is_told_with_those_passed_over():
    """Process files… on three files, two exported to their end before and skipped: the one exported is told as a
    batch's (not "Exported 5 frames" alone), in words for one file, and the two passed over are named."""
    outcome = ExportOutcome(1, frames=5, exported=1, passed_over=("a.mp4", "b.mp4"))
    label, text = outcome.summary(FOLDER)
    assert label == "Exported 1 file, 5 frames"
    assert text == f"{label} to {FOLDER}; passed over, exported before: a.mp4, b.mp4"
    cancelled = ExportOutcome(1, frames=2, cancelled=True, passed_over=("a.mp4",)).summary(FOLDER)[0]
    assert cancelled == "Export cancelled: 0 of 1 file exported, 2 frames"


def test_a_batch_cancelled_in_its_second_file_stops_there_with_valid_files_and_starts_no_other(
    qapp, model_path, write_clip, tmp_path
):
    clips = [write_clip(tmp_path / f"{name}.avi", 4) for name in ("first", "second", "third")]
    whole = write_clip(tmp_path / "whole.avi", 8)
    cut = tmp_path / "cut.avi"
    cut.write_bytes(whole.read_bytes()[: whole.stat().st_size * 2 // 5])  # its header counts 8 frames
    broken = tmp_path / "broken.avi"
    broken.write_bytes(b"not a video" * 100)
    sources = [clips[0], cut, broken, clips[1], clips[2]]
    jobs = csv_jobs(sources, tmp_path / "out")
    job = job_of(jobs, model_path)
    job.file_started.connect(lambda number, count, spec: number == 4 and job.cancel())  # during second.avi
    outcome = job._run()
    read = json.loads((tmp_path / "out" / "cut.csv.json").read_text())["frames_written"]
    assert (outcome.exported, outcome.frames) == (2, 4 + read + 1)  # first and cut whole, second's first frame
    assert outcome.stopped == "second.avi (its files hold 1 frame of 4)" and outcome.not_started == ["third.avi"]
    assert outcome.failed == [f"broken.avi: {broken} is not a readable video (no frame was written for it)"]
    assert outcome.notes == [f"cut.avi: the video ended after {read} of the 8 frames its header counts" + NOTE_END]
    assert outcome.cancelled and "warnings: cut.avi: the video ended" in outcome.summary(FOLDER)[1]
    assert json.loads((tmp_path / "out" / "second.csv.json").read_text())["frames_written"] == 1
    assert not (tmp_path / "out" / "third.csv").exists()


def test_a_file_another_run_is_writing_is_no_failure_and_a_cancel_while_waiting_for_it_leaves_it_not_started(
    qapp, model_path, write_clip, tmp_path, held_elsewhere
):
    clips = [write_clip(tmp_path / f"{name}.avi", 3) for name in ("first", "second", "third")]
    jobs = csv_jobs(clips, tmp_path / "out")
    job = job_of(jobs, model_path)
    started = []
    job.file_started.connect(lambda number, count, spec: started.append(number) or (number == 1 and job.cancel()))
    with held_elsewhere(tmp_path / "out" / "first.csv"):  # track --skip-done, or another window, writing it
        outcome = job._run()  # once "failed: first.avi: another run ... is writing"; held before it opened
    assert started == [2, 3, 1]  # passed over for now, waited for after the others
    assert (outcome.exported, outcome.failed, outcome.not_started) == (2, [], ["first.avi"])
    assert (
        outcome.summary(FOLDER)[1]
        == f"Export cancelled: 2 of 3 files exported, 6 frames to {FOLDER}; not started: first.avi"
    )
    assert not (tmp_path / "out" / "first.csv").exists()


def run_telling_the_batch(job: ExportJob) -> tuple[ExportOutcome, list[str]]:
    """The job run: its outcome, and what its batch line said as each file started (a time as h:mm:ss)."""
    told, starts = [], []
    job.file_started.connect(lambda number, count, spec: starts.append(len(told)))
    job.batch_progress.connect(told.append)
    outcome = job._run()
    return outcome, [re.sub(r"\d+:\d\d:\d\d$", "h:mm:ss", told[at]) for at in starts]


def test_a_batch_tells_its_frames_left_and_time_left_as_each_file_starts(qapp, model_path, write_clip, tmp_path):
    """The panel told only the file's ETA: 50 files of 10 minutes gave no end for the batch. A file that fails
    counts none; the time left is the frames left at the rate of the files done."""
    first, second = write_clip(tmp_path / "first.avi", 3), write_clip(tmp_path / "second.avi", 4)
    broken = tmp_path / "broken.mp4"
    broken.write_bytes(b"not a video" * 100)
    outcome, told = run_telling_the_batch(job_of(csv_jobs([first, broken, second], tmp_path / "out"), model_path))
    assert outcome.exported == 2 and told == [
        "7 frames left",  # no rate before a frame
        "4 frames left, about h:mm:ss",
        "4 frames left, about h:mm:ss",
    ]


def test_a_batchs_frames_left_leave_out_a_file_another_run_exported(qapp, model_path, write_clip, tmp_path):
    clips = [write_clip(tmp_path / f"{name}.avi", frames) for name, frames in (("a", 2), ("b", 3), ("c", 4))]
    assert job_of(csv_jobs(clips[1:2], tmp_path / "out"), model_path)._run().exported == 1  # by another window
    outcome, told = run_telling_the_batch(job_of(csv_jobs(clips, tmp_path / "out"), model_path))
    assert outcome.elsewhere == ["b.avi"] and told == [
        "9 frames left",
        "4 frames left, about h:mm:ss",  # c's alone
    ]


def test_one_file_tells_no_batch(qapp, model_path, write_clip, tmp_path):
    job = job_of(csv_jobs([write_clip(tmp_path / "clip.avi", 2)], tmp_path / "out"), model_path)
    told = []
    job.batch_progress.connect(told.append)
    assert job._run().exported == 1 and told == []


def test_a_folders_progress_counts_its_images_passed_over_out_of_the_frames_to_show(qapp, model_path, tmp_path):
    """A folder whose thumbnails are passed over (too small) ended its bar short: 60 of 90 frames for 30 of them."""
    folder = frames_with_thumbnails(tmp_path, "frame{n}_thumb.png")
    jobs = csv_jobs([folder], tmp_path / "out")
    job = job_of(jobs, model_path)
    told = []
    job.progress.connect(lambda done, total, fps: told.append((done, total)))
    outcome = job._run()
    assert outcome.exported == 1 and told[-1] == (3, 3)  # full: not 3 of 6


def test_a_folder_cancelled_after_its_thumbnails_counts_its_frames_out_of_those_to_show(
    qapp, model_path, tmp_path, monkeypatch
):
    """Thumbnails sorted first are passed over before the first frame: the bar and the cancel's story count out of
    the 3 frames to show, not the folder's 6 images."""
    import app.export_job

    folder = frames_with_thumbnails(tmp_path, "a_thumb{n}.png")  # sorted first
    monkeypatch.setattr(app.export_job, "PROGRESS_EVERY_S", 0.0)  # told at each frame
    jobs = csv_jobs([folder], tmp_path / "out")
    job = job_of(jobs, model_path)
    told = []
    job.progress.connect(lambda done, total, fps: told.append((done, total)))
    job.file_started.connect(lambda number, count, spec: job.cancel())
    outcome = job._run()
    assert told == [(1, 3), (1, 3)]  # the frame's, then the file's end
    assert outcome.stopped == "frames (its files hold 1 frame of 3)"


def test_files_another_run_exported_are_no_shortfall():
    """ "0 of 3 files exported, 0 frames" read as a failure where another run had done all three."""
    some = ExportOutcome(3, frames=6, exported=2, elsewhere=["b.avi"])
    label = "Exported 2 files, 6 frames"
    assert some.summary(FOLDER) == (label, f"{label} to {FOLDER}; exported by another run: b.avi")
    every = ExportOutcome(3, elsewhere=["a.avi", "b.avi", "c.avi"])
    label = "3 files exported by another run"
    assert every.summary(FOLDER) == (label, f"{label} to {FOLDER}: a.avi, b.avi, c.avi") and not every.alarming
    assert ExportOutcome(1, elsewhere=["a.avi"]).summary(FOLDER)[0] == "1 file exported by another run"


def test_a_wait_for_another_run_is_said_though_it_let_go_and_took_the_file_again(
    qapp, model_path, write_clip, tmp_path, held_elsewhere, monkeypatch
):
    """The other run let go and took the file again between the look that would have said so and the wait: the
    job waited, the panel still showing the last file's figures."""
    import threading

    import app.export_job

    clips = [write_clip(tmp_path / f"{name}.avi", 3) for name in ("first", "second")]
    jobs = csv_jobs(clips, tmp_path / "out")
    job = job_of(jobs, model_path)
    looks, being_written = itertools.count(1), app.export_job.being_written

    def let_go_at_the_second_look(sinks, name):
        return None if name == "second" and next(looks) == 2 else being_written(sinks, name)

    monkeypatch.setattr(app.export_job, "being_written", let_go_at_the_second_look)
    said = []
    job.waiting.connect(lambda name: said.append(name) or job.cancel())  # said: the wait ends there
    unsaid = threading.Timer(30.0, job.cancel)  # a wait never said would last as long as the other run
    unsaid.start()
    try:
        with held_elsewhere(tmp_path / "out" / "second.csv"):
            outcome = job._run()
    finally:
        unsaid.cancel()
    assert said == ["second.avi"] and outcome.not_started == ["second.avi"]


def test_a_model_that_does_not_load_is_a_failure_not_a_cancel(qapp, tmp_path):
    """The files a model that fails to load leaves undone were told as a cancelled batch."""
    broken = tmp_path / "broken.onnx"
    broken.write_bytes(b"not a model")
    jobs = tuple((str(tmp_path / f"{n}.avi"), SinkOptions(csv=tmp_path / f"{n}.csv")) for n in ("a", "b", "c"))
    outcome = job_of(jobs, broken)._run()
    label, text = outcome.summary(FOLDER)
    assert label == "0 of 3 files exported, 0 frames" and "not started: a.avi, b.avi, c.avi" in text
    assert "broken.onnx is not an ONNX model file" in text and outcome.alarming


def test_an_export_whose_posec3d_file_leaves_out_many_people_says_so(qapp, write_clip, tmp_path):
    """Two frames: the first frame's people have no track yet, half of those detected (the shipped model)."""
    from core.cli import DEFAULT_MODEL

    clip = write_clip(tmp_path / "two.avi", 2)
    jobs = ((str(clip), SinkOptions(posec3d=tmp_path / "two.pkl")),)
    outcome = job_of(jobs, DEFAULT_MODEL)._run()
    assert outcome.exported == 1 and len(outcome.notes) == 1, outcome.notes
    assert outcome.notes[0].startswith("the PoseC3D file leaves out ")
    assert outcome.notes[0].endswith(
        "with tracking off (--no-track, or Track people unticked in the app) it keeps them all"
    )


@pytest.mark.parametrize(
    ("error", "said"),
    [
        (OSError(28, "No space left on device"), "Unexpected OSError: [Errno 28] No space left on device"),
        (
            MemoryError("Unable to allocate 43.6 MiB for an array with shape (220, 1528, 17, 2)"),
            "Out of memory: close other programs, or leave the PoseC3D pickle, held whole, out of long runs.",
        ),
    ],
    ids=["disk full", "out of memory"],
)
def test_a_file_that_fails_part_way_says_and_counts_the_frames_its_outputs_hold(qapp, model_path, write_clip, tmp_path,
                                                                                 monkeypatch, error, said):  # fmt: skip
    """A disk that fills mid-file: the summary said 'no frame was written for it' and left its frames out."""
    import app.export_job

    def three_then_full(*args, **kwargs):
        yield from range(3)
        raise error

    monkeypatch.setattr(app.export_job, "run_frames", three_then_full)
    clip = write_clip(tmp_path / "a.avi", 6)
    jobs = ((str(clip), SinkOptions(csv=tmp_path / "a.csv")),)
    outcome = job_of(jobs, model_path)._run()
    assert outcome.frames == 3 and outcome.exported == 0
    assert outcome.failed == [f"{said} (its outputs hold the 3 frames before the error)"]


def test_a_cancel_in_a_file_of_unknown_length_is_told_with_what_its_files_hold(qapp, model_path, monkeypatch):
    jobs = (("stream.mkv", SinkOptions(csv=Path("stream.csv"))),)
    job = job_of(jobs, model_path)

    def cancelled_after_three(spec, sinks, pipeline, inputs):
        job.cancel()
        return 3, None, None  # OpenCV could not tell the file's length

    monkeypatch.setattr(job, "_export", cancelled_after_three)
    outcome = job._run()
    assert outcome.cancelled and outcome.stopped == "stream.mkv (its files hold 3 frames)" and outcome.frames == 3


def test_a_cancel_that_comes_after_a_files_last_frame_leaves_it_exported(qapp, model_path, write_clip, tmp_path):
    """Cancel pressed as the last frame was written: the file is whole, and said to be exported, not cut short."""
    clip = write_clip(tmp_path / "four.avi", 4)
    jobs = ((str(clip), SinkOptions(csv=tmp_path / "four.csv")),)
    job = job_of(jobs, model_path)
    job.progress.connect(lambda done, total, fps: done == total and job.cancel())
    outcome = job._run()
    assert (outcome.exported, outcome.frames, outcome.cancelled, outcome.stopped) == (1, 4, False, "")


def test_exports_one_after_another_each_let_go_of_their_job_thread_and_model_once_ended(
    qtbot, model_path, write_clip, tmp_path
):
    """A window kept open all day exports file after file: each export's job, thread and model session (its
    arena of tens of MB) are freed when it ends, none kept for the next."""
    import gc
    import weakref

    from app.export_panel import ExportPanel
    from core.session import PoseModel

    def models() -> int:
        return sum(type(thing) is PoseModel for thing in gc.get_objects())

    panel = ExportPanel()
    qtbot.addWidget(panel)
    clip = write_clip(tmp_path / "two.avi", 2)
    gc.collect()  # the models of the tests before, left in reference cycles: not counted as this one's
    before, ended = models(), []
    for take in range(2):
        options = SinkOptions(csv=tmp_path / f"two_{take}.csv", video=tmp_path / f"two_{take}.mp4")
        config = tuned_config(256, 0.15, 0.2, 0.5)
        panel.start_export(ExportRequest(((str(clip), options),), str(model_path), config, Overlay()))
        ended.extend([weakref.ref(panel.job), weakref.ref(panel._thread)])
        qtbot.waitUntil(lambda: panel.job is None, timeout=30000)
        # the thread's deleteLater runs once the event loop is back: then nothing of either export is left
        qtbot.waitUntil(lambda: gc.collect() >= 0 and all(end() is None for end in ended), timeout=5000)
        assert models() == before
    assert Path(options.csv).is_file()


def test_a_whole_batch_done_is_told_as_such_and_a_warning_alone_is_alarming():
    assert ExportOutcome(2, frames=8, exported=2).summary(FOLDER)[0] == "Exported 2 files, 8 frames"
    cut = ExportOutcome(1, frames=16, exported=1, notes=["the video ended after 16 of the 30 frames its header counts"])
    assert cut.alarming  # said in a dialog, not only in a status line that fades


def test_the_panel_offers_a_coco_dataset_and_an_export_writes_one_of_every_frame(
    qapp, model_path, write_clip, tmp_path
):
    """The format CVAT imports (COCO Keypoints 1.0): each frame an image named as CVAT names a video's frames."""
    from app.export_panel import ExportPanel

    panel = ExportPanel()
    panel.folder.setText(str(tmp_path / "out"))
    panel.set_formats(("coco_dataset",))
    options = panel.sink_options("four")
    assert options == SinkOptions(coco_dataset=str(tmp_path / "out" / "four_coco_dataset.json"))
    clip = write_clip(tmp_path / "four.avi", 4)
    outcome = ExportJob(ExportRequest(((str(clip), options),), str(model_path), tuned_config(256, 0.15, 0.2, 0.5),
                                      Overlay()))._run()  # fmt: skip
    assert (outcome.exported, outcome.frames) == (1, 4)
    dataset = json.loads(Path(options.coco_dataset).read_text())
    assert [image["file_name"] for image in dataset["images"]] == [f"frame_{n:06d}.jpg" for n in range(4)]


def test_a_list_as_long_as_its_limit_names_every_file_without_an_and_none_more():
    outcome = ExportOutcome(7, frames=40, exported=1, failed=[f"bad{n}.mp4: not a readable video" for n in range(3)])
    outcome.cancelled, outcome.not_started = True, ["a.mp4", "b.mp4", "c.mp4", "d.mp4"]
    _, text = outcome.summary(FOLDER)
    assert text.endswith("not started: a.mp4, b.mp4, c.mp4, d.mp4; failed: bad0.mp4: not a readable video, "
                         "bad1.mp4: not a readable video, bad2.mp4: not a readable video")  # fmt: skip


class HalfSecondFrames:
    """The export's clock, moved on half a second at each reading: a frame every half second, 2 fps."""

    def __init__(self) -> None:
        self.now = 0.0

    def perf_counter(self) -> float:
        self.now += 0.5
        return self.now


def test_the_progress_says_frames_per_second(qapp, model_path, write_clip, tmp_path, monkeypatch):
    """The rate behind the panel's ETA: seconds per frame instead made a 7 s export say half an hour."""
    import app.export_job

    monkeypatch.setattr(app.export_job, "time", HalfSecondFrames())
    clip = write_clip(tmp_path / "four.avi", 4)
    jobs = ((str(clip), SinkOptions(csv=tmp_path / "four.csv")),)
    job = job_of(jobs, model_path)
    reports = []
    job.progress.connect(lambda done, total, fps: reports.append((done, total, fps)))
    job._run()
    assert reports[:-1] == [(done, 4, 2.0) for done in range(1, 5)]  # the last, after the loop, a reading later
