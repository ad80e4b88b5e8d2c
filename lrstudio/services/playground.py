"""The optimizer playground's service (issue 16): compute trajectories and save them as runs.

Front ends (``lrstudio playground``, the GUI's Playground tab) call this module; it calls
:mod:`lrstudio.trainer.playground` for the iterates and the store for saving. A saved trajectory is
a run of kind ``playground``: its config is :func:`~lrstudio.core.playground.playground_config`
(function, expression, domain, start, optimizer with every parameter, lr, schedule, steps, noise,
seed), its series are the iterates ``x`` (1-D) or ``x1``/``x2`` (2-D), ``train/loss`` = f at the iterate
and ``lr`` = the LR of the update that led there, at steps 0 (the start; no ``lr``) to n. It ends
``completed`` or ``diverged`` (with the step and the reason in its summary), so it shows in the
runs table, Compare and the CSV export like any other run.

Saving writes the run's points through the recorder in one go; if writing fails, the run row is
deleted again, so nothing half-written stays in the database.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from lrstudio.core.events import COMPLETED, DIVERGED, RunFinished, RunStarted, RunSummary, StepLogged
from lrstudio.core.playground import (
    FunctionInfo,
    Surface,
    TrajectorySpec,
    describe,
    playground_config,
    resolve_function,
)

if TYPE_CHECKING:
    from lrstudio.trainer.playground import Trajectory

__all__ = ["PLAYGROUND_KIND", "compute", "delete_runs", "run_name", "save_trajectories", "save_trajectory", "series_of"]

PLAYGROUND_KIND = "playground"
#: The loss at each iterate is stored under the training loss's key, so Compare, the runs table and
#: the exports treat it like any run's loss.
LOSS_KEY = "train/loss"


def compute(function: FunctionInfo | str, specs: Sequence[TrajectorySpec], *,
            surface: Surface | None = None) -> list[Trajectory]:
    """The trajectories of ``specs`` on ``function`` (see :func:`lrstudio.trainer.playground.compute_trajectories`)."""
    from lrstudio.trainer.playground import compute_trajectories  # torch: only when computing

    return compute_trajectories(function, specs, surface=surface)


def run_name(function: FunctionInfo, traj: Trajectory) -> str:
    return f"playground {function.name} {describe(traj.spec)}"


def series_of(function: FunctionInfo, traj: Trajectory) -> dict[str, np.ndarray]:
    """The run's series (keys as stored), each aligned with steps ``0..n`` (``lr`` from step 1)."""
    out = {name: traj.xs[:, k] for k, name in enumerate(function.variables)}
    out[LOSS_KEY] = traj.loss
    out["lr"] = np.concatenate([[np.nan], traj.lr])
    return out


def _events(function: FunctionInfo, traj: Trajectory) -> list[Any]:
    n = traj.steps_done
    names = function.variables
    events: list[Any] = [RunStarted(total_steps=traj.spec.steps, steps_per_epoch=max(traj.spec.steps, 1),
                                    epochs=1, wall_time=0.0, info={"function": function.name})]
    xs = traj.xs.tolist()
    loss = traj.loss.tolist()
    lr = traj.lr.tolist()
    for k in range(n + 1):
        values = {name: xs[k][d] for d, name in enumerate(names)}
        values[LOSS_KEY] = loss[k]
        if k >= 1:
            values["lr"] = lr[k - 1]
        events.append(StepLogged(step=k, epoch=0, wall_time=0.0, values=values))
    finite = traj.loss[np.isfinite(traj.loss)]
    summary = RunSummary(
        status=DIVERGED if traj.diverged else COMPLETED,
        steps=n, epochs=1 if not traj.diverged else 0, duration_s=0.0,
        final_loss=float(traj.loss[-1]), best_loss=float(finite.min()) if finite.size else None,
        diverged_step=traj.diverged_step,
        error=f"diverged at step {traj.diverged_step}: {traj.reason}" if traj.diverged else None,
        extra={"final_point": xs[-1], "reason": traj.reason},
    )
    events.append(RunFinished(summary))
    return events


def save_trajectory(store: Any, function: FunctionInfo, traj: Trajectory, name: str | None = None) -> int:
    """Store ``traj`` as a run of kind ``playground``; return its id."""
    run_id: int = store.create_run(playground_config(function, traj.spec), name=name or run_name(function, traj),
                                   kind=PLAYGROUND_KIND)
    try:
        with store.recorder(run_id) as recorder:
            recorder.handle(_events(function, traj))
    except BaseException:
        store.delete_run(run_id)
        raise
    return run_id


def save_trajectories(store: Any, function: FunctionInfo, trajectories: Sequence[Trajectory]) -> list[int]:
    """Store every trajectory as a run of kind ``playground``, all or none: if one fails, the runs
    stored before it are deleted again and the error is raised."""
    ids: list[int] = []
    try:
        for traj in trajectories:
            ids.append(save_trajectory(store, function, traj))
    except BaseException:
        delete_runs(store, ids)
        raise
    return ids


def delete_runs(store: Any, run_ids: Sequence[int]) -> None:
    """Delete runs just stored (a later part of the same command failed); never raises over the
    error that is being reported."""
    for run_id in run_ids:
        try:
            store.delete_run(run_id)
        except Exception:  # the first error is the one the user must see
            pass


def compute_and_save(store: Any, function: str, spec: TrajectorySpec, *, expression: str | None = None,
                     domain: Any = None, name: str | None = None) -> tuple[int, FunctionInfo, Trajectory]:
    """One trajectory on a catalogue function, saved (the CLI's path)."""
    info, surface = resolve_function(function, expression, domain)
    (traj,) = compute(info, [spec], surface=surface)
    return save_trajectory(store, info, traj, name), info, traj
