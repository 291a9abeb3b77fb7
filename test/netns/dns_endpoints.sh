#!/usr/bin/env bash
# Endpoints by name (reference §3.7, §6.2 TestEndpointResolution / TestDynamicResolution / TestProbeReports*): a
# dnsmasq in a's namespace (node.yaml `dns_resolvers`) serves b and c's names, and
#   - a reaches b through SRV `_nylon._udp.b.nylon.test` -> host-b.nylon.test, port 57176 (b's own port);
#   - a reaches c through c.nylon.test's A record, with the default port 57175;
#   - `nylon probe c` reports resolve-error for c's name that has no record (NXDOMAIN), ok for the other;
#   - b's underlay address moves and its A record follows (dnsmasq re-reads its hosts file on SIGHUP): a's
#     endpoint to b goes inactive, a looks the name up again (within 15 s of that, not a minute) and traffic
#     resumes through the new address. b has no route back to a's old address, so only a's new lookup can
#     bring the link back (b cannot initiate; it answers wherever a's probes come from);
#   - a live apply (SIGHUP) that renames c's endpoint: the new name is looked up at once, the two old ones are
#     dropped from the cache, and a keeps reaching c;
#   - nodes shut down cleanly.
#
#   ns a  ny-<pid>-a                           ns b  ny-<pid>-b
#   +-------------------------------------+    +-------------------------------+
#   | nylon a (198.19.0.1), port 57175     |    | nylon b (198.19.0.2), 57176   |
#   | dnsmasq 127.0.0.1:5353               |    |                               |
#   |  ul-b 198.18.1.1/24 (+198.18.3.1/24) +----+ ul-a 198.18.1.2/24            |
#   |                                     |    |   moved to: 198.18.3.2/24     |
#   |  ul-c 198.18.2.1/24 ----------------+-+  +-------------------------------+
#   +-------------------------------------+ |  ns c  ny-<pid>-c
#                                           |  +-------------------------------+
#                                           +--+ ul-a 198.18.2.2/24            |
#                                              | nylon c (198.19.0.3), 57175   |
#                                              +-------------------------------+
#   central.yaml: a at 198.18.1.1 / 198.18.2.1 (literals), b at "b.nylon.test", c at "c.nylon.test" and
#   "nx.nylon.test:4000"; graph `a, b` / `a, c`. Only a resolves names.
#
# Run alone: `ctest -R netns.dns_endpoints` or `NY_BUILD_DIR=<build> bash test/netns/dns_endpoints.sh`.
# Needs root, /dev/net/tun, ping, python3 and dnsmasq (Debian dnsmasq-base); skips (77) without.
set -eu -o pipefail

here=$(dirname "${BASH_SOURCE[0]}")
source "$here/lib_mesh.sh"

nym_setup_or_skip dnsmasq

readonly B_PORT=57176
readonly DNS_PORT=5353
readonly CONNECT_TIMEOUT=20 # s: first lookups, probes, handshake, routes
readonly MOVE_TIMEOUT=60    # s: link dead (5 s) + next cache check (<= 15 s) + probe + routes, with margin

nym_init
nym_router a 1
nym_router b 2
nym_router c 3
nym_edge a b # 198.18.1.0/24
nym_edge a c # 198.18.2.0/24

hosts=$NYN_TMP/dns.hosts
write_hosts() {
	printf '%s host-b.nylon.test\n198.18.2.2 c.nylon.test c2.nylon.test\n' "$1" >"$hosts.new"
	mv "$hosts.new" "$hosts"
}
write_hosts 198.18.1.2

