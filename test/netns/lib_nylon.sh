# shellcheck shell=bash
# Helpers for the scenarios that run `nylon run` itself (test/netns/run_*.sh, bench/iperf_netns.sh,
# contrib/demo.sh). Sourced after lib.sh, never run (the ctest glob skips every lib*.sh).
#
# What it gives a scenario:
#   - keys and configs: nyn_keypair, nyn_router_yaml, nyn_node_yaml, and nyn_two_nodes, the standard topology
#     below with both nodes' files written;
#   - nyn_start: `nylon run` in a namespace, waited for (bounded) until it prints its "initialized" line;
#   - nyn_check_net: while it runs, its interface is up with its addresses and routes;
#   - nyn_stop: SIGTERM, a bounded wait, and the checks that make a shutdown clean: exit status 0, the
#     interface gone, none of the node's tunnel addresses or routes left (nyn_check_gone); its `stats:` /
#     `drops:` lines are printed, and nyn_stats / nyn_drop_count read them;
#   - nyn_ping (every reply wanted), nyn_wait_ping (bounded wait for a first reply, then nyn_ping);
#   - nyn_rss_kib: a running node's VmRSS; nyn_fail: fail with every node's log.
#
# The standard two-node topology (nyn_two_nodes):
#
#   ns alpha  ny-<pid>-alpha                              ns beta  ny-<pid>-beta
#   +-------------------------------------+               +-------------------------------------+
#   | nylon run (id alpha)                |               | nylon run (id beta)                 |
#   |   interface ny<pid>a: 198.19.0.1/32 |               |   interface ny<pid>b: 198.19.0.2/32 |
#   |              fd00::1/128            |   WireGuard   |              fd00::2/128            |
#   |   route 198.19.0.2, fd00::2 via it  | <===========> |   route 198.19.0.1, fd00::1 via it  |
#   |   UDP *:57175                       |   over veth   |   UDP *:57175                       |
#   |             veth0 198.18.0.1/24 ----+---------------+---- veth0 198.18.0.2/24             |
#   +-------------------------------------+               +-------------------------------------+
#
# Usage:
#   source "$(dirname "${BASH_SOURCE[0]}")/lib_nylon.sh"   # sources lib.sh too
#   nyn_setup_or_skip ping                                 # root, /dev/net/tun and the commands, or skip (77)
#   ny_require_root_or_skip; nyn_require_tun_or_skip
#   nyn_init                       # NYN_BIN, NYN_TMP (removed at exit)
#   nyn_two_nodes                  # namespaces, veth, keys, central.yaml, alpha/beta node.yaml
#   nyn_start alpha --io epoll; nyn_start beta
#   nyn_ping alpha 198.19.0.2
#   nyn_stop alpha; nyn_stop beta

if [[ -n "${NYN_LIB_SOURCED:-}" ]]; then
	return 0
fi
NYN_LIB_SOURCED=1

source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

readonly NYN_PORT=57175
readonly NYN_START_TIMEOUT=10 # seconds for `nylon run` to print its "initialized" line
readonly NYN_STOP_TIMEOUT=5   # seconds for it to exit after SIGTERM
readonly NYN_READY_LINE='Nylon has been initialized.'

# Per node name (alpha, beta, ...): namespace, interface, config file, pid, log files, tunnel addresses.
declare -A NYN_NS=() NYN_IF=() NYN_NODE=() NYN_PID=() NYN_OUT=() NYN_LOG=() NYN_ADDRS=() NYN_ROUTES=()
NYN_BIN=
NYN_TMP=
NYN_CENTRAL=

# nyn_setup_or_skip [CMD...]: skips (77) unless this is root with network namespaces, /dev/net/tun works and every
# CMD is installed.
nyn_setup_or_skip() {
	ny_require_root_or_skip
	ny_require_cmd "$@"
	nyn_require_tun_or_skip
}

nyn_require_tun_or_skip() {
	[[ -c /dev/net/tun ]] || ny_skip "/dev/net/tun is missing (nylon needs a TUN device)"
}

# nyn_init: finds the nylon binary ($NY_BUILD_DIR/src/nylon) and makes the run's temporary directory.
nyn_init() {
	NYN_BIN=$(ny_build_bin nylon) || exit 1
	NYN_TMP=$(mktemp -d "/tmp/$(ny_name "$NY_SCENARIO").XXXXXX")
	ny_cleanup_add "rm -rf '$NYN_TMP'"
	NYN_CENTRAL=$NYN_TMP/central.yaml
}

