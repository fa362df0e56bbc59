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

# Offline TTS engines for synthetic training audio, and SCOWL's English word list that the
# beam search uses to tell real words from letter soup (Debian/Ubuntu; skipped elsewhere or without root).
TTS_PACKAGES="espeak-ng flite festival festvox-kallpc16k festvox-kdlpc16k festvox-us-slt-hts wamerican-large"
if command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
    missing=$(for p in $TTS_PACKAGES; do dpkg -s "$p" >/dev/null 2>&1 || echo "$p"; done)
    if [ -n "$missing" ]; then
        (apt-get install -y -q $missing >/dev/null 2>&1 || { apt-get update -q >/dev/null && apt-get install -y -q $missing >/dev/null; }) \
            || echo "install.sh: could not install $missing; voices of missing engines are skipped"
    fi
else
    echo "install.sh: install $TTS_PACKAGES with your package manager for all synthesis voices and the word list"
fi

[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
.venv/bin/python -m pip install -q "$TORCH_SPEC"
.venv/bin/python -m pip install -q -e ".[dev]"
# pyctcdecode 0.5 works with numpy 2 but declares numpy<2: install it without its pins.
.venv/bin/python -m pip install -q --no-deps "pyctcdecode==0.5.0"
.venv/bin/python -c "import speechtl, torch; print(f'speechtl {speechtl.__version__} installed (torch {torch.__version__})')"
