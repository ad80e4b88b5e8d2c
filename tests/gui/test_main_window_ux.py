"""The whole window as a new user meets it: menus that list every page and feature with shortcuts
that do not clash, and pages that fit a 1366x768 screen (the UX pass of session 3)."""

from __future__ import annotations

from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QMenu


def _menu_actions(window) -> dict[str, list[QAction]]:
    menus: dict[str, list[QAction]] = {}
    for top in window.menuBar().actions():
        menu = top.menu()
        assert isinstance(menu, QMenu)
        menus[top.text().replace("&", "")] = [a for a in menu.actions() if not a.isSeparator()]
    return menus


def test_view_menu_opens_every_tab_with_its_own_shortcut(qtbot, window):
    """Playground and Sweeps were tabs with no View entry: Ctrl+1/Ctrl+2 reached Train and Compare only."""
    view = {a.text().replace("&", ""): a for a in _menu_actions(window)["View"]}
    for index in range(window.tabs.count()):
        title = window.tabs.tabText(index).replace("&", "")
        act = view.get(f"{title} tab")
        assert act is not None, f"the View menu has no entry for the {title} tab: {sorted(view)}"
        assert act.shortcut() == QKeySequence(f"Ctrl+{index + 1}")
        window.tabs.setCurrentIndex(0 if index else 1)
        act.trigger()
        assert window.tabs.currentIndex() == index


def test_run_menu_lists_find_lr_with_a_shortcut(qtbot, window):
    run = {a.text().replace("&", ""): a for a in _menu_actions(window)["Run"]}
    assert "Find LR…" in run
    assert not run["Find LR…"].shortcut().isEmpty()


def test_no_two_window_shortcuts_clash(qtbot, window):
    """Every shortcut of the menus, the toolbar and the runs panel is bound once."""
    seen: dict[str, str] = {}
    acts = [a for acts in _menu_actions(window).values() for a in acts] + window.runs_panel.actions()
    for act in acts:
        for key in act.shortcuts():
            text = key.toString()
            other = seen.setdefault(text, act.text())
            assert other == act.text(), f"{text} is bound to both {other!r} and {act.text()!r}"
    assert len(seen) >= 10
