#!/usr/bin/env bash
# The IPC socket on a running line of three routers (reference §1, §5.4):
#   - `wg show` / `wg showconf` (Debian's wireguard-tools) on b list both neighbours with their public keys,
#     endpoints and, as allowed IPs, the prefixes routed through each (a's and c's tunnel addresses);
#   - set=1 that changes something is refused with a non-zero errno, and the daemon carries on;
#   - `nylon status --json` on b lists both neighbours and selected routes to a's and c's addresses via them;
#     a's status routes c's addresses through b; the human view names the peers;
#   - `nylon probe` of a neighbour reports REPLIED with a latency > 0; an unknown peer exits 1 "not a neighbour";
#   - `nylon reload` of the unchanged file answers NOOP; trace without --dbg-trace-tc fails with its message;
#   - raw get=nylon answers one JSON line without an errno= trailer;
#   - 1,000 malformed requests and 1,000 status requests (20 at a time) leave b healthy and forwarding;
#   - after shutdown the sockets are gone.
#
#   a (198.19.0.1) ---- b (198.19.0.2) ---- c (198.19.0.3)    (lib_mesh.sh's nym_topology_line)
#
# The sockets live in /var/run/wireguard/<interface>.sock, a path shared by every namespace; interface names are
# unique per run, so the CLI runs from the host namespace.
# Needs root, /dev/net/tun, ping, python3 and wg; skips (77) without.
set -eu -o pipefail

here=$(dirname "${BASH_SOURCE[0]}")
source "$here/lib_mesh.sh"

nym_setup_or_skip wg timeout

nym_init
nym_topology_line
nym_write_configs
nym_start_all

a4=$(nym_addr4 a) b4=$(nym_addr4 b) c4=$(nym_addr4 c)
a6=$(nym_addr6 a) c6=$(nym_addr6 c)
ifb=${NYN_IF[b]} ifa=${NYN_IF[a]}
sockb=/var/run/wireguard/$ifb.sock

nym_wait_ping a "$b4" 10
nym_wait_ping c "$b4" 10
nym_wait_ping a "$c4" 30

[[ -S "$sockb" ]] || nym_fail "no socket at $sockb"
perm=$(stat -c %a "$sockb")
[[ "$perm" == 600 ]] || nym_fail "$sockb has mode $perm, expected 600"

pub() { nyn_pub "$1"; }

# ---- wg show / showconf -------------------------------------------------------------------------------------
raw_get() { # the raw get=1 answer, for failure messages
	python3 -c '
import socket, sys
s = socket.socket(socket.AF_UNIX); s.settimeout(5); s.connect(sys.argv[1]); s.sendall(b"get=1\n\n")
buf = b""
while not buf.endswith(b"\n\n"):
    c = s.recv(65536)
    if not c: break
    buf += c
print(buf.decode(errors="replace"))' "$sockb" | grep -v '^private_key='
}
out=$(timeout 10 wg show "$ifb" dump) || nym_fail "wg show $ifb dump failed; raw get=1: $(raw_get)"
ny_log "wg show $ifb dump:"$'\n'"$out"
check_peer() { # name allowed-ip...
	local name=$1 line
	shift
	line=$(grep "^$(pub "$name")"$'\t' <<<"$out") || nym_fail "wg show: no peer $name ($(pub "$name"))"
	for ip in "$@"; do
		grep -q -- "$ip" <<<"$(cut -f4 <<<"$line")" || nym_fail "wg show: peer $name lacks allowed ip $ip: $line"
	done
	grep -q "198.18." <<<"$(cut -f3 <<<"$line")" || nym_fail "wg show: peer $name has no endpoint: $line"
}
check_peer a "$a4/32" "$a6/128"
check_peer c "$c4/32" "$c6/128"
head -n 1 <<<"$out" | grep -q "$(pub b)" || nym_fail "wg show: first line lacks b's public key"
conf=$(timeout 10 wg showconf "$ifb") || nym_fail "wg showconf $ifb failed"
grep -q "^PrivateKey = " <<<"$conf" || nym_fail "wg showconf: no PrivateKey"
[[ $(grep -c '^\[Peer\]' <<<"$conf") == 2 ]] || nym_fail "wg showconf: expected 2 peers: $conf"
grep -q "^AllowedIPs = .*$c4/32" <<<"$conf" || nym_fail "wg showconf: c's allowed IPs missing: $conf"

# ---- set=1 policy --------------------------------------------------------------------------------------------
if timeout 10 wg set "$ifb" listen-port 1 2>/dev/null; then
	nym_fail "wg set listen-port was accepted"
