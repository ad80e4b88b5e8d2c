"""Issue 14: ``LrstudioLogger`` — a 2-epoch toy Lightning fit stores a run with loss and LR series."""

from __future__ import annotations

import pytest

pytest.importorskip("lightning", reason="the lightning extra is not installed")

import lightning as L
import torch
from lightning.pytorch.callbacks import LearningRateMonitor
from torch.utils.data import DataLoader, TensorDataset

from lrstudio.integrations.lightning import LrstudioLogger
from lrstudio.storage import open_store

pytestmark = [
    pytest.mark.filterwarnings("ignore::lightning.fabric.utilities.warnings.PossibleUserWarning"),
    pytest.mark.filterwarnings("ignore:.*(GPU|TPU|HPU|litlogger|tensorboardX|LitLogger).*"),
    # lightning 2.6 against torch 2.13's pytree
    pytest.mark.filterwarnings("ignore:.*LeafSpec.*:FutureWarning"),
]

STEPS_PER_EPOCH = 8  # 64 samples, batch 8


class Toy(L.LightningModule):
    def __init__(self, lr: float = 0.1, hidden: int = 4) -> None:
        super().__init__()
        self.save_hyperparameters()
        self.net = torch.nn.Sequential(torch.nn.Linear(2, hidden), torch.nn.Tanh(), torch.nn.Linear(hidden, 1))
        self.losses: list[float] = []

    def training_step(self, batch, batch_idx):
        x, y = batch
        loss = torch.nn.functional.mse_loss(self.net(x), y)
        self.log("train_loss", loss)
        self.losses.append(loss.item())
        return loss

    def configure_optimizers(self):
        opt = torch.optim.SGD([{"params": self.net[0].parameters()},
                               {"params": self.net[2].parameters(), "lr": self.hparams.lr / 10}],
                              lr=self.hparams.lr)
        sched = torch.optim.lr_scheduler.StepLR(opt, step_size=3, gamma=0.5)
        return {"optimizer": opt, "lr_scheduler": {"scheduler": sched, "interval": "step"}}


def _data() -> DataLoader:
    g = torch.Generator().manual_seed(0)
    x = torch.randn(64, 2, generator=g)
    return DataLoader(TensorDataset(x, x.sum(dim=1, keepdim=True)), batch_size=8)


def _fit(tmp_path, logger, callbacks) -> Toy:
    torch.manual_seed(0)
    model = Toy()
    trainer = L.Trainer(max_epochs=2, logger=logger, callbacks=callbacks, log_every_n_steps=1,
                        enable_progress_bar=False, enable_model_summary=False, enable_checkpointing=False,
                        default_root_dir=str(tmp_path), accelerator="cpu", devices=1)
    trainer.fit(model, _data())
    return model


