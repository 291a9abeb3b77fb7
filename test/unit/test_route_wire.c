/* The control wire codec (src/route/wire.c): known bytes, round trips, bundle packing, hostile input.
 *
 * Known-answer bytes are derived by hand from the protobuf encoding spec (protobuf.dev/programming-guides/encoding:
 * a tag is (field number << 3) | wire type, wire type 0 = varint, 2 = length-delimited; varints are little-endian
 * groups of 7 bits) applied to nylon's proto3 schema as Go's deterministic marshal writes it: fields in number
 * order, zero scalars and empty strings left out, proto3 `optional` ResponseToken written whenever present. Each
 * was cross-checked against libprotobuf's own proto3 encoder (`protoc-c --encode=nylon.TransportBundle` on a proto3
 * copy of the schema, fed the message in text format). */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "nylon/route_wire.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))
#define PKT_MAX 2048

/* ---- helpers ---- */

static struct ny_conf_cidr prefix(const char *text)
{
	struct ny_conf_cidr c;

	cr_assert_eq(ny_conf_cidr_parse(&c, text), 0, "bad test prefix %s", text);
	return c;
}

static struct ny_route_msg update(const char *id, const char *pfx, uint16_t seqno, uint32_t metric)
{
	struct ny_route_msg m;

	memset(&m, 0, sizeof(m));
	m.type = NY_ROUTE_MSG_UPDATE;
	strcpy(m.router_id, id);
	m.prefix = prefix(pfx);
	m.seqno = seqno;
	m.metric = metric;
	return m;
}

static struct ny_route_msg seqno_request(const char *id, const char *pfx, uint16_t seqno, uint32_t hop_count)
{
	struct ny_route_msg m = update(id, pfx, seqno, 0);

	m.type = NY_ROUTE_MSG_SEQNO_REQUEST;
	m.hop_count = hop_count;
	return m;
}

static struct ny_route_msg probe(uint64_t token, bool has_response, uint64_t response_token)
{
	struct ny_route_msg m;

	memset(&m, 0, sizeof(m));
	m.type = NY_ROUTE_MSG_PROBE;
	m.token = token;
	m.has_response = has_response;
	m.response_token = response_token;
	return m;
}

static struct ny_route_msg ack_retract(const char *pfx)
{
	struct ny_route_msg m;

	memset(&m, 0, sizeof(m));
	m.type = NY_ROUTE_MSG_ACK_RETRACT;
	m.prefix = prefix(pfx);
	return m;
}

static void assert_msg_eq(const struct ny_route_msg *got, const struct ny_route_msg *want, const char *what,
			  size_t i)
{
	char g[NY_CONF_CIDR_STRLEN], w[NY_CONF_CIDR_STRLEN];

	ny_conf_cidr_format(&got->prefix, g);
	ny_conf_cidr_format(&want->prefix, w);
	cr_assert_eq(got->type, want->type, "%s: message %zu: type %d, expected %d", what, i, got->type, want->type);
	cr_assert_str_eq(got->router_id, want->router_id, "%s: message %zu: router id", what, i);
	cr_assert(ny_conf_cidr_equal(&got->prefix, &want->prefix), "%s: message %zu: prefix %s, expected %s", what, i,
		  g, w);
	cr_assert_eq(got->seqno, want->seqno, "%s: message %zu: seqno", what, i);
	cr_assert_eq(got->metric, want->metric, "%s: message %zu: metric", what, i);
	cr_assert_eq(got->hop_count, want->hop_count, "%s: message %zu: hop count", what, i);
	cr_assert_eq(got->token, want->token, "%s: message %zu: token", what, i);
	cr_assert_eq(got->has_response, want->has_response, "%s: message %zu: has_response", what, i);
	cr_assert_eq(got->response_token, want->response_token, "%s: message %zu: response token", what, i);
}

/* header + payload */
static size_t wrap(const uint8_t *payload, size_t len, uint8_t *pkt)
{
	pkt[0] = NY_ROUTE_WIRE_MAGIC;
	pkt[1] = (uint8_t)(len >> 8);
	pkt[2] = (uint8_t)len;
	memcpy(pkt + NY_ROUTE_WIRE_HEADER_LEN, payload, len);
	return NY_ROUTE_WIRE_HEADER_LEN + len;
}

static void dump(const char *what, const uint8_t *b, size_t len)
{
	fprintf(stderr, "%s (%zu bytes):", what, len);
	for (size_t i = 0; i < len; i++)
		fprintf(stderr, " %02x", b[i]);
	fprintf(stderr, "\n");
}

/* ---- known bytes ---- */

struct known {
	const char *name;
	struct ny_route_msg msg;
	uint8_t payload[64]; /* the TransportBundle, without the 3-byte header */
	size_t len;
};

#define BYTES(...) { __VA_ARGS__ }, sizeof((uint8_t[]){ __VA_ARGS__ })

