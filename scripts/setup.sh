#!/usr/bin/env bash
# lrstudio set-up: creates ./.venv, installs lrstudio with its dev tools, then opens the app.
# On a machine with no display it runs the headless main job instead (`lrstudio demo`).
#
#   bash scripts/setup.sh            # set up + open the app (or the headless demo)
#   bash scripts/setup.sh --no-run   # set up only (used by .ci/run)
#
# PyTorch: an already installed torch is kept. Otherwise the CPU build is preferred (the CUDA
# build of an unpinned `pip install torch` is several GB): first the local CPU wheel
# torch==2.13.0+cpu where this machine's pip can see it, then PyTorch's CPU index, then plain
# PyPI. The version that ends up installed is pinned only for this install (a constraints file
# in .venv), so later installs in the venv cannot swap it for a CUDA build; other users are not
# pinned to any torch.
set -euo pipefail
cd "$(dirname "$0")/.."

run_after=1
for arg in "$@"; do
  case "$arg" in
    --no-run) run_after=0 ;;
    -h|--help) sed -n '2,14p' "$0"; exit 0 ;;
    *) echo "setup.sh: unknown option $arg (allowed: --no-run)" >&2; exit 2 ;;
  esac
done

PY=${PYTHON:-python3}
if ! "$PY" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
  echo "setup.sh: lrstudio needs Python >= 3.11; '$PY' is $("$PY" --version 2>&1). Set PYTHON=/path/to/python3.11." >&2
  exit 1
fi

if [ ! -x .venv/bin/python ]; then
  echo "==> creating .venv"
  "$PY" -m venv .venv
fi
VPY=.venv/bin/python
pip_q() { "$VPY" -m pip install --disable-pip-version-check -q "$@"; }

if "$VPY" -c 'import torch' 2>/dev/null; then
  echo "==> keeping installed torch $("$VPY" -c 'import torch; print(torch.__version__)')"
else
  echo "==> installing PyTorch (CPU build)"
  pip_q 'torch==2.13.0+cpu' numpy 2>/dev/null \
    || pip_q --timeout 20 --retries 1 --index-url https://download.pytorch.org/whl/cpu torch numpy 2>/dev/null \
    || pip_q torch numpy
fi
echo "torch==$("$VPY" -c 'import torch; print(torch.__version__)')" > .venv/torch-constraint.txt

echo "==> installing lrstudio and its dev tools"
PIP_CONSTRAINT=.venv/torch-constraint.txt pip_q -e '.[dev]'
"$VPY" -c 'import lrstudio, torch, PySide6, pyqtgraph, sqlalchemy; print("    lrstudio", lrstudio.__version__, "| torch", torch.__version__, "| PySide6", PySide6.__version__)'

[ "$run_after" = 1 ] || exit 0
if [ -n "${DISPLAY:-}${WAYLAND_DISPLAY:-}" ] || [ "$(uname)" = Darwin ]; then
  echo "==> opening lrstudio"
  exec .venv/bin/lrstudio
else
  echo "==> no display: running the headless main job (lrstudio demo)"
  exec .venv/bin/lrstudio demo
fi
