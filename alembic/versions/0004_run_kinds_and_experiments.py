"""Run kinds, experiments (sweeps) and the ``pruned`` status (issues 12, 13, 14, 16).

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-30

- ``runs.kind``: what made the run: ``training`` (every run before this revision), ``lr_range_test``,
  ``external`` (the tracking API) or ``playground``. Not constrained in the database (a later kind
  needs no migration); ``Store.create_run`` checks it against ``lrstudio.core.runs.RUN_KINDS``.
- ``experiments``: one row per sweep: its spec (base config, search space, method, seeds) as JSON,
  state for the sampler, status and owner process (host, pid, heartbeat) like a run.
- ``runs.experiment_id`` (nullable, ``ON DELETE SET NULL``) and ``runs.trial``: the sweep and the
  trial number a run belongs to.
- ``runs.status`` may be ``pruned`` (a sweep trial stopped early by its pruner).

SQLite cannot change a CHECK constraint, so ``runs`` is rebuilt in batch mode from the table as
revision 0001 declared it (foreign keys are off during upgrades: ``storage/migrate.py``).
Downgrade turns ``pruned`` runs into ``stopped`` ones and drops what this revision added.

Tables are declared here, not imported from ``lrstudio.storage.models``.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_OLD_STATUSES = ("queued", "running", "completed", "stopped", "diverged", "failed", "interrupted")
_NEW_STATUSES = (*_OLD_STATUSES, "pruned")
_EXPERIMENT_STATUSES = ("pending", "running", "completed", "cancelled", "interrupted", "failed")
_CK = "ck_runs_status"
_FK = "fk_runs_experiment_id_experiments"


def _status_check(statuses: Sequence[str]) -> str:
    return "status IN (" + ", ".join(f"'{s}'" for s in statuses) + ")"


def _runs(head: bool) -> sa.Table:
    """``runs`` as revisions 0001-0003 left it (``head=False``) or as this one leaves it; batch
    mode rebuilds it from this on SQLite (CHECK constraints do not reflect reliably there)."""
    metadata = sa.MetaData()
    extra: list[sa.SchemaItem] = []
    if head:
        sa.Table("experiments", metadata, sa.Column("id", sa.Integer(), primary_key=True))
        extra = [
            sa.Column("kind", sa.String(32), nullable=False, server_default="training"),
            sa.Column("experiment_id", sa.Integer(), nullable=True),
            sa.Column("trial", sa.Integer(), nullable=True),
            sa.ForeignKeyConstraint(["experiment_id"], ["experiments.id"], name=_FK, ondelete="SET NULL"),
            sa.Index("ix_runs_kind", "kind"),
            sa.Index("ix_runs_experiment_id", "experiment_id"),
        ]
    return sa.Table(
        "runs",
        metadata,
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("uuid", sa.String(36), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("started_at", sa.DateTime(), nullable=True),
        sa.Column("ended_at", sa.DateTime(), nullable=True),
        sa.Column("config_json", sa.Text(), nullable=False),
        sa.Column("config_schema_version", sa.Integer(), nullable=False),
        sa.Column("model", sa.String(64), nullable=True),
        sa.Column("dataset", sa.String(64), nullable=True),
        sa.Column("optimizer", sa.String(64), nullable=True),
        sa.Column("schedule", sa.String(64), nullable=True),
        sa.Column("base_lr", sa.Float(), nullable=True),
        sa.Column("final_loss", sa.Float(), nullable=True),
        sa.Column("best_loss", sa.Float(), nullable=True),
        sa.Column("final_val_loss", sa.Float(), nullable=True),
        sa.Column("best_val_loss", sa.Float(), nullable=True),
        sa.Column("best_accuracy", sa.Float(), nullable=True),
        sa.Column("steps", sa.Integer(), nullable=True),
        sa.Column("epochs", sa.Integer(), nullable=True),
        sa.Column("duration_s", sa.Float(), nullable=True),
        sa.Column("diverged_step", sa.Integer(), nullable=True),
        sa.Column("summary_json", sa.Text(), nullable=True),
        sa.Column("info_json", sa.Text(), nullable=True),
        sa.Column("notes", sa.Text(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("lrstudio_version", sa.String(32), nullable=False),
        sa.Column("owner_host", sa.String(255), nullable=True),
        sa.Column("owner_pid", sa.Integer(), nullable=True),
        sa.Column("heartbeat_at", sa.DateTime(), nullable=True),
        *extra,
        sa.CheckConstraint(_status_check(_NEW_STATUSES if head else _OLD_STATUSES), name=_CK),
        sa.PrimaryKeyConstraint("id", name="pk_runs"),
        sa.UniqueConstraint("uuid", name="uq_runs_uuid"),
        sa.Index("ix_runs_status", "status"),
    )


def upgrade() -> None:
    op.create_table(
        "experiments",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("uuid", sa.String(36), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("method", sa.String(32), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.Column("spec_json", sa.Text(), nullable=False),
        sa.Column("spec_version", sa.Integer(), nullable=False),
        sa.Column("state_json", sa.Text(), nullable=True),
        sa.Column("notes", sa.Text(), nullable=False),
        sa.Column("lrstudio_version", sa.String(32), nullable=False),
        sa.Column("owner_host", sa.String(255), nullable=True),
        sa.Column("owner_pid", sa.Integer(), nullable=True),
        sa.Column("heartbeat_at", sa.DateTime(), nullable=True),
        sa.CheckConstraint(_status_check(_EXPERIMENT_STATUSES), name=op.f("ck_experiments_status")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_experiments")),
        sa.UniqueConstraint("uuid", name=op.f("uq_experiments_uuid")),
        sa.UniqueConstraint("name", name=op.f("uq_experiments_name")),
    )
    new_columns = (
        sa.Column("kind", sa.String(32), nullable=False, server_default="training"),
        sa.Column("experiment_id", sa.Integer(), nullable=True),
        sa.Column("trial", sa.Integer(), nullable=True),
    )
    sqlite = op.get_bind().dialect.name == "sqlite"
    with op.batch_alter_table("runs", copy_from=_runs(head=False) if sqlite else None,
                              recreate="always" if sqlite else "never") as batch:
        for column in new_columns:
            batch.add_column(column)
        batch.drop_constraint(op.f(_CK), type_="check")
        batch.create_check_constraint(op.f(_CK), _status_check(_NEW_STATUSES))
        batch.create_foreign_key(op.f(_FK), "experiments", ["experiment_id"], ["id"],
                                 ondelete="SET NULL")
        batch.create_index(op.f("ix_runs_kind"), ["kind"])
        batch.create_index(op.f("ix_runs_experiment_id"), ["experiment_id"])


def downgrade() -> None:
    op.execute("UPDATE runs SET status = 'stopped' WHERE status = 'pruned'")
    sqlite = op.get_bind().dialect.name == "sqlite"
    with op.batch_alter_table("runs", copy_from=_runs(head=True) if sqlite else None,
                              recreate="always" if sqlite else "never") as batch:
        batch.drop_index(op.f("ix_runs_experiment_id"))
        batch.drop_index(op.f("ix_runs_kind"))
        batch.drop_constraint(op.f(_FK), type_="foreignkey")
        batch.drop_constraint(op.f(_CK), type_="check")
        batch.create_check_constraint(op.f(_CK), _status_check(_OLD_STATUSES))
        batch.drop_column("trial")
        batch.drop_column("experiment_id")
        batch.drop_column("kind")
    op.drop_table("experiments")
