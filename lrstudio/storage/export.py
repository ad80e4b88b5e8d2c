"""CSV export of run histories and of the runs table.

Rules for every file written here:

* UTF-8, ``csv`` module quoting (commas, quotes, newlines and any script survive a round trip).
* Floats as ``repr`` (shortest text that reads back to the same double); NaN and infinities as
  ``nan``, ``inf``, ``-inf``; integers as themselves; missing values as empty cells.
* A *text* cell that a spreadsheet would run as a formula (first character ``=``, ``+``, ``-``,
  ``@``, tab or carriage return; OWASP "CSV injection") gets a leading ``'``. Numbers are never
  touched, so ``-0.5`` and ``-inf`` stay numbers.
* Streaming: points are read chunk row by chunk row of ``metric_chunks`` (at most 16,384 points
  each, ``np.frombuffer`` over the BLOBs; :mod:`lrstudio.storage.chunks`), each in its own short
  transaction, and written as they come, so memory does not grow with the number of points, on
  SQLite and on PostgreSQL alike. A series whose chunks overlap in steps (a replayed step) is
  read whole instead, to resolve the repeat as every reader does. A file is written beside ``dest`` and renamed into place at the end; ``dest``
  may also be a text stream (``sys.stdout``). A failure leaves no partial file (``_csv_out``).
"""

from __future__ import annotations

import csv
import heapq
import json
import os
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Protocol, TextIO

import numpy as np
from sqlalchemy import Engine, func, select

from lrstudio.core.runs import RunInfo
from lrstudio.storage.chunks import Arrays, concat, decode, split
from lrstudio.storage.engine import RunNotFoundError, StoreError, driver_connection, translated
from lrstudio.storage.models import MetricChunkRow, MetricSeriesRow, table

_series = table(MetricSeriesRow)
_chunks = table(MetricChunkRow)


class ExportSource(Protocol):
    """What the export reads from the store (``lrstudio.storage.Store`` has it): its engine and
    its runs. A protocol, so that this module does not import the repository, which calls it."""

    @property
    def engine(self) -> Engine: ...

    def list_runs(self, *, order_by: str = ..., descending: bool = ...,
                  run_ids: Iterable[int] | None = ...) -> list[RunInfo]: ...

HISTORY_COLUMNS = ("run_id", "run_name", "step", "epoch", "wall_time", "metric", "value")
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
CHUNK = 10_000


def text_cell(s: str) -> str:
    """Neutralise a text cell a spreadsheet would evaluate as a formula."""
    return "'" + s if s.startswith(FORMULA_STARTS) else s


def num_cell(v: float | int | None) -> str:
    if v is None:
        return ""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    return repr(float(v))  # 'nan', 'inf', '-inf' included


def cell(v: Any) -> str:
    """Any value -> cell text (numbers exact, text neutralised, containers as JSON)."""
    if v is None or isinstance(v, (bool, int, float)):
        return num_cell(v)
    if isinstance(v, str):
        return text_cell(v)
    return text_cell(json.dumps(v, allow_nan=True, default=str, ensure_ascii=False))


def _ph(store: ExportSource) -> str:
    return "?" if store.engine.dialect.paramstyle == "qmark" else "%s"


Page = list[tuple[int, float, float | None, int | None]]  # (step, value, wall_time, epoch)


def _page(arrays: Arrays) -> Page:
    """Arrays of a chunk -> (step, value, wall_time, epoch) tuples; NaN wall time and epoch -1
    are the missing ones (empty cells)."""
    step, value, wall, epoch = arrays
    walls: list[float | None] = wall.tolist()
    if np.isnan(wall).any():
        walls = [None if w != w else w for w in walls]
    epochs: list[int | None] = epoch.tolist()
    if (epoch == -1).any():
        epochs = [None if e == -1 else e for e in epochs]
    return list(zip(step.tolist(), value.tolist(), walls, epochs))


