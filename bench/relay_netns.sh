#!/usr/bin/env bash
# Cost of relaying: iperf3 TCP (1 stream) from a to c through relay b, against a to c directly, in the same run
# and the same namespaces. Each run measures both in turn: the line (graph a, b / b, c: b forwards inside nylon),
# then the direct pair (graph a, c: a and c are neighbours over their own veth, b stays idle), each with freshly
# started nodes, so load from elsewhere on the machine hits both alike. The figures are medians over the runs.
#
#   ns a  198.19.0.1 ===== edge 1 198.18.1.0/24 ===== ns b  198.19.0.2 ===== edge 2 198.18.2.0/24 ===== ns c
#     \                                                                                      198.19.0.3 /
#      ======================================= edge 3 198.18.3.0/24 ===============================
#   relay phase: central.yaml graph `a, b`, `b, c` (edge 3 unused); direct phase: graph `a, c` (b not running).
#   iperf3 -s in c, iperf3 -c 198.19.0.3 in a.
#
# One line per run and phase, then: relay Gbit/s, direct Gbit/s, and the ratio relay / direct (medians). The relay
# runs three nylon processes on this machine against two for the direct pair: on a small machine the ratio
# includes that CPU contention as well as the extra decrypt/encrypt at b.
#
# Usage: sudo bench/relay_netns.sh [--seconds N] [--runs R] [--nylon-args "ARGS"] [--build-dir DIR]
#   --nylon-args is passed to every `nylon run`, e.g. "--io epoll".
# Needs root, /dev/net/tun, iperf3, ping and python3 (exit 77 without). Removes everything it made.
set -eu -o pipefail

top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
seconds=5
runs=3
converge=30
NYB_FLAGS=(seconds runs)
source "$top/bench/lib_bench.sh" "$@"
[[ "$seconds" =~ ^[1-9][0-9]*$ && "$runs" =~ ^[1-9][0-9]*$ ]] ||
	{ echo "relay_netns: --seconds and --runs take positive integers" >&2; exit 2; }

source "$top/test/netns/lib_mesh.sh" # and lib.sh, lib_nylon.sh

nym_setup_or_skip iperf3

nym_init >&2
nym_topology_line
nym_edge a c
c4=$(nym_addr4 c)

ny_bg "$(nym_ns c)" iperf3 -s </dev/null >"$NYN_TMP/iperf3-server.log" 2>&1
server_listening() {
	[[ -n "$(ip netns exec "$(nym_ns c)" ss -Hltn 'sport = :5201')" ]]
}

# measure PHASE RUN: one iperf3 run a -> c; prints Gbit/s received.
measure() {
	local phase=$1 run=$2 json=$NYN_TMP/$1.$2.json rc=0 gbps
	ip netns exec "$(nym_ns a)" timeout $((seconds + 20)) iperf3 -c "$c4" -t "$seconds" -P 1 -J \
		</dev/null >"$json" 2>"$json.err" || rc=$?
	gbps=$(python3 - "$json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
if "error" in d:
    sys.exit("iperf3: " + d["error"])
print("%.3f" % (d["end"]["sum_received"]["bits_per_second"] / 1e9))
PY
	) || nym_fail "$phase run $run: iperf3 failed (status $rc): $(head -c 600 "$json") $(head -c 300 "$json.err")"
	printf '%s\n' "$gbps"
}

# phase NAME RUN GRAPH_PAIR...: configs for that graph, its routers started, a -> c reachable, one measurement,
# routers stopped. Prints the figure line; appends "NAME gbps" to the results.
phase() {
	local name=$1 run=$2 gbps graph
	shift 2
	graph=$(printf '%s / ' "$@")
	nym_write_configs "$@" >&2
	if [[ "$name" == relay ]]; then nym_start a b c >&2; else nym_start a c >&2; fi
	ny_wait_for "$converge" nym_ping_once a "$c4" || nym_fail "$name run $run: a does not reach c within $converge s"
	ny_wait_for 5 server_listening || nym_fail "the iperf3 server is not listening: $(cat "$NYN_TMP/iperf3-server.log")"
	gbps=$(measure "$name" "$run")
	nym_stop_all >&2
	printf 'relay_netns run %d %-6s a -> c (graph %s): %s Gbit/s\n' "$run" "$name" "${graph% / }" "$gbps"
	echo "$name $gbps" >>"$NYN_TMP/results"
}

echo "relay_netns: $(uname -sr), $(nproc) CPUs, load at start:$(nyb_load)"
echo "relay_netns: iperf3 TCP 1 stream, $seconds s per measurement, $runs runs, medians; nylon args: '$nylon_args'"
: >"$NYN_TMP/results"
for ((run = 1; run <= runs; run++)); do
	phase relay "$run" "a, b" "b, c"
	phase direct "$run" "a, c"
done
python3 - "$NYN_TMP/results" <<'PY'
import statistics, sys
rows = [l.split() for l in open(sys.argv[1])]
med = {p: statistics.median(float(r[1]) for r in rows if r[0] == p) for p in ("relay", "direct")}
print("relay  a -> b -> c TCP 1 stream: %.3f Gbit/s (median)" % med["relay"])
print("direct a -> c      TCP 1 stream: %.3f Gbit/s (median)" % med["direct"])
print("relay / direct: %s" % ("%.2f" % (med["relay"] / med["direct"]) if med["direct"] else "-"))
PY
echo "relay_netns: load at end:$(nyb_load)"
