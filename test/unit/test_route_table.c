/* The prefix table: longest-prefix match at every stride boundary, exact match, rejection of bad prefixes, and a
 * randomized cross-check against a linear scan (fixed seeds, so a failure reproduces). */
#include <criterion/criterion.h>
#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "nylon/conf.h"
#include "nylon/rcu.h"
#include "nylon/route_table.h"

#define NONE NY_ROUTE_TABLE_NONE

static struct ny_conf_cidr cidr(const char *text)
{
	struct ny_conf_cidr c;

	cr_assert_eq(ny_conf_cidr_parse(&c, text), 0, "%s", text);
	return c;
}

static struct ny_conf_addr addr(const char *text)
{
	struct ny_conf_addr a;

	cr_assert_eq(ny_conf_addr_parse(&a, text), 0, "%s", text);
	return a;
}

static uint32_t lookup(const struct ny_route_table *t, const struct ny_conf_addr *a)
{
	uint32_t v = a->family == AF_INET ? ny_route_table_lookup4(t, a->bytes) : ny_route_table_lookup6(t, a->bytes);
	uint8_t pkt[40] = { 0 };

	/* The packet form must agree with the address form. */
	if (a->family == AF_INET) {
		pkt[0] = 0x45;
		memcpy(pkt + 16, a->bytes, 4);
	} else {
		pkt[0] = 0x60;
		memcpy(pkt + 24, a->bytes, 16);
	}
	cr_assert_eq(ny_route_table_lookup_packet(t, pkt), v);
	return v;
}

struct route {
	const char *prefix;
	uint32_t value;
};

struct probe {
	const char *addr;
	uint32_t want;
};

static struct ny_route_table *build(const struct route *r, size_t n)
{
	struct ny_route_table_builder *b = ny_route_table_builder_new();
	struct ny_route_table *t;

	cr_assert_not_null(b);
	for (size_t i = 0; i < n; i++) {
		struct ny_conf_cidr c = cidr(r[i].prefix);

		cr_assert_eq(ny_route_table_builder_add(b, &c, r[i].value), 0, "%s", r[i].prefix);
	}
	t = ny_route_table_build(b);
	cr_assert_not_null(t);
	return t;
}

static void check(const struct route *r, size_t nr, const struct probe *p, size_t np)
{
	struct ny_route_table *t = build(r, nr);

	for (size_t i = 0; i < np; i++) {
		struct ny_conf_addr a = addr(p[i].addr);

		cr_expect_eq(lookup(t, &a), p[i].want, "%s: got %u, want %u", p[i].addr, lookup(t, &a), p[i].want);
	}
	ny_route_table_free(t);
}

#define CHECK(routes, probes) check(routes, sizeof(routes) / sizeof(routes[0]), probes, sizeof(probes) / sizeof(probes[0]))

Test(route_table, empty_table_matches_nothing)
{
	struct ny_route_table *t = ny_route_table_build(ny_route_table_builder_new());
	struct ny_conf_addr a4 = addr("10.0.0.1"), a6 = addr("::");
	struct ny_conf_cidr c = cidr("0.0.0.0/0");

	cr_assert_not_null(t);
	cr_assert_eq(lookup(t, &a4), NONE);
	cr_assert_eq(lookup(t, &a6), NONE);
	cr_assert_eq(ny_route_table_get(t, &c), NONE);
	cr_assert_eq(ny_route_table_count(t), 0);
	cr_assert_gt(ny_route_table_memory(t), 0);
	ny_route_table_free(t);
}

Test(route_table, null_table_is_no_route)
{
	uint8_t a[32] = { 0 }, pkt[40] = { 0x45 };
	struct ny_conf_cidr c = cidr("10.0.0.0/8");

	cr_assert_eq(ny_route_table_lookup4(NULL, a), NONE);
	cr_assert_eq(ny_route_table_lookup6(NULL, a), NONE);
	cr_assert_eq(ny_route_table_lookup_packet(NULL, pkt), NONE);
	cr_assert_eq(ny_route_table_get(NULL, &c), NONE);
	cr_assert_eq(ny_route_table_count(NULL), 0);
	cr_assert_eq(ny_route_table_memory(NULL), 0);
	cr_assert_null(ny_route_table_build(NULL));
	{
		const uint8_t *hdrs[2] = { pkt, pkt };
		uint32_t out[2] = { 0, 0 };

		ny_route_table_lookup_packets(NULL, hdrs, 2, out);
		cr_assert(out[0] == NONE && out[1] == NONE);
		out[0] = out[1] = 0;
		ny_route_table_lookup4_batch(NULL, a, 2, out);
		cr_assert(out[0] == NONE && out[1] == NONE);
		out[0] = 0;
		ny_route_table_lookup6_batch(NULL, a, 1, out);
		cr_assert(out[0] == NONE);
		ny_route_table_lookup4_batch(NULL, a, 0, NULL);
	}
	ny_route_table_free(NULL);
	ny_route_table_builder_free(NULL);
}

