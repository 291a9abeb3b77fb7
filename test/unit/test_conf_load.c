/* Loading central.yaml and node.yaml into typed models: the reference's example configs (§2.5), every key and
 * default (§2.1, §2.2), address expansion, value syntax (durations, endpoints) and the shape of diagnostics. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "nylon/conf.h"

#define PUB_A "/Exmbq5lOa1IZjcMANVZghakHvpD9deXnIqhOfnThkk="
#define PUB_B "4HaUP7b55BQXc3y93g6DFR0QhfQ1BC/LaQkcuTq4hHA="
#define PRIV_A "GCw6IjL/sLhHG670SLyucO8zyP26twWIRB8Ooybo/1g="

static void data_path(char *buf, size_t len, const char *name)
{
	const char *dir = getenv("NY_TEST_DATA");

	cr_assert_not_null(dir, "NY_TEST_DATA must point at test/data");
	snprintf(buf, len, "%s/conf/%s", dir, name);
}

static void dump(const struct ny_conf_report *r)
{
	ny_conf_report_print(r, NY_CONF_ERROR, stderr);
}

static struct ny_conf_central *load_central_file(const char *name, struct ny_conf_report *r)
{
	struct ny_conf_central *c = NULL;
	char path[4096];

	data_path(path, sizeof(path), name);
	if (ny_conf_central_load(&c, path, r))
		dump(r);
	cr_assert_not_null(c, "%s should load", name);
	return c;
}

static struct ny_conf_node *load_node_file(const char *name, const struct ny_conf_central *c,
					   struct ny_conf_report *r)
{
	struct ny_conf_node *n = NULL;
	char path[4096];

	data_path(path, sizeof(path), name);
	if (ny_conf_node_load(&n, path, c, r))
		dump(r);
	cr_assert_not_null(n, "%s should load", name);
	return n;
}

static void assert_cidr(const struct ny_conf_cidr *c, const char *text)
{
	char buf[NY_CONF_CIDR_STRLEN];

	ny_conf_cidr_format(c, buf);
	cr_assert_str_eq(buf, text);
}

static void init(void)
{
	cr_assert_eq(ny_crypto_init(), 0);
}

TestSuite(conf_load, .init = init);

Test(conf_load, two_node_example_parses_and_validates)
{
	struct ny_conf_report r;
	struct ny_conf_central *c;
	struct ny_conf_node *alpha, *beta;

	ny_conf_report_init(&r);
	c = load_central_file("two-node-central.yaml", &r);
	alpha = load_node_file("two-node-alpha.yaml", c, &r);
	beta = load_node_file("two-node-beta.yaml", c, &r);
	cr_assert_eq(r.n_errors, 0);
	cr_assert_eq(r.n_warnings, 0);
	cr_assert_eq(c->n_routers, 2);
	cr_assert_str_eq(c->routers[1].id, "beta");
	cr_assert_eq(c->routers[1].n_endpoints, 1);
	cr_assert_eq(c->routers[1].endpoints[0].port, 57175, "endpoint port defaults to 57175");
	cr_assert_eq(c->routers[0].n_prefixes, 1);
	assert_cidr(&c->routers[0].prefixes[0].prefix, "10.0.0.1/32");
	cr_assert_eq(c->n_edges, 1);
	cr_assert(ny_conf_central_adjacent(c, 0, 1));
	cr_assert_eq(alpha->port, 57175);
	cr_assert_str_eq(beta->id, "beta");
	ny_conf_node_free(alpha);
	ny_conf_node_free(beta);
	ny_conf_central_free(c);
	ny_conf_report_free(&r);
}

Test(conf_load, three_node_example_parses_and_validates)
{
	struct ny_conf_report r;
	struct ny_conf_central *c;
	struct ny_conf_node *n;
	const struct ny_conf_peer *pc;

	ny_conf_report_init(&r);
	c = load_central_file("three-node-central.yaml", &r);
	n = load_node_file("three-node-c.yaml", c, &r);
	cr_assert_eq(r.n_errors, 0);
	/* core = a, b; core, core; core, c; a, phone: a-b, a-c, b-c, a-phone */
	cr_assert_eq(c->n_edges, 4);
	cr_assert(ny_conf_central_adjacent(c, 0, 1));
	cr_assert(ny_conf_central_adjacent(c, 0, 2));
	cr_assert(ny_conf_central_adjacent(c, 1, 2));
	cr_assert(ny_conf_central_adjacent(c, 0, 3));
	cr_assert_not(ny_conf_central_adjacent(c, 1, 3));
	pc = &c->routers[2];
	cr_assert_eq(pc->n_prefixes, 3);
	assert_cidr(&pc->prefixes[0].prefix, "10.0.0.3/32");
	cr_assert_eq(pc->prefixes[2].type, NY_CONF_PREFIX_PING);
	cr_assert_eq(pc->prefixes[2].delay_ns, 5000000000LL);
	cr_assert_eq(c->routers[1].n_prefixes, 2);
	assert_cidr(&c->routers[1].prefixes[1].prefix, "fd00::2/128");
	cr_assert_eq(c->routers[1].endpoints[0].is_ip, false);
	cr_assert_str_eq(c->routers[1].endpoints[0].host, "b.example.net");
	cr_assert_eq(c->n_clients, 1);
	cr_assert(c->clients[0].is_client);
	cr_assert_eq(n->n_unexclude_ips, 0);
	ny_conf_node_free(n);
	ny_conf_central_free(c);
	ny_conf_report_free(&r);
}

