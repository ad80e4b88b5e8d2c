"""Start the desktop app: ``lrstudio`` (or ``lrstudio app``, ``python main.py``).

Start-up order matters for the first impression: Qt, the window and its widgets are imported
and shown first; torch is imported only when a run starts (inside the worker thread), so the
window appears in well under a second (``bench/bench_gui.py`` measures it).
"""

from __future__ import annotations

import sys
from typing import Any

from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QApplication, QMessageBox, QWidget

from lrstudio.core.errors import LrstudioError

APP_NAME = "lrstudio"
ORG_NAME = "lrstudio"


def create_application(argv: list[str] | None = None) -> QApplication:
    """The QApplication with lrstudio's names (for QSettings), style and icon."""
    app = QApplication.instance()
    if app is None:
        app = QApplication(argv if argv is not None else sys.argv[:1])
    app.setApplicationName(APP_NAME)
    app.setOrganizationName(ORG_NAME)
    app.setApplicationDisplayName(APP_NAME)
    app.setStyle("Fusion")
    app.setStyleSheet(load_style())
    from lrstudio.gui.actions import app_icon

    app.setWindowIcon(app_icon())
    return app  # type: ignore[return-value]


def load_style() -> str:
    from lrstudio.paths import resources_dir

    try:
        return (resources_dir() / "style.qss").read_text(encoding="utf-8")
    except (OSError, FileNotFoundError):
        return ""


def open_store_interactive(url: str, parent: QWidget | None = None,
                           settings: QSettings | None = None) -> tuple[Any, str] | None:
    """Open ``url``; on a user-facing error say why and offer to pick another database (from the
    recent ones of ``settings``, the app's settings file when None).

    Returns ``(store, url)``, or None when the user gives up.
    """
    from lrstudio.gui.database import ask_database, display_url, open_store_asking_password
    from lrstudio.gui.settings import Preferences

    while True:
        try:
            opened = open_store_asking_password(parent, url)
        except LrstudioError as exc:
            why = str(exc)
        else:
            if opened is not None:
                return opened
            why = "No password was given."  # cancelled: offer another database, as after an error
        box = QMessageBox(parent)
        box.setIcon(QMessageBox.Icon.Warning)
        box.setWindowTitle("lrstudio: cannot open the database")
        box.setText(f"lrstudio cannot open {display_url(url)}.\n\n{why}")
        other = box.addButton("Open another database…", QMessageBox.ButtonRole.AcceptRole)
        box.addButton("Quit", QMessageBox.ButtonRole.RejectRole)
        box.exec()
        if box.clickedButton() is not other:
            return None
        chosen = ask_database(parent, Preferences.load(settings).recent_databases, "")
        if not chosen:
            return None
        url = chosen


def main(db: str, settings: QSettings | None = None) -> int:
    """Run the app on database ``db`` (an SQLAlchemy URL); returns the exit code.

    The window (menus, forms, runs table) is shown first; the plot widgets and the database follow
    on the first turns of the event loop: importing pyqtgraph and the storage layer (SQLAlchemy,
    Alembic, a migration check) costs more than the rest of the window, and the user should see the
    window at once. ``bench/bench_gui.py`` reports both moments.
    """
    from lrstudio.core.allocator import tune_allocator

    tune_allocator()  # the app's process (lrstudio.core.allocator); lrstudio.cli.main did it already
    app = create_application()
    from PySide6.QtCore import QTimer

    from lrstudio.gui.dialogs.errors import install_excepthook
    from lrstudio.gui.gc_thread import GuiThreadCollector
    from lrstudio.gui.main_window import MainWindow

    install_excepthook()
    # Qt objects must be destroyed in the GUI thread: automatic GC off, collected from a GUI timer.
    collector = GuiThreadCollector(app)
    # Plots (pyqtgraph) are built on the first event-loop turn, then the database is opened.
    window = MainWindow(None, db, settings=settings, deferred_plots=True)
    window.show()
    gave_up: list[bool] = []

    def open_database() -> None:
        if not window.isVisible():  # closed before the event loop first ran
            return
        opened = open_store_interactive(db, window, settings)
        if opened is None:
            gave_up.append(True)
            window.close()
            return
        window.attach_store(*opened)
        window.prewarm_training()

    QTimer.singleShot(0, open_database)
    code = app.exec()
    window.wait_for_background_work()
    collector.stop()
    return 1 if gave_up else code
