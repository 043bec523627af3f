#!/usr/bin/env bash
# Install (idempotently) and serve the API on its embedded defaults: a SQLite file under data/
# and the bundled all-MiniLM-L6-v2 model, fully offline. Extra arguments go to `autocoder serve`.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1
exec .venv/bin/autocoder serve "$@"
