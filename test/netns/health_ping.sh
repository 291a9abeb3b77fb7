#!/usr/bin/env bash
# Health-checked anycast failover with ping checks (reference §5.2, §6.1 TestHealthcheckPing): the scenario and
# topology of lib_health.sh. r1 and r2 ping 198.18.77.1 on their own hc0 (r2's check also sets bind_if: hc0,
# max_failures 1 for both); r1's target stops answering when its address is deleted (the check fails with
# "Network is unreachable") and answers again when it is added back.
# Run alone: `ctest -R netns.health_ping` or `NY_BUILD_DIR=<build> bash test/netns/health_ping.sh`.
# Needs root, /dev/net/tun, ping and python3; skips (77) without.
set -eu -o pipefail

here=$(dirname "${BASH_SOURCE[0]}")
source "$here/lib_mesh.sh"
source "$here/lib_health.sh"

nym_setup_or_skip

nyh_check() { # NAME OVERRIDE
	printf '{type: ping, prefix: %s/32, addr: %s, delay: %ss, max_failures: 1, metric: %s%s}' \
		"$NYH_ANYCAST" "$NYH_TARGET" "$NYH_DELAY_S" "$2" "$([[ $1 != r2 ]] || echo ', bind_if: hc0')"
}

nyh_targets_start() {
	: # the address on hc0 (lib_health.sh) is the target
}

nyh_fail_target() { # NAME unreachable
	ip -n "$(nym_ns "$1")" addr del "$NYH_TARGET/32" dev hc0
}

nyh_restore_target() { # NAME unreachable
	ip -n "$(nym_ns "$1")" addr add "$NYH_TARGET/32" dev hc0
}

NYH_FAIL_REASON[unreachable]="Network is unreachable"
nyh_run ping unreachable
