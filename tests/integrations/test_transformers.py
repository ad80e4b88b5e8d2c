"""Issue 14: ``LrstudioCallback`` — a 2-epoch toy ``transformers.Trainer`` run stores a run with
loss and LR series."""

from __future__ import annotations

import pytest

pytest.importorskip("transformers", reason="the transformers extra is not installed")
pytest.importorskip("accelerate", reason="transformers' Trainer needs accelerate (the transformers extra)")

import torch
from transformers import Trainer, TrainerCallback, TrainingArguments

from lrstudio.integrations.transformers import LrstudioCallback
from lrstudio.storage import open_store

STEPS = 16  # 2 epochs x 64 samples / batch 8


class Toy(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.net = torch.nn.Sequential(torch.nn.Linear(2, 4), torch.nn.Tanh(), torch.nn.Linear(4, 1))

    def forward(self, x, labels=None):
        out = self.net(x)
        loss = torch.nn.functional.mse_loss(out, labels)
        return {"loss": loss, "logits": out}


class Recorder(TrainerCallback):
    def __init__(self) -> None:
        self.logs: list[tuple[int, dict]] = []

    def on_log(self, args, state, control, logs=None, **kwargs):
        self.logs.append((state.global_step, dict(logs or {})))


def _data() -> list[dict]:
    g = torch.Generator().manual_seed(0)
    x = torch.randn(64, 2, generator=g)
    return [{"x": x[i], "labels": x[i].sum().reshape(1)} for i in range(64)]


def test_a_two_epoch_train_stores_loss_and_lr_series(tmp_path):
    db = str(tmp_path / "hf.sqlite")
    args = TrainingArguments(output_dir=str(tmp_path / "out"), num_train_epochs=2, per_device_train_batch_size=8,
                             learning_rate=0.1, lr_scheduler_type="linear", optim="sgd", logging_steps=1,
                             report_to="none", use_cpu=True, save_strategy="no", disable_tqdm=True, seed=0)
    torch.manual_seed(0)
    callback, seen = LrstudioCallback(name="toy trainer", config={"data": "sum"}, db=db, tags=["hf"]), Recorder()
    trainer = Trainer(model=Toy(), args=args, train_dataset=_data(), callbacks=[callback, seen])
    trainer.train()
    with open_store(f"sqlite:///{db}") as store:
        info = store.get_run(callback.run.id)
        series = store.load_series(info.id)
    assert (info.kind, info.status, info.name, info.tags) == ("external", "completed", "toy trainer", ("hf",))
    cfg = info.config_dict
    assert (cfg["model"], cfg["lr"], cfg["optimizer"], cfg["schedule"], cfg["data"]) == ("Toy", 0.1, "sgd",
                                                                                          "linear", "sum")
    assert cfg["training_args"]["num_train_epochs"] == 2
    assert (info.optimizer, info.schedule, info.base_lr) == ("sgd", "linear", 0.1)
    losses = [(step, logs["loss"]) for step, logs in seen.logs if "loss" in logs]
    loss = series["train/loss"]
    assert len(losses) == STEPS
    assert list(zip(loss.step.tolist(), loss.value.tolist())) == losses  # exactly as the Trainer logged
    assert loss.epoch.tolist() == [0] * 8 + [1] * 8
    lr = series["lr"]
    assert lr.step.tolist() == list(range(1, STEPS + 1))
    assert lr.value.tolist() == pytest.approx([0.1 * (STEPS - s) / STEPS for s in range(STEPS)])
    # the same LRs as the learning_rate the Trainer logs at each step
    logged_lr = {step: logs["learning_rate"] for step, logs in seen.logs if "learning_rate" in logs}
    assert [logged_lr[s] for s in range(1, STEPS + 1)] == pytest.approx(lr.value.tolist())
    assert "grad/norm" in series


class Broken(Toy):
    def __init__(self, fail_at: int) -> None:
        super().__init__()
        self.calls, self.fail_at = 0, fail_at

    def forward(self, x, labels=None):
        self.calls += 1
        if self.calls == self.fail_at:
            raise RuntimeError("bad batch")
        return super().forward(x, labels)


def _args(tmp_path) -> TrainingArguments:
    return TrainingArguments(output_dir=str(tmp_path / "out"), num_train_epochs=1, per_device_train_batch_size=8,
                             learning_rate=0.1, optim="sgd", logging_steps=1, report_to="none", use_cpu=True,
                             save_strategy="no", disable_tqdm=True, seed=0)


def test_train_inside_with_callback_that_raises_ends_the_run_failed_with_the_error(tmp_path):
    """An exception inside train() reaches no callback; ``with callback:`` around it ends the run
    at once, failed with the exception's message."""
    db = str(tmp_path / "hf.sqlite")
    callback = LrstudioCallback(name="broken", db=db)
    trainer = Trainer(model=Broken(fail_at=4), args=_args(tmp_path), train_dataset=_data(), callbacks=[callback])
    with pytest.raises(RuntimeError, match="bad batch"), callback:
        trainer.train()
    assert callback.run is not None and callback.run.finished
    with open_store(f"sqlite:///{db}") as store:
        info = store.get_run(callback.run.id)
        series = store.load_series(info.id)
    assert (info.status, info.error) == ("failed", "RuntimeError: bad batch")
    assert series["train/loss"].step.tolist() == [1, 2, 3]
    with callback:  # a train() that ends well inside the block: completed, as without it
        trainer.model = Toy()
        trainer.train()
    with open_store(f"sqlite:///{db}") as store:
        assert store.get_run(callback.run.id).status == "completed"


def test_a_train_that_raised_without_with_is_failed_not_completed(tmp_path):
    """Without ``with callback:``, a run whose train() raised stays open: the next train() with the
    same callback, or the process's exit, ends it failed (it used to read 'completed' at exit when
    the script caught the exception, 'stopped' at the next train())."""
    import subprocess
    import sys
    import textwrap

    db = str(tmp_path / "hf.sqlite")
    script = tmp_path / "ft.py"
    script.write_text(textwrap.dedent(f"""
        import sys
        sys.path.insert(0, {str(tmp_path)!r})
        from transformers import Trainer
        from lrstudio.integrations.transformers import LrstudioCallback
        from hf_toys import Broken, _args, _data
        import pathlib
        callback = LrstudioCallback(name="caught", db=sys.argv[1])
        trainer = Trainer(model=Broken(fail_at=3), args=_args(pathlib.Path(sys.argv[2])), train_dataset=_data(),
                          callbacks=[callback])
        try:
            trainer.train()
        except RuntimeError:
            pass  # the script goes on; the process ends normally
        print(callback.run.id, flush=True)
    """), encoding="utf-8")
    # The script imports this module's toys (a copy, not the test module itself).
    (tmp_path / "hf_toys.py").write_text(
        "import torch\nfrom transformers import TrainingArguments\n"
        + _source_of(Toy, _data, Broken, _args), encoding="utf-8")
    res = subprocess.run([sys.executable, str(script), db, str(tmp_path)], capture_output=True, text=True,
                         timeout=300)
    assert res.returncode == 0, res.stderr[-2000:]
    run_id = int(res.stdout.split()[-1])
    # In this process: a failed train() followed by a good one with the same callback.
    callback = LrstudioCallback(name="twice", db=db)
    trainer = Trainer(model=Broken(fail_at=2), args=_args(tmp_path), train_dataset=_data(), callbacks=[callback])
    with pytest.raises(RuntimeError, match="bad batch"):
        trainer.train()
    first = callback.run
    trainer.model = Toy()
    trainer.train()
    with open_store(f"sqlite:///{db}") as store:
        caught, failed, good = store.get_run(run_id), store.get_run(first.id), store.get_run(callback.run.id)
    for info in (caught, failed):
        assert info.status == "failed", info
        assert "train() did not finish" in info.error
    assert good.status == "completed"


def _source_of(*objs) -> str:
    import inspect

    return "\n\n".join(inspect.getsource(o) for o in objs) + "\n"


def test_evaluate_after_train_is_stored_in_a_run_of_its_own(tmp_path):
    """train() then evaluate(): the evaluation's metrics (logged after on_train_end finished the
    run) go to a run of their own, completed at once, with the same name and config; they were
    dropped without a word."""
    db = str(tmp_path / "hf.sqlite")
    callback = LrstudioCallback(name="then evaluate", config={"data": "sum"}, db=db)
    torch.manual_seed(0)
    trainer = Trainer(model=Toy(), args=_args(tmp_path), train_dataset=_data(), eval_dataset=_data()[:16],
                      callbacks=[callback])
    trainer.train()
    trained = callback.run
    metrics = trainer.evaluate()
    evaluated = callback.run
    assert evaluated is not trained and evaluated.finished
    with open_store(f"sqlite:///{db}") as store:
        a, b = store.get_run(trained.id), store.get_run(evaluated.id)
        sa, sb = store.load_series(a.id), store.load_series(b.id)
    assert (a.status, b.status, b.kind, b.name) == ("completed", "completed", "external", "then evaluate (2)")
    assert b.config_dict == a.config_dict
    assert "val/loss" not in sa and "train/loss" in sa
    assert sb["val/loss"].value.tolist() == [metrics["eval_loss"]]
    assert sb["val/loss"].step.tolist() == [8]  # the Trainer's global step: 64 samples / batch 8
