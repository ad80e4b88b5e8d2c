"""Issue 14: ``lrstudio import tensorboard LOGDIR`` and ``lrstudio import csv FILE``."""

from __future__ import annotations

import math
import sys

import numpy as np
import pytest

from lrstudio.cli import main
from lrstudio.core.config import RunConfig
from lrstudio.core.events import RunFinished, RunStarted, RunSummary, StepLogged
from lrstudio.services import importers
from lrstudio.storage import open_store


@pytest.fixture
def db(tmp_path) -> str:
    return str(tmp_path / "import.sqlite")


def _url(path: str) -> str:
    return f"sqlite:///{path}"


def _write_tensorboard(logdir) -> dict[str, dict[str, list[tuple[int, float]]]]:
    """Two runs written by torch's SummaryWriter (one in a sub-folder, one over two files), and
    what was written: run path -> tag -> [(step, value)]."""
    pytest.importorskip("tensorboard", reason="the tensorboard extra is not installed")
    from torch.utils.tensorboard import SummaryWriter

    rng = np.random.default_rng(0)
    written: dict[str, dict[str, list[tuple[int, float]]]] = {}
    for rel, steps in (("adam", range(50)), ("sgd/momentum", range(5, 200, 5))):
        tags = written.setdefault(rel, {"train/loss": [], "lr": []})
        w = SummaryWriter(str(logdir / rel))
        for s in steps:
            loss, lr = float(rng.lognormal()), 0.1 * 0.97 ** s  # doubles: stored as float32
            w.add_scalar("train/loss", loss, s)
            w.add_scalar("lr", lr, s)
            tags["train/loss"].append((s, loss))
            tags["lr"].append((s, lr))
        w.add_histogram("weights", rng.normal(size=100), 0)  # not a scalar: not imported
        w.add_text("note", "hello", 0)
        w.close()
    # a second event file in the first run's folder (a resumed run): read after the first one
    w = SummaryWriter(str(logdir / "adam"), filename_suffix=".resumed")
    for s in range(50, 60):
        w.add_scalar("train/loss", 1.0 / s, s)
        written["adam"]["train/loss"].append((s, 1.0 / s))
    w.close()
    return written


def test_import_tensorboard_gives_the_same_steps_and_values(tmp_path, db, capsys):
    logdir = tmp_path / "logs"
    written = _write_tensorboard(logdir)
    assert main(["import", "tensorboard", str(logdir), "--db", db, "--tag", "tb"]) == 0
    out = capsys.readouterr().out
    assert "imported run" in out and "'logs/adam'" in out and "'logs/sgd/momentum'" in out
    with open_store(_url(db)) as store:
        runs = {r.name: r for r in store.list_runs()}
        assert set(runs) == {"logs/adam", "logs/sgd/momentum"}
        for rel, tags in written.items():
            info = runs[f"logs/{rel}"]
            assert (info.kind, info.status, info.tags) == ("external", "completed", ("tb",))
            assert info.config_dict["source"] == "tensorboard" and info.config_dict["run"] == rel
            series = store.load_series(info.id)
            assert set(series) == {"train/loss", "lr"}
            for tag, points in tags.items():
                assert series[tag].step.tolist() == [s for s, _ in points], (rel, tag)
                # float32 as written: each value is the double the float32 holds, exactly
                assert series[tag].value.tolist() == [float(np.float32(v)) for _, v in points], (rel, tag)
            wall = series["train/loss"].wall_time
            assert wall[0] >= 0 and (np.diff(wall) >= 0).all()  # seconds since the run's first event
        assert runs["logs/adam"].steps == 59


@pytest.mark.parametrize("tags,renamed", [
    # PyTorch's TensorBoard tutorial
    (["Loss/train", "Loss/val", "learning_rate", "acc"],
     {"Loss/train": "train/loss", "Loss/val": "val/loss", "learning_rate": "lr"}),
    # Lightning's TensorBoardLogger with self.log("train_loss") and LearningRateMonitor
    (["train_loss", "val_loss", "lr-SGD", "lr-SGD/pg2", "epoch"],
     {"train_loss": "train/loss", "val_loss": "val/loss", "lr-SGD": "lr", "lr-SGD/pg2": "lr/group1"}),
    # Hugging Face's TensorBoardCallback
    (["train/loss", "eval/loss", "train/learning_rate", "train/grad_norm"],
     {"eval/loss": "val/loss", "train/learning_rate": "lr"}),
    # the app's own keys are there: nothing renamed, "loss" stays "loss"
    (["train/loss", "loss", "lr"], {}),
])
def test_import_tensorboard_stores_common_loss_and_lr_tags_under_the_keys_the_app_plots(
        tmp_path, db, capsys, tags, renamed):
    """Compare plots train/loss, val/loss and lr: the usual TensorBoard names of those curves are
    stored under them (the original names kept in the run's config); other tags as written."""
    pytest.importorskip("tensorboard")
    from torch.utils.tensorboard import SummaryWriter

    w = SummaryWriter(str(tmp_path / "logs" / "run"))
    for step in range(5):
        for k, tag in enumerate(tags):
            w.add_scalar(tag, (k + 1) / (step + 1), step)
    w.close()
    assert main(["import", "tensorboard", str(tmp_path / "logs"), "--db", db]) == 0
    with open_store(_url(db)) as store:
        (info,) = store.list_runs()
        series = store.load_series(info.id)
    assert set(series) == {renamed.get(t, t) for t in tags}
    for k, tag in enumerate(tags):
        values = series[renamed.get(tag, tag)].value.tolist()
        assert values == [float(np.float32((k + 1) / (s + 1))) for s in range(5)], tag
    assert info.config_dict.get("renamed", {}) == renamed


