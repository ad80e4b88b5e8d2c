"""The C allocator's settings for lrstudio's own processes (the CLI, the app, its training child,
sweep workers): glibc keeps some free memory at the top of its heap instead of returning it.

Why. The schedule curves, the compare view's series and the smoothing work on numpy arrays of
100,000 or more float64 values (~0.8 MB each) and make several temporaries per call. glibc returns
freed memory above its trim threshold to the system at once, so every such temporary is fresh
memory again and pays ~200 page faults when first written: measured, ``lr_curve`` of 100,000 steps
of a warm-up + cosine spent more than half of its 2.5 ms in them (1.1 ms with the pad,
``bench/bench_schedules.py``). ``M_TOP_PAD`` keeps ``TOP_PAD_BYTES`` of freed memory for reuse
(glibc's own ``MALLOC_TOP_PAD_``); memory in use is unchanged, and what the process keeps beyond it
is at most that pad.

Only lrstudio's entry points call :func:`tune_allocator`; importing lrstudio as a library (a user's
notebook, the tracking API in their training script) leaves their process as it is. A
``MALLOC_TOP_PAD_`` set in the environment wins (glibc has already applied it), and
``LRSTUDIO_MALLOC_TUNING=0`` turns this off. Elsewhere than Linux with glibc it does nothing.
"""

from __future__ import annotations

import os
import sys

__all__ = ["TOP_PAD_BYTES", "tune_allocator"]

TOP_PAD_BYTES = 16 * 1024 * 1024
_M_TOP_PAD = -2  # glibc malloc.h
_state: dict[str, bool] = {}


def tune_allocator() -> bool:
    """Keep ``TOP_PAD_BYTES`` of freed memory at the top of glibc's heap for reuse (once per
    process); True when glibc took the setting."""
    if "done" in _state:
        return _state["done"]
    _state["done"] = False
    if (not sys.platform.startswith("linux") or "MALLOC_TOP_PAD_" in os.environ
            or os.environ.get("LRSTUDIO_MALLOC_TUNING", "1") == "0"):
        return False
    try:
        import ctypes

        libc = ctypes.CDLL(None)
        mallopt = getattr(libc, "mallopt", None)  # glibc; musl has none
        if mallopt is None:
            return False
        mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
        mallopt.restype = ctypes.c_int
        _state["done"] = bool(mallopt(_M_TOP_PAD, TOP_PAD_BYTES))
    except (OSError, AttributeError, TypeError):
        pass
    return _state["done"]
