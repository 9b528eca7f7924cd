"""What `wlitepose track` makes of its inputs: bad sources and models refused in one sentence, damaged sources read
as far as they go, a batch of sources each with its own outputs and its failures named."""

import itertools
import json
import re
import types
from pathlib import Path

import cv2
import numpy as np
import pytest

from core.errors import WLitePoseError
from core.pipeline import PosePipeline
from core.preprocess import letterbox_geometry
from core.sources.frames import Frame, FrameSource
from core.synthetic import paint, random_people


def test_a_matroska_files_guessed_frame_count_is_no_warning_and_not_in_the_sidecar(cli, model_path, tmp_path):
    """1,351 'frames its header counts' for 12: a damaged-file warning for a valid file, and a sidecar count that
    a completeness check (frames_written == frame_count) failed on."""
    mkv = Path(__file__).parent / "media" / "vfr_rate1000.mkv"
    rc, _, err = cli("track", mkv, "--model", model_path, "--size", 128, "--csv", tmp_path / "v.csv")
    assert rc == 0 and "ended after" not in err and "timed by its own time stamps" in err, err
    sidecar = json.loads((tmp_path / "v.csv.json").read_text())
    assert sidecar["frame_count"] is None and sidecar["frames_written"] == 12


def test_a_variable_rate_files_csv_rows_are_timed_by_its_own_stamps(cli, coco_metadata, painted_model, tmp_path):
    """The source times its frames by the file's stamps; the CSV's time_s must be those, not frame / fps."""
    box = letterbox_geometry((768, 576), 256)
    truth = random_people(np.random.default_rng(3), 2, 17, box.input_size, overlap=0.0)
    heatmaps, tags = paint(truth, np.array([0.0, 3.0], np.float32), box.input_size)
    model = painted_model(tmp_path / "m.onnx", heatmaps, tags, coco_metadata)  # people in every frame: rows
    mkv = Path(__file__).parent / "media" / "vfr_rate1000.mkv"
    rc, _, err = cli("track", mkv, "--model", model, "--csv", tmp_path / "v.csv")
    assert rc == 0, err
    times = {}
    for row in (tmp_path / "v.csv").read_text().splitlines()[1:]:
        frame, time_s = row.split(",")[:2]
        times[int(frame)] = float(time_s)
    gaps = [0.1, 0.2, 0.05] * 4
    assert sorted(times) == list(range(12))
    assert [times[n] for n in range(12)] == pytest.approx([sum(gaps[:i]) for i in range(12)], abs=1e-4)
    # its sidecar's fps (30: the header's 1000 is a time base) times none of them: it says to go by time_s
    assert json.loads((tmp_path / "v.csv.json").read_text())["frame_times_vary"] is True


def test_frames_never_analysed_are_listed_and_held_in_the_annotated_video(
    cli, model_path, tmp_path, grey_clip, damaged
):
    """Frames that could not be decoded had no rows in the CSV, as frames where nobody was found have, and the
    annotated video was as many frames short, everything after them early against the CSV's times."""
    clip = damaged(grey_clip(tmp_path / "d.avi", 10, frames=12, step=20), (0, 5, 6))  # the first too
    out = tmp_path / "out"
    rc, _, err = cli(
        "track", clip, "--model", model_path, "--threads", 1, "--csv", out / "d.csv", "--video", out / "d.avi"
    )
    assert rc == 0, err
    assert json.loads((out / "d.csv.json").read_text())["frames_not_analysed"] == [[0, 0], [5, 6]]
    capture, frames = cv2.VideoCapture(str(out / "d.avi")), []
    while (frame := capture.read())[0]:
        frames.append(frame[1])
    assert len(frames) == 12  # one a frame of the source, the damaged ones showing the picture before them
    assert np.array_equal(frames[5], frames[4]) and np.array_equal(frames[6], frames[4])
    assert np.array_equal(frames[0], frames[1]) and not np.array_equal(frames[7], frames[4])
    folder = tmp_path / "slow"  # a time-lapse folder at 0.1 fps: no frame was held for a picture not read
    folder.mkdir()
    for n in range(4):
        cv2.imwrite(str(folder / f"{n}.png"), np.full((24, 32, 3), 60 * n, np.uint8))
    (folder / "2.png").write_bytes(b"broken")
    rc, _, err = cli("track", folder, "--model", model_path, "--fps", 0.1, "--video", out / "slow.avi")
    capture = cv2.VideoCapture(str(out / "slow.avi"))
    assert rc == 0 and int(capture.get(cv2.CAP_PROP_FRAME_COUNT)) == 4, err


