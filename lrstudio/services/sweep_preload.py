"""Imported by the sweep workers' forkserver only (:data:`lrstudio.services.sweep._PRELOAD`).

Importing this module runs :func:`lrstudio.services.runtime.prewarm` once in the forkserver:
torch's first-use initialisation (autograd, the CPU conv/pool kernels, the optimizers' step
helpers), the ORM's mappers, one intra-op thread, and the imported heap frozen. Every local
sweep worker forked from the forkserver inherits all of it: its own warm-up then takes ~7 ms
instead of 0.6-0.9 s (measured on the 2-core machine, load 2-3), paid by each worker at the same
time at the start of every sweep. Nothing here runs in the sweep's own process or in the GUI.
"""

from __future__ import annotations

#: True once the warm-up ran here (a worker checks it before its own warm-up).
WARMED = False

try:
    from lrstudio.services import runtime as _runtime

    _runtime.prewarm(None)
    WARMED = True
except Exception:  # a broken torch: the forkserver must still start (it forgives only ImportError);
    pass  # each worker then warms up itself and its run reports the problem
