"""The compare view reads big selections off the GUI thread, supersedes a load on a new selection,
bounds its cache by memory, and answers the view box's bounds questions from precomputed bounds
(issue 11). Real widgets against a real temporary store; waits are qtbot.waitUntil, never sleeps."""

from __future__ import annotations

import threading

import numpy as np
import pyqtgraph as pg
import pytest
from _fixtures_data import add_run

from lrstudio.core.config import RunConfig
from lrstudio.core.errors import LrstudioError
from lrstudio.gui.compare.curves import CurveItem
from lrstudio.gui.compare.loader import batches
from lrstudio.gui.compare.widget import CompareWidget

pytestmark = pytest.mark.gui


class _Store:
    """Wraps a store: counts point queries; ``gate`` (when set) holds them until released."""

    def __init__(self, store):
        self._store = store
        self.loads: list[list[int]] = []
        self.gate: threading.Event | None = None
        self.fail = False

    def load_many(self, run_ids, keys=None):
        run_ids = list(run_ids)
        self.loads.append(run_ids)
        if self.gate is not None:
            assert self.gate.wait(10)
        if self.fail:
            raise LrstudioError("database is locked")
        return self._store.load_many(run_ids, keys=keys)

    def __getattr__(self, name):
        return getattr(self._store, name)


@pytest.fixture
def runs(store):
    return [add_run(store, RunConfig(lr=0.1 / (i + 1)), f"run {i}", steps=60, seed=i) for i in range(4)]


@pytest.fixture
def wrapped(store):
    return _Store(store)


@pytest.fixture
def widget(qtbot, wrapped):
    w = CompareWidget(wrapped)
    w.sync_points = 0  # every load goes to the background thread
    qtbot.addWidget(w)
    w.resize(1100, 750)
    w.show()
    qtbot.waitExposed(w)
    return w


def test_a_big_load_runs_off_the_gui_thread_with_progress(qtbot, widget, wrapped, store, runs):
    wrapped.gate = threading.Event()
    widget.show_runs(runs)
    # show_runs returned while the store is still held: the GUI thread was not blocked.
    assert widget.is_loading() and widget.progress_bar.isVisibleTo(widget)
    assert widget.progress_bar.maximum() == len(runs) and widget.progress_bar.value() == 0
    with qtbot.waitSignal(widget.runs_shown, timeout=10_000) as shown:
        wrapped.gate.set()
    qtbot.waitUntil(lambda: not widget.is_loading())
    assert shown.args == [runs] and widget.run_ids() == runs
    assert not widget.progress_bar.isVisibleTo(widget)
    for run_id in runs:
        x, y = widget.curve_data(run_id)["loss_raw"]
        series = store.load_series(run_id)["train/loss"]
        np.testing.assert_array_equal(x, series.step)
        np.testing.assert_array_equal(y, series.value)
    assert widget.settings_table.columnCount() >= 1


def test_a_new_selection_supersedes_the_load_in_progress(qtbot, widget, wrapped, runs):
    wrapped.gate = threading.Event()
    widget.show_runs(runs[:2])
    qtbot.waitUntil(lambda: len(wrapped.loads) == 1)  # the first load is inside the store
    widget.show_runs(runs[2:])
    wrapped.gate.set()
    qtbot.waitUntil(lambda: widget.run_ids() == runs[2:] and not widget.is_loading())
    # The superseded load's batch arrived late and was dropped: its runs are not drawn.
    assert set(widget.canvas.curves) == set(runs[2:])
    assert widget.run_ids() == runs[2:]


def test_a_failed_background_load_says_so_above_the_plots(qtbot, widget, wrapped, runs):
    wrapped.fail = True
    widget.show_runs(runs[:2])
    qtbot.waitUntil(lambda: not widget.is_loading())
    assert "Cannot load runs" in widget.note_label.text() and "locked" in widget.note_label.text()
    assert widget.run_ids() == []


def test_the_cache_is_bounded_by_memory_not_by_a_run_count(qtbot, store, wrapped):
    ids = [add_run(store, RunConfig(lr=0.01 * (i + 1)), f"r{i}", steps=20, seed=i) for i in range(35)]
    w = CompareWidget(wrapped)
    qtbot.addWidget(w)
    w.show_runs(ids)
    w.show_runs([])
    before = len(wrapped.loads)
    w.show_runs(ids)  # 35 runs: more than the old limit of 30, far below the memory bound
    assert len(wrapped.loads) == before and w.run_ids() == ids
    # A small bound forgets the runs that left the view, least recently shown first.
    w._cache.max_bytes = 1
    w.show_runs(ids[:1])
    assert set(w._series) == {ids[0]}
    assert set(w.canvas.pool) == {ids[0]}
    w.show_runs(ids[1:3])
    assert ids[0] not in w._series and set(w._series) == set(ids[1:3])


