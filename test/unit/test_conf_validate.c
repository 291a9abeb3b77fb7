/* Validation rules of reference §2.1-§2.3 (nylon's state/validation.go) and ours (duplicate public keys, the
 * local node must be a router): each rule with a config that passes and one that fails, checked by the path of
 * the error it must produce. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "nylon/conf.h"

#define PUB_A "/Exmbq5lOa1IZjcMANVZghakHvpD9deXnIqhOfnThkk="
#define PUB_B "4HaUP7b55BQXc3y93g6DFR0QhfQ1BC/LaQkcuTq4hHA="
#define PUB_C "k0uFsBSpAe19TNlNJd9TvipfdDTKiG4c7y67ozqanCw="
#define PUB_P "B8bND6LNa9Y3TJB1Wjr7W6959TjQwQHSSjEXw2QQpzs="
#define PUB_Q "HMKKDXnoAisUft+mVnPFOCC9zuMyXXlXaVDTDPz3EVw="
#define PRIV_A "GCw6IjL/sLhHG670SLyucO8zyP26twWIRB8Ooybo/1g="
#define ZERO_KEY "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="

#define ROUTER_A "  - {id: a, pubkey: " PUB_A "}\n"
#define ROUTER_B "  - {id: b, pubkey: " PUB_B "}\n"
#define CENTRAL_AB "routers:\n" ROUTER_A ROUTER_B "graph: [\"a, b\"]\n"
#define NODE_A "id: a\nkey: " PRIV_A "\n"

#define ID100 "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"

struct rule_case {
	const char *name;
	const char *central;
	const char *node;     /* NULL: central only */
	const char *path;     /* NULL: must be valid; else the path of an expected error */
	const char *message;  /* a part of that error's message */
};