Test(conf_load, every_central_key_and_prefix_default)
{
	struct ny_conf_report r;
	struct ny_conf_central *c;
	const struct ny_conf_peer *a;

	ny_conf_report_init(&r);
	c = load_central_file("full-central.yaml", &r);
	cr_assert(c->has_dist);
	cr_assert_eq(c->n_dist_repos, 2);
	cr_assert_str_eq(c->dist_repos[0], "file:/etc/nylon/central.nybundle");
	cr_assert_eq(c->timestamp, 1754000000000000000LL);
	cr_assert_eq(c->n_exclude_ips, 2);
	assert_cidr(&c->exclude_ips[1], "fd99::/64");
	a = &c->routers[0];
	cr_assert_eq(a->n_endpoints, 5);
	cr_assert_eq(a->endpoints[1].port, 51820);
	cr_assert_str_eq(a->endpoints[1].host, "2001:db8::1");
	cr_assert_eq(a->endpoints[2].port, 57175);
	cr_assert_eq(a->endpoints[3].port, 1234);
	cr_assert_eq(a->n_prefixes, 7, "2 addresses + 5 prefixes");
	assert_cidr(&a->prefixes[0].prefix, "10.0.0.1/32");
	assert_cidr(&a->prefixes[1].prefix, "fd00::1/128");
	cr_assert_eq(a->prefixes[2].metric, 100);
	/* ping defaults */
	cr_assert_eq(a->prefixes[3].delay_ns, NY_CONF_DEFAULT_DELAY_NS);
	cr_assert_eq(a->prefixes[3].max_failures, 3);
	cr_assert_not(a->prefixes[3].has_metric);
	cr_assert_null(a->prefixes[3].bind_if);
	/* ping with everything */
	cr_assert_eq(a->prefixes[4].delay_ns, 90000000000LL);
	cr_assert_eq(a->prefixes[4].max_failures, 5);
	cr_assert_str_eq(a->prefixes[4].bind_if, "eth0");
	cr_assert(a->prefixes[4].has_metric);
	cr_assert_eq(a->prefixes[4].metric, 10);
	/* http */
	cr_assert_eq(a->prefixes[5].type, NY_CONF_PREFIX_HTTP);
	cr_assert_eq(a->prefixes[5].delay_ns, NY_CONF_DEFAULT_DELAY_NS);
	cr_assert_str_eq(a->prefixes[6].url, "https://svc.example.net/health");
	cr_assert_eq(a->prefixes[6].delay_ns, 500000000LL);
	ny_conf_central_free(c);
	ny_conf_report_free(&r);
}

