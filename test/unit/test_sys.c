/* nylon/sys.h: the record of what a handle added, argument checks before anything reaches the kernel, and, when
 * run as root, the ownership rules against the real kernel inside a private network namespace (each Criterion
 * test runs in its own process, so unshare(CLONE_NEWNET) there touches nothing of the host). Without root those
 * tests are skipped; the end-to-end scenario with ip(8) watching is test/netns/sys_netlink.sh. */
#include <criterion/criterion.h>
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "nylon/conf.h"
#include "nylon/sys.h"
#include "sys/record.h"

static struct ny_conf_cidr cidr(const char *text)
{
	struct ny_conf_cidr c;

	cr_assert_eq(ny_conf_cidr_parse(&c, text), 0, "bad test prefix %s", text);
	return c;
}

static struct ny_conf_addr addr(const char *text)
{
	struct ny_conf_addr a;

	cr_assert_eq(ny_conf_addr_parse(&a, text), 0, "bad test address %s", text);
	return a;
}

/* ---- the record ---- */

struct cidr_case {
	int family;
	const char *bytes; /* hex of the first bytes; the rest zero */
	unsigned bits;
	int want;
};

static const struct cidr_case cidr_cases[] = {
	{ AF_INET, "c6130100", 24, 0 },       /* 198.19.1.0/24 */
	{ AF_INET, "c6130180", 25, 0 },       /* 198.19.1.128/25 */
	{ AF_INET, "c6130101", 24, -EINVAL }, /* host bit set */
	{ AF_INET, "c6130180", 24, -EINVAL }, /* host bit set in the partial byte */
	{ AF_INET, "c6130101", 32, 0 },
	{ AF_INET, "c6130101", 33, -EINVAL },
	{ AF_INET, "", 0, 0 },                /* default route */
	{ AF_INET6, "fd000001", 64, 0 },
	{ AF_INET6, "fd0000010000000000000001", 64, -EINVAL },
	{ AF_INET6, "fd", 8, 0 },
	{ AF_INET6, "fd", 7, -EINVAL },
	{ AF_INET6, "fd", 128, 0 },
	{ AF_INET6, "fd", 129, -EINVAL },
	{ 0, "", 0, -EINVAL },
	{ AF_UNIX, "", 0, -EINVAL },
};

static struct ny_conf_cidr cidr_of_case(const struct cidr_case *c)
{
	struct ny_conf_cidr out = { .addr.family = c->family, .bits = (uint8_t)c->bits };
	size_t i;

	for (i = 0; c->bytes[2 * i]; i++)
		cr_assert_eq(sscanf(c->bytes + 2 * i, "%2hhx", &out.addr.bytes[i]), 1);
	return out;
}

Test(sys_record, cidr_check_accepts_only_masked_prefixes_of_a_known_family)
{
	size_t i;

	for (i = 0; i < sizeof(cidr_cases) / sizeof(cidr_cases[0]); i++) {
		struct ny_conf_cidr c = cidr_of_case(&cidr_cases[i]);

		cr_expect_eq(ny_sys_cidr_check(&c), cidr_cases[i].want, "case %zu (%s/%u)", i, cidr_cases[i].bytes,
			     cidr_cases[i].bits);
	}
}

Test(sys_record, ipv4_entries_compare_equal_whatever_lies_past_the_fourth_byte)
{
	struct ny_conf_cidr a = cidr("198.19.1.0/24"), b = a;
	struct ny_conf_cidr n;

	memset(b.addr.bytes + 4, 0xaa, 12);
	cr_assert(ny_sys_cidr_same(&a, &b));
	n = ny_sys_cidr_norm(&b);
	for (size_t i = 4; i < 16; i++)
		cr_assert_eq(n.addr.bytes[i], 0);
	b.bits = 25;
	cr_assert_not(ny_sys_cidr_same(&a, &b));
}

Test(sys_record, host_cidr_is_32_or_128_bits)
{
	struct ny_conf_addr v4 = addr("198.19.0.1"), v6 = addr("fd00::1");

	cr_assert_eq(ny_sys_cidr_host(&v4).bits, 32);
	cr_assert_eq(ny_sys_cidr_host(&v6).bits, 128);
}

