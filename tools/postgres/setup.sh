#!/usr/bin/env bash
# A local PostgreSQL for clustered RepShift (membership, job manifests) and its tests. Idempotent: installs the
# Debian package only when missing, starts the cluster only when down, creates the role and database only when
# absent. Prints the connection string on stdout (everything else goes to stderr).
# Usage: tools/postgres/setup.sh        (then: repshift node --cluster "$(tools/postgres/setup.sh)")
set -euo pipefail
as_root() { if [[ $(id -u) -eq 0 ]]; then "$@"; else sudo "$@"; fi; }
as_postgres() { if [[ $(id -u) -eq 0 ]]; then su postgres -s /bin/sh -c "$*"; else sudo -u postgres sh -c "$*"; fi; }

if ! command -v pg_ctlcluster > /dev/null || ! ls /usr/lib/postgresql/*/bin/postgres > /dev/null 2>&1; then
  echo "installing postgresql" >&2
  as_root apt-get update >&2
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y postgresql >&2
fi

# The newest installed major version's "main" cluster (Debian's layout); created when the package did not.
version=$(ls /usr/lib/postgresql | sort -n | tail -n 1)
if ! pg_lsclusters -h | awk -v v="$version" '$1 == v && $2 == "main"' | grep -q .; then
  as_root pg_createcluster "$version" main >&2
fi
if ! pg_lsclusters -h | awk -v v="$version" '$1 == v && $2 == "main" && $4 == "online"' | grep -q .; then
  echo "starting PostgreSQL $version/main" >&2
  as_root pg_ctlcluster "$version" main start >&2 || as_root service postgresql start >&2
fi
# Debian's default: listen_addresses = localhost, password (scram) authentication on 127.0.0.1 and ::1.
for _ in $(seq 1 30); do as_postgres "pg_isready -q" && break; sleep 1; done
as_postgres "pg_isready" >&2

if ! as_postgres "psql -tAc \"SELECT 1 FROM pg_roles WHERE rolname = 'repshift'\"" | grep -q 1; then
  as_postgres "psql -q -c \"CREATE ROLE repshift LOGIN PASSWORD 'repshift'\"" >&2
fi
if ! as_postgres "psql -tAc \"SELECT 1 FROM pg_database WHERE datname = 'repshift'\"" | grep -q 1; then
  as_postgres "createdb -O repshift repshift" >&2
fi
echo "Host=localhost;Username=repshift;Password=repshift;Database=repshift"
