/* The split-tunnel route set of reference §2.4 and nylon's sys-route unit tests (§6.3): excludes, unexcludes,
 * a local exclude overriding an unexclude, own prefixes excluded, coalescing into the fewest CIDRs. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nylon/conf.h"

#define MAX 8

struct routeset_case {
	const char *name;
	const char *routes[MAX];
	const char *central_exclude[MAX];
	const char *own[MAX];
	const char *node_unexclude[MAX];
	const char *node_exclude[MAX];
	const char *expect; /* space-separated CIDRs */
};

static const struct routeset_case cases[] = {
	{ "routes pass through", { "10.0.0.0/24", "fd00::/64" }, {}, {}, {}, {}, "10.0.0.0/24 fd00::/64" },
	{ "adjacent /32s coalesce to a /31 (nylon e2e)", { "10.0.0.3/32", "10.0.0.2/32" }, {}, {}, {}, {},
	  "10.0.0.2/31" },
	{ "unaligned /32s do not coalesce", { "10.0.0.1/32", "10.0.0.2/32" }, {}, {}, {}, {},
	  "10.0.0.1/32 10.0.0.2/32" },
	{ "adjacent /25s coalesce to a /24", { "10.1.0.0/25", "10.1.0.128/25" }, {}, {}, {}, {}, "10.1.0.0/24" },
	{ "contained prefixes merge", { "10.0.0.0/8", "10.1.0.0/16", "10.1.2.3/32" }, {}, {}, {}, {}, "10.0.0.0/8" },
	{ "own prefixes are excluded", { "10.0.0.1/32", "10.0.0.2/32", "10.0.0.3/32" }, {}, { "10.0.0.1/32" }, {}, {},
	  "10.0.0.2/31" },
	{ "central exclude removes", { "10.0.0.0/24", "192.168.50.0/24" }, { "192.168.50.0/24" }, {}, {}, {},
	  "10.0.0.0/24" },
	{ "central exclude splits a route", { "10.0.0.0/24" }, { "10.0.0.0/25" }, {}, {}, {}, "10.0.0.128/25" },
	{ "exclude in the middle leaves the fewest CIDRs", { "10.0.0.0/24" }, { "10.0.0.64/26" }, {}, {}, {},
	  "10.0.0.0/26 10.0.0.128/25" },
	{ "unexclude re-includes a central exclude", { "10.0.0.0/24", "192.168.50.0/24" }, { "192.168.50.0/24" }, {},
	  { "192.168.50.0/24" }, {}, "10.0.0.0/24 192.168.50.0/24" },
	{ "unexclude re-includes part of an exclude", { "192.168.0.0/16" }, { "192.168.0.0/16" }, {},
	  { "192.168.50.0/24" }, {}, "192.168.50.0/24" },
	{ "unexclude re-includes an own prefix", { "10.0.0.1/32", "10.0.0.2/32" }, {}, { "10.0.0.1/32" },
	  { "10.0.0.1/32" }, {}, "10.0.0.1/32 10.0.0.2/32" },
	{ "a local exclude overrides an unexclude", { "10.0.0.0/24", "192.168.50.0/24" }, { "192.168.50.0/24" }, {},
	  { "192.168.50.0/24" }, { "192.168.50.0/24" }, "10.0.0.0/24" },
	{ "node exclude removes", { "10.0.0.0/24" }, {}, {}, {}, { "10.0.0.128/25" }, "10.0.0.0/25" },
	{ "unexclude alone adds nothing", { "10.0.0.0/24" }, {}, {}, { "172.16.0.0/12" }, {}, "10.0.0.0/24" },
	{ "everything excluded", { "10.0.0.0/24" }, { "0.0.0.0/0" }, {}, {}, {}, "" },
	{ "families are independent", { "10.0.0.0/24", "fd00::/64" }, { "::/0" }, {}, {}, {}, "10.0.0.0/24" },
	{ "ipv6 coalesce", { "fd00::/65", "fd00:0:0:0:8000::/65" }, {}, {}, {}, {}, "fd00::/64" },
	{ "ipv6 exclude", { "fd00::/64" }, {}, { "fd00::1/128" }, {}, {},
	  "fd00::/128 fd00::2/127 fd00::4/126 fd00::8/125 fd00::10/124 fd00::20/123 fd00::40/122 fd00::80/121 "
	  "fd00::100/120 fd00::200/119 fd00::400/118 fd00::800/117 fd00::1000/116 fd00::2000/115 fd00::4000/114 "
	  "fd00::8000/113 fd00::1:0/112 fd00::2:0/111 fd00::4:0/110 fd00::8:0/109 fd00::10:0/108 fd00::20:0/107 "
	  "fd00::40:0/106 fd00::80:0/105 fd00::100:0/104 fd00::200:0/103 fd00::400:0/102 fd00::800:0/101 "
	  "fd00::1000:0/100 fd00::2000:0/99 fd00::4000:0/98 fd00::8000:0/97 fd00::1:0:0/96 fd00::2:0:0/95 "
	  "fd00::4:0:0/94 fd00::8:0:0/93 fd00::10:0:0/92 fd00::20:0:0/91 fd00::40:0:0/90 fd00::80:0:0/89 "
	  "fd00::100:0:0/88 fd00::200:0:0/87 fd00::400:0:0/86 fd00::800:0:0/85 fd00::1000:0:0/84 fd00::2000:0:0/83 "
	  "fd00::4000:0:0/82 fd00::8000:0:0/81 fd00::1:0:0:0/80 fd00::2:0:0:0/79 fd00::4:0:0:0/78 fd00::8:0:0:0/77 "
	  "fd00::10:0:0:0/76 fd00::20:0:0:0/75 fd00::40:0:0:0/74 fd00::80:0:0:0/73 fd00::100:0:0:0/72 "
	  "fd00::200:0:0:0/71 fd00::400:0:0:0/70 fd00::800:0:0:0/69 fd00::1000:0:0:0/68 fd00::2000:0:0:0/67 "
	  "fd00::4000:0:0:0/66 fd00::8000:0:0:0/65" },
	{ "whole ipv6 space", { "::/1", "8000::/1" }, {}, {}, {}, {}, "::/0" },
	{ "whole ipv4 space minus the top address", { "0.0.0.0/0" }, { "255.255.255.255/32" }, {}, {}, {},
	  "0.0.0.0/1 128.0.0.0/2 192.0.0.0/3 224.0.0.0/4 240.0.0.0/5 248.0.0.0/6 252.0.0.0/7 254.0.0.0/8 "
	  "255.0.0.0/9 255.128.0.0/10 255.192.0.0/11 255.224.0.0/12 255.240.0.0/13 255.248.0.0/14 255.252.0.0/15 "
	  "255.254.0.0/16 255.255.0.0/17 255.255.128.0/18 255.255.192.0/19 255.255.224.0/20 255.255.240.0/21 "
	  "255.255.248.0/22 255.255.252.0/23 255.255.254.0/24 255.255.255.0/25 255.255.255.128/26 "
	  "255.255.255.192/27 255.255.255.224/28 255.255.255.240/29 255.255.255.248/30 255.255.255.252/31 "
	  "255.255.255.254/32" },
	{ "nothing in, nothing out", {}, { "10.0.0.0/8" }, {}, {}, {}, "" },
};