Test(conf_load, every_node_key)
{
	struct ny_conf_report r;
	struct ny_conf_central *c;
	struct ny_conf_node *n;

	ny_conf_report_init(&r);
	c = load_central_file("full-central.yaml", &r);
	n = load_node_file("full-node.yaml", c, &r);
	cr_assert_eq(r.n_warnings, 0, "the key matches router a's pubkey");
	cr_assert_eq(n->port, 51820);
	cr_assert(n->has_dist);
	cr_assert_str_eq(n->dist_url, "https://example.com/central.nybundle");
	cr_assert(n->use_system_routing);
	cr_assert(n->no_net_configure);
	cr_assert_eq(n->n_dns_resolvers, 2);
	cr_assert_eq(n->dns_resolvers[1].addr.family, AF_INET6);
	cr_assert_eq(n->dns_resolvers[1].port, 53);
	cr_assert_str_eq(n->interface_name, "nylon0");
	cr_assert_str_eq(n->log_path, "/var/log/nylon.log");
	cr_assert_str_eq(n->observability_addr, "127.0.0.1:9090");
	assert_cidr(&n->exclude_ips[0], "192.168.0.0/16");
	assert_cidr(&n->unexclude_ips[0], "192.168.50.0/24");
	cr_assert_eq(n->pre_up.n, 1);
	cr_assert_eq(n->post_up.n, 2);
	cr_assert_str_eq(n->post_up.v[1], "echo again");
	cr_assert_eq(n->pre_down.n, 1);
	cr_assert_str_eq(n->post_down.v[0], "echo post-down");
	cr_assert_eq(n->shards, 4);
	cr_assert_eq(n->io_backend, NY_CONF_IO_EPOLL);
	cr_assert_eq(n->aead, NY_CONF_AEAD_SODIUM);
	ny_conf_node_free(n);
	ny_conf_central_free(c);
	ny_conf_report_free(&r);
}

static struct ny_conf_node *parse_node(const char *text, struct ny_conf_report *r)
{
	struct ny_conf_node *n = NULL;

	ny_conf_node_parse(&n, "node.yaml", text, strlen(text), r);
	return n;
}

Test(conf_load, node_defaults)
{
	struct ny_conf_report r;
	struct ny_conf_node *n;

	ny_conf_report_init(&r);
	n = parse_node("id: a\nkey: " PRIV_A "\n", &r);
	cr_assert_not_null(n);
	cr_assert_eq(n->port, NY_CONF_DEFAULT_PORT);
	cr_assert_str_eq(n->interface_name, "nylon");
	cr_assert_null(n->observability_addr);
	cr_assert_null(n->log_path);
	cr_assert_eq(n->shards, 0);
	cr_assert_eq(n->io_backend, NY_CONF_IO_AUTO);
	cr_assert_eq(n->aead, NY_CONF_AEAD_DEFAULT);
	cr_assert_not(n->use_system_routing);
	cr_assert_not(n->has_dist);
	ny_conf_node_free(n);
	ny_conf_report_free(&r);
}

struct enum_case {
	const char *line;
	bool ok;
};

Test(conf_load, node_additions_are_validated)
{
	static const struct enum_case cases[] = {
		{ "shards: 0", true },          { "shards: 16", true },       { "shards: -1", false },
		{ "shards: many", false },      { "shards: 100000", false },  { "io_backend: auto", true },
		{ "io_backend: io_uring", true }, { "io_backend: kqueue", false }, { "aead: openssl", true },
		{ "aead: sodium", true },       { "aead: aesgcm", false },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct ny_conf_report r;
		struct ny_conf_node *n;
		char text[256];

		ny_conf_report_init(&r);
		snprintf(text, sizeof(text), "id: a\nkey: %s\n%s\n", PRIV_A, cases[i].line);
		n = parse_node(text, &r);
		cr_expect_eq(n != NULL, cases[i].ok, "%s", cases[i].line);
		if (!cases[i].ok && r.n) {
			cr_expect_eq(r.diags[0].line, 3, "%s", cases[i].line);
			cr_expect_eq(r.diags[0].column, strchr(cases[i].line, ':') - cases[i].line + 3);
		}
		ny_conf_node_free(n);
		ny_conf_report_free(&r);
	}
}

