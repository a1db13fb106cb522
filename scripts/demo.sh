#!/usr/bin/env bash
# The local demo: a fleet of 3 Docker hosts with mutual TLS and a registry (test bed id
# "demo") with its etcd on a free loopback port; the TLS material and a ZooKeeper digest
# stored as secrets; the demo cluster applied; `mesos-operator run` in the background
# (log in .demo/operator.log); `status --watch` until Converged; then a rolling upgrade of
# the masters. Everything stays running; `.demo/env` says where it is. A Prometheus server
# (Debian's `prometheus`, on a free loopback port) scrapes the operator with the alert rules
# of ops/prometheus loaded (PROMETHEUS_URL in `.demo/env`).
# `scripts/demo.sh down` stops exactly what `up` started: the operator and Prometheus by
# their pids, the test bed (and its etcd) by its label and pid.
set -euo pipefail
cd "$(dirname "$0")/.."
state=.demo
bin=target/debug/mesos-operator

running() {
  [ -f "$state/operator.pid" ] && kill -0 "$(cat "$state/operator.pid")" 2>/dev/null
}

prometheus_running() {
  [ -f "$state/prometheus.pid" ] && kill -0 "$(cat "$state/prometheus.pid")" 2>/dev/null
}

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# Prometheus scraping the operator at 127.0.0.1:$1 as job mesos-operator, with the alert
# rules of ops/prometheus; its config, data and log in $state/prometheus/.
start_prometheus() {
  local dir="$state/prometheus" port
  mkdir -p "$dir"
  cat >"$dir/prometheus.yml" <<CONFIG
global:
  scrape_interval: 5s
  evaluation_interval: 5s
rule_files:
  - $PWD/ops/prometheus/mesos-operator.rules.yml
scrape_configs:
  - job_name: mesos-operator
    static_configs:
      - targets: ['127.0.0.1:$1']
CONFIG
  promtool check config "$dir/prometheus.yml" >/dev/null
  port=$(free_port)
  nohup prometheus --config.file="$dir/prometheus.yml" --storage.tsdb.path="$dir/data" \
    --web.listen-address="127.0.0.1:$port" >"$dir/prometheus.log" 2>&1 &
  echo $! >"$state/prometheus.pid"
  for _ in $(seq 1 100); do
    curl -sf "http://127.0.0.1:$port/-/ready" >/dev/null 2>&1 && break
    prometheus_running || { echo "demo: prometheus did not start; see $dir/prometheus.log" >&2; exit 1; }
    sleep 0.2
  done
  echo "http://127.0.0.1:$port"
}

down() {
  if prometheus_running; then
    kill -TERM "$(cat "$state/prometheus.pid")" 2>/dev/null || true
    for _ in $(seq 1 100); do prometheus_running || break; sleep 0.2; done
  fi
  if running; then
    kill -TERM "$(cat "$state/operator.pid")" 2>/dev/null || true
    for _ in $(seq 1 100); do running || break; sleep 0.2; done
  fi
  TESTBED_ID=demo scripts/testbed.sh down
  rm -rf "$state" .testbed/demo-files
  echo "demo: removed"
}