@pytest.mark.parametrize(
    "make_source, words",
    [
        (lambda d: d / "nothing.mp4", ["does not exist"]),
        (lambda d: "~no_such_user_wlp/clip.mp4", ["~no_such_user_wlp/clip.mp4 does not exist"]),  # not a traceback
        (lambda d: _touch(d / "empty.mp4", b""), ["empty"]),
        (lambda d: _touch(d / "corrupt.mp4", b"\x00\x00\x00\x18ftypmp42" + bytes(range(256)) * 40), ["not a readable"]),
        (lambda d: _touch(d / "notes.txt", b"hello, not a video\n" * 50), ["not a readable"]),
        (lambda d: _mkdir(d / "no_images"), ["no images"]),
        (lambda d: "9", ["no camera", "9"]),
    ],
)
def test_bad_sources(cli, model_path, tmp_path, make_source, words, assert_clean_error):
    rc, _, err = cli("track", make_source(tmp_path), "--model", model_path, "--csv", tmp_path / "o.csv")
    assert_clean_error(rc, err, *words)


@pytest.mark.parametrize(
    "make_model, words",
    [
        (lambda d, m: d / "absent.onnx", ["does not exist"]),
        (lambda d, m: "~no_such_user_wlp/m.onnx", ["~no_such_user_wlp/m.onnx does not exist"]),
        (lambda d, m: _touch(d / "empty.onnx", b""), ["empty"]),
        (lambda d, m: _touch(d / "text.onnx", b"this is not a protobuf at all" * 10), ["not an onnx model file"]),
        (lambda d, m: _strip_metadata(m, d / "bare.onnx"), ["an onnx model without wlitepose metadata"]),
        (lambda d, m: d, ["is a folder"]),
    ],
)
def test_bad_models(cli, model_path, video_path, tmp_path, make_model, words, assert_clean_error):
    rc, _, err = cli("track", video_path, "--model", make_model(tmp_path, model_path), "--max-frames", 1)
    assert_clean_error(rc, err, *words)


def test_an_unreadable_image_of_a_folder_is_passed_over_and_named(cli, model_path, tmp_path):
    folder = tmp_path / "frames"
    folder.mkdir()
    for name in ("img10.png", "IMG2.png", "img1.png"):
        cv2.imwrite(str(folder / name), np.full((64, 48, 3), 200, np.uint8))
    (folder / "img3.png").write_bytes(b"broken")
    cv2.imwrite(str(folder / "img4.png"), np.full((48, 64, 3), 200, np.uint8))  # landscape among portraits
    video = tmp_path / "k.mp4"
    rc, _, err = cli("track", folder, "--model", model_path, "--csv", tmp_path / "k.csv", "--video", video)
    assert rc == 0 and f"warning: skipped {folder / 'img3.png'}: it cannot be read as an image" in err
    assert "ended after" not in err  # a folder is not a file cut short
    assert "the images differ in size" in err
    cap = cv2.VideoCapture(str(video))
    frames = [cap.read()[1] for _ in range(5)]  # one a frame index: img3's shows the picture before it
    assert all(f.shape == (64, 48, 3) for f in frames)  # every frame in the first image's size
    assert np.array_equal(frames[2], frames[1])
    landscape = frames[3].mean(axis=(1, 2))  # img4, fitted: black bands above and below, not stretched to fill
    assert landscape[:10].max() < 30 and landscape[-10:].max() < 30 and landscape[32] > 150
    sidecar = json.loads((tmp_path / "k.csv.json").read_text())
    assert sidecar["frames_not_analysed"] == [[2, 2]]
    assert sidecar["frame_files"] == ["img1.png", "IMG2.png", "img3.png", "img4.png", "img10.png"]  # natural order
    assert sidecar["frames_written"] == 4 and sidecar["source"] == str(folder)


