/* Bookkeeping of what a struct ny_sys added (record.h). */
#include "sys/record.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

size_t ny_sys_addr_len(int family)
{
	if (family == AF_INET)
		return 4;
	if (family == AF_INET6)
		return 16;
	return 0;
}

int ny_sys_cidr_check(const struct ny_conf_cidr *c)
{
	size_t len = ny_sys_addr_len(c->addr.family);
	size_t i;

	if (len == 0 || c->bits > len * 8)
		return -EINVAL;
	/* The kernel rejects an IPv4 destination with host bits (EINVAL, "Invalid prefix for given prefix length")
	 * but silently masks an IPv6 one; refusing both keeps the record equal to what the kernel holds. */
	for (i = c->bits / 8; i < len; i++) {
		unsigned keep = i == c->bits / 8u ? c->bits % 8u : 0;
		uint8_t host = (uint8_t)(0xffu >> keep);

		if (c->addr.bytes[i] & host)
			return -EINVAL;
	}
	return 0;
}

struct ny_conf_cidr ny_sys_cidr_norm(const struct ny_conf_cidr *c)
{
	struct ny_conf_cidr out = { 0 };
	size_t len = ny_sys_addr_len(c->addr.family);

	out.addr.family = c->addr.family;
	out.bits = c->bits;
	memcpy(out.addr.bytes, c->addr.bytes, len);
	return out;
}

struct ny_conf_cidr ny_sys_cidr_host(const struct ny_conf_addr *a)
{
	struct ny_conf_cidr c = { .addr = *a, .bits = (uint8_t)(ny_sys_addr_len(a->family) * 8) };

	return ny_sys_cidr_norm(&c);
}

bool ny_sys_cidr_same(const struct ny_conf_cidr *a, const struct ny_conf_cidr *b)
{
	size_t len = ny_sys_addr_len(a->addr.family);

	return a->addr.family == b->addr.family && a->bits == b->bits &&
	       memcmp(a->addr.bytes, b->addr.bytes, len) == 0;
}

void ny_sys_record_init(struct ny_sys_record *r)
{
	*r = (struct ny_sys_record){ 0 };
}

void ny_sys_record_free(struct ny_sys_record *r)
{
	free(r->v);
	ny_sys_record_init(r);
}

int ny_sys_record_reserve(struct ny_sys_record *r)
{
	size_t cap = r->cap ? r->cap * 2 : 16;
	struct ny_sys_entry *v;

	if (r->n < r->cap)
		return 0;
	v = realloc(r->v, cap * sizeof(*v));
	if (!v)
		return -ENOMEM;
	r->v = v;
	r->cap = cap;
	return 0;
}

bool ny_sys_record_find(const struct ny_sys_record *r, enum ny_sys_kind kind, unsigned ifindex,
			const struct ny_conf_cidr *c, size_t *at)
{
	size_t i;

	for (i = 0; i < r->n; i++) {
		const struct ny_sys_entry *e = &r->v[i];

		if (e->kind == kind && e->ifindex == ifindex && ny_sys_cidr_same(&e->cidr, c)) {
			if (at)
				*at = i;
			return true;
		}
	}
	return false;
}

void ny_sys_record_add(struct ny_sys_record *r, enum ny_sys_kind kind, unsigned ifindex, const struct ny_conf_cidr *c)
{
	if (ny_sys_record_find(r, kind, ifindex, c, NULL))
		return;
	if (r->n >= r->cap)
		abort(); /* cannot happen: the caller reserved room before asking the kernel */
	r->v[r->n++] = (struct ny_sys_entry){ .kind = kind, .ifindex = ifindex, .cidr = ny_sys_cidr_norm(c) };
}

void ny_sys_record_remove_at(struct ny_sys_record *r, size_t at)
{
	memmove(&r->v[at], &r->v[at + 1], (r->n - at - 1) * sizeof(r->v[0]));
	r->n--;
}

bool ny_sys_record_forget(struct ny_sys_record *r, enum ny_sys_kind kind, unsigned ifindex,
			  const struct ny_conf_cidr *c)
{
	size_t at;

	if (!ny_sys_record_find(r, kind, ifindex, c, &at))
		return false;
	ny_sys_record_remove_at(r, at);
	return true;
}
