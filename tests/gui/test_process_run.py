"""Issue 11, training beside the GUI: the controller's run trains in a REAL spawned child process.

Stop, a crash of the child (``kill -9``), a child that does not stop, and closing the window are
each exercised with real processes; an in-memory database and the debugging option train in a
thread of the GUI instead.
"""

from __future__ import annotations

import os
import signal

import pytest
from gui_configs import long_config, tiny_config

from lrstudio.core.events import StepLogged
from lrstudio.gui.controller import TrainingController, live_threads
from lrstudio.services import process_run


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie (exited, not yet reaped) is not alive either.
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(")")[-1].split()[0] != "Z"
    except OSError:
        return False


class Seen:
    def __init__(self, controller: TrainingController) -> None:
        self.events: list = []
        self.summaries: list = []
        self.errors: list = []
        controller.progressed.connect(self.events.extend)
        controller.finished.connect(self.summaries.append)
        controller.failed.connect(self.errors.append)

    def steps(self) -> int:
        return sum(isinstance(e, StepLogged) for e in self.events)


@pytest.fixture
def controller(qapp, store, db_url):
    c = TrainingController(store, db_url)
    yield c
    c.shutdown()


def _stored_points(store, run_id: int) -> int:
    return len(store.load_series(run_id, ["train/loss"]).get("train/loss", ()))


def test_the_run_trains_in_a_child_that_is_reused(qtbot, controller, store):
    seen = Seen(controller)
    assert controller.uses_process()
    with qtbot.waitSignal(controller.finished, timeout=120_000):
        run_id = controller.start(tiny_config())
        child = controller.process
        assert child is not None and child.pid != os.getpid()
    assert seen.summaries[0].status == "completed" and seen.summaries[0].steps == 24
    assert store.get_run(run_id).status == "completed"
    assert _stored_points(store, run_id) == seen.steps() == 24
    info = store.get_run(run_id)
    assert info.owner_pid == child.pid  # the child recorded the run itself
    # The idle child is kept warm and trains the next run.
    assert process_run.spare() is child and child.is_alive()
    runs = child.runs
    with qtbot.waitSignal(controller.finished, timeout=120_000):
        controller.start(tiny_config())
        assert controller.process is child
    assert child.runs == runs + 1 and seen.summaries[1].status == "completed"


def test_stop_ends_the_run_stopped_with_its_points(qtbot, controller, store):
    seen = Seen(controller)
    run_id = controller.start(long_config())
    qtbot.waitUntil(lambda: seen.steps() > 0, timeout=120_000)
    with qtbot.waitSignal(controller.finished, timeout=60_000):
        controller.stop()
    summary = seen.summaries[0]
    assert summary.status == "stopped" and 0 < summary.steps
    assert store.get_run(run_id).status == "stopped"
    assert _stored_points(store, run_id) == summary.steps
    assert live_threads() == []


def test_kill_9_of_the_child_ends_the_run_failed_with_its_points(qtbot, controller, store):
    seen = Seen(controller)
    run_id = controller.start(long_config())
    pid = controller.process.pid
    # The child stores a batch before it sends it: wait for both.
    qtbot.waitUntil(lambda: _stored_points(store, run_id) > 0 and seen.steps() > 0, timeout=120_000)
    with qtbot.waitSignal(controller.finished, timeout=60_000):
        os.kill(pid, signal.SIGKILL)
    summary = seen.summaries[0]
    assert summary.status == "failed" and "SIGKILL" in summary.error and not seen.errors
    assert summary.steps == max(e.step for e in seen.events if isinstance(e, StepLogged))
    info = store.get_run(run_id)
    assert info.status == "failed" and "ended unexpectedly" in info.error and info.steps == summary.steps
    assert _stored_points(store, run_id) > 0  # what the child committed is kept
    assert not controller.is_running() and live_threads() == [] and not _alive(pid)
    assert process_run.spare() is None or process_run.spare().pid != pid  # a dead child is not reused
    # The next run gets a new child.
    with qtbot.waitSignal(controller.finished, timeout=120_000):
        controller.start(tiny_config())
        assert controller.process.pid != pid
    assert seen.summaries[1].status == "completed"


