# shellcheck shell=bash
# N-node meshes for the routing scenarios (test/netns/route_*.sh) and benchmarks (bench/failover_netns.sh,
# bench/relay_netns.sh). Sources lib.sh and lib_nylon.sh itself; never run (the ctest glob skips every lib*.sh).
#
# A mesh is a set of nodes, each in its own namespace, and edges, each its own veth pair with its own /24:
#
#   node NAME (index n)        namespace ny-<pid>-NAME, tunnel addresses 198.19.0.<n> and fd00::<n>,
#                              nylon interface ny<pid>m<n> (routers) or wireguard-go interface (clients)
#   edge k between X and Y     veth ul-Y in X (198.18.<k>.1/24) <-> veth ul-X in Y (198.18.<k>.2/24)
#
# central.yaml lists, for each router, one endpoint per edge it has (`198.18.<k>.x:57175`): a neighbour can reach
# only the one on the edge they share, so it must probe them all and use the live one (reference §3.3, §3.7).
# The graph is the edges, or a subset given to nym_write_configs. Cutting an edge (nym_cut) takes both veth ends
# down: the link is gone for the underlay and only the mesh can route around it.
#
# What it gives a scenario, on top of lib_nylon.sh:
#   - nym_router / nym_client / nym_edge, then nym_write_configs (central.yaml, node.yaml, `nylon verify`);
#   - the two shared topologies: nym_topology_line (a-b-c) and nym_topology_five (alice, bob, charlie, eve, vps);
#   - nym_start_all / nym_stop_all: nyn_start with the extra flags of NY_NYLON_ARGS, nyn_stop's clean-shutdown
#     checks plus "no route of protocol 78 left, blackholes included";
#   - bounded waits: nym_wait_ping (one pair), nym_wait_all_pairs (every router reaches every other);
#   - path checks: nym_route_covers (a proto-78 route via the TUN covers an address, however coalesced),
#     nym_traceroute / nym_wait_first_hop (which relay a path uses);
#   - nym_cut and nym_failover_ms: cut an edge and time the first echo reply after the cut;
#   - nym_fail: fail with every node's log, every router's proto-78 routes and every client's `wg show`.
#
# Extra `nylon run` flags come from NY_NYLON_ARGS (split on spaces), e.g. NY_NYLON_ARGS="--io epoll" or "-v".
#
# Usage:
#   source "$here/lib_mesh.sh"
#   nym_setup_or_skip traceroute  # root, /dev/net/tun, ping, python3 and the extra commands, or skip (77)
#   nym_init
#   nym_topology_line              # or nym_router/nym_edge by hand, then nym_write_configs
#   nym_start_all
#   nym_wait_ping a "$(nym_addr4 c)" 30
#   nym_stop_all

if [[ -n "${NYM_LIB_SOURCED:-}" ]]; then
	return 0
fi
NYM_LIB_SOURCED=1

source "$(dirname "${BASH_SOURCE[0]}")/lib_nylon.sh" # and lib.sh

readonly NYM_ROUTE_PROTO=78 # NY_SYS_ROUTE_PROTO, include/nylon/sys.h

NYM_NODES=()    # every node, in creation order
NYM_ROUTERS=()  # the routers among them
NYM_CLIENTS=()  # the passive WireGuard clients among them
NYM_EDGES=()    # "X Y" per edge, edge k at index k-1
NYM_RUNNING=()  # routers started by nym_start and not stopped yet
NYM_ARGS=()     # extra `nylon run` flags (NY_NYLON_ARGS)
declare -A NYM_INDEX=()   # node -> n (its tunnel addresses end in n)
declare -A NYM_UL_IF=()   # "X:Y" -> X's veth towards Y
declare -A NYM_UL_ADDR=() # "X:Y" -> X's underlay address on the X-Y edge
declare -A NYM_WG_IF=()   # client -> its wireguard-go interface

# nym_setup_or_skip [CMD...]: nyn_setup_or_skip with the tools every mesh scenario uses (ping, python3) and CMDs.
nym_setup_or_skip() {
	nyn_setup_or_skip ping python3 "$@"
}

# nym_init: nyn_init, and the extra flags of NY_NYLON_ARGS.
nym_init() {
	nyn_init
	read -r -a NYM_ARGS <<<"${NY_NYLON_ARGS:-}"
	ny_log "extra nylon run flags: '${NYM_ARGS[*]}'"
}

