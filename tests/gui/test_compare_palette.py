"""Run colours: derived from the run id, distinct for 20 runs, stable when the selection changes."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from _fixtures_data import add_run

from lrstudio.core.config import RunConfig
from lrstudio.gui.compare.widget import CompareWidget
from lrstudio.gui.palette import run_color, run_color_hex

pytestmark = pytest.mark.gui


def _lab(hex_color: str) -> np.ndarray:
    """CIELAB (D65) of an sRGB colour."""
    rgb = np.array([int(hex_color[i:i + 2], 16) for i in (1, 3, 5)]) / 255.0
    rgb = np.where(rgb <= 0.04045, rgb / 12.92, ((rgb + 0.055) / 1.055) ** 2.4)
    m = np.array([[0.4124, 0.3576, 0.1805], [0.2126, 0.7152, 0.0722], [0.0193, 0.1192, 0.9505]])
    xyz = m @ rgb / np.array([0.95047, 1.0, 1.08883])
    f = np.where(xyz > 0.008856, np.cbrt(xyz), 7.787 * xyz + 16 / 116)
    return np.array([116 * f[1] - 16, 500 * (f[0] - f[1]), 200 * (f[1] - f[2])])


@pytest.mark.parametrize("first", [1, 7, 20, 1001])
def test_twenty_consecutive_runs_get_distinct_colours(first):
    colours = [run_color_hex(i) for i in range(first, first + 20)]
    labs = [_lab(c) for c in colours]
    closest = min(np.linalg.norm(a - b) for a, b in itertools.combinations(labs, 2))
    assert closest > 25.0, colours  # ΔE76: 2.3 is "just noticeable", > 25 reads as another colour
    # and each shows on the white background of the plots
    assert all(np.linalg.norm(lab - _lab("#ffffff")) > 30 for lab in labs)
    assert run_color(first).name() == colours[0]


def test_a_run_keeps_its_colour_when_the_selection_changes(qtbot, store):
    ids = [add_run(store, RunConfig(lr=0.01 * (i + 1)), f"run {i}", steps=30, seed=i) for i in range(4)]
    w = CompareWidget(store)
    qtbot.addWidget(w)
    w.show_runs(ids[1:3])

    def colour(run_id: int) -> str:
        return w.curve_items(run_id)["lr"].opts["pen"].color().name()

    before = {i: colour(i) for i in ids[1:3]}
    w.show_runs([ids[0], *ids[1:3]])  # a run added in front
    assert {i: colour(i) for i in ids[1:3]} == before
    w.show_runs([ids[2]])
    assert colour(ids[2]) == before[ids[2]]
    w.show_runs([ids[3], ids[2], ids[1]])
    assert {i: colour(i) for i in ids[1:3]} == before
    assert len({colour(i) for i in ids[1:4]}) == 3
    # the tables' swatches agree with the curves
    w.views.setCurrentIndex(1)
    header = w.settings_table.horizontalHeaderItem(0)
    assert header.icon().pixmap(8, 8).toImage().pixelColor(4, 4).name() == colour(ids[3])
