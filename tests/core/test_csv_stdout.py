"""`wlitepose track --csv -`: the CSV's bytes streamed to the standard output, its reader leaving or its disk full,
and the outputs that cannot go there refused."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import main
from core.cli import SAMPLE_CLIP

# main.main with only core's subcommands, in a fresh Python whose standard streams a test chooses
TRACK = "import sys, main; main.COMMANDS = {'track': main.COMMANDS['track']}; sys.exit(main.main(sys.argv[1:]))"


def _track_process(cwd: Path, *argv, **streams) -> subprocess.Popen:
    """`wlitepose track ARGV` started in ``cwd``, its standard streams as ``streams`` give them."""
    env = {**os.environ, "PYTHONPATH": str(Path(main.__file__).resolve().parent)}
    return subprocess.Popen([sys.executable, "-c", TRACK, "track", *map(str, argv)], cwd=cwd, env=env, **streams)


def test_csv_dash_streams_the_csv_files_bytes_to_the_standard_output(
    cli, coco_metadata, painted_model, video_path, tmp_path, monkeypatch, two_people
):
    """`track clip --csv - | script`: it wrote a file named - and its sidecar -.json, and nothing to the pipe."""
    monkeypatch.chdir(tmp_path)
    model = two_people(painted_model, coco_metadata, tmp_path / "m.onnx")
    track = ("track", video_path, "--model", model, "--max-frames", 3)
    rc, out, err = cli(*track, "--csv", "-")
    assert rc == 0 and "wlitepose: wrote the CSV on the standard output\n" in err, err
    assert [path.name for path in tmp_path.iterdir()] == ["m.onnx"]  # no sidecar, no lock
    rc, _, err = cli(*track, "--csv", "./-")  # a file named -, as Unix tools take ./-
    assert rc == 0, err
    assert out.encode() == (tmp_path / "-").read_bytes() and out.count("\n") == 1 + 3 * 2


@pytest.mark.parametrize("people", [2, 0])
def test_a_reader_that_leaves_ends_a_csv_dash_run_quietly(
    coco_metadata, painted_model, model_path, video_path, tmp_path, people, two_people
):
    """`track clip --csv - | head -5`: the run stops once its reader has left, as a pipe's writer does: exit 0, no
    traceback, its other outputs closed whole and said to end there. With nobody in view (the untrained model finds
    no one) no row is written that would find the reader gone: the run went on to its end."""
    model = two_people(painted_model, coco_metadata, tmp_path / "m.onnx") if people else model_path
    argv = (video_path, "--model", model, "--max-frames", 100, "--csv", "-", "--coco-dataset", tmp_path / "d.json")
    with _track_process(tmp_path, *argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE) as run:
        header = run.stdout.readline()
        run.stdout.close()
        err = run.stderr.read().decode()
    assert header.startswith(b"frame,time_s,track_id,score,")
    assert run.returncode == 0 and "Traceback" not in err and "wrote" not in err, err
    assert f"the CSV's reader left: {tmp_path / 'd.json'} end at that frame" in err
    assert len(json.loads((tmp_path / "d.json").read_text())["images"]) < 100  # not the whole run: it stopped
    assert not (tmp_path / "-").exists()


@pytest.mark.skipif(os.name == "nt", reason="a pseudo-terminal is POSIX's")
def test_csv_dash_on_a_terminal_draws_no_progress_bar_amid_its_rows(
    coco_metadata, painted_model, video_path, tmp_path, read_screen, two_people
):
    """`track clip --csv -` typed at a terminal: the bar's redraws landed amid the rows on the same screen."""
    import pty

    model = two_people(painted_model, coco_metadata, tmp_path / "m.onnx")
    master, child = pty.openpty()
    argv = (video_path, "--model", model, "--max-frames", 3, "--csv", "-")
    with _track_process(tmp_path, *argv, stdout=child, stderr=child) as run:
        os.close(child)
        text = read_screen(master).replace("\r\n", "\n")  # the terminal ends its lines so
    assert run.returncode == 0 and "\r" not in text and "[" not in text, text
    lines = text.splitlines()
    rows = [line for line in lines if "," in line and not line.startswith("wlitepose:")]
    assert rows[0].startswith("frame,time_s,track_id,") and len(rows) == 1 + 3 * 2
    assert any(line.startswith("3 frames in ") for line in lines)  # the summary still ends the run


