# shellcheck shell=bash
# Helpers shared by the network-namespace scenarios in test/netns/. Sourced, never run (the ctest glob skips it).
#
# What it gives a scenario:
#   - names unique to this run (ny-<pid>-<name>), so concurrent runs and other engineers' scenarios never collide;
#   - a cleanup registry run by one EXIT/INT/TERM trap: registered processes are stopped, namespaces deleted
#     (which removes every interface inside them), extra commands run, whatever path the script exits by;
#   - bounded waits (ny_wait_for) so no step can hang the suite;
#   - skips (exit 77) for missing host features, so a scenario never passes without having run.
#
# Address rules for every scenario: IPv4 underlay and tunnel addresses only in 198.18.0.0/15 (RFC 2544
# benchmarking space), IPv6 only in fd00::/8; never 10/8, 172.16/12 or 192.168/16, which the host may use.
# Traffic stays inside the namespaces.
#
# Usage:
#   source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
#   ny_require_root_or_skip
#   a=$(ny_name a); ny_netns_add "$a"
#   ny_bg "$a" some-daemon --flag; pid=$NY_BG_PID

if [[ -n "${NY_LIB_SOURCED:-}" ]]; then
	return 0
fi
NY_LIB_SOURCED=1

NY_PREFIX="ny-$$-"
NY_SCENARIO="$(basename "${0%.sh}")"
NY_START_NS=$(date +%s%N)

ny__pids=()
ny__netns=()
ny__cleanups=()

# ny_log MESSAGE...: one line with the scenario name and the seconds since it started.
ny_log() {
	local now
	now=$(date +%s%N)
	printf '[%s +%d.%03ds] %s\n' "$NY_SCENARIO" $(((now - NY_START_NS) / 1000000000)) \
		$(((now - NY_START_NS) / 1000000 % 1000)) "$*"
}

ny_skip() {
	echo "SKIP: $NY_SCENARIO: $*" >&2
	exit 77
}

ny_fail() {
	echo "FAIL: $NY_SCENARIO: $*" >&2
	exit 1
}

# ny_name SUFFIX: a name unique to this run, for namespaces and files. Interface names must stay under 16
# characters; use ny_ifname for them.
ny_name() {
	printf '%s%s\n' "$NY_PREFIX" "$1"
}

