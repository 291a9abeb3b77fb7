/* The prefix table (include/nylon/route_table.h): a poptrie built from a sorted prefix list.
 *
 * Addresses and prefixes are handled as 128-bit keys, left-aligned in two words (hi, lo): an IPv4 address is the
 * top 32 bits of hi. Bit 0 is the most significant bit of hi, so "the 6 bits at depth d" are bits d..d+5, and
 * bits past the end of an address read as zero (an IPv4 node at depth 30 sees bits 30, 31 and four zeros).
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>

#include "nylon/byteorder.h"
#include "nylon/conf.h"
#include "nylon/route_table.h"

#define STRIDE 6                 /* bits per node: one 64-bit bitmap */
#define DIRECT_BITS_MAX 18       /* 1 MiB of direct entries per family; an IPv4 /24 and IPv6 /48 end at 18 + 6k */
#define DIRECT_BITS_MIN 8
#define DIRECT_LEAF 0x80000000u  /* a direct entry with this bit is a leaf index, else a node index */
#define INDEX_MAX 0x7fffffffu    /* node and leaf indexes must leave DIRECT_LEAF free */
#define CACHED_MAX (256u << 10)  /* a table this small stays in L2; batches of it are plain loops */

/* popcnt is not in the x86-64 baseline; without it __builtin_popcountll is a library call that costs more than
 * the rest of a lookup. There, every lookup is compiled twice, with and without popcnt, and a table records when
 * it is built whether this CPU has it. (Not target_clones: clang 14 does not export the dispatched symbol.) */
#if defined(__x86_64__) && !defined(__POPCNT__)
#define POPCNT_DISPATCH 1
#define TARGET_POPCNT __attribute__((target("popcnt")))
#else
#define POPCNT_DISPATCH 0
#define TARGET_POPCNT
#endif
#define ALWAYS_INLINE inline __attribute__((always_inline))

/* name_popcnt() and name_plain(): one body compiled with and without popcnt. Not inlined into the public
 * function, whose fast path is then a test and a tail call. */
#define NOINLINE __attribute__((noinline))
#define TWICE(ret, name, params, call)                                   \
	TARGET_POPCNT NOINLINE static ret name##_popcnt params { call; } \
	NOINLINE static ret name##_plain params { call; }

/* One node: which of the 64 slots descend (child), where each run of equal leaf values starts among the other
 * slots (leafrun), and where this node's children and leaves start in their arrays. Slot v's child is
 * nodes[child_base + popcount(child & bits 0..v) - 1], its leaf leaves[leaf_base + popcount(leafrun & bits
 * 0..v) - 1]: a slot that is not a child shares the value of the run it is in. */
struct rt_node {
	uint64_t child;
	uint64_t leafrun;
	uint32_t leaf_base;
	uint32_t child_base;
};

/* One family's trie. direct[] is indexed by the top dbits bits of the address. Leaves are the largest array a
 * lookup touches; they are 16-bit (leaves16, NONE stored as LEAF16_NONE) when every value of the family fits,
 * as next-hop indexes do, and 32-bit (leaves32) otherwise. */
struct rt_trie {
	const uint32_t *direct;
	const struct rt_node *nodes;
	const uint16_t *leaves16;
	const uint32_t *leaves32;
	unsigned dbits;
};

#define LEAF16_NONE 0xffffu

/* The prefix lists kept for exact match, sorted by (address, length). */
struct rt_prefix4 {
	uint32_t addr; /* host order */
	uint32_t value;
	uint8_t len;
};

struct rt_prefix6 {
	uint64_t hi, lo;
	uint32_t value;
	uint8_t len;
};

struct ny_route_table {
	struct rt_trie v4, v6;
	const struct rt_prefix4 *p4;
	const struct rt_prefix6 *p6;
	size_t n4, n6;
	size_t memory;
	bool popcnt; /* this CPU has popcnt: run the *_popcnt lookups */
	bool cached; /* small enough to stay in cache: batches gain nothing from lock-step and prefetches */
};

/* ---- builder ---- */

struct bprefix {
	uint64_t hi, lo;
	uint32_t value;
	uint32_t seq; /* order of the add, so that the last add of a prefix wins */
	uint8_t len;
};

struct bfamily {
	struct bprefix *p;
	size_t n, cap;
};

