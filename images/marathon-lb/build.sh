#!/usr/bin/env bash
# Builds mesos-operator/marathon-lb:dev: the bridge's release binary, built here with cargo,
# stripped, copied into an image on the project's Debian base with Debian's haproxy
# (images/marathon-lb/Dockerfile). Rebuilt only when the binary or the Dockerfile changed.
set -euo pipefail
cd "$(dirname "$0")/../.."
version=${1:-dev}
${CARGO:-cargo} build -q --release -p marathon-lb
images/release-image.sh mesos-operator/marathon-lb:dev images/marathon-lb \
  "${CARGO_TARGET_DIR:-target}/release/marathon-lb" "$version"