Test(route_table, default_route_covers_only_its_family)
{
	static const struct route v4_only[] = { { "0.0.0.0/0", 1 } };
	static const struct probe p1[] = {
		{ "0.0.0.0", 1 }, { "255.255.255.255", 1 }, { "10.1.2.3", 1 }, { "::", NONE }, { "::ffff:10.1.2.3", NONE },
	};
	static const struct route both[] = { { "0.0.0.0/0", 1 }, { "::/0", 2 } };
	static const struct probe p2[] = {
		{ "0.0.0.0", 1 }, { "255.255.255.255", 1 }, { "::", 2 }, { "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", 2 },
	};

	CHECK(v4_only, p1);
	CHECK(both, p2);
}

Test(route_table, longest_prefix_wins)
{
	static const struct route r[] = {
		{ "10.0.0.0/8", 1 },     { "10.1.0.0/16", 2 },   { "10.1.2.0/24", 3 },   { "10.1.2.128/25", 4 },
		{ "10.1.2.200/32", 5 },  { "fd00::/8", 6 },      { "fd00:1::/32", 7 },   { "fd00:1:2::/48", 8 },
		{ "fd00:1:2:3::/64", 9 }, { "fd00:1:2:3::1/128", 10 },
	};
	static const struct probe p[] = {
		{ "10.200.0.1", 1 },      { "10.1.200.1", 2 },      { "10.1.2.1", 3 },        { "10.1.2.129", 4 },
		{ "10.1.2.200", 5 },      { "10.1.2.201", 4 },      { "11.0.0.0", NONE },     { "9.255.255.255", NONE },
		{ "fd80::1", 6 },         { "fd00:1:ffff::1", 7 },  { "fd00:1:2:ffff::", 8 }, { "fd00:1:2:3::2", 9 },
		{ "fd00:1:2:3::1", 10 },  { "fe00::", NONE },       { "fcff:ffff::", NONE },
	};

	CHECK(r, p);
}

Test(route_table, adjacent_prefixes_do_not_leak)
{
	static const struct route r[] = {
		{ "192.0.2.0/25", 1 }, { "192.0.2.128/25", 2 }, { "198.51.100.0/31", 3 }, { "198.51.100.2/31", 4 },
		{ "2001:db8::/33", 5 }, { "2001:db8:8000::/33", 6 },
	};
	static const struct probe p[] = {
		{ "192.0.1.255", NONE },    { "192.0.2.0", 1 },      { "192.0.2.127", 1 }, { "192.0.2.128", 2 },
		{ "192.0.2.255", 2 },       { "192.0.3.0", NONE },   { "198.51.100.1", 3 }, { "198.51.100.2", 4 },
		{ "198.51.100.4", NONE },   { "2001:db8:7fff:ffff:ffff:ffff:ffff:ffff", 5 },
		{ "2001:db8:8000::", 6 },   { "2001:db9::", NONE },  { "2001:db7:ffff:ffff:ffff:ffff:ffff:ffff", NONE },
	};

	CHECK(r, p);
}

Test(route_table, host_routes_match_one_address)
{
	static const struct route r[] = { { "203.0.113.7/32", 1 }, { "2001:db8::7/128", 2 }, { "0.0.0.0/32", 3 },
					   { "255.255.255.255/32", 4 }, { "::/128", 5 } };
	static const struct probe p[] = {
		{ "203.0.113.7", 1 }, { "203.0.113.6", NONE }, { "203.0.113.8", NONE }, { "2001:db8::7", 2 },
		{ "2001:db8::6", NONE }, { "2001:db8::8", NONE }, { "0.0.0.0", 3 }, { "0.0.0.1", NONE },
		{ "255.255.255.255", 4 }, { "255.255.255.254", NONE }, { "::", 5 }, { "::1", NONE },
	};

	CHECK(r, p);
}

/* ---- stride boundaries ---- */

static void bytes_add(uint8_t *b, size_t n, int delta)
{
	for (size_t i = n; i-- > 0;) {
		unsigned v = (unsigned)b[i] + (unsigned)(delta & 0xff);

		b[i] = (uint8_t)v;
		if (delta > 0 ? v <= 0xff : v > 0xff)
			break;
	}
}

