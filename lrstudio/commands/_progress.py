"""The progress of a headless run (``lrstudio train``, ``lrstudio demo``) on stderr.

On a terminal: a tqdm bar redrawn in place, with the step count, elapsed time, ETA, rate and the
latest loss and LR. Anywhere else (a pipe, a log file, CI): plain lines with the same facts and no
``\\r`` frames, one at the first step, at every tenth of the run and at least every ``every_s``
seconds, and one where the run ended (issue 14). Whether the stream is a terminal is decided once,
when the progress starts. tqdm is imported only for the bar (it costs ~30 ms of start-up).
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import Any, TextIO


def _isatty(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError, OSError):  # a closed or odd stream
        return False


def format_duration(seconds: float) -> str:
    """``0:05``, ``12:34``, ``1:02:03``."""
    s = max(0, int(round(seconds)))
    h, rest = divmod(s, 3600)
    m, s = divmod(rest, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


def _values(loss: float | None, lr: float | None) -> str:
    parts = []
    if loss is not None:
        parts.append(f"loss {loss:.4g}")
    if lr is not None:
        parts.append(f"lr {lr:.3g}")
    return "  ".join(parts)


class TrainProgress:
    """``start(total)``, ``update(step, loss, lr)`` as steps arrive, ``finish()`` at the end.

    ``tty`` forces the mode (default: ``stream.isatty()``); ``clock`` and ``ncols`` are for tests.
    """

    def __init__(self, stream: TextIO | None = None, enabled: bool = True, *, tty: bool | None = None,
                 clock: Callable[[], float] = time.monotonic, every_s: float = 30.0,
                 ncols: int | None = None) -> None:
        self.stream = stream if stream is not None else sys.stderr
        self.enabled = enabled
        self.tty = _isatty(self.stream) if tty is None else tty
        self.total = 0
        self._clock = clock
        self._every_s = every_s
        self._ncols = ncols
        self._t0 = 0.0
        self._bar: Any = None
        self._last: tuple[int, float | None, float | None] | None = None  # latest step seen
        self._printed_step = 0
        self._printed_at = 0.0
        self._printed_tenth = -1

    def start(self, total: int) -> None:
        self.total = max(0, int(total))
        self._t0 = self._clock()
        if self.enabled and self.tty:
            from tqdm import tqdm

            self._bar = tqdm(total=self.total or None, file=self.stream, unit="step", leave=True,
                             dynamic_ncols=self._ncols is None, ncols=self._ncols, mininterval=0.1,
                             smoothing=0.1)

    def update(self, step: int, loss: float | None, lr: float | None) -> None:
        if not self.enabled:
            return
        self._last = (step, loss, lr)
        if self._bar is not None:
            values = _values(loss, lr)
            if values:
                self._bar.set_postfix_str(values.replace("  ", ", "), refresh=False)
            if step > self._bar.n:
                self._bar.update(step - self._bar.n)
            return
        now = self._clock()
        tenth = step * 10 // self.total if self.total else -1
        if (self._printed_step == 0 or tenth > self._printed_tenth
                or now - self._printed_at >= self._every_s):
            self._line(step, loss, lr, now)

    def _line(self, step: int, loss: float | None, lr: float | None, now: float) -> None:
        elapsed = now - self._t0
        text = f"step {step}/{self.total} ({100 * step // self.total}%)" if self.total else f"step {step}"
        values = _values(loss, lr)
        if values:
            text += "  " + values
        text += f"  elapsed {format_duration(elapsed)}"
        if self.total and step > 0 and elapsed > 0:
            text += f"  ETA {format_duration((self.total - step) * elapsed / step)}"
        self.stream.write(text + "\n")
        self.stream.flush()
        self._printed_step, self._printed_at = step, now
        self._printed_tenth = step * 10 // self.total if self.total else -1

    def finish(self) -> None:
        """Close the bar, or print the last step if its line is not out yet (a stopped run)."""
        if self._bar is not None:
            self._bar.close()
            self._bar = None
        elif self.enabled and self._last is not None and self._last[0] != self._printed_step:
            self._line(*self._last, self._clock())
