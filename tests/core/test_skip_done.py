"""`wlitepose track --skip-done`: a source passed over only where its last run finished with these settings and
outputs on this very source, and waited for where another run is tracking it."""

import contextlib
import itertools
import json
import os
import signal
from pathlib import Path

import cv2
import numpy as np
import pytest

from core.model_file import file_sha256


def test_a_stopped_batch_run_again_with_skip_done_goes_on_where_it_stopped(
    cli, model_path, write_clip, tmp_path, assert_clean_error
):
    """A batch of many videos stopped at the thirtieth had to run the first twenty-nine again."""
    clips = [write_clip(tmp_path / f"{name}.avi", 4) for name in ("a", "b", "c")]
    out = tmp_path / "out"
    outputs = ("--model", model_path, "--csv", out / "{name}.csv", "--video", out / "{name}.mp4")
    assert cli("track", *clips[:2], *outputs)[0] == 0  # a and b finished
    assert cli("track", clips[2], "--max-frames", 2, *outputs)[0] == 0  # c stopped before its end
    assert [json.loads((out / f"{n}.csv.json").read_text())["finished"] for n in "abc"] == [True, True, False]
    (out / "b.mp4").unlink()  # an output lost since: b is run again
    written = {n: (out / f"{n}.csv.json").stat().st_mtime_ns for n in "abc"}
    rc, _, err = cli("track", *clips, *outputs, "--skip-done")
    assert rc == 0, err
    assert f"[1/3] {clips[0]}: finished before, passed over" in err
    assert f"[2/3] {clips[1]}: run again: an output of its last run is gone" in err  # each told why it runs
    assert f"[3/3] {clips[2]}: run again: its last run is not recorded as finished" in err
    assert "2 of 3 sources done, 8 frames" in err and "1 finished before, passed over (--skip-done)" in err
    assert (out / "a.csv.json").stat().st_mtime_ns == written["a"] and (out / "b.mp4").exists()
    assert json.loads((out / "c.csv.json").read_text())["finished"] is True
    rc, _, err = cli("track", *clips, *outputs, "--skip-done", "--detection-threshold", 0.3)  # other settings
    assert rc == 0 and "3 of 3 sources done" in err and "passed over" not in err
    assert f"[1/3] {clips[0]}: run again: its last run used other settings" in err
    rc, _, err = cli("track", clips[0], "--model", model_path, "--skip-done")
    assert_clean_error(rc, err, "--skip-done needs --csv")


def _clips(write_clip, tmp_path, names: str) -> tuple[list, Path]:
    """A two-frame clip named after each letter of ``names``, and the folder a batch of them writes into."""
    return [write_clip(tmp_path / f"{name}.avi", 2) for name in names], tmp_path / "out"


def _csv_and_video(model_path, out: Path) -> tuple:
    """`track`'s options for a batch's CSVs and videos into ``out``, on one thread."""
    return ("--model", model_path, "--csv", out / "{name}.csv", "--video", out / "{name}.mp4", "--threads", 1)


def test_skip_done_passes_over_every_source_of_a_finished_batch(cli, model_path, write_clip, tmp_path):
    """Each source is judged by its own outputs: judged by the first source's, a finished batch run again with
    --skip-done ran all but the first again."""
    clips, out = _clips(write_clip, tmp_path, "abc")
    outputs = ("--model", model_path, "--csv", out / "{name}.csv")
    assert cli("track", *clips, *outputs)[0] == 0
    rc, _, err = cli("track", *clips, *outputs, "--skip-done")
    assert rc == 0 and "0 of 3 sources done" in err and "3 finished before, passed over (--skip-done)" in err


def _at_look(monkeypatch, name: str, look: int, then) -> None:
    """Runs ``then`` right after the run's ``look``-th look at whether another run holds an output of source
    ``name`` (being_written): the first is its pass's, the second the first of its wait for it, the third the
    wait's first look again after a pause (a wait that stopped after one look would not reach it)."""
    import core.sinks.multi
    import core.track_run

    real, looks = core.sinks.multi.being_written, itertools.count(1)

    def looking(options, source):
        held = real(options, source)
        if source == name and next(looks) == look:
            then()
        return held

    for module in (core.track_run, core.sinks.multi):  # the pass's look, and the wait's (wait_while_written)
        monkeypatch.setattr(module, "being_written", looking)


