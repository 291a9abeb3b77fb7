#!/usr/bin/env bash
# The observability endpoint of `nylon run` (reference §5.3) on two routers, each with observability_addr
# ":$OBS_PORT" in its own namespace: /healthz and /readyz answer 200, /discovery lists both nodes and every target
# it lists answers, /metrics is accepted by a strict text-format parser (prom_check.py) with every expected family
# and type, and its counters rise with traffic; other methods get 405, other paths 404. At SIGTERM the port is
# closed; a port already in use makes `nylon run` fail at start with the reason, leaving nothing behind.
#
#   ns alpha  ny-<pid>-alpha                              ns beta  ny-<pid>-beta
#   +-------------------------------------+               +-------------------------------------+
#   | nylon run (id alpha)  HTTP *:9464   |               | nylon run (id beta)  HTTP *:9464    |
#   |   ny<pid>a: 198.19.0.1, fd00::1     |   WireGuard   |   ny<pid>b: 198.19.0.2, fd00::2     |
#   |   python3 scraper: 127.0.0.1, and --+---------------+-> 198.19.0.2, [fd00::2] (discovery) |
#   |             veth0 198.18.0.1/24 ----+---------------+---- veth0 198.18.0.2/24             |
#   +-------------------------------------+               +-------------------------------------+
#
# Run alone: `ctest -R netns.obs_metrics` or `NY_BUILD_DIR=<build> bash test/netns/obs_metrics.sh`.
# Needs root, /dev/net/tun, ping and python3 (iperf3 adds a bulk transfer when present); skips (77) without.
set -eu -o pipefail

here=$(dirname "${BASH_SOURCE[0]}")
source "$here/lib_nylon.sh"

nyn_setup_or_skip ping python3

readonly OBS_PORT=9464
readonly PROM_CHECK="$here/prom_check.py"
readonly PING_COUNT=50
readonly PING_SIZE=1000

# One HTTP request: prints "<status> <content type>", writes the body to a file. Arguments: method, URL, body file.
# No proxy: the environment's would send a namespace-local address elsewhere.
readonly HTTP_PY='
import sys, urllib.request, urllib.error
method, url, out = sys.argv[1], sys.argv[2], sys.argv[3]
opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
req = urllib.request.Request(url, method=method, data=b"x" if method == "POST" else None)
try:
    with opener.open(req, timeout=5) as r:
        code, ctype, body = r.status, r.headers.get("Content-Type", ""), r.read()
except urllib.error.HTTPError as e:
    code, ctype, body = e.code, e.headers.get("Content-Type", ""), e.read()
open(out, "wb").write(body)
print(code, ctype)
'

# Succeeds when nothing accepts TCP connections on the address. Arguments: host, port.
readonly CLOSED_PY='
import socket, sys
try:
    socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=2).close()
except ConnectionRefusedError:
    sys.exit(0)
sys.exit(1)
'

# Holds a port, as nylon would bind it (every address, IPv6 with IPv4 mapped). Arguments: port, ready file.
readonly HOLD_PY='
import socket, sys, time
s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # past the scrapes left in TIME_WAIT
s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
s.bind(("::", int(sys.argv[1])))
s.listen(1)
open(sys.argv[2], "w").write("listening\n")
time.sleep(60)
'

# http NAME METHOD URL BODY_FILE: the request from NAME's namespace; prints "<status> <content type>".
http() {
	ip netns exec "${NYN_NS[$1]}" timeout 10 python3 -c "$HTTP_PY" "$2" "$3" "$4" ||
		nyn_fail "$2 $3 from $1: no HTTP answer"
}

