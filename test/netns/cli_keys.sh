#!/usr/bin/env bash
# nylon key / genkey / pubkey are byte-for-byte interchangeable with wireguard-tools' wg genkey / wg pubkey, and
# malformed private keys end in a clean error (exit 1), never a crash. Needs no namespaces: it lives here because it
# runs the real binary. Exit 0 = pass, 77 = skip (no `wg`), anything else = fail.
set -euo pipefail
umask 077 # the temp files hold private keys

NYLON="${NY_BUILD_DIR:?NY_BUILD_DIR must point at the build directory}/src/nylon"
ROUNDS=20

if ! command -v wg >/dev/null 2>&1; then
	echo "SKIP: wg (wireguard-tools) is not installed"
	exit 77
fi
if [[ ! -x "$NYLON" ]]; then
	echo "FAIL: $NYLON is not built"
	exit 1
fi

tmp="$(mktemp -d "${TMPDIR:-/tmp}/nylon-cli-keys.XXXXXX")"
trap 'rm -rf -- "$tmp"' EXIT
failures=0

fail() {
	echo "FAIL: $*"
	failures=$((failures + 1))
}

# Every command gets a bounded time: a pubkey that waited for more input would otherwise hang the suite.
run() {
	timeout 10 "$@"
}

for ((i = 0; i < ROUNDS; i++)); do
	# wg genkey | nylon pubkey == wg genkey | wg pubkey, for the same key.
	run wg genkey >"$tmp/wg.key"
	if [[ "$(run "$NYLON" pubkey <"$tmp/wg.key")" != "$(run wg pubkey <"$tmp/wg.key")" ]]; then
		fail "round $i: nylon pubkey differs from wg pubkey for a wg genkey key"
	fi

	# nylon genkey | wg pubkey == nylon pubkey of it; and the key's text is what wg would write.
	run "$NYLON" genkey >"$tmp/ny.key"
	if [[ "$(run wg pubkey <"$tmp/ny.key")" != "$(run "$NYLON" pubkey <"$tmp/ny.key")" ]]; then
		fail "round $i: wg pubkey differs from nylon pubkey for a nylon genkey key"
	fi
	if ! grep -Eqx '[A-Za-z0-9+/]{43}=' "$tmp/ny.key" || [[ "$(wc -l <"$tmp/ny.key")" -ne 1 ]]; then
		fail "round $i: nylon genkey did not print one line of 44 base64 characters"
	fi

	# nylon key: private on stdout, its public key on stderr, as wg pubkey computes it.
	run "$NYLON" key >"$tmp/pair.priv" 2>"$tmp/pair.pub"
	if [[ "$(run wg pubkey <"$tmp/pair.priv")" != "$(cat "$tmp/pair.pub")" ]]; then
		fail "round $i: nylon key's stderr is not wg pubkey of its stdout"
	fi

	# The key without its trailing newline (Go nylon panics here; wg accepts it).
	printf '%s' "$(cat "$tmp/wg.key")" >"$tmp/bare.key"
	if [[ "$(run "$NYLON" pubkey <"$tmp/bare.key")" != "$(run wg pubkey <"$tmp/wg.key")" ]]; then
		fail "round $i: nylon pubkey of a key without a trailing newline differs from wg pubkey"
	fi
done

# A public key must be one line on stdout and nothing on stderr.
run "$NYLON" pubkey <"$tmp/wg.key" >"$tmp/out" 2>"$tmp/err" || fail "pubkey of a valid key failed"
[[ "$(wc -l <"$tmp/out")" -eq 1 && ! -s "$tmp/err" ]] || fail "pubkey: expected one line on stdout, none on stderr"

# Malformed private keys: exit 1 with an error on stderr, nothing on stdout, no crash (exit >= 128 is a signal).
key="$(cat "$tmp/wg.key")"
printf '' >"$tmp/bad.empty"
printf '\n' >"$tmp/bad.newline"
printf '%s\n' "${key:0:20}" >"$tmp/bad.short"
printf '%sA\n' "$key" >"$tmp/bad.45chars"
printf '%s\n' "${key:0:43}!" >"$tmp/bad.nonbase64"
printf '%s\n' "${key:0:43}A" >"$tmp/bad.nopadding"
head -c 44 /dev/urandom >"$tmp/bad.binary"
head -c 4096 /dev/urandom >"$tmp/bad.binarylong"
head -c 2048 /dev/zero >"$tmp/bad.zeros"
printf '%s\n%s\n' "$key" "$key" >"$tmp/bad.twokeys"

for f in "$tmp"/bad.*; do
	name="${f##*/bad.}"
	status=0
	run "$NYLON" pubkey <"$f" >"$tmp/out" 2>"$tmp/err" || status=$?
	if ((status >= 128)) || ((status == 124)); then
		fail "malformed ($name): crashed or hung (exit $status)"
	elif ((status != 1)); then
		fail "malformed ($name): exit $status, expected 1"
	elif ! grep -q '^Error: pubkey: invalid private key' "$tmp/err"; then
		fail "malformed ($name): no error message on stderr: $(head -c 200 "$tmp/err")"
	elif [[ -s "$tmp/out" ]]; then
		fail "malformed ($name): printed something on stdout"
	fi
done

# stdin closed altogether: still an error, not a crash.
status=0
run "$NYLON" pubkey <&- >/dev/null 2>"$tmp/err" || status=$?
((status == 1)) || fail "pubkey with stdin closed: exit $status, expected 1"

if ((failures > 0)); then
	echo "cli_keys: $failures failure(s)"
	exit 1
fi
echo "cli_keys: PASS ($ROUNDS rounds against $(wg --version | cut -d' ' -f1-2))"
