#!/usr/bin/env bash
# Builds the service images from a binary built on the host (the runtime-only
# path: deploy/docker/Dockerfile.runtime; no Rust image or registry needed).
#
#   deploy/docker/build.sh [--binary PATH] [--tag TAG] [--target sentiment|rag|all]
#
#   --binary PATH   the roadmap binary (default: target/release/roadmap, else target/debug/roadmap)
#   --tag TAG       image tag (default: the binary's version); makes roadmap-serve:TAG and roadmap-rag:TAG
#   --target T      which image(s) to build (default: all)
#
# The build context is a temporary folder holding only the stripped binary (a
# few tens of MB), never the repository or target/ (gigabytes). The binary
# must need glibc <= 2.36 (bookworm's): that is checked before building.
# Labels: org.opencontainers.image.{version,revision,source} from the binary's
# version, `git rev-parse HEAD` and the git remote; org.roadmap.project=roadmap.
# Prints each image's size. Needs the base image: deploy/docker/base-image.sh.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
binary=
tag=
target=all
while [ $# -gt 0 ]; do
  case "$1" in
  --binary) binary=${2:?--binary needs a path}; shift ;;
  --tag) tag=${2:?--tag needs a value}; shift ;;
  --target) target=${2:?--target needs sentiment, rag or all}; shift ;;
  -h | --help) sed -n '2,9p' "$0"; exit 0 ;;
  *) echo "build.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
  shift
done
case "$target" in
sentiment | rag | all) ;;
*) echo "build.sh: --target must be sentiment, rag or all, not '$target'" >&2; exit 2 ;;
esac

if [ -z "$binary" ]; then
  for b in "$repo/target/release/roadmap" "$repo/target/debug/roadmap"; do
    if [ -x "$b" ]; then binary=$b; break; fi
  done
  [ -n "$binary" ] || { echo "build.sh: no binary at target/release/roadmap or target/debug/roadmap: run 'cargo build --release' first, or pass --binary PATH" >&2; exit 1; }
fi
[ -x "$binary" ] || { echo "build.sh: '$binary' is not an executable file" >&2; exit 1; }

# The runtime image is bookworm: a binary linked on a newer glibc would fail at
# start with "GLIBC_2.xx not found", so refuse it here with the reason.
glibc_max=$( (grep -ao 'GLIBC_2\.[0-9]*' "$binary" || true) | sed 's/GLIBC_2\.//' | sort -n | tail -n 1)
if [ -n "$glibc_max" ] && [ "$glibc_max" -gt 36 ]; then
  echo "build.sh: $binary needs glibc 2.$glibc_max, the bookworm runtime has 2.36: build it on Debian bookworm or use the multi-stage Dockerfile" >&2
  exit 1
fi

docker info >/dev/null 2>&1 || { echo "build.sh: the Docker engine is not reachable (docker info failed): start it first" >&2; exit 1; }
docker image inspect debian:bookworm-slim >/dev/null 2>&1 ||
  { echo "build.sh: no debian:bookworm-slim image: run deploy/docker/base-image.sh (or docker pull it where a registry is reachable)" >&2; exit 1; }

version=$("$binary" --version 2>/dev/null | awk '{ print $NF }') || true
[ -n "$version" ] || version=unknown
[ -n "$tag" ] || tag=$version
revision=$(git -C "$repo" rev-parse HEAD 2>/dev/null || echo unknown)
if [ "$revision" != unknown ] && [ -n "$(git -C "$repo" status --porcelain -- src milestones Cargo.toml Cargo.lock 2>/dev/null)" ]; then
  revision="$revision-dirty"
fi
source_url=$(git -C "$repo" remote get-url origin 2>/dev/null || echo unknown)

ctx=$(mktemp -d "${TMPDIR:-/tmp}/roadmap-image.XXXXXX")
trap 'rm -rf "$ctx" "$ctx.log"' EXIT
# Full strip, as the multi-stage build does: the debug binary's line tables
# and symbols are most of its size and a container needs neither.
strip -o "$ctx/roadmap" "$binary" 2>/dev/null || cp "$binary" "$ctx/roadmap"
chmod 0755 "$ctx/roadmap"

build() { # target image
  local start=$SECONDS
  echo "build.sh: $2 (target $1, binary $binary, $(($(stat -c %s "$ctx/roadmap") / 1000000)) MB stripped)"
  if ! docker build --force-rm -f "$here/Dockerfile.runtime" --target "$1" \
    --build-arg VERSION="$version" --build-arg REVISION="$revision" --build-arg SOURCE="$source_url" \
    -t "$2" "$ctx" >"$ctx.log" 2>&1; then
    tail -n 30 "$ctx.log" >&2
    echo "build.sh: docker build of $2 failed" >&2
    return 1
  fi
  echo "build.sh: $2 built in $((SECONDS - start)) s, $(($(docker image inspect -f '{{ .Size }}' "$2") / 1000000)) MB"
}
if [ "$target" = sentiment ] || [ "$target" = all ]; then build sentiment "roadmap-serve:$tag"; fi
if [ "$target" = rag ] || [ "$target" = all ]; then build rag "roadmap-rag:$tag"; fi
# The binary stage's image (untagged once the build is done) is not needed.
docker image prune -f --filter "label=org.roadmap.project=roadmap" >/dev/null
