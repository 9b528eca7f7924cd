"""A run killed with SIGTERM mid-way (like Ctrl-C) leaves every output valid for the frames done."""

import json
import os
import pickle
import signal
import subprocess
import sys
import time
from pathlib import Path

import cv2
import pytest

from core.stop_request import StopRequest

ROOT = Path(__file__).resolve().parents[2]
# main.main with only core's subcommands, so the test does not depend on other packages' CLIs
RUNNER = "import sys, main; main.COMMANDS = {'track': main.COMMANDS['track']}; sys.exit(main.main(sys.argv[1:]))"


def test_sigterm_leaves_valid_outputs(model_path, video_path, tmp_path):
    out = tmp_path / "out"
    argv = [
        "track", str(video_path), "--model", str(model_path), "--threads", "1",
        "--csv", str(out / "k.csv"), "--coco-json", str(out / "k.json"), "--openpose-dir", str(out / "op"),
        "--posec3d", str(out / "k.pkl"), "--video", str(out / "k.mp4"), "--coco-dataset", str(out / "d.json"),
    ]  # fmt: skip
    proc = subprocess.Popen([sys.executable, "-c", RUNNER, *argv], cwd=ROOT, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and len(list((out / "op").glob("*.json"))) < 30:
        time.sleep(0.05)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 128 + signal.SIGTERM, err  # 143: a wrapper tells a kill from Ctrl-C (130)
    assert "Traceback" not in err
    assert "wlitepose: interrupted; outputs written so far are complete up to the last frame\n" in err
    frames = json.loads((out / "k.csv.json").read_text())["frames_written"]
    assert 30 <= frames < 795
    assert isinstance(json.loads((out / "k.json").read_text()), list)
    assert len(json.loads((out / "d.json").read_text())["images"]) == frames
    assert len(list((out / "op").glob("*.json"))) == frames
    with open(out / "k.pkl", "rb") as f:
        assert pickle.load(f)[0]["total_frames"] == frames
    cap = cv2.VideoCapture(str(out / "k.mp4"))
    assert int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) == frames


