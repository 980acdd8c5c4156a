# A throwaway PostgreSQL cluster in a temporary directory, on a free loopback
# port, with trust authentication. Sourced by scripts/test.sh and bench/run.sh.
#
#   start_pg  initdb + start; exports PRELAUNCH_TEST_PG_URL, a superuser
#             connection (role prelaunch) to the postgres database
#   stop_pg   stops the cluster and removes its directory; call it on EXIT
#
# Needs Debian's postgresql package and python3 (to find a free port). As
# root, the server runs as the postgres user.

PG_TMP=""
PG_BIN=""
PG_STARTED=0

find_pg_bin() {
  # Debian's binaries; the newest installed major version wins.
  local dir
  dir="$(find /usr/lib/postgresql -mindepth 3 -maxdepth 3 -path '*/bin/initdb' \
    -printf '%h\n' 2>/dev/null | sort -V | tail -n 1 || true)"
  if [[ -z "$dir" ]]; then
    echo "error: no PostgreSQL found under /usr/lib/postgresql/*/bin" >&2
    exit 1
  fi
  PG_BIN="$dir"
}

# Runs a command as the unprivileged database user (postgres refuses to run as
# root), from inside the cluster directory so it can always read its cwd.
as_pg() {
  if [[ $EUID -eq 0 ]]; then
    (cd "$PG_TMP" && runuser -u postgres -- "$@")
  else
    (cd "$PG_TMP" && "$@")
  fi
}

free_port() {
  python3 -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])
s.close()'
}

stop_pg() {
  if ((PG_STARTED)); then
    as_pg "$PG_BIN/pg_ctl" stop -D "$PG_TMP/data" -m immediate -s >/dev/null 2>&1 || true
    PG_STARTED=0
  fi
  if [[ -n "$PG_TMP" && -d "$PG_TMP" ]]; then
    rm -rf "$PG_TMP"
  fi
}

start_pg() {
  find_pg_bin
  # Explicitly under /tmp so the postgres user can reach it whatever TMPDIR is.
  PG_TMP="$(mktemp -d /tmp/prelaunch-pg.XXXXXX)"
  mkdir -p "$PG_TMP/sock"
  if [[ $EUID -eq 0 ]]; then
    chown -R postgres:postgres "$PG_TMP"
  fi

  as_pg "$PG_BIN/initdb" -D "$PG_TMP/data" -U postgres --auth=trust \
    --encoding=UTF8 --locale=C --no-sync >"$PG_TMP/initdb.log" 2>&1 || {
    cat "$PG_TMP/initdb.log" >&2
    echo "error: initdb failed" >&2
    exit 1
  }

  # Trust authentication, loopback TCP and the private socket only.
  cat >"$PG_TMP/data/pg_hba.conf" <<'EOF'
local all all              trust
host  all all 127.0.0.1/32 trust
EOF

  local attempt port=""
  for attempt in 1 2 3 4 5; do
    port="$(free_port)"
    # max_connections: four tests at once, each with a server's pool of 16 and some with workers' and a second
    # server's pools, reach 180 connections at times. sqlx's pool does not fall back on its idle connections
    # while PostgreSQL refuses new ones as too many, so a test at that limit would time out waiting for one.
    cat >"$PG_TMP/data/postgresql.auto.conf" <<EOF
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = '$PG_TMP/sock'
max_connections = 500
fsync = off
synchronous_commit = off
full_page_writes = off
EOF
    if as_pg "$PG_BIN/pg_ctl" start -D "$PG_TMP/data" -l "$PG_TMP/postgres.log" \
      -w -t 60 -s >/dev/null 2>&1; then
      PG_STARTED=1
      break
    fi
    echo "postgres: start on port $port failed (attempt $attempt)" >&2
    # A half-started server must not linger between attempts.
    as_pg "$PG_BIN/pg_ctl" stop -D "$PG_TMP/data" -m immediate -s >/dev/null 2>&1 || true
  done
  if ((!PG_STARTED)); then
    tail -n 30 "$PG_TMP/postgres.log" >&2 || true
    echo "error: could not start PostgreSQL" >&2
    exit 1
  fi

  local i
  for i in $(seq 1 100); do
    if "$PG_BIN/pg_isready" -q -h 127.0.0.1 -p "$port" -d postgres; then
      break
    fi
    if ((i == 100)); then
      tail -n 30 "$PG_TMP/postgres.log" >&2 || true
      echo "error: PostgreSQL did not become ready on port $port" >&2
      exit 1
    fi
    sleep 0.1
  done

  as_pg "$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -h "$PG_TMP/sock" -p "$port" \
    -U postgres -d postgres -c 'CREATE ROLE prelaunch WITH LOGIN SUPERUSER'

  export PRELAUNCH_TEST_PG_URL="postgres://prelaunch@127.0.0.1:$port/postgres"
  echo "postgres: $("$PG_BIN/postgres" --version) on 127.0.0.1:$port (data in $PG_TMP)"
}