static void known_cases(struct known *k, size_t *n)
{
	const struct known cases[] = {
		{ "update", update("b", "10.0.0.2/32", 1, 5),
		  BYTES(0x0a, 0x10,                   /* TransportBundle.Packets (1, LEN) 16 bytes */
			0x0a, 0x0e,                   /* Ny.Update (1, LEN) 14 bytes */
			0x0a, 0x01, 'b',              /* RouteOp.RouterId (1, LEN) "b" */
			0x12, 0x05, 10, 0, 0, 2, 32,  /* RouteOp.Prefix (2, LEN) 10.0.0.2, /32 */
			0x18, 0x01,                   /* RouteOp.Seqno (3, VARINT) 1 */
			0x20, 0x05) },                /* RouteOp.Metric (4, VARINT) 5 */
		{ "update_zero_seqno_and_metric_left_out", update("b", "10.0.0.2/32", 0, 0),
		  BYTES(0x0a, 0x0c, 0x0a, 0x0a, 0x0a, 0x01, 'b', 0x12, 0x05, 10, 0, 0, 2, 32) },
		{ "retraction_inf_max_seqno", update("b", "10.0.0.0/8", 0xFFFF, NY_ROUTE_INF),
		  BYTES(0x0a, 0x16, 0x0a, 0x14, 0x0a, 0x01, 'b', 0x12, 0x05, 10, 0, 0, 0, 8,
			0x18, 0xff, 0xff, 0x03,              /* Seqno 65535: 7 + 7 + 2 bits */
			0x20, 0xff, 0xff, 0xff, 0xff, 0x0f) }, /* Metric 2^32-1: five varint bytes */
		{ "seqno_request_v6", seqno_request("a", "2001:db8::/32", 0, 64),
		  BYTES(0x0a, 0x1a,                   /* Packets 26 bytes */
			0x12, 0x18,                   /* Ny.SeqnoRequest (2, LEN) 24 bytes */
			0x0a, 0x01, 'a',              /* RouterId "a" */
			0x12, 0x11, 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
			32,                           /* Prefix (2, LEN) 17 bytes: 2001:db8::, /32 */
			                              /* Seqno 0: left out */
			0x20, 0x40) },                /* HopCount (4, VARINT) 64 */
		{ "ping", probe(300, false, 0),
		  BYTES(0x0a, 0x05, 0x1a, 0x03,       /* Packets, Ny.Probe (3, LEN) 3 bytes */
			0x08, 0xac, 0x02) },          /* Token (1, VARINT) 300 = 0b10_0101100 */
		{ "ping_token_zero_is_empty", probe(0, false, 0), BYTES(0x0a, 0x02, 0x1a, 0x00) },
		{ "pong_response_zero_still_written", probe(0, true, 0),
		  BYTES(0x0a, 0x04, 0x1a, 0x02,
			0x10, 0x00) },                /* ResponseToken (2, VARINT) 0: present, so written */
		{ "pong_max_tokens", probe(1, true, UINT64_MAX),
		  BYTES(0x0a, 0x0f, 0x1a, 0x0d, 0x08, 0x01,
			0x10, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01) }, /* 2^64-1: ten bytes */
		{ "ack_retract", ack_retract("192.168.1.0/24"),
		  BYTES(0x0a, 0x09, 0x22, 0x07,       /* Packets, Ny.AckRetract (4, LEN) 7 bytes */
			0x0a, 0x05, 192, 168, 1, 0, 24) }, /* Prefix (1, LEN) */
		{ "default_route_v6", ack_retract("::/0"),
		  BYTES(0x0a, 0x15, 0x22, 0x13, 0x0a, 0x11, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0) },
	};

	cr_assert_leq(ARRAY_LEN(cases), *n);
	memcpy(k, cases, sizeof(cases));
	*n = ARRAY_LEN(cases);
}

Test(route_wire, encodes_each_message_type_to_known_bytes)
{
	struct known k[16];
	size_t n = ARRAY_LEN(k);

	known_cases(k, &n);
	for (size_t i = 0; i < n; i++) {
		uint8_t want[PKT_MAX], got[PKT_MAX];
		size_t want_len = wrap(k[i].payload, k[i].len, want), got_len = 0;
		int r = ny_route_wire_encode(&k[i].msg, 1, got, sizeof(got), &got_len);

		cr_assert_eq(r, 1, "%s: encode returned %d", k[i].name, r);
		if (got_len != want_len || memcmp(got, want, want_len)) {
			dump("expected", want, want_len);
			dump("got", got, got_len);
			cr_assert_fail("%s: bytes differ", k[i].name);
		}
	}
}

Test(route_wire, decodes_known_bytes)
{
	struct known k[16];
	size_t n = ARRAY_LEN(k);

	known_cases(k, &n);
	for (size_t i = 0; i < n; i++) {
		uint8_t pkt[PKT_MAX];
		struct ny_route_msg out[2];
		size_t len = wrap(k[i].payload, k[i].len, pkt);
		int r = ny_route_wire_decode(pkt, len, out, ARRAY_LEN(out));

		cr_assert_eq(r, 1, "%s: decode returned %d", k[i].name, r);
		assert_msg_eq(&out[0], &k[i].msg, k[i].name, 0);
	}
}

