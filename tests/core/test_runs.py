"""Domain records of stored runs (lrstudio.core.runs) and the RunStore seam the store satisfies."""

import dataclasses
import datetime as dt
import inspect
import json

import numpy as np
import pytest

from lrstudio.core import runs
from lrstudio.core.config import RunConfig
from lrstudio.core.runs import FINAL_STATUSES, RUN_STATUSES, RunInfo, RunStore, RunWriter, Series


def _info(**kw) -> RunInfo:
    cfg = RunConfig(name="x", max_steps=5)
    base = dict(id=1, uuid="u", name="x", status="completed", created_at=dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
                started_at=None, ended_at=None, config_json=cfg.to_json(indent=None),
                config_schema_version=cfg.schema_version, model=cfg.model, dataset=cfg.dataset.name,
                optimizer="sgd", schedule="constant", base_lr=cfg.lr)
    base.update(kw)
    return RunInfo(**base)


def test_run_info_is_a_frozen_record_with_its_config():
    info = _info()
    assert dataclasses.is_dataclass(info)
    with pytest.raises(dataclasses.FrozenInstanceError):
        info.name = "y"  # type: ignore[misc]
    assert info.config_dict == json.loads(info.config_json)
    assert info.config().to_dict() == RunConfig.from_dict(json.loads(info.config_json)).to_dict()
    assert info.tags == () and info.notes == "" and dict(info.summary_extra) == {} and dict(info.info) == {}


@pytest.mark.parametrize("status", RUN_STATUSES)
def test_a_run_is_finished_exactly_in_a_final_status(status):
    assert _info(status=status).is_finished == (status in FINAL_STATUSES)


def test_statuses():
    assert set(FINAL_STATUSES) < set(RUN_STATUSES)
    assert set(RUN_STATUSES) - set(FINAL_STATUSES) == set(runs.UNFINISHED_STATUSES) == {"queued", "running"}


def test_series_empty_and_length():
    s = Series.empty()
    assert len(s) == 0
    assert s.step.dtype == np.int64 and s.epoch.dtype == np.int64
    assert s.value.dtype == np.float64 and s.wall_time.dtype == np.float64
    s = Series(np.arange(3, dtype=np.int64), np.array([1.0, np.nan, -np.inf]), np.zeros(3), np.full(3, -1))
    assert len(s) == 3 and np.isnan(s.value[1]) and s.value[2] == -np.inf


def _members(proto: type) -> dict[str, object]:
    return {name: value for name, value in vars(proto).items()
            if not name.startswith("_") or name in ("__enter__", "__exit__")}


def _check_satisfies(cls: type, proto: type) -> None:
    """Every member of ``proto`` is on ``cls``; every parameter of a protocol method is accepted
    under the same name and kind, with the same default where the protocol names one."""
    for name, member in _members(proto).items():
        if isinstance(member, property):  # may be an instance attribute: checked on an instance
            continue
        assert hasattr(cls, name), f"{cls.__name__} lacks {name}"
        want = inspect.signature(member).parameters
        have = inspect.signature(getattr(cls, name)).parameters
        for pname, p in want.items():
            assert pname in have, f"{cls.__name__}.{name} takes no {pname!r}"
            q = have[pname]
            assert q.kind == p.kind or (p.kind == p.KEYWORD_ONLY and q.kind == q.POSITIONAL_OR_KEYWORD), \
                f"{cls.__name__}.{name}({pname}) is {q.kind}, the protocol says {p.kind}"
            if p.default is not p.empty and p.default is not Ellipsis:
                assert q.default == p.default, f"{cls.__name__}.{name}({pname}={q.default!r}), protocol: {p.default!r}"
        extra = [q for n, q in have.items() if n not in want and q.default is q.empty
                 and q.kind not in (q.VAR_POSITIONAL, q.VAR_KEYWORD)]
        assert not extra, f"{cls.__name__}.{name} needs {extra} that the protocol does not pass"


def test_the_store_satisfies_the_run_store_seam():
    # mypy checks the same (lrstudio/storage/repository.py assigns Store to type[RunStore]).
    from lrstudio.storage import RunRecorder, Store

    _check_satisfies(Store, RunStore)
    _check_satisfies(RunRecorder, RunWriter)
    assert inspect.signature(Store.recorder).return_annotation in (RunRecorder, "RunRecorder")


def test_the_store_returns_these_records(tmp_path):
    from lrstudio.core.events import RunFinished, RunSummary, StepLogged
    from lrstudio.storage import open_store

    store: RunStore
    url = f"sqlite:///{tmp_path / 'runs.sqlite'}"
    with open_store(url) as store:
        assert store.url == url and isinstance(store.data_version(), int)
        rid = store.create_run(RunConfig(name="r", max_steps=3))
        with store.recorder(rid) as rec:
            rec.handle([StepLogged(step=1, epoch=0, wall_time=0.0, values={"train/loss": 1.0}),
                        RunFinished(RunSummary(status="completed", steps=1, epochs=0, duration_s=0.1))])
        info = store.get_run(rid)
        assert type(info) is RunInfo and info.is_finished and info.status == "completed"
        (series,) = store.load_series(rid, ["train/loss"]).values()
        assert type(series) is Series and series.step.tolist() == [1] and series.value.tolist() == [1.0]


def test_mypy_checks_a_store_against_the_seam(tmp_path):
    """The seam is checked statically: the real store passes, a store missing a method does not."""
    pytest.importorskip("mypy")
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    (tmp_path / "uses_the_seam.py").write_text(
        "from lrstudio.core.runs import RunInfo, RunStore\n"
        "from lrstudio.storage import open_store\n\n"
        "def names(store: RunStore) -> list[str]:\n"
        "    return [r.name for r in store.list_runs()]\n\n"
        "names(open_store('sqlite://'))\n\n"
        "class HalfAStore:\n"
        "    url = 'sqlite://'\n"
        "    def list_runs(self) -> list[RunInfo]:\n"
        "        return []\n\n"
        "names(HalfAStore())\n")
    res = subprocess.run([sys.executable, "-m", "mypy", "--python-version", "3.11", "--follow-imports=silent",
                          "--cache-dir", str(tmp_path / "cache"), str(tmp_path / "uses_the_seam.py")],
                         capture_output=True, text=True, cwd=root, timeout=600)
    out = res.stdout + res.stderr
    errors = [line for line in out.splitlines() if ": error:" in line]
    assert len(errors) == 1, out
    assert "uses_the_seam.py:14:" in errors[0] and '"HalfAStore"' in errors[0] and '"RunStore"' in errors[0], out
