"""Ctrl-C ends a benchmark in a line, not a traceback from wherever it landed (a frame being read, an import)."""

from __future__ import annotations

import os
import signal
import sys


def say_interrupted(name: str) -> None:
    """From now on, an error nothing caught that a Ctrl-C caused prints ``name: interrupted`` in place of its
    traceback and ends the process by SIGINT (status 130 in a shell), as Python ends it, once the ``with`` blocks
    have removed their temporary folders. Caused: the KeyboardInterrupt itself, or an error raised while it was
    being handled (onnxruntime's ImportError when Ctrl-C lands in its loading). Other errors keep their traceback."""
    previous = sys.excepthook

    def hook(kind, value, traceback) -> None:
        cause = value
        while cause is not None and not isinstance(cause, KeyboardInterrupt):
            cause = cause.__context__
        if cause is None:
            previous(kind, value, traceback)
            return
        print(f"{name}: interrupted", file=sys.stderr, flush=True)
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        os.kill(os.getpid(), signal.SIGINT)

    sys.excepthook = hook
