#!/usr/bin/env bash
# Makes the base image `debian:bookworm-slim` without a container registry.
#
#   deploy/docker/base-image.sh [--force] [--tag TAG]
#
# Why: the machines this project is built and tested on run a Docker Engine but
# reach no container registry, so `FROM debian:bookworm-slim` cannot be pulled.
# This script builds the same thing from Debian's own packages: debootstrap a
# minimal bookworm root file system (`--variant=minbase`: essential packages
# and apt, nothing else), trim it the way Debian's slim images are trimmed
# (no manuals, docs or locales; empty apt lists and caches), and `docker import`
# it under the tag the Dockerfiles use. The Dockerfiles stay unchanged, so a
# user with a registry builds them against the official image.
#
# Nothing is added for health probes: the images probe /healthz with bash's
# /dev/tcp (bash is essential in Debian), which costs 0 bytes, where curl would
# add about 10 MB of libraries and busybox 1 MB. The service talks TLS with its
# own bundled roots (rustls + webpki-roots), so ca-certificates is not needed.
#
# Idempotent: if TAG already exists and carries the label
# org.roadmap.project=roadmap, nothing is done; an image of that tag that this
# script did not make (e.g. pulled from a registry) is never replaced unless
# --force is given. Temporary files are removed on every exit path. Concurrent
# calls are serialised by a lock (/var/tmp/roadmap-base-image.lock), so the
# image is built once however many callers ask for it at the same time.
#
# Environment:
#   DEBIAN_MIRROR             mirror for debootstrap (default: debootstrap's own default)
#   ROADMAP_DEBOOTSTRAP_CACHE keep downloaded .deb files here between runs (optional)
#   TMPDIR                    where the root file system is assembled (default /var/tmp)
# Needs root (debootstrap creates device nodes and chroots). Installs Debian's
# `debootstrap` package with apt-get if it is missing.
set -euo pipefail

tag=debian:bookworm-slim
force=0
while [ $# -gt 0 ]; do
  case "$1" in
  --force) force=1 ;;
  --tag)
    tag=${2:?--tag needs a value, e.g. --tag debian:bookworm-slim}
    shift
    ;;
  -h | --help)
    sed -n '2,4p' "$0"
    exit 0
    ;;
  *)
    echo "base-image.sh: unknown argument '$1' (expected --force or --tag TAG)" >&2
    exit 2
    ;;
  esac
  shift
done

label=org.roadmap.project=roadmap
suite=bookworm

if ! docker info >/dev/null 2>&1; then
  echo "base-image.sh: the Docker engine is not reachable (docker info failed): start it first" >&2
  exit 1
fi

# One build at a time: the capstone runner (`roadmap run phase6 --parts deploy`,
# which runs this very script), its test and .ci/deploy-e2e may all ask for the
# image; a second caller waits here for the first, then finds the image made.
lock=/var/tmp/roadmap-base-image.lock
if command -v flock >/dev/null 2>&1 && exec 9>>"$lock" 2>/dev/null; then
  if ! flock -w 900 9; then
    echo "base-image.sh: another base-image.sh has held $lock for 15 min; stop it or remove the lock" >&2
    exit 1
  fi
fi

if docker image inspect "$tag" >/dev/null 2>&1; then
  have=$(docker image inspect -f '{{ index .Config.Labels "org.roadmap.project" }}' "$tag" 2>/dev/null || true)
  if [ "$force" = 0 ]; then
    if [ "$have" = roadmap ]; then
      echo "base-image.sh: $tag exists (made by this script); nothing to do (--force rebuilds it)"
    else
      echo "base-image.sh: $tag exists and was not made by this script (e.g. pulled from a registry); keeping it (--force replaces it)"
    fi
    exit 0
  fi
fi

if [ "$(id -u)" != 0 ]; then
  echo "base-image.sh: debootstrap needs root (it creates device nodes and chroots); run it with sudo" >&2
  exit 1
fi

if ! command -v debootstrap >/dev/null 2>&1; then
  echo "base-image.sh: installing Debian's debootstrap package"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends debootstrap >/dev/null ||
    { apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends debootstrap >/dev/null; }
fi

