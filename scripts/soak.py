"""Soak test: the app and a loop of CLI processes on one SQLite file lose no run and no point.

    python scripts/soak.py                 # 300 s (the acceptance run of issue 9)
    python scripts/soak.py --seconds 20    # the short variant (tests/storage/test_soak.py)

For ``--seconds`` the real :class:`~lrstudio.gui.main_window.MainWindow` (offscreen) trains short
Windsor linear runs one after another, started the way a user does (form set, Start), while a
thread of this process runs CLI subprocesses on the same file in a loop: ``lrstudio --db F train``
(a short run), ``lrstudio --db F runs``, ``lrstudio --db F export --runs ...``.

Each side notes every point its recorder accepted, as ``(run id, key, step)``: the window from the
batches its controller hands on after recording them (the worker records first, then emits), each
CLI ``train`` from a wrapper around ``RunRecorder.handle`` in that very process (the CLI itself is
run unchanged through ``lrstudio.cli.main``). At the end, after everything is closed, a fresh
process reads the file and the two are compared run by run: same runs, same point count per run,
every run finished, ``PRAGMA integrity_check`` ok, and no CLI process failed. A PASS/FAIL table is
printed; the exit status is 0 only for PASS.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

# Runs `lrstudio.cli.main(argv)` and writes {run_id: [[key, step], ...]} of every point the
# recorder accepted to $SOAK_REPORT at exit.
CLI_WRAPPER = r"""
import atexit, json, os, sys
from lrstudio.core.events import EpochLogged, RunFinished, StepLogged
from lrstudio.storage import recorder as _recorder

seen = {}
_handle = _recorder.RunRecorder.handle


def handle(self, events):
    events = list(events)
    finished = self.finished
    _handle(self, events)  # raises: nothing counted
    points = seen.setdefault(self.run_id, set())
    for ev in events:
        if isinstance(ev, RunFinished):
            finished = True
        elif isinstance(ev, (StepLogged, EpochLogged)) and not finished:
            points.update((k, int(ev.step)) for k in ev.values)


_recorder.RunRecorder.handle = handle


@atexit.register
def _report():
    with open(os.environ["SOAK_REPORT"], "w") as f:
        json.dump({str(k): sorted(v) for k, v in seen.items()}, f)


from lrstudio.cli import main
sys.exit(main(sys.argv[1:]))
"""

READER = r"""
import json, sqlite3, sys
con = sqlite3.connect(f"file:{sys.argv[1]}?mode=ro", uri=True)
runs = {rid: {"status": status, "name": name, "points": 0}
        for rid, status, name in con.execute("SELECT id, status, name FROM runs")}
for rid, n in con.execute("SELECT s.run_id, sum(p.n) FROM metric_chunks p "
                          "JOIN metric_series s ON s.id = p.series_id GROUP BY s.run_id"):
    runs.setdefault(rid, {"status": "?", "name": "?", "points": 0})["points"] = n
