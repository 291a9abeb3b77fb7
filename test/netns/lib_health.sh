# shellcheck shell=bash
# The health-checked anycast failover of health_ping.sh and health_http.sh (reference §5.2, §6.1
# TestHealthcheckPing / TestHealthcheckHTTP). Sourced after lib.sh, lib_nylon.sh and lib_mesh.sh, never run (the
# ctest glob skips every lib*.sh).
#
# r1 and r2 both advertise 198.19.9.9/32, each behind a check of a target inside its own namespace (198.18.77.1 on
# hc0, one end of a veth pair that stays in the namespace). r1's override is 10 and r2's 100000, so r3, adjacent to
# both, selects r1 once both checks pass and its links are measured (`nylon status --json`: the selected route's
# next hop and metric), and the anycast address answers r3's ping. Then, once per failure mode the scenario names,
# r1's target stops answering: within 3 check intervals (delay NYH_DELAY_S) r3 selects r2 and the anycast address
# still answers; restored, r1's check passes again and r3 selects r1 again, also within 3 check intervals (the
# metric gap, 10 vs 100000, far beyond the switching deadband, makes switching back the expected outcome). Both
# switches are timed from r3's log, from the moment the target changed to r3's route_inserted line (`nylon status`
# polling under sanitizers lags by seconds, which is not the failover being measured), then confirmed by
# `nylon status`. r1 logs each transition once (pass, then fail and pass per cycle), with the failure's reason.
# Every node shuts down cleanly.
#
#   ns r1 (1)  hc0: 198.18.77.1/32, 198.19.9.9/32      ns r2 (2)  hc0: 198.18.77.1/32, 198.19.9.9/32
#   (hc0 - hc1: a veth pair inside the namespace)
#   check of 198.18.77.1, override 10                  check of 198.18.77.1, override 100000
#            \ edge 1 198.18.1.0/24                      / edge 2 198.18.2.0/24
#                              ns r3 (3)  graph: r1, r3 / r2, r3
#
# A scenario defines its kind's hooks, then calls nyh_run:
#   nyh_check NAME OVERRIDE      prints NAME's prefix entry (a YAML flow map, prefix $NYH_ANYCAST/32)
#   nyh_targets_start            after hc0 exists in r1 and r2, before nylon starts: what the checks probe
#   nyh_fail_target NAME HOW     NAME's check stops passing, by failure mode HOW; returns once it has
#   nyh_restore_target NAME HOW  NAME's check passes again; returns once the target answers, and may set
#                                NYH_RESTORED_AT (nyh__now's format) to when it did, if that is later than the call
# and may set NYH_FAIL_REASON[HOW], the reason r1 must log for a failure by HOW.
#
# Usage:
#   source "$here/lib_mesh.sh"; source "$here/lib_health.sh"
#   nym_setup_or_skip
#   nyh_check() { ...; }; nyh_targets_start() { ...; }; nyh_fail_target() { ...; }; nyh_restore_target() { ...; }
#   nyh_run ping unreachable

if [[ -n "${NYH_LIB_SOURCED:-}" ]]; then
	return 0
fi
NYH_LIB_SOURCED=1

readonly NYH_ANYCAST=198.19.9.9
readonly NYH_TARGET=198.18.77.1
NYH_DELAY_S=${NYH_DELAY_S:-1}   # check interval, seconds; a scenario may set it before sourcing this file
readonly NYH_OVERRIDE_R1=10
readonly NYH_OVERRIDE_R2=100000
readonly NYH_DEADBAND_PCT=110    # src/route/router.c switch_deadband_pct: a challenger wins at 110 % better
readonly NYH_CONVERGE_TIMEOUT=45 # seconds for r3 to select r1 at a measured link metric after start
readonly NYH_SWITCH_BOUND=3      # check intervals (of NYH_DELAY_S) from the target's change to r3's switch (r3's log)
readonly NYH_LOG_SLACK=5         # seconds on top to wait for r3's log line, so that a late switch is measured
readonly NYH_QUERY_TIMEOUT=30    # seconds for `nylon status` on r3 to show a switch its log shows (each poll of
                                 # an ASan build takes seconds on a loaded machine: 10 s seen)

declare -A NYH_FAIL_REASON=()
NYH_KIND=
NYH_RESTORED_AT=

# nyh__add_checks: r1's and r2's prefix entries (nyh_check) into central.yaml, and every node's configs verified
# again.
nyh__add_checks() {
	local name out
	python3 - "$NYN_CENTRAL" "r1=$(nyh_check r1 "$NYH_OVERRIDE_R1")" "r2=$(nyh_check r2 "$NYH_OVERRIDE_R2")" <<'PY'
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
}

