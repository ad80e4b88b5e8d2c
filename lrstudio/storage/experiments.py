"""Experiments (sweeps, issue 13) in the store: the ``experiments`` table of revision 0004.

An experiment row holds the sweep's spec (:class:`lrstudio.core.sweep.ExperimentSpec` as JSON), its
status (:data:`~lrstudio.core.runs.EXPERIMENT_STATUSES`), the executor's state as JSON (for an
Optuna sweep: every asked trial's parameters, so ``resume`` can rebuild the study) and the process
that runs it (host, pid, heartbeat). Its trials are runs with ``experiment_id`` set
(``Store.list_runs(experiment_id=...)``).

Life cycle::

    create_experiment (pending) -> claim (running, owner = this process, heartbeat)
        -> heartbeat* / set_state* -> finish (completed | cancelled | failed)
    a running experiment whose owner is gone is ``interrupted`` (recover_experiments; open_store
    does not do it: ``resume`` and ``list`` do) and can be claimed again by ``resume``.

The :class:`~lrstudio.storage.Store` methods ``create_experiment``, ``get_experiment``,
``list_experiments``, ``update_experiment``, ``experiment_heartbeat``, ``claim_experiment``,
``delete_experiment`` and ``list_trials`` delegate here; front ends call those.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import uuid as uuid_mod
from collections.abc import Mapping
from typing import Any

from sqlalchemy import Connection, Engine, RowMapping, delete, select, update

from lrstudio import __version__
from lrstudio.core.runs import EXPERIMENT_STATUSES
from lrstudio.core.sweep import SPEC_VERSION, ExperimentInfo, ExperimentSpec
from lrstudio.storage.engine import StoreError, transaction, translated
from lrstudio.storage.models import ExperimentRow, RunRow, table, utcnow
from lrstudio.storage.recorder import HOSTNAME

_exp = table(ExperimentRow)
_runs = table(RunRow)
MAX_NAME = 200
#: A running experiment whose owner sent no heartbeat for this long is gone (another host).
EXPERIMENT_STALE_S = 120.0


class ExperimentNotFoundError(StoreError, KeyError):
    """No experiment with this id."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else "experiment not found"


def _as_aware(t: dt.datetime) -> dt.datetime:
    return t if t.tzinfo else t.replace(tzinfo=dt.UTC)


def _info(row: RowMapping) -> ExperimentInfo:
    try:
        state = json.loads(row["state_json"]) if row["state_json"] else {}
    except ValueError:
        state = {}
    return ExperimentInfo(
        id=int(row["id"]), uuid=row["uuid"], name=row["name"], method=row["method"], status=row["status"],
        created_at=_as_aware(row["created_at"]), updated_at=_as_aware(row["updated_at"]),
        spec_json=row["spec_json"], spec_version=int(row["spec_version"]), state=state, notes=row["notes"] or "",
        lrstudio_version=row["lrstudio_version"], owner_host=row["owner_host"], owner_pid=row["owner_pid"],
        heartbeat_at=_as_aware(row["heartbeat_at"]) if row["heartbeat_at"] else None)


def _check_id(experiment_id: Any) -> int:
    if isinstance(experiment_id, bool) or not isinstance(experiment_id, int) or not 1 <= experiment_id <= 2**31 - 1:
        raise ExperimentNotFoundError(f"no experiment with id {experiment_id!r} in this database")
    return experiment_id


def _unique_name(conn: Connection, name: str) -> str:
    taken = set(conn.execute(select(_exp.c.name)).scalars())
    if name not in taken:
        return name
    n = 2
    while f"{name[:MAX_NAME - 10]} ({n})" in taken:
        n += 1
    return f"{name[:MAX_NAME - 10]} ({n})"


def create_experiment(engine: Engine, spec: ExperimentSpec, name: str | None = None,
                      status: str = "pending") -> int:
    """Insert an experiment for a validated ``spec``; its id. The name (``name``, else the spec's,
    else ``sweep <method> <param>...``) gets " (2)", " (3)" ... when another experiment has it."""
    if status not in EXPERIMENT_STATUSES:
        raise StoreError(f"unknown experiment status {status!r}; allowed: {', '.join(EXPERIMENT_STATUSES)}")
    spec = spec.validated()
    wanted = (name or spec.name or "").strip() or f"sweep {spec.method} " + " ".join(
        p.rsplit(".", 1)[-1] for p in spec.space)
    if "\x00" in wanted:
        raise StoreError("an experiment name cannot contain a NUL character (\\x00); any other text is allowed")
    now = utcnow()
    with transaction(engine) as conn:
        final = _unique_name(conn, wanted[:MAX_NAME])
        spec_json = ExperimentSpec(**{**spec.__dict__, "name": final}).to_json(indent=None)
        res = conn.execute(_exp.insert().values(
            uuid=str(uuid_mod.uuid4()), name=final, method=spec.method, status=status, created_at=now,
            updated_at=now, spec_json=spec_json, spec_version=SPEC_VERSION, state_json=None, notes="",
            lrstudio_version=__version__, owner_host=None, owner_pid=None, heartbeat_at=None))
        return int(res.inserted_primary_key[0])  # type: ignore[index]