def test_import_tensorboard_reads_tf2_scalar_tensors_too(tmp_path, db):
    """TF2's tf.summary.scalar writes a tensor with the scalars plugin's metadata, not simple_value."""
    pytest.importorskip("tensorboard")
    from tensorboard.compat.proto import event_pb2, summary_pb2
    from tensorboard.plugins.scalar import metadata
    from tensorboard.summary.writer.event_file_writer import EventFileWriter
    from tensorboard.util import tensor_util

    w = EventFileWriter(str(tmp_path / "tf2"))
    for step, value in ((1, 0.5), (2, 0.25), (3, float("nan"))):
        v = summary_pb2.Summary.Value(tag="val/loss", metadata=metadata.create_summary_metadata("", ""),
                                      tensor=tensor_util.make_tensor_proto(np.float64(value)))
        w.add_event(event_pb2.Event(step=step, wall_time=100.0 + step, summary=summary_pb2.Summary(value=[v])))
    w.close()
    runs = importers.read_tensorboard(tmp_path / "tf2")
    assert len(runs) == 1
    steps, values, walls, _ = runs[0].series["val/loss"]
    assert steps == [1, 2, 3] and values[:2] == [0.5, 0.25] and math.isnan(values[2])
    assert walls == [0.0, 1.0, 2.0]


def test_import_tensorboard_without_the_package_says_how_to_install_it(tmp_path, db, capsys, monkeypatch):
    (tmp_path / "logs").mkdir()
    for name in [m for m in sys.modules if m.split(".")[0] == "tensorboard"] + ["tensorboard"]:
        monkeypatch.setitem(sys.modules, name, None)  # import tensorboard(...) -> ImportError
    assert main(["import", "tensorboard", str(tmp_path / "logs"), "--db", db]) == 2
    assert 'pip install "lrstudio[tensorboard]"' in capsys.readouterr().err


