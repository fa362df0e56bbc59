#!/usr/bin/env bash
# Install speechtl into ./.venv (idempotent: a second run only checks).
#
#   bash install.sh
#
# TORCH_SPEC picks the torch build: the default 2.13.0 is the CPU wheel kept on the
# project's build machines; on a GPU machine use e.g. TORCH_SPEC="torch>=2.4".
set -euo pipefail
cd "$(dirname "$0")"
PYTHON=${PYTHON:-python3}
TORCH_SPEC=${TORCH_SPEC:-torch==2.13.0}

[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
.venv/bin/python -m pip install -q "$TORCH_SPEC"
.venv/bin/python -m pip install -q -e ".[dev]"
# pyctcdecode 0.5 works with numpy 2 but declares numpy<2: install it without its pins.
.venv/bin/python -m pip install -q --no-deps "pyctcdecode==0.5.0"
.venv/bin/python -c "import speechtl, torch; print(f'speechtl {speechtl.__version__} installed (torch {torch.__version__})')"
