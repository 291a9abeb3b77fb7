/* TUN offload (src/io/offload.c, src/io/checksum.c): the Internet checksum against known answers and a naive
 * reference, segmentation of TSO/USO super-packets checked segment by segment with that reference, rejection of
 * malformed virtio-net headers, and coalescing checked by splitting its output back into the original packets.
 *
 * The reference checksum here is deliberately the plainest possible: big-endian 16-bit words added into 32 bits
 * one at a time, folded at the end (RFC 1071 §4.1), over an explicitly built pseudo-header. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "nylon/offload.h"

#define TCP_FIN 0x01
#define TCP_SYN 0x02
#define TCP_RST 0x04
#define TCP_PSH 0x08
#define TCP_ACK 0x10
#define TCP_CWR 0x80

#define MAX_SEGS 64
#define SEG_CAP 2048
#define SUPER_CAP (NY_VNET_HDR_LEN + 65536 + 256)

/* ---- Reference checksum and packet builders ---------------------------------------------------------------- */

static uint32_t naive_add(uint32_t sum, const uint8_t *p, size_t len)
{
	for (size_t i = 0; i < len; i += 2)
		sum += (uint32_t)p[i] << 8 | (i + 1 < len ? p[i + 1] : 0);
	return sum;
}

static uint16_t naive_fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)sum;
}

static uint16_t be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void wbe16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void wbe32(uint8_t *p, uint32_t v)
{
	wbe16(p, (uint16_t)(v >> 16));
	wbe16(p + 2, (uint16_t)v);
}

static size_t ip_hdr_len(const uint8_t *ip)
{
	return ip[0] >> 4 == 4 ? (size_t)(ip[0] & 15) * 4 : 40;
}

/* The pseudo-header as bytes (RFC 9293 §3.1 / RFC 8200 §8.1), summed naively. */
static uint32_t naive_pseudo(const uint8_t *ip, size_t l4len)
{
	uint8_t ph[40] = { 0 };
	size_t n;

	if (ip[0] >> 4 == 4) {
		memcpy(ph, ip + 12, 8);
		ph[9] = ip[9];
		wbe16(ph + 10, (uint16_t)l4len);
		n = 12;
	} else {
		memcpy(ph, ip + 8, 32);
		wbe32(ph + 32, (uint32_t)l4len);
		ph[39] = ip[6];
		n = 40;
	}
	return naive_add(0, ph, n);
}

static bool naive_ipv4_ok(const uint8_t *ip)
{
	return ip[0] >> 4 != 4 || naive_fold(naive_add(0, ip, ip_hdr_len(ip))) == 0xffff;
}

static bool naive_l4_ok(const uint8_t *ip, size_t len)
{
	size_t l4 = ip_hdr_len(ip);

	return naive_fold(naive_add(naive_pseudo(ip, len - l4), ip + l4, len - l4)) == 0xffff;
}

struct spec {
	int ipv;
	uint8_t proto;
	uint16_t id;
	bool df;
	uint8_t ttl;
	uint32_t seq;
	uint32_t ack;
	uint8_t flags;
	uint8_t topt; /* TCP option bytes (multiple of 4) */
	uint16_t sport, dport;
	uint8_t src_last; /* varies the flow */
};

static const struct spec TCP4 = { .ipv = 4, .proto = 6, .id = 0x1234, .df = true, .ttl = 64, .seq = 0xfffff000u,
				  .ack = 77, .flags = TCP_ACK, .sport = 40000, .dport = 5201, .src_last = 1 };

static size_t spec_hlen(const struct spec *s)
{
	return (s->ipv == 4 ? 20 : 40) + (s->proto == 6 ? 20u + s->topt : 8u);
}

/* Writes IP + L4 headers for a packet of plen payload bytes; checksums left zero. Returns the header length. */
static size_t build_headers(uint8_t *ip, const struct spec *s, size_t plen)
{
	size_t l4 = s->ipv == 4 ? 20 : 40, hlen = spec_hlen(s), len = hlen + plen;
	uint8_t *t = ip + l4;

	memset(ip, 0, hlen);
	if (s->ipv == 4) {
		ip[0] = 0x45;
		ip[1] = 0x10;
		wbe16(ip + 2, (uint16_t)len);
		wbe16(ip + 4, s->id);
		ip[6] = s->df ? 0x40 : 0;
		ip[8] = s->ttl;
		ip[9] = s->proto;
		ip[12] = 10, ip[13] = 0, ip[14] = 0, ip[15] = s->src_last;
		ip[16] = 10, ip[17] = 0, ip[18] = 1, ip[19] = 2;
	} else {
		ip[0] = 0x60, ip[1] = 0x0a, ip[2] = 0xbc, ip[3] = 0xde; /* class 0, flow label 0xabcde */
		wbe16(ip + 4, (uint16_t)(len - 40));
		ip[6] = s->proto;
		ip[7] = s->ttl;
		ip[8] = 0xfd, ip[23] = s->src_last;
		ip[24] = 0xfd, ip[38] = 1, ip[39] = 2;
	}
	wbe16(t, s->sport);
	wbe16(t + 2, s->dport);
	if (s->proto == 6) {
		wbe32(t + 4, s->seq);
		wbe32(t + 8, s->ack);
		t[12] = (uint8_t)((20 + s->topt) / 4 << 4);
		t[13] = s->flags;
		wbe16(t + 14, 501);
		for (size_t i = 0; i < s->topt; i++)
			t[20 + i] = (uint8_t)(i == 0 ? 1 : 0x40 + i); /* a NOP, then arbitrary but fixed bytes */
	} else {
		wbe16(t + 4, (uint16_t)(len - l4));
	}
	return hlen;
}

static void fill_payload(uint8_t *p, size_t n, uint32_t seed)
{
	for (size_t i = 0; i < n; i++) {
		seed = seed * 1103515245u + 12345u;
		p[i] = (uint8_t)(seed >> 16);
	}
}

