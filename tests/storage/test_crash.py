"""kill -9 in the middle of recording: the file stays sound and the run comes back ``interrupted``
with every point up to the last commit."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time

from lrstudio.storage import open_store

CHILD = textwrap.dedent(
    """
    import sys, time
    from lrstudio.core.config import RunConfig
    from lrstudio.core.events import RunStarted, StepLogged
    from lrstudio.storage import open_store

    store = open_store(sys.argv[1])
    rid = store.create_run(RunConfig(name="doomed"), status="queued")
    rec = store.recorder(rid, max_delay_s=0.05)
    rec.handle([RunStarted(10**9, 100, 10**7, 0.0)])
    print("run", rid, flush=True)
    commits = rec.commits
    step = 0
    while True:
        batch = []
        for _ in range(37):
            step += 1
            batch.append(StepLogged(step, step // 100, step * 1e-3, {"train/loss": 1.0 / step, "lr": 0.1}))
        rec.handle(batch)
        if rec.commits != commits:  # report only what is committed
            commits = rec.commits
            print("committed", rec.rows_written, flush=True)
        time.sleep(0.001)
    """
)


def test_kill_9_while_recording(tmp_path):
    db = tmp_path / "crash.sqlite"
    url = f"sqlite:///{db}"
    proc = subprocess.Popen([sys.executable, "-c", CHILD, url], stdout=subprocess.PIPE, text=True)
    try:
        rid = int(proc.stdout.readline().split()[1])
        committed = 0
        deadline = time.monotonic() + 60
        while committed < 5000 and time.monotonic() < deadline:
            line = proc.stdout.readline()
            assert line, "the recording process ended early"
            committed = int(line.split()[1])
        assert committed >= 5000
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        rest = proc.stdout.read()
        proc.stdout.close()
    for line in rest.splitlines():  # lines written between our last read and the kill
        committed = int(line.split()[1])
    assert proc.returncode == -signal.SIGKILL

    con = sqlite3.connect(db)
    assert con.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    status, = con.execute("SELECT status FROM runs WHERE id = ?", (rid,)).fetchone()
    on_disk, = con.execute("SELECT coalesce(sum(n), 0) FROM metric_chunks").fetchone()
    con.close()
    assert status == "running"  # nobody has looked yet
    # Everything the child saw committed is there; at most one more transaction (its report was lost).
    assert committed <= on_disk <= committed + 1000

    with open_store(url) as store:
        info = store.get_run(rid)
        assert info.status == "interrupted" and f"pid {proc.pid}" in info.error
        series = store.load_series(rid)
        n = len(series["train/loss"])
        assert len(series["lr"]) == n and 2 * n == on_disk
        # a prefix of the run: steps 1..n without holes, values as written
        assert series["train/loss"].step.tolist() == list(range(1, n + 1))
        assert series["train/loss"].value[n - 1] == 1.0 / n