Test(route_wire, bundles_concatenate_their_elements_in_order)
{
	const struct ny_route_msg msgs[] = { probe(300, false, 0), ack_retract("192.168.1.0/24") };
	const uint8_t want[] = { 0x80, 0x00, 0x12, 0x0a, 0x05, 0x1a, 0x03, 0x08, 0xac, 0x02,
				 0x0a, 0x09, 0x22, 0x07, 0x0a, 0x05, 192, 168, 1, 0, 24 };
	uint8_t got[PKT_MAX];
	size_t len;

	cr_assert_eq(ny_route_wire_encode(msgs, ARRAY_LEN(msgs), got, sizeof(got), &len), 2);
	cr_assert_eq(len, sizeof(want));
	cr_assert_arr_eq(got, want, sizeof(want));
}

Test(route_wire, classifies_version_nibble_8_as_control)
{
	const uint8_t v4 = 0x45, v6 = 0x60, ctl = 0x80, ctl_other = 0x8f;

	cr_assert(ny_route_wire_is_control(&ctl, 1));
	cr_assert(ny_route_wire_is_control(&ctl_other, 1));
	cr_assert_not(ny_route_wire_is_control(&v4, 1));
	cr_assert_not(ny_route_wire_is_control(&v6, 1));
	cr_assert_not(ny_route_wire_is_control(&ctl, 0));
}

/* ---- round trips ---- */

static void round_trip(const char *what, const struct ny_route_msg *msgs, size_t n)
{
	uint8_t pkt[PKT_MAX];
	struct ny_route_msg out[NY_ROUTE_WIRE_MAX_MSGS];
	size_t len;
	int r = ny_route_wire_encode(msgs, n, pkt, sizeof(pkt), &len);

	cr_assert_eq(r, (int)n, "%s: encode consumed %d of %zu", what, r, n);
	r = ny_route_wire_decode(pkt, len, out, ARRAY_LEN(out));
	cr_assert_eq(r, (int)n, "%s: decode returned %d", what, r);
	for (size_t i = 0; i < n; i++)
		assert_msg_eq(&out[i], &msgs[i], what, i);
}

Test(route_wire, round_trips_every_type_and_extreme)
{
	char longest[NY_ROUTE_ID_MAX + 1];

	memset(longest, 'z', NY_ROUTE_ID_MAX);
	longest[NY_ROUTE_ID_MAX] = '\0';
	const struct ny_route_msg msgs[] = {
		update("alpha", "10.0.0.2/32", 1, 5),
		update("node-1.example/b_c", "10.1.0.0/16", 0, 0),
		update(longest, "fd00:1234::/32", 0xFFFF, NY_ROUTE_INF),
		update("b", "0.0.0.0/0", 0x8000, NY_ROUTE_INFM),
		update("b", "2001:db8::1/128", 0x7FFF, NY_ROUTE_HOLD_METRIC),
		update("b", "::ffff:10.0.0.0/104", 2, 1),
		seqno_request("c", "10.0.0.0/8", 0xFFFF, UINT32_MAX),
		seqno_request(longest, "::/0", 0, 0),
		probe(0, false, 0),
		probe(UINT64_MAX, false, 0),
		probe(0, true, 0),
		probe(0x0102030405060708u, true, UINT64_MAX),
		ack_retract("192.168.1.0/24"),
		ack_retract("fe80::/10"),
		ack_retract("10.0.0.1/32"),
	};

	for (size_t i = 0; i < ARRAY_LEN(msgs); i++)
		round_trip("single", &msgs[i], 1);
	round_trip("all in one bundle", msgs, ARRAY_LEN(msgs));
}

Test(route_wire, decode_zeroes_fields_the_type_does_not_use)
{
	struct ny_route_msg in = probe(7, true, 9), out;
	uint8_t pkt[PKT_MAX];
	size_t len;

	/* Garbage in the fields a probe does not carry must not leak onto the wire or back. */
	strcpy(in.router_id, "ignored");
	in.prefix = prefix("10.0.0.0/8");
	in.seqno = 3;
	in.metric = 4;
	in.hop_count = 5;
	cr_assert_eq(ny_route_wire_encode(&in, 1, pkt, sizeof(pkt), &len), 1);
	memset(&out, 0xa5, sizeof(out));
	cr_assert_eq(ny_route_wire_decode(pkt, len, &out, 1), 1);
	assert_msg_eq(&out, &(struct ny_route_msg){ .type = NY_ROUTE_MSG_PROBE, .token = 7, .has_response = true,
						     .response_token = 9 },
		      "probe", 0);
}

/* ---- packing (reference §3.2) ---- */

/* Encodes msgs in as many bundles as it takes; checks each bundle and that decoding them all gives msgs back. */
static size_t pack_all(const struct ny_route_msg *msgs, size_t n, size_t mtu, size_t max_per_bundle)
{
	struct ny_route_msg *back = calloc(n, sizeof(*back));
	size_t done = 0, bundles = 0;

	cr_assert_not_null(back);
	while (done < n) {
		uint8_t pkt[1 << 16];
		size_t len, payload;
		int k = ny_route_wire_encode_mtu(msgs + done, n - done, mtu, pkt, sizeof(pkt), &len);

		cr_assert_geq(k, 1, "bundle %zu: encode returned %d", bundles, k);
		cr_assert_leq((size_t)k, max_per_bundle, "bundle %zu: %d messages", bundles, k);
		payload = (size_t)pkt[1] << 8 | pkt[2];
		cr_assert_eq(len, NY_ROUTE_WIRE_HEADER_LEN + payload);
		cr_assert(k == 1 || payload < mtu, "bundle %zu: %zu bytes of protobuf, limit %zu", bundles, payload,
			  mtu);
		cr_assert_eq(ny_route_wire_decode(pkt, len, back + done, n - done), k);
		done += (size_t)k;
		bundles++;
	}
	for (size_t i = 0; i < n; i++)
		assert_msg_eq(&back[i], &msgs[i], "packed", i);
	free(back);
	return bundles;
}