# nyn_keypair NAME: $NYN_TMP/NAME.key (private, mode 0600) and $NYN_TMP/NAME.pub, made by nylon itself.
nyn_keypair() {
	(umask 077 && "$NYN_BIN" genkey >"$NYN_TMP/$1.key") || ny_fail "nylon genkey failed"
	"$NYN_BIN" pubkey <"$NYN_TMP/$1.key" >"$NYN_TMP/$1.pub" || ny_fail "nylon pubkey failed"
}

nyn_pub() {
	cat "$NYN_TMP/$1.pub"
}

# nyn_router_yaml ID ADDRESSES ENDPOINT: one `routers:` entry (ADDRESSES: a YAML flow list body, e.g.
# "198.19.0.1, fd00::1"). The key pair must exist (nyn_keypair ID).
nyn_router_yaml() {
	printf '  - id: %s\n    pubkey: %s\n    addresses: [%s]\n    endpoints: ["%s"]\n' \
		"$1" "$(nyn_pub "$1")" "$2" "$3"
}

# nyn_node_yaml NAME NS IFNAME [EXTRA_YAML_LINE...]: node.yaml for node NAME (its id), to run in namespace NS with
# interface IFNAME; registers the node for nyn_start. The caller sets NYN_ADDRS[NAME] (its tunnel addresses)
# and NYN_ROUTES[NAME] (the prefixes it routes into the tunnel), space separated, for nyn_check_net and the
# shutdown checks.
nyn_node_yaml() {
	local name=$1 ns=$2 ifname=$3 line
	shift 3
	{
		printf 'id: %s\nkey: %s\nport: %s\ninterface_name: %s\n' "$name" "$(cat "$NYN_TMP/$name.key")" \
			"$NYN_PORT" "$ifname"
		for line in "$@"; do
			printf '%s\n' "$line"
		done
	} >"$NYN_TMP/$name.node.yaml"
	chmod 600 "$NYN_TMP/$name.node.yaml"
	NYN_NS[$name]=$ns
	NYN_IF[$name]=$ifname
	NYN_NODE[$name]=$NYN_TMP/$name.node.yaml
	NYN_OUT[$name]=$NYN_TMP/$name.out
	NYN_LOG[$name]=$NYN_TMP/$name.log
}

# nyn_two_nodes: the standard topology of the header, with central.yaml and both node.yaml written.
nyn_two_nodes() {
	local a b
	a=$(ny_name alpha)
	b=$(ny_name beta)
	ny_netns_add "$a"
	ny_netns_add "$b"
	ny_veth_add "$a" veth0 "$b" veth0
	ip -n "$a" addr add 198.18.0.1/24 dev veth0
	ip -n "$b" addr add 198.18.0.2/24 dev veth0
	nyn_keypair alpha
	nyn_keypair beta
	{
		echo "routers:"
		nyn_router_yaml alpha "198.19.0.1, fd00::1" "198.18.0.1:$NYN_PORT"
		nyn_router_yaml beta "198.19.0.2, fd00::2" "198.18.0.2"
		echo "graph:"
		echo "  - alpha, beta"
	} >"$NYN_CENTRAL"
	nyn_node_yaml alpha "$a" "$(ny_ifname a)"
	nyn_node_yaml beta "$b" "$(ny_ifname b)"
	NYN_ADDRS[alpha]="198.19.0.1 fd00::1"
	NYN_ADDRS[beta]="198.19.0.2 fd00::2"
	NYN_ROUTES[alpha]=${NYN_ADDRS[beta]}
	NYN_ROUTES[beta]=${NYN_ADDRS[alpha]}
}

# nyn_dump: every node's output, for failure reports.
nyn_dump() {
	local name
	for name in "${!NYN_NODE[@]}"; do
		echo "--- nylon $name: stdout"
		sed 's/^/    /' "${NYN_OUT[$name]}" 2>/dev/null || true
		echo "--- nylon $name: stderr (last 40 lines)"
		tail -n 40 "${NYN_LOG[$name]}" 2>/dev/null | sed 's/^/    /' || true
	done
}

# nyn_fail MESSAGE...: fails the scenario after dumping every node's output.
nyn_fail() {
	nyn_dump >&2
	ny_fail "$@"
}

nyn__ready_or_dead() {
	grep -qF "$NYN_READY_LINE" "$2" || ! kill -0 "$1" 2>/dev/null
}

