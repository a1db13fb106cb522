#!/usr/bin/env bash
# The Debian bookworm base image, bootstrapped from Debian's packages (no registry needed):
# mmdebstrap writes a root file system tarball, `docker import` turns it into an image.
# The tarball is written to a file first: a failed bootstrap piped straight into
# `docker import` would silently make an empty image.
set -euo pipefail
tag=${1:?usage: build.sh TAG}
version=${2:-dev}
mirror=$(awk '/^URIs:/{print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)
[ -n "$mirror" ] || mirror=$(awk '/^deb /{print $2; exit}' /etc/apt/sources.list 2>/dev/null || true)
[ -n "$mirror" ] || { echo "base: cannot find the Debian mirror apt uses" >&2; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mmdebstrap --quiet --variant=minbase \
  --hook-dir=/usr/share/mmdebstrap/hooks/merged-usr \
  --include=ca-certificates \
  --customize-hook='rm -rf "$1"/var/lib/apt/lists/* "$1"/var/cache/apt/*.bin' \
  bookworm "$work/rootfs.tar" "$mirror" >"$work/mmdebstrap.log" 2>&1 \
  || { cat "$work/mmdebstrap.log" >&2; exit 1; }
docker import \
  --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  --change "LABEL io.mesos-operator.version=$version io.mesos-operator.image=base" \
  --change 'CMD ["/bin/bash"]' \
  "$work/rootfs.tar" "$tag" >/dev/null
echo "base: built $tag"
