#!/usr/bin/env bash
# A throw-away PostgreSQL cluster for the tests and the benchmarks: a fresh data directory,
# a local port, a superuser role named `buildscope` trusted on 127.0.0.1 only, no fsync.
#
#   scripts/pg-throwaway.sh start [DIR] [PORT]   prints the cluster's URL
#   scripts/pg-throwaway.sh stop  [DIR]          stops it and removes DIR
#
# Needs the distribution's PostgreSQL server (scripts/install-system-deps.sh). initdb will
# not run as root: as root, the cluster runs as the `postgres` user the package created.
set -euo pipefail
command=${1:?start or stop}
dir=${2:-/tmp/buildscope-pg}
port=${3:-55432}
bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
if [ -z "$bin" ]; then
  echo "no PostgreSQL server installed (scripts/install-system-deps.sh)" >&2
  exit 1
fi
as_owner() {
  if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}
case "$command" in
  start)
    if [ -f "$dir/data/postmaster.pid" ]; then
      as_owner "$bin/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1 || true
    fi
    rm -rf "$dir"
    mkdir -p "$dir"
    if [ "$(id -u)" -eq 0 ]; then chown postgres "$dir"; fi
    as_owner "$bin/initdb" -D "$dir/data" -A trust -U buildscope --no-sync >"$dir/initdb.log" 2>&1
    as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w \
      -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=100" start >/dev/null
    echo "postgres://buildscope@127.0.0.1:$port/postgres"
    ;;
  stop)
    if [ -d "$dir/data" ]; then
      as_owner "$bin/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null 2>&1 || true
    fi
    rm -rf "$dir"
    ;;
  *)
    echo "start or stop" >&2
    exit 2
    ;;
esac
