/* The data plane's route table: IP header lengths, longest-prefix match, and RCU replacement under readers. */
#include <criterion/criterion.h>
#include <arpa/inet.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "nylon/dataplane.h"
#include "nylon/rcu.h"

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

Test(dp_table, ip_len_trusts_only_consistent_headers)
{
	uint8_t p[64] = { 0 };

	ipv4(p, "198.19.0.1", 60);
	cr_assert_eq(ny_dp_ip_len(p, 64), 60);
	cr_assert_eq(ny_dp_ip_len(p, 59), 0, "claims more than it has");
	ipv4(p, "198.19.0.1", 19);
	cr_assert_eq(ny_dp_ip_len(p, 64), 0, "shorter than a header");
	ipv6(p, "fd00::1", 24);
	cr_assert_eq(ny_dp_ip_len(p, 64), 64);
	cr_assert_eq(ny_dp_ip_len(p, 63), 0);
	p[0] = 0x80; /* a nylon control message is not IP */
	cr_assert_eq(ny_dp_ip_len(p, 64), 0);
	cr_assert_eq(ny_dp_ip_len(p, 0), 0);
}

Test(dp_table, longest_prefix_wins_per_family)
{
	struct ny_dp_table *t = ny_dp_table_new(4);
	uint8_t p4[20], p6[40];

	t->routes[0] = (struct ny_dp_route){ cidr("198.19.0.0/16"), &peers[0] };
	t->routes[1] = (struct ny_dp_route){ cidr("198.19.5.0/24"), &peers[1] };
	t->routes[2] = (struct ny_dp_route){ cidr("fd00::/8"), &peers[2] };
	t->routes[3] = (struct ny_dp_route){ cidr("198.19.5.7/32"), &peers[3] };
	t->n_routes = 4;
	ipv4(p4, "198.19.5.7", 20);
	cr_assert_eq(ny_dp_table_lookup(t, p4, 20), &peers[3]);
	ipv4(p4, "198.19.5.8", 20);
	cr_assert_eq(ny_dp_table_lookup(t, p4, 20), &peers[1]);
	ipv4(p4, "198.19.200.1", 20);
	cr_assert_eq(ny_dp_table_lookup(t, p4, 20), &peers[0]);
	ipv4(p4, "198.18.0.1", 20);
	cr_assert_null(ny_dp_table_lookup(t, p4, 20));
	ipv6(p6, "fd00:1::5", 0);
	cr_assert_eq(ny_dp_table_lookup(t, p6, 40), &peers[2]);
	ipv6(p6, "fe80::1", 0);
	cr_assert_null(ny_dp_table_lookup(t, p6, 40));
	cr_assert_null(ny_dp_table_lookup(t, p6, 39), "truncated header");
	cr_assert_null(ny_dp_table_lookup(NULL, p6, 40));
	ny_dp_table_publish(&t, NULL);
}

/* Readers check that each snapshot they see is whole: both routes name the same peer. A table freed too early
 * shows up as a use-after-free under ASan, or as a torn snapshot here. */
static struct ny_dp_table *slot;
static atomic_bool done;
static atomic_ulong reads;

static void *reader(void *arg)
{
	uint8_t pkt[20];

	ipv4(pkt, "198.19.1.1", 20);
	ny_rcu_register_thread();
	while (!atomic_load(&done)) {
		const struct ny_dp_table *t = ny_rcu_dereference(slot);

		cr_assert_eq(t->n_routes, 2);
		cr_assert_eq(t->routes[0].peer, t->routes[1].peer, "torn snapshot");
		cr_assert_eq(ny_dp_table_lookup(t, pkt, sizeof(pkt)), t->routes[1].peer);
		atomic_fetch_add(&reads, 1);
		ny_rcu_quiescent();
	}
	ny_rcu_unregister_thread();
	return NULL;
}

static struct ny_dp_table *generation(unsigned g)
{
	struct ny_dp_table *t = ny_dp_table_new(2);

	cr_assert_not_null(t);
	t->routes[0] = (struct ny_dp_route){ cidr("198.19.0.0/16"), &peers[g % 4] };
	t->routes[1] = (struct ny_dp_route){ cidr("198.19.1.0/24"), &peers[g % 4] };
	t->n_routes = 2;
	return t;
}

Test(dp_table, replacing_under_readers_frees_only_after_a_grace_period)
{
	pthread_t r[2];

	ny_dp_table_publish(&slot, generation(0));
	unsigned long before;

	for (int i = 0; i < 2; i++)
		cr_assert_eq(pthread_create(&r[i], NULL, reader, NULL), 0);
	/* Both readers must be registered and reading before the writer starts, or there is nothing to test. */
	for (int wait = 0; wait < 5000 && atomic_load(&reads) < 1000; wait++)
		usleep(1000);
	before = atomic_load(&reads);
	cr_assert_geq(before, 1000, "readers never started");
	for (unsigned g = 1; g <= 500; g++)
		ny_dp_table_publish(&slot, generation(g));
	atomic_store(&done, true);
	for (int i = 0; i < 2; i++)
		pthread_join(r[i], NULL);
	cr_assert_gt(atomic_load(&reads), before, "no read overlapped the replacements");
	ny_dp_table_publish(&slot, NULL);
}