static const struct rule_case cases[] = {
	/* ids */
	{ "id charset ok", "routers:\n  - {id: a.b_c/d-1, pubkey: " PUB_A "}\n", NULL, NULL, NULL },
	{ "id upper case", "routers:\n  - {id: Alpha, pubkey: " PUB_A "}\n", NULL, "routers[0].id", "invalid id" },
	{ "id with space", "routers:\n  - {id: a b, pubkey: " PUB_A "}\n", NULL, "routers[0].id", "invalid id" },
	{ "id empty", "routers:\n  - {id: \"\", pubkey: " PUB_A "}\n", NULL, "routers[0].id", "invalid id" },
	{ "id of 100 chars", "routers:\n  - {id: " ID100 ", pubkey: " PUB_A "}\n", NULL, NULL, NULL },
	{ "id of 101 chars", "routers:\n  - {id: " ID100 "a, pubkey: " PUB_A "}\n", NULL, "routers[0].id",
	  "at most 100" },
	{ "client id checked", "clients:\n  - {id: P!, pubkey: " PUB_P "}\n", NULL, "clients[0].id", "invalid id" },
	/* uniqueness */
	{ "ids unique", CENTRAL_AB, NULL, NULL, NULL },
	{ "duplicate router id", "routers:\n" ROUTER_A "  - {id: a, pubkey: " PUB_B "}\n", NULL, "routers[1].id",
	  "duplicate id \"a\": already used by routers[0]" },
	{ "router and client share an id", "routers:\n" ROUTER_A "clients:\n  - {id: a, pubkey: " PUB_P "}\n", NULL,
	  "clients[0].id", "duplicate id" },
	{ "duplicate public key", "routers:\n" ROUTER_A "clients:\n  - {id: p, pubkey: " PUB_A "}\n", NULL,
	  "clients[0].pubkey", "duplicate public key: already used by routers[0]" },
	{ "public key too short", "routers:\n  - {id: a, pubkey: AAAA}\n", NULL, "routers[0].pubkey", "32 bytes" },
	{ "public key of 33 bytes",
	  "routers:\n  - {id: a, pubkey: AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA==}\n", NULL,
	  "routers[0].pubkey", "32 bytes" },
	/* endpoints */
	{ "endpoints ok", "routers:\n  - {id: a, pubkey: " PUB_A ", endpoints: [\"1.2.3.4\", \"h.example:9\"]}\n",
	  NULL, NULL, NULL },
	{ "endpoint with scheme", "routers:\n  - {id: a, pubkey: " PUB_A ", endpoints: [\"udp://1.2.3.4\"]}\n",
	  NULL, "routers[0].endpoints[0]", "invalid endpoint \"udp://1.2.3.4\"" },
	{ "empty endpoint", "routers:\n  - {id: a, pubkey: " PUB_A ", endpoints: [\"\"]}\n", NULL,
	  "routers[0].endpoints[0]", "invalid endpoint" },
	/* prefixes */
	{ "prefix types ok",
	  "routers:\n  - id: a\n    pubkey: " PUB_A "\n    prefixes:\n      - {type: static, prefix: 10.1.0.0/24}\n"
	  "      - {type: ping, prefix: 10.2.0.0/24, addr: 10.2.0.1}\n"
	  "      - {type: http, prefix: 10.3.0.0/24, url: \"http://h/\"}\n",
	  NULL, NULL, NULL },
	{ "unknown prefix type", "routers:\n  - {id: a, pubkey: " PUB_A ", prefixes: [{type: dns, prefix: 1.0.0.0/8}]}\n",
	  NULL, "routers[0].prefixes[0].type", "unknown prefix type \"dns\"" },
	{ "invalid prefix", "routers:\n  - {id: a, pubkey: " PUB_A ", prefixes: [{type: static, prefix: 1.0.0.0/40}]}\n",
	  NULL, "routers[0].prefixes[0].prefix", "invalid prefix" },
	{ "ping needs addr", "routers:\n  - {id: a, pubkey: " PUB_A ", prefixes: [{type: ping, prefix: 1.0.0.0/8}]}\n",
	  NULL, "routers[0].prefixes[0]", "missing required key \"addr\"" },
	{ "ping addr must be an IP",
	  "routers:\n  - {id: a, pubkey: " PUB_A ", prefixes: [{type: ping, prefix: 1.0.0.0/8, addr: host}]}\n", NULL,
	  "routers[0].prefixes[0].addr", "invalid IP address" },
	{ "ping delay positive",
	  "routers:\n  - {id: a, pubkey: " PUB_A ", prefixes: [{type: ping, prefix: 1.0.0.0/8, addr: 1.0.0.1, delay: 0}]}\n",
	  NULL, "routers[0].prefixes[0]", "delay of 1.0.0.0/8 is not positive" },
	{ "ping delay negative",
	  "routers:\n  - {id: a, pubkey: " PUB_A ", prefixes: [{type: ping, prefix: 1.0.0.0/8, addr: 1.0.0.1, delay: -1s}]}\n",
	  NULL, "routers[0].prefixes[0]", "not positive" },
	{ "ping max_failures positive",
	  "routers:\n  - {id: a, pubkey: " PUB_A
	  ", prefixes: [{type: ping, prefix: 1.0.0.0/8, addr: 1.0.0.1, max_failures: 0}]}\n",
	  NULL, "routers[0].prefixes[0]", "max_failures" },
	{ "http delay positive",
	  "routers:\n  - {id: a, pubkey: " PUB_A
	  ", prefixes: [{type: http, prefix: 1.0.0.0/8, url: \"http://h/\", delay: 0s}]}\n",
	  NULL, "routers[0].prefixes[0]", "not positive" },
	{ "http url required",
	  "routers:\n  - {id: a, pubkey: " PUB_A ", prefixes: [{type: http, prefix: 1.0.0.0/8}]}\n", NULL,
	  "routers[0].prefixes[0]", "missing required key \"url\"" },
	{ "http url must be http",
	  "routers:\n  - {id: a, pubkey: " PUB_A ", prefixes: [{type: http, prefix: 1.0.0.0/8, url: \"gopher://h\"}]}\n",
	  NULL, "routers[0].prefixes[0].url", "invalid URL" },
	{ "router duplicate prefix",
	  "routers:\n  - {id: a, pubkey: " PUB_A
	  ", prefixes: [{type: static, prefix: 10.1.0.0/24}, {type: ping, prefix: 10.1.0.0/24, addr: 10.1.0.1}]}\n",
	  NULL, "routers[0].prefixes[1]", "duplicate prefix 10.1.0.0/24" },
	{ "duplicate prefix written differently",
	  "routers:\n  - {id: a, pubkey: " PUB_A
	  ", prefixes: [{type: static, prefix: 10.1.0.0/24}, {type: static, prefix: 10.1.0.9/24}]}\n",
	  NULL, "routers[0].prefixes[1]", "duplicate prefix" },
	{ "address listed as a prefix too is not a duplicate",
	  "routers:\n  - {id: a, pubkey: " PUB_A ", addresses: [10.0.0.1], prefixes: [{type: static, prefix: 10.0.0.1/32}]}\n",
	  NULL, NULL, NULL },
	{ "anycast across routers",
	  "routers:\n  - {id: a, pubkey: " PUB_A ", prefixes: [{type: static, prefix: 10.9.0.0/24}]}\n"
	  "  - {id: b, pubkey: " PUB_B ", prefixes: [{type: static, prefix: 10.9.0.0/24}]}\ngraph: [\"a, b\"]\n",
	  NULL, NULL, NULL },
	{ "router and adjacent client share a prefix",
	  "routers:\n  - {id: a, pubkey: " PUB_A ", addresses: [10.0.0.1]}\n"
	  "clients:\n  - {id: p, pubkey: " PUB_P ", addresses: [10.0.0.1]}\ngraph: [\"a, p\"]\n",
	  NULL, "clients[0].prefixes[0]", "also advertised by \"a\"" },
	{ "router and a client elsewhere share a prefix",
	  "routers:\n  - {id: a, pubkey: " PUB_A ", addresses: [10.0.0.1]}\n" ROUTER_B
	  "clients:\n  - {id: p, pubkey: " PUB_P ", addresses: [10.0.0.1]}\ngraph: [\"a, b\", \"b, p\"]\n",
	  NULL, NULL, NULL },
	{ "two clients of one gateway share a prefix",
	  "routers:\n" ROUTER_A "clients:\n  - {id: p, pubkey: " PUB_P ", addresses: [10.0.0.5]}\n"
	  "  - {id: q, pubkey: " PUB_Q ", addresses: [10.0.0.5]}\ngraph: [\"a, p, q\"]\n",
	  NULL, "clients[1].prefixes[0]", "also advertised by \"p\" (gateway \"a\")" },
	{ "two clients of different gateways share a prefix",
	  "routers:\n" ROUTER_A ROUTER_B "clients:\n  - {id: p, pubkey: " PUB_P ", addresses: [10.0.0.5]}\n"
	  "  - {id: q, pubkey: " PUB_Q ", addresses: [10.0.0.5]}\ngraph: [\"a, b\", \"a, p\", \"b, q\"]\n",
	  NULL, NULL, NULL },
	{ "client static prefix ok",
	  "clients:\n  - {id: p, pubkey: " PUB_P ", prefixes: [{type: static, prefix: 10.5.0.0/24}]}\n", NULL, NULL,
	  NULL },
	{ "client health check refused",
	  "clients:\n  - {id: p, pubkey: " PUB_P ", prefixes: [{type: ping, prefix: 10.5.0.0/24, addr: 10.5.0.1}]}\n",
	  NULL, "clients[0].prefixes[0]", "expected type static" },
	/* graph */
	{ "graph unknown symbol", "routers:\n" ROUTER_A "graph: [\"a, zed\"]\n", NULL, "graph[0]",
	  "unknown symbol \"zed\"" },
	/* dist */
	{ "dist repos ok", "dist: {key: " PUB_C ", repos: [\"file:central.nybundle\", \"https://h/x\"]}\n", NULL, NULL,
	  NULL },
	{ "dist repo not a URL", "dist: {key: " PUB_C ", repos: [\"https://h/x\", \"central.nybundle\"]}\n", NULL,
	  "dist.repos[1]", "invalid URL" },
	{ "dist key required", "dist: {repos: []}\n", NULL, "dist", "missing required key \"key\"" },
	/* node.yaml */
	{ "node ok", CENTRAL_AB, NODE_A, NULL, NULL },
	{ "node is a client", "routers:\n" ROUTER_B "clients:\n  - {id: a, pubkey: " PUB_A "}\ngraph: [\"a, b\"]\n",
	  NODE_A, "id", "is a client" },
	{ "node not in central", "routers:\n" ROUTER_B, NODE_A, "id", "is not in" },
	{ "node key all zero", CENTRAL_AB, "id: a\nkey: " ZERO_KEY "\n", "key", "all zero" },
	{ "node key not base64", CENTRAL_AB, "id: a\nkey: secret\n", "key", "32 bytes" },
	{ "node id invalid", CENTRAL_AB, "id: A\nkey: " PRIV_A "\n", "id", "invalid id" },
	{ "port 1", CENTRAL_AB, NODE_A "port: 1\n", NULL, NULL },
	{ "port 0", CENTRAL_AB, NODE_A "port: 0\n", "port", "expected a UDP port from 1 to 65535" },
	{ "port too large", CENTRAL_AB, NODE_A "port: 65536\n", "port", "from 0 to 65535" },
	{ "dns resolvers ok", CENTRAL_AB, NODE_A "dns_resolvers: [\"1.1.1.1:53\", \"[::1]:5353\"]\n", NULL, NULL },
	{ "dns resolver without port", CENTRAL_AB, NODE_A "dns_resolvers: [\"1.1.1.1:53\", \"1.1.1.1\"]\n",
	  "dns_resolvers[1]", "invalid DNS resolver \"1.1.1.1\"" },
	{ "dns resolver host name", CENTRAL_AB, NODE_A "dns_resolvers: [\"dns.google:53\"]\n", "dns_resolvers[0]",
	  "expected ip:port" },
	{ "dns resolver v6 without brackets", CENTRAL_AB, NODE_A "dns_resolvers: [\"::1:53\"]\n", "dns_resolvers[0]",
	  "invalid DNS resolver" },
	{ "observability addr ok", CENTRAL_AB, NODE_A "observability_addr: \":9090\"\n", NULL, NULL },
	{ "observability addr v6 ok", CENTRAL_AB, NODE_A "observability_addr: \"[::1]:9090\"\n", NULL, NULL },
	{ "observability addr without port", CENTRAL_AB, NODE_A "observability_addr: localhost\n",
	  "observability_addr", "expected host:port" },
	{ "dist url ok", CENTRAL_AB, NODE_A "dist: {url: \"https://h/c.nybundle\", key: " PUB_C "}\n", NULL, NULL },
	{ "dist url invalid", CENTRAL_AB, NODE_A "dist: {url: \"not a url\", key: " PUB_C "}\n", "dist.url",
	  "invalid URL" },
	{ "interface name ok", CENTRAL_AB, NODE_A "interface_name: nylon0\n", NULL, NULL },
	{ "interface name invalid", CENTRAL_AB, NODE_A "interface_name: Nylon\n", "interface_name",
	  "invalid interface name" },
	{ "bool invalid", CENTRAL_AB, NODE_A "no_net_configure: maybe\n", "no_net_configure", "expected true or false" },
	{ "prefix list invalid", CENTRAL_AB, NODE_A "unexclude_ips: [10.0.0.0/8, bogus]\n", "unexclude_ips[1]",
	  "invalid prefix" },
};