/* Keeps the first len bits and clears (or sets) the others. */
static void mask_bytes(uint8_t *b, size_t n, unsigned len, bool ones)
{
	for (size_t i = 0; i < n; i++) {
		unsigned keep = len >= 8 * (i + 1) ? 8 : len > 8 * i ? len - 8 * (unsigned)i : 0;
		uint8_t m = (uint8_t)(0xff00 >> keep);

		b[i] = ones ? (uint8_t)(b[i] | ~m) : (uint8_t)(b[i] & m);
	}
}

static bool covers(const struct ny_conf_cidr *c, const uint8_t *a, size_t w)
{
	uint8_t m[16];

	memcpy(m, a, w);
	mask_bytes(m, w, c->bits, false);
	return memcmp(m, c->addr.bytes, w) == 0;
}

/* For every length: one prefix (value 7) inside one 3 bits shorter (value 100); the first and last address of
 * the inner one and their neighbours must match what the definition says. Tried at several addresses so that
 * the boundary falls at different positions inside a stride and at the ends of the address space. */
static void check_boundaries(int family, const unsigned *lens, size_t nlens)
{
	static const uint8_t seeds[][16] = {
		{ 0xa5, 0x5a, 0xc3, 0x3c, 0x96, 0x69, 0x0f, 0xf0, 0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc, 0xde, 0xf1 },
		{ 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff },
		{ 0x80, 0x00, 0x00, 0x01, 0x80, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01 },
		{ 0 },
	};
	size_t w = family == AF_INET ? 4 : 16;

	for (size_t s = 0; s < sizeof(seeds) / sizeof(seeds[0]); s++) {
		for (size_t i = 0; i < nlens; i++) {
			unsigned len = lens[i];
			struct ny_route_table_builder *b = ny_route_table_builder_new();
			struct ny_conf_cidr in = { .addr.family = family, .bits = (uint8_t)len };
			struct ny_conf_cidr out = { .addr.family = family, .bits = (uint8_t)(len >= 3 ? len - 3 : 0) };
			struct ny_conf_addr probes[4];
			struct ny_route_table *t;

			memcpy(in.addr.bytes, seeds[s], w);
			mask_bytes(in.addr.bytes, w, len, false);
			memcpy(out.addr.bytes, seeds[s], w);
			mask_bytes(out.addr.bytes, w, out.bits, false);
			cr_assert_eq(ny_route_table_builder_add(b, &in, 7), 0);
			if (len > 0)
				cr_assert_eq(ny_route_table_builder_add(b, &out, 100), 0);
			t = ny_route_table_build(b);
			cr_assert_not_null(t);

			for (int k = 0; k < 4; k++)
				probes[k] = in.addr;
			mask_bytes(probes[2].bytes, w, len, true);
			mask_bytes(probes[3].bytes, w, len, true);
			bytes_add(probes[1].bytes, w, -1); /* wraps around at the ends, which is fine */
			bytes_add(probes[3].bytes, w, 1);
			for (int k = 0; k < 4; k++) {
				uint32_t want = covers(&in, probes[k].bytes, w)                ? 7
						: len > 0 && covers(&out, probes[k].bytes, w) ? 100
											      : NONE;

				cr_expect_eq(lookup(t, &probes[k]), want, "family %d /%u seed %zu probe %d", family, len, s,
					     k);
			}
			cr_expect_eq(ny_route_table_get(t, &in), 7);
			ny_route_table_free(t);
		}
	}
}

Test(route_table, ipv4_boundaries_at_every_interesting_length)
{
	static const unsigned lens[] = { 0, 1, 2, 5, 7, 8, 9, 12, 14, 15, 16, 17, 18, 19, 20, 23, 24, 25, 26, 29, 30, 31, 32 };

	check_boundaries(AF_INET, lens, sizeof(lens) / sizeof(lens[0]));
}

Test(route_table, ipv6_boundaries_at_every_interesting_length)
{
	static const unsigned lens[] = { 0,  1,  7,  8,  9,  15, 16, 17, 18, 23, 24, 25,  31,  32,  33,  47,
					 48, 49, 56, 63, 64, 65, 66, 96, 120, 122, 123, 124, 125, 126, 127, 128 };

	check_boundaries(AF_INET6, lens, sizeof(lens) / sizeof(lens[0]));
}

/* 64 /15s under 0.0.0.0/8: with the 8-bit first level of a small table, the first node has a child in every slot
 * and no leaf, and it is built before any leaf exists. */
