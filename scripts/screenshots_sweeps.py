"""Screenshots of the Sweeps tab and of Compare's Groups tab (issue 13), offscreen, real training.

    QT_QPA_PLATFORM=offscreen python scripts/screenshots_sweeps.py [--out docs/img]

A random sweep of linear regression on the Windsor prices (SGD, 8 epochs) over the LR
(log-uniform), momentum and batch size, 3 seeds per trial, 2 worker processes, started from the
panel of a real main window against a temporary database. Saved at the default window size
(1400x900) and at 1366x768:

* ``sweeps-panel-WxH.png``: mid-sweep: progress, ETA, the trial list, live curves of the trials;
* ``sweeps-lr-metric-WxH.png``: the LR against the best validation loss, the seed band, the best star;
* ``sweeps-parallel-WxH.png``: parallel coordinates coloured by the metric;
* ``compare-groups-WxH.png``: three trials' seeds in Compare's Groups tab, mean ± std per trial.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QApplication
from screenshots import pump  # scripts/screenshots.py: the helpers the screenshot scripts share

from lrstudio.core.config import DatasetConfig, RunConfig

SIZES = ((1400, 900), (1366, 768))


def grab(app: QApplication, window, out: Path, name: str) -> None:
    for w, h in SIZES:
        window.resize(w, h)
        pump(app, 0.4)
        path = out / f"{name}-{w}x{h}.png"
        image = window.grab()
        if (image.width(), image.height()) != (w, h):  # a widget's minimum size widened the window
            raise SystemExit(f"{name}: the window is {image.width()}x{image.height()}, not {w}x{h}")
        image.save(str(path))
        print("wrote", path)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default="docs/img")
    ap.add_argument("--trials", type=int, default=12)
    args = ap.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    from lrstudio.gui.app import create_application
    from lrstudio.gui.main_window import MainWindow
    from lrstudio.storage import open_store

    app = create_application(sys.argv[:1])
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'sweeps.sqlite'}"
        store = open_store(url)
        settings = QSettings(str(Path(tmp) / "settings.ini"), QSettings.Format.IniFormat)
        window = MainWindow(store, url, settings=settings)
        window.resize(*SIZES[0])
        window.show()
        pump(app, 0.5)
        window.config_panel.set_config(RunConfig(
            model="linear", dataset=DatasetConfig(name="windsor"), optimizer={"name": "sgd", "params": {}},
            lr=0.01, epochs=8, batch_size=32, seed=0))
        window.tabs.setCurrentWidget(window.sweeps_page)
        pump(app, 0.3)
        panel = window.sweeps_page.panel
        ed = panel.editor
        ed.name_edit.setText("windsor sgd: lr, momentum, batch")
        ed.set_dimension("lr", {"log_uniform": [1e-4, 0.3]})
        ed.add_parameter("optimizer.params.momentum", {"uniform": [0.0, 0.95]})
        ed.add_parameter("batch_size", {"choice": [8, 16, 32]})
        ed.set_method("random", trials=args.trials, seeds=(0, 1, 2), parallel=2)
        eid = panel.create_and_start()
        if eid is None:
            raise SystemExit(panel.message.text())
        total = args.trials * 3
        # Mid-sweep: about a third of the runs done, two running.
        while window.sweeps_page.is_running():
            pump(app, 0.2)
            done = sum(1 for r in store.list_trials(eid) if r.status == "completed")
            if done >= total // 3 and any(r.status == "running" for r in store.list_trials(eid)):
                break
        panel.refresh()
        panel.views.setCurrentIndex(0)
        grab(app, window, out, "sweeps-panel")
        while window.sweeps_page.is_running():
            pump(app, 0.2)
        pump(app, 0.5)
        panel.refresh()
        panel.views.setCurrentIndex(1)
        panel.param_combo.setCurrentIndex(panel.param_combo.findData("lr"))
        grab(app, window, out, "sweeps-lr-metric")
        panel.views.setCurrentIndex(2)
        grab(app, window, out, "sweeps-parallel")
        # Compare's Groups tab: the seeds of three trials, one band each.
        picks = [r for r in panel.results if r.mean is not None][:3]
        ids = [i for t in picks for i in t.run_ids]
        window.runs_panel.refresh()
        window.tabs.setCurrentWidget(window.compare_page)
        window.compare_page.show_runs(ids)
        pump(app, 0.5)
        groups = window.compare_page.groups
        window.compare.views.setCurrentWidget(groups)
        pump(app, 0.3)
        grab(app, window, out, "compare-groups")
        window.close()
        store.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