/* A complete, valid packet with naive checksums (L4 0 sent as 0xffff, as the code under test does). */
static size_t build_packet(uint8_t *ip, const struct spec *s, const uint8_t *payload, size_t plen)
{
	size_t hlen = build_headers(ip, s, plen), len = hlen + plen, l4 = ip_hdr_len(ip);
	size_t co = l4 + (s->proto == 6 ? 16 : 6);
	uint16_t c;

	memcpy(ip + hlen, payload, plen);
	if (s->ipv == 4)
		wbe16(ip + 10, (uint16_t)~naive_fold(naive_add(0, ip, 20)));
	c = (uint16_t)~naive_fold(naive_add(naive_pseudo(ip, len - l4), ip + l4, len - l4));
	wbe16(ip + co, c ? c : 0xffff);
	return len;
}

/* A super-packet as TUN hands it up: vnet header, headers of the whole, the pseudo-header sum in the L4 csum. */
static size_t build_super(uint8_t *buf, const struct spec *s, const uint8_t *payload, size_t plen, uint16_t gso_size)
{
	uint8_t *ip = buf + NY_VNET_HDR_LEN;
	size_t hlen = build_headers(ip, s, plen), l4 = ip_hdr_len(ip), len = hlen + plen;
	struct ny_vnet_hdr h = {
		.flags = NY_VNET_HDR_F_NEEDS_CSUM,
		.gso_type = s->proto == 17 ? NY_VNET_HDR_GSO_UDP_L4
				: s->ipv == 4 ? NY_VNET_HDR_GSO_TCPV4 : NY_VNET_HDR_GSO_TCPV6,
		.hdr_len = (uint16_t)(hlen + 100), /* like skb_headlen(): more than the headers */
		.gso_size = gso_size,
		.csum_start = (uint16_t)l4,
		.csum_offset = s->proto == 6 ? 16 : 6,
	};

	memcpy(ip + hlen, payload, plen);
	if (s->ipv == 4)
		wbe16(ip + 10, (uint16_t)~naive_fold(naive_add(0, ip, 20)));
	wbe16(ip + l4 + h.csum_offset, naive_fold(naive_pseudo(ip, len - l4)));
	ny_offload_hdr_encode(buf, &h);
	return NY_VNET_HDR_LEN + len;
}

struct segs {
	uint8_t *mem;
	uint8_t *p[MAX_SEGS];
	size_t len[MAX_SEGS];
};

static void segs_init(struct segs *o)
{
	o->mem = malloc((size_t)MAX_SEGS * SEG_CAP);
	cr_assert_not_null(o->mem);
	for (size_t i = 0; i < MAX_SEGS; i++)
		o->p[i] = o->mem + i * SEG_CAP;
}

/* ---- Checksum ---------------------------------------------------------------------------------------------- */

Test(csum, rfc1071_example)
{
	/* RFC 1071 §3: the bytes 00 01 f2 03 f4 f5 f6 f7 sum to ddf2 (folded). */
	static const uint8_t b[] = { 0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7 };

	cr_assert_eq(ny_csum_fold(ny_csum_partial(b, sizeof(b), 0)), 0xddf2);
	cr_assert_eq(ny_csum_finish(ny_csum_partial(b, sizeof(b), 0)), (uint16_t)~0xddf2);
}

/* An IPv4 header with checksum 0xb861 (the worked example of Wikipedia's "Internet checksum" article). */
static const uint8_t IPV4_EXAMPLE[20] = { 0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11,
					  0xb8, 0x61, 0xc0, 0xa8, 0x00, 0x01, 0xc0, 0xa8, 0x00, 0xc7 };

Test(csum, ipv4_header_example)
{
	uint8_t h[20];

	memcpy(h, IPV4_EXAMPLE, 20);
	cr_assert_eq(ny_csum_fold(ny_csum_partial(h, 20, 0)), 0xffff, "a correct header sums to -0");
	h[10] = h[11] = 0;
	cr_assert_eq(ny_csum_finish(ny_csum_partial(h, 20, 0)), 0xb861);
}

Test(csum, matches_naive_reference_on_random_buffers)
{
	static uint8_t buf[65536 + 16];
	static const size_t lens[] = { 0, 1, 2, 3, 7, 8, 9, 15, 31, 32, 33, 63, 64, 65, 1419, 1420, 1500, 9001, 65535,
				       65536 };

	fill_payload(buf, sizeof(buf), 7);
	for (size_t k = 0; k < sizeof(lens) / sizeof(lens[0]); k++) {
		for (size_t off = 0; off < 8; off++) { /* every alignment */
			uint16_t want = naive_fold(naive_add(0, buf + off, lens[k]));
			uint16_t got = ny_csum_fold(ny_csum_partial(buf + off, lens[k], 0));

			cr_assert_eq(got, want, "len %zu offset %zu: %04x, naive %04x", lens[k], off, got, want);
		}
	}
	srand(42);
	for (int i = 0; i < 2000; i++) {
		size_t len = (size_t)rand() % 4096, off = (size_t)rand() % 16;

		for (size_t j = 0; j < len; j++)
			buf[off + j] = (uint8_t)rand();
		cr_assert_eq(ny_csum_fold(ny_csum_partial(buf + off, len, 0)), naive_fold(naive_add(0, buf + off, len)),
			     "random case %d, len %zu", i, len);
	}
}

/* ny_csum_copy() sums as ny_csum_partial() does and copies exactly len bytes, at every length and alignment of
 * source and destination, with an incoming sum, and on all-ones data (the largest words). */
Test(csum, copy_sums_and_copies_exactly)
{
	static uint8_t src[4096 + 64], dst[4096 + 64];

	srand(7);
	for (int i = 0; i < 3000; i++) {
		size_t len = i < 300 ? (size_t)i : (size_t)rand() % 4096, so = (size_t)rand() % 32, d = (size_t)rand() % 32;
		uint64_t in = i % 3 ? (uint64_t)rand() : UINT64_MAX - 1;

		for (size_t j = 0; j < sizeof(src); j++)
			src[j] = i % 50 == 0 ? 0xff : (uint8_t)rand();
		memset(dst, 0xa5, sizeof(dst));
		cr_assert_eq(ny_csum_fold(ny_csum_copy(dst + d, src + so, len, in)),
			     ny_csum_fold(ny_csum_partial(src + so, len, in)), "case %d: len %zu, offsets %zu/%zu", i, len,
			     so, d);
		cr_assert_eq(memcmp(dst + d, src + so, len), 0, "case %d: the copy differs", i);
		for (size_t j = 0; j < sizeof(dst); j++)
			if (j < d || j >= d + len)
				cr_assert_eq(dst[j], 0xa5, "case %d: byte %zu outside the copy was written", i, j);
	}
}

