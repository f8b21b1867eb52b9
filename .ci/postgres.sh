# Start a throwaway PostgreSQL server for the store tests and export its URL.
#
#   source .ci/postgres.sh      # from .ci/run, or by hand before `python -m pytest tests/store`
#
# Installs Debian's postgresql package when it is missing, makes a new cluster in a temporary
# folder owned by the postgres user (initdb + pg_ctl; the machine's own clusters are left
# alone), starts it on a free port on 127.0.0.1, creates the database mgr_test and exports
#   MGR_TEST_PG_URL=postgresql+psycopg://postgres@127.0.0.1:PORT/mgr_test
# The server is stopped when the shell that sourced this file exits.
# The cluster trusts local connections and skips fsync: it holds test data only.

mgr_pg_main() {
  local bindir pg_user datadir port log
  if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
      DEBIAN_FRONTEND=noninteractive apt-get update -qq
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends postgresql >/dev/null
    else
      echo "postgres.sh: PostgreSQL is not installed and cannot be installed here (needs root and apt-get)" >&2
      return 1
    fi
  fi
  bindir=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)

  # initdb refuses to run as root: as root, run the server as the postgres user.
  if [ "$(id -u)" = 0 ]; then
    pg_user=postgres
    id postgres >/dev/null 2>&1 || useradd --system --home-dir /var/lib/postgresql --shell /bin/bash postgres
  else
    pg_user=$(id -un)
  fi
  mgr_pg_as() { if [ "$(id -un)" = "$pg_user" ]; then "$@"; else runuser -u "$pg_user" -- "$@"; fi; }

  datadir=$(mktemp -d /tmp/mgr-pg.XXXXXX)
  chown "$pg_user" "$datadir"
  chmod 700 "$datadir"
  port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  log="$datadir/server.log"

  mgr_pg_as "$bindir/initdb" -D "$datadir/data" -U postgres --auth=trust --encoding=UTF8 --locale=C.UTF-8 \
    >"$datadir/initdb.log" 2>&1 || { cat "$datadir/initdb.log" >&2; return 1; }
  mgr_pg_as "$bindir/pg_ctl" -D "$datadir/data" -l "$log" -w -t 60 start \
    -o "-p $port -c listen_addresses=127.0.0.1 -k $datadir -c fsync=off -c synchronous_commit=off -c full_page_writes=off" \
    >/dev/null || { cat "$log" >&2; return 1; }
  mgr_pg_as "$bindir/createdb" -h 127.0.0.1 -p "$port" -U postgres mgr_test || return 1

  MGR_PG_DATADIR="$datadir"
  MGR_PG_BINDIR="$bindir"
  MGR_PG_USER="$pg_user"
  export MGR_TEST_PG_URL="postgresql+psycopg://postgres@127.0.0.1:$port/mgr_test"
  echo "postgres.sh: PostgreSQL $("$bindir/postgres" --version | awk '{print $3}') on 127.0.0.1:$port, MGR_TEST_PG_URL=$MGR_TEST_PG_URL"
}

mgr_pg_stop() {
  if [ -n "${MGR_PG_DATADIR:-}" ] && [ -d "$MGR_PG_DATADIR/data" ]; then
    if [ "$(id -un)" = "$MGR_PG_USER" ]; then
      "$MGR_PG_BINDIR/pg_ctl" -D "$MGR_PG_DATADIR/data" -m immediate stop >/dev/null 2>&1 || true
    else
      runuser -u "$MGR_PG_USER" -- "$MGR_PG_BINDIR/pg_ctl" -D "$MGR_PG_DATADIR/data" -m immediate stop \
        >/dev/null 2>&1 || true
    fi
    rm -rf "$MGR_PG_DATADIR"
  fi
}

if mgr_pg_main; then
  # Keep whatever EXIT trap the caller had, and stop the server after it.
  mgr_pg_previous_trap=$(trap -p EXIT | sed -E "s/^trap -- '(.*)' EXIT$/\1/")
  trap "${mgr_pg_previous_trap:+$mgr_pg_previous_trap; }mgr_pg_stop" EXIT
else
  echo "postgres.sh: could not start PostgreSQL; the store tests will fail in CI" >&2
fi
