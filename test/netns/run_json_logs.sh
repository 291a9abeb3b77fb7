#!/usr/bin/env bash
# `nylon run --json` (reference §1, §5.5; nylon's e2e TestJSONLogging): every line nylon writes to stderr is one
# JSON object whose first keys are time (RFC 3339, UTC, milliseconds), level and msg, with the subsystem as a
# field; router events carry their key=value words as fields. With -v the debug lines are JSON too. The --log
# file copy stays in the text format.
#
#   ns alpha  ny-<pid>-alpha                      ns beta  ny-<pid>-beta
#   +------------------------------+              +------------------------------+
#   | nylon run --json -v -l <file>|   WireGuard  | nylon run --json             |
#   |   ny<pid>a 198.19.0.1        | <==========> |   ny<pid>b 198.19.0.2        |
#   |   veth0 198.18.0.1/24 -------+--------------+-- veth0 198.18.0.2/24        |
#   +------------------------------+              +------------------------------+
#
# Run alone: `ctest -R netns.run_json_logs`. Needs root, /dev/net/tun and python3; skips (77) without.
set -eu -o pipefail

here=$(dirname "${BASH_SOURCE[0]}")
source "$here/lib_nylon.sh"

nyn_setup_or_skip python3

nyn_init
nyn_two_nodes
file_log=$NYN_TMP/alpha.file.log
nyn_start alpha --json -v -l "$file_log"
nyn_start beta --json
nyn_check_net alpha
nyn_wait_ping alpha 198.19.0.2 15
nyn_stop alpha
nyn_stop beta

# check_json NAME MIN_EVENTS: every stderr line of NAME parses (lib_nylon's own "=== nylon run" markers aside);
# prints the number of lines and of route_inserted events.
check_json() {
	python3 - "${NYN_LOG[$1]}" "$2" <<'PY'
import json, re, sys

path, min_events = sys.argv[1], int(sys.argv[2])
time_re = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
lines = events = 0
levels = set()
with open(path, "rb") as f:
    for n, raw in enumerate(f, 1):
        if raw.startswith(b"=== nylon run"):
            continue
        try:
            obj = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, ValueError) as e:
            sys.exit(f"line {n} is not JSON ({e}): {raw!r}")
        if not isinstance(obj, dict) or list(obj)[:4] != ["time", "level", "msg", "subsystem"]:
            sys.exit(f"line {n}: expected time, level, msg, subsystem first: {raw!r}")
        if not time_re.match(obj["time"]):
            sys.exit(f"line {n}: time is not RFC 3339 UTC with milliseconds: {obj['time']!r}")
        if obj["level"] not in ("DEBUG", "INFO", "WARN", "ERROR"):
            sys.exit(f"line {n}: unknown level {obj['level']!r}")
        if not all(isinstance(v, str) for v in obj.values()) or not obj["msg"]:
            sys.exit(f"line {n}: fields must be non-empty strings: {raw!r}")
        levels.add(obj["level"])
        if obj.get("event") == "route_inserted":
            if obj["subsystem"] != "route" or not {"prefix", "router", "nh", "seqno", "metric"} <= obj.keys():
                sys.exit(f"line {n}: route_inserted without its fields: {raw!r}")
            events += 1
        lines += 1
if events < min_events:
    sys.exit(f"{events} route_inserted events, expected at least {min_events}")
print(f"{lines} lines, {events} route_inserted events, levels {' '.join(sorted(levels))}")
PY
}

out=$(check_json alpha 3) || nyn_fail "alpha's --json -v output: $out"
grep -q 'DEBUG' <<<"$out" || nyn_fail "alpha ran with -v but wrote no DEBUG line: $out"
ny_log "alpha: $out"
out=$(check_json beta 3) || nyn_fail "beta's --json output: $out"
ny_log "beta: $out"

# The file copy is text: `<time> <LEVEL> <subsystem>: <message>` on every line.
[[ -s "$file_log" ]] || nyn_fail "the --log file $file_log is empty"
bad=$(grep -vcE '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]{12}Z (DEBUG|INFO |WARN |ERROR) [a-z_]+: ' "$file_log" || true)
((bad == 0)) || nyn_fail "$bad lines of the --log file are not text lines: $(head -n 3 "$file_log")"
grep -q 'INFO  route: route_inserted prefix=198.19.0.2/32 router=beta' "$file_log" ||
	nyn_fail "the --log file has no route_inserted line for beta's address"
ny_log "alpha's --log file: $(wc -l <"$file_log") text lines"
ny_log "passed"
