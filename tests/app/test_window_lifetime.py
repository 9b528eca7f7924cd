"""A closed window is freed, with its worker and whatever model it held: a host that makes windows one after
another (the GUI tests do) kept every one before, about 40 MB each with a model loaded, its threads running. An
open window is kept until it is closed, whoever lets go of it: freed with its threads running, it would abort the
process."""

from __future__ import annotations

import gc
import weakref

from PySide6.QtCore import QSettings

from app.main_window import MainWindow


def test_a_closed_window_is_freed(qapp):
    window = MainWindow(QSettings(), cameras=[])
    window.show()
    window.close()
    closed = weakref.ref(window)
    del window
    gc.collect()
    assert closed() is None


def test_an_open_window_let_go_of_is_kept_running_until_it_is_closed(qapp):
    window = MainWindow(QSettings(), cameras=[])
    window.show()
    kept, thread = weakref.ref(window), window.handle.worker_thread
    del window
    gc.collect()
    assert kept() is not None and thread.isRunning()
    kept().close()
    gc.collect()
    assert kept() is None
