#!/usr/bin/env bash
# The whole test suite, as CI runs it: install dependencies, build Release with -Werror, build with -Werror under ASan+UBSan, run every
# Criterion suite and integration scenario with ctest, then build the libFuzzer targets with clang and smoke-run
# them for a bounded number of iterations. Run as root on Debian 12 (the netns scenarios need it).
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
build=${NY_TEST_BUILD_DIR:-$top/build-test}
jobs=$(nproc)

bash "$top/contrib/install-deps.sh"

echo "== build: gcc, -Werror, ASan+UBSan"
cmake -S "$top" -B "$build/asan" -DCMAKE_BUILD_TYPE=Debug -DNY_WERROR=ON -DNY_SANITIZE=address
cmake --build "$build/asan" -j "$jobs"

# The demo and the benchmarks build Release: the optimiser sees more (e.g. -Wformat-truncation), so it builds
# with -Werror too.
echo "== build: gcc, Release, -Werror"
cmake -S "$top" -B "$build/release" -DCMAKE_BUILD_TYPE=Release -DNY_WERROR=ON
cmake --build "$build/release" -j "$jobs"

echo "== tests: unit and netns (ASan+UBSan)"
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
(cd "$build/asan" && ctest --output-on-failure --timeout 300)

# Criterion's workers cannot start under TSan (its arena mmap fails), so TSan watches the daemon in the scenarios.
echo "== build: gcc, ThreadSanitizer (the concurrent parts: I/O backends, shards, control, routing, trace, health and dist threads)"
cmake -S "$top" -B "$build/tsan" -DCMAKE_BUILD_TYPE=Debug -DNY_WERROR=ON -DNY_SANITIZE=thread -DNY_BUILD_BENCH=OFF
cmake --build "$build/tsan" -j "$jobs"
tsan_scenarios='run_two_nodes|run_two_nodes_epoll|run_two_nodes_uring_compat|run_wg_client|route_line|route_failover'
tsan_scenarios+='|ipc_trace|health_ping|dist_poll'
(cd "$build/tsan" && TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1 \
	ctest --output-on-failure --timeout 300 -R "netns\.($tsan_scenarios)\$")

echo "== build: clang, libFuzzer + ASan"
CC=clang cmake -S "$top" -B "$build/fuzz" -DCMAKE_BUILD_TYPE=Debug -DNY_WERROR=ON -DNY_SANITIZE=address \
	-DNY_BUILD_FUZZ=ON -DNY_BUILD_BENCH=OFF -DNY_NETNS_TESTS=OFF
cmake --build "$build/fuzz" -j "$jobs"

echo "== fuzz smoke runs"
(cd "$build/fuzz" && ctest --output-on-failure --no-tests=error -L fuzz)
