"""The chunk codec of metric series (issue 11): a series is stored as typed array chunks.

One row of ``metric_chunks`` holds up to :data:`CHUNK_POINTS` points of one series as four
little-endian numpy arrays in BLOBs (``bytea`` on PostgreSQL):

========  =================================  ===========================================
column    dtype                              meaning
========  =================================  ===========================================
steps     ``<i8``                            the steps
vals      ``<f8``                            the values, bit-exact (NaN, +-inf, -0.0 kept)
wall      ``<f8``                            wall time in seconds; NaN where none was stored
epoch     ``<i4`` (``<i8`` if it must be)    the epoch, -1 where none was stored; the
                                             itemsize is ``len(epoch) // n``
========  =================================  ===========================================

Chunks of a series are ordered by ``seq`` (the order they were written); ``first_step`` and
``last_step`` give the step range of each chunk, ``n`` its number of points. A step written twice
(a recorder replaying a step) is kept once on reading, the later write winning, as SQLite's
``INSERT OR REPLACE`` did for the row-per-point layout.

This module knows nothing of SQLAlchemy: the recorder, the reader, the CSV export and migration
0003 (which repeats the layout, as migrations must) share it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from lrstudio.core.runs import Series

CHUNK_POINTS = 16_384  # points per compacted chunk (~450 KB of BLOBs)
TAIL_CHUNKS = 16  # a recorder merges a series' partial chunks once it has this many

_I32 = np.iinfo(np.int32)

Arrays = tuple[npt.NDArray[np.int64], npt.NDArray[np.float64], npt.NDArray[np.float64], npt.NDArray[Any]]

CHUNK_COLUMNS = ("series_id", "seq", "first_step", "last_step", "n", "steps", "vals", "wall", "epoch")


def encode(step: npt.NDArray[np.int64], value: npt.NDArray[np.float64], wall: npt.NDArray[np.float64],
           epoch: npt.NDArray[Any]) -> tuple[int, int, int, bytes, bytes, bytes, bytes]:
    """Arrays of one chunk -> (first_step, last_step, n, steps, vals, wall, epoch) for a row."""
    n = int(step.shape[0])
    ep = np.asarray(epoch)
    if n and (int(ep.min()) < _I32.min or int(ep.max()) > _I32.max):
        ep_bytes = ep.astype("<i8").tobytes()
    else:
        ep_bytes = ep.astype("<i4").tobytes()
    return (int(step.min()) if n else 0, int(step.max()) if n else 0, n,
            step.astype("<i8").tobytes(), value.astype("<f8").tobytes(), wall.astype("<f8").tobytes(), ep_bytes)


def decode(n: int, steps: Any, vals: Any, wall: Any, epoch: Any) -> Arrays:
    """BLOBs of one chunk row -> read-only arrays (no copy)."""
    if n == 0:
        return (np.empty(0, np.int64), np.empty(0), np.empty(0), np.empty(0, np.int32))
    ep_dtype = "<i8" if len(epoch) == 8 * n else "<i4"
    return (np.frombuffer(steps, "<i8"), np.frombuffer(vals, "<f8"), np.frombuffer(wall, "<f8"),
            np.frombuffer(epoch, ep_dtype))


def ordered(step: npt.NDArray[np.int64], *cols: npt.NDArray[Any]) -> tuple[npt.NDArray[Any], ...]:
    """Sort by step and keep the last-written point of a repeated step (the arrays are in write
    order). Sorted arrays without repeats (the usual case) are returned as they are."""
    if step.shape[0] < 2 or bool(np.all(step[1:] > step[:-1])):
        return (step, *cols)
    order = np.argsort(step, kind="stable")
    s = step[order]
    keep = np.ones(s.shape[0], dtype=bool)
    keep[:-1] = s[1:] != s[:-1]  # the last of equal steps is the last written (stable sort)
    idx = order[keep]
    return (step[idx], *(c[idx] for c in cols))


def concat(chunks: Sequence[Arrays]) -> Arrays:
    """Chunks in write order -> one set of writable arrays, sorted by step, repeats resolved."""
    if not chunks:
        return (np.empty(0, np.int64), np.empty(0), np.empty(0), np.empty(0, np.int64))
    step, value, wall, epoch = (np.concatenate([c[i] for c in chunks]) for i in range(4))
    out = ordered(step, value, wall, epoch)
    return (out[0], out[1], out[2], out[3])


def series_of(chunks: Sequence[Arrays]) -> Series:
    """Chunks of one series in write order -> :class:`Series` (epoch as int64)."""
    if not chunks:
        return Series.empty()
    step, value, wall, epoch = concat(chunks)
    return Series(step, value, wall, epoch.astype(np.int64, copy=False))


def split(arrays: Arrays, size: int = CHUNK_POINTS) -> list[Arrays]:
    """Arrays -> pieces of at most ``size`` points."""
    n = int(arrays[0].shape[0])
    if n <= size:
        return [arrays]
    return [(arrays[0][i:i + size], arrays[1][i:i + size], arrays[2][i:i + size], arrays[3][i:i + size])
            for i in range(0, n, size)]
