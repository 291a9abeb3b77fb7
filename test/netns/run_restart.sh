#!/usr/bin/env bash
# A router that dies without cleaning up (SIGKILL) and comes back: the kernel removes its TUN interface, and its
# addresses and routes with it, when the process dies; started again with the same files, it must be reachable
# again within RECOVER_TIMEOUT seconds while the other node keeps running (and keeps its old session until
# the new handshake replaces it). Both end with a clean shutdown.
#
#   ns alpha  ny-<pid>-alpha                              ns beta  ny-<pid>-beta
#   +-------------------------------------+               +-------------------------------------+
#   | nylon run (id alpha)                |               | nylon run (id beta)                 |
#   |   killed with SIGKILL, restarted    |               |   runs throughout                   |
#   |   ny<pid>a: 198.19.0.1, fd00::1     |   WireGuard   |   ny<pid>b: 198.19.0.2, fd00::2     |
#   |   UDP *:57175                       |   over veth   |   UDP *:57175                       |
#   |             veth0 198.18.0.1/24 ----+---------------+---- veth0 198.18.0.2/24             |
#   +-------------------------------------+               +-------------------------------------+
#
# Run alone: `ctest -R netns.run_restart` or `NY_BUILD_DIR=<build> bash test/netns/run_restart.sh`.
# Needs root, /dev/net/tun and ping; skips (77) without.
set -eu -o pipefail

here=$(dirname "${BASH_SOURCE[0]}")
source "$here/lib_nylon.sh"

nyn_setup_or_skip ping

readonly RECOVER_TIMEOUT=10 # seconds from the restart to the first echo reply
readonly IO_BACKEND=${NY_IO_BACKEND:-auto}

nyn_init
nyn_two_nodes
nyn_start alpha --io "$IO_BACKEND"
nyn_start beta --io "$IO_BACKEND"
nyn_wait_ping alpha 198.19.0.2 10
nyn_ping beta 198.19.0.1 || nyn_fail "ping beta -> 198.19.0.1 lost replies"
beta_pid=${NYN_PID[beta]}

# SIGKILL: no shutdown code runs. The interface goes with the last descriptor of its TUN device.
old_pid=${NYN_PID[alpha]}
kill -KILL "$old_pid"
rc=0
ny_wait_pid 5 "$old_pid" || rc=$?
((rc == 137)) || nyn_fail "nylon alpha: expected death by SIGKILL (137), got $rc"
ny_pid_stop "$old_pid" 0 || true # only takes it off the registry
ny_log "nylon alpha killed with SIGKILL"
ny_wait_for 5 nyn_interface_gone alpha ||
	nyn_fail "interface ${NYN_IF[alpha]} is still in ${NYN_NS[alpha]} 5 s after nylon alpha was killed"
nyn_check_gone alpha
ny_log "the kernel removed ${NYN_IF[alpha]} with its addresses and routes"

# Same files, same interface name, same port. beta still holds the old session: the new alpha's handshake
# must replace it (a new initiation is accepted: its timestamp is newer than the last one beta saw).
t0=$(date +%s%N)
nyn_start alpha --io "$IO_BACKEND"
nyn_check_net alpha
ny_wait_for "$RECOVER_TIMEOUT" nyn__ping_once "${NYN_NS[alpha]}" 198.19.0.2 ||
	nyn_fail "no echo reply alpha -> 198.19.0.2 within $RECOVER_TIMEOUT s of the restart"
ny_log "alpha reaches beta again $((($(date +%s%N) - t0) / 1000000)) ms after the restart began"
nyn_ping alpha 198.19.0.2 || nyn_fail "ping alpha -> 198.19.0.2 lost replies after the restart"
nyn_ping beta 198.19.0.1 || nyn_fail "ping beta -> 198.19.0.1 lost replies after the restart"
nyn_ping alpha fd00::2 || nyn_fail "ping alpha -> fd00::2 lost replies after the restart"
nyn_ping beta fd00::1 || nyn_fail "ping beta -> fd00::1 lost replies after the restart"
[[ "${NYN_PID[beta]}" == "$beta_pid" ]] && kill -0 "$beta_pid" 2>/dev/null ||
	nyn_fail "nylon beta did not keep running"

nyn_stop alpha
nyn_stop beta
ny_log "passed"
