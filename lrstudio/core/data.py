"""Data sets for the reference models, loaded into a :class:`Dataset` of numpy arrays.

Every loader returns the same shape of object: a seeded train/validation split, the feature and
target names, and what the app needs to speak in the data's own units (the target scaler for an
RMSE in price units, the true ``w``/``b`` of the synthetic data, the feature scaler to turn learned
standardised weights back into original units). Nothing is downloaded; bad input raises
:class:`~lrstudio.core.errors.DataError` with a message that names the column or row and says what
is allowed.

Sources of the shipped files (``resources/data/README.md``):

* ``windsor_housing.csv`` — sales prices of 546 houses in Windsor, Canada, 1987. Anglin, P.M. and
  R. Gencay (1996), "Semiparametric estimation of a hedonic price function", *Journal of Applied
  Econometrics* 11(6), 633-648; Journal of Applied Econometrics data archive (also R package
  Ecdat, data set ``Housing``).
* ``digits.csv.gz`` — UCI ML repository, "Optical Recognition of Handwritten Digits"
  (E. Alpaydin, C. Kaynak, 1998), 1797 8x8 images with pixels 0..16, the test-set copy shipped
  with scikit-learn, CC BY 4.0.
* MNIST (LeCun, Cortes, Burges) and Fashion-MNIST (Xiao, Rasul, Vollgraf, 2017, Zalando Research)
  are not shipped; :func:`load_mnist` reads their IDX files from a folder the user picks.

Regression data are standardised (features and target) with statistics fitted on the training
split only; the model therefore learns in standard units and :meth:`Dataset.to_original_units`
converts its weights back.
"""

from __future__ import annotations

import csv
import gzip
import math
import struct
import zlib
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from lrstudio.core.errors import DataError

MIN_ROWS = 10
_YES = frozenset({"yes", "y", "true", "t"})
_NO = frozenset({"no", "n", "false", "f"})
_MISSING = frozenset({"", "na", "n/a", "nan", "null", "none", "?", "-"})
FASHION_CLASSES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker",
                   "Bag", "Ankle boot")


@dataclass
class Dataset:
    """Arrays ready for training plus what is needed to explain the results.

    Regression: ``x_*`` float32 ``(n, n_features)``, ``y_*`` float32 ``(n, 1)`` in standard units.
    Classification: ``x_*`` float32 ``(n, 1, H, W)`` in [0, 1], ``y_*`` int64 ``(n,)``.
    ``x_val`` may have zero rows (no validation split).
    """

    name: str
    task: str  # "regression" | "classification"
    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    feature_names: list[str]
    target_name: str
    n_classes: int = 0
    class_names: list[str] = field(default_factory=list)
    # Regression scalers (fitted on the training split): x_std = (x - x_mean) / x_scale.
    x_mean: np.ndarray | None = None
    x_scale: np.ndarray | None = None
    y_mean: float = 0.0
    y_scale: float = 1.0
    # Synthetic data: the weights and intercept that generated the prices (original units).
    true_w: list[float] | None = None
    true_b: float | None = None
    info: dict[str, Any] = field(default_factory=dict)

    @property
    def n_train(self) -> int:
        return int(self.x_train.shape[0])

    @property
    def n_val(self) -> int:
        return int(self.x_val.shape[0])

    @property
    def input_shape(self) -> tuple[int, ...]:
        return tuple(int(s) for s in self.x_train.shape[1:])

    def to_original_units(self, weight: Sequence[float] | np.ndarray, bias: float) -> tuple[list[float], float]:
        """Turn weights learned on standardised data into ``price = w·x + b`` in original units.

        With ``x_s = (x - mx) / sx`` and ``y = sy * y_s + my``:
        ``w_j = sy * ws_j / sx_j`` and ``b = my + sy * (bs - sum_j ws_j * mx_j / sx_j)``.
        """
        ws = np.asarray(weight, dtype=np.float64).reshape(-1)
        mx = np.zeros_like(ws) if self.x_mean is None else self.x_mean.astype(np.float64)
        sx = np.ones_like(ws) if self.x_scale is None else self.x_scale.astype(np.float64)
        w = self.y_scale * ws / sx
        b = self.y_mean + self.y_scale * (float(bias) - float(np.sum(ws * mx / sx)))
        return [float(v) for v in w], float(b)

    def summary_info(self) -> dict[str, Any]:
        """JSON-able description for ``RunStarted.info``."""
        out: dict[str, Any] = {
            "dataset": self.name,
            "task": self.task,
            "n_train": self.n_train,
            "n_val": self.n_val,
            "features": list(self.feature_names) if self.task == "regression" else [],
            "target": self.target_name,
        }
        if self.task == "classification":
            out["n_classes"] = self.n_classes
            out["input_shape"] = list(self.input_shape)
        if self.true_w is not None:
            out["true_w"] = list(self.true_w)
            out["true_b"] = self.true_b
        out.update(self.info)
        return out


