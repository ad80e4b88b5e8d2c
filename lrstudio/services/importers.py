"""Bring runs logged elsewhere into the run store: TensorBoard event files and lrstudio's CSV (issue 14).

Life cycle: a reader parses everything first (:func:`read_tensorboard`, :func:`read_history_csv`)
into :class:`ParsedRun` records, so a malformed file is refused before anything is written; then
:func:`store_runs` writes each as a run of kind ``external`` through the store's batching
:class:`~lrstudio.storage.recorder.RunRecorder` and finishes it ``completed``. If writing fails
part way, the runs this import created are deleted again: an import is all or nothing.

* **TensorBoard**: every folder under ``LOGDIR`` holding event files (names containing
  ``tfevents``, as TensorBoard finds them) is one run, named by its path below ``LOGDIR``. Its
  scalar series are read with the ``tensorboard`` package's own event reader (an optional extra:
  ``pip install "lrstudio[tensorboard]"``), from ``add_scalar`` / ``simple_value`` summaries and
  from TF2 ``tf.summary.scalar`` tensors alike; values keep the precision they were written with
  (float32 from PyTorch's ``SummaryWriter``), tags are the metric keys, wall times become seconds
  since the run's first scalar. Files of one folder are read in name order (their names start
  with the creation time). A file cut short (its writer still writing, or killed) is read up to
  its last whole record, as TensorBoard reads it; a damaged record with whole records after it
  (a CRC that does not match) refuses the import, naming the file and the byte. The usual names
  of the curves the app plots (``Loss/train``, ``train_loss``, ``eval/loss``, ``learning_rate``,
  Lightning's ``lr-SGD`` ...) are stored as ``train/loss``, ``val/loss`` and ``lr`` when the run
  has no such key already (:func:`app_key_renames`); the run's config lists them under
  ``renamed``. Every other tag keeps its name.
* **CSV**: lrstudio's own history export (``lrstudio export --runs``, long format ``run_id,
  run_name, step, epoch, wall_time, metric, value``, or ``--wide``: one column per metric); each
  ``run_id`` becomes a new run with the same name (made unique), series, steps, epochs and wall
  times. Text cells the export guarded against spreadsheet formulas (a leading ``'``) are read
  back without the guard.
"""

from __future__ import annotations

import contextlib
import csv
import importlib
import math
import os
import re
import struct
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lrstudio.core.errors import LrstudioError
from lrstudio.core.events import RunFinished, RunSummary, StepLogged
from lrstudio.core.metrics import APP_KEY_NAMES, normalise_key
from lrstudio.storage import Store
from lrstudio.storage.export import FORMULA_STARTS, HISTORY_COLUMNS

__all__ = ["ImportFileError", "ParsedRun", "app_key_renames", "read_history_csv", "read_tensorboard", "store_runs"]

MAX_KEY = 100  # the store's longest metric key


class ImportFileError(LrstudioError, ValueError):
    """A file to import cannot be read; the message names the file, the place and what is allowed."""


@dataclass
class ParsedRun:
    """One run read from a file, not stored yet: per metric key, its points in file order."""

    name: str
    config: dict[str, Any]
    # key -> (steps, values, wall times, epochs)
    series: dict[str, tuple[list[int], list[float], list[float], list[int]]] = field(default_factory=dict)

    def add(self, key: str, step: int, value: float, wall: float, epoch: int = 0) -> None:
        s = self.series.get(key)
        if s is None:
            s = self.series[key] = ([], [], [], [])
        s[0].append(step)
        s[1].append(value)
        s[2].append(wall)
        s[3].append(epoch)

    @property
    def points(self) -> int:
        return sum(len(s[0]) for s in self.series.values())


# -- TensorBoard ---------------------------------------------------------------------------------
def _is_event_file(name: str) -> bool:
    return "tfevents" in name  # tensorboard.backend.event_processing.io_wrapper.IsTensorFlowEventsFile


def event_folders(logdir: str | os.PathLike[str]) -> list[tuple[Path, list[Path]]]:
    """Every folder under ``logdir`` (itself included) that holds event files, with its files in
    name order; folders in path order."""
    root = Path(logdir)
    if root.is_file():
        return [(root.parent, [root])] if _is_event_file(root.name) else []
    found: list[tuple[Path, list[Path]]] = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        files = sorted(f for f in filenames if _is_event_file(f))
        if files:
            found.append((Path(dirpath), [Path(dirpath) / f for f in files]))
    return found


