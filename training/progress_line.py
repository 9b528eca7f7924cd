"""The step progress line of a training run: redrawn in place on a terminal, a plain line now and then elsewhere."""

from __future__ import annotations

import math
import sys
import time

from core.progress import LOG_INTERVAL_S, redraw, redraws_in_place

# a line drawn and not yet ended, its characters; when one was last logged
_line = {"open": False, "drawn": 0, "logged": -math.inf}


def restart_progress() -> None:
    """A run's first step is logged, however soon after another run."""
    _line["logged"] = -math.inf


def end_progress_line() -> None:
    """End the step progress line, so what is printed next (an epoch's summary, an error) starts a line."""
    if _line["open"]:
        print(file=sys.stderr)
        _line["open"], _line["drawn"] = False, 0


def show_progress(epoch: int, epochs: int | None, seen: int, size: int, loss, rate: float, left_min: float):
    """The step progress line, redrawn in place on a terminal; on a pipe, a log file or a terminal that cannot redraw
    (TERM=dumb) a plain line every LOG_INTERVAL_S (a redrawn line there is one line of every step's fragments).
    ``epochs`` None: a --minutes run, whose end is its time left."""
    of = f"/{epochs}" if epochs else ""
    text = f"epoch {epoch + 1}{of} {seen}/{size} loss {float(loss):.5f} {rate:5.1f} img/s ETA {left_min:.0f} min"
    if redraws_in_place(sys.stderr):
        _line["open"] = True
        _line["drawn"] = redraw(text, sys.stderr, _line["drawn"])
        sys.stderr.flush()
    elif time.perf_counter() - _line["logged"] >= LOG_INTERVAL_S:
        _line["logged"] = time.perf_counter()
        print(text, file=sys.stderr, flush=True)