struct ny_route_table_builder {
	struct bfamily v4, v6;
	uint32_t seq;
};

struct ny_route_table_builder *ny_route_table_builder_new(void)
{
	return calloc(1, sizeof(struct ny_route_table_builder));
}

void ny_route_table_builder_free(struct ny_route_table_builder *b)
{
	if (!b)
		return;
	free(b->v4.p);
	free(b->v6.p);
	free(b);
}

static uint64_t load_be64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, sizeof(v));
	return ny_be64_to_cpu(v);
}

static uint32_t load_be32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, sizeof(v));
	return ny_be32_to_cpu(v);
}

/* The left-aligned key of a prefix; -EINVAL if the family or length is wrong or host bits are set. */
static int prefix_key(const struct ny_conf_cidr *c, uint64_t *hi, uint64_t *lo)
{
	uint64_t mhi, mlo;
	unsigned len = c->bits;

	if (c->addr.family == AF_INET) {
		if (len > 32)
			return -EINVAL;
		*hi = (uint64_t)load_be32(c->addr.bytes) << 32;
		*lo = 0;
	} else if (c->addr.family == AF_INET6) {
		if (len > 128)
			return -EINVAL;
		*hi = load_be64(c->addr.bytes);
		*lo = load_be64(c->addr.bytes + 8);
	} else {
		return -EINVAL;
	}
	/* Masks of the bits a prefix of this length may have set. */
	mhi = len == 0 ? 0 : len >= 64 ? UINT64_MAX : UINT64_MAX << (64 - len);
	mlo = len <= 64 ? 0 : len == 128 ? UINT64_MAX : UINT64_MAX << (128 - len);
	if ((*hi & ~mhi) || (*lo & ~mlo))
		return -EINVAL;
	return 0;
}

int ny_route_table_builder_add(struct ny_route_table_builder *b, const struct ny_conf_cidr *prefix, uint32_t value)
{
	struct bfamily *f;
	uint64_t hi, lo;
	int err;

	if (value == NY_ROUTE_TABLE_NONE)
		return -EINVAL;
	err = prefix_key(prefix, &hi, &lo);
	if (err)
		return err;
	f = prefix->addr.family == AF_INET ? &b->v4 : &b->v6;
	if (f->n == f->cap) {
		size_t cap = f->cap ? f->cap * 2 : 64;
		struct bprefix *p = reallocarray(f->p, cap, sizeof(*p));

		if (!p)
			return -ENOMEM;
		f->p = p;
		f->cap = cap;
	}
	f->p[f->n++] = (struct bprefix){ .hi = hi, .lo = lo, .value = value, .seq = b->seq++, .len = prefix->bits };
	return 0;
}

static int bprefix_cmp(const void *a, const void *b)
{
	const struct bprefix *x = a, *y = b;

	if (x->hi != y->hi)
		return x->hi < y->hi ? -1 : 1;
	if (x->lo != y->lo)
		return x->lo < y->lo ? -1 : 1;
	if (x->len != y->len)
		return x->len < y->len ? -1 : 1;
	return (x->seq > y->seq) - (x->seq < y->seq);
}

/* Sorts by (address, length) and keeps the last add of each prefix. In this order a prefix comes after every
 * prefix that contains it, which is what painting relies on. */
static void bfamily_sort(struct bfamily *f)
{
	size_t i, n = 0;

	if (f->n == 0)
		return; /* qsort() of a NULL array is undefined even when empty */
	qsort(f->p, f->n, sizeof(f->p[0]), bprefix_cmp);
	for (i = 0; i < f->n; i++) {
		if (n && f->p[n - 1].hi == f->p[i].hi && f->p[n - 1].lo == f->p[i].lo && f->p[n - 1].len == f->p[i].len)
			n--;
		f->p[n++] = f->p[i];
	}
	f->n = n;
}

/* ---- building one family's trie ---- */

struct tbuild {
	const struct bprefix *p;
	size_t n;
	unsigned dbits;
	uint32_t *direct;
	struct rt_node *nodes;
	size_t n_nodes, cap_nodes;
	uint32_t *leaves;
	size_t n_leaves, cap_leaves;
};

