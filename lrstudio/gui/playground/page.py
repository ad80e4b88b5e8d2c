"""The Playground tab's page: a light shell that builds the view the first time it is shown.

Like the Compare tab (``gui/compare/page.py``): the main window creates this page at start-up,
and :class:`~lrstudio.gui.playground.view.PlaygroundView` (pyqtgraph items, and torch through the
service on its first computation) is built only when the user opens the tab
(``tests/gui/test_main_window.py::test_the_window_module_imports_no_plotting_library``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QVBoxLayout, QWidget

if TYPE_CHECKING:
    from lrstudio.gui.playground.view import PlaygroundView

__all__ = ["PlaygroundPage"]


class PlaygroundPage(QWidget):
    """The Playground tab; :attr:`view` builds the real widgets on first use."""

    runs_saved = Signal(object)  # list[int]: ids of the runs just stored

    def __init__(self, store: Any = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.store = store
        self._view: PlaygroundView | None = None
        self._layout = QVBoxLayout(self)
        self._layout.setContentsMargins(0, 0, 0, 0)

    @property
    def built(self) -> bool:
        return self._view is not None

    @property
    def view(self) -> PlaygroundView:
        """The view, built (with the momentum preset shown) the first time it is asked for."""
        if self._view is None:
            from lrstudio.gui.playground.view import PlaygroundView

            self._view = PlaygroundView(self.store, self)
            self._view.runs_saved.connect(self.runs_saved)
            self._layout.addWidget(self._view)
        return self._view

    def set_store(self, store: Any) -> None:
        self.store = store
        if self._view is not None:
            self._view.set_store(store)

    def showEvent(self, event: Any) -> None:
        self.view  # noqa: B018 (builds it)
        super().showEvent(event)
