"""The status bar's view of a run (gui/run_status.py) in the real main window."""

from __future__ import annotations

import pytest

from lrstudio.core.compare import SUMMARY_COLUMNS, format_percent
from lrstudio.core.events import RunSummary

pytestmark = pytest.mark.gui


def test_the_run_summary_fits_at_1400_and_writes_percent_as_the_tables(window, qtbot):
    # At 1400 px the message was cut mid-letter ("best accuracy 96.4'"), and it wrote "96.4%"
    # where the runs table and Compare write "96.4 %".
    window.resize(1400, 900)
    qtbot.wait(20)
    run = window.live_run
    run.start(7, "cnn digits one-cycle lr 0.05", None)
    run.finish(RunSummary(status="completed", steps=16500, epochs=30, duration_s=754.0, final_loss=0.05142,
                          best_val_loss=0.1525, best_accuracy=0.9642))
    window.run_status.say(run.summary_text())
    shown = window.statusBar().currentMessage()
    assert shown == run.summary_text()  # whole: nothing elided at this size
    assert "best acc 96.4 %" in shown and format_percent(0.9642) == "96.4 %"
    bar = window.statusBar()
    assert bar.fontMetrics().horizontalAdvance(shown) <= window.run_status.message_room()


def test_a_message_too_long_is_cut_with_an_ellipsis_and_whole_in_the_tooltip(window, qtbot):
    window.resize(1000, 700)
    qtbot.wait(20)
    text = "Run " + "a very long run name " * 6 + "completed: 1,200 steps in 1:15 · best acc 96.4 %"
    window.run_status.say(text)
    shown = window.statusBar().currentMessage()
    assert shown.endswith("…") and text.startswith(shown[:-1])
    assert window.statusBar().toolTip() == text


def test_the_runs_table_and_compare_s_summary_write_accuracy_alike(qtbot, store):
    from lrstudio.gui.runs.model import COLUMNS, _format_cell

    col = next(c for c in COLUMNS if c.key == "best_accuracy")
    assert col.title == "Best acc" and "Best acc" in SUMMARY_COLUMNS
    assert _format_cell("percent", 0.9642) == format_percent(0.9642) == "96.4 %"
