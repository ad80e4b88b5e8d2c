"""Schedule vs run length: the warnings the preview and the CLI show, and "Fit to run"."""

from __future__ import annotations

import numpy as np
import pytest

from lrstudio.core.schedules import ScheduleError, lr_curve
from lrstudio.core.schedules.fit import fit_to_run, schedule_fit, schedule_length

WARMUP_COSINE = {"name": "linear_warmup", "params": {
    "warmup_steps": 20, "inner": {"name": "cosine", "params": {"T_max": 400, "after_end": "hold"}}}}


def test_schedule_that_ends_early_says_where_and_what_follows():
    rep = schedule_fit(WARMUP_COSINE, 1350)
    assert rep.length == 420 and not rep.fits and rep.fittable
    assert rep.warnings == ("schedule ends at step 420 of 1,350 (31 % of the run); LR is 0 afterwards",)
    # the sentence is true: the LR really is 0 from step 420 on
    curve = lr_curve(WARMUP_COSINE, 1350, 0.1)
    assert curve[419] > 0 and np.all(curve[420:] == 0.0)


def test_cosine_that_rises_again_counts_its_cycles():
    rep = schedule_fit({"name": "cosine", "params": {"T_max": 100}}, 1350)
    assert "rises again" in rep.warnings[0] and "13.5 half-cycles" in rep.warnings[0]


def test_held_floor_is_named():
    rep = schedule_fit({"name": "polynomial", "params": {"decay_steps": 100, "end_lr": 0.0}}, 1000)
    assert rep.warnings[0].endswith("LR is 0 afterwards")
    rep = schedule_fit({"name": "wsd", "params": {"min_lr_ratio": 0.1}}, 2000)
    assert "LR stays at 0.1 × the base LR afterwards" in rep.warnings[0]


def test_cut_off_schedule_gives_the_percentage():
    rep = schedule_fit({"name": "one_cycle", "params": {"total_steps": 1000}}, 350)
    assert rep.warnings == ("schedule is cut off at 35 % of its length: it lasts 1,000 steps, the run 350",)


def test_epoch_unit_is_used_in_the_words():
    rep = schedule_fit({"name": "cosine", "params": {"T_max": 10}}, 50, unit="epoch")
    assert rep.warnings[0].startswith("schedule ends at epoch 10 of 50")


@pytest.mark.parametrize("total", [1000, 1005, 995])
def test_schedule_within_tolerance_fits(total):
    rep = schedule_fit({"name": "cosine", "params": {"T_max": 1000}}, total)
    assert rep.fits and rep.warnings == ()


def test_schedules_without_a_length_fit_any_run():
    for spec in ("step", "exponential", "cyclic", "cosine_restarts", "constant"):
        rep = schedule_fit({"name": spec, "params": {"step_size": 10}} if spec == "step" else spec, 500)
        assert rep.length is None and rep.fits, spec


def test_milestones_past_the_end_are_named():
    rep = schedule_fit({"name": "multistep", "params": {"milestones": [30, 2000, 3000]}}, 1350)
    assert rep.warnings == ("milestones 2,000, 3,000 fall after the run's end (1,350 steps): they never apply",)
    rep = schedule_fit({"name": "step", "params": {"step_size": 5000}}, 1350)
    assert rep.warnings == ("step_size 5,000 falls after the run's end (1,350 steps): the LR never decays",)


@pytest.mark.parametrize("spec, total", [
    ({"name": "cosine", "params": {"T_max": 100}}, 1350),
    ({"name": "cosine", "params": {"T_max": 100, "warmup_steps": 10}}, 777),
    ({"name": "one_cycle", "params": {"total_steps": 1000}}, 350),
    ({"name": "polynomial", "params": {"decay_steps": 10}}, 640),
    ({"name": "linear_cosine", "params": {"decay_steps": 10}}, 640),
    ({"name": "wsd", "params": {"num_warmup_steps": 50, "num_stable_steps": 300, "num_decay_steps": 100}}, 1350),
    (WARMUP_COSINE, 1350),
    ({"name": "sequential", "params": {"milestones": [50], "schedules": [
        {"name": "linear", "params": {"total_iters": 50}}, {"name": "cosine", "params": {"T_max": 30}}]}}, 900),
])
def test_fit_to_run_makes_the_schedule_last_the_run(spec, total):
    fitted = fit_to_run(spec, total)
    assert schedule_length(fitted) == total
    assert schedule_fit(fitted, total).fits
    assert not schedule_fit(spec, total).fits and schedule_fit(spec, total).fittable


