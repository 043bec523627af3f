#!/usr/bin/env bash
# Print the path of a headless-capable Chromium for the browser tests, installing Debian's `chromium` package
# first when there is none (needs root, or sudo). AUTOCODER_CHROMIUM names another executable instead.
set -euo pipefail
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
if [ -n "${AUTOCODER_CHROMIUM:-}" ]; then echo "$AUTOCODER_CHROMIUM"; exit 0; fi
if ! command -v chromium >/dev/null 2>&1; then
  echo "installing Chromium (Debian package)..." >&2
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium >&2
fi
command -v chromium
