#!/usr/bin/env bash
# Garbage at nylon's UDP port: 10,000 datagrams of random sizes and contents, a share of them shaped to pass the
# first checks (a type byte 1..4, zero reserved bytes, the exact size of a handshake message) so they reach the
# deeper parsers. While and after they arrive, the tunnel between alpha and beta keeps working; alpha's resident
# memory does not grow by more than RSS_GROWTH_MAX_KIB; and at shutdown alpha's counters account for every
# datagram exactly once.
#
#   ns mallory  ny-<pid>-mallory       ns alpha  ny-<pid>-alpha                ns beta  ny-<pid>-beta
#   +-------------------------+        +--------------------------------+       +--------------------------+
#   | python3 flooder         |        | nylon run (id alpha)           |       | nylon run (id beta)      |
#   |   -> 198.18.1.1:57175   |        |   198.19.0.1, fd00::1          |  WG   |   198.19.0.2, fd00::2    |
#   |                         |        |   UDP *:57175                  | <===> |   UDP *:57175            |
#   | veth0 198.18.1.2/24 ----+--------+- veth1 198.18.1.1/24           |       |                          |
#   +-------------------------+        |   veth0 198.18.0.1/24 ---------+-------+- veth0 198.18.0.2/24     |
#                                      +--------------------------------+       +--------------------------+
#
# Where each datagram is counted (src/dataplane/shard.c collect_udp, src/wg/messages.c classify, the engine):
#   - classify says INVALID (shorter than 4 bytes, a reserved byte not zero, a type outside 1..4, a handshake
#     type without its exact size, data shorter than 32 bytes): the shard drops it, `drops: wireguard`.
#   - data (type 4, >= 32 bytes) with an index nobody issued: the shard's lookup fails; the engine counts it as
#     `wireguard drops: unknown_index` and the shard as `drops: wireguard` - each exactly once.
#   - initiation (1, 148 B) and response (2, 92 B): queued for the control thread, where the engine checks mac1
#     first (also under load) and counts `wireguard drops: invalid_mac1`; cookie replies (3, 64 B) name an
#     unknown receiver index: `wireguard drops: unknown_index`. A full queue is `drops: handshake_queue_full`.
# So, for N_invalid + N_data + N_handshake datagrams that reached the socket:
#   drops: wireguard                                                  == N_invalid + N_data
#   wireguard unknown_index + invalid_mac1 + drops handshake_queue_full == N_data + N_handshake
# Datagrams the kernel dropped before nylon read them (UDP RcvbufErrors/InErrors in alpha's namespace, read
# before and after) widen each equality to [expected - kernel_drops, expected]. The tunnel's own traffic
# (pings, keepalives) adds to none of these counters.
#
# Run alone: `ctest -R netns.run_garbage` or `NY_BUILD_DIR=<build> bash test/netns/run_garbage.sh`.
# Needs root, /dev/net/tun, ping and python3; skips (77) without.
set -eu -o pipefail

here=$(dirname "${BASH_SOURCE[0]}")
source "$here/lib_nylon.sh"

nyn_setup_or_skip ping python3

readonly IO_BACKEND=${NY_IO_BACKEND:-auto}
readonly FLOOD_COUNT=10000
readonly WARMUP_COUNT=1000
readonly FLOOD_TIMEOUT=20        # seconds for the flooder itself
readonly RSS_GROWTH_MAX_KIB=8192 # alpha's VmRSS after the flood, over the value after the warm-up
readonly DURING_PINGS=15         # echo requests beta -> alpha while the flood runs, 0.15 s apart

# The flooder. Arguments: destination, port, count, seed, seconds to spread the datagrams over. Prints one line
# "sent=N invalid=N empty=N data=N same_index=N initiation=N response=N cookie=N": the categories as nylon's
# classifier sees them (the same rules as src/wg/messages.c, applied to what was actually sent); empty (0-byte
# datagrams) are a subset of invalid; same_index are data packets sent in bursts of 10 sharing one receiver
# index, counted apart from data.
readonly FLOOD_PY='
import random, socket, sys, time
dst, port, count, seed, spread = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), float(sys.argv[5])
rng = random.Random(seed)
SIZES = {1: 148, 2: 92, 3: 64}

def rand(n):
    return rng.randbytes(n)

def make():
    r = rng.random()
    if r < 0.02:                      # shorter than the 4-byte header
        return rand(rng.randint(0, 3))
    if r < 0.40:                      # anything
        return rand(rng.randint(0, 1500))
    if r < 0.55:                      # a plausible header, any size
        return bytes([rng.randint(1, 4), 0, 0, 0]) + rand(rng.randint(0, 1496))
    if r < 0.70:                      # transport data with an index nobody issued
        return bytes([4, 0, 0, 0]) + rand(rng.randint(28, 1496))
    t = 1 if r < 0.80 else 2 if r < 0.90 else 3
    return bytes([t, 0, 0, 0]) + rand(SIZES[t] - 4)   # a handshake message of the exact size

