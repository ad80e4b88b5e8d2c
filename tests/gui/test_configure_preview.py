"""Issue 9: the preview's legend does not cover the curve when there is nothing to tell apart."""

from __future__ import annotations

from lrstudio.gui.configure.preview import SchedulePreview

ONE_CYCLE = {"name": "one_cycle", "params": {"total_steps": 400}}  # rises to the top right


def test_a_single_curve_has_no_legend_over_it(qtbot):
    w = SchedulePreview()
    qtbot.addWidget(w)
    w.resize(400, 260)
    w.show()
    w.set_schedule(ONE_CYCLE, 0.1, 400)
    w.flush()
    assert not w.legend.isVisible()
    assert w.info_label.text().startswith("one_cycle lr=0.1 · 400 steps")
    w.pin_current()
    assert w.legend.isVisible() and len(w.legend.items) == 2  # now there are curves to tell apart
    w.clear_pins()
    assert not w.legend.isVisible()
