#!/usr/bin/env bash
# Ingress source-address validation (node.yaml `validate_source: true`, our addition, off by default): the relay b
# accepts a's packets to c while their source is a prefix routed back through a, and drops (and counts) a packet
# from a whose source is not.
#
#   a ==== b ==== c        a sends to c from 198.19.0.1 (routed via a at b: forwarded)
#   (validate_source on b) and from 198.19.0.77, an address only a's kernel knows (not routed via a: dropped)
#
# Run alone: `ctest -R netns.route_validate_source` or `NY_BUILD_DIR=<build> bash test/netns/route_validate_source.sh`.
set -eu -o pipefail

here=$(dirname "${BASH_SOURCE[0]}")
source "$here/lib_mesh.sh"

nym_setup_or_skip

readonly SPOOF=198.19.0.77

nym_init
nym_topology_line
nym_write_configs
echo "validate_source: true" >>"${NYN_NODE[b]}"
nym_start_all
c4=$(nym_addr4 c)
nym_wait_ping a "$c4" 30

# A source address that is a's own to its kernel, but that no node advertises: b has no route for it via a.
ip -n "${NYN_NS[a]}" addr add "$SPOOF/32" dev "${NYN_IF[a]}"
if ip netns exec "${NYN_NS[a]}" ping -n -c 3 -i 0.2 -W 1 -I "$SPOOF" "$c4" >/dev/null 2>&1; then
	nym_fail "a ping from $SPOOF reached c through b although b validates sources"
fi
nyn_ping a "$c4" || nym_fail "a lost c after the spoofed pings"
ip -n "${NYN_NS[a]}" addr del "$SPOOF/32" dev "${NYN_IF[a]}"

nym_stop_all
dropped=$(nyn_drop_count b "drops:" source_not_routed_via_peer)
((dropped >= 3)) || nym_fail "b counted $dropped packets with an unrouted source, expected at least 3"
ny_log "b dropped $dropped packets whose source was not routed through their sender"
ny_log "passed"