/* Parses a NULL-terminated list into storage; returns the set. */
static struct ny_conf_cidr_set parse_set(const char *const *texts, struct ny_conf_cidr *store)
{
	size_t n = 0;

	for (; n < MAX && texts[n]; n++)
		cr_assert_eq(ny_conf_cidr_parse(&store[n], texts[n]), 0, "%s", texts[n]);
	return (struct ny_conf_cidr_set){ store, n };
}

Test(conf_routeset, computes_the_reference_formula_as_fewest_cidrs)
{
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct routeset_case *tc = &cases[i];
		struct ny_conf_cidr s[5][MAX], *out = NULL;
		struct ny_conf_routeset_input in = {
			.routes = parse_set(tc->routes, s[0]),
			.central_exclude = parse_set(tc->central_exclude, s[1]),
			.own = parse_set(tc->own, s[2]),
			.node_unexclude = parse_set(tc->node_unexclude, s[3]),
			.node_exclude = parse_set(tc->node_exclude, s[4]),
		};
		char got[4096] = "", buf[NY_CONF_CIDR_STRLEN];
		size_t n = 0, o = 0;

		cr_assert_eq(ny_conf_routeset_compute(&in, &out, &n), 0);
		for (size_t j = 0; j < n; j++) {
			ny_conf_cidr_format(&out[j], buf);
			o += (size_t)snprintf(got + o, sizeof(got) - o, "%s%s", j ? " " : "", buf);
		}
		cr_expect_str_eq(got, tc->expect, "%s: got %s", tc->name, got);
		free(out);
	}
}

Test(conf_routeset, inputs_are_not_modified)
{
	struct ny_conf_cidr routes[2], excl[1], *out = NULL;
	struct ny_conf_routeset_input in = { 0 };
	char buf[NY_CONF_CIDR_STRLEN];
	size_t n;

	ny_conf_cidr_parse(&routes[0], "10.0.0.0/25");
	ny_conf_cidr_parse(&routes[1], "10.0.0.128/25");
	ny_conf_cidr_parse(&excl[0], "10.0.0.0/24");
	in.routes = (struct ny_conf_cidr_set){ routes, 2 };
	in.central_exclude = (struct ny_conf_cidr_set){ excl, 1 };
	cr_assert_eq(ny_conf_routeset_compute(&in, &out, &n), 0);
	cr_assert_eq(n, 0);
	ny_conf_cidr_format(&excl[0], buf);
	cr_assert_str_eq(buf, "10.0.0.0/24", "central excludes are not mutated");
	ny_conf_cidr_format(&routes[1], buf);
	cr_assert_str_eq(buf, "10.0.0.128/25");
	free(out);
}
