"""The import-linter contracts in pyproject.toml hold, and each of them does catch a violation.

The parametrised test copies the package to a scratch folder, injects an import that breaks one
contract, and checks that lint-imports fails naming that contract as BROKEN: a contract that cannot
fail protects nothing. Every contract in pyproject.toml must have a case here (checked too).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LINT = Path(sys.executable).with_name("lint-imports")

pytestmark = pytest.mark.skipif(not LINT.exists(), reason="import-linter is not installed in this venv")


def _contracts() -> dict[str, str]:
    """id -> name of every contract in pyproject.toml."""
    data = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    return {c["id"]: c["name"] for c in data["tool"]["importlinter"]["contracts"]}


def _lint(cwd: Path, pythonpath: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(LINT), "--config", str(cwd / "pyproject.toml"), "--no-cache"],
                          capture_output=True, text=True, cwd=cwd, timeout=300,
                          env={"PYTHONPATH": str(pythonpath), "PATH": "/usr/bin:/bin"})


def test_contracts_hold_for_the_tree():
    res = _lint(ROOT, ROOT)
    assert res.returncode == 0, res.stdout + res.stderr
    assert "BROKEN" not in res.stdout


# (contract id, file under lrstudio/ to create or append to, the violating import, the edge reported)
VIOLATIONS = [
    ("layers", "core/sneaky.py", "import lrstudio.services", "lrstudio.core.sneaky -> lrstudio.services"),
    ("layers", "storage/sneaky.py", "import lrstudio.trainer.loop", "lrstudio.storage.sneaky -> lrstudio.trainer"),
    ("layers", "services/sneaky.py", "import lrstudio.commands.train", "lrstudio.services.sneaky -> lrstudio.commands"),
    ("layers", "trainer/sneaky.py", "import lrstudio.services", "lrstudio.trainer.sneaky -> lrstudio.services"),
    ("core-no-torch", "core/sneaky.py", "import torch", "lrstudio.core.sneaky -> torch"),
    ("core-no-torch", "core/sneaky.py", "def f():\n    import torch.nn\n", "lrstudio.core.sneaky -> torch"),
    ("gui-no-torch-sql", "gui/sneaky.py", "import torch", "lrstudio.gui.sneaky -> torch"),
    ("gui-no-torch-sql", "gui/sneaky.py", "import sqlalchemy", "lrstudio.gui.sneaky -> sqlalchemy"),
    ("gui-no-torch-sql", "gui/sneaky.py", "from lrstudio.trainer import loop",
     "lrstudio.gui.sneaky -> lrstudio.trainer"),
    ("core-qt-sql-free", "core/sneaky.py", "import sqlalchemy", "lrstudio.core.sneaky -> sqlalchemy"),
    ("core-qt-sql-free", "core/sneaky.py", "import PySide6.QtCore", "lrstudio.core.sneaky -> PySide6"),
    ("storage-qt-free", "storage/sneaky.py", "import PySide6.QtWidgets", "lrstudio.storage.sneaky -> PySide6"),
    ("cli-no-gui", "commands/sneaky.py", "import lrstudio.gui.main_window", "lrstudio.commands.sneaky -> lrstudio.gui"),
    ("cli-no-gui", "commands/sneaky.py", "import pyqtgraph", "lrstudio.commands.sneaky -> pyqtgraph"),
    ("storage-layers", "storage/engine.py", "import lrstudio.storage.repository",
     "lrstudio.storage.engine -> lrstudio.storage.repository"),
]


def test_every_contract_has_a_violation_case():
    assert {cid for cid, *_ in VIOLATIONS} == set(_contracts())


@pytest.mark.parametrize("contract,path,code,edge", VIOLATIONS,
                         ids=[f"{c}-{p.split('/')[0]}-{i}" for i, (c, p, _, _) in enumerate(VIOLATIONS)])
def test_each_contract_breaks_when_violated(tmp_path, contract, path, code, edge):
    name = _contracts()[contract]
    shutil.copytree(ROOT / "lrstudio", tmp_path / "lrstudio", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    target = tmp_path / "lrstudio" / path
    before = target.read_text(encoding="utf-8") if target.exists() else ""
    target.write_text(before + "\n" + code + "\n", encoding="utf-8")
    res = _lint(tmp_path, tmp_path)
    assert res.returncode != 0, res.stdout
    assert f"{name} BROKEN" in res.stdout, res.stdout
    assert edge in res.stdout, res.stdout
