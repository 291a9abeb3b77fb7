/* The data plane's forwarding table and per-packet IP helpers: header lengths, TTL / hop-limit decrement with the
 * incremental IPv4 checksum, longest-prefix match into entry kinds, and RCU replacement under readers. */
#include <criterion/criterion.h>
#include <arpa/inet.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "nylon/dataplane.h"
#include "nylon/rcu.h"
#include "nylon/route_table.h"

static struct ny_dp_peer peers[4];

static struct ny_conf_cidr cidr(const char *text)
{
	struct ny_conf_cidr c;

	cr_assert_eq(ny_conf_cidr_parse(&c, text), 0, "%s", text);
	return c;
}

static void ipv4(uint8_t pkt[20], const char *dst, uint16_t total)
{
	memset(pkt, 0, 20);
	pkt[0] = 0x45;
	pkt[2] = (uint8_t)(total >> 8);
	pkt[3] = (uint8_t)total;
	cr_assert_eq(inet_pton(AF_INET, dst, pkt + 16), 1);
}

static void ipv6(uint8_t pkt[40], const char *dst, uint16_t payload)
{
	memset(pkt, 0, 40);
	pkt[0] = 0x60;
	pkt[4] = (uint8_t)(payload >> 8);
	pkt[5] = (uint8_t)payload;
	cr_assert_eq(inet_pton(AF_INET6, dst, pkt + 24), 1);
}