def _series_pages(store: ExportSource, series_id: int, chunk: int) -> Iterator[Page]:
    """Pages of points of one series in step order, one chunk row per short transaction (keyset
    paging on ``seq``); pages hold at most ``chunk`` points."""
    ph = _ph(store)
    with translated(), store.engine.connect() as conn:
        ranges = conn.execute(select(_chunks.c.first_step, _chunks.c.last_step)
                              .where(_chunks.c.series_id == series_id).order_by(_chunks.c.seq)).all()
    if any(b[0] <= a[1] for a, b in zip(ranges, ranges[1:])):
        # Overlapping chunks (a step written twice): resolve the repeats over the whole series.
        with translated(), store.engine.connect() as conn:
            cur = driver_connection(conn).cursor()
            try:
                cur.execute(f"SELECT n, steps, vals, wall, epoch FROM metric_chunks WHERE series_id = {ph} "
                            "ORDER BY seq", (series_id,))
                whole = concat([decode(*r) for r in cur.fetchall()])
            finally:
                cur.close()
        for piece in split(whole, max(chunk, 1)):
            yield _page(piece)
        return
    # Each chunk in slices of ``chunk`` points (substr() over the BLOBs, on SQLite and PostgreSQL):
    # Python memory stays one page, whatever the size of a chunk.
    # Keyset on the last step written out, so that partial chunks of a live run merged meanwhile
    # (deleted and rewritten under another seq) are neither skipped nor repeated.
    head = (f"SELECT seq, n, length(epoch) FROM metric_chunks WHERE series_id = {ph} AND last_step > {ph} "
            "ORDER BY first_step LIMIT 1")
    body = ("SELECT " + ", ".join(f"substr({c}, {ph}, {ph})" for c in ("steps", "vals", "wall", "epoch"))
            + f" FROM metric_chunks WHERE series_id = {ph} AND seq = {ph}")
    page = max(chunk, 1)
    done = -(2**63)
    while True:
        with translated(), store.engine.connect() as conn:
            cur = driver_connection(conn).cursor()
            try:
                cur.execute(head, (series_id, done))
                row = cur.fetchone()
            finally:
                cur.close()
        if row is None:
            return
        seq, n, ep_len = row
        ep_size = 8 if n and ep_len == 8 * n else 4
        for i in range(0, n, page):
            k = min(page, n - i)
            with translated(), store.engine.connect() as conn:
                cur = driver_connection(conn).cursor()
                try:
                    cur.execute(body, (8 * i + 1, 8 * k, 8 * i + 1, 8 * k, 8 * i + 1, 8 * k,
                                       ep_size * i + 1, ep_size * k, series_id, seq))
                    part = cur.fetchone()
                finally:
                    cur.close()
            if part is None:  # merged away meanwhile: look for the step after `done` again
                break
            steps, vals, wall, epoch = part
            arrays = concat([(np.frombuffer(steps, "<i8"), np.frombuffer(vals, "<f8"),
                              np.frombuffer(wall, "<f8"), np.frombuffer(epoch, f"<i{ep_size}"))])
            new = arrays[0] > done
            if not new.all():
                arrays = (arrays[0][new], arrays[1][new], arrays[2][new], arrays[3][new])
            if arrays[0].shape[0]:
                done = int(arrays[0][-1])
                yield _page(arrays)


def _series_points(store: ExportSource, series_id: int, chunk: int) -> Iterator[tuple[int, float, float | None, int | None]]:
    for page in _series_pages(store, series_id, chunk):
        yield from page


def _run_series(store: ExportSource, run_id: int, keys: Iterable[str] | None) -> list[tuple[str, int]]:
    with translated(), store.engine.connect() as conn:
        q = select(_series.c.key, _series.c.id).where(_series.c.run_id == run_id)
        if keys is not None:
            q = q.where(_series.c.key.in_(list(keys)))
        return sorted((k, i) for k, i in conn.execute(q))


def _count_points(store: ExportSource, series_ids: Sequence[int]) -> int:
    if not series_ids:
        return 0
    total = 0
    with translated(), store.engine.connect() as conn:
        for i in range(0, len(series_ids), 500):
            chunk = list(series_ids[i:i + 500])
            total += conn.execute(select(func.coalesce(func.sum(_chunks.c.n), 0))
                                  .where(_chunks.c.series_id.in_(chunk))).scalar_one()
    return total


def _runs(store: ExportSource, run_ids: Sequence[int]) -> list[RunInfo]:
    by_id = {r.id: r for r in store.list_runs(run_ids=run_ids, order_by="id", descending=False)}
    missing = [i for i in run_ids if i not in by_id]
    if missing:
        raise RunNotFoundError(f"no run with id {missing[0]} in this database")
    return [by_id[i] for i in dict.fromkeys(run_ids)]


