"""Stopping `wlitepose track` by a signal: Ctrl+C, kill, a terminal or SSH session closing (the app closes its
window on the same ones)."""

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


class StopRequest:
    """STOP_SIGNALS' handler (Ctrl+C, kill, a closed terminal or SSH session): the first signal stops
    after the current frame (so no row is cut in half), a second one interrupts at once."""

    def __init__(self) -> None:
        self.requested = False
        self.signum = signal.SIGINT  # the first signal's, for the exit status
        self._previous: dict[int, object] = {}

    def __call__(self, signum, frame) -> None:
        if self.requested:
            raise Stopped(self.signum, at_once=True)
        self.requested, self.signum = True, signum

    def __enter__(self) -> StopRequest:
        if threading.current_thread() is not threading.main_thread():
            return self  # signals reach the main thread only; a caller thread stops runs its own way
        for sig in caught_signals():
            self._previous[sig] = signal.signal(sig, self)
        return self

    def __exit__(self, *exc) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)

    def wait(self, seconds: float) -> bool:
        """Whether a stop was asked for, after waiting ``seconds`` if none was yet (as threading.Event.wait)."""
        if not self.requested:
            time.sleep(seconds)
        return self.requested