Test(route_table, a_node_whose_slots_all_descend)
{
	struct ny_route_table_builder *b = ny_route_table_builder_new();
	struct ny_route_table *t;

	for (uint32_t i = 0; i < 64; i++) {
		struct ny_conf_cidr c = { .addr.family = AF_INET, .bits = 15 };

		c.addr.bytes[1] = (uint8_t)(i << 2);
		cr_assert_eq(ny_route_table_builder_add(b, &c, i), 0);
	}
	t = ny_route_table_build(b);
	cr_assert_not_null(t);
	for (uint32_t i = 0; i < 64; i++) {
		struct ny_conf_addr in = { .family = AF_INET, .bytes = { 0, (uint8_t)(i << 2 | 1), 2, 3 } };
		struct ny_conf_addr out = { .family = AF_INET, .bytes = { 0, (uint8_t)(i << 2 | 2), 2, 3 } };

		cr_assert_eq(lookup(t, &in), i);
		cr_assert_eq(lookup(t, &out), NONE);
	}
	ny_route_table_free(t);
}

Test(route_table, replacing_keeps_the_last_value)
{
	struct ny_route_table_builder *b = ny_route_table_builder_new();
	struct ny_conf_cidr c = cidr("10.0.0.0/8"), c6 = cidr("fd00::/16"), other = cidr("10.0.0.0/9");
	struct ny_conf_addr a = addr("10.200.0.1");
	struct ny_route_table *t;

	cr_assert_eq(ny_route_table_builder_add(b, &c, 1), 0);
	cr_assert_eq(ny_route_table_builder_add(b, &c6, 5), 0);
	cr_assert_eq(ny_route_table_builder_add(b, &c, 2), 0);
	cr_assert_eq(ny_route_table_builder_add(b, &other, 4), 0);
	cr_assert_eq(ny_route_table_builder_add(b, &c, 3), 0);
	t = ny_route_table_build(b);
	cr_assert_eq(lookup(t, &a), 3);
	cr_assert_eq(ny_route_table_get(t, &c), 3);
	cr_assert_eq(ny_route_table_get(t, &other), 4);
	cr_assert_eq(ny_route_table_count(t), 3);
	ny_route_table_free(t);
}

Test(route_table, values_use_all_32_bits)
{
	static const struct route r[] = {
		{ "10.0.0.0/8", 0xfffe }, { "10.1.0.0/16", 0xffff }, { "10.1.2.0/24", 0xfffffffe }, { "fd00::/8", 0 },
		{ "fd00:1::/32", 0xffff },
	};
	static const struct probe p[] = {
		{ "10.0.0.1", 0xfffe }, { "10.1.0.1", 0xffff }, { "10.1.2.1", 0xfffffffe }, { "11.0.0.1", NONE },
		{ "fd00::1", 0 },       { "fd00:1::1", 0xffff }, { "fe00::", NONE },
	};
	static const struct route narrow[] = { { "10.0.0.0/8", 0xfffe }, { "10.1.0.0/16", 0 } };
	static const struct probe pn[] = { { "10.0.0.1", 0xfffe }, { "10.1.0.1", 0 }, { "11.0.0.1", NONE } };

	CHECK(r, p);
	CHECK(narrow, pn);
}

Test(route_table, ipv4_and_ipv6_are_independent)
{
	static const struct route r[] = {
		{ "10.0.0.0/8", 1 }, { "::/96", 2 }, { "::ffff:0:0/96", 3 }, { "a00::/8", 4 },
	};
	static const struct probe p[] = {
		{ "10.1.2.3", 1 }, { "::10.1.2.3", 2 }, { "::ffff:10.1.2.3", 3 }, { "a00::1", 4 }, { "11.0.0.0", NONE },
		{ "0.0.0.0", NONE },
	};

	CHECK(r, p);
}

Test(route_table, get_is_exact_not_longest)
{
	static const struct route r[] = { { "10.0.0.0/8", 1 }, { "10.1.0.0/16", 2 }, { "fd00::/8", 3 } };
	struct ny_route_table *t = build(r, 3);
	struct ny_conf_cidr q;

	q = cidr("10.0.0.0/8");
	cr_assert_eq(ny_route_table_get(t, &q), 1);
	q = cidr("10.1.0.0/16");
	cr_assert_eq(ny_route_table_get(t, &q), 2);
	q = cidr("10.1.0.0/24");
	cr_assert_eq(ny_route_table_get(t, &q), NONE);
	q = cidr("10.0.0.0/9");
	cr_assert_eq(ny_route_table_get(t, &q), NONE);
	q = cidr("fd00::/8");
	cr_assert_eq(ny_route_table_get(t, &q), 3);
	q = cidr("fd00::/9");
	cr_assert_eq(ny_route_table_get(t, &q), NONE);
	q = cidr("10.0.0.0/8");
	q.addr.family = AF_INET6; /* the v6 prefix 0a00::/8 */
	cr_assert_eq(ny_route_table_get(t, &q), NONE);
	ny_route_table_free(t);
}

