/* libFuzzer target for received control packets (src/route/wire.c): the input is the decrypted plaintext of a
 * WireGuard transport packet, header and padding included.
 *
 * Besides "no crash, no leak", whatever decodes must survive a round trip: its messages encode (a decoded message
 * is always encodable), in one bundle and in SAFE_MTU bundles, and decoding those gives the same messages back;
 * encoding is deterministic (the second encoding is byte-identical to the first).
 *
 * Seeds for test/fuzz/corpus/fuzz_route_wire are written by the target itself: NY_FUZZ_WRITE_SEEDS=<dir>.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nylon/route_wire.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define PKT_MAX (NY_ROUTE_WIRE_HEADER_LEN + NY_ROUTE_WIRE_PAYLOAD_MAX)

static bool msg_equal(const struct ny_route_msg *a, const struct ny_route_msg *b)
{
	return a->type == b->type && strcmp(a->router_id, b->router_id) == 0 &&
	       ny_conf_cidr_equal(&a->prefix, &b->prefix) && a->seqno == b->seqno && a->metric == b->metric &&
	       a->hop_count == b->hop_count && a->token == b->token && a->has_response == b->has_response &&
	       a->response_token == b->response_token;
}

static void check_same(const struct ny_route_msg *a, const struct ny_route_msg *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!msg_equal(&a[i], &b[i])) {
			fprintf(stderr, "round trip changed message %zu\n", i);
			abort();
		}
}

/* All of msgs in one bundle; returns its length. */
static size_t encode_whole(const struct ny_route_msg *msgs, size_t n, uint8_t *pkt)
{
	size_t len;
	int k = ny_route_wire_encode_mtu(msgs, n, NY_ROUTE_WIRE_PAYLOAD_MAX + 1, pkt, PKT_MAX, &len);

	if (k != (int)n) {
		fprintf(stderr, "encode of %zu decoded messages returned %d\n", n, k);
		abort();
	}
	return len;
}

/* msgs in bundles under SAFE_MTU, each decoded back and compared. */
static void check_packed(const struct ny_route_msg *msgs, size_t n)
{
	static uint8_t pkt[PKT_MAX];
	static struct ny_route_msg back[NY_ROUTE_WIRE_MAX_MSGS];
	size_t done = 0;

	while (done < n) {
		size_t len, payload;
		int k = ny_route_wire_encode(msgs + done, n - done, pkt, sizeof(pkt), &len);

		if (k < 1)
			abort();
		payload = len - NY_ROUTE_WIRE_HEADER_LEN;
		if (k > 1 && payload >= NY_ROUTE_WIRE_SAFE_MTU)
			abort();
		if (ny_route_wire_decode(pkt, len, back, NY_ROUTE_WIRE_MAX_MSGS) != k)
			abort();
		check_same(back, msgs + done, (size_t)k);
		done += (size_t)k;
	}
}

static int run_one(const uint8_t *data, size_t size)
{
	static struct ny_route_msg first[NY_ROUTE_WIRE_MAX_MSGS], second[NY_ROUTE_WIRE_MAX_MSGS];
	static uint8_t pkt1[PKT_MAX], pkt2[PKT_MAX];
	size_t len1, len2;
	int n = ny_route_wire_decode(data, size, first, NY_ROUTE_WIRE_MAX_MSGS);

	if (n > 0 && !ny_route_wire_is_control(data, size))
		abort(); /* the receive path would never have handed it to us */
	if (n <= 0)
		return n;
	len1 = encode_whole(first, (size_t)n, pkt1);
	if (ny_route_wire_decode(pkt1, len1, second, NY_ROUTE_WIRE_MAX_MSGS) != n)
		abort();
	check_same(first, second, (size_t)n);
	len2 = encode_whole(second, (size_t)n, pkt2);
	if (len2 != len1 || memcmp(pkt1, pkt2, len1))
		abort();
	check_packed(first, (size_t)n);
	return n;
}

/* ---- seeds ---- */

static struct ny_route_msg msg(enum ny_route_msg_type type, const char *id, const char *pfx)
{
	struct ny_route_msg m;

	memset(&m, 0, sizeof(m));
	m.type = type;
	snprintf(m.router_id, sizeof(m.router_id), "%s", id);
	if (pfx && ny_conf_cidr_parse(&m.prefix, pfx))
		abort();
	return m;
}

static void write_seed(const char *dir, const char *name, const struct ny_route_msg *msgs, size_t n, size_t pad)
{
	uint8_t pkt[4096] = { 0 };
	char path[4096];
	size_t len;
	FILE *f;

	if (ny_route_wire_encode(msgs, n, pkt, sizeof(pkt) - pad, &len) != (int)n)
		abort();
	len += pad; /* WireGuard's zero padding */
	fprintf(stderr, "seed %-16s %4zu bytes: %d messages\n", name, len, run_one(pkt, len));
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "wb");
	if (!f || fwrite(pkt, 1, len, f) != len || fclose(f))
		abort();
}

static void write_seeds(const char *dir)
{
	struct ny_route_msg update = msg(NY_ROUTE_MSG_UPDATE, "alpha", "10.0.0.0/24");
	struct ny_route_msg retract = msg(NY_ROUTE_MSG_UPDATE, "node-b.example", "fd00:1::/64");
	struct ny_route_msg request = msg(NY_ROUTE_MSG_SEQNO_REQUEST, "gamma", "2001:db8::/32");
	struct ny_route_msg ping = msg(NY_ROUTE_MSG_PROBE, "", NULL);
	struct ny_route_msg pong = msg(NY_ROUTE_MSG_PROBE, "", NULL);
	struct ny_route_msg ack = msg(NY_ROUTE_MSG_ACK_RETRACT, "", "192.168.7.0/24");

	update.seqno = 3;
	update.metric = 12345;
	retract.seqno = 0xFFFF;
	retract.metric = NY_ROUTE_INF;
	request.seqno = 0x8001;
	request.hop_count = 64;
	ping.token = 0x0123456789abcdefu;
	pong.token = 7;
	pong.has_response = true;
	pong.response_token = 0;

	const struct ny_route_msg all[] = { request, update, retract, ping, pong, ack };

	write_seed(dir, "update", &update, 1, 13);
	write_seed(dir, "seqno-request", &request, 1, 0);
	write_seed(dir, "ping", &ping, 1, 3);
	write_seed(dir, "pong", &pong, 1, 0);
	write_seed(dir, "ack-retract", &ack, 1, 0);
	write_seed(dir, "bundle", all, sizeof(all) / sizeof(all[0]), 9);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *seed_dir = getenv("NY_FUZZ_WRITE_SEEDS");

	if (seed_dir) {
		write_seeds(seed_dir);
		exit(0);
	}
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	run_one(data, size);
	return 0;
}