static void record_put(struct ny_sys_record *r, enum ny_sys_kind kind, unsigned ifindex, const char *text)
{
	struct ny_conf_cidr c = cidr(text);

	cr_assert_eq(ny_sys_record_reserve(r), 0);
	ny_sys_record_add(r, kind, ifindex, &c);
}

Test(sys_record, keeps_order_has_no_duplicates_and_tells_kinds_and_interfaces_apart)
{
	struct ny_sys_record r;
	struct ny_conf_cidr c = cidr("198.19.1.0/24");
	size_t at;

	ny_sys_record_init(&r);
	record_put(&r, NY_SYS_ADDR, 2, "198.19.0.1/32");
	record_put(&r, NY_SYS_ROUTE, 2, "198.19.1.0/24");
	record_put(&r, NY_SYS_ROUTE, 3, "198.19.1.0/24");
	record_put(&r, NY_SYS_ROUTE, 2, "fd00:1::/64");
	record_put(&r, NY_SYS_ROUTE, 2, "198.19.1.0/24"); /* again: keeps its place */
	cr_assert_eq(r.n, 4);
	cr_assert(ny_sys_record_find(&r, NY_SYS_ROUTE, 2, &c, &at));
	cr_assert_eq(at, 1);
	cr_assert_not(ny_sys_record_find(&r, NY_SYS_ADDR, 2, &c, NULL));

	cr_assert(ny_sys_record_forget(&r, NY_SYS_ROUTE, 2, &c));
	cr_assert_not(ny_sys_record_forget(&r, NY_SYS_ROUTE, 2, &c));
	cr_assert_eq(r.n, 3);
	cr_assert_eq(r.v[0].kind, NY_SYS_ADDR);
	cr_assert_eq(r.v[1].ifindex, 3);
	cr_assert_eq(r.v[2].cidr.addr.family, AF_INET6);
	ny_sys_record_free(&r);
	cr_assert_eq(r.n, 0);
}

Test(sys_record, grows_past_its_first_allocation)
{
	struct ny_sys_record r;
	unsigned i;

	ny_sys_record_init(&r);
	for (i = 1; i <= 1000; i++) {
		struct ny_conf_cidr c = cidr("fd00:1::/64");

		cr_assert_eq(ny_sys_record_reserve(&r), 0);
		ny_sys_record_add(&r, NY_SYS_ROUTE, i, &c);
	}
	cr_assert_eq(r.n, 1000);
	cr_assert_eq(r.v[999].ifindex, 1000);
	ny_sys_record_free(&r);
}

/* ---- arguments: refused before anything is sent, so no privileges are needed ---- */

static struct ny_sys *open_handle(void)
{
	struct ny_sys *s = NULL;

	cr_assert_eq(ny_sys_open(&s), 0);
	cr_assert_not_null(s);
	return s;
}

Test(sys_args, open_needs_no_privileges_and_close_accepts_null)
{
	struct ny_sys *s = open_handle();

	cr_assert_eq(ny_sys_recorded_count(s), 0);
	cr_assert_eq(ny_sys_undo_all(s), 0);
	ny_sys_close(s);
	ny_sys_close(NULL);
	cr_assert_eq(ny_sys_open(NULL), -EINVAL);
}

Test(sys_args, link_index_finds_loopback_and_reports_missing_interfaces)
{
	struct ny_sys *s = open_handle();
	unsigned idx = 0;

	cr_assert_eq(ny_sys_link_index(s, "lo", &idx), 0);
	cr_assert_gt(idx, 0);
	cr_assert_eq(ny_sys_link_index(s, "ny-absent0", &idx), -ENODEV);
	cr_assert_eq(ny_sys_link_index(s, "", &idx), -EINVAL);
	cr_assert_eq(ny_sys_link_index(s, "sixteen-chars-xx", &idx), -EINVAL);
	cr_assert_eq(ny_sys_link_index(s, NULL, &idx), -EINVAL);
	cr_assert_eq(ny_sys_link_index(NULL, "lo", &idx), -EINVAL);
	ny_sys_close(s);
}

