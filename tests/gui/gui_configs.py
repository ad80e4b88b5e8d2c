"""Tiny, fast run configurations for the GUI tests (imported as ``from gui_configs import ...``)."""

from __future__ import annotations

from lrstudio.core.config import DatasetConfig, RunConfig


def tiny_config(**overrides) -> RunConfig:
    """Linear regression on 64 synthetic houses: a few dozen steps, well under a second."""
    base = dict(
        name="tiny",
        model="linear",
        dataset=DatasetConfig(name="synthetic", n_samples=64, val_fraction=0.25),
        optimizer={"name": "sgd", "params": {}},
        lr=0.05,
        schedule={"name": "constant", "params": {}},
        epochs=4,
        batch_size=8,
        seed=1,
    )
    base.update(overrides)
    return RunConfig(**base)


def long_config(**overrides) -> RunConfig:
    """Many small steps (SGD, batch 1) so that a test can stop or close mid-run."""
    return tiny_config(name="long", epochs=2000, batch_size=1, **overrides)