/* The 6 bits of a key at depth d (d < 128); they may straddle hi and lo. */
static inline unsigned key_chunk(uint64_t hi, uint64_t lo, unsigned d)
{
	unsigned __int128 k = (unsigned __int128)hi << 64 | lo;

	return (unsigned)((k << d) >> (128 - STRIDE));
}

static int grow(void **arr, size_t *cap, size_t need, size_t elem)
{
	size_t cap2 = *cap ? *cap : 1024;
	void *p;

	if (need > INDEX_MAX)
		return -ENOMEM;
	if (need <= *cap)
		return 0;
	while (cap2 < need)
		cap2 *= 2;
	p = reallocarray(*arr, cap2, elem);
	if (!p)
		return -ENOMEM;
	*arr = p;
	*cap = cap2;
	return 0;
}

/* Reserves k consecutive nodes (leaves); their first index, or a negative errno. */
static int64_t take_nodes(struct tbuild *tb, size_t k)
{
	size_t at = tb->n_nodes;

	if (grow((void **)&tb->nodes, &tb->cap_nodes, at + k, sizeof(tb->nodes[0])))
		return -ENOMEM;
	tb->n_nodes += k;
	return (int64_t)at;
}

static int64_t take_leaves(struct tbuild *tb, size_t k)
{
	size_t at = tb->n_leaves;

	if (grow((void **)&tb->leaves, &tb->cap_leaves, at + k, sizeof(tb->leaves[0])))
		return -ENOMEM;
	tb->n_leaves += k;
	return (int64_t)at;
}

/* Fills node `at`, at depth d, from the prefixes p[lo, hi) longer than d (shorter ones there are the parent's),
 * all inside this node's block. def is the value of the longest prefix of length <= d covering the block. */
static int build_node(struct tbuild *tb, size_t at, unsigned d, size_t lo, size_t hi, uint32_t def)
{
	struct {
		size_t lo, hi;
	} kid[64];
	uint32_t val[64], run[64];
	uint64_t child = 0, leafrun = 0;
	unsigned v, nrun = 0, k = 0;
	int64_t leaf_base, child_base;
	size_t i;
	int err;

	for (v = 0; v < 64; v++)
		val[v] = def;
	for (i = lo; i < hi; i++) {
		const struct bprefix *p = &tb->p[i];
		unsigned c;

		if (p->len <= d)
			continue;
		c = key_chunk(p->hi, p->lo, d);
		if (p->len <= d + STRIDE) {
			/* Covers 2^(d+6-len) slots; a later prefix here is a longer one inside it and repaints. */
			for (v = 0; v < 1u << (d + STRIDE - p->len); v++)
				val[c + v] = p->value;
		} else {
			if (!(child & (1ull << c)))
				kid[c].lo = i;
			child |= 1ull << c;
			kid[c].hi = i + 1;
		}
	}
	for (v = 0; v < 64; v++) {
		if (child & (1ull << v))
			continue;
		if (nrun == 0 || run[nrun - 1] != val[v]) {
			leafrun |= 1ull << v;
			run[nrun++] = val[v];
		}
	}
	leaf_base = take_leaves(tb, nrun);
	child_base = take_nodes(tb, (size_t)__builtin_popcountll(child));
	if (leaf_base < 0 || child_base < 0)
		return -ENOMEM;
	if (nrun) /* a node whose 64 slots all descend has none, and leaves may not be allocated yet */
		memcpy(tb->leaves + leaf_base, run, nrun * sizeof(run[0]));
	tb->nodes[at] = (struct rt_node){ .child = child, .leafrun = leafrun, .leaf_base = (uint32_t)leaf_base,
					  .child_base = (uint32_t)child_base };
	for (v = 0; v < 64; v++) {
		if (!(child & (1ull << v)))
			continue;
		err = build_node(tb, (size_t)child_base + k++, d + STRIDE, kid[v].lo, kid[v].hi, val[v]);
		if (err)
			return err;
	}
	return 0;
}

/* Enough direct bits that the first level is not the bottleneck, few enough that a small table stays small. */
static unsigned direct_bits(size_t n)
{
	unsigned bits = 1;

	while (bits < 64 && (n >> bits))
		bits++;
	bits++;
	return bits < DIRECT_BITS_MIN ? DIRECT_BITS_MIN : bits > DIRECT_BITS_MAX ? DIRECT_BITS_MAX : bits;
}

