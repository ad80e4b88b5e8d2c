"""Benchmark: lr_curve for 100,000 steps vs stepping the equivalent torch scheduler 100,000 times.

For every schedule of the catalogue (with parameters that span the whole run, so the periodic and
hold-the-tail shortcuts do not make it look cheaper than it is), prints the median time of
``lr_curve(spec, N, base_lr)`` over several repeats, the time of driving the equivalent torch
scheduler N steps (the native ``torch.optim.lr_scheduler`` class where one matches, else the
``LambdaLR`` snippet of ``to_pytorch_code``), and their ratio. Both run in the same process, one
thread (``torch.set_num_threads(1)``), so the ratio is meaningful even on a busy machine.

Then the expression evaluator (lambda/multiplicative), each figure a ratio to a baseline timed in
the same interleaved repetitions (medians [min-max]): evaluating an expression over N steps at once
against a per-step scalar loop (per step), refusing each attack of tests/core/test_expr.py against
compiling a plain expression, and a run whose factor overflows at step 3 against the same run with a
finite factor. (These were timed unit tests once; speed is measured here, tests assert behaviour.)

The process first tunes glibc's allocator as lrstudio's own processes do (the app, the CLI:
``lrstudio.core.allocator``; ``--untuned-allocator`` leaves it as the system set it). Measured
2026-11-30, quiet machine (load 0.3-0.5), 100,000 steps: untuned, a warm-up + cosine took 2.5 ms
and several composite schedules fell below 100x (sequential 91x, linear_warmup and chained 95x,
hf_cosine_with_restarts 97x, paired): more than half of their time was page faults of numpy's
fresh ~0.8 MB temporaries. Tuned: slowest lr_curve 1.42 ms; lowest ratios reduce_on_plateau 112x
(103-124, paired), cosine_restarts 141x, sequential and chained 164x.

    python bench/bench_schedules.py [--steps 100000] [--repeat 15] [--torch-repeat 1] [--no-expr]
                                    [--untuned-allocator] [NAME ...]
"""

from __future__ import annotations

import argparse
import statistics
import time
import warnings

import numpy as np

from lrstudio.core.schedules import SCHEDULES, lr_curve, validate_spec
from lrstudio.core.schedules.pytorch_code import to_pytorch_code