def test_skip_done_waits_for_a_source_another_run_is_tracking(
    cli, model_path, write_clip, tmp_path, held_elsewhere, monkeypatch, assert_clean_error
):
    """One batch started twice with --skip-done to share it out: a run passed over the source the other one held and
    exited 0 at once, not knowing whether the other one would finish it. It waits for it at the end of its pass."""
    clips, out = _clips(write_clip, tmp_path, "ab")
    outputs = _csv_and_video(model_path, out)
    other, finished = _other_run_finishing(cli, clips[0], outputs, out, monkeypatch)
    with other:
        other.enter_context(held_elsewhere(out / "a.csv"))
        rc, _, err = cli("track", *clips, *outputs)  # without --skip-done two runs of one output are a mistake
        assert_clean_error(rc, err, f"another run (wlitepose track, the app or a training) is writing {out / 'a.csv'}")
        rc, _, err = cli("track", *clips, *outputs, "--skip-done")
    assert rc == 0, err
    assert f"[1/2] {clips[0]}: being tracked by another run (it holds {out / 'a.csv'}), passed over for now" in err
    assert err.count(f"waiting for another run to finish {clips[0]} (it holds {out / 'a.csv'})") == 1
    assert f"[1/2] {clips[0]}: done by another run" in err and "error" not in err
    assert "1 of 2 sources done" in err and "; 1 done by another run (--skip-done)" in err
    assert err.count("), input ") == 1  # b's model line: a was opened by no one here
    assert {path: path.read_bytes() for path in finished} == finished


def _other_run_finishing(cli, clip, outputs, out, monkeypatch) -> tuple[contextlib.ExitStack, dict]:
    """Another run of source a (``clip``): an ExitStack for its locks, which at this run's third look at them (the
    wait's second) writes a finished run's files into ``out`` and lets them go, as a run ends; and those files' bytes
    (made here by a real run first, then removed)."""
    assert cli("track", clip, *outputs)[0] == 0
    finished = {path: path.read_bytes() for path in out.iterdir()}
    other = contextlib.ExitStack()

    def finishes():
        for path, data in finished.items():
            path.write_bytes(data)
        other.close()

    _at_look(monkeypatch, "a", 3, finishes)
    for path in finished:
        path.unlink()
    return other, finished


def test_skip_done_tracks_a_source_another_run_held_and_did_not_finish(
    cli, model_path, write_clip, tmp_path, held_elsewhere, monkeypatch
):
    """The other run (the app recording a.mp4) held only the video: the batch passed a over without saying which
    output was held, exited 0, and a.csv was written by no one. Once let go unfinished, a is tracked here."""
    clips, out = _clips(write_clip, tmp_path, "ab")
    outputs = _csv_and_video(model_path, out)
    with contextlib.ExitStack() as other:
        other.enter_context(held_elsewhere(out / "a.mp4"))
        _at_look(monkeypatch, "a", 3, other.close)  # ended, killed: its lock holds nothing
        rc, _, err = cli("track", *clips, *outputs, "--skip-done")
    assert rc == 0, err
    assert f"[1/2] {clips[0]}: being tracked by another run (it holds {out / 'a.mp4'}), passed over for now" in err
    assert f"waiting for another run to finish {clips[0]} (it holds {out / 'a.mp4'})" in err
    assert f"[2/2] {clips[1]} (batch: 4 frames left)\n" in err  # a's frames too: still to do, here or there
    assert f"[1/2] {clips[0]} (batch: 2 frames left, about " in err and "2 of 2 sources done" in err
    assert "error" not in err
    assert err.count("), input ") == 2 and err.index("), input ") > err.index(f"[2/2] {clips[1]}")  # a: once taken up
    assert json.loads((out / "a.csv.json").read_text())["finished"] is True


def test_a_one_source_skip_done_run_ends_once_the_other_run_finished_its_source(
    cli, model_path, write_clip, tmp_path, held_elsewhere, monkeypatch
):
    """`track a.avi --csv "out/{name}.csv" --skip-done` in a shell loop run in two terminals: one of them exited 0 at
    once, while the other was still writing a.csv, and the script after it read a half-written CSV."""
    clip = write_clip(tmp_path / "a.avi", 2)
    out = tmp_path / "out"
    outputs = ("--model", model_path, "--csv", out / "{name}.csv", "--threads", 1)
    other, _ = _other_run_finishing(cli, clip, outputs, out, monkeypatch)
    with other:
        other.enter_context(held_elsewhere(out / "a.csv"))
        rc, _, err = cli("track", clip, *outputs, "--skip-done")
    assert rc == 0, err
    assert f"waiting for another run to finish {clip} (it holds {out / 'a.csv'})" in err
    assert f"[1/1] {clip}: done by another run" in err and "), input " not in err
    assert json.loads((out / "a.csv.json").read_text())["finished"] is True


