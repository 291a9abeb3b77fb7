#!/usr/bin/env bash
# The README's first command: install dependencies, build nylon, show its command line, then run a three-node
# nylon mesh in a line in network namespaces: a reaches c only through b, which forwards inside the daemon (pings
# over IPv4 and IPv6, traceroute through the mesh, 3 s of iperf3 through the relay), then our WireGuard engine
# against a stock WireGuard peer (Debian's wireguard-go). Run as root on Debian 12. Everything it creates is
# removed when it exits, whichever way it exits; every wait is bounded.
#
# The mesh (test/netns/lib_mesh.sh, nym_topology_line): graph `a, b` and `b, c`, one veth per edge.
#
#   ns a                      ns b                       ns c
#   +------------------+      +-------------------+      +------------------+
#   | nylon (id a)     |      | nylon (id b)      |      | nylon (id c)     |
#   | 198.19.0.1       | <==> | 198.19.0.2        | <==> | 198.19.0.3       |
#   | fd00::1          |  wg  | fd00::2  (relay)  |  wg  | fd00::3          |
#   | iperf3 client    |      |                   |      | iperf3 server    |
#   +--- 198.18.1.1 ---+      +- .1.2 --- .2.1 ---+      +--- 198.18.2.2 ---+
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
build=${NY_DEMO_BUILD_DIR:-$top/build}

bash "$top/contrib/install-deps.sh"
cmake -S "$top" -B "$build" -DCMAKE_BUILD_TYPE=Release
cmake --build "$build" -j "$(nproc)"

echo
echo "== nylon --help"
"$build/src/nylon" --help
echo
echo "== a key pair (private on stdout, public on stderr)"
"$build/src/nylon" key

echo
echo "== three nylon nodes in a line, in network namespaces"
export NY_BUILD_DIR=$build
# lib.sh (sourced by lib_mesh.sh) installs the exit trap that stops every process and deletes every namespace made below.
source "$top/test/netns/lib_mesh.sh" # and lib.sh, lib_nylon.sh
nym_setup_or_skip traceroute iperf3
nym_init
nym_topology_line
nym_write_configs
# b answers Time Exceeded for traceroute: packets that expire in the mesh are handed to its kernel.
nym_forwarding b
echo "-- central.yaml (the same file on every node):"
sed 's/^/    /' "$NYN_CENTRAL"
echo "-- a's node.yaml:"
sed 's/^key: .*/key: <a'"'"'s private key>/; s/^/    /' "${NYN_NODE[a]}"
nym_start_all
a4=$(nym_addr4 a) c4=$(nym_addr4 c) a6=$(nym_addr6 a) c6=$(nym_addr6 c)
echo "-- a reaches c through b (the routes converge within seconds):"
nym_wait_ping a "$c4" 30
nym_wait_ping c "$a4" 10
nym_wait_ping a "$c6" 10
echo "-- the kernel routes nylon a installed (protocol 78, coalesced):"
{
	ip -n "${NYN_NS[a]}" -4 route show proto 78
	ip -n "${NYN_NS[a]}" -6 route show proto 78
} | sed 's/^/    route /'
echo "-- traceroute a -> c through the mesh:"
ip netns exec "${NYN_NS[a]}" timeout 15 traceroute -n -q 1 -w 1 -m 5 "$c4" | sed 's/^/    /'

echo "-- iperf3, 3 s, a -> c through the relay b:"
ny_bg "${NYN_NS[c]}" iperf3 -s -B "$c4" </dev/null >"$NYN_TMP/iperf3-server.log" 2>&1
iperf3_listening() {
	[[ -n "$(ip netns exec "${NYN_NS[c]}" ss -Hltn 'sport = :5201')" ]]
}
ny_wait_for 5 iperf3_listening || nym_fail "the iperf3 server did not start: $(cat "$NYN_TMP/iperf3-server.log")"
ip netns exec "${NYN_NS[a]}" timeout 20 iperf3 -c "$c4" -t 3 -f g | sed 's/^/    /' ||
	nym_fail "iperf3 through the mesh failed"
nym_stop_all

echo
echo "== our WireGuard engine <-> wireguard-go, in network namespaces"
NY_VERBOSE=1 bash "$top/test/netns/wg_interop.sh"
echo
echo "== done: everything the demo created has been removed"
