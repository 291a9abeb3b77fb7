/* The forwarding table of the data plane, as an RCU-published snapshot, and the per-packet IP helpers that the
 * traffic-control step uses (length check, TTL / hop-limit decrement). */
#include <stdlib.h>
#include <string.h>

#include "nylon/dataplane.h"
#include "nylon/rcu.h"
#include "nylon/route_table.h"

struct ny_dp_fib *ny_dp_fib_new(size_t n_entries)
{
	struct ny_dp_fib *f = calloc(1, sizeof(*f) + n_entries * sizeof(f->entries[0]));

	return f;
}

void ny_dp_fib_free(struct ny_dp_fib *fib)
{
	if (!fib)
		return;
	ny_route_table_free(fib->table);
	free(fib);
}

void ny_dp_fib_publish(struct ny_dp_fib **slot, struct ny_dp_fib *fib)
{
	struct ny_dp_fib *old = *slot;

	ny_rcu_assign_pointer(*slot, fib);
	if (!old)
		return;
	/* Readers that might still see `old` have all passed a quiescent state once this returns. */
	ny_rcu_synchronize();
	ny_dp_fib_free(old);
}

const struct ny_dp_fib_entry *ny_dp_fib_lookup(const struct ny_dp_fib *fib, const uint8_t *ip)
{
	uint32_t v;

	if (!fib)
		return NULL;
	v = ny_route_table_lookup_packet(fib->table, ip);
	return v < fib->n_entries ? &fib->entries[v] : NULL;
}

const struct ny_dp_fib_entry *ny_dp_fib_lookup_source(const struct ny_dp_fib *fib, const uint8_t *ip)
{
	uint32_t v;

	if (!fib)
		return NULL;
	v = ip[0] >> 4 == 4 ? ny_route_table_lookup4(fib->table, ip + 12) : ny_route_table_lookup6(fib->table, ip + 8);
	return v < fib->n_entries ? &fib->entries[v] : NULL;
}

size_t ny_dp_ip_len(const uint8_t *pkt, size_t len)
{
	size_t claimed;

	if (len >= 20 && pkt[0] >> 4 == 4) {
		claimed = (size_t)pkt[2] << 8 | pkt[3];
		return claimed >= 20 && claimed <= len && (pkt[0] & 0xf) >= 5 ? claimed : 0;
	}
	if (len >= 40 && pkt[0] >> 4 == 6) {
		claimed = 40 + ((size_t)pkt[4] << 8 | pkt[5]);
		return claimed <= len ? claimed : 0;
	}
	return 0;
}

bool ny_dp_ttl_decrement(uint8_t *ip)
{
	uint32_t sum;

	if (ip[0] >> 4 == 6) {
		if (ip[7] <= 1)
			return false;
		ip[7]--;
		return true;
	}
	/* Expiring packets are left as they came: the OS sees TTL <= 1 and answers Time Exceeded itself. */
	if (ip[8] <= 1)
		return false;
	ip[8]--;
	/* RFC 1141 / RFC 1624: the TTL is the high byte of its 16-bit word, so the word fell by 0x0100 and the
	 * one's-complement checksum rises by 0x0100, with the carry folded back in. */
	sum = ((uint32_t)ip[10] << 8 | ip[11]) + 0x0100;
	sum = (sum & 0xffff) + (sum >> 16);
	ip[10] = (uint8_t)(sum >> 8);
	ip[11] = (uint8_t)sum;
	return true;
}
