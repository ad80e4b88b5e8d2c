"""The probe's head and known revisions come from the scripts' text, not from Alembic (issue 11):
they must be Alembic's own answer, and anything not plain must fall back to Alembic."""

from __future__ import annotations

import shutil

import pytest

from lrstudio.paths import alembic_dir
from lrstudio.storage import migrate


@pytest.fixture
def scripts(tmp_path, monkeypatch):
    """A copy of the shipped Alembic folder that the probe reads instead."""
    copy = tmp_path / "alembic"
    shutil.copytree(alembic_dir(), copy, ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.setattr(migrate, "alembic_dir", lambda: copy)
    return copy


def test_shipped_revisions_are_alembics():
    shipped = migrate.shipped_revisions()
    assert shipped is not None
    head, known = shipped
    assert head == migrate.head_revision()
    assert known == {r.revision for r in migrate.script_directory().walk_revisions()}


def test_a_new_revision_becomes_the_head(scripts):
    head = migrate.head_revision()
    before = migrate.shipped_revisions()  # read (and cached) before the new script exists
    assert before is not None and before[0] == head
    (scripts / "versions" / "9999_next.py").write_text(
        f'"""Next."""\n\nrevision: str = "9999"\ndown_revision: str | None = "{head}"\n'
        "branch_labels = None\ndepends_on = None\n\n\ndef upgrade() -> None:\n    pass\n\n\n"
        "def downgrade() -> None:\n    pass\n")
    shipped = migrate.shipped_revisions()
    assert shipped is not None and shipped[0] == "9999" and {head, "9999"} <= shipped[1]
    assert migrate.head_revision() == "9999"  # Alembic agrees


@pytest.mark.parametrize("text", [
    'revision = "9999"\ndown_revision = "0001"\n',  # a branch: two revisions after 0001
    'revision = "9999"\n',  # no down_revision line
    'revision = "9999"\ndown_revision = "0001"\nrevision = "9998"\n',  # two revision lines
    'revision = REV\ndown_revision = "0001"\n',  # not a literal
    'revision = "9999"\ndown_revision = "nope"\n',  # a revision no script has
])
def test_scripts_that_are_not_plain_leave_it_to_alembic(scripts, text):
    (scripts / "versions" / "9999_odd.py").write_text(text)
    assert migrate.shipped_revisions() is None


def test_a_revision_the_scripts_do_not_name_is_still_refused(tmp_path):
    import sqlite3

    from lrstudio.storage import NewerDatabaseError, open_store

    db = tmp_path / "newer.sqlite"
    open_store(f"sqlite:///{db}").close()
    con = sqlite3.connect(db)
    con.execute("UPDATE alembic_version SET version_num = 'ffff'")
    con.commit()
    con.close()
    with pytest.raises(NewerDatabaseError, match="'ffff'"):
        open_store(f"sqlite:///{db}")
