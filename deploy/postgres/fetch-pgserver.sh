#!/usr/bin/env bash
# Unpacks PostgreSQL 16 + pgvector 0.6.2 from the pgserver==0.1.4 wheel into
# deploy/postgres/pgserver/, the build context's payload for deploy/postgres/Dockerfile.
#
#   deploy/postgres/fetch-pgserver.sh [--force]
#
# Why a wheel: Debian bookworm packages no pgvector, no image can be pulled
# here, and pgserver ships relocatable PostgreSQL binaries with pgvector >= 0.5
# (HNSW indexes). The wheel is downloaded with pip (no install), checked
# against its sha256 and unpacked with Python's zipfile; only bin/, lib/ and
# share/ are kept (no headers). Idempotent: skips when already unpacked.
# A user with a registry may instead point the compose file's db image at an
# official pgvector image (deploy/README.md).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
out=$here/pgserver
version=0.1.4
wheel=pgserver-$version-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl
sha256=d595789b47624a3d963aa9aa6359da9be31beb7e61f1a45541953242068b8813

if [ "${1:-}" != --force ] && [ -x "$out/pgserver/pginstall/bin/postgres" ] && [ -f "$out/.sha256" ] &&
  [ "$(cat "$out/.sha256")" = "$sha256" ]; then
  echo "fetch-pgserver.sh: $out is up to date"
  exit 0
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/roadmap-pgserver.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
# The exact file, whatever Python runs this: the binaries inside do not depend on it.
python3 -m pip download --quiet --no-deps --only-binary=:all: --implementation cp --python-version 3.11 \
  --abi cp311 --platform manylinux2014_x86_64 "pgserver==$version" -d "$tmp"
[ -f "$tmp/$wheel" ] || { echo "fetch-pgserver.sh: pip did not download $wheel (got: $(ls "$tmp"))" >&2; exit 1; }
got=$(sha256sum "$tmp/$wheel" | cut -d' ' -f1)
[ "$got" = "$sha256" ] || { echo "fetch-pgserver.sh: $wheel has sha256 $got, expected $sha256: refusing it" >&2; exit 1; }
python3 -m zipfile -e "$tmp/$wheel" "$tmp/whl"
rm -rf "$out"
mkdir -p "$out/pgserver/pginstall"
# Same relative layout as the wheel: the binaries find libpq through the run
# path $ORIGIN/../../../pgserver.libs.
for d in bin lib share; do cp -a "$tmp/whl/pgserver/pginstall/$d" "$out/pgserver/pginstall/"; done
cp -a "$tmp/whl/pgserver.libs" "$out/"
rm -f "$out"/pgserver/pginstall/lib/*.a
chmod -R a+rX,go-w "$out"
chmod a+x "$out"/pgserver/pginstall/bin/*
echo "$sha256" >"$out/.sha256"
echo "fetch-pgserver.sh: PostgreSQL $("$out/pgserver/pginstall/bin/postgres" --version | awk '{ print $3 }') + pgvector $(sed -n "s/^default_version = '\(.*\)'/\1/p" "$out/pgserver/pginstall/share/postgresql/extension/vector.control") in $out ($(du -sh "$out" | cut -f1))"
