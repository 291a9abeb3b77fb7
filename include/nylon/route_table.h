/* The prefix table: longest-prefix match from a destination address to a small value (an index into the caller's
 * own array of next hops), for IPv4 and IPv6 in one structure. v4 and v6 are independent; /0 works in both.
 *
 * Threads: a table is built once by one thread (the routing thread) through a builder, and is immutable from
 * then on. Any number of threads may then look it up concurrently without a lock: lookups only read, never
 * allocate and never write. The caller publishes a new table with ny_rcu_assign_pointer(), readers fetch it with
 * ny_rcu_dereference(), and the old table is freed with ny_route_table_free() after ny_rcu_synchronize(). Nothing
 * here keeps global state; a builder belongs to one thread at a time.
 *
 * Layout (a poptrie, Asai & Ohara, SIGCOMM 2015, written from the paper's description): per family, a direct-
 * indexed first level on the top D bits (D = 18 for large tables, so that an IPv4 /24 and an IPv6 /48 end exactly
 * on a stride boundary; fewer for small tables, down to 8, so that a ten-route mesh table is a few KiB), then
 * nodes of stride 6. A node is 24 bytes: a 64-bit bitmap of which of its 64 slots descend to a child node, a
 * 64-bit bitmap marking where each run of equal leaf values starts, and the base indexes of its children and of
 * its leaves, each group stored contiguously. A slot's child or leaf is found by a popcount of the bitmap below
 * it, so nodes hold no pointers and no empty slots, and the whole table is a few flat arrays in one allocation
 * (on transparent huge pages when it is big). Leaves are 16-bit when every value fits, else 32-bit.
 * Why: a lookup reads one direct entry, one node per 6 bits beyond D (an IPv4 /24 needs 1 node, a /32 3) and one
 * leaf: three cache lines for most IPv4 addresses, with no pointer chasing through sparse 256-way nodes. A full
 * IPv4 BGP table takes ~10 bytes per prefix for lookups (bench_route_table), small enough to stay mostly in
 * cache, where a pointer trie of 8-bit strides takes several times that and DIR-24-8 a fixed 64 MiB. The table is built from the sorted prefix list in one recursive pass, and
 * keeps that list too, for exact-match queries (ny_route_table_get()) and counts.
 * The batch lookups walk 128 addresses in lock-step with prefetches; on a table larger than the cache they are
 * several times faster than one call per address, because the misses of a whole batch overlap.
 */
#ifndef NYLON_ROUTE_TABLE_H
#define NYLON_ROUTE_TABLE_H

#include <stddef.h>
#include <stdint.h>

struct ny_conf_cidr;

#define NY_ROUTE_TABLE_NONE UINT32_MAX /* lookup result when no prefix covers the address */

struct ny_route_table;         /* immutable once built */
struct ny_route_table_builder; /* one thread at a time */

/* NULL on -ENOMEM. */
struct ny_route_table_builder *ny_route_table_builder_new(void);
/* Adds or replaces prefix -> value. 0, -EINVAL (family not AF_INET/AF_INET6, length beyond the family's width,
 * host bits set, or value == NY_ROUTE_TABLE_NONE) or -ENOMEM (the builder is unchanged). */
int ny_route_table_builder_add(struct ny_route_table_builder *b, const struct ny_conf_cidr *prefix, uint32_t value);
/* Builds the immutable table and frees the builder, whether or not it succeeds. NULL on -ENOMEM.
 * Context: the writer thread; O(n log n) in the prefixes. */
struct ny_route_table *ny_route_table_build(struct ny_route_table_builder *b);
/* For a builder that will not be built. NULL ok. */
void ny_route_table_builder_free(struct ny_route_table_builder *b);
/* NULL ok. The caller makes sure no reader still holds it (RCU grace period). */
void ny_route_table_free(struct ny_route_table *t);

/* Longest-prefix match: the value of the longest prefix covering addr, or NY_ROUTE_TABLE_NONE. Addresses are in
 * network byte order. t may be NULL (no route). Lock-free; no allocation. */
uint32_t ny_route_table_lookup4(const struct ny_route_table *t, const uint8_t addr[4]);
uint32_t ny_route_table_lookup6(const struct ny_route_table *t, const uint8_t addr[16]);
/* The destination of an IPv4 or IPv6 packet: its version nibble says which; any other version gives
 * NY_ROUTE_TABLE_NONE. The caller has checked that the whole fixed header (20 or 40 bytes) is there. */
uint32_t ny_route_table_lookup_packet(const struct ny_route_table *t, const uint8_t *ip_header);

/* The same for many at once: out[i] is the answer for the i-th address (addrs holds n packed 4- or 16-byte
 * addresses) or packet. Prefer these on the packet path: the lookups of a batch advance in lock-step and their
 * cache misses overlap, which on a big table is several times faster than one call per address. */
void ny_route_table_lookup4_batch(const struct ny_route_table *t, const uint8_t *addrs, size_t n, uint32_t *out);
void ny_route_table_lookup6_batch(const struct ny_route_table *t, const uint8_t *addrs, size_t n, uint32_t *out);
void ny_route_table_lookup_packets(const struct ny_route_table *t, const uint8_t *const *ip_headers, size_t n,
				   uint32_t *out);

/* Exact match, for the writer and tests: the value of this very prefix, or NY_ROUTE_TABLE_NONE (also for an
 * invalid prefix). O(log n). */
uint32_t ny_route_table_get(const struct ny_route_table *t, const struct ny_conf_cidr *prefix);
/* Distinct prefixes held (both families). 0 for NULL. */
size_t ny_route_table_count(const struct ny_route_table *t);
/* Bytes the table holds, the prefix list for ny_route_table_get() included. 0 for NULL. */
size_t ny_route_table_memory(const struct ny_route_table *t);

#endif