up() {
  if running; then
    echo "demo: already running (operator pid $(cat "$state/operator.pid")); see $state/env, or stop it with: make demo-down"
    exit 0
  fi
  mkdir -p "$state"
  chmod 700 "$state"
  TESTBED_ID=demo TESTBED_SKIP_IMAGES=1 scripts/testbed.sh up 3 >/dev/null
  # shellcheck disable=SC1091
  . .testbed/demo/env
  export MESOS_OPERATOR_ETCD=$TESTBED_ETCD
  echo "demo: fleet of 3 Docker hosts up; etcd at $TESTBED_ETCD"
  $bin secret set ca --from-file "$TESTBED_PKI/ca.pem" >/dev/null
  $bin secret set client-cert --from-file "$TESTBED_PKI/client-cert.pem" >/dev/null
  $bin secret set client-key --from-file "$TESTBED_PKI/client-key.pem" >/dev/null
  # The ZooKeeper super user for reconfiguration: a fresh password, only ever in etcd.
  printf 'super:%s' "$(openssl rand -hex 16)" | $bin secret set zk-super --from-file - >/dev/null
  ips=()
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
    echo "  zookeeper: {image: 'zookeeper:3.8.0', servers: 3, superDigest: {secret: zk-super}}"
    echo "  masters: {image: 'mesos-master:1.11.0', count: 3}"
    echo "  agents: {image: 'mesos-agent:1.11.0'}"
    echo "  marathon: {image: 'marathon:1.10.17'}"
    # The Marathon–HAProxy bridge on two hosts (one keeps routing while the other is
    # replaced): each app's service ports (10000-10100) on those hosts' addresses.
    echo "  loadBalancer: {image: 'marathon-lb:0.1.0', instances: 2}"
    # DNS for Mesos on two hosts (one answers while the other is replaced): leader.mesos,
    # master.mesos, the tasks' A and SRV records, refreshed every 5 s.
    echo "  dns: {image: 'mesos-dns:0.1.0', instances: 2, refreshSeconds: 5, ttl: 5}"
    echo "  rollout: {healthTimeout: 120s}"
  } >"$state/demo.yaml"
  IFS=',' read -ra pairs <<<"$TESTBED_HOSTS"
  for p in "${pairs[@]}"; do ips+=("${p#*=}"); done
  $bin apply -f "$state/demo.yaml"
  port=$(free_port)
  nohup $bin run --metrics-addr "127.0.0.1:$port" >"$state/operator.log" 2>&1 &
  echo $! >"$state/operator.pid"
  prometheus_url=$(start_prometheus "$port")
  echo "demo: Prometheus at $prometheus_url scrapes the operator, with the alerts of ops/prometheus"
  {
    echo "MESOS_OPERATOR_ETCD=$TESTBED_ETCD"
    echo "METRICS_URL=http://127.0.0.1:$port/metrics"
    echo "MASTER_URLS=$(printf 'http://%s:5050,' "${ips[@]}" | sed 's/,$//')"
    echo "MARATHON_URL=http://${ips[0]}:8080"
    echo "LB_URL=http://${ips[0]}"
    echo "DNS_SERVER=${ips[0]}"
    echo "ZK_SERVERS=$(printf '%s:2181,' "${ips[@]}" | sed 's/,$//')"
    echo "OPERATOR_PID=$(cat "$state/operator.pid")"
    echo "PROMETHEUS_URL=$prometheus_url"
    echo "PROMETHEUS_PID=$(cat "$state/prometheus.pid")"
  } >"$state/env"
  echo "demo: operator running (pid $(cat "$state/operator.pid"), log $state/operator.log); converging the cluster:"
  $bin status demo --watch --until Converged --timeout 600
  echo
  echo "demo: converged. Now a rolling upgrade of the masters to 1.12.0-rc1 (one at a time, the leader last):"
  $bin bump demo masters 1.12.0-rc1
  $bin status demo --watch --until Converged --timeout 600
  echo
  $bin status demo
  echo
  $bin events demo | head -15
  cat <<MSG

demo: the cluster "demo" runs on 3 Docker hosts (ZooKeeper 3 servers, 3 Mesos masters,
3 agents, Marathon), managed by mesos-operator. Everything stays up; $state/env has:
$(sed 's/^/  /' "$state/env")
Try:
  export MESOS_OPERATOR_ETCD=$TESTBED_ETCD
  $bin status demo --watch          # follow what the operator does
  $bin bump demo zookeeper 3.8.0-2  # a rolling ZooKeeper upgrade, leader last
  $bin events demo                  # every step, newest first
  curl -s \$(grep METRICS_URL $state/env | cut -d= -f2) | grep mesos_operator_
  curl -s \$(grep PROMETHEUS_URL $state/env | cut -d= -f2)/api/v1/alerts   # alerts firing now
  . $state/env; curl -s -X POST -H 'Content-Type: application/json' \$MARATHON_URL/v2/apps \\
    -d '{"id":"/hello","cmd":"mesos-emulator respond","instances":3,"cpus":0.1,"mem":16,"portDefinitions":[{"port":0}]}'
  curl -s \$LB_URL:10000/          # through HAProxy: each request names the task that answered
  dig +short @\$DNS_SERVER leader.mesos                 # the leading master, from ZooKeeper
  dig +short @\$DNS_SERVER _hello._tcp.marathon.mesos SRV   # the app's three tasks and ports
  curl -s \$DNS_SERVER:8123/v1/services/_hello._tcp.marathon.mesos
Prometheus' web page at $prometheus_url shows the alerts (/alerts) and runs any query;
ops/grafana/mesos-operator.json is the dashboard to import into a Grafana pointed at it.
Stop everything the demo made with: make demo-down
MSG
}

case "${1:-up}" in
  up) up ;;
  down) down ;;
  *) echo "usage: $0 up|down" >&2; exit 2 ;;
esac
