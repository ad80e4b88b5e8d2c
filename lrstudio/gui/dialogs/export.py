"""Export dialogs: run histories and the runs table as CSV (the storage exporters), plots as PNG/SVG.

Each function asks for a file name unless ``path`` is given (tests and scripted use pass it), runs
the export and returns the written path, or ``None`` when the user cancelled or the export failed.
Failures reach the user through the GUI's one error dialog,
:func:`lrstudio.gui.dialogs.errors.show_error`, as a plain message, never as a trace; tests replace
it with ``monkeypatch``.

A successful export says what was written and where: in the window's status bar and in a small
non-modal message with an "Open folder" button (``QDesktopServices.openUrl`` on the folder).

Long history exports show a ``QProgressDialog`` fed by the store's ``progress(done, total)``
callback. Pressing Cancel makes the next callback raise :class:`ExportCancelled`, which unwinds the
store's exporter; the store writes to a temporary file beside ``dest`` and renames it only at the
end, so a cancelled export leaves no partial file (and an existing file untouched).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from pathlib import Path

import pyqtgraph as pg
import shiboken6
from PySide6.QtCore import QCoreApplication, Qt, QUrl
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import QFileDialog, QGraphicsItem, QMainWindow, QMessageBox, QProgressDialog, QWidget

from lrstudio.core.errors import LrstudioError
from lrstudio.core.runs import RunStore
from lrstudio.gui.dialogs import errors

__all__ = [
    "ExportCancelled",
    "export_history_dialog",
    "export_plot_dialog",
    "export_runs_table_dialog",
    "last_confirmation",
]

LONG_FILTER = "CSV, long: one row per run, metric and step (*.csv)"
WIDE_FILTER = "CSV, wide: one row per run and step, one column per metric (*.csv)"
PNG_FILTER = "PNG image (*.png)"
SVG_FILTER = "SVG vector image (*.svg)"
# Show the progress dialog only for exports that take longer than this.
PROGRESS_DELAY_MS = 400


class ExportCancelled(Exception):
    """Raised from the progress callback to stop an export the user cancelled."""


_last_box: list[QMessageBox] = []


def last_confirmation() -> QMessageBox | None:
    """The confirmation shown by the last successful export, while it is open (for tests)."""
    box = _last_box[0] if _last_box else None
    return box if box is not None and shiboken6.isValid(box) else None


def confirm_written(parent: QWidget | None, title: str, what: str, dest: Path) -> None:
    """Say what was written and where; offer to open the folder. Never blocks the window."""
    dest = Path(dest).resolve()
    text = f"{what} written to {dest}"
    window = parent.window() if parent is not None else None
    if isinstance(window, QMainWindow):
        window.statusBar().showMessage(text, 15_000)
    box = QMessageBox(QMessageBox.Icon.Information, title, text, QMessageBox.StandardButton.Close, parent)
    box.setWindowModality(Qt.WindowModality.NonModal)
    box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    open_button = box.addButton("Open folder", QMessageBox.ButtonRole.ActionRole)
    open_button.clicked.disconnect()  # an action button would close the box first; keep it open
    open_button.clicked.connect(lambda: QDesktopServices.openUrl(QUrl.fromLocalFile(str(dest.parent))))
    box.setDefaultButton(QMessageBox.StandardButton.Close)
    _last_box[:] = [box]
    box.show()


def _plural(n: int, word: str) -> str:
    return f"{n:,} {word}{'' if n == 1 else 's'}"


def _message(exc: BaseException) -> str:
    if isinstance(exc, LrstudioError):
        return str(exc)
    if isinstance(exc, OSError):
        where = f" ({exc.filename})" if getattr(exc, "filename", None) else ""
        return f"Cannot write the file{where}: {exc.strerror or exc}"
    return f"{type(exc).__name__}: {exc}"


def _ask_save_path(parent: QWidget | None, title: str, suggested: str, filters: Sequence[str],
                   directory: str = "") -> tuple[Path, str] | None:
    start = str(Path(directory) / suggested) if directory else suggested
    path, selected = QFileDialog.getSaveFileName(parent, title, start, ";;".join(filters), filters[0])
    if not path:
        return None
    return Path(path), selected


def _with_suffix(path: Path, suffix: str) -> Path:
    return path if path.suffix.lower() == suffix else path.with_name(path.name + suffix)


# -- CSV -----------------------------------------------------------------------------------------
def export_history_dialog(parent: QWidget | None, store: RunStore, run_ids: Sequence[int],
                          path: str | Path | None = None, wide: bool | None = None,
                          directory: str = "") -> Path | None:
    """Export the metric history of ``run_ids`` to one CSV file.

    Without ``path`` a file dialog asks for the file and for the layout (long or wide, as two
    file-type filters). Returns the written path, or ``None`` (cancelled, nothing selected, error).
    """
    run_ids = list(run_ids)
    if not run_ids:
        errors.show_error(parent, "Select one or more runs in the runs table first.", title="Export history")
        return None
    if path is None:
        suggested = f"run-{run_ids[0]}-history.csv" if len(run_ids) == 1 else f"{len(run_ids)}-runs-history.csv"
        answer = _ask_save_path(parent, "Export run history as CSV", suggested, (LONG_FILTER, WIDE_FILTER),
                                directory)
        if answer is None:
            return None
        dest, selected = answer
        if wide is None:
            wide = selected == WIDE_FILTER
        dest = _with_suffix(dest, ".csv")
    else:
        dest = Path(path)
    wide = bool(wide)

    progress = QProgressDialog("Exporting run history…", "Cancel", 0, 0, parent)
    progress.setWindowTitle("Export history")
    progress.setWindowModality(Qt.WindowModality.WindowModal)
    progress.setMinimumDuration(PROGRESS_DELAY_MS)
    progress.setAutoClose(False)
    progress.setAutoReset(False)
    progress.setValue(0)

    def on_progress(done: int, total: int) -> None:
        if total > 0:
            if progress.maximum() != total:
                progress.setMaximum(total)
            progress.setValue(min(done, total))
        QCoreApplication.processEvents()
        if progress.wasCanceled():
            raise ExportCancelled

    try:
        store.export_history_csv(run_ids, dest, wide=wide, progress=on_progress)
    except ExportCancelled:
        return None  # the store writes beside dest and renames at the end: nothing to clean up
    except (LrstudioError, OSError, ValueError) as exc:
        errors.show_error(parent, _message(exc), title="Export history")
        return None
    finally:
        progress.close()
        progress.deleteLater()
    layout = "wide" if wide else "long"
    confirm_written(parent, "Export history", f"History of {_plural(len(run_ids), 'run')} ({layout} CSV)", dest)
    return dest


def export_runs_table_dialog(parent: QWidget | None, store: RunStore, path: str | Path | None = None,
                             run_ids: Sequence[int] | None = None, directory: str = "") -> Path | None:
    """Export the runs table (one row per run: config and summary) as CSV."""
    if path is None:
        answer = _ask_save_path(parent, "Export runs table as CSV", "runs.csv", ("CSV (*.csv)",), directory)
        if answer is None:
            return None
        dest = _with_suffix(answer[0], ".csv")
    else:
        dest = Path(path)
    try:
        count = store.export_runs_csv(dest, run_ids=None if run_ids is None else list(run_ids))
    except (LrstudioError, OSError, ValueError) as exc:
        errors.show_error(parent, _message(exc), title="Export runs table")
        return None
    what = f"Runs table ({_plural(count, 'run')})" if isinstance(count, int) else "Runs table"
    confirm_written(parent, "Export runs table", what, dest)
    return dest


# -- plots ---------------------------------------------------------------------------------------
def export_plot_dialog(parent: QWidget | None, plot_widget: pg.PlotWidget | pg.PlotItem | QWidget, path: str | Path | None = None,
                       scale: float = 1.0, directory: str = "") -> Path | None:
    """Save a plot as PNG or SVG, chosen by the file extension (or the dialog's filter).

    ``plot_widget`` is a ``pg.PlotWidget`` or ``pg.PlotItem`` (exported with pyqtgraph's
    ``ImageExporter``/``SVGExporter``). Any other ``QWidget`` can be saved as PNG (a screen grab).
    PNGs are rendered at ``scale`` times the on-screen size for sharp text.
    """
    if path is None:
        answer = _ask_save_path(parent, "Export plot", "plot.png", (PNG_FILTER, SVG_FILTER), directory)
        if answer is None:
            return None
        dest, selected = answer
        if dest.suffix.lower() not in (".png", ".svg"):
            dest = _with_suffix(dest, ".svg" if selected == SVG_FILTER else ".png")
    else:
        dest = Path(path)
    kind = dest.suffix.lower()
    if kind not in (".png", ".svg"):
        errors.show_error(parent, f"Choose a file name ending in .png or .svg (got “{dest.name}”).", title="Export plot")
        return None
    try:
        _export_plot(plot_widget, dest, kind, scale)
    except (OSError, ValueError, RuntimeError) as exc:
        errors.show_error(parent, _message(exc), title="Export plot")
        return None
    if not dest.exists() or dest.stat().st_size == 0:
        errors.show_error(parent, f"Nothing was written to {dest}.", title="Export plot")
        return None
    confirm_written(parent, "Export plot", f"Plot ({kind[1:].upper()})", dest)
    return dest


def _export_plot(plot_widget: pg.PlotWidget | pg.PlotItem | QWidget, dest: Path, kind: str, scale: float) -> None:
    item = plot_widget.getPlotItem() if isinstance(plot_widget, pg.PlotWidget) else plot_widget
    if isinstance(item, pg.PlotItem):
        # A view may add what the file needs and the screen does not (the compare view's
        # legend, which on screen is a run list beside the plots).
        extras = getattr(plot_widget, "export_extras", None)
        with extras() if callable(extras) else contextlib.nullcontext():
            _export_plot_item(item, dest, kind, scale)
        return
    if isinstance(plot_widget, QWidget):
        if kind == ".svg":
            raise ValueError("only plots can be saved as SVG; choose a .png file for this view")
        if not plot_widget.grab().save(str(dest)):
            raise OSError(f"could not write {dest}")
        return
    raise ValueError(f"cannot export a {type(plot_widget).__name__}")


def _export_plot_item(item: pg.PlotItem, dest: Path, kind: str, scale: float) -> None:
    from pyqtgraph.exporters import ImageExporter, SVGExporter

    if kind == ".svg":
        try:
            SVGExporter(item).export(str(dest))
        except ValueError:
            # pyqtgraph <= 0.14.0 cannot parse the closed paths ("... Z") that Qt >= 6.10 writes
            # (pyqtgraph/pyqtgraph#3495); Qt's own SVG generator draws the same scene.
            _render_svg_with_qt(item, dest)
        return
    exporter = ImageExporter(item)
    width = max(1, int(round(item.sceneBoundingRect().width() * scale)))
    # pyqtgraph wants integers here; a float width fails in some versions.
    exporter.parameters()["width"] = width
    exporter.export(str(dest))


@contextlib.contextmanager
def _export_mode(root: QGraphicsItem, opts: dict[str, object]) -> Iterator[None]:
    """pyqtgraph's export mode for ``root`` and every item under it, as its own exporters set it.

    In export mode a scatter plot draws each marker as a vector shape; otherwise it copies them
    from a bitmap atlas, which an SVG would embed as ``<image>`` elements.
    """
    items, stack = [], [root]
    while stack:
        item = stack.pop()
        items.append(item)
        stack.extend(item.childItems())
    marked = [i for i in items if hasattr(i, "setExportMode")]
    for item in marked:
        item.setExportMode(True, opts)
    try:
        yield
    finally:
        for item in marked:
            item.setExportMode(False)


def _render_svg_with_qt(item: pg.PlotItem, dest: Path) -> None:
    from PySide6.QtCore import QRectF, QSize
    from PySide6.QtGui import QPainter
    from PySide6.QtSvg import QSvgGenerator

    scene = item.scene()
    if scene is None:
        raise ValueError("the plot is not shown in a window, so it cannot be drawn")
    source = item.sceneBoundingRect()
    generator = QSvgGenerator()
    generator.setFileName(str(dest))
    generator.setSize(QSize(int(source.width()), int(source.height())))
    generator.setViewBox(QRectF(0, 0, source.width(), source.height()))
    generator.setTitle("lrstudio plot")
    # The axes are QPictures, replayed at the device's resolution: match the screen's, or the axes
    # come out at 72/96 of the size of the curves.
    views = scene.views()
    dpi = views[0].logicalDpiX() if views else 96
    generator.setResolution(dpi)
    painter = QPainter()
    if not painter.begin(generator):
        raise OSError(f"could not write {dest}")
    try:
        with _export_mode(item, {"antialias": True, "background": None, "painter": painter,
                                 "resolutionScale": 1.0}):
            scene.render(painter, QRectF(0, 0, source.width(), source.height()), source)
    finally:
        painter.end()