def test_sigterm_mid_batch_names_the_sources_not_started(model_path, video_path, tmp_path):
    out = tmp_path / "out"
    clip = ROOT / "assets" / "samples" / "vtest_clip.mp4"
    argv = ["track", str(video_path), str(clip), "--model", str(model_path), "--threads", "1"]
    argv += ["--csv", str(out / "{name}.csv"), "--openpose-dir", str(out / "{name}_op")]
    proc = subprocess.Popen([sys.executable, "-c", RUNNER, *argv], cwd=ROOT, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60  # one OpenPose file a frame: progress whether or not people are found
    while time.monotonic() < deadline and len(list((out / "vtest_op").glob("*.json"))) < 20:
        time.sleep(0.05)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 128 + signal.SIGTERM, err  # 143: a wrapper tells a kill from Ctrl-C (130)
    assert f"stopped during {video_path}; not started: {clip}" in err and "Traceback" not in err
    assert json.loads((out / "vtest.csv.json").read_text())["frames_written"] > 0
    assert not (out / "vtest_clip.csv").exists()


@pytest.mark.skipif(os.name == "nt", reason="SIGKILL is POSIX")
def test_a_run_killed_as_it_replaced_a_finished_runs_video_leaves_no_finished_sidecar(
    model_path, grey_clip, tmp_path, capsys
):
    """kill -9 (or a power cut) of a run again over a finished run's outputs, just after its video (opened first) was
    replaced and before its CSV's sidecar was: the earlier sidecar still said finished beside an empty video, and
    --skip-done passed the source over, the video left broken."""
    import main

    clip = grey_clip(tmp_path / "clip.avi", 10, frames=4)
    argv = ["track", str(clip), "--model", str(model_path), "--csv", str(tmp_path / "k.csv")]
    argv += ["--video", str(tmp_path / "k.mp4")]
    assert main.main(argv) == 0  # in this process: only the killed run needs one of its own
    killed = (
        "import os, signal; from core.sinks.video import VideoSink; opened = VideoSink.__init__; "
        "VideoSink.__init__ = lambda self, *a: (opened(self, *a), os.kill(os.getpid(), signal.SIGKILL)); "
    )
    proc = subprocess.run([sys.executable, "-c", killed + RUNNER, *argv], cwd=ROOT, capture_output=True)
    assert proc.returncode == -signal.SIGKILL and not cv2.VideoCapture(str(tmp_path / "k.mp4")).isOpened()
    assert json.loads((tmp_path / "k.csv.json").read_text())["finished"] is False
    capsys.readouterr()
    assert main.main([*argv, "--skip-done"]) == 0
    err = capsys.readouterr().err
    assert "passed over" not in err, err
    assert int(cv2.VideoCapture(str(tmp_path / "k.mp4")).get(cv2.CAP_PROP_FRAME_COUNT)) == 4


@pytest.mark.skipif(not hasattr(signal, "SIGHUP"), reason="SIGHUP is POSIX")
def test_a_closed_terminal_stops_a_run_as_ctrl_c_does():
    before = signal.getsignal(signal.SIGHUP)
    with StopRequest() as stop:
        os.kill(os.getpid(), signal.SIGHUP)  # what an SSH session's end sends a run started without nohup
        deadline = time.monotonic() + 5
        while not stop.requested and time.monotonic() < deadline:
            time.sleep(0.01)
        assert stop.requested
    assert signal.getsignal(signal.SIGHUP) == before


@pytest.mark.skipif(not hasattr(signal, "SIGHUP"), reason="SIGHUP is POSIX")
def test_a_run_started_under_nohup_goes_on_when_the_terminal_closes():
    """`nohup wlitepose track ...` starts the run ignoring SIGHUP: its handler took the signal back, and the
    terminal closing stopped the very run nohup was to keep going (exit 129)."""
    before = signal.signal(signal.SIGHUP, signal.SIG_IGN)  # as nohup leaves it
    try:
        with StopRequest() as stop:
            assert signal.getsignal(signal.SIGHUP) is signal.SIG_IGN
            os.kill(os.getpid(), signal.SIGHUP)
            assert not stop.requested
        assert signal.getsignal(signal.SIGHUP) is signal.SIG_IGN
    finally:
        signal.signal(signal.SIGHUP, before)


def test_a_write_that_fails_after_ctrl_c_is_still_an_error(model_path, tmp_path, monkeypatch, capsys):
    """Only a stream's opening is cut short by Ctrl-C: a full disk on the frame being finished was said as
    'interrupted; outputs ... complete' (exit 130)."""
    import core.track_run
    import main
    from core.sinks.csv_sink import CsvSink

    stops, written = [], []

    class Recorded(StopRequest):
        def __enter__(self):
            stops.append(self)
            return super().__enter__()

    def full_disk(self, *args, **kwargs):
        written.append(1)
        if len(written) == 3:
            stops[0].requested = True  # Ctrl-C arrives during the frame whose write then fails
            raise OSError(28, "No space left on device")

    monkeypatch.setattr(core.track_run, "StopRequest", Recorded)
    monkeypatch.setattr(CsvSink, "write", full_disk)
    argv = [
        "track",
        str(Path(main.__file__).parent / "assets" / "samples" / "vtest_clip.mp4"),
        "--model",
        str(model_path),
    ]
    assert main.main([*argv, "--csv", str(tmp_path / "k.csv"), "--max-frames", "10"]) == 2
    err = capsys.readouterr().err
    assert "No space left on device" in err and "interrupted" not in err


def test_a_run_stopped_mid_file_is_no_warning_of_a_damaged_file(model_path, tmp_path, monkeypatch, capsys):
    """Ctrl-C after a few frames: the file did not end early, the user stopped it."""
    import core.track_run
    import main
    from core.sinks.csv_sink import CsvSink

    stops, written, write = [], [], CsvSink.write

    class Recorded(StopRequest):
        def __enter__(self):
            stops.append(self)
            return super().__enter__()

    def stopping(self, *args, **kwargs):
        written.append(1)
        if len(written) == 3:
            stops[0].requested = True  # Ctrl-C during the third frame
        return write(self, *args, **kwargs)

    monkeypatch.setattr(core.track_run, "StopRequest", Recorded)
    monkeypatch.setattr(CsvSink, "write", stopping)
    clip = Path(main.__file__).parent / "assets" / "samples" / "vtest_clip.mp4"
    assert main.main(["track", str(clip), "--model", str(model_path), "--csv", str(tmp_path / "k.csv")]) == 130
    err = capsys.readouterr().err
    assert "interrupted" in err and "warning" not in err, err
    assert json.loads((tmp_path / "k.csv.json").read_text())["frames_written"] == 3


def test_a_second_signal_while_the_outputs_close_still_closes_the_others_and_says_so(
    model_path, video_path, tmp_path, monkeypatch, capsys
):
    """Ctrl-C twice: the second, during the closing, left the CSV's sidecar at 0 frames and the video unfinished
    (the sinks after the one it cut short never closed) while the run said its outputs were complete."""
    import main
    from core.sinks.posec3d import PoseC3DSink

    real_write, real_close = PoseC3DSink.write, PoseC3DSink.close

    def write(self, frame_index, *args, **kwargs):
        real_write(self, frame_index, *args, **kwargs)
        if frame_index == 5:
            os.kill(os.getpid(), signal.SIGINT)  # Ctrl-C: the run stops after this frame

    def close(self):
        os.kill(os.getpid(), signal.SIGINT)  # and again while the outputs close: the PoseC3D file's is cut short
        real_close(self)

    monkeypatch.setattr(PoseC3DSink, "write", write)
    monkeypatch.setattr(PoseC3DSink, "close", close)
    out = tmp_path / "out"
    argv = ["track", str(video_path), "--model", str(model_path), "--threads", "1", "--csv", str(out / "k.csv")]
    argv += ["--video", str(out / "k.avi"), "--posec3d", str(out / "k.pkl")]
    assert main.main(argv) == 130
    err = capsys.readouterr().err
    assert "interrupted at once by a second signal: the outputs hold what was written, and may end a frame" in err
    assert "complete up to the last frame" not in err
    assert json.loads((out / "k.csv.json").read_text())["frames_written"] == 6
    assert int(cv2.VideoCapture(str(out / "k.avi")).get(cv2.CAP_PROP_FRAME_COUNT)) == 6


def test_a_console_that_goes_leaves_the_batch_running(model_path, grey_clip, tmp_path):
    """`track c1 c2 c3 ... 2>&1 | head -n 2`, or a terminal closed while a run went on: the first message after
    it was a traceback (BrokenPipeError, EIO), exit 1, and the batch's other sources never started."""
    clips = [str(grey_clip(tmp_path / f"{name}.avi", 10.0, frames=5)) for name in ("c1", "c2")]
    argv = ["track", *clips, "--model", str(model_path)]
    argv += ["--csv", str(tmp_path / "out" / "{name}.csv")]
    env = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}  # buffered, as a user's Python is
    proc = subprocess.Popen([sys.executable, "-c", RUNNER, *argv], cwd=ROOT, stderr=subprocess.PIPE, env=env)
    proc.stderr.close()  # the reader gone before the first message
    assert proc.wait(timeout=120) == 0
    for name in ("c1", "c2"):
        assert json.loads((tmp_path / "out" / f"{name}.csv.json").read_text())["frames_written"] == 5


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="/dev/full, a device every write to fails, is Linux's")
def test_results_lost_to_a_full_disk_under_the_standard_output_are_an_error(model_path, shared_data, tmp_path):
    """`wlitepose eval ... > results.txt` on a full disk: the AP line was dropped as if its reader had gone, exit 0."""
    data = json.loads((shared_data / "val" / "annotations.json").read_text())
    data["images"] = data["images"][:1]
    data["annotations"] = [a for a in data["annotations"] if a["image_id"] == data["images"][0]["id"]]
    (tmp_path / "one.json").write_text(json.dumps(data))
    argv = ["eval", "--model", str(model_path), "--annotations", str(tmp_path / "one.json")]
    argv += ["--images", str(shared_data / "val" / "images"), "--size", "64"]
    runner = RUNNER.replace("'track': main.COMMANDS['track']", "'eval': main.COMMANDS['eval']")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}  # the AP line held until the end
    with open("/dev/full", "w") as full:
        proc = subprocess.run(
            [sys.executable, "-c", runner, *argv], cwd=ROOT, stdout=full, stderr=subprocess.PIPE, env=env, timeout=120
        )
    assert proc.returncode == 2
    assert proc.stderr == b"wlitepose: error: cannot write the standard output: No space left on device\n"


