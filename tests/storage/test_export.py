"""CSV export: exact round trip through the csv module, formula neutralising, streaming."""

from __future__ import annotations

import csv
import math
import tracemalloc

import pytest
from storage_helpers import SPECIAL, same_float

from lrstudio.core.config import RunConfig
from lrstudio.core.events import EpochLogged, RunFinished, RunSummary, StepLogged
from lrstudio.storage import RunNotFoundError, StoreError
from lrstudio.storage.export import HISTORY_COLUMNS, cell, export_history_csv, flatten, text_cell

NAMES = ['=HYPERLINK("x")', "Ünïcödé 学习率 σ", 'comma, "quote"\nnew line', "+1 plus", "-1 minus", "@at",
         "plain"]


def _read(path):
    with open(path, encoding="utf-8", newline="") as f:
        return list(csv.reader(f))


@pytest.fixture
def runs(store):
    """One run per name; run i has train/loss over SPECIAL shifted by i, lr, and one val/loss."""
    ids = []
    for i, name in enumerate(NAMES):
        rid = store.create_run(RunConfig(name=name, lr=0.001 * (i + 1)))
        values = SPECIAL[i:] + SPECIAL[:i]
        events = [StepLogged(s + 1, s // 4, s * 0.125, {"train/loss": v, "lr": -0.5 * s - 0.25})
                  for s, v in enumerate(values)]
        events.append(EpochLogged(0, 4, 0.5, {"val/loss": 1 / 3}))
        events.append(RunFinished(RunSummary("completed", len(values), 2, 1.0, final_loss=values[-1],
                                             best_loss=-1.5, extra={"r2": 0.5, "w": [1.0, 2.0]})))
        with store.recorder(rid) as rec:
            rec.handle(events)
        ids.append(rid)
    return ids


def test_long_format_round_trip_is_exact(store, runs, tmp_path):
    out = tmp_path / "history.csv"
    seen = []
    n = store.export_history_csv(runs, out, progress=lambda done, total: seen.append((done, total)))
    rows = _read(out)
    assert tuple(rows[0]) == HISTORY_COLUMNS
    assert n == len(rows) - 1 == len(NAMES) * (2 * len(SPECIAL) + 1)
    assert seen[-1] == (n, n)
    by = {}
    for run_id, run_name, step, epoch, wall, metric, value in rows[1:]:
        by[(int(run_id), metric, int(step))] = (run_name, int(epoch), float(wall), float(value))
    for i, rid in enumerate(runs):
        name = store.get_run(rid).name
        expected_name = ("'" + name) if name[0] in "=+-@" else name
        values = SPECIAL[i:] + SPECIAL[:i]
        for s, v in enumerate(values):
            got_name, epoch, wall, value = by[(rid, "train/loss", s + 1)]
            assert got_name == expected_name
            assert same_float(value, v), (name, s, value, v)
            assert epoch == s // 4 and wall == s * 0.125
            assert same_float(by[(rid, "lr", s + 1)][3], -0.5 * s - 0.25)  # negative numbers are not touched
        assert by[(rid, "val/loss", 4)][3] == 1 / 3
    text = out.read_text(encoding="utf-8")
    assert "'=HYPERLINK(\"\"x\"\")" in text and ",nan" in text and ",inf" in text and ",-inf" in text
    assert ",-1.5" in text  # a negative number stays a number
    assert "Ünïcödé 学习率 σ" in text


def test_wide_format_round_trip(store, runs, tmp_path):
    out = tmp_path / "wide.csv"
    n = store.export_history_csv(runs[:2], out, wide=True)
    rows = _read(out)
    assert rows[0] == ["run_id", "run_name", "step", "epoch", "wall_time", "lr", "train/loss", "val/loss"]
    assert n == len(rows) - 1 == 2 * len(SPECIAL)
    first = [r for r in rows[1:] if int(r[0]) == runs[0]]
    assert [int(r[2]) for r in first] == list(range(1, len(SPECIAL) + 1))
    for r, v in zip(first, SPECIAL):
        assert same_float(float(r[6]), v)
    assert first[3][7] == repr(1 / 3) and first[0][7] == ""  # val/loss only at step 4
    assert first[0][1] == "'=HYPERLINK(\"x\")"


def test_runs_table_flattens_config_and_summary(store, runs, tmp_path):
    store.set_tags(runs[2], ["b", "=cmd"])
    out = tmp_path / "runs.csv"
    assert store.export_runs_csv(out) == len(NAMES)
    rows = _read(out)
    header = rows[0]
    for col in ("id", "name", "status", "best_loss", "config.lr", "config.dataset.name",
                "config.optimizer.name", "config.schedule.name", "config.dataset.val_fraction",
                "extra.r2", "extra.w.0", "extra.w.1"):
        assert col in header, col
    recs = [dict(zip(header, r)) for r in rows[1:]]
    assert [int(r["id"]) for r in recs] == runs
    assert [r["name"] for r in recs] == [text_cell(n) for n in NAMES]
    r2 = recs[2]
    assert r2["name"] == 'comma, "quote"\nnew line' and r2["tags"] == "=cmd;b".replace("=", "'=", 1)
    assert float(recs[1]["config.lr"]) == 0.002 and recs[0]["best_loss"] == "-1.5"
    assert recs[0]["extra.w.1"] == "2.0" and recs[0]["config.dataset.unscaled"] == "false"
    assert store.export_runs_csv(tmp_path / "one.csv", run_ids=[runs[1]]) == 1


def test_errors_and_cells(store, runs, tmp_path):
    with pytest.raises(RunNotFoundError):
        store.export_history_csv([999], tmp_path / "x.csv")
    with pytest.raises(StoreError, match="at least one run"):
        store.export_history_csv([], tmp_path / "x.csv")
    assert not (tmp_path / "x.csv").exists() and not list(tmp_path.glob(".*part"))
    assert cell(-1) == "-1" and cell(float("-inf")) == "-inf" and cell("-x") == "'-x" and cell(None) == ""
    assert flatten({"a": {"b": [1, {"c": 2}]}, "e": {}}) == {"a.b.0": 1, "a.b.1.c": 2, "e": None}


def test_export_streams(sqlite_url, tmp_path):
    """Peak Python memory while exporting does not grow with the number of points."""
    from lrstudio.storage import open_store

    peaks = {}
    with open_store(sqlite_url) as store:
        for n in (2_000, 20_000):
            rid = store.create_run(RunConfig())
            with store.recorder(rid) as rec:
                for i in range(1, n + 1, 2000):
                    rec.handle([StepLogged(j, 0, 0.0, {"train/loss": math.sqrt(j), "lr": 0.1})
                                for j in range(i, i + 2000)])
            for wide in (False, True):
                tracemalloc.start()
                export_history_csv(store, [rid], tmp_path / f"{n}-{wide}.csv", wide=wide, chunk=500)
                peaks[(n, wide)] = tracemalloc.get_traced_memory()[1]
                tracemalloc.stop()
    for wide in (False, True):
        small, big = peaks[(2_000, wide)], peaks[(20_000, wide)]
        assert big < 1.5 * small + 200_000, peaks  # 10x the points, not 10x the memory


def _leftovers(folder):
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


@pytest.mark.parametrize("wide", [False, True])
def test_export_onto_a_folder_is_refused_and_leaves_nothing(store, runs, tmp_path, wide):
    target = tmp_path / "out"
    target.mkdir()
    with pytest.raises(StoreError, match="is a folder"):
        store.export_history_csv(runs[:1], target, wide=wide)
    with pytest.raises(StoreError, match="is a folder"):
        store.export_runs_csv(target)
    assert target.is_dir() and list(target.iterdir()) == []
    assert _leftovers(tmp_path) == []


def test_export_on_a_full_disk_says_so_and_leaves_nothing(store, runs, tmp_path, disk_fills_after):

    disk_fills_after(3)
    dest = tmp_path / "h.csv"
    dest.write_text("old content\n", encoding="utf-8")  # a file being replaced stays as it was
    with pytest.raises(StoreError, match="No space left on device") as info:
        store.export_history_csv(runs, dest)
    assert str(dest) in str(info.value) and "\n" not in str(info.value)
    assert dest.read_text(encoding="utf-8") == "old content\n"
    assert _leftovers(tmp_path) == []


def test_export_to_dev_full_is_a_clear_error(store, runs, tmp_path):
    """A device is written in place, never replaced by a renamed file (reached through a link in
    tmp_path, so a regression replaces only the link, not /dev/full)."""
    import os
    import stat

    if not os.path.exists("/dev/full"):
        pytest.skip("no /dev/full on this system")
    link = tmp_path / "full.csv"
    link.symlink_to("/dev/full")
    with pytest.raises(StoreError, match="No space left on device"):
        store.export_history_csv(runs, link)
    assert link.is_symlink() and stat.S_ISCHR(os.stat("/dev/full").st_mode)
    assert _leftovers(tmp_path) == []


def test_export_to_a_text_stream(store, runs):
    import io

    buf = io.StringIO()
    n = store.export_history_csv(runs[:2], buf)
    rows = list(csv.reader(io.StringIO(buf.getvalue())))
    assert tuple(rows[0]) == HISTORY_COLUMNS and len(rows) == n + 1 and not buf.closed
    buf = io.StringIO()
    assert store.export_runs_csv(buf) == len(NAMES)
    assert len(list(csv.reader(io.StringIO(buf.getvalue())))) == len(NAMES) + 1
