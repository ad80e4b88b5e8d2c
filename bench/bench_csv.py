"""Benchmark: reading a user CSV with ``load_csv`` vs ``numpy.loadtxt`` of the same file.

Two shapes that used to hurt (issue 9): a long file (200,000 rows x 6 columns; 12 s before, when
every cell went through Python's ``float``) and a wide one (200 rows x 100,000 columns; over 120 s
before, quadratic in the number of columns). For each, prints the median time of ``numpy.loadtxt``
(the C parser, floats only: the floor), of ``load_csv`` (parse, checks, split, standardise), and
their ratio; a third case adds a yes/no column and a text column, which take numpy's text path.
Both run in the same process, so the ratio means something on a busy machine.

    python bench/bench_csv.py [--repeat 3] [--rows 200000] [--wide-cols 100000]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

from lrstudio.core.data import load_csv


def _write(path: Path, header: list[str], columns: list[list[str]]) -> None:
    lines = [",".join(header)]
    lines.extend(",".join(cells) for cells in zip(*columns))
    path.write_text("\n".join(lines) + "\n")


def _numeric(n_rows: int, n_cols: int, seed: int = 0) -> tuple[list[str], list[list[str]]]:
    rng = np.random.default_rng(seed)
    x = np.round(rng.normal(100.0, 20.0, size=(n_rows, n_cols)), 3)
    header = [f"f{j}" for j in range(n_cols - 1)] + ["price"]
    return header, [[f"{v:g}" for v in x[:, j]] for j in range(n_cols)]


def _median_time(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--rows", type=int, default=200_000)
    ap.add_argument("--wide-cols", type=int, default=100_000)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        cases = []
        long = Path(tmp, "long.csv")
        _write(long, *_numeric(args.rows, 6))
        cases.append(("long numeric", long, True))
        wide = Path(tmp, "wide.csv")
        _write(wide, *_numeric(200, args.wide_cols, seed=1))
        cases.append(("wide numeric", wide, True))
        mixed = Path(tmp, "mixed.csv")
        header, cols = _numeric(args.rows, 6, seed=2)
        n = args.rows
        cols = [[f"h{i}" for i in range(n)], [("yes" if i % 3 else "no") for i in range(n)], *cols]
        _write(mixed, ["name", "garden", *header], cols)
        cases.append(("long, yes/no + text", mixed, False))
        print(f"{'file':22} {'shape':>16} {'np.loadtxt':>11} {'load_csv':>10} {'ratio':>7}")
        for label, path, numeric in cases:
            shape = np.loadtxt(path, delimiter=",", skiprows=1, max_rows=1, dtype=str).shape
            rows = sum(1 for _ in path.open()) - 1

            def ref(path=path, numeric=numeric):
                if numeric:
                    np.loadtxt(path, delimiter=",", skiprows=1, dtype=np.float64)
                else:
                    np.loadtxt(path, delimiter=",", skiprows=1, dtype=np.float64, usecols=range(2, 8))

            t_np = _median_time(ref, args.repeat)
            t_lr = _median_time(lambda path=path: load_csv(path), args.repeat)
            print(f"{label:22} {f'{rows} x {shape[0]}':>16} {t_np:10.2f}s {t_lr:9.2f}s {t_lr / t_np:6.2f}x")


if __name__ == "__main__":
    main()