Test(route_table, rejects_bad_prefixes)
{
	/* Each made from a valid prefix by setting one address byte (host bits) or the length, which the parser
	 * would refuse. */
	static const struct {
		const char *cidr;
		int byte; /* addr.bytes[byte] = value; -1: none */
		uint8_t value;
		uint8_t bits; /* 0: keep */
	} bad[] = {
		{ "10.0.0.0/24", 3, 1, 0 },  /* 10.0.0.1/24 */
		{ "10.0.0.0/31", 3, 1, 0 },  /* 10.0.0.1/31 */
		{ "0.0.0.0/0", 0, 0x80, 0 }, /* 128.0.0.0/0 */
		{ "10.0.0.1/32", -1, 0, 33 },
		{ "fd00::/64", 15, 1, 0 },   /* fd00::1/64 */
		{ "fd00::/63", 7, 1, 0 },    /* fd00:0:0:1::/63 */
		{ "fd00::1/128", -1, 0, 129 },
	};
	struct ny_route_table_builder *b = ny_route_table_builder_new();
	struct ny_conf_cidr c;
	struct ny_route_table *t;
	struct ny_conf_addr a;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		c = cidr(bad[i].cidr);
		if (bad[i].byte >= 0)
			c.addr.bytes[bad[i].byte] = bad[i].value;
		if (bad[i].bits)
			c.bits = bad[i].bits;
		cr_assert_eq(ny_route_table_builder_add(b, &c, 1), -EINVAL, "row %zu (%s)", i, bad[i].cidr);
	}
	c = cidr("10.0.0.0/8");
	cr_assert_eq(ny_route_table_builder_add(b, &c, NONE), -EINVAL, "NONE is not a value");
	c.addr.family = AF_UNIX;
	cr_assert_eq(ny_route_table_builder_add(b, &c, 1), -EINVAL);
	c = cidr("10.0.0.0/8");
	cr_assert_eq(ny_route_table_builder_add(b, &c, 9), 0, "the builder still works");
	t = ny_route_table_build(b);
	a = addr("10.0.0.1");
	cr_assert_eq(lookup(t, &a), 9);
	cr_assert_eq(ny_route_table_count(t), 1);
	c.addr.bytes[3] = 1;
	cr_assert_eq(ny_route_table_get(t, &c), NONE);
	ny_route_table_free(t);
}

Test(route_table, packet_lookup_reads_the_destination)
{
	static const struct route r[] = { { "198.18.0.0/15", 1 }, { "2001:db8::/32", 2 } };
	struct ny_route_table *t = build(r, 2);
	uint8_t p4[20] = { 0x45 }, p6[40] = { 0x60 }, ctl[40] = { 0x80 };

	cr_assert_eq(inet_pton(AF_INET, "198.19.1.1", p4 + 16), 1);
	cr_assert_eq(inet_pton(AF_INET, "10.0.0.1", p4 + 12), 1); /* the source must not matter */
	cr_assert_eq(ny_route_table_lookup_packet(t, p4), 1);
	cr_assert_eq(inet_pton(AF_INET6, "2001:db8::1", p6 + 24), 1);
	cr_assert_eq(ny_route_table_lookup_packet(t, p6), 2);
	memcpy(ctl + 24, p6 + 24, 16);
	cr_assert_eq(ny_route_table_lookup_packet(t, ctl), NONE, "version 8 is not IP");
	ny_route_table_free(t);
}

/* ---- randomized cross-check ---- */

static uint64_t rng_state;

