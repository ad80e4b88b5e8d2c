"""The run configuration: everything needed to reproduce a training run.

A :class:`RunConfig` is plain data with a schema version. It round-trips through JSON
(``to_json``/``from_json``); older JSON is upgraded by small registered functions in
``_MIGRATORS`` (napari's ``@migrator`` habit) before it is validated.

Field declarations (:data:`RUN_FIELDS`, :data:`DATASET_FIELDS`) are :class:`~lrstudio.core.params.Param`
objects, so the GUI form and the CLI flags are generated from them and the bounds live here only.
The optimizer and the schedule are nested specs ``{"name": ..., "params": {...}}`` validated by
their own registries (``lrstudio.core.optimizers``, ``lrstudio.core.schedules``).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from lrstudio.core.datasets import DATASETS as _CATALOGUE
from lrstudio.core.datasets import model_datasets
from lrstudio.core.jsonio import parse_user_json, read_user_json
from lrstudio.core.params import Param, ParamError, validate_params

SCHEMA_VERSION = 4

MODELS = ("linear", "cnn")
DATASETS = tuple(_CATALOGUE)  # the data-set catalogue, core/datasets.py
# Which data sets each model can train on.
MODEL_DATASETS = {model: model_datasets(model) for model in MODELS}

DATASET_FIELDS: tuple[Param, ...] = (
    Param("name", "choice", "windsor", "Data set", choices=DATASETS, title="Data set"),
    Param("path", "str", "", "CSV file (csv) or folder with IDX files (mnist)", title="Path"),
    Param("target", "str", "", "Target column (csv, windsor); empty = the default target", title="Target"),
    Param("features", "str", "", "Comma-separated feature columns; empty = all other numeric columns",
          title="Features"),
    Param("val_fraction", "float", 0.2, "Fraction of rows held out for validation (0 = none)",
          low=0.0, high=0.9, title="Validation fraction"),
    Param("n_samples", "int", 200, "Synthetic: number of houses", low=10, high=1_000_000, title="Samples"),
    Param("true_w", "float", 2.0, "Synthetic: true price per unit of area", title="True w"),
    Param("true_b", "float", 300.0, "Synthetic: true base price", title="True b"),
    Param("noise", "float", 10.0, "Synthetic: standard deviation of the price noise", low=0.0,
          title="Noise"),
    Param("extra_features", "int", 0, "Synthetic: extra random features with their own true weights",
          low=0, high=50, title="Extra features"),
    Param("unscaled", "bool", False,
          "Synthetic: keep raw m² and prices (a large LR then diverges, as in the classic example)",
          title="Unscaled"),
    Param("variant", "choice", "mnist", "MNIST-format files: which file names to look for",
          choices=("mnist", "fashion-mnist"), title="Variant"),
    Param("limit", "int", 0, "Use at most this many training examples (0 = all)", low=0, title="Limit"),
)

RUN_FIELDS: tuple[Param, ...] = (
    Param("name", "str", "", "Run name (empty: generated)", title="Run name"),
    Param("model", "choice", "linear", "Reference model", choices=MODELS, title="Model"),
    Param("init", "choice", "default", "Weight initialisation",
          choices=("default", "kaiming", "xavier", "zeros"), title="Init"),
    Param("lr", "float", 0.01, "Base learning rate", low=1e-30, high=1e6, title="Learning rate"),
    Param("schedule_unit", "choice", "step", "Advance the schedule per optimizer step or per epoch",
          choices=("step", "epoch"), title="Schedule unit"),
    Param("epochs", "int", 10, "Number of epochs", low=1, high=1_000_000, title="Epochs"),
    Param("max_steps", "int", None, "Stop after this many optimizer steps (empty: epochs decide)",
          low=1, optional=True, title="Max steps"),
    Param("batch_size", "int", 0, "Minibatch size: 0 = full batch (GD), 1 = SGD, k = minibatch",
          low=0, high=10_000_000, title="Batch size"),
    Param("seed", "int", 0, "Random seed (data split, init, shuffling)", low=0, high=2**32 - 1, title="Seed"),
    Param("clip_mode", "choice", "none", "Gradient clipping", choices=("none", "norm", "value"),
          title="Clipping"),
    Param("clip_value", "float", 1.0, "Max gradient norm (norm) or absolute value (value)",
          low=0.0, low_open=True, title="Clip at"),
    Param("weight_decay", "float", 0.0, "L2 weight decay passed to the optimizer", low=0.0, title="Weight decay"),
    Param("divergence_factor", "float", 1e4,
          "Stop as diverged when the loss exceeds this multiple of the first loss (NaN/inf always stop)",
          low=1.0, low_open=True, title="Divergence ×"),
    Param("device", "choice", "cpu", "Where to train", choices=("cpu", "cuda"), title="Device"),
    Param("val_every", "int", 0,
          "Validate every k epochs; 0 = auto (after the first epoch, then at most once per 200 steps "
          "and ~1 % of the training time, every epoch if the schedule needs the metric; always "
          "after the last epoch)",
          low=0, high=1_000_000, title="Validate every"),
    Param("grad_norm_every", "int", 10,
          "Record the gradient norm every k steps (every step when clipping by norm needs it)",
          low=1, high=1_000_000, title="Grad norm every"),
)


@dataclass
class DatasetConfig:
    name: str = "windsor"
    path: str = ""
    target: str = ""
    features: str = ""
    val_fraction: float = 0.2
    n_samples: int = 200
    true_w: float = 2.0
    true_b: float = 300.0
    noise: float = 10.0
    extra_features: int = 0
    unscaled: bool = False
    variant: str = "mnist"
    limit: int = 0

    def feature_list(self) -> list[str]:
        return [f.strip() for f in self.features.split(",") if f.strip()]


def _default_optimizer() -> dict[str, Any]:
    return {"name": "sgd", "params": {}}


def _default_schedule() -> dict[str, Any]:
    return {"name": "constant", "params": {}}


@dataclass
class RunConfig:
    """Typed, validated configuration of one training run."""

    name: str = ""
    model: str = "linear"
    init: str = "default"
    dataset: DatasetConfig = field(default_factory=DatasetConfig)
    optimizer: dict[str, Any] = field(default_factory=_default_optimizer)
    lr: float = 0.01
    schedule: dict[str, Any] = field(default_factory=_default_schedule)
    schedule_unit: str = "step"
    epochs: int = 10
    max_steps: int | None = None
    batch_size: int = 0
    seed: int = 0
    clip_mode: str = "none"
    clip_value: float = 1.0
    weight_decay: float = 0.0
    divergence_factor: float = 1e4
    device: str = "cpu"
    # Added in issue 11 without a schema bump: a stored config without them loads with these
    # defaults, and they change only how often validation and the gradient norm are *recorded*,
    # never the training itself (the loss/LR series), except for a metric-driven schedule, which
    # is validated every epoch under "auto" exactly as before. See lrstudio/trainer/loop.py.
    val_every: int = 0
    grad_norm_every: int = 10
    schema_version: int = SCHEMA_VERSION

    # -- validation ----------------------------------------------------------------------------
    def validated(self) -> RunConfig:
        """Return a checked copy; raise :class:`ParamError` naming the first bad field.

        Checks the run fields and the data-set fields here; the optimizer and the schedule
        specs are checked by their registries when those are importable.
        """
        run_vals = validate_params(RUN_FIELDS, {f.name: getattr(self, f.name) for f in RUN_FIELDS}, "run")
        ds_vals = validate_params(DATASET_FIELDS, asdict(self.dataset), "data set")
        if ds_vals["name"] not in MODEL_DATASETS[run_vals["model"]]:
            raise ParamError(
                "dataset", ds_vals["name"],
                f"a data set for model {run_vals['model']!r}: " + ", ".join(MODEL_DATASETS[run_vals["model"]]),
                "run",
            )
        if _CATALOGUE[ds_vals["name"]].needs_path and not ds_vals["path"]:
            raise ParamError("path", "", f"a path for data set {ds_vals['name']!r}", "data set")
        if ds_vals["name"] == "synthetic" and ds_vals["unscaled"] and ds_vals["extra_features"]:
            raise ParamError("extra_features", ds_vals["extra_features"],
                             "0 when unscaled (the unscaled example has area only)", "data set")
        # Late imports (the registries import nothing heavy, but config stays cheap to import).
        from lrstudio.core import optimizers, schedules

        opt = optimizers.validate_spec(self.optimizer)
        sched = schedules.validate_spec(self.schedule)
        return replace(
            self,
            **run_vals,
            dataset=DatasetConfig(**ds_vals),
            optimizer=opt,
            schedule=sched,
            schema_version=SCHEMA_VERSION,
        )

    # -- JSON ----------------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["schema_version"] = SCHEMA_VERSION
        return d

    def to_json(self, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(), indent=indent, allow_nan=False)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RunConfig:
        """Build a config from (possibly older) JSON data; unknown keys are an error."""
        if not isinstance(data, Mapping):
            raise ParamError("", data, "a run configuration must be a JSON object", "config")
        data = migrate(dict(data))
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ParamError(unknown[0], data[unknown[0]], "a known config field: " + ", ".join(sorted(known)),
                             "config")
        ds = data.get("dataset", {})
        if not isinstance(ds, Mapping):
            raise ParamError("dataset", ds, "an object with data-set fields", "config")
        ds_known = {f.name for f in fields(DatasetConfig)}
        ds_unknown = sorted(set(ds) - ds_known)
        if ds_unknown:
            raise ParamError(ds_unknown[0], ds[ds_unknown[0]],
                             "a known data-set field: " + ", ".join(sorted(ds_known)), "data set")
        return cls(**{**data, "dataset": DatasetConfig(**ds)})

    @classmethod
    def from_json(cls, text: str, what: str = "config") -> RunConfig:
        """Parse with :func:`~lrstudio.core.jsonio.parse_user_json` (BOM, deep nesting, huge ints)."""
        return cls.from_dict(parse_user_json(text, what))

    @classmethod
    def from_file(cls, path: str | Path) -> RunConfig:
        """A config from a user's JSON file (UTF-8, a BOM allowed); ParamError naming the file."""
        return cls.from_dict(read_user_json(path, "config file"))

    # -- display helpers -----------------------------------------------------------------------
    def describe(self) -> str:
        """One-line description: ``linear/windsor adam lr=0.01 cosine``."""
        return (
            f"{self.model}/{self.dataset.name} {self.optimizer.get('name')} lr={self.lr:g} "
            f"{self.schedule.get('name')}"
        )


