"""Opening another database in the window ends the idle training child (it was warmed for the
old one); the next run trains in a new child and is stored in the new database. Real processes."""

from __future__ import annotations

from gui_configs import tiny_config

from lrstudio.services import process_run
from lrstudio.storage import open_store


def test_opening_another_database_ends_the_idle_child(qtbot, window, tmp_path, no_dialogs):
    window.controller.prewarm_process(tiny_config())
    child = process_run.spare()
    assert child is not None and child.is_alive()
    other = f"sqlite:///{tmp_path / 'other.sqlite'}"
    assert window.open_database(other)
    assert process_run.spare() is not child
    qtbot.waitUntil(lambda: not child.is_alive(), timeout=30_000)  # ended in the background
    with qtbot.waitSignal(window.controller.finished, timeout=120_000):
        run_id = window.start_training()
        assert window.controller.process is not child
    assert not no_dialogs
    with open_store(other) as store:
        assert store.get_run(run_id).status == "completed"
