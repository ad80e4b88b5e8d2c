"""Reading the compared runs' series off the GUI thread (issue 11: compare plots that scale).

A cold compare of 10 or 50 runs × 100,000 steps reads millions of points; on the GUI thread that
froze the window for seconds. :class:`SeriesLoader` reads them in a Python thread, in batches of
runs (one ``store.load_many`` call each), and hands each batch back to the GUI thread through a
queued signal of a QObject that lives there, so the view can say how far it got and the event
loop keeps running between batches. The thread only calls the store and builds numpy arrays;
everything Qt happens in the GUI thread.

One load at a time: :meth:`SeriesLoader.start` supersedes the load in progress (a new selection
while loading). A superseded thread stops at its next batch, and anything it still delivers
carries an old generation number and is dropped.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence

from PySide6.QtCore import QObject, Signal

from lrstudio.core.runs import Series

__all__ = ["BATCH_POINTS", "SeriesLoader", "batches"]

# Points read per batch (per store call): small enough that the GUI thread's share of a batch
# (building the curves of its runs) stays well under the 50 ms a user notices.
BATCH_POINTS = 250_000

Loaded = dict[int, dict[str, Series]]


def batches(run_ids: Sequence[int], points: Callable[[int], int], budget: int = BATCH_POINTS) -> list[list[int]]:
    """Cut ``run_ids`` into consecutive batches of about ``budget`` points (at least one run each)."""
    out: list[list[int]] = []
    current: list[int] = []
    total = 0
    for run_id in run_ids:
        n = max(1, points(run_id))
        if current and total + n > budget:
            out.append(current)
            current, total = [], 0
        current.append(run_id)
        total += n
    if current:
        out.append(current)
    return out


class SeriesLoader(QObject):
    """Loads series in a background thread; signals arrive in the thread the loader lives in.

    Signals
    -------
    batch_loaded(int, object)
        ``(generation, {run_id: {key: Series}})`` for each batch read.
    progress(int, int, int)
        ``(generation, runs read, runs to read)`` after each batch.
    finished(int)
        The load of this generation read everything.
    failed(int, object)
        The load of this generation stopped on this exception (an ``LrstudioError`` or other).
    """

    batch_loaded = Signal(int, object)
    progress = Signal(int, int, int)
    finished = Signal(int)
    failed = Signal(int, object)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.generation = 0
        self._cancel = threading.Event()
        self._thread: threading.Thread | None = None

    def is_loading(self) -> bool:
        return self._thread is not None and self._thread.is_alive() and not self._cancel.is_set()

    def start(self, read: Callable[[list[int]], Loaded], parts: list[list[int]]) -> int:
        """Read ``parts`` (batches of run ids) with ``read`` in a new thread; return its generation."""
        self.cancel()
        self.generation += 1
        self._cancel = cancel = threading.Event()
        generation = self.generation
        total = sum(len(p) for p in parts)

        def run() -> None:
            done = 0
            try:
                for part in parts:
                    if cancel.is_set():
                        return
                    loaded = read(part)
                    if cancel.is_set():
                        return
                    done += len(part)
                    self.batch_loaded.emit(generation, loaded)
                    self.progress.emit(generation, done, total)
                self.finished.emit(generation)
            except Exception as exc:  # reported to the GUI thread, which decides what to show
                try:
                    self.failed.emit(generation, exc)
                except RuntimeError:  # the loader was deleted (the view closed): nobody to tell
                    pass

        self._thread = threading.Thread(target=run, name=f"compare-loader-{generation}", daemon=True)
        self._thread.start()
        return generation

    def cancel(self) -> None:
        """Supersede the load in progress (its late signals carry an old generation)."""
        self._cancel.set()
        self.generation += 1

    def wait(self, timeout: float | None = None) -> bool:
        """Join the current thread (for closing); True when none is running."""
        thread = self._thread
        if thread is None:
            return True
        thread.join(timeout)
        return not thread.is_alive()