def test_skip_done_passes_over_a_source_another_run_took_after_the_check(
    cli, model_path, write_clip, tmp_path, held_elsewhere, monkeypatch
):
    """Two runs reaching one source together: the other run takes its outputs between this run's look at their
    locks and its taking them. The loser moves on, no failure, and takes it up once the other let go unfinished."""
    import core.track_run

    clips, out = _clips(write_clip, tmp_path, "ab")
    judged, other = core.track_run.rerun_reason, contextlib.ExitStack()

    def other_run_arrives(spec, options, *args):  # after this run's look at the locks, before it takes them
        if spec == str(clips[0]) and not (out / "b.csv").exists():
            other.enter_context(held_elsewhere(out / "a.csv"))
        return judged(spec, options, *args)

    monkeypatch.setattr(core.track_run, "rerun_reason", other_run_arrives)
    _at_look(monkeypatch, "a", 3, other.close)
    with other:
        rc, _, err = cli("track", *clips, "--model", model_path, "--csv", out / "{name}.csv", "--skip-done")
    assert rc == 0, err
    assert f"[1/2] {clips[0]}: being tracked by another run (it holds {out / 'a.csv'}), passed over for now" in err
    assert "2 of 2 sources done" in err and "error" not in err
    assert json.loads((out / "a.csv.json").read_text())["finished"] is True


@pytest.mark.parametrize(
    ("held", "look", "stopped"),
    [
        ("a", 1, "stopped; not started: {0}, {1}, {2}"),
        ("ac", 3, "stopped while waiting for another run to finish {0}; not started: {2}"),
    ],
    ids=["pass", "wait"],
)
def test_ctrl_c_by_a_source_another_run_holds_stops_there(
    cli, model_path, write_clip, tmp_path, held_elsewhere, monkeypatch, held, look, stopped
):
    """Ctrl-C while a held source was looked at in the pass still started the next source (its `continue` skipped
    the check); during the wait for it, it must stop the wait and take up no other. The line says what it was doing:
    "stopped during a" read as a tracked in part, where nothing of it was."""
    clips, out = _clips(write_clip, tmp_path, "abc")
    _at_look(monkeypatch, "a", look, lambda: os.kill(os.getpid(), signal.SIGINT))
    with contextlib.ExitStack() as others:
        for name in held:
            others.enter_context(held_elsewhere(out / f"{name}.csv"))
        rc, _, err = cli("track", *clips, "--model", model_path, "--csv", out / "{name}.csv", "--skip-done")
    assert rc == 128 + signal.SIGINT, err
    assert f"wlitepose: {stopped.format(*clips)}\n" in err
    assert err.count("), input ") == len(held) - 1 and f"finish {clips[2]}" not in err  # b's, in the wait's case


def test_without_skip_done_an_output_another_run_took_after_the_start_fails_its_source(
    cli, model_path, write_clip, tmp_path, held_elsewhere, monkeypatch
):
    """Sharing a batch out is --skip-done's: without it, another run taking a source's output once the batch started
    is two runs of one file, a failure the summary names (exit 2), not a source passed over."""
    import core.track_run

    clips, out = _clips(write_clip, tmp_path, "ab")
    loaded, other = core.track_run.PoseModel, contextlib.ExitStack()

    def other_run_arrives(*args, **kwargs):  # after this run's check of its outputs, while its model loads
        other.enter_context(held_elsewhere(out / "a.csv"))
        return loaded(*args, **kwargs)

    monkeypatch.setattr(core.track_run, "PoseModel", other_run_arrives)
    with other:
        rc, _, err = cli("track", *clips, "--model", model_path, "--csv", out / "{name}.csv")
    assert rc == 2 and "passed over" not in err and err.rstrip().endswith(f"; failed: {clips[0]}"), err


