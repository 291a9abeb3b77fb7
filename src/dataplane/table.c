/* The route table of the data plane: which neighbour owns a destination, as an RCU-published snapshot. */
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "nylon/dataplane.h"
#include "nylon/rcu.h"

struct ny_dp_table *ny_dp_table_new(size_t n_routes)
{
	struct ny_dp_table *t = calloc(1, sizeof(*t) + n_routes * sizeof(t->routes[0]));

	return t;
}

void ny_dp_table_publish(struct ny_dp_table **slot, struct ny_dp_table *table)
{
	struct ny_dp_table *old = *slot;

	ny_rcu_assign_pointer(*slot, table);
	if (!old)
		return;
	/* Readers that might still see `old` have all passed a quiescent state once this returns. */
	ny_rcu_synchronize();
	free(old);
}

size_t ny_dp_ip_len(const uint8_t *pkt, size_t len)
{
	size_t claimed;

	if (len >= 20 && pkt[0] >> 4 == 4) {
		claimed = (size_t)pkt[2] << 8 | pkt[3];
		return claimed >= 20 && claimed <= len ? claimed : 0;
	}
	if (len >= 40 && pkt[0] >> 4 == 6) {
		claimed = 40 + ((size_t)pkt[4] << 8 | pkt[5]);
		return claimed <= len ? claimed : 0;
	}
	return 0;
}

static bool prefix_matches(const struct ny_conf_cidr *p, const uint8_t *addr)
{
	unsigned full = p->bits / 8, rest = p->bits % 8;

	if (memcmp(p->addr.bytes, addr, full) != 0)
		return false;
	return !rest || ((p->addr.bytes[full] ^ addr[full]) & (uint8_t)(0xff << (8 - rest))) == 0;
}

struct ny_dp_peer *ny_dp_table_lookup(const struct ny_dp_table *t, const uint8_t *pkt, size_t len)
{
	int family = pkt[0] >> 4 == 4 ? AF_INET : AF_INET6;
	const uint8_t *dst = family == AF_INET ? pkt + 16 : pkt + 24;
	const struct ny_dp_route *best = NULL;

	if (!t || len < (family == AF_INET ? 20u : 40u))
		return NULL;
	/* A linear scan over the neighbours' prefixes; the prefix trie comes with the routing issue. */
	for (size_t i = 0; i < t->n_routes; i++) {
		const struct ny_dp_route *r = &t->routes[i];

		if (r->prefix.addr.family == family && prefix_matches(&r->prefix, dst) &&
		    (!best || r->prefix.bits > best->prefix.bits))
			best = r;
	}
	return best ? best->peer : NULL;
}