# expect_http NAME METHOD URL STATUS [BODY]: the status (and the exact body, when given).
expect_http() {
	local name=$1 method=$2 url=$3 want=$4 body=${5-} got
	got=$(http "$name" "$method" "$url" "$NYN_TMP/body")
	[[ "${got%% *}" == "$want" ]] || nyn_fail "$method $url: status '$got', expected $want: $(head -c 200 "$NYN_TMP/body")"
	if (($# >= 5)) && [[ "$(cat "$NYN_TMP/body"; echo x)" != "${body}x" ]]; then
		nyn_fail "$method $url: body '$(cat "$NYN_TMP/body")', expected '$body'"
	fi
	ny_log "$method $url -> $got"
}

# scrape NAME URL OUT: GET /metrics, must be 200 in format 0.0.4 and pass prom_check; OUT gets its series as JSON.
scrape() {
	local got
	got=$(http "$1" GET "$2" "$3.txt")
	[[ "$got" == "200 text/plain; version=0.0.4"* ]] || nyn_fail "GET $2: '$got': $(head -c 200 "$3.txt")"
	python3 "$PROM_CHECK" --json "$3.txt" >"$3" || nyn_fail "GET $2: the exposition is not valid (above)"
	ny_log "GET $2 -> $got: $(python3 "$PROM_CHECK" "$3.txt")"
}

iperf_listening() {
	local out
	out=$(ip netns exec "${NYN_NS[beta]}" ss -Hltn "sport = :5201" 2>/dev/null) || true
	[[ -n "$out" ]]
}

python3 "$PROM_CHECK" --self-test >/dev/null || ny_fail "prom_check.py fails its own self-test"

nyn_init
nyn_two_nodes
for n in alpha beta; do
	echo "observability_addr: \":$OBS_PORT\"" >>"${NYN_NODE[$n]}"
done
nyn_start alpha
nyn_start beta
nyn_check_net alpha
nyn_check_net beta
nyn_wait_ping alpha 198.19.0.2 10

local_url="http://127.0.0.1:$OBS_PORT"
expect_http alpha GET "$local_url/healthz" 200 $'ok\n'
expect_http alpha GET "$local_url/readyz" 200 $'ok\n'
expect_http alpha HEAD "$local_url/healthz" 200 ""
expect_http alpha POST "$local_url/metrics" 405
expect_http alpha GET "$local_url/nope" 404
[[ "$(http alpha GET "$local_url/healthz" "$NYN_TMP/body")" == "200 text/plain"* ]] ||
	nyn_fail "/healthz is not text/plain"

# /discovery: both nodes, every address at the observability port, and each target answers (through the tunnel).
got=$(http alpha GET "$local_url/discovery" "$NYN_TMP/discovery.json")
[[ "$got" == "200 application/json"* ]] || nyn_fail "GET /discovery: '$got'"
targets=$(python3 - "$NYN_TMP/discovery.json" "$OBS_PORT" <<'EOF'
import json, sys
doc, port = json.load(open(sys.argv[1])), sys.argv[2]
want = {"alpha": [f"198.19.0.1:{port}", f"[fd00::1]:{port}"], "beta": [f"198.19.0.2:{port}", f"[fd00::2]:{port}"]}
got = {g["labels"]["nylon_node"]: g["targets"] for g in doc}
assert all(set(g) == {"targets", "labels"} and set(g["labels"]) == {"nylon_node"} for g in doc), doc
assert got == want, f"discovery {got}, expected {want}"
print(" ".join(t for g in doc for t in g["targets"]))
EOF
) || nyn_fail "/discovery is wrong: $(cat "$NYN_TMP/discovery.json")"
for t in $targets; do
	expect_http alpha GET "http://$t/healthz" 200 $'ok\n'
done

scrape alpha "$local_url/metrics" "$NYN_TMP/alpha.1.json"
scrape alpha "http://198.19.0.2:$OBS_PORT/metrics" "$NYN_TMP/beta.1.json"

# Traffic alpha <-> beta: pings of PING_SIZE bytes, and a bulk TCP transfer when iperf3 is there.
out=$(ip netns exec "${NYN_NS[alpha]}" ping -n -q -c "$PING_COUNT" -i 0.01 -s "$PING_SIZE" -W 2 198.19.0.2 2>&1) || true
grep -q "$PING_COUNT packets transmitted, $PING_COUNT received" <<<"$out" ||
	nyn_fail "ping alpha -> beta with $PING_SIZE bytes lost replies: $out"
ny_log "ping alpha -> beta: $PING_COUNT x $PING_SIZE bytes, all answered"
if command -v iperf3 >/dev/null; then
	ny_bg "${NYN_NS[beta]}" iperf3 -s -1 -B 198.19.0.2 -p 5201 </dev/null >"$NYN_TMP/iperf-s.out" 2>&1
	ny_wait_for 5 iperf_listening || nyn_fail "the iperf3 server did not start: $(cat "$NYN_TMP/iperf-s.out")"
	ip netns exec "${NYN_NS[alpha]}" timeout 30 iperf3 -c 198.19.0.2 -p 5201 -n 8M >"$NYN_TMP/iperf-c.out" 2>&1 ||
		nyn_fail "iperf3 alpha -> beta failed: $(tail -n 5 "$NYN_TMP/iperf-c.out")"
	ny_log "iperf3: $(grep -m1 'sender' "$NYN_TMP/iperf-c.out" | tr -s ' ')"
fi

scrape alpha "$local_url/metrics" "$NYN_TMP/alpha.2.json"
scrape alpha "http://[fd00::2]:$OBS_PORT/metrics" "$NYN_TMP/beta.2.json"

# Every expected family with its type; the state of a two-node mesh; counters that rose with the traffic.
python3 - "$NYN_TMP" "$PING_COUNT" "$PING_SIZE" <<'EOF' || nyn_fail "the metrics are wrong (above)"
import json, re, sys, time
tmp, count, size = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
load = lambda name: json.load(open(f"{tmp}/{name}.json"))
TYPES = {
    "nylon_up": "gauge", "nylon_config_timestamp_seconds": "gauge", "nylon_neighbours": "gauge",
    "nylon_active_endpoints": "gauge", "nylon_selected_routes": "gauge", "nylon_advertised_prefixes": "gauge",
    "nylon_wireguard_transmit_bytes_total": "counter", "nylon_wireguard_receive_bytes_total": "counter",
    "nylon_wireguard_peer_transmit_bytes_total": "counter", "nylon_wireguard_peer_receive_bytes_total": "counter",
    "nylon_wireguard_peer_latest_handshake_seconds": "gauge", "nylon_endpoint_active": "gauge",
    "nylon_endpoint_metric": "gauge", "nylon_endpoint_rtt_seconds": "gauge", "nylon_route_metric": "gauge",
    "nylon_node_info": "gauge", "nylon_dataplane_packets_total": "counter",
    "nylon_dataplane_receive_bytes_total": "counter", "nylon_dataplane_forwarded_packets_total": "counter",
    "nylon_dataplane_batches_total": "counter", "nylon_dataplane_batch_packets_total": "counter",
    "nylon_dataplane_drops_total": "counter", "nylon_wireguard_drops_total": "counter",
    "nylon_router_messages_sent_total": "counter", "nylon_router_messages_received_total": "counter",
    "nylon_router_route_changes_total": "counter",
}
errors = []
def check(cond, msg):
    if not cond:
        errors.append(msg)

for node, peer, own, other in (("alpha", "beta", "198.19.0.1", "198.19.0.2"), ("beta", "alpha", "198.19.0.2", "198.19.0.1")):
    a, b = load(f"{node}.1"), load(f"{node}.2")
    s = b["series"]
    for fam, typ in TYPES.items():
        check(b["types"].get(fam) == typ, f"{node}: family {fam} is {b['types'].get(fam)}, expected {typ}")
    check(s.get("nylon_up") == 1, f"{node}: nylon_up {s.get('nylon_up')}")
    check(s.get("nylon_neighbours") == 1, f"{node}: nylon_neighbours {s.get('nylon_neighbours')}")
    check(s.get("nylon_active_endpoints", 0) >= 1, f"{node}: no active endpoint")
    check(s.get("nylon_selected_routes", 0) >= 2, f"{node}: nylon_selected_routes {s.get('nylon_selected_routes')}")
    check(s.get("nylon_advertised_prefixes", 0) >= 2, f"{node}: nylon_advertised_prefixes {s.get('nylon_advertised_prefixes')}")
    check(any(k.startswith("nylon_node_info{") and f'node="{node}"' in k for k in s), f"{node}: no nylon_node_info")
    route = f'nylon_route_metric{{next_hop="{peer}",prefix="{other}/32",router="{peer}"}}'
    check(0 < s.get(route, 0) < 4294967295, f"{node}: {route} = {s.get(route)}")
    active = [k for k, v in s.items() if k.startswith("nylon_endpoint_active{") and f'peer="{peer}"' in k and v == 1]
    check(active, f"{node}: no active endpoint of {peer}")
    for k in active:
        rtt = s.get(k.replace("nylon_endpoint_active", "nylon_endpoint_rtt_seconds"))
        check(rtt is not None and 0 < rtt < 1, f"{node}: {k}: rtt {rtt}")
    hs = s.get(f'nylon_wireguard_peer_latest_handshake_seconds{{peer="{peer}"}}', 0)
    check(abs(hs - time.time()) < 600, f"{node}: latest handshake {hs}, now {time.time()}")
    # Every counter only rises.
    for k, v in a["series"].items():
        fam = re.sub(r"\{.*", "", k)
        if a["types"].get(fam) == "counter":
            check(b["series"].get(k, -1) >= v, f"{node}: counter {k} went from {v} to {b['series'].get(k)}")
    def rise(key, at_least):
        d = b["series"].get(key, 0) - a["series"].get(key, 0)
        check(d >= at_least, f"{node}: {key} rose by {d}, expected at least {at_least}")
        return d
    rise("nylon_wireguard_transmit_bytes_total", count * size)
    rise("nylon_wireguard_receive_bytes_total", count * size)
    rise(f'nylon_wireguard_peer_transmit_bytes_total{{peer="{peer}"}}', count * size)
    rise(f'nylon_wireguard_peer_receive_bytes_total{{peer="{peer}"}}', count * size)
    for d in ("rx", "tx"):
        for side in ("udp", "tun"):
            rise(f'nylon_dataplane_packets_total{{direction="{d}",side="{side}"}}', count)
    rise('nylon_dataplane_receive_bytes_total{side="udp"}', count * size)
    rise('nylon_dataplane_receive_bytes_total{side="tun"}', count * size)
    batches = rise("nylon_dataplane_batches_total", 1)
    pkts = rise("nylon_dataplane_batch_packets_total", count)
    print(f"{node}: wg tx +{b['series']['nylon_wireguard_transmit_bytes_total'] - a['series']['nylon_wireguard_transmit_bytes_total']:.0f} B, "
          f"average batch {pkts / max(batches, 1):.2f} packets")
for e in errors:
    print("  " + e, file=sys.stderr)
sys.exit(1 if errors else 0)
EOF
ny_log "metrics: every family present with its type, counters rose with the traffic"

# At SIGTERM the server is stopped first: the port is closed, and the node still shuts down cleanly.
nyn_stop beta
ip netns exec "${NYN_NS[beta]}" timeout 5 python3 -c "$CLOSED_PY" 127.0.0.1 "$OBS_PORT" ||
	nyn_fail "port $OBS_PORT still accepts connections after beta exited"
ny_log "beta: port $OBS_PORT closed after SIGTERM"

# A port already in use: `nylon run` fails at start and says why, and takes down what it had set up.
ny_bg "${NYN_NS[beta]}" python3 -c "$HOLD_PY" "$OBS_PORT" "$NYN_TMP/hold.ready" </dev/null >"$NYN_TMP/hold.out" 2>&1
hold_pid=$NY_BG_PID
ny_wait_for 5 test -s "$NYN_TMP/hold.ready" || nyn_fail "could not hold port $OBS_PORT: $(cat "$NYN_TMP/hold.out")"
rc=0
ip netns exec "${NYN_NS[beta]}" timeout -k 2 20 "$NYN_BIN" run -c "$NYN_CENTRAL" -n "${NYN_NODE[beta]}" \
	</dev/null >"$NYN_TMP/busy.out" 2>"$NYN_TMP/busy.err" || rc=$?
((rc != 0 && rc != 124 && rc != 137)) ||
	nyn_fail "nylon run with port $OBS_PORT in use: exit status $rc, expected a failure: $(tail -n 20 "$NYN_TMP/busy.err")"
want="Error: run: observability: listen :$OBS_PORT: Address already in use"
grep -qF "$want" "$NYN_TMP/busy.err" || nyn_fail "no '$want' in: $(cat "$NYN_TMP/busy.err")"
! grep -qF "$NYN_READY_LINE" "$NYN_TMP/busy.out" || nyn_fail "nylon printed '$NYN_READY_LINE' although it failed"
nyn_check_gone beta
ny_pid_stop "$hold_pid" || true # its status is the TERM it was stopped with
ny_log "port in use: exit $rc, '$want', nothing left behind"

nyn_stop alpha
ip netns exec "${NYN_NS[alpha]}" timeout 5 python3 -c "$CLOSED_PY" 127.0.0.1 "$OBS_PORT" ||
	nyn_fail "port $OBS_PORT still accepts connections after alpha exited"
ny_log "passed"