def bench_specs(n: int) -> dict[str, dict]:
    """One spec per schedule, features spread over the n steps."""
    return {
        "constant": {"factor": 0.5, "total_iters": n // 10},
        "piecewise_constant": {"boundaries": [n // 4, n // 2, 3 * n // 4], "values": [0.1, 0.05, 0.01, 0.001]},
        "step": {"step_size": 1000, "gamma": 0.97},
        "multistep": {"milestones": [n // 3, 2 * n // 3], "gamma": 0.1},
        "exponential": {"gamma": 0.99995},
        "natural_exp": {"gamma": 3e-5},
        "inverse_time": {"gamma": 1e-4},
        "polynomial": {"decay_steps": n, "power": 2.0},
        "linear": {"start_factor": 0.01, "end_factor": 1.0, "total_iters": n},
        "factor": {"factor": 0.99995, "stop_factor_lr": 1e-5},
        "multi_factor": {"steps": [n // 3, 2 * n // 3], "factor": 0.5},
        "noam": {"d_model": 512.0, "warmup_steps": 4000},
        "inverse_sqrt": {"num_warmup_steps": 4000},
        "wsd": {"num_warmup_steps": 2000, "num_stable_steps": n // 2, "num_decay_steps": n // 2 - 2000},
        "lambda": {"lr_lambda": "0.5 * (1 + cos(pi * epoch / 100000))"},
        "multiplicative": {"lr_lambda": "0.99999"},
        "linear_warmup": {"inner": {"name": "cosine", "params": {"T_max": n}}, "warmup_steps": 2000},
        "sequential": {"schedules": [{"name": "linear", "params": {"start_factor": 0.1, "total_iters": 2000}},
                                     {"name": "cosine", "params": {"T_max": n - 2000}}],
                       "milestones": [2000]},
        "cosine": {"T_max": n},
        "cosine_restarts": {"T_0": 1000, "T_mult": 2},
        "linear_cosine": {"decay_steps": n, "num_periods": 4.0},
        "noisy_linear_cosine": {"decay_steps": n, "num_periods": 4.0},
        "cyclic": {"max_lr": 0.5, "step_size_up": 2000, "mode": "triangular2"},
        "one_cycle": {"total_steps": n},
        "reduce_on_plateau": {"patience": 10, "factor": 0.5, "cooldown": 2},
        # issue 15 families
        "hf_linear": {"num_warmup_steps": 2000, "num_training_steps": n},
        "hf_cosine": {"num_warmup_steps": 2000, "num_training_steps": n},
        "hf_cosine_with_restarts": {"num_warmup_steps": 2000, "num_training_steps": n, "num_cycles": 5},
        "hf_polynomial": {"num_warmup_steps": 2000, "num_training_steps": n, "power": 2.0},
        "hf_constant_with_warmup": {"num_warmup_steps": 2000},
        "hf_cosine_with_min_lr": {"num_warmup_steps": 2000, "num_training_steps": n},
        "hf_cosine_warmup_with_min_lr": {"num_warmup_steps": 2000, "num_training_steps": n},
        "hf_warmup_stable_decay": {"num_warmup_steps": 2000, "num_decay_steps": n // 5, "num_training_steps": n},
        "timm_cosine": {"t_initial": n // 7, "cycle_mul": 2.0, "cycle_decay": 0.8, "cycle_limit": 3,
                        "warmup_t": 2000, "k_decay": 1.5},
        "timm_tanh": {"t_initial": n // 3, "cycle_limit": 3, "warmup_t": 2000},
        "timm_poly": {"t_initial": n // 2, "cycle_limit": 2, "warmup_t": 2000, "k_decay": 2.0},
        "optax_warmup_cosine_decay": {"warmup_steps": 2000, "decay_steps": n, "exponent": 2.0},
        "optax_exponential_decay": {"transition_steps": 1000, "decay_rate": 0.97, "transition_begin": 2000},
        "optax_piecewise_interpolate": {"interpolate_type": "cosine", "boundaries": [n // 4, n // 2, 3 * n // 4],
                                        "scales": [2.0, 0.5, 0.1]},
        "optax_linear_onecycle": {"transition_steps": n},
        "optax_cosine_onecycle": {"transition_steps": n},
        "optax_sgdr": {"cycles": [{"name": "optax_warmup_cosine_decay",
                                   "params": {"warmup_steps": 1000, "decay_steps": n // 4}}] * 4},
        "chained": {"schedules": [{"name": "linear", "params": {"start_factor": 0.1, "total_iters": 2000}},
                                  {"name": "cosine", "params": {"T_max": n}}]},
        "noise": {"inner": {"name": "cosine", "params": {"T_max": n}}, "noise_range_t": [0]},
    }


def clear_caches() -> None:
    """Empty the schedules' draw caches (noise wrapper, noisy_linear_cosine): the cold cost."""
    from functools import _lru_cache_wrapper

    from lrstudio.core.schedules import cyclic, noise

    for mod in (cyclic, noise):
        for obj in vars(mod).values():
            if isinstance(obj, _lru_cache_wrapper):
                obj.cache_clear()


def time_cold(spec, n, base_lr, metrics, repeat) -> float:
    """Median seconds of lr_curve with the draw caches emptied first (a new seed or length)."""
    times = []
    for _ in range(repeat):
        clear_caches()
        t0 = time.perf_counter()
        lr_curve(spec, n, base_lr, metrics=metrics)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def loss_curve(n: int) -> np.ndarray:
    """A plausible training loss: noisy exponential decay to a floor (>= 0)."""
    rng = np.random.default_rng(0)
    t = np.arange(n)
    return np.abs(0.2 + np.exp(-t / (n / 8)) + 0.02 * rng.standard_normal(n))


def time_lr_curve(spec, n, base_lr, metrics, repeat) -> tuple[float, float]:
    """(median, best) seconds; best-of shows the cost without the other processes' noise."""
    lr_curve(spec, n, base_lr, metrics=metrics)  # warm caches (expression compile, imports)
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        lr_curve(spec, n, base_lr, metrics=metrics)
        times.append(time.perf_counter() - t0)
    return statistics.median(times), min(times)


def time_cpu(spec, n, base_lr, metrics, repeat) -> float:
    """Median CPU seconds of this process (time.process_time): the cost itself, without the waits a
    busy shared machine adds to the wall clock (the other processes' time slices)."""
    times = []
    for _ in range(repeat):
        t0 = time.process_time()
        lr_curve(spec, n, base_lr, metrics=metrics)
        times.append(time.process_time() - t0)
    return statistics.median(times)


def time_torch(spec, n, base_lr, metrics, repeat) -> tuple[float, str]:
    import torch

    times = []
    kind = ""
    for _ in range(repeat):
        w = torch.nn.Parameter(torch.zeros(1))
        optimizer = torch.optim.SGD([w], lr=base_lr)
        ns = {"optimizer": optimizer}
        # bench only (never in lrstudio/): run the generated snippet, as a user would
        exec(compile(to_pytorch_code(spec, base_lr), "<snippet>", "exec"), ns)  # noqa: S102
        sched = ns["scheduler"]
        kind = type(sched).__name__
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "scheduler.step() before optimizer.step()": we time only the scheduler
            t0 = time.perf_counter()
            if metrics is not None:
                for m in metrics.tolist():
                    sched.step(m)
            else:
                for _ in range(n):
                    sched.step()
            times.append(time.perf_counter() - t0)
    return statistics.median(times), kind


def time_paired(spec, n, base_lr, metrics, rounds: int, inner: int = 5) -> list[float]:
    """torch/lr_curve ratios of ``rounds`` interleaved rounds: each round steps the torch scheduler
    n times and times lr_curve ``inner`` times (their median), back to back, so both see the same
    load (issue 15: on the shared 2-core machine the load moves within seconds)."""
    ratios = []
    for _ in range(rounds):
        theirs, _kind = time_torch(spec, n, base_lr, metrics[: n - 1] if metrics is not None else None, 1)
        ours = []
        for _ in range(inner):
            t0 = time.perf_counter()
            lr_curve(spec, n, base_lr, metrics=metrics)
            ours.append(time.perf_counter() - t0)
        ratios.append(theirs / statistics.median(ours))
    return ratios


def _med(xs: list[float]) -> str:
    return f"{statistics.median(xs):.3g} [{min(xs):.3g}-{max(xs):.3g}]"


def bench_expressions(n: int, repeat: int) -> None:
    """The expression evaluator's speed as ratios against baselines timed alongside."""
    import sys
    from pathlib import Path

    from lrstudio.core.schedules import ScheduleError, compile_expr
    from lrstudio.core.schedules.expr import _compile_cached

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "core"))
    from test_expr import ATTACKS

    text = "0.5 * (1 + cos(pi * min(epoch, 5000) / 5000)) if epoch > 10 else epoch / 10"
    e = compile_expr(text)
    t = np.arange(n, dtype=np.float64)
    few = t[:: max(1, n // 2000)].tolist()
    vec, loop = [], []
    for _ in range(repeat):
        t0 = time.perf_counter()
        e.evaluate(t)
        vec.append((time.perf_counter() - t0) / n)
        t0 = time.perf_counter()
        for k in few:
            e.evaluate(k)
        loop.append((time.perf_counter() - t0) / len(few))
    ratio = [a / b for a, b in zip(loop, vec)]
    print(f"expression over {n:,} steps: {_med([v * n * 1e3 for v in vec])} ms; a scalar loop costs "
          f"{_med(ratio)}x more per step")

    plain = "0.5 * (1 + cos(pi * epoch / 1000)) if epoch > 10 else epoch / 10"
    per_attack: list[list[float]] = [[] for _ in ATTACKS]
    for _ in range(repeat):
        _compile_cached.cache_clear()
        t0 = time.perf_counter()
        compile_expr(plain)
        base = time.perf_counter() - t0
        for i, (attack, _reason) in enumerate(ATTACKS):
            _compile_cached.cache_clear()
            t0 = time.perf_counter()
            try:
                compile_expr(attack)
            except ScheduleError:  # every attack is refused (tests/core/test_expr.py); only its time matters
                pass
            per_attack[i].append((time.perf_counter() - t0) / base)
    medians = [statistics.median(r) for r in per_attack]
    slowest = int(np.argmax(medians))
    worst = per_attack[slowest]
    print(f"refusing an attack vs compiling a plain expression: slowest #{slowest} "
          f"({ATTACKS[slowest][0][:24]!r}) {_med(worst)}x; median over attacks {statistics.median(medians):.3g}x")

    ok = {"name": "lambda", "params": {"lr_lambda": "9 ** (epoch / 100000)"}}
    bad = {"name": "lambda", "params": {"lr_lambda": "9 ** (9 ** epoch)"}}
    lr_curve(ok, n, 0.1)
    fail_ratio = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        lr_curve(ok, n, 0.1)
        base = time.perf_counter() - t0
        t0 = time.perf_counter()
        try:
            lr_curve(bad, n, 0.1)
        except ScheduleError:  # refused at step 3, as tests/core/test_expr.py checks
            pass
        fail_ratio.append((time.perf_counter() - t0) / base)
    print(f"a run that overflows at step 3 vs a finite run, {n:,} steps: {_med(fail_ratio)}x")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("names", nargs="*", help="schedules to run (default: all)")
    ap.add_argument("--steps", type=int, default=100_000)
    ap.add_argument("--repeat", type=int, default=15, help="repeats of lr_curve (median)")
    ap.add_argument("--torch-repeat", type=int, default=1, help="repeats of the torch loop (median)")
    ap.add_argument("--no-torch", action="store_true", help="time lr_curve only")
    ap.add_argument("--no-expr", action="store_true", help="skip the expression evaluator's ratios")
    ap.add_argument("--paired", type=int, default=0, metavar="R",
                    help="also R interleaved rounds (torch loop, then lr_curve x5) per schedule: median "
                         "[min-max] of the per-round ratios")
    ap.add_argument("--untuned-allocator", action="store_true",
                    help="leave glibc's allocator as it is (lrstudio's processes tune it: lrstudio.core.allocator)")
    args = ap.parse_args()
    # lr_curve as lrstudio's processes run it (the app's preview, the CLI): they keep freed memory
    # at the top of the heap, so numpy's temporaries do not page-fault afresh on every call.
    from lrstudio.core.allocator import tune_allocator

    tuned = False if args.untuned_allocator else tune_allocator()
    print(f"allocator: {'tuned as in lrstudio processes (M_TOP_PAD)' if tuned else 'as the system set it'}")

    import torch

    torch.set_num_threads(1)
    n = args.steps
    specs = bench_specs(n)
    names = args.names or list(SCHEDULES)
    base_lr = 0.1
    print(f"lr_curve for {n:,} steps (median of {args.repeat}) vs stepping the torch scheduler {n:,} times "
          f"(median of {args.torch_repeat}); torch threads = {torch.get_num_threads()}")
    print(f"{'schedule':30s} {'lr_curve ms':>12s} {'(best)':>7s} {'(cold)':>9s} {'(cpu)':>7s} {'torch ms':>10s} "
          f"{'torch/lr_curve':>15s}"
          "  torch scheduler")
    worst = worst_cold = worst_cpu = 0.0
    for name in names:
        spec = validate_spec({"name": name, "params": specs.get(name, {})})
        metrics = loss_curve(n) if SCHEDULES[name].metric_driven else None
        ours, best = time_lr_curve(spec, n, base_lr, metrics, args.repeat)
        cold = time_cold(spec, n, base_lr, metrics, max(3, args.repeat // 3))
        cpu = time_cpu(spec, n, base_lr, metrics, args.repeat)
        worst = max(worst, ours)
        worst_cpu = max(worst_cpu, cpu)
        worst_cold = max(worst_cold, cold)
        if args.no_torch:
            print(f"{name:30s} {ours * 1e3:12.2f} {best * 1e3:7.2f} {cold * 1e3:9.2f} {cpu * 1e3:7.2f}")
            continue
        theirs, kind = time_torch(spec, n, base_lr, metrics[: n - 1] if metrics is not None else None,
                                  args.torch_repeat)
        print(f"{name:30s} {ours * 1e3:12.2f} {best * 1e3:7.2f} {cold * 1e3:9.2f} {cpu * 1e3:7.2f} {theirs * 1e3:10.1f} "
              f"{theirs / ours:14.0f}x  {kind}")
        if args.paired:
            print(f"{'':30s} paired torch/lr_curve over {args.paired} rounds: "
                  f"{_med(time_paired(spec, n, base_lr, metrics, args.paired))}x")
    print(f"slowest lr_curve median: {worst * 1e3:.2f} ms (target <= 5 ms); CPU-time median: {worst_cpu * 1e3:.2f} ms; "
          f"with the draw caches emptied: {worst_cold * 1e3:.2f} ms")
    if not args.no_expr:
        bench_expressions(n, args.repeat)
    try:
        import os

        print(f"load average while running: {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs")
    except OSError:  # pragma: no cover - not on every platform
        pass


if __name__ == "__main__":
    main()
