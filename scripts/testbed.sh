#!/usr/bin/env bash
# The test bed: a fleet of Docker hosts (each a container running its own dockerd, with its
# own address, reached over mutual TLS on 2376) and a TLS registry holding the project's
# images, on a user-defined network of its own.
#
#   testbed.sh up [HOSTS]   bring up (or complete) the test bed; prints its env file
#   testbed.sh down         remove exactly what `up` created (by the test bed's label)
#   testbed.sh env          print the env file
#
# TESTBED_ID names the test bed (default: demo), so that CI's and a developer's coexist.
# Everything created carries the label io.mesos-operator.testbed=<id>; nothing else on the
# machine is touched, and the outer machine's configuration is not modified (images reach
# the registry through skopeo with a per-test-bed certificate directory).
set -euo pipefail
cd "$(dirname "$0")/.."
id=${TESTBED_ID:-demo}
prefix=mo-tb-$id
state=$PWD/.testbed/$id
label=io.mesos-operator.testbed=$id
# Images pushed to the registry: local name -> name in the registry.
IMAGES=(
  "mesos-operator/zookeeper:3.8.0=zookeeper:3.8.0"
  "mesos-operator/zookeeper:3.8.0-2=zookeeper:3.8.0-2"
)
for kind in emulator mesos-dns marathon-lb; do
  for img in $(docker images --format '{{.Repository}}:{{.Tag}}' --filter dangling=false --filter label=io.mesos-operator.image=$kind 2>/dev/null); do
    IMAGES+=("$img=${img#mesos-operator/}")
  done
done

dockertls() { # host-ip args...
  local ip=$1; shift
  docker --tlsverify --tlscacert "$state/pki/ca.pem" --tlscert "$state/pki/client-cert.pem" \
    --tlskey "$state/pki/client-key.pem" -H "tcp://$ip:2376" "$@"
}

wait_for() { # description command...
  local what=$1; shift
  for _ in $(seq 1 150); do "$@" >/dev/null 2>&1 && return 0; sleep 0.2; done
  echo "testbed: $what did not come up" >&2; return 1
}