# ny_ifname SUFFIX: an interface name unique to this run, 15 characters at most (IFNAMSIZ - 1). Needed where an
# interface name is global although the interface is not: wireguard-go's control socket lives in
# /var/run/wireguard/<ifname>.sock, which no namespace separates.
ny_ifname() {
	local name="ny$$$1"
	if ((${#name} > 15)); then
		ny_fail "interface name '$name' is longer than 15 characters"
	fi
	printf '%s\n' "$name"
}

# ny_cleanup_add COMMAND: a command string to eval at exit, after processes are stopped and before namespaces
# are deleted. Run in reverse order of registration.
ny_cleanup_add() {
	ny__cleanups+=("$1")
}

# ny_pid_add PID: a process to stop at exit (TERM, then KILL if it is still there after a second).
ny_pid_add() {
	ny__pids+=("$1")
}

# ny_pid_stop PID [TIMEOUT_S]: stops a registered process now (TERM, KILL after TIMEOUT_S, default 2), reaps it
# and takes it off the registry, so the exit trap does not signal a pid the system may have reused. Returns 0
# whatever the process's status: a process ended by the TERM makes `wait` return 143, which must not end a caller
# under set -e.
ny_pid_stop() {
	local pid=$1 timeout_s=${2:-2} i
	kill -TERM "$pid" 2>/dev/null
	ny_wait_for "$timeout_s" ny__not_running "$pid" || kill -KILL "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null || true
	for i in "${!ny__pids[@]}"; do
		[[ "${ny__pids[i]}" == "$pid" ]] && unset 'ny__pids[i]'
	done
	ny__pids=("${ny__pids[@]}")
	return 0
}

ny__stop_pids() {
	local pid alive i
	((${#ny__pids[@]})) || return 0
	for pid in "${ny__pids[@]}"; do
		kill -TERM "$pid" 2>/dev/null
	done
	for ((i = 0; i < 20; i++)); do
		alive=0
		for pid in "${ny__pids[@]}"; do
			kill -0 "$pid" 2>/dev/null && alive=1
		done
		((alive)) || break
		sleep 0.05
	done
	for pid in "${ny__pids[@]}"; do
		kill -KILL "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
	done
	ny__pids=()
}

ny__cleanup() {
	local rc=$? i ns
	set +e
	trap - EXIT INT TERM
	ny__stop_pids
	for ((i = ${#ny__cleanups[@]} - 1; i >= 0; i--)); do
		eval "${ny__cleanups[i]}"
	done
	if ((${#ny__netns[@]})); then
		for ns in "${ny__netns[@]}"; do
			# Processes still inside (one not registered) would keep the namespace alive: end them first.
			ip netns pids "$ns" 2>/dev/null | xargs -r kill -KILL 2>/dev/null
			ip netns del "$ns" 2>/dev/null
		done
	fi
	exit "$rc"
}

# INT and TERM become an exit with the shell's conventional status, so the EXIT trap cleans up once.
trap ny__cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ny_netns_add NAME: creates a namespace with loopback up and registers it for deletion.
ny_netns_add() {
	ip netns add "$1" || ny_fail "ip netns add $1 failed"
	ny__netns+=("$1")
	ip -n "$1" link set lo up
}

# ny_veth_add NS1 IF1 NS2 IF2: a veth pair with one end in each namespace, both up. Created inside the
# namespaces directly, so no interface ever appears in the host's namespace.
ny_veth_add() {
	ip link add "$2" netns "$1" type veth peer name "$4" netns "$3" ||
		ny_fail "creating veth $1/$2 - $3/$4 failed"
	ip -n "$1" link set "$2" up
	ip -n "$3" link set "$4" up
}

# ny_bg NS COMMAND...: runs COMMAND in namespace NS in the background and registers it for cleanup; its pid is
# left in NY_BG_PID (ip netns exec execs the command, so this is the command's own pid). Redirections of the
# call apply to COMMAND, stdin included (`ny_bg "$ns" prog <key`): bash would otherwise give a background
# command /dev/null, hence the explicit 0<&0.
ny_bg() {
	local ns=$1
	shift
	ip netns exec "$ns" "$@" 0<&0 &
	NY_BG_PID=$!
	ny_pid_add "$NY_BG_PID"
}

# ny_wait_for TIMEOUT_S COMMAND...: polls COMMAND every 50 ms until it succeeds (0) or TIMEOUT_S seconds
# pass (1). COMMAND itself must not block.
ny_wait_for() {
	local timeout_s=$1 deadline
	shift
	deadline=$(($(date +%s%N) + timeout_s * 1000000000))
	while :; do
		"$@" >/dev/null 2>&1 && return 0
		(($(date +%s%N) < deadline)) || return 1
		sleep 0.05
	done
}

# ny_wait_pid TIMEOUT_S PID: waits for a background child to exit and returns its status, or 124 when it is
# still running after TIMEOUT_S seconds (it stays registered for cleanup).
ny_wait_pid() {
	local timeout_s=$1 pid=$2
	ny_wait_for "$timeout_s" ny__not_running "$pid" || return 124
	wait "$pid"
}

ny__not_running() {
	! kill -0 "$1" 2>/dev/null
}

# ny_require_root_or_skip: skips unless root and network namespaces can really be created here.
ny_require_root_or_skip() {
	local probe
	(($(id -u) == 0)) || ny_skip "needs root"
	command -v ip >/dev/null || ny_skip "iproute2 (ip) is not installed"
	probe=$(ny_name probe)
	# A container may have ip(8) but refuse namespaces: try one rather than trust `ip netns list`.
	ip netns add "$probe" 2>/dev/null || ny_skip "cannot create network namespaces (ip netns add failed)"
	ip netns del "$probe"
}

# ny_require_cmd CMD...: skips unless every CMD is on PATH.
ny_require_cmd() {
	local cmd
	for cmd in "$@"; do
		command -v "$cmd" >/dev/null || ny_skip "'$cmd' is not installed"
	done
}

# ny_build_bin NAME: prints the path of a program built in $NY_BUILD_DIR (ctest sets it): test helpers
# (test/netns/NAME.c -> test/ny-NAME) first, then the project's binaries in src/. Fails when there is none:
# a scenario whose program was not built has not run, which is not a pass.
ny_build_bin() {
	local name=$1 path
	[[ -n "${NY_BUILD_DIR:-}" ]] || ny_fail "NY_BUILD_DIR is not set (run through ctest, or set it to the build dir)"
	for path in "$NY_BUILD_DIR/test/ny-$name" "$NY_BUILD_DIR/test/$name" "$NY_BUILD_DIR/src/$name"; do
		if [[ -x "$path" ]]; then
			printf '%s\n' "$path"
			return 0
		fi
	done
	ny_fail "no program '$name' in $NY_BUILD_DIR (looked for test/ny-$name, test/$name, src/$name)"
}
