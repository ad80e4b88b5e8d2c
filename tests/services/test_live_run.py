"""The run in progress as a Qt-free model: folded from event batches, read by the status bar and the plots."""

from __future__ import annotations

import math
import subprocess
import sys

import numpy as np

from lrstudio.core.config import RunConfig
from lrstudio.core.events import EpochLogged, RunFinished, RunStarted, RunSummary, StepLogged
from lrstudio.services.live_run import LiveRun, RunLength, format_seconds, planned_lr


def steps(first: int, last: int, spe: int = 10, dt: float = 0.5, loss=lambda s: 1.0 / s) -> list[StepLogged]:
    return [StepLogged(step=s, epoch=(s - 1) // spe, wall_time=s * dt, values={"train/loss": loss(s), "lr": 0.1})
            for s in range(first, last + 1)]


def test_a_new_run_forgets_the_last_one_and_knows_nothing_yet():
    run = LiveRun()
    run.start(7, "warm", RunConfig(lr=0.1), started_at=100.0)
    assert (run.run_id, run.name, run.length, run.planned, run.last_step, run.summary) == (7, "warm", None, None,
                                                                                            None, None)
    assert run.step_text() == "Step –" and run.epoch_text() == "Epoch –" and run.eta_text() == "ETA –"
    assert run.elapsed_text(now=165.0) == "Elapsed 1:05"  # before the first step: from the clock
    assert run.fraction is None and run.total_steps is None and run.steps_per_epoch == 1


def test_run_started_sets_the_length_and_the_planned_lr_once():
    cfg = RunConfig(lr=0.1, schedule={"name": "cosine", "params": {}})
    run = LiveRun()
    run.start(1, "r", cfg)
    folded = run.fold([RunStarted(total_steps=40, steps_per_epoch=10, epochs=4, wall_time=0.0)])
    assert folded.replanned and run.length == RunLength(40, 10, 4)
    assert run.planned is not None and len(run.planned) == 40 and run.planned[0] == 0.1
    # the same length again (known before the worker said so): nothing to replan
    assert not run.fold([RunStarted(total_steps=40, steps_per_epoch=10, epochs=4, wall_time=0.0)]).replanned
    run2 = LiveRun()
    run2.start(2, "r", cfg, RunLength(40, 10, 4))
    assert run2.planned is not None and not run2.fold([RunStarted(40, 10, 4, 0.0)]).replanned


def test_progress_eta_and_texts_follow_the_last_step():
    run = LiveRun()
    run.start(1, "r", RunConfig(lr=0.1), RunLength(40, 10, 4))
    run.fold(steps(1, 10) + [EpochLogged(epoch=0, step=10, wall_time=5.0, values={"val/loss": 0.5})])
    assert run.last_step is not None and run.last_step.step == 10
    assert run.fraction == 0.25 and run.eta_s == 15.0
    assert run.step_text() == "Step 10 / 40" and run.epoch_text() == "Epoch 1 / 4"
    assert run.elapsed_text() == "Elapsed 0:05" and run.eta_text() == "ETA 0:15"


def test_divergence_from_the_first_non_finite_loss_then_from_the_summary():
    run = LiveRun()
    run.start(1, "r", RunConfig(lr=0.1), RunLength(40, 10, 4))
    assert not run.fold(steps(1, 5)).diverged
    folded = run.fold(steps(6, 8, loss=lambda s: math.inf if s >= 7 else 1.0))
    assert folded.diverged and run.first_nonfinite == (7, 0.7, 3.5) and run.diverged_step == 7
    summary = RunSummary(status="diverged", steps=8, epochs=0, duration_s=4.0, diverged_step=8)
    assert run.fold([RunFinished(summary)]).finished is summary
    assert run.diverged_step == 8 and run.summary is summary
    assert "diverged at step 8" in run.summary_text()


def test_summary_text_of_a_completed_run():
    run = LiveRun()
    run.start(3, "cosine sgd", None)
    run.finish(RunSummary(status="completed", steps=1200, epochs=4, duration_s=75.0, final_loss=0.1234,
                          best_val_loss=0.2, best_accuracy=0.9))
    # The tables' words and percent format (core.compare: "Best val", "Best acc", format_percent).
    assert run.summary_text() == ("Run cosine sgd completed: 1,200 steps in 1:15 · final loss 0.1234 · "
                                  "best val 0.2 · best acc 90.0 %")
    assert run.diverged_step is None


def test_planned_lr_per_epoch_repeats_each_epochs_value():
    cfg = RunConfig(lr=1.0, schedule={"name": "step", "params": {"step_size": 1, "gamma": 0.5}},
                    schedule_unit="epoch")
    lr = planned_lr(cfg, RunLength(25, 10, 3))
    assert lr is not None and len(lr) == 25
    np.testing.assert_allclose(lr[[0, 9, 10, 19, 20, 24]], [1, 1, 0.5, 0.5, 0.25, 0.25])
    assert planned_lr(cfg, None) is None and planned_lr(None, RunLength(25, 10, 3)) is None


def test_format_seconds():
    assert [format_seconds(x) for x in (None, math.nan, 0, 59.6, 3725)] == ["–", "–", "0:00", "1:00", "1:02:05"]


def test_the_model_imports_no_qt_and_no_torch():
    code = ("import sys, lrstudio.services.live_run; "
            "print(sorted(m for m in ('PySide6', 'pyqtgraph', 'torch', 'sqlalchemy') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
