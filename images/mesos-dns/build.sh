#!/usr/bin/env bash
# mesos-operator/mesos-dns (crates/mesos-dns, with the httplite it uses) in tags 0.1.0 and
# 0.1.0-2, by images/release-tags.sh.
exec "$(dirname "$0")/../release-tags.sh" mesos-dns "${1:-dev}" \
  crates/mesos-dns/src crates/mesos-dns/Cargo.toml crates/httplite/src crates/httplite/Cargo.toml