static bool has_error(const struct ny_conf_report *r, const char *path, const char *message)
{
	for (size_t i = 0; i < r->n; i++) {
		if (r->diags[i].severity == NY_CONF_ERROR && !strcmp(r->diags[i].path, path) &&
		    strstr(r->diags[i].message, message))
			return true;
	}
	return false;
}

/* Runs the loader's steps on text: parse, expand, validate; then the node against it. */
static void run(const struct rule_case *tc, struct ny_conf_report *r)
{
	struct ny_conf_central *c = NULL;
	struct ny_conf_node *n = NULL;

	if (ny_conf_central_parse(&c, "central.yaml", tc->central, strlen(tc->central), r) == 0) {
		cr_assert_eq(ny_conf_central_expand(c), 0);
		ny_conf_central_validate(c, r);
	}
	if (tc->node && c && ny_conf_node_parse(&n, "node.yaml", tc->node, strlen(tc->node), r) == 0)
		ny_conf_node_validate(n, c, r);
	ny_conf_node_free(n);
	ny_conf_central_free(c);
}

static void init(void)
{
	cr_assert_eq(ny_crypto_init(), 0);
}

TestSuite(conf_validate, .init = init);

Test(conf_validate, each_rule_passes_and_fails_as_specified)
{
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct rule_case *tc = &cases[i];
		struct ny_conf_report r;

		ny_conf_report_init(&r);
		run(tc, &r);
		if (!tc->path) {
			if (r.n_errors)
				ny_conf_report_print(&r, NY_CONF_ERROR, stderr);
			cr_expect_eq(r.n_errors, 0, "%s: expected valid", tc->name);
		} else {
			if (!has_error(&r, tc->path, tc->message))
				ny_conf_report_print(&r, NY_CONF_ERROR, stderr);
			cr_expect(has_error(&r, tc->path, tc->message), "%s: expected %s: ...%s...", tc->name, tc->path,
				  tc->message);
		}
		ny_conf_report_free(&r);
	}
}