@pytest.mark.parametrize("make,message", [
    (lambda p: None, "no such file or folder"),
    (lambda p: p.mkdir(), "no TensorBoard event files"),
    (lambda p: (p.mkdir(), (p / "events.out.tfevents.1.host").write_bytes(b"not an event file at all")),
     "cannot read the TensorBoard event file"),
])
def test_import_tensorboard_refuses_what_it_cannot_read(tmp_path, db, capsys, make, message):
    pytest.importorskip("tensorboard")
    make(tmp_path / "logs")
    assert main(["import", "tensorboard", str(tmp_path / "logs"), "--db", db]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
    with open_store(_url(db)) as store:
        assert store.list_runs() == []


def _one_event_file(logdir, steps: int = 20):
    from torch.utils.tensorboard import SummaryWriter

    w = SummaryWriter(str(logdir / "run"))
    for s in range(steps):
        w.add_scalar("train/loss", 1.0 / (s + 1), s)
    w.close()
    (path,) = (logdir / "run").iterdir()
    return path


def _frames(data: bytes) -> list[int]:
    """The byte offsets of a TFRecord file's records (8-byte length, 4-byte CRC, data, 4-byte CRC)."""
    import struct

    pos, out = 0, []
    while pos + 12 <= len(data):
        out.append(pos)
        pos += 12 + struct.unpack_from("<Q", data, pos)[0] + 4
    return out


@pytest.mark.parametrize("where", ["record data", "length field"])
def test_import_tensorboard_refuses_a_file_damaged_in_the_middle(tmp_path, db, capsys, where):
    """A damaged record with readable records after it: refused, naming the file and the byte
    (it imported the part before the damage without a word, 8 of 20 points)."""
    pytest.importorskip("tensorboard")
    path = _one_event_file(tmp_path / "logs")
    data = bytearray(path.read_bytes())
    at = _frames(bytes(data))[10]
    flip = at + 14 if where == "record data" else at + 2
    data[flip] ^= 0xFF
    path.write_bytes(bytes(data))
    assert main(["import", "tensorboard", str(tmp_path / "logs"), "--db", db]) == 2
    err = capsys.readouterr().err
    assert f"{path}" in err and f"damaged at byte {at}" in err and "Traceback" not in err, err
    assert len(err.strip().splitlines()) == 1
    with open_store(_url(db)) as store:
        assert store.list_runs() == []


@pytest.mark.parametrize("cut", [1, 7, 13])
def test_import_tensorboard_reads_a_file_cut_short_up_to_its_last_whole_record(tmp_path, db, capsys, cut):
    """What a writer that is still writing (or was killed) leaves: the complete records import,
    as TensorBoard shows them."""
    pytest.importorskip("tensorboard")
    path = _one_event_file(tmp_path / "logs")
    data = path.read_bytes()
    path.write_bytes(data[:-cut])
    assert main(["import", "tensorboard", str(tmp_path / "logs"), "--db", db]) == 0
    with open_store(_url(db)) as store:
        (info,) = store.list_runs()
        assert store.load_series(info.id)["train/loss"].step.tolist() == list(range(19))


def _stored_runs(store) -> list[int]:
    """Two runs with awkward names, keys and values: NaN, infinities, a formula-like name."""
    ids = []
    for name, keys in (("=SUM(A1) run", ("train/loss", "lr", "-odd key")), ("plain, with comma", ("val/acc",))):
        rid = store.create_run(RunConfig(lr=0.1), name=name)
        with store.recorder(rid) as rec:
            events = [RunStarted(total_steps=30, steps_per_epoch=10, epochs=3, wall_time=0.0)]
            for s in range(1, 31):
                vals = {k: (1.0 / (s + i) if s != 7 else [math.nan, math.inf, -math.inf][i % 3])
                        for i, k in enumerate(keys)}
                events.append(StepLogged(step=s, epoch=(s - 1) // 10, wall_time=0.013 * s, values=vals))
            events.append(RunFinished(RunSummary(status="completed", steps=30, epochs=3, duration_s=0.4)))
            rec.handle(events)
        ids.append(rid)
    return ids


def _same_series(a, b) -> None:
    assert set(a) == set(b)
    for key in a:
        for col in ("step", "value", "wall_time", "epoch"):
            np.testing.assert_array_equal(getattr(a[key], col), getattr(b[key], col), err_msg=f"{key} {col}")


@pytest.mark.parametrize("wide", [False, True], ids=["long", "wide"])
def test_csv_round_trip_export_import_gives_the_same_series(tmp_path, db, capsys, wide):
    with open_store(_url(db)) as store:
        ids = _stored_runs(store)
    out = tmp_path / "history.csv"
    assert main(["export", "--db", db, "--runs", ",".join(map(str, ids)), "-o", str(out),
                 *(["--wide"] if wide else [])]) == 0
    assert main(["import", "csv", str(out), "--db", db]) == 0
    with open_store(_url(db)) as store:
        runs = store.list_runs(order_by="id", descending=False)
        assert len(runs) == 4
        for old, new in zip(runs[:2], runs[2:]):
            assert new.name == f"{old.name} (2)"
            assert (new.kind, new.status) == ("external", "completed")
            _same_series(store.load_series(old.id), store.load_series(new.id))


@pytest.mark.parametrize("text,message", [
    ("", "is empty"),
    ("a,b,c\n1,2,3\n", "is not an lrstudio history export"),
    ("run_id,run_name,step,epoch,wall_time,metric,value\n", "has a header but no points"),
    ("run_id,run_name,step,epoch,wall_time,metric,value\n1,r,1,0,0.1,loss,0.5\n1,r,x,0,0.2,loss,0.4\n",
     "line 3: step must be a whole number, got 'x'"),
    ("run_id,run_name,step,epoch,wall_time,metric,value\n1,r,1,0,0.1,loss,0.5\n2,s,1,0,0.1,loss,lots\n",
     "line 3: value must be a number"),
    ("run_id,run_name,step,epoch,wall_time,metric,value\n1,r,1,0,0.1,loss\n", "line 2: 6 cells, expected 7"),
])
def test_import_csv_refuses_a_bad_file_and_writes_nothing(tmp_path, db, capsys, text, message):
    f = tmp_path / "bad.csv"
    f.write_text(text, encoding="utf-8")
    assert main(["import", "csv", str(f), "--db", db]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
    with open_store(_url(db)) as store:
        assert store.list_runs() == []


def test_import_csv_missing_file(tmp_path, db, capsys):
    assert main(["import", "csv", str(tmp_path / "nope.csv"), "--db", db]) == 2
    assert "no such file" in capsys.readouterr().err


def test_a_failure_while_writing_leaves_no_run_behind(db, monkeypatch):
    runs = [importers.ParsedRun(name=f"r{i}", config={"i": i}) for i in range(3)]
    for r in runs:
        r.add("loss", 1, 0.5, 0.0)
    with open_store(_url(db)) as store:
        real = store.recorder
        calls = []

        def failing(run_id, **kw):
            calls.append(run_id)
            if len(calls) == 2:
                raise OSError("disk full")
            return real(run_id, **kw)

        monkeypatch.setattr(store, "recorder", failing)
        with pytest.raises(OSError, match="disk full"):
            importers.store_runs(store, runs)
        assert store.list_runs() == []
