"""Engines: where a database may be created, and how long an unanswering server may take."""

from __future__ import annotations

import socket
import threading
import time

import pytest

from lrstudio.cli import main
from lrstudio.storage import StoreError, open_store
from lrstudio.storage.engine import PG_CONNECT_TIMEOUT_S


def test_a_db_path_in_a_missing_folder_is_refused(tmp_path, capsys):
    target = tmp_path / "no" / "such" / "folder" / "runs.sqlite"
    with pytest.raises(StoreError, match=r"folder .*no/such/folder does not exist"):
        open_store(f"sqlite:///{target}")
    assert main(["--db", str(target), "runs"]) == 2
    err = capsys.readouterr().err
    assert "does not exist" in err and "Traceback" not in err
    assert not (tmp_path / "no").exists()


def test_a_db_path_in_an_existing_folder_is_created(tmp_path):
    with open_store(f"sqlite:///{tmp_path / 'new.sqlite'}") as store:
        assert store.list_runs() == []
    assert (tmp_path / "new.sqlite").is_file()


class SilentServer:
    """Accepts TCP connections on 127.0.0.1 and never answers; stops by itself after ``life_s``."""

    def __init__(self, life_s: float = 60.0) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.accepted: list[socket.socket] = []
        self._stop = time.monotonic() + life_s
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while time.monotonic() < self._stop:
            try:
                conn, _ = self.sock.accept()
            except TimeoutError:
                continue
            except OSError:
                break
            self.accepted.append(conn)
        self.close()

    def close(self) -> None:
        self._stop = 0
        for c in self.accepted:
            c.close()
        self.sock.close()


@pytest.mark.parametrize("query,limit", [("", PG_CONNECT_TIMEOUT_S), ("?connect_timeout=2", 2)])
def test_a_server_that_never_answers_fails_in_bounded_time(query, limit):
    pytest.importorskip("psycopg")
    server = SilentServer()
    try:
        url = f"postgresql+psycopg://u@127.0.0.1:{server.port}/db{query}"
        t0 = time.monotonic()
        with pytest.raises(StoreError) as err:
            open_store(url)
        took = time.monotonic() - t0
        assert server.accepted, "the test server was never reached"
    finally:
        server.close()
    msg = str(err.value)
    assert f"127.0.0.1:{server.port}" in msg and f"{limit:g} s" in msg and "connect_timeout" in msg
    assert limit - 0.5 <= took <= limit + 5


HOLD_WRITE = """
import sqlite3, sys
con = sqlite3.connect(sys.argv[1], isolation_level=None)
con.execute("BEGIN IMMEDIATE")
con.execute("UPDATE runs SET notes = 'held' WHERE id = 1")
print("holding", flush=True)
sys.stdin.readline()
con.execute("ROLLBACK")
"""


def test_a_writer_holding_the_lock_is_named_and_the_file_called_fine(tmp_path, monkeypatch):
    import subprocess
    import sys

    from lrstudio.core.config import RunConfig
    from lrstudio.storage import DatabaseLockedError

    db = tmp_path / "busy.sqlite"
    monkeypatch.setattr("lrstudio.storage.engine.BUSY_TIMEOUT_MS", 300)
    with open_store(f"sqlite:///{db}") as store:
        store.create_run(RunConfig(name="first"))
        holder = subprocess.Popen([sys.executable, "-c", HOLD_WRITE, str(db)], stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE, text=True)
        try:
            assert holder.stdout.readline().strip() == "holding"
            with pytest.raises(DatabaseLockedError) as err:
                store.create_run(RunConfig(name="second"))
            assert store.list_runs()[0].name == "first"  # readers are not blocked (WAL)
        finally:
            holder.stdin.close()
            holder.wait(30)
            holder.stdout.close()
        msg = str(err.value)
        assert f"pid {holder.pid}" in msg and str(db) in msg and "The file is fine" in msg
        assert "corrupt" not in msg and "Restore" not in msg
        store.create_run(RunConfig(name="second"))  # and it works once the lock is gone
