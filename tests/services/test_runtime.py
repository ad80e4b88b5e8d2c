"""services/runtime.py: the measured tweaks, each switched by RuntimeOptions and checkable alone."""

from __future__ import annotations

import subprocess
import sys
import threading

import pytest

from lrstudio.core.config import DatasetConfig, RunConfig
from lrstudio.core.errors import LrstudioError
from lrstudio.core.events import BatchingReporter, RunStarted, StepLogged
from lrstudio.services import runtime
from lrstudio.services.runtime import (
    DESKTOP,
    HEADLESS,
    DatasetCache,
    PaintGate,
    PaintGatedReporter,
    RuntimeOptions,
    make_reporter,
    switch_interval,
)


def _step(n: int) -> StepLogged:
    return StepLogged(step=n, epoch=0, wall_time=0.0, values={"train/loss": 1.0})


def test_options_are_frozen_values_and_headless_switches_everything_off():
    with pytest.raises(AttributeError):
        DESKTOP.paint_gate = False  # type: ignore[misc]
    assert not HEADLESS.paint_gate and HEADLESS.switch_interval_s is None and not HEADLESS.dataset_cache
    assert not HEADLESS.preload_torch
    assert DESKTOP.paint_gate and DESKTOP.switch_interval_s == 0.001 and DESKTOP.dataset_cache


def test_make_reporter_gates_only_when_asked():
    stop = threading.Event()
    assert type(make_reporter(lambda b: None, stop, HEADLESS)) is BatchingReporter
    assert isinstance(make_reporter(lambda b: None, stop, DESKTOP), PaintGatedReporter)


def test_should_stop_answers_at_once_while_a_frame_is_painted():
    """STYLE.md habit 5: the query never waits; the wait is the named side effect of a step."""
    gate = PaintGate()
    stop = threading.Event()
    reporter = PaintGatedReporter(lambda b: None, stop, gate=gate, timeout_s=30.0)
    with gate.hold():
        assert reporter.should_stop() is False  # would take 30 s if it waited at the gate
        stop.set()
        assert reporter.should_stop() is True
        reporter.emit(RunStarted(total_steps=1, steps_per_epoch=1, epochs=1, wall_time=0.0))  # no wait


def test_a_step_waits_until_the_frame_is_painted():
    gate = PaintGate()
    reported = threading.Event()
    reporter = PaintGatedReporter(lambda b: None, None, gate=gate, timeout_s=30.0)
    with gate.hold():
        worker = threading.Thread(target=lambda: (reporter.emit(_step(1)), reported.set()))
        worker.start()
        assert not reported.wait(0.2)  # held at the gate while the frame paints
    worker.join(10)  # released with the gate
    assert reported.is_set()


def test_the_gate_never_holds_a_step_longer_than_its_timeout():
    gate = PaintGate()
    reporter = PaintGatedReporter(lambda b: None, None, gate=gate, timeout_s=0.01)
    with gate.hold():
        reporter.emit(_step(1))  # returns: a painter that never finishes cannot hang the run


def test_switch_interval_is_lowered_for_the_block_and_restored():
    before = sys.getswitchinterval()
    with switch_interval(0.001):
        assert sys.getswitchinterval() == pytest.approx(min(before, 0.001))
    assert sys.getswitchinterval() == before
    with switch_interval(None):
        assert sys.getswitchinterval() == before


def test_dataset_cache_keeps_the_newest_and_never_a_failure(tmp_path):
    cache = DatasetCache(size=2)
    cfgs = [RunConfig(dataset=DatasetConfig(name="synthetic", n_samples=40 + i)) for i in range(3)]
    assert cache.peek(cfgs[0]) is None  # peek never loads
    first = cache.load(cfgs[0])
    assert cache.peek(cfgs[0]) is first and cache.load(cfgs[0]) is first
    cache.load(cfgs[1])
    cache.load(cfgs[2])
    assert cache.peek(cfgs[0]) is None and cache.peek(cfgs[2]) is not None  # the oldest left
    bad = RunConfig(dataset=DatasetConfig(name="csv", path=str(tmp_path / "missing.csv")))
    with pytest.raises(LrstudioError, match="missing.csv"):
        cache.load(bad)
    assert cache.get(bad) is None and cache.peek(bad) is None


def test_a_changed_csv_file_is_loaded_again(tmp_path):
    path = tmp_path / "d.csv"
    path.write_text("x,y\n" + "".join(f"{i},{i}\n" for i in range(20)))
    cfg = RunConfig(dataset=DatasetConfig(name="csv", path=str(path), target="y"))
    cache = DatasetCache()
    first = cache.load(cfg)
    path.write_text("x,y\n" + "".join(f"{i},{i}\n" for i in range(40)))
    import os

    os.utime(path, (1, 1))  # a different modification time, whatever the clock's resolution
    assert cache.load(cfg) is not first and cache.load(cfg).n_train > first.n_train


def test_torch_problem_names_a_missing_torch(monkeypatch):
    monkeypatch.setitem(sys.modules, "torch", None)
    assert "torch" in runtime.torch_problem()


def test_importing_the_service_imports_neither_torch_nor_qt():
    """The GUI thread imports the run service before the window shows: no torch, no Qt there."""
    code = ("import sys, lrstudio.services.training_run, lrstudio.services.runtime; "
            "print(sorted(m for m in ('torch', 'PySide6') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    assert out.stdout.strip() == "[]"


def test_runtime_options_reach_the_run(monkeypatch, tmp_path):
    """run_training hands its options to the reporter and the switch interval."""
    from lrstudio.services import training_run

    seen: list[RuntimeOptions] = []
    real = training_run.make_reporter
    monkeypatch.setattr(training_run, "make_reporter", lambda s, st, o: (seen.append(o), real(s, st, o))[1])
    intervals: list[float] = []
    opts = RuntimeOptions(switch_interval_s=0.0005, dataset_cache=True)
    training_run.run_training(RunConfig(dataset=DatasetConfig(name="synthetic", n_samples=32), max_steps=3),
                              f"sqlite:///{tmp_path / 'r.sqlite'}", options=opts,
                              on_events=lambda b: intervals.append(sys.getswitchinterval()))
    assert seen == [opts] and intervals and max(intervals) <= 0.0005
