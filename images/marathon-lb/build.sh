#!/usr/bin/env bash
# Builds mesos-operator/marathon-lb:dev: the bridge's release binary, built here with cargo
# (stripped), copied into an image on the project's Debian base with Debian's haproxy
# (images/marathon-lb/Dockerfile). Rebuilt only when the binary or the Dockerfile changed.
set -euo pipefail
cd "$(dirname "$0")/../.."
version=${1:-dev}
ref=mesos-operator/marathon-lb:dev
${CARGO:-cargo} build -q --release -p marathon-lb
ctx=$(mktemp -d)
trap 'rm -rf "$ctx"' EXIT
cp images/marathon-lb/Dockerfile "$ctx/"
strip -o "$ctx/marathon-lb" "${CARGO_TARGET_DIR:-target}/release/marathon-lb"
hash=$( (sha256sum "$ctx/marathon-lb" "$ctx/Dockerfile"; echo "$version") | sha256sum | cut -c1-16)
if [ "$(docker image inspect -f '{{ index .Config.Labels "io.mesos-operator.context-hash" }}' "$ref" 2>/dev/null || true)" = "$hash" ]; then
  echo "images: $ref up to date"
  exit 0
fi
t0=$SECONDS
docker build -q -t "$ref" --label "io.mesos-operator.context-hash=$hash" \
  --build-arg VERSION="$version" "$ctx" >/dev/null 2>"$ctx/err" || { cat "$ctx/err" >&2; exit 1; }
echo "images: built $ref ($(docker image inspect -f '{{.Size}}' "$ref" | awk '{printf "%.1f MB", $1/1e6}')) in $((SECONDS - t0))s"
