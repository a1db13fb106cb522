#!/usr/bin/env bash
# Builds the project's images, each only when its inputs changed: the hash of its build
# context (and the project version) is kept as a label, and an image whose label matches is
# left alone. No registry is needed: the base comes from Debian's packages.
# usage: images.sh [NAME ...]   (default: all)
set -euo pipefail
cd "$(dirname "$0")/.."
VERSION=$(awk -F'"' '/^version =/{print $2; exit}' Cargo.toml)
want=("$@")
[ ${#want[@]} -gt 0 ] || want=(base zookeeper dockerhost registry emulator mesos-dns operator marathon-lb)

ctx_hash() { (cd "$1" && find . -type f -print0 | sort -z | xargs -0 sha256sum; echo "$VERSION") | sha256sum | cut -c1-16; }
have_hash() { docker image inspect -f '{{ index .Config.Labels "io.mesos-operator.context-hash" }}' "$1" 2>/dev/null || true; }

build() { # image-ref context [build args...]
  local ref=$1 ctx=$2; shift 2
  local h; h=$(ctx_hash "$ctx")
  if [ "$(have_hash "$ref")" = "$h" ]; then echo "images: $ref up to date"; return 0; fi
  local t0=$SECONDS
  local log; log=$(mktemp)
  docker build -q -t "$ref" --label "io.mesos-operator.context-hash=$h" \
    --build-arg "VERSION=$VERSION" "$@" "$ctx" >"$log" 2>&1 || { cat "$log" >&2; rm -f "$log"; return 1; }
  rm -f "$log"
  echo "images: built $ref in $((SECONDS - t0))s"
}

for w in "${want[@]}"; do
  case "$w" in
    base)
      h=$(ctx_hash images/base)
      if [ "$(have_hash mesos-operator/base:bookworm)" != "$h" ]; then
        t0=$SECONDS
        images/base/build.sh mesos-operator/base:bookworm "$VERSION"
        # Re-label with the context hash (docker import cannot set it after the fact).
        echo "FROM mesos-operator/base:bookworm" | docker build -q -t mesos-operator/base:bookworm \
          --label "io.mesos-operator.context-hash=$h" - >/dev/null 2>&1
        echo "images: built mesos-operator/base:bookworm in $((SECONDS - t0))s"
      else
        echo "images: mesos-operator/base:bookworm up to date"
      fi ;;
    zookeeper)
      build mesos-operator/zookeeper:3.8.0 images/zookeeper --build-arg TAG=3.8.0
      # A rebuilt tag of the same release, so that version bumps can be exercised.
      build mesos-operator/zookeeper:3.8.0-2 images/zookeeper --build-arg TAG=3.8.0-2 ;;
    dockerhost) build mesos-operator/dockerhost:dev images/dockerhost ;;
    registry) build mesos-operator/registry:dev images/registry ;;
    emulator) images/emulator/build.sh "$VERSION" ;;
    # DNS for Mesos (crates/mesos-dns), from its release binary.
    mesos-dns) images/mesos-dns/build.sh "$VERSION" ;;
    # The operator itself, from its release binary (built on the host, not in Docker).
    operator) images/operator/build.sh "$VERSION" ;;
    # The Marathon–HAProxy bridge, from its release binary, with Debian's haproxy.
    marathon-lb) images/marathon-lb/build.sh "$VERSION" ;;
    *) echo "images: unknown image $w" >&2; exit 2 ;;
  esac
done
