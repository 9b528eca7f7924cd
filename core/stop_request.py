"""Stopping a command by a signal: Ctrl+C, kill, a terminal or SSH session closing (the app closes its window on the
same ones). `track` and `train` stop at the end of a frame or step (StopRequest); the other commands, and those two
before their loop, where they are (StopAtOnce)."""

from __future__ import annotations

import signal
import threading
import time

from core.errors import Stopped

# Ctrl+C, kill, a terminal or SSH session closing (SIGHUP, POSIX only), Ctrl+Break or a console window closing
# (SIGBREAK, Windows only)
STOP_SIGNALS = tuple(
    getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP", "SIGBREAK") if hasattr(signal, name)
)


def caught_signals() -> list[int]:
    """STOP_SIGNALS less those ignored (as the process was started: nothing here sets one so): `nohup` ignores
    SIGHUP, and a shell script's background job SIGINT, so that the terminal closing or a Ctrl-C meant for the
    script leaves the run going."""
    return [sig for sig in STOP_SIGNALS if signal.getsignal(sig) is not signal.SIG_IGN]


class _SignalHandler:
    """A handler of the caught STOP_SIGNALS while the ``with`` block runs (the main thread's only: signals reach no
    other); the handlers before it are put back after."""

    def __init__(self) -> None:
        self._previous: dict[int, object] = {}

    def __enter__(self):
        if threading.current_thread() is not threading.main_thread():
            return self  # signals reach the main thread only; a caller thread stops runs its own way
        for sig in caught_signals():
            self._previous[sig] = signal.signal(sig, self)
        return self

    def __exit__(self, *exc) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)


class StopAtOnce(_SignalHandler):
    """The handler of a command with no frame or step to finish (export, eval, info, shrink-data, and track or train
    before their loop): the first signal raises Stopped where the command is, whose clean-up leaves no output
    half-written; a second one ends the process as the system does, so a clean-up that hangs cannot hold it."""

    def __call__(self, signum, frame) -> None:
        for sig in self._previous:
            signal.signal(sig, signal.SIG_DFL)
        self._previous.clear()  # left so on leaving the block: a second signal in Python's exit ends it there too
        raise Stopped(signum)


class StopRequest(_SignalHandler):
    """The handler of a run that stops at the end of a frame (track) or optimiser step (train), so that no row or
    checkpoint is cut in half; a second signal interrupts at once."""

    def __init__(self) -> None:
        super().__init__()
        self.requested = False
        self.signum = signal.SIGINT  # the first signal's, for the exit status

    def __call__(self, signum, frame) -> None:
        if self.requested:
            raise Stopped(self.signum, at_once=True)
        self.requested, self.signum = True, signum

    def wait(self, seconds: float) -> bool:
        """Whether a stop was asked for, after waiting ``seconds`` if none was yet (as threading.Event.wait)."""
        if not self.requested:
            time.sleep(seconds)
        return self.requested
