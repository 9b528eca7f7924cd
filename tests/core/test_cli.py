"""`wlitepose` as a command: its commands and options, and the refusals and failures that concern no one source or
output: one sentence, exit 2, no traceback."""

import json
from pathlib import Path

import pytest

import main
from core.assets import DEFAULT_MODEL, SAMPLE_CLIP
from core.errors import WLitePoseError
from core.model_file import check_model_path
from core.sources.specs import check_exists


def test_missing_default_model_tells_to_pass_model(cli, monkeypatch, video_path, tmp_path, assert_clean_error):
    import core.cli

    monkeypatch.setattr(core.cli, "DEFAULT_MODEL", tmp_path / "absent.onnx")
    rc, _, err = cli("track", video_path)
    assert_clean_error(rc, err, "--model")


def test_a_name_beginning_with_a_tilde_and_no_user_s_is_a_name_as_shells_leave_it(
    cli, model_path, write_clip, tmp_path, monkeypatch
):
    """~clip.avi (no user "clip.avi": the shell passes it as typed) stopped track with a RuntimeError traceback."""
    monkeypatch.chdir(tmp_path)
    write_clip(tmp_path / "~clip.avi", 1)
    rc, _, err = cli("track", "~clip.avi", "--model", model_path, "--csv", "~out.csv")
    assert rc == 0 and (tmp_path / "~out.csv").is_file(), err


def test_no_module_expands_a_users_path_with_pathlibs_expanduser():
    """Path.expanduser raises RuntimeError for ~name with no user name, where os.path.expanduser leaves the name as
    the shell does; 26 places took the first (the test above is one of them)."""
    root = Path(main.__file__).parent
    files = [root / "main.py"] + [
        p for package in ("core", "app", "models", "training") for p in (root / package).rglob("*.py")
    ]
    assert not [str(p.relative_to(root)) for p in files if ".expanduser()" in p.read_text(encoding="utf-8")]


def test_a_mistyped_command_is_named_not_opened_in_the_app(cli, assert_clean_error):
    rc, _, err = cli("trak", "clip.mp4")
    assert_clean_error(rc, err, "'trak'", "neither a command")


def test_max_frames_zero_is_refused_not_taken_for_every_frame(
    cli, model_path, write_clip, tmp_path, assert_clean_error
):
    clip = write_clip(tmp_path / "c.avi", 2)
    rc, _, err = cli("track", clip, "--model", model_path, "--max-frames", 0, "--csv", tmp_path / "c.csv")
    assert_clean_error(rc, err, "--max-frames must be at least 1")
    assert not (tmp_path / "c.csv").exists()


def test_a_fractional_max_frames_is_refused_not_rounded_up(cli, tmp_path, capsys):
    """A float --max-frames took 2.5 and wrote 3 frames, exit 0."""
    with pytest.raises(SystemExit) as exit_info:
        cli("track", tmp_path / "clip.mp4", "--max-frames", 2.5, "--csv", tmp_path / "out.csv")
    assert exit_info.value.code == 2 and "--max-frames: invalid int value: '2.5'" in capsys.readouterr().err


def test_threads_reach_onnx_runtime(cli, model_path, write_clip, tmp_path, monkeypatch):
    """--threads 6 left out of the model gave ONNX Runtime's default (6 threads in the process instead of 13)."""
    import core.session

    asked, open_session = [], core.session.open_session
    monkeypatch.setattr(
        core.session,
        "open_session",
        lambda path, threads=None: asked.append(threads) or open_session(path),
    )
    clip = write_clip(tmp_path / "c.avi", 1)
    rc, _, err = cli("track", clip, "--model", model_path, "--threads", 3)
    assert rc == 0 and asked == [3], err


def test_a_missing_dependency_is_one_sentence_naming_the_package(main_without):
    """Uninstalling opencv-python beside the headless build removes the cv2 folder both share: a 16-line
    traceback ended in ModuleNotFoundError."""
    for argv in (["track", SAMPLE_CLIP, "--max-frames", "1"], [SAMPLE_CLIP]):  # the app on a file too
        run = main_without(("cv2",), *argv)
        assert run.returncode == 2 and "Traceback" not in run.stderr, run.stderr
        assert run.stderr.startswith("wlitepose: error: the package opencv-python-headless is not installed here")
        assert "pip install opencv-python-headless --force-reinstall" in run.stderr