/* Paints the direct level with the prefixes no longer than dbits, then builds one node per direct entry that has
 * longer prefixes. Leaf entries share a leaf while the value stays the same. */
static int build_trie(struct tbuild *tb)
{
	size_t n_direct = (size_t)1 << tb->dbits, i = 0, idx, span, j;
	unsigned sh = 64 - tb->dbits;
	uint32_t *val, last = 0, last_at = 0;
	bool have_last = false;
	int err = -ENOMEM;

	tb->direct = malloc(n_direct * sizeof(tb->direct[0]));
	val = malloc(n_direct * sizeof(val[0]));
	if (!tb->direct || !val)
		goto out;
	for (idx = 0; idx < n_direct; idx++)
		val[idx] = NY_ROUTE_TABLE_NONE;
	for (i = 0; i < tb->n; i++) {
		if (tb->p[i].len > tb->dbits)
			continue;
		span = (size_t)1 << (tb->dbits - tb->p[i].len);
		for (j = 0, idx = tb->p[i].hi >> sh; j < span; j++)
			val[idx + j] = tb->p[i].value;
	}
	i = 0;
	for (idx = 0; idx < n_direct; idx++) {
		size_t lo;
		int64_t at;

		while (i < tb->n && (tb->p[i].hi >> sh < idx || tb->p[i].len <= tb->dbits))
			i++;
		if (i < tb->n && tb->p[i].hi >> sh == idx) {
			for (lo = i; i < tb->n && tb->p[i].hi >> sh == idx; i++)
				;
			at = take_nodes(tb, 1);
			if (at < 0)
				goto out;
			tb->direct[idx] = (uint32_t)at;
			err = build_node(tb, (size_t)at, tb->dbits, lo, i, val[idx]);
			if (err)
				goto out;
			err = -ENOMEM;
			continue;
		}
		if (!have_last || val[idx] != last) {
			int64_t l = take_leaves(tb, 1);

			if (l < 0)
				goto out;
			tb->leaves[l] = last = val[idx];
			last_at = (uint32_t)l;
			have_last = true;
		}
		tb->direct[idx] = DIRECT_LEAF | last_at;
	}
	err = 0;
out:
	free(val);
	return err;
}

static void tbuild_free(struct tbuild *tb)
{
	free(tb->direct);
	free(tb->nodes);
	free(tb->leaves);
}

/* ---- the table: one allocation ---- */

/* memcpy() into the table; n may be 0 with src NULL (an empty family), which memcpy() does not allow. */
static void *copy(void *dst, const void *src, size_t n)
{
	return n ? memcpy(dst, src, n) : dst;
}

static size_t align64(size_t n)
{
	return (n + 63) & ~(size_t)63;
}

/* Lookups land at random places in a table of tens of MiB; with 4 KiB pages nearly every one of them would also
 * miss the TLB. A big table asks for transparent huge pages (Linux; a no-op where THP is off or "never"). */
#define HUGE_PAGE (2u << 20)

static void *table_alloc(size_t size)
{
	void *p = NULL;

	if (size < 2 * HUGE_PAGE)
		return aligned_alloc(64, size);
	if (posix_memalign(&p, HUGE_PAGE, size))
		return NULL;
#ifdef MADV_HUGEPAGE
	madvise(p, size & ~(size_t)(HUGE_PAGE - 1), MADV_HUGEPAGE); /* advice: failure only costs speed */
#endif
	return p;
}

static bool leaves_fit16(const struct tbuild *tb)
{
	for (size_t i = 0; i < tb->n_leaves; i++)
		if (tb->leaves[i] >= LEAF16_NONE && tb->leaves[i] != NY_ROUTE_TABLE_NONE)
			return false;
	return true;
}

static uint16_t *narrow(void *dst, const uint32_t *leaves, size_t n)
{
	uint16_t *out = dst;

	for (size_t i = 0; i < n; i++)
		out[i] = leaves[i] == NY_ROUTE_TABLE_NONE ? LEAF16_NONE : (uint16_t)leaves[i];
	return out;
}

