"""Argument types the benchmarks share: a bad value is argparse's one-line error and exit 2, not a traceback
or a run of something nobody asked for (a negative count slicing a list from its end)."""

from __future__ import annotations

import argparse
import math


def first_line(doc: str | None) -> str:
    """A script's description for --help: its docstring's first line (``python -OO`` leaves no docstring)."""
    return (doc or "").partition("\n")[0]


def at_least(low: int):
    """An argparse type: a whole number of at least ``low``."""

    def whole(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
        if value < low:
            raise argparse.ArgumentTypeError(f"must be at least {low}, not {value}")
        return value

    return whole


def number_in(low: float, high: float = math.inf):
    """An argparse type: a number from ``low`` to ``high``."""

    def number(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
        if not low <= value <= high:  # also NaN
            span = f"from {low:g} to {high:g}" if high < math.inf else f"at least {low:g}"
            raise argparse.ArgumentTypeError(f"must be {span}, not {text}")
        return value

    return number


def thresholds(text: str) -> list[float]:
    """An argparse type: comma-separated scores above 0 and at most 1, in rising order."""
    try:
        values = sorted(float(part) for part in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a comma-separated list of numbers") from None
    if not all(0 < value <= 1 for value in values):
        raise argparse.ArgumentTypeError(f"each must be above 0 and at most 1: {text}")
    return values


def view_size(text: str) -> tuple[int, int]:
    """An argparse type: WxH, two positive whole numbers."""
    try:
        width, height = (int(side) for side in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not WxH, such as 1100x825") from None
    if width < 1 or height < 1:
        raise argparse.ArgumentTypeError(f"both sides must be at least 1: {text}")
    return width, height