nym_ns() {
	printf '%s\n' "${NYN_NS[$1]}"
}

nym_addr4() {
	printf '198.19.0.%s\n' "${NYM_INDEX[$1]}"
}

nym_addr6() {
	printf 'fd00::%s\n' "${NYM_INDEX[$1]}"
}

# nym_name_of ADDRESS: the node whose tunnel address it is, or nothing.
nym_name_of() {
	local name
	for name in "${NYM_NODES[@]}"; do
		if [[ "$1" == "$(nym_addr4 "$name")" || "$1" == "$(nym_addr6 "$name")" ]]; then
			printf '%s\n' "$name"
			return 0
		fi
	done
}

nym__node() {
	local name=$1 n=$2 ns
	[[ "$name" =~ ^[a-z][a-z0-9]{0,11}$ ]] || ny_fail "mesh node name '$name': expected [a-z][a-z0-9]{0,11}"
	[[ "$n" =~ ^[1-9][0-9]?$ ]] || ny_fail "mesh node $name: index '$n' must be 1..99"
	[[ -z "${NYM_INDEX[$name]:-}" ]] || ny_fail "mesh node $name declared twice"
	ns=$(ny_name "$name")
	ny_netns_add "$ns"
	# Every node answers traceroute probes and expired TTLs every time: the ICMP rate limit (1/s per destination
	# after a burst of 6) would otherwise drop answers to the repeated traceroutes of a wait loop.
	ip netns exec "$ns" sysctl -q -w net.ipv4.icmp_ratelimit=0 net.ipv6.icmp.ratelimit=0 >/dev/null ||
		ny_fail "cannot lift the ICMP rate limit in $ns"
	NYM_NODES+=("$name")
	NYM_INDEX[$name]=$n
	NYN_NS[$name]=$ns
}

# nym_router NAME N: a router in its own namespace, with its key pair and tunnel addresses 198.19.0.N, fd00::N.
nym_router() {
	nym__node "$1" "$2"
	NYM_ROUTERS+=("$1")
	nyn_keypair "$1"
}

# nym_client NAME N: a passive WireGuard client (a stock wireguard-go, started by nym_client_start), in its own
# namespace, with a `wg genkey` key pair and tunnel addresses 198.19.0.N, fd00::N.
nym_client() {
	nym__node "$1" "$2"
	NYM_CLIENTS+=("$1")
	(umask 077 && wg genkey >"$NYN_TMP/$1.key") || ny_fail "wg genkey failed"
	wg pubkey <"$NYN_TMP/$1.key" >"$NYN_TMP/$1.pub" || ny_fail "wg pubkey failed"
	NYM_WG_IF[$1]=$(ny_ifname "w${NYM_INDEX[$1]}")
}