def check_runnable(config: RunConfig, n_train: int | None = None) -> RunConfig:
    """Every check that can run before the data load; return the validated config.

    The one pre-run gate: the CLI (``train``, ``train --print-config``), the GUI and
    :func:`lrstudio.trainer.loop.train` call it before anything is created, so a config that fails
    here never becomes a run row. It runs :meth:`RunConfig.validated`, the model/option checks, and,
    when the number of training examples is known, the run-length checks of
    :func:`~lrstudio.core.schedules.check_run_length` (a warm-up longer than the run, a curve that
    turns negative or overflows at some step). Whether CUDA is available needs torch: that check is
    :func:`lrstudio.trainer.loop.check_device`, which the callers that train run as well.

    ``n_train``: training examples, when the caller has loaded the data; otherwise it is taken from
    :func:`~lrstudio.core.datasets.known_train_size` for the built-in data sets (windsor, digits,
    synthetic) and the length checks are skipped for csv/mnist until their files are read (call
    again with ``n_train`` then).

    Raises
    ------
    ParamError
        Naming the field, the value and what is allowed.
    """
    cfg = config.validated()
    if cfg.model == "cnn" and cfg.init == "zeros":
        raise ParamError("init", "zeros", "default, kaiming or xavier for the CNN (zeros is for the linear "
                         "model only)", "run")
    from lrstudio.core import schedules
    from lrstudio.core.optimizers import OPTIMIZERS
    from lrstudio.core.plan import plan_run
    from lrstudio.core.schedules.momentum import check_momentum

    # momentum cycling needs an optimizer with momentum or beta1 (torch's rule; issue 15)
    check_momentum(cfg.schedule, cfg.optimizer["name"], OPTIMIZERS[cfg.optimizer["name"]].torch_class)
    try:
        plan = plan_run(cfg, n_train, estimate=False)  # ParamError for a size below 1
    except LookupError:  # csv/mnist before their files are read
        return cfg
    schedules.check_run_length(cfg.schedule, plan.schedule_steps, base_lr=cfg.lr)
    return cfg


