#!/usr/bin/env bash
# Interop: the nylon WireGuard engine against wireguard-go, the reference userspace implementation, configured
# with wg(8). Our side is ny-wg_interop_peer: the engine driven over a plain UDP socket, building its own ICMP
# echo requests, so the peer's kernel answers them and we check the decrypted replies byte for byte.
#
#   case 1: we initiate the handshake;   case 2: wireguard-go initiates (persistent keepalive), we only respond
#   and also answer its pings. Case 1 seals with the OpenSSL AEAD provider, case 2 with libsodium, so the peer
#   checks the output of both.
#
#   ns A  ny-<pid>-a                                     ns B  ny-<pid>-b
#   +-------------------------------------+              +------------------------------------------+
#   | ny-wg_interop_peer                  |              | wireguard-go: interface ny<pid>w1 / w2   |
#   |   tunnel 198.19.0.1 (no interface:  |              |   198.19.0.2/24, listen-port 51820       |
#   |   the program builds the packets)   |              |   peer = us, allowed-ips 198.19.0.1/32   |
#   |   UDP 198.18.0.1:51820              |              |   kernel answers ICMP echo               |
#   |             veth0 198.18.0.1/24 ----+--------------+---- veth0 198.18.0.2/24                  |
#   +-------------------------------------+              +------------------------------------------+
#
# Run alone: `ctest -R netns.wg_interop` or `NY_BUILD_DIR=<build> bash test/netns/wg_interop.sh`.
# Needs root, /dev/net/tun, wireguard-go and wg (Debian: wireguard-go, wireguard-tools); skips (77) without.
set -eu -o pipefail

source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

ny_require_root_or_skip
ny_require_cmd wireguard-go wg
[[ -c /dev/net/tun ]] || ny_skip "/dev/net/tun is missing (wireguard-go needs a TUN device)"
prog=$(ny_build_bin wg_interop_peer) || exit 1

readonly PORT=51820
readonly UNDERLAY_A=198.18.0.1 UNDERLAY_B=198.18.0.2
readonly TUNNEL_A=198.19.0.1 TUNNEL_B=198.19.0.2
readonly COUNT=3
readonly PROG_TIMEOUT=12 # seconds per case for the program's own deadline; the script waits a little longer

a=$(ny_name a)
b=$(ny_name b)
tmp=$(mktemp -d "/tmp/$(ny_name wg_interop).XXXXXX")
ny_cleanup_add "rm -rf '$tmp'"

ny_netns_add "$a"
ny_netns_add "$b"
ny_veth_add "$a" veth0 "$b" veth0
ip -n "$a" addr add "$UNDERLAY_A/24" dev veth0
ip -n "$b" addr add "$UNDERLAY_B/24" dev veth0

(umask 077 && wg genkey >"$tmp/our.key" && wg genkey >"$tmp/peer.key")
our_pub=$(wg pubkey <"$tmp/our.key")
peer_pub=$(wg pubkey <"$tmp/peer.key")

# The peer's side of case 2 pings us too, so the program's answers (decrypt, reply, encrypt) are checked by the
# peer's kernel. No ping(8) is needed: a raw ICMP socket in python3 sends the requests and checks the replies.
# Arguments: destination, replies wanted, seconds.
readonly PEER_PING_PY='
import os, socket, struct, sys, time

def csum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    return ~s & 0xffff

dst, want, deadline = sys.argv[1], int(sys.argv[2]), time.monotonic() + float(sys.argv[3])
sock = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
ident, seq, got = os.getpid() & 0xffff, 0, 0
while got < want and time.monotonic() < deadline:
    seq += 1
    payload = b"nylon interop peer ping %d" % seq
    head = struct.pack("!BBHHH", 8, 0, 0, ident, seq)
    sock.sendto(struct.pack("!BBHHH", 8, 0, csum(head + payload), ident, seq) + payload, (dst, 0))
    wait_until = min(deadline, time.monotonic() + 0.5)
    while time.monotonic() < wait_until:
        sock.settimeout(max(0.01, wait_until - time.monotonic()))
        try:
            pkt = sock.recv(2048)
        except socket.timeout:
            break
        ihl = (pkt[0] & 15) * 4
        icmp = pkt[ihl:]
        if len(icmp) < 8 or csum(icmp) != 0:
            continue
        typ, code, _, rid, rseq = struct.unpack("!BBHHH", icmp[:8])
        if typ == 0 and rid == ident and rseq == seq and icmp[8:] == payload:
            got += 1
            print("peer ping: reply %d/%d from %s: icmp_seq=%d" % (got, want, dst, seq), flush=True)
            break
sys.exit(0 if got >= want else 1)
'

wg_pid=
wg_if=
prog_pid=
prog_rc=

# Prints everything that tells why a case failed, then fails.
fail_case() {
	local log=$1
	shift
	echo "--- ny-wg_interop_peer output:"
	sed 's/^/    /' "$log" 2>/dev/null || true
	if [[ -n "$wg_if" ]]; then
		echo "--- wg show $wg_if:"
		ip netns exec "$b" wg show "$wg_if" 2>&1 | sed 's/^/    /' || true
		echo "--- wireguard-go log (last 40 lines):"
		tail -n 40 "$tmp/$wg_if.log" 2>/dev/null | sed 's/^/    /' || true
	fi
	ny_fail "$@"
}