def test_a_reader_that_stops_reading_the_standard_output_is_no_lost_result():
    """`wlitepose eval ... | head -n 1`: the reader's leaving (EPIPE) is its choice, not results lost to a full disk;
    said as lost, the run exited 2 with 'cannot write the standard output: Broken pipe'."""
    import main

    read, write = os.pipe()
    os.close(read)  # the reader gone before the results
    with open(write, "w") as pipe:
        console = main._Console(pipe)
        console.write("AP 0.034\n")
        console.flush()
    assert console.lost == ""


@pytest.mark.skipif(os.name == "nt", reason="a closed standard descriptor is a POSIX shell's 2>&-")
def test_a_run_started_with_its_console_closed_writes_its_outputs(model_path, grey_clip, tmp_path):
    """`wlitepose track ... 2>&-`: its first message stopped the run (EBADF), and the first file it opened took the
    closed descriptor's number, where anything a library wrote to the console would land."""
    clip = grey_clip(tmp_path / "c1.avi", 10.0, frames=5)
    argv = ["track", str(clip), "--model", str(model_path), "--csv", str(tmp_path / "k.csv")]
    proc = subprocess.run(
        [sys.executable, "-c", RUNNER, *argv], cwd=ROOT, stdout=subprocess.DEVNULL, preexec_fn=lambda: os.close(2)
    )
    assert proc.returncode == 0
    assert json.loads((tmp_path / "k.csv.json").read_text())["frames_written"] == 5


