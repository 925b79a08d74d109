#!/usr/bin/env bash
# Make sure PostgreSQL answers on 127.0.0.1:5432, starting the local cluster if not.
# The tests need it (trust auth, user postgres). Override with PG_PORT / PG_CLUSTER.
set -euo pipefail

host=127.0.0.1
port=${PG_PORT:-5432}
cluster=${PG_CLUSTER:-main}
wait_s=${PG_WAIT_S:-30}

ready() { pg_isready -q -h "$host" -p "$port"; }

fail() { echo "ensure-postgres: $*" >&2; exit 1; }

command -v pg_isready >/dev/null || fail "pg_isready not found: install postgresql-client"
if ready; then
    exit 0
fi

command -v pg_ctlcluster >/dev/null \
    || fail "nothing answers on $host:$port and pg_ctlcluster is missing (Debian postgresql-common)"
[ "$(id -u)" -eq 0 ] || fail "nothing answers on $host:$port; start PostgreSQL (needs root here)"
# The newest installed major version (the machine has one: 15).
version=$(ls /etc/postgresql 2>/dev/null | sort -V | tail -n 1)
[ -n "$version" ] || fail "no cluster under /etc/postgresql"

echo "ensure-postgres: starting cluster $version/$cluster" >&2
if ! pg_ctlcluster --skip-systemctl-redirect "$version" "$cluster" start; then
    # 'Already running' is no error: it may still be starting up.
    pg_ctlcluster "$version" "$cluster" status >/dev/null 2>&1 \
        || fail "could not start cluster $version/$cluster"
fi

for _ in $(seq 1 "$((wait_s * 2))"); do
    if ready; then
        echo "ensure-postgres: ready on $host:$port" >&2
        exit 0
    fi
    sleep 0.5
done

log=/var/log/postgresql/postgresql-$version-$cluster.log
echo "ensure-postgres: cluster $version/$cluster not ready on $host:$port after ${wait_s}s" >&2
[ -r "$log" ] && tail -n 20 "$log" >&2
exit 1
