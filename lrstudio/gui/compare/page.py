"""The Compare tab's page: builds the :class:`CompareWidget` the first time it is needed and decides
which compared runs to re-read when something changed.

Life cycle: the page starts empty (building the compare view imports pyqtgraph's plot machinery,
kept off the start-up path, ``bench/bench_gui.py``). :attr:`ComparePage.view` creates it on first
use; until then every reload request is a no-op, because nothing is shown. The main window tells
the page what happened (the app's own run grew or ended, another process wrote, Refresh, runs were
deleted) and the page turns that into the view's ``invalidate``/``invalidate_soon`` calls.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from PySide6.QtWidgets import QVBoxLayout, QWidget

from lrstudio.core.runs import RunStore

if TYPE_CHECKING:  # the view imports pyqtgraph's plot machinery: only when first shown
    from lrstudio.gui.compare.grouping import GroupView
    from lrstudio.gui.compare.range_tests import RangeTestOverlay
    from lrstudio.gui.compare.widget import CompareWidget


class ComparePage(QWidget):
    """The Compare tab: a lazily built :class:`CompareWidget` and the rules for reloading it.

    ``is_finished(run_id)`` answers from the runs table whether a run has ended (its points no
    longer grow); runs that have not, or that changed, are reloaded on a database change.
    """

    def __init__(self, store: RunStore | None, is_finished: Callable[[int], bool],
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        QVBoxLayout(self).setContentsMargins(0, 0, 0, 0)
        self._store = store
        self._is_finished = is_finished
        self._view: CompareWidget | None = None
        self.range_tests: RangeTestOverlay | None = None  # the view's "LR range tests" tab (issue 12)
        self.groups: GroupView | None = None  # the view's "Groups" tab (issue 13)

    @property
    def built(self) -> bool:
        return self._view is not None

    @property
    def view(self) -> CompareWidget:
        """The compare view, created on first use."""
        if self._view is None:
            from lrstudio.gui.compare.widget import CompareWidget

            self._view = CompareWidget(self._store)
            self.layout().addWidget(self._view)
            from lrstudio.gui.compare import range_tests

            self.range_tests = range_tests.attach(self._view)  # issue 12: range tests, loss against LR
            from lrstudio.gui.compare import grouping

            self.groups = grouping.attach(self._view)  # issue 13: groups of runs, mean and band
        return self._view

    def set_store(self, store: RunStore) -> None:
        self._store = store
        if self._view is not None:
            if self.range_tests is not None:
                self.range_tests.set_store(store)
            if self.groups is not None:
                self.groups.set_store(store)
            self._view.set_store(store)
            self._view.show_runs([])

    def show_runs(self, run_ids: list[int]) -> None:
        """Show ``run_ids``; an empty selection does not build the view."""
        if run_ids or self._view is not None:
            self.view.show_runs(list(run_ids))

    def run_grew(self, run_id: int) -> None:
        """The app's own run recorded more points (throttled in the view)."""
        if self._view is not None:
            self._view.invalidate_soon([run_id])

    def run_ended(self, run_id: int) -> None:
        if self._view is not None:
            self._view.invalidate([run_id])

    def refresh(self) -> None:
        """Refresh re-reads the compared runs' points too."""
        if self._view is not None:
            self._view.invalidate()

    def database_changed(self, changed: set[int], own_run: int | None) -> None:
        """Reload compared runs that changed or still grow.

        Their points are not in the table's change set (a recorder refreshes the run row only every
        few seconds). ``own_run``, the app's own run in progress, is reloaded on its progress already.
        """
        if self._view is None:
            return
        live = [i for i in self._view.run_ids()
                if i != own_run and (i in changed or not self._is_finished(i))]
        if live:
            self._view.invalidate_soon(live)  # at most 1/s, and not while Compare is hidden