def test_a_max_frames_run_that_reached_the_source_end_is_finished(cli, model_path, grey_clip, tmp_path):
    """--max-frames 4 on a clip of 4 frames (or --max-frames 1 on one image) analysed every frame, yet its sidecar
    said not finished, and the run again with --skip-done did it all again."""
    clip = grey_clip(tmp_path / "clip.avi", 10, frames=4)
    outputs = ("--model", model_path, "--csv", tmp_path / "{name}.csv")
    for frames, finished in ((3, False), (4, True)):
        assert cli("track", clip, *outputs, "--max-frames", frames)[0] == 0
        sidecar = json.loads((tmp_path / "clip.csv.json").read_text())
        assert (sidecar["frames_written"], sidecar["finished"]) == (frames, finished)
    rc, _, err = cli("track", clip, *outputs, "--max-frames", 4, "--skip-done")
    assert rc == 0 and "finished before, passed over" in err


def test_max_frames_stops_at_that_many_frames_of_a_clip_whose_header_counts_fewer(cli, model_path, grey_clip, tmp_path):
    """A clip of 5 frames whose headers count 3: --max-frames 3 reads a fourth to learn whether it ended, and must
    not write it, nor the fifth."""
    clip = grey_clip(tmp_path / "clip.avi", 10, frames=5, step=40)
    data = bytearray(clip.read_bytes())
    for chunk, offset in ((b"avih", 16), (b"strh", 32)):  # the main header's frame count, the stream header's length
        data[data.index(chunk) + 8 + offset : data.index(chunk) + 12 + offset] = (3).to_bytes(4, "little")
    clip.write_bytes(data)
    assert cv2.VideoCapture(str(clip)).get(cv2.CAP_PROP_FRAME_COUNT) == 3  # the header counts fewer than it holds
    assert cli("track", clip, "--model", model_path, "--csv", tmp_path / "c.csv", "--max-frames", 3)[0] == 0
    sidecar = json.loads((tmp_path / "c.csv.json").read_text())
    assert (sidecar["frames_written"], sidecar["finished"]) == (3, False)


def test_skip_done_runs_again_what_changed_since(cli, model_path, write_clip, tmp_path, monkeypatch):
    """A reviewer's cases, each passed over with the earlier run's results: a source file replaced by another
    under its name, an image folder at another --fps, an output the earlier run did not write (another run's
    file there); and a ~ in --csv that made every source run again."""
    monkeypatch.setenv("HOME", str(tmp_path))
    clip, other = write_clip(tmp_path / "clip.avi", 3), write_clip(tmp_path / "other.avi", 4)
    folder = tmp_path / "stills"
    folder.mkdir()
    cv2.imwrite(str(folder / "a.png"), cv2.VideoCapture(str(clip)).read()[1])

    said = []

    def again(source, *extra):  # the outputs under ~, as a user types them
        rc, _, err = cli("track", source, "--model", model_path, "--csv", "~/out.csv", *extra, "--skip-done")
        assert rc == 0, err
        said.append(err.partition("run again: ")[2].partition("\n")[0])  # why it ran, where it ran again
        return "passed over" in err

    assert not again(clip) and again(clip)
    os.replace(other, clip)  # another clip under the same name
    assert not again(clip) and again(clip)
    coco = ("--coco-json", tmp_path / "people.json")
    assert not again(clip, *coco) and again(clip, *coco)
    assert not again(folder) and again(folder) and not again(folder, "--fps", 2)
    changed, other_outputs = "the source has changed since its last run", "its last run wrote other outputs"
    assert said == ["", "", changed, "", other_outputs, "", "", "", "its last run played it at another --fps"]


@pytest.mark.parametrize("change", ["replaced", "removed"])
def test_a_source_that_changed_while_it_was_read_is_no_finished_run(
    cli, model_path, write_clip, tmp_path, monkeypatch, change
):
    """A video replaced or removed under a run (the stamp compared is a file's size and time, a folder's images:
    tests/core/test_sources.py checks those): the sidecar said "finished" of results that are not those of the
    source now there, without a word."""
    import core.track_run

    clip, other = write_clip(tmp_path / "clip.avi", 3), write_clip(tmp_path / "other.avi", 4)
    for_frames = core.track_run.run_frames

    def replaced_after_the_first_frame(*args, **kwargs):
        frames = for_frames(*args, **kwargs)
        yield next(frames)
        # as another process's copy lands, or the file is deleted: the run reads on from the file it opened
        if change == "replaced":
            os.replace(other, clip)
        else:
            clip.unlink()
        yield from frames

    monkeypatch.setattr(core.track_run, "run_frames", replaced_after_the_first_frame)
    rc, _, err = cli("track", clip, "--model", model_path, "--csv", tmp_path / "out.csv")
    assert rc == 0 and "clip.avi changed while it was read" in err, err
    sidecar = json.loads((tmp_path / "out.csv.json").read_text())
    assert sidecar["finished"] is False and sidecar["frames_written"] == 3


