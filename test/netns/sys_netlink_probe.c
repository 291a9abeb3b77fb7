/* Drives nylon/sys.h step by step for test/netns/sys_netlink.sh, inside the scenario's namespace.
 *
 * Usage: ny-sys_netlink_probe IFNAME
 *
 * One handle lives through every stage, so its record of what it added is the one under test. After each stage
 * the probe prints "stage <name>" on stdout and waits for a line on stdin, so the script can look at the kernel's
 * state (and change it) before the next stage. EOF on stdin ends the probe early: it undoes what it added and
 * exits 1. Any failed expectation is printed on stderr and ends it with exit 1.
 *
 *   link    MTU 1420, link up
 *   addrs   198.19.0.1/32, fd00::1/128, and 198.19.0.9 which the script added before: 0 but not recorded
 *   routes  198.19.1.0/24, 198.19.2.0/25, fd00:1::/64, and 198.19.3.0/24 which the script added: 0, not ours;
 *           deleting the script's 198.19.3.0/24 and fd00:9::/64 must fail with ESRCH (protocol does not match)
 *   sync    to {198.19.1.0/24, 198.19.4.0/24, fd00:2::/64}
 *   resync  the same set again, after the script deleted 198.19.4.0/24 behind our back: it comes back
 *   undo    everything we added is removed; the record is empty
 *   readd   198.19.0.1 and 198.19.1.0/24 again (the script then deletes the interface)
 *   gone    undo with the interface gone: -ENODEV/-ESRCH are not errors, the record ends empty
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nylon/conf.h"
#include "nylon/sys.h"

static struct ny_sys *sys;
static unsigned ifindex;
static const char *stage = "open";

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void die(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "sys_netlink_probe: %s: ", stage);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	if (sys) {
		ny_sys_undo_all(sys);
		ny_sys_close(sys);
	}
	exit(1);
}

static void expect(int got, int want, const char *what)
{
	if (got != want)
		die("%s: got %d (%s), expected %d", what, got, strerror(-got), want);
}

static void expect_count(size_t want)
{
	size_t got = ny_sys_recorded_count(sys);

	if (got != want)
		die("%zu addresses and routes recorded, expected %zu", got, want);
}

static struct ny_conf_addr addr(const char *text)
{
	struct ny_conf_addr a;

	if (ny_conf_addr_parse(&a, text))
		die("bad address %s", text);
	return a;
}

static struct ny_conf_cidr cidr(const char *text)
{
	struct ny_conf_cidr c;

	if (ny_conf_cidr_parse(&c, text))
		die("bad prefix %s", text);
	return c;
}

static void addr_add(const char *text)
{
	struct ny_conf_addr a = addr(text);

	expect(ny_sys_addr_add(sys, ifindex, &a), 0, text);
}

static void route_add(const char *text)
{
	struct ny_conf_cidr c = cidr(text);

	expect(ny_sys_route_add(sys, ifindex, &c), 0, text);
}

static void route_del(const char *text, int want)
{
	struct ny_conf_cidr c = cidr(text);

	expect(ny_sys_route_del(sys, ifindex, &c), want, text);
}

/* Reports the stage done and waits for the script's go-ahead. */
static void stage_done(void)
{
	char line[64];

	printf("stage %s\n", stage);
	fflush(stdout);
	if (!fgets(line, sizeof(line), stdin))
		die("stdin closed before the next stage");
}

static void sync_set(void)
{
	struct ny_conf_cidr want[] = { cidr("198.19.1.0/24"), cidr("198.19.4.0/24"), cidr("fd00:2::/64") };

	expect(ny_sys_routes_sync(sys, ifindex, want, sizeof(want) / sizeof(want[0])), 0, "routes_sync");
	expect_count(5); /* 2 addresses, 3 routes */
}

static void run(void)
{
	stage = "link";
	expect(ny_sys_link_set_mtu(sys, ifindex, 1420), 0, "set mtu 1420");
	expect(ny_sys_link_set_up(sys, ifindex), 0, "set up");
	expect_count(0);
	stage_done();

	stage = "addrs";
	addr_add("198.19.0.1");
	addr_add("fd00::1");
	addr_add("198.19.0.9"); /* the script's: EEXIST is success, not ours */
	addr_add("198.19.0.1"); /* ours already: still one entry */
	expect_count(2);
	stage_done();

	stage = "routes";
	route_add("198.19.1.0/24");
	route_add("198.19.2.0/25");
	route_add("fd00:1::/64");
	route_add("198.19.3.0/24"); /* the script's */
	expect_count(5);
	route_del("198.19.3.0/24", -ESRCH);
	route_del("fd00:9::/64", -ESRCH);
	stage_done();

	stage = "sync";
	sync_set();
	stage_done();

	stage = "resync";
	sync_set();
	stage_done();

	stage = "undo";
	expect(ny_sys_undo_all(sys), 0, "undo_all");
	expect_count(0);
	stage_done();

	stage = "readd";
	addr_add("198.19.0.1");
	route_add("198.19.1.0/24");
	expect_count(2);
	stage_done();

	stage = "gone";
	expect(ny_sys_undo_all(sys), 0, "undo_all with the interface gone");
	expect_count(0);
	stage_done();
}

int main(int argc, char **argv)
{
	int err;

	if (argc != 2) {
		fprintf(stderr, "usage: %s IFNAME\n", argv[0]);
		return 2;
	}
	err = ny_sys_open(&sys);
	if (err)
		die("ny_sys_open: %s", strerror(-err));
	expect(ny_sys_link_index(sys, argv[1], &ifindex), 0, "link index");
	run();
	ny_sys_close(sys);
	return 0;
}