@pytest.mark.skipif(os.name == "nt", reason="a pseudo-terminal is POSIX's")
def test_csv_dash_leaves_the_bar_where_the_rows_are_not_on_its_terminal(
    coco_metadata, painted_model, video_path, tmp_path, read_screen, two_people
):
    """`track clip --csv - > rows.csv` at a terminal draws the bar there; `track clip --csv - 2> log` writes its
    line to the log: the rows are elsewhere in both."""
    import pty

    model = two_people(painted_model, coco_metadata, tmp_path / "m.onnx")
    argv = (video_path, "--model", model, "--max-frames", 3, "--csv", "-")
    master, child = pty.openpty()
    with _track_process(tmp_path, *argv, stdout=subprocess.PIPE, stderr=child) as run:
        os.close(child)
        screen, rows = read_screen(master), run.stdout.read().decode()
    assert run.returncode == 0 and "\r[" in screen and "] 3/3 " in screen and rows.startswith("frame,"), screen
    master, child = pty.openpty()
    with _track_process(tmp_path, *argv, stdout=child, stderr=subprocess.PIPE) as run:
        os.close(child)
        log, screen = run.stderr.read().decode(), read_screen(master)
    assert run.returncode == 0 and "] 3/3 " in log and "frame,time_s," in screen, log


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="/dev/full, a device every write to fails, is Linux's")
def test_csv_dash_into_a_full_disk_is_results_lost(model_path, video_path, tmp_path):
    """`track clip --csv - > rows.csv` on a full disk: one sentence, exit 2, as for any command's lost results."""
    argv = (video_path, "--model", model_path, "--max-frames", 3, "--csv", "-")
    with open("/dev/full", "w") as full, _track_process(tmp_path, *argv, stdout=full, stderr=subprocess.PIPE) as run:
        err = run.stderr.read().decode()
    assert run.returncode == 2 and "Traceback" not in err, err
    assert err.endswith("\nwlitepose: error: cannot write the standard output: No space left on device\n")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.skipif(os.name == "nt", reason="closing a child's descriptor before it starts is POSIX's")
def test_csv_dash_with_the_standard_output_closed_is_refused_before_any_work(model_path, video_path, tmp_path):
    """`track clip --csv - >&-`: the run ended at its header as if a reader had left, exit 0, nothing written."""
    argv = (video_path, "--model", model_path, "--max-frames", 3, "--csv", "-", "--coco-json", tmp_path / "r.json")
    closed = {"stderr": subprocess.PIPE, "preexec_fn": lambda: os.close(1)}  # as the shell's >&- leaves it
    with _track_process(tmp_path, *argv, **closed) as run:
        err = run.stderr.read().decode()
    assert run.returncode == 2 and err.count("\n") == 1 and "Traceback" not in err, err
    assert err.startswith("wlitepose: error: --csv - writes to the standard output, which is closed (>&-)")
    assert list(tmp_path.iterdir()) == []  # no model loaded, no other output begun


@pytest.mark.parametrize(
    "given, words",
    [
        (("--coco-json", "-"), ("--coco-json", "standard output")),
        (("--video", "-"), ("--video", "standard output")),
        (("--posec3d", "-"), ("--posec3d", "standard output")),
        (("--coco-dataset", "-"), ("--coco-dataset", "standard output")),
        (("--openpose-dir", "-"), ("--openpose-dir", "standard output")),
        (("--csv", "-", "--video", "-"), ("--video", "standard output")),
        (("--csv", "-", "--skip-done"), ("--skip-done", "--csv -")),
        ((SAMPLE_CLIP, "--csv", "-"), ("--csv -", "one source")),
    ],
)
def test_what_cannot_go_to_the_standard_output_is_refused_before_any_work(
    cli, model_path, video_path, tmp_path, monkeypatch, given, words, assert_clean_error
):
    """Only the CSV streams, of one source, without the sidecar --skip-done reads: the others wrote files named -."""
    import core.track_run

    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(core.track_run, "PoseModel", lambda *a, **k: pytest.fail("the model was loaded first"))
    rc, out, err = cli("track", video_path, *given, "--model", model_path)
    assert_clean_error(rc, err, *words)
    assert out == "" and "source 768x576" not in err and list(tmp_path.iterdir()) == []