def read_tensorboard(logdir: str | os.PathLike[str]) -> list[ParsedRun]:
    """The scalar series of every run under ``logdir`` (see the module doc); runs without any
    scalar are left out."""
    try:  # an optional extra, untyped: imported by name so that the type checker runs without it
        loaders = importlib.import_module("tensorboard.backend.event_processing.event_file_loader")
        tensor_util = importlib.import_module("tensorboard.util.tensor_util")
        masked_crc32c = importlib.import_module("tensorboard.compat.tensorflow_stub.pywrap_tensorflow").masked_crc32c
    except ImportError:
        raise ImportFileError("reading TensorBoard event files needs the tensorboard package, an optional extra: "
                           "pip install \"lrstudio[tensorboard]\" (or pip install tensorboard)") from None
    root = Path(logdir).expanduser()
    if not root.exists():
        raise ImportFileError(f"{logdir}: no such file or folder (give the folder TensorBoard's --logdir reads)")
    folders = event_folders(root)
    if not folders:
        raise ImportFileError(f"no TensorBoard event files under {logdir} (their names contain 'tfevents')")
    top = root if root.is_dir() else root.parent
    EventFileLoader = _counting_loader(loaders)
    runs: list[ParsedRun] = []
    for folder, files in folders:
        rel = folder.relative_to(top).as_posix()
        name = top.resolve().name if rel == "." else f"{top.resolve().name}/{rel}"
        run = ParsedRun(name=name or "tensorboard", config={
            "source": "tensorboard", "logdir": str(top.resolve()), "run": rel,
            "files": [f.name for f in files]})
        scalar_tags: set[str] = set()
        t0: float | None = None
        for path in files:
            events = 0
            loader = EventFileLoader(str(path))
            try:
                for event in loader.Load():
                    events += 1
                    if not event.HasField("summary"):
                        continue
                    for v in event.summary.value:
                        if v.HasField("metadata") and v.metadata.plugin_data.plugin_name == "scalars":
                            scalar_tags.add(v.tag)
                        if v.HasField("simple_value"):
                            value = float(v.simple_value)
                        elif v.HasField("tensor") and v.tag in scalar_tags:
                            arr = tensor_util.make_ndarray(v.tensor)
                            if arr.size != 1:
                                continue
                            value = float(arr.reshape(()))
                        else:
                            continue
                        _check_key(v.tag, path)
                        if t0 is None:
                            t0 = event.wall_time
                        run.add(v.tag, int(event.step), value, float(event.wall_time - t0))
            except ImportFileError:
                raise
            except Exception as exc:  # the reader's own errors: a file that is not an event file
                raise ImportFileError(f"cannot read the TensorBoard event file {path}: {type(exc).__name__}: {exc}") from None
            # The reader stops quietly at a damaged record (a file still being written ends in one);
            # a file of which not one event can be read is no event file.
            if events == 0 and path.stat().st_size > 0:
                raise ImportFileError(f"cannot read the TensorBoard event file {path}: not one event could be "
                                      f"read from its {path.stat().st_size} bytes (is it an event file?)")
            records: int | None = getattr(loader, "records", None)
            at = None if records is None else _damaged_at(path.read_bytes(), records, masked_crc32c)
            if at is not None and records is not None:
                raise ImportFileError(f"the TensorBoard event file {path} is damaged at byte {at} (record "
                                      f"{records + 1}: its checksum does not match) and has more after it; "
                                      "nothing was imported")
        if run.series:
            renamed = app_key_renames(list(run.series))
            if renamed:
                run.series = {renamed.get(k, k): v for k, v in run.series.items()}
                run.config["renamed"] = renamed
            runs.append(run)
    return runs


# Lightning's LearningRateMonitor: lr-SGD, lr-SGD/pg2 (1-based groups), lr-Adam-1 (a second Adam).
_LR_MONITOR = re.compile(r"^lr-(?P<opt>[^/]+?)(?:/pg(?P<pg>\d+))?$")


def app_key_renames(tags: list[str]) -> dict[str, str]:
    """Tag -> the app's key (``train/loss``, ``val/loss``, ``lr``, ``lr/group<k>``) for the tags
    that name those curves in other tools, where the app's key is not a tag already."""
    taken = set(tags)
    out: dict[str, str] = {}
    norms = {t: normalise_key(t) for t in tags}
    for key, names in APP_KEY_NAMES.items():
        if key in taken:
            continue
        for name in names:
            hit = next((t for t in tags if norms[t] == name and t not in out), None)
            if hit is not None:
                out[hit] = key
                taken.add(key)
                break
    if "lr" not in taken:
        monitor = [(t, m) for t in tags if (m := _LR_MONITOR.match(t))]
        first = monitor[0][1]["opt"] if monitor else None
        for t, m in monitor:
            pg = int(m["pg"] or 1)
            key = "lr" if pg == 1 else f"lr/group{pg - 1}"
            if m["opt"] == first and key not in taken:
                out[t] = key
                taken.add(key)
    return out


