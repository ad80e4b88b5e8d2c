"""Issue 14: the tracking API (``lrstudio.start_run``) logs a user's own training loop.

The acceptance tests run the user's script in a real subprocess: a tiny ``nn.Module`` trained
with a plain loop; what the database holds is compared with what the script logged, and a
``kill -9`` in the middle leaves an ``interrupted`` run with every committed point.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time

import numpy as np
import pytest

import lrstudio
from lrstudio.core.compare import differing_params, flatten_config
from lrstudio.services.tracking import TrackingError, start_run
from lrstudio.storage import open_store

# A user's script: its own model, its own loop, the tracking API. It writes what it logged to a
# JSON file (floats as Python writes them: exact) so that the test can compare the database.
USER_SCRIPT = textwrap.dedent("""
    import json, sys
    import torch
    from torch import nn
    import lrstudio

    class Tiny(nn.Module):
        def __init__(self):
            super().__init__()
            self.body = nn.Sequential(nn.Linear(3, 8), nn.Tanh(), nn.Linear(8, 1))

        def forward(self, x):
            return self.body(x)

    db, out = sys.argv[1], sys.argv[2]
    torch.manual_seed(0)
    x = torch.randn(64, 3)
    y = x @ torch.tensor([[1.0], [-2.0], [0.5]]) + 0.1
    model = Tiny()
    opt = torch.optim.SGD([{"params": model.body[0].parameters()},
                           {"params": model.body[2].parameters(), "lr": 0.01}], lr=0.05, momentum=0.9)
    sched = torch.optim.lr_scheduler.StepLR(opt, step_size=10, gamma=0.5)
    config = {"model": "Tiny", "lr": 0.05, "optimizer": {"name": "sgd", "momentum": 0.9},
              "layers": [3, 8, 1], "notes": None, "nested": {"a": {"b": True}}}
    logged = []
    with lrstudio.start_run(name="my loop", config=config, db=db, tags=["mine", "tiny"]) as run:
        for step in range(1, 41):
            opt.zero_grad()
            loss = nn.functional.mse_loss(model(x), y)
            loss.backward()
            opt.step()
            run.log({"train/loss": loss.item()}, step=step, epoch=(step - 1) // 10)
            run.log_lr(opt)
            logged.append([step, loss.item(), [g["lr"] for g in opt.param_groups]])
            sched.step()
    json.dump({"id": run.id, "config": config, "logged": logged}, open(out, "w"))
""")

# Logs forever (a value per step, printed before it is logged); flushes at step 30 and says so.
KILLED_SCRIPT = textwrap.dedent("""
    import sys, time
    import torch
    import lrstudio

    torch.manual_seed(1)
    w = torch.zeros(4, requires_grad=True)
    opt = torch.optim.Adam([w], lr=0.1)
    run = lrstudio.start_run(name="killed", config={"lr": 0.1}, db=sys.argv[1])
    print("run", run.id, flush=True)
    step = 0
    while True:
        step += 1
        opt.zero_grad()
        loss = ((w - torch.arange(4.0)) ** 2).sum()
        loss.backward()
        opt.step()
        print("point", step, repr(loss.item()), flush=True)
        run.log({"train/loss": loss.item(), "w0": w[0].item()}, step=step)
        if step == 30:
            run.flush()
            print("flushed", step, flush=True)
        time.sleep(0.005)
""")


@pytest.fixture
def db(tmp_path) -> str:
    return str(tmp_path / "tracking.sqlite")


def _url(path: str) -> str:
    return f"sqlite:///{path}"


def test_a_plain_torch_loop_in_a_subprocess_is_stored_exactly_as_logged(tmp_path, db):
    script, out = tmp_path / "train.py", tmp_path / "logged.json"
    script.write_text(USER_SCRIPT, encoding="utf-8")
    res = subprocess.run([sys.executable, str(script), db, str(out)], capture_output=True, text=True,
                         timeout=120)
    assert res.returncode == 0, res.stderr
    data = json.loads(out.read_text(encoding="utf-8"))
    logged = data["logged"]
    with open_store(_url(db)) as store:
        info = store.get_run(data["id"])
        series = store.load_series(data["id"])
    assert (info.kind, info.status, info.name) == ("external", "completed", "my loop")
    assert info.config_dict == data["config"]
    assert set(info.tags) == {"mine", "tiny"}
    assert (info.model, info.optimizer, info.base_lr) == ("Tiny", "sgd", 0.05)
    assert info.steps == 40 and info.final_loss == logged[-1][1]
    assert info.best_loss == min(p[1] for p in logged)
    assert set(series) == {"train/loss", "lr", "lr/group1"}
    steps = [p[0] for p in logged]
    for key, values in (("train/loss", [p[1] for p in logged]), ("lr", [p[2][0] for p in logged]),
                        ("lr/group1", [p[2][1] for p in logged])):
        assert series[key].step.tolist() == steps, key
        assert series[key].value.tolist() == values, key  # exactly: the same doubles
    assert series["train/loss"].epoch.tolist() == [(s - 1) // 10 for s in steps]
    assert series["lr"].value[9] == 0.05 and series["lr"].value[10] == 0.025  # StepLR's halving


def test_kill_9_in_the_middle_leaves_an_interrupted_run_with_every_committed_point(tmp_path, db):
    script = tmp_path / "killed.py"
    script.write_text(KILLED_SCRIPT, encoding="utf-8")
    proc = subprocess.Popen([sys.executable, str(script), db], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    printed: dict[int, float] = {}
    run_id = flushed = None
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            line = proc.stdout.readline().split()
            if not line:
                break
            if line[0] == "run":
                run_id = int(line[1])
            elif line[0] == "point":
                printed[int(line[1])] = float(line[2])
            elif line[0] == "flushed":
                flushed = int(line[1])
            if flushed and len(printed) >= flushed + 100:  # well past the flush, mid-commit cycle
                break
        assert flushed == 30, proc.stderr.read() if proc.poll() is not None else "no flush seen"
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
        proc.stdout.close()
        proc.stderr.close()
    with open_store(_url(db)) as store:  # opening the store recovers the run
        info = store.get_run(run_id)
        series = store.load_series(run_id)
    assert info.status == "interrupted"
    assert f"pid {proc.pid}" in info.error
    loss = series["train/loss"]
    n = len(loss.step)
    assert n >= 30  # every point up to the flush, and whatever later commits wrote
    assert loss.step.tolist() == list(range(1, n + 1))
    assert loss.value.tolist() == [printed[s] for s in range(1, n + 1)]
    assert series["w0"].step.tolist() == loss.step.tolist()


def test_an_exception_in_the_block_ends_the_run_failed_with_its_message(db):
    with pytest.raises(ZeroDivisionError):
        with start_run(name="boom", db=db) as run:
            run.log({"train/loss": 1.0}, step=1)
            run.log({"train/loss": 0.5}, step=2)
            1 / 0  # noqa: B018
    with open_store(_url(db)) as store:
        info = store.get_run(run.id)
        series = store.load_series(run.id)
    assert info.status == "failed"
    assert info.error == "ZeroDivisionError: division by zero"
    assert series["train/loss"].value.tolist() == [1.0, 0.5]  # the points before it are kept
    with pytest.raises(TrackingError, match="is finished"):
        run.log({"train/loss": 0.1})


def test_finish_takes_a_status_and_refuses_unknown_ones(db):
    run = start_run(name="stopped early", db=db)
    run.log({"val/acc": 0.5, "val/loss": 2.0})
    run.log({"val/acc": 0.75, "val/loss": 1.0})
    with pytest.raises(TrackingError, match="allowed: completed, stopped"):
        run.finish("done")
    run.finish("stopped")
    run.finish("completed")  # a second call does nothing
    with open_store(_url(db)) as store:
        info = store.get_run(run.id)
        series = store.load_series(run.id)
    assert info.status == "stopped"
    assert (info.best_accuracy, info.best_val_loss, info.final_val_loss) == (0.75, 1.0, 1.0)
    assert series["val/acc"].step.tolist() == [1, 2]  # steps counted without being given


def test_log_lr_stores_every_param_group_and_defaults_to_the_last_logged_step(db):
    import torch

    a, b, c = (torch.nn.Parameter(torch.zeros(1)) for _ in range(3))
    opt = torch.optim.SGD([{"params": [a]}, {"params": [b], "lr": 0.2}, {"params": [c], "lr": 0.3}], lr=0.1)
    with start_run(db=db) as run:
        run.log_lr(opt)  # nothing logged yet: step 1
        run.log({"train/loss": 3.0}, step=7)
        run.log_lr(opt)  # the step of the last log()
        run.log_lr(opt, step=9)
    with open_store(_url(db)) as store:
        series = store.load_series(run.id)
    assert series["lr"].step.tolist() == [1, 7, 9]
    assert series["lr"].value.tolist() == [0.1, 0.1, 0.1]
    assert series["lr/group1"].value.tolist() == [0.2] * 3
    assert series["lr/group2"].value.tolist() == [0.3] * 3
    with start_run(db=db) as run2, pytest.raises(TrackingError, match="param_groups"):
        run2.log_lr("not an optimizer")


def test_log_lr_without_a_step_follows_this_threads_last_log_not_another_threads(db):
    """A side thread that logs ahead (system metrics, a data loader's counters) must not pull
    the training thread's LRs to its steps (seen by hand: every LR landed on the side thread's
    last step, one point left in the LR series)."""
    import torch

    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.1)
    with start_run(db=db) as run:
        side = threading.Thread(target=lambda: run.log({"side/x": 1.0}, step=1000))
        side.start()
        side.join()
        for step in range(5):  # from step 0, which is a step like any other
            run.log({"train/loss": 1.0 / (step + 1)}, step=step)
            opt.param_groups[0]["lr"] = 0.1 * (step + 1)
            run.log_lr(opt)
        run.log({"train/loss": 0.1}, step=2)  # a step logged again, out of order: log_lr goes there
        run.log_lr(opt)
        other: list[BaseException] = []

        def lr_only() -> None:  # a thread that never called log(): the run's last step
            try:
                run.log_lr(opt)
            except BaseException as exc:
                other.append(exc)

        side = threading.Thread(target=lr_only)
        side.start()
        side.join()
        assert other == []
    with open_store(_url(db)) as store:
        series = store.load_series(run.id)
    assert series["lr"].step.tolist() == [0, 1, 2, 3, 4, 1000]
    assert series["lr"].value.tolist() == pytest.approx([0.1, 0.2, 0.5, 0.4, 0.5, 0.5])


@pytest.mark.parametrize("values,message", [
    ({"loss": "0.5"}, "the value of 'loss' must be a number"),
    ({"loss": [1.0, 2.0]}, "must be a number"),
    ({"": 1.0}, "a metric key must be non-empty text"),
    ({3: 1.0}, "a metric key must be non-empty text"),
    ([("loss", 1.0)], "takes a dict"),
])
def test_bad_values_are_refused_with_a_message_and_nothing_is_stored(db, values, message):
    with start_run(db=db) as run:
        with pytest.raises(TrackingError, match=message):
            run.log(values, step=1)
        with pytest.raises(TrackingError, match="step must be a whole number"):
            run.log({"loss": 1.0}, step=-1)
        with pytest.raises(TrackingError, match="step must be a whole number"):
            run.log({"loss": 1.0}, step=1.5)
    with open_store(_url(db)) as store:
        assert store.load_series(run.id) == {}
        assert store.get_run(run.id).status == "completed"


def test_tensors_numpy_scalars_and_non_finite_values_are_kept(db):
    import torch

    with start_run(db=db) as run:
        run.log({"a": torch.tensor(0.25), "b": np.float32(0.1), "c": float("nan"), "d": float("-inf"), "e": 3},
                step=np.int64(5))
    with open_store(_url(db)) as store:
        s = store.load_series(run.id)
    assert s["a"].value[0] == 0.25 and s["b"].value[0] == float(np.float32(0.1)) and s["e"].value[0] == 3.0
    assert np.isnan(s["c"].value[0]) and s["d"].value[0] == -np.inf
    assert s["a"].step.tolist() == [5]


def test_a_config_that_is_not_json_or_not_a_dict_is_refused_and_no_run_is_made(db):
    with pytest.raises(lrstudio.core.errors.LrstudioError, match="JSON-able"):
        start_run(config={"f": object()}, db=db)
    with pytest.raises(TrackingError, match="config must be a dict"):
        start_run(config=[1, 2], db=db)  # type: ignore[arg-type]
    with pytest.raises(TrackingError, match="tags must be text"):
        start_run(tags=[1], db=db)  # type: ignore[list-item]
    with open_store(_url(db)) as store:
        assert store.list_runs() == []


def test_several_threads_can_log_into_one_run(db):
    run = start_run(name="threads", db=db)
    n = 2000

    def work(k: int) -> None:
        for i in range(1, n + 1):
            run.log({f"t{k}": float(i * k)}, step=i)

    threads = [threading.Thread(target=work, args=(k,)) for k in range(1, 5)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    run.finish()
    with open_store(_url(db)) as store:
        series = store.load_series(run.id)
    for k in range(1, 5):
        assert series[f"t{k}"].step.tolist() == list(range(1, n + 1))
        assert series[f"t{k}"].value.tolist() == [float(i * k) for i in range(1, n + 1)]


def test_the_heartbeat_stays_fresh_while_the_loop_pauses(db):
    """A loop that stops logging (an evaluation, a data download) still beats: the run's
    background thread refreshes heartbeat_at every heartbeat_s, which is what another host's
    recover_interrupted() reads (here 0.2 s instead of 5 s, so the test does not wait)."""
    import datetime as dt

    from lrstudio.services.tracking import TrackedRun

    with open_store(_url(db)) as store:
        run_id = store.create_run({"lr": 0.1}, name="pausing", kind="external")
        run = TrackedRun(store, run_id, owns_store=False, max_delay_s=0.05, heartbeat_s=0.2)
        try:
            run.log({"train/loss": 1.0}, step=1)
            run.flush()
            beats = set()
            t0 = time.monotonic()
            while time.monotonic() - t0 < 2.0:  # the pause: nothing logged
                beat = store.get_run(run_id).heartbeat_at
                assert beat is not None
                beats.add(beat)
                time.sleep(0.05)
            age = (dt.datetime.now(dt.UTC) - max(beats)).total_seconds()
            assert len(beats) >= 4, sorted(beats)  # refreshed over and over, ~every 0.2 s
            assert age < 1.5, age  # and fresh at the end of the pause (margin for a loaded machine)
            assert store.get_run(run_id).status == "running"
            assert store.load_series(run_id)["train/loss"].step.tolist() == [1]  # beats add no points
            run.log({"train/loss": 0.5}, step=2)
        finally:
            run.finish()
        assert store.get_run(run_id).status == "completed"


def test_logging_does_not_commit_per_call(db):
    with start_run(db=db) as run:
        for i in range(1, 3001):
            run.log({"train/loss": 1.0 / i, "lr": 0.1, "x": float(i)}, step=i)
        commits = run._recorder.commits
    # 9,000 points: a transaction per 1,000 points or per half second, not one per call.
    assert commits < 60, commits


def test_an_open_store_can_be_given_and_stays_open(db):
    with open_store(_url(db)) as store:
        with start_run(name="given store", db=store) as run:
            run.log({"train/loss": 1.0})
        assert store.get_run(run.id).status == "completed"  # still usable


def test_external_configs_flatten_in_the_settings_diff():
    a = {"lr": 0.1, "optimizer": {"name": "sgd", "momentum": 0.9}, "layers": [3, 8, 1],
         "aug": [{"name": "flip"}, {"name": "crop", "size": 32}], "note": None}
    b = {"lr": 0.1, "optimizer": {"name": "sgd", "momentum": 0.95}, "layers": [3, 16, 1],
         "aug": [{"name": "flip"}], "extra": True}
    assert flatten_config(a)["aug.1.size"] == 32
    assert differing_params([a, b]) == ["optimizer.momentum", "layers", "aug.1.name", "aug.1.size", "note",
                                        "extra"]


def test_a_run_left_open_is_finished_at_interpreter_exit(tmp_path, db):
    code = ("import lrstudio, sys\n"
            "run = lrstudio.start_run(name='left open', db=sys.argv[1])\n"
            "run.log({'train/loss': 1.0})\n"
            "if sys.argv[2] == 'crash':\n"
            "    raise RuntimeError('crashed at the end')\n")
    for mode in ("ok", "crash"):
        res = subprocess.run([sys.executable, "-c", code, db, mode], capture_output=True, text=True, timeout=60)
        assert (res.returncode == 0) == (mode == "ok"), res.stderr
    with open_store(_url(db)) as store:
        runs = sorted(store.list_runs(), key=lambda r: r.id)
    assert [r.status for r in runs] == ["completed", "failed"]
    assert runs[1].error == "RuntimeError: crashed at the end"


def test_import_lrstudio_stays_light():
    code = "import sys, lrstudio; print(sorted(m for m in ('sqlalchemy', 'torch', 'numpy') if m in sys.modules))"
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert res.stdout.strip() == "[]", res.stderr


def test_jsonable_turns_framework_hyperparameters_into_json():
    import argparse
    import dataclasses

    import torch

    from lrstudio.services.tracking import jsonable

    @dataclasses.dataclass
    class Opts:
        depth: int = 3
        widths: tuple = (8, 16)

    params = {"ns": argparse.Namespace(lr=0.1, name="x"), "opts": Opts(), "t": torch.tensor(0.5),
              "arr": np.arange(3), "np": np.float32(0.25), "cls": torch.nn.Linear, "fn": len,
              "module": torch.nn.Linear(2, 2), 7: {"nested": (1, None, True)}, "other": ValueError("odd")}
    out = jsonable(params)
    json.dumps(out, allow_nan=False)  # JSON as it is
    assert out["ns"] == {"lr": 0.1, "name": "x"} and out["opts"] == {"depth": 3, "widths": [8, 16]}
    assert (out["t"], out["arr"], out["np"]) == (0.5, [0, 1, 2], 0.25)
    assert (out["cls"], out["fn"], out["module"]) == ("Linear", "len", "Linear")
    assert out["7"] == {"nested": [1, None, True]} and out["other"] == "odd"


# -- key names (the keys Compare plots: train/loss, val/loss, lr) --------------------------------
def test_common_names_are_stored_under_the_keys_compare_plots_and_the_renaming_is_recorded(db):
    with start_run(db=db) as run:
        for step in range(1, 4):
            run.log({"loss": 1.0 / step, "val_loss": 2.0 / step, "learning_rate": 0.1, "acc": 0.5}, step=step)
        assert run.renamed == {"loss": "train/loss", "val_loss": "val/loss", "learning_rate": "lr"}
    with open_store(_url(db)) as store:
        info, series = store.get_run(run.id), store.load_series(run.id)
    assert set(series) == {"train/loss", "val/loss", "lr", "acc"}
    assert series["train/loss"].value.tolist() == [1.0, 0.5, 1.0 / 3]
    assert series["val/loss"].value.tolist() == [2.0, 1.0, 2.0 / 3]
    assert info.summary_extra["renamed"] == {"loss": "train/loss", "val_loss": "val/loss", "learning_rate": "lr"}
    assert (info.final_loss, info.best_loss, info.final_val_loss) == (1.0 / 3, 1.0 / 3, 2.0 / 3)


def test_a_name_is_never_renamed_onto_a_key_the_run_logs_itself(db):
    with start_run(db=db) as run:
        run.log({"loss": 1.0, "train/loss": 2.0, "train_loss": 3.0}, step=1)
        run.log({"loss": 4.0, "train/loss": 5.0, "train_loss": 6.0}, step=2)
        assert run.renamed == {}
    with open_store(_url(db)) as store:
        series = store.load_series(run.id)
    assert {k: s.value.tolist() for k, s in series.items()} == {
        "loss": [1.0, 4.0], "train/loss": [2.0, 5.0], "train_loss": [3.0, 6.0]}


def test_the_preferred_name_wins_when_a_call_has_two_and_the_other_keeps_its_name(db):
    with start_run(db=db) as run:
        run.log({"loss": 1.0, "train_loss": 2.0}, step=1)
        assert run.renamed == {"train_loss": "train/loss"}
    with open_store(_url(db)) as store:
        series = store.load_series(run.id)
    assert {k: s.value.tolist() for k, s in series.items()} == {"train/loss": [2.0], "loss": [1.0]}


def test_the_app_key_logged_after_a_renamed_name_is_refused_with_a_message_and_not_stored(db):
    with start_run(db=db) as run:
        run.log({"loss": 1.0}, step=1)
        with pytest.raises(TrackingError, match=r"'train/loss' holds the values of 'loss'.*aliases=False"):
            run.log({"train/loss": 2.0, "other": 3.0}, step=2)
        import torch

        opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.5)
        run.log({"learning_rate": 0.1}, step=2)
        with pytest.raises(TrackingError, match=r"'lr' holds the values of 'learning_rate'"):
            run.log_lr(opt)
        run.log({"loss": 0.5}, step=3)
    with open_store(_url(db)) as store:
        series = store.load_series(run.id)
    assert {k: s.value.tolist() for k, s in series.items()} == {"train/loss": [1.0, 0.5], "lr": [0.1]}


def test_loss_key_says_which_key_is_the_loss(db):
    with start_run(db=db, loss_key="mse", val_loss_key="holdout") as run:
        run.log({"mse": 1.0, "loss": 9.0, "holdout": 2.0, "val_loss": 8.0}, step=1)
        assert run.renamed == {"mse": "train/loss", "holdout": "val/loss"}
    with open_store(_url(db)) as store:
        info, series = store.get_run(run.id), store.load_series(run.id)
    assert {k: s.value.tolist() for k, s in series.items()} == {
        "train/loss": [1.0], "loss": [9.0], "val/loss": [2.0], "val_loss": [8.0]}
    assert info.final_loss == 1.0 and info.final_val_loss == 2.0


def test_aliases_false_keeps_every_key_as_logged(db):
    with start_run(db=db, aliases=False) as run:
        run.log({"loss": 1.0, "learning_rate": 0.1}, step=1)
        assert run.renamed == {}
    with open_store(_url(db)) as store:
        info, series = store.get_run(run.id), store.load_series(run.id)
    assert set(series) == {"loss", "learning_rate"}
    assert "renamed" not in info.summary_extra


@pytest.mark.parametrize("kwargs,message", [
    ({"loss_key": ""}, "loss_key must be non-empty text"),
    ({"loss_key": 3}, "loss_key must be non-empty text"),
    ({"loss_key": "x", "val_loss_key": "x"}, "loss_key and val_loss_key must differ"),
    ({"loss_key": "lr"}, "loss_key cannot be 'lr'"),
])
def test_bad_loss_keys_are_refused_and_no_run_is_made(db, kwargs, message):
    with pytest.raises(TrackingError, match=message):
        start_run(db=db, **kwargs)
    with open_store(_url(db)) as store:
        assert store.list_runs() == []
