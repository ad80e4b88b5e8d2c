#!/usr/bin/env bash
# Start a throwaway PostgreSQL server on 127.0.0.1 for the storage tests, and print the lines
# that point the tests at it (a trusted role, and one that must give a password):
#
#     eval "$(scripts/ci_postgres.sh)"      # -> export LRSTUDIO_TEST_PG_URL=postgresql+psycopg://...
#                                           #    export LRSTUDIO_TEST_PG_PASSWORD_URL=...
#     scripts/ci_postgres.sh stop           # stop it and delete its data folder
#
# Needs Debian's `postgresql` package (binaries under /usr/lib/postgresql/<major>/bin). As root it
# runs the server as the `postgres` user the package creates (initdb refuses root). Logs go to
# stderr; only the export lines go to stdout.
set -euo pipefail

STATE=${LRSTUDIO_PG_STATE:-/tmp/lrstudio-ci-pg}
PGBIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
if [ -z "$PGBIN" ] || [ ! -x "$PGBIN/initdb" ]; then
    echo "ci_postgres.sh: no PostgreSQL under /usr/lib/postgresql/*/bin; apt-get install postgresql" >&2
    exit 1
fi

as_pg() {
    if [ "$(id -u)" = 0 ]; then
        runuser -u "${PGUSER_OS:-postgres}" -- "$@"
    else
        "$@"
    fi
}

if [ "${1:-start}" = stop ]; then
    if [ -f "$STATE/data/postmaster.pid" ]; then
        as_pg "$PGBIN/pg_ctl" -D "$STATE/data" -m fast -w stop >&2 || true
    fi
    rm -rf "$STATE"
    exit 0
fi

if [ "$(id -u)" = 0 ] && ! id "${PGUSER_OS:-postgres}" >/dev/null 2>&1; then
    useradd --system --no-create-home "${PGUSER_OS:-postgres}"
fi

# A free port: ask the kernel.
PORT=${LRSTUDIO_PG_PORT:-$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')}

if [ -f "$STATE/data/postmaster.pid" ]; then
    as_pg "$PGBIN/pg_ctl" -D "$STATE/data" -m fast -w stop >&2 || true
fi
rm -rf "$STATE"
mkdir -p "$STATE"
if [ "$(id -u)" = 0 ]; then chown "${PGUSER_OS:-postgres}" "$STATE"; fi
as_pg "$PGBIN/initdb" -D "$STATE/data" -U lrstudio --auth=trust -E UTF8 --locale=C.UTF-8 >&2
as_pg "$PGBIN/pg_ctl" -D "$STATE/data" -l "$STATE/server.log" -w -t 60 \
    -o "-c listen_addresses=127.0.0.1 -p $PORT -k $STATE -c fsync=off -c synchronous_commit=off -c full_page_writes=off" \
    start >&2
as_pg "$PGBIN/createdb" -h 127.0.0.1 -p "$PORT" -U lrstudio lrstudio_test >&2
# A second role that must give a password (scram-sha-256, first match in pg_hba.conf), for the
# tests of URLs saved without their password (tests/gui/test_database_passwords.py).
PW_PASSWORD=$(python3 -c 'import secrets; print(secrets.token_hex(12))')
as_pg "$PGBIN/psql" -h 127.0.0.1 -p "$PORT" -U lrstudio -d lrstudio_test -v ON_ERROR_STOP=1 -q \
    -c "SET password_encryption = 'scram-sha-256'" \
    -c "CREATE ROLE lrstudio_pw LOGIN PASSWORD '$PW_PASSWORD'" \
    -c "CREATE DATABASE lrstudio_pw_test OWNER lrstudio_pw" >&2
HBA="$STATE/data/pg_hba.conf"
as_pg sh -c "{ printf 'host all lrstudio_pw 127.0.0.1/32 scram-sha-256\n'; cat '$HBA'; } > '$HBA.new' && mv '$HBA.new' '$HBA'"
as_pg "$PGBIN/pg_ctl" -D "$STATE/data" reload >&2
sleep 0.5
echo "export LRSTUDIO_TEST_PG_URL=postgresql+psycopg://lrstudio@127.0.0.1:$PORT/lrstudio_test"
echo "export LRSTUDIO_TEST_PG_PASSWORD_URL=postgresql+psycopg://lrstudio_pw:$PW_PASSWORD@127.0.0.1:$PORT/lrstudio_pw_test"
