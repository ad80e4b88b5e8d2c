"""Metric points stored as typed array chunks: metric_points -> metric_chunks (issue 11).

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-30

Each series is stored as rows of ``metric_chunks(series_id, seq, first_step, last_step, n, steps,
vals, wall, epoch)``, ``WITHOUT ROWID`` on SQLite, where the four last columns are little-endian
numpy arrays in BLOBs / ``bytea`` (int64 steps, float64 values and wall times, int32 epochs, or
int64 where an epoch needs it: the itemsize is ``len(epoch) // n``). Values are stored as their
8 bytes, so NaN, +-inf and -0.0 need no ``value_kind`` any more. NULL wall times become NaN,
NULL epochs -1 (what ``Series`` always returned for them).

Upgrade converts every series of ``metric_points`` (step order, 16,384 points per chunk) and drops
``metric_points``: keeping it would double the file and leave a second truth that no code writes.
Downgrade converts back to rows with ``value_kind`` (NaN/inf as NULL + kind, -0.0 as kind 4;
revision 0002) and drops ``metric_chunks``.

The layout is repeated here, not imported from ``lrstudio.storage``, so that this file keeps
describing this step whatever the storage code becomes later.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CHUNK_POINTS = 16_384
FINITE, NAN, POS_INF, NEG_INF, NEG_ZERO = 0, 1, 2, 3, 4
_I32 = np.iinfo(np.int32)


def _chunks_table() -> sa.Table:
    return sa.Table(
        "metric_chunks",
        sa.MetaData(),
        sa.Column("series_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("seq", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("first_step", sa.BigInteger(), nullable=False),
        sa.Column("last_step", sa.BigInteger(), nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.Column("steps", sa.LargeBinary(), nullable=False),
        sa.Column("vals", sa.LargeBinary(), nullable=False),
        sa.Column("wall", sa.LargeBinary(), nullable=False),
        sa.Column("epoch", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("series_id", "seq", name="pk_metric_chunks"),
        sqlite_with_rowid=False,
    )


def _points_table() -> sa.Table:
    """metric_points as revision 0002 left it."""
    return sa.Table(
        "metric_points",
        sa.MetaData(),
        sa.Column("series_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("step", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("value", sa.Float(), nullable=True),
        sa.Column("value_kind", sa.SmallInteger(), nullable=False),
        sa.Column("wall_time", sa.Float(), nullable=True),
        sa.Column("epoch", sa.Integer(), nullable=True),
        sa.CheckConstraint("value_kind BETWEEN 0 AND 4", name="ck_metric_points_value_kind"),
        sa.PrimaryKeyConstraint("series_id", "step", name="pk_metric_points"),
        sqlite_with_rowid=False,
    )


def _chunk_row(sid: int, seq: int, step: Any, value: Any, wall: Any, epoch: Any) -> dict[str, Any]:
    ep = epoch.astype("<i8") if epoch.size and (epoch.min() < _I32.min or epoch.max() > _I32.max) \
        else epoch.astype("<i4")
    return {"series_id": sid, "seq": seq, "first_step": int(step.min()), "last_step": int(step.max()),
            "n": int(step.size), "steps": step.astype("<i8").tobytes(), "vals": value.astype("<f8").tobytes(),
            "wall": wall.astype("<f8").tobytes(), "epoch": ep.tobytes()}


def upgrade() -> None:
    bind = op.get_bind()
    chunks = _chunks_table()
    chunks.create(bind)
    points = sa.table("metric_points", sa.column("series_id"), sa.column("step"), sa.column("value"),
                      sa.column("value_kind"), sa.column("wall_time"), sa.column("epoch"))
    sids = [r[0] for r in bind.execute(sa.select(points.c.series_id).distinct().order_by(points.c.series_id))]
    for sid in sids:
        rows = bind.execute(
            sa.select(points.c.step, points.c.value, points.c.value_kind, points.c.wall_time, points.c.epoch)
            .where(points.c.series_id == sid).order_by(points.c.step)
        ).all()
        step = np.array([r[0] for r in rows], dtype=np.int64)
        kind = np.array([r[2] for r in rows], dtype=np.int64)
        value = np.array([np.nan if r[1] is None else r[1] for r in rows], dtype=np.float64)
        value[kind == NAN] = np.nan
        value[kind == POS_INF] = np.inf
        value[kind == NEG_INF] = -np.inf
        value[kind == NEG_ZERO] = -0.0  # SQLite read it back as 0.0
        wall = np.array([np.nan if r[3] is None else r[3] for r in rows], dtype=np.float64)
        epoch = np.array([-1 if r[4] is None else r[4] for r in rows], dtype=np.int64)
        out = [_chunk_row(sid, seq, step[i:i + CHUNK_POINTS], value[i:i + CHUNK_POINTS],
                          wall[i:i + CHUNK_POINTS], epoch[i:i + CHUNK_POINTS])
               for seq, i in enumerate(range(0, step.size, CHUNK_POINTS))]
        if out:
            bind.execute(chunks.insert(), out)
    op.drop_table("metric_points")


def downgrade() -> None:
    bind = op.get_bind()
    points = _points_table()
    points.create(bind)
    chunks = _chunks_table()
    sids = [r[0] for r in bind.execute(sa.select(chunks.c.series_id).distinct().order_by(chunks.c.series_id))]
    for sid in sids:
        parts = []
        for n, steps, vals, wall, epoch in bind.execute(
                sa.select(chunks.c.n, chunks.c.steps, chunks.c.vals, chunks.c.wall, chunks.c.epoch)
                .where(chunks.c.series_id == sid).order_by(chunks.c.seq)):
            if n:
                parts.append((np.frombuffer(steps, "<i8"), np.frombuffer(vals, "<f8"), np.frombuffer(wall, "<f8"),
                              np.frombuffer(epoch, "<i8" if len(epoch) == 8 * n else "<i4")))
        if not parts:
            continue
        step, value, wall_t, ep = (np.concatenate([p[i] for p in parts]) for i in range(4))
        # One row per step, the last-written point of a repeated step winning.
        order = np.argsort(step, kind="stable")
        keep = np.ones(order.size, dtype=bool)
        keep[:-1] = step[order][1:] != step[order][:-1]
        idx = order[keep]
        rows = []
        for s, v, w, e in zip(step[idx].tolist(), value[idx].tolist(), wall_t[idx].tolist(), ep[idx].tolist()):
            if v != v:
                val, kind = None, NAN
            elif v in (np.inf, -np.inf):
                val, kind = None, (POS_INF if v > 0 else NEG_INF)
            elif v == 0.0 and np.copysign(1.0, v) < 0:
                val, kind = -0.0, NEG_ZERO
            else:
                val, kind = v, FINITE
            rows.append({"series_id": sid, "step": s, "value": val, "value_kind": kind,
                         "wall_time": None if w != w else w, "epoch": None if e == -1 else e})
        bind.execute(points.insert(), rows)
    op.drop_table("metric_chunks")
