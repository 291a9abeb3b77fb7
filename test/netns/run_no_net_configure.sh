#!/usr/bin/env bash
# `no_net_configure: true` (reference §2.1): nylon creates its TUN interface but adds no address, does not bring
# the link up and installs no route; the user's own tooling owns the OS side. Shutdown still removes the
# interface, and nothing else changed.
#
#   ns alpha  ny-<pid>-alpha
#   +-------------------------------------------------------+
#   | nylon run (id alpha, no_net_configure: true)           |
#   |   ny<pid>a: exists, DOWN, no 198.19.0.1, no routes     |
#   |             veth0 198.18.0.1/24 (to ns beta, idle)     |
#   +-------------------------------------------------------+
#
# Run alone: `ctest -R netns.run_no_net_configure`. Needs root and /dev/net/tun; skips (77) without.
set -eu -o pipefail

here=$(dirname "${BASH_SOURCE[0]}")
source "$here/lib_nylon.sh"

nyn_setup_or_skip

nyn_init
nyn_two_nodes
echo "no_net_configure: true" >>"${NYN_NODE[alpha]}"
ns=${NYN_NS[alpha]}
ifname=${NYN_IF[alpha]}
# The veth's IPv6 link-local address (and its local route) appears whenever the kernel's duplicate address
# detection ends, which can be during the run: the kernel's, not nylon's, so it is left out of the comparison.
routes_snapshot() {
	ip -n "$ns" route show table all | grep -v 'fe80::' | sort
}
routes_before=$(routes_snapshot)

nyn_start alpha
# Output is captured before grep -q reads it: with pipefail, a match that stops grep early could otherwise turn
# into a SIGPIPE failure of the pipeline and hide the very thing checked for.
link=$(ip -n "$ns" link show dev "$ifname" 2>&1) || nyn_fail "the TUN interface $ifname was not created"
addrs=$(ip -n "$ns" addr show dev "$ifname")
ours=$(ip -n "$ns" route show table all proto 78)
grep -q ',UP' <<<"$link" && nyn_fail "no_net_configure: $ifname was brought up: $link"
grep -qE '198\.19\.0\.1|fd00::1' <<<"$addrs" && nyn_fail "no_net_configure: an address was added: $addrs"
[[ -z "$ours" ]] || nyn_fail "no_net_configure: nylon installed routes: $ours"
ny_log "interface $ifname exists, down, without addresses or routes"

nyn_stop alpha
routes_after=$(routes_snapshot)
[[ "$routes_before" == "$routes_after" ]] || nyn_fail "routes changed: before '$routes_before' after '$routes_after'"
ny_log "passed"
