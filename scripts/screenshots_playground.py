"""Screenshots of the Playground tab (issue 16) for the README: the momentum and the LR-too-large
presets in the main window at its default size (1400x900) and at 1366x768.

    QT_QPA_PLATFORM=offscreen python scripts/screenshots_playground.py [--out docs/img]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QApplication

SIZES = ((1400, 900), (1366, 768))
PRESETS = (("momentum", "momentum"), ("gd_lr_large", "lr-too-large"))


def pump(app: QApplication, seconds: float = 0.2) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        app.processEvents()
        time.sleep(0.01)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default="docs/img")
    args = ap.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    # The app's own set-up (Fusion, resources/style.qss, names, icon), as main.py starts it: a plain
    # QApplication drew the README shots without the style sheet.
    from lrstudio.gui.app import create_application

    app = create_application(sys.argv[:1])
    from lrstudio.gui.main_window import MainWindow
    from lrstudio.storage import open_store

    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'shots.sqlite'}"
        store = open_store(url)
        settings = QSettings(str(Path(tmp) / "s.ini"), QSettings.Format.IniFormat)
        window = MainWindow(store, url, settings=settings)
        window.show()
        window.tabs.setCurrentWidget(window.playground_page)
        pump(app)
        view = window.playground_page.view
        for w, h in SIZES:
            window.resize(w, h)
            for preset, slug in PRESETS:
                view.apply_preset(preset)
                pump(app, 0.3)
                path = out / f"playground-{slug}-{w}x{h}.png"
                window.grab().save(str(path))
                print(path)
        window.close()
        store.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
