"""The closed form at scattered steps (what a nested schedule or the adapter's chunks ask) equals the
curve over consecutive steps for every schedule of the catalogue with the custom
parameters of tests/schedule_specs.py (issue 15: the fast paths for consecutive steps)."""

from __future__ import annotations

import numpy as np
import pytest
from schedule_specs import SPECS

from lrstudio.core.schedules import SCHEDULES, curve_at, lr_curve, validate_spec

NAMES = sorted(n for n in SPECS if not SCHEDULES[n].metric_driven)


@pytest.mark.parametrize("which", ["custom", "default"])
@pytest.mark.parametrize("name", NAMES)
def test_scattered_steps_and_windows_equal_the_run(name, which):
    norm = validate_spec({"name": name, "params": SPECS[name] if which == "custom" else {}})
    n = 600
    full = lr_curve(norm, n, 0.1)
    steps = np.random.default_rng(1).permutation(n)[:150].astype(np.int64)
    # to rounding: cosine's 'rise' evaluates one period and repeats it for a long range (1e-16)
    np.testing.assert_allclose(curve_at(norm, steps, 0.1), full[steps], rtol=1e-13, atol=0)
    for a, b in ((0, 1), (17, 18), (29, 301), (120, 600), (0, 600)):
        np.testing.assert_allclose(curve_at(norm, np.arange(a, b, dtype=np.int64), 0.1), full[a:b],
                                   rtol=1e-13, atol=0)