# nym_edge X Y: edge k (the k-th declared) is a veth pair ul-Y in X, 198.18.k.1/24 <-> ul-X in Y, 198.18.k.2/24.
nym_edge() {
	local x=$1 y=$2 k=$((${#NYM_EDGES[@]} + 1))
	[[ -n "${NYM_INDEX[$x]:-}" && -n "${NYM_INDEX[$y]:-}" ]] || ny_fail "nym_edge $x $y: declare both nodes first"
	((k <= 254)) || ny_fail "nym_edge: at most 254 edges"
	NYM_UL_IF[$x:$y]=ul-$y
	NYM_UL_IF[$y:$x]=ul-$x
	NYM_UL_ADDR[$x:$y]=198.18.$k.1
	NYM_UL_ADDR[$y:$x]=198.18.$k.2
	ny_veth_add "${NYN_NS[$x]}" "ul-$y" "${NYN_NS[$y]}" "ul-$x"
	ip -n "${NYN_NS[$x]}" addr add "198.18.$k.1/24" dev "ul-$y"
	ip -n "${NYN_NS[$y]}" addr add "198.18.$k.2/24" dev "ul-$x"
	NYM_EDGES+=("$x $y")
}

# nym_forwarding NAME: IPv4 and IPv6 forwarding on in NAME's namespace. Needed on a transit node for TTL
# expiry (reference §4.1): nylon hands a packet whose TTL/hop limit reaches 0 to the node's OS through the TUN,
# and only a forwarding kernel answers a packet that is not addressed to it with ICMP Time Exceeded (a host
# drops it silently). Set before nylon starts: the interface it creates inherits the setting.
nym_forwarding() {
	local ns=${NYN_NS[$1]}
	ip netns exec "$ns" sysctl -q -w net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1 >/dev/null ||
		ny_fail "cannot enable forwarding in $ns"
}

nym__endpoints() {
	local name=$1 e x y sep=
	for e in "${NYM_EDGES[@]}"; do
		read -r x y <<<"$e"
		if [[ "$x" == "$name" || "$y" == "$name" ]]; then
			[[ "$x" == "$name" ]] || y=$x
			printf '%s"%s:%s"' "$sep" "${NYM_UL_ADDR[$name:$y]}" "$NYN_PORT"
			sep=", "
		fi
	done
}

# nym_write_configs [PAIR...]: central.yaml (routers with one endpoint per edge, clients, and a graph of the
# given "X, Y" pairs, or of every edge), a node.yaml per router, each checked by `nylon verify`.
nym_write_configs() {
	local -a graph=("$@")
	local name e x y out
	if ((${#graph[@]} == 0)); then
		for e in "${NYM_EDGES[@]}"; do
			read -r x y <<<"$e"
			graph+=("$x, $y")
		done
	fi
	{
		echo "routers:"
		for name in "${NYM_ROUTERS[@]}"; do
			printf '  - id: %s\n    pubkey: %s\n    addresses: [%s, "%s"]\n    endpoints: [%s]\n' "$name" \
				"$(nyn_pub "$name")" "$(nym_addr4 "$name")" "$(nym_addr6 "$name")" "$(nym__endpoints "$name")"
		done
		if ((${#NYM_CLIENTS[@]})); then
			echo "clients:"
			for name in "${NYM_CLIENTS[@]}"; do
				printf '  - {id: %s, pubkey: %s, addresses: [%s, "%s"]}\n' "$name" "$(nyn_pub "$name")" \
					"$(nym_addr4 "$name")" "$(nym_addr6 "$name")"
			done
		fi
		echo "graph:"
		printf '  - %s\n' "${graph[@]}"
	} >"$NYN_CENTRAL"
	for name in "${NYM_ROUTERS[@]}"; do
		nyn_node_yaml "$name" "${NYN_NS[$name]}" "$(ny_ifname "m${NYM_INDEX[$name]}")"
		NYN_ADDRS[$name]="$(nym_addr4 "$name") $(nym_addr6 "$name")"
		# Routes may be coalesced (198.19.0.2 and .3 become 198.19.0.2/31, reference §2.4), which nyn_check_net's
		# exact match cannot see: the mesh checks covering routes itself (nym_route_covers, nym_check_no_routes).
		NYN_ROUTES[$name]=
		out=$("$NYN_BIN" verify "$NYN_CENTRAL" --node "${NYN_NODE[$name]}" 2>&1) ||
			ny_fail "nylon verify rejects the configs of $name: $out$(printf '\n--- central.yaml:\n'; cat "$NYN_CENTRAL")"
	done
	ny_log "central.yaml: ${#NYM_ROUTERS[@]} routers, ${#NYM_CLIENTS[@]} clients, graph: ${graph[*]}"
}

# nym_topology_line: three routers a (1), b (2), c (3) in a line; a and c are not neighbours, b relays.
#
#   a ==ul== b ==ul== c          graph: a, b / b, c
#   198.18.1.0/24  198.18.2.0/24
nym_topology_line() {
	nym_router a 1
	nym_router b 2
	nym_router c 3
	nym_edge a b
	nym_edge b c
}

# nym_topology_five: reference §6.1 TestRecoveryExample's five nodes, with two disjoint paths between alice
# and charlie (through bob, through vps), and eve hanging off vps.
#
#                 bob (2)
#     edge 1    /         \   edge 2
#   alice (1)                 charlie (3)
#     edge 3    \         /   edge 4
#                 vps (5)
#                   |  edge 5
#                 eve (4)
nym_topology_five() {
	nym_router alice 1
	nym_router bob 2
	nym_router charlie 3
	nym_router eve 4
	nym_router vps 5
	nym_edge alice bob
	nym_edge bob charlie
	nym_edge alice vps
	nym_edge vps charlie
	nym_edge vps eve
}

# nym_start NAME...: `nylon run` for each router, with NY_NYLON_ARGS (nyn_start: waits for its ready line), and
# its interface up with its tunnel addresses (nyn_check_net).
nym_start() {
	local name
	for name in "$@"; do
		nyn_start "$name" "${NYM_ARGS[@]}"
		NYM_RUNNING+=("$name")
		nyn_check_net "$name"
	done
}

nym_start_all() {
	nym_start "${NYM_ROUTERS[@]}"
}

nym__routes78() {
	ip -n "$1" -4 route show table all proto "$NYM_ROUTE_PROTO" 2>/dev/null
	ip -n "$1" -6 route show table all proto "$NYM_ROUTE_PROTO" 2>/dev/null
}

# nym_stop NAME...: nyn_stop's clean-shutdown checks (exit 0 after SIGTERM, interface and addresses gone), and
# no route of nylon's protocol left in the namespace, blackholes included (they are not on the interface, so
# deleting it does not remove them).
nym_stop() {
	local name left i
	for name in "$@"; do
		nyn_stop "$name"
		for i in "${!NYM_RUNNING[@]}"; do
			[[ "${NYM_RUNNING[i]}" == "$name" ]] && unset 'NYM_RUNNING[i]'
		done
		NYM_RUNNING=("${NYM_RUNNING[@]}")
		left=$(nym__routes78 "${NYN_NS[$name]}")
		[[ -z "$left" ]] || nym_fail "routes of protocol $NYM_ROUTE_PROTO left in ${NYN_NS[$name]} after nylon $name" \
			"exited: $(tr '\n' ';' <<<"$left")"
	done
}

nym_stop_all() {
	((${#NYM_RUNNING[@]} == 0)) || nym_stop "${NYM_RUNNING[@]}"
}

# nym_dump: what a routing failure needs besides the logs: each router's proto-78 routes and each client's
# WireGuard state.
nym_dump() {
	local name
	for name in "${NYM_ROUTERS[@]}"; do
		echo "--- routes of protocol $NYM_ROUTE_PROTO in $name:"
		nym__routes78 "${NYN_NS[$name]}" | sed 's/^/    /'
	done
	for name in "${NYM_CLIENTS[@]}"; do
		echo "--- client $name: wg show ${NYM_WG_IF[$name]}"
		ip netns exec "${NYN_NS[$name]}" wg show "${NYM_WG_IF[$name]}" 2>&1 | sed 's/^/    /' || true
		echo "--- client $name: wireguard-go log (last 20 lines)"
		tail -n 20 "$NYN_TMP/$name.wireguard-go.log" 2>/dev/null | sed 's/^/    /' || true
	done
}

# nym_fail MESSAGE...: fails after dumping routes, clients and every router's log.
nym_fail() {
	nym_dump >&2
	nyn_fail "$@"
}

# nym_ping_once NAME DST: one echo request from NAME's namespace, answered within 1 s.
nym_ping_once() {
	ip netns exec "${NYN_NS[$1]}" ping -n -q -c 1 -W 1 "$2" >/dev/null 2>&1
}

# nym_wait_ping NAME DST TIMEOUT_S: waits (bounded) for a first echo reply from DST, then 3 more must all be
# answered. Logs how long the first one took.
nym_wait_ping() {
	local name=$1 dst=$2 timeout_s=$3 t0
	t0=$(date +%s%N)
	ny_wait_for "$timeout_s" nym_ping_once "$name" "$dst" ||
		nym_fail "no echo reply from $dst ($(nym_name_of "$dst")) to $name within $timeout_s s"
	ny_log "first echo reply $name -> $dst ($(nym_name_of "$dst")) after $((($(date +%s%N) - t0) / 1000000)) ms"
	nyn_ping "$name" "$dst" || nym_fail "ping $name -> $dst ($(nym_name_of "$dst")) lost replies"
}

# nym_wait_all_pairs TIMEOUT_S [NODE...]: every given router (default: all) gets an echo reply from every other
# one's IPv4 tunnel address, all within TIMEOUT_S seconds in total.
nym_wait_all_pairs() {
	local timeout_s=$1 deadline from to left
	shift
	local -a nodes=("$@")
	((${#nodes[@]})) || nodes=("${NYM_ROUTERS[@]}")
	deadline=$(($(date +%s) + timeout_s))
	for from in "${nodes[@]}"; do
		for to in "${nodes[@]}"; do
			[[ "$from" != "$to" ]] || continue
			left=$((deadline - $(date +%s)))
			((left > 0)) || left=1
			ny_wait_for "$left" nym_ping_once "$from" "$(nym_addr4 "$to")" ||
				nym_fail "$from does not reach $to ($(nym_addr4 "$to")) within $timeout_s s of waiting for all pairs"
		done
	done
	ny_log "every pair of ${nodes[*]} exchanges echoes"
}

# nym_route_covers NAME ADDRESS: a route of protocol 78 through NAME's nylon interface covers ADDRESS, whatever
# it was coalesced into (reference §2.4). Prints the covering route.
nym_route_covers() {
	local ns=${NYN_NS[$1]} ifname=${NYN_IF[$1]} routes
	routes=$(ip -n "$ns" -4 route show proto "$NYM_ROUTE_PROTO" dev "$ifname" 2>/dev/null
		ip -n "$ns" -6 route show proto "$NYM_ROUTE_PROTO" dev "$ifname" 2>/dev/null) || true
	# shellcheck disable=SC2046 # one argument per route's destination
	python3 - "$2" $(awk '{ print $1 }' <<<"$routes") <<'PY'
import ipaddress, sys
a = ipaddress.ip_address(sys.argv[1])
hits = [p for p in sys.argv[2:] if p != "default" and a in ipaddress.ip_network(p, strict=False)]
if not hits:
    sys.exit(1)
print(" ".join(hits))
PY
}

# nym_traceroute NAME DST: "hop address" lines of one bounded traceroute (UDP, numeric, 1 probe per hop, 1 s
# per probe, at most 6 hops); "*" for a hop that did not answer.
nym_traceroute() {
	local args=(-n -q 1 -w 1 -m 6)
	[[ "$2" != *:* ]] || args+=(-6)
	ip netns exec "${NYN_NS[$1]}" timeout 15 traceroute "${args[@]}" "$2" 2>/dev/null |
		awk '$1 ~ /^[0-9]+$/ { print $1, $2 }' || true
}

# nym_hops NAME DST: the traceroute's addresses on one line ("198.19.0.2 198.19.0.3").
nym_hops() {
	nym_traceroute "$1" "$2" | awk '{ printf "%s%s", (NR > 1 ? " " : ""), $2 } END { print "" }'
}

nym__hops_are() {
	[[ "$(nym_hops "$1" "$2")" == "$3" ]]
}

# nym_wait_hops NAME DST "HOP1 HOP2..." TIMEOUT_S: waits (bounded, one traceroute a second) until a traceroute
# from NAME to DST shows exactly these hops.
nym_wait_hops() {
	local name=$1 dst=$2 want=$3 timeout_s=$4 deadline got
	deadline=$(($(date +%s) + timeout_s))
	while :; do
		got=$(nym_hops "$name" "$dst")
		[[ "$got" != "$want" ]] || break
		(($(date +%s) < deadline)) ||
			nym_fail "traceroute $name -> $dst: hops '$got', expected '$want' (within $timeout_s s)"
		sleep 1
	done
	ny_log "traceroute $name -> $dst: $got"
}

# nym_relay NAME DST TIMEOUT_S: the node at hop 1 of a two-hop path from NAME to DST, waiting (bounded) until
# traceroute shows one.
nym_relay() {
	local name=$1 dst=$2 timeout_s=$3 deadline hops relay
	deadline=$(($(date +%s) + timeout_s))
	while :; do
		hops=$(nym_hops "$name" "$dst")
		relay=$(nym_name_of "${hops%% *}")
		if [[ "$hops" == *" $dst" && "$hops" != *" "*" "* && -n "$relay" ]]; then
			printf '%s\n' "$relay"
			return 0
		fi
		(($(date +%s) < deadline)) ||
			nym_fail "traceroute $name -> $dst: hops '$hops', expected a relay then $dst (within $timeout_s s)"
		sleep 1
	done
}

# nym_cut X Y: the X-Y edge goes down at both ends.
nym_cut() {
	ip -n "${NYN_NS[$1]}" link set "${NYM_UL_IF[$1:$2]}" down
	ip -n "${NYN_NS[$2]}" link set "${NYM_UL_IF[$2:$1]}" down
}

# nym_heal X Y: the X-Y edge comes back up at both ends (its addresses stay across down/up).
nym_heal() {
	ip -n "${NYN_NS[$1]}" link set "${NYM_UL_IF[$1:$2]}" up
	ip -n "${NYN_NS[$2]}" link set "${NYM_UL_IF[$2:$1]}" up
}

# nym_failover_ms NAME DST X Y BOUND_S: cuts edge X-Y, then pings DST from NAME every 100 ms until the first
# reply, for at most BOUND_S seconds. Prints the milliseconds from the cut to that reply (ping's own receive
# timestamp, -D), or fails.
nym_failover_ms() {
	local name=$1 dst=$2 x=$3 y=$4 bound_s=$5 t0 out ts
	t0=$(date +%s%N)
	nym_cut "$x" "$y"
	# -c 1 with -w: ping keeps sending (every -i) until one reply or the deadline (iputils ping(8)).
	out=$(ip netns exec "${NYN_NS[$name]}" timeout $((bound_s + 5)) \
		ping -n -D -c 1 -w "$bound_s" -i 0.1 "$dst" 2>&1) || true
	ts=$(awk -v dst="$dst" '/ bytes from / && index($0, "from " dst ":") { gsub(/[][]/, "", $1); print $1; exit }' <<<"$out")
	[[ -n "$ts" ]] || nym_fail "after cutting $x-$y: no echo reply $name -> $dst within $bound_s s" \
		"($(grep -E 'transmitted|From' <<<"$out" | head -n 3 | tr '\n' ';'))"
	awk -v ts="$ts" -v t0="$t0" 'BEGIN { printf "%d\n", ts * 1000 - t0 / 1000000 }'
}

# nym_client_start NAME ROUTER: the client's wireguard-go (foreground, so its pid is ours to stop), interface up
# with its tunnel addresses and routes to the whole mesh (198.19.0.0/24, fd00::/64), and one peer: ROUTER at its
# address on their shared edge. No keepalive: the client talks when it has something to send (reference §2.5).
nym_client_start() {
	local name=$1 router=$2 ns=${NYN_NS[$1]} ifname=${NYM_WG_IF[$1]}
	local sock=/var/run/wireguard/$ifname.sock
	ny_cleanup_add "rm -f '$sock'"
	ny_bg "$ns" env LOG_LEVEL=verbose WG_PROCESS_FOREGROUND=1 wireguard-go -f "$ifname" \
		</dev/null >>"$NYN_TMP/$name.wireguard-go.log" 2>&1
	NYN_PID[$name]=$NY_BG_PID
	ny_wait_for 5 test -S "$sock" || nym_fail "wireguard-go for client $name did not create $sock within 5 s"
	# Up with addresses and routes before the peer is set: wireguard-go cannot write into a TUN that is down.
	ip -n "$ns" addr add "$(nym_addr4 "$name")/32" dev "$ifname"
	ip -n "$ns" addr add "$(nym_addr6 "$name")/128" dev "$ifname"
	ip -n "$ns" link set "$ifname" up
	ip -n "$ns" route add 198.19.0.0/24 dev "$ifname"
	ip -n "$ns" route add fd00::/64 dev "$ifname"
	ip netns exec "$ns" wg set "$ifname" private-key "$NYN_TMP/$name.key" \
		peer "$(nyn_pub "$router")" endpoint "${NYM_UL_ADDR[$router:$name]}:$NYN_PORT" \
		allowed-ips 198.19.0.0/24,fd00::/64 ||
		nym_fail "wg set on client $name failed"
	ny_log "client $name: wireguard-go $ifname, peer $router at ${NYM_UL_ADDR[$router:$name]}:$NYN_PORT"
}

# nym_client_roam NAME FROM TO: the client drops its peer FROM and takes TO instead (another router, another
# key, reached over another edge), as a phone moving between gateways does.
nym_client_roam() {
	local name=$1 from=$2 to=$3
	ip netns exec "${NYN_NS[$name]}" wg set "${NYM_WG_IF[$name]}" peer "$(nyn_pub "$from")" remove \
		peer "$(nyn_pub "$to")" endpoint "${NYM_UL_ADDR[$to:$name]}:$NYN_PORT" allowed-ips 198.19.0.0/24,fd00::/64 ||
		nym_fail "wg set on client $name (roaming $from -> $to) failed"
	ny_log "client $name: peer $from removed, peer $to at ${NYM_UL_ADDR[$to:$name]}:$NYN_PORT"
}

# nym_client_stop NAME: stops the client's wireguard-go.
nym_client_stop() {
	ny_pid_stop "${NYN_PID[$1]}" 5 || true
	NYN_PID[$1]=
}
