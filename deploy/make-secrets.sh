#!/usr/bin/env bash
# Creates the compose stack's secret files with random contents, once:
#
#   deploy/make-secrets.sh [DIR]      (default: deploy/secrets, which git ignores)
#
#   DIR/db_password             the PostgreSQL password (the db image's initdb and the service read it)
#   DIR/api_keys                one API key per line (write endpoints need `Authorization: Bearer KEY`)
#   DIR/grafana_admin_password  Grafana's admin password (profile `grafana`)
#
# Existing files are kept (a changed db_password would not match the database
# initialised with the old one). Files are mode 0440, group 10001: the
# services' containers run as uid 10001 (roadmap) or join group 10001
# (PostgreSQL, Grafana), so they can read them, and other host users cannot.
# Compose mounts each at /run/secrets/NAME; nothing is printed.
set -euo pipefail

dir=${1:-$(cd "$(dirname "$0")" && pwd)/secrets}
umask 077
mkdir -p "$dir"
chmod 0750 "$dir"

make_secret() { # name bytes
  local f=$dir/$1
  if [ -s "$f" ]; then
    echo "make-secrets.sh: $f exists, kept"
  else
    # URL- and shell-safe characters only, no trailing newline issues.
    head -c "$2" /dev/urandom | base64 | tr -d '/+=\n' >"$f"
    echo >>"$f"
    echo "make-secrets.sh: $f created"
  fi
  # Group 10001 needs no group of that name on the host: a number is enough.
  chgrp 10001 "$f" 2>/dev/null || echo "make-secrets.sh: cannot give $f to group 10001 (not root?): the containers may not read it; run as root or chmod 0444 it" >&2
  chmod 0440 "$f"
}
make_secret db_password 32
make_secret api_keys 32
make_secret grafana_admin_password 24
chgrp 10001 "$dir" 2>/dev/null || true
