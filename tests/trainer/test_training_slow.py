"""The small CNN on the real digits: the acceptance run (slow) and a quick variant (default suite)."""

from __future__ import annotations

import time

import pytest

from lrstudio.core.config import DatasetConfig, RunConfig
from lrstudio.core.events import ListReporter
from lrstudio.core.plan import run_length
from lrstudio.trainer.loop import train


def digits_config(epochs: int, limit: int = 0) -> RunConfig:
    n_train = 1438 if not limit else limit  # 1797 images, 20 % held out (stratified)
    spe, total, _ = run_length(n_train, 64, epochs, None)
    return RunConfig(
        model="cnn", dataset=DatasetConfig(name="digits", limit=limit), optimizer={"name": "adam"}, lr=0.01,
        epochs=epochs, batch_size=64, seed=0,
        schedule={"name": "cosine", "params": {"T_max": total, "after_end": "hold"}},
    )


@pytest.mark.slow
def test_cnn_on_digits_reaches_95_percent_within_10_epochs():
    rep = ListReporter()
    t0 = time.perf_counter()
    s = train(digits_config(10), rep)
    elapsed = time.perf_counter() - t0
    accs = rep.series("val/acc")
    print(f"CNN digits: {elapsed:.1f} s, val acc per epoch {[round(a, 3) for a in accs]}")
    assert s.status == "completed" and s.epochs == 10
    assert max(accs) >= 0.95 and accs[-1] >= 0.95  # time: printed only (speed lives in bench/)


def test_cnn_on_digits_learns_quickly():
    rep = ListReporter()
    s = train(digits_config(3, limit=700), rep)
    assert s.status == "completed" and s.epochs == 3
    accs = rep.series("val/acc")
    assert accs[-1] >= 0.85 and accs[-1] > accs[0] - 0.02
    assert s.extra["train_acc"] > 0.5