def _write_error(where: object, exc: OSError, kept: str = "") -> StoreError:
    return StoreError(f"cannot write {where}: {exc.strerror or exc}{kept}")


@contextmanager
def _csv_out(dest: str | os.PathLike[str] | TextIO) -> Iterator[Any]:
    """A csv writer for ``dest``, with nothing half-written left behind if anything fails.

    * A text stream (``sys.stdout`` for ``export -o -``) is written as it is and left open; a
      reader that goes away (``BrokenPipeError``) is the caller's business.
    * A device or a pipe (``/dev/stdout``, a FIFO) is written in place: renaming a file onto it
      would replace the device.
    * A regular file is written beside ``dest`` under a hidden ``.part`` name and renamed into
      place at the end, so a failed export (full disk, a kill) leaves the old file as it was.

    Any ``OSError`` (a folder as ``dest``, no permission, ``ENOSPC`` while writing or closing)
    becomes one :class:`StoreError` that names the file; the ``.part`` file is removed.
    """
    if not isinstance(dest, (str, os.PathLike)):
        stream = dest
        try:
            yield csv.writer(stream)
            stream.flush()
        except BrokenPipeError:
            raise
        except OSError as exc:
            raise _write_error(getattr(stream, "name", "the output stream"), exc) from None
        return
    path = Path(os.fspath(dest)).expanduser()
    if path.is_dir():
        raise StoreError(f"cannot write {path}: it is a folder; give a file name, e.g. {path / 'export.csv'}")
    direct = path.exists() and not path.is_file()
    target = path if direct else path.with_name(f".{path.name}.part")
    f: TextIO | None = None
    try:
        if not direct:
            path.parent.mkdir(parents=True, exist_ok=True)
        f = target.open("w", encoding="utf-8", newline="")
        yield csv.writer(f)
        f.close()
        if not direct:
            os.replace(target, path)
    except OSError as exc:
        raise _write_error(path, exc, "" if direct else " (no file was written or changed)") from None
    finally:
        if f is not None and not f.closed:
            try:
                f.close()
            except OSError:
                pass  # the write already failed (a full disk fails the flush again); that error is reported
        if not direct:
            target.unlink(missing_ok=True)  # gone already after the rename


def export_history_csv(
    store: ExportSource,
    run_ids: Sequence[int],
    dest: str | os.PathLike[str] | TextIO,
    *,
    wide: bool = False,
    keys: Iterable[str] | None = None,
    progress: Callable[[int, int], None] | None = None,
    chunk: int = CHUNK,
) -> int:
    """Write the histories of ``run_ids`` to one CSV file; return the number of data rows.

    Long format (default): ``run_id, run_name, step, epoch, wall_time, metric, value``, one row per
    point. Wide format: ``run_id, run_name, step, epoch, wall_time`` and one column per metric
    key (the union over the runs), one row per (run, step). ``progress(done, total)`` is called
    with counts of points.
    """
    run_ids = list(run_ids)
    if not run_ids:
        raise StoreError("choose at least one run to export")
    runs = _runs(store, run_ids)
    wanted = None if keys is None else list(keys)
    per_run = {r.id: _run_series(store, r.id, wanted) for r in runs}
    total = _count_points(store, [sid for s in per_run.values() for _, sid in s])
    done = 0
    rows = 0
    step_every = max(chunk, 1)
    with _csv_out(dest) as w:
        if not wide:
            w.writerow(HISTORY_COLUMNS)
            for r in runs:
                name = text_cell(r.name)
                for key, sid in per_run[r.id]:
                    metric = text_cell(key)
                    for page in _series_pages(store, sid, chunk):
                        w.writerows(
                            (r.id, name, step, num_cell(epoch), num_cell(wall), metric, repr(v))
                            for step, v, wall, epoch in page
                        )
                        rows += len(page)
                        done += len(page)
                        if progress is not None:
                            progress(done, total)
        else:
            all_keys = sorted({k for s in per_run.values() for k, _ in s})
            w.writerow(("run_id", "run_name", "step", "epoch", "wall_time", *map(text_cell, all_keys)))
            col = {k: i for i, k in enumerate(all_keys)}
            for r in runs:
                name = text_cell(r.name)
                streams = [_tagged(_series_points(store, sid, chunk), col[key]) for key, sid in per_run[r.id]]
                current: int | None = None
                cells: list[str] = []
                epoch_c = wall_c = ""
                for step, ci, value, wall, epoch in heapq.merge(*streams):
                    if step != current:
                        if current is not None:
                            w.writerow((r.id, name, current, epoch_c, wall_c, *cells))
                            rows += 1
                        current = step
                        cells = [""] * len(all_keys)
                        epoch_c, wall_c = num_cell(epoch), num_cell(wall)
                    cells[ci] = repr(value)
                    done += 1
                    if progress is not None and done % step_every == 0:
                        progress(done, total)
                if current is not None:
                    w.writerow((r.id, name, current, epoch_c, wall_c, *cells))
                    rows += 1
            if progress is not None:
                progress(done, total)
    return rows