def test_a_broken_video_is_said_in_our_sentence_alone(main_without, tmp_path, monkeypatch):
    """OpenCV's own error lines ("[ERROR:0@0.9] global cap_ffmpeg_impl.hpp:1412 open Could not find decoder") came
    before the sentence, saying the same less clearly."""
    for name in ("OPENCV_LOG_LEVEL", "OPENCV_FFMPEG_LOGLEVEL"):  # as a user's shell has them: unset
        monkeypatch.delenv(name, raising=False)
    clip, broken = Path(SAMPLE_CLIP).read_bytes(), tmp_path / "broken.mp4"
    for size in (10, len(clip) - 1000):  # no header; no index at the end
        broken.write_bytes(clip[:size])
        run = main_without((), "track", broken, "--csv", tmp_path / "out.csv")
        assert run.returncode == 2 and run.stderr == f"wlitepose: error: {broken} is not a readable video\n"


def test_the_version_is_told_and_recorded_with_every_csv(cli, model_path, video_path, tmp_path, capsys):
    from importlib.metadata import version

    with pytest.raises(SystemExit) as stopped:
        main.main(["--version"])
    assert stopped.value.code == 0 and capsys.readouterr().out == f"wlitepose {version('wlitepose')}\n"
    rc, _, err = cli("track", video_path, "--model", model_path, "--max-frames", 1, "--csv", tmp_path / "a.csv")
    assert rc == 0, err
    assert json.loads((tmp_path / "a.csv.json").read_text())["wlitepose_version"] == version("wlitepose")


def test_the_readmes_sample_path_run_elsewhere_says_where_the_sample_is(cli, tmp_path, monkeypatch, assert_clean_error):
    monkeypatch.chdir(tmp_path)
    rc, _, err = cli("track", "assets/samples/vtest_clip.mp4", "--csv", "t.csv")
    assert_clean_error(rc, err, f"does not exist here; the bundled sample clip is {SAMPLE_CLIP}")


def test_the_readmes_model_path_run_elsewhere_says_where_the_bundled_model_is(
    cli, video_path, tmp_path, monkeypatch, assert_clean_error
):
    """An installed wheel keeps the model in site-packages: the README's assets/ path said only 'does not exist'."""
    monkeypatch.chdir(tmp_path)
    rc, _, err = cli("track", video_path, "--model", "assets/wlitepose_xs_256.onnx", "--csv", "t.csv")
    assert_clean_error(rc, err, f"does not exist here; the bundled default model is {DEFAULT_MODEL}")


@pytest.mark.parametrize(
    "path",
    ["runs/x/wlitepose_xs_256.onnx", "assets/best.onnx", "clips/vtest_clip.mp4", "assets/vtest_clip.mp4"],
)
def test_a_missing_file_of_another_folder_or_name_than_the_readmes_gets_no_bundled_hint(tmp_path, monkeypatch, path):
    """A user's own export named as the bundled model, in a mistyped folder, was said to be the bundled model."""
    monkeypatch.chdir(tmp_path)
    for check in (check_model_path, check_exists):
        with pytest.raises(WLitePoseError) as refused:
            check(path)
        assert str(refused.value).endswith(f"{path} does not exist")


def test_running_out_of_memory_is_one_sentence_not_a_traceback(cli, monkeypatch, assert_clean_error):
    """A long run's PoseC3D arrays once outgrew the memory: two chained tracebacks ending in _ArrayMemoryError."""
    import core.eval_run
    import core.track_run

    def allocate(*args):
        raise MemoryError("Unable to allocate 43.6 MiB for an array with shape (220, 1528, 17, 2)")

    monkeypatch.setattr(core.track_run, "run_track", allocate)
    rc, _, err = cli("track", "clip.mp4")
    assert_clean_error(rc, err, "out of memory; the outputs hold the frames written before it")
    monkeypatch.setattr(core.eval_run, "run_eval", allocate)
    rc, _, err = cli("eval", "--model", "m.onnx", "--annotations", "a.json", "--images", "images")
    assert_clean_error(rc, err, "out of memory")
    assert "PoseC3D" not in err  # eval writes none


def test_track_without_a_source_is_refused_not_a_silent_success(cli, capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli("track", "--csv", "out.csv")
    assert exit_info.value.code == 2 and "required: SOURCE" in capsys.readouterr().err