# nyn_start NAME [RUN_FLAG...]: `nylon run` for node NAME in its namespace, in the background (pid in
# NYN_PID[NAME]), and waits until it prints that it is initialized. Fails if it exits or takes longer than
# NYN_START_TIMEOUT seconds. Output files are appended to, so a restarted node keeps its earlier log.
nyn_start() {
	local name=$1 pid
	shift
	[[ -n "${NYN_NODE[$name]:-}" ]] || ny_fail "nyn_start: no node.yaml for '$name' (nyn_node_yaml first)"
	: >"${NYN_OUT[$name]}"
	echo "=== nylon run ${*}" >>"${NYN_LOG[$name]}"
	ny_bg "${NYN_NS[$name]}" "$NYN_BIN" run -c "$NYN_CENTRAL" -n "${NYN_NODE[$name]}" "$@" \
		</dev/null >"${NYN_OUT[$name]}" 2>>"${NYN_LOG[$name]}"
	pid=$NY_BG_PID
	NYN_PID[$name]=$pid
	ny_wait_for "$NYN_START_TIMEOUT" nyn__ready_or_dead "$pid" "${NYN_OUT[$name]}" ||
		nyn_fail "nylon $name did not print '$NYN_READY_LINE' within $NYN_START_TIMEOUT s"
	kill -0 "$pid" 2>/dev/null || nyn_fail "nylon $name exited during start-up"
	grep -qF "$NYN_READY_LINE" "${NYN_OUT[$name]}" || nyn_fail "nylon $name exited during start-up"
	ny_log "nylon $name up (pid $pid): $(grep -o 'node [0-9a-z._/-]*: interface.*' "${NYN_LOG[$name]}" | tail -n 1)"
}

# (Output is captured before grep -q reads it: with pipefail, a writer that grep -q stopped reading from would
# fail the pipeline with SIGPIPE.)
nyn__has_addr() {
	local out
	out=$(ip -n "$1" addr show ${2:+dev "$2"} 2>/dev/null) || true
	grep -q "inet6\? $3/" <<<"$out"
}

nyn__has_route() {
	local out
	out=$(ip -n "$1" -4 route show ${2:+dev "$2"} 2>/dev/null; ip -n "$1" -6 route show ${2:+dev "$2"} 2>/dev/null) || true
	grep -q "^$3\(/[0-9]*\)\? " <<<"$out"
}

# nyn_check_net NAME: while the node runs, its interface is up with its tunnel addresses, and a route via it
# covers each of NYN_ROUTES[NAME]. Routes come from the routing protocol once the neighbour is heard (a probe, then
# its next update flush), so they are waited for, up to NYN_ROUTE_TIMEOUT seconds.
readonly NYN_ROUTE_TIMEOUT=15
nyn_check_net() {
	local name=$1 ns=${NYN_NS[$1]} ifname=${NYN_IF[$1]} addr
	[[ "$(ip -n "$ns" link show dev "$ifname" 2>/dev/null)" == *[\<,]UP[,\>]* ]] ||
		nyn_fail "interface $ifname is missing or down in $ns while nylon $name runs"
	for addr in ${NYN_ADDRS[$name]:-}; do
		nyn__has_addr "$ns" "$ifname" "$addr" ||
			nyn_fail "address $addr is not on $ifname: $(ip -n "$ns" -br addr show dev "$ifname")"
	done
	for addr in ${NYN_ROUTES[$name]:-}; do
		ny_wait_for "$NYN_ROUTE_TIMEOUT" nyn__has_route "$ns" "$ifname" "$addr" ||
			nyn_fail "no route to $addr via $ifname: $(ip -n "$ns" route show dev "$ifname" |
				tr '\n' ';') $(ip -n "$ns" -6 route show dev "$ifname" | tr '\n' ';')"
	done
	ny_log "nylon $name: $ifname up with ${NYN_ADDRS[$name]:-no addresses}, routes to ${NYN_ROUTES[$name]:-nothing}"
}

# nyn_interface_gone NAME: succeeds when the node's interface is not in its namespace.
nyn_interface_gone() {
	! ip -n "${NYN_NS[$1]}" link show dev "${NYN_IF[$1]}" >/dev/null 2>&1
}

# nyn_check_gone NAME: the node's interface, addresses and routes are not in its namespace any more.
nyn_check_gone() {
	local name=$1 ns=${NYN_NS[$1]} ifname=${NYN_IF[$1]} addr
	if ! nyn_interface_gone "$name"; then
		nyn_fail "interface $ifname is still in $ns after nylon $name exited"
	fi
	for addr in ${NYN_ADDRS[$name]:-}; do
		if nyn__has_addr "$ns" "" "$addr"; then
			nyn_fail "address $addr is still in $ns after nylon $name exited"
		fi
	done
	for addr in ${NYN_ROUTES[$name]:-}; do
		if nyn__has_route "$ns" "" "$addr"; then
			nyn_fail "a route to $addr is still in $ns after nylon $name exited"
		fi
	done
}

