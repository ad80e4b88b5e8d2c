"""The d2l / MXNet conventions of ``factor`` and ``multi_factor`` (issue 15), against transcriptions
of their sources, evaluated one call at a time in plain Python:

* the d2l book's classes, ``d2l-ai/d2l-en`` ``chapter_optimization/lr-scheduler.md``:
  ``FactorScheduler`` (all tabs) and the TensorFlow tab's ``MultiFactorScheduler``, plotted as
  ``[scheduler(t) for t in range(num_epochs)]``; the PyTorch tab's ``MultiStepLR`` plot;
* MXNet ``python/mxnet/lr_scheduler.py`` ``FactorScheduler`` / ``MultiFactorScheduler``, called as
  the book's MXNet plots call them (``scheduler(t)`` from t = 0) and as Gluon's ``Trainer`` does
  (``num_update`` = t + 1 for update t + 1).

Each convention also has its old stored name ("d2l", "mxnet") mapped to the behaviour it had.
"""

from __future__ import annotations

import numpy as np
import pytest

from lrstudio.core.schedules import lr_curve, validate_spec


def curve(name, params, n, base_lr):
    return lr_curve({"name": name, "params": params}, n, base_lr)


# -- transcriptions ------------------------------------------------------------------------------
class D2lFactorScheduler:  # d2l-en chapter_optimization/lr-scheduler.md, "Factor Scheduler"
    def __init__(self, factor=1, stop_factor_lr=1e-7, base_lr=0.1):
        self.factor = factor
        self.stop_factor_lr = stop_factor_lr
        self.base_lr = base_lr

    def __call__(self, num_update):
        self.base_lr = max(self.stop_factor_lr, self.base_lr * self.factor)
        return self.base_lr


class D2lMultiFactorScheduler:  # d2l-en lr-scheduler.md, "Multi Factor Scheduler", tensorflow tab
    def __init__(self, step, factor, base_lr):
        self.step = step
        self.factor = factor
        self.base_lr = base_lr

    def __call__(self, epoch):
        if epoch in self.step:
            self.base_lr = self.base_lr * self.factor
            return self.base_lr
        else:
            return self.base_lr


class MxFactorScheduler:  # mxnet python/mxnet/lr_scheduler.py (warm-up of 0 steps)
    def __init__(self, step, factor=1, stop_factor_lr=1e-8, base_lr=0.01):
        self.step, self.factor, self.stop_factor_lr, self.base_lr = step, factor, stop_factor_lr, base_lr
        self.count = 0

    def __call__(self, num_update):
        while num_update > self.count + self.step:
            self.count += self.step
            self.base_lr *= self.factor
            if self.base_lr < self.stop_factor_lr:
                self.base_lr = self.stop_factor_lr
        return self.base_lr


class MxMultiFactorScheduler:  # mxnet python/mxnet/lr_scheduler.py (warm-up of 0 steps)
    def __init__(self, step, factor=1, base_lr=0.01):
        self.step, self.factor, self.base_lr = step, factor, base_lr
        self.cur_step_ind = 0
        self.count = 0

    def __call__(self, num_update):
        while self.cur_step_ind <= len(self.step) - 1:
            if num_update > self.step[self.cur_step_ind]:
                self.count = self.step[self.cur_step_ind]
                self.cur_step_ind += 1
                self.base_lr *= self.factor
            else:
                return self.base_lr
        return self.base_lr


def close(ours, ref):
    np.testing.assert_allclose(ours, np.asarray(ref, dtype=float), rtol=1e-12, atol=1e-15)


# -- factor ----------------------------------------------------------------------------------------
def test_factor_d2l_class():
    n = 60
    s = D2lFactorScheduler(factor=0.9, stop_factor_lr=1e-2, base_lr=2.0)
    ref = [s(t) for t in range(n)]  # the book: [scheduler(t) for t in range(50)]
    close(curve("factor", {"factor": 0.9, "stop_factor_lr": 1e-2, "convention": "d2l_class"}, n, 2.0), ref)
    assert ref[0] == pytest.approx(1.8)


@pytest.mark.parametrize("step", [1, 3, 20])
def test_factor_mxnet_call_from_zero(step):
    """MXNet's FactorScheduler called as scheduler(t) for t = 0, 1, ...: the LR changes after
    num_update > step, i.e. first at t = step + 1 (one step later than in Gluon training)."""
    n = 90
    s = MxFactorScheduler(step=step, factor=0.8, stop_factor_lr=1e-3, base_lr=0.5)
    ref = [s(t) for t in range(n)]
    ours = curve("factor", {"factor": 0.8, "stop_factor_lr": 1e-3, "step_size": step,
                            "convention": "mxnet_call"}, n, 0.5)
    close(ours, ref)
    assert ours[step] == 0.5 and ours[step + 1] == pytest.approx(0.4)


