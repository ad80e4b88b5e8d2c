"""Export dialogs: history CSV matches the database, runs table CSV, PNG and SVG files."""

from __future__ import annotations

import csv
import math

import pytest
from _fixtures_data import add_run
from PySide6.QtGui import QImage

from lrstudio.core.config import RunConfig
from lrstudio.gui.compare.widget import CompareWidget
from lrstudio.gui.dialogs import errors as error_dialog
from lrstudio.gui.dialogs import export
from lrstudio.gui.dialogs.export import (
    export_history_dialog,
    export_plot_dialog,
    export_runs_table_dialog,
)

pytestmark = pytest.mark.gui


@pytest.fixture(autouse=True)
def _app(qapp):
    """The dialogs need a QApplication even when no widget is shown."""
    return qapp


@pytest.fixture
def runs(store):
    return [add_run(store, RunConfig(lr=0.1), "run a", steps=120, steps_per_epoch=40),
            add_run(store, RunConfig(lr=0.01), "run b", steps=80, steps_per_epoch=40, seed=3)]


@pytest.fixture
def errors(monkeypatch):
    shown = []
    # The GUI's one error dialog, recorded instead of shown.
    monkeypatch.setattr(error_dialog, "show_error",
                        lambda parent, exc, title="lrstudio", context="": shown.append(error_dialog.describe(exc)[0]))
    return shown