Test(csum, all_ones_buffer_folds_to_ffff)
{
	static uint8_t buf[65536];

	memset(buf, 0xff, sizeof(buf));
	cr_assert_eq(ny_csum_fold(ny_csum_partial(buf, sizeof(buf), 0)), 0xffff);
	cr_assert_eq(ny_csum_fold(ny_csum_partial(buf, sizeof(buf), UINT64_MAX - 3)),
		     naive_fold(naive_add(0xfffc, buf, 64)), "the carry out of the incoming sum is kept");
}

Test(csum, chains_over_even_pieces)
{
	uint8_t buf[1001];

	fill_payload(buf, sizeof(buf), 3);
	for (size_t cut = 0; cut <= 1000; cut += 2) {
		uint64_t s = ny_csum_partial(buf, cut, 0);

		s = ny_csum_partial(buf + cut, sizeof(buf) - cut, s);
		cr_assert_eq(ny_csum_fold(s), naive_fold(naive_add(0, buf, sizeof(buf))), "cut at %zu", cut);
	}
}

Test(csum, pseudo_header_matches_naive)
{
	uint8_t ip[80]; /* IP and TCP headers */
	struct spec s = TCP4;

	for (int v = 4; v <= 6; v += 2) {
		s.ipv = v;
		build_headers(ip, &s, 0);
		for (uint32_t len = 0; len < (v == 4 ? 65536u : 200000u); len += 997) { /* IPv4 lengths are 16-bit */
			const uint8_t *src = ip + (v == 4 ? 12 : 8), *dst = ip + (v == 4 ? 16 : 24);

			cr_assert_eq(ny_csum_fold(ny_csum_pseudo(v, src, dst, 6, len)), naive_fold(naive_pseudo(ip, len)),
				     "IPv%d, len %u", v, len);
		}
	}
}

Test(csum, incremental_update_rfc1624)
{
	/* RFC 1624 §4: m 0x5555 -> 0x3285 under HC 0xdd2f must give 0x0000, not RFC 1141's 0xffff. */
	cr_assert_eq(ny_csum_update16(0xdd2f, 0x5555, 0x3285), 0x0000);

	/* A TTL decrement on the example header agrees with recomputing. */
	uint8_t h[20];
	uint16_t old_word, updated;

	memcpy(h, IPV4_EXAMPLE, 20);
	old_word = be16(h + 8);
	h[8]--;
	updated = ny_csum_update16(be16(h + 10), old_word, be16(h + 8));
	h[10] = h[11] = 0;
	cr_assert_eq(updated, ny_csum_finish(ny_csum_partial(h, 20, 0)));
}

/* ---- Split ------------------------------------------------------------------------------------------------- */

/* Checks segments against the super-packet they came from: lengths, ids, seq, flags, checksums, payload. */
static void check_segments(const struct spec *s, const uint8_t *payload, size_t plen, size_t mss, const struct segs *o,
			   int n)
{
	size_t hlen = spec_hlen(s), l4 = s->ipv == 4 ? 20 : 40, off = 0;
	int want = (int)((plen + mss - 1) / mss);

	cr_assert_eq(n, want, "%d segments, expected %d", n, want);
	for (int i = 0; i < n; i++) {
		const uint8_t *ip = o->p[i], *t = ip + l4;
		size_t chunk = plen - off < mss ? plen - off : mss, len = o->len[i];
		bool last = i == n - 1;

		cr_assert_eq(len, hlen + chunk, "segment %d length", i);
		cr_assert(naive_ipv4_ok(ip), "segment %d IPv4 header checksum", i);
		cr_assert(naive_l4_ok(ip, len), "segment %d L4 checksum", i);
		if (s->ipv == 4) {
			cr_assert_eq(be16(ip + 2), len, "segment %d total length", i);
			cr_assert_eq(be16(ip + 4), (uint16_t)(s->id + i), "segment %d id", i);
		} else {
			cr_assert_eq(be16(ip + 4), len - 40, "segment %d payload length", i);
		}
		if (s->proto == 6) {
			uint8_t f = s->flags;

			if (!last)
				f &= (uint8_t)~(TCP_FIN | TCP_PSH);
			if (i > 0)
				f &= (uint8_t)~TCP_CWR;
			cr_assert_eq(be32(t + 4), s->seq + (uint32_t)off, "segment %d seq", i);
			cr_assert_eq(t[13], f, "segment %d flags %02x, expected %02x", i, t[13], f);
		} else {
			cr_assert_eq(be16(t + 4), len - l4, "segment %d UDP length", i);
		}
		cr_assert_eq(memcmp(ip + hlen, payload + off, chunk), 0, "segment %d payload", i);
		off += chunk;
	}
	cr_assert_eq(off, plen, "the payloads add up to the original");
}

struct split_case {
	const char *name;
	int ipv;
	uint8_t proto;
	uint8_t flags;
	uint8_t topt;
	size_t mss;
	size_t plen;
};

static const struct split_case SPLIT_CASES[] = {
	{ "tcp4 10x1380 last short, PSH+CWR", 4, 6, TCP_ACK | TCP_PSH | TCP_CWR, 0, 1380, 9 * 1380 + 700 },
	{ "tcp6 10x1380 last short, FIN", 6, 6, TCP_ACK | TCP_FIN | TCP_PSH, 0, 1380, 9 * 1380 + 700 },
	{ "tcp4 timestamps, exact multiple", 4, 6, TCP_ACK, 12, 1368, 10 * 1368 },
	{ "tcp6 timestamps 64 KiB", 6, 6, TCP_ACK | TCP_PSH, 12, 1348, 65535 - 40 - 32 },
	{ "tcp4 one segment", 4, 6, TCP_ACK | TCP_PSH, 0, 1380, 500 },
	{ "udp4 10x1392 last short", 4, 17, 0, 0, 1392, 9 * 1392 + 1 },
	{ "udp6 64x100", 6, 17, 0, 0, 100, 6400 },
	{ "udp4 max", 4, 17, 0, 0, 1472, 65535 - 28 },
};

