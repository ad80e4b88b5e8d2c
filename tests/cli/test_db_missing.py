"""Commands that only read or change stored runs refuse a database file the user named that
does not exist, instead of creating an empty one at a mistyped path (seen: `lrstudio runs --db
typo.sqlite` printed "no runs" and left typo.sqlite behind)."""

from __future__ import annotations

import pytest

from lrstudio.cli import main


@pytest.mark.parametrize("argv", [["runs"], ["runs", "show", "1"], ["runs", "delete", "1", "--yes"],
                                  ["export", "--runs", "1", "-o", "-"]])
def test_a_named_database_that_does_not_exist_is_refused_and_not_created(tmp_path, capsys, argv):
    missing = tmp_path / "typo.sqlite"
    assert main([*argv, "--db", str(missing)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("lrstudio: error: no database at ") and str(missing) in err and "\n" not in err
    assert list(tmp_path.iterdir()) == []


def test_the_environment_variable_names_a_database_too(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("LRSTUDIO_DB", str(tmp_path / "nope.sqlite"))
    assert main(["runs"]) == 2
    assert "no database at" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_an_existing_database_is_read_as_before(tmp_path, capsys):
    from lrstudio.storage import open_store

    db = tmp_path / "there.sqlite"
    open_store(f"sqlite:///{db}").close()
    assert main(["runs", "--db", str(db)]) == 0
