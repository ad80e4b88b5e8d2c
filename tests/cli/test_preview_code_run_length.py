"""``lrstudio preview --code`` exports the snippet for the --steps it previews (issue 15): a one-cycle
shorter than the run becomes LambdaLR that holds the final LR (OneCycleLR would raise), and says why."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest

from lrstudio.cli import main
from lrstudio.core.schedules import lr_curve

torch = pytest.importorskip("torch")


@pytest.mark.parametrize("steps,native", [(100, True), (250, False)])
def test_preview_code_follows_the_previewed_length(capsys, steps, native):
    spec = {"name": "one_cycle", "params": {"total_steps": 100}}
    assert main(["preview", json.dumps(spec), "--steps", str(steps), "--base-lr", "0.2", "--code"]) == 0
    code = capsys.readouterr().out
    assert ("scheduler = OneCycleLR(" in code) is native
    if not native:
        assert "OneCycleLR raises when stepped past total_steps" in code
    w = torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.SGD([w], lr=0.2, momentum=0.9)
    ns = {"optimizer": opt}
    exec(compile(code, "<snippet>", "exec"), ns)  # tests only: our own generated snippet
    got = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        for _ in range(steps):
            got.append(opt.param_groups[0]["lr"])
            opt.step()
            ns["scheduler"].step()
    np.testing.assert_allclose(got, lr_curve(spec, steps, 0.2), rtol=1e-9, atol=1e-15)
