"""A database URL's password is never printed: ``lrstudio demo`` on PostgreSQL, ``db current``,
and the refusal of a URL that does not parse (SQLAlchemy's ``render_as_string(hide_password=True)``)."""

from __future__ import annotations

import json
import os
import uuid

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from lrstudio.cli import main

SECRET = "s3cret-L1"
_PG = os.environ.get("LRSTUDIO_TEST_PG_URL") or "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


@pytest.fixture
def pg_url_with_password():
    """The test server's URL with a password added (a trust-auth server ignores it) and a fresh schema."""
    try:
        admin = sa.create_engine(_PG, connect_args={"connect_timeout": 3})
        with admin.begin() as conn:
            schema = f"t_{uuid.uuid4().hex[:12]}"
            conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    except Exception as exc:  # no server: skip (as tests/storage/conftest.py does)
        if os.environ.get("CI"):
            pytest.fail(f"CI must test PostgreSQL: {exc}", pytrace=False)
        pytest.skip(f"PostgreSQL not reachable at {_PG}: {type(exc).__name__}")
    url = (make_url(_PG).set(password=SECRET).update_query_dict({"options": f"-csearch_path={schema}"})
           .render_as_string(hide_password=False))
    try:
        yield url
    finally:
        with admin.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.mark.postgres
def test_demo_on_postgresql_prints_the_url_without_its_password(pg_url_with_password, tmp_path, capsys):
    url = pg_url_with_password
    rc = main(["--db", url, "demo", "--steps", "20", "--quiet", "--out", str(tmp_path / "h.csv")])
    out, err = capsys.readouterr()
    assert rc == 0, err
    assert f"database: {make_url(url).render_as_string(hide_password=True)}\n" in out
    assert SECRET not in out + err
    assert main(["--db", url, "db", "current", "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)["database"]
    assert shown == make_url(url).render_as_string(hide_password=True)
    assert main(["--db", url, "db", "path"]) == 0
    assert capsys.readouterr().out == make_url(url).render_as_string(hide_password=True) + "\n"
    assert main(["--db", url, "runs"]) == 0
    assert SECRET not in "".join(capsys.readouterr())


@pytest.mark.parametrize("url,why", [
    ("postgresql+psycopg://me:" + SECRET + "@host:notaport/db", "not a database URL"),
    ("postgres ql://me:" + SECRET + "@host/db", "not a database URL"),
    ("postgresql+nosuchdriver://me:" + SECRET + "@host/db", "cannot use database"),
])
def test_a_url_that_cannot_be_used_is_refused_without_its_password(url, why, capsys):
    assert main(["runs", "--db", url]) != 0
    out, err = capsys.readouterr()
    assert err.startswith(f"lrstudio: error: {why}") and "Traceback" not in err
    assert ":***@host" in err
    assert SECRET not in out + err
