# shellcheck shell=bash
# The command line the netns benchmarks in bench/ share. A benchmark sets its defaults and names its numeric flags,
# then sources this file with its arguments, before it sources test/netns/lib.sh (whose EXIT trap should not run
# for a usage error):
#
#   seconds=5 runs=3
#   NYB_FLAGS=(seconds runs)               # --seconds N sets $seconds, --runs N sets $runs
#   source "$top/bench/lib_bench.sh" "$@"  # sets nylon_args and build_dir; exports NY_BUILD_DIR, NY_NYLON_ARGS
#
# Every benchmark also takes --nylon-args "ARGS" (default none; lib_mesh.sh reads them from NY_NYLON_ARGS),
# --build-dir DIR (default $NY_BUILD_DIR, else $top/build) and -h/--help, which prints the script's `# Usage: `
# line. An unknown argument prints it too and exits 2. The values of NYB_FLAGS are the benchmark's to check.

nyb_name=$(basename "${BASH_SOURCE[-1]}" .sh)
nylon_args=""
build_dir=${NY_BUILD_DIR:-$top/build}

# nyb_usage STATUS: the benchmark's `# Usage: ` line on stdout, then exit STATUS.
nyb_usage() {
	sed -n 's/^# Usage: //p' "${BASH_SOURCE[-1]}"
	exit "${1:-0}"
}

# nyb_load: uptime's load averages, for the first and last lines of a benchmark's output.
nyb_load() {
	uptime | sed 's/.*load average://'
}

nyb__parse() {
	local flag known
	while (($#)); do
		case $1 in
		--nylon-args) nylon_args=$2; shift 2; continue ;;
		--build-dir) build_dir=$2; shift 2; continue ;;
		-h | --help) nyb_usage 0 ;;
		esac
		known=
		for flag in "${NYB_FLAGS[@]}"; do
			if [[ "$1" == "--$flag" ]]; then
				printf -v "$flag" '%s' "$2"
				known=1
				break
			fi
		done
		[[ -n "$known" ]] || { echo "$nyb_name: unknown argument '$1'" >&2; nyb_usage 2; }
		shift 2
	done
}

nyb__parse "$@"
export NY_BUILD_DIR=$build_dir NY_NYLON_ARGS=$nylon_args