Test(split, tso_and_uso_segments_verify_independently)
{
	static uint8_t super[SUPER_CAP], payload[65536];
	struct segs o;

	segs_init(&o);
	for (size_t k = 0; k < sizeof(SPLIT_CASES) / sizeof(SPLIT_CASES[0]); k++) {
		const struct split_case *c = &SPLIT_CASES[k];
		struct spec s = TCP4;
		size_t len;
		int n;

		s.ipv = c->ipv, s.proto = c->proto, s.flags = c->flags, s.topt = c->topt;
		fill_payload(payload, c->plen, (uint32_t)k);
		len = build_super(super, &s, payload, c->plen, (uint16_t)c->mss);
		n = ny_offload_split(super, len, o.p, o.len, MAX_SEGS, SEG_CAP);
		cr_assert_gt(n, 0, "%s: %d", c->name, n);
		check_segments(&s, payload, c->plen, c->mss, &o, n);
		/* ny_offload_split_max() is enough room: the shard prepares only that many outputs. */
		cr_assert_geq(ny_offload_split_max(super, len), (size_t)n, "%s: split_max %zu < %d", c->name,
			      ny_offload_split_max(super, len), n);
		cr_assert_eq(ny_offload_split(super, len, o.p, o.len, ny_offload_split_max(super, len), SEG_CAP), n,
			     "%s: split into split_max outputs", c->name);
	}
	cr_assert_eq(ny_offload_split_max(super, NY_VNET_HDR_LEN - 1), 1, "shorter than the header: one packet");
	free(o.mem);
}

Test(split, needs_csum_without_gso_finishes_the_checksum)
{
	static const struct spec specs[] = {
		{ .ipv = 4, .proto = 17, .id = 9, .ttl = 64, .sport = 53, .dport = 9999 },
		{ .ipv = 6, .proto = 17, .ttl = 64, .sport = 53, .dport = 9999 },
		{ .ipv = 4, .proto = 6, .id = 9, .ttl = 64, .seq = 5, .flags = TCP_SYN },
		{ .ipv = 6, .proto = 6, .ttl = 64, .seq = 5, .flags = TCP_ACK, .topt = 12 },
	};
	static uint8_t super[SUPER_CAP], payload[2000];
	struct segs o;

	segs_init(&o);
	for (size_t k = 0; k < sizeof(specs) / sizeof(specs[0]); k++) {
		for (size_t plen = 0; plen < 40; plen += 13) {
			struct ny_vnet_hdr h;
			size_t len;
			int n;

			fill_payload(payload, plen, (uint32_t)(k * 100 + plen));
			len = build_super(super, &specs[k], payload, plen, 0);
			ny_offload_hdr_decode(super, &h);
			h.gso_type = NY_VNET_HDR_GSO_NONE;
			h.gso_size = 0;
			h.hdr_len = 0;
			ny_offload_hdr_encode(super, &h);
			n = ny_offload_split(super, len, o.p, o.len, MAX_SEGS, SEG_CAP);
			cr_assert_eq(n, 1, "spec %zu plen %zu: %d", k, plen, n);
			cr_assert_eq(ny_offload_split_max(super, len), 1, "spec %zu plen %zu: no GSO, one packet", k, plen);
			cr_assert_eq(o.len[0], len - NY_VNET_HDR_LEN);
			cr_assert(naive_l4_ok(o.p[0], o.len[0]), "spec %zu plen %zu: checksum", k, plen);
			cr_assert_eq(memcmp(o.p[0] + spec_hlen(&specs[k]), payload, plen), 0);
		}
	}
	free(o.mem);
}

Test(split, plain_packet_is_copied_unchanged)
{
	uint8_t buf[NY_VNET_HDR_LEN + 200], out[256];
	uint8_t *outs[1] = { out };
	size_t out_len[1];
	struct ny_vnet_hdr h = { .flags = NY_VNET_HDR_F_DATA_VALID };

	fill_payload(buf, sizeof(buf), 1);
	ny_offload_hdr_encode(buf, &h);
	cr_assert_eq(ny_offload_split(buf, sizeof(buf), outs, out_len, 1, sizeof(out)), 1);
	cr_assert_eq(out_len[0], 200);
	cr_assert_eq(memcmp(out, buf + NY_VNET_HDR_LEN, 200), 0);
}

/* Malformed inputs: each mutates a valid TCPv4 (or other) super-packet. */
enum mut {
	M_TRUNC_VNET,
	M_ONLY_VNET,
	M_HDR_LEN_BEYOND,
	M_CSUM_START_BEYOND,
	M_CSUM_OFFSET_BEYOND,
	M_CSUM_START_NOT_L4,
	M_GSO_SIZE_0,
	M_TYPE_2,
	M_TYPE_UFO,
	M_TYPE_6,
	M_NO_NEEDS_CSUM,
	M_V6_AS_TCPV4,
	M_V4_AS_TCPV6,
	M_UDP_ECN,
	M_IHL_4,
	M_FRAGMENT,
	M_PROTO_UDP_AS_TCP,
	M_TRUNC_TCP_HDR,
	M_DOFF_4,
	M_HEADERS_ONLY,
	M_V6_EXT_HDR,
	M_VERSION_5,
	M_NONE_CSUM_BEYOND,
};

static const struct {
	enum mut m;
	const char *name;
} MALFORMED[] = {
	{ M_TRUNC_VNET, "shorter than the vnet header" },
	{ M_ONLY_VNET, "vnet header, no packet" },
	{ M_HDR_LEN_BEYOND, "hdr_len > len" },
	{ M_CSUM_START_BEYOND, "csum_start beyond the packet" },
	{ M_CSUM_OFFSET_BEYOND, "csum_offset beyond the packet" },
	{ M_CSUM_START_NOT_L4, "csum_start not at the L4 header" },
	{ M_GSO_SIZE_0, "gso_size 0" },
	{ M_TYPE_2, "unknown gso_type 2" },
	{ M_TYPE_UFO, "UFO" },
	{ M_TYPE_6, "unknown gso_type 6" },
	{ M_NO_NEEDS_CSUM, "GSO without NEEDS_CSUM" },
	{ M_V6_AS_TCPV4, "IPv6 packet as TCPV4" },
	{ M_V4_AS_TCPV6, "IPv4 packet as TCPV6" },
	{ M_UDP_ECN, "ECN on UDP_L4" },
	{ M_IHL_4, "IPv4 ihl 4" },
	{ M_FRAGMENT, "IPv4 fragment" },
	{ M_PROTO_UDP_AS_TCP, "UDP packet as TCPV4" },
	{ M_TRUNC_TCP_HDR, "truncated TCP header" },
	{ M_DOFF_4, "TCP data offset 4" },
	{ M_HEADERS_ONLY, "GSO without payload" },
	{ M_V6_EXT_HDR, "IPv6 hop-by-hop header" },
	{ M_VERSION_5, "IP version 5 as UDP_L4" },
	{ M_NONE_CSUM_BEYOND, "NONE with csum field past the end" },
};

