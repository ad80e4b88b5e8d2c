"""Issue 14: the tracking API (``lrstudio.start_run``) on PostgreSQL, several threads logging into
one run. It lives here for this directory's ``pg_url`` fixture (a fresh schema per test); the
SQLite cases are in ``tests/services/test_tracking.py``."""

from __future__ import annotations

import threading

import pytest

from lrstudio.services.tracking import start_run
from lrstudio.storage import open_store

pytestmark = pytest.mark.postgres


def test_several_threads_log_into_one_run_on_postgresql(pg_url):
    torch = pytest.importorskip("torch")
    n, threads_n = 1500, 4
    errors: list[BaseException] = []
    barrier = threading.Barrier(threads_n)
    with start_run(name="threads on pg", config={"lr": 0.1, "nested": {"k": [1, 2]}}, db=pg_url,
                   tags=["pg"]) as run:

        def work(k: int) -> None:
            opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.01 * k)
            try:
                barrier.wait(timeout=30)
                for i in range(1, n + 1):
                    run.log({f"t{k}/loss": float(i * k), f"t{k}/aux": -float(i)}, step=i)
                    if i % 100 == 0:
                        run.log_lr(opt)  # this thread's step, whatever the others logged
                        run.log({f"t{k}/lr_step": float(i)}, step=i)
            except BaseException as exc:
                errors.append(exc)

        workers = [threading.Thread(target=work, args=(k,)) for k in range(1, threads_n + 1)]
        for t in workers:
            t.start()
        for t in workers:
            t.join(timeout=120)
        assert not any(t.is_alive() for t in workers)
        commits = run._recorder.commits
    assert errors == []
    # 4 threads x 1,500 steps x 2 metrics: batched, not a transaction per call.
    assert commits < 100, commits
    with open_store(pg_url) as store:
        info = store.get_run(run.id)
        series = store.load_series(run.id)
    assert (info.kind, info.status, info.tags, info.config_dict) == (
        "external", "completed", ("pg",), {"lr": 0.1, "nested": {"k": [1, 2]}})
    steps = list(range(1, n + 1))
    for k in range(1, threads_n + 1):
        assert series[f"t{k}/loss"].step.tolist() == steps
        assert series[f"t{k}/loss"].value.tolist() == [float(i * k) for i in steps]
        assert series[f"t{k}/aux"].value.tolist() == [-float(i) for i in steps]
    # Every thread's LRs went to steps that thread logged (multiples of 100), none lost.
    assert series["lr"].step.tolist() == list(range(100, n + 1, 100))
    assert set(series["lr"].value.tolist()) <= {0.01 * k for k in range(1, threads_n + 1)}