start=$(date +%s)
work=$(mktemp -d "${TMPDIR:-/var/tmp}/roadmap-base.XXXXXX")
cleanup() {
  # A failed debootstrap can leave /proc or /sys mounted inside the root.
  for m in proc sys dev/pts dev; do
    if mountpoint -q "$work/rootfs/$m" 2>/dev/null; then umount -l "$work/rootfs/$m" || true; fi
  done
  rm -rf "$work"
}
trap cleanup EXIT

cache_args=()
if [ -n "${ROADMAP_DEBOOTSTRAP_CACHE:-}" ]; then
  mkdir -p "$ROADMAP_DEBOOTSTRAP_CACHE"
  cache_args=(--cache-dir="$(cd "$ROADMAP_DEBOOTSTRAP_CACHE" && pwd)")
fi

echo "base-image.sh: debootstrap --variant=minbase $suite (a few minutes; log in $work/debootstrap.log)"
# ${DEBIAN_MIRROR:-} empty means debootstrap's default mirror.
if ! debootstrap --variant=minbase "${cache_args[@]}" "$suite" "$work/rootfs" ${DEBIAN_MIRROR:+"$DEBIAN_MIRROR"} \
  >"$work/debootstrap.log" 2>&1; then
  echo "base-image.sh: debootstrap failed; its last lines:" >&2
  tail -n 20 "$work/debootstrap.log" >&2
  [ -f "$work/rootfs/debootstrap/debootstrap.log" ] && tail -n 20 "$work/rootfs/debootstrap/debootstrap.log" >&2
  exit 1
fi

root=$work/rootfs
# debootstrap writes one line for the release itself; add the point-release
# updates and security suites (as Debian's own images have), derived from the
# same mirror so that no host name is hard-coded here.
mirror_url=$(awk '$1 == "deb" { print $2; exit }' "$root/etc/apt/sources.list")
if [ -n "$mirror_url" ]; then
  {
    echo "deb $mirror_url $suite main"
    echo "deb $mirror_url $suite-updates main"
    echo "deb ${mirror_url%/}-security $suite-security main"
  } >"$root/etc/apt/sources.list"
fi
# Debian's slim images: dpkg keeps no manuals, docs (but copyright files) or
# translations from later installs either.
cat >"$root/etc/dpkg/dpkg.cfg.d/docker-slim" <<'EOF'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/groff/*
path-exclude /usr/share/info/*
path-exclude /usr/share/locale/*
path-include /usr/share/locale/locale.alias
path-exclude /usr/share/lintian/*
path-exclude /usr/share/linda/*
EOF
# Images are built non-interactively and never need recommended packages.
cat >"$root/etc/apt/apt.conf.d/docker-slim" <<'EOF'
APT::Install-Recommends "false";
APT::Install-Suggests "false";
Acquire::Languages "none";
EOF
find "$root/usr/share/doc" -mindepth 1 -not -name copyright -not -type d -delete 2>/dev/null || true
find "$root/usr/share/doc" -mindepth 1 -type d -empty -delete 2>/dev/null || true
rm -rf "$root"/usr/share/man/* "$root"/usr/share/info/* "$root"/usr/share/groff/* "$root"/usr/share/lintian/*
find "$root/usr/share/locale" -mindepth 1 -maxdepth 1 -not -name locale.alias -exec rm -rf {} + 2>/dev/null || true
rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/*.bin "$root"/var/cache/apt/archives/*.deb \
  "$root"/var/cache/apt/archives/partial/* "$root"/var/log/*.log "$root"/var/log/apt/* "$root"/debootstrap \
  "$root"/tmp/* "$root"/var/tmp/*
# No host identity in the image.
: >"$root/etc/hostname"
: >"$root/etc/resolv.conf"
rm -f "$root/etc/machine-id" && : >"$root/etc/machine-id"

created=$(date -u +%Y-%m-%dT%H:%M:%SZ)
# `docker import` writes the tag directly; --change sets what `FROM` inherits.
tar --numeric-owner -C "$root" -c . | docker import \
  --change 'CMD ["bash"]' \
  --change "LABEL $label" \
  --change 'LABEL org.opencontainers.image.title="debian bookworm minbase (debootstrap)"' \
  --change "LABEL org.opencontainers.image.created=$created" \
  --message "debootstrap --variant=minbase $suite, trimmed like Debian's slim images (deploy/docker/base-image.sh)" \
  - "$tag" >/dev/null

size=$(docker image inspect -f '{{ .Size }}' "$tag")
echo "base-image.sh: $tag imported: $((size / 1000000)) MB, $(($(date +%s) - start)) s"
