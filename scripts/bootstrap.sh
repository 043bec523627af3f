#!/usr/bin/env bash
# Create .venv and install the project into it. Idempotent: a stamp holding the hash of
# pyproject.toml skips the install when nothing changed since the last run.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON="${PYTHON:-$(command -v python3.11 || command -v python3)}"
if [ ! -x .venv/bin/python ]; then
    "$PYTHON" -m venv .venv
fi
want="$(sha256sum pyproject.toml | cut -d' ' -f1)"
stamp=.venv/.bootstrap-stamp
if [ "$(cat "$stamp" 2>/dev/null || true)" != "$want" ]; then
    .venv/bin/python -m pip install --quiet --upgrade pip
    # The CPU build of PyTorch first: an unpinned torch would pull a multi-GB CUDA build.
    .venv/bin/python -m pip install --quiet "${TORCH_SPEC:-torch==2.13.0}"
    .venv/bin/python -m pip install --quiet -e ".[dev]"
    echo "$want" > "$stamp"
fi