def test_skip_done_runs_again_a_folder_that_gained_an_image(cli, model_path, write_clip, tmp_path):
    """A folder's size is that of its block on most file systems: the same with one more image; its modification
    time tells."""
    folder = tmp_path / "stills"
    folder.mkdir()
    frame = cv2.VideoCapture(str(write_clip(tmp_path / "clip.avi", 1))).read()[1]
    cv2.imwrite(str(folder / "a.png"), frame)
    outputs = ("--model", model_path, "--csv", tmp_path / "out.csv", "--skip-done")
    assert "passed over" not in cli("track", folder, *outputs)[2]
    cv2.imwrite(str(folder / "b.png"), frame)  # a picture more since
    rc, _, err = cli("track", folder, *outputs)
    assert rc == 0 and "passed over" not in err, err
    assert json.loads((tmp_path / "out.csv.json").read_text())["frames_written"] == 2


def test_skip_done_runs_again_a_folder_whose_images_were_written_again_in_place(cli, model_path, write_clip, tmp_path):
    """Frames extracted anew under the same names (ffmpeg -y, cv2.imwrite) change neither the folder's size nor its
    time: its images' tell. The run's own CSV written into the folder is no image of it."""
    folder = tmp_path / "stills"
    folder.mkdir()
    frames = cv2.VideoCapture(str(write_clip(tmp_path / "clip.avi", 2)))
    first, second = frames.read()[1], frames.read()[1]
    cv2.imwrite(str(folder / "a.png"), first)
    outputs = ("--model", model_path, "--csv", folder / "out.csv", "--skip-done")
    assert cli("track", folder, *outputs)[0] == 0
    assert "passed over" in cli("track", folder, *outputs)[2]  # nothing changed, its CSV beside the images
    since = folder.stat().st_mtime_ns
    cv2.imwrite(str(folder / "a.png"), second)  # the same name, another picture
    later = (folder / "a.png").stat().st_mtime_ns + 10**9  # a second on: a clock coarser than the write
    os.utime(folder / "a.png", ns=(later, later))
    assert folder.stat().st_mtime_ns == since
    rc, _, err = cli("track", folder, *outputs)
    assert rc == 0 and "passed over" not in err, err


def test_a_folder_with_a_broken_link_named_as_an_image_is_tracked_its_link_passed_over(
    cli, model_path, write_clip, tmp_path
):
    """A link to a frame since deleted (x.png -> gone) is an image the folder cannot read, passed over with a
    warning as before: its stamp is no reason for the run, or --skip-done, to stop with 'cannot use x.png'."""
    folder = tmp_path / "stills"
    folder.mkdir()
    cv2.imwrite(str(folder / "a.png"), cv2.VideoCapture(str(write_clip(tmp_path / "clip.avi", 1))).read()[1])
    (folder / "x.png").symlink_to(tmp_path / "gone.png")
    outputs = ("--model", model_path, "--csv", tmp_path / "out.csv", "--skip-done")
    rc, _, err = cli("track", folder, *outputs)
    assert rc == 0 and "skipped" in err and "x.png" in err, err
    assert json.loads((tmp_path / "out.csv.json").read_text())["finished"] is True
    assert "passed over" in cli("track", folder, *outputs)[2]


