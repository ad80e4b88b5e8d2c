"""Several real processes on one SQLite file: nobody deletes another process's WAL, and
``Store.data_version()`` sees what another process commits (issue 9)."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import textwrap

import pytest

from lrstudio.core.config import RunConfig
from lrstudio.storage import StoreError, open_store

# Process A: the app. It holds a store and a recorder open, and opens a second store on the same
# file while they are open, as the GUI's training worker does for every run (gui/controller.py).
APP = textwrap.dedent(
    """
    import os, sys
    from lrstudio.core.config import RunConfig
    from lrstudio.core.events import RunFinished, RunStarted, RunSummary, StepLogged
    from lrstudio.storage import open_store

    url, wal = sys.argv[1], sys.argv[2]
    store = open_store(url)
    rid = store.create_run(RunConfig(name="app run"), status="queued")
    rec = store.recorder(rid, max_delay_s=0.0)
    steps = lambda a, b: [StepLogged(s, 0, s * 0.01, {"train/loss": 1.0 / s, "lr": 0.1}) for s in range(a, b)]
    rec.handle([RunStarted(300, 300, 1, 0.0)] + steps(1, 101))
    rec.flush()
    second = open_store(url, upgrade=False, backup=False, recover=False)
    second.list_runs()
    second.close()
    print("ready", rid, os.stat(wal).st_ino, flush=True)
    assert sys.stdin.readline().strip() == "go"
    rec.handle(steps(101, 301) + [RunFinished(RunSummary("completed", 300, 1, 1.0, final_loss=0.1))])
    rec.close()
    other = store.create_run(RunConfig(name="second app run"), status="completed")
    ino = os.stat(wal).st_ino if os.path.exists(wal) else -1
    print("done", other, ino, flush=True)
    assert sys.stdin.readline().strip() == "exit"
    store.close()
    """
)

READER = textwrap.dedent(
    """
    import sqlite3, sys
    con = sqlite3.connect(sys.argv[1])
    runs = con.execute("SELECT id, name, status FROM runs ORDER BY id").fetchall()
    n = con.execute("SELECT coalesce(sum(n), 0) FROM metric_chunks").fetchone()[0]
    print(repr((runs, n)))
    """
)


def _lrstudio(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "lrstudio", *args], capture_output=True, text=True, timeout=120)


def test_another_process_never_deletes_the_open_apps_wal(tmp_path):
    db = tmp_path / "shared.sqlite"
    wal = tmp_path / "shared.sqlite-wal"
    url = f"sqlite:///{db}"
    app = subprocess.Popen([sys.executable, "-c", APP, url, str(wal)], stdin=subprocess.PIPE,
                           stdout=subprocess.PIPE, text=True)
    try:
        line = app.stdout.readline().split()
        assert line and line[0] == "ready", line
        rid, wal_inode = int(line[1]), int(line[2])
        # Process B opens and closes the same file, then exits (the last SQLite connection of a
        # process checkpoints and deletes the WAL when it can take an exclusive lock).
        for args in (["runs"], ["runs", "--status", "running"]):
            done = _lrstudio("--db", str(db), *args)
            assert done.returncode == 0, done.stderr
            assert "app run" in done.stdout
            assert wal.exists() and os.stat(wal).st_ino == wal_inode, "B deleted the app's WAL"
        app.stdin.write("go\n")
        app.stdin.flush()
        line = app.stdout.readline().split()
        assert line and line[0] == "done", line
        other, wal_inode_after = int(line[1]), int(line[2])
        assert wal_inode_after == wal_inode
        # A fresh process C sees every run and every point the app recorded, while A is still open.
        seen = subprocess.run([sys.executable, "-c", READER, str(db)], capture_output=True, text=True,
                              timeout=60, check=True).stdout
        runs, n_points = eval(seen)  # our own repr of ints and strings
        assert runs == [(rid, "app run", "completed"), (other, "second app run", "completed")]
        assert n_points == 600
        app.stdin.write("exit\n")
        app.stdin.flush()
        assert app.wait(60) == 0
    finally:
        if app.poll() is None:
            app.kill()
            app.wait()
        app.stdout.close()
        app.stdin.close()
    con = sqlite3.connect(db)
    assert con.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    assert con.execute("SELECT coalesce(sum(n), 0) FROM metric_chunks").fetchone()[0] == 600
    con.close()


WRITER = textwrap.dedent(
    """
    import sys
    from lrstudio.core.config import RunConfig
    from lrstudio.core.events import StepLogged
    from lrstudio.storage import open_store

    with open_store(sys.argv[1]) as store:
        rid = store.create_run(RunConfig(name="from another process"))
        if sys.argv[2] == "points":
            with store.recorder(rid) as rec:
                rec.handle([StepLogged(1, 0, 0.0, {"train/loss": 1.0})])
    """
)


def test_data_version_changes_when_another_process_commits(store_url):
    with open_store(store_url) as store:
        v0 = store.data_version()
        if store.is_sqlite:
            assert store.data_version() == v0  # nothing was committed
        subprocess.run([sys.executable, "-c", WRITER, store_url, "run"], check=True, timeout=120)
        v1 = store.data_version()
        assert v1 != v0
        subprocess.run([sys.executable, "-c", WRITER, store_url, "points"], check=True, timeout=120)
        v2 = store.data_version()
        assert v2 != v1
        # and this process's own commits, through another connection of the same store
        store.create_run(RunConfig(name="mine"))
        v3 = store.data_version()
        assert v3 != v2
        rid = store.create_run(RunConfig(name="points here"))
        v4 = store.data_version()
        with store.recorder(rid, max_delay_s=0.0) as rec:
            from lrstudio.core.events import StepLogged

            rec.handle([StepLogged(1, 0, 0.0, {"train/loss": 1.0})])
            rec.flush()
            assert store.data_version() != v4
        assert len(store.list_runs()) == 4


def test_data_version_after_close_is_refused(sqlite_url):
    store = open_store(sqlite_url)
    store.data_version()
    store.close()
    with pytest.raises(StoreError, match="closed"):
        store.data_version()
