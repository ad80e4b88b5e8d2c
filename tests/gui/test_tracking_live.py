"""Issue 14: a run logged with ``lrstudio.start_run`` from another process shows in the open app
and grows there while the script runs (the window polls ``Store.data_version()``)."""

from __future__ import annotations

import subprocess
import sys
import textwrap

# The user's script: logs 20 steps, waits for the test's go-ahead (a file), logs 20 more.
SCRIPT = textwrap.dedent("""
    import pathlib, sys, time
    import lrstudio

    db, go = sys.argv[1], pathlib.Path(sys.argv[2])
    with lrstudio.start_run(name="my own loop", config={"lr": 0.02, "model": "mine", "hidden": [8, 8]},
                            db=db) as run:
        for step in range(1, 21):
            run.log({"train/loss": 1.0 / step, "lr": 0.02}, step=step)
        run.flush()
        print(run.id, flush=True)
        deadline = time.monotonic() + 60
        while not go.exists() and time.monotonic() < deadline:
            time.sleep(0.02)
        for step in range(21, 41):
            run.log({"train/loss": 1.0 / step, "lr": 0.02}, step=step)
            time.sleep(0.01)
""")


def _row(window, run_id):
    model = window.runs_panel.model
    row = model.row_of(run_id)
    return None if row < 0 else model.run_at(row)


def test_a_tracked_run_from_another_process_appears_and_grows(qtbot, window, tmp_path, db_url):
    script, go = tmp_path / "mine.py", tmp_path / "go"
    script.write_text(SCRIPT, encoding="utf-8")
    proc = subprocess.Popen([sys.executable, str(script), db_url, str(go)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        run_id = int(proc.stdout.readline())
        qtbot.waitUntil(lambda: _row(window, run_id) is not None, timeout=20_000)
        info = _row(window, run_id)
        assert (info.kind, info.status, info.name) == ("external", "running", "my own loop")
        window.runs_panel.select_runs([run_id])
        window.tabs.setCurrentWidget(window.compare_page)  # Compare reloads growing runs while shown
        qtbot.waitUntil(lambda: run_id in window.compare.run_ids(), timeout=5000)
        qtbot.waitUntil(lambda: len(window.compare.curve_data(run_id)["loss_raw"][0]) == 20, timeout=5000)
        go.touch()
        assert proc.wait(timeout=60) == 0, proc.stderr.read()
        qtbot.waitUntil(lambda: _row(window, run_id).status == "completed", timeout=20_000)
        qtbot.waitUntil(lambda: len(window.compare.curve_data(run_id)["loss_raw"][0]) == 40, timeout=5000)
        x, y = window.compare.curve_data(run_id)["loss_raw"]
        assert y.tolist() == [1.0 / s for s in range(1, 41)]
    finally:
        go.touch()
        if proc.poll() is None:
            proc.kill()
        proc.communicate(timeout=30)


def test_compare_shows_the_settings_that_differ_between_two_tracked_runs(qtbot, window, store, tmp_path):
    from lrstudio.services.tracking import start_run

    configs = [{"lr": 0.1, "optimizer": {"name": "sgd", "momentum": 0.9}, "layers": [3, 8, 1], "seed": 1},
               {"lr": 0.1, "optimizer": {"name": "sgd", "momentum": 0.95}, "layers": [3, 16, 1], "seed": 1,
                "aug": [{"name": "flip"}]}]
    ids = []
    for i, config in enumerate(configs):
        with start_run(name=f"mine {i}", config=config, db=store) as run:
            for step in range(1, 11):
                run.log({"train/loss": 1.0 / (step + i)}, step=step)
        ids.append(run.id)
    window.runs_panel.refresh()
    window.runs_panel.select_runs(ids)
    window.tabs.setCurrentWidget(window.compare_page)
    qtbot.waitUntil(lambda: set(window.compare.run_ids()) == set(ids), timeout=5000)
    qtbot.waitUntil(lambda: window.compare.settings_rows() != [], timeout=5000)
    assert window.compare.settings_rows() == ["optimizer.momentum", "layers", "aug.0.name"]
    window.compare.views.setCurrentWidget(window.compare.settings_page)
    window.grab().save(str(tmp_path / "compare-tracked.png"))


def test_a_tracked_run_logging_loss_and_learning_rate_draws_its_curves_in_compare(qtbot, window, store):
    # A loop written for W&B logs "loss", "val_loss", "learning_rate": Compare (which plots
    # train/loss, val/loss, lr) drew nothing for it; they are stored under those keys now.
    from lrstudio.services.tracking import start_run

    with start_run(name="wandb-style", config={"lr": 0.1}, db=store) as run:
        for step in range(1, 21):
            run.log({"loss": 1.0 / step, "learning_rate": 0.1 * (1 - step / 40)}, step=step)
            if step % 5 == 0:
                run.log({"val_loss": 2.0 / step}, step=step)
    window.runs_panel.refresh()
    window.runs_panel.select_runs([run.id])
    window.tabs.setCurrentWidget(window.compare_page)
    canvas = window.compare.canvas
    qtbot.waitUntil(lambda: run.id in canvas.curves and canvas.curves[run.id].lr.getData()[0] is not None,
                    timeout=5000)
    curves = canvas.curves[run.id]
    qtbot.waitUntil(lambda: curves.loss_raw.getData()[0] is not None and curves.val_loss.getData()[0] is not None,
                    timeout=5000)
    # yData: the data as given (the loss plot's log mode shows log10 of it)
    assert list(curves.loss_raw.yData) == [1.0 / s for s in range(1, 21)]
    assert list(curves.val_loss.yData) == [2.0 / s for s in (5, 10, 15, 20)]
    assert list(curves.lr.yData) == [0.1 * (1 - s / 40) for s in range(1, 21)]