def test_ctrl_c_before_the_command_starts_is_said_without_a_traceback(monkeypatch, capsys):
    """Ctrl-C in the first half second, while the subcommands' modules load, printed a traceback."""
    import main

    def interrupted():
        raise KeyboardInterrupt

    monkeypatch.setattr(main, "build_parser", interrupted)
    try:
        assert main.main(["track", "clip.mp4"]) == 128 + signal.SIGINT
    except KeyboardInterrupt:  # the fault itself: said as a failure, not as pytest's own stop
        pytest.fail("Ctrl-C before the command escaped main")
    assert capsys.readouterr().err == "wlitepose: interrupted\n"


@pytest.mark.parametrize("during", ["modules", "checks", "model"])
def test_ctrl_c_while_track_loads_says_nothing_was_written(
    during, model_path, video_path, tmp_path, monkeypatch, capsys
):
    """Ctrl-C in a run's first seconds (its modules loading, its checks, the model loading) said 'outputs written so
    far are complete up to the last frame' where no output, nor any frame, was written."""
    import main

    class Interrupting:  # as Python raises Ctrl-C before the run's own handler takes over
        def find_spec(self, name, path=None, target=None):
            if name == "core.track_run":
                raise KeyboardInterrupt

    def loading(*args, **kwargs):
        raise KeyboardInterrupt

    if during == "modules":
        monkeypatch.delitem(sys.modules, "core.track_run")
        monkeypatch.setattr(sys, "meta_path", [Interrupting(), *sys.meta_path])
    else:  # its sources' names expanded (a big wildcard, a slow network folder), or the model
        monkeypatch.setattr(
            "core.track_run.expand_wildcards" if during == "checks" else "core.track_run.PoseModel", loading
        )
    argv = ["track", str(video_path), "--model", str(model_path), "--csv", str(tmp_path / "k.csv")]
    assert main.main(argv) == 128 + signal.SIGINT
    assert capsys.readouterr().err == "wlitepose: interrupted before tracking began: no output was written\n"
    assert not list(tmp_path.iterdir())  # as said


