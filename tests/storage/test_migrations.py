"""Migrations: the committed first-schema database, newer and foreign databases, models vs schema.

``tests/data/schema_0001.sqlite`` was written by revision 0001 (two runs: "windsor sgd", completed,
20 steps of train/loss and lr, val/loss with a NaN, tag "baseline"; "diverged =1+1", diverged,
train/loss [1.0, inf], notes "exploded"), then ``journal_mode=DELETE`` and ``VACUUM`` so that it is
one file. Keep it: every later migration is tested by upgrading it here.

``tests/data/schema_0002.sqlite`` is that file upgraded to revision 0002 (the -0.0 value kind),
plus a series "test/signed_zero" on "windsor sgd": step 1 is -0.0 (value kind 4), step 2 is 0.0.

``tests/data/schema_0003.sqlite`` is schema_0002.sqlite upgraded to revision 0003 (issue 11: the
points as typed array chunks in ``metric_chunks``; ``metric_points`` dropped), then
``journal_mode=DELETE`` and ``VACUUM``.

``tests/data/schema_0004.sqlite`` is schema_0003.sqlite upgraded to revision 0004 (run kinds,
experiments, ``pruned``), plus an experiment "lr grid" (grid, completed) with run "trial pruned"
(trial 1, status pruned, one train/loss point 2.5) and an ``external`` run "my loop" (config
``{"name": "my loop", "lr": 0.003, "optimizer": {"name": "adamw"}, "layers": [64, 64]}``, 5 steps of
train/loss = 1/step and lr), then ``journal_mode=DELETE`` and ``VACUUM``.
"""

from __future__ import annotations

import hashlib
import math
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, select

from lrstudio import __version__
from lrstudio.core.config import RunConfig
from lrstudio.core.events import StepLogged
from lrstudio.storage import (
    DatabaseLockedError,
    NewerDatabaseError,
    NotAnLrstudioDatabase,
    StoreError,
    open_store,
)
from lrstudio.storage.engine import make_engine
from lrstudio.storage.migrate import (
    alembic_config,
    backup_sqlite,
    current_revision,
    head_revision,
    probe,
    script_directory,
)
from lrstudio.storage.models import Base, utcnow

DATA = Path(__file__).resolve().parents[1] / "data"
OLD_DBS = sorted(DATA.glob("schema_*.sqlite"))


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_head_is_0004_and_there_is_a_committed_database_for_every_revision():
    assert head_revision() == "0004"
    revisions = [r.revision for r in script_directory().walk_revisions()]
    assert sorted(revisions) == ["0001", "0002", "0003", "0004"]
    assert [DATA / f"schema_{r}.sqlite" for r in sorted(revisions)] == OLD_DBS


