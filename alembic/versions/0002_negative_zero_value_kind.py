"""metric_points.value_kind may be 4 (NEG_ZERO): -0.0 keeps its sign on SQLite (issue 9).

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-30

SQLite stores a REAL equal to an integer as that integer, so -0.0 came back as 0.0 (PostgreSQL
kept it). The recorder now writes -0.0 with its own value kind; only the CHECK constraint on
``value_kind`` changes. SQLite cannot alter a constraint, so batch mode copies the table; the copy
keeps ``WITHOUT ROWID`` (``table_kwargs``) and the primary key. No data changes: old SQLite files
hold 0.0 where -0.0 was recorded, and that sign cannot be recovered.

The table is declared here, not imported from ``lrstudio.storage.models``.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_CK = "ck_metric_points_value_kind"


def _points(max_kind: int) -> sa.Table:
    """metric_points as batch mode must rebuild it (SQLite does not reflect CHECK constraints
    reliably, so the whole table is given)."""
    return sa.Table(
        "metric_points",
        sa.MetaData(),
        sa.Column("series_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("step", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("value", sa.Float(), nullable=True),
        sa.Column("value_kind", sa.SmallInteger(), nullable=False),
        sa.Column("wall_time", sa.Float(), nullable=True),
        sa.Column("epoch", sa.Integer(), nullable=True),
        sa.CheckConstraint(f"value_kind BETWEEN 0 AND {max_kind}", name=_CK),
        sa.PrimaryKeyConstraint("series_id", "step", name="pk_metric_points"),
        sqlite_with_rowid=False,
    )


def _set_max_kind(max_kind: int) -> None:
    if op.get_bind().dialect.name == "sqlite":
        with op.batch_alter_table("metric_points", copy_from=_points(max_kind), recreate="always",
                                  table_kwargs={"sqlite_with_rowid": False}):
            pass
        return
    op.drop_constraint(op.f(_CK), "metric_points", type_="check")
    op.create_check_constraint(op.f(_CK), "metric_points", f"value_kind BETWEEN 0 AND {max_kind}")


def upgrade() -> None:
    _set_max_kind(4)


def downgrade() -> None:
    # -0.0 points become plain finite zeros (their value column already holds 0.0 / -0.0).
    op.execute("UPDATE metric_points SET value_kind = 0 WHERE value_kind = 4")
    _set_max_kind(3)
