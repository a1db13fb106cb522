#!/usr/bin/env bash
# A throw-away CA for one test bed: server certificates for each Docker host and the
# registry (IP SANs: the outer machine cannot resolve container names), one client
# certificate for the operator. Keys are 0600 and stay under the test bed's directory.
# usage: pki.sh DIR NAME=IP [NAME=IP ...]
set -euo pipefail
dir=$1; shift
mkdir -p "$dir"; chmod 700 "$dir"; cd "$dir"
umask 077
if [ ! -f ca.pem ]; then
  openssl req -x509 -newkey rsa:2048 -nodes -days 30 -subj "/CN=mesos-operator test CA" \
    -keyout ca-key.pem -out ca.pem 2>/dev/null
fi
sign() { # name cn san extusage
  local name=$1 cn=$2 san=$3 usage=$4
  [ -f "$name-cert.pem" ] && return 0
  openssl req -newkey rsa:2048 -nodes -subj "/CN=$cn" -keyout "$name-key.pem" -out "$name.csr" 2>/dev/null
  printf 'subjectAltName=%s\nextendedKeyUsage=%s\n' "$san" "$usage" > "$name.ext"
  openssl x509 -req -in "$name.csr" -CA ca.pem -CAkey ca-key.pem -CAcreateserial -days 30 \
    -extfile "$name.ext" -out "$name-cert.pem" 2>/dev/null
  rm -f "$name.csr" "$name.ext"
}
for pair in "$@"; do
  name=${pair%%=*}; ip=${pair#*=}
  sign "$name" "$name" "IP:$ip,DNS:$name,DNS:localhost,IP:127.0.0.1" serverAuth
done
sign client mesos-operator "DNS:mesos-operator" clientAuth
chmod 644 ca.pem ./*-cert.pem
