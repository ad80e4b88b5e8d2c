"""The Sweeps tab's page: a light shell that builds the panel the first time it is shown.

Like the Compare and Playground tabs: the main window creates this page at start-up, and
:class:`~lrstudio.gui.sweeps.panel.SweepPanel` (pyqtgraph plots) is built only when the user opens
the tab, so opening the window imports no plotting library. The page owns the
:class:`~lrstudio.gui.sweeps.runner.SweepController` (a sweep keeps running while the tab is
hidden) and forwards the window's events (the form changed, the database changed, another
database was opened) to the panel once it exists.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QVBoxLayout, QWidget

from lrstudio.core.config import RunConfig
from lrstudio.gui.sweeps.runner import SweepController

if TYPE_CHECKING:
    from lrstudio.gui.sweeps.panel import SweepPanel

__all__ = ["SweepPage"]


def _start_forkserver() -> None:
    from lrstudio.services import sweep

    sweep.start_forkserver()


class SweepPage(QWidget):
    """The Sweeps tab; :attr:`panel` builds the real widgets on first use."""

    def __init__(self, store: Any, db_url: str, base_config: Callable[[], RunConfig | None],
                 apply_config: Callable[[RunConfig], bool], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.store = store
        self.controller = SweepController(db_url, self)
        self._base_config = base_config
        self._apply_config = apply_config
        self._panel: SweepPanel | None = None
        self._layout = QVBoxLayout(self)
        self._layout.setContentsMargins(0, 0, 0, 0)

    @property
    def built(self) -> bool:
        return self._panel is not None

    @property
    def panel(self) -> SweepPanel:
        if self._panel is None:
            from lrstudio.gui.sweeps.panel import SweepPanel

            self._panel = SweepPanel(self.store, self.controller, self._base_config, self._apply_config, self)
            self._layout.addWidget(self._panel)
            # The workers' forkserver imports torch and warms up (2-4 s) in its own process while
            # the user sets the sweep up; after the tab's first paint (a fork and an exec).
            QTimer.singleShot(0, _start_forkserver)
        return self._panel

    def set_store(self, store: Any, db_url: str) -> None:
        self.store = store
        self.controller.db_url = db_url
        if self._panel is not None:
            self._panel.set_store(store)

    def config_changed(self) -> None:
        """The Configure form changed: offer its parameters (only once the panel exists)."""
        if self._panel is not None:
            self._panel.set_base(self._base_config())

    def database_changed(self) -> None:
        if self._panel is not None:
            self._panel.database_changed()

    def is_running(self) -> bool:
        return self.controller.is_running()

    def shutdown(self) -> bool:
        """Cancel a running sweep and wait for it (window closing)."""
        return self.controller.shutdown()

    def showEvent(self, event: Any) -> None:
        self.panel  # noqa: B018 (builds it)
        super().showEvent(event)