Test(sys_args, bad_arguments_are_einval_and_nothing_is_recorded)
{
	struct ny_sys *s = open_handle();
	struct ny_conf_addr a = addr("198.19.0.1"), bad_a = { .family = AF_UNIX };
	struct ny_conf_cidr c = cidr("198.19.1.0/24"), unmasked = c, too_long = c;

	unmasked.addr.bytes[3] = 1;
	too_long.bits = 33;
	cr_assert_eq(ny_sys_addr_add(s, 0, &a), -EINVAL);
	cr_assert_eq(ny_sys_addr_add(s, 1, &bad_a), -EINVAL);
	cr_assert_eq(ny_sys_addr_add(s, 1, NULL), -EINVAL);
	cr_assert_eq(ny_sys_addr_add(NULL, 1, &a), -EINVAL);
	cr_assert_eq(ny_sys_addr_del(s, 0, &a), -EINVAL);
	cr_assert_eq(ny_sys_route_add(s, 0, &c), -EINVAL);
	cr_assert_eq(ny_sys_route_add(s, 1, &unmasked), -EINVAL);
	cr_assert_eq(ny_sys_route_add(s, 1, &too_long), -EINVAL);
	cr_assert_eq(ny_sys_route_del(s, 1, &unmasked), -EINVAL);
	cr_assert_eq(ny_sys_routes_sync(s, 1, NULL, 1), -EINVAL);
	cr_assert_eq(ny_sys_routes_sync(s, 0, &c, 1), -EINVAL);
	cr_assert_eq(ny_sys_link_set_up(s, 0), -EINVAL);
	cr_assert_eq(ny_sys_link_set_mtu(s, 1, 0), -EINVAL);
	cr_assert_eq(ny_sys_undo_all(NULL), -EINVAL);
	cr_assert_eq(ny_sys_recorded_count(s), 0);
	ny_sys_close(s);
}

Test(sys_args, a_change_without_privileges_is_eperm_and_not_recorded)
{
	struct ny_sys *s;
	struct ny_conf_addr a = addr("198.19.0.1");
	unsigned lo;

	if (geteuid() == 0)
		cr_skip_test("runs only unprivileged (as root the change would succeed)");
	s = open_handle();
	cr_assert_eq(ny_sys_link_index(s, "lo", &lo), 0);
	cr_assert_eq(ny_sys_addr_add(s, lo, &a), -EPERM);
	cr_assert_eq(ny_sys_recorded_count(s), 0);
	ny_sys_close(s);
}

/* ---- the kernel, as root, in a namespace of the test's own ---- */

static unsigned private_netns_lo(struct ny_sys **s)
{
	unsigned lo;

	if (geteuid() != 0)
		cr_skip_test("needs root for a private network namespace");
	if (unshare(CLONE_NEWNET) != 0)
		cr_skip_test("unshare(CLONE_NEWNET): %s", strerror(errno));
	*s = open_handle();
	cr_assert_eq(ny_sys_link_index(*s, "lo", &lo), 0);
	/* Routes need their device up (IPv4 refuses a nexthop on a down device with ENETDOWN). */
	cr_assert_eq(ny_sys_link_set_up(*s, lo), 0);
	return lo;
}