def get_experiment(engine: Engine, experiment_id: int) -> ExperimentInfo:
    eid = _check_id(experiment_id)
    with translated(engine), engine.connect() as conn:
        row = conn.execute(select(_exp).where(_exp.c.id == eid)).mappings().first()
    if row is None:
        raise ExperimentNotFoundError(f"no experiment with id {eid} in this database")
    return _info(row)


def list_experiments(engine: Engine, status: str | None = None) -> list[ExperimentInfo]:
    """Every experiment, newest first (optionally only those with ``status``)."""
    q = select(_exp).order_by(_exp.c.id.desc())
    if status is not None:
        if status not in EXPERIMENT_STATUSES:
            raise StoreError(f"unknown experiment status {status!r}; allowed: {', '.join(EXPERIMENT_STATUSES)}")
        q = q.where(_exp.c.status == status)
    with translated(engine), engine.connect() as conn:
        return [_info(r) for r in conn.execute(q).mappings()]


def update_experiment(engine: Engine, experiment_id: int, *, status: str | None = None,
                      state: Mapping[str, Any] | None = None, notes: str | None = None,
                      release: bool = False) -> None:
    """Set the status, the state (JSON object) and/or the notes; ``release`` clears the owner."""
    eid = _check_id(experiment_id)
    values: dict[str, Any] = {"updated_at": utcnow()}
    if status is not None:
        if status not in EXPERIMENT_STATUSES:
            raise StoreError(f"unknown experiment status {status!r}; allowed: {', '.join(EXPERIMENT_STATUSES)}")
        values["status"] = status
    if state is not None:
        values["state_json"] = json.dumps(dict(state), allow_nan=False, sort_keys=True)
    if notes is not None:
        values["notes"] = notes
    if release:
        values.update(owner_host=None, owner_pid=None)
    with transaction(engine) as conn:
        if conn.execute(update(_exp).where(_exp.c.id == eid).values(**values)).rowcount == 0:
            raise ExperimentNotFoundError(f"no experiment with id {eid} in this database")


def heartbeat(engine: Engine, experiment_id: int) -> None:
    now = utcnow()
    with transaction(engine) as conn:
        conn.execute(update(_exp).where(_exp.c.id == _check_id(experiment_id)).values(heartbeat_at=now))


def owner_alive(info: ExperimentInfo, stale_after_s: float = EXPERIMENT_STALE_S) -> bool:
    """Whether the process recorded as running ``info`` is still there (this host: its pid;
    elsewhere: a heartbeat younger than ``stale_after_s``)."""
    from lrstudio.storage.repository import pid_alive  # the one owner of "is this pid alive"

    if info.status != "running" or info.owner_pid is None:
        return False
    if info.owner_host == HOSTNAME:
        return info.owner_pid == os.getpid() or pid_alive(info.owner_pid)
    beat = info.heartbeat_at or info.updated_at
    return (utcnow() - _as_aware(beat)).total_seconds() < stale_after_s


def claim_experiment(engine: Engine, experiment_id: int) -> ExperimentInfo:
    """Make this process the owner of the experiment and set it ``running``; refuse (StoreError)
    when another live process runs it. A completed experiment can be claimed again (``resume``
    then has nothing left to do)."""
    eid = _check_id(experiment_id)
    now = utcnow()
    with transaction(engine) as conn:
        row = conn.execute(select(_exp).where(_exp.c.id == eid).with_for_update()).mappings().first()
        if row is None:
            raise ExperimentNotFoundError(f"no experiment with id {eid} in this database")
        info = _info(row)
        if owner_alive(info) and info.owner_pid != os.getpid():
            raise StoreError(f"experiment {eid} ({info.name}) is being run by process {info.owner_pid} on "
                             f"{info.owner_host}; wait for it, or stop that process first")
        conn.execute(update(_exp).where(_exp.c.id == eid).values(
            status="running", owner_host=HOSTNAME, owner_pid=os.getpid(), heartbeat_at=now, updated_at=now))
    return get_experiment(engine, eid)


def recover_experiments(engine: Engine) -> list[int]:
    """Mark running experiments whose owner is gone as ``interrupted``; their ids."""
    gone = [e.id for e in list_experiments(engine, "running") if not owner_alive(e)]
    for eid in gone:
        with transaction(engine) as conn:
            conn.execute(update(_exp).where(_exp.c.id == eid, _exp.c.status == "running")
                         .values(status="interrupted", updated_at=utcnow()))
    return gone


def delete_experiment(engine: Engine, experiment_id: int) -> None:
    """Delete the experiment; its runs stay, unlinked (``experiment_id`` and ``trial`` cleared)."""
    eid = _check_id(experiment_id)
    with transaction(engine) as conn:
        conn.execute(update(_runs).where(_runs.c.experiment_id == eid).values(experiment_id=None, trial=None))
        if conn.execute(delete(_exp).where(_exp.c.id == eid)).rowcount == 0:
            raise ExperimentNotFoundError(f"no experiment with id {eid} in this database")


__all__ = ["EXPERIMENT_STALE_S", "ExperimentNotFoundError", "claim_experiment", "create_experiment",
           "delete_experiment", "get_experiment", "heartbeat", "list_experiments", "owner_alive",
           "recover_experiments", "update_experiment"]
