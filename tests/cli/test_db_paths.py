"""``--db PATH`` with a file name that looks like URL syntax opens that very file (not 'runs' for
'runs?.db', not '100%.sqlite' for '100%25.sqlite')."""

from __future__ import annotations

import pytest
from sqlalchemy.engine import URL

from lrstudio.cli import main
from lrstudio.core.config import RunConfig
from lrstudio.storage import open_store


@pytest.mark.parametrize("name", ["runs?.db", "100%.sqlite", "100%25.sqlite", "a#b.sqlite"])
def test_db_option_opens_the_file_it_names(tmp_path, capsys, name):
    path = tmp_path / name
    # written through SQLAlchemy's own URL quoting, independent of lrstudio's
    with open_store(URL.create("sqlite", database=str(path)).render_as_string(hide_password=False)) as store:
        store.create_run(RunConfig(name="the one in " + name))
    before = sorted(p.name for p in tmp_path.iterdir())
    assert main(["runs", "--db", str(path)]) == 0
    out = capsys.readouterr().out
    assert "the one in" in out  # read from that file (the fix: not an empty database elsewhere)
    assert sorted(p.name for p in tmp_path.iterdir()) == before  # no other file created