/* Lays out [header | direct4 | direct6 | nodes4 | nodes6 | leaves4 | leaves6 | prefixes4 | prefixes6]. */
static struct ny_route_table *table_assemble(struct tbuild *b4, struct tbuild *b6, const struct bfamily *f4,
					     const struct bfamily *f6)
{
	struct tbuild *tbs[2] = { b4, b6 };
	size_t off[9], size = 0, k = 0, i;
	struct ny_route_table *t;
	uint8_t *base;

	off[k++] = size, size = align64(size + sizeof(*t));
	for (i = 0; i < 2; i++)
		off[k++] = size, size = align64(size + ((size_t)1 << tbs[i]->dbits) * sizeof(uint32_t));
	for (i = 0; i < 2; i++)
		off[k++] = size, size = align64(size + tbs[i]->n_nodes * sizeof(struct rt_node));
	for (i = 0; i < 2; i++)
		off[k++] = size, size = align64(size + tbs[i]->n_leaves * (leaves_fit16(tbs[i]) ? 2 : 4));
	off[k++] = size, size = align64(size + f4->n * sizeof(struct rt_prefix4));
	off[k++] = size, size = align64(size + f6->n * sizeof(struct rt_prefix6));
	base = table_alloc(size);
	if (!base)
		return NULL;
	t = (struct ny_route_table *)base;
	*t = (struct ny_route_table){ .n4 = f4->n, .n6 = f6->n, .memory = size, .cached = size <= CACHED_MAX };
#if POPCNT_DISPATCH
	t->popcnt = __builtin_cpu_supports("popcnt");
#endif
	for (i = 0; i < 2; i++) {
		struct rt_trie *tr = i ? &t->v6 : &t->v4;

		tr->dbits = tbs[i]->dbits;
		tr->direct = copy(base + off[1 + i], tbs[i]->direct, ((size_t)1 << tbs[i]->dbits) * sizeof(uint32_t));
		tr->nodes = copy(base + off[3 + i], tbs[i]->nodes, tbs[i]->n_nodes * sizeof(struct rt_node));
		if (leaves_fit16(tbs[i]))
			tr->leaves16 = narrow(base + off[5 + i], tbs[i]->leaves, tbs[i]->n_leaves);
		else
			tr->leaves32 = copy(base + off[5 + i], tbs[i]->leaves, tbs[i]->n_leaves * sizeof(uint32_t));
	}
	t->p4 = (const struct rt_prefix4 *)(base + off[7]);
	for (i = 0; i < f4->n; i++)
		((struct rt_prefix4 *)(base + off[7]))[i] =
			(struct rt_prefix4){ (uint32_t)(f4->p[i].hi >> 32), f4->p[i].value, f4->p[i].len };
	t->p6 = (const struct rt_prefix6 *)(base + off[8]);
	for (i = 0; i < f6->n; i++)
		((struct rt_prefix6 *)(base + off[8]))[i] =
			(struct rt_prefix6){ f6->p[i].hi, f6->p[i].lo, f6->p[i].value, f6->p[i].len };
	return t;
}

struct ny_route_table *ny_route_table_build(struct ny_route_table_builder *b)
{
	struct tbuild b4 = { 0 }, b6 = { 0 };
	struct ny_route_table *t = NULL;

	if (!b)
		return NULL;
	bfamily_sort(&b->v4);
	bfamily_sort(&b->v6);
	b4 = (struct tbuild){ .p = b->v4.p, .n = b->v4.n, .dbits = direct_bits(b->v4.n) };
	b6 = (struct tbuild){ .p = b->v6.p, .n = b->v6.n, .dbits = direct_bits(b->v6.n) };
	if (build_trie(&b4) || build_trie(&b6))
		goto out;
	t = table_assemble(&b4, &b6, &b->v4, &b->v6);
out:
	tbuild_free(&b4);
	tbuild_free(&b6);
	ny_route_table_builder_free(b);
	return t;
}

void ny_route_table_free(struct ny_route_table *t)
{
	free(t);
}

/* ---- lookups ---- */

static inline uint32_t leaf_value(const struct rt_trie *tr, uint32_t i)
{
	uint32_t x;

	if (!tr->leaves16)
		return tr->leaves32[i];
	x = tr->leaves16[i];
	return x == LEAF16_NONE ? NY_ROUTE_TABLE_NONE : x;
}

