#!/usr/bin/env bash
# A private PostgreSQL 15 for the tests: initdb into DIR, listening only on a Unix socket in
# DIR (no TCP port at all), trust authentication for the superuser "feedmerge". Run as root,
# the server runs as the unprivileged user "nobody" (initdb and postgres refuse root).
#
#   scripts/pg-test-server.sh start DIR   prints the connection URL on standard output
#   scripts/pg-test-server.sh stop DIR    stops it and removes DIR
#   scripts/pg-test-server.sh url DIR     prints the URL again
#
# Needs Debian's postgresql package (scripts/install-deps.sh --test). Fails, never skips:
# the tests that need the server must not pass without it.
set -euo pipefail

bin=${PG_BIN:-/usr/lib/postgresql/15/bin}
command=${1:-}
dir=${2:-}
if [[ -z "$command" || -z "$dir" ]]; then
  echo "usage: $0 start|stop|url DIR" >&2
  exit 2
fi

url() {
  # libpq takes the socket's folder as host; the user is the cluster's superuser.
  echo "postgresql://feedmerge@/postgres?host=$1"
}

as_owner() {
  if [[ $(id -u) -eq 0 ]]; then
    # setpriv keeps the environment and needs no login shell (nobody has none).
    setpriv --reuid=nobody --regid=nogroup --clear-groups -- "$@"
  else
    "$@"
  fi
}

case "$command" in
  start)
    if [[ ! -x "$bin/initdb" ]]; then
      echo "pg-test-server: $bin/initdb not found; install Debian's postgresql (scripts/install-deps.sh --test)" >&2
      exit 1
    fi
    # A server left by an earlier run: stopped, and started afresh.
    "$0" stop "$dir" >/dev/null 2>&1 || true
    mkdir -p "$(dirname "$dir")"
    if [[ $(id -u) -eq 0 ]]; then
      # nobody must reach the data and the socket, and the folder given may lie under one only
      # root can enter (mktemp -d makes 0700 folders): the server lives in its own folder under
      # /tmp, and DIR is a link to it.
      home=$(mktemp -d /tmp/feedmerge-pg.XXXXXX)
      chmod 755 "$home"
      chown nobody:nogroup "$home"
      ln -s "$home" "$dir"
    else
      mkdir -p "$dir"
      home=$(cd "$dir" && pwd)
    fi
    # A socket path is limited to 107 bytes.
    if ((${#home} > 90)); then
      echo "pg-test-server: $home is too long for a Unix socket path" >&2
      exit 1
    fi
    as_owner "$bin/initdb" -D "$home/data" -U feedmerge -A trust -E UTF8 --locale=C.UTF-8 \
      --no-sync >"$home/initdb.log" 2>&1 || {
      cat "$home/initdb.log" >&2
      exit 1
    }
    # listen_addresses '': no TCP at all; fsync off: a test server's data is thrown away.
    as_owner "$bin/pg_ctl" -D "$home/data" -l "$home/server.log" -w -t 60 \
      -o "-c listen_addresses='' -c unix_socket_directories='$home' -c fsync=off \
-c synchronous_commit=off -c full_page_writes=off -c max_connections=200" start >/dev/null || {
      cat "$home/server.log" >&2
      exit 1
    }
    url "$(cd "$(dirname "$dir")" && pwd)/$(basename "$dir")"
    ;;
  stop)
    # The server's own folder, not the link to it: nobody may not pass the link's folder.
    home=$(readlink -f "$dir" || true)
    if [[ -n "$home" && -e "$home/data/postmaster.pid" ]]; then
      as_owner "$bin/pg_ctl" -D "$home/data" -m fast -w stop >/dev/null
    fi
    if [[ -n "$home" ]]; then rm -rf "$home"; fi
    rm -rf "$dir"
    ;;
  url)
    url "$(cd "$(dirname "$dir")" && pwd)/$(basename "$dir")"
    ;;
  *)
    echo "usage: $0 start|stop|url DIR" >&2
    exit 2
    ;;
esac
