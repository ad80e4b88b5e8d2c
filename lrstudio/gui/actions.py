"""The window's actions in one place: their texts, icons, shortcuts and tooltips.

The main window connects them to its slots and puts them in menus, the toolbar and the Configure
dock's buttons; what an action *is* (its words and keys) is written here once.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QObject, Qt
from PySide6.QtGui import QAction, QIcon, QKeySequence
from PySide6.QtWidgets import QStyle, QWidget

__all__ = ["action", "app_icon", "run_actions"]


def action(parent: QObject, text: str, slot: Callable[[], object],
           shortcut: QKeySequence.StandardKey | None = None) -> QAction:
    """A plain menu action that calls ``slot``."""
    act = QAction(text, parent)
    if shortcut is not None:
        act.setShortcut(QKeySequence(shortcut))
    act.triggered.connect(slot)
    return act


def run_actions(parent: QWidget, start: Callable[[], object], stop: Callable[[], object]) -> tuple[QAction, QAction]:
    """Start (Ctrl+Enter) and Stop (Esc), active wherever the focus is."""
    style = parent.style()
    act_start = QAction(style.standardIcon(QStyle.StandardPixmap.SP_MediaPlay), "&Start", parent)
    act_start.setShortcuts([QKeySequence("Ctrl+Return"), QKeySequence("Ctrl+Enter")])
    act_start.setToolTip("Start training with the configuration on the left (Ctrl+Enter)")
    act_stop = QAction(style.standardIcon(QStyle.StandardPixmap.SP_MediaStop), "S&top", parent)
    act_stop.setShortcut(QKeySequence(Qt.Key.Key_Escape))
    act_stop.setToolTip("Stop the run after the current step; what was logged is kept (Esc)")
    for act, slot in ((act_start, start), (act_stop, stop)):
        act.setShortcutContext(Qt.ShortcutContext.ApplicationShortcut)
        act.triggered.connect(slot)
    return act_start, act_stop


def app_icon() -> QIcon:
    """lrstudio's icon (an empty icon when the shipped file is missing)."""
    from lrstudio.paths import resources_dir

    try:
        path = resources_dir() / "icons" / "lrstudio.svg"
    except FileNotFoundError:
        return QIcon()
    return QIcon(str(path)) if path.exists() else QIcon()
