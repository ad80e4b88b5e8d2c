"""lrstudio.torch_scheduler: a real torch LRScheduler equal to lr_curve for the whole catalogue."""

from __future__ import annotations

import io
import pickle

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import lrstudio  # noqa: E402
from lrstudio.core.schedules import SCHEDULES, ScheduleError, lr_curve, validate_spec  # noqa: E402

STEPS = 300
BASE = 0.1


def _optimizer(base: float = BASE, second: float = 0.025) -> torch.optim.Optimizer:
    m = torch.nn.Linear(3, 1)
    return torch.optim.SGD([{"params": [m.weight]}, {"params": [m.bias], "lr": second}], lr=base)


def _spec(name: str) -> dict:
    """The catalogue's defaults, with lengths that show their shape within 300 steps."""
    over = {"cosine": {"T_max": 70}, "one_cycle": {"total_steps": 250}, "cyclic": {"step_size_up": 40, "max_lr": 0.5},
            "polynomial": {"decay_steps": 200}, "wsd": {"num_warmup_steps": 20, "num_stable_steps": 100,
                                                       "num_decay_steps": 100},
            "noam": {"warmup_steps": 30}, "linear_cosine": {"decay_steps": 200},
            "noisy_linear_cosine": {"decay_steps": 200}, "linear_warmup": {"warmup_steps": 30}}
    return validate_spec({"name": name, "params": over.get(name, {})})


def _run(sched, opt, n, metrics=None):
    lrs = []
    for i in range(n):
        lrs.append([g["lr"] for g in opt.param_groups])
        opt.step()
        if metrics is None:
            sched.step()
        else:
            sched.step(float(metrics[i]))
    return np.asarray(lrs)


@pytest.mark.parametrize("name", sorted(n for n, i in SCHEDULES.items() if not i.metric_driven))
def test_every_schedule_equals_lr_curve_and_keeps_group_ratios(name):
    spec = _spec(name)
    opt = _optimizer()
    sched = lrstudio.torch_scheduler(spec, opt, total_steps=STEPS)
    assert isinstance(sched, torch.optim.lr_scheduler.LRScheduler)
    lrs = _run(sched, opt, STEPS)
    ref = lr_curve(spec, STEPS, BASE)
    np.testing.assert_array_equal(lrs[:, 0], ref)
    np.testing.assert_allclose(lrs[:, 1], ref * 0.25, rtol=1e-15, atol=0)
    assert sched.get_last_lr()[0] == lr_curve(spec, STEPS + 1, BASE)[-1]


def test_reduce_on_plateau_takes_the_metric_in_step():
    spec = validate_spec({"name": "reduce_on_plateau", "params": {"patience": 3, "factor": 0.5}})
    rng = np.random.default_rng(0)
    metrics = np.concatenate([np.linspace(1.0, 0.5, 40), 0.5 + 0.01 * rng.random(260)])
    opt = _optimizer()
    lrs = _run(lrstudio.torch_scheduler(spec, opt), opt, STEPS, metrics)
    np.testing.assert_array_equal(lrs[:, 0], lr_curve(spec, STEPS, BASE, metrics))
    assert lrs[-1, 0] < BASE  # it did reduce


@pytest.mark.parametrize("name", ["cosine", "one_cycle", "noisy_linear_cosine", "reduce_on_plateau"])
def test_state_dict_round_trip_in_the_middle(name):
    spec = _spec(name)
    metrics = np.linspace(1.0, 0.9, STEPS) if name == "reduce_on_plateau" else None
    metrics = None if metrics is None else np.where(np.arange(STEPS) > 100, 0.9, metrics)
    opt = _optimizer()
    sched = lrstudio.torch_scheduler(spec, opt)
    first = _run(sched, opt, 137, metrics)
    buf = io.BytesIO()
    torch.save({"sched": sched.state_dict(), "opt": opt.state_dict()}, buf)
    buf.seek(0)
    saved = torch.load(buf, weights_only=False)
    opt2 = _optimizer()
    opt2.load_state_dict(saved["opt"])
    sched2 = lrstudio.torch_scheduler(spec, opt2)
    sched2.load_state_dict(saved["sched"])
    rest = _run(sched2, opt2, STEPS - 137, None if metrics is None else metrics[137:])
    ref_opt = _optimizer()
    ref = _run(lrstudio.torch_scheduler(spec, ref_opt), ref_opt, STEPS, metrics)
    np.testing.assert_array_equal(np.vstack([first, rest]), ref)


def test_scheduler_pickles_and_rejects_bad_input():
    opt = _optimizer()
    sched = lrstudio.torch_scheduler("cosine", opt)
    assert pickle.loads(pickle.dumps(sched.state_dict()))["spec"]["name"] == "cosine"
    with pytest.raises(ScheduleError, match="total_steps"):
        lrstudio.torch_scheduler("cosine", _optimizer(), total_steps=0)
    with pytest.raises(ScheduleError, match="name"):
        lrstudio.torch_scheduler({"name": "nope"}, _optimizer())


# Lightning's own deprecation noise (pytree, dataloader workers) is not what this test checks.
@pytest.mark.filterwarnings("ignore::FutureWarning", "ignore::DeprecationWarning",
                            "ignore:.*does not have many workers.*", "ignore:.*number of training batches.*")
def test_lightning_fits_with_it(tmp_path):
    """Lightning's scheduler checks accept it, and it steps it once per optimizer step."""
    pl = pytest.importorskip("lightning.pytorch")
    spec = validate_spec({"name": "cosine", "params": {"T_max": 8}})
    seen: list[float] = []

    class Tiny(pl.LightningModule):
        def __init__(self):
            super().__init__()
            self.layer = torch.nn.Linear(2, 1)

        def training_step(self, batch, _idx):
            seen.append(self.trainer.optimizers[0].param_groups[0]["lr"])
            x, y = batch
            return torch.nn.functional.mse_loss(self.layer(x), y)

        def configure_optimizers(self):
            opt = torch.optim.SGD(self.parameters(), lr=BASE)
            return {"optimizer": opt,
                    "lr_scheduler": {"scheduler": lrstudio.torch_scheduler(spec, opt), "interval": "step"}}

    data = torch.utils.data.TensorDataset(torch.randn(16, 2), torch.randn(16, 1))
    trainer = pl.Trainer(max_epochs=2, accelerator="cpu", logger=False, enable_checkpointing=False,
                         enable_progress_bar=False, enable_model_summary=False, default_root_dir=tmp_path)
    trainer.fit(Tiny(), torch.utils.data.DataLoader(data, batch_size=4))
    np.testing.assert_array_equal(seen, lr_curve(spec, 8, BASE))
