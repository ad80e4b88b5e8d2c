"""Screenshots of the Configure preview with the issue-15 schedules, for the README.

    QT_QPA_PLATFORM=offscreen python scripts/screenshots_schedules.py [--out docs/img]

At 1400×900 (the default window size) and 1366×768, the real MainWindow against a temporary database:
``preview-hf-restarts-WxH.png`` (HF cosine_with_restarts with a 10 % warm-up, lengths as shares of the
run) and ``preview-one-cycle-momentum-WxH.png`` (one_cycle over the run with SGD momentum: the
momentum curve under the LR); each also as ``...-detail.png``, the preview dock alone.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from screenshots import (  # scripts/screenshots.py: the helpers the screenshot scripts share
    fresh_window,
    pump,
)

from lrstudio.core.config import DatasetConfig, RunConfig

SIZES = ((1400, 900), (1366, 768))
SHOTS = {
    "preview-hf-restarts": RunConfig(
        name="hf restarts", model="cnn", dataset=DatasetConfig(name="digits"), lr=3e-3, epochs=20, batch_size=32,
        optimizer={"name": "adamw", "params": {}},
        schedule={"name": "hf_cosine_with_restarts", "params": {
            "num_warmup_steps": "10%", "num_training_steps": "auto", "num_cycles": 3}}),
    "preview-one-cycle-momentum": RunConfig(
        name="one-cycle", model="linear", dataset=DatasetConfig(name="windsor"), lr=0.05, epochs=40, batch_size=32,
        optimizer={"name": "momentum", "params": {"momentum": 0.9}},
        schedule={"name": "one_cycle", "params": {"total_steps": "auto", "pct_start": 0.3}}),
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(Path(__file__).resolve().parent.parent / "docs" / "img"))
    args = parser.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    app, window, _tmp = fresh_window()
    window.show()
    for w, h in SIZES:
        window.resize(w, h)
        pump(app, 0.3)
        for name, cfg in SHOTS.items():
            window.config_panel.set_config(cfg)
            pump(app, 0.2)
            window.preview.flush()
            editor = window.config_panel.schedule_editor
            top = editor.mapTo(window.config_panel, editor.rect().topLeft()).y()
            window.config_scroll.verticalScrollBar().setValue(top - 95)  # the LR field and the schedule form
            pump(app, 0.3)
            path = out / f"{name}-{w}x{h}.png"
            window.grab().save(str(path))
            window.preview.grab().save(str(out / f"{name}-{w}x{h}-detail.png"))  # the preview dock alone
            print(path, "|", window.preview.info_label.text())
    window.close()
    pump(app, 0.2)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