Test(sys_kernel, an_address_that_was_there_before_is_success_but_not_ours)
{
	struct ny_sys *ours, *theirs;
	unsigned lo = private_netns_lo(&ours);
	struct ny_conf_addr pre = addr("198.19.0.9"), mine = addr("198.19.0.1"), mine6 = addr("fd00::1");

	theirs = open_handle(); /* after unshare: a netlink socket speaks to the namespace it was opened in */
	cr_assert_eq(ny_sys_addr_add(theirs, lo, &pre), 0);
	cr_assert_eq(ny_sys_addr_add(ours, lo, &pre), 0);
	cr_assert_eq(ny_sys_recorded_count(ours), 0);
	cr_assert_eq(ny_sys_addr_add(ours, lo, &mine), 0);
	cr_assert_eq(ny_sys_addr_add(ours, lo, &mine6), 0);
	cr_assert_eq(ny_sys_addr_add(ours, lo, &mine), 0);
	cr_assert_eq(ny_sys_recorded_count(ours), 2);

	cr_assert_eq(ny_sys_undo_all(ours), 0);
	cr_assert_eq(ny_sys_recorded_count(ours), 0);
	cr_assert_eq(ny_sys_addr_del(theirs, lo, &mine), -EADDRNOTAVAIL);
	cr_assert_eq(ny_sys_addr_del(theirs, lo, &mine6), -EADDRNOTAVAIL);
	cr_assert_eq(ny_sys_addr_del(theirs, lo, &pre), 0, "undo removed an address it had not added");
	ny_sys_close(theirs);
	ny_sys_close(ours);
}

Test(sys_kernel, sync_adds_and_removes_only_its_own_routes)
{
	struct ny_sys *s;
	unsigned lo = private_netns_lo(&s);
	struct ny_conf_cidr a = cidr("198.19.1.0/24"), b = cidr("198.19.2.0/25"), c6 = cidr("fd00:1::/64");
	struct ny_conf_cidr first[] = { a, b, c6 }, second[] = { b };

	cr_assert_eq(ny_sys_routes_sync(s, lo, first, 3), 0);
	cr_assert_eq(ny_sys_recorded_count(s), 3);
	cr_assert_eq(ny_sys_routes_sync(s, lo, first, 3), 0, "a second sync re-asserts, EEXIST is success");
	cr_assert_eq(ny_sys_recorded_count(s), 3);
	cr_assert_eq(ny_sys_routes_sync(s, lo, second, 1), 0);
	cr_assert_eq(ny_sys_recorded_count(s), 1);
	cr_assert_eq(ny_sys_route_del(s, lo, &a), -ESRCH);
	cr_assert_eq(ny_sys_route_del(s, lo, &c6), -ESRCH);
	cr_assert_eq(ny_sys_routes_sync(s, lo, NULL, 0), 0);
	cr_assert_eq(ny_sys_recorded_count(s), 0);
	cr_assert_eq(ny_sys_route_del(s, lo, &b), -ESRCH);
	ny_sys_close(s);
}

Test(sys_kernel, undo_forgets_what_is_already_gone_without_error)
{
	struct ny_sys *s, *other;
	unsigned lo = private_netns_lo(&s);
	struct ny_conf_cidr r = cidr("198.19.1.0/24");
	struct ny_conf_addr a = addr("198.19.0.1");

	other = open_handle();
	cr_assert_eq(ny_sys_addr_add(s, lo, &a), 0);
	cr_assert_eq(ny_sys_route_add(s, lo, &r), 0);
	/* Someone removes both behind our back. */
	cr_assert_eq(ny_sys_route_del(other, lo, &r), 0);
	cr_assert_eq(ny_sys_addr_del(other, lo, &a), 0);
	cr_assert_eq(ny_sys_recorded_count(s), 2);
	cr_assert_eq(ny_sys_undo_all(s), 0);
	cr_assert_eq(ny_sys_recorded_count(s), 0);
	ny_sys_close(other);
	ny_sys_close(s);
}

Test(sys_kernel, link_changes_return_the_kernels_errno)
{
	struct ny_sys *s;
	unsigned lo = private_netns_lo(&s);
	struct ny_conf_addr a = addr("198.19.0.1");
	struct ny_conf_cidr r = cidr("198.19.1.0/24");

	cr_assert_eq(ny_sys_link_set_mtu(s, lo, 1420), 0);
	cr_assert_eq(ny_sys_link_set_up(s, 999999), -ENODEV);
	cr_assert_eq(ny_sys_link_set_mtu(s, 999999, 1420), -ENODEV);
	cr_assert_eq(ny_sys_addr_add(s, 999999, &a), -ENODEV);
	cr_assert_neq(ny_sys_route_add(s, 999999, &r), 0);
	cr_assert_eq(ny_sys_recorded_count(s), 0);
	ny_sys_close(s);
}
