#!/usr/bin/env bash
# Tunnel throughput and cost: iperf3 through two nylon nodes against two Debian wireguard-go nodes, in the same
# run, in the same namespaces. Both tunnels are measured in turn within each run (nylon, then wireguard-go),
# so load from elsewhere on the machine hits both alike; the figures are medians over the runs.
#
#   ns alpha  ny-<pid>-alpha                                ns beta  ny-<pid>-beta
#   +--------------------------------------+                +--------------------------------------+
#   | iperf3 client                        |                | iperf3 server                        |
#   | tunnel: nylon (ny<pid>a, 198.19.0.1) |   WireGuard    | tunnel: nylon (ny<pid>b, 198.19.0.2) |
#   |     or wireguard-go (ny<pid>wa,      | <============> |     or wireguard-go (ny<pid>wb,      |
#   |        198.19.0.1/24, MTU 1420)      |                |        198.19.0.2/24, MTU 1420)      |
#   |         veth0 198.18.0.1/24 MTU 1500 +----------------+ veth0 198.18.0.2/24 MTU 1500         |
#   +--------------------------------------+                +--------------------------------------+
#
# Tests (each --seconds long, repeated --runs times): TCP 1 stream and 4 streams, alpha -> beta and with -R
# beta -> alpha; UDP paced at 1 Gbit/s with 1392-byte datagrams (fits the 1420 MTU), both ways. Each run starts
# with one TCP stream over the veth alone, no tunnel, whose median comes first: the kernel's speed on this machine.
# One line per figure, each with the ratio nylon / wireguard-go:
#   Gbit/s (TCP: received; UDP: sent rate x (1 - loss)), the tunnel processes' CPU seconds during the test
#   (utime + stime of both ends, from /proc/<pid>/stat), Gbit per tunnel CPU-second (the figure that travels
#   between machines, as in the team's perf anchors), TCP retransmits, and VmRSS of both ends idle and under load.
#
# Usage: sudo bench/iperf_netns.sh [--seconds N] [--runs R] [--tests "T ..."] [--cc CC] [--nylon-args A] [--build-dir D]
#   --nylon-args is passed to both `nylon run`s, e.g. "--io epoll" or "--aead sodium --no-offload".
#   --tests picks some of tcp1 tcp1-R tcp4 tcp4-R udp udp-R (default: all), e.g. "tcp1 tcp1-R" for quick A/B runs.
#   --cc sets iperf3's TCP congestion control (-C CC) for both tunnels, e.g. cubic; default: the system's, which the
#   first line names. It matters for the CPU figures: BBR paces with an hrtimer per burst when the qdisc is not fq,
#   and the TCP sending done in those timers' softirqs is charged to whatever task they interrupt, often a tunnel.
# Needs root, /dev/net/tun, iperf3, wireguard-go, wg and python3 (exit 77 without). Removes everything it made.
set -eu -o pipefail

top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
seconds=5
runs=3
tests="tcp1 tcp1-R tcp4 tcp4-R udp udp-R"
cc=""
NYB_FLAGS=(seconds runs tests cc)
source "$top/bench/lib_bench.sh" "$@"
[[ "$seconds" =~ ^[1-9][0-9]*$ && "$runs" =~ ^[1-9][0-9]*$ ]] || { echo "iperf_netns: --seconds and --runs take positive integers" >&2; exit 2; }
for t in $tests; do
	[[ " tcp1 tcp1-R tcp4 tcp4-R udp udp-R " == *" $t "* ]] || { echo "iperf_netns: unknown test '$t' in --tests" >&2; exit 2; }
done

if [[ -n "$cc" ]] && { [[ ! "$cc" =~ ^[a-z0-9_]+$ ]] ||
	{ ! grep -qw -- "$cc" /proc/sys/net/ipv4/tcp_available_congestion_control &&
		! modprobe -q "tcp_$cc" 2>/dev/null; }; }; then
	echo "iperf_netns: --cc '$cc' is not a TCP congestion control this kernel has (available:" \
		"$(cat /proc/sys/net/ipv4/tcp_available_congestion_control))" >&2
	exit 2
fi

source "$top/test/netns/lib.sh"
source "$top/test/netns/lib_nylon.sh"

ny_require_root_or_skip
ny_require_cmd iperf3 wireguard-go wg python3
nyn_require_tun_or_skip

