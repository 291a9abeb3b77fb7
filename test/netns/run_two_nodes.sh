#!/usr/bin/env bash
# `nylon run` on two routers: the interface, addresses and routes it sets up, pings both ways over IPv4 and
# IPv6 tunnel addresses, a 64 MiB TCP transfer that must arrive byte for byte, and a clean shutdown of both
# (SIGTERM, exit 0, interface, addresses and routes gone).
#
#   ns alpha  ny-<pid>-alpha                              ns beta  ny-<pid>-beta
#   +-------------------------------------+               +-------------------------------------+
#   | nylon run (id alpha)                |               | nylon run (id beta)                 |
#   |   ny<pid>a: 198.19.0.1, fd00::1     |   WireGuard   |   ny<pid>b: 198.19.0.2, fd00::2     |
#   |   python3 TCP sender ---------------+---------------+-> python3 TCP receiver :5201        |
#   |   UDP *:57175                       |   over veth   |   UDP *:57175                       |
#   |             veth0 198.18.0.1/24 ----+---------------+---- veth0 198.18.0.2/24             |
#   +-------------------------------------+               +-------------------------------------+
#
# The I/O backend comes from NY_IO_BACKEND (auto, io_uring or epoll; default auto), passed as `--io`;
# run_two_nodes_epoll.sh forces epoll. NY_RUN_FLAGS adds flags to both `nylon run`s, and NY_EXPECT_IO, when set,
# must appear in each node's start-up line (the backend and the mechanisms it chose), as
# run_two_nodes_uring_compat.sh uses them.
# Run alone: `ctest -R netns.run_two_nodes` or `NY_BUILD_DIR=<build> bash test/netns/run_two_nodes.sh`.
# Needs root, /dev/net/tun, ping and python3; skips (77) without.
set -eu -o pipefail

here=$(dirname "${BASH_SOURCE[0]}")
source "$here/lib_nylon.sh"

nyn_setup_or_skip ping python3 sha256sum

readonly IO_BACKEND=${NY_IO_BACKEND:-auto}
readonly TCP_PORT=5201
readonly TRANSFER_MIB=64
readonly TRANSFER_TIMEOUT=30 # seconds, each end's own socket timeout; the script waits a little longer

# Receiver: one connection, hashes everything until EOF; prints "<bytes> <sha256>". Arguments: address, port,
# file to write "listening" to once it accepts connections, timeout in seconds.
readonly RECV_PY='
import hashlib, socket, sys
addr, port, ready, timeout = sys.argv[1], int(sys.argv[2]), sys.argv[3], float(sys.argv[4])
srv = socket.socket(socket.AF_INET6 if ":" in addr else socket.AF_INET, socket.SOCK_STREAM)
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind((addr, port))
srv.listen(1)
srv.settimeout(timeout)
open(ready, "w").write("listening\n")
conn, _ = srv.accept()
conn.settimeout(timeout)
h, n = hashlib.sha256(), 0
while True:
    b = conn.recv(1 << 20)
    if not b:
        break
    h.update(b)
    n += len(b)
print(n, h.hexdigest(), flush=True)
'
# Sender: connects and sends the file. Arguments: address, port, file, timeout in seconds.
readonly SEND_PY='
import socket, sys
addr, port, path, timeout = sys.argv[1], int(sys.argv[2]), sys.argv[3], float(sys.argv[4])
s = socket.create_connection((addr, port), timeout=timeout)
with open(path, "rb") as f:
    s.sendfile(f)
s.shutdown(socket.SHUT_WR)
s.close()
'

nyn_init
nyn_two_nodes
ny_log "I/O backend: $IO_BACKEND"
# shellcheck disable=SC2086 # NY_RUN_FLAGS may hold several flags
nyn_start alpha --io "$IO_BACKEND" ${NY_RUN_FLAGS:-}
# shellcheck disable=SC2086
nyn_start beta --io "$IO_BACKEND" ${NY_RUN_FLAGS:-}
if [[ -n "${NY_EXPECT_IO:-}" ]]; then
	for n in alpha beta; do
		grep -qF "io $NY_EXPECT_IO" "${NYN_LOG[$n]}" ||
			nyn_fail "$n did not start with 'io $NY_EXPECT_IO': $(grep -o 'io [a-z_]* ([^)]*)' "${NYN_LOG[$n]}")"
	done
fi
nyn_check_net alpha
nyn_check_net beta

# The first echo may wait for a handshake; after it, every echo must be answered.
nyn_wait_ping alpha 198.19.0.2 10
nyn_ping beta 198.19.0.1 || nyn_fail "ping beta -> 198.19.0.1 lost replies"
nyn_wait_ping alpha fd00::2 5
nyn_ping beta fd00::1 || nyn_fail "ping beta -> fd00::1 lost replies"

# 64 MiB of random bytes, alpha -> beta over TCP through the tunnel.
head -c $((TRANSFER_MIB << 20)) /dev/urandom >"$NYN_TMP/payload"
want="$(stat -c %s "$NYN_TMP/payload") $(sha256sum "$NYN_TMP/payload" | cut -d' ' -f1)"
ny_bg "${NYN_NS[beta]}" python3 -c "$RECV_PY" 198.19.0.2 "$TCP_PORT" "$NYN_TMP/recv.ready" "$TRANSFER_TIMEOUT" \
	</dev/null >"$NYN_TMP/recv.out" 2>&1
recv_pid=$NY_BG_PID
ny_wait_for 5 test -s "$NYN_TMP/recv.ready" || nyn_fail "the TCP receiver did not start: $(cat "$NYN_TMP/recv.out")"
t0=$(date +%s%N)
ip netns exec "${NYN_NS[alpha]}" timeout $((TRANSFER_TIMEOUT + 5)) \
	python3 -c "$SEND_PY" 198.19.0.2 "$TCP_PORT" "$NYN_TMP/payload" "$TRANSFER_TIMEOUT" ||
	nyn_fail "the TCP sender failed"
recv_rc=0
ny_wait_pid 10 "$recv_pid" || recv_rc=$?
t1=$(date +%s%N)
[[ "$recv_rc" == 0 ]] || nyn_fail "the TCP receiver failed ($recv_rc): $(cat "$NYN_TMP/recv.out")"
got=$(cat "$NYN_TMP/recv.out")
[[ "$got" == "$want" ]] || nyn_fail "TCP transfer: sent '$want' (bytes sha256), received '$got'"
ny_log "TCP transfer: $TRANSFER_MIB MiB arrived intact in $(((t1 - t0) / 1000000)) ms" \
	"($(awk -v b=$((TRANSFER_MIB << 20)) -v ns=$((t1 - t0)) 'BEGIN { printf "%.2f", b * 8 / ns }') Gbit/s)"

nyn_stop alpha
nyn_stop beta
ny_log "passed"
