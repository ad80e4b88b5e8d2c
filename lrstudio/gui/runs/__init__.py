"""The runs table: every run of the open database (``panel``: the filter box, actions and view over
a store; ``model``: the table and sort/filter models)."""

from lrstudio.gui.runs.model import COLUMN_INDEX, COLUMNS, STATUS_COLORS, display_text
from lrstudio.gui.runs.panel import RunsPanel

__all__ = ["COLUMNS", "COLUMN_INDEX", "STATUS_COLORS", "RunsPanel", "display_text"]
