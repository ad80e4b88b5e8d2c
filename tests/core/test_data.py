"""Loaders: shipped data, synthetic data, the user's CSV, IDX files, and their error messages."""

from __future__ import annotations

import gzip
import struct

import numpy as np
import pytest

from lrstudio.core.config import DatasetConfig
from lrstudio.core.data import (
    load_csv,
    load_digits,
    load_mnist,
    load_windsor,
    make_synthetic,
    read_idx,
    stratified_split,
)
from lrstudio.core.datasets import load_dataset
from lrstudio.core.errors import DataError


# -- Windsor ---------------------------------------------------------------------------------------
def test_windsor_defaults_all_features_and_seeded_split():
    ds = load_windsor()
    assert ds.task == "regression" and ds.target_name == "price"
    assert ds.feature_names == ["lotsize", "bedrooms", "bathrms", "stories", "driveway", "recroom", "fullbase",
                                "gashw", "airco", "garagepl", "prefarea"]
    assert ds.n_train + ds.n_val == 546 and ds.n_val == 109
    assert ds.x_train.dtype == np.float32 and ds.y_train.shape == (ds.n_train, 1)
    # Standardisation fitted on the training split only.
    np.testing.assert_allclose(ds.x_train.mean(axis=0), 0, atol=1e-5)
    np.testing.assert_allclose(ds.x_train.std(axis=0), 1, atol=1e-4)
    assert abs(float(ds.y_train.mean())) < 1e-5 and not np.allclose(ds.x_val.mean(axis=0), 0, atol=1e-3)
    assert 60_000 < ds.y_mean < 75_000 and ds.y_scale > 10_000  # price units for RMSE


def test_windsor_yes_no_columns_become_0_1():
    ds = load_windsor(features=["airco", "lotsize"], val_fraction=0.0)
    raw = ds.x_train * ds.x_scale + ds.x_mean
    assert set(np.round(raw[:, 0], 4)) == {0.0, 1.0}
    assert ds.n_val == 0 and ds.n_train == 546


def test_split_is_seeded():
    a, b, c = load_windsor(seed=1), load_windsor(seed=1), load_windsor(seed=2)
    np.testing.assert_array_equal(a.x_val, b.x_val)
    assert not np.array_equal(a.y_mean, c.y_mean) or not np.array_equal(a.x_val, c.x_val)


def test_windsor_missing_column_names_it():
    with pytest.raises(DataError, match=r"no column 'pool'.*the columns are price, lotsize"):
        load_windsor(features=["pool"])
    with pytest.raises(DataError, match="'price' is the target and cannot also be a feature"):
        load_windsor(features=["price"])


# -- synthetic -------------------------------------------------------------------------------------
def test_synthetic_unscaled_keeps_raw_units():
    ds = make_synthetic(n_samples=300, unscaled=True, seed=3)
    area = ds.x_train[:, 0]
    assert 50 <= area.min() and area.max() <= 150 and 90 < area.mean() < 110
    assert 450 < ds.y_train.mean() < 550  # price ~ 2 * 100 + 300
    assert ds.true_w == [2.0] and ds.true_b == 300.0


def test_synthetic_scaled_weights_convert_back_to_original_units():
    ds = make_synthetic(n_samples=500, extra_features=2, noise=1.0, seed=4, val_fraction=0.0)
    assert ds.feature_names == ["area", "x1", "x2"] and len(ds.true_w) == 3
    # Least squares in standard units, converted back, must match the generating weights.
    a = np.column_stack([ds.x_train, np.ones(ds.n_train)]).astype(np.float64)
    coef, *_ = np.linalg.lstsq(a, ds.y_train[:, 0].astype(np.float64), rcond=None)
    w, b = ds.to_original_units(coef[:-1], coef[-1])
    np.testing.assert_allclose(w, ds.true_w, rtol=0.02, atol=0.05)
    assert b == pytest.approx(300.0, abs=3.0)


# -- the user's CSV --------------------------------------------------------------------------------
def _write(tmp_path, text, name="data.csv"):
    p = tmp_path / name
    p.write_text(text)
    return p


def _good_rows(n=12):
    return "".join(f"{i},{10 + 3 * i % 7},{'yes' if i % 2 else 'no'},{100 + 5 * i}\n" for i in range(n))


def test_csv_loads_with_default_target_and_yes_no(tmp_path):
    p = _write(tmp_path, "id,area,garden,price\n" + _good_rows())
    ds = load_csv(p)
    assert ds.target_name == "price" and ds.feature_names == ["id", "area", "garden"]
    ds2 = load_csv(p, target="price", features=["area"])
    assert ds2.feature_names == ["area"]


