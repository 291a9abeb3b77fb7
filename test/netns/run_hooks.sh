#!/usr/bin/env bash
# Lifecycle hooks (reference §5.5): each of pre_up, post_up, pre_down and post_down runs once, in that order, at
# its point of the lifecycle, seen from inside the node's namespace:
#   pre_up    the interface exists but has no address yet     -> "pre_up noaddr"
#   post_up   its addresses are on                            -> "post_up addr"
#   pre_down  nylon's addresses are gone, the interface stays -> "pre_down noaddr"
#   post_down the interface is gone                           -> "post_down nodev"
# A missing program and a failing one come first in pre_up: they are logged as warnings, the node runs and the
# later hooks still run. Then the same with no_net_configure, where hooks still run (reference §2.1) and nylon
# adds no address.
#
#   ns alpha  ny-<pid>-alpha
#   +---------------------------------------------------------+
#   | nylon run (id alpha), hooks: $NYN_TMP/hook.sh <phase>    |
#   |   ny<pid>a: 198.19.0.1/32, fd00::1/128 (while up)        |
#   |   veth0 198.18.0.1/24 (to ns beta, idle)                 |
#   +---------------------------------------------------------+
#
# Run alone: `ctest -R netns.run_hooks`. Needs root and /dev/net/tun; skips (77) without.
set -eu -o pipefail

here=$(dirname "${BASH_SOURCE[0]}")
source "$here/lib_nylon.sh"

nyn_setup_or_skip ip

nyn_init
nyn_two_nodes
trace=$NYN_TMP/hooks.trace
hook=$NYN_TMP/hook.sh
# The hook is a script because hooks have no shell; it records its phase and what it sees of the interface.
cat >"$hook" <<SCRIPT
#!/bin/sh
if ! ip link show dev "\$NYLON_INTERFACE" >/dev/null 2>&1; then
	state=nodev
elif ip addr show dev "\$NYLON_INTERFACE" | grep -q 'inet 198\.19\.0\.1/'; then
	state=addr
else
	state=noaddr
fi
echo "\$1 \$state \$NYLON_NODE \$NYLON_HOOK"
echo "\$1 \$state" >>"$trace"
SCRIPT
chmod 755 "$hook"
NYN_ROUTES[alpha]= # beta is not started: no route is learnt
node_yaml=${NYN_NODE[alpha]}
base_yaml=$NYN_TMP/alpha.base.yaml
cp "$node_yaml" "$base_yaml"
hooks_yaml() {
	printf 'pre_up:\n  - /nonexistent/ny-hook-%s\n  - "false"\n  - %s pre_up\n' "$$" "$hook"
	printf 'post_up: ["%s post_up"]\npre_down: ["%s pre_down"]\npost_down: ["%s post_down"]\n' \
		"$hook" "$hook" "$hook"
}

# check_trace EXPECTED...: the trace holds exactly these lines, in this order.
check_trace() {
	local want got
	want=$(printf '%s\n' "$@")
	got=$(cat "$trace" 2>/dev/null || true)
	[[ "$got" == "$want" ]] || nyn_fail "hooks ran as '$(tr '\n' ';' <<<"$got")', expected '$(tr '\n' ';' <<<"$want")'"
}

# 1. With OS configuration.
{ cat "$base_yaml"; hooks_yaml; } >"$node_yaml"
: >"$trace"
nyn_start alpha
check_trace "pre_up noaddr" "post_up addr"
nyn_check_net alpha
log=$(cat "${NYN_LOG[alpha]}")
grep -q "WARN  hooks: pre_up: cannot run \"/nonexistent/ny-hook-$$\": No such file or directory" <<<"$log" ||
	nyn_fail "the missing hook program was not logged as a warning"
grep -q 'WARN  hooks: pre_up: "false" exited with status 1' <<<"$log" ||
	nyn_fail "the failing hook was not logged as a warning"
grep -q "INFO  hooks: pre_up: $hook: pre_up noaddr alpha pre_up" <<<"$log" ||
	nyn_fail "the hook's output (with NYLON_NODE and NYLON_HOOK) was not logged"
nyn_stop alpha
check_trace "pre_up noaddr" "post_up addr" "pre_down noaddr" "post_down nodev"
ny_log "hooks ran in order: $(tr '\n' ';' <"$trace")"

# 2. no_net_configure: hooks still run; nylon never adds the address.
{ cat "$base_yaml"; echo "no_net_configure: true"; hooks_yaml; } >"$node_yaml"
: >"$trace"
saved_addrs=${NYN_ADDRS[alpha]}
NYN_ADDRS[alpha]=
nyn_start alpha
check_trace "pre_up noaddr" "post_up noaddr"
nyn_stop alpha
check_trace "pre_up noaddr" "post_up noaddr" "pre_down noaddr" "post_down nodev"
NYN_ADDRS[alpha]=$saved_addrs
ny_log "no_net_configure: hooks ran in order: $(tr '\n' ';' <"$trace")"
ny_log "passed"
