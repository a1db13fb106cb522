#!/usr/bin/env bash
# Builds mesos-operator/operator:dev from the release binary, built here with cargo (the
# dependencies' release build stays in the target directory between runs), stripped, and
# copied into an image on the project's Debian base (images/operator/Dockerfile). Rebuilt
# only when the binary or the Dockerfile changed.
set -euo pipefail
cd "$(dirname "$0")/../.."
version=${1:-dev}
ref=mesos-operator/operator:dev
${CARGO:-cargo} build -q --release --bin mesos-operator
ctx=$(mktemp -d)
trap 'rm -rf "$ctx"' EXIT
cp images/operator/Dockerfile "$ctx/"
strip -o "$ctx/mesos-operator" "${CARGO_TARGET_DIR:-target}/release/mesos-operator"
hash=$( (sha256sum "$ctx/mesos-operator" "$ctx/Dockerfile"; echo "$version") | sha256sum | cut -c1-16)
if [ "$(docker image inspect -f '{{ index .Config.Labels "io.mesos-operator.context-hash" }}' "$ref" 2>/dev/null || true)" = "$hash" ]; then
  echo "images: $ref up to date"
  exit 0
fi
t0=$SECONDS
docker build -q -t "$ref" --label "io.mesos-operator.context-hash=$hash" \
  --build-arg VERSION="$version" "$ctx" >/dev/null 2>"$ctx/err" || { cat "$ctx/err" >&2; exit 1; }
echo "images: built $ref ($(docker image inspect -f '{{.Size}}' "$ref" | awk '{printf "%.1f MB", $1/1e6}')) in $((SECONDS - t0))s"