def test_fit_to_run_keeps_the_warmup_and_proportions():
    fitted = fit_to_run({"name": "wsd", "params": {
        "num_warmup_steps": 50, "num_stable_steps": 300, "num_decay_steps": 100}}, 1050)
    p = fitted["params"]
    assert p["num_warmup_steps"] == 50 and p["num_decay_steps"] == 250 and p["num_stable_steps"] == 750
    assert fit_to_run(WARMUP_COSINE, 1350)["params"]["inner"]["params"]["T_max"] == 1330


def test_fit_to_run_leaves_lengthless_schedules_alone():
    spec = {"name": "step", "params": {"step_size": 10, "gamma": 0.5}}
    assert fit_to_run(spec, 500)["params"]["step_size"] == 10
    assert not schedule_fit(spec, 500).fittable


def test_invalid_spec_raises_the_schedule_error():
    with pytest.raises(ScheduleError):
        schedule_fit({"name": "nope"}, 100)


def test_fit_asks_each_registration_and_names_no_schedule():
    """The lengths live in each schedule's registration (ScheduleInfo.lengths), not in fit.py."""
    import inspect

    from lrstudio.core.schedules import SCHEDULES, fit

    source = inspect.getsource(fit)
    assert '["name"] ==' not in source and "name in (" not in source
    named = [n for n in SCHEDULES if f'== "{n}"' in source or f'"{n}":' in source]
    assert named == []


def test_milestones_of_nested_schedules_are_checked_where_they_start():
    spec = {"name": "sequential", "params": {"milestones": [100], "schedules": [
        {"name": "constant"}, {"name": "multistep", "params": {"milestones": [50, 900]}}]}}
    rep = schedule_fit(spec, 500)
    # the child starts at step 100, so of the run's 500 steps it sees 400: 900 never applies
    assert rep.warnings == ("milestones 900 falls after the run's end (400 steps): it never applies",)


@pytest.mark.parametrize("total", [1000, 1350, 37])
def test_fit_to_run_keeps_lengths_given_as_shares_as_shares(total):
    """Issue 15, decided: "Fit to run" keeps a length given as a share of the run a share. A share the
    fit leaves alone stays as typed; one the fit changes becomes the share of the new length ("auto"
    when it is the whole of its part of the run); lengths given in steps stay steps. The fitted spec
    resolves, for this run, to what fitting the steps gives."""
    from lrstudio.core.schedules import resolve_lengths

    spec = {"name": "linear_warmup", "params": {"warmup_steps": "10%", "inner": {
        "name": "cosine", "params": {"T_max": "50%", "after_end": "hold"}}}}
    fitted = fit_to_run(spec, total)
    assert fitted["params"]["warmup_steps"] == "10%"
    assert fitted["params"]["inner"]["params"]["T_max"] == "auto"
    assert resolve_lengths(fitted, total) == fit_to_run(resolve_lengths(spec, total), total)
    assert schedule_fit(fitted, total).warnings == () and schedule_fit(fitted, 3 * total).warnings == ()
    # steps stay steps; only the share is kept
    mixed = {"name": "linear_warmup", "params": {"warmup_steps": "10%", "inner": {
        "name": "cosine", "params": {"T_max": 50}}}}
    got = fit_to_run(mixed, total)
    assert got["params"]["warmup_steps"] == "10%"
    assert got["params"]["inner"]["params"]["T_max"] == total - round(total / 10)
    # a share that is not the whole of its part: the share of the new length (wsd's proportions)
    wsd = {"name": "wsd", "params": {"num_warmup_steps": "5%", "num_stable_steps": 300, "num_decay_steps": 100}}
    w = fit_to_run(wsd, 2000)
    assert w["params"]["num_warmup_steps"] == "5%"
    assert resolve_lengths(w, 2000) == fit_to_run(resolve_lengths(wsd, 2000), 2000)
    # milestones of a sequential given as shares stay shares; its last child is fitted
    seq = {"name": "sequential", "params": {"milestones": ["30%"], "schedules": [
        {"name": "constant", "params": {"factor": 0.5, "total_iters": "30%"}},
        {"name": "cosine", "params": {"T_max": "20%"}}]}}
    s = fit_to_run(seq, total)
    assert s["params"]["milestones"] == ["30%"]
    assert s["params"]["schedules"][0]["params"]["total_iters"] == "30%"
    assert s["params"]["schedules"][1]["params"]["T_max"] == "auto"
    assert resolve_lengths(s, total) == fit_to_run(resolve_lengths(seq, total), total)
