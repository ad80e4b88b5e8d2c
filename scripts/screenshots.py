"""Render the main window offscreen in realistic states and save PNGs for the README.

    QT_QPA_PLATFORM=offscreen python scripts/screenshots.py [--out docs/screenshots] [--only compare]

States: ``training-live.png`` (a CNN on digits mid-run, plots filling), ``compare-runs.png``
(three saved runs overlaid), ``schedule-preview.png`` (several schedules pinned in the preview),
and Compare at 1400×900 (the default window size) and 1366×768: ``compare-3-runs-WxH.png`` (three
CNN runs), ``compare-10-runs-WxH.png`` (ten linear runs on the Windsor prices, one of which
diverges), each with its Settings tab (``...-settings-WxH.png``).
Everything runs against a temporary database; real training, nothing faked.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import QSettings, Qt
from PySide6.QtWidgets import QApplication

from lrstudio.core.config import DatasetConfig, RunConfig

SIZE = (1400, 900)
COMPARE_SIZES = ((1400, 900), (1366, 768))


def pump(app: QApplication, seconds: float = 0.0) -> None:
    end = time.monotonic() + seconds
    while True:
        app.processEvents()
        if time.monotonic() >= end:
            break
        time.sleep(0.01)


def fresh_window() -> tuple[QApplication, Any, Path]:
    """The app, its real main window on a new database in a temporary folder (private settings
    there too), and that folder; the window is not shown yet."""
    from lrstudio.gui.app import create_application

    app = create_application()
    from lrstudio.gui.main_window import MainWindow
    from lrstudio.storage import open_store

    tmp = Path(tempfile.mkdtemp(prefix="lrstudio-shots-"))
    url = f"sqlite:///{tmp / 'lrstudio.sqlite'}"
    settings = QSettings(str(tmp / "settings.ini"), QSettings.Format.IniFormat)
    return app, MainWindow(open_store(url), url, settings=settings), tmp


def train_and_wait(app: QApplication, window, cfg: RunConfig) -> int:
    window.config_panel.set_config(cfg)
    run_id = window.start_training()
    if run_id is None:
        raise SystemExit(f"could not start {cfg.name}: {window.config_panel.errors()}")
    while window.controller.is_running():
        pump(app, 0.05)
    pump(app, 0.2)
    return run_id


def digits_cnn(name: str, lr: float, schedule: dict) -> RunConfig:
    return RunConfig(name=name, model="cnn", dataset=DatasetConfig(name="digits"),
                     optimizer={"name": "adam", "params": {}}, lr=lr, schedule=schedule, epochs=6,
                     batch_size=64, seed=3)


def windsor_linear(name: str, optimizer: str, lr: float, schedule: dict) -> RunConfig:
    # 437 training rows in batches of 64: 7 steps an epoch, 280 steps in 40 epochs.
    return RunConfig(name=name, model="linear", dataset=DatasetConfig(name="windsor"),
                     optimizer={"name": optimizer, "params": {}}, lr=lr, schedule=schedule, epochs=40,
                     batch_size=64, seed=1)


TEN_LINEAR = (
    ("sgd 0.003 constant", "sgd", 0.003, {"name": "constant", "params": {}}),
    ("sgd 0.03 cosine", "sgd", 0.03, {"name": "cosine", "params": {"T_max": 280}}),
    ("momentum 0.003 step", "momentum", 0.003, {"name": "step", "params": {"step_size": 90, "gamma": 0.3}}),
    ("nesterov 0.01 cosine", "nesterov", 0.01, {"name": "cosine", "params": {"T_max": 280}}),
    ("adam 0.001 constant", "adam", 0.001, {"name": "constant", "params": {}}),
    ("adam 0.01 cosine", "adam", 0.01, {"name": "cosine", "params": {"T_max": 280}}),
    ("adamw 0.003 exponential", "adamw", 0.003, {"name": "exponential", "params": {"gamma": 0.99}}),
    ("rmsprop 0.001 constant", "rmsprop", 0.001, {"name": "constant", "params": {}}),
    ("adagrad 0.03 constant", "adagrad", 0.03, {"name": "constant", "params": {}}),
    ("sgd 1.5 constant (diverges)", "sgd", 1.5, {"name": "constant", "params": {}}),
)


def compare_shots(app: QApplication, window, out: Path, three: list[int], ten: list[int]) -> None:
    """Compare with 3 and with 10 runs at each of COMPARE_SIZES: the curves, then the settings."""
    window.tabs.setCurrentWidget(window.compare_page)
    for width, height in COMPARE_SIZES:
        window.resize(width, height)
        pump(app, 0.3)
        for label, ids in (("3-runs", three), ("10-runs", ten)):
            window.runs_panel.select_runs(ids)
            window.tabs.setCurrentWidget(window.compare_page)
            pump(app, 0.3)
            compare = window.compare
            compare.views.setCurrentIndex(0)
            pump(app, 0.3)
            save(window, out / f"compare-{label}-{width}x{height}.png")
            if (label, (width, height)) == ("3-runs", SIZE):
                save(window, out / "compare-runs.png")  # the README's
            compare.views.setCurrentIndex(1)
            pump(app, 0.3)
            save(window, out / f"compare-{label}-settings-{width}x{height}.png")
            compare.views.setCurrentIndex(0)
    window.resize(*SIZE)
    pump(app, 0.3)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(Path(__file__).resolve().parent.parent / "docs" / "screenshots"))
    parser.add_argument("--only", choices=("all", "compare"), default="all",
                        help="'compare': only the Compare screenshots (no live-training or preview shots)")
    args = parser.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    app, window, tmp = fresh_window()
    window.resize(*SIZE)
    window.show()
    pump(app, 0.3)

    # -- some history: three CNN runs on digits that differ in LR and schedule ------------------
    runs = [
        train_and_wait(app, window, digits_cnn("adam 1e-3 constant", 1e-3, {"name": "constant", "params": {}})),
        train_and_wait(app, window, digits_cnn("adam 3e-3 cosine", 3e-3, {"name": "cosine", "params": {"T_max": 138}})),
        train_and_wait(app, window, digits_cnn("adam 1e-2 step", 1e-2,
                                               {"name": "step", "params": {"step_size": 46, "gamma": 0.3}})),
    ]

    ten = [train_and_wait(app, window, windsor_linear(*spec)) for spec in TEN_LINEAR]
    if args.only == "compare":
        window.runs_panel.refresh()
        compare_shots(app, window, out, runs, ten)
        window.close()
        pump(app, 0.2)
        return 0

    # -- 1. training live: a CNN on digits, captured mid-run -----------------------------------
    # 15 epochs x 45 minibatches = 675 steps: 60 of warm-up, then a cosine over the other 615.
    cnn = RunConfig(
        name="cnn digits warmup+cosine", model="cnn", dataset=DatasetConfig(name="digits", val_fraction=0.2),
        optimizer={"name": "adam", "params": {}}, lr=3e-3,
        schedule={"name": "linear_warmup", "params": {"warmup_steps": 60, "start_lr": 0.0,
                                                      "inner": {"name": "cosine", "params": {"T_max": 615,
                                                                                           "after_end": "hold"}}}},
        epochs=15, batch_size=32, seed=0)
    window.config_panel.set_config(cnn)
    window.start_training()
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline:
        pump(app, 0.05)
        total = window.live_run.total_steps or 10**9
        if window.live_plots.series_length("train/loss") >= 0.55 * total:
            break
    window.live_plots.redraw_now()
    pump(app, 0.1)
    save(window, out / "training-live.png")
    window.controller.shutdown()
    pump(app, 0.3)

    # -- 2. comparing three runs, and ten ----------------------------------------------------------
    window.runs_panel.refresh()
    compare_shots(app, window, out, runs, ten)

    # -- 3. schedule preview with pinned overlays ---------------------------------------------
    window.tabs.setCurrentWidget(window.live_plots)
    window.resizeDocks([window.config_dock], [520], Qt.Orientation.Horizontal)
    window.resizeDocks([window.config_dock, window.preview_dock], [400, 500], Qt.Orientation.Vertical)
    base = RunConfig(name="preview", model="linear", dataset=DatasetConfig(name="windsor"), lr=0.1,
                     epochs=30, batch_size=16)
    for sched in (
        {"name": "step", "params": {"step_size": 200, "gamma": 0.5}},
        {"name": "one_cycle", "params": {"total_steps": 840}},
        {"name": "cosine_restarts", "params": {"T_0": 120, "T_mult": 2.0}},
    ):
        window.config_panel.set_config(RunConfig(**{**base.__dict__, "schedule": sched}))
        window.preview.flush()
        window.preview.pin_current()
    window.config_panel.set_config(RunConfig(**{**base.__dict__, "schedule": {
        "name": "linear_warmup", "params": {"warmup_steps": 80, "inner": {"name": "cosine", "params": {"T_max": 760}}}}}))
    window.preview.flush()
    window.config_panel.schedule_editor.combo.setFocus()
    pump(app, 0.1)
    editor = window.config_panel.schedule_editor
    top = editor.mapTo(window.config_panel, editor.rect().topLeft()).y()
    window.config_scroll.verticalScrollBar().setValue(top - 95)  # the LR field and the schedule form
    pump(app, 0.3)
    save(window, out / "schedule-preview.png")
    save(window.preview, out / "schedule-preview-detail.png")

    window.close()
    pump(app, 0.2)
    return 0


def save(widget, path: Path) -> None:
    pix = widget.grab()
    if not pix.save(str(path)):
        raise SystemExit(f"could not write {path}")
    print(f"wrote {path} ({pix.width()}x{pix.height()})")


if __name__ == "__main__":
    sys.exit(main())
