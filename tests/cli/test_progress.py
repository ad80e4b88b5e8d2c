"""The progress of ``lrstudio train`` (issue 14): a bar with ETA on a terminal, plain lines elsewhere.

In-process with a fake clock for what the plain lines say and when; as real processes for the two
modes (a pipe, and a pseudo-terminal from ``pty.openpty()``).
"""

from __future__ import annotations

import io
import os
import re
import subprocess
import sys

import pytest

from lrstudio.commands._progress import TrainProgress


class Clock:
    def __init__(self):
        self.t = 100.0

    def __call__(self):
        return self.t


def _plain(total=1000, every_s=30.0):
    out, clock = io.StringIO(), Clock()
    bar = TrainProgress(out, tty=False, clock=clock, every_s=every_s)
    bar.start(total)
    return bar, out, clock


def test_plain_lines_every_tenth_with_eta_and_no_carriage_returns():
    bar, out, clock = _plain()
    for step in range(1, 1001):
        clock.t += 0.01  # 100 steps a second
        bar.update(step, 1.0 / step, 0.01)
    bar.finish()
    text = out.getvalue()
    assert "\r" not in text
    lines = text.splitlines()
    assert [int(re.match(r"step (\d+)/1000", line)[1]) for line in lines] == [1, *range(100, 1001, 100)]
    assert lines[5] == "step 500/1000 (50%)  loss 0.002  lr 0.01  elapsed 0:05  ETA 0:05"
    assert lines[-1].startswith("step 1000/1000 (100%)") and lines[-1].endswith("ETA 0:00")


def test_plain_lines_also_every_so_many_seconds_on_a_slow_run():
    bar, out, clock = _plain(total=100, every_s=30.0)
    for step in range(1, 6):
        clock.t += 20.0  # 20 s a step: 5% = 100 s
        bar.update(step, None, None)
    lines = out.getvalue().splitlines()
    # step 1 (the first), then step 3 (40 s after step 1), then step 5 (40 s after step 3)
    assert [line.split()[1] for line in lines] == ["1/100", "3/100", "5/100"]
    assert lines[1] == "step 3/100 (3%)  elapsed 1:00  ETA 32:20"


def test_plain_finish_prints_where_a_stopped_run_ended_once():
    bar, out, clock = _plain(total=1000)
    for step in range(1, 251):
        clock.t += 0.01
        bar.update(step, 0.5, 0.1)
    bar.finish()
    bar.finish()
    lines = out.getvalue().splitlines()
    assert lines[-1].startswith("step 250/1000 (25%)") and len(lines) == 4  # 1, 100, 200, 250


def test_disabled_progress_writes_nothing():
    out = io.StringIO()
    bar = TrainProgress(out, enabled=False, tty=True)
    bar.start(10)
    bar.update(5, 0.1, 0.1)
    bar.finish()
    assert out.getvalue() == ""


def test_terminal_bar_redraws_in_place_with_eta():
    out = io.StringIO()
    bar = TrainProgress(out, tty=True, ncols=100)
    bar.start(50)
    for step in range(1, 51):
        bar.update(step, 0.25, 0.01)
    bar.finish()
    text = out.getvalue()
    assert "\r" in text and text.endswith("\n")
    last = text.split("\r")[-1]
    assert "50/50" in last and "100%" in last and "<00:00" in last and "loss 0.25" in last


# -- the two modes as real processes ---------------------------------------------------------------
TRAIN = [sys.executable, "-m", "lrstudio", "train", "--dataset", "synthetic", "--max-steps", "400",
         "--val-every", "50"]


def test_train_into_a_pipe_writes_plain_progress_lines(tmp_path):
    r = subprocess.run([*TRAIN, "--db", str(tmp_path / "p.sqlite")], capture_output=True, text=True,
                       timeout=180)
    assert r.returncode == 0, r.stderr
    assert "\r" not in r.stderr and "\x1b" not in r.stderr
    lines = [line for line in r.stderr.splitlines() if line.startswith("step ")]
    assert lines and lines[-1].startswith("step 400/400 (100%)") and "ETA 0:00" in lines[-1]
    assert "run id: 1" in r.stdout


@pytest.mark.skipif(not hasattr(os, "openpty"), reason="needs a pseudo-terminal")
def test_train_on_a_terminal_draws_a_bar_with_eta(tmp_path):
    import fcntl
    import struct
    import termios

    master, slave = os.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))  # a 100-column terminal
    proc = subprocess.Popen([*TRAIN, "--db", str(tmp_path / "t.sqlite")], stdout=subprocess.PIPE,
                            stderr=slave, stdin=subprocess.DEVNULL)
    os.close(slave)
    chunks = []
    while True:
        try:
            data = os.read(master, 65536)
        except OSError:  # EIO: the child closed the terminal
            break
        if not data:
            break
        chunks.append(data)
    os.close(master)
    out = proc.stdout.read().decode()
    proc.stdout.close()
    assert proc.wait(timeout=180) == 0
    err = b"".join(chunks).decode().replace("\r\n", "\n")  # the terminal writes a newline as CR LF
    assert "\r" in err  # frames redrawn in place
    final = err.split("\r")[-1]
    assert "400/400" in final and "100%" in final and "<00:00" in final  # elapsed<ETA
    assert "run id: 1" in out and "\r" not in out