@pytest.mark.parametrize("old", OLD_DBS, ids=lambda p: p.name)
def test_committed_old_database_upgrades_and_reads(tmp_path, old):
    db = tmp_path / old.name
    shutil.copyfile(old, db)
    with open_store(f"sqlite:///{db}") as store:
        assert current_revision(store.url) == head_revision()
        runs = {r.name: r for r in store.list_runs()}
        assert set(runs) == ({"windsor sgd", "diverged =1+1"} if old.name < "schema_0004"
                             else {"windsor sgd", "diverged =1+1", "trial pruned", "my loop"})
        ok, bad = runs["windsor sgd"], runs["diverged =1+1"]
        # runs from before revision 0004 are training runs of no experiment
        assert (ok.kind, ok.experiment_id, ok.trial) == ("training", None, None) and bad.kind == "training"
        if old.name >= "schema_0004":
            pruned, ext = runs["trial pruned"], runs["my loop"]
            assert (pruned.status, pruned.kind, pruned.trial) == ("pruned", "training", 1)
            assert pruned.experiment_id is not None and pruned.config() == ok.config()
            assert [r.name for r in store.list_runs(experiment_id=pruned.experiment_id)] == ["trial pruned"]
            assert (ext.kind, ext.optimizer, ext.base_lr) == ("external", "adamw", 0.003)
            assert ext.config_dict["layers"] == [64, 64]
            assert store.load_series(ext.id)["train/loss"].value.tolist() == [1.0, 0.5, 1 / 3, 0.25, 0.2]
        assert ok.status == "completed" and ok.tags == ("baseline",) and ok.steps == 20
        assert bad.status == "diverged" and bad.notes == "exploded" and bad.final_loss == math.inf
        s = store.load_series(ok.id)
        assert len(s["train/loss"]) == 20 and s["train/loss"].value[3] == 0.25
        assert math.isnan(s["val/loss"].value[1])
        assert store.load_series(bad.id)["train/loss"].value.tolist() == [1.0, math.inf]
        if old.name >= "schema_0002":
            zeros = s["test/signed_zero"].value.tolist()
            assert zeros == [0.0, 0.0] and [math.copysign(1, z) for z in zeros] == [-1, 1]
        # and the database is usable afterwards, -0.0 included
        rid = store.create_run(ok.config(), name="after upgrade")
        with store.recorder(rid) as rec:
            rec.handle([StepLogged(1, 0, 0.0, {"x": -0.0})])
        assert math.copysign(1, store.load_series(rid)["x"].value[0]) == -1
    con = sqlite3.connect(db)
    sql = con.execute("SELECT sql FROM sqlite_master WHERE name = 'metric_chunks'").fetchone()[0]
    assert "WITHOUT ROWID" in sql
    assert con.execute("SELECT name FROM sqlite_master WHERE name = 'metric_points'").fetchone() is None
    assert con.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    con.close()
    # The committed file itself is never touched by the test.
    assert old.stat().st_size > 0


def _stamp(db: Path, revision: str) -> None:
    con = sqlite3.connect(db)
    con.execute("UPDATE alembic_version SET version_num = ?", (revision,))
    con.commit()
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    con.close()


def test_newer_revision_is_refused_and_file_left_byte_identical(tmp_path):
    db = tmp_path / "newer.sqlite"
    shutil.copyfile(DATA / "schema_0001.sqlite", db)
    _stamp(db, "0042")
    before = _sha(db)
    files_before = sorted(p.name for p in tmp_path.iterdir())
    with pytest.raises(NewerDatabaseError) as err:
        open_store(f"sqlite:///{db}")
    msg = str(err.value)
    assert "'0042'" in msg and f"'{head_revision()}'" in msg and __version__ in msg and "Update lrstudio" in msg
    assert _sha(db) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == files_before  # no backup, no WAL
    with pytest.raises(NewerDatabaseError):  # the CLI's `db current` path too
        current_revision(f"sqlite:///{db}")


@pytest.mark.parametrize("content", [b"", b"hello, I am a CSV\n1,2,3\n" * 100, bytes(range(256)) * 64])
def test_garbage_file_gets_a_clear_message(tmp_path, content):
    db = tmp_path / "garbage.sqlite"
    db.write_bytes(content + b"x")
    before = _sha(db)
    with pytest.raises(NotAnLrstudioDatabase, match=r"garbage\.sqlite is not an lrstudio database \(not an SQLite"):
        open_store(f"sqlite:///{db}")
    assert _sha(db) == before


def test_corrupt_sqlite_file_gets_a_clear_message(tmp_path):
    db = tmp_path / "corrupt.sqlite"
    good = (DATA / "schema_0001.sqlite").read_bytes()
    db.write_bytes(good[:100] + b"\xff" * (len(good) - 100))  # valid header, pages destroyed
    before = _sha(db)
    with pytest.raises(NotAnLrstudioDatabase, match="corrupt or not an lrstudio database"):
        open_store(f"sqlite:///{db}")
    assert _sha(db) == before


def test_foreign_sqlite_database_is_refused(tmp_path):
    db = tmp_path / "other.sqlite"
    con = sqlite3.connect(db)
    con.execute("CREATE TABLE invoices (id INTEGER PRIMARY KEY)")
    con.close()
    before = _sha(db)
    with pytest.raises(NotAnLrstudioDatabase, match=r"holds other tables \(invoices\)"):
        open_store(f"sqlite:///{db}")
    assert _sha(db) == before


def test_upgrade_false_refuses_a_new_database(sqlite_url):
    with pytest.raises(StoreError, match="lrstudio db upgrade"):
        open_store(sqlite_url, upgrade=False)


