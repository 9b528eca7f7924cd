"""Work around a refcount bug of PySide6 6.12 on Python < 3.12.

PySide6 6.12.0 releases one reference to ``True`` or ``None`` each time a signal calls
a Python callable (queued or direct, timers included). Python 3.12+ makes these objects
immortal, so nothing happens there; on 3.11 the interpreter aborts with "Fatal Python
error: bool_dealloc" after a few thousand signals (seconds of video). Until the binding
is fixed we give the three singletons a reference count no session can exhaust, which is
what 3.12 does for them.
"""

from __future__ import annotations

import ctypes
import sys

_PLENTY = 1 << 40  # references: a lifetime of signals


def protect_singletons() -> None:
    if sys.version_info >= (3, 12) or sys.implementation.name != "cpython":
        return
    for singleton in (None, True, False):
        refcount = ctypes.c_ssize_t.from_address(id(singleton))  # ob_refcnt is the first field
        if refcount.value < _PLENTY:
            refcount.value += _PLENTY
