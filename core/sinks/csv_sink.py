"""Keypoint CSV (layout version 1) and its sidecar JSON.

One row per (frame, person): ``frame, time_s, track_id, score, x_min, y_min, x_max, y_max``,
then ``<keypoint>_x, <keypoint>_y, <keypoint>_score`` in schema order. ``track_id`` is -1 for a
person without a confirmed track (a new track's first frame, or every person without tracking). Coordinates are image
pixels with 2 decimals, scores 4 decimals; a missing joint (and the box of a person without
joints) is empty cells, never 0. The sidecar (``<name>.csv.json``) records the layout version,
fps, resolution, source, model file hash, keypoint names, skeleton and settings (and, when they
change during a recording, ``settings_changes``: each new setting with the frame it applies from), and
``frames_not_analysed``: the frame indices up to the last frame written (from ``first_frame``, a whole run's 0;
else from the first written) that were never analysed (a frame that could not be decoded, an unreadable image),
as [first, last] ranges, so that a frame without rows is one where nobody was found only when it is not among
them; a webcam's or stream's, whose frames that came while the pipeline was busy are many, has their count,
``frames_skipped``, instead;
``frame_times_vary``: whether a frame's time_s was off ``frame / fps`` by half a frame (a variable-rate file, a
webcam), so that fps is an average and only time_s times the rows; ``shot_changes``: the frames where a new shot
starts (a cut in an edited video), where the tracks started over; ``frames_at_people_cap``: the frames that gave as
many people as decoding keeps (``settings.decode.max_people``), as [first, last] ranges (spanning the frames never
analysed within them): any more people in them are in no row;
it is rewritten at close with the number of frames written, and during a run FIRST_SIDECAR_S after its start
and every SIDECAR_EVERY_S after that, so a run killed outright (the kernel out of memory, a power cut) leaves a
count near the truth, not 0. ``finished`` turns true once the run reached the source's end, with a frame
written, and every output closed whole (``run_finished``): what ``track --skip-done`` goes by.

The path ``-`` is the standard output (CsvStdoutSink): the same bytes, with no sidecar.
"""

from __future__ import annotations

import csv
import json
import os
import select
import sys
import time
from pathlib import Path

from core.errors import ReaderGone
from core.poses import Poses
from core.sinks.base import NO_ROOM, Sink, cut_back, own_file, rewrite_small, writable
from core.sources.packet_stamps import off_pace

LAYOUT_VERSION = 1
SIDECAR_EVERY_S = 10.0  # seconds between the sidecar's rewrites during a run
FIRST_SIDECAR_S = 1.0  # the first of them: a run killed in its first seconds counts its frames too
# and no sooner than this many times the last rewrite took: a long folder's sidecar lists every image, and its
# rewrites stay a small share of the run
SIDECAR_SPACING = 50
# Windows' refusal of a file another program holds (a reader, a virus scanner), let go until the next rewrite
HELD_ELSEWHERE = (PermissionError,) if os.name == "nt" else ()
BASE_COLUMNS = ("frame", "time_s", "track_id", "score", "x_min", "y_min", "x_max", "y_max")
READER_LOOK_S = 0.5  # how often frames without rows look whether the standard output's reader is still there
STDOUT = "-"  # as the CSV's path: the standard output (./- is a file named -)


def is_stdout(path: str | Path | None) -> bool:
    return path is not None and str(path) == STDOUT


def stdout_closed() -> bool:
    """Whether the standard output was closed before anything was written to it (``>&-``): Python then has none, and
    main's console drops what is written to it."""
    return sys.stdout is None or sys.stdout.closed


def csv_columns(keypoint_names) -> list[str]:
    return [*BASE_COLUMNS, *(f"{name}_{part}" for name in keypoint_names for part in ("x", "y", "score"))]


def sidecar_path(csv_path: Path) -> Path:
    return csv_path.with_name(csv_path.name + ".json")


def unfinish(csv_path: str | Path) -> None:
    """An earlier run's sidecar of ``csv_path`` made to say not ``finished``, before a new run replaces any of that
    run's outputs ahead of its CSV (the annotated video opens first): a run killed outright in between left a
    sidecar saying finished beside an empty video, which ``track --skip-done`` passed over."""
    path = sidecar_path(Path(os.path.expanduser(csv_path)))
    try:
        sidecar = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError):  # none, or no sidecar of a finished run: nothing to take back
        return
    if isinstance(sidecar, dict) and sidecar.get("finished") is True:
        _save_sidecar(path, {**sidecar, "finished": False})