static size_t malformed_build(uint8_t *buf, enum mut m)
{
	static uint8_t payload[4000];
	struct spec s = TCP4;
	struct ny_vnet_hdr h;
	size_t len, plen = 3000;

	if (m == M_V6_AS_TCPV4 || m == M_V6_EXT_HDR)
		s.ipv = 6;
	if (m == M_UDP_ECN || m == M_VERSION_5)
		s.proto = 17;
	if (m == M_HEADERS_ONLY)
		plen = 0;
	fill_payload(payload, plen, 5);
	len = build_super(buf, &s, payload, plen, 1000);
	ny_offload_hdr_decode(buf, &h);
	h.hdr_len = 40;
	switch (m) {
	case M_TRUNC_VNET: len = 9; break;
	case M_ONLY_VNET: len = NY_VNET_HDR_LEN; h.hdr_len = 0; break;
	case M_HDR_LEN_BEYOND: h.hdr_len = (uint16_t)(len - NY_VNET_HDR_LEN + 1); break;
	case M_CSUM_START_BEYOND: h.csum_start = 60000; break;
	case M_CSUM_OFFSET_BEYOND: h.csum_offset = 60000; break;
	case M_CSUM_START_NOT_L4: h.csum_start = 24; break;
	case M_GSO_SIZE_0: h.gso_size = 0; break;
	case M_TYPE_2: h.gso_type = 2; break;
	case M_TYPE_UFO: h.gso_type = NY_VNET_HDR_GSO_UDP; break;
	case M_TYPE_6: h.gso_type = 6; break;
	case M_NO_NEEDS_CSUM: h.flags = 0; break;
	case M_V6_AS_TCPV4: h.gso_type = NY_VNET_HDR_GSO_TCPV4; break;
	case M_V4_AS_TCPV6: h.gso_type = NY_VNET_HDR_GSO_TCPV6; break;
	case M_UDP_ECN: h.gso_type |= NY_VNET_HDR_GSO_ECN; break;
	case M_IHL_4: buf[NY_VNET_HDR_LEN] = 0x44; break;
	case M_FRAGMENT: buf[NY_VNET_HDR_LEN + 6] |= 0x20; break;
	case M_PROTO_UDP_AS_TCP: buf[NY_VNET_HDR_LEN + 9] = 17; break;
	case M_TRUNC_TCP_HDR: len = NY_VNET_HDR_LEN + 20 + 19; h.hdr_len = 0; break;
	case M_DOFF_4: buf[NY_VNET_HDR_LEN + 20 + 12] = 0x40; break;
	case M_HEADERS_ONLY: break;
	case M_V6_EXT_HDR: buf[NY_VNET_HDR_LEN + 6] = 0; break;
	case M_VERSION_5: buf[NY_VNET_HDR_LEN] = 0x55; break;
	case M_NONE_CSUM_BEYOND:
		h.gso_type = NY_VNET_HDR_GSO_NONE;
		h.csum_start = (uint16_t)(len - NY_VNET_HDR_LEN - 1);
		h.csum_offset = 0;
		break;
	}
	ny_offload_hdr_encode(buf, &h);
	return len;
}

Test(split, rejects_malformed_input)
{
	static uint8_t buf[SUPER_CAP];
	struct segs o;

	segs_init(&o);
	for (size_t k = 0; k < sizeof(MALFORMED) / sizeof(MALFORMED[0]); k++) {
		size_t len = malformed_build(buf, MALFORMED[k].m);
		int n = ny_offload_split(buf, len, o.p, o.len, MAX_SEGS, SEG_CAP);

		cr_assert_eq(n, -EINVAL, "%s: got %d, expected -EINVAL", MALFORMED[k].name, n);
	}
	free(o.mem);
}

Test(split, reports_too_few_or_too_small_buffers)
{
	static uint8_t buf[SUPER_CAP], payload[8000];
	struct spec s = TCP4;
	struct segs o;
	size_t len;

	segs_init(&o);
	len = build_super(buf, &s, payload, 5 * 1000, 1000);
	cr_assert_eq(ny_offload_split(buf, len, o.p, o.len, 4, SEG_CAP), -ENOBUFS, "5 segments, room for 4");
	cr_assert_eq(ny_offload_split(buf, len, o.p, o.len, 5, 1039), -ENOBUFS, "segments of 1040, room for 1039");
	cr_assert_eq(ny_offload_split(buf, len, o.p, o.len, 5, 1040), 5);
	free(o.mem);
}

/* ---- Coalesce ---------------------------------------------------------------------------------------------- */

/* A batch of input packets plus the output area of ny_offload_coalesce(). */
#define BATCH_MAX (NY_OFFLOAD_WINDOW + 128) /* packets in a test batch: more than one window */

struct batch {
	uint8_t *mem;
	struct ny_offload_pkt in[BATCH_MAX];
	size_t n;
	uint8_t *arena;
	size_t arena_cap;
	struct ny_offload_pkt out[BATCH_MAX];
};

static void batch_init(struct batch *b)
{
	memset(b, 0, sizeof(*b));
	b->mem = malloc(BATCH_MAX * SEG_CAP);
	b->arena_cap = BATCH_MAX * (SEG_CAP + NY_VNET_HDR_LEN);
	b->arena = malloc(b->arena_cap);
	cr_assert(b->mem && b->arena);
}

static void batch_free(struct batch *b)
{
	free(b->mem);
	free(b->arena);
}

