"""GUI responsiveness while a sweep trains 2 trials in worker processes (issue 13).

    python bench/bench_sweep_gui.py [--repeat 3] [--epochs 600] [--batch-size 8]

Opens the real main window (offscreen unless a display is available), shows the Sweeps tab, and
starts a grid sweep of 2 trials (linear regression on the Windsor prices, SGD, two LRs, one seed)
from the panel with ``parallel = 2``: the runner's QThread hands the trials to 2 worker processes
forked from the sweep forkserver (niceness 10) that train and write them, while the panel refreshes its trial list and
live curves on the app's once-a-second database poll. Meanwhile a 5 ms precise ``QTimer`` in the
GUI thread records the intervals between its ticks (``bench_gui.LatenessProbe``; lateness =
interval − 5 ms). Reported per repetition, interleaved with the baseline:

* ``idle``: the same window doing nothing for 3 s (what the machine's load alone costs);
* ``2 trials training, Sweeps tab shown``: from the moment both trials are recorded ``running``
  (the workers are spawned and have imported torch) until the sweep ends, the panel in front;
* ``2 trials training, tab hidden``: the same with the Train tab in front (the control: what the
  machine's load, the two workers and the runner thread cost without the panel's drawing);
* ``whole sweep, tab shown``: from the Create click to the end (spawn and imports included).

Goal (issue 13): p99 lateness ≤ 10 ms while 2 trials train. Medians with [min–max] over the
repetitions; the GUI process's CPU time (all its threads) per second of the phase is printed too,
and the machine's load average at start and end (the machine may be shared).

Measured (2026-11-30, the shared 2-core machine at load average 6.2-6.7, other agents' processes
busy; 600 epochs, batch 8, 3 repetitions): p99 lateness 15.0 ms [8.9-17.2] with the Sweeps tab
shown, 12.7 ms [7.9-15.0] with it hidden (the control), idle 4.0 ms [3.9-4.6]; max 50 ms [48-103];
the GUI process used 3-5 % of a core. The goal (≤ 10 ms) was met in 1 of 3 repetitions; the
control misses it as well, so the rest is the machine's load, and the panel adds ~2.4 ms at p99.
Before the fixes in gui/sweeps (1-px live-curve pens, refresh only what changed, reads in a
background thread, live curves thinned there): p99 48-726 ms, max 1.3-1.9 s (2.5-px pens).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

if not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_gui import LatenessProbe, _spin  # the GUI bench's probe and event loop

GOAL_P99_MS = 10.0


def _one_sweep(app, window, probe: LatenessProbe, lrs: list[float], shown: bool) -> tuple[dict, dict, int]:
    """Start a 2-trial grid from the panel; lateness while both train, and over the whole sweep.
    ``shown``: the Sweeps tab stays in front (its trial list and live curves refresh every second);
    else the Train tab is (the control: what the machine's load, the workers and the runner cost)."""
    window.tabs.setCurrentWidget(window.sweeps_page)
    panel = window.sweeps_page.panel
    store = window.store
    panel.editor.set_dimension("lr", {"choice": lrs})
    panel.editor.set_method("grid", seeds=(0,), parallel=2)
    whole = LatenessProbe()
    whole.start()
    eid = panel.create_and_start()
    if eid is None:
        raise SystemExit(f"the sweep did not start: {panel.message.text()}")
    if not shown:
        window.tabs.setCurrentWidget(window.train_page)
    # Both trials running: the workers are up (spawned, torch imported) and training.
    _spin(app, lambda: sum(r.status == "running" for r in store.list_trials(eid)) >= 2
          or not window.sweeps_page.is_running(), timeout_s=300)
    if not window.sweeps_page.is_running():
        raise SystemExit("the sweep ended before both trials trained at once: give more --epochs")
    probe.start()
    t0, cpu0 = time.perf_counter(), time.process_time()
    _spin(app, lambda: not window.sweeps_page.is_running(), timeout_s=900)
    wall = time.perf_counter() - t0
    both = {**probe.stop(), "wall_s": wall, "gui_cpu": (time.process_time() - cpu0) / wall}
    all_ = whole.stop()
    runs = store.list_trials(eid)
    if len(runs) != 2 or {r.status for r in runs} != {"completed"}:
        raise SystemExit(f"the sweep did not complete: {[(r.id, r.status) for r in runs]}")
    return both, all_, sum(int(r.steps or 0) for r in runs)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--epochs", type=int, default=600)
    ap.add_argument("--batch-size", type=int, default=8)
    ap.add_argument("--nice", type=int, default=None, help="the workers' niceness (default: the app's, "
                    "lrstudio.gui.sweeps.runner.GUI_WORKER_NICE)")
    args = ap.parse_args()
    from lrstudio.gui.sweeps import runner

    if args.nice is not None:
        runner.GUI_WORKER_NICE = args.nice

    from PySide6.QtCore import QSettings

    from lrstudio.core.config import DatasetConfig, RunConfig
    from lrstudio.gui.app import create_application

    app = create_application()
    from lrstudio.gui.main_window import MainWindow
    from lrstudio.storage import open_store

    load0 = os.getloadavg()[0]
    print(f"load average at start: {' '.join(f'{x:.2f}' for x in os.getloadavg())} on {os.cpu_count()} cores")
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'sweep.sqlite'}"
        window = MainWindow(open_store(url), url, settings=QSettings(str(Path(tmp) / "s.ini"),
                                                                       QSettings.Format.IniFormat))
        window.resize(1400, 900)
        window.show()
        window.config_panel.set_config(RunConfig(
            model="linear", dataset=DatasetConfig(name="windsor"), optimizer={"name": "sgd", "params": {}},
            lr=0.01, epochs=args.epochs, batch_size=args.batch_size, seed=0))
        window.tabs.setCurrentWidget(window.sweeps_page)
        probe = LatenessProbe()
        _spin(app, lambda: window.sweeps_page.built)
        t = time.perf_counter()
        _spin(app, lambda: time.perf_counter() - t > 1.0)  # first frames are start-up work
        rows: dict[str, list[dict]] = {"idle 3 s": [], "2 trials training, Sweeps tab shown": [],
                                       "2 trials training, tab hidden": [], "whole sweep, tab shown": []}
        steps = []
        for i in range(args.repeat):
            probe.start()
            t_idle = time.perf_counter()
            _spin(app, lambda t0=t_idle: time.perf_counter() - t0 > 3.0)
            rows["idle 3 s"].append(probe.stop())
            for shown in (True, False) if i % 2 == 0 else (False, True):  # interleaved, order alternating
                lrs = [0.01 * (1 + i), 0.003 * (1 + i) * (2 if shown else 1)]  # distinct trials each time
                both, whole, n = _one_sweep(app, window, probe, lrs, shown)
                rows[f"2 trials training, {'Sweeps tab shown' if shown else 'tab hidden'}"].append(both)
                if shown:
                    rows["whole sweep, tab shown"].append(whole)
                steps.append(n)
                print(f"  repetition {i + 1}, tab {'shown' if shown else 'hidden'}: 2 trials training "
                      f"{both['wall_s']:.1f} s, lateness p50 {both['late_p50']:.2f} / p99 {both['late_p99']:.2f} / "
                      f"max {both['late_max']:.1f} ms ({both['ticks']} ticks), GUI process CPU "
                      f"{100 * both['gui_cpu']:.0f} % of a core; {n} steps")
        window.close()

    def med(values: list[float]) -> str:
        return f"{statistics.median(values):.2f} [{min(values):.2f}–{max(values):.2f}]"

    print(f"\n== 5 ms QTimer lateness in the GUI thread, {args.repeat} repetitions (median [min–max]), "
          f"Windsor linear, {args.epochs} epochs, batch {args.batch_size}, 2 worker processes at nice "
          f"{runner.GUI_WORKER_NICE} ==")
    for name, rs in rows.items():
        print(f"  {name:38s} p50 {med([r['late_p50'] for r in rs])}  p99 {med([r['late_p99'] for r in rs])}  "
              f"max {med([r['late_max'] for r in rs])} ms")
    p99 = statistics.median(r["late_p99"] for r in rows["2 trials training, Sweeps tab shown"])
    print(f"  goal: p99 ≤ {GOAL_P99_MS:g} ms while 2 trials train: {'met' if p99 <= GOAL_P99_MS else 'NOT met'} "
          f"(median p99 {p99:.2f} ms)")
    print(f"load average at end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    p99s = {name: [r["late_p99"] for r in rs] for name, rs in rows.items()}
    print(f"SUMMARY bench_sweep_gui: p99 5 ms-timer lateness while 2 trials train, Sweeps tab shown "
          f"{med(p99s['2 trials training, Sweeps tab shown'])} ms, goal <= {GOAL_P99_MS:g} "
          f"{'met' if p99 <= GOAL_P99_MS else 'NOT met'}; control (tab hidden) "
          f"{med(p99s['2 trials training, tab hidden'])} ms; idle {med(p99s['idle 3 s'])} ms; "
          f"{args.repeat} repetitions; load {load0:.2f} -> {os.getloadavg()[0]:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
