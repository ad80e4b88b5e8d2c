"""The runs table: every run of the open database, sortable, filterable, editable.

``RunsTableModel`` (:mod:`lrstudio.gui.runs.model`) holds a list of ``RunInfo`` dataclasses (never
ORM rows) and shows one row per run. ``RunsPanel`` puts a filter box, a row of actions and the table together and talks
to the store: it reloads everything on :meth:`RunsPanel.refresh`, and updates one row on
:meth:`RunsPanel.refresh_run`, which the main window calls about once a second while a run is live
(one ``get_run`` query and one ``dataChanged`` signal, so the table never resets under the user).

Dialogs go through the module functions :func:`confirm` and :func:`ask_text` so that tests can
replace them with ``monkeypatch``; a failed store call is shown by the GUI's one error dialog,
:func:`lrstudio.gui.dialogs.errors.show_error`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import partial
from pathlib import Path

from PySide6.QtCore import QItemSelection, QItemSelectionModel, QModelIndex, QPoint, Qt, QUrl, Signal
from PySide6.QtGui import QAction, QDesktopServices, QKeySequence
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QHeaderView,
    QInputDialog,
    QLabel,
    QLineEdit,
    QMenu,
    QMessageBox,
    QPlainTextEdit,
    QTableView,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from lrstudio.core.errors import LrstudioError
from lrstudio.core.runs import RunInfo, RunStore
from lrstudio.gui.dialogs import errors
from lrstudio.gui.runs.model import (
    COLUMN_INDEX,
    COLUMNS,
    KIND_TITLES,
    NAME_COLUMN,
    RUN_ID_ROLE,
    STATUS_COLUMN,
    RunsSortFilterProxyModel,
    RunsTableModel,
    display_text,
)
from lrstudio.paths import sqlite_path

__all__ = ["SYNC_NEWEST", "RunsPanel", "ask_text", "confirm", "database_folder"]

_ROOT = QModelIndex()
# Newest runs a partial sync (RunsPanel.sync(full=False)) re-reads to find new ones.
SYNC_NEWEST = 50


# -- dialogs (module level so tests can replace them) -------------------------------------------
def confirm(parent: QWidget | None, title: str, text: str) -> bool:
    """Ask a yes/no question; ``True`` on Yes."""
    answer = QMessageBox.question(
        parent, title, text,
        QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
        QMessageBox.StandardButton.No,
    )
    return answer == QMessageBox.StandardButton.Yes


def ask_text(parent: QWidget | None, title: str, label: str, text: str = "",
             multiline: bool = False) -> str | None:
    """Ask for a line (or a block) of text; ``None`` when cancelled."""
    if not multiline:
        value, ok = QInputDialog.getText(parent, title, label, QLineEdit.EchoMode.Normal, text)
        return value if ok else None
    dialog = QDialog(parent)
    dialog.setWindowTitle(title)
    layout = QVBoxLayout(dialog)
    layout.addWidget(QLabel(label))
    edit = QPlainTextEdit(text)
    layout.addWidget(edit)
    buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
    buttons.accepted.connect(dialog.accept)
    buttons.rejected.connect(dialog.reject)
    layout.addWidget(buttons)
    dialog.resize(420, 260)
    return edit.toPlainText() if dialog.exec() == QDialog.DialogCode.Accepted else None


def database_folder(store: RunStore | None) -> Path | None:
    """Folder of the store's SQLite file, or ``None`` when the database is not a local file
    (:func:`lrstudio.paths.sqlite_path` says which URLs name one)."""
    path = sqlite_path(store.url) if store is not None else None
    return path.expanduser().resolve().parent if path is not None else None


# -- the panel -----------------------------------------------------------------------------------
class RunsPanel(QWidget):
    """Filter box, actions and the runs table over a store.

    Signals
    -------
    selection_changed(list)
        Ids of the selected runs, in table order (multi-select).
    duplicate_requested(object)
        A ``RunConfig`` copied from the current run, for the configure form.
    runs_deleted(list)
        Ids of runs deleted from the store.
    """

    selection_changed = Signal(list)
    duplicate_requested = Signal(object)
    runs_deleted = Signal(list)

    def __init__(self, store: RunStore | None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._store = store
        self._last_selection: list[int] = []
        self._columns_fitted = False

        self.model = RunsTableModel(parent=self)
        self.proxy = RunsSortFilterProxyModel(self)
        self.proxy.setSourceModel(self.model)

        self.filter_edit = QLineEdit()
        self.filter_edit.setPlaceholderText("Filter: name, tag, model, optimizer, schedule, status")
        self.filter_edit.setClearButtonEnabled(True)
        self.filter_edit.textChanged.connect(self._on_filter_changed)

        self.view = QTableView()
        self.view.setModel(self.proxy)
        self.view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.view.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.view.setSortingEnabled(True)
        self.view.sortByColumn(COLUMN_INDEX["created_at"], Qt.SortOrder.DescendingOrder)
        self.view.setEditTriggers(QAbstractItemView.EditTrigger.DoubleClicked
                                  | QAbstractItemView.EditTrigger.EditKeyPressed)
        self.view.setAlternatingRowColors(True)
        self.view.setWordWrap(False)
        self.view.verticalHeader().setVisible(False)
        self.view.verticalHeader().setDefaultSectionSize(self.view.fontMetrics().height() + 8)
        header = self.view.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setStretchLastSection(True)
        header.setHighlightSections(False)
        self.view.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.view.customContextMenuRequested.connect(self._on_context_menu)
        self.view.selectionModel().selectionChanged.connect(self._on_selection_changed)
        self.model.rename_requested.connect(self._on_rename_requested)

        self.action_refresh = self._make_action("Refresh", "Reload the runs from the database",
                                                self.refresh, QKeySequence.StandardKey.Refresh)
        self.action_rename = self._make_action("Rename…", "Rename the selected run", self.rename_current,
                                               QKeySequence(Qt.Key.Key_F2))
        self.action_tags = self._make_action("Tags…", "Edit the tags of the selected runs", self.edit_tags)
        self.action_notes = self._make_action("Notes…", "Edit the notes of the selected run", self.edit_notes)
        self.action_duplicate = self._make_action("Duplicate config", "Copy this run's configuration into "
                                                  "the form", self.duplicate_current)
        self.action_delete = self._make_action("Delete…", "Delete the selected runs and their points",
                                               self.delete_selected, QKeySequence.StandardKey.Delete)
        self.action_open_folder = self._make_action("Open folder", "Show the database file's folder",
                                                    self.open_database_folder)

        buttons = QHBoxLayout()
        buttons.setContentsMargins(0, 0, 0, 0)
        buttons.setSpacing(2)
        buttons.addWidget(self.filter_edit, 1)
        self.buttons: dict[str, QToolButton] = {}
        for name, action in (("refresh", self.action_refresh), ("rename", self.action_rename),
                             ("tags", self.action_tags), ("notes", self.action_notes),
                             ("duplicate", self.action_duplicate), ("delete", self.action_delete),
                             ("open_folder", self.action_open_folder)):
            button = QToolButton()
            button.setDefaultAction(action)
            button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
            buttons.addWidget(button)
            self.buttons[name] = button

        self.count_label = QLabel()
        self.count_label.setObjectName("runsCountLabel")

        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.setSpacing(4)
        layout.addLayout(buttons)
        layout.addWidget(self.view, 1)
        layout.addWidget(self.count_label)

        self._update_actions()
        self.refresh()

    def _make_action(self, text: str, tip: str, slot: Callable[[], object],
                     shortcut: QKeySequence | QKeySequence.StandardKey | None = None) -> QAction:
        action = QAction(text, self)
        action.setToolTip(tip)
        action.setStatusTip(tip)
        if shortcut is not None:
            action.setShortcut(shortcut)
            action.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            self.addAction(action)
        action.triggered.connect(lambda _checked=False: slot())
        return action

    # -- store ---------------------------------------------------------------------------------
    def store(self) -> RunStore | None:
        return self._store

    def set_store(self, store: RunStore | None) -> None:
        self._store = store
        self.model.set_runs([])  # another database: none of the rows (or ids) carry over
        self.refresh()

    @property
    def _db(self) -> RunStore:
        """The store, for the actions (disabled while there is none)."""
        assert self._store is not None, "no database is open"
        return self._store

    def refresh(self) -> None:
        """Reload every run from the store, keeping the selection where the runs still exist."""
        self.sync(quiet=False)

    def sync(self, quiet: bool = True, full: bool = True) -> set[int] | None:
        """Bring the table up to date with the store in place (selection, scroll position and
        the user's sorting stay); returns the ids of runs that are new, changed or gone.

        The main window calls this when the database changed (another process wrote to it).
        ``full=False`` re-reads only the runs that can change by themselves, the unfinished ones
        and the newest :data:`SYNC_NEWEST` (new runs), in one or two small queries instead of the
        whole table (1,000 runs: ~25 ms); a rename, tag or deletion of a finished run by another
        process needs a full sync. ``quiet``: a database error is not shown (the next poll tries
        again) and returns None.
        """
        checked: list[int] | None = None
        if self._store is None:
            runs: list[RunInfo] = []
        else:
            try:
                if full:
                    runs = self._store.list_runs()
                else:
                    checked = [r.id for r in self.model.runs() if not r.is_finished]
                    runs = self._store.list_runs(limit=SYNC_NEWEST)
                    if checked:
                        runs += self._store.list_runs(run_ids=checked)
            except LrstudioError as exc:
                if quiet:
                    return None
                errors.show_error(self, exc, title="Cannot list runs")
                runs, checked = [], None
        changed = self.model.merge_runs(runs, checked)
        if runs and not self._columns_fitted:
            self._fit_columns()
        self._update_count()
        if changed:
            self._update_actions()
            self._emit_selection_if_changed()
        return changed

    def refresh_run(self, run_id: int) -> None:
        """Re-read one run (cheap; for a live run about once a second)."""
        if self._store is None:
            return
        try:
            info = self._store.get_run(run_id)
        except LrstudioError:
            # Gone (deleted elsewhere) or not readable right now: drop the row if it was deleted.
            info = None
        if info is None:
            if self.model.row_of(run_id) >= 0:
                self.model.remove_runs([run_id])
                self._update_count()
                self._emit_selection_if_changed()
            return
        is_new = self.model.row_of(run_id) < 0
        self.model.update_run(info)
        if is_new:
            self._update_count()

    def _fit_columns(self) -> None:
        """Size the columns to their contents once (the user's widths win afterwards)."""
        self._columns_fitted = True
        self.view.resizeColumnsToContents()
        header = self.view.horizontalHeader()
        for col in range(len(COLUMNS)):
            width = header.sectionSize(col) + 12
            header.resizeSection(col, min(width, 240 if col == NAME_COLUMN else 160))
        # A run that diverges later reads "diverged @ 12345": leave room for it from the start.
        widest_status = self.view.fontMetrics().horizontalAdvance("diverged @ 99999") + 16
        header.resizeSection(STATUS_COLUMN, max(header.sectionSize(STATUS_COLUMN), widest_status))
        # Likewise every kind (the first runs are often all training runs: "LR range test" came later).
        widest_kind = max(self.view.fontMetrics().horizontalAdvance(t) for t in KIND_TITLES.values()) + 16
        kind = COLUMN_INDEX["kind"]
        header.resizeSection(kind, max(header.sectionSize(kind), widest_kind))
        # The name is read first: room for a usual one (~28 characters) even when the first were short.
        usual_name = self.view.fontMetrics().horizontalAdvance("cnn digits one-cycle (#1234)") + 16
        header.resizeSection(NAME_COLUMN, max(header.sectionSize(NAME_COLUMN), usual_name))

    # -- selection -----------------------------------------------------------------------------
    def selected_run_ids(self) -> list[int]:
        """Ids of the selected runs, in the order the table shows them."""
        rows = sorted({i.row() for i in self.view.selectionModel().selectedRows()})
        return [self.proxy.index(r, 0).data(RUN_ID_ROLE) for r in rows]

    def current_run_id(self) -> int | None:
        index = self.view.currentIndex()
        if index.isValid() and self.view.selectionModel().isRowSelected(index.row(), _ROOT):
            return index.data(RUN_ID_ROLE)
        ids = self.selected_run_ids()
        return ids[0] if ids else None

    def select_runs(self, run_ids: Sequence[int]) -> None:
        """Select exactly these runs (those that are visible through the filter)."""
        selection = QItemSelection()
        first: QModelIndex | None = None
        for run_id in run_ids:
            row = self.model.row_of(run_id)
            if row < 0:
                continue
            index = self.proxy.mapFromSource(self.model.index(row, 0))
            if not index.isValid():
                continue
            selection.select(index, index.siblingAtColumn(len(COLUMNS) - 1))
            first = first or index
        flags = QItemSelectionModel.SelectionFlag.ClearAndSelect | QItemSelectionModel.SelectionFlag.Rows
        sm = self.view.selectionModel()
        sm.select(selection, flags)
        if first is not None:
            sm.setCurrentIndex(first, QItemSelectionModel.SelectionFlag.NoUpdate)

    def _on_selection_changed(self, *_args: object) -> None:
        self._update_actions()
        self._emit_selection_if_changed()

    def _emit_selection_if_changed(self) -> None:
        ids = self.selected_run_ids()
        if ids != self._last_selection:
            self._last_selection = ids
            self.selection_changed.emit(ids)

    def _on_filter_changed(self, text: str) -> None:
        self.proxy.set_filter_text(text)
        self._update_count()
        self._emit_selection_if_changed()

    def _update_actions(self) -> None:
        n = len(self.view.selectionModel().selectedRows())
        has_store = self._store is not None
        self.action_rename.setEnabled(has_store and n >= 1)
        self.action_tags.setEnabled(has_store and n >= 1)
        self.action_notes.setEnabled(has_store and n >= 1)
        self.action_duplicate.setEnabled(has_store and n >= 1)
        self.action_delete.setEnabled(has_store and n >= 1)
        self.action_refresh.setEnabled(has_store)
        self.action_open_folder.setEnabled(has_store and database_folder(self._store) is not None)

    def _update_count(self) -> None:
        total = self.model.rowCount()
        shown = self.proxy.rowCount()
        noun = "run" if total == 1 else "runs"
        self.count_label.setText(f"{total} {noun}" if shown == total else f"{shown} of {total} {noun}")

    # -- actions -------------------------------------------------------------------------------
    def rename_current(self) -> None:
        """Edit the name cell of the current run in place."""
        run_id = self.current_run_id()
        if run_id is None:
            return
        index = self.proxy.mapFromSource(self.model.index(self.model.row_of(run_id), NAME_COLUMN))
        self.view.setCurrentIndex(index)
        self.view.edit(index)

    def _on_rename_requested(self, run_id: int, name: str) -> None:
        if self._apply(lambda: self._db.rename_run(run_id, name), "Cannot rename the run"):
            self.refresh_run(run_id)

    def edit_tags(self) -> None:
        ids = self.selected_run_ids()
        if not ids:
            return
        runs = [self.model.run_at(self.model.row_of(i)) for i in ids]
        common = [t for t in runs[0].tags if all(t in r.tags for r in runs[1:])]
        label = "Tags (comma-separated)" + (f" for {len(ids)} runs" if len(ids) > 1 else "")
        text = ask_text(self, "Tags", label, ", ".join(common))
        if text is None:
            return
        tags = list(dict.fromkeys(t.strip() for t in text.split(",") if t.strip()))
        for run_id in ids:
            if not self._apply(partial(self._db.set_tags, run_id, tags), "Cannot set tags"):
                break
            self.refresh_run(run_id)

    def edit_notes(self) -> None:
        run_id = self.current_run_id()
        if run_id is None:
            return
        run = self.model.run_at(self.model.row_of(run_id))
        text = ask_text(self, "Notes", f"Notes for {display_text(run.name)}", getattr(run, "notes", "") or "",
                        multiline=True)
        if text is None:
            return
        if self._apply(lambda: self._db.set_notes(run_id, text), "Cannot save the notes"):
            self.refresh_run(run_id)

    def duplicate_current(self) -> None:
        run_id = self.current_run_id()
        if run_id is None:
            return
        try:
            config = self._db.duplicate_config(run_id)
        except LrstudioError as exc:
            errors.show_error(self, exc, title="Cannot copy the configuration")
            return
        self.duplicate_requested.emit(config)

    def delete_selected(self) -> None:
        ids = self.selected_run_ids()
        if not ids:
            return
        names = [display_text(self.model.run_at(self.model.row_of(i)).name) for i in ids]
        shown = ", ".join(names[:5]) + (f" and {len(names) - 5} more" if len(names) > 5 else "")
        question = (f"Delete {len(ids)} runs ({shown}) and all their points?" if len(ids) > 1
                    else f"Delete run “{shown}” and all its points?")
        if not confirm(self, "Delete runs", question + "\nThis cannot be undone."):
            return
        deleted = []
        for run_id in ids:
            if not self._apply(partial(self._db.delete_run, run_id), "Cannot delete the run"):
                break
            deleted.append(run_id)
        if deleted:
            self.model.remove_runs(deleted)
            self._update_count()
            self._emit_selection_if_changed()
            self.runs_deleted.emit(deleted)

    def open_database_folder(self) -> None:
        folder = database_folder(self._store)
        if folder is None:
            QMessageBox.information(self, "Open folder", "This database is not a local file.")
            return
        QDesktopServices.openUrl(QUrl.fromLocalFile(str(folder)))

    def _apply(self, fn: Callable[[], object], title: str) -> bool:
        try:
            fn()
        except LrstudioError as exc:
            errors.show_error(self, exc, title=title)
            return False
        return True

    def _on_context_menu(self, pos: QPoint) -> None:
        menu = QMenu(self)
        for action in (self.action_rename, self.action_tags, self.action_notes, self.action_duplicate):
            menu.addAction(action)
        menu.addSeparator()
        menu.addAction(self.action_delete)
        menu.addSeparator()
        menu.addAction(self.action_refresh)
        menu.addAction(self.action_open_folder)
        menu.popup(self.view.viewport().mapToGlobal(pos))