def test_curve_items_answer_bounds_from_precomputed_values(widget, qtbot, runs):
    widget.show_runs(runs[:2])
    qtbot.waitUntil(lambda: widget.run_ids() == runs[:2] and not widget.is_loading())
    for run_id in runs[:2]:
        for key in ("loss_raw", "lr"):
            item = widget.curve_items(run_id)[key]
            assert isinstance(item, CurveItem) and item.bounds is not None
            for ax in (0, 1):
                assert item.dataBounds(ax) == pytest.approx(pg.PlotDataItem.dataBounds(item, ax))
            x_lo, x_hi = item.bounds[0], item.bounds[1]
            wide = (x_lo - 1, x_hi + 1)
            assert item.dataBounds(1, orthoRange=wide) == pytest.approx(
                pg.PlotDataItem.dataBounds(item, 1, orthoRange=wide))
            # Zoomed in: pyqtgraph measures the visible part.
            part = (x_lo, (x_lo + x_hi) / 2)
            assert item.dataBounds(1, orthoRange=part) == pg.PlotDataItem.dataBounds(item, 1, orthoRange=part)


def test_batches_cut_by_points():
    assert batches([1, 2, 3, 4], lambda i: 100, budget=250) == [[1, 2], [3, 4]]
    assert batches([1, 2], lambda i: 1000, budget=250) == [[1], [2]]
    assert batches([], lambda i: 1) == []


def test_a_cold_reload_keeps_the_plot_items_of_the_runs_it_reads_again(qtbot, widget, wrapped, runs,
                                                                       monkeypatch):
    """Runs shown before, their series forgotten (Refresh), selected again: their plot items stay in
    the plots while they are read again (removing and re-adding them cost more than the rest of
    the first slice of a cold load)."""
    monkeypatch.setattr("lrstudio.gui.compare.widget.batches", lambda ids, points: [[i] for i in ids])
    widget.show_runs(runs)
    qtbot.waitUntil(lambda: not widget.is_loading() and widget.run_ids() == runs)
    items = {run_id: widget.curve_items(run_id)["loss_raw"] for run_id in runs}
    widget.show_runs([])
    widget.invalidate()
    removed: list = []
    plot_item = widget.loss_plot.getPlotItem()
    original = plot_item.removeItem

    def remove(item):
        removed.append(item)
        original(item)

    plot_item.removeItem = remove
    first = threading.Event()
    wrapped.gate = threading.Event()
    load_many = wrapped.load_many

    def one_then_wait(run_ids, keys=None):  # the first run arrives, the others wait
        if not first.is_set():
            first.set()
            return wrapped._store.load_many(run_ids, keys=keys)
        return load_many(run_ids, keys=keys)

    wrapped.load_many = one_then_wait
    try:
        widget.show_runs(runs)
        qtbot.waitUntil(lambda: widget.run_ids() == runs[:1])  # the first slice is drawn
        wrapped.gate.set()
        qtbot.waitUntil(lambda: not widget.is_loading() and widget.run_ids() == runs)
    finally:
        del plot_item.removeItem
    assert removed == []
    assert {run_id: widget.curve_items(run_id)["loss_raw"] for run_id in runs} == items


def test_the_progress_of_a_load_does_not_move_the_plots(qtbot, widget, wrapped, runs):
    """Showing and hiding the progress bar must not resize the plots (each resize re-lays them
    out and repaints every curve once more)."""
    widget.show_runs(runs[:1])
    qtbot.waitUntil(lambda: not widget.is_loading() and widget.run_ids() == runs[:1])
    qtbot.wait(1)
    before = widget.loss_plot.geometry()
    wrapped.gate = threading.Event()
    widget.show_runs(runs)
    assert widget.progress_bar.isVisibleTo(widget)
    qtbot.wait(1)  # let the layout react to the progress bar
    during = widget.loss_plot.geometry()
    wrapped.gate.set()
    qtbot.waitUntil(lambda: not widget.is_loading())
    qtbot.wait(1)
    assert during == before and widget.loss_plot.geometry() == before


def test_a_y_range_change_does_not_reset_the_curves_data(qtbot, widget, runs):
    """No dynamic range limit: pyqtgraph re-sets every item's display data on every y range change
    with one (the last step of a cold load set the y range of 200 items)."""
    widget.show_runs(runs)
    qtbot.waitUntil(lambda: not widget.is_loading() and widget.run_ids() == runs)
    calls: list = []
    curves = [item.curve for run_id in runs for item in widget.curve_items(run_id).values()]
    for curve in curves:
        original = curve.setData
        curve.setData = lambda *a, _o=original, **k: (calls.append(1), _o(*a, **k))
    widget.loss_plot.setYRange(-3, 1, padding=0)
    widget.lr_plot.setYRange(0, 0.5, padding=0)
    assert calls == []


