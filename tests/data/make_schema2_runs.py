"""Write tests/data/schema2_runs.json: schema-2 run configs and the series the lrstudio of that
schema recorded when it trained them (issue 15: "an old-schema config trains identically").

Run with the code of the last schema-2 commit (ecedc6b, the parent of the schema-3 change 5477830):

    mkdir /tmp/old && git archive ecedc6b | tar -x -C /tmp/old
    cd /tmp/old && PYTHONPATH=/tmp/old /work/main/.venv/bin/python /work/main/tests/data/make_schema2_runs.py

tests/trainer/test_run_shares_training.py trains each config with today's code and compares.
"""

from __future__ import annotations

import json
from pathlib import Path

from lrstudio.core.config import SCHEMA_VERSION, DatasetConfig, RunConfig, check_runnable
from lrstudio.core.events import ListReporter
from lrstudio.trainer.loop import train

assert SCHEMA_VERSION == 2, SCHEMA_VERSION
SGD_M = {"name": "momentum", "params": {"momentum": 0.9}}
ADAM = {"name": "adam", "params": {}}
SCHEDULES = [
    ("one_cycle momentum", SGD_M, {"name": "one_cycle", "params": {"total_steps": 50, "pct_start": 0.25}}),
    ("cyclic adam", ADAM, {"name": "cyclic", "params": {"max_lr": 0.08, "step_size_up": 7, "mode": "triangular2"}}),
    ("factor gluon", SGD_M, {"name": "factor", "params": {"factor": 0.8, "step_size": 6,
                                                          "convention": "mxnet_gluon"}}),
    ("multi_factor d2l", SGD_M, {"name": "multi_factor", "params": {"steps": [10, 25], "convention": "d2l"}}),
    ("sequential continue", SGD_M, {"name": "sequential", "params": {
        "milestones": [15], "recursive": "continue", "schedules": [
            {"name": "linear", "params": {"start_factor": 0.2, "total_iters": 15}},
            {"name": "multiplicative", "params": {"lr_lambda": "0.97"}}]}}),
    ("warm-up cosine", ADAM, {"name": "linear_warmup", "params": {"warmup_steps": 8, "inner": {
        "name": "cosine", "params": {"T_max": 40, "after_end": "hold"}}}}),
    ("hf restarts", SGD_M, {"name": "hf_cosine_with_restarts", "params": {
        "num_warmup_steps": 5, "num_training_steps": 55, "num_cycles": 2}}),
    ("timm noise", SGD_M, {"name": "noise", "params": {"noise_range_t": [10, 40], "inner": {
        "name": "timm_cosine", "params": {"t_initial": 20, "cycle_limit": 3, "warmup_t": 4}}}}),
    ("optax sgdr", ADAM, {"name": "optax_sgdr", "params": {"cycles": [
        {"name": "optax_warmup_cosine_decay", "params": {"warmup_steps": 4, "decay_steps": 25}},
        {"name": "optax_warmup_cosine_decay", "params": {"warmup_steps": 4, "decay_steps": 35,
                                                         "peak_value": 0.02}}]}}),
    ("wsd", SGD_M, {"name": "wsd", "params": {"num_warmup_steps": 5, "num_stable_steps": 30,
                                             "num_decay_steps": 20, "decay_type": "1-sqrt"}}),
]

runs = []
for name, opt, sched in SCHEDULES:
    cfg = RunConfig(name=name, dataset=DatasetConfig(name="synthetic", n_samples=64, val_fraction=0.0), lr=0.05,
                    batch_size=16, optimizer=opt, max_steps=60, schedule=sched, seed=3)
    rep = ListReporter()
    s = train(check_runnable(cfg), rep)
    assert s.status == "completed", (name, s.error)
    series = {k: [float(v) for v in rep.series(k)] for k in ("lr", "momentum", "train/loss") if rep.series(k)}
    runs.append({"config": cfg.to_dict(), "steps": s.steps, "series": series})

out = Path(__file__).with_name("schema2_runs.json")
out.write_text(json.dumps(runs, indent=1) + "\n")
print(f"{len(runs)} runs -> {out}")
