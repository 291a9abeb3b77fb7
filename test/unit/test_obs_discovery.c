/* /discovery (Prometheus HTTP SD) from a central config: every router and client with addresses, in
 * configuration order, IPv6 bracketed, nodes without addresses left out; and the parsing of observability_addr. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "nylon/conf.h"
#include "nylon/obs.h"

#define PUB_A "/Exmbq5lOa1IZjcMANVZghakHvpD9deXnIqhOfnThkk="
#define PUB_B "4HaUP7b55BQXc3y93g6DFR0QhfQ1BC/LaQkcuTq4hHA="
#define PUB_C "k0uFsBSpAe19TNlNJd9TvipfdDTKiG4c7y67ozqanCw="
#define PUB_P "B8bND6LNa9Y3TJB1Wjr7W6959TjQwQHSSjEXw2QQpzs="

static struct ny_conf_central *central(const char *text)
{
	struct ny_conf_central *c = NULL;
	struct ny_conf_report r;

	ny_conf_report_init(&r);
	cr_assert_eq(ny_conf_central_parse(&c, "central.yaml", text, strlen(text), &r), 0);
	ny_conf_report_free(&r);
	return c;
}

static void expect_discovery(const char *yaml, uint16_t port, const char *want)
{
	struct ny_conf_central *c = central(yaml);
	char *out = NULL;
	size_t len = 0;

	cr_assert_eq(ny_obs_discovery_json(c, port, &out, &len), 0);
	cr_expect_eq(strlen(out), len);
	cr_expect_str_eq(out, want);
	free(out);
	ny_conf_central_free(c);
}

Test(obs_discovery, routers_and_clients_v4_and_v6)
{
	expect_discovery("routers:\n"
			 "  - {id: a, pubkey: " PUB_A ", addresses: [10.0.0.1, \"fd00::1\"]}\n"
			 "  - {id: b, pubkey: " PUB_B ", addresses: [10.0.0.2]}\n"
			 "clients:\n"
			 "  - {id: p, pubkey: " PUB_P ", addresses: [\"fd00::a:1\"]}\n",
			 9100,
			 "[{\"targets\":[\"10.0.0.1:9100\",\"[fd00::1]:9100\"],\"labels\":{\"nylon_node\":\"a\"}},"
			 "{\"targets\":[\"10.0.0.2:9100\"],\"labels\":{\"nylon_node\":\"b\"}},"
			 "{\"targets\":[\"[fd00::a:1]:9100\"],\"labels\":{\"nylon_node\":\"p\"}}]\n");
}

Test(obs_discovery, nodes_without_addresses_skipped)
{
	expect_discovery("routers:\n"
			 "  - {id: a, pubkey: " PUB_A "}\n"
			 "  - {id: b, pubkey: " PUB_B ", addresses: [198.19.0.2]}\n"
			 "  - {id: c, pubkey: " PUB_C ", addresses: []}\n"
			 "clients:\n"
			 "  - {id: p, pubkey: " PUB_P "}\n",
			 80, "[{\"targets\":[\"198.19.0.2:80\"],\"labels\":{\"nylon_node\":\"b\"}}]\n");
}

Test(obs_discovery, no_node_with_addresses_is_an_empty_list)
{
	expect_discovery("routers:\n  - {id: a, pubkey: " PUB_A "}\n", 9100, "[]\n");
}

struct split_case {
	const char *text;
	int ret;
	const char *host;
	uint16_t port;
};

Test(obs_addr, split_host_port)
{
	static const struct split_case cases[] = {
		{ "127.0.0.1:9100", 0, "127.0.0.1", 9100 },
		{ ":9090", 0, "", 9090 },
		{ "[::1]:80", 0, "::1", 80 },
		{ "[fd00::1]:0", 0, "fd00::1", 0 },
		{ "localhost:65535", 0, "localhost", 65535 },
		{ "0.0.0.0:65536", -EINVAL, NULL, 0 },
		{ "::1:80", -EINVAL, NULL, 0 },   /* IPv6 without brackets */
		{ "127.0.0.1", -EINVAL, NULL, 0 }, /* no port */
		{ "127.0.0.1:", -EINVAL, NULL, 0 },
		{ "127.0.0.1:http", -EINVAL, NULL, 0 },
		{ "[::1]80", -EINVAL, NULL, 0 },
		{ "[::1:80", -EINVAL, NULL, 0 },
		{ "a]:80", -EINVAL, NULL, 0 },
		{ "host:-1", -EINVAL, NULL, 0 },
		{ "", -EINVAL, NULL, 0 },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char host[64] = "unset";
		uint16_t port = 1;
		int ret = ny_obs_addr_split(cases[i].text, host, sizeof(host), &port);

		cr_expect_eq(ret, cases[i].ret, "\"%s\": %d", cases[i].text, ret);
		if (ret == 0 && cases[i].ret == 0) {
			cr_expect_str_eq(host, cases[i].host, "\"%s\"", cases[i].text);
			cr_expect_eq(port, cases[i].port, "\"%s\"", cases[i].text);
		}
	}
}

Test(obs_addr, host_too_long_for_the_buffer)
{
	char host[4];
	uint16_t port;

	cr_expect_eq(ny_obs_addr_split("abcd:1", host, sizeof(host), &port), -EINVAL);
	cr_expect_eq(ny_obs_addr_split("abc:1", host, sizeof(host), &port), 0);
}