Test(route_wire, packs_many_updates_into_bundles_under_the_safe_mtu)
{
	enum { N = 300 };
	struct ny_route_msg *msgs = calloc(N, sizeof(*msgs));
	size_t bundles;

	cr_assert_not_null(msgs);
	for (size_t i = 0; i < N; i++) {
		char id[NY_ROUTE_ID_MAX + 1], pfx[64];

		/* Router ids of every length, so bundles fill unevenly. */
		memset(id, 'a' + (char)(i % 26), NY_ROUTE_ID_MAX);
		id[1 + i % NY_ROUTE_ID_MAX] = '\0';
		snprintf(pfx, sizeof(pfx), i % 2 ? "10.%zu.%zu.0/24" : "fd00:%zx:%zx::/48", i / 256, i % 256);
		msgs[i] = update(id, pfx, (uint16_t)(i * 977), (uint32_t)(i * 1000003));
	}
	bundles = pack_all(msgs, N, NY_ROUTE_WIRE_SAFE_MTU, NY_ROUTE_WIRE_MAX_MSGS);
	cr_assert_gt(bundles, 10, "%zu bundles for %d updates of up to 137 bytes", bundles, N);
	free(msgs);
}

Test(route_wire, fills_a_bundle_up_to_just_below_the_safe_mtu)
{
	enum { N = 700 };
	struct ny_route_msg *msgs = calloc(N, sizeof(*msgs));
	uint8_t pkt[PKT_MAX];
	size_t len;

	/* An empty ping is a 4-byte element (0a 02 1a 00): 299 make 1196 bytes, a 300th would reach 1200. */
	cr_assert_not_null(msgs);
	for (size_t i = 0; i < N; i++)
		msgs[i] = probe(0, false, 0);
	cr_assert_eq(ny_route_wire_encode(msgs, N, pkt, sizeof(pkt), &len), 299);
	cr_assert_eq(len, NY_ROUTE_WIRE_HEADER_LEN + 1196);
	cr_assert_eq(pack_all(msgs, N, NY_ROUTE_WIRE_SAFE_MTU, 299), 3);
	free(msgs);
}

Test(route_wire, never_packs_more_than_the_receivers_limit)
{
	enum { N = NY_ROUTE_WIRE_MAX_MSGS + 100 };
	struct ny_route_msg *msgs = calloc(N, sizeof(*msgs));

	cr_assert_not_null(msgs);
	for (size_t i = 0; i < N; i++)
		msgs[i] = probe(i, false, 0);
	cr_assert_eq(pack_all(msgs, N, 1 << 16, NY_ROUTE_WIRE_MAX_MSGS), 2);
	free(msgs);
}

Test(route_wire, an_oversized_message_still_goes_alone)
{
	const struct ny_route_msg msgs[] = {
		update("alpha", "10.0.0.0/24", 1, 100),
		seqno_request("beta", "fd00::/64", 2, 3),
		ack_retract("10.9.0.0/16"),
	};

	/* Every message exceeds these limits: each must go alone, none lost (nylon #113 looped forever). */
	cr_assert_eq(pack_all(msgs, ARRAY_LEN(msgs), 10, 1), ARRAY_LEN(msgs));
	cr_assert_eq(pack_all(msgs, ARRAY_LEN(msgs), 0, 1), ARRAY_LEN(msgs));
}

Test(route_wire, fits_the_bundle_to_the_output_buffer)
{
	const struct ny_route_msg msgs[] = { probe(300, false, 0), probe(300, false, 0), probe(300, false, 0) };
	uint8_t pkt[PKT_MAX];
	size_t len = 99;

	/* Each element is 7 bytes. */
	cr_assert_eq(ny_route_wire_encode(msgs, 3, pkt, NY_ROUTE_WIRE_HEADER_LEN + 6, &len), -ENOBUFS);
	cr_assert_eq(len, 0);
	cr_assert_eq(ny_route_wire_encode(msgs, 3, pkt, NY_ROUTE_WIRE_HEADER_LEN, &len), -ENOBUFS);
	cr_assert_eq(ny_route_wire_encode(msgs, 3, pkt, NY_ROUTE_WIRE_HEADER_LEN + 7, &len), 1);
	cr_assert_eq(ny_route_wire_encode(msgs, 3, pkt, NY_ROUTE_WIRE_HEADER_LEN + 20, &len), 2);
	cr_assert_eq(len, NY_ROUTE_WIRE_HEADER_LEN + 14);
	cr_assert_eq(ny_route_wire_encode(msgs, 0, pkt, sizeof(pkt), &len), 0);
	cr_assert_eq(len, 0);
}

/* ---- messages that cannot be encoded ---- */