static inline const void *leaf_addr(const struct rt_trie *tr, uint32_t i)
{
	return tr->leaves16 ? (const void *)&tr->leaves16[i] : (const void *)&tr->leaves32[i];
}

/* Bits 0..v of a word. */
static inline uint64_t upto(unsigned v)
{
	return UINT64_MAX >> (63 - v);
}

/* Walks one family's trie for a left-aligned key. IPv4 keys stay in hi (wide false): their depths stay below 32,
 * and a 64-bit shift is cheaper than a 128-bit one. (Walking a sentinel node instead of branching on a direct
 * leaf, and walking a fixed number of levels without branches, both measured slower: in a big IPv4 table the
 * branches are well predicted, as most addresses end at the first node.) */
static ALWAYS_INLINE uint32_t trie_lookup(const struct rt_trie *tr, uint64_t hi, uint64_t lo, bool wide)
{
	uint32_t e = tr->direct[hi >> (64 - tr->dbits)];
	const struct rt_node *n;
	unsigned d = tr->dbits, v;

	if (e & DIRECT_LEAF)
		return leaf_value(tr, e & ~DIRECT_LEAF);
	n = &tr->nodes[e];
	for (;;) {
		v = wide ? key_chunk(hi, lo, d) : (unsigned)((hi << d) >> (64 - STRIDE));
		if (!(n->child & (1ull << v)))
			return leaf_value(tr, n->leaf_base + (uint32_t)__builtin_popcountll(n->leafrun & upto(v)) - 1);
		n = &tr->nodes[n->child_base + (uint32_t)__builtin_popcountll(n->child & upto(v)) - 1];
		d += STRIDE;
	}
}

static ALWAYS_INLINE uint32_t lookup4(const struct ny_route_table *t, const uint8_t *addr)
{
	return trie_lookup(&t->v4, (uint64_t)load_be32(addr) << 32, 0, false);
}

static ALWAYS_INLINE uint32_t lookup6(const struct ny_route_table *t, const uint8_t *addr)
{
	return trie_lookup(&t->v6, load_be64(addr), load_be64(addr + 8), true);
}

/* Destination address: IPv4 header bytes 16..19 (RFC 791 §3.1), IPv6 bytes 24..39 (RFC 8200 §3). */
static ALWAYS_INLINE uint32_t lookup_packet(const struct ny_route_table *t, const uint8_t *ip_header)
{
	switch (ip_header[0] >> 4) {
	case 4:
		return lookup4(t, ip_header + 16);
	case 6:
		return lookup6(t, ip_header + 24);
	default:
		return NY_ROUTE_TABLE_NONE;
	}
}

TWICE(uint32_t, lookup4, (const struct ny_route_table *t, const uint8_t *a), return lookup4(t, a))
TWICE(uint32_t, lookup6, (const struct ny_route_table *t, const uint8_t *a), return lookup6(t, a))
TWICE(uint32_t, lookup_packet, (const struct ny_route_table *t, const uint8_t *h), return lookup_packet(t, h))

static bool use_popcnt(const struct ny_route_table *t)
{
	return !POPCNT_DISPATCH || t->popcnt;
}

uint32_t ny_route_table_lookup4(const struct ny_route_table *t, const uint8_t addr[4])
{
	if (!t)
		return NY_ROUTE_TABLE_NONE;
	return use_popcnt(t) ? lookup4_popcnt(t, addr) : lookup4_plain(t, addr);
}

uint32_t ny_route_table_lookup6(const struct ny_route_table *t, const uint8_t addr[16])
{
	if (!t)
		return NY_ROUTE_TABLE_NONE;
	return use_popcnt(t) ? lookup6_popcnt(t, addr) : lookup6_plain(t, addr);
}

uint32_t ny_route_table_lookup_packet(const struct ny_route_table *t, const uint8_t *ip_header)
{
	if (!t)
		return NY_ROUTE_TABLE_NONE;
	return use_popcnt(t) ? lookup_packet_popcnt(t, ip_header) : lookup_packet_plain(t, ip_header);
}

/* ---- batches ----
 *
 * One lookup is a chain of dependent loads (direct entry, nodes, leaf); on a big table most of them miss the
 * cache, and a lookup whose depth the CPU mispredicts cannot overlap with the next one. A batch walks up to
 * BATCH lookups in lock-step instead: each round advances every unfinished lookup by one node and prefetches the
 * node (or leaf) it will read in the next round, so the misses of the whole batch are in flight together.
 */
