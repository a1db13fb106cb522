#!/usr/bin/env bash
# The local demo: an etcd of its own on a free loopback port, the demo cluster stored in it.
# `scripts/demo.sh down` stops exactly what `up` started (by the pid it recorded).
set -euo pipefail
cd "$(dirname "$0")/.."
state=.testbed/demo
bin=target/debug/mesos-operator
mkdir -p "$state"

down() {
  if [ -f "$state/etcd.pid" ]; then
    pid=$(cat "$state/etcd.pid")
    if kill -0 "$pid" 2>/dev/null; then kill "$pid"; echo "demo: stopped etcd (pid $pid)"; fi
    rm -f "$state/etcd.pid"
  fi
  rm -rf "$state"
}

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

up() {
  if [ -f "$state/etcd.pid" ] && kill -0 "$(cat "$state/etcd.pid")" 2>/dev/null; then
    echo "demo: etcd already running at $(cat "$state/endpoint")"
  else
    client=$(free_port); peer=$(free_port)
    endpoint="http://127.0.0.1:$client"
    nohup etcd --name demo --data-dir "$state/etcd" \
      --listen-client-urls "$endpoint" --advertise-client-urls "$endpoint" \
      --listen-peer-urls "http://127.0.0.1:$peer" --initial-advertise-peer-urls "http://127.0.0.1:$peer" \
      --initial-cluster "demo=http://127.0.0.1:$peer" >"$state/etcd.log" 2>&1 &
    echo $! >"$state/etcd.pid"
    echo "$endpoint" >"$state/endpoint"
    for _ in $(seq 1 100); do
      etcdctl --endpoints "$endpoint" endpoint health >/dev/null 2>&1 && break
      sleep 0.1
    done
    echo "demo: etcd running at $endpoint (pid $(cat "$state/etcd.pid"))"
  fi
  export MESOS_OPERATOR_ETCD; MESOS_OPERATOR_ETCD=$(cat "$state/endpoint")
  $bin apply -f manifests/examples/cluster7.yaml
  $bin get
  $bin history cluster7
  cat <<MSG

demo: the desired state of cluster7 is stored in etcd at $MESOS_OPERATOR_ETCD.
  Try:  export MESOS_OPERATOR_ETCD=$MESOS_OPERATOR_ETCD
        $bin bump cluster7 masters 1.12.0-rc1 && $bin history cluster7
Not there yet: the Docker fleet, the emulator images and the reconcile loop
(\`mesos-operator run\`), so nothing is converged and \`status\` has nothing to show.
Stop the demo with: make demo-down
MSG
}

case "${1:-up}" in
  up) up ;;
  down) down ;;
  *) echo "usage: $0 up|down" >&2; exit 2 ;;
esac