static uint64_t rnd(void) /* splitmix64 */
{
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* The reference: every add in order; the longest covering prefix wins, the last add among equals. */
struct ref {
	int family;
	uint64_t hi, lo, mhi, mlo;
	unsigned len;
	uint32_t value;
};

static void key_of(const uint8_t *b, int family, uint64_t *hi, uint64_t *lo)
{
	*hi = *lo = 0;
	for (int i = 0; i < (family == AF_INET ? 4 : 16); i++) {
		if (i < 8)
			*hi |= (uint64_t)b[i] << (56 - 8 * i);
		else
			*lo |= (uint64_t)b[i] << (56 - 8 * (i - 8));
	}
}

static uint32_t ref_lookup(const struct ref *r, size_t n, int family, const uint8_t *b)
{
	uint64_t hi, lo;
	uint32_t best = NONE;
	int best_len = -1;

	key_of(b, family, &hi, &lo);
	for (size_t i = 0; i < n; i++) {
		if (r[i].family == family && (hi & r[i].mhi) == r[i].hi && (lo & r[i].mlo) == r[i].lo &&
		    (int)r[i].len >= best_len) {
			best_len = (int)r[i].len;
			best = r[i].value;
		}
	}
	return best;
}

static unsigned random_len(int family)
{
	static const unsigned v4[] = { 24, 24, 24, 24, 24, 24, 22, 23, 20, 16, 19, 21, 18, 17, 12, 8, 15, 25, 28, 32 };
	static const unsigned v6[] = { 48, 48, 48, 48, 32, 32, 40, 44, 29, 64, 64, 56, 36, 128, 127, 60 };
	uint64_t x = rnd();

	if (x % 50 == 0)
		return (unsigned)(rnd() % (family == AF_INET ? 33 : 129)); /* anything, /0 included */
	return family == AF_INET ? v4[(x >> 8) % 20] : v6[(x >> 8) % 16];
}

/* The first `keep` bits of prefix, the rest of addr. */
static void graft(uint8_t *addr, const uint8_t *prefix, unsigned keep, size_t w)
{
	for (size_t k = 0; k < w; k++) {
		unsigned bits = keep >= 8 * (k + 1) ? 8 : keep > 8 * k ? keep - 8 * (unsigned)k : 0;
		uint8_t m = (uint8_t)(0xff00 >> bits);

		addr[k] = (uint8_t)((prefix[k] & m) | (addr[k] & ~m));
	}
}

/* Random prefixes, half of them carved out of an earlier one so that prefixes nest and share nodes. */
static void random_prefixes(struct ref *r, size_t n, int family, struct ny_conf_cidr *out, bool wide_values)
{
	size_t w = family == AF_INET ? 4 : 16;

	for (size_t i = 0; i < n; i++) {
		struct ny_conf_cidr *c = &out[i];
		uint64_t x[2] = { rnd(), rnd() };
		uint8_t netmask[16];

		memset(c, 0, sizeof(*c));
		c->addr.family = family;
		memcpy(c->addr.bytes, x, w);
		if (i > 0 && rnd() % 2) {
			const struct ny_conf_cidr *parent = &out[rnd() % i];

			graft(c->addr.bytes, parent->addr.bytes, parent->bits, w);
		}
		c->bits = (uint8_t)random_len(family);
		mask_bytes(c->addr.bytes, w, c->bits, false);
		if (i > 0 && rnd() % 20 == 0)
			*c = out[rnd() % i]; /* a replacement */
		memset(netmask, 0xff, w);
		mask_bytes(netmask, w, c->bits, false);
		r[i].family = family;
		key_of(c->addr.bytes, family, &r[i].hi, &r[i].lo);
		key_of(netmask, family, &r[i].mhi, &r[i].mlo);
		r[i].len = c->bits;
		r[i].value = (uint32_t)(rnd() % (wide_values ? NONE : 1000));
	}
}

static int cidr_cmp(const void *a, const void *b)
{
	const struct ny_conf_cidr *x = a, *y = b;
	int c = memcmp(x->addr.bytes, y->addr.bytes, 16);

	if (x->addr.family != y->addr.family)
		return x->addr.family - y->addr.family;
	return c ? c : (int)x->bits - (int)y->bits;
}

struct added {
	struct ny_conf_cidr c;
	uint32_t value;
	size_t index;
};

static int added_cmp(const void *a, const void *b)
{
	const struct added *x = a, *y = b;
	int c = cidr_cmp(&x->c, &y->c);

	return c ? c : (x->index > y->index) - (x->index < y->index);
}

/* Addresses to try: random ones, and the first and last address of random prefixes and their neighbours. */
static void random_address(const struct ny_conf_cidr *cs, size_t n, int family, uint8_t out[16])
{
	size_t w = family == AF_INET ? 4 : 16;
	uint64_t x[2] = { rnd(), rnd() }, pick = rnd() % 6;
	const struct ny_conf_cidr *c = &cs[rnd() % n];

	memcpy(out, x, 16);
	if (pick == 0)
		return;
	if (pick == 1) { /* inside */
		graft(out, c->addr.bytes, c->bits, w);
		return;
	}
	memcpy(out, c->addr.bytes, w);
	if (pick >= 4)
		mask_bytes(out, w, c->bits, true); /* last */
	if (pick == 3)
		bytes_add(out, w, -1);
	if (pick == 5)
		bytes_add(out, w, 1);
}

/* The batch forms answer exactly as one call per address, at every batch length and with mixed packets. */
static void check_batches(const struct ny_route_table *t, const struct ny_conf_addr *addrs, size_t n)
{
	size_t n4 = 0, n6 = 0, k4 = 0, k6 = 0;
	uint8_t *a4 = malloc(4 * n + 1), *a6 = malloc(16 * n + 1), (*pkts)[40] = malloc(40 * n + 1);
	const uint8_t **hdrs = malloc(n * sizeof(*hdrs) + 1);
	uint32_t *o4 = malloc(n * sizeof(uint32_t) + 1), *o6 = malloc(n * sizeof(uint32_t) + 1);
	uint32_t *op = malloc(n * sizeof(uint32_t) + 1);

	cr_assert(a4 && a6 && pkts && hdrs && o4 && o6 && op);
	for (size_t i = 0; i < n; i++) {
		memset(pkts[i], 0, 40);
		if (addrs[i].family == AF_INET) {
			memcpy(a4 + 4 * n4++, addrs[i].bytes, 4);
			pkts[i][0] = 0x45;
			memcpy(pkts[i] + 16, addrs[i].bytes, 4);
		} else {
			memcpy(a6 + 16 * n6++, addrs[i].bytes, 16);
			pkts[i][0] = i % 7 == 0 ? 0x80 : 0x60; /* some are not IP */
			memcpy(pkts[i] + 24, addrs[i].bytes, 16);
		}
		hdrs[i] = pkts[i];
	}
	/* Uneven lengths, so that batches end part-way through. */
	for (size_t at = 0, len = 1; at < n; at += len, len = len * 3 % 297 + 1) {
		size_t m = at + len > n ? n - at : len;

		ny_route_table_lookup_packets(t, hdrs + at, m, op + at);
	}
	ny_route_table_lookup4_batch(t, a4, n4, o4);
	ny_route_table_lookup6_batch(t, a6, n6, o6);
	for (size_t i = 0; i < n; i++) {
		uint32_t want = ny_route_table_lookup_packet(t, pkts[i]);

		cr_assert_eq(op[i], want, "packet %zu", i);
		if (addrs[i].family == AF_INET)
			cr_assert_eq(o4[k4++], ny_route_table_lookup4(t, addrs[i].bytes), "v4 address %zu", i);
		else
			cr_assert_eq(o6[k6++], ny_route_table_lookup6(t, addrs[i].bytes), "v6 address %zu", i);
	}
	free(a4);
	free(a6);
	free(pkts);
	free(hdrs);
	free(o4);
	free(o6);
	free(op);
}

static void cross_check(uint64_t seed, size_t n4, size_t n6, size_t n_addrs, bool wide_values)
{
	size_t n = n4 + n6, distinct = 0;
	struct ref *r = calloc(n, sizeof(*r));
	struct ny_conf_cidr *cs = calloc(n, sizeof(*cs)), *sorted = calloc(n, sizeof(*cs));
	struct added *order = calloc(n, sizeof(*order));
	struct ny_conf_addr *addrs = calloc(n_addrs, sizeof(*addrs));
	struct ny_route_table_builder *b = ny_route_table_builder_new();
	struct ny_route_table *t;

	cr_assert(r && cs && sorted && order && addrs && b);
	rng_state = seed;
	random_prefixes(r, n4, AF_INET, cs, wide_values);
	random_prefixes(r + n4, n6, AF_INET6, cs + n4, wide_values);
	for (size_t i = 0; i < n; i++)
		cr_assert_eq(ny_route_table_builder_add(b, &cs[i], r[i].value), 0);
	t = ny_route_table_build(b);
	cr_assert_not_null(t);

	memcpy(sorted, cs, n * sizeof(*cs));
	qsort(sorted, n, sizeof(*sorted), cidr_cmp);
	for (size_t i = 0; i < n; i++)
		distinct += i == 0 || cidr_cmp(&sorted[i - 1], &sorted[i]) != 0;
	cr_assert_eq(ny_route_table_count(t), distinct);

	for (size_t i = 0; i < n_addrs; i++) {
		int family = i % 2 ? AF_INET6 : AF_INET;
		const struct ny_conf_cidr *pool = family == AF_INET ? cs : cs + n4;
		const struct ref *rp = family == AF_INET ? r : r + n4;
		size_t np = family == AF_INET ? n4 : n6;
		struct ny_conf_addr *a = &addrs[i];
		uint32_t want;

		a->family = family;
		if (np == 0) {
			memset(a->bytes, 0, 16);
			continue;
		}
		random_address(pool, np, family, a->bytes);
		if (family == AF_INET)
			memset(a->bytes + 4, 0, 12);
		want = ref_lookup(rp, np, family, a->bytes);
		if (lookup(t, a) != want) {
			char text[NY_CONF_ADDR_STRLEN];

			ny_conf_addr_format(a, text);
			cr_assert_fail("seed %llu, address %zu %s: got %u, want %u", (unsigned long long)seed, i, text,
				       lookup(t, a), want);
		}
	}
	check_batches(t, addrs, n_addrs);
	/* Exact match returns the last add of each prefix: sorted stably, the last of each run. */
	for (size_t i = 0; i < n; i++)
		order[i] = (struct added){ cs[i], r[i].value, i };
	qsort(order, n, sizeof(*order), added_cmp);
	for (size_t i = 0; i < n; i++)
		if (i + 1 == n || cidr_cmp(&order[i].c, &order[i + 1].c) != 0)
			cr_assert_eq(ny_route_table_get(t, &order[i].c), order[i].value, "prefix %zu", order[i].index);
	ny_route_table_free(t);
	free(r);
	free(cs);
	free(sorted);
	free(order);
	free(addrs);
}

Test(route_table, random_small_tables_match_a_linear_scan)
{
	for (uint64_t seed = 1; seed <= 20; seed++)
		cross_check(seed, seed * 3, seed * 2, 4000, seed % 2);
}

Test(route_table, random_table_matches_a_linear_scan)
{
	cross_check(0x6e796c6f6eull, 4000, 2500, 200000, false);
	cross_check(0x77696465ull, 3000, 2000, 20000, true); /* values beyond 16 bits */
}

/* Big enough for the widest first level (2^18 entries). */
Test(route_table, random_large_table_matches_a_linear_scan)
{
	cross_check(0x4c504dull, 150000, 70000, 4000, false);
}

/* ---- publication under readers ----
 *
 * The writer publishes a new table per generation (every prefix maps to the generation number) and frees the old
 * one after a grace period, as the routing thread will. Readers check that each table they see is whole: its
 * /8, /24 and /32 all answer the same generation. A table freed too early shows up under ASan. */
static struct ny_route_table *slot;
static atomic_bool done;
static atomic_ulong reads;

static struct ny_route_table *generation(uint32_t g)
{
	static const char *const prefixes[] = { "198.18.0.0/15", "198.19.1.0/24", "198.19.1.1/32", "fd00::/8",
						"fd00::1/128" };
	struct ny_route_table_builder *b = ny_route_table_builder_new();

	cr_assert_not_null(b);
	for (size_t i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++) {
		struct ny_conf_cidr c = cidr(prefixes[i]);

		cr_assert_eq(ny_route_table_builder_add(b, &c, g), 0);
	}
	return ny_route_table_build(b);
}

static void *reader(void *arg)
{
	static const uint8_t a8[4] = { 198, 18, 7, 7 }, a24[4] = { 198, 19, 1, 9 }, a32[4] = { 198, 19, 1, 1 };
	uint8_t a6[16] = { 0xfd };

	ny_rcu_register_thread();
	while (!atomic_load(&done)) {
		const struct ny_route_table *t = ny_rcu_dereference(slot);
		uint32_t g = ny_route_table_lookup4(t, a8);

		cr_assert_eq(ny_route_table_lookup4(t, a24), g, "torn table");
		cr_assert_eq(ny_route_table_lookup4(t, a32), g, "torn table");
		cr_assert_eq(ny_route_table_lookup6(t, a6), g, "torn table");
		atomic_fetch_add(&reads, 1);
		ny_rcu_quiescent();
	}
	ny_rcu_unregister_thread();
	return NULL;
}

static void publish(struct ny_route_table *t)
{
	struct ny_route_table *old = slot;

	ny_rcu_assign_pointer(slot, t);
	ny_rcu_synchronize();
	ny_route_table_free(old);
}

Test(route_table, replacing_under_readers_frees_only_after_a_grace_period)
{
	pthread_t r[2];
	unsigned long before;

	publish(generation(0));
	for (int i = 0; i < 2; i++)
		cr_assert_eq(pthread_create(&r[i], NULL, reader, NULL), 0);
	for (int wait = 0; wait < 5000 && atomic_load(&reads) < 1000; wait++)
		usleep(1000);
	before = atomic_load(&reads);
	cr_assert_geq(before, 1000, "readers never started");
	for (uint32_t g = 1; g <= 100; g++)
		publish(generation(g));
	atomic_store(&done, true);
	for (int i = 0; i < 2; i++)
		pthread_join(r[i], NULL);
	cr_assert_gt(atomic_load(&reads), before, "no read overlapped the replacements");
	publish(NULL);
}
