"""The built wheel carries alembic/ and resources/ and an installed lrstudio finds them.

Builds the wheel without isolation (no network) and installs it with --no-deps into a scratch
folder, then imports it from there in a subprocess whose working directory is not the repo.
"""

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _build(tmp_path_factory, kind: str, folders: tuple[str, ...], files: tuple[str, ...], pattern: str) -> Path:
    """Build a ``--wheel`` or ``--sdist`` from a clean copy of ``folders`` and ``files`` (setuptools
    writes build/ and *.egg-info next to the sources), without isolation (no network)."""
    pytest.importorskip("build")
    src = tmp_path_factory.mktemp(f"{kind}_src")
    junk = shutil.ignore_patterns("__pycache__", "*.pyc", "*.sqlite-wal", "*.sqlite-shm")
    for name in folders:
        shutil.copytree(ROOT / name, src / name, ignore=junk)
    for name in ("pyproject.toml", "README.md", "LICENSE", "MANIFEST.in", *files):
        shutil.copy(ROOT / name, src / name)
    out = tmp_path_factory.mktemp(kind)
    res = subprocess.run(
        [sys.executable, "-m", "build", f"--{kind}", "--no-isolation", "-o", str(out), str(src)],
        capture_output=True, text=True, timeout=300, cwd=src,
    )
    assert res.returncode == 0, res.stdout[-2000:] + res.stderr[-2000:]
    (built,) = out.glob(pattern)
    return built


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    return _build(tmp_path_factory, "wheel", ("lrstudio", "resources", "alembic"), (), "lrstudio-*.whl")


@pytest.fixture(scope="module")
def sdist(tmp_path_factory) -> Path:
    folders = ("lrstudio", "resources", "alembic", "tests", "bench", "docs", "scripts")
    return _build(tmp_path_factory, "sdist", folders, ("main.py",), "lrstudio-*.tar.gz")


def test_sdist_carries_tests_license_and_desktop_file(sdist):
    import tarfile

    names = {n.split("/", 1)[1] for n in tarfile.open(sdist).getnames() if "/" in n}
    assert "LICENSE" in names
    assert "tests/conftest.py" in names and "tests/data/schema_0001.sqlite" in names
    assert any(n.startswith("tests/gui/test_") for n in names)
    assert "resources/lrstudio.desktop" in names and "resources/icons/lrstudio.svg" in names
    assert not any("__pycache__" in n for n in names)


def test_wheel_metadata_license_classifiers_and_pyside_marker(wheel):
    zf = zipfile.ZipFile(wheel)
    (meta_name,) = [n for n in zf.namelist() if n.endswith(".dist-info/METADATA")]
    meta = zf.read(meta_name).decode()
    assert "License-Expression: MIT" in meta
    assert any(n.endswith(".dist-info/licenses/LICENSE") for n in zf.namelist())
    assert "Classifier: Programming Language :: Python :: 3.11" in meta
    assert "Classifier: Operating System :: POSIX :: Linux" in meta
    # the 6.12.0 exclusion (a Python 3.11 refcount bug) applies to Python < 3.12 only
    requires = [line for line in meta.splitlines() if line.startswith("Requires-Dist: PySide6")]
    assert any("!=6.12.0" in r and 'python_version < "3.12"' in r for r in requires), requires
    assert any("!=6.12.0" not in r and 'python_version >= "3.12"' in r for r in requires), requires
    assert "lrstudio/_resources/lrstudio.desktop" in zf.namelist()


def test_wheel_ships_migrations_and_data(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    assert "lrstudio/_alembic/env.py" in names
    assert any(n.startswith("lrstudio/_alembic/versions/0001") for n in names)
    assert "lrstudio/_alembic/script.py.mako" in names
    assert "lrstudio/_resources/data/windsor_housing.csv" in names
    assert "lrstudio/_resources/data/digits.csv.gz" in names
    assert "lrstudio/_resources/data/README.md" in names
    assert not any(n.startswith(("tests/", "bench/", "lrstudio/tests")) for n in names)


def test_installed_wheel_finds_its_shipped_files(wheel, tmp_path):
    target = tmp_path / "site"
    res = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-deps", "--no-compile", "-q", "--target", str(target),
         str(wheel)],
        capture_output=True, text=True, timeout=300,
    )
    assert res.returncode == 0, res.stderr
    code = (
        "import lrstudio.paths as p, sys; "
        "assert p.__file__.startswith(sys.argv[1]), p.__file__; "
        "print(p.alembic_dir()); print(p.data_file('windsor_housing.csv'))"
    )
    env = {"PYTHONPATH": str(target), "PATH": "/usr/bin:/bin"}
    res = subprocess.run([sys.executable, "-c", code, str(target)], capture_output=True, text=True,
                         cwd=tmp_path, env=env, timeout=60)
    assert res.returncode == 0, res.stderr
    alembic_dir, windsor = res.stdout.split()
    assert Path(alembic_dir) == target / "lrstudio" / "_alembic"
    assert (Path(alembic_dir) / "env.py").exists()
    assert Path(windsor).exists()


def test_every_python_package_is_listed_in_pyproject():
    """pyproject lists packages explicitly (for the resources/alembic mapping): keep it complete."""
    import tomllib

    listed = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    found = {
        ".".join(p.parent.relative_to(ROOT).parts)
        for p in (ROOT / "lrstudio").rglob("*.py")
        if "__pycache__" not in p.parts
    }
    assert found <= listed, f"add to [tool.setuptools] packages: {sorted(found - listed)}"
