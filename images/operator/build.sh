#!/usr/bin/env bash
# Builds mesos-operator/operator:dev from the release binary, built here with cargo (the
# dependencies' release build stays in the target directory between runs), stripped, and
# copied into an image on the project's Debian base (images/operator/Dockerfile). Rebuilt
# only when the binary or the Dockerfile changed.
set -euo pipefail
cd "$(dirname "$0")/../.."
version=${1:-dev}
${CARGO:-cargo} build -q --release --bin mesos-operator
images/release-image.sh mesos-operator/operator:dev images/operator \
  "${CARGO_TARGET_DIR:-target}/release/mesos-operator" "$version"