def starter_config() -> RunConfig:
    """What a new user sees first: a run that shows a schedule at work in a few seconds.

    Linear regression on the Windsor prices with minibatch Adam (batch 32, 14 steps an epoch,
    30 epochs = 420 steps), a 40-step linear warm-up into a cosine decay that ends with the run.
    """
    steps, warm = 420, 40
    return RunConfig(
        model="linear", dataset=DatasetConfig(name="windsor"), optimizer={"name": "adam", "params": {}},
        lr=0.01, batch_size=32, epochs=30,
        schedule={"name": "linear_warmup", "params": {
            "warmup_steps": warm,
            "inner": {"name": "cosine", "params": {"T_max": steps - warm, "after_end": "hold"}},
        }},
    )


# -- schema migrations ------------------------------------------------------------------------
_MIGRATORS: dict[int, Callable[[dict[str, Any]], dict[str, Any]]] = {}


def migrator(from_version: int) -> Callable[[Callable[[dict[str, Any]], dict[str, Any]]],
                                            Callable[[dict[str, Any]], dict[str, Any]]]:
    """Register a function that upgrades config data from ``from_version`` to ``from_version+1``."""

    def deco(fn: Callable[[dict[str, Any]], dict[str, Any]]) -> Callable[[dict[str, Any]], dict[str, Any]]:
        _MIGRATORS[from_version] = fn
        return fn

    return deco


