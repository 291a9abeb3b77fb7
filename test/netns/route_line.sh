#!/usr/bin/env bash
# Multi-hop forwarding in a line of three routers (reference §6.1 TestConnectivity, §6.2 TestInProcessRouting and
# TestTTL): a and c are not neighbours, b forwards their traffic inside nylon.
#   - a reaches c and c reaches a, over IPv4 and IPv6 tunnel addresses (bounded wait for convergence);
#   - a's kernel has a protocol-78 route via its interface covering c's addresses (coalesced or not, §2.4);
#   - traceroute a -> c shows b's tunnel address at hop 1 and c at hop 2 (IPv4 and IPv6);
#   - TTL/hop limit 1 a -> c: b decrements it to 0 and hands the packet to its kernel, which answers Time
#     Exceeded from b's address; c never answers (§4.1);
#   - every node shuts down cleanly (exit 0, interface, addresses and protocol-78 routes gone).
#
#   ns a  ny-<pid>-a                 ns b  ny-<pid>-b                 ns c  ny-<pid>-c
#   +---------------------------+    +---------------------------+    +---------------------------+
#   | nylon (id a)              |    | nylon (id b)  forwarding=1|    | nylon (id c)              |
#   |  ny<pid>m1 198.19.0.1     |    |  ny<pid>m2 198.19.0.2     |    |  ny<pid>m3 198.19.0.3     |
#   |            fd00::1        |    |            fd00::2        |    |            fd00::3        |
#   |  ul-b 198.18.1.1/24 ------+----+-- ul-a 198.18.1.2/24      |    |                           |
#   |                           |    |   ul-c 198.18.2.1/24 -----+----+-- ul-b 198.18.2.2/24      |
#   +---------------------------+    +---------------------------+    +---------------------------+
#   central.yaml graph: `a, b`, `b, c`; b's endpoints: 198.18.1.2:57175 and 198.18.2.1:57175 (one per link).
#
# Extra `nylon run` flags come from NY_NYLON_ARGS (route_line_epoll.sh sets "--io epoll").
# Run alone: `ctest -R netns.route_line` or `NY_BUILD_DIR=<build> bash test/netns/route_line.sh`.
# Needs root, /dev/net/tun, ping, traceroute and python3; skips (77) without.
set -eu -o pipefail

here=$(dirname "${BASH_SOURCE[0]}")
source "$here/lib_mesh.sh"

nym_setup_or_skip traceroute

readonly CONVERGE_TIMEOUT=30 # seconds for a first echo over two hops (updates every 5 s, reference §3.8)

nym_init
nym_topology_line
nym_write_configs
nym_forwarding b
nym_start_all

a4=$(nym_addr4 a) b4=$(nym_addr4 b) c4=$(nym_addr4 c)
a6=$(nym_addr6 a) b6=$(nym_addr6 b) c6=$(nym_addr6 c)

# Neighbours first (they need no routing), then the two-hop paths both ways.
nym_wait_ping a "$b4" 10
nym_wait_ping c "$b4" 10
nym_wait_ping a "$c4" "$CONVERGE_TIMEOUT"
nym_wait_ping c "$a4" 10
nym_wait_ping a "$c6" 10
nym_wait_ping c "$a6" 10

for addr in "$c4" "$c6"; do
	covering=$(nym_route_covers a "$addr") ||
		nym_fail "a has no route of protocol $NYM_ROUTE_PROTO via ${NYN_IF[a]} covering $addr"
	ny_log "a: $addr is routed via ${NYN_IF[a]} by $covering"
done
covering=$(nym_route_covers c "$a4") || nym_fail "c has no route of protocol $NYM_ROUTE_PROTO covering $a4"

nym_wait_hops a "$c4" "$b4 $c4" 10
nym_wait_hops a "$c6" "$b6 $c6" 10

# TTL 1 (IPv4) and hop limit 1 (IPv6): Time Exceeded from b, no echo reply from c. One probe a second, three
# at most, as the first may race a rekey; none may ever be answered by c.
ttl_expires_at_b() {
	local dst=$1 from=$2 out i
	for ((i = 1; i <= 3; i++)); do
		out=$(ip netns exec "${NYN_NS[a]}" ping -n -c 1 -t 1 -W 1 "$dst" 2>&1) || true
		grep -q "bytes from $dst" <<<"$out" &&
			nym_fail "ping -t 1 a -> $dst was answered by $dst: the TTL was not decremented on b: $out"
		if grep -q "^From $from .*\(Time to live exceeded\|Time exceeded\)" <<<"$out"; then
			ny_log "ping -t 1 a -> $dst: $(grep "^From" <<<"$out")"
			return 0
		fi
		sleep 1
	done
	nym_fail "ping -t 1 a -> $dst: no Time Exceeded from $from in 3 tries; last output: $out"
}
ttl_expires_at_b "$c4" "$b4"
ttl_expires_at_b "$c6" "$b6"

nym_stop_all
ny_log "passed"
