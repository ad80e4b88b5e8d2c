"""Optimizer playground (issue 16): 10 overlaid trajectories of 1,000 steps on a 2-D function,
computed and drawn, contour included; the cost of an animation tick and the timer's lateness.

Goal (issue 16): computing and drawing 10 trajectories x 1,000 steps on a 2-D function, including
the contour, takes at most 0.5 s; the animation stays smooth.

What is timed, per repetition (the parts interleaved, medians and ranges printed; wall time and
this process's CPU time: on a shared machine the difference is time spent waiting for a core, and
the load average is printed):

* ``baseline``: :func:`lrstudio.services.playground.compute` of one trajectory (SGD, 1,000 steps):
  the per-call floor the ratio ``compute / baseline`` is measured against;
* ``compute``: the same call for 10 trajectories (5 optimizers of the registry x 2 LRs on
  Rosenbrock, 1,000 steps each, the real torch.optim optimizers);
* ``contour``: the grid (160 x 160), the levels and the marching-squares segments;
* ``page``: the whole Playground tab path: ``PlaygroundView.recompute()`` (compute + contour +
  setting every item's data) followed by a synchronous repaint of the tab and the event loop's
  pending paints (offscreen);
* ``tick``: what one animation frame costs: the slider moved by one frame's stride, then the
  event loop paints what changed, as after a timer tick (per tick, over 50 ticks).

``--against REV`` loads ``lrstudio/trainer/playground.py`` and ``lrstudio/gui/playground/view.py``
as they were at git revision ``REV`` beside the working tree's and times both, interleaved (the
old tab computes with the old trainer): the before/after figures of a change.

The animation: each tab plays the 10 x 1,000 trajectories through (``FRAME_MS`` timer) and the
lateness of each tick against its interval is summarised (p50, p99, max, in ms).

    QT_QPA_PLATFORM=offscreen python bench/bench_playground.py [--repeat 5] [--steps 1000] [--against REV]
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
ROOT = Path(__file__).resolve().parent.parent


def specs(steps: int) -> list:
    from lrstudio.core.playground import TrajectorySpec

    out = []
    for opt in ("sgd", "momentum", "adam", "rmsprop", "adagrad"):
        for lr in (1e-3, 3e-3):
            out.append(TrajectorySpec({"name": opt, "params": {}}, lr, (-1.5, 2.0), steps))
    return out


def summary(values: list[float], scale: float = 1000.0) -> str:
    v = sorted(values)
    return f"median {statistics.median(v) * scale:7.1f} ms  (range {v[0] * scale:.1f}-{v[-1] * scale:.1f})"


def percentile(values: list[float], q: float) -> float:
    v = sorted(values)
    return v[min(len(v) - 1, int(round(q * (len(v) - 1))))]


def timed(fn: Callable[[], Any], wall: list[float], cpu: list[float]) -> Any:
    t0, c0 = time.perf_counter(), time.process_time()
    out = fn()
    wall.append(time.perf_counter() - t0)
    cpu.append(time.process_time() - c0)
    return out


def load_at(rev: str, path: str, name: str, tmp: Path) -> Any:
    """The module at ``path`` as it was at git revision ``rev``, imported as ``name``."""
    source = subprocess.run(["git", "-C", str(ROOT), "show", f"{rev}:{path}"], check=True,
                            capture_output=True, text=True).stdout
    file = tmp / f"{name}.py"
    file.write_text(source)
    spec = importlib.util.spec_from_file_location(name, file)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


class Variant:
    """One implementation under test: its compute function and its tab."""

    def __init__(self, label: str, compute: Callable[..., Any], view_cls: Any, steps: int) -> None:
        self.label = label
        self.compute = compute
        self.page = view_cls(None)
        self.page.resize(1300, 700)
        self.page.show()
        self.times: dict[str, list[float]] = {k: [] for k in (
            "base", "base_cpu", "compute", "compute_cpu", "page", "page_cpu", "tick", "tick_cpu")}
        with self.using():
            self.page.set_function("rosenbrock")
            self.page.specs = specs(steps)
            self.page.recompute()

    @contextlib.contextmanager
    def using(self) -> Iterator[None]:
        """The tab's recompute imports ``compute`` from the service when it runs: point it here."""
        import lrstudio.services.playground as service

        real = service.compute
        service.compute = self.compute
        try:
            yield
        finally:
            service.compute = real

    def run_once(self, info: Any, surface: Any, many: list, app: Any) -> list:
        t = self.times
        timed(lambda: self.compute(info, many[:1], surface=surface), t["base"], t["base_cpu"])
        trajs = timed(lambda: self.compute(info, many, surface=surface), t["compute"], t["compute_cpu"])
        page = self.page

        def whole() -> None:
            page._built_for = None  # draw the contour again too
            getattr(page, "_cache", {}).clear()  # and compute every trajectory again
            with self.using():
                assert page.recompute(), page.message.text()
            page.repaint()
            app.processEvents()  # the plots' own deferred updates and paints

        timed(whole, t["page"], t["page_cpu"])
        slider = page.slider
        stride = max(1, slider.maximum() // 150)  # the animation's stride (FRAMES_PER_PLAY = 150)
        slider.setValue(0)
        app.processEvents()

        def ticks() -> None:
            for k in range(1, 51):
                slider.setValue(k * stride)
                app.processEvents()  # what the event loop does after a timer tick: paint what changed

        wall: list[float] = []
        cpu: list[float] = []
        timed(ticks, wall, cpu)
        t["tick"].append(wall[0] / 50)
        t["tick_cpu"].append(cpu[0] / 50)
        return trajs

    def animate(self, app: Any) -> list[float]:
        page = self.page
        page.timer_lateness_ms.clear()
        page.slider.setValue(0)
        page.play_button.setChecked(True)
        t0 = time.perf_counter()
        while page.play_button.isChecked() and time.perf_counter() - t0 < 30:
            app.processEvents()
            time.sleep(0.001)
        return list(page.timer_lateness_ms)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--steps", type=int, default=1000)
    ap.add_argument("--against", metavar="REV", help="also time the trainer and the tab at this git revision")
    args = ap.parse_args()

    from PySide6.QtWidgets import QApplication

    from lrstudio.core.playground import contour_grid, contour_levels, contour_segments, resolve_function
    from lrstudio.gui.playground.view import CONTOUR_POINTS, PlaygroundView
    from lrstudio.services.playground import compute

    app = QApplication.instance() or QApplication([])
    info, surface = resolve_function("rosenbrock")
    many = specs(args.steps)
    variants = [Variant("now", compute, PlaygroundView, args.steps)]
    with tempfile.TemporaryDirectory() as tmp:
        if args.against:
            old_trainer = load_at(args.against, "lrstudio/trainer/playground.py", "_bench_old_trainer", Path(tmp))
            old_view = load_at(args.against, "lrstudio/gui/playground/view.py", "_bench_old_view", Path(tmp))

            def old_compute(function: Any, specs_: Any, *, surface: Any = None) -> Any:
                return old_trainer.compute_trajectories(function, specs_, surface=surface)

            variants.append(Variant(args.against, old_compute, old_view.PlaygroundView, args.steps))
        app.processEvents()
        for v in variants:
            v.compute(info, many, surface=surface)  # warm-up: imports, first optimizer steps

        t_contour: list[float] = []
        trajs: list = []
        for r in range(args.repeat):
            for v in variants if r % 2 == 0 else variants[::-1]:  # alternate who goes first
                trajs = v.run_once(info, surface, many, app)
            t0 = time.perf_counter()
            xs, ys, z = contour_grid(surface, info.domain, CONTOUR_POINTS)
            contour_segments(xs, ys, z, contour_levels(z))
            t_contour.append(time.perf_counter() - t0)

        print(f"10 trajectories x {args.steps} steps on Rosenbrock "
              f"({', '.join(sorted({s.optimizer['name'] for s in many}))}; statuses {sorted({t.status for t in trajs})}), "
              f"{args.repeat} interleaved repetitions; wall time, then this process's CPU time")
        for v in variants:
            t = v.times
            print(f"[{v.label}]")
            print(f"  baseline (1 trajectory)  {summary(t['base'])}   CPU {summary(t['base_cpu'])}")
            print(f"  compute (10)             {summary(t['compute'])}   CPU {summary(t['compute_cpu'])}   "
                  f"ratio to baseline {statistics.median(t['compute_cpu']) / statistics.median(t['base_cpu']):.2f} (CPU)")
            print(f"  page: compute + contour + draw + repaint  {summary(t['page'])}   CPU {summary(t['page_cpu'])}"
                  "   goal <= 500 ms")
            print(f"  one animation tick (step + paint)         {summary(t['tick'])}   CPU {summary(t['tick_cpu'])}")
        print(f"  contour {CONTOUR_POINTS}x{CONTOUR_POINTS}: {summary(t_contour)}")
        print(f"  load average: {' '.join(f'{x:.1f}' for x in os.getloadavg())} on {os.cpu_count()} cores")

        for v in variants:
            late = v.animate(app)
            if late:
                print(f"  [{v.label}] animation: {len(late)} ticks of {v.page.timer.interval()} ms: lateness "
                      f"p50 {percentile(late, 0.5):.1f} ms, p99 {percentile(late, 0.99):.1f} ms, max {max(late):.1f} ms")
        print(f"  load average after: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
        for v in variants:
            v.page.close()


if __name__ == "__main__":
    main()
