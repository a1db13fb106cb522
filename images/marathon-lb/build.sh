#!/usr/bin/env bash
# Builds the Marathon–HAProxy bridge's binary and packages it, with Debian's haproxy, as
# mesos-operator/marathon-lb in two tags: the release, and a rebuilt tag of it (`-2`) so
# that version bumps of the loadBalancer component can be exercised, as the ZooKeeper
# image has.
#
# An image is rebuilt only when its inputs changed: the crate's sources, Cargo.lock, the
# workspace's Cargo.toml, this directory and the version, hashed and kept as a label. The
# binary is compiled only when some image is stale, so `make demo` with the images built
# compiles nothing of it.
set -euo pipefail
cd "$(dirname "$0")/../.."
version=${1:-dev}
hash=$( (find discovery/marathon-lb/src discovery/marathon-lb/Cargo.toml images/marathon-lb \
    -type f -print0 | sort -z | xargs -0 sha256sum; sha256sum Cargo.lock Cargo.toml; echo "$version") |
  sha256sum | cut -c1-16)
tags=(0.1.0 0.1.0-2)
stale=()
for t in "${tags[@]}"; do
  ref=mesos-operator/marathon-lb:$t
  if [ "$(docker image inspect -f '{{ index .Config.Labels "io.mesos-operator.context-hash" }}' "$ref" 2>/dev/null || true)" != "$hash" ]; then
    stale+=("$t")
  fi
done
if [ ${#stale[@]} -eq 0 ]; then
  echo "images: marathon-lb images up to date"
  exit 0
fi
${CARGO:-cargo} build -q --release -p marathon-lb
ctx=$(mktemp -d)
trap 'rm -rf "$ctx"' EXIT
cp images/marathon-lb/Dockerfile "$ctx/"
strip -o "$ctx/marathon-lb" "${CARGO_TARGET_DIR:-target}/release/marathon-lb"
for t in "${stale[@]}"; do
  ref=mesos-operator/marathon-lb:$t
  t0=$SECONDS
  docker build -q -t "$ref" --label "io.mesos-operator.context-hash=$hash" --build-arg TAG="$t" \
    --build-arg VERSION="$version" "$ctx" >/dev/null 2>"$ctx/err" || { cat "$ctx/err" >&2; exit 1; }
  echo "images: built $ref ($(docker image inspect -f '{{.Size}}' "$ref" | awk '{printf "%.1f MB", $1/1e6}')) in $((SECONDS - t0))s"
done