Test(route_wire, refuses_to_encode_invalid_messages)
{
	struct ny_route_msg bad[12];
	size_t n = 0;
	uint8_t pkt[PKT_MAX];
	size_t len;

	bad[n++] = update("", "10.0.0.0/8", 1, 1);            /* no router id */
	bad[n++] = update("Alpha", "10.0.0.0/8", 1, 1);       /* upper case */
	bad[n++] = seqno_request("a b", "10.0.0.0/8", 1, 1);  /* space */
	bad[n] = update("a", "10.0.0.0/8", 1, 1);
	memset(bad[n++].router_id, 'a', sizeof(bad[0].router_id)); /* 101 characters, no NUL */
	bad[n] = update("a", "10.0.0.0/8", 1, 1);
	bad[n++].prefix.addr.bytes[3] = 1;                    /* host bits: 10.0.0.1/8 */
	bad[n] = ack_retract("fd00::/8");
	bad[n++].prefix.addr.bytes[15] = 1;
	bad[n] = ack_retract("10.0.0.0/8");
	bad[n++].prefix.bits = 33;
	bad[n] = ack_retract("::/0");
	bad[n++].prefix.bits = 129;
	bad[n] = ack_retract("10.0.0.0/8");
	bad[n++].prefix.addr.family = 0;
	bad[n] = probe(1, false, 0);
	bad[n++].type = (enum ny_route_msg_type)5;
	for (size_t i = 0; i < n; i++)
		cr_assert_eq(ny_route_wire_encode(&bad[i], 1, pkt, sizeof(pkt), &len), -EINVAL, "case %zu", i);
}

Test(route_wire, ends_the_bundle_before_an_invalid_message)
{
	struct ny_route_msg msgs[] = { probe(1, false, 0), probe(2, false, 0), update("", "10.0.0.0/8", 1, 1),
				       probe(3, false, 0) };
	uint8_t pkt[PKT_MAX];
	size_t len;

	cr_assert_eq(ny_route_wire_encode(msgs, 4, pkt, sizeof(pkt), &len), 2);
	cr_assert_eq(ny_route_wire_encode(msgs + 2, 2, pkt, sizeof(pkt), &len), -EINVAL);
	cr_assert_eq(ny_route_wire_encode(msgs + 3, 1, pkt, sizeof(pkt), &len), 1);
}

Test(route_wire, prefix_binary_form_matches_netip)
{
	uint8_t b[NY_ROUTE_WIRE_PREFIX_MAX];
	const uint8_t v4[] = { 10, 1, 2, 0, 24 };
	struct ny_conf_cidr c = prefix("10.1.2.0/24"), back;
	size_t len;

	cr_assert_eq(ny_route_wire_prefix_encode(&c, b, &len), 0);
	cr_assert_eq(len, sizeof(v4));
	cr_assert_arr_eq(b, v4, sizeof(v4));
	cr_assert_eq(ny_route_wire_prefix_decode(b, len, &back), 0);
	cr_assert(ny_conf_cidr_equal(&back, &c));

	c = prefix("2001:db8:ff00::/40");
	cr_assert_eq(ny_route_wire_prefix_encode(&c, b, &len), 0);
	cr_assert_eq(len, 17);
	cr_assert_eq(b[16], 40);
	cr_assert_eq(ny_route_wire_prefix_decode(b, len, &back), 0);
	cr_assert(ny_conf_cidr_equal(&back, &c));
}

Test(route_wire, prefix_decode_masks_host_bits_and_rejects_bad_sizes)
{
	const uint8_t host_bits[] = { 10, 1, 2, 3, 23 }; /* 10.1.2.3/23 */
	const uint8_t zoned[] = { 0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 'e', 't', 'h', '0', 64 };
	const uint8_t bits_ff[] = { 0xff }; /* Go's netip.Prefix{} */
	const uint8_t v4_33[] = { 10, 0, 0, 0, 33 };
	uint8_t v6_129[17] = { 0x20, 0x01 };
	struct ny_conf_cidr c, want;

	cr_assert_eq(ny_route_wire_prefix_decode(host_bits, sizeof(host_bits), &c), 0);
	want = prefix("10.1.2.0/23");
	cr_assert(ny_conf_cidr_equal(&c, &want));
	v6_129[16] = 129;
	cr_assert_eq(ny_route_wire_prefix_decode(zoned, sizeof(zoned), &c), -EINVAL);
	cr_assert_eq(ny_route_wire_prefix_decode(bits_ff, sizeof(bits_ff), &c), -EINVAL);
	cr_assert_eq(ny_route_wire_prefix_decode(v4_33, sizeof(v4_33), &c), -EINVAL);
	cr_assert_eq(ny_route_wire_prefix_decode(v6_129, sizeof(v6_129), &c), -EINVAL);
	cr_assert_eq(ny_route_wire_prefix_decode(v4_33, 0, &c), -EINVAL);
	cr_assert_eq(ny_route_wire_prefix_decode(v4_33, 4, &c), -EINVAL);
	cr_assert_eq(ny_route_wire_prefix_decode(v6_129, 16, &c), -EINVAL);
}

/* ---- hostile input ---- */

