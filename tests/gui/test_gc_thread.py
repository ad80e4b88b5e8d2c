"""Qt objects freed by Python's cyclic GC die in the GUI thread, never in a worker thread
(lrstudio/gui/gc_thread.py; a worker-thread collection deadlocked shiboken against Qt).

The check runs in a fresh interpreter: the collector's behaviour is process state (gc.disable, the
generations' counts), and in the full suite another test's leftover thread could freeze the heap
(``gc.freeze`` resets the counts and moves the cycle out of reach) or collect it first, which says
nothing about the collector. Once the whole suite's run failed so (the cycle was never freed).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

pytestmark = pytest.mark.gui

_SCRIPT = r"""
import gc, json, threading, time, weakref
from PySide6.QtCore import QObject
from PySide6.QtWidgets import QApplication
from lrstudio.gui.gc_thread import GuiThreadCollector

app = QApplication([])


class Cyclic:
    # A reference cycle holding a QObject (as a closed dialog's Python side does): only the cyclic
    # GC frees it, and the QObject is destroyed in the thread that runs that collection.
    def __init__(self, died):
        self.me = self
        self.obj = QObject()
        weakref.finalize(self, lambda: died.append(threading.get_ident()))


KEPT = []


def allocate_in_a_thread():
    # Net allocations in a worker (5,000 containers kept alive) cross generation 0's threshold
    # (700): with automatic GC on, that thread would run the collection.
    t = threading.Thread(target=lambda: KEPT.extend([i] for i in range(5000)))
    t.start()
    t.join()
    return t.ident


gui = threading.get_ident()
use_collector = __import__("sys").argv[1] == "collector"
collector = GuiThreadCollector(interval_ms=50) if use_collector else None
died = []
Cyclic(died)
worker = allocate_in_a_thread()
died_before_ticks = list(died)
deadline = time.monotonic() + 10.0
while not died and time.monotonic() < deadline:
    app.processEvents()
    time.sleep(0.01)
out = {"gui": gui, "worker": worker, "died": died, "died_before_ticks": died_before_ticks,
       "gc_enabled_during": gc.isenabled(),
       "collections": collector.collections if collector else None}
if collector:
    collector.stop()
out["gc_enabled_after"] = gc.isenabled()
print(json.dumps(out))
"""


def _run(mode: str) -> dict:
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    done = subprocess.run([sys.executable, "-c", _SCRIPT, mode], capture_output=True, text=True, timeout=120,
                          env=env)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_a_qt_cycle_is_freed_by_the_gui_thread_not_by_a_worker():
    got = _run("collector")
    assert got["died_before_ticks"] == []  # the worker's allocations did not collect it
    assert got["died"] == [got["gui"]]  # the GUI thread's timer did
    assert sum(got["collections"]) > 0
    assert not got["gc_enabled_during"] and got["gc_enabled_after"]  # off while it runs, back after


def test_without_the_collector_the_worker_frees_it():
    """The same scene with Python's automatic GC: the worker thread collects the cycle (the defect
    the collector prevents), so the test above would fail without it."""
    got = _run("automatic")
    assert got["died"] == [got["worker"]]
