#!/usr/bin/env bash
# Install (idempotently) and run the whole test suite, lint included, on SQLite; with --postgres, then again on
# a real PostgreSQL server (scripts/postgres.sh installs the Debian package if needed and starts it on
# loopback). Setting AUTOCODER_TEST_POSTGRES_URL to a server you run also adds the PostgreSQL pass. With
# --browser, Debian's Chromium is installed if missing (scripts/chromium.sh) for the review page's end-to-end
# tests; without it they run when a `chromium` is on the PATH and are skipped, saying why, when not.
# Other arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
postgres=0
browser=0
args=()
for arg in "$@"; do
  case "$arg" in
    --postgres) postgres=1 ;;
    --browser) browser=1 ;;
    *) args+=("$arg") ;;
  esac
done
scripts/bootstrap.sh
if [ "$browser" = 1 ]; then
  AUTOCODER_CHROMIUM=$(scripts/chromium.sh)
  export AUTOCODER_CHROMIUM
fi
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1
.venv/bin/ruff check .
.venv/bin/lint-imports --no-cache  # the floors in pyproject.toml: no cycle, no import running back up
pg_url=${AUTOCODER_TEST_POSTGRES_URL:-}
unset AUTOCODER_TEST_POSTGRES_URL
echo "== tests on SQLite"
.venv/bin/python -m pytest "${args[@]}"
if [ "$postgres" = 1 ] && [ -z "$pg_url" ]; then
  pg_url=$(scripts/postgres.sh)
fi
if [ -n "$pg_url" ]; then
  echo "== tests on PostgreSQL (${pg_url%%:*}://…@${pg_url##*@})"
  AUTOCODER_TEST_POSTGRES_URL="$pg_url" .venv/bin/python -m pytest "${args[@]}"
fi