static void batch_add(struct batch *b, const struct spec *s, size_t plen)
{
	uint8_t payload[SEG_CAP];
	uint8_t *p = b->mem + b->n * SEG_CAP;

	fill_payload(payload, plen, (uint32_t)(b->n * 7919 + s->seq));
	b->in[b->n].data = p;
	b->in[b->n].len = build_packet(p, s, payload, plen);
	b->n++;
}

/* Adds n segments of one TCP (or UDP) flow: payloads of plen, the last of last_plen; seq and id advance. */
static void batch_add_run(struct batch *b, struct spec *s, size_t n, size_t plen, size_t last_plen)
{
	for (size_t i = 0; i < n; i++) {
		size_t len = i + 1 == n ? last_plen : plen;

		batch_add(b, s, len);
		s->seq += (uint32_t)len;
		s->id++;
	}
}

/* ny_offload_coalesce_in_place() on a copy of the inputs (each with headroom for the vnet header) must gather
 * exactly what ny_offload_coalesce() copied into its arena. */
static void check_in_place_matches(const struct batch *b, int n_out, unsigned int flags)
{
	const size_t stride = SEG_CAP + NY_VNET_HDR_LEN + 6;
	uint8_t *mem = malloc(b->n * stride), *joined = malloc(BATCH_MAX * SEG_CAP);
	static struct ny_offload_pkt in[BATCH_MAX], pieces[BATCH_MAX];
	static uint32_t counts[BATCH_MAX];
	size_t piece = 0;
	int n;

	cr_assert(mem && joined);
	for (size_t i = 0; i < b->n; i++) {
		in[i] = (struct ny_offload_pkt){ mem + i * stride + stride - SEG_CAP, b->in[i].len };
		memcpy(in[i].data, b->in[i].data, b->in[i].len);
	}
	n = ny_offload_coalesce_in_place(in, b->n, pieces, counts, BATCH_MAX, flags);
	cr_assert_eq(n, n_out, "in place: %d outputs, copying: %d", n, n_out);
	for (int k = 0; k < n; k++) {
		size_t len = 0;

		for (uint32_t j = 0; j < counts[k]; j++, piece++) {
			memcpy(joined + len, pieces[piece].data, pieces[piece].len);
			len += pieces[piece].len;
		}
		cr_assert_eq(len, b->out[k].len, "output %d: %zu bytes in place, %zu copied", k, len, b->out[k].len);
		cr_assert_eq(memcmp(joined, b->out[k].data, len), 0, "output %d differs in place", k);
	}
	free(mem);
	free(joined);
}

static int batch_coalesce(struct batch *b, unsigned int flags)
{
	int n = ny_offload_coalesce(b->in, b->n, b->out, BATCH_MAX, b->arena, b->arena_cap, flags);

	cr_assert_geq(n, 0, "coalesce: %d", n);
	check_in_place_matches(b, n, flags);
	return n;
}

/* Splits output k and checks that it gives back inputs first.. (those listed in idx), byte for byte. */
static void check_output_is(const struct batch *b, int k, const size_t *idx, size_t n_idx)
{
	struct segs o;
	int n;

	segs_init(&o);
	n = ny_offload_split(b->out[k].data, b->out[k].len, o.p, o.len, MAX_SEGS, SEG_CAP);
	cr_assert_eq(n, (int)n_idx, "output %d splits into %d packets, expected %zu", k, n, n_idx);
	for (size_t i = 0; i < n_idx; i++) {
		const struct ny_offload_pkt *want = &b->in[idx[i]];

		cr_assert_eq(o.len[i], want->len, "output %d packet %zu: length %zu, input %zu has %zu", k, i, o.len[i],
			     idx[i], want->len);
		cr_assert_eq(memcmp(o.p[i], want->data, want->len), 0, "output %d packet %zu differs from input %zu", k,
			     i, idx[i]);
	}
	free(o.mem);
}

static void check_output_range(const struct batch *b, int k, size_t first, size_t count)
{
	size_t idx[256];

	for (size_t i = 0; i < count; i++)
		idx[i] = first + i;
	check_output_is(b, k, idx, count);
}

static struct ny_vnet_hdr out_hdr(const struct batch *b, int k)
{
	struct ny_vnet_hdr h;

	cr_assert_geq(b->out[k].len, NY_VNET_HDR_LEN);
	ny_offload_hdr_decode(b->out[k].data, &h);
	return h;
}

Test(coalesce, tcp_run_round_trips_through_split)
{
	static const struct {
		int ipv;
		uint8_t topt;
		size_t n, plen, last;
		uint8_t last_flags;
	} cases[] = {
		{ 4, 0, 10, 1380, 700, TCP_ACK | TCP_PSH },
		{ 6, 0, 10, 1360, 1360, TCP_ACK },
		{ 4, 12, 20, 1368, 1, TCP_ACK | TCP_PSH },
		{ 6, 12, 47, 1348, 1348, TCP_ACK },
	};

	for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
		struct batch b;
		struct spec s = TCP4;
		struct ny_vnet_hdr h;
		int n;

		batch_init(&b);
		s.ipv = cases[k].ipv, s.topt = cases[k].topt;
		batch_add_run(&b, &s, cases[k].n - 1, cases[k].plen, cases[k].plen);
		s.flags = cases[k].last_flags;
		batch_add_run(&b, &s, 1, cases[k].last, cases[k].last);
		n = batch_coalesce(&b, 0);
		cr_assert_eq(n, 1, "case %zu: %d outputs", k, n);
		h = out_hdr(&b, 0);
		cr_assert_eq(h.flags, NY_VNET_HDR_F_NEEDS_CSUM);
		cr_assert_eq(h.gso_type, cases[k].ipv == 4 ? NY_VNET_HDR_GSO_TCPV4 : NY_VNET_HDR_GSO_TCPV6);
		cr_assert_eq(h.gso_size, cases[k].plen);
		cr_assert_eq(h.hdr_len, spec_hlen(&s));
		cr_assert_eq(h.csum_start, cases[k].ipv == 4 ? 20 : 40);
		cr_assert_eq(h.csum_offset, 16);
		/* CHECKSUM_PARTIAL: the field holds the folded pseudo-header sum. */
		const uint8_t *ip = b.out[0].data + NY_VNET_HDR_LEN;
		size_t l4 = h.csum_start, l4len = b.out[0].len - NY_VNET_HDR_LEN - l4;
		cr_assert_eq(be16(ip + l4 + 16), naive_fold(naive_pseudo(ip, l4len)));
		cr_assert(naive_ipv4_ok(ip));
		check_output_range(&b, 0, 0, cases[k].n);
		batch_free(&b);
	}
}