def _set_default_in_schedule(data: dict[str, Any], names: tuple[str, ...], key: str, value: Any) -> dict[str, Any]:
    """``data`` with ``params[key] = value`` in every schedule named one of ``names`` (nested ones
    included, a bare name too) whose params do not say ``key``: a default that changed keeps the
    meaning an older config had."""

    def walk(spec: Any) -> Any:
        if isinstance(spec, str) and spec in names:
            spec = {"name": spec}
        if isinstance(spec, Mapping):
            spec = dict(spec)
            params = spec.get("params")
            if params is None and spec.get("name") in names:
                params = {}
            if isinstance(params, Mapping):
                params = {k: walk(v) for k, v in params.items()}
                if spec.get("name") in names:
                    params.setdefault(key, value)
                spec["params"] = params
            return spec
        if isinstance(spec, list):
            return [walk(s) for s in spec]
        return spec

    if "schedule" in data:
        data["schedule"] = walk(data["schedule"])
    return data


@migrator(1)
def _v1_lr_only_cycles(data: dict[str, Any]) -> dict[str, Any]:
    """Schema 2 (issue 15): one_cycle and cyclic cycle momentum by default, as torch does. A config
    stored before changed the LR only: say so (cycle_momentum false) in every one_cycle / cyclic of
    its schedule, nested ones included, where the key is absent."""
    return _set_default_in_schedule(data, ("one_cycle", "cyclic"), "cycle_momentum", False)


@migrator(2)
def _v2_lengths_in_steps(data: dict[str, Any]) -> dict[str, Any]:
    """Schema 3 (issue 15): a schedule's length parameters may be a share of the run ("auto", "10%"),
    resolved to steps when the run is planned. A schema-2 config has plain integers there, which keep
    meaning steps: nothing to change. The version says that an older lrstudio cannot read a config
    with shares (it refuses "written by a newer lrstudio" instead of a confusing parameter error)."""
    return data


@migrator(3)
def _v3_fast_noise_draws(data: dict[str, Any]) -> dict[str, Any]:
    """Schema 4 (issue 15): the noise wrapper draws timm's own numbers by default
    (``noise_draws="timm"``, commit 071330b). Before, it drew lrstudio's seeded Philox numbers, now
    ``noise_draws="fast"``: a noise wrapper of an older config without the key keeps those draws, so
    it trains as it did (tests/trainer/test_run_shares_training.py, schema-2 runs). A stored config
    is normalised (every parameter written), so one stored since says "timm" itself."""
    return _set_default_in_schedule(data, ("noise",), "noise_draws", "fast")


# Next migrator: @migrator(4) (bump SCHEMA_VERSION to 5); _MIGRATORS is a dict, a second
# @migrator(3) would replace the one above.
def migrate(data: dict[str, Any]) -> dict[str, Any]:
    version = data.get("schema_version", SCHEMA_VERSION)
    if not isinstance(version, int) or version < 1:
        raise ParamError("schema_version", version, "a positive integer", "config")
    if version > SCHEMA_VERSION:
        raise ParamError(
            "schema_version", version,
            f"at most {SCHEMA_VERSION}: this config was written by a newer lrstudio; update lrstudio",
            "config",
        )
    while version < SCHEMA_VERSION:
        data = _MIGRATORS[version](data)
        version += 1
        data["schema_version"] = version
    return data
