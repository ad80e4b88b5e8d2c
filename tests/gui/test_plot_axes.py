"""The app's log axis (gui/plots/factory.LogTickAxis): labels never overprint, never a lone tick."""

from __future__ import annotations

import math

import pytest
from PySide6.QtGui import QFontMetricsF

from lrstudio.gui.plots.factory import LogTickAxis, log_label, make_plot

pytestmark = pytest.mark.gui


def _labels(axis, lo, hi, size):
    """(position in px along the axis, text) of every labelled tick for log10 range lo..hi."""
    out = []
    for spacing, values in axis.tickValues(lo, hi, size):
        for v, text in zip(values, axis.tickStrings(values, 1.0, spacing), strict=True):
            if text:
                out.append(((v - lo) / (hi - lo) * size, text))
    return sorted(out)


@pytest.mark.parametrize(("orientation", "lo", "hi", "size"), [
    ("left", -1.0, 1.05, 300.0),   # the Train loss plot at 1366x768: 0.1 .. 11 in ~300 px ("9 8 7 6" overprinted)
    ("left", -1.0, 0.3, 170.0),    # a sweep's live curves
    ("bottom", -3.5, -0.5, 420.0),  # a sweep's LR axis: "10⁻³ 2·10⁻³ 3·10⁻³ ..." piled up
    ("bottom", -6.0, 1.0, 250.0),
    ("left", -12.0, 3.0, 120.0),   # a diverged run: many decades in little room
])
def test_log_labels_do_not_overlap(qapp, orientation, lo, hi, size):
    axis = LogTickAxis(orientation)
    axis.setLogMode(True)
    fm = QFontMetricsF(axis.font())
    labels = _labels(axis, lo, hi, size)
    assert len(labels) >= 2, labels
    for (p1, t1), (p2, t2) in zip(labels, labels[1:]):
        need = fm.height() * 0.8 if orientation == "left" else (fm.horizontalAdvance(t1) + fm.horizontalAdvance(t2)) / 2
        assert p2 - p1 >= need, (t1, t2, p2 - p1, need)


def test_a_range_inside_one_decade_gets_several_labels(qapp):
    # Groups with log y over a loss of 0.52..0.68 showed one tick ("0.6"), nothing to read a value by.
    axis = LogTickAxis("left")
    axis.setLogMode(True)
    labels = _labels(axis, math.log10(0.52), math.log10(0.68), 250.0)
    assert len(labels) >= 3, labels
    assert all(0.52 <= float(t) <= 0.68 for _p, t in labels)


def test_log_label_texts():
    assert [log_label(v) for v in (0.3, 20.0, 1e-4, 2e-5, 1e5, 0.55)] == ["0.3", "20", "0.0001", "2·10⁻⁵", "10⁵",
                                                                         "0.55"]


def test_every_plot_of_the_app_gets_the_log_axis(qapp):
    plot = make_plot(title="t")
    assert isinstance(plot.getPlotItem().getAxis("left"), LogTickAxis)
    assert isinstance(plot.getPlotItem().getAxis("bottom"), LogTickAxis)
