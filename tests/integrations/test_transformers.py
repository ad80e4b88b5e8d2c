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
