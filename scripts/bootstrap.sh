#!/usr/bin/env bash
# Create .venv and install the project into it. Idempotent: a stamp holding the hash of pyproject.toml and
# requirements.lock skips the install when neither changed since the last run.
# Order: the CPU build of PyTorch, then the exact versions in requirements.lock (scripts/lock.sh writes it),
# then the project itself from the working tree without resolving anything more.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON="${PYTHON:-$(command -v python3.11 || command -v python3)}"
if [ ! -x .venv/bin/python ]; then
    "$PYTHON" -m venv .venv
fi
want="$(cat pyproject.toml requirements.lock | sha256sum | cut -d' ' -f1)"
stamp=.venv/.bootstrap-stamp
if [ "$(cat "$stamp" 2>/dev/null || true)" != "$want" ]; then
    .venv/bin/python -m pip install --quiet --upgrade pip
    # The CPU build of PyTorch first: an unpinned torch would pull a multi-GB CUDA build.
    .venv/bin/python -m pip install --quiet "${TORCH_SPEC:-torch==2.13.0}"
    .venv/bin/python -m pip install --quiet -r requirements.lock
    .venv/bin/python -m pip install --quiet --no-deps -e ".[dev]"
    .venv/bin/python -m pip check  # the lock and pyproject.toml agree, or say which package does not
    echo "$want" > "$stamp"
fi
