#!/usr/bin/env bash
# CI: PostgreSQL's server binaries for the state tests (tests/pg.py starts its own server with initdb/pg_ctl
# in a temp folder, as the postgres user when run as root). Debian packages only; idempotent. The package's
# own cluster is not needed: the tests never use it.
set -euo pipefail
if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
  echo "installing postgresql"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq postgresql >/dev/null
fi
ls -d /usr/lib/postgresql/*/bin
