"""The import-linter contracts in pyproject.toml hold, and they do catch a violation.

The second test copies the package to a scratch folder, makes the core import SQLAlchemy and Qt,
and checks that lint-imports fails naming the broken contract: a contract that cannot fail
protects nothing.
"""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LINT = Path(sys.executable).with_name("lint-imports")

pytestmark = pytest.mark.skipif(not LINT.exists(), reason="import-linter is not installed in this venv")


def _lint(cwd: Path, pythonpath: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(LINT), "--config", str(cwd / "pyproject.toml"), "--no-cache"],
                          capture_output=True, text=True, cwd=cwd, timeout=300,
                          env={"PYTHONPATH": str(pythonpath), "PATH": "/usr/bin:/bin"})


def test_contracts_hold_for_the_tree():
    res = _lint(ROOT, ROOT)
    assert res.returncode == 0, res.stdout + res.stderr
    assert "BROKEN" not in res.stdout


@pytest.mark.parametrize("forbidden", ["sqlalchemy", "PySide6.QtCore"])
def test_core_importing_qt_or_sql_breaks_the_build(tmp_path, forbidden):
    shutil.copytree(ROOT / "lrstudio", tmp_path / "lrstudio", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    (tmp_path / "lrstudio" / "core" / "sneaky.py").write_text(f"import {forbidden}\n")
    res = _lint(tmp_path, tmp_path)
    assert res.returncode != 0
    assert "core is Qt- and SQL-free BROKEN" in res.stdout
    assert f"lrstudio.core.sneaky -> {forbidden.split('.')[0]}" in res.stdout