Test(conf_load, address_expansion_puts_addresses_first_and_is_idempotent)
{
	static const char text[] = "routers:\n"
				   "  - id: a\n"
				   "    pubkey: " PUB_A "\n"
				   "    addresses: [10.0.0.1, 10.0.0.9, \"fd00::1\"]\n"
				   "    prefixes:\n"
				   "      - {type: static, prefix: 10.1.0.0/16}\n"
				   "      - {type: static, prefix: 10.0.0.9/32, metric: 7}\n";
	struct ny_conf_report r;
	struct ny_conf_central *c = NULL;
	const struct ny_conf_peer *a;

	ny_conf_report_init(&r);
	cr_assert_eq(ny_conf_central_parse(&c, "central.yaml", text, strlen(text), &r), 0);
	cr_assert_eq(ny_conf_central_expand(c), 0);
	a = &c->routers[0];
	cr_assert_eq(a->n_prefixes, 4, "10.0.0.9/32 is already listed, so it is not added");
	assert_cidr(&a->prefixes[0].prefix, "10.0.0.1/32");
	assert_cidr(&a->prefixes[1].prefix, "fd00::1/128");
	cr_assert_eq(a->prefixes[1].metric, 0);
	cr_assert_eq(a->prefixes[1].type, NY_CONF_PREFIX_STATIC);
	assert_cidr(&a->prefixes[2].prefix, "10.1.0.0/16");
	cr_assert_eq(a->prefixes[3].metric, 7);
	cr_assert_eq(ny_conf_central_expand(c), 0);
	cr_assert_eq(a->n_prefixes, 4, "expansion is idempotent");
	assert_cidr(&a->prefixes[0].prefix, "10.0.0.1/32");
	cr_assert_eq(ny_conf_central_validate(c, &r), 0);
	ny_conf_central_free(c);
	ny_conf_report_free(&r);
}

Test(conf_load, error_names_file_line_column_path_found_and_expected)
{
	static const char text[] = "routers:\n"
				   "  - id: a\n"
				   "    pubkey: " PUB_A "\n"
				   "    prefixes:\n"
				   "      - type: ping\n"
				   "        prefix: 10.9.0.0/24\n"
				   "        addr: 10.9.0.1\n"
				   "        delay: 5x\n";
	struct ny_conf_report r;
	struct ny_conf_central *c = NULL;
	char line[512];

	ny_conf_report_init(&r);
	cr_assert_eq(ny_conf_central_parse(&c, "central.yaml", text, strlen(text), &r), -EINVAL);
	cr_assert_null(c);
	cr_assert_eq(r.n_errors, 1);
	ny_conf_diag_format(&r.diags[0], line, sizeof(line));
	cr_assert_str_eq(line, "central.yaml:8:16: routers[0].prefixes[0].delay: invalid duration \"5x\": "
			       "expected a Go duration such as 15s or 1m30s");
	ny_conf_report_free(&r);
}

Test(conf_load, several_independent_errors_are_all_reported)
{
	static const char text[] = "routers:\n"
				   "  - id: a\n"
				   "    pubkey: notakey\n"
				   "    addresses: [10.0.0.300]\n"
				   "    endpoints: [\"http://x\"]\n"
				   "  - id: b\n"
				   "    pubkey: " PUB_B "\n"
				   "    prefixes:\n"
				   "      - {type: bogus, prefix: 10.0.0.0/8}\n"
				   "      - {type: http, prefix: 10.0.0.0/33, url: \"ftp://x\"}\n"
				   "timestamp: soon\n";
	static const char *const paths[] = {
		"routers[0].pubkey", "routers[0].addresses[0]", "routers[0].endpoints[0]",
		"routers[1].prefixes[0].type", "routers[1].prefixes[1].prefix", "routers[1].prefixes[1].url",
		"timestamp",
	};
	struct ny_conf_report r;
	struct ny_conf_central *c = NULL;

	ny_conf_report_init(&r);
	cr_assert_eq(ny_conf_central_parse(&c, "central.yaml", text, strlen(text), &r), -EINVAL);
	cr_assert_eq(r.n_errors, sizeof(paths) / sizeof(paths[0]));
	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++)
		cr_expect_str_eq(r.diags[i].path, paths[i]);
	cr_expect_eq(r.diags[1].line, 4);
	cr_expect_eq(r.diags[1].column, 17);
	ny_conf_report_free(&r);
}