# start_wireguard_go IFNAME WG_SET_ARGS...: a fresh wireguard-go interface in ns B, configured and up.
# The interface is up with its address before the peer is configured: an endpoint with a persistent keepalive
# starts the handshake at once, and wireguard-go cannot write a decrypted packet into a TUN device that is still
# down (the write fails with EIO and the packet is lost).
start_wireguard_go() {
	local ifname=$1 sock=/var/run/wireguard/$1.sock
	shift
	wg_if=$ifname
	ny_cleanup_add "rm -f '$sock'"
	# -f keeps it in the foreground so its pid is ours to stop; LOG_LEVEL=verbose for the failure dump.
	ny_bg "$b" env LOG_LEVEL=verbose WG_PROCESS_FOREGROUND=1 wireguard-go -f "$ifname" \
		</dev/null >"$tmp/$ifname.log" 2>&1
	wg_pid=$NY_BG_PID
	ny_wait_for 5 test -S "$sock" || fail_case /dev/null "wireguard-go did not create $sock within 5 s"
	ip -n "$b" addr add "$TUNNEL_B/24" dev "$ifname"
	ip -n "$b" link set "$ifname" up
	ip netns exec "$b" wg set "$ifname" private-key "$tmp/peer.key" listen-port "$PORT" "$@"
}

stop_wireguard_go() {
	ny_pid_stop "$wg_pid"
	wg_pid=
	wg_if=
}

# check_result LOG RC: the program succeeded with COUNT replies and wg(8) shows the handshake.
check_result() {
	local log=$1 rc=$2 replies handshake
	[[ "$rc" == 0 ]] || fail_case "$log" "ny-wg_interop_peer exited with $rc"
	replies=$(grep -c ' reply [0-9]*/' "$log" || true)
	((replies >= COUNT)) || fail_case "$log" "expected $COUNT echo replies, got $replies"
	handshake=$(ip netns exec "$b" wg show "$wg_if" latest-handshakes | awk -v k="$our_pub" '$1 == k { print $2 }')
	[[ "${handshake:-0}" != 0 ]] || fail_case "$log" "wg show $wg_if latest-handshakes has no handshake with us"
	sed 's/^/    /' "$log"
	ny_log "wg show $wg_if: latest handshake $handshake," \
		"transfer $(ip netns exec "$b" wg show "$wg_if" transfer | awk '{ print $2 " B rx, " $3 " B tx" }')"
}

# start_prog LOG ARGS...: starts the program in ns A in the background; its pid is left in prog_pid.
start_prog() {
	local log=$1
	shift
	ny_bg "$a" "$prog" --peer-public-key "$peer_pub" --listen-port "$PORT" --our-ip "$TUNNEL_A" \
		--peer-ip "$TUNNEL_B" --count "$COUNT" --timeout "$PROG_TIMEOUT" "$@" >"$log" 2>&1
	prog_pid=$NY_BG_PID
}

# wait_prog: waits for the program, a little longer than its own deadline; its exit status goes to prog_rc
# (124: it overran, and the exit trap stops it).
wait_prog() {
	prog_rc=0
	ny_wait_pid $((PROG_TIMEOUT + 3)) "$prog_pid" || prog_rc=$?
}

case_we_initiate() {
	local log=$tmp/case1.log
	ny_log "case 1: nylon initiates, wireguard-go responds"
	start_wireguard_go "$(ny_ifname w1)" peer "$our_pub" allowed-ips "$TUNNEL_A/32"
	start_prog "$log" --mode initiator --aead openssl --private-key-file "$tmp/our.key" \
		--peer-endpoint "$UNDERLAY_B:$PORT" </dev/null
	wait_prog
	check_result "$log" "$prog_rc"
	grep -q 'accepted handshake response' "$log" || fail_case "$log" "no handshake response was accepted"
	stop_wireguard_go
	ny_log "case 1: passed"
}

case_peer_initiates() {
	local log=$tmp/case2.log peer_pings=0 ping_pid="" ping_rc=0
	ny_log "case 2: wireguard-go initiates, nylon responds"
	if command -v python3 >/dev/null; then
		peer_pings=$COUNT
	else
		ny_log "case 2: no python3, so the peer does not ping us (our echo answers go unchecked)"
	fi
	# Ours first, so the peer's first initiation finds a listener instead of waiting REKEY_TIMEOUT to retry.
	# The key goes through stdin here, the file path in case 1.
	start_prog "$log" --mode responder --aead sodium --answer "$peer_pings" <"$tmp/our.key"
	ny_wait_for 5 grep -q 'listening on UDP' "$log" || fail_case "$log" "ny-wg_interop_peer did not start"
	# A persistent keepalive needs a session, so wireguard-go starts a handshake at once.
	start_wireguard_go "$(ny_ifname w2)" peer "$our_pub" allowed-ips "$TUNNEL_A/32" \
		endpoint "$UNDERLAY_A:$PORT" persistent-keepalive 1
	if ((peer_pings)); then
		ny_bg "$b" python3 -c "$PEER_PING_PY" "$TUNNEL_A" "$peer_pings" "$PROG_TIMEOUT" \
			</dev/null >"$tmp/peer_ping.log" 2>&1
		ping_pid=$NY_BG_PID
	fi
	wait_prog
	if [[ -n "$ping_pid" ]]; then
		ny_wait_pid 3 "$ping_pid" || ping_rc=$?
		sed 's/^/    /' "$tmp/peer_ping.log"
		[[ "$ping_rc" == 0 ]] || fail_case "$log" "the peer's ping of $TUNNEL_A got fewer than $peer_pings replies"
	fi
	check_result "$log" "$prog_rc"
	# The session must be the one wireguard-go started.
	if grep -q 'sent handshake initiation' "$log" || ! grep -q 'accepted handshake initiation' "$log"; then
		fail_case "$log" "the handshake was not initiated by wireguard-go"
	fi
	stop_wireguard_go
	ny_log "case 2: passed"
}

case_we_initiate
case_peer_initiates
ny_log "both cases passed"
