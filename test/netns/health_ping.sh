#!/usr/bin/env bash
# Health-checked anycast failover (reference §5.2, §6.1 TestHealthcheckPing / TestHealthcheckHTTP): r1 and r2 both
# advertise 198.19.9.9/32, each behind a check of a target inside its own namespace (10.77.0.1 on hc0, a veth
# end; r2's ping check also sets bind_if: hc0). r1's override is 10 and r2's 100000, so r3, adjacent
# to both, selects r1 once both checks pass (`nylon status --json`: the selected route's next hop), and the
# anycast address answers r3's ping. Then r1's target stops answering (its address is deleted; http: its server is
# stopped): within 3 check intervals (delay 1s, max_failures 1) r3 selects r2, and the anycast address still
# answers (the switch is timed from r3's log: `nylon status` polling under sanitizers lags by seconds). Restored, r1's check passes again and r3 selects r1 again: the metric gap (10 vs 100000, far beyond the
# switching deadband) makes switching back the expected outcome, so the test requires it. Every node shuts down
# cleanly.
#
#   ns r1 (1)  hc0: 10.77.0.1/32, 198.19.9.9/32        ns r2 (2)  hc0: 10.77.0.1/32, 198.19.9.9/32
#   (hc0 - hc1: a veth pair inside the namespace)
#   check: 10.77.0.1, override 10                      check: 10.77.0.1 via hc0, override 100000
#            \ edge 1 198.18.1.0/24                      / edge 2 198.18.2.0/24
#                              ns r3 (3)  graph: r1, r3 / r2, r3
#
# NY_HEALTH_KIND=http (unfinished: the run dies with status 143 when r1's server is stopped) checks
# `http://10.77.0.1:8080/health` instead, served by python3's
# http.server in r1's and r2's namespaces.
# Run alone: `ctest -R netns.health_ping` or `NY_BUILD_DIR=<build> bash test/netns/health_ping.sh`.
# Needs root, /dev/net/tun, ping and python3; skips (77) without.
set -eu -o pipefail

here=$(dirname "${BASH_SOURCE[0]}")
source "$here/lib_mesh.sh"

nym_setup_or_skip

readonly KIND=${NY_HEALTH_KIND:-ping}
readonly ANYCAST=198.19.9.9
readonly TARGET=10.77.0.1
readonly DELAY_S=1
readonly CONVERGE_TIMEOUT=30 # seconds for r3 to select r1 after start (links up, first checks pass)
readonly SWITCH_BOUND=3      # check intervals (of DELAY_S) from the target's failure to r3 selecting r2 (r3's log)
readonly QUERY_SLACK=5       # seconds on top for `nylon status` polling (slow under sanitizers) to see it
readonly RESTORE_TIMEOUT=10  # seconds for r3 to select r1 again after the target is restored

case $KIND in
ping | http) ;;
*) ny_fail "NY_HEALTH_KIND=$KIND: expected ping or http" ;;
esac

nym_init
nym_router r1 1
nym_router r2 2
nym_router r3 3
nym_edge r1 r3
nym_edge r2 r3
nym_write_configs

# The checked prefix on r1 and r2, then the configs verified again.
check() { # NAME OVERRIDE [BIND_IF]
	if [[ $KIND == ping ]]; then
		printf '{type: ping, prefix: %s/32, addr: %s, delay: %ss, max_failures: 1, metric: %s%s}' \
			"$ANYCAST" "$TARGET" "$DELAY_S" "$2" "${3:+, bind_if: $3}"
	else
		printf '{type: http, prefix: %s/32, url: "http://%s:8080/health", delay: %ss, metric: %s}' \
			"$ANYCAST" "$TARGET" "$DELAY_S" "$2"
	fi
}
python3 - "$NYN_CENTRAL" "r1=$(check r1 10)" "r2=$(check r2 100000 hc0)" <<'PY'
import sys
path, extra = sys.argv[1], dict(a.split("=", 1) for a in sys.argv[2:])
out, current = [], None
for line in open(path).read().splitlines():
    if line.startswith("  - id: "):
        current = line.split(": ", 1)[1]
    out.append(line)
    if line.startswith("    endpoints:") and current in extra:
        out += ["    prefixes:", "      - " + extra[current]]
open(path, "w").write("\n".join(out) + "\n")
PY
for name in r1 r2 r3; do
	out=$("$NYN_BIN" verify "$NYN_CENTRAL" --node "${NYN_NODE[$name]}" 2>&1) ||
		ny_fail "nylon verify rejects the health-checked config of $name: $out"
done

# The targets: 10.77.0.1 and the anycast address on hc0 in r1 and r2, one end of a veth pair that stays inside
# the namespace (veth rather than dummy: the dummy driver may be missing from the host's kernel).
for name in r1 r2; do
	ns=$(nym_ns "$name")
	ip -n "$ns" link add hc0 type veth peer name hc1 || ny_fail "cannot add a veth pair in $ns"
	ip -n "$ns" link set hc0 up
	ip -n "$ns" link set hc1 up
	ip -n "$ns" addr add "$TARGET/32" dev hc0
	ip -n "$ns" addr add "$ANYCAST/32" dev hc0
done