# Rows of the shipped data sets and the class sizes of digits (its split is stratified per class);
# a test checks both against the files. The catalogue (core/datasets.py) offers them.
WINDSOR_ROWS = 546
DIGITS_CLASS_SIZES = (178, 182, 177, 183, 181, 182, 181, 179, 174, 180)
MNIST_TRAIN_ROWS = 60_000  # the standard training files (an estimate for a folder not read yet)


# -- splitting and scaling ------------------------------------------------------------------------
def val_rows(n: int, val_fraction: float) -> int:
    """Validation rows of a random split of ``n`` rows (at least one when asked, two left to train)."""
    if val_fraction <= 0:
        return 0
    return min(n - 2, max(1, int(round(n * val_fraction))))


def split_indices(n: int, val_fraction: float, seed: int, limit: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Seeded random split of ``range(n)`` into sorted (train, val) index arrays.

    ``limit`` keeps a random subset of at most that many training rows (0 = all).
    """
    perm = np.random.default_rng(seed).permutation(n)
    k = val_rows(n, val_fraction)
    return np.sort(_limit(perm[k:], limit)), np.sort(perm[:k])


def stratified_split(labels: np.ndarray, val_fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Seeded split that keeps each class's share in both parts (same rounding per class)."""
    rng = np.random.default_rng(seed)
    train, val = [], []
    for c in np.unique(labels):
        idx = np.flatnonzero(labels == c)
        idx = idx[rng.permutation(len(idx))]
        k = int(round(len(idx) * val_fraction)) if val_fraction > 0 else 0
        val.append(idx[:k])
        train.append(idx[k:])
    tr = np.concatenate(train)
    va = np.concatenate(val) if val else np.zeros(0, dtype=np.int64)
    # Mixed order (not grouped by class); the loop reshuffles every epoch anyway.
    return tr[rng.permutation(len(tr))], va[rng.permutation(len(va))]


def _limit(idx: np.ndarray, limit: int) -> np.ndarray:
    return idx[:limit] if limit and limit < len(idx) else idx


def _regression_dataset(
    name: str, x: np.ndarray, y: np.ndarray, feature_names: list[str], target_name: str,
    val_fraction: float, seed: int, limit: int, scale: bool = True, **extra: Any,
) -> Dataset:
    tr, va = split_indices(len(x), val_fraction, seed, limit)
    x_tr, y_tr, x_va, y_va = x[tr], y[tr], x[va], y[va]
    if scale:
        x_mean = x_tr.mean(axis=0)
        x_scale = x_tr.std(axis=0)
        # Constant within the training split only (the whole column was checked before): keep it
        # finite; its weight then multiplies zeros.
        x_scale = np.where(x_scale > 0, x_scale, 1.0)
        y_mean = float(y_tr.mean())
        y_scale = float(y_tr.std()) or 1.0
    else:
        x_mean = np.zeros(x.shape[1])
        x_scale = np.ones(x.shape[1])
        y_mean, y_scale = 0.0, 1.0

    def fx(a: np.ndarray) -> np.ndarray:
        return np.ascontiguousarray(((a - x_mean) / x_scale).astype(np.float32))

    def fy(a: np.ndarray) -> np.ndarray:
        return np.ascontiguousarray(((a - y_mean) / y_scale).astype(np.float32).reshape(-1, 1))

    info = {"scaled": scale}
    return Dataset(
        name=name, task="regression", x_train=fx(x_tr), y_train=fy(y_tr), x_val=fx(x_va), y_val=fy(y_va),
        feature_names=list(feature_names), target_name=target_name,
        x_mean=np.asarray(x_mean, dtype=np.float64), x_scale=np.asarray(x_scale, dtype=np.float64),
        y_mean=y_mean, y_scale=y_scale, info=info, **extra,
    )


# -- CSV ------------------------------------------------------------------------------------------
def _read_maybe_gzip(path: Path, what: str, expected: str) -> bytes:
    """The bytes of ``path``, gunzipped when they start with the gzip magic; DataError otherwise."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise DataError(f"{what}: file {str(path)!r} does not exist") from None
    except IsADirectoryError:
        raise DataError(f"{what}: {str(path)!r} is a folder; expected {expected}") from None
    except OSError as exc:
        raise DataError(f"{what}: cannot read {str(path)!r}: {exc.strerror or exc}") from None
    if raw[:2] == b"\x1f\x8b":
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError, zlib.error) as exc:  # bad header / truncated / corrupt stream
            raise DataError(f"{what}: {path.name!r} looks gzip-compressed but cannot be decompressed ({exc}); "
                            "the file is damaged") from None
    return raw


#: Largest magnitude of a CSV value: squares and sums of squares of 1e100 stay far from float64's
#: 1.8e308, so standardising cannot overflow (values near 1e308 became NaN features before).
MAX_ABS_VALUE = 1e100


class _Table:
    """A parsed CSV: the header and one numeric column at a time, converted on demand.

    ``values`` is the whole table as float64 when every cell parsed as a finite number (numpy's C
    parser; the common case), else ``cells`` holds the text of every cell and each column is
    converted by :func:`_convert_column` when asked for.
    """

    def __init__(self, header: list[str], values: np.ndarray | None, cells: np.ndarray | None) -> None:
        self.header = header
        self.index = {h: j for j, h in enumerate(header)}
        self.values = values
        self.cells = cells
        self._cache: dict[int, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}

    @property
    def n_rows(self) -> int:
        return int((self.values if self.values is not None else self.cells).shape[0])  # type: ignore[union-attr]

    def column(self, j: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(values, missing, unparsed)`` of column ``j``: float64 (NaN where missing or not a
        number), and the masks of missing cells and of cells that are not numbers or yes/no."""
        if self.values is not None:
            none = np.zeros(self.values.shape[0], dtype=bool)
            return self.values[:, j], none, none
        if j not in self._cache:
            self._cache[j] = _convert_column(self.cells[:, j])  # type: ignore[index]
        return self._cache[j]

    def cell(self, i: int, j: int) -> str:
        if self.cells is not None:
            return str(self.cells[i, j]).strip()
        return repr(float(self.values[i, j]))  # type: ignore[index]


def _convert_column(col: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    text = np.strings.strip(col)
    low = np.strings.lower(text)
    missing = np.isin(low, list(_MISSING))
    yes, no = np.isin(low, list(_YES)), np.isin(low, list(_NO))
    vals = np.full(len(col), np.nan)
    vals[yes], vals[no] = 1.0, 0.0
    rest = np.flatnonzero(~(missing | yes | no))
    unparsed = np.zeros(len(col), dtype=bool)
    try:
        vals[rest] = text[rest].astype(np.float64)  # numpy parses like float() (C speed)
    except ValueError:  # a text cell: this column cell by cell
        for i in rest:
            v = _parse_number(str(text[i]))
            if v is None:
                unparsed[i] = True
            else:
                vals[i] = v
    return vals, missing, unparsed


def _read_csv_table(path: Path, what: str) -> _Table:
    """Read a text CSV with a header row. Delimiter , ; or tab.

    The body is parsed by numpy's C ``loadtxt`` (as floats, or as text when some cell is not a
    number); only when that fails (a ragged row, a quoting numpy reads otherwise) the csv module
    reads it row by row to name the row. Linear in the number of cells.
    """
    raw = _read_maybe_gzip(path, what, "a CSV file")
    if b"\x00" in raw[:4096]:
        raise DataError(f"{what}: {path.name!r} is not a CSV file (it contains binary data); "
                        "expected comma-separated text with a header row")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = raw.decode("latin-1")  # decodes every byte
    lines = [ln for ln in text.splitlines() if ln.strip()]
    if not lines:
        raise DataError(f"{what}: {path.name!r} is empty; expected a header row and at least {MIN_ROWS} data rows")
    head = lines[0]
    delim = max((",", ";", "\t"), key=head.count)
    if head.count(delim) == 0:
        raise DataError(
            f"{what}: {path.name!r} does not look like a CSV file: the first line has no comma, semicolon or "
            "tab (expected a header row of column names, e.g. 'price,area')"
        )
    try:
        header = [h.strip() for h in next(csv.reader([head], delimiter=delim))]
    except csv.Error as exc:
        raise DataError(f"{what}: {path.name!r} is not a valid CSV file ({exc})") from None
    if any(not h for h in header):
        col = header.index("") + 1
        raise DataError(f"{what}: column {col} of the header row has no name; every column needs a name")
    counts = Counter(header)
    dupes = sorted(h for h, c in counts.items() if c > 1)
    if dupes:
        raise DataError(f"{what}: column name {dupes[0]!r} appears more than once in the header row")
    body = lines[1:]
    if len(body) < MIN_ROWS:
        _check_rows(body, delim, len(header), path, what)  # a ragged row is the better message
        raise DataError(f"{what}: {path.name!r} has only {len(body)} data row{'s' if len(body) != 1 else ''}; "
                        f"at least {MIN_ROWS} are needed")
    values = cells = None
    opts: dict[str, Any] = {"delimiter": delim, "comments": None, "quotechar": '"', "ndmin": 2}
    try:
        values = np.loadtxt(body, dtype=np.float64, **opts)
        if not np.isfinite(values).all():
            values = None  # nan/inf cells: decided from their text below
    except ValueError:
        pass
    if values is None:
        try:
            cells = np.loadtxt(body, dtype=str, **opts)
        except ValueError:
            cells = None
    table = values if values is not None else cells
    if table is None or table.shape != (len(body), len(header)):
        cells = _check_rows(body, delim, len(header), path, what)
        values = None
    return _Table(header, values, cells)


def _check_rows(body: list[str], delim: str, n_cols: int, path: Path, what: str) -> np.ndarray:
    """The cells of ``body`` read row by row by the csv module; DataError naming a ragged row."""
    try:
        rows = list(csv.reader(body, delimiter=delim))
    except csv.Error as exc:
        raise DataError(f"{what}: {path.name!r} is not a valid CSV file ({exc})") from None
    for i, r in enumerate(rows, start=1):
        if len(r) != n_cols:
            raise DataError(
                f"{what}: row {i} (line {i + 1}) has {len(r)} fields but the header has {n_cols}; "
                "every row needs one value per column"
            )
    return np.array(rows, dtype=str).reshape(len(rows), n_cols)


def _parse_number(cell: str) -> float | None:
    s = cell.strip()
    low = s.lower()
    if low in _YES:
        return 1.0
    if low in _NO:
        return 0.0
    try:
        v = float(s)
    except ValueError:
        return None
    return v


def _column_values(table: _Table, col: str, what: str) -> np.ndarray:
    """Column ``col`` as float64; DataError naming the first missing, non-numeric or too large cell."""
    j = table.index[col]
    vals, missing, unparsed = table.column(j)
    with np.errstate(invalid="ignore"):
        bad = missing | unparsed | ~(np.abs(vals) <= MAX_ABS_VALUE)
    if bad.any():
        i = int(np.argmax(bad))
        cell = table.cell(i, j)
        row = f"row {i + 1} (line {i + 2})"
        if missing[i]:
            raise DataError(f"{what}: column {col!r} has a missing value in {row}; "
                            "fill it in or remove the row (missing values are not allowed)")
        if unparsed[i] or not math.isfinite(vals[i]):
            raise DataError(f"{what}: column {col!r}, {row}: {cell!r} is not a number; "
                            "allowed are numbers and yes/no (true/false)")
        raise DataError(f"{what}: column {col!r}, {row}: {cell} is too large; allowed are numbers of magnitude "
                        f"at most {MAX_ABS_VALUE:g} (rescale the column, e.g. to thousands)")
    return vals


def _looks_numeric(table: _Table, col: str) -> bool:
    _vals, missing, unparsed = table.column(table.index[col])
    return bool((~missing & ~unparsed).any())


def table_to_arrays(
    table: _Table, target: str, features: Sequence[str], what: str,
) -> tuple[np.ndarray, np.ndarray, list[str], list[str]]:
    """Pick ``target`` and ``features`` (empty: every other numeric column) as float arrays."""
    header = table.header
    if target not in table.index:
        raise DataError(f"{what}: there is no column {target!r}; the columns are " + ", ".join(header))
    skipped: list[str] = []
    if features:
        for f in features:
            if f not in table.index:
                raise DataError(f"{what}: there is no column {f!r}; the columns are " + ", ".join(header))
        if target in features:
            raise DataError(f"{what}: column {target!r} is the target and cannot also be a feature")
        feats = list(features)
    elif table.values is not None:  # every cell is a finite number: every other column is a feature
        feats = [h for h in header if h != target]
    else:
        feats = []
        for h in header:
            if h == target:
                continue
            (feats if _looks_numeric(table, h) else skipped).append(h)
        if not feats:
            raise DataError(f"{what}: no numeric feature columns besides the target {target!r}; "
                            "the columns are " + ", ".join(header))
    y = _column_values(table, target, what)
    if table.values is not None:  # one gather and one magnitude check for all columns
        cols = np.fromiter((table.index[f] for f in feats), dtype=np.intp, count=len(feats))
        x = np.take(table.values, cols, axis=1)
        too_large = np.flatnonzero(~(np.abs(x) <= MAX_ABS_VALUE).all(axis=0))
        if too_large.size:
            _column_values(table, feats[int(too_large[0])], what)  # raises, naming the first cell
    else:
        x = np.empty((table.n_rows, len(feats)))
        for k, f in enumerate(feats):
            x[:, k] = _column_values(table, f, what)
    if np.all(y == y[0]):
        raise DataError(f"{what}: the target column {target!r} is constant (every row is {y[0]:g}); "
                        "there is nothing to predict")
    const = np.all(x == x[0], axis=0)
    if const.any():
        j = int(np.argmax(const))
        raise DataError(
            f"{what}: column {feats[j]!r} is constant (every row is {x[0, j]:g}); it carries no information "
            "and cannot be standardised; leave it out of the features"
        )
    return x, y, feats, skipped


def load_csv(
    path: str | Path, target: str = "", features: Sequence[str] = (), val_fraction: float = 0.2, seed: int = 0,
    limit: int = 0,
) -> Dataset:
    """Load the user's CSV for linear regression.

    The first row names the columns; ``target`` defaults to the last column and ``features`` to
    every other numeric column (text columns are skipped and listed in ``info["skipped"]``).
    Cells must be numbers or yes/no, of magnitude at most :data:`MAX_ABS_VALUE` (1e100: larger
    ones are refused, naming the cell, because standardising values near 1e308 overflows to NaN);
    missing values, constant columns, fewer than 10 rows and files that are not CSV raise
    :class:`DataError`. Parsing is numpy's C ``loadtxt`` (``bench/bench_csv.py`` compares the two).
    """
    p = Path(path).expanduser()
    what = f"CSV {p.name}"
    table = _read_csv_table(p, what)
    x, y, feats, skipped = table_to_arrays(table, target or table.header[-1], features, what)
    ds = _regression_dataset("csv", x, y, feats, target or table.header[-1], val_fraction, seed, limit)
    ds.info.update({"path": str(p), "skipped": skipped})
    return ds


def load_windsor(
    target: str = "price", features: Sequence[str] = (), val_fraction: float = 0.2, seed: int = 0, limit: int = 0,
) -> Dataset:
    """Windsor (Canada) house prices, 1987: 546 sales, price + 11 features; yes/no → 1/0.

    Source: Anglin, P.M. and R. Gencay (1996), "Semiparametric estimation of a hedonic price
    function", Journal of Applied Econometrics 11(6), 633-648 (JAE data archive; R Ecdat ``Housing``).
    """
    from lrstudio.paths import data_file

    what = "Windsor data"
    table = _read_csv_table(data_file("windsor_housing.csv"), what)
    x, y, feats, _ = table_to_arrays(table, target, features, what)
    return _regression_dataset("windsor", x, y, feats, target, val_fraction, seed, limit)


# -- synthetic ------------------------------------------------------------------------------------
def make_synthetic(
    n_samples: int = 200, true_w: float = 2.0, true_b: float = 300.0, noise: float = 10.0,
    extra_features: int = 0, unscaled: bool = False, val_fraction: float = 0.2, seed: int = 0, limit: int = 0,
) -> Dataset:
    """Synthetic house prices: ``price = true_w * area + sum_j w_j * f_j + true_b + noise``.

    Areas are uniform in 50..150 m² (mean 100, so the default price is ~500, the classic teaching
    example). Extra features are standard normal with true weights drawn from N(0, 20²) (seeded)
    and reported in ``true_w`` after the area weight. ``unscaled`` keeps raw m² and prices, so
    the loss surface is badly conditioned and SGD with LR 0.1 diverges; otherwise features and
    target are standardised and learned weights are converted back with
    :meth:`Dataset.to_original_units`.
    """
    rng = np.random.default_rng(seed)
    area = rng.uniform(50.0, 150.0, n_samples)
    extra_w = rng.normal(0.0, 20.0, extra_features)
    extra_x = rng.normal(0.0, 1.0, (n_samples, extra_features))
    y = true_w * area + true_b + extra_x @ extra_w + rng.normal(0.0, noise, n_samples)
    x = np.column_stack([area, extra_x])
    names = ["area"] + [f"x{j + 1}" for j in range(extra_features)]
    ws = [float(true_w)] + [float(v) for v in extra_w]
    ds = _regression_dataset("synthetic", x, y, names, "price", val_fraction, seed, limit, scale=not unscaled,
                             true_w=ws, true_b=float(true_b))
    ds.info["unscaled"] = bool(unscaled)
    return ds


# -- digits ---------------------------------------------------------------------------------------
def load_digits(val_fraction: float = 0.2, seed: int = 0, limit: int = 0) -> Dataset:
    """UCI optical handwritten digits (Alpaydin & Kaynak 1998): 1797 8x8 images, pixels/16 → [0, 1].

    Stratified seeded split.
    """
    from lrstudio.paths import data_file

    with gzip.open(data_file("digits.csv.gz"), "rt") as fh:
        arr = np.loadtxt(fh, delimiter=",", dtype=np.float32)
    x = (arr[:, :64] / 16.0).reshape(-1, 1, 8, 8)
    y = arr[:, 64].astype(np.int64)
    tr, va = stratified_split(y, val_fraction, seed)
    tr = _limit(tr, limit)
    return Dataset(
        name="digits", task="classification",
        x_train=np.ascontiguousarray(x[tr]), y_train=y[tr], x_val=np.ascontiguousarray(x[va]), y_val=y[va],
        feature_names=[f"pixel{i}" for i in range(64)], target_name="digit", n_classes=10,
        class_names=[str(i) for i in range(10)],
    )


# -- MNIST-format IDX files -----------------------------------------------------------------------
_IDX_DTYPES: dict[int, Any] = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def read_idx(path: str | Path) -> np.ndarray:
    """Read one IDX file (gzip-compressed or not) into a numpy array.

    Layout (LeCun's MNIST page): two zero bytes, a type byte (0x08 = unsigned byte), the number of
    dimensions, then each dimension as a big-endian 32-bit integer, then the data.
    """
    p = Path(path)
    raw = _read_maybe_gzip(p, "IDX file", "an IDX file")
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in _IDX_DTYPES or not 1 <= raw[3] <= 4:
        raise DataError(
            f"{p.name!r} is not an IDX file: its header {raw[:4].hex(' ') or '(empty)'} should be "
            "00 00 <type 08..0e> <1-4 dimensions> (MNIST-format files, e.g. train-images-idx3-ubyte)"
        )
    ndim = raw[3]
    if len(raw) < 4 + 4 * ndim:
        raise DataError(f"IDX file {p.name!r} is truncated inside its header")
    dims = struct.unpack(f">{ndim}I", raw[4:4 + 4 * ndim])
    dtype = np.dtype(_IDX_DTYPES[raw[2]])
    expected = math.prod(dims) * dtype.itemsize  # (np.prod would wrap around for absurd headers)
    body = raw[4 + 4 * ndim:]
    if len(body) != expected:
        raise DataError(
            f"IDX file {p.name!r} has {len(body)} data bytes but its header ({' x '.join(map(str, dims))}) "
            f"needs {expected}; the file is truncated or not what its name says"
        )
    return np.frombuffer(body, dtype=dtype).reshape(dims)


def _find_idx(folder: Path, prefix: str, kind: str, variant: str) -> Path | None:
    idx = "idx3" if kind == "images" else "idx1"
    names = [f"{prefix}-{kind}-{idx}-ubyte", f"{prefix}-{kind}.{idx}-ubyte", f"{prefix}-{kind}-{idx}.ubyte"]
    sub = {"mnist": "MNIST", "fashion-mnist": "FashionMNIST"}[variant]
    dirs = [folder, folder / "raw", folder / variant, folder / sub / "raw", folder / sub]
    for d in dirs:
        for n in names:
            for cand in (d / n, d / f"{n}.gz"):
                if cand.is_file():
                    return cand
    return None


def load_mnist(
    path: str | Path, variant: str = "mnist", val_fraction: float = 0.2, seed: int = 0, limit: int = 0,
) -> Dataset:
    """MNIST or Fashion-MNIST from a folder of IDX files, without torchvision.

    Needs ``train-images-idx3-ubyte`` and ``train-labels-idx1-ubyte`` (``.gz`` or not; also found
    in ``raw/`` or torchvision's ``MNIST/raw`` layout). When the ``t10k-*`` files exist they are
    the validation set (``val_fraction`` 0 skips them); otherwise ``val_fraction`` of the training
    files is held out, stratified. Pixels /255 → [0, 1].
    """
    folder = Path(path).expanduser()
    if not folder.is_dir():
        raise DataError(f"MNIST folder {str(folder)!r} does not exist or is not a folder")
    ti = _find_idx(folder, "train", "images", variant)
    tl = _find_idx(folder, "train", "labels", variant)
    if ti is None or tl is None:
        missing = "train-images-idx3-ubyte" if ti is None else "train-labels-idx1-ubyte"
        raise DataError(
            f"MNIST folder {str(folder)!r} has no {missing}[.gz]; expected the MNIST-format files "
            "train-images-idx3-ubyte, train-labels-idx1-ubyte (and optionally t10k-*), gzip or not"
        )
    x, y = _idx_pair(ti, tl)
    vi = _find_idx(folder, "t10k", "images", variant)
    vl = _find_idx(folder, "t10k", "labels", variant)
    if vi is not None and vl is not None:
        x_tr, y_tr = x, y
        if val_fraction > 0:
            x_va, y_va = _idx_pair(vi, vl)
            if x_va.shape[1:] != x.shape[1:]:
                raise DataError(f"{vi.name!r} holds images of {' x '.join(map(str, x_va.shape[1:]))} pixels but "
                                f"{ti.name!r} of {' x '.join(map(str, x.shape[1:]))}; they must match")
        else:
            x_va, y_va = x[:0], y[:0]
        order = np.random.default_rng(seed).permutation(len(x_tr))
        order = _limit(order, limit)
        x_tr, y_tr = x_tr[order], y_tr[order]
    else:
        tr, va = stratified_split(y, val_fraction, seed)
        tr = _limit(tr, limit)
        x_tr, y_tr, x_va, y_va = x[tr], y[tr], x[va], y[va]
    h, w = x.shape[1:]
    classes = list(FASHION_CLASSES) if variant == "fashion-mnist" else [str(i) for i in range(10)]
    ds = Dataset(
        name="mnist", task="classification",
        x_train=np.ascontiguousarray(x_tr.reshape(-1, 1, h, w)), y_train=y_tr,
        x_val=np.ascontiguousarray(x_va.reshape(-1, 1, h, w)), y_val=y_va,
        feature_names=[], target_name="class", n_classes=10, class_names=classes,
    )
    ds.info.update({"variant": variant, "path": str(folder)})
    return ds


def _idx_pair(images_path: Path, labels_path: Path) -> tuple[np.ndarray, np.ndarray]:
    images = read_idx(images_path)
    labels = read_idx(labels_path)
    if images.ndim != 3:
        raise DataError(f"{images_path.name!r} should hold images (3 dimensions: count x rows x columns), "
                        f"found {images.ndim} dimension(s)")
    if labels.ndim != 1:
        raise DataError(f"{labels_path.name!r} should hold labels (1 dimension), found {labels.ndim}")
    if min(images.shape[1:]) < 1:
        raise DataError(f"{images_path.name!r} holds images of {images.shape[1]} x {images.shape[2]} pixels; "
                        "expected at least 1 x 1 (e.g. 28 x 28 for MNIST)")
    if len(images) != len(labels):
        raise DataError(f"{images_path.name!r} has {len(images)} images but {labels_path.name!r} has "
                        f"{len(labels)} labels; they must match")
    if len(labels) < MIN_ROWS:
        raise DataError(f"{images_path.name!r} has only {len(labels)} images; at least {MIN_ROWS} are needed")
    if labels.min() < 0 or labels.max() > 9:
        raise DataError(f"{labels_path.name!r} has labels outside 0..9 (found {int(labels.min())}.."
                        f"{int(labels.max())})")
    x = images.astype(np.float32)
    x /= 255.0 if images.dtype == np.uint8 else max(float(x.max()), 1.0)
    return x, labels.astype(np.int64)