#define BATCH 128 /* 64 and 128 measured alike or better than 32: a round must outlast the misses it waits for */

_Static_assert(BATCH <= 256, "walk_batch keeps indexes in uint8_t");

struct walk {
	uint64_t hi, lo;
	const struct rt_trie *tr; /* NULL: no lookup (not IP), the answer is NONE */
	uint32_t at;              /* node index while walking, leaf index once done */
	unsigned d;
};

static ALWAYS_INLINE void walk_batch(struct walk *w, unsigned n, uint32_t *out)
{
	uint8_t live[BATCH]; /* indexes into w[] */
	unsigned i, k, n_live = 0, still;

	for (i = 0; i < n; i++)
		if (w[i].tr)
			__builtin_prefetch(&w[i].tr->direct[w[i].hi >> (64 - w[i].tr->dbits)]);
	for (i = 0; i < n; i++) {
		const struct rt_trie *tr = w[i].tr;
		uint32_t e;

		if (!tr)
			continue;
		e = tr->direct[w[i].hi >> (64 - tr->dbits)];
		w[i].d = tr->dbits;
		w[i].at = e & ~DIRECT_LEAF;
		if (e & DIRECT_LEAF) {
			__builtin_prefetch(leaf_addr(tr, w[i].at));
		} else {
			__builtin_prefetch(&tr->nodes[e]);
			live[n_live++] = (uint8_t)i;
		}
	}
	while (n_live) {
		for (k = 0, still = 0; k < n_live; k++) {
			struct walk *x = &w[live[k]];
			const struct rt_node *nd = &x->tr->nodes[x->at];
			unsigned v = key_chunk(x->hi, x->lo, x->d);

			if (nd->child & (1ull << v)) {
				x->at = nd->child_base + (uint32_t)__builtin_popcountll(nd->child & upto(v)) - 1;
				x->d += STRIDE;
				__builtin_prefetch(&x->tr->nodes[x->at]);
				live[still++] = live[k];
			} else {
				x->at = nd->leaf_base + (uint32_t)__builtin_popcountll(nd->leafrun & upto(v)) - 1;
				__builtin_prefetch(leaf_addr(x->tr, x->at));
			}
		}
		n_live = still;
	}
	for (i = 0; i < n; i++)
		out[i] = w[i].tr ? leaf_value(w[i].tr, w[i].at) : NY_ROUTE_TABLE_NONE;
}

static void fill_none(uint32_t *out, size_t n)
{
	for (size_t i = 0; i < n; i++)
		out[i] = NY_ROUTE_TABLE_NONE;
}

static ALWAYS_INLINE void batch4(const struct ny_route_table *t, const uint8_t *addrs, size_t n, uint32_t *out)
{
	struct walk w[BATCH];

	if (t->cached) {
		for (size_t i = 0; i < n; i++)
			out[i] = lookup4(t, addrs + 4 * i);
		return;
	}

	for (size_t at = 0; at < n; at += BATCH) {
		unsigned m = n - at < BATCH ? (unsigned)(n - at) : BATCH;

		for (unsigned i = 0; i < m; i++)
			w[i] = (struct walk){ .hi = (uint64_t)load_be32(addrs + 4 * (at + i)) << 32, .tr = &t->v4 };
		walk_batch(w, m, out + at);
	}
}

static ALWAYS_INLINE void batch6(const struct ny_route_table *t, const uint8_t *addrs, size_t n, uint32_t *out)
{
	struct walk w[BATCH];

	if (t->cached) {
		for (size_t i = 0; i < n; i++)
			out[i] = lookup6(t, addrs + 16 * i);
		return;
	}

	for (size_t at = 0; at < n; at += BATCH) {
		unsigned m = n - at < BATCH ? (unsigned)(n - at) : BATCH;

		for (unsigned i = 0; i < m; i++) {
			const uint8_t *a = addrs + 16 * (at + i);

			w[i] = (struct walk){ .hi = load_be64(a), .lo = load_be64(a + 8), .tr = &t->v6 };
		}
		walk_batch(w, m, out + at);
	}
}