Test(conf_load, unknown_keys_are_warnings_with_file_and_line)
{
	static const char text[] = "id: a\nkey: " PRIV_A "\nprot: 1\ndist:\n  url: file:/x\n  key: " PUB_B
				   "\n  extra: 1\n";
	struct ny_conf_report r;
	struct ny_conf_node *n;
	char line[256];

	ny_conf_report_init(&r);
	n = parse_node(text, &r);
	cr_assert_not_null(n, "unknown keys are not errors");
	cr_assert_eq(r.n_errors, 0);
	cr_assert_eq(r.n_warnings, 2);
	ny_conf_diag_format(&r.diags[0], line, sizeof(line));
	cr_assert_str_eq(line, "node.yaml:3:1: warning: unknown key \"prot\" ignored");
	cr_assert_str_eq(r.diags[1].path, "dist");
	cr_assert_eq(r.diags[1].line, 7);
	ny_conf_node_free(n);
	ny_conf_report_free(&r);
}

Test(conf_load, missing_required_keys_are_errors)
{
	struct ny_conf_report r;
	struct ny_conf_central *c = NULL;
	static const char text[] = "routers:\n  - id: a\n";

	ny_conf_report_init(&r);
	cr_assert_null(parse_node("port: 1\n", &r));
	cr_assert_eq(r.n_errors, 2, "key and id");
	cr_assert(strstr(r.diags[0].message, "missing required key \"key\""));
	cr_assert_eq(ny_conf_central_parse(&c, "central.yaml", text, strlen(text), &r), -EINVAL);
	cr_assert_str_eq(r.diags[2].path, "routers[0]");
	cr_assert(strstr(r.diags[2].message, "\"pubkey\""));
	ny_conf_report_free(&r);
}

Test(conf_load, invalid_yaml_reports_position)
{
	static const char text[] = "routers:\n  - id: a\n   bad: [\n";
	struct ny_conf_report r;
	struct ny_conf_central *c = NULL;

	ny_conf_report_init(&r);
	cr_assert_eq(ny_conf_central_parse(&c, "central.yaml", text, strlen(text), &r), -EINVAL);
	cr_assert_eq(r.n_errors, 1);
	cr_assert_gt(r.diags[0].line, 0);
	cr_assert(strstr(r.diags[0].message, "invalid YAML"));
	ny_conf_report_free(&r);
}

Test(conf_load, wrong_kinds_are_errors)
{
	static const char text[] = "routers: {id: a}\ngraph: a\nexclude_ips: [[1]]\n";
	struct ny_conf_report r;
	struct ny_conf_central *c = NULL;

	ny_conf_report_init(&r);
	cr_assert_eq(ny_conf_central_parse(&c, "central.yaml", text, strlen(text), &r), -EINVAL);
	cr_assert_eq(r.n_errors, 3);
	cr_assert(strstr(r.diags[0].message, "expected a list"));
	cr_assert_str_eq(r.diags[2].path, "exclude_ips[0]");
	ny_conf_report_free(&r);
}

