"""A run's progress: the bar on a terminal and plain lines elsewhere, the time left, and the summary of its
stages."""

import functools
import io
import itertools
import os
import re

import cv2
import numpy as np
import pytest

from core.progress import ProgressBar, redraw


def test_the_progress_of_a_folder_counts_its_images_passed_over_out_of_the_frames_due(
    cli, model_path, tmp_path, monkeypatch
):
    import core.track_run

    folder = tmp_path / "frames"
    folder.mkdir()
    for n in range(1, 5):
        cv2.imwrite(str(folder / f"frame{n}.png"), np.full((64, 48, 3), 200, np.uint8))
        cv2.imwrite(str(folder / f"frame{n}_thumb.png"), np.full((16, 12, 3), 200, np.uint8))  # too small
    rc, _, err = cli("track", folder, "--model", model_path, "--csv", tmp_path / "k.csv")
    assert rc == 0 and err.count("warning: skipped") == 4
    assert "] 4/4 " in err  # the bar ends full: not 4/8, with the time left for frames never due
    rc, _, err = cli("track", folder, "--model", model_path, "--csv", tmp_path / "k.csv", "--max-frames", "2")
    assert rc == 0 and "] 2/2 " in err
    monkeypatch.setattr(core.track_run, "ProgressBar", functools.partial(core.track_run.ProgressBar, log_interval_s=0))
    rc, _, err = cli("track", folder, "--model", model_path, "--csv", tmp_path / "k.csv")  # a line at each frame
    assert rc == 0 and "] 2/7 " in err  # frame1_thumb passed over on the way to frame2: counted from then on


def test_a_batchs_time_left_is_its_frames_at_the_rate_so_far_and_never_made_up():
    """41,200 frames at 20 fps: 0:34:20; hours past 59 minutes; no time before any rate, nor with a source of
    unknown length (a webcam, a stream, a file that does not say) still to come."""
    from core.progress import batch_left

    assert batch_left([40_000, 1_200], 20.0) == "41,200 frames left, about 0:34:20"
    assert batch_left([900_000] * 50, 12.5) == "45,000,000 frames left, about 1000:00:00"
    assert batch_left([120, 80], 0.0) == "200 frames left" and batch_left([], 9.0) == "0 frames left, about 0:00:00"
    assert batch_left([41_200, None, 5], 20.0) == batch_left([None, 41_205], 0.0) == "41,205+ frames left, end unknown"


def test_a_batchs_standing_counts_what_is_left_of_the_file_under_way_at_the_rate_so_far():
    """30 of a file's 50 frames left and 100 of another's, at the batch's 20 frames in 2 s: 13 s."""
    from core.progress import BatchStanding

    standing = BatchStanding({1: 50, 2: 100})
    due = standing.take(1)
    assert standing.told(due, done=20, seconds=2.0) == "130 frames left, about 0:00:13"
    standing.frames, standing.seconds = 20, 2.0  # the file done: its frames and time count for the rate
    assert (
        standing.told(None) == "100+ frames left, end unknown" and standing.told(0) == "100 frames left, about 0:00:10"
    )


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_redraws_one_line_on_a_terminal_and_logs_plain_lines_elsewhere(monkeypatch):
    clock = itertools.count()  # each reading one second later
    monkeypatch.setattr("core.progress.time.perf_counter", lambda: float(next(clock)))
    for stream, log_interval_s in ((_Tty(), 10.0), (io.StringIO(), 10.0)):
        bar = ProgressBar(20, stream, log_interval_s)
        for _ in range(20):
            bar.update()  # one frame a second
        bar.close()
        text = stream.getvalue()
        if isinstance(stream, _Tty):
            assert text.count("\r") == 20 and text.endswith("20/20   1.0 fps ETA 0:00\n")
        else:  # a log: a line every 10 s and the last one, no carriage returns
            assert "\r" not in text and [line.split("] ")[1] for line in text.splitlines()] == [
                "10/20   1.0 fps ETA 0:10",
                "20/20   1.0 fps ETA 0:00",
            ]


@pytest.mark.skipif(os.name == "nt", reason="a pseudo-terminal is POSIX's")
@pytest.mark.parametrize("term", ["dumb", "unknown", "DUMB"])
def test_a_terminal_that_cannot_redraw_gets_plain_lines_as_a_log_does(monkeypatch, on_terminal, term):
    """TERM=dumb (Emacs' shell, a CI console): each redraw showed, a carriage return's fragment after another."""
    clock = itertools.count()  # each reading one second later
    monkeypatch.setattr("core.progress.time.perf_counter", lambda: float(next(clock)))
    monkeypatch.setenv("TERM", term)
    shown = on_terminal(120, _frames(20))
    assert [line.split("] ")[1] for line in shown.split("\r\n") if line] == [
        "10/20   1.0 fps ETA 0:10",
        "20/20   1.0 fps ETA 0:00",  # the last line whole
    ]


def _lines(shown: str) -> list[str]:
    """Each line drawn: what follows a carriage return or a line's end."""
    return [line for line in shown.replace("\n", "\r").split("\r") if line]


def _frames(total: int):
    def draw(terminal) -> None:
        bar = ProgressBar(total, terminal)
        for _ in range(total):
            bar.update()
        bar.close()

    return draw