fi
timeout 10 wg set "$ifb" listen-port "$NYN_PORT" || nym_fail "wg set to the current port (a no-op) was refused"

# ---- status --------------------------------------------------------------------------------------------------
"$NYN_BIN" status -i "$ifb" --json >"$NYN_TMP/status_b.json" || nym_fail "nylon status --json failed"
python3 - "$NYN_TMP/status_b.json" "$a4" "$c4" <<'PY' || nym_fail "status --json of b is wrong: $(cat "$NYN_TMP/status_b.json")"
import json, sys
st = json.load(open(sys.argv[1]))
a4, c4 = sys.argv[2], sys.argv[3]
assert st["node"]["nodeId"] == "b", st["node"]
assert [n["peerId"] for n in st["neighbours"]] == ["a", "c"], st["neighbours"]
for n in st["neighbours"]:
    assert any(e["active"] for e in n["endpoints"]), n
    assert isinstance(n["wireguard"]["txBytes"], str)
sel = {r["pubRoute"]["source"]["prefix"]: r for r in st["routes"]["selected"]}
assert sel[a4 + "/32"]["nh"] == "a" and sel[c4 + "/32"]["nh"] == "c", sel
assert st["node"]["stats"]["neighbourCount"] == 2
assert int(st["node"]["stats"]["txBytes"]) > 0
assert st["feasibilityDistances"], "no feasibility distances"
PY
"$NYN_BIN" status -i "$ifa" --json >"$NYN_TMP/status_a.json" || nym_fail "nylon status -i $ifa failed"
python3 - "$NYN_TMP/status_a.json" "$c4" <<'PY' || nym_fail "status --json of a is wrong"
import json, sys
st = json.load(open(sys.argv[1]))
sel = {r["pubRoute"]["source"]["prefix"]: r for r in st["routes"]["selected"]}
assert sel[sys.argv[2] + "/32"]["nh"] == "b", sel
PY
human=$("$NYN_BIN" status -i "$ifb" --full) || nym_fail "nylon status --full failed"
grep -q "^interface: $ifb" <<<"$human" && grep -q "^  a (" <<<"$human" && grep -q "^  c (" <<<"$human" ||
	nym_fail "status human view: $human"
if "$NYN_BIN" status -i "nosuch$$" 2>"$NYN_TMP/err"; then nym_fail "status of a missing interface succeeded"; fi
grep -q "^Error: " "$NYN_TMP/err" || nym_fail "status of a missing interface: $(cat "$NYN_TMP/err")"

# ---- probe, reload, trace ------------------------------------------------------------------------------------
out=$("$NYN_BIN" probe c -i "$ifb" --json) || nym_fail "nylon probe c failed: $out"
python3 -c '
import json, sys
r = json.loads(sys.stdin.read())["probe"]["results"]
assert any(x["status"] == "REPLIED" and int(x["latencyNs"]) > 0 for x in r), r
' <<<"$out" || nym_fail "probe c: no REPLIED with latency: $out"
ny_log "probe c: $("$NYN_BIN" probe c -i "$ifb" --timeout 1s | tr '\n' ' ')"
set +e
out=$("$NYN_BIN" probe nosuch -i "$ifb" 2>&1); rc=$?
set -e
[[ $rc == 1 ]] && grep -q 'not a neighbour' <<<"$out" || nym_fail "probe nosuch: exit $rc: $out"
out=$("$NYN_BIN" reload -i "$ifb") || nym_fail "reload failed: $out"
grep -q "^Result: NOOP" <<<"$out" || nym_fail "reload of the same file: $out"
set +e
out=$(timeout 10 "$NYN_BIN" trace -i "$ifb" 2>&1); rc=$?
set -e
[[ $rc == 1 ]] && grep -q 'tracing not enabled; restart with --dbg-trace-tc' <<<"$out" || nym_fail "trace: exit $rc: $out"

# ---- raw protocol and stress ---------------------------------------------------------------------------------
python3 "$here/ipc_stress.py" "$sockb" || nym_fail "IPC stress on b failed"
kill -0 "${NYN_PID[b]}" 2>/dev/null || nym_fail "b died under IPC stress"
nym_wait_ping a "$c4" 10
"$NYN_BIN" status -i "$ifb" --json >/dev/null || nym_fail "status after the stress failed"

nym_stop_all
for n in a b c; do
	[[ ! -e /var/run/wireguard/${NYN_IF[$n]}.sock ]] || nym_fail "socket of $n left after shutdown"
done
ny_log "passed"