Test(conf_validate, validation_errors_carry_positions)
{
	static const char text[] = "routers:\n" ROUTER_A "  - id: a\n    pubkey: " PUB_B "\n";
	struct ny_conf_central *c = NULL;
	struct ny_conf_report r;
	char line[512];

	ny_conf_report_init(&r);
	cr_assert_eq(ny_conf_central_parse(&c, "central.yaml", text, strlen(text), &r), 0);
	cr_assert_eq(ny_conf_central_validate(c, &r), -EINVAL);
	cr_assert_eq(r.n_errors, 1);
	ny_conf_diag_format(&r.diags[0], line, sizeof(line));
	cr_assert_str_eq(line, "central.yaml:3:9: routers[1].id: duplicate id \"a\": already used by routers[0], "
			       "expected ids unique across routers and clients");
	ny_conf_central_free(c);
	ny_conf_report_free(&r);
}

Test(conf_validate, independent_validation_errors_are_all_reported)
{
	static const char text[] = "routers:\n"
				   "  - {id: A, pubkey: " PUB_A "}\n"
				   "  - {id: b, pubkey: " PUB_A "}\n"
				   "  - {id: c, pubkey: " PUB_C ", prefixes: [{type: static, prefix: 1.0.0.0/8},"
				   " {type: static, prefix: 1.0.0.0/8}]}\n"
				   "dist: {key: " PUB_C ", repos: [nope]}\n";
	struct ny_conf_central *c = NULL;
	struct ny_conf_report r;

	ny_conf_report_init(&r);
	cr_assert_eq(ny_conf_central_parse(&c, "central.yaml", text, strlen(text), &r), 0);
	cr_assert_eq(ny_conf_central_validate(c, &r), -EINVAL);
	cr_assert_eq(r.n_errors, 4);
	cr_expect(has_error(&r, "routers[0].id", "invalid id"));
	cr_expect(has_error(&r, "routers[1].pubkey", "duplicate public key"));
	cr_expect(has_error(&r, "routers[2].prefixes[1]", "duplicate prefix"));
	cr_expect(has_error(&r, "dist.repos[0]", "invalid URL"));
	ny_conf_central_free(c);
	ny_conf_report_free(&r);
}

Test(conf_validate, key_not_matching_the_central_pubkey_is_a_warning)
{
	static const char central[] = "routers:\n  - {id: a, pubkey: " PUB_B "}\n";
	struct ny_conf_central *c = NULL;
	struct ny_conf_node *n = NULL;
	struct ny_conf_report r;

	ny_conf_report_init(&r);
	cr_assert_eq(ny_conf_central_parse(&c, "central.yaml", central, strlen(central), &r), 0);
	cr_assert_eq(ny_conf_node_parse(&n, "node.yaml", NODE_A, strlen(NODE_A), &r), 0);
	cr_assert_eq(ny_conf_node_validate(n, c, &r), 0);
	cr_assert_eq(r.n_warnings, 1);
	cr_assert_str_eq(r.diags[0].path, "key");
	ny_conf_node_free(n);
	ny_conf_central_free(c);
	ny_conf_report_free(&r);
}