Test(conf_load, alias_bomb_is_refused)
{
	/* Nine levels of ten aliases each would be 10^9 values. */
	char text[4096];
	size_t o = 0;

	o += (size_t)snprintf(text + o, sizeof(text) - o, "x0: &a0 [\"1.2.3.4\"]\n");
	for (int i = 1; i < 9; i++) {
		o += (size_t)snprintf(text + o, sizeof(text) - o, "x%d: &a%d [", i, i);
		for (int j = 0; j < 10; j++)
			o += (size_t)snprintf(text + o, sizeof(text) - o, "%s*a%d", j ? "," : "", i - 1);
		o += (size_t)snprintf(text + o, sizeof(text) - o, "]\n");
	}
	snprintf(text + o, sizeof(text) - o, "pre_up: *a8\nid: a\nkey: " PRIV_A "\n");

	struct ny_conf_report r;
	ny_conf_report_init(&r);
	cr_assert_null(parse_node(text, &r));
	cr_assert_geq(r.n_errors, 1);
	ny_conf_report_free(&r);
}

/* Creates a temporary file (path is its mkstemp template) that starts as a valid central config; the caller pads it
 * with comments and closes it. */
static FILE *temp_central(char *path)
{
	int fd = mkstemp(path);
	FILE *f;

	cr_assert_geq(fd, 0);
	f = fdopen(fd, "w");
	cr_assert_not_null(f);
	fputs("graph: []\n", f);
	return f;
}

Test(conf_load, file_over_one_mib_is_an_error)
{
	char path[] = "/tmp/ny-conf-big-XXXXXX";
	struct ny_conf_report r;
	struct ny_conf_central *c = NULL;
	FILE *f = temp_central(path);

	for (size_t i = 0; i < NY_CONF_MAX_FILE_SIZE / 16 + 1; i++)
		fputs("# padding......\n", f);
	fclose(f);
	ny_conf_report_init(&r);
	cr_assert_eq(ny_conf_central_load(&c, path, &r), -EFBIG);
	cr_assert_eq(r.n_errors, 1);
	cr_assert(strstr(r.diags[0].message, "larger than"));
	unlink(path);
	ny_conf_report_free(&r);
}

Test(conf_load, file_of_exactly_one_mib_is_read)
{
	char path[] = "/tmp/ny-conf-1m-XXXXXX";
	struct ny_conf_report r;
	struct ny_conf_central *c = NULL;
	FILE *f = temp_central(path);

	for (size_t i = 10; i < NY_CONF_MAX_FILE_SIZE; i++)
		fputc(i % 64 == 63 ? '\n' : (i % 64 == 10 ? '#' : ' '), f);
	fclose(f);
	ny_conf_report_init(&r);
	cr_assert_eq(ny_conf_central_load(&c, path, &r), 0);
	ny_conf_central_free(c);
	unlink(path);
	ny_conf_report_free(&r);
}

Test(conf_load, missing_file_is_an_error)
{
	struct ny_conf_report r;
	struct ny_conf_central *c = NULL;

	ny_conf_report_init(&r);
	cr_assert_eq(ny_conf_central_load(&c, "/nonexistent/central.yaml", &r), -ENOENT);
	cr_assert_str_eq(r.diags[0].file, "/nonexistent/central.yaml");
	ny_conf_report_free(&r);
}

/* ---- values ---- */

struct duration_case {
	const char *text;
	int ret;
	int64_t ns;
};

Test(conf_load, go_durations)
{
	static const struct duration_case cases[] = {
		{ "10s", 0, 10000000000LL },
		{ "1m30s", 0, 90000000000LL },
		{ "500ms", 0, 500000000LL },
		{ "1h", 0, 3600000000000LL },
		{ "0", 0, 0 },
		{ "1.5h", 0, 5400000000000LL },
		{ ".5s", 0, 500000000LL },
		{ "5.s", 0, 5000000000LL },
		{ "-2us", 0, -2000LL },
		{ "+3ns", 0, 3LL },
		{ "1\xc2\xb5s", 0, 1000LL },
		{ "1h2m3s4ms5us6ns", 0, 3723004005006LL },
		{ "2562047h47m16.854775807s", 0, INT64_MAX },
		{ "-2562047h47m16.854775808s", 0, INT64_MIN },
		{ "2562047h47m16.854775808s", -EINVAL, 0 },
		{ "9999999999h", -EINVAL, 0 },
		{ "", -EINVAL, 0 },
		{ "5", -EINVAL, 0 },
		{ "5x", -EINVAL, 0 },
		{ "s", -EINVAL, 0 },
		{ ".s", -EINVAL, 0 },
		{ "1d", -EINVAL, 0 },
		{ "1s ", -EINVAL, 0 },
		{ "-", -EINVAL, 0 },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int64_t ns = 0;

		cr_expect_eq(ny_conf_duration_parse(&ns, cases[i].text), cases[i].ret, "\"%s\"", cases[i].text);
		if (cases[i].ret == 0)
			cr_expect_eq(ns, cases[i].ns, "\"%s\": %lld", cases[i].text, (long long)ns);
	}
}