Test(coalesce, stops_at_64_kib)
{
	struct batch b;
	struct spec s = TCP4;
	size_t first;
	int n;

	batch_init(&b);
	batch_add_run(&b, &s, 60, 1380, 1380);
	n = batch_coalesce(&b, 0);
	cr_assert_eq(n, 2);
	first = (65535 - 40) / 1380; /* 47 segments fit under 65,535 bytes */
	check_output_range(&b, 0, 0, first);
	check_output_range(&b, 1, first, 60 - first);
	batch_free(&b);
}

/* One case of "these inputs must not all merge": the expected outputs, as lists of input indexes. */
struct apart_case {
	const char *name;
	size_t n_out;
	size_t groups[6][8]; /* each list ends with SIZE_MAX */
};

#define END SIZE_MAX

static void check_apart(struct batch *b, const struct apart_case *c, unsigned int flags)
{
	int n = batch_coalesce(b, flags);

	cr_assert_eq(n, (int)c->n_out, "%s: %d outputs, expected %zu", c->name, n, c->n_out);
	for (size_t k = 0; k < c->n_out; k++) {
		size_t cnt = 0;

		while (c->groups[k][cnt] != END)
			cnt++;
		check_output_is(b, (int)k, c->groups[k], cnt);
		if (cnt == 1)
			cr_assert_eq(out_hdr(b, (int)k).gso_type, NY_VNET_HDR_GSO_NONE, "%s: output %zu alone", c->name, k);
	}
}

Test(coalesce, keeps_apart_what_must_not_merge)
{
	static const struct apart_case cases[] = {
		{ "seq gap", 2, { { 0, 1, END }, { 2, 3, END } } },
		{ "PSH in the middle ends the group", 2, { { 0, 1, END }, { 2, 3, END } } },
		{ "different ack", 2, { { 0, 1, END }, { 2, 3, END } } },
		{ "SYN, FIN and RST alone", 4, { { 0, END }, { 1, END }, { 2, END }, { 3, END } } },
		{ "interleaved flows", 2, { { 0, 2, END }, { 1, 3, END } } },
		{ "short segment ends the group", 2, { { 0, 1, END }, { 2, 3, END } } },
		{ "pure ACK of the flow ends the group", 3, { { 0, 1, END }, { 2, END }, { 3, 4, END } } },
		{ "different TTL", 2, { { 0, 1, END }, { 2, 3, END } } },
		{ "non-consecutive ids", 2, { { 0, 1, END }, { 2, 3, END } } },
		{ "bigger segment after smaller", 2, { { 0, 1, END }, { 2, 3, END } } },
		{ "CWR alone", 3, { { 0, 1, END }, { 2, END }, { 3, END } } },
	};

	for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
		struct batch b;
		struct spec s = TCP4, t = TCP4;

		batch_init(&b);
		t.sport++;
		t.id = 0x4000;
		switch (k) {
		case 0:
			batch_add_run(&b, &s, 2, 1000, 1000);
			s.seq += 1;
			batch_add_run(&b, &s, 2, 1000, 1000);
			break;
		case 1:
			batch_add_run(&b, &s, 1, 1000, 1000);
			s.flags |= TCP_PSH;
			batch_add_run(&b, &s, 1, 1000, 1000);
			s.flags = TCP_ACK;
			batch_add_run(&b, &s, 2, 1000, 1000);
			break;
		case 2:
			batch_add_run(&b, &s, 2, 1000, 1000);
			s.ack++;
			batch_add_run(&b, &s, 2, 1000, 1000);
			break;
		case 3:
			s.flags = TCP_SYN;
			batch_add_run(&b, &s, 1, 1000, 1000);
			s.flags = TCP_ACK | TCP_FIN;
			batch_add_run(&b, &s, 1, 1000, 1000);
			s.flags = TCP_RST;
			batch_add_run(&b, &s, 1, 1000, 1000);
			s.flags = TCP_ACK | TCP_SYN;
			batch_add_run(&b, &s, 1, 1000, 1000);
			break;
		case 4:
			batch_add_run(&b, &s, 1, 1000, 1000);
			batch_add_run(&b, &t, 1, 1000, 1000);
			batch_add_run(&b, &s, 1, 1000, 1000);
			batch_add_run(&b, &t, 1, 1000, 1000);
			break;
		case 5:
			batch_add_run(&b, &s, 2, 1000, 500);
			batch_add_run(&b, &s, 2, 1000, 1000);
			break;
		case 6:
			batch_add_run(&b, &s, 2, 1000, 1000);
			batch_add_run(&b, &s, 1, 0, 0);
			batch_add_run(&b, &s, 2, 1000, 1000);
			break;
		case 7:
			batch_add_run(&b, &s, 2, 1000, 1000);
			s.ttl--;
			batch_add_run(&b, &s, 2, 1000, 1000);
			break;
		case 8:
			batch_add_run(&b, &s, 2, 1000, 1000);
			s.id += 5;
			batch_add_run(&b, &s, 2, 1000, 1000);
			break;
		case 9:
			batch_add_run(&b, &s, 2, 500, 500);
			batch_add_run(&b, &s, 2, 1000, 1000);
			break;
		case 10:
			batch_add_run(&b, &s, 2, 1000, 1000);
			s.flags = TCP_ACK | TCP_CWR;
			batch_add_run(&b, &s, 1, 1000, 1000);
			s.flags = TCP_ACK | TCP_PSH;
			batch_add_run(&b, &s, 1, 1000, 1000);
			break;
		}
		check_apart(&b, &cases[k], 0);
		batch_free(&b);
	}
}

