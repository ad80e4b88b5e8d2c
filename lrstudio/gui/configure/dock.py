"""The Configure dock: the run configuration form (scrolled), why Start is disabled, Start and Stop;
and reading / writing a configuration file as the CLI does."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QFileDialog, QHBoxLayout, QLabel, QPushButton, QScrollArea, QVBoxLayout, QWidget

from lrstudio.core.config import RunConfig
from lrstudio.core.errors import LrstudioError
from lrstudio.gui.configure.panel import ConfigPanel
from lrstudio.gui.dialogs import errors

__all__ = ["ConfigureDock", "read_config", "write_config"]


class ConfigureDock(QWidget):
    """The form, a line that says why Start is disabled, and the Start / Stop buttons (which
    trigger the window's actions)."""

    def __init__(self, start: QAction, stop: QAction, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.config_panel = ConfigPanel()
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(self.config_panel)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        self.config_scroll = scroll
        self.start_button = _button(start, "Start", "startButton")
        self.stop_button = _button(stop, "Stop", "stopButton")
        self.start_hint = QLabel()
        self.start_hint.setObjectName("startHint")
        self.start_hint.setWordWrap(True)
        self.start_hint.setProperty("role", "start-hint")
        buttons = QHBoxLayout()
        buttons.addWidget(self.start_button, 2)
        buttons.addWidget(self.stop_button, 1)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 4)
        lay.setSpacing(4)
        lay.addWidget(scroll, 1)
        lay.addWidget(self.start_hint)
        lay.addLayout(buttons)

    def show_validity(self) -> bool:
        """Show why Start is disabled (the first problem of the form); True when the form is valid."""
        valid = self.config_panel.is_valid()
        if not valid:
            first = next(iter(self.config_panel.errors().values()), "")
            self.start_hint.setText(f"Start is disabled: {first}" if first else "Start is disabled: fix the "
                                    "marked fields.")
        self.start_hint.setVisible(not valid)
        return valid


    # -- configuration files ---------------------------------------------------------------
    def ask_load_config(self) -> str | None:
        """Ask for a file and load it into the form; the path when it was loaded."""
        path, _ = QFileDialog.getOpenFileName(self, "Load configuration", "", "JSON (*.json);;All files (*)")
        return path if path and self.load_config(path) else None

    def load_config(self, path: str | Path) -> bool:
        """Put the configuration in ``path`` into the form, or say why not (the form is kept)."""
        problem = f"{Path(path).name} is not a usable lrstudio configuration."
        try:
            cfg = read_config(path)
        except LrstudioError as exc:
            errors.show_error(self, exc, context=problem)
            return False
        return self.config_panel.try_set_config(cfg, problem)

    def ask_save_config(self) -> str | None:
        """Ask for a file name and write the form's configuration there; the path when written."""
        path, _ = QFileDialog.getSaveFileName(self, "Save configuration", "run-config.json",
                                              "JSON (*.json);;All files (*)")
        return path if path and self.save_config(path) else None

    def save_config(self, path: str | Path) -> bool:
        try:
            write_config(path, self.config_panel.config())
        except LrstudioError as exc:
            errors.show_error(self, exc)
            return False
        return True


def _button(action: QAction, text: str, name: str) -> QPushButton:
    button = QPushButton(action.icon(), text)
    button.setObjectName(name)
    button.setToolTip(action.toolTip())
    button.clicked.connect(action.trigger)
    return button


def read_config(path: str | Path) -> RunConfig:
    """A configuration file, read as the CLI reads it: UTF-8 (a BOM allowed), named errors.
    Raises ``LrstudioError`` (the message for the user)."""
    try:
        return RunConfig.from_file(path)
    except LrstudioError:
        raise
    except (ValueError, TypeError) as exc:
        raise LrstudioError(str(exc)) from exc


def write_config(path: str | Path, config: RunConfig) -> None:
    """Write ``config`` as JSON; raises ``LrstudioError`` naming the file when it cannot."""
    try:
        Path(path).write_text(config.to_json() + "\n", encoding="utf-8")
    except OSError as exc:
        raise LrstudioError(f"Cannot write {path}: {exc.strerror or exc}") from exc
