#!/usr/bin/env bash
# Link-failure reroute (reference §6.1 TestRecoveryExample): five routers, two disjoint paths between alice and
# charlie. After convergence every router reaches every other; traceroute shows which relay alice -> charlie
# uses; that path's first link is cut at both ends; echoes alice -> charlie must resume over the other relay
# within FAILOVER_BOUND seconds (a link is dead after 5 s without probe replies, §3.3; expected < 6 s), the
# measured time is printed, traceroute then shows the other relay, and charlie reaches alice back. Every node
# shuts down cleanly (exit 0, interface, addresses and protocol-78 routes gone).
#
#                        ns bob (2), forwarding=1
#                        198.19.0.2, fd00::2
#          edge 1 198.18.1.0/24          edge 2 198.18.2.0/24
#   ns alice (1)  ------------------------------------------  ns charlie (3)
#   198.19.0.1    ------------------------------------------  198.19.0.3
#          edge 3 198.18.3.0/24          edge 4 198.18.4.0/24
#                        ns vps (5), forwarding=1
#                        198.19.0.5, fd00::5
#                             | edge 5 198.18.5.0/24
#                        ns eve (4)  198.19.0.4, fd00::4
#
#   Each edge is its own veth pair (ul-<peer> in each namespace, .1 and .2 of its /24). Each router's
#   endpoints: one per edge it has. Graph: alice, bob / bob, charlie / alice, vps / vps, charlie / vps, eve.
#
# Extra `nylon run` flags come from NY_NYLON_ARGS.
# Run alone: `ctest -R netns.route_failover` or `NY_BUILD_DIR=<build> bash test/netns/route_failover.sh`.
# Needs root, /dev/net/tun, ping, traceroute and python3; skips (77) without.
set -eu -o pipefail

here=$(dirname "${BASH_SOURCE[0]}")
source "$here/lib_mesh.sh"

nym_setup_or_skip traceroute

readonly CONVERGE_TIMEOUT=45 # seconds for every pair of the five (up to three hops) to exchange echoes
readonly FAILOVER_BOUND=20   # seconds from the cut to the first echo reply over the other relay

nym_init
nym_topology_five
nym_write_configs
# The relays answer traceroute's expired probes (see nym_forwarding).
nym_forwarding bob
nym_forwarding vps
nym_start_all

alice4=$(nym_addr4 alice) charlie4=$(nym_addr4 charlie)
nym_wait_all_pairs "$CONVERGE_TIMEOUT"
nym_wait_ping alice "$charlie4" 5
nym_wait_ping alice "$(nym_addr6 charlie)" 5

relay=$(nym_relay alice "$charlie4" 10)
case $relay in
bob) other=vps ;;
vps) other=bob ;;
*) nym_fail "alice -> charlie goes through '$relay', expected bob or vps" ;;
esac
ny_log "alice -> charlie uses $relay; cutting the alice-$relay link"

ms=$(nym_failover_ms alice "$charlie4" alice "$relay" "$FAILOVER_BOUND")
ny_log "failover: first echo reply alice -> charlie $ms ms after cutting alice-$relay"
echo "route_failover: failover time $ms ms (cut alice-$relay, bound ${FAILOVER_BOUND} s, expected < 6000 ms)"

nym_wait_hops alice "$charlie4" "$(nym_addr4 "$other") $charlie4" 10
nym_wait_ping alice "$charlie4" 5
nym_wait_ping charlie "$alice4" 5
nym_wait_ping alice "$(nym_addr6 charlie)" 5

nym_stop_all
ny_log "passed"