def test_a_video_cut_short_is_tracked_to_its_end_with_a_warning(cli, model_path, video_path, tmp_path):
    source = cv2.VideoCapture(str(video_path))
    frames = [source.read()[1] for _ in range(8)]
    source.release()
    whole = tmp_path / "whole.avi"
    writer = cv2.VideoWriter(str(whole), cv2.VideoWriter_fourcc(*"MJPG"), 10.0, (768, 576))
    for frame in frames:
        writer.write(frame)
    writer.release()
    cut = tmp_path / "cut.avi"
    cut.write_bytes(whole.read_bytes()[: whole.stat().st_size * 2 // 5])  # the index at the end is gone too
    rc, _, err = cli("track", cut, "--model", model_path, "--csv", tmp_path / "k.csv")
    assert rc == 0, err
    written = json.loads((tmp_path / "k.csv.json").read_text())["frames_written"]
    assert 0 < written < 8
    assert f"ended after {written} of the 8 frames its header counts" in err
    rc, _, err = cli("track", cut, "--model", model_path, "--max-frames", 6, "--csv", tmp_path / "k.csv")
    assert rc == 0, err  # the header's count is not the 6 asked for, as it was called
    assert f"ended after {written} of the 6 frames asked for (" in err and "; its header counts 8)" in err


def _touch(path, data: bytes):
    path.write_bytes(data)
    return path


def _mkdir(path):
    path.mkdir()
    return path


def _strip_metadata(model_path, out):
    onnx = pytest.importorskip("onnx")

    proto = onnx.load(str(model_path))
    del proto.metadata_props[:]
    onnx.save(proto, str(out))
    return out


def test_a_batch_gives_each_source_its_own_files_and_fresh_tracks(
    cli, coco_metadata, painted_model, write_clip, tmp_path, two_people
):
    model = two_people(painted_model, coco_metadata, tmp_path / "m.onnx")
    first = write_clip(tmp_path / "first.avi", 4)
    second = tmp_path / "second take.avi"
    second.write_bytes(first.read_bytes())
    out = tmp_path / "out"
    outputs = ("--csv", out / "{name}.csv", "--video", out / "{name}.mp4")
    rc, _, err = cli("track", first, second, "--model", model, *outputs)
    assert rc == 0, err
    assert f"[1/2] {first} (batch: " in err and f"[2/2] {second} (batch: " in err  # no earlier run to tell of
    assert "2 of 2 sources done, 8 frames" in err
    rows = {name: (out / f"{name}.csv").read_text() for name in ("first", "second take")}
    assert rows["first"] == rows["second take"]  # the same frames: the same rows, IDs from 1 again
    assert sorted({line.split(",")[2] for line in rows["first"].splitlines()[-2:]}) == ["1", "2"]
    assert json.loads((out / "second take.csv.json").read_text())["source"] == str(second)
    assert all((out / f"{name}.mp4").stat().st_size > 0 for name in rows)


def test_a_batch_summary_names_the_sources_it_warned_about(cli, model_path, write_clip, tmp_path):
    folder = tmp_path / "stills"
    folder.mkdir()
    cv2.imwrite(str(folder / "1.png"), np.zeros((48, 64, 3), np.uint8))
    (folder / "2.png").write_bytes(b"broken")
    good = write_clip(tmp_path / "good.avi", 2)
    rc, _, err = cli("track", folder, good, "--model", model_path, "--csv", tmp_path / "out" / "{name}.csv")
    assert rc == 0 and "2 of 2 sources done, 3 frames in" in err
    assert err.rstrip().endswith(f"; with warnings (above): {folder}")


def test_a_batch_reports_a_failed_source_and_finishes_the_others(cli, model_path, write_clip, tmp_path):
    broken = _touch(tmp_path / "broken.mp4", b"not a video" * 100)
    good = write_clip(tmp_path / "good.avi", 3)
    rc, _, err = cli("track", broken, good, "--model", model_path, "--csv", tmp_path / "out" / "{name}.csv")
    assert rc == 2
    assert "broken.mp4 is not a readable video" in err and "1 of 2 sources done" in err and "failed:" in err
    assert json.loads((tmp_path / "out" / "good.csv.json").read_text())["frames_written"] == 3
    assert "broken.mp4 is not a readable video (no frame was written for it)" in err  # it never opened
    assert not (tmp_path / "out" / "broken.csv").exists()


def _batch_lines(err: str) -> list[str]:
    """Each source's start line of a batch, its batch's time left (given at the rate measured) as h:mm:ss."""
    return [re.sub(r"about \d+:\d\d:\d\d", "about h:mm:ss", line) for line in err.splitlines() if "(batch: " in line]


def test_each_source_of_a_batch_says_the_batchs_frames_left_and_time_left(cli, model_path, write_clip, tmp_path):
    """A batch of 50 clips told only the present clip's ETA. --max-frames caps each count; a file that fails, and
    a stream (no length), count none once they are behind: the stream left the batch's end unknown until then."""
    from core.sources import frames_in

    first, second = write_clip(tmp_path / "first.avi", 4), write_clip(tmp_path / "second.avi", 5)
    broken, stream = _touch(tmp_path / "broken.mp4", b"not a video" * 100), "http://127.0.0.1:9/cam"
    sources = (first, broken, stream, second)
    rc, _, err = cli("track", *sources, "--model", model_path, "--max-frames", 3, "--csv", tmp_path / "{name}.csv")
    assert rc == 2 and _batch_lines(err) == [
        f"wlitepose: [1/4] {first} (batch: 6+ frames left, end unknown)",
        f"wlitepose: [2/4] {broken} (batch: 3+ frames left, end unknown)",
        f"wlitepose: [3/4] {stream} (batch: 3+ frames left, end unknown)",
        f"wlitepose: [4/4] {second} (batch: 3 frames left, about h:mm:ss)",
    ]
    assert (frames_in(str(broken)), frames_in(stream)) == (0, None)  # one that fails counts none, a stream unknown


def test_a_folder_that_cannot_be_listed_fails_alone_in_a_batch(cli, model_path, write_clip, tmp_path, monkeypatch):
    """A folder this user may not read (Permission denied) ended a batch before any source was tracked, in
    PermissionError's words, once the batch counted its frames; and the app's batch never finished."""
    first, second = write_clip(tmp_path / "first.avi", 2), write_clip(tmp_path / "second.avi", 2)
    locked = tmp_path / "locked"
    locked.mkdir()
    cv2.imwrite(str(locked / "a.png"), np.zeros((64, 64, 3), np.uint8))
    listing = Path.iterdir

    def iterdir(folder):
        if folder == locked:
            raise PermissionError(13, "Permission denied", str(folder))
        return listing(folder)

    monkeypatch.setattr(Path, "iterdir", iterdir)
    rc, _, err = cli("track", first, locked, second, "--model", model_path, "--csv", tmp_path / "{name}.csv")
    assert rc == 2 and f"cannot list the folder {locked} (Permission denied)" in err, err
    assert (tmp_path / "first.csv").is_file() and (tmp_path / "second.csv").is_file()


def test_a_batchs_frames_left_leave_out_the_sources_skip_done_passes_over(cli, model_path, write_clip, tmp_path):
    clips = [write_clip(tmp_path / f"{name}.avi", frames) for name, frames in (("a", 2), ("b", 3), ("c", 4))]
    csv = tmp_path / "out" / "{name}.csv"
    assert cli("track", clips[1], "--model", model_path, "--csv", csv)[0] == 0
    rc, _, err = cli("track", *clips, "--model", model_path, "--csv", csv, "--skip-done")
    assert rc == 0 and f"[2/3] {clips[1]}: finished before, passed over" in err
    assert _batch_lines(err) == [
        f"wlitepose: [1/3] {clips[0]} (batch: 6 frames left)",  # a's and c's; no rate before a frame
        f"wlitepose: [3/3] {clips[2]} (batch: 4 frames left, about h:mm:ss)",
    ]


def test_a_batchs_time_left_is_at_the_rate_of_the_sources_tracked_so_far(
    cli, model_path, write_clip, tmp_path, monkeypatch
):
    """Each source tracked in a second of a clock that moves a second each time it is read: 4 frames at 4 fps, the
    8 still to do take 2 s."""
    import core.track_run

    clock = itertools.count(1.0)
    monkeypatch.setattr(core.track_run, "time", types.SimpleNamespace(perf_counter=lambda: next(clock)))
    clips = [write_clip(tmp_path / f"{name}.avi", frames) for name, frames in (("a", 4), ("b", 8))]
    rc, _, err = cli("track", *clips, "--model", model_path, "--csv", tmp_path / "{name}.csv")
    assert rc == 0 and f"[2/2] {clips[1]} (batch: 8 frames left, about 0:00:02)\n" in err


def test_a_batchs_last_line_names_ten_failed_sources_and_counts_the_rest(cli, model_path, write_clip, tmp_path):
    """300 unreadable clips made a last line of 9,660 characters; each is named above as it fails."""
    broken = [_touch(tmp_path / f"broken{n:02d}.mp4", b"not a video" * 100) for n in range(12)]
    good = write_clip(tmp_path / "good.avi", 3)
    rc, _, err = cli("track", *broken, good, "--model", model_path, "--csv", tmp_path / "out" / "{name}.csv")
    last = err.rstrip().splitlines()[-1]
    assert rc == 2 and err.count("is not a readable video") >= 12
    assert last.startswith("wlitepose: 1 of 13 sources done") and last.endswith(f"{broken[9]} and 2 more"), last


@pytest.mark.parametrize(
    "sources, outputs, words",
    [
        (["a.avi", "b.avi"], ["--csv", "out.csv"], ["{name}", "several sources"]),
        (["a.avi", "sub/a.avi"], ["--csv", "{name}.csv"], ["both write", "a.csv"]),
        (["a.avi", "./a.avi"], ["--csv", "{name}.csv"], ["given twice"]),
        (["a.avi", "b.avi"], ["--video", "{name}.avi"], ["a file this run reads"]),
        (["a.avi", "missing.avi"], ["--csv", "out/{name}.csv"], ["missing.avi does not exist"]),
        (["a.avi", "b.avi"], ["--csv", "o/{name}.csv", "--coco-json", "o/{name}.csv.json"], ["share a path"]),
        (["a.avi", "b.avi"], ["--csv", "blocker/{name}.csv"], ["cannot write"]),
        (["a.avi", "0"], ["--csv", "{name}.csv"], ["--max-frames"]),
    ],
)
def test_a_batch_that_would_lose_data_is_refused_before_any_work(
    cli, model_path, write_clip, tmp_path, monkeypatch, sources, outputs, words, assert_clean_error
):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "sub").mkdir()
    (tmp_path / "blocker").write_text("a file where a folder should be")
    for name in ("a.avi", "b.avi", "sub/a.avi"):
        write_clip(tmp_path / name, 1)
    before = {p: p.read_bytes() for p in tmp_path.rglob("*.avi")}
    rc, _, err = cli("track", *sources, "--model", model_path, *outputs)
    assert_clean_error(rc, err, *words)
    assert {p: p.read_bytes() for p in tmp_path.rglob("*.avi")} == before
    assert not list(tmp_path.rglob("*.csv")) and "[1/2]" not in err


def test_an_image_folder_plays_at_the_frame_rate_given(cli, model_path, video_path, tmp_path, assert_clean_error):
    folder = tmp_path / "frames"
    folder.mkdir()
    for i in range(3):
        cv2.imwrite(str(folder / f"{i}.png"), np.zeros((64, 64, 3), np.uint8))
    rc, _, err = cli("track", folder, "--model", model_path, "--csv", tmp_path / "k.csv", "--fps", 10)
    assert rc == 0, err
    assert json.loads((tmp_path / "k.csv.json").read_text())["fps"] == 10.0 and "@ 10.0 fps" in err
    for bad, words in ((0, "above 0"), ("nan", "above 0"), (5000, "at most 1000")):
        rc, _, err = cli("track", folder, "--model", model_path, "--fps", bad)
        assert_clean_error(rc, err, "--fps", words)
    rc, _, err = cli("track", video_path, "--model", model_path, "--fps", 10)
    assert_clean_error(rc, err, "--fps sets the frame rate of image folders")
    # a time-lapse slower than a video file can hold: refused before the CSV an earlier run wrote is replaced
    rc, _, err = cli(
        "track",
        folder,
        "--model",
        model_path,
        "--fps",
        0.001,
        "--csv",
        tmp_path / "k.csv",
        "--video",
        tmp_path / "k.mp4",
    )
    assert_clean_error(rc, err, "cannot write video", "0.001 fps", "0.01 to 65535")
    assert json.loads((tmp_path / "k.csv.json").read_text())["fps"] == 10.0 and not (tmp_path / "k.mp4").exists()


def test_a_batch_of_streams_never_prints_their_passwords(cli, model_path, tmp_path):
    urls = [f"http://user:secret@127.0.0.1:9/{name}" for name in ("a", "b")]  # nothing listens on port 9
    rc, _, err = cli("track", *urls, "--model", model_path, "--max-frames", "1", "--csv", tmp_path / "{name}.csv")
    assert rc == 2 and "secret" not in err and err.count("[") >= 2 and "failed:" in err, err


def test_a_batch_source_that_fails_mid_run_is_named_with_the_frames_its_outputs_hold(
    cli, model_path, write_clip, tmp_path, monkeypatch
):
    """The summary counts the frames of the sources done; the failed one's error says what its outputs hold."""
    process = PosePipeline.process
    calls = itertools.count()

    def fails_on_the_fifth(self, *args, **kwargs):
        if next(calls) == 4:  # the second frame of the second source
            raise WLitePoseError("the network failed on this frame")
        return process(self, *args, **kwargs)

    monkeypatch.setattr(PosePipeline, "process", fails_on_the_fifth)
    first, second, third = (write_clip(tmp_path / f"{name}.avi", 3) for name in ("first", "second", "third"))
    out = tmp_path / "out"
    rc, _, err = cli("track", first, second, third, "--model", model_path, "--csv", out / "{name}.csv")
    assert rc == 2
    assert "network failed on this frame (its outputs hold the 1 frame before the error)" in err
    assert "2 of 3 sources done, 6 frames in" in err and err.rstrip().endswith(f"; failed: {second}")
    assert [
        json.loads((out / f"{name}.csv.json").read_text())["frames_written"] for name in ("first", "second", "third")
    ] == [3, 1, 3]


def test_max_frames_stops_each_source_of_a_batch_at_that_many_frames(cli, model_path, write_clip, tmp_path):
    clips = [write_clip(tmp_path / f"{name}.avi", 4) for name in ("a", "b")]
    out = tmp_path / "out"
    rc, _, err = cli("track", *clips, "--model", model_path, "--max-frames", 2, "--csv", out / "{name}.csv")
    assert rc == 0 and "2 of 2 sources done, 4 frames in" in err
    assert [json.loads((out / f"{name}.csv.json").read_text())["frames_written"] for name in "ab"] == [2, 2]


class BusyStream(FrameSource):
    """A stream whose every other frame came while the pipeline was busy: ``frames`` handed on, as many skipped."""

    is_live = True

    def __init__(self, spec: str, frames: int) -> None:
        self.spec, self.size, self.fps, self.frame_count = spec, (160, 120), 10.0, None
        self.skipped, self._frames = 0, frames

    def __iter__(self):
        for n in range(self._frames):
            self.skipped = n + 1
            yield Frame(2 * n + 1, n / 10, np.zeros((120, 160, 3), np.uint8))


def test_a_stream_that_outran_the_pipeline_counts_the_frames_it_sent_skipped_ones_included(
    cli, model_path, tmp_path, monkeypatch
):
    import core.track_run

    monkeypatch.setattr(core.track_run, "open_source", lambda spec, fps: BusyStream(spec, 3))
    rc, _, err = cli("track", "rtsp://camera/live", "--model", model_path, "--csv", tmp_path / "k.csv")
    assert rc == 0, err
    assert "3 of the 6 frames the source sent came while the pipeline was busy and were skipped" in err


def test_a_source_that_delivers_no_frames_is_an_error(cli, model_path, tmp_path, monkeypatch, assert_clean_error):
    import core.track_run

    monkeypatch.setattr(core.track_run, "open_source", lambda spec, fps: BusyStream(spec, 0))
    rc, _, err = cli("track", "rtsp://camera/live", "--model", model_path, "--csv", tmp_path / "k.csv")
    assert_clean_error(rc, err, "source rtsp://camera/live delivered no frames")