# nyn_stop NAME: SIGTERM, then the clean-shutdown checks: it exits within NYN_STOP_TIMEOUT seconds, with status
# 0, and leaves no interface, address or route behind. Prints its stats and drop lines.
nyn_stop() {
	local name=$1 pid=${NYN_PID[$1]} rc=0
	kill -TERM "$pid" 2>/dev/null || nyn_fail "nylon $name (pid $pid) was not running at shutdown"
	ny_wait_pid "$NYN_STOP_TIMEOUT" "$pid" || rc=$?
	if ((rc == 124)); then
		echo "--- threads of the hung process:" >&2
		ls "/proc/$pid/task" 2>/dev/null | while read -r tid; do
			printf '    %s %s %s\n' "$tid" "$(cat "/proc/$pid/task/$tid/comm" 2>/dev/null)" \
				"$(cat "/proc/$pid/task/$tid/wchan" 2>/dev/null)"
		done >&2
		ny_pid_stop "$pid" 0 || true
		nyn_fail "nylon $name did not exit within $NYN_STOP_TIMEOUT s of SIGTERM (killed)"
	fi
	# Already reaped: this only takes it off the registry. (In a || list, so its `wait` of a reaped pid, which
	# fails, does not end the script under set -e.)
	ny_pid_stop "$pid" 0 || true
	NYN_PID[$name]=
	((rc == 0)) || nyn_fail "nylon $name exited with status $rc after SIGTERM (expected 0)"
	nyn_check_gone "$name"
	ny_log "nylon $name stopped cleanly: $(nyn_stats "$name" | tr '\n' ';' | sed 's/;$//; s/;/; /g')"
}

# nyn_stats NAME: the stats and drop lines of the node's last shutdown, without the log prefix.
nyn_stats() {
	grep -o 'stats: .*\|\(wireguard \)\?drops: .*' "${NYN_LOG[$1]}" |
		awk '/^stats: / { n++ } { line[NR] = $0; run[NR] = n } END { for (i = 1; i <= NR; i++) if (run[i] == n) print line[i] }'
}

# nyn_drop_count NAME PREFIX REASON: the count on the line "PREFIX REASON=N" of the last shutdown (PREFIX is
# "drops:" or "wireguard drops:"), 0 when there is none.
nyn_drop_count() {
	nyn_stats "$1" | awk -v p="$2" -v r="$3" '{ if (index($0, p " " r "=") == 1) { sub(/.*=/, ""); n = $0 } }
		END { print n + 0 }'
}

# nyn_rss_kib NAME: VmRSS of the running node, in KiB.
nyn_rss_kib() {
	awk '/^VmRSS:/ { print $2 }' "/proc/${NYN_PID[$1]}/status"
}

# nyn_ping NAME DEST [COUNT]: COUNT (3) echo requests from NAME's namespace, 0.2 s apart, 2 s to wait for each;
# succeeds only when every one is answered.
nyn_ping() {
	local name=$1 dst=$2 count=${3:-3} out
	out=$(ip netns exec "${NYN_NS[$name]}" ping -n -q -c "$count" -i 0.2 -W 2 "$dst" 2>&1) || true
	if ! grep -q "$count packets transmitted, $count received" <<<"$out"; then
		printf '%s\n' "$out" | sed 's/^/    /' >&2
		return 1
	fi
	ny_log "ping $name -> $dst: $(grep -o '[0-9]* received.*loss' <<<"$out"), $(grep -o 'rtt.*' <<<"$out")"
}

nyn__ping_once() {
	ip netns exec "$1" ping -n -q -c 1 -W 1 "$2"
}

# nyn_wait_ping NAME DEST TIMEOUT_S: waits until one echo from NAME to DEST is answered (a handshake may be
# under way), then nyn_ping must get every reply.
nyn_wait_ping() {
	local name=$1 dst=$2 timeout_s=$3
	ny_wait_for "$timeout_s" nyn__ping_once "${NYN_NS[$name]}" "$dst" ||
		nyn_fail "no echo reply from $dst to $name within $timeout_s s"
	nyn_ping "$name" "$dst" || nyn_fail "ping $name -> $dst lost replies"
}