readonly WG_PORT=51820
readonly CLK_TCK=$(getconf CLK_TCK)
read -r -a TESTS <<<"$tests"
readonly -a TESTS
cc_arg=${cc:+-C $cc}
declare -A TEST_ARGS=(
	[tcp1]="-P 1 $cc_arg" [tcp1-R]="-P 1 -R $cc_arg" [tcp4]="-P 4 $cc_arg" [tcp4-R]="-P 4 -R $cc_arg"
	[udp]="-u -b 1G -l 1392" [udp-R]="-u -b 1G -l 1392 -R"
)

nyn_init
nyn_two_nodes
a=${NYN_NS[alpha]}
b=${NYN_NS[beta]}
results=$NYN_TMP/results # lines: tunnel test run gbps cpu_s retransmits rss_kib gbit_moved udp_loss_percent
: >"$results"

# wireguard-go ends: keys, interface names (its control socket path is global, so unique to this run).
(umask 077 && wg genkey >"$NYN_TMP/wga.key" && wg genkey >"$NYN_TMP/wgb.key")
wga_if=$(ny_ifname wa)
wgb_if=$(ny_ifname wb)
ny_cleanup_add "rm -f /var/run/wireguard/$wga_if.sock /var/run/wireguard/$wgb_if.sock"

ny_bg "$b" iperf3 -s </dev/null >"$NYN_TMP/iperf3-server.log" 2>&1
server_listening() {
	[[ -n "$(ip netns exec "$b" ss -Hltn 'sport = :5201')" ]]
}
ny_wait_for 5 server_listening || ny_fail "the iperf3 server did not start: $(cat "$NYN_TMP/iperf3-server.log")"

tunnel_pids=()

# cpu_ticks: utime + stime of the tunnel processes, in clock ticks (fields 14 and 15 of /proc/<pid>/stat; the
# command name is skipped first, as it may contain spaces).
cpu_ticks() {
	local pid total=0 fields
	for pid in "${tunnel_pids[@]}"; do
		fields=$(sed 's/^.*) //' "/proc/$pid/stat")
		total=$((total + $(awk '{ print $12 + $13 }' <<<"$fields")))
	done
	echo "$total"
}

rss_kib() {
	local pid total=0
	for pid in "${tunnel_pids[@]}"; do
		total=$((total + $(awk '/^VmRSS:/ { print $2 }' "/proc/$pid/status")))
	done
	echo "$total"
}

ping_once() {
	ip netns exec "$a" ping -n -q -c 1 -W 1 198.19.0.2
}

nylon_up() {
	# shellcheck disable=SC2086 # the pass-through flags are split on purpose
	nyn_start alpha $nylon_args
	# shellcheck disable=SC2086
	nyn_start beta $nylon_args
	tunnel_pids=("${NYN_PID[alpha]}" "${NYN_PID[beta]}")
}

nylon_down() {
	nyn_stop alpha >/dev/null
	nyn_stop beta >/dev/null
}

# wg_end NS IFNAME KEY ADDRESS PEER_KEY PEER_UNDERLAY: one wireguard-go end, up and configured; pid appended.
wg_end() {
	local ns=$1 ifname=$2
	ny_bg "$ns" env WG_PROCESS_FOREGROUND=1 wireguard-go -f "$ifname" </dev/null >>"$NYN_TMP/$ifname.log" 2>&1
	tunnel_pids+=("$NY_BG_PID")
	ny_wait_for 5 test -S "/var/run/wireguard/$ifname.sock" || ny_fail "wireguard-go $ifname did not start"
	ip -n "$ns" link set "$ifname" mtu 1420
	ip -n "$ns" addr add "$4/24" dev "$ifname"
	ip -n "$ns" link set "$ifname" up
	ip netns exec "$ns" wg set "$ifname" private-key "$3" listen-port "$WG_PORT" \
		peer "$(wg pubkey <"$5")" endpoint "$6:$WG_PORT" allowed-ips 198.19.0.0/24
}

wg_up() {
	tunnel_pids=()
	wg_end "$a" "$wga_if" "$NYN_TMP/wga.key" 198.19.0.1 "$NYN_TMP/wgb.key" 198.18.0.2
	wg_end "$b" "$wgb_if" "$NYN_TMP/wgb.key" 198.19.0.2 "$NYN_TMP/wga.key" 198.18.0.1
}

