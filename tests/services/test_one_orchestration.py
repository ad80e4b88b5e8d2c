"""Issue 10 acceptance, one orchestration: the same failing configs through the CLI (``cli.main``
in-process) and through the GUI (the real ``TrainingController``, pytest-qt) store the same thing.

Each case runs once per front end, each into its own database, and the stored outcome is compared
whole: whether a run row exists (or the refusal's message when none does), its status, steps,
epochs, error text, divergence step, and every stored series (steps, epochs and values, exactly;
wall times aside).
"""

from __future__ import annotations

import signal
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from lrstudio.cli import main
from lrstudio.core.config import DatasetConfig, RunConfig
from lrstudio.core.errors import LrstudioError
from lrstudio.core.events import StepLogged
from lrstudio.services import training_run
from lrstudio.storage import open_store

pytestmark = pytest.mark.gui

LONG_WARMUP = {"name": "linear_warmup", "params": {
    "warmup_steps": 500, "inner": {"name": "cosine", "params": {"T_max": 100}}}}
STOP_AFTER = 37
_MAKE_REPORTER = training_run.make_reporter


def _base(**overrides: Any) -> RunConfig:
    base: dict[str, Any] = dict(
        name="case", model="linear", dataset=DatasetConfig(name="synthetic", n_samples=64, val_fraction=0.25),
        optimizer={"name": "sgd", "params": {}}, lr=0.05, schedule={"name": "constant", "params": {}},
        epochs=4, batch_size=8, seed=1,
    )
    base.update(overrides)
    return RunConfig(**base)


def _missing_csv(tmp: Path) -> RunConfig:
    return _base(dataset=DatasetConfig(name="csv", path=str(tmp / "missing.csv"), target="y"))


def _corrupt_csv(tmp: Path) -> RunConfig:
    path = tmp / "corrupt.csv"
    path.write_text("x,y\n1,3\n2,5\n3\n4,9\n")  # row 3 has one field
    return _base(dataset=DatasetConfig(name="csv", path=str(path), target="y"))


def _binary_csv(tmp: Path) -> RunConfig:
    path = tmp / "binary.csv"
    path.write_bytes(b"x,y\n1,2\n\x00\xff\xfe garbage\n")
    return _base(dataset=DatasetConfig(name="csv", path=str(path), target="y"))


def _warmup_longer_than_the_run(tmp: Path) -> RunConfig:
    return _base(max_steps=100, schedule=LONG_WARMUP)


def _warmup_longer_than_a_csv_run(tmp: Path) -> RunConfig:
    path = tmp / "small.csv"
    path.write_text("x,y\n" + "".join(f"{i},{2 * i + 1}\n" for i in range(20)))
    # 16 training rows, full batch, 10 epochs: 10 steps, shorter than the 500-step warm-up.
    return _base(dataset=DatasetConfig(name="csv", path=str(path), target="y"), batch_size=0, epochs=10,
                 schedule=LONG_WARMUP)


def _diverges(tmp: Path) -> RunConfig:
    return _base(dataset=DatasetConfig(name="synthetic", unscaled=True), lr=0.1, epochs=50, batch_size=0)


def _huge_lr(tmp: Path) -> RunConfig:
    return _base(lr=1e6)


def _stopped(tmp: Path) -> RunConfig:
    return _base(epochs=2000, batch_size=1)


CASES = {
    "missing csv": (_missing_csv, "failed"),
    "corrupt csv": (_corrupt_csv, "failed"),
    "binary csv": (_binary_csv, "failed"),
    "warm-up longer than the run": (_warmup_longer_than_the_run, None),
    "warm-up longer than a csv's run": (_warmup_longer_than_a_csv_run, "failed"),
    "diverges (unscaled)": (_diverges, "diverged"),
    "diverges (huge LR)": (_huge_lr, "diverged"),
    "stopped after 37 steps": (_stopped, "stopped"),
}


def _outcome(url: str, refusal: str | None) -> dict[str, Any]:
    """What the database holds after one try (plus the refusal's message when nothing ran)."""
    with open_store(url) as store:
        runs = store.list_runs()
        if not runs:
            return {"run": None, "refusal": refusal}
        assert len(runs) == 1
        info = store.get_run(runs[0].id)
        series = store.load_series(info.id)
    return {
        "run": info.id, "refusal": refusal, "status": info.status, "steps": info.steps, "epochs": info.epochs,
        "error": info.error, "diverged_step": info.diverged_step,
        "series": {k: (s.step.tolist(), s.epoch.tolist(), s.value) for k, s in sorted(series.items())},
    }


