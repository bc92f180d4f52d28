#!/usr/bin/env bash
# Entry point of the roadmap-pgvector image: initialises the data folder on
# first start (user, password from POSTGRES_PASSWORD_FILE, database, the
# `vector` extension), then replaces itself with the server.
#
# Connections: scram-sha-256 over TCP from anywhere the container network
# lets in (the compose network is private), trust only on the local socket.
set -euo pipefail

: "${PGDATA:?PGDATA must name the data folder}"
user=${POSTGRES_USER:-roadmap}
db=${POSTGRES_DB:-roadmap}

if [ ! -s "$PGDATA/PG_VERSION" ]; then
  pwfile=${POSTGRES_PASSWORD_FILE:-}
  if [ -z "$pwfile" ] || [ ! -r "$pwfile" ]; then
    echo "roadmap-postgres: POSTGRES_PASSWORD_FILE ('$pwfile') is not a readable file: give the password as a secret file (compose: secrets: db_password), readable by uid 10002 or group 10001" >&2
    exit 1
  fi
  if [ ! -s "$pwfile" ]; then
    echo "roadmap-postgres: the password file $pwfile is empty" >&2
    exit 1
  fi
  echo "roadmap-postgres: initialising $PGDATA (user $user, database $db)"
  # initdb reads the password's first line; a trailing newline is not part of it.
  initdb --pgdata="$PGDATA" --username="$user" --pwfile="$pwfile" --encoding=UTF8 --locale=C.UTF-8 \
    --auth-local=trust --auth-host=scram-sha-256 >/dev/null
  {
    echo "listen_addresses = '*'"
    echo "unix_socket_directories = '/tmp'"
    echo "password_encryption = scram-sha-256"
  } >>"$PGDATA/postgresql.conf"
  echo "host all all all scram-sha-256" >>"$PGDATA/pg_hba.conf"
  # A private server on the socket only, to create the database and extension.
  pg_ctl --pgdata="$PGDATA" --wait --timeout=60 --silent -o "-c listen_addresses=''" start
  psql -v ON_ERROR_STOP=1 -q -h /tmp -U "$user" -d postgres -c "CREATE DATABASE \"$db\""
  psql -v ON_ERROR_STOP=1 -q -h /tmp -U "$user" -d "$db" -c "CREATE EXTENSION IF NOT EXISTS vector"
  pg_ctl --pgdata="$PGDATA" --wait --timeout=60 --silent --mode=fast stop
  echo "roadmap-postgres: initialised (pgvector $(sed -n "s/^default_version = '\(.*\)'/\1/p" \
    /opt/pgserver/pgserver/pginstall/share/postgresql/extension/vector.control))"
fi
exec postgres -D "$PGDATA"