def test_history_csv_rows_match_database_points(store, runs, tmp_path, errors):
    dest = export_history_dialog(None, store, runs, path=tmp_path / "history.csv")
    assert dest == tmp_path / "history.csv" and errors == []
    with dest.open(newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    expected = {}
    for run_id in runs:
        for key, series in store.load_series(run_id).items():
            for step, value in zip(series.step, series.value):
                expected[(run_id, key, int(step))] = float(value)
    got = {(int(r["run_id"]), r["metric"], int(r["step"])): float(r["value"]) for r in rows}
    assert len(rows) == len(expected)
    assert got.keys() == expected.keys()
    assert all(math.isclose(got[k], expected[k], rel_tol=0, abs_tol=0) for k in expected)


def test_history_csv_wide_and_progress_reaches_the_end(store, runs, tmp_path, errors, monkeypatch):
    seen = []
    real = store.export_history_csv

    def spy(run_ids, dest, wide=False, progress=None):
        def wrapped(done, total):
            seen.append((done, total))
            progress(done, total)
        return real(run_ids, dest, wide=wide, progress=wrapped)

    monkeypatch.setattr(store, "export_history_csv", spy)
    dest = export_history_dialog(None, store, runs, path=tmp_path / "wide.csv", wide=True)
    with dest.open(newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 120 + 80  # one row per run and step
    assert {"train/loss", "lr", "val/loss"} <= set(rows[0])
    assert seen and seen[-1][0] == seen[-1][1]


def test_history_export_cancel_leaves_no_file(store, runs, tmp_path, errors, monkeypatch):
    monkeypatch.setattr(export.QProgressDialog, "wasCanceled", lambda self: True)
    assert export_history_dialog(None, store, runs, path=tmp_path / "cancelled.csv") is None
    assert not (tmp_path / "cancelled.csv").exists()
    assert list(tmp_path.glob("*.part")) == [] and errors == []


def test_history_export_errors_are_messages(store, tmp_path, errors):
    assert export_history_dialog(None, store, [], path=tmp_path / "x.csv") is None
    assert errors[-1].startswith("Select one or more runs")
    assert export_history_dialog(None, store, [999], path=tmp_path / "x.csv") is None
    assert "999" in errors[-1] and "Traceback" not in errors[-1]
    assert export_history_dialog(None, store, [1], path=tmp_path / "no-such-dir" / "x.csv") is None


def test_runs_table_csv(store, runs, tmp_path, errors):
    dest = export_runs_table_dialog(None, store, path=tmp_path / "runs.csv")
    with dest.open(newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert sorted(r["name"] for r in rows) == ["run a", "run b"] and errors == []


@pytest.mark.parametrize("suffix", [".png", ".svg"])
def test_plot_export_png_and_svg(qtbot, store, runs, tmp_path, errors, suffix):
    w = CompareWidget(store)
    qtbot.addWidget(w)
    w.resize(900, 600)
    w.show()
    qtbot.waitExposed(w)
    w.show_runs(runs)
    for i, plot in enumerate(w.plot_widgets()):
        dest = export_plot_dialog(None, plot, path=tmp_path / f"plot{i}{suffix}")
        assert dest is not None and dest.stat().st_size > 1000, errors
        if suffix == ".png":
            image = QImage(str(dest))
            assert image.width() >= plot.width() and image.height() > 100
        else:
            text = dest.read_text(encoding="utf-8")
            assert text.lstrip().startswith("<?xml") and "<svg" in text and "run a" in text
    assert errors == []


def test_plot_export_other_widget_and_bad_suffix(qtbot, tmp_path, errors, store):
    w = CompareWidget(store)
    qtbot.addWidget(w)
    w.resize(500, 400)
    assert export_plot_dialog(None, w, path=tmp_path / "view.png").stat().st_size > 0
    assert export_plot_dialog(None, w, path=tmp_path / "view.svg") is None
    assert "png" in errors[-1]
    assert export_plot_dialog(None, w.loss_plot, path=tmp_path / "plot.jpg") is None
    assert ".png or .svg" in errors[-1]


# -- issue 9: vector markers, a legend, and a confirmation that says where ------------------------
def _compare_with_markers(qtbot, store, runs):
    w = CompareWidget(store)
    qtbot.addWidget(w)
    w.resize(900, 600)
    w.show()
    qtbot.waitExposed(w)
    w.show_runs(runs)
    assert len(w.curve_items(runs[0])["val_loss"].scatter.data) > 0  # validation markers drawn
    return w


def test_svg_export_draws_validation_markers_as_vectors(qtbot, store, runs, tmp_path, errors):
    import xml.etree.ElementTree as ET

    w = _compare_with_markers(qtbot, store, runs)
    dest = export_plot_dialog(None, w.loss_plot, path=tmp_path / "loss.svg")
    assert dest is not None, errors
    root = ET.parse(dest).getroot()
    ns = "{http://www.w3.org/2000/svg}"
    images = [e for e in root.iter() if e.tag in (f"{ns}image", "image")]
    assert images == []  # no bitmap atlas of markers
    text = dest.read_text(encoding="utf-8")
    assert "run a" in text and "run b" in text  # the exported plot names its runs
    # the markers are there as vector shapes: 3 + 2 epochs, each a closed path or ellipse
    shapes = [e for e in root.iter() if e.tag.split("}")[-1] in ("path", "ellipse", "circle")]
    assert len(shapes) >= 5
    # and the view on screen got no legend over its data
    assert w.loss_plot.getPlotItem().legend is None


def test_export_says_what_was_written_and_opens_the_folder(qtbot, store, runs, tmp_path, errors, monkeypatch):
    from PySide6.QtCore import QUrl
    from PySide6.QtWidgets import QMainWindow

    opened: list[QUrl] = []
    monkeypatch.setattr(export.QDesktopServices, "openUrl", lambda url: opened.append(url) or True)
    main = QMainWindow()
    qtbot.addWidget(main)
    main.show()
    dest = export_history_dialog(main, store, runs, path=tmp_path / "history.csv")
    assert dest is not None
    message = main.statusBar().currentMessage()
    assert str(dest) in message and "2 runs" in message
    box = export.last_confirmation()
    assert box is not None and box.isVisible() and not box.isModal()  # never blocks the window
    assert str(dest) in box.text()
    open_button = next(b for b in box.buttons() if "folder" in b.text().lower())
    open_button.click()
    assert [u.toLocalFile() for u in opened] == [str(tmp_path)]
    # the runs table and plots say so too
    dest = export_runs_table_dialog(main, store, path=tmp_path / "runs.csv")
    assert str(dest) in main.statusBar().currentMessage() and str(dest) in export.last_confirmation().text()
    w = _compare_with_markers(qtbot, store, runs)
    dest = export_plot_dialog(main, w.lr_plot, path=tmp_path / "lr.png")
    assert str(dest) in main.statusBar().currentMessage()
    assert errors == []


def test_one_error_dialog_for_the_whole_gui():
    """Issue 10: every error dialog of the GUI is dialogs.errors.show_error (no module shows its own)."""
    import re
    from pathlib import Path

    import lrstudio.gui

    root = Path(lrstudio.gui.__file__).parent
    own = root / "dialogs" / "errors.py"
    offenders = []
    for path in sorted(root.rglob("*.py")):
        if path == own:
            continue
        source = path.read_text(encoding="utf-8")
        if re.search(r"QMessageBox\.(warning|critical)\(|^def show_error\(", source, re.M):
            offenders.append(str(path.relative_to(root)))
    assert offenders == []