/* The IPv4 header checksum computed from scratch (RFC 791): the reference the incremental update must match. */
static uint16_t header_checksum(const uint8_t *h)
{
	uint32_t sum = 0;

	for (int i = 0; i < 20; i += 2)
		if (i != 10)
			sum += (uint32_t)h[i] << 8 | h[i + 1];
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

Test(dp_fib, ip_len_trusts_only_consistent_headers)
{
	uint8_t p[64] = { 0 };

	ipv4(p, "198.19.0.1", 60);
	cr_assert_eq(ny_dp_ip_len(p, 64), 60);
	cr_assert_eq(ny_dp_ip_len(p, 59), 0, "claims more than it has");
	ipv4(p, "198.19.0.1", 19);
	cr_assert_eq(ny_dp_ip_len(p, 64), 0, "shorter than a header");
	ipv4(p, "198.19.0.1", 40);
	p[0] = 0x44;
	cr_assert_eq(ny_dp_ip_len(p, 64), 0, "IHL below 5 words");
	ipv6(p, "fd00::1", 24);
	cr_assert_eq(ny_dp_ip_len(p, 64), 64);
	cr_assert_eq(ny_dp_ip_len(p, 63), 0);
	p[0] = 0x80; /* a nylon control message is not IP */
	cr_assert_eq(ny_dp_ip_len(p, 64), 0);
	cr_assert_eq(ny_dp_ip_len(p, 0), 0);
}

Test(dp_fib, ttl_decrement_keeps_the_ipv4_checksum_valid_for_every_ttl_and_checksum)
{
	uint8_t h[20];
	unsigned checked = 0;

	srand(7);
	for (unsigned ttl = 2; ttl <= 255; ttl++) {
		for (int round = 0; round < 200; round++) {
			ipv4(h, "198.19.0.3", 20);
			for (int i = 4; i < 20; i++)
				if (i < 8 || i > 11)
					h[i] = (uint8_t)rand();
			h[8] = (uint8_t)ttl;
			h[9] = (uint8_t)rand();
			if (round == 0) { /* the carry case: a checksum word of 0xff.. */
				h[12] = 0xff;
				h[13] = 0xff;
			}
			uint16_t c = header_checksum(h);

			h[10] = (uint8_t)(c >> 8);
			h[11] = (uint8_t)c;
			cr_assert(ny_dp_ttl_decrement(h));
			cr_assert_eq(h[8], ttl - 1);
			c = header_checksum(h);
			/* 0x0000 and 0xffff are the same one's-complement zero. */
			cr_assert((h[10] << 8 | h[11]) == c || ((h[10] << 8 | h[11]) ^ c) == 0xffff,
				  "ttl %u: got %02x%02x want %04x", ttl, h[10], h[11], c);
			checked++;
		}
	}
	cr_assert_eq(checked, 254 * 200);
}

Test(dp_fib, expiring_packets_are_left_untouched_for_the_os)
{
	uint8_t h[40];

	for (unsigned ttl = 0; ttl <= 1; ttl++) {
		ipv4(h, "198.19.0.3", 20);
		h[8] = (uint8_t)ttl;
		h[10] = 0x12;
		h[11] = 0x34;
		cr_assert_not(ny_dp_ttl_decrement(h));
		cr_assert_eq(h[8], ttl);
		cr_assert_eq(h[10], 0x12);
		cr_assert_eq(h[11], 0x34);
		ipv6(h, "fd00::3", 0);
		h[7] = (uint8_t)ttl;
		cr_assert_not(ny_dp_ttl_decrement(h));
		cr_assert_eq(h[7], ttl);
	}
	ipv6(h, "fd00::3", 0);
	h[7] = 64;
	cr_assert(ny_dp_ttl_decrement(h));
	cr_assert_eq(h[7], 63);
}

static struct ny_dp_fib *fib_of(const char *const *prefixes, const struct ny_dp_fib_entry *entries, size_t n)
{
	struct ny_route_table_builder *b = ny_route_table_builder_new();
	struct ny_dp_fib *f = ny_dp_fib_new(n);

	cr_assert_not_null(b);
	cr_assert_not_null(f);
	for (size_t i = 0; i < n; i++) {
		struct ny_conf_cidr c = cidr(prefixes[i]);

		f->entries[i] = entries[i];
		cr_assert_eq(ny_route_table_builder_add(b, &c, (uint32_t)i), 0);
	}
	f->n_entries = n;
	f->table = ny_route_table_build(b);
	cr_assert_not_null(f->table);
	return f;
}

Test(dp_fib, longest_prefix_picks_the_entry_kind)
{
	static const char *const prefixes[] = { "198.19.0.0/16", "198.19.1.0/24", "198.19.1.7/32", "198.19.2.0/24",
						"fd00::/64", "fd00::5/128" };
	const struct ny_dp_fib_entry entries[] = {
		{ NY_DP_FIB_PEER, &peers[0] }, { NY_DP_FIB_EXIT, NULL },    { NY_DP_FIB_PEER, &peers[1] },
		{ NY_DP_FIB_BLACKHOLE, NULL }, { NY_DP_FIB_PEER, &peers[2] }, { NY_DP_FIB_EXIT, NULL },
	};
	struct ny_dp_fib *f = fib_of(prefixes, entries, 6);
	uint8_t p4[20], p6[40];

	ipv4(p4, "198.19.9.9", 20);
	cr_assert_eq(ny_dp_fib_lookup(f, p4)->peer, &peers[0]);
	ipv4(p4, "198.19.1.1", 20);
	cr_assert_eq(ny_dp_fib_lookup(f, p4)->kind, NY_DP_FIB_EXIT);
	ipv4(p4, "198.19.1.7", 20);
	cr_assert_eq(ny_dp_fib_lookup(f, p4)->peer, &peers[1], "a more specific route inside an exit prefix wins");
	ipv4(p4, "198.19.2.200", 20);
	cr_assert_eq(ny_dp_fib_lookup(f, p4)->kind, NY_DP_FIB_BLACKHOLE);
	ipv4(p4, "198.20.0.1", 20);
	cr_assert_null(ny_dp_fib_lookup(f, p4));
	/* The source lookup reads bytes 12..15. */
	ipv4(p4, "198.20.0.1", 20);
	cr_assert_eq(inet_pton(AF_INET, "198.19.1.7", p4 + 12), 1);
	cr_assert_eq(ny_dp_fib_lookup_source(f, p4)->peer, &peers[1]);
	ipv6(p6, "fd00::9", 0);
	cr_assert_eq(ny_dp_fib_lookup(f, p6)->peer, &peers[2]);
	ipv6(p6, "fd00::5", 0);
	cr_assert_eq(ny_dp_fib_lookup(f, p6)->kind, NY_DP_FIB_EXIT);
	cr_assert_eq(inet_pton(AF_INET6, "fd00::7", p6 + 8), 1);
	cr_assert_eq(ny_dp_fib_lookup_source(f, p6)->peer, &peers[2]);
	ipv6(p6, "fd01::5", 0);
	cr_assert_null(ny_dp_fib_lookup(f, p6));
	cr_assert_null(ny_dp_fib_lookup(NULL, p6));
	ny_dp_fib_free(f);
}

/* Readers check that each snapshot they see is whole: both entries name the same peer. A table freed too early
 * shows up as a use-after-free under ASan, or as a torn snapshot here. */
static struct ny_dp_fib *slot;
static atomic_bool done;
static atomic_ulong reads;

static void *reader(void *arg)
{
	uint8_t pkt[20];

	(void)arg;
	ipv4(pkt, "198.19.1.1", 20);
	ny_rcu_register_thread();
	while (!atomic_load(&done)) {
		const struct ny_dp_fib *f = ny_rcu_dereference(slot);

		cr_assert_eq(f->n_entries, 2);
		cr_assert_eq(f->entries[0].peer, f->entries[1].peer, "torn snapshot");
		cr_assert_eq(ny_dp_fib_lookup(f, pkt), &f->entries[1]);
		atomic_fetch_add(&reads, 1);
		ny_rcu_quiescent();
	}
	ny_rcu_unregister_thread();
	return NULL;
}

static struct ny_dp_fib *generation(unsigned g)
{
	static const char *const prefixes[] = { "198.19.0.0/16", "198.19.1.0/24" };
	const struct ny_dp_fib_entry e[] = { { NY_DP_FIB_PEER, &peers[g % 4] }, { NY_DP_FIB_PEER, &peers[g % 4] } };

	return fib_of(prefixes, e, 2);
}

Test(dp_fib, replacing_under_readers_frees_only_after_a_grace_period)
{
	pthread_t r[2];
	unsigned long before;

	ny_dp_fib_publish(&slot, generation(0));
	for (int i = 0; i < 2; i++)
		cr_assert_eq(pthread_create(&r[i], NULL, reader, NULL), 0);
	/* Both readers must be registered and reading before the writer starts, or there is nothing to test. */
	for (int wait = 0; wait < 5000 && atomic_load(&reads) < 1000; wait++)
		usleep(1000);
	before = atomic_load(&reads);
	cr_assert_geq(before, 1000, "readers never started");
	for (unsigned g = 1; g <= 300; g++)
		ny_dp_fib_publish(&slot, generation(g));
	atomic_store(&done, true);
	for (int i = 0; i < 2; i++)
		pthread_join(r[i], NULL);
	cr_assert_gt(atomic_load(&reads), before, "no read overlapped the replacements");
	ny_dp_fib_publish(&slot, NULL);
}