def test_skip_done_runs_again_with_another_model_or_for_another_source_of_the_same_stamp(
    cli, model_path, write_clip, tmp_path, with_metadata
):
    """A model retrained under another name with the same outputs asked for; and a second day's clip, a copy that
    kept its size and time, written to the same CSV: neither is the run the sidecar records."""
    import shutil

    clip = write_clip(tmp_path / "clip.avi", 2)
    outputs = ("--csv", tmp_path / "out.csv", "--skip-done")
    assert "passed over" not in cli("track", clip, "--model", model_path, *outputs)[2]
    other = with_metadata(model_path, tmp_path / "other.onnx", oks_sigmas=[0.05] * 17)
    rc, _, err = cli("track", clip, "--model", other, *outputs)
    assert rc == 0 and "passed over" not in err, err
    assert json.loads((tmp_path / "out.csv.json").read_text())["model_sha256"] == file_sha256(other)
    (tmp_path / "day2").mkdir()
    twin = shutil.copy2(clip, tmp_path / "day2" / "clip.avi")  # cp -p: the same size and time
    rc, _, err = cli("track", twin, "--model", other, *outputs)
    assert rc == 0 and "passed over" not in err, err
    assert json.loads((tmp_path / "out.csv.json").read_text())["source"] == str(twin)


def test_skip_done_runs_again_a_file_replaced_by_a_copy_that_kept_its_time(cli, model_path, write_clip, tmp_path):
    clip, other = write_clip(tmp_path / "clip.avi", 2), write_clip(tmp_path / "other.avi", 3)
    outputs = ("--model", model_path, "--csv", tmp_path / "out.csv", "--skip-done")
    assert "passed over" not in cli("track", clip, *outputs)[2]
    stamp = clip.stat().st_mtime_ns
    os.replace(other, clip)
    os.utime(clip, ns=(stamp, stamp))  # another clip copied in with its times kept (cp -p, rsync -t, an archive)
    rc, _, err = cli("track", clip, *outputs)
    assert rc == 0 and "passed over" not in err, err
    assert json.loads((tmp_path / "out.csv.json").read_text())["frames_written"] == 3


@pytest.mark.parametrize("sidecar", ['{"finished": tru', "[]", "[" * 100_000], ids=["cut-short", "a-list", "deep"])
def test_skip_done_runs_a_source_whose_sidecar_is_damaged(cli, model_path, write_clip, tmp_path, sidecar):
    """A sidecar cut short (a full disk, a copy stopped half-way) or another tool's file: not finished, no traceback
    (nor where a video, opened first, would take its 'finished' back)."""
    (tmp_path / "out.csv.json").write_text(sidecar)
    clip = write_clip(tmp_path / "c.avi", 1)
    outputs = "--csv", tmp_path / "out.csv", "--video", tmp_path / "out.mp4"
    rc, _, err = cli("track", clip, "--model", model_path, *outputs, "--skip-done")
    assert rc == 0 and "passed over" not in err, err
    assert json.loads((tmp_path / "out.csv.json").read_text())["finished"] is True


def test_skip_done_runs_again_for_an_output_another_run_wrote(cli, model_path, write_clip, tmp_path):
    """An output asked for now that exists but was no part of the finished run (another run's file by that name)."""
    clip = write_clip(tmp_path / "c.avi", 1)
    outputs = ("--model", model_path, "--csv", tmp_path / "out.csv")
    assert cli("track", clip, *outputs)[0] == 0
    (tmp_path / "people.json").write_text('[{"image_id": 99}]')  # someone else's
    rc, _, err = cli("track", clip, *outputs, "--coco-json", tmp_path / "people.json", "--skip-done")
    assert rc == 0 and "passed over" not in err, err
    assert json.loads((tmp_path / "people.json").read_text()) == []  # this run's: nobody found


def test_a_folder_emptied_once_opened_is_no_finished_run_for_skip_done(
    cli, model_path, tmp_path, images_lost_once_opened, assert_clean_error
):
    """A folder whose images went (a drive pulled) once it had opened delivers no frames: an error, whose CSV sidecar
    said "finished", so that the run again with --skip-done passed the folder over as done and exited 0."""
    import core.track_run

    folder = tmp_path / "frames"
    folder.mkdir()
    cv2.imwrite(str(folder / "a.png"), np.zeros((120, 160, 3), np.uint8))
    images_lost_once_opened(core.track_run, folder / "a.png")
    csv = tmp_path / "k.csv"
    rc, _, err = cli("track", folder, "--model", model_path, "--csv", csv)
    assert_clean_error(rc, err, "delivered no frames")
    assert json.loads((tmp_path / "k.csv.json").read_text())["finished"] is False
    rc, _, err = cli("track", folder, "--model", model_path, "--csv", csv, "--skip-done")
    assert "finished before" not in err and rc == 2