check = con.execute("PRAGMA integrity_check").fetchall()
print(json.dumps({"runs": runs, "integrity": [r[0] for r in check]}))
"""

GRACE_S = 240  # after the end: time for the last runs to finish before the soak counts as stuck
FINAL = ("completed", "stopped", "diverged", "failed", "interrupted")


class CliLoop(threading.Thread):
    """train, runs, export, train, ... as separate processes until ``stop`` is set."""

    def __init__(self, db: Path, work: Path, deadline: float) -> None:
        super().__init__(name="cli-loop", daemon=True)
        self.db, self.work, self.deadline = db, work, deadline
        self.points: dict[int, set[tuple[str, int]]] = {}
        self.failures: list[str] = []
        self.counts = {"train": 0, "runs": 0, "export": 0}

    def _run(self, kind: str, args: list[str]) -> None:
        report = self.work / f"cli-{sum(self.counts.values())}.json"
        env = {**os.environ, "SOAK_REPORT": str(report)}
        self.counts[kind] += 1
        try:
            done = subprocess.run([sys.executable, "-c", CLI_WRAPPER, "--db", str(self.db), *args],
                                  capture_output=True, text=True, env=env, timeout=GRACE_S)
        except subprocess.TimeoutExpired:
            self.failures.append(f"{kind} {' '.join(args)}: still running after {GRACE_S} s (killed)")
            return
        if done.returncode != 0:
            self.failures.append(f"{kind} {' '.join(args)} -> {done.returncode}: "
                                 f"{(done.stderr.strip().splitlines() or [''])[-1]}")
        if report.exists():
            for rid, pts in json.loads(report.read_text()).items():
                self.points.setdefault(int(rid), set()).update((k, s) for k, s in pts)
            report.unlink()


    def run(self) -> None:
        i = 0
        while time.monotonic() < self.deadline:
            i += 1
            self._run("train", ["train", "--quiet", "--dataset", "windsor", "--model", "linear",
                                "--optimizer", "sgd", "--lr", "0.05", "--epochs", str(2 + i % 3),
                                "--batch-size", "32", "--seed", str(i), "--name", "cli soak"])
            if time.monotonic() >= self.deadline:
                break
            self._run("runs", ["runs", "--limit", "5"])
            ids = sorted(self.points)[-3:]
            if ids and time.monotonic() < self.deadline:
                out = self.work / f"export-{i}.csv"
                self._run("export", ["export", "--runs", ",".join(map(str, ids)), "-o", str(out)])
                out.unlink(missing_ok=True)


def run_app(db: Path, work: Path, seconds: float) -> tuple[dict[int, set[tuple[str, int]]], CliLoop, list[str]]:
    from PySide6.QtCore import QSettings, QTimer
    from PySide6.QtWidgets import QApplication

    from lrstudio.core.config import DatasetConfig, RunConfig
    from lrstudio.core.events import EpochLogged, RunFinished, StepLogged
    from lrstudio.gui.main_window import MainWindow
    from lrstudio.storage import open_store

    app = QApplication.instance() or QApplication(["soak"])
    url = f"sqlite:///{db}"
    store = open_store(url)
    settings = QSettings(str(work / "settings.ini"), QSettings.Format.IniFormat)
    window = MainWindow(store, url, settings=settings)
    window.resize(1300, 850)
    window.show()

    deadline = time.monotonic() + seconds
    cli = CliLoop(db, work, deadline)
    points: dict[int, set[tuple[str, int]]] = {}
    state = {"run": None, "finished": False, "n": 0, "failed": 0}

    def on_started(run_id: int) -> None:
        state["run"], state["finished"] = run_id, False
        points.setdefault(run_id, set())

    def on_progressed(batch: list) -> None:
        rid = state["run"]
        for ev in batch:
            if isinstance(ev, RunFinished):
                state["finished"] = True
            elif isinstance(ev, (StepLogged, EpochLogged)) and not state["finished"]:
                points[rid].update((k, int(ev.step)) for k in ev.values)

    def on_failed(exc: BaseException) -> None:
        state["failed"] += 1
        print(f"app run {state['run']} failed: {exc}", file=sys.stderr)

    def start_next() -> None:
        if time.monotonic() >= deadline:
            if not cli.is_alive():
                app.quit()
            else:
                QTimer.singleShot(200, start_next)
            return
        if window.controller.is_running():
            QTimer.singleShot(50, start_next)
            return
        state["n"] += 1
        n = state["n"]
        cfg = RunConfig(name=f"app soak {n}", model="linear", dataset=DatasetConfig(name="windsor"),
                        optimizer={"name": "sgd", "params": {}}, lr=0.05,
                        schedule={"name": "linear", "params": {}} if n % 2 else {"name": "constant", "params": {}},
                        epochs=3 + n % 4, batch_size=16, seed=n)
        window.config_panel.set_config(cfg)
        if window.start_training() is None:
            print(f"app run {n} did not start: {window.config_panel.errors()}", file=sys.stderr)
            state["failed"] += 1
            QTimer.singleShot(500, start_next)

    def watchdog() -> None:
        # A modal dialog (an error box) would wait for a click forever offscreen: note it, close it.
        box = app.activeModalWidget()
        if box is not None:
            text = getattr(box, "text", lambda: box.windowTitle())()
            state["dialogs"].append(" ".join(str(text).split())[:300])
            print(f"dialog: {state['dialogs'][-1]}", file=sys.stderr, flush=True)
            box.close()
        if time.monotonic() > deadline + GRACE_S:  # something is stuck: stop, and fail
            state["stuck"] = True
            app.quit()

    state["dialogs"], state["stuck"] = [], False
    dog = QTimer()
    dog.timeout.connect(watchdog)
    dog.start(500)
    window.controller.started.connect(on_started)
    window.controller.progressed.connect(on_progressed)
    window.controller.finished.connect(lambda _s: QTimer.singleShot(100, start_next))
    window.controller.failed.connect(on_failed)
    window.controller.failed.connect(lambda _e: QTimer.singleShot(100, start_next))
    cli.start()
    QTimer.singleShot(0, start_next)
    app.exec()
    dog.stop()
    if window.controller.is_running():
        window.stop_training()
    cli.join(GRACE_S)
    window.close()
    window.wait_for_background_work()
    store.close()
    problems = [f"dialog: {d}" for d in state["dialogs"]]
    if state["stuck"]:
        problems.append(f"the app did not finish within {GRACE_S} s after the end")
    if state["failed"]:
        problems.append(f"{state['failed']} app run(s) failed or did not start")
    return points, cli, problems


def compare(db: Path, app_points: dict, cli: CliLoop, app_problems: list[str]) -> bool:
    seen = json.loads(subprocess.run([sys.executable, "-c", READER, str(db)], capture_output=True,
                                     text=True, check=True, timeout=300).stdout)
    on_disk = {int(k): v for k, v in seen["runs"].items()}
    rows, bad = [], []
    for side, recorded in (("app", app_points), ("cli", cli.points)):
        n_pts = sum(len(v) for v in recorded.values())
        found = sum(on_disk.get(r, {"points": 0})["points"] for r in recorded)
        wrong = [r for r, v in recorded.items()
                 if r not in on_disk or on_disk[r]["points"] != len(v) or on_disk[r]["status"] not in FINAL]
        bad += [(side, r) for r in wrong]
        rows.append((side, len(recorded), n_pts, found, len(wrong)))
    unknown = sorted(set(on_disk) - set(app_points) - set(cli.points))
    ok_integrity = seen["integrity"] == ["ok"]
    print(f"\n{'side':<6}{'runs':>7}{'points recorded':>18}{'points on disk':>16}{'runs wrong':>12}")
    for side, n, pts, found, wrong in rows:
        print(f"{side:<6}{n:>7}{pts:>18,}{found:>16,}{wrong:>12}")
    print(f"\nCLI processes: {cli.counts['train']} train, {cli.counts['runs']} runs, "
          f"{cli.counts['export']} export; failed: {len(cli.failures)}")
    for f in cli.failures[:10]:
        print("  ", f)
    print(f"app problems: {len(app_problems)}")
    for p in app_problems[:10]:
        print("  ", p)
    print(f"runs on disk nobody recorded: {len(unknown)} {unknown[:10]}")
    print(f"integrity_check: {', '.join(seen['integrity'][:3])}")
    for side, r in bad[:20]:
        got = on_disk.get(r)
        rec = (app_points if side == "app" else cli.points)[r]
        print(f"  {side} run {r}: recorded {len(rec)} points; on disk: {got}")
    passed = (not bad and not unknown and ok_integrity and not cli.failures and not app_problems
              and all(n > 0 for _, n, *_ in rows))
    print("\nPASS" if passed else "\nFAIL")
    return passed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=300.0, help="how long both sides run (default 300)")
    parser.add_argument("--workdir", type=Path, help="folder for the database (default: a new temporary one)")
    args = parser.parse_args(argv)
    work = args.workdir or Path(tempfile.mkdtemp(prefix="lrstudio-soak-"))
    work.mkdir(parents=True, exist_ok=True)
    db = work / "soak.sqlite"
    print(f"soak: {args.seconds:g} s on {db}", flush=True)
    t0 = time.monotonic()
    app_points, cli, app_problems = run_app(db, work, args.seconds)
    print(f"both sides done after {time.monotonic() - t0:.0f} s", flush=True)
    return 0 if compare(db, app_points, cli, app_problems) else 1


if __name__ == "__main__":
    sys.exit(main())