struct endpoint_case {
	const char *text;
	int ret;
	const char *host;
	uint16_t port;
	bool is_ip;
};

Test(conf_load, endpoints)
{
	static const struct endpoint_case cases[] = {
		{ "198.51.100.1:51820", 0, "198.51.100.1", 51820, true },
		{ "198.51.100.2", 0, "198.51.100.2", 57175, true },
		{ "[2001:db8::1]:1234", 0, "2001:db8::1", 1234, true },
		{ "2001:db8::1", 0, "2001:db8::1", 57175, true },
		{ "[2001:db8::1]", 0, "2001:db8::1", 57175, true },
		{ "node.example.com:4000", 0, "node.example.com", 4000, false },
		{ "node.example.com", 0, "node.example.com", 57175, false },
		{ "srv.example.com", 0, "srv.example.com", 57175, false },
		{ "", -EINVAL, NULL, 0, false },
		{ "udp://1.2.3.4:5", -EINVAL, NULL, 0, false },
		{ "1.2.3.4:", -EINVAL, NULL, 0, false },
		{ "1.2.3.4:65536", -EINVAL, NULL, 0, false },
		{ "1.2.3.4:0", -EINVAL, NULL, 0, false },
		{ "host:port", -EINVAL, NULL, 0, false },
		{ "[example.com]:80", -EINVAL, NULL, 0, false },
		{ "a b", -EINVAL, NULL, 0, false },
		{ "[::1", -EINVAL, NULL, 0, false },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct ny_conf_endpoint e;
		int ret = ny_conf_endpoint_parse(&e, cases[i].text);

		cr_expect_eq(ret, cases[i].ret, "\"%s\"", cases[i].text);
		if (ret == 0 && cases[i].ret == 0) {
			cr_expect_str_eq(e.host, cases[i].host, "\"%s\"", cases[i].text);
			cr_expect_eq(e.port, cases[i].port, "\"%s\"", cases[i].text);
			cr_expect_eq(e.is_ip, cases[i].is_ip, "\"%s\"", cases[i].text);
			cr_expect_str_eq(e.text, cases[i].text);
		}
		if (ret == 0)
			ny_conf_endpoint_clear(&e);
	}
}

struct cidr_case {
	const char *text;
	const char *canonical; /* NULL = invalid */
};

Test(conf_load, prefixes_are_parsed_and_masked)
{
	static const struct cidr_case cases[] = {
		{ "10.0.0.0/24", "10.0.0.0/24" }, { "10.0.0.1/24", "10.0.0.0/24" }, { "0.0.0.0/0", "0.0.0.0/0" },
		{ "fd00::1/64", "fd00::/64" },    { "::/0", "::/0" },               { "10.0.0.1/32", "10.0.0.1/32" },
		{ "10.0.0.0/33", NULL },          { "10.0.0.0", NULL },             { "10.0.0.0/", NULL },
		{ "10.0.0.0/08", NULL },          { "fd00::/129", NULL },           { "10.0.0/24", NULL },
		{ "fe80::1%eth0/64", NULL },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct ny_conf_cidr c;
		char buf[NY_CONF_CIDR_STRLEN];
		int ret = ny_conf_cidr_parse(&c, cases[i].text);

		cr_expect_eq(ret == 0, cases[i].canonical != NULL, "\"%s\"", cases[i].text);
		if (ret == 0 && cases[i].canonical) {
			ny_conf_cidr_format(&c, buf);
			cr_expect_str_eq(buf, cases[i].canonical);
		}
	}
}
