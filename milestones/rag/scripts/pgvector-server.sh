#!/usr/bin/env bash
# A throw-away PostgreSQL 16 + pgvector for `roadmap rag --store postgres://...`,
# from the `pgserver` Python package (PostgreSQL 16 and pgvector 0.6 binaries,
# no system install). For development, tests and CI; not a production set-up.
#
#   pgvector-server.sh start DIR [PORT]   initdb (first time) and start on 127.0.0.1:PORT
#                                         (default 55432); prints the store URL
#   pgvector-server.sh stop DIR           stop the server whose data lives in DIR
#   pgvector-server.sh url DIR            print the store URL again
#
# The server listens on 127.0.0.1 only, with a random password (scram-sha-256)
# kept in DIR/password and DIR/url (mode 600). As root (CI containers) PostgreSQL refuses to run,
# so the server runs as an unprivileged system user `roadmap-pg` (created if
# missing) and the binaries are copied into DIR, because the package usually
# lives under /root, which other users cannot enter.
#
# Needs: python3 -m pip install pgserver==0.1.4   (PGINSTALL=DIR overrides the lookup)
set -euo pipefail

usage() {
  sed -n '5,9p' "$0" >&2
  exit 2
}

cmd=${1:-}
dir=${2:-}
[ -n "$cmd" ] && [ -n "$dir" ] || usage
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)

pg_user=roadmap-pg
as_pg() {
  if [ "$(id -u)" = 0 ]; then
    runuser -u "$pg_user" -- "$@"
  else
    "$@"
  fi
}

find_pginstall() {
  if [ -n "${PGINSTALL:-}" ]; then
    echo "$PGINSTALL"
    return
  fi
  # find_spec locates the package without importing it (importing starts nothing,
  # but prints warnings on some machines).
  python3 - <<'EOF'
import importlib.util, os, sys
spec = importlib.util.find_spec("pgserver")
if spec is None or not spec.submodule_search_locations:
    sys.exit("the pgserver package is not installed: python3 -m pip install pgserver==0.1.4 "
             "(or set PGINSTALL to a PostgreSQL 16 install that has pgvector)")
print(os.path.join(list(spec.submodule_search_locations)[0], "pginstall"))
EOF
}

case "$cmd" in
start)
  port=${3:-55432}
  src=$(find_pginstall)
  [ -x "$src/bin/postgres" ] || { echo "no PostgreSQL binaries in $src/bin" >&2; exit 1; }
  bin=$src/bin
  if [ "$(id -u)" = 0 ]; then
    if ! id "$pg_user" >/dev/null 2>&1; then
      useradd --system --no-create-home --shell /usr/sbin/nologin "$pg_user"
    fi
    # Same layout as the package: the binaries find their shared libraries
    # through the relative run path $ORIGIN/../../../pgserver.libs.
    if [ ! -x "$dir/pkg/pgserver/pginstall/bin/postgres" ]; then
      mkdir -p "$dir/pkg/pgserver"
      cp -a "$src" "$dir/pkg/pgserver/pginstall"
      if [ -d "$src/../../pgserver.libs" ]; then cp -a "$src/../../pgserver.libs" "$dir/pkg/"; fi
    fi
    bin=$dir/pkg/pgserver/pginstall/bin
    chmod 755 "$dir"
    chmod -R a+rX "$dir/pkg"
  fi
  mkdir -p "$dir/socket"
  [ "$(id -u)" = 0 ] && chown "$pg_user" "$dir/socket"
  if [ ! -f "$dir/data/PG_VERSION" ]; then
    password=$(python3 -c 'import secrets; print(secrets.token_hex(16))')
    umask 077
    printf '%s\n' "$password" >"$dir/pwfile"
    mkdir -p "$dir/data"
    if [ "$(id -u)" = 0 ]; then chown "$pg_user" "$dir/data" "$dir/pwfile"; fi
    as_pg "$bin/initdb" -D "$dir/data" -U postgres --pwfile="$dir/pwfile" \
      --auth-host=scram-sha-256 --auth-local=trust -E UTF8 --locale=C >"$dir/initdb.log" 2>&1 ||
      { cat "$dir/initdb.log" >&2; exit 1; }
    rm -f "$dir/pwfile"
    printf '%s\n' "$password" >"$dir/password"
    umask 022
  fi
  (umask 077; printf 'postgres://postgres:%s@127.0.0.1:%s/postgres\n' "$(cat "$dir/password")" "$port" >"$dir/url")
  touch "$dir/server.log"
  [ "$(id -u)" = 0 ] && chown "$pg_user" "$dir/server.log"
  as_pg "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
    -o "-h 127.0.0.1 -p $port -k $dir/socket" start >/dev/null ||
    { tail -20 "$dir/server.log" >&2; exit 1; }
  for _ in $(seq 1 60); do
    as_pg "$bin/pg_isready" -q -h 127.0.0.1 -p "$port" && break
    sleep 0.5
  done
  # The extension in template1 too, so every database created later has it.
  for db in postgres template1; do
    as_pg "$bin/psql" -q -h "$dir/socket" -p "$port" -U postgres -d "$db" \
      -c 'CREATE EXTENSION IF NOT EXISTS vector' >/dev/null
  done
  sed -E 's#(//[^:]+:)[^@]*@#\1****@#' "$dir/url" >&2
  echo "PostgreSQL + pgvector running; the URL (with its password) is in $dir/url" >&2
  ;;
stop)
  if [ -x "$dir/pkg/pgserver/pginstall/bin/pg_ctl" ]; then bin=$dir/pkg/pgserver/pginstall/bin; else bin=$(find_pginstall)/bin; fi
  as_pg "$bin/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null
  ;;
url)
  cat "$dir/url"
  ;;
*)
  usage
  ;;
esac
