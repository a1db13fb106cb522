#!/usr/bin/env bash
# mesos-operator/marathon-lb (discovery/marathon-lb, with Debian's haproxy in its
# Dockerfile) in tags 0.1.0 and 0.1.0-2, by images/release-tags.sh.
exec "$(dirname "$0")/../release-tags.sh" marathon-lb "${1:-dev}" \
  discovery/marathon-lb/src discovery/marathon-lb/Cargo.toml