static ALWAYS_INLINE void batch_packets(const struct ny_route_table *t, const uint8_t *const *ip_headers, size_t n,
					uint32_t *out)
{
	struct walk w[BATCH];

	if (t->cached) {
		for (size_t i = 0; i < n; i++)
			out[i] = lookup_packet(t, ip_headers[i]);
		return;
	}

	for (size_t at = 0; at < n; at += BATCH) {
		unsigned m = n - at < BATCH ? (unsigned)(n - at) : BATCH;

		for (unsigned i = 0; i < m; i++) {
			const uint8_t *h = ip_headers[at + i];

			w[i] = (struct walk){ 0 };
			if (h[0] >> 4 == 4)
				w[i] = (struct walk){ .hi = (uint64_t)load_be32(h + 16) << 32, .tr = &t->v4 };
			else if (h[0] >> 4 == 6)
				w[i] = (struct walk){ .hi = load_be64(h + 24), .lo = load_be64(h + 32), .tr = &t->v6 };
		}
		walk_batch(w, m, out + at);
	}
}

TWICE(void, batch4, (const struct ny_route_table *t, const uint8_t *a, size_t n, uint32_t *out), batch4(t, a, n, out))
TWICE(void, batch6, (const struct ny_route_table *t, const uint8_t *a, size_t n, uint32_t *out), batch6(t, a, n, out))
TWICE(void, batch_packets, (const struct ny_route_table *t, const uint8_t *const *h, size_t n, uint32_t *out),
      batch_packets(t, h, n, out))

void ny_route_table_lookup4_batch(const struct ny_route_table *t, const uint8_t *addrs, size_t n, uint32_t *out)
{
	if (!t)
		fill_none(out, n);
	else if (use_popcnt(t))
		batch4_popcnt(t, addrs, n, out);
	else
		batch4_plain(t, addrs, n, out);
}

void ny_route_table_lookup6_batch(const struct ny_route_table *t, const uint8_t *addrs, size_t n, uint32_t *out)
{
	if (!t)
		fill_none(out, n);
	else if (use_popcnt(t))
		batch6_popcnt(t, addrs, n, out);
	else
		batch6_plain(t, addrs, n, out);
}

void ny_route_table_lookup_packets(const struct ny_route_table *t, const uint8_t *const *ip_headers, size_t n,
				   uint32_t *out)
{
	if (!t)
		fill_none(out, n);
	else if (use_popcnt(t))
		batch_packets_popcnt(t, ip_headers, n, out);
	else
		batch_packets_plain(t, ip_headers, n, out);
}

/* ---- exact match and sizes ---- */

static uint32_t get4(const struct ny_route_table *t, uint32_t addr, uint8_t len)
{
	size_t lo = 0, hi = t->n4;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const struct rt_prefix4 *p = &t->p4[mid];

		if (p->addr == addr && p->len == len)
			return p->value;
		if (p->addr < addr || (p->addr == addr && p->len < len))
			lo = mid + 1;
		else
			hi = mid;
	}
	return NY_ROUTE_TABLE_NONE;
}

static uint32_t get6(const struct ny_route_table *t, uint64_t khi, uint64_t klo, uint8_t len)
{
	size_t lo = 0, hi = t->n6;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const struct rt_prefix6 *p = &t->p6[mid];

		if (p->hi == khi && p->lo == klo && p->len == len)
			return p->value;
		if (p->hi < khi || (p->hi == khi && (p->lo < klo || (p->lo == klo && p->len < len))))
			lo = mid + 1;
		else
			hi = mid;
	}
	return NY_ROUTE_TABLE_NONE;
}

uint32_t ny_route_table_get(const struct ny_route_table *t, const struct ny_conf_cidr *prefix)
{
	uint64_t hi, lo;

	if (!t || prefix_key(prefix, &hi, &lo))
		return NY_ROUTE_TABLE_NONE;
	if (prefix->addr.family == AF_INET)
		return get4(t, (uint32_t)(hi >> 32), prefix->bits);
	return get6(t, hi, lo, prefix->bits);
}

size_t ny_route_table_count(const struct ny_route_table *t)
{
	return t ? t->n4 + t->n6 : 0;
}

size_t ny_route_table_memory(const struct ny_route_table *t)
{
	return t ? t->memory : 0;
}
