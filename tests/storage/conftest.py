"""Storage fixtures: every ``store`` test runs on SQLite (a temp file) and on PostgreSQL.

PostgreSQL comes from ``$LRSTUDIO_TEST_PG_URL`` (``eval "$(scripts/ci_postgres.sh)"`` starts a
throwaway server and prints it) or a server on ``127.0.0.1:5432``. Each test gets its own schema
(``search_path``), dropped afterwards. Without a server the PostgreSQL cases skip with the reason,
except in CI (``$CI`` set), where a missing server is a failure.
"""

from __future__ import annotations

import os
import uuid

import pytest

from lrstudio.core.config import RunConfig

PG_ENV = "LRSTUDIO_TEST_PG_URL"
_FALLBACK_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
_pg_status: tuple[str | None, str] | None = None


def _find_pg() -> tuple[str | None, str]:
    """(url, reason): a reachable server's URL, or None and why not."""
    global _pg_status
    if _pg_status is not None:
        return _pg_status
    url = os.environ.get(PG_ENV) or _FALLBACK_PG
    try:
        import sqlalchemy as sa

        eng = sa.create_engine(url, connect_args={"connect_timeout": 3})
        try:
            with eng.connect() as conn:
                conn.execute(sa.text("SELECT 1"))
        finally:
            eng.dispose()
        _pg_status = (url, "")
    except Exception as exc:  # any failure means: no usable server
        how = f"${PG_ENV}={url}" if os.environ.get(PG_ENV) else f"no ${PG_ENV} and nothing at {_FALLBACK_PG}"
        first = (str(exc).splitlines() or [""])[0][:200]
        _pg_status = (None, f"PostgreSQL not reachable ({how}): {type(exc).__name__}: {first}. "
                            f"Start one with: eval \"$(scripts/ci_postgres.sh)\"")
    return _pg_status


def pg_url_or_skip() -> str:
    url, reason = _find_pg()
    if url is None:
        if os.environ.get("CI"):
            pytest.fail(f"CI must test PostgreSQL: {reason}", pytrace=False)
        pytest.skip(reason)
    return url


@pytest.fixture
def pg_url():
    """A PostgreSQL URL whose search_path is a fresh schema (dropped after the test)."""
    import sqlalchemy as sa

    base = pg_url_or_skip()
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(base)
    with admin.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    u = sa.engine.make_url(base)
    url = u.update_query_dict({"options": f"-csearch_path={schema}"}).render_as_string(hide_password=False)
    try:
        yield url
    finally:
        with admin.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def store_url(request, tmp_path):
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'store.sqlite'}"
    return request.getfixturevalue("pg_url")


@pytest.fixture
def store(store_url):
    from lrstudio.storage import open_store

    s = open_store(store_url)
    try:
        yield s
    finally:
        s.close()


@pytest.fixture
def sqlite_url(tmp_path):
    return f"sqlite:///{tmp_path / 'store.sqlite'}"


def make_config(**overrides) -> RunConfig:
    return RunConfig(**overrides)