def test_csv_text_columns_are_skipped_when_features_are_automatic(tmp_path):
    rows = "".join(f"house{i},{i},{10 + i}\n" for i in range(12))
    ds = load_csv(_write(tmp_path, "name,area,price\n" + rows))
    assert ds.feature_names == ["area"] and ds.info["skipped"] == ["name"]


def test_csv_non_numeric_cell_names_column_and_row(tmp_path):
    rows = _good_rows().splitlines()
    rows[4] = "4,ten,no,120"
    p = _write(tmp_path, "id,area,garden,price\n" + "\n".join(rows) + "\n")
    with pytest.raises(DataError, match=r"column 'area', row 5 \(line 6\): 'ten' is not a number; "
                                        r"allowed are numbers and yes/no"):
        load_csv(p)


def test_csv_missing_value_names_column_and_row(tmp_path):
    rows = _good_rows().splitlines()
    rows[2] = "2,,no,110"
    p = _write(tmp_path, "id,area,garden,price\n" + "\n".join(rows) + "\n")
    with pytest.raises(DataError, match=r"column 'area' has a missing value in row 3 \(line 4\)"):
        load_csv(p)
    rows[2] = "2,NA,no,110"
    p = _write(tmp_path, "id,area,garden,price\n" + "\n".join(rows) + "\n")
    with pytest.raises(DataError, match="missing values are not allowed"):
        load_csv(p)


def test_csv_constant_column_is_rejected(tmp_path):
    rows = "".join(f"{i},7,{100 + i}\n" for i in range(12))
    with pytest.raises(DataError, match=r"column 'rooms' is constant \(every row is 7\).*leave it out"):
        load_csv(_write(tmp_path, "area,rooms,price\n" + rows))
    rows = "".join(f"{i},{i % 3},5\n" for i in range(12))
    with pytest.raises(DataError, match=r"target column 'price' is constant"):
        load_csv(_write(tmp_path, "area,rooms,price\n" + rows, "c2.csv"))


def test_csv_too_few_rows(tmp_path):
    rows = "".join(f"{i},{100 + i}\n" for i in range(9))
    with pytest.raises(DataError, match="has only 9 data rows; at least 10 are needed"):
        load_csv(_write(tmp_path, "area,price\n" + rows))


def test_csv_not_a_csv_file(tmp_path):
    binary = tmp_path / "photo.csv"
    binary.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)))
    with pytest.raises(DataError, match="is not a CSV file .*binary data.*comma-separated text"):
        load_csv(binary)
    prose = _write(tmp_path, "Dear diary\nToday I sold a house\n" * 10, "notes.csv")
    with pytest.raises(DataError, match="does not look like a CSV file: the first line has no comma"):
        load_csv(prose)
    with pytest.raises(DataError, match="does not exist"):
        load_csv(tmp_path / "nope.csv")


def test_csv_missing_column_lists_the_columns(tmp_path):
    p = _write(tmp_path, "id,area,garden,price\n" + _good_rows())
    with pytest.raises(DataError, match=r"there is no column 'cost'; the columns are id, area, garden, price"):
        load_csv(p, target="cost")
    with pytest.raises(DataError, match=r"there is no column 'size'"):
        load_csv(p, target="price", features=["area", "size"])


def test_csv_ragged_row_names_the_row(tmp_path):
    rows = _good_rows().splitlines()
    rows[6] = "6,12,no"
    p = _write(tmp_path, "id,area,garden,price\n" + "\n".join(rows) + "\n")
    with pytest.raises(DataError, match=r"row 7 \(line 8\) has 3 fields but the header has 4"):
        load_csv(p)


def test_csv_semicolon_delimiter(tmp_path):
    rows = "".join(f"{i};{2 * i + (i % 3)}\n" for i in range(12))
    ds = load_csv(_write(tmp_path, "area;price\n" + rows))
    assert ds.feature_names == ["area"]


# -- digits ----------------------------------------------------------------------------------------
def test_digits_scaled_and_stratified():
    ds = load_digits(val_fraction=0.2, seed=0)
    assert ds.x_train.shape[1:] == (1, 8, 8) and ds.n_train + ds.n_val == 1797
    assert 0.0 <= ds.x_train.min() and ds.x_train.max() <= 1.0 and ds.x_train.max() == 1.0
    val_counts = np.bincount(ds.y_val, minlength=10)
    all_counts = val_counts + np.bincount(ds.y_train, minlength=10)
    np.testing.assert_array_equal(val_counts, np.round(all_counts * 0.2).astype(int))
    again = load_digits(val_fraction=0.2, seed=0)
    np.testing.assert_array_equal(ds.y_train, again.y_train)