def test_models_and_migrated_schema_agree(store_url):
    with open_store(store_url) as store, store.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), Base.metadata)
    assert diff == []


def test_downgrade_to_base_and_upgrade_again(store_url):
    store = open_store(store_url)
    store.close()
    engine = make_engine(store_url) if not store_url.startswith("sqlite") else create_engine(store_url)
    try:
        with engine.begin() as conn:
            command.downgrade(alembic_config(conn), "base")
        state = probe(store_url)
        assert state.revision is None
    finally:
        engine.dispose()
    with open_store(store_url) as store:
        assert store.list_runs() == []
        assert current_revision(store_url) == head_revision()


def test_run_kinds_experiments_and_pruned_status(store_url):
    """Revision 0004: kinds, free configs for external/playground runs, the experiment link
    (ON DELETE SET NULL) and the pruned status, on SQLite and PostgreSQL."""
    from sqlalchemy import delete, insert

    from lrstudio.core.runs import RunKindError
    from lrstudio.storage.models import ExperimentRow, RunRow, table

    cfg = RunConfig.from_dict({"model": "linear", "dataset": {"name": "windsor"}, "lr": 0.01,
                               "optimizer": {"name": "sgd"}, "schedule": {"name": "constant"}, "epochs": 2})
    with open_store(store_url) as store:
        with store.write_engine.begin() as conn:
            eid = conn.execute(insert(table(ExperimentRow)).values(
                uuid="u-1", name="sweep", method="random", status="running", created_at=utcnow(),
                updated_at=utcnow(), spec_json="{}", spec_version=1, notes="",
                lrstudio_version=__version__)).inserted_primary_key[0]
        trial = store.create_run(cfg, kind="training", experiment_id=eid, trial=3)
        rt = store.create_run(cfg, kind="lr_range_test")
        ext = store.create_run({"lr": float("nan"), "model": {"name": "resnet"}, "depth": 18,
                                "nested": {"a": [1, 2.5, None, True]}}, name="mine", kind="external")
        play = store.create_run({"function": "rosenbrock", "optimizer": "adam", "lr": 0.01}, kind="playground")
        with store.recorder(trial) as rec:
            rec.handle([StepLogged(1, 0, 0.0, {"train/loss": 1.0})])
            rec.close(status="pruned")
        info = {r.id: r for r in store.list_runs()}
        assert info[trial].status == "pruned" and (info[trial].experiment_id, info[trial].trial) == (eid, 3)
        assert info[rt].kind == "lr_range_test" and info[rt].config() == cfg
        assert (info[ext].kind, info[ext].model, info[ext].base_lr, info[ext].name) == ("external", "resnet", None, "mine")
        assert math.isnan(info[ext].config_dict["lr"]) and info[ext].config_dict["nested"] == {"a": [1, 2.5, None, True]}
        assert (info[play].kind, info[play].optimizer, info[play].base_lr) == ("playground", "adam", 0.01)
        assert info[play].name == "playground run"
        with pytest.raises(RunKindError, match="external run.*cannot be loaded into the form"):
            info[ext].config()
        assert {r.id for r in store.list_runs(kind=["external", "playground"])} == {ext, play}
        assert [r.id for r in store.list_runs(kind="lr_range_test")] == [rt]
        n = len(store.list_runs())
        with pytest.raises(StoreError, match="unknown run kind 'sweep'; allowed: training, lr_range_test"):
            store.create_run(cfg, kind="sweep")
        with pytest.raises(StoreError, match="must be JSON-able"):
            store.create_run({"f": object()}, kind="external")
        with pytest.raises(StoreError, match="must be a JSON object"):
            store.create_run([1, 2], kind="external")  # type: ignore[arg-type]
        with pytest.raises(StoreError, match="unknown run kind"):
            store.list_runs(kind="nope")
        assert len(store.list_runs()) == n  # nothing half-written
        with store.write_engine.begin() as conn:
            conn.execute(delete(table(ExperimentRow)).where(table(ExperimentRow).c.id == eid))
            left = conn.execute(select(table(RunRow).c.experiment_id).where(table(RunRow).c.id == trial)).scalar()
        assert left is None and store.get_run(trial).status == "pruned"


