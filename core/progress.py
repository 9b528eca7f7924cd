"""A small progress line on stderr (frames, fps, ETA) and the per-stage timing summary."""

from __future__ import annotations

import os
import sys
import time
from collections import defaultdict

MIN_BAR = 8  # a bar narrower than this shows too little: the line leaves it out
LOG_INTERVAL_S = 10.0  # a progress line on a pipe or log file: a plain line this often, not one redrawn in place
DUMB_TERMS = ("dumb", "unknown")  # TERM of a terminal that cannot redraw a line


def frames_text(count: int) -> str:
    """'1 frame', '8 frames': how messages count frames."""
    return f"{count} frame{'s' * (count != 1)}"


def first_few(names: list[str], shown: int = 3) -> str:
    """The first ``shown`` of ``names``, and how many more: how messages list files."""
    return ", ".join(names[:shown]) + (f" and {len(names) - shown} more" if len(names) > shown else "")


def redraws_in_place(stream) -> bool:
    """Whether ``stream`` is a terminal that draws a line over itself from a carriage return: not a pipe or a file,
    nor one whose TERM says it cannot move the cursor ("dumb": Emacs' shell, many CI consoles; "unknown"), which
    shows every redraw, as ^M or as fragments run together. Those get plain lines, as a log does (rich's rule)."""
    terminal = callable(getattr(stream, "isatty", None)) and stream.isatty()
    return terminal and os.environ.get("TERM", "").lower() not in DUMB_TERMS


def row_width(stream) -> int | None:
    """The characters a redrawn line on the terminal ``stream`` may hold (one short of its width: a line that fills
    the row wraps on some terminals); None: no terminal, or one that does not say its width."""
    try:
        columns = os.get_terminal_size(stream.fileno()).columns
    except (OSError, ValueError, AttributeError):  # no terminal, or a stream without a descriptor
        return None
    return columns - 1 if columns > 1 else None  # 0: a terminal that does not say its width


def redraw(text: str, stream, drawn: int) -> int:
    """Draw ``text`` from a carriage return over the line on the terminal ``stream``: cut to one row of it (a longer
    line wraps, and a redraw rewrites only its last row, the others staying on screen at every update) and padded
    over the ``drawn`` characters the line held (a shorter line left the old one's tail on screen: "10/300 1.0 fps
    ETA 4:50s ETA 4:51"). Returns the characters it holds now."""
    width = row_width(stream)
    if width is not None:
        text, drawn = text[:width], min(drawn, width)
    stream.write("\r" + text.ljust(drawn))
    return len(text)


class StageTimes:
    """Accumulated milliseconds per stage; ``summary()`` gives ms per frame."""

    def __init__(self) -> None:
        self.total_ms: dict[str, float] = defaultdict(float)
        self.frames = 0

    def add(self, timings_ms: dict[str, float]) -> None:
        for stage, ms in timings_ms.items():
            self.total_ms[stage] += ms

    def per_frame(self) -> dict[str, float]:
        return {stage: ms / max(self.frames, 1) for stage, ms in self.total_ms.items()}

    def summary(self, wall_s: float) -> str:
        lines = [f"{frames_text(self.frames)} in {wall_s:.1f} s: {self.frames / max(wall_s, 1e-9):.1f} fps overall"]
        lines += [f"  {stage:<11} {ms:7.2f} ms/frame" for stage, ms in self.per_frame().items()]
        return "\n".join(lines)


def remaining(frames: int, fps: float) -> str:
    """The time ``frames`` more take at ``fps`` as m:ss (whole seconds, cut), "?" before any rate is known."""
    if not fps > 0:
        return "?"
    minutes, seconds = divmod(int(max(frames, 0) / fps), 60)  # past a guessed total (an MKV's): 0:00
    return f"{minutes}:{seconds:02d}"


def clock(seconds: float) -> str:
    """``seconds`` as h:mm:ss (whole seconds, cut): a batch's time left runs to hours."""
    minutes, secs = divmod(int(max(seconds, 0)), 60)
    return f"{minutes // 60}:{minutes % 60:02d}:{secs:02d}"