def test_stratified_split_keeps_proportions():
    labels = np.repeat([0, 1, 2], [50, 30, 20])
    tr, va = stratified_split(labels, 0.1, seed=5)
    assert sorted(np.bincount(labels[va]).tolist()) == [2, 3, 5]
    assert len(set(tr) | set(va)) == 100 and not set(tr) & set(va)


def test_load_dataset_dispatches_and_limits():
    ds = load_dataset(DatasetConfig(name="digits", limit=100), seed=0)
    assert ds.n_train == 100


# -- MNIST-format IDX ------------------------------------------------------------------------------
def _idx_bytes(arr: np.ndarray) -> bytes:
    header = bytes([0, 0, 0x08, arr.ndim]) + struct.pack(f">{arr.ndim}I", *arr.shape)
    return header + arr.astype(np.uint8).tobytes()


def _write_mnist(folder, n=40, gz=True, test=True, size=28):
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    parts = [("train", n)] + ([("t10k", n // 2)] if test else [])
    for prefix, count in parts:
        images = rng.integers(0, 256, (count, size, size))
        labels = np.arange(count) % 10
        for kind, arr, tag in (("images", images, "idx3"), ("labels", labels, "idx1")):
            name = f"{prefix}-{kind}-{tag}-ubyte"
            data = _idx_bytes(arr)
            if gz:
                (folder / f"{name}.gz").write_bytes(gzip.compress(data))
            else:
                (folder / name).write_bytes(data)


def test_mnist_gzip_with_t10k_as_validation(tmp_path):
    _write_mnist(tmp_path / "m", gz=True)
    ds = load_mnist(tmp_path / "m")
    assert ds.x_train.shape == (40, 1, 28, 28) and ds.n_val == 20
    assert ds.x_train.dtype == np.float32 and 0.0 <= ds.x_train.min() and ds.x_train.max() <= 1.0
    assert ds.y_train.dtype == np.int64 and ds.class_names[0] == "0"


def test_fashion_mnist_plain_files_split_when_no_test_files(tmp_path):
    _write_mnist(tmp_path / "f" / "raw", gz=False, test=False)
    ds = load_mnist(tmp_path / "f", variant="fashion-mnist", val_fraction=0.25)
    assert ds.n_train == 30 and ds.n_val == 10
    assert ds.class_names[-1] == "Ankle boot"


def test_idx_malformed_header(tmp_path):
    p = tmp_path / "train-images-idx3-ubyte"
    p.write_bytes(b"PK\x03\x04" + bytes(100))
    with pytest.raises(DataError, match=r"is not an IDX file: its header 50 4b 03 04 should be 00 00"):
        read_idx(p)


def test_idx_wrong_size(tmp_path):
    p = tmp_path / "train-images-idx3-ubyte"
    p.write_bytes(_idx_bytes(np.zeros((10, 28, 28)))[:-5])
    with pytest.raises(DataError, match=r"has 7835 data bytes but its header \(10 x 28 x 28\) needs 7840"):
        read_idx(p)


def test_mnist_folder_without_files(tmp_path):
    with pytest.raises(DataError, match="has no train-images-idx3-ubyte"):
        load_mnist(tmp_path)
    with pytest.raises(DataError, match="does not exist or is not a folder"):
        load_mnist(tmp_path / "missing")


def test_mnist_count_mismatch(tmp_path):
    _write_mnist(tmp_path, gz=False, test=False)
    (tmp_path / "train-labels-idx1-ubyte").write_bytes(_idx_bytes(np.arange(30) % 10))
    with pytest.raises(DataError, match="has 40 images but .* has 30 labels"):
        load_mnist(tmp_path)


def test_limit_keeps_a_random_subset_of_the_training_rows():
    full = load_windsor(seed=0)
    part = load_windsor(seed=0, limit=50)
    assert part.n_train == 50 and part.n_val == full.n_val

    def raw(ds, x):
        return x * ds.x_scale + ds.x_mean

    np.testing.assert_allclose(raw(part, part.x_val), raw(full, full.x_val), rtol=1e-5, atol=1e-3)  # same rows
    full_rows = {tuple(np.round(r, 3)) for r in raw(full, full.x_train)}
    part_rows = [tuple(np.round(r, 3)) for r in raw(part, part.x_train)]
    assert all(r in full_rows for r in part_rows)
    first_50 = [tuple(np.round(r, 3)) for r in raw(full, full.x_train[:50])]
    assert part_rows != first_50  # a random subset, not the top of the file


# -- corrupt and degenerate files (issue 9) --------------------------------------------------------
def test_corrupt_gzip_csv_names_the_file(tmp_path):
    data = bytearray(gzip.compress(("area,price\n" + "".join(f"{i},{3 * i + 1}\n" for i in range(400))).encode()))
    data[20:40] = b"\xff" * 20  # inside the deflate stream: zlib.error, not a gzip header error
    p = tmp_path / "prices.csv.gz"
    p.write_bytes(bytes(data))
    with pytest.raises(DataError, match=r"'prices.csv.gz' looks gzip-compressed but cannot be decompressed"):
        load_csv(p)


def test_idx_images_of_size_zero_name_the_file(tmp_path):
    _write_mnist(tmp_path, gz=False, test=False)
    (tmp_path / "train-images-idx3-ubyte").write_bytes(_idx_bytes(np.zeros((40, 0, 28))))
    with pytest.raises(DataError, match=r"'train-images-idx3-ubyte' holds images of 0 x 28 pixels; "
                                        r"expected at least 1 x 1"):
        load_mnist(tmp_path)


def test_idx_validation_images_of_another_size_name_both_files(tmp_path):
    _write_mnist(tmp_path, gz=False, test=True)
    (tmp_path / "t10k-images-idx3-ubyte").write_bytes(_idx_bytes(np.zeros((20, 14, 14))))
    with pytest.raises(DataError, match=r"'t10k-images-idx3-ubyte' holds images of 14 x 14 pixels but "
                                        r"'train-images-idx3-ubyte' of 28 x 28"):
        load_mnist(tmp_path)


# -- the CSV parser: numpy's C reader, per-cell Python only for text cells (issue 9) ---------------
def test_wide_numeric_csv_is_parsed_without_per_cell_python(tmp_path, monkeypatch):
    import lrstudio.core.data as data

    def no_python_per_cell(cell):
        raise AssertionError("a numeric CSV must not be parsed cell by cell in Python")

    monkeypatch.setattr(data, "_parse_number", no_python_per_cell)
    rng = np.random.default_rng(1)
    n_rows, n_cols = 30, 5_000
    x = np.round(rng.normal(size=(n_rows, n_cols)), 4)
    header = ",".join(f"f{j}" for j in range(n_cols - 1)) + ",price"
    p = tmp_path / "wide.csv"
    p.write_text(header + "\n" + "\n".join(",".join(f"{v:g}" for v in r) for r in x) + "\n")
    ds = load_csv(p, val_fraction=0.0)
    assert ds.feature_names[0] == "f0" and len(ds.feature_names) == n_cols - 1
    raw = ds.x_train * ds.x_scale + ds.x_mean  # back to the file's numbers (rows in file order)
    np.testing.assert_allclose(raw, x[:, :-1], atol=1e-5)


def test_text_and_yes_no_cells_still_parse_in_a_long_file(tmp_path):
    rows = "".join(f"h{i},{i % 7},{'yes' if i % 3 else 'no'},{2 * i + i % 5}\n" for i in range(5_000))
    ds = load_csv(_write(tmp_path, "name,rooms,garden,price\n" + rows), val_fraction=0.0)
    assert ds.feature_names == ["rooms", "garden"] and ds.info["skipped"] == ["name"]
    garden = ds.x_train[:, 1] * ds.x_scale[1] + ds.x_mean[1]
    np.testing.assert_allclose(garden, [1.0 if i % 3 else 0.0 for i in range(5_000)], atol=1e-6)


def test_csv_values_near_the_float_limit_are_refused_with_the_allowed_magnitude(tmp_path):
    rows = _good_rows().splitlines()
    rows[3] = "3,1.7e308,no,115"
    p = _write(tmp_path, "id,area,garden,price\n" + "\n".join(rows) + "\n", "huge.csv")
    with pytest.raises(DataError, match=r"CSV huge.csv: column 'area', row 4 \(line 5\): 1.7e\+?308 is too large; "
                                        r"allowed are numbers of magnitude at most 1e\+100"):
        load_csv(p)
    rows[3] = "3,-1e99,no,115"
    ds = load_csv(_write(tmp_path, "id,area,garden,price\n" + "\n".join(rows) + "\n", "big.csv"))
    assert np.isfinite(ds.x_train).all() and np.isfinite(ds.x_val).all() and np.isfinite(ds.x_scale).all()
