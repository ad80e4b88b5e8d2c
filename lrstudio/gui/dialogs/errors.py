"""The one place that shows errors to the user: every error dialog of the GUI is :func:`show_error`
(the main window, the configure form, the runs table, the exports), called through this module's
attribute so that tests replace it in one place (``tests/gui/conftest.py``: ``no_dialogs``).

An :class:`~lrstudio.core.errors.LrstudioError` carries a message written for the user: it is
shown as is, without a trace. Anything else is a bug: the dialog says so in plain words and
keeps the trace behind "Show Details...". Unexpected exceptions raised in slots reach
:func:`excepthook` (installed by :func:`install_excepthook`), which routes them here.
"""

from __future__ import annotations

import sys
import traceback
from types import TracebackType

from PySide6.QtWidgets import QApplication, QMessageBox, QWidget

from lrstudio.core.errors import LrstudioError


def describe(exc: BaseException | str) -> tuple[str, str]:
    """(plain message, details) for ``exc``; details is "" for user errors."""
    if isinstance(exc, str):
        return exc, ""
    if isinstance(exc, LrstudioError):
        return str(exc), ""
    details = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    text = str(exc) or type(exc).__name__
    return f"Something went wrong inside lrstudio ({type(exc).__name__}: {text}).", details


def build_error_box(parent: QWidget | None, exc: BaseException | str, title: str = "lrstudio",
                    context: str = "") -> QMessageBox:
    """A message box for ``exc`` (not shown). ``context`` says what was being done."""
    message, details = describe(exc)
    box = QMessageBox(parent)
    box.setWindowTitle(title)
    box.setIcon(QMessageBox.Icon.Critical if details else QMessageBox.Icon.Warning)
    box.setText(f"{context}\n\n{message}" if context else message)
    if details:
        box.setDetailedText(details)
    box.setStandardButtons(QMessageBox.StandardButton.Ok)
    return box


def show_error(parent: QWidget | None, exc: BaseException | str, title: str = "lrstudio",
               context: str = "") -> None:
    """Show ``exc`` in a modal dialog (or on stderr when there is no QApplication)."""
    if QApplication.instance() is None:  # pragma: no cover - CLI safety net
        print(describe(exc)[0], file=sys.stderr)
        return
    build_error_box(parent, exc, title, context).exec()


def excepthook(exc_type: type[BaseException], exc: BaseException, tb: TracebackType | None) -> None:
    traceback.print_exception(exc_type, exc, tb)
    if issubclass(exc_type, KeyboardInterrupt):
        return
    exc.__traceback__ = tb
    show_error(QApplication.activeWindow(), exc)


def install_excepthook() -> None:
    sys.excepthook = excepthook