up() {
  local n=${1:-3}
  local t0=$SECONDS
  [ -n "${TESTBED_SKIP_IMAGES:-}" ] || scripts/images.sh base zookeeper dockerhost registry emulator mesos-dns marathon-lb
  mkdir -p "$state"
  if ! docker network inspect "$prefix" >/dev/null 2>&1; then
    local ok=""
    for octet in $(seq 20 250); do
      if docker network create --label "$label" --subnet "10.213.$octet.0/24" "$prefix" >/dev/null 2>&1; then ok=1; break; fi
    done
    [ -n "$ok" ] || { echo "testbed: no free 10.213.x.0/24 subnet" >&2; exit 1; }
  fi
  local subnet base
  subnet=$(docker network inspect -f '{{(index .IPAM.Config 0).Subnet}}' "$prefix")
  base=${subnet%.0/24}
  local registry_ip=$base.2 hosts_env=""
  local pairs=("registry=$registry_ip")
  for i in $(seq 1 "$n"); do pairs+=("host$i=$base.$((10 + i))"); done
  scripts/pki.sh "$state/pki" "${pairs[@]}"
  mkdir -p "$state/registry-trust"; cp "$state/pki/ca.pem" "$state/registry-trust/ca.crt"

  if ! docker container inspect "$prefix-registry" >/dev/null 2>&1; then
    docker volume create --label "$label" "$prefix-registry-data" >/dev/null
    docker run -d --name "$prefix-registry" --label "$label" --network "$prefix" --ip "$registry_ip" \
      --restart unless-stopped -v "$prefix-registry-data:/var/lib/docker-registry" \
      -v "$state/pki:/certs:ro" mesos-operator/registry:dev >/dev/null
  fi
  wait_for "the registry" curl -sf --cacert "$state/pki/ca.pem" "https://$registry_ip:5000/v2/"
  for pair in "${IMAGES[@]}"; do
    local src=${pair%%=*} dst=${pair#*=}
    docker image inspect "$src" >/dev/null 2>&1 || { echo "testbed: image $src missing (make images)" >&2; continue; }
    local want have
    want=$(docker image inspect -f '{{.Id}}' "$src")
    have=$(cat "$state/pushed-${dst//[:\/]/_}" 2>/dev/null || true)
    if [ "$want" != "$have" ]; then
      skopeo copy -q --dest-cert-dir "$state/registry-trust" "docker-daemon:$src" "docker://$registry_ip:5000/$dst"
      echo "$want" > "$state/pushed-${dst//[:\/]/_}"
    fi
  done

  for i in $(seq 1 "$n"); do
    local ip=$base.$((10 + i)) name=$prefix-host$i
    hosts_env+="host$i=$ip,"
    if ! docker container inspect "$name" >/dev/null 2>&1; then
      mkdir -p "$state/host$i-certs"
      cp "$state/pki/ca.pem" "$state/host$i-certs/ca.pem"
      cp "$state/pki/host$i-cert.pem" "$state/host$i-certs/server-cert.pem"
      cp "$state/pki/host$i-key.pem" "$state/host$i-certs/server-key.pem"
      docker volume create --label "$label" "$name-docker" >/dev/null
      docker run -d --name "$name" --hostname "host$i" --label "$label" --label "io.mesos-operator.testbed-host=host$i" \
        --network "$prefix" --ip "$ip" --restart unless-stopped \
        --cap-add ALL --cap-drop SYS_RESOURCE --security-opt seccomp=unconfined \
        --security-opt apparmor=unconfined --security-opt systempaths=unconfined \
        --device-cgroup-rule 'a *:* rwm' --cgroupns private \
        -v "$name-docker:/var/lib/docker" -v "$state/host$i-certs:/certs:ro" \
        --mount "type=bind,src=$state/registry-trust,dst=/etc/docker/certs.d/$registry_ip:5000,readonly" \
        mesos-operator/dockerhost:dev >/dev/null
    fi
  done
  for i in $(seq 1 "$n"); do
    wait_for "host$i's dockerd" dockertls "$base.$((10 + i))" version
  done
  # etcd (Debian's etcd-server) on a free loopback port, recorded by pid.
  if ! { [ -f "$state/etcd.pid" ] && kill -0 "$(cat "$state/etcd.pid")" 2>/dev/null; }; then
    # A free port can be taken by another process before etcd binds it (several test beds
    # start at once): when etcd exits, start it again on new ports.
    local client peer up=""
    for _ in 1 2 3 4 5; do
      client=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
      peer=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
      nohup etcd --name "tb-$id" --data-dir "$state/etcd" \
        --listen-client-urls "http://127.0.0.1:$client" --advertise-client-urls "http://127.0.0.1:$client" \
        --listen-peer-urls "http://127.0.0.1:$peer" --initial-advertise-peer-urls "http://127.0.0.1:$peer" \
        --initial-cluster "tb-$id=http://127.0.0.1:$peer" >"$state/etcd.log" 2>&1 &
      local pid=$!
      echo $pid >"$state/etcd.pid"
      echo "http://127.0.0.1:$client" >"$state/etcd.endpoint"
      for _ in $(seq 1 100); do
        kill -0 "$pid" 2>/dev/null || break
        if etcdctl --dial-timeout 1s --command-timeout 2s --endpoints "http://127.0.0.1:$client" endpoint health >/dev/null 2>&1; then
          up=1; break
        fi
        sleep 0.2
      done
      [ -n "$up" ] && break
      kill "$pid" 2>/dev/null || true
      echo "testbed: etcd did not start on $client ($(tail -1 "$state/etcd.log")); trying other ports" >&2
    done
    [ -n "$up" ] || { echo "testbed: etcd did not come up" >&2; return 1; }
  fi
  cat > "$state/env" <<ENV
TESTBED_ID=$id
TESTBED_NETWORK=$prefix
TESTBED_SUBNET=$subnet
TESTBED_REGISTRY=$registry_ip:5000
TESTBED_HOSTS=${hosts_env%,}
TESTBED_PKI=$state/pki
TESTBED_ETCD=$(cat "$state/etcd.endpoint")
ENV
  echo "testbed: $n hosts up in $((SECONDS - t0))s; env in $state/env" >&2
  cat "$state/env"
}

down() {
  local ids
  if [ -f "$state/etcd.pid" ]; then
    kill "$(cat "$state/etcd.pid")" 2>/dev/null || true
  fi
  ids=$(docker ps -aq --filter "label=$label")
  [ -z "$ids" ] || docker rm -f -v $ids >/dev/null
  ids=$(docker volume ls -q --filter "label=$label")
  [ -z "$ids" ] || docker volume rm $ids >/dev/null
  ids=$(docker network ls -q --filter "label=$label")
  [ -z "$ids" ] || docker network rm $ids >/dev/null
  rm -rf "$state"
  echo "testbed: $id removed" >&2
}

case "${1:-}" in
  up) up "${2:-3}" ;;
  down) down ;;
  env) cat "$state/env" ;;
  *) echo "usage: $0 up [HOSTS] | down | env" >&2; exit 2 ;;
esac