def test_ctrl_c_ignored_or_handled_by_the_caller_is_left_so(monkeypatch, capsys):
    """A shell script's background job starts with Ctrl-C ignored, so that a Ctrl-C meant for the script leaves the
    run going; a program calling main may handle Ctrl-C itself: main takes Ctrl-C over only from Python's own, and
    gives that back when it returns."""
    import main

    def own_handler(signum, frame):
        pass

    seen = []

    def command():
        seen.append(signal.getsignal(signal.SIGINT))  # as the command runs
        raise KeyboardInterrupt

    monkeypatch.setattr(main, "build_parser", command)
    for handler in (signal.SIG_IGN, own_handler, signal.default_int_handler):
        before = signal.signal(signal.SIGINT, handler)
        try:
            assert main.main(["track", "clip.mp4"]) == 128 + signal.SIGINT
            assert signal.getsignal(signal.SIGINT) is handler
        finally:
            signal.signal(signal.SIGINT, before)
    assert seen == [signal.SIG_IGN, own_handler, main._interrupt]


@pytest.mark.skipif(os.name == "nt", reason="a signal to its own process is POSIX's")
@pytest.mark.parametrize("module", ["numpy.exceptions", "cv2"])  # the first inside numpy's extension's start
def test_ctrl_c_pressed_again_while_the_modules_load_is_one_interruption(module, tmp_path):
    """A second Ctrl-C at startup, once the first was on its way to 'interrupted', was raised again in Python's exit:
    'Exception ignored in atexit callback' and a traceback after the sentence. It ends the process now, as the
    system ends a program on Ctrl-C. Here the first comes as ``module`` is imported and the second as the process
    ends."""
    (tmp_path / "sitecustomize.py").write_text(
        "import atexit, os, signal, sys\n"
        "class Hook:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        f"        if name == {module!r}:\n"
        "            sys.meta_path.remove(self)\n"
        "            atexit.register(os.kill, os.getpid(), signal.SIGINT)\n"
        "            os.kill(os.getpid(), signal.SIGINT)\n"
        "sys.meta_path.insert(0, Hook())\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", RUNNER, "track", str(tmp_path / "clip.mp4"), "--csv", str(tmp_path / "k.csv")],
        cwd=ROOT, env={**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), str(ROOT)])},
        capture_output=True, text=True, timeout=60, preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )  # fmt: skip
    assert proc.returncode == -signal.SIGINT, proc.stderr  # ended by the second, as a shell's Ctrl-C ends a program
    assert proc.stderr.startswith("wlitepose: interrupted") and proc.stderr.count("\n") == 1, proc.stderr