# nyh__add_targets: hc0 in r1 and r2 with the target and the anycast address (a veth rather than a dummy: the
# dummy driver may be missing from the host's kernel).
nyh__add_targets() {
	local name ns
	for name in r1 r2; do
		ns=$(nym_ns "$name")
		ip -n "$ns" link add hc0 type veth peer name hc1 || ny_fail "cannot add a veth pair in $ns"
		ip -n "$ns" link set hc0 up
		ip -n "$ns" link set hc1 up
		ip -n "$ns" addr add "$NYH_TARGET/32" dev hc0
		ip -n "$ns" addr add "$NYH_ANYCAST/32" dev hc0
	done
}

# nyh_selected: "NEXT_HOP METRIC" of the route r3's router selected for the anycast prefix, nothing when there is
# none or it is INF.
nyh_selected() {
	timeout 10 "$NYN_BIN" status -i "${NYN_IF[r3]}" --json 2>/dev/null | python3 -c '
import json, sys
st = json.load(sys.stdin)
for r in st["routes"]["selected"]:
    if r["pubRoute"]["source"]["prefix"] == sys.argv[1] + "/32":
        m = r["pubRoute"]["fd"]["metric"]
        if m < 0xFFFFFFFF:
            print(r["nh"], m)
' "$NYH_ANYCAST" 2>/dev/null || true
}