declare -A HTTP_PID=()
serve_start() { # NAME
	mkdir -p "$NYN_TMP/www-$1"
	echo ok >"$NYN_TMP/www-$1/health"
	ny_bg "$(nym_ns "$1")" python3 -m http.server --bind "$TARGET" --directory "$NYN_TMP/www-$1" 8080 \
		>"$NYN_TMP/http-$1.log" 2>&1
	HTTP_PID[$1]=$NY_BG_PID
}
serve_up() { # NAME
	ip netns exec "$(nym_ns "$1")" python3 -c "import urllib.request, sys
sys.exit(urllib.request.urlopen('http://$TARGET:8080/health', timeout=1).status != 200)"
}

# fail_target NAME / restore_target NAME: the check of NAME stops / starts passing.
fail_target() {
	if [[ $KIND == ping ]]; then
		ip -n "$(nym_ns "$1")" addr del "$TARGET/32" dev hc0
	else
		ny_pid_stop "${HTTP_PID[$1]}"
	fi
}
restore_target() {
	if [[ $KIND == ping ]]; then
		ip -n "$(nym_ns "$1")" addr add "$TARGET/32" dev hc0
	else
		serve_start "$1"
		ny_wait_for 10 serve_up "$1" || ny_fail "http.server in $1 does not answer"
	fi
}

if [[ $KIND == http ]]; then
	for name in r1 r2; do
		serve_start "$name"
		ny_wait_for 10 serve_up "$name" || ny_fail "http.server in $name does not answer"
	done
fi

nym_start_all

# selected_nh: the next hop r3's router selected for the anycast prefix ("" when none / INF).
selected_nh() {
	"$NYN_BIN" status -i "${NYN_IF[r3]}" --json 2>/dev/null | python3 -c '
import json, sys
st = json.load(sys.stdin)
for r in st["routes"]["selected"]:
    if r["pubRoute"]["source"]["prefix"] == sys.argv[1] + "/32":
        m = r.get("metric", r["pubRoute"].get("metric"))
        if m is None or int(m) < 0xFFFFFFFF:
            print(r["nh"])
' "$ANYCAST" || true
}
nh_is() {
	[[ "$(selected_nh)" == "$1" ]]
}
# wait_nh NAME TIMEOUT_MS: waits (bounded) until r3 selects NAME; prints the milliseconds it took.
wait_nh() {
	local want=$1 timeout_ms=$2 t0 q0
	t0=$(date +%s%N)
	q0=$t0
	while ! nh_is "$want"; do
		(((($(date +%s%N) - t0) / 1000000) < timeout_ms)) ||
			nym_fail "r3 selects '$(selected_nh)' for $ANYCAST, expected $want (within $timeout_ms ms)" \
				"$("$NYN_BIN" status -i "${NYN_IF[r3]}" --json 2>&1 | head -c 4000)"
		sleep 0.1
	done
	echo $((($(date +%s%N) - t0) / 1000000))
}

ms=$(wait_nh r1 $((CONVERGE_TIMEOUT * 1000)))
ny_log "r3 selects r1 for $ANYCAST ($KIND checks) after $ms ms"
nym_wait_ping r3 "$ANYCAST" 10

failed_at=$(date -u +%Y-%m-%dT%H:%M:%S.%3NZ)
ny_log "failing r1's target at $failed_at"
fail_target r1
ms=$(wait_nh r2 $(((SWITCH_BOUND * DELAY_S + QUERY_SLACK) * 1000)))
ny_log "r1's $KIND check failed: \`nylon status\` on r3 shows r2 after $ms ms"
# The switch itself, timed by r3's log: its first selection of r2 after the failure.
ms=$(python3 - "$failed_at" "$ANYCAST" "${NYN_LOG[r3]}" <<'PY'
import datetime, sys
def t(s):
    return datetime.datetime.strptime(s, "%Y-%m-%dT%H:%M:%S.%fZ")
failed = t(sys.argv[1])
for line in open(sys.argv[3], errors="replace"):
    if f"route_inserted prefix={sys.argv[2]}/32 router=r2 nh=r2" in line and t(line.split()[0]) >= failed:
        print(int((t(line.split()[0]) - failed).total_seconds() * 1000))
        break
PY
)
[[ -n "$ms" ]] || nym_fail "r3's log has no selection of r2 after $failed_at"
echo "health_$KIND: failover to r2 after $ms ms (bound $((SWITCH_BOUND * DELAY_S)) s)"
((ms <= SWITCH_BOUND * DELAY_S * 1000)) || nym_fail "r3 switched to r2 after $ms ms, over $SWITCH_BOUND check intervals"
nym_wait_ping r3 "$ANYCAST" 5
grep -q "health: prefix $ANYCAST/32: $KIND check of .* fails" "${NYN_LOG[r1]}" ||
	nym_fail "r1 did not log its failing check"

restore_target r1
ny_log "restored r1's target at $(date -u +%T.%3N)"
ms=$(wait_nh r1 $((RESTORE_TIMEOUT * 1000)))
ny_log "r1's $KIND check passes again: r3 selects r1 after $ms ms"
nym_wait_ping r3 "$ANYCAST" 5
# A transition is logged once, not every probe: passes, fails, passes.
n=$(grep -c "health: prefix $ANYCAST/32: $KIND check of " "${NYN_LOG[r1]}" || true)
[[ $n == 3 ]] || nym_fail "r1 logged $n check transitions, expected 3 (pass, fail, pass)"

ny_log "r1's checks: $(grep "health: prefix $ANYCAST/32: " "${NYN_LOG[r1]}" | tr '\n' ';')"
ny_log "r3's route events: $(grep "$ANYCAST" "${NYN_LOG[r3]}" | tr '\n' ';')"
nym_stop_all
ny_log "passed"