/* A bundle of three messages and the payload offsets where its elements end. */
static size_t sample_packet(uint8_t *pkt, struct ny_route_msg *msgs, size_t *ends)
{
	size_t len, at = NY_ROUTE_WIRE_HEADER_LEN;

	msgs[0] = update("alpha", "10.0.0.0/24", 7, 1234);
	msgs[1] = probe(42, true, 43);
	msgs[2] = ack_retract("fd00::/64");
	cr_assert_eq(ny_route_wire_encode(msgs, 3, pkt, PKT_MAX, &len), 3);
	/* Each element is 0x0a, a one-byte length, then that many bytes. */
	for (size_t i = 0; i < 3; i++) {
		cr_assert_eq(pkt[at], 0x0a);
		at += 2 + pkt[at + 1];
		ends[i] = at - NY_ROUTE_WIRE_HEADER_LEN;
	}
	cr_assert_eq(at, len);
	return len;
}

Test(route_wire, rejects_every_truncated_buffer)
{
	uint8_t pkt[PKT_MAX];
	struct ny_route_msg msgs[3], out[3];
	size_t ends[3], len = sample_packet(pkt, msgs, ends);

	/* The length field says more than the buffer holds. Copies, so that ASan sees any read past the end. */
	for (size_t t = 0; t < len; t++) {
		uint8_t *cut = malloc(t ? t : 1);

		memcpy(cut, pkt, t);
		cr_assert_eq(ny_route_wire_decode(cut, t, out, 3), -EINVAL, "truncated to %zu of %zu bytes", t, len);
		free(cut);
	}
}

Test(route_wire, decodes_a_shortened_length_field_only_at_element_boundaries)
{
	uint8_t pkt[PKT_MAX];
	struct ny_route_msg msgs[3], out[3];
	size_t ends[3], len = sample_packet(pkt, msgs, ends);

	/* The buffer is complete but the length field stops early: a valid protobuf only at 0 or after a whole
	 * element, and then exactly those elements. */
	for (size_t l = 0; l < len - NY_ROUTE_WIRE_HEADER_LEN; l++) {
		size_t whole = 0;
		bool boundary = l == 0;
		int r;

		for (size_t i = 0; i < 3; i++)
			if (ends[i] <= l) {
				whole = i + 1;
				boundary |= ends[i] == l;
			}
		pkt[1] = (uint8_t)(l >> 8);
		pkt[2] = (uint8_t)l;
		r = ny_route_wire_decode(pkt, len, out, 3);
		cr_assert_eq(r, boundary ? (int)whole : -EINVAL, "length field %zu: got %d", l, r);
		for (int i = 0; i < r; i++)
			assert_msg_eq(&out[i], &msgs[i], "shortened", (size_t)i);
	}
}

Test(route_wire, ignores_padding_and_rejects_a_length_beyond_the_buffer)
{
	uint8_t pkt[PKT_MAX];
	struct ny_route_msg msgs[3], out[3];
	size_t ends[3], len = sample_packet(pkt, msgs, ends);
	size_t payload = len - NY_ROUTE_WIRE_HEADER_LEN;

	/* WireGuard pads the plaintext to 16 bytes with zeros; anything after the payload is not ours. */
	for (size_t pad = 0; pad <= 32; pad++) {
		memset(pkt + len, pad % 2 ? 0 : 0xee, pad);
		cr_assert_eq(ny_route_wire_decode(pkt, len + pad, out, 3), 3, "%zu bytes of padding", pad);
		for (size_t i = 0; i < 3; i++)
			assert_msg_eq(&out[i], &msgs[i], "padded", i);
	}
	pkt[1] = (uint8_t)((payload + 1) >> 8);
	pkt[2] = (uint8_t)(payload + 1);
	cr_assert_eq(ny_route_wire_decode(pkt, len, out, 3), -EINVAL);
	pkt[1] = pkt[2] = 0xff;
	cr_assert_eq(ny_route_wire_decode(pkt, len + 32, out, 3), -EINVAL);
}

Test(route_wire, reports_more_messages_than_room)
{
	uint8_t pkt[PKT_MAX];
	struct ny_route_msg msgs[3], out[3];
	size_t ends[3], len = sample_packet(pkt, msgs, ends);

	cr_assert_eq(ny_route_wire_decode(pkt, len, out, 2), -E2BIG);
	cr_assert_eq(ny_route_wire_decode(pkt, len, out, 0), -E2BIG);
}

struct hostile {
	const char *name;
	uint8_t payload[48];
	size_t len;
	int want; /* decode's result */
};

