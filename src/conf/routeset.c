/* The split-tunnel route set (reference §2.4, ComputeSysRouteTable):
 *
 *   routes − (((central.exclude ∪ own prefixes) − node.unexclude) ∪ node.exclude)
 *
 * So a node's own prefixes are excluded like the central excludes, an unexclude re-includes either, and a local
 * exclude wins over an unexclude. Sets are sorted lists of closed address ranges (128-bit for IPv6), turned back
 * into the fewest CIDRs at the end (10.0.0.2/32 + 10.0.0.3/32 = 10.0.0.2/31, as nylon's e2e test expects). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "nylon/conf.h"

typedef unsigned __int128 u128;

struct range {
	u128 lo;
	u128 hi; /* inclusive */
};

struct rset {
	struct range *v;
	size_t n;
};

static unsigned width(int family)
{
	return family == AF_INET ? 32 : 128;
}

static u128 all_ones(unsigned bits)
{
	return bits >= 128 ? ~(u128)0 : (((u128)1 << bits) - 1);
}

static u128 addr_value(const struct ny_conf_addr *a)
{
	unsigned n = width(a->family) / 8;
	u128 v = 0;

	for (unsigned i = 0; i < n; i++)
		v = (v << 8) | a->bytes[i];
	return v;
}

static int range_cmp(const void *pa, const void *pb)
{
	const struct range *a = pa, *b = pb;

	return a->lo < b->lo ? -1 : a->lo > b->lo;
}

/* Sorts and merges overlapping or touching ranges. */
static void normalise(struct rset *s)
{
	size_t n = 0;

	if (s->n == 0)
		return;
	qsort(s->v, s->n, sizeof(*s->v), range_cmp);
	for (size_t i = 1; i < s->n; i++) {
		struct range *cur = &s->v[n];

		if (cur->hi == ~(u128)0 || s->v[i].lo <= cur->hi + 1) {
			if (s->v[i].hi > cur->hi)
				cur->hi = s->v[i].hi;
		} else {
			s->v[++n] = s->v[i];
		}
	}
	s->n = n + 1;
}

static int from_cidrs(struct rset *s, const struct ny_conf_cidr_set *in, int family)
{
	s->n = 0;
	s->v = malloc((in->n ? in->n : 1) * sizeof(*s->v));
	if (!s->v)
		return -ENOMEM;
	for (size_t i = 0; i < in->n; i++) {
		const struct ny_conf_cidr *c = &in->v[i];
		u128 host;

		if (c->addr.family != family || c->bits > width(family))
			continue;
		host = all_ones(width(family) - c->bits);
		s->v[s->n].lo = addr_value(&c->addr) & ~host;
		s->v[s->n++].hi = (addr_value(&c->addr) & ~host) | host;
	}
	normalise(s);
	return 0;
}

static int set_union(struct rset *out, const struct rset *a, const struct rset *b)
{
	out->n = a->n + b->n;
	out->v = malloc((out->n ? out->n : 1) * sizeof(*out->v));
	if (!out->v)
		return -ENOMEM;
	if (a->n)
		memcpy(out->v, a->v, a->n * sizeof(*a->v));
	if (b->n)
		memcpy(out->v + a->n, b->v, b->n * sizeof(*b->v));
	normalise(out);
	return 0;
}

/* a − b on normalised sets; each range of b can split one range of a in two, hence the bound. */
static int set_subtract(struct rset *out, const struct rset *a, const struct rset *b)
{
	size_t j = 0;

	out->n = 0;
	out->v = malloc((a->n + b->n + 1) * sizeof(*out->v));
	if (!out->v)
		return -ENOMEM;
	for (size_t i = 0; i < a->n; i++) {
		u128 lo = a->v[i].lo, hi = a->v[i].hi;
		bool done = false;

		while (j < b->n && b->v[j].hi < lo)
			j++;
		for (size_t k = j; k < b->n && b->v[k].lo <= hi; k++) {
			if (b->v[k].lo > lo)
				out->v[out->n++] = (struct range){ lo, b->v[k].lo - 1 };
			if (b->v[k].hi >= hi) {
				done = true;
				break;
			}
			lo = b->v[k].hi + 1;
		}
		if (!done)
			out->v[out->n++] = (struct range){ lo, hi };
	}
	return 0;
}