def test_shutdown_terminates_a_child_that_does_not_stop(qtbot, controller, store):
    """A child that does not answer the stop request (here: SIGSTOP) is terminated, then
    killed; the run ends failed, nothing hangs and no process is left."""
    seen = Seen(controller)
    run_id = controller.start(long_config())
    pid = controller.process.pid
    qtbot.waitUntil(lambda: seen.steps() > 0, timeout=120_000)
    os.kill(pid, signal.SIGSTOP)
    assert controller.shutdown(timeout_ms=300)
    assert not _alive(pid) and live_threads() == []
    assert seen.summaries[0].status == "failed"
    assert store.get_run(run_id).status == "failed"


def test_closing_the_window_stops_the_run_and_leaves_no_process(qtbot, window, store):
    seen = Seen(window.controller)
    window.config_panel.set_config(long_config())
    run_id = window.start_training()
    assert run_id is not None
    pid = window.controller.process.pid
    qtbot.waitUntil(lambda: seen.steps() > 0, timeout=120_000)
    window.close()
    assert not window.controller.is_running() and live_threads() == []
    assert not _alive(pid)  # stopped, joined (or terminated): no orphan
    assert seen.summaries and seen.summaries[0].status == "stopped"
    assert store.get_run(run_id).status == "stopped"


def test_the_window_says_when_the_child_died(qtbot, window, store, no_dialogs):
    window.config_panel.set_config(long_config())
    run_id = window.start_training()
    pid = window.controller.process.pid
    qtbot.waitUntil(lambda: _stored_points(store, run_id) > 0, timeout=120_000)
    with qtbot.waitSignal(window.controller.finished, timeout=60_000):
        os.kill(pid, signal.SIGKILL)
    assert no_dialogs and "ended unexpectedly" in no_dialogs[0] and "SIGKILL" in no_dialogs[0]
    assert "failed" in window.statusBar().currentMessage()
    assert window.action_start.isEnabled()


def test_an_in_memory_database_trains_in_a_thread(qtbot, qapp):
    from lrstudio.storage import open_store

    url = "sqlite://"
    store = open_store(url)
    c = TrainingController(store, url)
    try:
        assert not c.uses_process()
        seen = Seen(c)
        with qtbot.waitSignal(c.finished, timeout=60_000):
            run_id = c.start(tiny_config())
            assert c.process is None
        assert seen.summaries[0].status == "completed" and store.get_run(run_id).owner_pid == os.getpid()
    finally:
        c.shutdown()
        store.close()


def test_the_thread_mode_stays_available(qtbot, controller, store):
    controller.set_separate_process(False)
    seen = Seen(controller)
    with qtbot.waitSignal(controller.finished, timeout=60_000):
        run_id = controller.start(tiny_config())
        assert controller.process is None
    assert seen.summaries[0].status == "completed" and store.get_run(run_id).owner_pid == os.getpid()


def test_the_preference_chooses_the_mode(qtbot, store, db_url, qsettings):
    from lrstudio.gui.main_window import MainWindow
    from lrstudio.gui.settings import Preferences

    assert Preferences().train_in_process
    prefs = Preferences.load(qsettings)
    prefs.train_in_process = False
    prefs.save(qsettings)
    w = MainWindow(store, db_url, settings=qsettings)
    qtbot.addWidget(w)
    assert not w.controller.uses_process()
    w.close()


def test_stop_pressed_before_the_child_got_the_run(qtbot, controller, store):
    """Stop right after Start (before the worker handed the run to the child) is not lost."""
    seen = Seen(controller)
    with qtbot.waitSignal(controller.finished, timeout=120_000):
        run_id = controller.start(long_config())
        controller.stop()
    assert seen.summaries[0].status == "stopped"
    assert store.get_run(run_id).status == "stopped"
