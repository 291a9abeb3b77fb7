#!/usr/bin/env bash
# OS networking over rtnetlink (src/sys/netlink_linux.c): addresses, MTU, link up, routes, route sync and undo,
# observed from outside with ip(8) after every stage. ny-sys_netlink_probe keeps one handle through all stages
# (its record of what it added is what is under test), prints "stage <name>" and waits for a line on stdin.
#
#   ns ny-<pid>-s
#   +-----------------------------------------------------------------------------+
#   | d0 (dummy, or veth with its peer d1 here when there is no dummy driver)     |
#   |   ours:   198.19.0.1/32, fd00::1/128 (nodad), mtu 1420, up                  |
#   |           routes proto 78: 198.19.1.0/24, 198.19.2.0/25, fd00:1::/64        |
#   |           after sync:      198.19.1.0/24, 198.19.4.0/24, fd00:2::/64        |
#   |   not ours (added here with ip, must survive sync and undo):                |
#   |           198.19.0.9/32, 198.19.3.0/24, fd00:9::/64                         |
#   +-----------------------------------------------------------------------------+
#
# Last, the probe adds an address and a route again and the script deletes d0 under it: undo must still succeed.
#
# Run alone: `ctest -R netns.sys_netlink` or `NY_BUILD_DIR=<build> bash test/netns/sys_netlink.sh`. Needs root.
set -eu -o pipefail

source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

ny_require_root_or_skip
prog=$(ny_build_bin sys_netlink_probe) || exit 1

readonly PROTO=78 # NY_SYS_ROUTE_PROTO
readonly STAGE_TIMEOUT=10

ns=$(ny_name s)
ny_netns_add "$ns"
# A dummy interface where the kernel has them; else one end of a veth pair (its peer d1 stays in the namespace).
# Either does duplicate address detection, so the nodad check below means something (a TUN, being NOARP, would
# skip DAD anyway).
if ! ip -n "$ns" link add d0 type dummy 2>/dev/null; then
	ip -n "$ns" link add d0 type veth peer name d1 || ny_skip "neither dummy nor veth interfaces can be created"
	ip -n "$ns" link set d1 up
fi

# The probe as a coprocess: its stdout is read with a timeout, its stdin is the go-ahead.
coproc PROBE { exec ip netns exec "$ns" "$prog" d0; }
ny_pid_add "$PROBE_PID"
probe_in=${PROBE[1]}
probe_out=${PROBE[0]}

# wait_stage NAME: the probe's next line must be "stage NAME", within STAGE_TIMEOUT seconds.
wait_stage() {
	local line=""
	read -r -t "$STAGE_TIMEOUT" line <&"$probe_out" || ny_fail "no 'stage $1' from the probe (it failed or hung)"
	[[ "$line" == "stage $1" ]] || ny_fail "probe said '$line', expected 'stage $1'"
	ny_log "stage $1"
}

next_stage() {
	echo next >&"$probe_in"
}

# Observers. ip prints nothing (exit 0) when a filter matches nothing, so presence is "non-empty output".
# route_is FAMILY PREFIX PROTO: PREFIX is routed on d0 with that protocol.
route_is() {
	[[ -n "$(ip -n "$ns" "$1" route show exact "$2" dev d0 proto "$3")" ]]
}
route_absent() {
	[[ -z "$(ip -n "$ns" "$1" route show exact "$2" dev d0)" ]]
}
expect_route() {
	route_is "$@" || ny_fail "route $2 proto $3 on d0 missing: $(ip -n "$ns" "$1" route show dev d0 | tr '\n' ';')"
}
expect_no_route() {
	route_absent "$@" || ny_fail "route $2 on d0 should be gone: $(ip -n "$ns" "$1" route show exact "$2")"
}
# addr_line ADDR/LEN: the `ip -o addr` line of that address on d0, empty if none.
addr_line() {
	ip -n "$ns" -o addr show dev d0 | grep -F " $1 " || true
}
expect_addr() {
	[[ -n "$(addr_line "$1")" ]] || ny_fail "address $1 missing on d0: $(ip -n "$ns" -o addr show dev d0)"
}
expect_no_addr() {
	[[ -z "$(addr_line "$1")" ]] || ny_fail "address $1 should be gone from d0"
}
# The routes we own on d0, one per line, sorted; both families.
our_routes() {
	{
		ip -n "$ns" -4 route show dev d0 proto "$PROTO"
		ip -n "$ns" -6 route show dev d0 proto "$PROTO"
	} | awk '{print $1}' | sort
}

