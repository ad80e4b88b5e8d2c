from pathlib import Path

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