Test(coalesce, udp_only_when_enabled)
{
	for (int ipv = 4; ipv <= 6; ipv += 2) {
		struct batch b;
		struct spec s = { .ipv = ipv, .proto = 17, .id = 7, .df = true, .ttl = 64, .sport = 443, .dport = 5555 };
		int n;

		batch_init(&b);
		batch_add_run(&b, &s, 8, 1200, 300);
		n = batch_coalesce(&b, 0);
		cr_assert_eq(n, 8, "IPv%d UDP without the flag: %d outputs", ipv, n);
		for (int k = 0; k < n; k++) {
			cr_assert_eq(out_hdr(&b, k).gso_type, NY_VNET_HDR_GSO_NONE);
			cr_assert_eq(out_hdr(&b, k).flags, 0);
			check_output_range(&b, k, (size_t)k, 1);
		}
		n = batch_coalesce(&b, NY_OFFLOAD_COALESCE_UDP);
		cr_assert_eq(n, 1, "IPv%d UDP with the flag: %d outputs", ipv, n);
		cr_assert_eq(out_hdr(&b, 0).gso_type, NY_VNET_HDR_GSO_UDP_L4);
		cr_assert_eq(out_hdr(&b, 0).gso_size, 1200);
		cr_assert_eq(out_hdr(&b, 0).csum_offset, 6);
		check_output_range(&b, 0, 0, 8);
		batch_free(&b);
	}
}

Test(coalesce, udp_segment_limit)
{
	struct batch b;
	struct spec s = { .ipv = 4, .proto = 17, .id = 7, .ttl = 64, .sport = 443, .dport = 5555 };
	int n;

	batch_init(&b);
	batch_add_run(&b, &s, NY_OFFLOAD_UDP_MAX_SEGS + 3, 100, 100);
	n = batch_coalesce(&b, NY_OFFLOAD_COALESCE_UDP);
	cr_assert_eq(n, 2);
	check_output_range(&b, 0, 0, NY_OFFLOAD_UDP_MAX_SEGS);
	check_output_range(&b, 1, NY_OFFLOAD_UDP_MAX_SEGS, 3);
	batch_free(&b);
}

Test(coalesce, df_with_fixed_ids_merges)
{
	struct batch b;
	struct spec s = TCP4;
	struct segs o;
	int n;

	batch_init(&b);
	for (int i = 0; i < 4; i++) {
		batch_add_run(&b, &s, 1, 1000, 1000);
		s.id--; /* undo the increment: every id equal */
	}
	n = batch_coalesce(&b, 0);
	cr_assert_eq(n, 1);
	segs_init(&o);
	n = ny_offload_split(b.out[0].data, b.out[0].len, o.p, o.len, MAX_SEGS, SEG_CAP);
	cr_assert_eq(n, 4);
	for (int i = 0; i < n; i++) {
		cr_assert(naive_ipv4_ok(o.p[i]) && naive_l4_ok(o.p[i], o.len[i]));
		cr_assert_eq(memcmp(o.p[i] + 20, b.in[i].data + 20, b.in[i].len - 20), 0, "all but the IP header");
	}
	free(o.mem);
	batch_free(&b);
}

Test(coalesce, verify_flag_keeps_bad_checksums_alone)
{
	struct batch b;
	struct spec s = TCP4;
	int n;

	batch_init(&b);
	batch_add_run(&b, &s, 4, 1000, 1000);
	b.in[2].data[100] ^= 0x01; /* payload corrupted after the checksum was computed */
	n = batch_coalesce(&b, 0);
	cr_assert_eq(n, 1, "without the flag the segment merges");
	n = batch_coalesce(&b, NY_OFFLOAD_VERIFY_CSUM);
	cr_assert_eq(n, 3, "with it, the corrupted segment is alone and ends the group");
	check_output_range(&b, 0, 0, 2);
	check_output_range(&b, 1, 2, 1);
	check_output_range(&b, 2, 3, 1);
	batch_free(&b);
}

Test(coalesce, passes_through_other_packets)
{
	struct batch b;
	uint8_t junk[3][100];
	int n;

	batch_init(&b);
	fill_payload(junk[0], 100, 1);
	junk[1][0] = 0x45; /* an IPv4 header claiming a different length */
	memset(junk[2], 0, 100);
	for (int i = 0; i < 3; i++) {
		b.in[i].data = junk[i];
		b.in[i].len = i == 2 ? 0 : 100;
	}
	b.n = 3;
	n = batch_coalesce(&b, NY_OFFLOAD_COALESCE_UDP | NY_OFFLOAD_DATA_VALID);
	cr_assert_eq(n, 3);
	for (int k = 0; k < 3; k++) {
		cr_assert_eq(b.out[k].len, NY_VNET_HDR_LEN + b.in[k].len);
		cr_assert_eq(out_hdr(&b, k).flags, NY_VNET_HDR_F_DATA_VALID);
		cr_assert_eq(out_hdr(&b, k).gso_type, NY_VNET_HDR_GSO_NONE);
		cr_assert_eq(memcmp(b.out[k].data + NY_VNET_HDR_LEN, b.in[k].data, b.in[k].len), 0);
	}
	batch_free(&b);
}

Test(coalesce, long_batch_uses_windows)
{
	struct batch b;
	struct spec s = TCP4, t = TCP4;
	int n;

	batch_init(&b);
	t.dport++;
	for (int i = 0; i < NY_OFFLOAD_WINDOW / 2 + 36; i++) { /* 100-B payloads: a window's half stays under 64 KiB */
		batch_add_run(&b, &s, 1, 100, 100);
		batch_add_run(&b, &t, 1, 100, 100);
	}
	n = batch_coalesce(&b, 0);
	/* A full window (half of it per flow) and one of 72 (36 per flow): 2 groups per window. */
	cr_assert_eq(n, 4, "%d outputs", n);
	batch_free(&b);
}

Test(coalesce, reports_small_output_area)
{
	struct batch b;
	struct spec s = TCP4;
	size_t need;

	batch_init(&b);
	batch_add_run(&b, &s, 4, 1000, 1000);
	need = NY_OFFLOAD_ARENA_SIZE(4, b.in[0].len * 4);
	cr_assert_eq(ny_offload_coalesce(b.in, 4, b.out, 3, b.arena, b.arena_cap, 0), -ENOBUFS);
	cr_assert_eq(ny_offload_coalesce(b.in, 4, b.out, 4, b.arena, need - 1, 0), -ENOBUFS);
	cr_assert_eq(ny_offload_coalesce(b.in, 4, b.out, 4, b.arena, need, 0), 1);
	cr_assert_eq(ny_offload_coalesce(b.in, 0, b.out, 0, b.arena, 0, 0), 0);
	batch_free(&b);
}