wait_stage link
ip -n "$ns" link show d0 | grep -q "mtu 1420 " || ny_fail "d0 mtu is not 1420: $(ip -n "$ns" link show d0)"
ip -n "$ns" link show d0 | grep -q "<[^>]*\bUP\b[^>]*>" || ny_fail "d0 is not up: $(ip -n "$ns" link show d0)"
# Not ours: an address the probe will also add, and routes on the same prefixes as its own requests.
ip -n "$ns" addr add 198.19.0.9/32 dev d0
ip -n "$ns" route add 198.19.3.0/24 dev d0
ip -n "$ns" -6 route add fd00:9::/64 dev d0
next_stage

wait_stage addrs
expect_addr 198.19.0.1/32
expect_addr fd00::1/128
[[ "$(addr_line fd00::1/128)" == *nodad* ]] || ny_fail "fd00::1 was not added with nodad: $(addr_line fd00::1/128)"
[[ "$(addr_line fd00::1/128)" != *tentative* ]] || ny_fail "fd00::1 is tentative (DAD running)"
next_stage

wait_stage routes
expect_route -4 198.19.1.0/24 "$PROTO"
expect_route -4 198.19.2.0/25 "$PROTO"
expect_route -6 fd00:1::/64 "$PROTO"
expect_route -4 198.19.3.0/24 boot
expect_route -6 fd00:9::/64 boot
[[ "$(ip -n "$ns" -4 route show exact 198.19.1.0/24 dev d0)" == *"scope link"* ]] ||
	ny_fail "198.19.1.0/24 is not a link-scoped device route"
next_stage

wait_stage sync
[[ "$(our_routes | tr '\n' ' ')" == "198.19.1.0/24 198.19.4.0/24 fd00:2::/64 " ]] ||
	ny_fail "after sync our routes are: $(our_routes | tr '\n' ' ')"
expect_no_route -4 198.19.2.0/25
expect_no_route -6 fd00:1::/64
expect_route -4 198.19.3.0/24 boot
expect_route -6 fd00:9::/64 boot
# Behind the probe's back, as a link flap would: the next sync must put it back.
ip -n "$ns" route del 198.19.4.0/24 dev d0
next_stage

wait_stage resync
expect_route -4 198.19.4.0/24 "$PROTO"
[[ "$(our_routes | tr '\n' ' ')" == "198.19.1.0/24 198.19.4.0/24 fd00:2::/64 " ]] ||
	ny_fail "after resync our routes are: $(our_routes | tr '\n' ' ')"
next_stage

wait_stage undo
[[ -z "$(our_routes)" ]] || ny_fail "routes left after undo: $(our_routes | tr '\n' ' ')"
expect_no_addr 198.19.0.1/32
expect_no_addr fd00::1/128
expect_addr 198.19.0.9/32
expect_route -4 198.19.3.0/24 boot
expect_route -6 fd00:9::/64 boot
next_stage

wait_stage readd
expect_addr 198.19.0.1/32
expect_route -4 198.19.1.0/24 "$PROTO"
# As when the TUN goes away before shutdown: undo must not fail on what vanished with it.
ip -n "$ns" link del d0
next_stage

wait_stage gone
next_stage

rc=0
ny_wait_pid 5 "$PROBE_PID" || rc=$?
((rc == 0)) || ny_fail "probe exited with $rc"
ny_log "pass"
