#!/usr/bin/env bash
# A throwaway PostgreSQL server for the catalog tests: a temp cluster on 127.0.0.1, trust auth, no durability.
#
#   eval "$(bash scripts/pg-test-server.sh start)"   # prints `export FORGE_SYNC_TEST_PG_URL=…` and `…_PG_DIR=…`
#   bash scripts/pg-test-server.sh stop [DIR]         # DIR defaults to $FORGE_SYNC_TEST_PG_DIR
#
# stdout carries only the export lines, so `eval` can take them; progress and errors go to stderr.
# PostgreSQL refuses to run as root: as root, the server runs as $PG_TEST_USER (default `nobody`).
# The binaries come from $PG_BIN, else the newest /usr/lib/postgresql/*/bin; as root on Debian, a
# missing server is installed with apt-get.
set -euo pipefail

ROLE=forge
DATABASE=forge_sync_test

log() { echo "pg-test-server: $*" >&2; }

# Stops and removes a half-made cluster, then exits.
fail() {
  log "$*"
  stop_dir "$DIR" >&2 || true
  exit 1
}

find_bin() {
  local dir=${PG_BIN:-}
  [[ -n "$dir" ]] || dir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
  if [[ -z "$dir" && -z "${PG_BIN:-}" && "$(id -u)" == 0 ]] && command -v apt-get >/dev/null; then
    log "no PostgreSQL server found; installing Debian's postgresql"
    apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends postgresql >&2
    dir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
  fi
  if [[ -z "$dir" || ! -x "$dir/pg_ctl" ]]; then
    log "no PostgreSQL server binaries (initdb, pg_ctl) in ${dir:-/usr/lib/postgresql/*/bin}; install Debian's postgresql or set PG_BIN"
    exit 1
  fi
  echo "$dir"
}

# Runs a server binary as the cluster's owner, from inside the cluster folder.
as_owner() {
  if [[ "$(id -u)" == 0 ]]; then
    (cd "$DIR" && runuser -u "$OWNER" -- "$@")
  else
    (cd "$DIR" && "$@")
  fi
}

free_port() {
  node -e 'const s = require("node:net").createServer();
s.listen(0, "127.0.0.1", () => { console.log(s.address().port); s.close(); });'
}

start() {
  BIN=$(find_bin)
  OWNER=${PG_TEST_USER:-nobody}
  DIR=$(mktemp -d "${PG_TEST_TMP:-/tmp}/forge-sync-pg.XXXXXX")
  trap 'stop_dir "$DIR" >&2 || true' ERR
  if [[ "$(id -u)" == 0 ]]; then chown "$OWNER" "$DIR"; fi
  chmod 700 "$DIR"

  log "initdb in $DIR ($("$BIN/postgres" --version))"
  # Trust, but only over the socket in $DIR and on loopback (initdb writes 127.0.0.1/32 and ::1/128).
  if ! as_owner "$BIN/initdb" -D "$DIR/data" -U "$ROLE" --auth=trust -E UTF8 --locale=C --no-sync >"$DIR/initdb.log" 2>&1; then
    cat "$DIR/initdb.log" >&2
    fail "initdb failed"
  fi

  local port attempt
  for attempt in 1 2 3 4 5; do
    port=$(free_port)
    # Durability is pointless for a throwaway cluster, and fsync makes every test slower.
    if as_owner "$BIN/pg_ctl" -D "$DIR/data" -l "$DIR/server.log" -w -t 60 \
      -o "-c listen_addresses=127.0.0.1 -p $port -k $DIR -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=300" \
      start >&2; then
      break
    fi
    log "server did not start on port $port (attempt $attempt):"
    tail -n 5 "$DIR/server.log" >&2 || true
    if [[ $attempt == 5 ]]; then fail "giving up: see the server log above"; fi
  done

  # pg_ctl -w waited for the server; createdb also proves it accepts TCP connections.
  local deadline=$((SECONDS + 30))
  until "$BIN/pg_isready" -q -h 127.0.0.1 -p "$port" -U "$ROLE"; do
    ((SECONDS < deadline)) || fail "server on port $port is not accepting connections"
    sleep 0.2
  done
  "$BIN/createdb" -h 127.0.0.1 -p "$port" -U "$ROLE" "$DATABASE"
  echo "$port" >"$DIR/port"
  trap - ERR

  log "PostgreSQL ready on 127.0.0.1:$port (cluster in $DIR)"
  echo "export FORGE_SYNC_TEST_PG_URL=postgres://$ROLE@127.0.0.1:$port/$DATABASE"
  echo "export FORGE_SYNC_TEST_PG_DIR=$DIR"
}

stop_dir() {
  DIR=$1
  if [[ ! -d "$DIR/data" ]]; then
    rm -rf "$DIR"
    return
  fi
  BIN=$(find_bin)
  OWNER=$(stat -c %U "$DIR")
  if [[ -f "$DIR/data/postmaster.pid" ]]; then
    as_owner "$BIN/pg_ctl" -D "$DIR/data" -m fast -w -t 60 stop >&2 || true
  fi
  rm -rf "$DIR"
  log "stopped and removed $DIR"
}

case "${1:-}" in
  start) start ;;
  stop)
    dir=${2:-${FORGE_SYNC_TEST_PG_DIR:-}}
    if [[ -z "$dir" ]]; then
      log "stop: which cluster? pass its folder or set FORGE_SYNC_TEST_PG_DIR (start printed it)"
      exit 2
    fi
    case "$dir" in
      */forge-sync-pg.*) stop_dir "$dir" ;;
      *)
        log "stop: $dir is not a folder this script made"
        exit 2
        ;;
    esac
    ;;
  *)
    echo "usage: bash scripts/pg-test-server.sh start|stop [DIR]" >&2
    exit 2
    ;;
esac
