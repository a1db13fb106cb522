#!/usr/bin/env bash
# Builds one of the workspace's binaries (package and binary NAME) in release and packages it
# with images/NAME/Dockerfile as mesos-operator/NAME in two tags: the release, and a rebuilt
# tag of it (`-2`) so that version bumps of its component can be exercised, as the
# ZooKeeper image has. Shared by the DNS server's and the bridge's images.
#
# An image is rebuilt only when its inputs changed: INPUT... (the crate's sources), Cargo.lock,
# the workspace's Cargo.toml, images/NAME and the version, hashed and kept as a label. The
# binary is compiled only when some image is stale, so `make demo` with the images built
# compiles nothing of it.
# usage: release-tags.sh NAME VERSION INPUT...
set -euo pipefail
cd "$(dirname "$0")/.."
name=$1 version=$2
shift 2
hash=$( (find "$@" "images/$name" -type f -print0 | sort -z | xargs -0 sha256sum; sha256sum Cargo.lock Cargo.toml; echo "$version") |
  sha256sum | cut -c1-16)
tags=(0.1.0 0.1.0-2)
stale=()
for t in "${tags[@]}"; do
  ref=mesos-operator/$name:$t
  if [ "$(docker image inspect -f '{{ index .Config.Labels "io.mesos-operator.context-hash" }}' "$ref" 2>/dev/null || true)" != "$hash" ]; then
    stale+=("$t")
  fi
done
if [ ${#stale[@]} -eq 0 ]; then
  echo "images: $name images up to date"
  exit 0
fi
${CARGO:-cargo} build -q --release -p "$name"
ctx=$(mktemp -d)
trap 'rm -rf "$ctx"' EXIT
cp "images/$name/Dockerfile" "$ctx/"
strip -o "$ctx/$name" "${CARGO_TARGET_DIR:-target}/release/$name"
for t in "${stale[@]}"; do
  ref=mesos-operator/$name:$t
  t0=$SECONDS
  docker build -q -t "$ref" --label "io.mesos-operator.context-hash=$hash" --build-arg TAG="$t" \
    --build-arg VERSION="$version" "$ctx" >/dev/null 2>"$ctx/err" || { cat "$ctx/err" >&2; exit 1; }
  echo "images: built $ref ($(docker image inspect -f '{{.Size}}' "$ref" | awk '{printf "%.1f MB", $1/1e6}')) in $((SECONDS - t0))s"
done
