"""Styles live in resources/style.qss (STYLE.md habit 10): every role the configure widgets set has a rule."""

from __future__ import annotations

import re
from pathlib import Path

import lrstudio.gui
from lrstudio.gui.app import load_style

MODULES = (
    "configure/panel.py", "configure/schedule_editor.py", "configure/param_form.py", "configure/preview.py",
    "plots/live.py", "plots/factory.py", "plots/items.py", "plots/toolbar.py", "plots/train_tab.py",
    "configure/dock.py", "main_window.py", "database.py", "run_status.py",
)


def test_every_role_set_by_the_configure_widgets_is_styled():
    qss = load_style()
    here = Path(lrstudio.gui.__file__).parent
    roles: set[str] = set()
    for name in MODULES:
        source = (here / name).read_text(encoding="utf-8")
        roles |= set(re.findall(r'setProperty\("role", "([\w-]+)"\)', source))
        for pair in re.findall(r'role = "([\w-]+)" if .* else "([\w-]+)"', source):  # roles that change
            roles |= set(pair)
        assert not re.search(r'setStyleSheet\("[^"]*#[0-9a-fA-F]{3,6}', source), f"colour literal in {name}"
    assert {"warning", "error", "hint", "problem", "part-title"} <= roles
    missing = sorted(r for r in roles if f'[role="{r}"]' not in qss)
    assert not missing, f"no rule in style.qss for role(s) {missing}"
    assert '[invalid="true"]' in qss  # ParamForm marks a bad field with the property "invalid"
