"""The step progress line of a training run: redrawn in place on a terminal, a plain line now and then elsewhere."""

from __future__ import annotations

import math
import sys
import time

from core.progress import LOG_INTERVAL_S, one_row

_line = {"open": False, "logged": -math.inf}  # a line drawn and not yet ended; when one was last logged


def restart_progress() -> None:
    """A run's first step is logged, however soon after another run."""
    _line["logged"] = -math.inf


def end_progress_line() -> None:
    """End the step progress line, so what is printed next (an epoch's summary, an error) starts a line."""
    if _line["open"]:
        print(file=sys.stderr)
        _line["open"] = False


def show_progress(epoch: int, epochs: int | None, seen: int, size: int, loss, rate: float, left_min: float):
    """The step progress line, redrawn in place on a terminal; on a pipe or log file a plain line every
    LOG_INTERVAL_S (a redrawn line there is one line of every step's fragments). ``epochs`` None: a --minutes run,
    whose end is its time left."""
    of = f"/{epochs}" if epochs else ""
    text = f"epoch {epoch + 1}{of} {seen}/{size} loss {float(loss):.5f} {rate:5.1f} img/s ETA {left_min:.0f} min"
    if sys.stderr.isatty():
        _line["open"] = True
        print(f"\r{one_row(text, sys.stderr)}", end="", file=sys.stderr, flush=True)
    elif time.perf_counter() - _line["logged"] >= LOG_INTERVAL_S:
        _line["logged"] = time.perf_counter()
        print(text, file=sys.stderr, flush=True)
