"""The run store: SQLAlchemy 2 + SQLite (WAL) or any SQLAlchemy URL, Alembic migrations.

No Qt here. Public API::

    store = open_store(url)            # probe, back up, upgrade, recover interrupted runs
    run_id = store.create_run(config)
    with store.recorder(run_id) as rec:
        rec.handle(events)             # lists of core.events
    store.list_runs(status="completed", order_by="best_loss", descending=False)
    store.load_series(run_id)          # {"train/loss": Series(step, value, wall_time, epoch)}

The records it returns (``RunInfo``, ``Series``), the run statuses and the ``RunStore`` protocol
that :class:`Store` satisfies live in :mod:`lrstudio.core.runs`.
"""

from __future__ import annotations

from lrstudio.storage.engine import (
    DatabaseLockedError,
    NewerDatabaseError,
    NotAnLrstudioDatabase,
    RunNotFoundError,
    StoreError,
    make_engine,
)
from lrstudio.storage.migrate import prepare
from lrstudio.storage.recorder import RunRecorder
from lrstudio.storage.repository import Store


def open_store(url: str, *, upgrade: bool = True, backup: bool = True, recover: bool = True) -> Store:
    """Open (and create or upgrade) the database at ``url`` (an SQLAlchemy URL).

    Raises :class:`NewerDatabaseError` for a database from a newer lrstudio (left untouched),
    :class:`NotAnLrstudioDatabase` for a foreign or corrupt file, and :class:`StoreError` when
    ``upgrade=False`` and the schema is behind. ``recover=True`` marks runs whose process is gone
    as ``interrupted`` (:meth:`Store.recover_interrupted`).
    """
    engine = make_engine(url)
    try:
        result = prepare(url, engine, upgrade=upgrade, backup=backup)
        store = Store(url, engine, result)
        if recover:
            store.recover_interrupted()
    except BaseException:
        engine.dispose()
        raise
    return store


__all__ = [
    "DatabaseLockedError",
    "NewerDatabaseError",
    "NotAnLrstudioDatabase",
    "RunNotFoundError",
    "RunRecorder",
    "Store",
    "StoreError",
    "open_store",
]
