"""Optimizer playground (issue 16): 10 overlaid trajectories of 1,000 steps on a 2-D function,
computed and drawn, contour included; and the animation timer's lateness.

Goal (issue 16): computing and drawing 10 trajectories x 1,000 steps on a 2-D function, including
the contour, takes at most 0.5 s; the animation stays smooth.

What is timed, per repetition (the parts interleaved, medians and ranges printed):

* ``compute``: :func:`lrstudio.services.playground.compute` of 10 trajectories (5 optimizers of the
  registry x 2 LRs on Rosenbrock, 1,000 steps each, the real torch.optim optimizers);
* ``baseline``: one trajectory of the same length (SGD), the same call: the per-call floor the
  ratio ``compute / baseline`` is measured against (10 trajectories cost less than 10 of these
  because one backward serves all of them);
* ``contour``: the grid (160 x 160), the levels and the marching-squares segments;
* ``page``: the whole Playground tab path: ``PlaygroundView.recompute()`` (compute + contour +
  setting every item's data) followed by a synchronous repaint of the tab (``repaint()``, offscreen);
  wall time and this process's CPU time (on a shared machine the difference is time spent waiting
  for a core; the load average is printed).

The animation: the tab plays the 10 x 1,000 trajectories through (``FRAME_MS`` timer) and the lateness
of each tick against its interval is summarised (p50, p99, max, in ms).

    QT_QPA_PLATFORM=offscreen python bench/bench_playground.py [--repeat 5] [--steps 1000]
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


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


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--steps", type=int, default=1000)
    args = ap.parse_args()

    from PySide6.QtWidgets import QApplication

    from lrstudio.core.playground import contour_grid, contour_levels, contour_segments, resolve_function
    from lrstudio.gui.playground.view import CONTOUR_POINTS, PlaygroundView
    from lrstudio.services.playground import compute

    app = QApplication.instance() or QApplication([])
    info, surface = resolve_function("rosenbrock")
    many = specs(args.steps)
    one = many[:1]
    page = PlaygroundView(None)
    page.resize(1300, 700)
    page.show()
    app.processEvents()
    page.set_function("rosenbrock")
    page.specs = list(many)
    compute(info, many, surface=surface)  # warm-up: imports, first optimizer steps

    t_compute: list[float] = []
    t_base: list[float] = []
    t_contour: list[float] = []
    t_page: list[float] = []
    cpu_page: list[float] = []
    for _ in range(args.repeat):
        t0 = time.perf_counter()
        compute(info, one, surface=surface)
        t_base.append(time.perf_counter() - t0)

        t0 = time.perf_counter()
        trajs = compute(info, many, surface=surface)
        t_compute.append(time.perf_counter() - t0)

        t0 = time.perf_counter()
        xs, ys, z = contour_grid(surface, info.domain, CONTOUR_POINTS)
        contour_segments(xs, ys, z, contour_levels(z))
        t_contour.append(time.perf_counter() - t0)

        page._built_for = None  # draw the contour again too
        t0, c0 = time.perf_counter(), time.process_time()
        assert page.recompute(), page.message.text()
        page.repaint()
        t_page.append(time.perf_counter() - t0)
        cpu_page.append(time.process_time() - c0)

    print(f"10 trajectories x {args.steps} steps on Rosenbrock ({', '.join(sorted({s.optimizer['name'] for s in many}))};"
          f" statuses {sorted({t.status for t in trajs})}), {args.repeat} interleaved repetitions")
    print(f"  baseline (1 trajectory)  {summary(t_base)}")
    print(f"  compute (10)             {summary(t_compute)}   ratio to baseline "
          f"{statistics.median(t_compute) / statistics.median(t_base):.2f}")
    print(f"  contour {CONTOUR_POINTS}x{CONTOUR_POINTS}       {summary(t_contour)}")
    print(f"  page: compute + contour + draw + repaint  {summary(t_page)}   goal <= 500 ms")
    print(f"  page, CPU time of this process           {summary(cpu_page)}   (wall - CPU: waiting for a core)")
    print(f"  load average: {' '.join(f'{x:.1f}' for x in os.getloadavg())} on {os.cpu_count()} cores")

    # the animation: play the 10 x 1,000 trajectories through
    page.timer_lateness_ms.clear()
    page.slider.setValue(0)
    page.play_button.setChecked(True)
    t0 = time.perf_counter()
    while page.play_button.isChecked() and time.perf_counter() - t0 < 30:
        app.processEvents()
        time.sleep(0.001)
    late = page.timer_lateness_ms
    if late:
        print(f"  animation: {len(late)} ticks of {page.timer.interval()} ms: lateness p50 {percentile(late, 0.5):.1f} ms,"
              f" p99 {percentile(late, 0.99):.1f} ms, max {max(late):.1f} ms")
    page.close()


if __name__ == "__main__":
    main()