def test_value_kind_check_allows_negative_zero_and_nothing_beyond(store_url):
    """Revision 0002's row table (what 0003's downgrade() recreates) takes kind 4 and no more."""
    from sqlalchemy import text

    from lrstudio.storage import StoreError as _StoreError
    from lrstudio.storage.engine import transaction, writer

    open_store(store_url).close()
    engine = make_engine(store_url)
    try:
        with engine.begin() as conn:
            command.downgrade(alembic_config(conn), "0002")
        with transaction(writer(engine)) as conn:
            conn.execute(text("INSERT INTO metric_points (series_id, step, value, value_kind) VALUES (1, 1, 0, 4)"))
        with pytest.raises(_StoreError), transaction(writer(engine)) as conn:
            conn.execute(text("INSERT INTO metric_points (series_id, step, value, value_kind) VALUES (1, 2, 0, 5)"))
    finally:
        engine.dispose()


def test_backup_copies_a_consistent_database_including_wal(tmp_path):
    url = f"sqlite:///{tmp_path / 'live.sqlite'}"
    with open_store(url) as store:
        rid = store.create_run(RunConfig(name="in the WAL"))
        # the run may sit in the -wal file only; the backup must still contain it
        dest = backup_sqlite(tmp_path / "live.sqlite", "0001", "0002")
    assert dest.name.startswith("live.sqlite.bak-0001-to-0002-")
    con = sqlite3.connect(dest)
    assert con.execute("SELECT name FROM runs WHERE id = ?", (rid,)).fetchone() == ("in the WAL",)
    assert con.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    con.close()


REV_TEST = '''"""Test-only revision: an index on runs.name.

Revision ID: 9999
Revises: 0004
"""
from alembic import op

revision = "9999"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("runs") as batch:
        batch.create_index("ix_test_runs_name", ["name"])


def downgrade():
    with op.batch_alter_table("runs") as batch:
        batch.drop_index("ix_test_runs_name")
'''


def test_behind_database_is_backed_up_then_upgraded(tmp_path, monkeypatch):
    """A future revision (written here) exercises the path every user's database takes."""
    scripts = tmp_path / "alembic"
    shutil.copytree(Path(alembic_config().get_main_option("script_location")), scripts,
                    ignore=shutil.ignore_patterns("__pycache__"))
    (scripts / "versions" / "9999_test.py").write_text(REV_TEST)
    monkeypatch.setattr("lrstudio.storage.migrate.alembic_dir", lambda: scripts)
    db = tmp_path / "user.sqlite"
    shutil.copyfile(DATA / "schema_0001.sqlite", db)
    before = _sha(db)
    with pytest.raises(StoreError, match="'0001'.*needs '9999'.*lrstudio db upgrade"):
        open_store(f"sqlite:///{db}", upgrade=False)
    assert _sha(db) == before
    with open_store(f"sqlite:///{db}") as store:
        assert store.migration.from_revision == "0001" and store.migration.to_revision == "9999"
        backup = store.migration.backup
        assert len(store.list_runs()) == 2
    assert backup is not None and backup.name.startswith("user.sqlite.bak-0001-to-9999-")
    assert current_revision(f"sqlite:///{backup}") == "0001"
    con = sqlite3.connect(db)
    assert ("ix_test_runs_name",) in con.execute("SELECT name FROM sqlite_master WHERE type = 'index'").fetchall()
    assert con.execute("PRAGMA foreign_key_check").fetchall() == []
    con.close()
    # and it can go back down with the real downgrade()s
    engine = create_engine(f"sqlite:///{db}")
    with engine.begin() as conn:
        command.downgrade(alembic_config(conn), "0001")
    engine.dispose()
    assert current_revision(f"sqlite:///{db}") == "0001"
    con = sqlite3.connect(db)
    sql = con.execute("SELECT sql FROM sqlite_master WHERE name = 'metric_points'").fetchone()[0]
    con.close()
    assert "WITHOUT ROWID" in sql and "BETWEEN 0 AND 3" in sql


