#!/usr/bin/env bash
# The local demo: a fleet of 3 Docker hosts with mutual TLS and a registry (test bed id
# "demo"), an etcd of its own on a free loopback port, the TLS material stored as secrets,
# and the demo cluster stored for that fleet; then `plan` shows what the operator would do.
# `scripts/demo.sh down` stops exactly what `up` started (the etcd by its pid, the fleet by
# its label).
set -euo pipefail
cd "$(dirname "$0")/.."
state=.testbed/demo-etcd
bin=target/debug/mesos-operator

down() {
  if [ -f "$state/etcd.pid" ]; then
    pid=$(cat "$state/etcd.pid")
    if kill -0 "$pid" 2>/dev/null; then kill "$pid"; echo "demo: stopped etcd (pid $pid)"; fi
  fi
  rm -rf "$state"
  TESTBED_ID=demo scripts/testbed.sh down
}

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

up() {
  mkdir -p "$state"
  TESTBED_ID=demo TESTBED_SKIP_IMAGES=1 scripts/testbed.sh up 3 >/dev/null
  # shellcheck disable=SC1091
  . .testbed/demo/env
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
  $bin secret set ca --from-file "$TESTBED_PKI/ca.pem" >/dev/null
  $bin secret set client-cert --from-file "$TESTBED_PKI/client-cert.pem" >/dev/null
  $bin secret set client-key --from-file "$TESTBED_PKI/client-key.pem" >/dev/null
  {
    echo "apiVersion: mesos-operator.io/v1alpha1"
    echo "kind: MesosCluster"
    echo "metadata: {name: demo}"
    echo "spec:"
    echo "  registry: '$TESTBED_REGISTRY'"
    echo "  hosts:"
    IFS=',' read -ra pairs <<<"$TESTBED_HOSTS"
    for p in "${pairs[@]}"; do
      n=${p%%=*}; ip=${p#*=}
      echo "    - {name: $n, address: $ip, docker: {endpoint: 'tcp://$ip:2376', tls: {ca: ca, cert: client-cert, key: client-key}}}"
    done
    echo "  zookeeper: {image: 'zookeeper:3.8.0', servers: 3}"
    echo "  masters: {image: 'mesos-master:1.11.0', count: 3}"
    echo "  agents: {image: 'mesos-agent:1.11.0'}"
    echo "  marathon: {image: 'marathon:1.10.17'}"
  } >"$state/demo.yaml"
  $bin apply -f "$state/demo.yaml"
  $bin get
  $bin plan demo
  cat <<MSG

demo: a 3-host fleet (Docker hosts with mutual TLS, registry $TESTBED_REGISTRY) and etcd at
$MESOS_OPERATOR_ETCD are up; the cluster "demo" is stored, and \`plan\` above is what the
operator observes on the hosts and the one step it would take first.
  Try:  export MESOS_OPERATOR_ETCD=$MESOS_OPERATOR_ETCD
        $bin bump demo masters 1.12.0-rc1 && $bin history demo && $bin plan demo
Not there yet: the reconcile loop (\`mesos-operator run\`) that carries the steps out, leader
election between operator replicas, and metrics; so nothing is converged yet.
Stop the demo with: make demo-down
MSG
}

case "${1:-up}" in
  up) up ;;
  down) down ;;
  *) echo "usage: $0 up|down" >&2; exit 2 ;;
esac