def _counting_loader(loaders: Any) -> Any:
    """TensorBoard's ``EventFileLoader`` that also counts the records it read (``.records``):
    a record can give several events after its compat layers, and the damage check below needs
    records. The counter sits between its parsing classes and the raw record reader."""
    raw = loaders.RawEventFileLoader

    class _CountingRaw(raw):  # type: ignore[misc, valid-type]
        records = 0

        def Load(self) -> Iterator[bytes]:  # TensorBoard's name
            for record in super().Load():
                self.records += 1
                yield record

    try:
        return type("CountingEventFileLoader", (loaders.EventFileLoader, _CountingRaw), {})
    except TypeError:  # a TensorBoard whose loaders are shaped otherwise: read without the check
        return loaders.EventFileLoader


def _damaged_at(data: bytes, records: int, crc: Callable[[bytes], int]) -> int | None:
    """The byte offset of the record after the ``records`` read when it is a damaged record that
    is not the file's cut-short end, else None.

    A TFRecord is an 8-byte length, its 4-byte masked CRC-32C, the data and its CRC. The reader
    stops at the first record it cannot read. When that record is whole (its length is sound and
    its data fits in the file), its data is damaged: refused. When its length's CRC fails, nothing
    after it can be found: refused too, unless all that is left is zero bytes (what a crash can
    leave at the end of a file). A record that runs past the end of the file is a cut-short end.
    """
    pos, size = 0, len(data)
    for _ in range(records):
        if pos + 12 > size:
            return None
        pos += 12 + struct.unpack_from("<Q", data, pos)[0] + 4
    if pos + 12 > size:
        return None  # the end, or a header cut short
    if crc(data[pos:pos + 8]) != struct.unpack_from("<I", data, pos + 8)[0]:
        return pos if data[pos:].strip(b"\0") else None
    if pos + 12 + struct.unpack_from("<Q", data, pos)[0] + 4 > size:
        return None  # the last record, cut short
    return pos


def _check_key(key: str, where: object) -> None:
    if not key or len(key) > MAX_KEY or "\x00" in key:
        raise ImportFileError(f"{where}: the metric name {key[:40]!r} cannot be stored (1 to {MAX_KEY} characters, "
                           "no NUL character)")


# -- CSV -----------------------------------------------------------------------------------------
BASE_COLUMNS = HISTORY_COLUMNS[:5]  # run_id, run_name, step, epoch, wall_time


def _text(cell: str) -> str:
    """A text cell as it was before the export guarded it against formulas."""
    return cell[1:] if cell.startswith("'") and cell[1:2] in FORMULA_STARTS and cell[1:2] != "" else cell


def _int(cell: str, what: str, where: str, default: int | None = None) -> int:
    if cell == "" and default is not None:
        return default
    try:
        return int(cell)
    except ValueError:
        raise ImportFileError(f"{where}: {what} must be a whole number, got {cell[:40]!r}") from None


def _num(cell: str, what: str, where: str, default: float | None = None) -> float:
    if cell == "" and default is not None:
        return default
    try:
        return float(cell)  # 'nan', 'inf', '-inf' included, as the export writes them
    except ValueError:
        raise ImportFileError(f"{where}: {what} must be a number (or nan, inf, -inf), got {cell[:40]!r}") from None


def read_history_csv(path: str | os.PathLike[str]) -> list[ParsedRun]:
    """The runs of an lrstudio history CSV, long or wide format (see the module doc)."""
    p = Path(path).expanduser()
    try:
        with open(p, encoding="utf-8", newline="") as f:
            return _read_rows(csv.reader(f), str(path))
    except FileNotFoundError:
        raise ImportFileError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise ImportFileError(f"{path} is a folder; give the CSV file that lrstudio export wrote") from None
    except UnicodeDecodeError as exc:
        raise ImportFileError(f"{path} is not UTF-8 text (an lrstudio export is): {exc.reason} at byte {exc.start}") from None
    except csv.Error as exc:
        raise ImportFileError(f"{path}: not a readable CSV file: {exc}") from None
    except OSError as exc:
        raise ImportFileError(f"cannot read {path}: {exc.strerror or exc}") from None


