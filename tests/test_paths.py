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
