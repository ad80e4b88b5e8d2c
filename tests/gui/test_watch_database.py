"""The main window follows the database: runs written by another process appear by themselves.

Another process (the CLI, a second window, a user's script) writes to the same SQLite file while
the window is open; the window polls ``Store.data_version()`` and brings the runs table (and a
selected running run in Compare) up to date without a manual Refresh (issue 9).
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest
from _fixtures_data import add_run

from lrstudio.core.config import RunConfig
from lrstudio.gui.main_window import MainWindow

# A user's own script: creates a run, records 20 steps, waits for the test's go-ahead, then
# records 20 more and the summary. It prints the run id once the first points are committed.
WRITER = textwrap.dedent("""
    import pathlib, sys, time
    from lrstudio.core.config import RunConfig
    from lrstudio.core.events import RunFinished, RunStarted, RunSummary, StepLogged
    from lrstudio.storage import open_store

    url, go = sys.argv[1], pathlib.Path(sys.argv[2])
    store = open_store(url)
    run_id = store.create_run(RunConfig(lr=0.02), name="written by another process")
    rec = store.recorder(run_id)

    def steps(first, n):
        return [StepLogged(step=s, epoch=(s - 1) // 10, wall_time=0.01 * s,
                           values={"train/loss": 1.0 / s, "lr": 0.02}) for s in range(first, first + n)]

    rec.handle([RunStarted(total_steps=40, steps_per_epoch=10, epochs=4, wall_time=0.0), *steps(1, 20)])
    rec.flush()
    print(run_id, flush=True)
    deadline = time.monotonic() + 60
    while not go.exists() and time.monotonic() < deadline:
        time.sleep(0.02)
    summary = RunSummary(status="completed", steps=40, epochs=4, duration_s=0.4, final_loss=1 / 40)
    rec.handle([*steps(21, 20), RunFinished(summary)])
    rec.close()
    store.close()
""")


def _row_status(window: MainWindow, run_id: int) -> str | None:
    model = window.runs_panel.model
    row = model.row_of(run_id)
    return None if row < 0 else model.run_at(row).status


@pytest.fixture
def writer(tmp_path, db_url):
    go = tmp_path / "go"
    script = tmp_path / "writer.py"
    script.write_text(WRITER, encoding="utf-8")
    procs: list[subprocess.Popen] = []

    def start() -> subprocess.Popen:
        proc = subprocess.Popen([sys.executable, str(script), db_url, str(go)], stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)
        procs.append(proc)
        return proc

    yield start, go
    go.touch()
    for proc in procs:
        try:
            proc.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.communicate()


def test_runs_written_by_another_process_appear_and_finish_without_refresh(qtbot, window, store, writer):
    start, go = writer
    ids = [add_run(store, RunConfig(lr=0.001 * (i + 1)), f"earlier {i}", steps=10) for i in range(40)]
    window.runs_panel.refresh()
    view = window.runs_panel.view
    window.runs_panel.select_runs([ids[5]])
    bar = view.verticalScrollBar()
    assert bar.maximum() > 0, "the table must scroll for this test"
    bar.setValue(bar.maximum() // 2)
    scrolled = bar.value()

    proc = start()
    run_id = int(proc.stdout.readline())  # the first 20 points are committed
    qtbot.waitUntil(lambda: _row_status(window, run_id) == "running", timeout=20_000)
    assert window.runs_panel.selected_run_ids() == [ids[5]]  # the user's selection stays...
    assert bar.value() == scrolled  # ...and so does the scroll position
    assert window.runs_panel.model.rowCount() == 41

    # Compare the running run: it shows what is stored so far, then follows it to its end.
    window.runs_panel.select_runs([ids[5], run_id])
    qtbot.waitUntil(lambda: run_id in window.compare.run_ids(), timeout=5000)
    assert len(window.compare.curve_data(run_id)["loss_raw"][0]) == 20
    go.touch()
    assert proc.wait(timeout=30) == 0, proc.stderr.read()  # the fixture closes the pipes
    qtbot.waitUntil(lambda: _row_status(window, run_id) == "completed", timeout=20_000)
    qtbot.waitUntil(lambda: len(window.compare.curve_data(run_id)["loss_raw"][0]) == 40, timeout=5000)
    assert set(window.runs_panel.selected_run_ids()) == {ids[5], run_id}


def test_polling_an_unchanged_database_is_cheap_and_does_not_reload(qtbot, window, store):
    for i in range(20):
        add_run(store, RunConfig(lr=0.01), f"run {i}", steps=10)
    window.runs_panel.refresh()
    resets, changes = [], []
    model = window.runs_panel.model
    model.modelReset.connect(lambda: resets.append(1))
    model.dataChanged.connect(lambda *a: changes.append(1))
    window.poll_database()  # takes in whatever changed before
    changes.clear()
    for _ in range(50):
        assert not window.poll_database()
    assert resets == [] and changes == []  # nothing changed: nothing reloaded or repainted


def test_a_change_rereads_only_unfinished_and_new_runs_and_everything_later(qtbot, window, store, db_url,
                                                                           monkeypatch):
    from lrstudio.gui import database
    from lrstudio.storage import open_store

    old = [add_run(store, RunConfig(lr=0.01), f"old {i}", steps=5, steps_per_epoch=5) for i in range(60)]
    window.runs_panel.refresh()
    window.poll_database()
    monkeypatch.setattr(database, "DB_FULL_SYNC_S", 3600.0)
    calls: list[dict] = []
    real_list_runs = store.list_runs
    monkeypatch.setattr(store, "list_runs", lambda **kw: calls.append(kw) or real_list_runs(**kw))

    def poll() -> bool:
        window.db_watcher.poll_after = 0.0  # as if a second had passed
        return window.poll_database()

    other = open_store(db_url)  # another connection: what another process does
    try:
        run_id = other.create_run(RunConfig(lr=0.02), name="new elsewhere")
        assert poll()
        assert _row_status(window, run_id) == "running"
        other.recorder(run_id).close(status="stopped")
        assert poll()
        assert _row_status(window, run_id) == "stopped"
        assert calls and all(kw.get("limit") or kw.get("run_ids") for kw in calls)  # never the whole list

        other.rename_run(old[0], "renamed elsewhere")
        other.delete_run(old[1])
        poll()
        model = window.runs_panel.model
        assert model.run_at(model.row_of(old[0])).name == "old 0"  # not yet: a partial sync...
        monkeypatch.setattr(database, "DB_FULL_SYNC_S", 0.0)
        assert poll()  # ...and a full one soon after, even with no new change
        assert model.run_at(model.row_of(old[0])).name == "renamed elsewhere"
        assert model.row_of(old[1]) == -1
        assert not poll()  # up to date: nothing more to do
    finally:
        other.close()
