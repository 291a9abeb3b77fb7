#!/usr/bin/env bash
# The README's first command: install dependencies, build nylon, show its command line, then run a two-node nylon
# mesh in network namespaces (pings over IPv4 and IPv6, 3 s of iperf3 through the tunnel) and our WireGuard engine
# against a stock WireGuard peer (Debian's wireguard-go). Run as root on Debian 12. Everything it creates is
# removed when it exits, whichever way it exits; every wait is bounded.
#
# The mesh (test/netns/lib_nylon.sh, nyn_two_nodes):
#
#   ns alpha  ny-<pid>-alpha                              ns beta  ny-<pid>-beta
#   +-------------------------------------+               +-------------------------------------+
#   | nylon run (id alpha)                |               | nylon run (id beta)                 |
#   |   198.19.0.1, fd00::1               |   WireGuard   |   198.19.0.2, fd00::2               |
#   |   iperf3 client                     | <===========> |   iperf3 server                     |
#   |             veth0 198.18.0.1/24 ----+---------------+---- veth0 198.18.0.2/24             |
#   +-------------------------------------+               +-------------------------------------+
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
echo "== two nylon nodes in network namespaces"
export NY_BUILD_DIR=$build
# lib.sh installs the exit trap that stops every process and deletes every namespace made below.
source "$top/test/netns/lib.sh"
source "$top/test/netns/lib_nylon.sh"
ny_require_root_or_skip
nyn_require_tun_or_skip
nyn_init
nyn_two_nodes
echo "-- central.yaml (the same file on every node):"
sed 's/^/    /' "$NYN_CENTRAL"
echo "-- alpha's node.yaml:"
sed 's/^key: .*/key: <alpha'"'"'s private key>/; s/^/    /' "${NYN_NODE[alpha]}"
nyn_start alpha
nyn_start beta
echo "-- what nylon alpha configured in its namespace:"
ip -n "${NYN_NS[alpha]}" -br addr show dev "${NYN_IF[alpha]}" | sed 's/^/    /'
{
	ip -n "${NYN_NS[alpha]}" -4 route show dev "${NYN_IF[alpha]}"
	ip -n "${NYN_NS[alpha]}" -6 route show dev "${NYN_IF[alpha]}"
} | sed 's/^/    route /'
nyn_wait_ping alpha 198.19.0.2 10
nyn_wait_ping beta 198.19.0.1 5
nyn_wait_ping alpha fd00::2 5
nyn_wait_ping beta fd00::1 5

echo "-- iperf3, 3 s, alpha -> beta through the tunnel:"
ny_bg "${NYN_NS[beta]}" iperf3 -s -B 198.19.0.2 </dev/null >"$NYN_TMP/iperf3-server.log" 2>&1
iperf3_listening() {
	[[ -n "$(ip netns exec "${NYN_NS[beta]}" ss -Hltn 'sport = :5201')" ]]
}
ny_wait_for 5 iperf3_listening || nyn_fail "the iperf3 server did not start: $(cat "$NYN_TMP/iperf3-server.log")"
ip netns exec "${NYN_NS[alpha]}" timeout 20 iperf3 -c 198.19.0.2 -t 3 -f g | sed 's/^/    /' ||
	nyn_fail "iperf3 through the tunnel failed"

nyn_stop alpha
nyn_stop beta

echo
echo "== our WireGuard engine <-> wireguard-go, in network namespaces"
NY_VERBOSE=1 bash "$top/test/netns/wg_interop.sh"
echo
echo "== done: everything the demo created has been removed"
