/* bench_route_table: what a longest-prefix match costs with a full Internet table.
 *
 * Generates (fixed seed) ~900,000 IPv4 prefixes with the length mix of a BGP table (~60% /24, ~10% each /22 and
 * /23, the rest over /8-/21 and a few /25-/32; 70% of them packed into 16,384 /16s as allocations are) and
 * ~200,000 IPv6 prefixes inside 2000::/3 (mostly /48, then /32 /40 /44 /29 /64). Builds the table, then looks up
 * 4 Mi random addresses per family, 90% inside a random prefix and 10% anywhere (mostly misses).
 *
 * The reference is the plainest longest-prefix match, a binary trie walked one bit per level, built from the same
 * prefixes and run on the same addresses in the same rounds (first 1 Mi of them: it is slow); every answer of
 * both is compared. Rounds alternate the contenders so load changes hit both alike; each figure is the median
 * round. One line per figure. Usage: bench_route_table [rounds].
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "nylon/conf.h"
#include "nylon/route_table.h"

#define N_V4 900000
#define N_V6 200000
#define N_ADDRS (4u << 20)
#define N_REF_ADDRS (1u << 20)
#define ROUNDS_MAX 64

static uint64_t rng_state = 0x6e796c6f6e2d6c70ull;

static uint64_t rnd(void) /* splitmix64 */
{
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* CPU time of this thread, not wall time: on a shared machine a round that loses the core for a while would
 * otherwise count the other process's time as ours. */
static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void die(const char *what)
{
	fprintf(stderr, "bench_route_table: %s\n", what);
	exit(1);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static double median(double *v, size_t n)
{
	qsort(v, n, sizeof(v[0]), cmp_double);
	return v[n / 2];
}

/* ---- prefixes and addresses ---- */

static void mask(uint8_t *b, size_t w, unsigned len)
{
	for (size_t i = 0; i < w; i++) {
		unsigned keep = len >= 8 * (i + 1) ? 8 : len > 8 * i ? len - 8 * (unsigned)i : 0;

		b[i] &= (uint8_t)(0xff00 >> keep);
	}
}

/* Lengths of a 2024 BGP table, per 100,000 prefixes (/25-/32 together). */
static unsigned v4_len(void)
{
	static const unsigned weight[33] = {
		[8] = 2,      [9] = 2,      [10] = 4,     [11] = 11,    [12] = 33,    [13] = 66,  [14] = 130,
		[15] = 220,   [16] = 1400,  [17] = 900,   [18] = 1400,  [19] = 2600,  [20] = 4900, [21] = 6500,
		[22] = 11000, [23] = 10000, [24] = 60000, [25] = 100,   [26] = 100,   [27] = 100, [28] = 100,
		[29] = 100,   [30] = 100,   [31] = 50,    [32] = 150,
	};
	unsigned x = (unsigned)(rnd() % 100000), len;

	for (len = 8; len < 32 && x >= weight[len]; len++)
		x -= weight[len];
	return len;
}

static unsigned v6_len(void)
{
	static const unsigned lens[] = { 48, 48, 48, 48, 48, 48, 48, 48, 48, 48, 32, 32, 32,
					 40, 40, 44, 44, 29, 64, 64, 36, 56, 28, 47 };

	return lens[rnd() % (sizeof(lens) / sizeof(lens[0]))];
}

static void gen_v4(struct ny_conf_cidr *out, size_t n)
{
	uint32_t regions[16384];

	for (size_t i = 0; i < 16384; i++)
		regions[i] = (uint32_t)(1 + rnd() % 223) << 24 | (uint32_t)(rnd() & 0xff) << 16;
	for (size_t i = 0; i < n; i++) {
		uint32_t a = (uint32_t)rnd();

		if (rnd() % 10 < 7)
			a = regions[rnd() % 16384] | (a & 0xffff);
		else
			a = (uint32_t)(1 + rnd() % 223) << 24 | (a & 0xffffff);
		memset(&out[i], 0, sizeof(out[i]));
		out[i].addr.family = AF_INET;
		out[i].bits = (uint8_t)v4_len();
		for (int k = 0; k < 4; k++)
			out[i].addr.bytes[k] = (uint8_t)(a >> (24 - 8 * k));
		mask(out[i].addr.bytes, 4, out[i].bits);
	}
}

static void gen_v6(struct ny_conf_cidr *out, size_t n)
{
	uint64_t regions[2048];

	for (size_t i = 0; i < 2048; i++) /* RIR-style /20s inside 2000::/3 */
		regions[i] = (0x2000ull << 48 | (rnd() & 0x1fffffffffffffffull)) & ~0xfffffffffffull;
	for (size_t i = 0; i < n; i++) {
		uint64_t hi = rnd(), lo = rnd();

		hi = rnd() % 10 < 8 ? regions[rnd() % 2048] | (hi & 0xfffffffffffull)
				    : 0x2000ull << 48 | (hi & 0x1fffffffffffffffull);
		memset(&out[i], 0, sizeof(out[i]));
		out[i].addr.family = AF_INET6;
		out[i].bits = (uint8_t)v6_len();
		for (int k = 0; k < 8; k++) {
			out[i].addr.bytes[k] = (uint8_t)(hi >> (56 - 8 * k));
			out[i].addr.bytes[8 + k] = (uint8_t)(lo >> (56 - 8 * k));
		}
		mask(out[i].addr.bytes, 16, out[i].bits);
	}
}

/* 90% inside a random prefix (host bits random), 10% random in the family's unicast space. */
static void gen_addrs(uint8_t *out, size_t w, size_t n, const struct ny_conf_cidr *pfx, size_t n_pfx)
{
	for (size_t i = 0; i < n; i++) {
		uint8_t *a = out + i * w;
		uint64_t x[2] = { rnd(), rnd() };

		memcpy(a, x, w);
		if (rnd() % 10 == 0) {
			a[0] = w == 4 ? (uint8_t)(1 + a[0] % 223) : (uint8_t)(0x20 | (a[0] & 0x1f));
			continue;
		}
		const struct ny_conf_cidr *c = &pfx[rnd() % n_pfx];
		for (size_t k = 0; k < w; k++) {
			unsigned keep = c->bits >= 8 * (k + 1) ? 8 : c->bits > 8 * k ? c->bits - 8 * (unsigned)k : 0;
			uint8_t m = (uint8_t)(0xff00 >> keep);

			a[k] = (uint8_t)((c->addr.bytes[k] & m) | (a[k] & ~m));
		}
	}
}

/* ---- the reference: a binary trie, one bit per level ---- */

struct bnode {
	uint32_t child[2]; /* 0 = none (node 0 is the root) */
	uint32_t value;
};

struct btrie {
	struct bnode *n;
	size_t len, cap;
};

static uint32_t btrie_node(struct btrie *t)
{
	if (t->len == t->cap) {
		t->cap = t->cap ? t->cap * 2 : 1 << 20;
		t->n = realloc(t->n, t->cap * sizeof(t->n[0]));
		if (!t->n)
			die("out of memory");
	}
	t->n[t->len] = (struct bnode){ { 0, 0 }, NY_ROUTE_TABLE_NONE };
	return (uint32_t)t->len++;
}

static void btrie_add(struct btrie *t, const struct ny_conf_cidr *c, uint32_t value)
{
	uint32_t at = 0;

	for (unsigned i = 0; i < c->bits; i++) {
		unsigned bit = c->addr.bytes[i / 8] >> (7 - i % 8) & 1;

		if (!t->n[at].child[bit]) {
			uint32_t k = btrie_node(t);

			t->n[at].child[bit] = k;
		}
		at = t->n[at].child[bit];
	}
	t->n[at].value = value;
}

static uint32_t btrie_lookup(const struct btrie *t, const uint8_t *a, unsigned width)
{
	uint32_t at = 0, best = t->n[0].value;

	for (unsigned i = 0; i < width; i++) {
		at = t->n[at].child[a[i / 8] >> (7 - i % 8) & 1];
		if (!at)
			break;
		if (t->n[at].value != NY_ROUTE_TABLE_NONE)
			best = t->n[at].value;
	}
	return best;
}

/* ---- timing ---- */

static double run_table(const struct ny_route_table *t, const uint8_t *addrs, size_t w, size_t n, uint32_t *out)
{
	double t0 = now_s();

	if (w == 4)
		for (size_t i = 0; i < n; i++)
			out[i] = ny_route_table_lookup4(t, addrs + i * 4);
	else
		for (size_t i = 0; i < n; i++)
			out[i] = ny_route_table_lookup6(t, addrs + i * 16);
	return (double)n / (now_s() - t0);
}

static double run_batch(const struct ny_route_table *t, const uint8_t *addrs, size_t w, size_t n, uint32_t *out)
{
	double t0 = now_s();

	if (w == 4)
		ny_route_table_lookup4_batch(t, addrs, n, out);
	else
		ny_route_table_lookup6_batch(t, addrs, n, out);
	return (double)n / (now_s() - t0);
}

static double run_ref(const struct btrie *r, const uint8_t *addrs, size_t w, size_t n, uint32_t *out)
{
	double t0 = now_s();

	for (size_t i = 0; i < n; i++)
		out[i] = btrie_lookup(r, addrs + i * w, (unsigned)w * 8);
	return (double)n / (now_s() - t0);
}

static void bench_family(const char *name, const struct ny_route_table *t, const struct btrie *ref,
			 const struct ny_conf_cidr *pfx, size_t n_pfx, size_t w, unsigned rounds)
{
	uint8_t *addrs = malloc(N_ADDRS * w);
	uint32_t *ours = malloc(N_ADDRS * sizeof(uint32_t)), *theirs = malloc(N_REF_ADDRS * sizeof(uint32_t));
	uint32_t *batch = malloc(N_ADDRS * sizeof(uint32_t));
	double r_ours[ROUNDS_MAX], r_batch[ROUNDS_MAX], r_ref[ROUNDS_MAX], m_ours, m_batch, m_ref;
	size_t misses = 0;

	if (!addrs || !ours || !theirs || !batch)
		die("out of memory");
	gen_addrs(addrs, w, N_ADDRS, pfx, n_pfx);
	for (unsigned r = 0; r < rounds; r++) {
		r_ours[r] = run_table(t, addrs, w, N_ADDRS, ours);
		r_batch[r] = run_batch(t, addrs, w, N_ADDRS, batch);
		r_ref[r] = run_ref(ref, addrs, w, N_REF_ADDRS, theirs);
		if (memcmp(ours, theirs, N_REF_ADDRS * sizeof(uint32_t)))
			die("the table and the reference disagree");
		if (memcmp(ours, batch, N_ADDRS * sizeof(uint32_t)))
			die("single and batch lookups disagree");
	}
	for (size_t i = 0; i < N_ADDRS; i++)
		misses += ours[i] == NY_ROUTE_TABLE_NONE;
	m_ours = median(r_ours, rounds);
	m_batch = median(r_batch, rounds);
	m_ref = median(r_ref, rounds);
	printf("route_table %s lookups/s: %.0f\n", name, m_ours);
	printf("route_table %s batch lookups/s: %.0f\n", name, m_batch);
	printf("reference_trie %s lookups/s: %.0f\n", name, m_ref);
	printf("route_table %s ratio vs reference: %.2f\n", name, m_ours / m_ref);
	printf("route_table %s batch ratio vs reference: %.2f\n", name, m_batch / m_ref);
	printf("route_table %s miss share: %.3f\n", name, (double)misses / N_ADDRS);
	free(addrs);
	free(ours);
	free(theirs);
	free(batch);
}

int main(int argc, char **argv)
{
	unsigned rounds = argc > 1 ? (unsigned)atoi(argv[1]) : 5;
	struct ny_conf_cidr *v4 = malloc(N_V4 * sizeof(*v4)), *v6 = malloc(N_V6 * sizeof(*v6));
	struct btrie ref4 = { 0 }, ref6 = { 0 };
	struct ny_route_table_builder *b;
	struct ny_route_table *t;
	double t0, build_s;

	if (rounds < 1 || rounds > ROUNDS_MAX)
		die("rounds: 1 to 64");
	if (!v4 || !v6)
		die("out of memory");
	gen_v4(v4, N_V4);
	gen_v6(v6, N_V6);

	t0 = now_s();
	b = ny_route_table_builder_new();
	if (!b)
		die("out of memory");
	for (size_t i = 0; i < N_V4; i++)
		if (ny_route_table_builder_add(b, &v4[i], (uint32_t)(i % 4096)))
			die("add v4");
	for (size_t i = 0; i < N_V6; i++)
		if (ny_route_table_builder_add(b, &v6[i], (uint32_t)(i % 4096)))
			die("add v6");
	t = ny_route_table_build(b);
	build_s = now_s() - t0;
	if (!t)
		die("build: out of memory");

	/* The reference gets the same adds in the same order, so the last add of a prefix wins in both. */
	btrie_node(&ref4);
	btrie_node(&ref6);
	for (size_t i = 0; i < N_V4; i++)
		btrie_add(&ref4, &v4[i], (uint32_t)(i % 4096));
	for (size_t i = 0; i < N_V6; i++)
		btrie_add(&ref6, &v6[i], (uint32_t)(i % 4096));

	printf("route_table prefixes: %zu\n", ny_route_table_count(t));
	printf("route_table build ms: %.1f\n", build_s * 1e3);
	printf("route_table memory bytes: %zu\n", ny_route_table_memory(t));
	printf("route_table memory bytes/prefix: %.1f\n", (double)ny_route_table_memory(t) / (double)ny_route_table_count(t));
	printf("reference_trie memory bytes/prefix: %.1f\n",
	       (double)((ref4.len + ref6.len) * sizeof(struct bnode)) / (double)ny_route_table_count(t));
	bench_family("ipv4", t, &ref4, v4, N_V4, 4, rounds);
	bench_family("ipv6", t, &ref6, v6, N_V6, 16, rounds);

	ny_route_table_free(t);
	free(ref4.n);
	free(ref6.n);
	free(v4);
	free(v6);
	return 0;
}