def _tagged(points: Iterator[tuple[int, float, float | None, int | None]],
            ci: int) -> Iterator[tuple[int, int, float, float | None, int | None]]:
    for step, value, wall, epoch in points:
        yield step, ci, value, wall, epoch


RUN_COLUMNS = ("id", "uuid", "name", "status", "created_at", "started_at", "ended_at", "tags", "notes",
               "error", "lrstudio_version", "steps", "epochs", "duration_s", "final_loss", "best_loss",
               "final_val_loss", "best_val_loss", "best_accuracy", "diverged_step")


def flatten(data: Any, prefix: str = "") -> dict[str, Any]:
    """``{"a": {"b": 1}, "l": [2]}`` -> ``{"a.b": 1, "l.0": 2}`` (leaves keep their types)."""
    out: dict[str, Any] = {}
    if isinstance(data, Mapping):
        if not data and prefix:
            out[prefix] = None
        for k, v in data.items():
            out.update(flatten(v, f"{prefix}.{k}" if prefix else str(k)))
    elif isinstance(data, (list, tuple)):
        if not data and prefix:
            out[prefix] = None
        for i, v in enumerate(data):
            out.update(flatten(v, f"{prefix}.{i}" if prefix else str(i)))
    else:
        out[prefix] = data
    return out


def _time(t: Any) -> str:
    return "" if t is None else t.isoformat()


def export_runs_csv(store: ExportSource, dest: str | os.PathLike[str] | TextIO, run_ids: Sequence[int] | None = None) -> int:
    """One row per run: identity, status, times, summary values, then every config parameter
    flattened into ``config.*`` columns (``config.optimizer.params.momentum``) and extra summary
    values as ``extra.*``. Returns the number of runs written."""
    if run_ids is None:
        runs = store.list_runs(order_by="id", descending=False)
    else:
        runs = _runs(store, list(run_ids))
    flat_cfg = []
    cfg_cols: dict[str, None] = {}
    extra_cols: dict[str, None] = {}
    for r in runs:
        cfg = flatten(r.config_dict, "config")
        extra = flatten(dict(r.summary_extra), "extra") if r.summary_extra else {}
        flat_cfg.append((cfg, extra))
        cfg_cols.update(dict.fromkeys(cfg))
        extra_cols.update(dict.fromkeys(extra))
    header = [*RUN_COLUMNS, *cfg_cols, *extra_cols]
    with _csv_out(dest) as w:
        w.writerow([text_cell(h) for h in header])
        for r, (cfg, extra) in zip(runs, flat_cfg):
            base = [
                r.id, text_cell(r.uuid), text_cell(r.name), r.status, _time(r.created_at), _time(r.started_at),
                _time(r.ended_at), text_cell(";".join(r.tags)), text_cell(r.notes), cell(r.error),
                text_cell(r.lrstudio_version), num_cell(r.steps), num_cell(r.epochs), num_cell(r.duration_s),
                num_cell(r.final_loss), num_cell(r.best_loss), num_cell(r.final_val_loss),
                num_cell(r.best_val_loss), num_cell(r.best_accuracy), num_cell(r.diverged_step),
            ]
            w.writerow([*base, *(cell(cfg.get(c)) for c in cfg_cols), *(cell(extra.get(c)) for c in extra_cols)])
    return len(runs)