/* Payloads around a valid Update (router "b", 10.0.0.2/32, seqno 1, metric 5: see the known bytes). */
static const struct hostile hostile_cases[] = {
	{ "not_protobuf", BYTES(0xff, 0xff, 0xff), -EINVAL },
	{ "bundle_field_as_varint", BYTES(0x08, 0x01), -EINVAL },
	{ "element_longer_than_payload", BYTES(0x0a, 0x20, 0x0a, 0x00), -EINVAL },
	{ "inner_length_beyond_element",
	  BYTES(0x0a, 0x10, 0x0a, 0x20, 0x0a, 0x01, 'b', 0x12, 0x05, 10, 0, 0, 2, 32, 0x18, 0x01, 0x20, 0x05),
	  -EINVAL },
	{ "empty_ny", BYTES(0x0a, 0x00), -EINVAL },
	{ "unknown_message_type_5", BYTES(0x0a, 0x02, 0x28, 0x01), -EINVAL },
	{ "update_without_prefix", BYTES(0x0a, 0x09, 0x0a, 0x07, 0x0a, 0x01, 'b', 0x18, 0x01, 0x20, 0x05), -EINVAL },
	{ "update_without_router_id",
	  BYTES(0x0a, 0x0b, 0x0a, 0x09, 0x12, 0x05, 10, 0, 0, 2, 32, 0x18, 0x01), -EINVAL },
	{ "update_empty_router_id",
	  BYTES(0x0a, 0x0e, 0x0a, 0x0c, 0x0a, 0x00, 0x12, 0x05, 10, 0, 0, 2, 32, 0x18, 0x01, 0x20, 0x05), -EINVAL },
	{ "seqno_request_without_prefix", BYTES(0x0a, 0x05, 0x12, 0x03, 0x0a, 0x01, 'b'), -EINVAL },
	{ "router_id_upper_case",
	  BYTES(0x0a, 0x0c, 0x0a, 0x0a, 0x0a, 0x01, 'B', 0x12, 0x05, 10, 0, 0, 2, 32), -EINVAL },
	{ "router_id_with_nul",
	  BYTES(0x0a, 0x0d, 0x0a, 0x0b, 0x0a, 0x02, 'b', 0, 0x12, 0x05, 10, 0, 0, 2, 32), -EINVAL },
	{ "prefix_of_6_bytes",
	  BYTES(0x0a, 0x0d, 0x0a, 0x0b, 0x0a, 0x01, 'b', 0x12, 0x06, 10, 0, 0, 2, 32, 0), -EINVAL },
	{ "prefix_v4_length_33",
	  BYTES(0x0a, 0x0c, 0x0a, 0x0a, 0x0a, 0x01, 'b', 0x12, 0x05, 10, 0, 0, 2, 33), -EINVAL },
	{ "prefix_invalid_go_zero_value", BYTES(0x0a, 0x08, 0x0a, 0x06, 0x0a, 0x01, 'b', 0x12, 0x01, 0xff), -EINVAL },
	{ "prefix_v6_with_zone",
	  BYTES(0x0a, 0x19, 0x22, 0x17, 0x0a, 0x15, 0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 'e', 't', 'h',
		'0', 64),
	  -EINVAL },
	{ "prefix_v6_length_129",
	  BYTES(0x0a, 0x15, 0x22, 0x13, 0x0a, 0x11, 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 129),
	  -EINVAL },
	{ "ack_retract_without_prefix", BYTES(0x0a, 0x02, 0x22, 0x00), -EINVAL },
	{ "overlong_varint",
	  BYTES(0x0a, 0x0f, 0x0a, 0x0d, 0x0a, 0x01, 'b', 0x12, 0x05, 10, 0, 0, 2, 32, 0x18, 0x81, 0x00), -EINVAL },
	{ "seqno_written_twice",
	  BYTES(0x0a, 0x10, 0x0a, 0x0e, 0x0a, 0x01, 'b', 0x12, 0x05, 10, 0, 0, 2, 32, 0x18, 0x01, 0x18, 0x02),
	  -EINVAL },
	{ "two_oneof_cases_in_one_ny",
	  BYTES(0x0a, 0x0b, 0x22, 0x07, 0x0a, 0x05, 192, 168, 1, 0, 24, 0x1a, 0x00), -EINVAL },
	{ "seqno_with_wrong_wire_type",
	  BYTES(0x0a, 0x0f, 0x0a, 0x0d, 0x0a, 0x01, 'b', 0x12, 0x05, 10, 0, 0, 2, 32, 0x1a, 0x01, 0x01), -EINVAL },
	{ "valid_then_garbage",
	  BYTES(0x0a, 0x10, 0x0a, 0x0e, 0x0a, 0x01, 'b', 0x12, 0x05, 10, 0, 0, 2, 32, 0x18, 0x01, 0x20, 0x05, 0xff),
	  -EINVAL },
	/* Accepted: */
	{ "empty_bundle", { 0 }, 0, 0 },
	{ "unknown_field_in_update_ignored",
	  BYTES(0x0a, 0x12, 0x0a, 0x10, 0x0a, 0x01, 'b', 0x12, 0x05, 10, 0, 0, 2, 32, 0x18, 0x01, 0x20, 0x05,
		0x48, 0x01), /* field 9, varint */
	  1 },
	{ "explicit_zero_seqno_accepted",
	  BYTES(0x0a, 0x10, 0x0a, 0x0e, 0x0a, 0x01, 'b', 0x12, 0x05, 10, 0, 0, 2, 32, 0x18, 0x00, 0x20, 0x05), 1 },
};

Test(route_wire, rejects_hostile_payloads)
{
	for (size_t i = 0; i < ARRAY_LEN(hostile_cases); i++) {
		const struct hostile *h = &hostile_cases[i];
		uint8_t pkt[PKT_MAX];
		struct ny_route_msg out[4];
		size_t len = wrap(h->payload, h->len, pkt);
		int r = ny_route_wire_decode(pkt, len, out, ARRAY_LEN(out));

		cr_expect_eq(r, h->want, "%s: decode returned %d, expected %d", h->name, r, h->want);
	}
}

