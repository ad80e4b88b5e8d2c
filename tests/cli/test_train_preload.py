"""``lrstudio train`` maps torch's native libraries in a thread while the main thread imports
(issue 11), in real processes.

``dlopen`` holds the dynamic loader's lock while it maps libtorch_cpu (~0.13-0.19 s); an
extension module (``.so``) imported by the main thread meanwhile waits for that lock while it
holds the GIL, so the two do not overlap at all. The command therefore imports every compiled
module it needs before torch first (numpy, sqlite3, bisect, SQLAlchemy's compiled parts), and only
pure Python while the preload thread runs.
"""

from __future__ import annotations

import json
import subprocess
import sys

# Stands for the `lrstudio train` process; prints the compiled modules the main thread imported
# between the start of the preload thread and the import of torch.
_DRIVER = """
import importlib.abc, json, sys, threading
import lrstudio.services.runtime as runtime

def compiled():
    return {n for n, m in list(sys.modules.items()) if str(getattr(m, "__file__", "") or "").endswith((".so", ".pyd"))}

seen = {}
real_preload = runtime.preload_torch_libraries

def preload():
    seen["thread"] = threading.current_thread() is not threading.main_thread()
    real_preload()

runtime.preload_torch_libraries = preload
real_start = threading.Thread.start

def start(self):
    if self._target is preload:  # the moment the main thread starts it
        seen.setdefault("at_start", compiled())
    real_start(self)

threading.Thread.start = start

class AtTorch(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name == "torch" and threading.current_thread() is threading.main_thread() and "at_torch" not in seen:
            seen["at_torch"] = compiled()
            seen["alembic"] = "alembic.runtime.migration" in sys.modules
        return None

sys.meta_path.insert(0, AtTorch())
from lrstudio.cli import main
rc = main(sys.argv[1:])
print(json.dumps({"rc": rc, "thread": seen.get("thread"), "alembic": seen.get("alembic"),
                  "window": sorted(seen["at_torch"] - seen["at_start"]) if "at_start" in seen else None}))
"""

_TRAIN = ["train", "--dataset", "synthetic", "--max-steps", "5", "--quiet", "--json"]


def test_the_main_thread_loads_no_compiled_module_while_libtorch_is_mapped(tmp_path):
    db = str(tmp_path / "runs.sqlite")
    for new in (True, False):  # a new database, then one at head (the usual run)
        res = subprocess.run([sys.executable, "-c", _DRIVER, "--db", db, *_TRAIN], capture_output=True,
                             text=True, timeout=180)
        assert res.returncode == 0, res.stderr
        summary, probe = (json.loads(line) for line in res.stdout.strip().splitlines()[-2:])
        assert summary["status"] == "completed" and probe["rc"] == 0
        assert probe["thread"] is True  # the preload ran, in its own thread
        assert probe["window"] == []
        # A new file's migrations are imported in that window; a database at head needs no Alembic.
        assert probe["alembic"] is new


def _fake_backend(root, marker) -> None:
    """A distribution on the path with a ``torch.backends`` entry point (an out-of-tree device
    backend, which torch autoloads at import) that leaves ``marker`` when it is loaded."""
    dist = root / "fake_lrstudio_backend-0.1.dist-info"
    dist.mkdir(parents=True)
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: fake-lrstudio-backend\nVersion: 0.1\n")
    (dist / "entry_points.txt").write_text("[torch.backends]\nfake = fake_lrstudio_backend:autoload\n")
    (root / "fake_lrstudio_backend.py").write_text(
        f"def autoload():\n    open({str(marker)!r}, 'w').close()\n")


def test_the_command_does_not_autoload_out_of_tree_torch_backends_unless_asked(tmp_path):
    # Issue 11: torch scans every installed distribution's entry points at import for device
    # backends (~0.015 s in this venv); lrstudio trains on cpu or cuda, both in torch itself.
    import os

    marker = tmp_path / "loaded"
    _fake_backend(tmp_path / "site", marker)
    db = str(tmp_path / "runs.sqlite")
    base = {k: v for k, v in os.environ.items() if k != "TORCH_DEVICE_BACKEND_AUTOLOAD"}
    base["PYTHONPATH"] = os.pathsep.join([str(tmp_path / "site"), *filter(None, [os.environ.get("PYTHONPATH")])])
    for asked in (False, True):
        env = {**base, "TORCH_DEVICE_BACKEND_AUTOLOAD": "1"} if asked else base
        res = subprocess.run([sys.executable, "-m", "lrstudio", "--db", db, *_TRAIN], capture_output=True,
                             text=True, timeout=180, env=env, cwd=tmp_path)
        assert res.returncode == 0, res.stderr
        assert json.loads(res.stdout)["status"] == "completed"
        assert marker.exists() is asked


# A bad config fails right after the preload thread started (while it maps libtorch): the command
# must not return while the thread is still inside dlopen (the process then aborted now and then,
# exit status 134, c10::Error, after the right one-line error).
_ERROR_DRIVER = """
import sys, threading
from lrstudio import cli
code = cli.main(["--db", sys.argv[1], "train", "--epochs", "abc"])
alive = [t.name for t in threading.enumerate() if t.name == "lrstudio-preload-torch" and t.is_alive()]
print(code, alive)
"""


def test_a_bad_config_returns_only_after_the_preload_has_mapped_libtorch(tmp_path):
    db = tmp_path / "runs.sqlite"
    out = subprocess.run([sys.executable, "-c", _ERROR_DRIVER, str(db)], capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split("\n")[0] == "2 []"
    assert "epochs = 'abc' is not allowed" in out.stderr


def test_the_command_with_a_bad_config_exits_2_every_time(tmp_path):
    codes = []
    for i in range(6):
        out = subprocess.run([sys.executable, "-m", "lrstudio", "--db", str(tmp_path / f"r{i}.sqlite"), "train",
                              "--epochs", "abc"], capture_output=True, text=True, timeout=120)
        codes.append(out.returncode)
        assert "Aborted" not in out.stderr and "c10::Error" not in out.stderr, out.stderr
    assert codes == [2] * 6