{
	echo "routers:"
	printf '  - id: a\n    pubkey: %s\n    addresses: [198.19.0.1]\n    endpoints: ["198.18.1.1:%s", "198.18.2.1:%s"]\n' \
		"$(nyn_pub a)" "$NYN_PORT" "$NYN_PORT"
	printf '  - id: b\n    pubkey: %s\n    addresses: [198.19.0.2]\n    endpoints: ["b.nylon.test"]\n' "$(nyn_pub b)"
	printf '  - id: c\n    pubkey: %s\n    addresses: [198.19.0.3]\n    endpoints: ["c.nylon.test", "nx.nylon.test:4000"]\n' \
		"$(nyn_pub c)"
	echo "graph:"
	echo "  - a, b"
	echo "  - a, c"
} >"$NYN_CENTRAL"
nyn_node_yaml a "$(nym_ns a)" "$(ny_ifname m1)" "dns_resolvers: [\"127.0.0.1:$DNS_PORT\"]"
nyn_node_yaml b "$(nym_ns b)" "$(ny_ifname m2)"
sed -i "s/^port: .*/port: $B_PORT/" "${NYN_NODE[b]}"
nyn_node_yaml c "$(nym_ns c)" "$(ny_ifname m3)"
for name in a b c; do
	NYN_ADDRS[$name]=$(nym_addr4 "$name")
	NYN_ROUTES[$name]=
	out=$("$NYN_BIN" verify "$NYN_CENTRAL" --node "${NYN_NODE[$name]}" 2>&1) ||
		ny_fail "nylon verify rejects the configs of $name: $out"
done

# dnsmasq: authoritative answers from the hosts file (TTL 0) and the SRV record, nothing forwarded, nothing read
# from the host's own files. Foreground (-k) so its pid is ours; as root, so it can re-read the file on SIGHUP.
ny_bg "$(nym_ns a)" dnsmasq -k --conf-file=/dev/null --no-resolv --no-hosts --user=root --pid-file \
	--listen-address=127.0.0.1 --bind-interfaces --port="$DNS_PORT" --local-ttl=0 --addn-hosts="$hosts" \
	--srv-host="_nylon._udp.b.nylon.test,host-b.nylon.test,$B_PORT" \
	--log-queries --log-facility="$NYN_TMP/dnsmasq.log" </dev/null >>"$NYN_TMP/dnsmasq.out" 2>&1
dnsmasq_pid=$NY_BG_PID

# dns_up: dnsmasq answers c.nylon.test's A query with one record.
dns_up() {
	ip netns exec "$(nym_ns a)" python3 - "$DNS_PORT" >/dev/null 2>&1 <<'PY'
import socket, sys
q = b"\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\x01c\x05nylon\x04test\x00\x00\x01\x00\x01"
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(0.3)
s.sendto(q, ("127.0.0.1", int(sys.argv[1])))
r = s.recv(512)
sys.exit(0 if r[:2] == b"\x12\x34" and r[7] == 1 else 1)
PY
}
ny_wait_for 30 dns_up || # python3 starts slowly on a loaded host
	nym_fail "dnsmasq does not answer on 127.0.0.1:$DNS_PORT in $(nym_ns a): $(cat "$NYN_TMP/dnsmasq.out")"
ny_log "dnsmasq (pid $dnsmasq_pid) answers in $(nym_ns a)"

nym_start a b c
nym_wait_ping a 198.19.0.2 "$CONNECT_TIMEOUT"
nym_wait_ping a 198.19.0.3 "$CONNECT_TIMEOUT"
grep -q 'endpoint b.nylon.test now resolves to 198.18.1.2:57176' "${NYN_LOG[a]}" ||
	nym_fail "a did not log b.nylon.test's SRV answer (198.18.1.2:$B_PORT)"
grep -q 'endpoint c.nylon.test now resolves to 198.18.2.2:57175' "${NYN_LOG[a]}" ||
	nym_fail "a did not log c.nylon.test's A answer with the default port"

# Probe: the NXDOMAIN name is a resolve error, the resolved one answers.
probe=$(ip netns exec "$(nym_ns a)" timeout 10 "$NYN_BIN" probe -i "${NYN_IF[a]}" c 2>&1) ||
	nym_fail "nylon probe c failed: $probe"