def batch_left(counts: list[int | None], fps: float) -> str:
    """A batch's standing: the frames its sources still to do hold (``counts``, one a source, None where its length
    is not known: a webcam, a stream, a file that does not say) and the time they take at ``fps``, the rate
    measured so far (0: none yet). A source of unknown length makes the batch's end unknown: "41,200+ frames left,
    end unknown", short enough for the app's side panel."""
    if None in counts:
        return f"{sum(count for count in counts if count is not None):,}+ frames left, end unknown"
    left = f"{sum(counts):,} frames left"
    return f"{left}, about {clock(sum(counts) / fps)}" if fps > 0 else left


class BatchStanding:
    """A batch's frames still to do, source by source (``counts``: each source's number and its frames, None where
    not known), and the frames and seconds of those analysed so far: its standing in words (batch_left), for track
    and the app's batch alike. A source's frames leave the count as it starts, or is found done by another run."""

    def __init__(self, counts: dict[int, int | None]) -> None:
        self.counts = counts
        self.frames, self.seconds = 0, 0.0

    def take(self, number: int) -> int | None:
        """Source ``number``'s frames, out of those still to do (it starts, or another run did it)."""
        return self.counts.pop(number, None)

    def told(self, due: int | None, done: int = 0, seconds: float = 0.0) -> str:
        """The standing with ``done`` of the present source's ``due`` frames analysed in ``seconds``."""
        frames, took = self.frames + done, self.seconds + seconds
        this = None if due is None else max(due - done, 0)
        return batch_left([this, *self.counts.values()], frames / took if took > 0 else 0.0)


class ProgressBar:
    """One line redrawn in place on a terminal; on a pipe, a log file or a terminal that cannot redraw (TERM=dumb), a
    plain line every ``log_interval_s`` (a redrawn line there is hundreds of carriage-return fragments), and the
    last. ``hidden``: nothing drawn."""

    def __init__(
        self, total: int | None, stream=None, log_interval_s: float = LOG_INTERVAL_S, hidden: bool = False
    ) -> None:
        self.total = total
        self.stream = stream or sys.stderr
        self.hidden = hidden
        self.live = redraws_in_place(self.stream)
        self.min_interval_s = 0.25 if self.live else log_interval_s
        self.width = 28
        self.start = time.perf_counter()
        self._last = self.start if not self.live else 0.0
        self._shown = -1
        self._drawn = 0  # the characters of the line on the terminal
        self.done = 0

    def line(self, now: float, room: int | None = None) -> str:
        """The line at ``now``; ``room``: the characters a narrow terminal's row holds, which the bar gives up
        first (cut at the row's end, it took the fps and the ETA with it)."""
        elapsed = max(now - self.start, 1e-9)
        fps = self.done / elapsed
        if not self.total:
            return f"{self.done} frames {fps:5.1f} fps"
        figures = f"{self.done}/{self.total} {fps:5.1f} fps ETA {remaining(self.total - self.done, fps)}"
        width = self.width if room is None else min(self.width, room - len(figures) - 3)
        if width < MIN_BAR:
            return figures
        filled = int(min(self.done / self.total, 1.0) * width)
        return f"[{'#' * filled}{'-' * (width - filled)}] {figures}"

    def update(self, n: int = 1) -> None:
        self.done += n
        if self.hidden:
            return
        now = time.perf_counter()
        if now - self._last >= self.min_interval_s or (self.live and self.total and self.done >= self.total):
            self._show(now)

    def _show(self, now: float) -> None:
        self._last, self._shown = now, self.done
        if self.live:
            self._drawn = redraw(self.line(now, row_width(self.stream)), self.stream, self._drawn)
        else:
            self.stream.write(self.line(now) + "\n")
        self.stream.flush()

    def close(self) -> None:
        if self.hidden:
            return
        if self._shown != self.done:
            self._show(time.perf_counter())
        if self.live:
            self.stream.write("\n")
        self.stream.flush()
