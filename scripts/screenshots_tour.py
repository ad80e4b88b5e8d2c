"""A tour of the whole app as a new user sees it: every tab, view, dock, menu and dialog, offscreen.

    QT_QPA_PLATFORM=offscreen python scripts/screenshots_tour.py [--out /tmp/tour] [--readme]

A temporary database is filled with what a user has after a while (real training, nothing
faked): three training runs (linear regression on the Windsor prices, a CNN on digits), an LR
range test, a random sweep of 6 trials, two playground trajectories and a run logged by a
user's own loop through ``lrstudio.start_run``. The real main window is then shown at its default
size (1400x900) and at 1366x768 and each page is saved as ``NN-name-WxH.png``; menus and dialogs
are saved at their own size, and each menu's entries and shortcuts are printed. The script stops
when a page makes the window grow past the size asked for (a minimum size too wide for the
screen) and prints the Configure dock's width with each shot (a page whose minimum width is too
large takes it from the dock, on every tab). The README's screenshots come from
``scripts/screenshots.py`` and the feature scripts; this one is for looking at everything.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QWidget
from screenshots import (  # scripts/screenshots.py: the helpers the screenshot scripts share
    pump,
    train_and_wait,
)

from lrstudio.core.config import DatasetConfig, RunConfig

SIZES = ((1400, 900), (1366, 768))


def save(widget: QWidget, path: Path, size: tuple[int, int] | None = None) -> None:
    pix = widget.grab()
    if size is not None and (pix.width(), pix.height()) != size:
        raise SystemExit(f"{path.name}: the window is {pix.width()}x{pix.height()}, not {size[0]}x{size[1]}")
    if not pix.save(str(path)):
        raise SystemExit(f"could not write {path}")
    print(f"wrote {path} ({pix.width()}x{pix.height()})")


def windsor(name: str, optimizer: str, lr: float, schedule: dict, epochs: int = 30) -> RunConfig:
    return RunConfig(name=name, model="linear", dataset=DatasetConfig(name="windsor"),
                     optimizer={"name": optimizer, "params": {}}, lr=lr, schedule=schedule, epochs=epochs,
                     batch_size=32, seed=1)


def external_run(url: str) -> None:
    """A user's own loop logged with lrstudio.start_run (a noisy decaying loss, a cosine LR)."""
    import lrstudio

    with lrstudio.start_run(name="my loop: resnet try", db=url,
                            config={"lr": 0.1, "batch": 128, "optimizer": "sgd", "model": "resnet18",
                                    "aug": ["flip"]}) as run:
        for step in range(1, 201):
            lr = 0.05 * (1 + math.cos(math.pi * step / 200))
            run.log({"train/loss": 2.3 * math.exp(-step / 60) + 0.2 + 0.05 * math.sin(step), "lr": lr},
                    step=step, epoch=step // 40)
            if step % 40 == 0:
                run.log({"val/loss": 2.3 * math.exp(-step / 70) + 0.3, "val/acc": 1 - math.exp(-step / 80)},
                        step=step)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=str(Path(tempfile.gettempdir()) / "lrstudio-tour"))
    args = ap.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    from lrstudio.gui.app import create_application

    app = create_application(sys.argv[:1])
    from lrstudio.gui.main_window import MainWindow
    from lrstudio.storage import open_store

    tmp = Path(tempfile.mkdtemp(prefix="lrstudio-tour-"))
    url = f"sqlite:///{tmp / 'lrstudio.sqlite'}"
    store = open_store(url)
    window = MainWindow(store, url, settings=QSettings(str(tmp / "s.ini"), QSettings.Format.IniFormat))
    window.resize(*SIZES[0])
    window.show()
    pump(app, 0.5)

    # -- the history: training runs, a range test, a sweep, playground runs, an external run ----
    trained = [
        train_and_wait(app, window, windsor("sgd 0.03 cosine", "sgd", 0.03, {"name": "cosine", "params": {"T_max": "auto"}})),
        train_and_wait(app, window, windsor("adam 0.01 constant", "adam", 0.01, {"name": "constant", "params": {}})),
    ]
    cnn = RunConfig(name="cnn digits one-cycle", model="cnn", dataset=DatasetConfig(name="digits"),
                    optimizer={"name": "sgd", "params": {"momentum": 0.9}}, lr=0.05,
                    schedule={"name": "one_cycle", "params": {"total_steps": "auto"}}, epochs=3, batch_size=64, seed=0)
    trained.append(train_and_wait(app, window, cnn))

    from lrstudio.core.lr_finder import RangeTestOptions
    from lrstudio.services.range_test_run import run_range_test

    range_id = run_range_test(windsor("range test", "sgd", 0.01, {"name": "constant", "params": {}}),
                              RangeTestOptions(), url, store=store).run_id
    external_run(url)

    window.tabs.setCurrentWidget(window.playground_page)
    pump(app, 0.3)
    window.playground_page.view.apply_preset("momentum")
    pump(app, 0.3)
    playground_ids = window.playground_page.view.save_runs()

    window.config_panel.set_config(windsor("windsor sweep", "sgd", 0.01, {"name": "constant", "params": {}},
                                           epochs=8))
    window.tabs.setCurrentWidget(window.sweeps_page)
    pump(app, 0.3)
    panel = window.sweeps_page.panel
    panel.editor.name_edit.setText("windsor sgd: lr, momentum")
    panel.editor.set_dimension("lr", {"log_uniform": [1e-4, 0.3]})
    panel.editor.add_parameter("optimizer.params.momentum", {"uniform": [0.0, 0.95]})
    panel.editor.set_method("random", trials=6, seeds=(0,), parallel=2)
    if panel.create_and_start() is None:
        raise SystemExit(panel.message.text())
    while window.sweeps_page.is_running():
        pump(app, 0.2)
    pump(app, 0.5)
    panel.refresh()
    window.poll_database()
    window.runs_panel.refresh()
    pump(app, 0.5)
    print("runs:", trained, "range test:", range_id, "playground:", playground_ids)

    # -- the tour -------------------------------------------------------------------------------
    window.config_panel.set_config(cnn)
    compare = window.compare
    for w, h in SIZES:
        window.resize(w, h)
        pump(app, 0.5)
        tag = f"{w}x{h}"

        def shot(name: str, _tag: str = tag, _size: tuple[int, int] = (w, h)) -> None:
            pump(app, 0.4)
            save(window, out / f"{name}-{_tag}.png", _size)
            print(f"  Configure dock {window.config_dock.width()} px wide")

        window.tabs.setCurrentWidget(window.train_page)
        window.runs_panel.select_runs([trained[-1]])
        shot("01-train")
        advanced = getattr(window.config_panel, "advanced_form", None)
        if advanced is not None:
            window.config_scroll.ensureWidgetVisible(advanced)
            shot("02-configure-advanced")
        window.config_scroll.verticalScrollBar().setValue(0)
        external = [r.id for r in window.runs_panel.model.runs() if r.kind == "external"]
        window.runs_panel.select_runs(trained[:2] + external)
        window.tabs.setCurrentWidget(window.compare_page)
        for i in range(compare.views.count()):
            compare.views.setCurrentIndex(i)
            shot(f"03-compare-{i}-{compare.views.tabText(i).split(' ')[0].lower()}")
        window.runs_panel.select_runs([range_id])
        pump(app, 0.5)
        if window.compare_page.range_tests is not None:
            compare.views.setCurrentWidget(window.compare_page.range_tests)
            shot("04-compare-range-tests")
        compare.views.setCurrentIndex(0)
        window.tabs.setCurrentWidget(window.playground_page)
        shot("05-playground")
        window.tabs.setCurrentWidget(window.sweeps_page)
        for i in range(panel.views.count()):
            panel.views.setCurrentIndex(i)
            shot(f"06-sweeps-{i}")
        panel.views.setCurrentIndex(0)
        window.tabs.setCurrentWidget(window.train_page)

    # -- menus, at their own size --------------------------------------------------------------
    window.resize(*SIZES[0])
    pump(app, 0.3)
    for act in window.menuBar().actions():
        menu = act.menu()
        name = act.text().replace("&", "").lower()
        menu.popup(window.mapToGlobal(window.rect().topLeft()))
        pump(app, 0.3)
        save(menu, out / f"07-menu-{name}.png")
        for a in menu.actions():
            if not a.isSeparator():
                print(f"  menu {name}: {a.text()!r} {a.shortcut().toString()!r} enabled={a.isEnabled()}")
        menu.hide()

    # -- dialogs ---------------------------------------------------------------------------------
    window.resize(*SIZES[1])
    dlg = window.find_lr()
    if dlg is not None:
        pump(app, 0.5)
        save(dlg, out / "08-find-lr-default.png")
        dlg.close()
    window.close()
    pump(app, 0.3)
    store.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
