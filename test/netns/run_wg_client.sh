#!/usr/bin/env bash
# A stock WireGuard client (Debian's wireguard-go, configured with wg(8)) as a passive client of one nylon
# router: the client talks first, nylon learns its endpoint from the handshake, then pings go both ways; the
# client changes its source port (roaming) and traffic continues both ways, nylon logging the new endpoint.
# Ends with nylon's clean shutdown (SIGTERM, exit 0, interface, addresses and routes gone).
#
#   ns alpha  ny-<pid>-alpha                               ns phone  ny-<pid>-phone
#   +--------------------------------------+               +--------------------------------------------+
#   | nylon run (id alpha, router)         |               | wireguard-go ny<pid>p, configured by wg(8) |
#   |   ny<pid>a: 198.19.0.1/32            |   WireGuard   |   198.19.0.5/32, listen-port 51820 -> 51821 |
#   |   route 198.19.0.5 via it            | <===========> |   peer alpha: endpoint 198.18.0.1:57175    |
#   |   UDP *:57175                        |   over veth   |   allowed-ips, route 198.19.0.0/24         |
#   |             veth0 198.18.0.1/24 -----+---------------+---- veth0 198.18.0.2/24                    |
#   +--------------------------------------+               +--------------------------------------------+
#
#   central.yaml: routers [alpha], clients [{id: phone, addresses: [198.19.0.5]}], graph `alpha, phone`.
#
# The I/O backend comes from NY_IO_BACKEND (auto, io_uring or epoll; default auto), passed as `--io`;
# run_wg_client_epoll.sh forces epoll.
# Run alone: `ctest -R netns.run_wg_client` or `NY_BUILD_DIR=<build> bash test/netns/run_wg_client.sh`.
# Needs root, /dev/net/tun, wireguard-go, wg and ping; skips (77) without.
set -eu -o pipefail

here=$(dirname "${BASH_SOURCE[0]}")
source "$here/lib_nylon.sh"

nyn_setup_or_skip wireguard-go wg ping

readonly IO_BACKEND=${NY_IO_BACKEND:-auto}
readonly CLIENT_PORT=51820 ROAMED_PORT=51821

nyn_init
a=$(ny_name alpha)
p=$(ny_name phone)
ny_netns_add "$a"
ny_netns_add "$p"
ny_veth_add "$a" veth0 "$p" veth0
ip -n "$a" addr add 198.18.0.1/24 dev veth0
ip -n "$p" addr add 198.18.0.2/24 dev veth0

nyn_keypair alpha
(umask 077 && wg genkey >"$NYN_TMP/phone.key")
wg pubkey <"$NYN_TMP/phone.key" >"$NYN_TMP/phone.pub"
{
	echo "routers:"
	nyn_router_yaml alpha "198.19.0.1" "198.18.0.1:$NYN_PORT"
	echo "clients:"
	echo "  - {id: phone, pubkey: $(cat "$NYN_TMP/phone.pub"), addresses: [198.19.0.5]}"
	echo "graph:"
	echo "  - alpha, phone"
} >"$NYN_CENTRAL"
nyn_node_yaml alpha "$a" "$(ny_ifname a)"
NYN_ADDRS[alpha]="198.19.0.1"
NYN_ROUTES[alpha]="198.19.0.5"
NYN_NS[phone]=$p # for nyn_ping

wg_if=$(ny_ifname p)
wg_sock=/var/run/wireguard/$wg_if.sock

# Failure reports add the client's side.
fail() {
	{
		echo "--- wg show $wg_if:"
		ip netns exec "$p" wg show "$wg_if" 2>&1 | sed 's/^/    /' || true
		echo "--- wireguard-go log (last 30 lines):"
		tail -n 30 "$NYN_TMP/wireguard-go.log" 2>/dev/null | sed 's/^/    /' || true
	} >&2
	nyn_fail "$@"
}

# The endpoint nylon alpha has logged for the client, most recent last.
endpoints_logged() {
	grep -o 'peer phone: endpoint is now [^ ]*' "${NYN_LOG[alpha]}" | awk '{ print $NF }' || true
}

ny_log "I/O backend: $IO_BACKEND"
nyn_start alpha --io "$IO_BACKEND"

# The client: interface up with its address and route before the peer is configured (wireguard-go cannot
# write into a TUN device that is still down). -f keeps it in the foreground so its pid is ours to stop.
ny_cleanup_add "rm -f '$wg_sock'"
ny_bg "$p" env LOG_LEVEL=verbose WG_PROCESS_FOREGROUND=1 wireguard-go -f "$wg_if" \
	</dev/null >"$NYN_TMP/wireguard-go.log" 2>&1
wg_pid=$NY_BG_PID
ny_wait_for 5 test -S "$wg_sock" || fail "wireguard-go did not create $wg_sock within 5 s"
ip -n "$p" addr add 198.19.0.5/32 dev "$wg_if"
ip -n "$p" link set "$wg_if" up
ip -n "$p" route add 198.19.0.0/24 dev "$wg_if"
ip netns exec "$p" wg set "$wg_if" private-key "$NYN_TMP/phone.key" listen-port "$CLIENT_PORT" \
	peer "$(nyn_pub alpha)" endpoint "198.18.0.1:$NYN_PORT" allowed-ips 198.19.0.0/24

# The client talks first: its ping starts the handshake, from which alpha learns where it is, and from then on
# alpha advertises the client's prefixes and routes them (reference §3.6).
nyn_wait_ping phone 198.19.0.1 10
nyn_check_net alpha
[[ "$(endpoints_logged | tail -n 1)" == "198.18.0.2:$CLIENT_PORT" ]] ||
	fail "alpha did not log 'peer phone: endpoint is now 198.18.0.2:$CLIENT_PORT' (logged: $(endpoints_logged | tr '\n' ' '))"
nyn_ping alpha 198.19.0.5 || fail "ping alpha -> 198.19.0.5 (the client) lost replies"

# Roaming: a new source port. The client's next packet comes from it; alpha must follow (whitepaper §2.1).
ip netns exec "$p" wg set "$wg_if" listen-port "$ROAMED_PORT"
ny_log "client: listen-port $CLIENT_PORT -> $ROAMED_PORT"
nyn_wait_ping phone 198.19.0.1 5
[[ "$(endpoints_logged | tail -n 1)" == "198.18.0.2:$ROAMED_PORT" ]] ||
	fail "alpha did not log 'peer phone: endpoint is now 198.18.0.2:$ROAMED_PORT' (logged: $(endpoints_logged | tr '\n' ' '))"
nyn_ping alpha 198.19.0.5 || fail "ping alpha -> 198.19.0.5 (the client) lost replies after roaming"
ny_log "alpha followed the client: endpoints logged $(endpoints_logged | tr '\n' ' ')"

nyn_stop alpha
ny_pid_stop "$wg_pid" || true
ny_log "passed"