def _read_rows(rows: Iterator[list[str]], where: str) -> list[ParsedRun]:
    header = next(rows, None)
    if header is None:
        raise ImportFileError(f"{where} is empty; expected lrstudio's history CSV with the columns "
                           f"{', '.join(HISTORY_COLUMNS)}")
    header = [h.lstrip("\ufeff") for h in header]
    wide = tuple(header[:5]) == BASE_COLUMNS and tuple(header) != HISTORY_COLUMNS
    if tuple(header) != HISTORY_COLUMNS and not (wide and len(header) > 5):
        raise ImportFileError(f"{where} is not an lrstudio history export: its columns are {', '.join(header)[:120]}; "
                           f"expected {', '.join(HISTORY_COLUMNS)} (lrstudio export --runs), or "
                           f"{', '.join(BASE_COLUMNS)} and one column per metric (--wide)")
    metrics = [_text(h) for h in header[5:]] if wide else []
    for m in metrics:
        _check_key(m, where)
    runs: dict[int, ParsedRun] = {}
    for n, row in enumerate(rows, start=2):
        if not row:
            continue
        at = f"{where}, line {n}"
        if len(row) != len(header):
            raise ImportFileError(f"{at}: {len(row)} cells, expected {len(header)} like the header")
        rid = _int(row[0], "run_id", at)
        run = runs.get(rid)
        if run is None:
            run = runs[rid] = ParsedRun(name=_text(row[1]), config={
                "source": "csv", "file": Path(where).name, "run_id": rid})
        step = _int(row[2], "step", at)
        epoch = _int(row[3], "epoch", at, default=0)
        wall = _num(row[4], "wall_time", at, default=0.0)
        if wide:
            for key, cell in zip(metrics, row[5:]):
                if cell != "":
                    run.add(key, step, _num(cell, f"the value of {key!r}", at), wall, epoch)
        else:
            key = _text(row[5])
            _check_key(key, at)
            run.add(key, step, _num(row[6], "value", at), wall, epoch)
    if not runs:
        raise ImportFileError(f"{where} has a header but no points")
    return list(runs.values())


# -- writing -------------------------------------------------------------------------------------
def _summary(run: ParsedRun) -> RunSummary:
    def last_best(*keys: str, pick: Callable[..., float] = min) -> tuple[float | None, float | None]:
        for key in keys:
            if key in run.series:
                vals = run.series[key][1]
                finite = [v for v in vals if math.isfinite(v)]
                return vals[-1], (pick(finite) if finite else None)
        return None, None

    final_loss, best_loss = last_best("train/loss", "loss")
    final_val, best_val = last_best("val/loss")
    _, best_acc = last_best("val/acc", pick=max)
    steps = max((max(s[0]) for s in run.series.values() if s[0]), default=0)
    epochs = max((max(s[3]) + 1 for s in run.series.values() if s[3] and max(s[3]) > 0), default=0)
    duration = max((max(s[2]) for s in run.series.values() if s[2]), default=0.0)
    return RunSummary(status="completed", steps=steps, epochs=epochs, duration_s=duration,
                      final_loss=final_loss, best_loss=best_loss, final_val_loss=final_val,
                      best_val_loss=best_val, best_accuracy=best_acc)


def _events(run: ParsedRun) -> Iterator[StepLogged]:
    for key, (steps, values, walls, epochs) in run.series.items():
        for step, value, wall, epoch in zip(steps, values, walls, epochs):
            yield StepLogged(step=step, epoch=epoch, wall_time=wall, values={key: value})


def store_runs(store: Store, runs: Iterable[ParsedRun], tags: Iterable[str] = ()) -> list[int]:
    """Write ``runs`` as ``external`` runs, completed; return their ids. All or nothing."""
    tags = list(tags)
    created: list[int] = []
    try:
        for run in runs:
            run_id = store.create_run(run.config, name=run.name, kind="external")
            created.append(run_id)
            if tags:
                store.set_tags(run_id, tags)
            with store.recorder(run_id) as rec:
                batch: list[Any] = []
                for ev in _events(run):
                    batch.append(ev)
                    if len(batch) >= 5000:
                        rec.handle(batch)
                        batch = []
                rec.handle([*batch, RunFinished(_summary(run))])
    except BaseException:
        for run_id in created:  # nothing half-imported stays behind
            with contextlib.suppress(Exception):  # the first error is the one to report
                store.delete_run(run_id)
        raise
    return created