def same_index_burst():               # transport data: several packets with one unknown receiver index
    index = rand(4)
    return [bytes([4, 0, 0, 0]) + index + rand(rng.randint(24, 1488)) for _ in range(BURST)]

def classify(b):
    if len(b) < 4 or b[1] or b[2] or b[3]:
        return "invalid"
    if b[0] in SIZES:
        return {1: "initiation", 2: "response", 3: "cookie"}[b[0]] if len(b) == SIZES[b[0]] else "invalid"
    if b[0] == 4:
        return "data" if len(b) >= 32 else "invalid"
    return "invalid"

BURST = 10
counts = dict.fromkeys(["invalid", "empty", "data", "same_index", "initiation", "response", "cookie"], 0)
sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
start, sent, pace, i = time.monotonic(), 0, 50, 0
while i < count:
    # Every 500 datagrams, a burst of BURST data packets sharing one receiver index (2% of the flood), sent
    # back to back so they tend to arrive in one receive batch.
    burst = i % 500 == 250 and count - i >= BURST
    for b in same_index_burst() if burst else [make()]:
        i += 1
        try:
            sock.sendto(b, (dst, port))
        except OSError as e:
            print("send failed: %s" % e, file=sys.stderr)
            continue
        sent += 1
        kind = classify(b)
        counts["same_index" if burst else kind] += 1
        counts["empty"] += not b
        if i % pace == 0:              # pace: the flood lasts about `spread` seconds
            delay = start + spread * i / count - time.monotonic()
            if delay > 0:
                time.sleep(delay)
print("sent=%d " % sent + " ".join("%s=%d" % kv for kv in counts.items()), flush=True)
'

# udp_errors NS: UDP datagrams the kernel dropped on receive in NS (InErrors, which includes RcvbufErrors), IPv4
# and IPv6 stacks summed.
udp_errors() {
	ip netns exec "$1" cat /proc/net/snmp /proc/net/snmp6 | awk '
		/^Udp: InDatagrams/ { for (i = 2; i <= NF; i++) col[$i] = i; next }
		/^Udp: / { n += $col["InErrors"] }
		/^Udp6InErrors/ { n += $2 }
		END { print n + 0 }'
}

# flood COUNT SEED SECONDS: runs the flooder in mallory, bounded; its summary line goes to $NYN_TMP/flood.SEED.
flood() {
	ip netns exec "$m" timeout "$FLOOD_TIMEOUT" python3 -c "$FLOOD_PY" 198.18.1.1 "$NYN_PORT" "$1" "$2" "$3" \
		>"$NYN_TMP/flood.$2" || nyn_fail "the flooder failed (seed $2)"
	ny_log "flood (seed $2): $(cat "$NYN_TMP/flood.$2")"
}

# field NAME FILE: a number from the flooder's summary line.
field() {
	tr ' ' '\n' <"$2" | awk -F= -v k="$1" '$1 == k { print $2 }'
}

nyn_init
nyn_two_nodes
m=$(ny_name mallory)
ny_netns_add "$m"
ny_veth_add "${NYN_NS[alpha]}" veth1 "$m" veth0
ip -n "${NYN_NS[alpha]}" addr add 198.18.1.1/24 dev veth1
ip -n "$m" addr add 198.18.1.2/24 dev veth0

nyn_start alpha --io "$IO_BACKEND"
nyn_start beta --io "$IO_BACKEND"
nyn_wait_ping alpha 198.19.0.2 10
nyn_ping beta 198.19.0.1 || nyn_fail "ping beta -> 198.19.0.1 lost replies"

# Warm-up: the first garbage and the first pings touch every code path and buffer, so the RSS baseline is taken
# with the allocator already at its working size.
kernel_drops0=$(udp_errors "${NYN_NS[alpha]}")
flood "$WARMUP_COUNT" 1 0.3
nyn_ping alpha 198.19.0.2 || nyn_fail "ping alpha -> 198.19.0.2 lost replies after the warm-up flood"
rss_before=$(nyn_rss_kib alpha)

