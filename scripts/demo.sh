#!/usr/bin/env bash
# The local demo: a fleet of 3 Docker hosts with mutual TLS and a registry (test bed id
# "demo") with its etcd on a free loopback port, the TLS material stored as secrets,
# and the demo cluster stored for that fleet; then `plan` shows what the operator would do.
# `scripts/demo.sh down` stops exactly what `up` started (via the test bed's `down`).
set -euo pipefail
cd "$(dirname "$0")/.."
state=.testbed/demo-files
bin=target/debug/mesos-operator

down() {
  rm -rf "$state"
  TESTBED_ID=demo scripts/testbed.sh down
}

up() {
  mkdir -p "$state"
  TESTBED_ID=demo TESTBED_SKIP_IMAGES=1 scripts/testbed.sh up 3 >/dev/null
  # shellcheck disable=SC1091
  . .testbed/demo/env
  export MESOS_OPERATOR_ETCD=$TESTBED_ETCD
  echo "demo: fleet up; etcd at $TESTBED_ETCD"
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