def _stop_at(monkeypatch: pytest.MonkeyPatch, step: int, request_stop: Any) -> None:
    """After the service's reporter has reported ``step``, ask the front end to stop its own way."""
    real = _MAKE_REPORTER

    def make(sink: Any, stop: Any, options: Any) -> Any:
        reporter = real(sink, stop, options)
        emit = reporter.emit

        def emit_then_stop(event: Any) -> None:
            emit(event)
            if isinstance(event, StepLogged) and event.step == step:
                request_stop()

        reporter.emit = emit_then_stop
        return reporter

    monkeypatch.setattr(training_run, "make_reporter", make)


def _through_cli(cfg: RunConfig, tmp: Path, capsys: Any, monkeypatch: pytest.MonkeyPatch,
                 stop_after: int | None) -> dict[str, Any]:
    db = tmp / "cli.sqlite"
    path = tmp / "run.json"
    path.write_text(cfg.to_json())
    if stop_after is not None:  # what Ctrl-C does; the handler runs inside raise_signal, in this thread
        _stop_at(monkeypatch, stop_after, lambda: signal.raise_signal(signal.SIGINT))
    capsys.readouterr()
    rc = main(["--db", str(db), "train", "--config", str(path), "--quiet"])
    err = capsys.readouterr().err
    refusal = None
    if rc == 2:
        assert err.startswith("lrstudio: error: ") and err.count("\n") == 1, err
        refusal = err.removeprefix("lrstudio: error: ").rstrip("\n")
    out = _outcome(f"sqlite:///{db}", refusal)
    assert rc == {None: 2, "failed": 1}.get(out.get("status"), 0), err
    return out


def _through_gui(cfg: RunConfig, tmp: Path, qtbot: Any, monkeypatch: pytest.MonkeyPatch,
                 stop_after: int | None) -> dict[str, Any]:
    from lrstudio.gui.controller import TrainingController

    url = f"sqlite:///{tmp / 'gui.sqlite'}"
    refusal = None
    with open_store(url) as store:
        controller = TrainingController(store, url)
        if stop_after is not None:  # what the Stop button does (from the worker thread: thread-safe)
            # The hook patches this process's reporter: the run must train here (thread mode);
            # every other case trains in the controller's child process (issue 11).
            controller.set_separate_process(False)
            _stop_at(monkeypatch, stop_after, controller.stop)
        blocker = qtbot.waitSignal(controller.finished, timeout=60_000)
        try:
            controller.start(cfg)
        except LrstudioError as exc:
            refusal = str(exc)
        else:
            blocker.wait()
        finally:
            controller.shutdown()
    return _outcome(url, refusal)


def _assert_same(a: dict[str, Any], b: dict[str, Any]) -> None:
    sa, sb = a.pop("series", {}), b.pop("series", {})
    assert a == b
    assert sa.keys() == sb.keys()
    for key in sa:
        assert sa[key][:2] == sb[key][:2], key
        np.testing.assert_array_equal(sa[key][2], sb[key][2], err_msg=key)  # NaN == NaN here


@pytest.mark.parametrize("case", list(CASES))
def test_the_cli_and_the_gui_store_the_same_outcome(case, tmp_path, qtbot, capsys, monkeypatch):
    make, status = CASES[case]
    stop_after = STOP_AFTER if status == "stopped" else None
    (tmp_path / "cli").mkdir()
    (tmp_path / "gui").mkdir()
    # One config (paths included) for both front ends.
    cfg = make(tmp_path)
    cli = _through_cli(cfg, tmp_path / "cli", capsys, monkeypatch, stop_after)
    gui = _through_gui(cfg, tmp_path / "gui", qtbot, monkeypatch, stop_after)

    # The outcome is what the policy says (training_run's docstring) ...
    assert cli.get("status") == status
    if status is None:
        assert cli["run"] is None and "warmup_steps = 500" in cli["refusal"]
    elif status == "failed":
        assert cli["steps"] == 0 and cli["error"] and cli["series"] == {}
    elif status == "stopped":
        assert cli["steps"] == STOP_AFTER and len(cli["series"]["train/loss"][0]) == STOP_AFTER
    elif status == "diverged":
        assert cli["diverged_step"] == cli["steps"] and len(cli["series"]["train/loss"][0]) == cli["steps"]
    # ... and the same through both front ends.
    _assert_same(cli, gui)
