#!/usr/bin/env bash
# `nylon trace` against `nylon run --dbg-trace-tc` on a running line of three routers (reference §1, §4.1, §5.4):
#   - b runs with --dbg-trace-tc, a and c without; b's status says trace enabled;
#   - two `nylon trace -i <b's interface>` run at once (one in b's namespace, one from the host: the socket path
#     is shared); pinging a -> c makes both print `Fwd packet: 198.19.0.1 -> 198.19.0.3, via c` and the reply's
#     `Fwd packet: 198.19.0.3 -> 198.19.0.1, via a`;
#   - `nylon trace` against a (no flag) exits 1 with "tracing not enabled; restart with --dbg-trace-tc";
#   - stopping b ends both open streams at once (exit 0) and b's shutdown stays clean and quick.
#
#   a (198.19.0.1) ---- b (198.19.0.2, --dbg-trace-tc) ---- c (198.19.0.3)    (lib_mesh.sh's nym_topology_line)
#
# Needs root, /dev/net/tun, ping, python3 and timeout; skips (77) without.
set -eu -o pipefail

here=$(dirname "${BASH_SOURCE[0]}")
source "$here/lib_mesh.sh"

nym_setup_or_skip timeout

nym_init
nym_topology_line
nym_write_configs
# b alone gets the flag, on top of NY_NYLON_ARGS.
base_args=("${NYM_ARGS[@]}")
NYM_ARGS=("${base_args[@]}" --dbg-trace-tc)
nym_start b
NYM_ARGS=("${base_args[@]}")
nym_start a c

a4=$(nym_addr4 a) c4=$(nym_addr4 c)
ifa=${NYN_IF[a]} ifb=${NYN_IF[b]}

nym_wait_ping a "$c4" 30

"$NYN_BIN" status -i "$ifb" --json >"$NYN_TMP/status_b.json" || nym_fail "nylon status -i $ifb failed"
python3 -c 'import json, sys; assert json.load(open(sys.argv[1]))["node"]["traceEnabled"] is True' \
	"$NYN_TMP/status_b.json" || nym_fail "b's status does not say trace enabled: $(cat "$NYN_TMP/status_b.json")"

# ---- two tracers at once -------------------------------------------------------------------------------------
ny_bg "${NYN_NS[b]}" timeout 60 "$NYN_BIN" trace -i "$ifb" >"$NYN_TMP/trace1.out" 2>"$NYN_TMP/trace1.err"
t1=$NY_BG_PID
timeout 60 "$NYN_BIN" trace -i "$ifb" >"$NYN_TMP/trace2.out" 2>"$NYN_TMP/trace2.err" &
t2=$!
ny_pid_add "$t2"

fwd="Fwd packet: $a4 -> $c4, via c"
back="Fwd packet: $c4 -> $a4, via a"
traced() { # a ping a -> c (tracers may still be connecting), then both saw both directions
	nym_ping_once a "$c4" || true
	local f
	for f in "$NYN_TMP/trace1.out" "$NYN_TMP/trace2.out"; do
		grep -qF "$fwd" "$f" && grep -qF "$back" "$f" || return 1
	done
}
ny_wait_for 20 traced ||
	nym_fail "trace: no '$fwd' / '$back' in both streams within 20 s:" \
		"$(head -n 20 "$NYN_TMP/trace1.out" "$NYN_TMP/trace1.err" "$NYN_TMP/trace2.out" "$NYN_TMP/trace2.err")"
ny_log "trace on b: $(grep -cF "$fwd" "$NYN_TMP/trace1.out") forward lines a->c; first lines:" \
	"$(head -n 3 "$NYN_TMP/trace1.out" | tr '\n' ';')"
# Only trace lines: nothing else on stdout (the {"ok":true} opening line is not printed).
bad=$(grep -vE '^(Fwd packet|Exit|TTL Expired|Unhandled TC packet|Drop \([a-z_]+\)): [0-9a-f.:]+ -> [0-9a-f.:]+|^Missed [0-9]+ trace lines$' \
	"$NYN_TMP/trace1.out" || true)
[[ -z "$bad" ]] || nym_fail "trace: unexpected lines: $(head -n 5 <<<"$bad")"

# ---- a node without the flag ----------------------------------------------------------------------------------
set +e
out=$(timeout 10 "$NYN_BIN" trace -i "$ifa" 2>&1); rc=$?
set -e
[[ $rc == 1 ]] && grep -q 'tracing not enabled; restart with --dbg-trace-tc' <<<"$out" ||
	nym_fail "trace against a (no --dbg-trace-tc): exit $rc: $out"

# ---- shutdown ends the streams ----------------------------------------------------------------------------------
kill -0 "$t1" 2>/dev/null && kill -0 "$t2" 2>/dev/null || nym_fail "a tracer ended before b stopped"
t0=$(date +%s%N)
nym_stop b
stop_ms=$((($(date +%s%N) - t0) / 1000000))
for t in "$t1" "$t2"; do
	rc=0
	ny_wait_pid 5 "$t" || rc=$?
	ny_pid_stop "$t" 0 || true
	((rc == 0)) || nym_fail "tracer $t exited with $rc after b stopped (124: still running 5 s later)"
done
ny_log "b stopped in $stop_ms ms with two trace streams open; both tracers exited 0"
((stop_ms < 8000)) || nym_fail "b took $stop_ms ms to stop with trace streams open"

nym_stop_all
ny_log "passed"
