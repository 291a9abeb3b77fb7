#!/usr/bin/env bash
# Passive roaming of a stock WireGuard client between two gateways (reference §6.1 TestPassiveRoaming, §3.6):
# the client (Debian's wireguard-go, configured by wg(8)) is a passive client of r1 and r2; r3 is a neighbour of
# both gateways but not of the client.
#   - with r1 as its only peer, the client reaches r3 through r1 and r3 reaches the client (traceroute from r3
#     shows r1 at hop 1), over IPv4 and IPv6;
#   - the client drops r1 and takes r2 (another key, another link); within ROAM_TIMEOUT seconds it reaches r3
#     again, r3 reaches it, and traceroute from r3 shows r2 at hop 1: r2 advertises the client, r1 lets its
#     advertisement go. The time to the first echo after the switch is printed;
#   - the routers shut down cleanly (exit 0, interface, addresses and protocol-78 routes gone).
#
#   ns r1 (1), forwarding=1 ===== edge 1 198.18.1.0/24 ===== ns r3 (3)
#   198.19.0.1, fd00::1                                      198.19.0.3, fd00::3
#        \ edge 3 198.18.3.0/24                             /
#   ns phone (9)                                           / edge 2 198.18.2.0/24
#   wireguard-go ny<pid>w9 198.19.0.9, fd00::9            /
#        / edge 4 198.18.4.0/24                          /
#   ns r2 (2), forwarding=1 ============================
#   198.19.0.2, fd00::2
#
#   central.yaml: routers r1, r2, r3 (one endpoint per edge); clients [phone]; graph r1, r3 / r2, r3 /
#   r1, phone / r2, phone. The client's peer: first r1 at 198.18.3.1:57175, then r2 at 198.18.4.1:57175;
#   allowed-ips and routes 198.19.0.0/24, fd00::/64; no keepalive.
#
# Extra `nylon run` flags come from NY_NYLON_ARGS.
# Run alone: `ctest -R netns.route_client_roam` or `NY_BUILD_DIR=<build> bash test/netns/route_client_roam.sh`.
# Needs root, /dev/net/tun, wireguard-go, wg, ping, traceroute and python3; skips (77) without.
set -eu -o pipefail

here=$(dirname "${BASH_SOURCE[0]}")
source "$here/lib_mesh.sh"

nym_setup_or_skip traceroute wireguard-go wg

readonly CONVERGE_TIMEOUT=30 # seconds for the client's first echo from r3 through r1
readonly ROAM_TIMEOUT=20     # seconds from the switch to r2 to the first echo from r3

nym_init
nym_router r1 1
nym_router r2 2
nym_router r3 3
nym_client phone 9
nym_edge r1 r3
nym_edge r2 r3
nym_edge r1 phone
nym_edge r2 phone
nym_write_configs
# The gateways answer traceroute's expired probes (see nym_forwarding).
nym_forwarding r1
nym_forwarding r2
nym_start_all
nym_client_start phone r1

phone4=$(nym_addr4 phone) r3_4=$(nym_addr4 r3)
# The client talks first: its handshake tells r1 where it is, and r1 starts advertising it.
nym_wait_ping phone "$(nym_addr4 r1)" 10
nym_wait_ping phone "$r3_4" "$CONVERGE_TIMEOUT"
nym_wait_ping r3 "$phone4" 10
nym_wait_ping phone "$(nym_addr6 r3)" 10
nym_wait_hops r3 "$phone4" "$(nym_addr4 r1) $phone4" 10

nym_client_roam phone r1 r2
t0=$(date +%s%N)
ny_wait_for "$ROAM_TIMEOUT" nym_ping_once phone "$r3_4" ||
	nym_fail "after roaming to r2, the client got no echo reply from r3 ($r3_4) within $ROAM_TIMEOUT s"
ms=$((($(date +%s%N) - t0) / 1000000))
ny_log "roaming: first echo reply client -> r3 through r2 $ms ms after the switch"
echo "route_client_roam: roaming time $ms ms (bound ${ROAM_TIMEOUT} s)"
nym_wait_ping phone "$r3_4" 5
nym_wait_ping r3 "$phone4" 5
nym_wait_ping phone "$(nym_addr6 r3)" 5
nym_wait_ping r3 "$(nym_addr6 phone)" 5
nym_wait_hops r3 "$phone4" "$(nym_addr4 r2) $phone4" 10

nym_stop_all
nym_client_stop phone
ny_log "passed"