ny_log "probe c: $(tr '\n' ';' <<<"$probe")"
grep -q 'nx.nylon.test:4000 *resolve-error' <<<"$probe" || nym_fail "probe c: no resolve-error for nx.nylon.test: $probe"
grep -q 'c.nylon.test *ok *resolved=198.18.2.2:57175' <<<"$probe" || nym_fail "probe c: c.nylon.test not ok: $probe"

# b moves: a new subnet on the a-b link, b's old address gone (and with it b's way back to 198.18.1.1), the A
# record updated.
t0=$(date +%s)
ip -n "$(nym_ns a)" addr add 198.18.3.1/24 dev ul-b
ip -n "$(nym_ns b)" addr add 198.18.3.2/24 dev ul-a
ip -n "$(nym_ns b)" addr del 198.18.1.2/24 dev ul-a
write_hosts 198.18.3.2
kill -HUP "$dnsmasq_pid"
ny_log "b moved to 198.18.3.2; dnsmasq reloaded"

resolved_again() {
	grep -q 'endpoint b.nylon.test now resolves to 198.18.3.2:57176' "${NYN_LOG[a]}"
}
ny_wait_for "$MOVE_TIMEOUT" resolved_again ||
	nym_fail "a did not resolve b.nylon.test to 198.18.3.2:$B_PORT within $MOVE_TIMEOUT s of the move"
ny_log "a re-resolved b.nylon.test after $(($(date +%s) - t0)) s"
left=$((MOVE_TIMEOUT - ($(date +%s) - t0)))
((left > 5)) || left=5
nym_wait_ping a 198.19.0.2 "$left"
ny_log "a -> b traffic back $(($(date +%s) - t0)) s after the move"
status=$(ip netns exec "$(nym_ns a)" timeout 10 "$NYN_BIN" status -i "${NYN_IF[a]}" --no-color 2>&1) ||
	nym_fail "nylon status failed: $status"
grep -q 'b.nylon.test.*198.18.3.2:57176' <<<"$status" ||
	nym_fail "status of a does not show b.nylon.test at 198.18.3.2:$B_PORT: $status"
nym_ping_once c 198.19.0.1 || nym_fail "c lost a while b moved"

# Live apply: c's endpoints become the one name c2.nylon.test.
reloads() {
	grep -c 'reload: [A-Z_]*:' "${NYN_LOG[a]}" || true
}
reloaded_since() {
	(($(reloads) > $1))
}
logged() {
	grep -q "$1" "${NYN_LOG[a]}"
}
sed -i 's/endpoints: \["c.nylon.test", "nx.nylon.test:4000"\]/endpoints: ["c2.nylon.test"]/' "$NYN_CENTRAL"
grep -q '"c2.nylon.test"' "$NYN_CENTRAL" || ny_fail "central.yaml: c's endpoints were not rewritten"
before=$(reloads)
kill -HUP "${NYN_PID[a]}"
ny_wait_for 10 reloaded_since "$before" || nym_fail "a logged no reload result within 10 s of SIGHUP"
got=$(grep -o 'reload: [A-Z_]*: .*' "${NYN_LOG[a]}" | tail -n 1)
[[ "$got" == "reload: APPLIED:"* ]] || nym_fail "a: reload gave '$got', wanted APPLIED"
ny_wait_for 10 logged 'endpoint c2.nylon.test now resolves to 198.18.2.2:57175' ||
	nym_fail "a did not resolve c2.nylon.test after the reload"
logged 'dns: 2 endpoint names no longer configured' || nym_fail "a did not drop c.nylon.test and nx.nylon.test"
nym_wait_ping a 198.19.0.3 "$CONNECT_TIMEOUT"
ny_log "reload: c2.nylon.test resolved, old names dropped, c reachable"

nym_stop_all
ny_pid_stop "$dnsmasq_pid" 5 || true
ny_log "passed"