@pytest.mark.skipif(os.name == "nt", reason="a file size limit is POSIX's")
def test_a_full_disk_at_the_start_leaves_the_earlier_outputs_whole(model_path, grey_clip, tmp_path):
    """An empty probe file still fits on a full disk: the video opened first (deleting the earlier run's) and the
    run was refused only at its COCO JSON. A file size limit stands for the full disk here."""
    import resource

    clip = grey_clip(tmp_path / "c1.avi", 10.0, frames=5)
    argv = ["track", str(clip), "--model", str(model_path), "--threads", "1"]
    argv += ["--video", str(tmp_path / "a.avi"), "--csv", str(tmp_path / "a.csv")]
    subprocess.run([sys.executable, "-c", RUNNER, *argv], cwd=ROOT, check=True, capture_output=True)
    before = {name: (tmp_path / name).read_bytes() for name in ("a.avi", "a.csv", "a.csv.json")}

    def full_disk():
        resource.setrlimit(resource.RLIMIT_FSIZE, (2048, 2048))

    argv += ["--coco-json", str(tmp_path / "a.json")]
    proc = subprocess.run(
        [sys.executable, "-c", RUNNER, *argv], cwd=ROOT, capture_output=True, text=True, preexec_fn=full_disk
    )
    assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr
    assert {name: (tmp_path / name).read_bytes() for name in before} == before
    assert not list(tmp_path.glob(".wlitepose_write_test_*"))  # the probe that did not fit is gone too


def test_an_output_folder_removed_mid_run_stops_the_run_at_the_next_sidecar(
    model_path, grey_clip, tmp_path, monkeypatch, capsys
):
    """The sidecar's rewrites ignored every error: a run whose folder was removed (or moved) went on to its end,
    writing into deleted files, and was refused only then."""
    import shutil

    import core.sinks.csv_sink
    import main
    from core.sinks.csv_sink import CsvSink

    monkeypatch.setattr(core.sinks.csv_sink, "FIRST_SIDECAR_S", 0.0)  # the sidecar rewritten after (nearly) every frame
    monkeypatch.setattr(core.sinks.csv_sink, "SIDECAR_EVERY_S", 0.0)
    monkeypatch.setattr(core.sinks.csv_sink, "SIDECAR_SPACING", 0.0)  # a rewrite slowed by a busy disk: no longer
    real, written = CsvSink.write, []

    def write(self, frame_index, *args, **kwargs):
        real(self, frame_index, *args, **kwargs)
        written.append(frame_index)
        if frame_index == 2:
            shutil.rmtree(tmp_path / "out")

    monkeypatch.setattr(CsvSink, "write", write)
    clip = grey_clip(tmp_path / "c1.avi", 10.0, frames=30)
    argv = ["track", str(clip), "--model", str(model_path), "--csv", str(tmp_path / "out" / "a.csv")]
    assert main.main(argv) == 2
    assert "No such file or directory" in capsys.readouterr().err
    assert len(written) < 15  # of 30


def test_a_sidecar_in_a_folder_that_takes_no_new_files_is_rewritten_in_place(tmp_path, monkeypatch):
    """A folder made read-only mid-run (its files still writable): the sidecar kept the count of its first rewrite."""
    import errno

    import core.sinks.base
    from core.sinks.base import rewrite_small

    path = tmp_path / "a.csv.json"
    path.write_text('{"frames_written": 18}')

    def refused(target, data):
        raise PermissionError(errno.EPERM, "Operation not permitted")

    monkeypatch.setattr(core.sinks.base, "atomic_write", refused)
    rewrite_small(path, b'{"frames_written": 200}')
    assert path.read_text() == '{"frames_written": 200}'
    rewrite_small(path, b'{"frames_written": 9}')  # shorter (a settings change replaced): nothing of the old left
    assert path.read_text() == '{"frames_written": 9}'


@pytest.mark.skipif(os.name == "nt", reason="Windows never removes a process's current folder")
def test_a_current_folder_removed_under_the_shell_is_one_sentence(tmp_path):
    """`mkdir d; cd d; rmdir ../d` (another terminal's cleanup), then a run: a FileNotFoundError traceback from
    wherever the folder was first asked for (the app's folder box, a source's name, a relative output)."""
    gone = tmp_path / "gone"
    gone.mkdir()
    proc = subprocess.run(
        [sys.executable, "-c", RUNNER, "track", str(ROOT / "assets" / "samples" / "vtest_clip.mp4"), "--csv", "a.csv"],
        cwd=gone, env={**os.environ, "PYTHONPATH": str(ROOT)}, preexec_fn=lambda: os.rmdir(os.getcwd()),
        capture_output=True, text=True,
    )  # fmt: skip
    assert proc.returncode == 2
    assert proc.stderr == "wlitepose: error: the current folder no longer exists; cd into an existing one\n"


