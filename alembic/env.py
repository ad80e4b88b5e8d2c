"""Alembic environment for lrstudio.

The app and ``lrstudio db upgrade`` build the Alembic ``Config`` in code
(``lrstudio.storage.migrate``) and pass an open connection in ``config.attributes["connection"]``;
then this file only runs the migrations on it. A developer running ``alembic`` by hand (the
``[tool.alembic]`` table in ``pyproject.toml``) gets the database named by ``sqlalchemy.url``, or
``--db``/``$LRSTUDIO_DB``/the default file via ``lrstudio.paths.resolve_db``.

``render_as_batch=True``: SQLite cannot ALTER most things, so Alembic copies tables instead
(MLflow's and Optuna's env.py do the same).
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine

from lrstudio.storage.models import Base

config = context.config
target_metadata = Base.metadata


def _configure(connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=True,
        compare_type=True,
    )


def run_migrations_offline() -> None:
    url = _url()
    context.configure(url=url, target_metadata=target_metadata, render_as_batch=True,
                      literal_binds=True, dialect_opts={"paramstyle": "named"})
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _configure(connection)
        with context.begin_transaction():
            context.run_migrations()
        return
    engine = create_engine(_url())
    try:
        with engine.connect() as conn:
            _configure(conn)
            with context.begin_transaction():
                context.run_migrations()
            conn.commit()
    finally:
        engine.dispose()


def _url() -> str:
    """``sqlalchemy.url`` from an alembic.ini when there is one, else lrstudio's database."""
    from lrstudio.paths import resolve_db

    if config.file_config.has_section(config.config_ini_section):
        url = config.get_main_option("sqlalchemy.url")
        if url:
            return url
    return resolve_db(None)


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