SLOW_BACKUP = '''
import sqlite3, sys, time
from pathlib import Path
from lrstudio.storage import migrate

real_connect = sqlite3.connect


class SlowBackup(sqlite3.Connection):
    def backup(self, target, **kw):
        def progress(status, remaining, total):
            print("copying", remaining, flush=True)
            time.sleep(0.05)
        return super().backup(target, pages=1, progress=progress)


class Sqlite3:
    def __getattr__(self, name):
        return getattr(sqlite3, name)

    @staticmethod
    def connect(*args, **kw):
        return real_connect(*args, factory=SlowBackup, **kw)


migrate.sqlite3 = Sqlite3()
migrate.backup_sqlite(Path(sys.argv[1]), "0001", "0002")
print("finished", flush=True)
'''


def test_backup_killed_midway_leaves_no_file_named_like_a_backup(tmp_path):
    db = tmp_path / "big.sqlite"
    con = sqlite3.connect(db)
    con.execute("CREATE TABLE filler (x BLOB)")
    con.executemany("INSERT INTO filler VALUES (randomblob(4000))", [()] * 200)
    con.commit()
    con.close()
    proc = subprocess.Popen([sys.executable, "-c", SLOW_BACKUP, str(db)], stdout=subprocess.PIPE, text=True)
    try:
        for _ in range(20):  # well into the copy, far from its end (200+ pages)
            line = proc.stdout.readline()
            assert line.startswith("copying"), line
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        proc.stdout.close()
    assert [p.name for p in tmp_path.glob("big.sqlite.bak-*")] == []
    # the next backup succeeds, is complete, and the leftover of the killed one is cleaned up
    dest = backup_sqlite(db, "0001", "0002")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["big.sqlite", dest.name]
    con = sqlite3.connect(dest)
    assert con.execute("SELECT count(*) FROM filler").fetchone() == (200,)
    con.close()


HOLD_LOCK = '''
import sqlite3, sys
con = sqlite3.connect(sys.argv[1], isolation_level=None)
con.execute("PRAGMA locking_mode = EXCLUSIVE")
con.execute("BEGIN EXCLUSIVE")
con.execute("CREATE TABLE IF NOT EXISTS held (x)")
print("locked", flush=True)
sys.stdin.readline()
'''


