"""gc.freeze around a run is a RuntimeOptions setting (``freeze_heap_per_run``), not process state:
two runs in one process, each with its own setting, each does what its options say."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

# In a fresh interpreter (gc.freeze is process-wide state): the frozen count before, during (at
# every step, read by the reporter) and after each run.
SCRIPT = textwrap.dedent("""
    import gc, json, sys
    from dataclasses import replace
    from lrstudio.core.config import DatasetConfig, RunConfig
    from lrstudio.core.events import StepLogged
    from lrstudio.services.runtime import HEADLESS
    from lrstudio.services.training_run import run_training

    cfg = RunConfig(model="linear", dataset=DatasetConfig(name="windsor"), lr=0.01, max_steps=5, batch_size=0)
    out = []
    for per_run in json.loads(sys.argv[2]):
        seen = []
        def on_events(batch):
            seen.extend(gc.get_freeze_count() for e in batch if isinstance(e, StepLogged))
        before = gc.get_freeze_count()
        result = run_training(cfg, sys.argv[1], on_events=on_events,
                              options=replace(HEADLESS, emit_interval_s=0.0, freeze_heap_per_run=per_run))
        out.append({"status": result.summary.status, "before": before, "during": seen,
                    "after": gc.get_freeze_count()})
    print(json.dumps(out))
""")


def _runs(tmp_path, settings):
    url = f"sqlite:///{tmp_path / 'gc.sqlite'}"
    done = subprocess.run([sys.executable, "-c", SCRIPT, url, json.dumps(settings)], capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.splitlines()[-1])


def test_two_runs_in_one_process_freeze_as_their_options_say(tmp_path):
    off, on, off_again = _runs(tmp_path, [False, True, False])
    assert [r["status"] for r in (off, on, off_again)] == ["completed"] * 3
    # off: the collector's frozen set is left alone, before, during and after
    assert off["before"] == 0 and set(off["during"]) == {0} and off["after"] == 0
    # on: everything alive at the start is frozen during the run, and handed back afterwards
    assert len(on["during"]) == 5 and min(on["during"]) > 1000 and on["after"] == 0
    # a later run with it off is not affected by the earlier one
    assert set(off_again["during"]) == {0} and off_again["after"] == 0


def test_a_heap_frozen_for_good_is_left_alone(tmp_path):
    # the app's prewarm freezes its heap for good; its runs (freeze_heap_per_run=False) keep that freeze
    script = SCRIPT.replace("out = []\n", "out = []\ngc.freeze()\nkept = gc.get_freeze_count()\n", 1)
    script = script.replace('"after": gc.get_freeze_count()}', '"after": gc.get_freeze_count(), "kept": kept}')
    url = f"sqlite:///{tmp_path / 'gc.sqlite'}"
    done = subprocess.run([sys.executable, "-c", script, url, "[false]"], capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr
    (run,) = json.loads(done.stdout.splitlines()[-1])
    # nothing added to the frozen set (frozen objects the run frees leave it) and nothing unfrozen
    assert run["kept"] > 1000 and run["before"] == run["kept"]
    assert len(run["during"]) == 5 and max(run["during"]) <= run["kept"]
    assert 0.9 * run["kept"] < run["after"] <= run["kept"]
