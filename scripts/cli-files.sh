#!/usr/bin/env bash
# Rewrites the files generated from the command line's definitions: the shell completions in
# ops/completions/ and the man pages in ops/man/ (tests/schema.rs fails while they are
# stale). usage: cli-files.sh [path of a built mesos-operator]
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${1:-${CARGO_TARGET_DIR:-target}/debug/mesos-operator}
mkdir -p ops/completions ops/man
"$bin" completions bash >ops/completions/mesos-operator.bash
"$bin" completions zsh >ops/completions/_mesos-operator
"$bin" completions fish >ops/completions/mesos-operator.fish
# A page of a command that is gone must go too.
rm -f ops/man/*.1
"$bin" man-pages ops/man
echo "cli-files: $(ls ops/completions | wc -l) completion scripts, $(ls ops/man | wc -l) man pages"
