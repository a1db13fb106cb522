#!/usr/bin/env bash
# Installs what building and testing need, from Debian's packages, only when missing.
# Idempotent and quiet when everything is there already.
set -euo pipefail

need=()
command -v etcd >/dev/null 2>&1 || need+=(etcd-server)
command -v etcdctl >/dev/null 2>&1 || need+=(etcd-client)
command -v protoc >/dev/null 2>&1 || need+=(protobuf-compiler)
[ -f /usr/include/google/protobuf/descriptor.proto ] || need+=(libprotobuf-dev)
command -v openssl >/dev/null 2>&1 || need+=(openssl)
# promtool (tests/metrics.rs checks the /metrics body with it) ships in Debian's prometheus.
command -v promtool >/dev/null 2>&1 || need+=(prometheus)
# systemd-analyze (tests/service_unit.rs verifies the unit and scores its sandbox) ships in
# Debian's systemd.
command -v systemd-analyze >/dev/null 2>&1 || need+=(systemd)
# dig (tests/dns.rs asks the DNS component as any client would) ships in Debian's dnsutils.
command -v dig >/dev/null 2>&1 || need+=(dnsutils)
# haproxy (the Marathon–HAProxy bridge's tests run the real one: discovery/marathon-lb).
command -v haproxy >/dev/null 2>&1 || need+=(haproxy)
for extra in "$@"; do
  case "$extra" in
    mmdebstrap) command -v mmdebstrap >/dev/null 2>&1 || need+=(mmdebstrap) ;;
    skopeo) command -v skopeo >/dev/null 2>&1 || need+=(skopeo) ;;
    *) need+=("$extra") ;;
  esac
done
if [ ${#need[@]} -gt 0 ]; then
  echo "deps: installing ${need[*]}"
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
