#!/usr/bin/env bash
# Start a PostgreSQL server on loopback for the test suite and print a URL for it (stdout; logs go to stderr).
# Installs the Debian package first when no server is installed (needs root, or sudo). Idempotent: a running
# server and an existing role are reused. The role may create databases: every test gets a fresh one.
set -euo pipefail
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

if ! command -v pg_ctlcluster >/dev/null 2>&1 || [ -z "$(ls /etc/postgresql 2>/dev/null)" ]; then
  echo "installing PostgreSQL (Debian package)..." >&2
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends postgresql >&2
fi
version=$(ls /etc/postgresql | sort -V | tail -n 1)
if [ ! -d "/etc/postgresql/$version/main" ]; then
  as_root pg_createcluster "$version" main >&2
fi
port=$(as_root pg_conftool -s "$version" main show port 2>/dev/null || echo 5432)
if ! pg_isready -q -h 127.0.0.1 -p "$port"; then
  as_root pg_ctlcluster "$version" main start >&2
  for _ in $(seq 1 30); do pg_isready -q -h 127.0.0.1 -p "$port" && break; sleep 1; done
fi
pg_isready -q -h 127.0.0.1 -p "$port" || { echo "PostgreSQL did not start on 127.0.0.1:$port" >&2; exit 1; }

psql_admin() { as_root runuser -u postgres -- psql -p "$port" -v ON_ERROR_STOP=1 -qtA "$@"; }
if [ "$(psql_admin -c "SELECT 1 FROM pg_roles WHERE rolname = 'autocoder'")" != "1" ]; then
  psql_admin -c "CREATE ROLE autocoder LOGIN CREATEDB PASSWORD 'autocoder'" >&2
fi
# Dropping a test database WITH (FORCE) ends its sessions, an autovacuum worker's too: that takes this role.
psql_admin -c "GRANT pg_signal_backend TO autocoder" >&2
echo "postgresql+psycopg://autocoder:autocoder@127.0.0.1:$port/postgres"
