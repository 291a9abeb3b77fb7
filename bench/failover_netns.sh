#!/usr/bin/env bash
# Failover time of the mesh: the five-node topology of test/netns/route_failover.sh (two disjoint paths between
# alice and charlie: through bob, through vps), default timers. Each run starts the five nodes afresh, waits
# until alice reaches charlie and --settle seconds have passed since the start (link metrics are a 1 s placeholder
# until 15 probe samples, reference §3.4: a cut before that would time route changes caused by the metrics
# settling, not by the cut), finds the relay alice -> charlie uses (traceroute), cuts alice's link to it at both
# ends, and pings charlie from alice every 100 ms (bounded) until the first reply: the figure is the time from the
# cut to that reply (ping's receive timestamp). Then the link is restored and the nodes are stopped (the clean
# shutdown checks apply).
#
#                 bob (2)
#               /         \          every edge is its own veth pair with its own /24 in 198.18.0.0/15;
#   alice (1)                 charlie (3)     tunnel addresses 198.19.0.<n>, fd00::<n>
#               \         /
#                 vps (5) -- eve (4)
#
# Target (the routing issue): under 6 s, i.e. a link dead after 5 s without probe replies (reference §3.3) plus
# the recompute. One line per run, then the median, the minimum and the maximum; a run that does not fail over
# within --bound seconds ends the benchmark with the node logs.
#
# Usage: sudo bench/failover_netns.sh [--runs N] [--bound S] [--settle S] [--nylon-args "ARGS"] [--build-dir DIR]
#   --nylon-args is passed to every `nylon run`, e.g. "--io epoll".
# Needs root, /dev/net/tun, ping, traceroute and python3 (exit 77 without). Removes everything it made.
set -eu -o pipefail

top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
runs=5
bound=20
settle=25
converge=45
NYB_FLAGS=(runs bound settle)
source "$top/bench/lib_bench.sh" "$@"
[[ "$runs" =~ ^[1-9][0-9]*$ && "$bound" =~ ^[1-9][0-9]*$ && "$settle" =~ ^[0-9]+$ ]] ||
	{ echo "failover_netns: --runs and --bound take positive integers, --settle a whole number" >&2; exit 2; }

source "$top/test/netns/lib_mesh.sh" # and lib.sh, lib_nylon.sh

nym_setup_or_skip traceroute

nym_init >&2
nym_topology_five
nym_write_configs >&2
nym_forwarding bob
nym_forwarding vps
alice4=$(nym_addr4 alice) charlie4=$(nym_addr4 charlie)

echo "failover_netns: $(uname -sr), $(nproc) CPUs, load at start:$(nyb_load)"
echo "failover_netns: $runs runs, cut $settle s after start, ping every 100 ms for at most $bound s after the cut;" \
	"nylon args: '$nylon_args'"

figures=()
for ((run = 1; run <= runs; run++)); do
	started=$(date +%s)
	nym_start_all >&2
	ny_wait_for "$converge" nym_ping_once alice "$charlie4" ||
		nym_fail "run $run: alice does not reach charlie within $converge s of starting"
	wait_s=$((started + settle - $(date +%s)))
	((wait_s <= 0)) || sleep "$wait_s"
	relay=$(nym_relay alice "$charlie4" 10)
	[[ "$relay" == bob || "$relay" == vps ]] || nym_fail "run $run: alice -> charlie goes through '$relay'"
	ms=$(nym_failover_ms alice "$charlie4" alice "$relay" "$bound")
	figures+=("$ms")
	printf 'failover run %d: cut alice-%s, first echo reply over the other relay after %d ms\n' "$run" "$relay" "$ms"
	nym_heal alice "$relay"
	nym_stop_all >&2
done

printf '%s\n' "${figures[@]}" | sort -n | awk '
	{ v[NR] = $1 }
	END {
		med = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
		printf "failover median %d ms over %d runs (min %d, max %d); target < 6000 ms: %s\n",
			med, NR, v[1], v[NR], med < 6000 ? "met" : "NOT met"
	}'
echo "failover_netns: load at end:$(nyb_load)"