wg_down() {
	local pid
	for pid in "${tunnel_pids[@]}"; do
		ny_pid_stop "$pid" 5 || true
	done
	ny_wait_for 5 eval "! ip -n '$a' link show '$wga_if' && ! ip -n '$b' link show '$wgb_if'" ||
		ny_fail "wireguard-go's interfaces are still there after it exited"
}

# iperf_summary JSON: "Gbit/s retransmits Gbit-moved loss%" of one `iperf3 -J` run (TCP: what was received; UDP:
# what arrived); fails on iperf3's error or a file that is not its JSON.
iperf_summary() {
	python3 - "$1" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
if "error" in d:
    sys.exit("iperf3: " + d["error"])
end = d["end"]
if "sum_received" in end:                         # TCP
    gbps = end["sum_received"]["bits_per_second"] / 1e9
    gbit = end["sum_received"]["bytes"] * 8 / 1e9
    retr, loss = end.get("sum_sent", {}).get("retransmits", 0), 0.0
else:                                             # UDP: what arrived
    s = end["sum"]
    loss = s.get("lost_percent", 0.0)
    gbps = s["bits_per_second"] * (1 - loss / 100) / 1e9
    gbit = s["bytes"] * 8 * (1 - loss / 100) / 1e9
    retr = 0
print("%.4f %d %.4f %.2f" % (gbps, retr, gbit, loss))
PY
}

# measure TUNNEL TEST RUN: one iperf3 client run, with the tunnel's CPU time around it and its RSS halfway.
measure() {
	local tunnel=$1 test=$2 run=$3 json=$NYN_TMP/$1.$2.$3.json cpu0 cpu1 rss client rc=0 line
	cpu0=$(cpu_ticks)
	# shellcheck disable=SC2086 # TEST_ARGS holds several flags
	ip netns exec "$a" timeout $((seconds + 20)) iperf3 -c 198.19.0.2 -t "$seconds" -J ${TEST_ARGS[$test]} \
		</dev/null >"$json" 2>"$json.err" &
	client=$!
	sleep "$(awk -v s="$seconds" 'BEGIN { print s / 2 + 0.5 }')"
	rss=$(rss_kib)
	wait "$client" || rc=$?
	cpu1=$(cpu_ticks)
	line=$(iperf_summary "$json") ||
		ny_fail "$tunnel $test run $run: iperf3 failed (status $rc): $(head -c 600 "$json") $(head -c 300 "$json.err")"
	read -r gbps retr gbit loss <<<"$line"
	echo "$tunnel $test $run $gbps $(awk -v t=$((cpu1 - cpu0)) -v hz="$CLK_TCK" 'BEGIN { printf "%.2f", t / hz }')" \
		"$retr $rss $gbit $loss" >>"$results"
	ny_log "$tunnel $test run $run: $(tail -n 1 "$results" |
		awk '{ printf "%s Gbit/s, %s CPU-s, %s retransmits, %s%% UDP loss, RSS %s KiB", $4, $5, $6, $9, $7 }')" >&2
}

# measure_raw RUN: one TCP stream over the veth itself, no tunnel: what this machine's kernel does, to compare
# machines by (the team's perf anchors measured 19.9 Gbit/s with about 80 k retransmits in 10 s, which is how BBR
# behaves here; cubic has next to none, and its figure here is much higher).
measure_raw() {
	local json=$NYN_TMP/raw.$1.json rc=0 line gbps retr
	# shellcheck disable=SC2086 # cc_arg holds a flag and its value, or nothing
	ip netns exec "$a" timeout $((seconds + 20)) iperf3 -c 198.18.0.2 -t "$seconds" -J -P 1 $cc_arg \
		</dev/null >"$json" 2>"$json.err" || rc=$?
	line=$(iperf_summary "$json") ||
		ny_fail "raw veth run $1: iperf3 failed (status $rc): $(head -c 600 "$json") $(head -c 300 "$json.err")"
	read -r gbps retr _ <<<"$line"
	echo "$gbps $retr" >>"$NYN_TMP/raw"
	ny_log "raw veth tcp1 run $1: $gbps Gbit/s, $retr retransmits" >&2
}

