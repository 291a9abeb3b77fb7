#!/usr/bin/env bash
# Live apply of a changed central.yaml (reference §5.1) on running nodes, through SIGHUP and `nylon reload`: an
# unchanged file is a NOOP, an invalid one is REJECTED and changes nothing, one that adds a node is APPLIED and the
# new node becomes reachable through the mesh, and a node's key rotation is applied without losing a packet
# between the others.
#
#   a ==== b ==== c          first: central.yaml without c, graph `a, b`
#                            then:  c added, graph `a, b` / `b, c` (a reaches c through b)
#                            last:  c's key rotated; a <-> b traffic must not notice
#
# Every node reads the same central.yaml ($NYN_CENTRAL), as when a file is distributed to a mesh.
# Run alone: `ctest -R netns.route_reload` or `NY_BUILD_DIR=<build> bash test/netns/route_reload.sh`.
set -eu -o pipefail

here=$(dirname "${BASH_SOURCE[0]}")
source "$here/lib_mesh.sh"

nym_setup_or_skip

readonly RELOAD_TIMEOUT=10 # seconds for a reload's result to be logged

nym_init
nym_topology_line
nym_write_configs
cp "$NYN_CENTRAL" "$NYN_TMP/full.yaml"

# central.yaml without c: its router entry and the b-c graph line removed.
without_c() {
	python3 - "$1" <<'EOF'
import sys
lines = open(sys.argv[1]).read().split('\n')
out, skip = [], False
for line in lines:
    if line.startswith('  - id: '):
        skip = line.strip() == '- id: c'
    elif not line.startswith('    '):
        skip = False
    if skip or line.strip() == '- b, c':
        continue
    out.append(line)
print('\n'.join(out), end='')
EOF
}
without_c "$NYN_TMP/full.yaml" >"$NYN_CENTRAL"

# reloads NAME: how many reload results NAME has logged so far.
reloads() {
	grep -c 'reload: [A-Z_]*:' "${NYN_LOG[$1]}" || true
}

reloaded_since() {
	(($(reloads "$1") > $2))
}

# reload NAME WANT: SIGHUP to NAME, then its next reload result must be WANT (NOOP, APPLIED, REJECTED, ...).
reload() {
	local name=$1 want=$2 before got
	before=$(reloads "$name")
	kill -HUP "${NYN_PID[$name]}"
	ny_wait_for "$RELOAD_TIMEOUT" reloaded_since "$name" "$before" ||
		nym_fail "$name logged no reload result within $RELOAD_TIMEOUT s of SIGHUP"
	got=$(grep -o 'reload: [A-Z_]*: .*' "${NYN_LOG[$name]}" | tail -n 1)
	[[ "$got" == "reload: $want:"* ]] || nym_fail "$name: reload gave '$got', wanted $want"
	ny_log "$name: $got"
}

nym_forwarding b # b answers traceroute's expired probes (lib_mesh.sh, nym_forwarding)
nym_start a b
nym_wait_ping a "$(nym_addr4 b)" 15

# 1. The same file: nothing to do.
reload a NOOP

# 2. An invalid file: rejected, and the node carries on with the old one.
cp "$NYN_CENTRAL" "$NYN_TMP/good.yaml"
printf '  - a, nobody\n' >>"$NYN_CENTRAL"
reload a REJECTED
cp "$NYN_TMP/good.yaml" "$NYN_CENTRAL"
nyn_ping a "$(nym_addr4 b)" || nym_fail "a lost b after a rejected reload"

# 3. A file that adds c (a neighbour of b only): applied on a (SIGHUP) and b (`nylon reload` over the IPC
# socket), and a reaches c through b.
cp "$NYN_TMP/full.yaml" "$NYN_CENTRAL"
reload a APPLIED
out=$(ip netns exec "${NYN_NS[b]}" timeout 30 "$NYN_BIN" reload -i "${NYN_IF[b]}" 2>&1) ||
	nym_fail "nylon reload on b failed: $out"
grep -q '^Result: APPLIED' <<<"$out" || nym_fail "nylon reload on b: $out"
ny_log "b: nylon reload: $(tr '\n' ' ' <<<"$out")"
nym_start c
nym_wait_ping a "$(nym_addr4 c)" 30
nym_wait_ping c "$(nym_addr6 a)" 10
nym_wait_hops a "$(nym_addr4 c)" "$(nym_addr4 b) $(nym_addr4 c)" 10

# 4. c's key rotates: c restarts with its new key, a and b apply the file with its new public key. Meanwhile a
# pings b every 50 ms: the rotation of another node's key must not cost a packet between them. A count, not a
# deadline, ends the run: with `-w` alone the echo sent just before the deadline counts as lost under load.
ping_log=$NYN_TMP/ping-a-b.log
ny_bg "${NYN_NS[a]}" ping -n -i 0.05 -c 200 -w 30 "$(nym_addr4 b)" </dev/null >"$ping_log" 2>&1
ping_pid=$NY_BG_PID
sleep 1
nyn_keypair c
nyn_node_yaml c "${NYN_NS[c]}" "${NYN_IF[c]}"
python3 - "$NYN_CENTRAL" "$(cat "$NYN_TMP/c.pub")" <<'EOF'
import sys, re
path, pub = sys.argv[1], sys.argv[2]
text = open(path).read()
text = re.sub(r'(  - id: c\n    pubkey: )\S+', lambda m: m.group(1) + pub, text)
open(path, 'w').write(text)
EOF
nym_stop c
reload b APPLIED
reload a APPLIED
grep -q 'peer c: public key rotated' "${NYN_LOG[b]}" || nym_fail "b did not log the rotation of c's key"
nym_start c
nym_wait_ping a "$(nym_addr4 c)" 30
ny_wait_pid 35 "$ping_pid" >/dev/null || true
loss=$(grep -o '[0-9.]*% packet loss' "$ping_log" || echo "no summary")
ny_log "a -> b during the rotation: $(grep 'packets transmitted' "$ping_log" || cat "$ping_log")"
[[ "$loss" == "0% packet loss" ]] || nym_fail "a -> b lost packets while c's key rotated: $loss"

nym_stop_all
ny_log "passed"
