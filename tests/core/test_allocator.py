"""lrstudio's own processes keep freed memory at the top of glibc's heap (lrstudio.core.allocator);
importing lrstudio as a library leaves the host process alone. Real processes: the setting is
process state."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

linux_only = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt")


def _state_after(code: str, **env: str) -> dict:
    full = {k: v for k, v in os.environ.items() if k not in ("MALLOC_TOP_PAD_", "LRSTUDIO_MALLOC_TUNING")}
    full.update(env)
    out = subprocess.run([sys.executable, "-c", code + "\nfrom lrstudio.core import allocator\n"
                          "import json; print(json.dumps(allocator._state))"],
                         capture_output=True, text=True, timeout=120, env=full)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.strip().splitlines()[-1])


@linux_only
def test_the_lrstudio_command_tunes_its_process():
    assert _state_after("from lrstudio import cli\ncli.main(['schedules'])") == {"done": True}


def test_importing_lrstudio_as_a_library_leaves_the_allocator_alone():
    code = ("import lrstudio, numpy\nfrom lrstudio.core.schedules import lr_curve\n"
            "lr_curve({'name': 'cosine', 'params': {'T_max': 1000}}, 1000, 0.1)")
    assert _state_after(code) == {}


@linux_only
def test_the_environment_wins():
    code = "from lrstudio.core.allocator import tune_allocator\ntune_allocator()"
    assert _state_after(code, MALLOC_TOP_PAD_="1048576") == {"done": False}
    assert _state_after(code, LRSTUDIO_MALLOC_TUNING="0") == {"done": False}
    assert _state_after(code) == {"done": True}