def test_the_outlier_sample_takes_its_extremes_from_the_precomputed_bounds():
    from lrstudio.core.compare import outlier_sample
    from lrstudio.core.series import CurveLevels
    from lrstudio.gui.compare.canvas import _outlier_sample

    y = np.random.default_rng(0).random(100_003)
    y[[7, 500, 99_999]] = [np.nan, 1e9, -3.0]
    data = CurveLevels(np.arange(1, len(y) + 1), y)
    got, want = _outlier_sample(data), outlier_sample(y)
    assert len(got) == len(want) == 2
    np.testing.assert_array_equal(got[0], want[0])
    np.testing.assert_array_equal(got[1], want[1])  # [-3.0, 1e9]: points the stride left out
    short = CurveLevels(np.arange(10), y[:10])
    assert len(_outlier_sample(short)) == len(outlier_sample(y[:10])) == 1


def test_a_load_drawn_in_slices_never_claims_mixed_loss_kinds(qtbot, widget, wrapped, runs, monkeypatch):
    """Runs of one loss kind, drawn a few per turn: the runs drawn in later slices had no loss
    kind yet when the ranges were settled, so the view said "These runs record different
    losses" above the plots (which shrank the plots, repainted every curve, and grew them back
    with another full repaint at the end of the load: issue 11, 50 runs)."""
    import lrstudio.gui.compare.widget as widget_module

    monkeypatch.setattr(widget_module, "DRAW_SLICE", 1)
    notes: list[str] = []
    update = widget._update_loss_label

    def recording() -> None:
        update()
        notes.append(widget.note_label.text() if widget.note_label.isVisibleTo(widget) else "")

    monkeypatch.setattr(widget, "_update_loss_label", recording)
    widget.show_runs(runs)
    qtbot.waitUntil(lambda: not widget.is_loading() and widget.run_ids() == runs)
    assert notes and not any(notes), notes
    assert widget.loss_plot.getPlotItem().getAxis("left").labelText.startswith("loss (")


def test_the_plot_items_of_a_cold_load_are_made_while_its_series_are_read(qtbot, widget, wrapped, runs):
    """Creating a run's four plot items costs the GUI thread ~3 ms: made in the turns that draw the
    runs, they made the first cold load of a session block it ~90 ms per slice of 12 runs (issue
    11). They are made a few runs per turn while the store is still reading, hidden until drawn."""
    wrapped.gate = threading.Event()
    widget.show_runs(runs)
    qtbot.waitUntil(lambda: set(runs) <= set(widget.canvas.pool))
    assert widget.is_loading() and not widget.canvas.curves
    made = {run_id: widget.canvas.pool[run_id] for run_id in runs}
    assert not any(item.isVisible() for c in made.values() for item in (*c.loss_items(), *c.lr_items()))
    wrapped.gate.set()
    qtbot.waitUntil(lambda: not widget.is_loading() and widget.run_ids() == runs)
    assert all(widget.canvas.curves[run_id] is made[run_id] for run_id in runs)
    assert all(widget.curve_items(run_id)["loss_raw"].isVisible() for run_id in runs)


def test_the_empty_items_of_a_superseded_load_are_kept_for_the_next_one(qtbot, widget, wrapped, runs):
    """Items made ahead of a load that a new selection superseded hold no data: removing them
    (and making them again when those runs are next selected) only cost the next turn a repaint."""
    wrapped.gate = threading.Event()
    widget.show_runs(runs[:2])
    qtbot.waitUntil(lambda: set(runs[:2]) <= set(widget.canvas.pool))
    made = {run_id: widget.canvas.pool[run_id] for run_id in runs[:2]}
    widget.show_runs(runs[2:])
    wrapped.gate.set()
    qtbot.waitUntil(lambda: not widget.is_loading() and widget.run_ids() == runs[2:])
    assert all(widget.canvas.pool.get(run_id) is made[run_id] for run_id in runs[:2])
    assert not any(item.isVisible() for c in made.values() for item in (*c.loss_items(), *c.lr_items()))
    widget.show_runs(runs[:2])
    qtbot.waitUntil(lambda: not widget.is_loading() and widget.run_ids() == runs[:2])
    assert all(widget.canvas.curves[run_id] is made[run_id] for run_id in runs[:2])
