#!/usr/bin/env bash
# Builds the emulator binary and packages it as mesos-master, mesos-agent and marathon
# images in several versions each, plus a deliberately broken tag of each.
#
# An image is rebuilt only when the emulator's inputs changed: its sources (emulator/ and
# the crates/httplite it uses, tests aside), Cargo.lock, the workspace's Cargo.toml (its
# profiles), this directory and the version, hashed and kept as a label. The binary is
# compiled only when some image is stale, so a first `make demo` in a fresh clone with the
# images already built compiles no emulator.
set -euo pipefail
cd "$(dirname "$0")/../.."
version=${1:-dev}
hash=$( (find emulator/src emulator/Cargo.toml crates/httplite/src crates/httplite/Cargo.toml images/emulator \
    -type f -print0 | sort -z | xargs -0 sha256sum; sha256sum Cargo.lock Cargo.toml; echo "$version") |
  sha256sum | cut -c1-16)
# EMULATOR_IMAGE_PREFIX=x- builds mesos-operator/x-mesos-master:... instead, to test a
# branch's emulator without replacing the shared tags.
prefix=${EMULATOR_IMAGE_PREFIX:-}
# repo role tag emulated-version broken
images=()
for v in 1.10.0 1.11.0 1.12.0-rc1; do
  images+=("mesos-master master $v $v 0" "mesos-agent agent $v $v 0")
done
images+=("mesos-master master broken 1.11.0 1" "mesos-agent agent broken 1.11.0 1")
for v in 1.10.17 1.10.26; do images+=("marathon marathon $v $v 0"); done
images+=("marathon marathon broken 1.10.17 1")

stale=()
for i in "${images[@]}"; do
  read -r repo _ tag _ _ <<<"$i"
  ref=mesos-operator/$prefix$repo:$tag
  if [ "$(docker image inspect -f '{{ index .Config.Labels "io.mesos-operator.context-hash" }}' "$ref" 2>/dev/null || true)" != "$hash" ]; then
    stale+=("$i")
  fi
done
if [ ${#stale[@]} -eq 0 ]; then
  echo "images: emulator images up to date"
  exit 0
fi

${CARGO:-cargo} build -q --release -p mesos-emulator
ctx=$(mktemp -d)
trap 'rm -rf "$ctx"' EXIT
cp images/emulator/Dockerfile "$ctx/"
cp "${CARGO_TARGET_DIR:-target}/release/mesos-emulator" "$ctx/"
for i in "${stale[@]}"; do
  read -r repo role tag emulated broken <<<"$i"
  ref=mesos-operator/$prefix$repo:$tag
  docker build -q -t "$ref" --label "io.mesos-operator.context-hash=$hash" --build-arg ROLE="$role" \
    --build-arg EMULATED_VERSION="$emulated" --build-arg BROKEN="$broken" --build-arg VERSION="$version" "$ctx" >/dev/null 2>"$ctx/err" \
    || { cat "$ctx/err" >&2; exit 1; }
  echo "images: built $ref"
done
echo "images: emulator images up to date"
