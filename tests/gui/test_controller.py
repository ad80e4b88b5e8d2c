"""TrainingController: the worker thread trains, saves to the database first, relays to the GUI."""

from __future__ import annotations

import time

import pytest
from gui_configs import long_config, tiny_config
from PySide6.QtCore import QThread

from lrstudio.core.config import DatasetConfig
from lrstudio.core.events import RunFinished, RunStarted, StepLogged
from lrstudio.gui.controller import EMIT_INTERVAL_S, TrainingController, live_threads


class Recorder:
    """Collects what the controller emits (its signals arrive in the GUI thread)."""

    def __init__(self, controller: TrainingController) -> None:
        self.started: list[int] = []
        self.batches: list[tuple[float, list]] = []
        self.summaries: list = []
        self.errors: list = []
        self.threads: set = set()
        controller.started.connect(self.started.append)
        controller.progressed.connect(self._on_progressed)
        controller.finished.connect(self.summaries.append)
        controller.failed.connect(self.errors.append)

    def _on_progressed(self, batch: list) -> None:
        self.threads.add(QThread.currentThread())
        self.batches.append((time.monotonic(), batch))

    def events(self) -> list:
        return [e for _, b in self.batches for e in b]


@pytest.fixture
def controller(qapp, store, db_url):
    c = TrainingController(store, db_url)
    yield c
    c.shutdown()


def test_run_completes_and_every_point_is_saved(qtbot, qapp, controller, store):
    rec = Recorder(controller)
    with qtbot.waitSignal(controller.finished, timeout=60_000):
        run_id = controller.start(tiny_config())
    assert rec.started == [run_id]
    assert not controller.is_running() and live_threads() == []
    summary = rec.summaries[0]
    assert summary.status == "completed", summary.error
    assert summary.steps == 24  # 48 train rows / 8 × 4 epochs
    events = rec.events()
    assert isinstance(events[0], RunStarted) and isinstance(events[-1], RunFinished)
    # signals were delivered in the GUI thread, not the worker's
    assert rec.threads == {qapp.thread()}
    info = store.get_run(run_id)
    assert info.status == "completed"
    series = store.load_series(run_id)
    steps = [e for e in events if isinstance(e, StepLogged)]
    assert list(series["train/loss"].step) == [e.step for e in steps]
    assert list(series["train/loss"].value) == pytest.approx([e.values["train/loss"] for e in steps])
    # Default validation cadence (trainer/loop.py, issue 11): the first epoch, then at most every
    # 200 steps, and the last epoch.
    assert list(series["val/loss"].step) == [6, 24]


def test_batches_are_coalesced(qtbot, controller):
    rec = Recorder(controller)
    with qtbot.waitSignal(controller.finished, timeout=60_000):
        controller.start(tiny_config(epochs=300, batch_size=4))  # 3,600 steps
    steps = [e for e in rec.events() if isinstance(e, StepLogged)]
    assert len(steps) == 3600
    # Far fewer signals than steps: about one per EMIT_INTERVAL_S (plus start/finish flushes).
    duration = rec.batches[-1][0] - rec.batches[0][0]
    assert len(rec.batches) <= duration / EMIT_INTERVAL_S + 4
    assert len(rec.batches) < len(steps) / 20


def test_stop_mid_run_keeps_the_points(qtbot, controller, store):
    rec = Recorder(controller)
    run_id = controller.start(long_config())
    qtbot.waitUntil(lambda: any(isinstance(e, StepLogged) for e in rec.events()), timeout=60_000)
    with qtbot.waitSignal(controller.finished, timeout=30_000):
        controller.stop()
    summary = rec.summaries[0]
    assert summary.status == "stopped" and 0 < summary.steps < 2000 * 48
    assert store.get_run(run_id).status == "stopped"
    assert len(store.load_series(run_id, ["train/loss"])["train/loss"]) == summary.steps


def test_shutdown_stops_and_waits(qtbot, controller, store):
    rec = Recorder(controller)
    run_id = controller.start(long_config())
    qtbot.waitUntil(lambda: len(rec.batches) >= 2, timeout=60_000)
    assert live_threads()
    assert controller.shutdown(timeout_ms=30_000)
    assert live_threads() == [] and not controller.is_running()
    assert rec.summaries and rec.summaries[0].status == "stopped"
    assert store.get_run(run_id).status == "stopped"


def test_a_data_error_ends_the_run_failed_with_its_message(qtbot, controller, store, tmp_path):
    rec = Recorder(controller)
    cfg = tiny_config(dataset=DatasetConfig(name="csv", path=str(tmp_path / "missing.csv")))
    with qtbot.waitSignal(controller.finished, timeout=60_000):
        run_id = controller.start(cfg)
    summary = rec.summaries[0]
    assert summary.status == "failed" and "missing.csv" in (summary.error or "")
    assert store.get_run(run_id).status == "failed"


def test_invalid_config_is_refused_before_a_run_exists(controller, store):
    from lrstudio.core.params import ParamError

    with pytest.raises(ParamError, match="lr"):
        controller.start(tiny_config(lr=-1.0))
    assert store.list_runs() == [] and not controller.is_running()


def test_without_torch_start_says_so_and_stores_nothing(controller, store, monkeypatch):
    """Issue 9 (same rule as `train`): no PyTorch is a pre-run problem, not a failed run row."""
    import sys

    from lrstudio.core.errors import LrstudioError

    monkeypatch.setitem(sys.modules, "torch", None)  # `import torch` fails, find_spec finds nothing
    with pytest.raises(LrstudioError, match="PyTorch is not installed.*pip install torch"):
        controller.start(tiny_config())
    assert store.list_runs() == [] and not controller.is_running() and live_threads() == []
