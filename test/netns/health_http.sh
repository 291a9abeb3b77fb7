#!/usr/bin/env bash
# Health-checked anycast failover with http checks (reference §5.2, §6.1 TestHealthcheckHTTP): the scenario and
# topology of lib_health.sh. r1 and r2 check http://198.18.77.1:8080/health, served by health_server.py in their own
# namespace. r1's target fails three ways, each followed by its recovery: its server answers 503 (the status must
# be 200: the check fails with "HTTP status 503, expected 200") and then 200 again; its server hangs (SIGSTOP: the connection is
# accepted by the kernel but never answered, so the check times out after its delay, "no answer within 2000 ms") and
# is continued; its server is stopped ("Connection refused") and started again.
# Run alone: `ctest -R netns.health_http` or `NY_BUILD_DIR=<build> bash test/netns/health_http.sh`.
# Needs root, /dev/net/tun, ping and python3; skips (77) without.
set -eu -o pipefail

# A check interval of 2 s, not 1 s: a hung server costs up to two intervals by itself (the next probe, then its
# timeout, which is the delay) and the retraction then waits for r1's neighbour flush (500 ms, reference §3.2) and
# r3's selection: up to 2.6 s measured at 1 s on a loaded machine, against 3 s. The rest scales with it.
NYH_DELAY_S=2
here=$(dirname "${BASH_SOURCE[0]}")
source "$here/lib_mesh.sh"
source "$here/lib_health.sh"

nym_setup_or_skip

readonly PORT=8080
readonly SERVE_TIMEOUT=20 # seconds for a server to listen (python start-up on a loaded machine)
declare -A SERVER_PID=()

nyh_check() { # NAME OVERRIDE
	printf '{type: http, prefix: %s/32, url: "http://%s:%s/health", delay: %ss, metric: %s}' \
		"$NYH_ANYCAST" "$NYH_TARGET" "$PORT" "$NYH_DELAY_S" "$2"
}

# status_set NAME CODE: the status NAME's server answers /health with, replaced atomically (the server reads the
# file on every request and must never see it half written).
status_set() {
	echo "$2" >"$NYN_TMP/$1.status.tmp"
	mv -f "$NYN_TMP/$1.status.tmp" "$NYN_TMP/$1.status"
}

server__listening_or_dead() { # PID LOG
	grep -q '^health_server: serving' "$2" || ! kill -0 "$1" 2>/dev/null
}

# server_start NAME: NAME's health_server.py, registered for cleanup; returns once it listens, with
# NYH_RESTORED_AT set to the time it started to.
server_start() {
	local log=$NYN_TMP/$1.http.log pid
	: >"$log"
	ny_bg "$(nym_ns "$1")" python3 "$here/health_server.py" "$NYH_TARGET" "$PORT" "$NYN_TMP/$1.status" \
		</dev/null >>"$log" 2>&1
	pid=$NY_BG_PID
	SERVER_PID[$1]=$pid
	ny_wait_for "$SERVE_TIMEOUT" server__listening_or_dead "$pid" "$log" ||
		ny_fail "the http server of $1 does not listen within $SERVE_TIMEOUT s: $(tr '\n' ';' <"$log")"
	kill -0 "$pid" 2>/dev/null || ny_fail "the http server of $1 exited at start: $(tr '\n' ';' <"$log")"
	NYH_RESTORED_AT=$(sed -n 's/^health_server: serving .* since //p' "$log")
}

# server_stop NAME: SIGTERM (it exits 0) by the pid recorded at its start, KILL after 5 s; reaped and off the
# cleanup registry when this returns, so its port is closed.
server_stop() {
	ny_pid_stop "${SERVER_PID[$1]}" 5
	SERVER_PID[$1]=
}

nyh_targets_start() {
	local name
	for name in r1 r2; do
		status_set "$name" 200
		server_start "$name"
	done
}

nyh_fail_target() { # NAME 503|hung|stopped
	case $2 in
	503) status_set "$1" 503 ;;
	hung) kill -STOP "${SERVER_PID[$1]}" ;;
	stopped) server_stop "$1" ;;
	esac
}

nyh_restore_target() { # NAME 503|hung|stopped
	case $2 in
	503) status_set "$1" 200 ;;
	hung) kill -CONT "${SERVER_PID[$1]}" ;;
	stopped) server_start "$1" ;;
	esac
}

NYH_FAIL_REASON[503]="HTTP status 503, expected 200"
NYH_FAIL_REASON[hung]="no answer within 2000 ms"
NYH_FAIL_REASON[stopped]="Connection refused"
nyh_run http 503 hung stopped