def _expected_lrs(n: int, base: float) -> list[float]:
    return [base * 0.5 ** (i // 3) for i in range(n)]


@pytest.mark.parametrize("how", ["own hook", "LearningRateMonitor"])
def test_a_two_epoch_fit_stores_loss_and_lr_series(tmp_path, how):
    db = str(tmp_path / "lightning.sqlite")
    logger = LrstudioLogger(name="toy fit", config={"data": "sum of two"}, db=db, tags=["lightning"])
    callbacks = [logger.lr_callback()] if how == "own hook" else [LearningRateMonitor(logging_interval="step")]
    model = _fit(tmp_path, logger, callbacks)
    n = 2 * STEPS_PER_EPOCH
    with open_store(f"sqlite:///{db}") as store:
        info = store.get_run(logger.version)
        series = store.load_series(info.id)
    assert (info.kind, info.status, info.name, info.tags) == ("external", "completed", "toy fit", ("lightning",))
    assert info.config_dict == {"data": "sum of two", "lr": 0.1, "hidden": 4}  # save_hyperparameters()
    loss = series["train/loss"]
    assert loss.value.tolist() == pytest.approx(model.losses, rel=1e-6)  # float32 losses, as logged
    assert len(loss.step) == n and loss.epoch.tolist() == [0] * 8 + [1] * 8
    lr = series["lr"]
    assert len(lr.step) == n
    assert lr.value.tolist() == pytest.approx(_expected_lrs(n, 0.1))
    assert series["lr/group1"].value.tolist() == pytest.approx(_expected_lrs(n, 0.01))
    assert lr.step.tolist() == loss.step.tolist()  # the LR of each step sits beside its loss


def test_a_fit_that_raises_leaves_a_failed_run(tmp_path):
    class Broken(Toy):
        def training_step(self, batch, batch_idx):
            if batch_idx == 3:
                raise RuntimeError("bad batch")
            return super().training_step(batch, batch_idx)

    db = str(tmp_path / "lightning.sqlite")
    logger = LrstudioLogger(db=db)
    trainer = L.Trainer(max_epochs=1, logger=logger, log_every_n_steps=1, enable_progress_bar=False,
                        enable_model_summary=False, enable_checkpointing=False, default_root_dir=str(tmp_path),
                        accelerator="cpu", devices=1)
    with pytest.raises(RuntimeError, match="bad batch"):
        trainer.fit(Broken(), _data())
    with open_store(f"sqlite:///{db}") as store:
        info = store.get_run(logger.version)
        series = store.load_series(info.id)
    assert (info.status, info.error) == ("failed", "RuntimeError: bad batch")  # the error itself
    assert len(series["train/loss"].step) == 3


def test_a_fit_stopped_with_ctrl_c_is_stopped_not_failed(tmp_path):
    class Interrupted(Toy):
        def training_step(self, batch, batch_idx):
            if batch_idx == 2:
                raise KeyboardInterrupt
            return super().training_step(batch, batch_idx)

    db = str(tmp_path / "lightning.sqlite")
    logger = LrstudioLogger(db=db)
    trainer = L.Trainer(max_epochs=1, logger=logger, log_every_n_steps=1, enable_progress_bar=False,
                        enable_model_summary=False, enable_checkpointing=False, default_root_dir=str(tmp_path),
                        accelerator="cpu", devices=1)
    with pytest.raises(SystemExit):  # Lightning turns Ctrl-C into sys.exit(1) after finalize
        trainer.fit(Interrupted(), _data())
    with open_store(f"sqlite:///{db}") as store:
        info = store.get_run(logger.version)
    assert (info.status, info.error) == ("stopped", "stopped by the user (KeyboardInterrupt)")


def test_metrics_of_a_later_trainer_call_go_to_a_run_of_their_own(tmp_path):
    """After fit, trainer.validate() with the same logger: its metrics are kept in a new run
    (they were dropped with a warning), the fit's run is left as it was."""

    class WithVal(Toy):
        def validation_step(self, batch, batch_idx):
            x, y = batch
            self.log("val_loss", torch.nn.functional.mse_loss(self.net(x), y))

    db = str(tmp_path / "lightning.sqlite")
    logger = LrstudioLogger(name="fit then validate", config={"data": "sum"}, db=db)
    torch.manual_seed(0)
    model = WithVal()
    trainer = L.Trainer(max_epochs=1, logger=logger, log_every_n_steps=1, enable_progress_bar=False,
                        enable_model_summary=False, enable_checkpointing=False, default_root_dir=str(tmp_path),
                        accelerator="cpu", devices=1)
    trainer.fit(model, _data())
    fit_id = logger.version
    trainer.validate(model, _data())
    val_id = logger.version
    assert val_id != fit_id
    with open_store(f"sqlite:///{db}") as store:
        fit, val = store.get_run(fit_id), store.get_run(val_id)
        fit_series, val_series = store.load_series(fit_id), store.load_series(val_id)
    assert (fit.status, val.status, val.kind) == ("completed", "completed", "external")
    assert val.name == "fit then validate (2)" and val.config_dict == fit.config_dict
    assert set(fit_series) == {"train/loss"} and len(fit_series["train/loss"].step) == STEPS_PER_EPOCH
    assert set(val_series) == {"val/loss"} and len(val_series["val/loss"].step) == 1


def test_a_cluster_requeue_ends_the_run_stopped(tmp_path):
    """Lightning's SLURM requeue handler calls finalize("finished") before the job is requeued (a
    new process resumes from the checkpoint): the run stopped there, it did not fail."""
    db = str(tmp_path / "lightning.sqlite")
    logger = LrstudioLogger(name="requeued", db=db)
    logger.log_metrics({"train_loss": 0.5}, step=1)
    logger.finalize("finished")
    with open_store(f"sqlite:///{db}") as store:
        info = store.get_run(logger.version)
    assert info.status == "stopped" and "requeue" in info.error
