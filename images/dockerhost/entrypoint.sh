#!/bin/sh
# The moby hack/dind steps, as measured on these machines (shared/reference/testbed-facts.md).
set -eu
mount -o remount,rw /sys 2>/dev/null || true
if [ -d /sys/fs/cgroup ]; then
  mount -o remount,rw /sys/fs/cgroup 2>/dev/null || true
  for d in /sys/fs/cgroup/*; do
    [ -d "$d" ] && mount -o remount,bind,rw "$d" 2>/dev/null || true
  done
fi
mount -t tmpfs tmpfs /tmp 2>/dev/null || true
mount --make-rshared / 2>/dev/null || true
# A killed host leaves pid files behind; dockerd and containerd refuse to start over them.
rm -f /var/run/docker.pid /run/docker.pid /var/run/docker/containerd/containerd.pid /run/docker/containerd/containerd.pid
exec dockerd \
  --tlsverify --tlscacert=/certs/ca.pem --tlscert=/certs/server-cert.pem --tlskey=/certs/server-key.pem \
  -H tcp://0.0.0.0:2376 -H unix:///var/run/docker.sock ${DOCKERD_ARGS:-}