@pytest.mark.skipif(os.name == "nt", reason="Windows names files in UTF-16 whatever the locale")
def test_video_names_reach_the_files_they_name_under_a_locale_of_another_encoding(model_path, grey_clip, tmp_path):
    """OpenCV takes the UTF-8 of the text it is given: under a locale of another encoding a UTF-8 name on disk
    was refused as 'not valid UTF-8', and an output named in that encoding was written under another name."""
    clip = grey_clip(tmp_path / "vidéo.avi", 10.0, frames=3)
    argv = ["track", str(clip), "--model", str(model_path), "--video", str(tmp_path / "annotée.avi")]
    env = {**os.environ, "LC_ALL": "C", "PYTHONUTF8": "0", "PYTHONCOERCECLOCALE": "0", "PYTHONPATH": str(ROOT)}
    proc = subprocess.run([sys.executable, "-c", RUNNER, *argv], cwd=ROOT, env=env, capture_output=True)
    assert proc.returncode == 0, proc.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["annotée.avi", "vidéo.avi"]
    assert int(cv2.VideoCapture(str(tmp_path / "annotée.avi")).get(cv2.CAP_PROP_FRAME_COUNT)) == 3


@pytest.mark.skipif(os.name == "nt", reason="a closed standard descriptor is a POSIX shell's 2>&-")
def test_a_descriptor_closed_at_start_is_never_an_output_files_number():
    """A run started with 2>&- had its first output file take descriptor 2, where anything a library writes to the
    console (FFmpeg, ONNX Runtime) would land."""
    code = "import os, main; main._fill_closed_descriptors(); print(os.open(os.devnull, os.O_RDONLY))"
    proc = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, preexec_fn=lambda: os.close(2)
    )
    assert int(proc.stdout) > 2


def test_an_os_error_no_command_words_is_one_sentence(monkeypatch, capsys):
    """A full disk under a library's own write (torch's, pycocotools') reached the user as a traceback."""
    import core.cli
    import main

    def unworded(command, args):
        raise OSError(28, "No space left on device", "x.csv")

    monkeypatch.setattr(core.cli, "run", unworded)
    assert main.main(["track", str(ROOT / "assets" / "samples" / "vtest_clip.mp4")]) == 2
    assert capsys.readouterr().err == "wlitepose: error: cannot use x.csv: No space left on device\n"


def test_a_command_stopped_at_once_leaves_a_second_signal_to_the_systems_default_action():
    """export, eval, info, shrink-data: a clean-up that hangs after the first signal cannot hold the process, in the
    command or in Python's exit after it."""
    import signal

    from core.errors import Stopped
    from core.stop_request import StopAtOnce

    def mine(signum, frame):
        pass

    # a handler of the caller's own, so that one put back as it was found is not the system's default
    before = signal.signal(signal.SIGTERM, mine), signal.getsignal(signal.SIGINT)
    try:
        with pytest.raises(Stopped), StopAtOnce():
            signal.raise_signal(signal.SIGTERM)
        assert signal.getsignal(signal.SIGTERM) is signal.getsignal(signal.SIGINT) is signal.SIG_DFL

        signal.signal(signal.SIGTERM, mine)
        with StopAtOnce():
            assert signal.getsignal(signal.SIGTERM) is not mine
        assert signal.getsignal(signal.SIGTERM) is mine  # put back as it was found
    finally:
        signal.signal(signal.SIGTERM, before[0])
        signal.signal(signal.SIGINT, before[1])