def test_locked_database_is_reported_as_locked_by_its_process(tmp_path, monkeypatch):
    db = tmp_path / "busy.sqlite"
    shutil.copyfile(DATA / "schema_0001.sqlite", db)
    monkeypatch.setattr("lrstudio.storage.engine.BUSY_TIMEOUT_MS", 300)
    holder = subprocess.Popen([sys.executable, "-c", HOLD_LOCK, str(db)], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        with pytest.raises(DatabaseLockedError) as err:
            open_store(f"sqlite:///{db}")
        msg = str(err.value)
        assert "locked" in msg and f"pid {holder.pid}" in msg and str(db) in msg
        assert "corrupt" not in msg and "Restore" not in msg
    finally:
        holder.stdin.close()
        holder.wait(30)
        holder.stdout.close()


def _run_unprivileged(args: list[str]) -> subprocess.CompletedProcess[str]:
    """Run where file permissions apply: root (as in CI containers) runs without the
    capabilities that bypass them."""
    if os.geteuid() == 0:
        if shutil.which("setpriv") is None:
            pytest.skip("running as root without setpriv: file permissions cannot be tested")
        args = ["setpriv", "--bounding-set=-dac_override,-dac_read_search,-fowner", *args]
    return subprocess.run(args, capture_output=True, text=True, timeout=120)


WRITE_A_RUN = """
import sys
from lrstudio.core.config import RunConfig
from lrstudio.core.errors import LrstudioError
from lrstudio.storage import open_store
try:
    with open_store(sys.argv[1]) as store:
        print(len(store.list_runs()), "runs", flush=True)
        store.create_run(RunConfig(name="new"))
except LrstudioError as exc:
    sys.exit(f"error: {exc}")
"""


@pytest.mark.parametrize("what", ["file", "folder"])
def test_read_only_database_is_reported_as_read_only(tmp_path, what):
    folder = tmp_path / "ro"
    folder.mkdir()
    db = folder / "runs.sqlite"
    shutil.copyfile(DATA / "schema_0001.sqlite", db)
    with open_store(f"sqlite:///{db}"):  # upgraded and switched to WAL, as every used database
        pass
    os.chmod(db if what == "file" else folder, 0o444 if what == "file" else 0o555)
    before = _sha(db)
    try:
        listed = _run_unprivileged([sys.executable, "-m", "lrstudio", "--db", str(db), "runs"])
        written = _run_unprivileged([sys.executable, "-c", WRITE_A_RUN, f"sqlite:///{db}"])
    finally:
        os.chmod(folder, 0o755)
        os.chmod(db, 0o644)
    if what == "file":  # a read-only file can still be read (SQLite's WAL index goes beside it)
        assert listed.returncode == 0 and "windsor sgd" in listed.stdout, listed.stderr
        assert written.stdout.startswith("2 runs")
    else:  # SQLite needs to create the -wal and -shm files beside it
        assert listed.returncode == 2, listed.stdout + listed.stderr
        err = listed.stderr.strip()
        assert len(err.splitlines()) == 1, err  # one line, no traceback
        assert "read-only" in err and str(folder) in err
        assert "corrupt" not in err and "Restore" not in err and "backup" not in err
    assert written.returncode == 1
    err = written.stderr.strip()
    assert len(err.splitlines()) == 1, err
    assert "read-only" in err and str(db if what == "file" else folder) in err
    assert "corrupt" not in err and "Restore" not in err and "backup" not in err
    assert _sha(db) == before


def _old_points(db: Path) -> dict[tuple[int, str], list[tuple[int, int, float | None, int | None]]]:
    """Every point of a revision 0001/0002 file as (step, value bits, wall_time, epoch), read with
    plain sqlite3 and decoded by its value_kind (NULL + kind for NaN/inf, kind 4 for -0.0)."""
    import struct

    special = {1: math.nan, 2: math.inf, 3: -math.inf, 4: -0.0}
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    out: dict[tuple[int, str], list[tuple[int, int, float | None, int | None]]] = {}
    for rid, key, step, value, kind, wall, epoch in con.execute(
            "SELECT s.run_id, s.key, p.step, p.value, p.value_kind, p.wall_time, p.epoch FROM metric_points p "
            "JOIN metric_series s ON s.id = p.series_id ORDER BY s.run_id, s.key, p.step"):
        v = special.get(kind, value)
        bits = struct.unpack("<q", struct.pack("<d", math.nan if v is None else v))[0]
        out.setdefault((rid, key), []).append((step, bits, wall, epoch))
    con.close()
    return out


@pytest.mark.parametrize("old", [p for p in OLD_DBS if p.name < "schema_0003"], ids=lambda p: p.name)
def test_upgrade_to_chunks_reads_every_point_back_bit_exact(tmp_path, old):
    """Revision 0003 converts every point of the committed old files: steps, value bits (NaN,
    +-inf, -0.0 of 0002), wall times and epochs, and the downgrade converts them back to rows."""
    import numpy as np

    db = tmp_path / old.name
    shutil.copyfile(old, db)
    before = _old_points(db)
    bits = {b for pts in before.values() for _, b, _, _ in pts}
    assert {int(np.array(math.nan).view(np.int64)), int(np.array(math.inf).view(np.int64))} <= bits
    if old.name >= "schema_0002":
        assert int(np.array(-0.0).view(np.int64)) in bits
    with open_store(f"sqlite:///{db}") as store:
        got = store.load_many([r.id for r in store.list_runs()])
    after = {(rid, key): list(zip(s.step.tolist(), s.value.view(np.int64).tolist(),
                                  [None if w != w else w for w in s.wall_time.tolist()],
                                  [None if e == -1 else e for e in s.epoch.tolist()]))
             for rid, series in got.items() for key, s in series.items()}
    assert after == before
    # and back down: the rows of revision 0002 again, the same points
    engine = create_engine(f"sqlite:///{db}")
    with engine.begin() as conn:
        command.downgrade(alembic_config(conn), "0002")
    engine.dispose()
    assert _old_points(db) == before
