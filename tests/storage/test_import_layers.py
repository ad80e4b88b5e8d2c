"""storage's modules import one way (issue 10: the repository <-> recorder <-> export circle).

The contract "storage imports one way (no circle)" in pyproject.toml layers the package as
repository > recorder | export | migrate > models | engine. These tests break it on a copy of
the package and check that lint-imports names it: a contract that cannot fail protects nothing.
"""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LINT = Path(sys.executable).with_name("lint-imports")
CONTRACT = "storage imports one way (no circle)"

pytestmark = pytest.mark.skipif(not LINT.exists(), reason="import-linter is not installed in this venv")


def _lint(tree: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(LINT), "--config", str(tree / "pyproject.toml"), "--no-cache",
                           "--contract", "storage-layers"],
                          capture_output=True, text=True, cwd=tree, timeout=300,
                          env={"PYTHONPATH": str(tree), "PATH": "/usr/bin:/bin"})


def _copy(tmp_path: Path) -> Path:
    shutil.copytree(ROOT / "lrstudio", tmp_path / "lrstudio", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    return tmp_path


def test_the_storage_layers_hold():
    res = _lint(ROOT)
    assert res.returncode == 0, res.stdout + res.stderr
    assert f"{CONTRACT} KEPT" in res.stdout


@pytest.mark.parametrize(("module", "line"), [
    # the old circle: the recorder asked the repository for the time and the host name
    ("recorder", "from lrstudio.storage.repository import Store\n"),
    # even a type-only import counts: the layers are about what a module needs
    ("export", "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from lrstudio.storage.repository import Store\n"),
    # the ORM rows know nothing of who writes them
    ("models", "from lrstudio.storage import recorder\n"),
    # two siblings of one layer stay independent
    ("export", "from lrstudio.storage.recorder import HOSTNAME\n"),
])
def test_an_import_against_the_layers_breaks_the_build(tmp_path, module, line):
    tree = _copy(tmp_path)
    path = tree / "lrstudio" / "storage" / f"{module}.py"
    path.write_text(path.read_text() + "\n" + line)
    res = _lint(tree)
    assert res.returncode != 0
    assert f"{CONTRACT} BROKEN" in res.stdout, res.stdout
    assert f"lrstudio.storage.{module} -> lrstudio.storage." in res.stdout, res.stdout
