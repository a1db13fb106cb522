#!/usr/bin/env bash
# Builds the emulator binary and packages it as mesos-master, mesos-agent and marathon
# images in several versions each, plus a deliberately broken tag of each.
set -euo pipefail
cd "$(dirname "$0")/../.."
version=${1:-dev}
cargo build -q --release -p mesos-emulator
ctx=$(mktemp -d)
trap 'rm -rf "$ctx"' EXIT
cp images/emulator/Dockerfile "$ctx/"
cp "${CARGO_TARGET_DIR:-target}/release/mesos-emulator" "$ctx/"
hash=$( (sha256sum "$ctx/mesos-emulator" "$ctx/Dockerfile"; echo "$version") | sha256sum | cut -c1-16)
# EMULATOR_IMAGE_PREFIX=x- builds mesos-operator/x-mesos-master:... instead, to test a
# branch's emulator without replacing the shared tags.
prefix=${EMULATOR_IMAGE_PREFIX:-}
build() { # repo role tag emulated-version broken
  local ref=mesos-operator/$prefix$1:$3
  if [ "$(docker image inspect -f '{{ index .Config.Labels "io.mesos-operator.context-hash" }}' "$ref" 2>/dev/null || true)" = "$hash" ]; then
    return 0
  fi
  docker build -q -t "$ref" --label "io.mesos-operator.context-hash=$hash" --build-arg ROLE="$2" \
    --build-arg EMULATED_VERSION="$4" --build-arg BROKEN="$5" --build-arg VERSION="$version" "$ctx" >/dev/null 2>"$ctx/err" \
    || { cat "$ctx/err" >&2; exit 1; }
  echo "images: built $ref"
}
for v in 1.10.0 1.11.0 1.12.0-rc1; do
  build mesos-master master "$v" "$v" 0
  build mesos-agent agent "$v" "$v" 0
done
build mesos-master master broken 1.11.0 1
build mesos-agent agent broken 1.11.0 1
for v in 1.10.17 1.10.26; do build marathon marathon "$v" "$v" 0; done
build marathon marathon broken 1.10.17 1
echo "images: emulator images up to date"
