"""The built wheel carries alembic/ and resources/ and an installed lrstudio finds them; the sdist
carries every tracked file a packager needs, tests included; both install in a fresh venv and run.

Builds the wheel and the sdist without isolation (no network), installs the wheel with --no-deps
into a scratch folder and imports it from there in a subprocess whose working directory is not the
repo. The slow tests install each into a fresh virtual environment (see :func:`_fresh_venv`) and
run ``lrstudio demo`` from it.
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


SDIST_FOLDERS = ("lrstudio", "resources", "alembic", "tests", "bench", "docs", "scripts")


@pytest.fixture(scope="module")
def sdist(tmp_path_factory) -> Path:
    return _build(tmp_path_factory, "sdist", SDIST_FOLDERS, ("main.py",), "lrstudio-*.tar.gz")


def _tracked_files() -> list[str]:
    """The files git tracks (and the working tree still has), or skip where there is no git."""
    try:
        res = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, timeout=60)
    except OSError:
        pytest.skip("no git here")
    if res.returncode != 0:
        pytest.skip("not a git checkout")
    return [n for n in res.stdout.decode().split("\0") if n and (ROOT / n).is_file()]


def test_sdist_carries_tests_license_and_desktop_file(sdist):
    import tarfile

    names = {n.split("/", 1)[1] for n in tarfile.open(sdist).getnames() if "/" in n}
    assert "LICENSE" in names
    assert "tests/conftest.py" in names and "tests/data/schema_0001.sqlite" in names
    assert any(n.startswith("tests/gui/test_") for n in names)
    assert "resources/lrstudio.desktop" in names and "resources/icons/lrstudio.svg" in names
    assert not any("__pycache__" in n for n in names)


def test_sdist_carries_every_tracked_file_of_the_project(sdist):
    """Issue 14: a packager builds and tests from the sdist, so every file of the tests (data included,
    whatever its extension), docs, benchmarks and scripts that git tracks is in it; only the
    repository's own CI and git files are left out."""
    import tarfile

    names = {n.split("/", 1)[1] for n in tarfile.open(sdist).getnames() if "/" in n}
    wanted = [n for n in _tracked_files()
              if n.split("/", 1)[0] in SDIST_FOLDERS or "/" not in n and not n.startswith(".")]
    assert any(n.startswith("tests/") for n in wanted)
    missing = sorted(set(wanted) - names)
    assert not missing, f"not in the sdist (MANIFEST.in): {missing}"


def test_manifest_takes_every_file_under_tests():
    """A new kind of test data (event files, a .txt fixture) needs no MANIFEST.in edit."""
    lines = [line.split("#")[0].split() for line in (ROOT / "MANIFEST.in").read_text().splitlines()]
    assert ["graft", "tests"] in lines


def test_wheel_metadata_has_the_project_urls(wheel):
    meta = _metadata(wheel)
    urls = dict(line.removeprefix("Project-URL: ").split(", ", 1) for line in meta.splitlines()
                if line.startswith("Project-URL: "))
    assert urls == {"Homepage": "https://github.com/lrstudio/lrstudio",
                    "Documentation": "https://github.com/lrstudio/lrstudio#readme",
                    "Issues": "https://github.com/lrstudio/lrstudio/issues"}
    assert "example.invalid" not in meta


def _metadata(wheel: Path) -> str:
    zf = zipfile.ZipFile(wheel)
    (meta_name,) = [n for n in zf.namelist() if n.endswith(".dist-info/METADATA")]
    return zf.read(meta_name).decode()


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


# -- install in a fresh venv and run (issue 14) ----------------------------------------------------
def _fresh_venv(tmp_path: Path) -> Path:
    """A new virtual environment that sees this environment's packages except lrstudio itself.

    Like ``--system-site-packages``, but with this (development) environment as the system: its
    site-packages entries, minus lrstudio's own (the editable install), are linked into a folder
    that a ``.pth`` file adds as a site dir after the venv's own. So the dependencies (torch
    2.13.0+cpu among them) come from here, never from an index; pip runs with ``--no-index`` and
    fails if a declared dependency is not here.
    """
    import sysconfig

    base = getattr(sys, "_base_executable", sys.executable)
    venv = tmp_path / "venv"
    res = subprocess.run([base, "-m", "venv", "--without-pip", str(venv)], capture_output=True, text=True,
                         timeout=120)
    assert res.returncode == 0, res.stderr
    deps = tmp_path / "deps"
    deps.mkdir()
    for folder in dict.fromkeys(Path(sysconfig.get_paths()[k]) for k in ("purelib", "platlib")):
        for entry in folder.iterdir():
            own = entry.name.lower().startswith(("lrstudio", "__editable__.lrstudio", "__editable___lrstudio"))
            if not own and not (deps / entry.name).exists():
                (deps / entry.name).symlink_to(entry)
    py = venv / "bin" / "python"
    site = subprocess.run([py, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                          capture_output=True, text=True, timeout=60).stdout.strip()
    (Path(site) / "_lrstudio_test_deps.pth").write_text(f"import site; site.addsitedir({str(deps)!r})\n")
    return venv


def _clean_env(tmp_path: Path) -> dict[str, str]:
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    return {"PATH": "/usr/bin:/bin", "HOME": str(home), "XDG_DATA_HOME": str(home / "data"),
            "XDG_CONFIG_HOME": str(home / "config"), "XDG_CACHE_HOME": str(home / "cache"),
            "PIP_NO_INDEX": "1", "PIP_DISABLE_PIP_VERSION_CHECK": "1", "LANG": "C.UTF-8"}


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["wheel", "sdist"])
def test_installs_in_a_fresh_venv_and_runs_the_demo(kind, request, tmp_path):
    artifact = request.getfixturevalue(kind)
    venv = _fresh_venv(tmp_path)
    env = _clean_env(tmp_path)
    py = venv / "bin" / "python"
    install = [py, "-m", "pip", "install", "--no-index", "--no-compile", "-q", str(artifact)]
    if kind == "sdist":
        install.append("--no-build-isolation")  # setuptools from here: no index to fetch it from
    res = subprocess.run(install, capture_output=True, text=True, timeout=600, cwd=tmp_path, env=env)
    assert res.returncode == 0, res.stdout[-2000:] + res.stderr[-2000:]

    where = subprocess.run([py, "-c", "import lrstudio, torch; print(lrstudio.__file__); print(torch.__version__)"],
                           capture_output=True, text=True, timeout=120, cwd=tmp_path, env=env)
    assert where.returncode == 0, where.stderr
    module, torch_version = where.stdout.split()
    assert Path(module).is_relative_to(venv), module  # the installed copy, not the checkout
    assert torch_version.endswith("+cpu"), torch_version

    db = tmp_path / "demo.sqlite"
    demo = subprocess.run([venv / "bin" / "lrstudio", "--db", str(db), "demo", "--steps", "60"],
                          capture_output=True, text=True, timeout=300, cwd=tmp_path, env=env)
    assert demo.returncode == 0, demo.stdout[-2000:] + demo.stderr[-2000:]
    assert "[completed]" in demo.stdout and "\r" not in demo.stderr
    assert (tmp_path / "lrstudio-run-1-history.csv").is_file()
    import sqlite3

    con = sqlite3.connect(db)
    try:
        assert con.execute("SELECT status FROM runs").fetchall() == [("completed",)]
    finally:
        con.close()