# nyh__is "NEXT_HOP METRIC" NAME [BELOW]: the selection is through NAME (at a metric below BELOW).
nyh__is() {
	[[ "${1%% *}" == "$2" ]] && { [[ -z "$3" ]] || ((${1#* } < $3)); }
}

# nyh_wait_nh NAME TIMEOUT_MS [BELOW]: waits (bounded) until r3's `nylon status` shows NAME as the next hop (with a
# metric below BELOW); leaves the milliseconds it took in NYH_WAIT_MS and the selected route's metric in NYH_METRIC.
NYH_WAIT_MS=
NYH_METRIC=
nyh_wait_nh() {
	local want=$1 timeout_ms=$2 below=${3:-} t0 sel
	t0=$(date +%s%N)
	while :; do
		sel=$(nyh_selected)
		! nyh__is "$sel" "$want" "$below" || break
		(((($(date +%s%N) - t0) / 1000000) < timeout_ms)) ||
			nym_fail "r3 selects '$sel' for $NYH_ANYCAST, expected $want${below:+ below metric $below}" \
				"(within $timeout_ms ms)" \
				"$(timeout 10 "$NYN_BIN" status -i "${NYN_IF[r3]}" --json 2>&1 | head -c 4000)"
		sleep 0.1
	done
	NYH_WAIT_MS=$((($(date +%s%N) - t0) / 1000000))
	NYH_METRIC=${sel#* }
}

nyh__now() {
	date -u +%Y-%m-%dT%H:%M:%S.%3NZ
}

# nyh__switch_ms SINCE ROUTER: milliseconds from SINCE (nyh__now) to r3's first selection of ROUTER's anycast
# route logged at or after it; nothing when there is none.
nyh__switch_ms() {
	python3 - "$1" "$NYH_ANYCAST" "$2" "${NYN_LOG[r3]}" <<'PY'
import datetime, sys
def t(s):
    return datetime.datetime.strptime(s, "%Y-%m-%dT%H:%M:%S.%fZ")
since, prefix, router, log = t(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
want = f"route_inserted prefix={prefix}/32 router={router} nh={router} "
for line in open(log, errors="replace"):
    if want in line and t(line.split()[0]) >= since:
        print(int((t(line.split()[0]) - since).total_seconds() * 1000))
        break
PY
}

# nyh__inserts ROUTER: how many times r3 has logged selecting ROUTER's anycast route.
nyh__inserts() {
	grep -c "route_inserted prefix=$NYH_ANYCAST/32 router=$1 nh=$1 " "${NYN_LOG[r3]}" || true
}

nyh__inserted_since() { # ROUTER COUNT
	(($(nyh__inserts "$1") > $2))
}

# nyh__switch WHAT SINCE ROUTER COUNT: r3's switch to ROUTER after SINCE (when nyh__inserts ROUTER was COUNT), timed
# from r3's log within NYH_SWITCH_BOUND check intervals; printed. Then `nylon status` shows it, with a metric that
# is r2's override at least through r2 (metrics only add up along a path) and below that one through r1, and the
# anycast address answers through it.
NYH_METRIC_R2=
nyh__switch() {
	local what=$1 since=$2 router=$3 count=$4 ms bound_ms=$((NYH_SWITCH_BOUND * NYH_DELAY_S * 1000))
	ny_wait_for $((NYH_SWITCH_BOUND * NYH_DELAY_S + NYH_LOG_SLACK)) nyh__inserted_since "$router" "$count" ||
		nym_fail "$what: r3's log has no selection of $router within $((NYH_SWITCH_BOUND * NYH_DELAY_S + NYH_LOG_SLACK)) s"
	ms=$(nyh__switch_ms "$since" "$router")
	[[ -n "$ms" ]] || nym_fail "$what: r3's log has no selection of $router after $since"
	echo "health_$NYH_KIND: $what: r3 switched to $router after $ms ms (bound $bound_ms ms)"
	((ms <= bound_ms)) || nym_fail "$what: r3 switched to $router after $ms ms, over $NYH_SWITCH_BOUND check intervals"

	nyh_wait_nh "$router" $((NYH_QUERY_TIMEOUT * 1000))
	ny_log "$what: \`nylon status\` on r3 shows $router, metric $NYH_METRIC (polled for $NYH_WAIT_MS ms)"
	if [[ $router == r2 ]]; then
		((NYH_METRIC >= NYH_OVERRIDE_R2)) || nym_fail "$what: r3's metric through r2 is $NYH_METRIC, below r2's override"
		NYH_METRIC_R2=$NYH_METRIC
	else
		((NYH_METRIC < NYH_METRIC_R2)) ||
			nym_fail "$what: r3's metric through r1 is $NYH_METRIC, not below $NYH_METRIC_R2 through r2"
	fi
	nym_wait_ping r3 "$NYH_ANYCAST" 5
}

nyh__count() {
	grep -c "health: prefix $NYH_ANYCAST/32: $NYH_KIND check of .* $1" "${NYN_LOG[r1]}" || true
}

# nyh__cycle HOW N: the N-th failure of r1's target, by HOW, then its recovery.
nyh__cycle() {
	local how=$1 n=$2 since reason count
	count=$(nyh__inserts r2)
	since=$(nyh__now)
	ny_log "failing r1's target ($how) at $since"
	nyh_fail_target r1 "$how"
	nyh__switch "failure $n ($how)" "$since" r2 "$count"
	[[ "$(nyh__count fails)" == "$n" ]] || nym_fail "r1 logged $(nyh__count fails) failing checks, expected $n"
	reason=$(grep "health: prefix $NYH_ANYCAST/32: $NYH_KIND check of .* fails" "${NYN_LOG[r1]}" | tail -n 1)
	[[ -z "${NYH_FAIL_REASON[$how]:-}" || "$reason" == *"fails (${NYH_FAIL_REASON[$how]})"* ]] ||
		nym_fail "r1's check failed by $how, but not with '${NYH_FAIL_REASON[$how]}': $reason"

	# Timed from before the call, not after: r1 may be selected again before a hook that waits has returned.
	count=$(nyh__inserts r1)
	since=$(nyh__now)
	ny_log "restoring r1's target ($how) at $since"
	NYH_RESTORED_AT=
	nyh_restore_target r1 "$how"
	since=${NYH_RESTORED_AT:-$since}
	ny_log "r1's target answers again since $since"
	nyh__switch "recovery $n ($how)" "$since" r1 "$count"
}

# nyh_run KIND HOW...: the scenario of the header with KIND checks, one failure and recovery of r1's target per
# HOW, in order.
nyh_run() {
	local how n=0 want
	NYH_KIND=$1
	shift
	nym_init
	nym_router r1 1
	nym_router r2 2
	nym_router r3 3
	nym_edge r1 r3
	nym_edge r2 r3
	nym_write_configs
	nyh__add_checks
	nyh__add_targets
	nyh_targets_start
	nym_start_all

	# A new link costs about 1 s (1000000) until 15 probes have measured it (reference §3.4): r1's route at
	# 1000015 is not 110 % better than r2's at 1100005, so r3 would keep r2 after r1's recovery. Failures start
	# once r1's route is cheap enough to win back from r2 whatever r2's link costs.
	nyh_wait_nh r1 $((NYH_CONVERGE_TIMEOUT * 1000)) $((NYH_OVERRIDE_R2 * 100 / NYH_DEADBAND_PCT))
	ny_log "r3 selects r1 for $NYH_ANYCAST ($NYH_KIND checks), metric $NYH_METRIC, after $NYH_WAIT_MS ms"
	nym_wait_ping r3 "$NYH_ANYCAST" 10
	for how in "$@"; do
		nyh__cycle "$how" $((++n))
	done
	# A transition is logged once, not every probe: pass, then fail and pass per cycle.
	want=$((2 * n + 1))
	[[ "$(nyh__count '')" == "$want" ]] ||
		nym_fail "r1 logged $(nyh__count '') check transitions, expected $want (pass, then fail and pass $n times)"

	ny_log "r1's checks: $(grep "health: prefix $NYH_ANYCAST/32: " "${NYN_LOG[r1]}" | tr '\n' ';')"
	ny_log "r3's route events: $(grep "$NYH_ANYCAST" "${NYN_LOG[r3]}" | tr '\n' ';')"
	nym_stop_all
	ny_log "passed"
}