static void value_addr(struct ny_conf_addr *a, u128 v, int family)
{
	unsigned n = width(family) / 8;

	memset(a, 0, sizeof(*a));
	a->family = family;
	for (unsigned i = n; i-- > 0; v >>= 8)
		a->bytes[i] = (uint8_t)v;
}

/* The largest aligned blocks that tile [lo, hi]. Appends to out (sized by count_cidrs). */
static size_t emit_cidrs(const struct range *r, int family, struct ny_conf_cidr *out)
{
	const unsigned w = width(family);
	u128 lo = r->lo;
	size_t n = 0;

	for (;;) {
		unsigned k = w;

		while (k > 0 && ((lo & all_ones(k)) != 0 || r->hi - lo < all_ones(k)))
			k--;
		if (out) {
			value_addr(&out[n].addr, lo, family);
			out[n].bits = (uint8_t)(w - k);
		}
		n++;
		if (r->hi - lo == all_ones(k))
			break;
		lo += all_ones(k) + 1;
	}
	return n;
}

static void rset_free(struct rset *s)
{
	free(s->v);
	s->v = NULL;
	s->n = 0;
}

/* The final ranges of one family. */
static int compute_family(const struct ny_conf_routeset_input *in, int family, struct rset *out)
{
	struct rset routes = { 0 }, cex = { 0 }, own = { 0 }, unex = { 0 }, nex = { 0 };
	struct rset t1 = { 0 }, t2 = { 0 }, excl = { 0 };
	int ret;

	if ((ret = from_cidrs(&routes, &in->routes, family)) || (ret = from_cidrs(&cex, &in->central_exclude, family)) ||
	    (ret = from_cidrs(&own, &in->own, family)) || (ret = from_cidrs(&unex, &in->node_unexclude, family)) ||
	    (ret = from_cidrs(&nex, &in->node_exclude, family)))
		goto out;
	if ((ret = set_union(&t1, &cex, &own)) || (ret = set_subtract(&t2, &t1, &unex)) ||
	    (ret = set_union(&excl, &t2, &nex)))
		goto out;
	ret = set_subtract(out, &routes, &excl);
out:
	rset_free(&routes);
	rset_free(&cex);
	rset_free(&own);
	rset_free(&unex);
	rset_free(&nex);
	rset_free(&t1);
	rset_free(&t2);
	rset_free(&excl);
	return ret;
}

int ny_conf_routeset_compute(const struct ny_conf_routeset_input *in, struct ny_conf_cidr **out, size_t *n_out)
{
	static const int families[2] = { AF_INET, AF_INET6 };
	struct rset sets[2] = { { 0 }, { 0 } };
	size_t total = 0, k = 0;
	int ret = 0;

	*out = NULL;
	*n_out = 0;
	for (int f = 0; f < 2 && !ret; f++)
		ret = compute_family(in, families[f], &sets[f]);
	if (ret)
		goto out;
	for (int f = 0; f < 2; f++) {
		for (size_t i = 0; i < sets[f].n; i++)
			total += emit_cidrs(&sets[f].v[i], families[f], NULL);
	}
	if (total == 0)
		goto out;
	*out = calloc(total, sizeof(**out));
	if (!*out) {
		ret = -ENOMEM;
		goto out;
	}
	for (int f = 0; f < 2; f++) {
		for (size_t i = 0; i < sets[f].n; i++)
			k += emit_cidrs(&sets[f].v[i], families[f], *out + k);
	}
	*n_out = total;
out:
	rset_free(&sets[0]);
	rset_free(&sets[1]);
	return ret;
}
