#!/usr/bin/env bash
# Packages a release binary built on the host into an image: the image directory's
# Dockerfile and the stripped binary in a fresh build context, rebuilt only when the binary
# or the Dockerfile changed (their hash is kept as a label). Used by images/operator and
# images/marathon-lb (no compiler and no second build of the dependencies inside Docker).
# usage: release-image.sh REF IMAGE_DIR BINARY VERSION
set -euo pipefail
ref=$1 dir=$2 bin=$3 version=$4
ctx=$(mktemp -d)
trap 'rm -rf "$ctx"' EXIT
cp "$dir/Dockerfile" "$ctx/"
strip -o "$ctx/$(basename "$bin")" "$bin"
hash=$( (sha256sum "$ctx/$(basename "$bin")" "$ctx/Dockerfile"; echo "$version") | sha256sum | cut -c1-16)
if [ "$(docker image inspect -f '{{ index .Config.Labels "io.mesos-operator.context-hash" }}' "$ref" 2>/dev/null || true)" = "$hash" ]; then
  echo "images: $ref up to date"
  exit 0
fi
t0=$SECONDS
docker build -q -t "$ref" --label "io.mesos-operator.context-hash=$hash" \
  --build-arg VERSION="$version" "$ctx" >/dev/null 2>"$ctx/err" || { cat "$ctx/err" >&2; exit 1; }
echo "images: built $ref ($(docker image inspect -f '{{.Size}}' "$ref" | awk '{printf "%.1f MB", $1/1e6}')) in $((SECONDS - t0))s"
