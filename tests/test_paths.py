from pathlib import Path

import pytest

from lrstudio import paths


def test_shipped_files_are_found():
    assert (paths.alembic_dir() / "env.py").exists() or (paths.alembic_dir() / "versions").is_dir()
    assert paths.data_file("windsor_housing.csv").exists()
    assert paths.data_file("digits.csv.gz").exists()


def test_db_resolution_order(monkeypatch, tmp_path):
    monkeypatch.delenv("LRSTUDIO_DB", raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    default = paths.resolve_db(None)
    assert default.startswith("sqlite:///") and default.endswith("lrstudio.sqlite")
    assert str(tmp_path) in default
    monkeypatch.setenv("LRSTUDIO_DB", "postgresql+psycopg://u@h/db")
    assert paths.resolve_db(None) == "postgresql+psycopg://u@h/db"
    assert paths.resolve_db("runs.sqlite") == f"sqlite:///{Path('runs.sqlite').resolve()}"


def test_only_the_default_location_gets_its_folder_created(monkeypatch, tmp_path):
    from lrstudio.storage import StoreError, open_store

    monkeypatch.delenv("LRSTUDIO_DB", raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "fresh home" / "data"))
    url = paths.resolve_db(None)
    with open_store(url) as store:  # a first launch: the data folder does not exist yet
        assert store.list_runs() == []
    assert paths.default_db_path().is_file()
    explicit = tmp_path / "missing" / "runs.sqlite"
    with pytest.raises(StoreError, match="does not exist"):
        open_store(paths.resolve_db(str(explicit)))
    monkeypatch.setenv("LRSTUDIO_DB", str(explicit))
    with pytest.raises(StoreError, match="does not exist"):
        open_store(paths.resolve_db(None))
    assert not explicit.parent.exists()


SQLITE_URLS = [
    "sqlite:///runs.sqlite", "sqlite:////abs/folder/runs.sqlite", "sqlite+pysqlite:///a/b%20c.sqlite?timeout=3",
    "sqlite:///C:/x.sqlite", "sqlite:///with space/runs.sqlite",
]
MEMORY_URLS = ["sqlite://", "sqlite:///", "sqlite:///:memory:", "sqlite:///file::memory:?cache=shared&uri=true",
               "sqlite:///file:mem1?mode=memory&cache=shared&uri=true"]
OTHER_URLS = ["postgresql+psycopg://u:p@h:5432/db", "postgresql://h/sqlite.db", "mysql://x/y", "not a url", ""]


@pytest.mark.parametrize("url", SQLITE_URLS)
def test_sqlite_path_reads_a_url_as_sqlalchemy_does(url):
    from sqlalchemy.engine import make_url

    assert paths.sqlite_path(url) == Path(make_url(url).database)
    assert not paths.is_sqlite_memory(url)


@pytest.mark.parametrize("url", MEMORY_URLS)
def test_memory_databases_have_no_file(url):
    assert paths.sqlite_path(url) is None
    assert paths.is_sqlite_memory(url)


@pytest.mark.parametrize("url", OTHER_URLS)
def test_other_backends_are_not_sqlite(url):
    assert paths.sqlite_path(url) is None
    assert not paths.is_sqlite_memory(url)


def test_an_sqlite_uri_names_its_file(tmp_path):
    assert paths.sqlite_path("sqlite:///file:runs.sqlite?mode=ro&uri=true") == Path("runs.sqlite")
    assert paths.sqlite_path(f"sqlite:///file://{tmp_path}/r.sqlite?uri=true") == tmp_path / "r.sqlite"


def test_resolve_db_and_sqlite_path_agree(tmp_path):
    assert paths.sqlite_path(paths.resolve_db(str(tmp_path / "r.sqlite"))) == tmp_path / "r.sqlite"


@pytest.mark.parametrize("url", ["postgresql+psycopg://me:secret@db.example:5432/runs", "postgresql://me@h/db",
                                 "postgresql://h/db?sslmode=require", "mysql+pymysql://a:b%40c@h/x"])
def test_display_db_url_hides_the_password_as_sqlalchemy_does(url):
    from sqlalchemy.engine import make_url

    assert paths.display_db_url(url) == make_url(url).render_as_string(hide_password=True)
    assert "secret" not in paths.display_db_url(url)


def test_display_db_url_shows_an_sqlite_file_as_its_path(tmp_path):
    assert paths.display_db_url(f"sqlite:///{tmp_path / 'r.sqlite'}") == str(tmp_path / "r.sqlite")
    assert paths.display_db_url("sqlite:///runs.sqlite") == "runs.sqlite"
    assert paths.display_db_url("not a url") == "not a url"


# File names that look like URL syntax: '?' starts a query, '%' an escape, '#' a fragment, ':' a port
ODD_NAMES = ["runs?.db", "100%.sqlite", "100%25.sqlite", "a#b:c.sqlite", "with space+plus.sqlite", "ü?x=1&y.db"]


@pytest.mark.parametrize("name", ODD_NAMES)
def test_a_path_with_url_characters_names_that_very_file(tmp_path, name):
    from sqlalchemy.engine import URL, make_url

    path = tmp_path / name
    url = paths.db_url(str(path))
    assert url == URL.create("sqlite", database=str(path)).render_as_string(hide_password=False)
    assert make_url(url).database == str(path) and not make_url(url).query
    assert paths.sqlite_path(url) == path
    assert paths.display_db_url(url) == str(path)
    assert paths.resolve_db(str(path)) == url
    assert paths.db_url(f"  {path}\n") == url  # typed text: the ends are trimmed


@pytest.mark.parametrize("url", ["postgresql+psycopg://me:p%40ss@host:5432/db?sslmode=require",
                                 "sqlite:///runs%3F.db", "sqlite:///a.db?timeout=3", "sqlite://"])
def test_a_url_is_taken_as_it_is(url):
    assert paths.db_url(url) == url
    assert paths.resolve_db(url) == url


def test_a_relative_path_and_a_home_path_become_absolute(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert paths.sqlite_path(paths.db_url("runs?.db")) == tmp_path / "runs?.db"
    assert paths.sqlite_path(paths.db_url("~/100%.sqlite")) == tmp_path / "home" / "100%.sqlite"
