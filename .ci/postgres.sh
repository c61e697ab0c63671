#!/usr/bin/env bash
# A throwaway PostgreSQL 15 server for the tests and benchmarks (CI and developers).
#
#   .ci/postgres.sh start DIR     initdb DIR (first time), start on a free loopback port,
#                                 print the URL (postgresql://postgres@127.0.0.1:PORT/postgres)
#   .ci/postgres.sh stop DIR      stop it (fast shutdown); DIR stays for the next start
#   .ci/postgres.sh restart DIR   restart it on the same port (the fault tests use this)
#   .ci/postgres.sh url DIR       the URL of the running server
#
# Trust authentication on 127.0.0.1 and a socket inside DIR only: nothing outside this
# machine can connect. fsync=off: the data is thrown away, durability is not tested here.
# The server refuses to run as root: as root it runs as the OS user postgres.
set -euo pipefail

command=${1:-}
dir=${2:-}
if [ -z "$command" ] || [ -z "$dir" ]; then
  echo "usage: $0 start|stop|restart|url DIR" >&2
  exit 2
fi

find_bin() {
  if [ -n "${PG_BIN:-}" ]; then echo "$PG_BIN"; return; fi
  for candidate in /usr/lib/postgresql/15/bin /usr/lib/postgresql/*/bin; do
    if [ -x "$candidate/pg_ctl" ]; then echo "$candidate"; return; fi
  done
  if command -v pg_config >/dev/null && [ -x "$(pg_config --bindir)/pg_ctl" ]; then pg_config --bindir; return; fi
  if command -v pg_ctl >/dev/null; then dirname "$(command -v pg_ctl)"; return; fi
  return 1
}

bin=$(find_bin) || { echo "PostgreSQL is not installed (apt-get install -y postgresql)" >&2; exit 3; }

as_owner() {
  # Run a server program as the owner of the data directory (never root), from a
  # working directory that user can enter.
  if [ "$(id -u)" = 0 ]; then
    (cd "$dir" && runuser -u postgres -- "$@")
  else
    (cd "$dir" && "$@")
  fi
}

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

url() {
  echo "postgresql://postgres@127.0.0.1:$(cat "$dir/port")/postgres"
}

start() {
  mkdir -p "$dir"
  dir=$(cd "$dir" && pwd)
  if [ "$(id -u)" = 0 ]; then chown postgres: "$dir"; fi
  if [ ! -f "$dir/data/PG_VERSION" ]; then
    as_owner mkdir -p "$dir/data" "$dir/sock"
    as_owner "$bin/initdb" -D "$dir/data" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 \
      || { cat "$dir/initdb.log" >&2; exit 1; }
  fi
  [ -f "$dir/port" ] || free_port >"$dir/port"
  launch
  url
}

launch() {
  local port
  port=$(cat "$dir/port")
  as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
    -o "-k $dir/sock -p $port -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200" \
    start >/dev/null || { tail -n 20 "$dir/server.log" >&2; exit 1; }
}

stop() {
  if [ -f "$dir/data/postmaster.pid" ]; then
    as_owner "$bin/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null
  fi
}

case "$command" in
  start) start ;;
  stop) stop ;;
  restart) stop; launch ;;
  url) url ;;
  *) echo "unknown command $command (start|stop|restart|url)" >&2; exit 2 ;;
esac