Test(route_wire, accepts_unknown_fields_and_explicit_zeros_as_their_meaning)
{
	const struct ny_route_msg want[] = { update("b", "10.0.0.2/32", 1, 5), update("b", "10.0.0.2/32", 0, 5) };
	const struct hostile *h[] = { &hostile_cases[ARRAY_LEN(hostile_cases) - 2],
				      &hostile_cases[ARRAY_LEN(hostile_cases) - 1] };

	for (size_t i = 0; i < ARRAY_LEN(h); i++) {
		uint8_t pkt[PKT_MAX];
		struct ny_route_msg out;
		size_t len = wrap(h[i]->payload, h[i]->len, pkt);

		cr_assert_eq(ny_route_wire_decode(pkt, len, &out, 1), 1, "%s", h[i]->name);
		assert_msg_eq(&out, &want[i], h[i]->name, 0);
	}
}

Test(route_wire, masks_host_bits_and_keeps_the_low_16_bits_of_seqno)
{
	/* 10.0.0.1/24, seqno 65537 (varint 81 80 04) */
	const uint8_t payload[] = { 0x0a, 0x10, 0x0a, 0x0e, 0x0a, 0x01, 'b', 0x12, 0x05, 10, 0, 0, 1, 24,
				    0x18, 0x81, 0x80, 0x04 };
	const struct ny_route_msg want = update("b", "10.0.0.0/24", 1, 0);
	uint8_t pkt[PKT_MAX];
	struct ny_route_msg out;
	size_t len = wrap(payload, sizeof(payload), pkt);

	cr_assert_eq(ny_route_wire_decode(pkt, len, &out, 1), 1);
	assert_msg_eq(&out, &want, "masked", 0);
}

Test(route_wire, rejects_bad_headers)
{
	const uint8_t empty_bundle[] = { 0x80, 0x00, 0x00 };
	uint8_t pkt[8];
	struct ny_route_msg out;

	cr_assert_eq(ny_route_wire_decode(empty_bundle, 3, &out, 1), 0);
	cr_assert_eq(ny_route_wire_decode(empty_bundle, 2, &out, 1), -EINVAL);
	cr_assert_eq(ny_route_wire_decode(empty_bundle, 0, &out, 1), -EINVAL);
	memcpy(pkt, empty_bundle, 3);
	pkt[0] = 0x81; /* version nibble 8, but not our magic */
	cr_assert_eq(ny_route_wire_decode(pkt, 3, &out, 1), -EINVAL);
	pkt[0] = 0x45; /* an IPv4 header */
	cr_assert_eq(ny_route_wire_decode(pkt, 3, &out, 1), -EINVAL);
}

Test(route_wire, decodes_a_full_64k_payload_of_the_smallest_messages)
{
	/* The most messages a packet can hold: 16383 empty pings (0a 02 1a 00) in a 65532-byte payload. */
	enum { N = NY_ROUTE_WIRE_PAYLOAD_MAX / 4 };
	uint8_t *pkt = malloc(NY_ROUTE_WIRE_HEADER_LEN + 4 * N);
	struct ny_route_msg *out = calloc(N, sizeof(*out));
	size_t len = NY_ROUTE_WIRE_HEADER_LEN + 4 * N;

	cr_assert(pkt && out);
	pkt[0] = NY_ROUTE_WIRE_MAGIC;
	pkt[1] = (uint8_t)((4 * N) >> 8);
	pkt[2] = (uint8_t)(4 * N);
	for (size_t i = 0; i < N; i++)
		memcpy(pkt + NY_ROUTE_WIRE_HEADER_LEN + 4 * i, (const uint8_t[]){ 0x0a, 0x02, 0x1a, 0x00 }, 4);
	cr_assert_eq(ny_route_wire_decode(pkt, len, out, NY_ROUTE_WIRE_MAX_MSGS), -E2BIG);
	cr_assert_eq(ny_route_wire_decode(pkt, len, out, N), N);
	cr_assert_eq(out[N - 1].type, NY_ROUTE_MSG_PROBE);
	free(out);
	free(pkt);
}

Test(route_wire, the_largest_message_stays_within_the_documented_bound)
{
	char longest[NY_ROUTE_ID_MAX + 1];
	struct ny_route_msg m[2];
	uint8_t pkt[PKT_MAX];
	size_t len;

	memset(longest, 'z', NY_ROUTE_ID_MAX);
	longest[NY_ROUTE_ID_MAX] = '\0';
	m[0] = update(longest, "fd00::/128", 0xFFFF, NY_ROUTE_INF);
	m[1] = seqno_request(longest, "fd00::/128", 0xFFFF, UINT32_MAX);
	for (size_t i = 0; i < 2; i++) {
		cr_assert_eq(ny_route_wire_encode(&m[i], 1, pkt, sizeof(pkt), &len), 1);
		/* 0a 86 01 | 0a 83 01 | RouterId 2+100, Prefix 2+17, Seqno 1+3, Metric or HopCount 1+5 */
		cr_assert_eq(len, NY_ROUTE_WIRE_HEADER_LEN + 137);
		cr_assert_eq(ny_route_wire_encode(&m[i], 1, pkt, NY_ROUTE_WIRE_HEADER_LEN + 140, &len), 1);
	}
}