@pytest.mark.skipif(os.name == "nt", reason="a pseudo-terminal is POSIX's")
def test_progress_on_a_narrow_terminal_keeps_to_one_row(monkeypatch, on_terminal):
    """On a terminal 20 columns wide the 55-character line wrapped, and each redraw from its carriage return left
    the rows above it on screen: the terminal filled with stale bars."""
    clock = itertools.count()  # each reading one second later: a redraw at every frame
    monkeypatch.setattr("core.progress.time.perf_counter", lambda: float(next(clock)))
    lines = _lines(on_terminal(20, _frames(30)))
    assert len(lines) >= 30 and max(map(len, lines)) == 19


@pytest.mark.skipif(os.name == "nt", reason="a pseudo-terminal is POSIX's")
@pytest.mark.parametrize(
    ("columns", "last"),
    [
        (40, "[############] 30/30   1.0 fps ETA 0:00"),
        (36, "[########] 30/30   1.0 fps ETA 0:00"),  # room for the narrowest bar shown, MIN_BAR
        (35, "30/30   1.0 fps ETA 0:00"),  # a bar one narrower is left out
        (30, "30/30   1.0 fps ETA 0:00"),
        (120, None),
    ],
)
def test_a_narrow_terminal_shortens_the_bar_and_keeps_the_fps_and_eta(monkeypatch, on_terminal, columns, last):
    """At 40 columns the line was cut at the row's end: "[#####...---] 8/30  22", the fps and the ETA gone."""
    clock = itertools.count()  # each reading one second later
    monkeypatch.setattr("core.progress.time.perf_counter", lambda: float(next(clock)))
    lines = [line.rstrip() for line in _lines(on_terminal(columns, _frames(30)))]  # padded over a longer one
    assert all(re.fullmatch(r"(\[[#-]+\] )?\d+/30 +\d+\.\d fps ETA \d:\d\d", line) for line in lines)
    assert max(map(len, lines)) < columns and "ETA 0:29" in lines[0]
    assert lines[-1] == (last or f"[{'#' * 28}] 30/30   1.0 fps ETA 0:00")  # a wide one: the whole bar


@pytest.mark.skipif(os.name == "nt", reason="a pseudo-terminal is POSIX's")
def test_a_line_drawn_shorter_than_the_last_leaves_none_of_it_on_screen(monkeypatch, on_terminal, redraws):
    """At 36 columns the bar is left out from frame 10 of 300 (its figures grew a digit): the line drawn over the
    longer one left its tail on screen, "10/300   1.0 fps ETA 4:50s ETA 4:51", to the end of the run."""
    clock = itertools.count()  # each reading one second later: a redraw at every frame
    monkeypatch.setattr("core.progress.time.perf_counter", lambda: float(next(clock)))
    seen = redraws(on_terminal(36, _frames(300)))
    assert len(seen) >= 300 and all(row.rstrip() == drawn.rstrip() for drawn, row in seen)
    assert seen[-1][1].rstrip() == "300/300   1.0 fps ETA 0:00"


@pytest.mark.skipif(os.name == "nt", reason="a pseudo-terminal is POSIX's")
def test_a_line_cut_to_a_terminals_row_leaves_its_last_column_free(on_terminal):
    """Training's step line is cut to one row: one that fills the row wraps on some terminals."""
    assert on_terminal(20, lambda terminal: redraw("x" * 50, terminal, 0)) == "\r" + "x" * 19
    assert on_terminal(20, lambda terminal: redraw("short", terminal, 12)) == "\r" + "short".ljust(12)
    # over a line longer than the row (drawn on a wider one since narrowed), padded to the row only
    assert on_terminal(20, lambda terminal: redraw("short", terminal, 50)) == "\r" + "short".ljust(19)


def test_the_bar_keeps_its_width_past_a_guessed_total():
    """An MKV's frame count is a guess: a source may run past it."""
    bar = ProgressBar(2, io.StringIO())
    bar.done = 3
    assert bar.line(bar.start + 1.0) == f"[{'#' * bar.width}] 3/2   3.0 fps ETA 0:00"


def test_the_time_left_is_never_negative_nor_made_up():
    """Past a guessed total (an MKV's frame count) it read -1:57; before any rate it is unknown."""
    from core.progress import remaining

    assert remaining(-100, 30.0) == "0:00" and remaining(5400, 30.0) == "3:00" and remaining(10, 0.0) == "?"


def test_messages_count_frames_and_name_files_in_words():
    """Not 'Export cancelled after 0 frame' (the app's label), nor 'a.txt, b.txt, c.txt and 0 more'."""
    from core.progress import first_few, frames_text

    assert [frames_text(count) for count in (0, 1, 2)] == ["0 frames", "1 frame", "2 frames"]
    assert first_few(["a", "b", "c"]) == "a, b, c" and first_few(["a", "b", "c", "d", "e"]) == "a, b, c and 2 more"


def test_the_stage_summary_gives_milliseconds_per_frame_and_the_overall_rate():
    from core.progress import StageTimes

    times = StageTimes()
    for _ in range(4):
        times.add({"read": 2.0, "inference": 10.0})
    times.frames = 4
    lines = times.summary(2.0).splitlines()
    assert lines[0] == "4 frames in 2.0 s: 2.0 fps overall"
    assert lines[1].split() == ["read", "2.00", "ms/frame"] and lines[2].split() == ["inference", "10.00", "ms/frame"]
    times.frames = 1  # said "1 frames"
    assert times.summary(0.5).splitlines()[0] == "1 frame in 0.5 s: 2.0 fps overall"
