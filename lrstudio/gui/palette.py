"""Run colours: one colour per run for the whole session, derived from the run's id.

A colour that follows the selection order changes whenever a run is added to or removed from a
comparison, so the eye loses track of a run; a colour derived from the id does not. The palette
holds 20 colours: matplotlib's ``tab10`` (Tableau 10) first, then ten more picked greedily from a
6×6×6 RGB grid to be as far as possible (CIELAB ΔE76) from every colour already chosen, keeping
lightness L* between 25 and 72 so that each shows on the white plot background. Any 20
consecutive run ids get 20 different colours, at least ΔE76 ≈ 27 apart
(``tests/gui/test_compare_palette.py``).
"""

from __future__ import annotations

from PySide6.QtGui import QColor

__all__ = ["PALETTE", "run_color", "run_color_hex"]

PALETTE: tuple[str, ...] = (
    # matplotlib tab10
    "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
    "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf",
    # greedy farthest-point additions (see the module docstring)
    "#0000ff", "#ff00ff", "#0066ff", "#336633", "#996600",
    "#660099", "#ff0099", "#cc66ff", "#990066", "#00cc00",
)


def run_color_hex(run_id: int) -> str:
    """``#rrggbb`` of the run with this id (run ids start at 1: run 1 gets the first colour)."""
    return PALETTE[(int(run_id) - 1) % len(PALETTE)]


def run_color(run_id: int) -> QColor:
    """The run's colour as a ``QColor`` (a new object: callers may change its alpha)."""
    return QColor(run_color_hex(run_id))