echo "iperf_netns: $(uname -sr), $(nproc) CPUs, load at start:$(nyb_load)"
echo "iperf_netns: $seconds s per test, $runs runs, medians; nylon args: '${nylon_args}'; wireguard-go $(wireguard-go --version 2>/dev/null | head -n 1 | awk '{ print $NF }')"
if [[ -n "$cc" ]]; then
	echo "iperf_netns: TCP congestion control: $cc (--cc)"
else
	echo "iperf_netns: TCP congestion control: $(ip netns exec "$a" sysctl -n net.ipv4.tcp_congestion_control)" \
		"(the system's default; --cc to choose)"
fi

idle_nylon=0 idle_wg=0
: >"$NYN_TMP/raw"
for ((run = 1; run <= runs; run++)); do
	measure_raw "$run"
	for tunnel in nylon wireguard-go; do
		if [[ "$tunnel" == nylon ]]; then nylon_up >&2; else wg_up; fi
		ny_wait_for 10 ping_once || ny_fail "$tunnel: no echo reply through the tunnel within 10 s"
		if ((run == 1)); then
			sleep 1
			if [[ "$tunnel" == nylon ]]; then idle_nylon=$(rss_kib); else idle_wg=$(rss_kib); fi
		fi
		for test in "${TESTS[@]}"; do
			measure "$tunnel" "$test" "$run"
		done
		if [[ "$tunnel" == nylon ]]; then nylon_down; else wg_down; fi
	done
done
echo "iperf_netns: load at end:$(nyb_load)"

python3 - "$results" "$idle_nylon" "$idle_wg" "$seconds" "$NYN_TMP/raw" <<'PY'
import statistics, sys
rows = [l.split() for l in open(sys.argv[1])]
raw = [l.split() for l in open(sys.argv[5])]
print("%-34s %.2f Gbit/s, %.0f retransmits (no tunnel: this machine's kernel; the perf anchors' machine did 19.9"
      " Gbit/s with about 80 k retransmits in 10 s)" % ("raw veth, tcp1", statistics.median(float(r[0]) for r in raw),
                                                     statistics.median(float(r[1]) for r in raw)))
idle = {"nylon": int(sys.argv[2]), "wireguard-go": int(sys.argv[3])}
seconds = float(sys.argv[4])
tests = list(dict.fromkeys(r[1] for r in rows))

def med(tunnel, test, f):
    return statistics.median(f(r) for r in rows if r[0] == tunnel and r[1] == test)

def line(name, unit, n, w, fmt="%.2f"):
    ratio = "%.2f" % (n / w) if w else "-"
    u = " " + unit if unit and unit != "%" else unit
    print(("%-34s nylon " + fmt + "%s, wireguard-go " + fmt + "%s, nylon/wireguard-go %s") % (name, n, u, w, u, ratio))

for t in tests:
    g = lambda tun: med(tun, t, lambda r: float(r[3]))
    c = lambda tun: med(tun, t, lambda r: float(r[4]))
    # Gbit that arrived per CPU-second of both tunnel processes, per run, then the median. The CPU time spans
    # the whole iperf3 run (connection set-up included), so does the Gbit count (iperf3's own totals).
    eff = lambda tun: med(tun, t, lambda r: float(r[7]) / float(r[4]) if float(r[4]) else 0.0)
    line("%s throughput" % t, "Gbit/s", g("nylon"), g("wireguard-go"))
    line("%s tunnel CPU" % t, "CPU-s", c("nylon"), c("wireguard-go"))
    line("%s Gbit per tunnel CPU-s" % t, "Gbit/CPU-s", eff("nylon"), eff("wireguard-go"))
    if t.startswith("tcp"):
        r = lambda tun: med(tun, t, lambda r: float(r[5]))
        line("%s TCP retransmits" % t, "", r("nylon"), r("wireguard-go"), "%.0f")
    else:
        l = lambda tun: med(tun, t, lambda r: float(r[8]))
        line("%s UDP loss" % t, "%", l("nylon"), l("wireguard-go"))
load = {tun: max(int(r[6]) for r in rows if r[0] == tun) for tun in idle}
line("RSS idle (both ends)", "KiB", idle["nylon"], idle["wireguard-go"], "%d")
line("RSS under load (both ends, max)", "KiB", load["nylon"], load["wireguard-go"], "%d")
PY