def _save_sidecar(path: Path, data: dict) -> None:
    rewrite_small(path, (json.dumps(data, indent=2) + "\n").encode())


def _num(value: float, decimals: int) -> str:
    return "" if value != value else f"{value:.{decimals}f}"  # NaN -> empty cell


def csv_rows(frame_index: int, time_s: float, poses: Poses) -> list[list]:
    """One frame's rows, a person each, as the CSV holds them."""
    # Python floats and ints (tolist) format several times faster than numpy scalars, to the same text.
    boxes, xy, keypoint_scores = poses.boxes().tolist(), poses.xy.tolist(), poses.keypoint_scores.tolist()
    ids, scores = poses.track_ids.tolist(), poses.scores.tolist()
    rows = []
    for n in range(len(ids)):
        row = [frame_index, f"{time_s:.4f}", ids[n], f"{scores[n]:.4f}"]
        row += [_num(v, 2) for v in boxes[n]]
        for (x, y), c in zip(xy[n], keypoint_scores[n], strict=True):
            row += [_num(x, 2), _num(y, 2), "" if x != x else f"{c:.4f}"]
        rows.append(row)
    return rows


class CsvSink(Sink):
    def __init__(
        self, path: str | Path, keypoint_names, sidecar: dict, first_frame: int | None = None, live: bool = False
    ) -> None:
        self.path = writable(path)
        self.sidecar_path = writable(sidecar_path(self.path))
        self._sidecar = {"layout_version": LAYOUT_VERSION, **sidecar, "keypoint_names": list(keypoint_names)}
        self._live = live  # a webcam's or stream's frames skipped are counted, not listed (one for each written)
        self._sidecar["frames_skipped" if live else "frames_not_analysed"] = 0 if live else []
        # true once a frame's time is off frame / fps by half a frame (a variable-rate file, a webcam): fps is then an
        # average, and a reader who times rows by it gets them wrong (time_s is each frame's own)
        self._sidecar["frame_times_vary"] = False
        self._sidecar["shot_changes"] = []  # the frames where a new shot starts (a cut): the tracks start over there
        # the frames that gave settings.decode.max_people people, as [first, last] ranges: a crowd larger than that
        # has its weakest people in no row, and a reader counting people there is told so
        self._sidecar["frames_at_people_cap"] = []
        self._fps = sidecar.get("fps")  # None: no rate to judge the times by
        self._sidecar["finished"] = False  # true once the run reached the source's end (track --skip-done)
        self._frames = 0
        self._next_index = first_frame  # the frame index that follows the last one written
        # the frame written before the last one: a frame at the cap extends a range ending there, as no frame
        # between them was analysed (a live source's skipped frames, the app's late ones)
        self._written_before: int | None = None
        self._closed = False
        self._write_sidecar()
        self._file = open(own_file(self.path), "w", newline="", encoding="utf-8")
        self._csv = csv.writer(self._file, lineterminator="\n")
        self._csv.writerow(csv_columns(keypoint_names))
        self._file.flush()
        self._complete = self._file.tell()  # bytes up to the end of the last frame written whole
        self._sidecar_due = time.monotonic() + FIRST_SIDECAR_S  # the next rewrite during the run
        self._soonest = 0.0  # the soonest one may come: SIDECAR_SPACING times the last one's time after it

    def _write_sidecar(self) -> None:
        data = {**self._sidecar, "frames_written": self._frames}
        _save_sidecar(self.sidecar_path, data)

    def settings_changed(self, frame_index: int, settings: dict) -> None:
        changes = self._sidecar.setdefault("settings_changes", [])
        if changes and changes[-1]["from_frame"] == frame_index:
            changes.pop()  # a slider dragged between two frames: only where it stopped applies
        changes.append({"from_frame": frame_index, "settings": settings})
        self._write_sidecar()

    def shot_changed(self, frame_index: int) -> None:
        self._sidecar["shot_changes"].append(frame_index)
        self._rewrite_soon()  # said with the frame's rows, as frame_times_vary is
        self._rewrite_sidecar_if_due()

    def reached_people_cap(self, frame_index: int) -> None:
        """``frame_index`` is the frame just written; a range spans the frames not analysed within it, which
        frames_not_analysed or frames_skipped tell."""
        ranges = self._sidecar["frames_at_people_cap"]
        if ranges and ranges[-1][1] == self._written_before:
            ranges[-1][1] = frame_index  # a crowd's run of written frames is one range, however long
        else:
            ranges.append([frame_index, frame_index])

    def write(self, frame_index: int, time_s: float, poses: Poses, image=None) -> None:
        try:
            self._csv.writerows(csv_rows(frame_index, time_s, poses))
            self._file.flush()
        except OSError:
            cut_back(self._file, self._complete)  # no frame is left half written
            raise
        self._complete = self._file.tell()
        self._frames += 1
        if self._next_index is not None and frame_index > self._next_index:
            if self._live:
                self._sidecar["frames_skipped"] += frame_index - self._next_index
            else:
                self._sidecar["frames_not_analysed"].append([self._next_index, frame_index - 1])
        self._written_before = None if self._next_index is None else self._next_index - 1
        self._next_index = frame_index + 1
        if self._fps and not self._sidecar["frame_times_vary"] and off_pace(time_s, frame_index, self._fps):
            self._sidecar["frame_times_vary"] = True
            self._rewrite_soon()
        self._rewrite_sidecar_if_due()

    def _rewrite_soon(self) -> None:
        """A rewrite as soon as SIDECAR_SPACING lets it come, for a reader of a run under way, not up to
        SIDECAR_EVERY_S later: a folder of photos of many shapes, a cut at each, rewrote its sidecar (every image
        named) at each one, 10 % of a 3,000-photo run and growing with the square of their number."""
        self._sidecar_due = min(self._sidecar_due, self._soonest)

    def _rewrite_sidecar_if_due(self) -> None:
        """The sidecar rewritten during the run, for a reader of a run under way; best effort: closing writes it
        for certain."""
        if time.monotonic() >= self._sidecar_due:
            started = time.monotonic()
            try:
                self._write_sidecar()
            except OSError as error:  # no room now, or another program holds it (Windows): the next try, or closing
                if error.errno not in NO_ROOM and not isinstance(error, HELD_ELSEWHERE):
                    raise  # its folder removed or moved: said now, not after the rest of the run
            now = time.monotonic()
            self._soonest = now + SIDECAR_SPACING * (now - started)
            self._sidecar_due = max(self._soonest, now + SIDECAR_EVERY_S)

    def run_finished(self) -> None:
        self._sidecar["finished"] = True
        self._write_sidecar()

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._file.close()  # already closed after a failed write (cut_back): then a no-op
            self._write_sidecar()


