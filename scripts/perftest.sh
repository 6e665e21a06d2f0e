#!/usr/bin/env bash
# perftest.sh TEST NODES [kplane test flags...]
#
# One command for a documented scalability run: builds kplane, starts
# `kplane up` on a fresh data dir and a free port, runs
# `kplane test TEST --create-nodes NODES` against it (the hollow nodes run in
# the test process; the control plane's own CPU and memory are sampled
# through --pids), writes the report to perf-results/TEST-NODES/ and stops
# the control plane. Extra arguments go to `kplane test`.
#
#   scripts/perftest.sh density 1000
#   scripts/perftest.sh load 100 --qps 50
set -euo pipefail

test=${1:?usage: perftest.sh density|load NODES [flags]}
nodes=${2:?usage: perftest.sh density|load NODES [flags]}
shift 2
root=$(cd "$(dirname "$0")/.." && pwd)
out=${REPORT_DIR:-$root/perf-results/$test-$nodes}
work=$(mktemp -d)
trap 'kill "$up_pid" 2>/dev/null || true; wait "$up_pid" 2>/dev/null || true; rm -rf "$work"' EXIT

go build -C "$root" -o "$work/kplane" ./cmd/kplane
"$work/kplane" up --data-dir "$work/data" --port 0 >"$work/up.log" 2>&1 &
up_pid=$!
for _ in $(seq 1 300); do
	grep -q '^kubeconfig: ' "$work/up.log" && break
	kill -0 "$up_pid" 2>/dev/null || { cat "$work/up.log"; exit 1; }
	sleep 0.2
done
kubeconfig=$(sed -n 's/^kubeconfig: //p' "$work/up.log")
[ -n "$kubeconfig" ] || { echo "kplane up did not start"; cat "$work/up.log"; exit 1; }

rm -rf "$out"
"$work/kplane" test "$test" --kubeconfig "$kubeconfig" --create-nodes "$nodes" \
	--pids "$up_pid" --pprof --report-dir "$out" "$@"