# The flood, with beta pinging alpha through the tunnel meanwhile.
ny_bg "${NYN_NS[beta]}" ping -n -q -c "$DURING_PINGS" -i 0.15 -W 2 198.19.0.1 </dev/null >"$NYN_TMP/during.ping" 2>&1
during_pid=$NY_BG_PID
flood "$FLOOD_COUNT" 2 2
during_rc=0
ny_wait_pid 10 "$during_pid" || during_rc=$?
sed 's/^/    /' "$NYN_TMP/during.ping"
grep -q "$DURING_PINGS packets transmitted, $DURING_PINGS received" "$NYN_TMP/during.ping" ||
	nyn_fail "ping beta -> alpha during the flood lost replies (status $during_rc)"

# After: the tunnel works both ways, over both families.
nyn_ping alpha 198.19.0.2 || nyn_fail "ping alpha -> 198.19.0.2 lost replies after the flood"
nyn_ping beta 198.19.0.1 || nyn_fail "ping beta -> 198.19.0.1 lost replies after the flood"
nyn_ping alpha fd00::2 || nyn_fail "ping alpha -> fd00::2 lost replies after the flood"

rss_after=$(nyn_rss_kib alpha)
ny_log "alpha VmRSS: $rss_before KiB after the warm-up, $rss_after KiB after $FLOOD_COUNT datagrams" \
	"(+$((rss_after - rss_before)) KiB, at most $RSS_GROWTH_MAX_KIB allowed)"
((rss_after - rss_before <= RSS_GROWTH_MAX_KIB)) ||
	nyn_fail "alpha's VmRSS grew by $((rss_after - rss_before)) KiB during the flood"
kernel_drops=$(($(udp_errors "${NYN_NS[alpha]}") - kernel_drops0))

nyn_stop alpha
nyn_stop beta

# The accounting (see the header). Both floods count: the counters cover alpha's whole life.
n_invalid=0 n_empty=0 n_data=0 n_same=0 n_hs=0 n_sent=0
for f in "$NYN_TMP/flood.1" "$NYN_TMP/flood.2"; do
	n_sent=$((n_sent + $(field sent "$f")))
	n_invalid=$((n_invalid + $(field invalid "$f")))
	n_empty=$((n_empty + $(field empty "$f")))
	n_same=$((n_same + $(field same_index "$f")))
	n_data=$((n_data + $(field data "$f") + $(field same_index "$f")))
	n_hs=$((n_hs + $(field initiation "$f") + $(field response "$f") + $(field cookie "$f")))
done
dp_wg=$(nyn_drop_count alpha "drops:" wireguard)
dp_hs_full=$(nyn_drop_count alpha "drops:" handshake_queue_full)
wg_unknown=$(nyn_drop_count alpha "wireguard drops:" unknown_index)
wg_mac1=$(nyn_drop_count alpha "wireguard drops:" invalid_mac1)
engine=$((wg_unknown + wg_mac1 + dp_hs_full))
ny_log "sent $n_sent: invalid $n_invalid (of which $n_empty empty), data $n_data, handshake-shaped $n_hs;" \
	"kernel UDP receive errors $kernel_drops"
ny_log "alpha counted: drops wireguard=$dp_wg handshake_queue_full=$dp_hs_full;" \
	"wireguard drops unknown_index=$wg_unknown invalid_mac1=$wg_mac1"

bad=0
check() { # what got expected
	if (($2 > $3 || $2 < $3 - kernel_drops)); then
		echo "FAIL: $NY_SCENARIO: $1: counted $2, expected $3 (kernel dropped $kernel_drops)" >&2
		bad=1
	else
		ny_log "$1: counted $2, expected $3: ok"
	fi
}
check "drops: wireguard (invalid + data, each once)" "$dp_wg" $((n_invalid + n_data))
check "engine: unknown_index + invalid_mac1 + handshake_queue_full (data + handshake-shaped, each once)" \
	"$engine" $((n_data + n_hs))
if ((bad)); then
	echo "--- alpha's counters at shutdown:" >&2
	nyn_stats alpha | sed 's/^/    /' >&2
	# Known ways to miss, named so a failure says which one it is.
	if ((dp_wg == n_invalid - n_empty + 2 * n_data)); then
		echo "--- drops: wireguard == (invalid - empty) + 2 * data: 0-byte datagrams are counted nowhere" \
			"(collect_udp's loop never runs for len 0), and each data packet with an unknown index twice" \
			"(decrypt_all counts the run, inner_packets counts its drop mark again)" >&2
	fi
	if ((engine < n_data + n_hs - kernel_drops)); then
		echo "--- the engine is short by $((n_data + n_hs - engine)) (at most $n_same" \
			"data packets came in bursts sharing one index): decrypt_all looks the index up once per run," \
			"so a run of packets with the same unknown index counts one unknown_index" >&2
	fi
	exit 1
fi
ny_log "passed"
