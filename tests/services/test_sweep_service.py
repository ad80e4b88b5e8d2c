"""The sweep executor (issue 13): trials in worker processes, pruning, cancel, resume, kill -9."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time

import pytest

from lrstudio.core.config import RunConfig
from lrstudio.core.sweep import ExperimentSpec, summarise_trials
from lrstudio.services.sweep import LocalExecutor, SweepRunner
from lrstudio.storage import open_store


@pytest.fixture
def url(tmp_path):
    return f"sqlite:///{tmp_path / 'sweep.sqlite'}"


def base(**kw):
    return RunConfig(model="linear", epochs=kw.pop("epochs", 3), batch_size=32, **kw)


def test_grid_sweep_in_two_workers_stores_every_trial_with_its_experiment(url):
    with open_store(url) as store:
        spec = ExperimentSpec(base=base(), space={"lr": [0.1, 0.01]}, method="grid", seeds=(0, 1))
        eid = store.create_experiment(spec)
        seen = []
        executor = LocalExecutor(2)
        result = SweepRunner(store, eid, executor, on_progress=seen.append).run()
        assert result.status == "completed" and store.get_experiment(eid).status == "completed"
        runs = store.list_trials(eid)
        assert sorted((r.trial, r.config_dict["seed"], r.base_lr) for r in runs) == [
            (0, 0, 0.1), (0, 1, 0.1), (1, 0, 0.01), (1, 1, 0.01)]
        assert {r.status for r in runs} == {"completed"} and {r.kind for r in runs} == {"training"}
        # Worker processes (a job goes to whichever is ready first: one fast worker may take all).
        assert 1 <= len({o.worker_pid for o in result.outcomes}) <= 2
        assert os.getpid() not in {o.worker_pid for o in result.outcomes}
        assert executor.in_flight() == 0 and executor._workers == []  # closed
        assert [p.done for p in seen] == [1, 2, 3, 4] and seen[-1].total == 4
        # The outcomes agree with the stored summaries, and the table with both.
        by_id = {r.id: r for r in runs}
        for o in result.outcomes:
            assert o.summary["best_val_loss"] == by_id[o.run_id].best_val_loss
        rows = summarise_trials(store.get_experiment(eid).spec(), runs)
        for row in rows:
            vals = sorted(by_id[i].best_val_loss for i in row.run_ids)
            assert sorted(row.values) == vals and row.mean == pytest.approx(sum(vals) / 2, abs=1e-15)
        assert rows[0].mean <= rows[1].mean
        # Running it again (resume of a finished sweep) starts nothing.
        again = SweepRunner(store, eid, LocalExecutor(2)).run()
        assert again.outcomes == () and again.status == "completed" and len(store.list_trials(eid)) == 4


def test_local_workers_fork_warm_from_the_forkserver_with_one_torch_thread(url):
    # The forkserver runs the warm-up (torch kernels, the ORM's mappers) once; each worker forked
    # from it inherits it instead of paying 0.6-0.9 s of its own before its first trial.
    with open_store(url) as store:
        eid = store.create_experiment(ExperimentSpec(base=base(epochs=1), space={"lr": [0.1]}, method="grid",
                                                     seeds=(0, 1)))
        executor = LocalExecutor(2)
        assert SweepRunner(store, eid, executor).run().status == "completed"
    assert executor.workers_ready, "no worker reported ready"
    for warm, threads in executor.workers_ready:
        assert warm is True and threads == 1


def test_optuna_prunes_on_validation_loss_and_stores_pruned_runs(url):
    with open_store(url) as store:
        spec = ExperimentSpec(base=base(epochs=8), space={"lr": {"log_uniform": [1e-3, 1.0]}}, method="optuna",
                              trials=8, seeds=(0,), prune=True, sweep_seed=0)
        eid = store.create_experiment(spec)
        result = SweepRunner(store, eid, LocalExecutor(1)).run()
        assert result.status == "completed" and result.study_trials == 8
        runs = {r.trial: r for r in store.list_trials(eid)}
        assert len(runs) == 8
        pruned = [r for r in runs.values() if r.status == "pruned"]
        assert pruned, [r.status for r in runs.values()]
        for r in pruned:  # stopped at the end of an epoch, before the last one
            assert r.epochs < 8 and r.error is None
        state = store.get_experiment(eid).state
        assert sorted(state["trials"], key=int) == [str(i) for i in range(8)]
        assert all(runs[int(k)].base_lr == v["lr"] for k, v in state["trials"].items())


def test_cancel_stops_running_trials_queued_never_start_and_resume_completes(url):
    with open_store(url) as store:
        spec = ExperimentSpec(base=base(epochs=400), space={"lr": [0.1, 0.05, 0.02, 0.01]}, method="grid")
        eid = store.create_experiment(spec)
        runner = SweepRunner(store, eid, LocalExecutor(1))

        def cancel_when_running():
            while not any(r.status == "running" for r in store.list_trials(eid)):
                time.sleep(0.1)
            runner.cancel()

        t = threading.Thread(target=cancel_when_running)
        t.start()
        result = runner.run()
        t.join()
        assert result.status == "cancelled" and store.get_experiment(eid).status == "cancelled"
        runs = store.list_trials(eid)
        assert [(r.trial, r.status) for r in runs] == [(0, "stopped")]  # the queued ones never started
        assert runs[0].epochs < 400
        # Resume: the stopped trial runs again, then the rest.
        result = SweepRunner(store, eid, LocalExecutor(2)).run()
        assert result.status == "completed"
        final = {}
        for r in store.list_trials(eid):
            final.setdefault(r.trial, []).append(r.status)
        assert final == {0: ["stopped", "completed"], 1: ["completed"], 2: ["completed"], 3: ["completed"]}


KILLED_SWEEP = """
import sys
from lrstudio.core.config import RunConfig
from lrstudio.core.sweep import ExperimentSpec
from lrstudio.services.sweep import LocalExecutor, SweepRunner
from lrstudio.storage import open_store