class CsvStdoutSink(Sink):
    """The CSV on the standard output (``--csv -``), byte for byte what CsvSink's file holds, each frame's rows flushed
    as it is written; no sidecar (and no lock: there is no file). ReaderGone once the stream drops what it is given
    (main's console: a reader that left, or a full disk, which it keeps as results lost)."""

    path = Path(STDOUT)

    def __init__(self, keypoint_names) -> None:
        self._look_at = 0.0  # when a frame without rows looks next whether the reader is still there
        if hasattr(sys.stdout, "reconfigure"):  # UTF-8 and bare "\n", as the file has them, whatever the console's
            sys.stdout.reconfigure(encoding="utf-8", newline="")
        self._csv = csv.writer(sys.stdout, lineterminator="\n")
        self._send([csv_columns(keypoint_names)])

    def write(self, frame_index: int, time_s: float, poses: Poses, image=None) -> None:
        rows = csv_rows(frame_index, time_s, poses)
        if rows:
            self._send(rows)
        elif time.monotonic() >= self._look_at:  # nobody in view: nothing written would find the reader gone
            if _reader_left():
                raise ReaderGone
            self._look_at = time.monotonic() + READER_LOOK_S

    def _send(self, rows: list[list]) -> None:
        self._csv.writerows(rows)
        sys.stdout.flush()
        if sys.stdout.closed:
            raise ReaderGone


def _reader_left() -> bool:
    """Whether the pipe on the standard output has lost its reader (its write end polls as an error), where that can
    be told: a frame without rows writes nothing that would find it, and a webcam on an empty room writes none."""
    try:
        poll = select.poll()  # not on Windows: there the next row tells
        poll.register(sys.stdout.fileno(), select.POLLOUT)
        return any(events & (select.POLLERR | select.POLLHUP) for _, events in poll.poll(0))
    except (AttributeError, OSError, ValueError):  # no descriptor (a test's capture), or it was dropped
        return False