@pytest.mark.parametrize("step", [1, 3, 20])
def test_factor_mxnet_gluon_training(step):
    n = 90
    s = MxFactorScheduler(step=step, factor=0.8, stop_factor_lr=1e-3, base_lr=0.5)
    ref = [s(t + 1) for t in range(n)]  # Gluon: num_update of update t + 1 is t + 1
    ours = curve("factor", {"factor": 0.8, "stop_factor_lr": 1e-3, "step_size": step,
                            "convention": "mxnet_gluon"}, n, 0.5)
    close(ours, ref)
    assert ours[step - 1] == 0.5 and ours[step] == pytest.approx(0.4)


def test_factor_mxnet_call_non_consecutive_steps():
    """The closed form at arbitrary steps (what a nested schedule asks) equals the range path."""
    p = {"factor": 0.7, "stop_factor_lr": 1e-4, "step_size": 12, "convention": "mxnet_call"}
    full = curve("factor", p, 400, 0.3)
    from lrstudio.core.schedules import curve_at

    t = np.asarray([399, 0, 13, 12, 1, 250, 24, 25], dtype=np.int64)
    close(curve_at(validate_spec({"name": "factor", "params": p}), t, 0.3), full[t])


# -- multi_factor ----------------------------------------------------------------------------------
STEPS = [15, 30, 31, 70]


def test_multi_factor_d2l_class_and_book_torch_tab():
    n = 100
    s = D2lMultiFactorScheduler(step=STEPS, factor=0.5, base_lr=0.5)
    ref = [s(t) for t in range(n)]
    ours = curve("multi_factor", {"steps": STEPS, "factor": 0.5, "convention": "d2l_class"}, n, 0.5)
    close(ours, ref)
    assert ours[14] == 0.5 and ours[15] == 0.25  # changes at step s
    # the book's PyTorch tab: MultiStepLR(milestones=steps, gamma=0.5) plots the same curve
    close(ours, curve("multistep", {"milestones": STEPS, "gamma": 0.5}, n, 0.5))


def test_multi_factor_mxnet_call_from_zero():
    n = 100
    s = MxMultiFactorScheduler(step=STEPS, factor=0.5, base_lr=0.5)
    ref = [s(t) for t in range(n)]  # the book's MXNet tab: [scheduler(t) for t in range(num_epochs)]
    ours = curve("multi_factor", {"steps": STEPS, "factor": 0.5, "convention": "mxnet_call"}, n, 0.5)
    close(ours, ref)
    assert ours[15] == 0.5 and ours[16] == 0.25  # changes at s + 1


def test_multi_factor_mxnet_gluon_training():
    n = 100
    s = MxMultiFactorScheduler(step=STEPS, factor=0.5, base_lr=0.5)
    ref = [s(t + 1) for t in range(n)]
    ours = curve("multi_factor", {"steps": STEPS, "factor": 0.5, "convention": "mxnet_gluon"}, n, 0.5)
    close(ours, ref)


# -- old names keep their meaning ---------------------------------------------------------------
@pytest.mark.parametrize("name,old,new", [
    ("factor", "d2l", "d2l_class"),
    ("factor", "mxnet", "mxnet_gluon"),
    ("multi_factor", "d2l", "mxnet_call"),  # it changed at s + 1: MXNet's scheduler called from t = 0
    ("multi_factor", "mxnet", "mxnet_gluon"),
])
def test_old_convention_names_map_to_their_behaviour(name, old, new):
    params = {"factor": 0.5, "step_size": 4} if name == "factor" else {"steps": [5, 9], "factor": 0.5}
    norm = validate_spec({"name": name, "params": {**params, "convention": old}})
    assert norm["params"]["convention"] == new
    np.testing.assert_array_equal(curve(name, {**params, "convention": old}, 40, 0.2),
                                  curve(name, {**params, "convention": new}, 40, 0.2))


def test_omitted_convention_keeps_the_old_default_behaviour():
    # factor: the d2l class (as before); multi_factor: change at s + 1 (what "d2l" did before)
    assert validate_spec("factor")["params"]["convention"] == "d2l_class"
    assert validate_spec("multi_factor")["params"]["convention"] == "mxnet_call"


def test_old_stored_config_reads_with_its_old_meaning():
    """A run config stored before the rename (schema 1, convention "d2l") still loads and plans
    the same curve."""
    from lrstudio.core.config import RunConfig

    old = {"schema_version": 1, "model": "linear", "dataset": {"name": "windsor"},
           "optimizer": {"name": "sgd", "params": {}}, "lr": 0.1, "epochs": 3,
           "schedule": {"name": "multi_factor", "params": {"steps": [15, 30], "factor": 0.5,
                                                           "convention": "d2l"}}}
    cfg = RunConfig.from_dict(old).validated()
    assert cfg.schedule["params"]["convention"] == "mxnet_call"
    ref = MxMultiFactorScheduler(step=[15, 30], factor=0.5, base_lr=0.1)
    close(lr_curve(cfg.schedule, 50, 0.1), [ref(t) for t in range(50)])


def test_unknown_convention_message_lists_the_new_names():
    from lrstudio.core.schedules import ScheduleError

    with pytest.raises(ScheduleError, match="d2l_class.*mxnet_call.*mxnet_gluon"):
        validate_spec({"name": "factor", "params": {"convention": "gluon"}})
