"""Start during a run queues the form's config; queued runs start one after another (issue 13)."""

from __future__ import annotations

from gui_configs import long_config, tiny_config
from PySide6.QtCore import Qt

from lrstudio.core.events import StepLogged


def test_start_during_a_run_queues_and_the_queue_runs_in_order(qtbot, window, store):
    window.config_panel.set_config(long_config())
    steps: list[int] = []
    window.controller.progressed.connect(
        lambda batch: steps.extend(e.step for e in batch if isinstance(e, StepLogged)))
    qtbot.keyClick(window, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)  # Start
    first = window.controller.run_id
    assert window.controller.is_running()
    # Start stays enabled during the run and reads "Queue"; Find LR does not.
    assert window.start_button.isEnabled() and window.start_button.text() == "Queue"
    assert window.action_start.isEnabled() and not window.action_find_lr.isEnabled()
    assert not window.queue_button.isVisibleTo(window)
    window.config_panel.set_config(tiny_config(name="queued a", lr=0.02))
    qtbot.mouseClick(window.start_button, Qt.MouseButton.LeftButton)
    window.config_panel.set_config(tiny_config(name="queued b", lr=0.03))
    qtbot.keyClick(window, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    assert [c.name for c in window.run_queue.configs()] == ["queued a", "queued b"]
    assert window.queue_button.isVisibleTo(window) and window.queue_button.text() == "2 queued"
    assert "queued a" in window.queue_button.toolTip() and "lr=0.03" in window.queue_button.toolTip()
    assert [r.id for r in store.list_runs()] == [first]  # queued runs are not stored before they start
    qtbot.waitUntil(lambda: len(steps) > 20, timeout=60_000)
    qtbot.keyClick(window, Qt.Key.Key_Escape)  # stop the first: the queue takes over
    qtbot.waitUntil(lambda: len(store.list_runs()) == 3 and not window.controller.is_running()
                    and not window.run_queue, timeout=90_000)
    runs = sorted(store.list_runs(), key=lambda r: r.id)
    assert [r.status for r in runs] == ["stopped", "completed", "completed"]
    assert [r.name for r in runs[1:]] == ["queued a", "queued b"]
    assert [r.base_lr for r in runs[1:]] == [0.02, 0.03]
    assert runs[1].ended_at <= runs[2].created_at  # one after another
    assert not window.queue_button.isVisibleTo(window) and window.start_button.text() == "Start"


def test_a_queued_run_can_be_removed_and_closing_drops_the_queue(qtbot, window, store):
    window.config_panel.set_config(long_config())
    window.start_training()
    assert window.controller.is_running()
    window.config_panel.set_config(tiny_config(name="one"))
    assert window.start_training() is None
    window.config_panel.set_config(tiny_config(name="two"))
    window.start_training()
    menu = window.queue_button.menu()
    remove_first = next(a for a in menu.actions() if a.text().startswith("Remove 1."))
    remove_first.trigger()
    assert [c.name for c in window.run_queue.configs()] == ["two"]
    window.close()
    assert not window.run_queue and len(store.list_runs()) == 1