if __name__ == "__main__":
    store = open_store(sys.argv[1])
    spec = ExperimentSpec(base=RunConfig(epochs=300, batch_size=32), space={"lr": {"log_uniform": [1e-3, 0.3]}},
                          method="optuna", trials=6, seeds=(0,), sweep_seed=1)
    eid = store.create_experiment(spec)
    print(eid, flush=True)
    SweepRunner(store, eid, LocalExecutor(2)).run()
"""


def test_kill_9_of_the_parent_keeps_finished_trials_and_resume_continues_the_study(url, tmp_path):
    script = tmp_path / "sweep_parent.py"
    script.write_text(KILLED_SWEEP)
    proc = subprocess.Popen([sys.executable, str(script), url], stdout=subprocess.PIPE, text=True)
    try:
        eid = int(proc.stdout.readline())
        with open_store(url) as store:
            deadline = time.monotonic() + 180
            while time.monotonic() < deadline:
                runs = store.list_trials(eid)
                if sum(r.status == "completed" for r in runs) >= 2 and any(r.status == "running" for r in runs):
                    break
                time.sleep(0.2)
            else:
                pytest.fail("the sweep never had 2 finished trials and one running")
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(10)
            path = url.removeprefix("sqlite:///")
            with sqlite3.connect(path) as con:
                assert con.execute("PRAGMA integrity_check").fetchone() == ("ok",)
            runner = SweepRunner(store, eid, LocalExecutor(2))
            result = runner.run()  # waits for the orphaned workers to end their runs first
            after = store.list_trials(eid)
            finished_before = {r.id for r in runs if r.status == "completed"}
            assert finished_before <= {r.id for r in after if r.status == "completed"}  # kept, not rerun
            assert all(o.run_id not in finished_before for o in result.outcomes)
            state = store.get_experiment(eid).state
            assert result.status == "completed"
            assert state["study_trials_at_start"] >= 2  # the study was rebuilt from the stored trials
            assert result.study_trials == state["study_trials"] == 6  # and grew from there to the 6 asked
            done = {r.trial for r in after if r.status in ("completed", "diverged", "failed")}
            assert done == set(range(6))
            interrupted = [r for r in after if r.status == "interrupted"]
            assert interrupted and all(r.epochs < 300 for r in interrupted)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stdout.close()


def test_an_abort_leaves_the_sweep_interrupted_and_resumable(url):
    with open_store(url) as store:
        spec = ExperimentSpec(base=base(), space={"lr": [0.1, 0.05, 0.01]}, method="grid")
        eid = store.create_experiment(spec)

        def abort(progress):  # a second Ctrl-C arrives while the sweep runs
            raise KeyboardInterrupt

        with pytest.raises(KeyboardInterrupt):
            SweepRunner(store, eid, LocalExecutor(1), on_progress=abort).run()
        info = store.get_experiment(eid)
        assert info.status == "interrupted" and info.owner_pid is None
        assert SweepRunner(store, eid, LocalExecutor(1)).run().status == "completed"
        assert sorted(r.trial for r in store.list_trials(eid) if r.status == "completed") == [0, 1, 2]


@pytest.mark.parametrize(("statuses", "values"), [
    (("completed", "diverged"), (1.0, 0.5)),  # the diverged seed's best value before it blew up
    (("diverged",), (0.5,)),
    (("completed", "failed"), (1.0, 0.7)),
])
def test_optuna_is_told_a_diverged_or_failed_trial_as_failed_not_its_finite_value(statuses, values):
    # Optuna's FAQ: a trial whose objective returns NaN is a FAIL (not a value that steers the
    # sampler). A diverged run's stored metric is the best before it diverged: finite, and good-looking.
    import optuna

    from lrstudio.services.sweep import TrialOutcome, _Point, _trial_value

    seeds = tuple(range(len(statuses)))
    spec = ExperimentSpec(base=base(), space={"lr": {"log_uniform": [1e-3, 1.0]}}, method="optuna", trials=2,
                          seeds=seeds).validated()
    value, state = _trial_value(spec, list(statuses), list(values))
    assert (value, state) == (None, optuna.trial.TrialState.FAIL)
    runner = SweepRunner(None, 1, LocalExecutor(1))
    runner.study = optuna.create_study(direction="minimize")
    dists = {"lr": optuna.distributions.FloatDistribution(1e-3, 1.0, log=True)}
    trial = runner.study.ask(dists)
    results = {s: TrialOutcome(0, s, 10 + s, st, {"best_val_loss": v})
               for s, st, v in zip(seeds, statuses, values, strict=True)}
    runner._tell(spec, {}, _Point(0, {"lr": trial.params["lr"]}, [], trial, results))
    (told,) = runner.study.trials
    assert told.state == optuna.trial.TrialState.FAIL and told.value is None
    # a complete trial is still told its mean
    trial2 = runner.study.ask(dists)
    ok = {s: TrialOutcome(1, s, 20 + s, "completed", {"best_val_loss": 1.0 + s}) for s in seeds}
    runner._tell(spec, {}, _Point(1, {"lr": trial2.params["lr"]}, [], trial2, ok))
    assert runner.study.trials[1].state == optuna.trial.TrialState.COMPLETE
    assert runner.study.trials[1].value == pytest.approx(1.0 + (len(seeds) - 1) / 2)
