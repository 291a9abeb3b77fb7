#!/usr/bin/env bash
# io_uring refused by a seccomp filter, as in a container with the default profile: `nylon run` (io auto) must
# say why it does not use io_uring, fall back to epoll, and carry traffic. The other node uses io_uring.
#
#   ns alpha  ny-<pid>-alpha                              ns beta  ny-<pid>-beta
#   +-------------------------------------+               +-------------------------------------+
#   | ny-no_io_uring nylon run (alpha)    |               | nylon run (beta)                    |
#   |   io_uring_setup -> EPERM: epoll    |   WireGuard   |   io auto                           |
#   |   198.19.0.1, fd00::1               | <===========> |   198.19.0.2, fd00::2               |
#   |             veth0 198.18.0.1/24 ----+---------------+---- veth0 198.18.0.2/24             |
#   +-------------------------------------+               +-------------------------------------+
#
# Run alone: `ctest -R netns.run_io_uring_blocked`. Needs root, /dev/net/tun and ping; skips (77) without.
set -eu -o pipefail

here=$(dirname "${BASH_SOURCE[0]}")
source "$here/lib_nylon.sh"

nyn_setup_or_skip ping

nyn_init
blocker=$(ny_build_bin no_io_uring) || exit 1
"$blocker" true || { [[ $? -eq 77 ]] && ny_skip "seccomp filters are not available here"; ny_fail "ny-no_io_uring does not work"; }
nyn_two_nodes

# nyn_start runs $NYN_BIN: for alpha, a wrapper that puts nylon under the filter.
real_bin=$NYN_BIN
wrapper=$NYN_TMP/nylon-no-io-uring
printf '#!/bin/sh\nexec "%s" "%s" "$@"\n' "$blocker" "$real_bin" >"$wrapper"
chmod 755 "$wrapper"
NYN_BIN=$wrapper
nyn_start alpha
NYN_BIN=$real_bin
nyn_start beta

log=$(cat "${NYN_LOG[alpha]}")
grep -q 'io_uring not used: io_uring is disabled here' <<<"$log" || nyn_fail "alpha did not say why io_uring is not used"
grep -q 'io epoll' <<<"$log" || nyn_fail "alpha is not on epoll"
grep -q 'io io_uring' <<<"$(cat "${NYN_LOG[beta]}")" || ny_log "note: beta is not on io_uring either (host)"
ny_log "alpha fell back to epoll and said why"

nyn_wait_ping alpha 198.19.0.2 10
nyn_ping beta 198.19.0.1 || nyn_fail "ping beta -> 198.19.0.1 lost replies"
nyn_ping alpha fd00::2 || nyn_fail "ping alpha -> fd00::2 lost replies"
nyn_stop alpha
nyn_stop beta
ny_log "passed"
