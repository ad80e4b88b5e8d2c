"""Render Find LR (issue 12) offscreen after a real range test and save PNGs for the README.

    QT_QPA_PLATFORM=offscreen python scripts/screenshot_lr_finder.py [--out docs/img]

Saves ``lr-finder.png`` (the dialog at its default size), ``lr-finder-1366x768.png`` (the dialog
at 1366x768) and ``lr-finder-window-1366x768.png`` (the main window at 1366x768 with the Find LR
button beside the learning-rate field) and ``lr-finder-compare-1366x768.png`` (Compare's "LR range
tests" tab: two tests overlaid). A temporary database; real training, nothing faked.
"""

from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import QSettings
from screenshots import pump  # scripts/screenshots.py: the helpers the screenshot scripts share

from lrstudio.core.config import DatasetConfig, RunConfig


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default="docs/img")
    args = ap.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    from lrstudio.gui.app import create_application  # the app's style sheet and fonts

    app = create_application()
    from lrstudio.gui.main_window import MainWindow
    from lrstudio.storage import open_store

    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'shots.sqlite'}"
        store = open_store(url)
        window = MainWindow(store, url, settings=QSettings(str(Path(tmp) / "s.ini"), QSettings.Format.IniFormat))
        window.resize(1366, 768)
        window.show()
        pump(app, 0.5)
        window.config_panel.set_config(RunConfig(model="cnn", dataset=DatasetConfig(name="digits"),
                                                 optimizer={"name": "adam", "params": {}}, lr=0.001,
                                                 batch_size=32, epochs=5, seed=0))
        window.config_scroll.ensureWidgetVisible(window.config_panel.find_lr_button)
        pump(app, 0.3)
        window.grab().save(str(out / "lr-finder-window-1366x768.png"))
        dlg = window.find_lr()
        pump(app, 0.3)
        dlg.start_test()
        while dlg.is_running():
            pump(app, 0.05)
        pump(app, 0.5)
        dlg.grab().save(str(out / "lr-finder.png"))
        dlg.resize(1366, 768)
        pump(app, 0.5)
        dlg.grab().save(str(out / "lr-finder-1366x768.png"))
        dlg.close()
        # Compare's "LR range tests" tab: this test and one with SGD, overlaid against the LR.
        from dataclasses import replace

        from lrstudio.core.lr_finder import RangeTestOptions
        from lrstudio.services.range_test_run import run_range_test

        sgd = replace(window.config_panel.config(), optimizer={"name": "sgd", "params": {}}, lr=0.01)
        other = run_range_test(sgd, RangeTestOptions(), url, store=store).run_id
        window.runs_panel.refresh()
        window.tabs.setCurrentWidget(window.compare_page)
        window.compare_page.show_runs([dlg.runner.run_id, other])
        window.compare.views.setCurrentWidget(window.compare_page.range_tests)
        pump(app, 0.5)
        window.grab().save(str(out / "lr-finder-compare-1366x768.png"))
        window.close()
        store.close()
    print(f"saved to {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
