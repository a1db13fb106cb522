#!/usr/bin/env bash
# `make test`'s runner: builds every test target of the workspace once, then runs the test
# binaries TEST_LANES at a time (default 2), the longest first, each with its output in
# target/test-logs/<binary>.log, and prints what each took.
#
# Why not `cargo test` alone: it runs one binary after the other, and most of the time of
# the fleet binaries is spent waiting on containers (a ZooKeeper server starting, a health
# gate, a lease running out), not on the CPU. Each fleet binary brings up a test bed of its
# own (its own network, hosts, registry and etcd), so two can run side by side. Tests inside
# one binary still share its fleet as before.
#
# TEST_LANES=1 runs them one by one; TEST_ONLY="a b" runs only the named binaries.
#
# Everything is built with the root package's `failpoints` feature (the test hooks of
# src/failpoint.rs, which the replicas and reconcile tests arm); the library's unit tests are
# built once more without it, and their failpoint tests run as mesos-operator-lib-default, to
# show that a build without the feature ignores MESOS_OPERATOR_FAILPOINT.
set -uo pipefail
cd "$(dirname "$0")/.."
CARGO=${CARGO:-cargo}
LANES=${TEST_LANES:-2}
LOGS=target/test-logs
FAILPOINTS=(--features mesos-operator/failpoints)

# The fleet binaries and the longest others, longest first (measured on this 2-core
# machine; see the README). Any binary not named here runs after them.
ORDER=(replicas reconcile contract autoupdate membership partitions dns simulation loadbalancer containers preflight testbed
  observe model_loop)

mkdir -p "$LOGS"
rm -f "$LOGS"/*.log "$LOGS"/*.result

echo "test: building every test target"
if ! $CARGO test --workspace --all-targets "${FAILPOINTS[@]}" --no-run \
  --message-format=json-render-diagnostics >"$LOGS/build.json"; then
  echo "test: the build failed" >&2
  exit 1
fi
# `--workspace` keeps the dependencies' features those of the build above: only the
# library's unit tests are compiled again.
echo "test: building the library's unit tests without failpoints"
if ! $CARGO test --workspace --lib --no-run --message-format=json-render-diagnostics \
  >"$LOGS/build-default.json"; then
  echo "test: the build without failpoints failed" >&2
  exit 1
fi

# One line per test executable: name<TAB>package directory<TAB>path[<TAB>arguments]. A
# library's unit tests are named after their package (two packages' `lib` would collide
# otherwise).
python3 - "$LOGS/build.json" >"$LOGS/binaries.tsv" <<'EOF'
import json, os, sys
seen = set()
named = set()
for line in open(sys.argv[1]):
    try:
        m = json.loads(line)
    except ValueError:
        continue
    if m.get("reason") != "compiler-artifact" or not m.get("executable"):
        continue
    if not m.get("profile", {}).get("test") and "bench" not in m["target"]["kind"]:
        continue
    kind = m["target"]["kind"][0]
    pkg_dir = os.path.dirname(m["manifest_path"])
    pkg = os.path.basename(pkg_dir) if pkg_dir != os.getcwd() else "mesos-operator"
    name = m["target"]["name"]
    if kind in ("lib", "bin"):
        name = f"{pkg}-{kind}"
    elif kind == "bench":
        name = f"bench-{name}"
    # The same target reported twice is run once; another package's target of the same
    # name is run too, under its package's name (dropped, it would never run).
    if (pkg_dir, name) in seen:
        continue
    seen.add((pkg_dir, name))
    if name in named:
        name = f"{pkg}-{name}"
    named.add(name)
    print(f"{name}\t{pkg_dir}\t{m['executable']}")
EOF
# The root library's unit tests built without failpoints: only the failpoint tests.
python3 - "$LOGS/build-default.json" >>"$LOGS/binaries.tsv" <<'EOF'
import json, os, sys
for line in open(sys.argv[1]):
    try:
        m = json.loads(line)
    except ValueError:
        continue
    if (m.get("reason") == "compiler-artifact" and m.get("executable")
            and m["target"]["kind"][0] == "lib"
            and os.path.dirname(m["manifest_path"]) == os.getcwd()):
        print(f"mesos-operator-lib-default\t{os.getcwd()}\t{m['executable']}\tfailpoint::")
        break
EOF

# The order to run in: the named ones first, in ORDER's order, then the rest.
ordered=()
for n in "${ORDER[@]}"; do
  grep -q "^$n"$'\t' "$LOGS/binaries.tsv" && ordered+=("$n")
done
while IFS=$'\t' read -r n _ _; do
  [[ " ${ordered[*]} " == *" $n "* ]] || ordered+=("$n")
done <"$LOGS/binaries.tsv"
if [ -n "${TEST_ONLY:-}" ]; then
  only=()
  for n in "${ordered[@]}"; do [[ " $TEST_ONLY " == *" $n "* ]] && only+=("$n"); done
  ordered=("${only[@]}")
fi

# Runs one binary from its package's directory, as cargo does; records its result.
run_one() {
  local name=$1 dir exe args start rc took
  IFS=$'\t' read -r _ dir exe args < <(grep "^$name"$'\t' "$LOGS/binaries.tsv")
  start=$(date +%s)
  echo "test: $name started"
  # shellcheck disable=SC2086 # the arguments are words
  (cd "$dir" && CARGO_MANIFEST_DIR="$dir" "$exe" $args) >"$LOGS/$name.log" 2>&1
  rc=$?
  took=$(($(date +%s) - start))
  echo "$rc $took" >"$LOGS/$name.result"
  if [ "$rc" = 0 ]; then
    echo "test: $name passed in ${took} s"
  else
    echo "test: $name FAILED (exit $rc) in ${took} s: $LOGS/$name.log"
  fi
}
export -f run_one
export LOGS

began=$(date +%s)
printf '%s\n' "${ordered[@]}" | xargs -P "$LANES" -I{} bash -c 'run_one "$@"' _ {}

echo "test: doc tests"
doc_rc=0
$CARGO test --workspace "${FAILPOINTS[@]}" --doc >"$LOGS/doctests.log" 2>&1 || doc_rc=$?

failed=()
printf '\n%-28s %8s  %s\n' BINARY SECONDS RESULT
for n in "${ordered[@]}"; do
  read -r rc took <"$LOGS/$n.result" 2>/dev/null || { rc=missing; took=-; }
  printf '%-28s %8s  %s\n' "$n" "$took" "$([ "$rc" = 0 ] && echo ok || echo "FAILED ($rc)")"
  [ "$rc" = 0 ] || failed+=("$n")
done
printf '%-28s %8s  %s\n' doctests - "$([ "$doc_rc" = 0 ] && echo ok || echo FAILED)"
[ "$doc_rc" = 0 ] || failed+=(doctests)
echo "test: all binaries in $(($(date +%s) - began)) s, $LANES at a time"

for n in "${failed[@]}"; do
  echo
  echo "==== $n: the last 200 lines of $LOGS/$n.log"
  tail -n 200 "$LOGS/$n.log"
done
[ ${#failed[@]} = 0 ]
