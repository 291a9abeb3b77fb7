/* The graph syntax of reference §2.3 and nylon's graph-parsing unit tests (§6.3): simple, groups, deep groups,
 * cycle, duplicate group, unknown symbol, empty group, group named as a node, bad definition, single symbol,
 * none; plus self-pairs dropped, duplicates merged, and members of a group not peered among themselves. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "nylon/conf.h"

static const char *const ids[] = { "a", "b", "c", "d", "e" };
#define N_IDS (sizeof(ids) / sizeof(ids[0]))
#define MAX_LINES 8

struct graph_case {
	const char *name;
	const char *lines[MAX_LINES];
	const char *edges;   /* expected pairs as "ab ac", NULL when an error is expected */
	const char *message; /* part of the expected error */
	size_t error_line;   /* index of the graph line the error names */
};

static const struct graph_case cases[] = {
	{ "simple pair", { "a, b" }, "ab", NULL, 0 },
	{ "clique", { "a, b, c" }, "ab ac bc", NULL, 0 },
	{ "group crossed with a node", { "g = a, b", "g, c" }, "ac bc", NULL, 0 },
	{ "group members are not peered with each other", { "g = a, b, c", "g, d" }, "ad bd cd", NULL, 0 },
	{ "group listed twice is a clique", { "g = a, b, c", "g, g" }, "ab ac bc", NULL, 0 },
	{ "two groups cross", { "g1 = a, b", "g2 = c, d", "g1, g2" }, "ac ad bc bd", NULL, 0 },
	{ "group used before its definition", { "g, c", "g = a, b" }, "ac bc", NULL, 0 },
	{ "deep groups", { "g3 = g2, e", "g2 = g1, c", "g1 = a, b", "g3, d" }, "ad bd cd de", NULL, 0 },
	{ "reference example", { "core = a, b", "core, core", "core, c" }, "ab ac bc", NULL, 0 },
	{ "self pairs dropped", { "a, a, b" }, "ab", NULL, 0 },
	{ "duplicates merged", { "a, b", "b, a", "g = a", "g, b" }, "ab", NULL, 0 },
	{ "overlapping groups", { "g1 = a, b", "g2 = b, c", "g1, g2" }, "ab ac bc", NULL, 0 },
	{ "no lines", { NULL }, "", NULL, 0 },
	{ "lines are already lower-cased and trimmed by the loader", { "a,b" }, "ab", NULL, 0 },
	{ "cycle", { "g1 = a, g2", "g2 = b, g1", "g1, c" }, NULL, "group cycle: g1 -> g2 -> g1", 0 },
	{ "self cycle", { "g = a, g", "g, b" }, NULL, "group cycle: g -> g", 0 },
	{ "long cycle", { "x = y, a", "y = z", "z = x", "x, b" }, NULL, "group cycle: x -> y -> z -> x", 0 },
	{ "duplicate group", { "g = a", "g = b", "g, c" }, NULL, "duplicate group \"g\"", 1 },
	{ "unknown symbol", { "a, b", "a, zed" }, NULL, "unknown symbol \"zed\"", 1 },
	{ "unknown symbol in a group", { "g = a, zed", "g, b" }, NULL, "unknown symbol \"zed\"", 0 },
	{ "empty group", { "g =", "g, a" }, NULL, "empty list", 0 },
	{ "group named as a node", { "a = b, c", "a, d" }, NULL, "is also a node id", 0 },
	{ "bad definition with two =", { "g = a = b" }, NULL, "exactly one '='", 0 },
	{ "bad definition without a name", { "= a, b" }, NULL, "expected a name", 0 },
	{ "single symbol", { "a" }, NULL, "invalid pairing \"a\": expected at least 2 symbols", 0 },
	{ "none", { "" }, NULL, "empty list", 0 },
	{ "empty symbol", { "a, , b" }, NULL, "empty symbol", 0 },
};

static void format_edges(char *buf, size_t len, const struct ny_conf_edge *e, size_t n)
{
	size_t o = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < n && o + 4 < len; i++)
		o += (size_t)snprintf(buf + o, len - o, "%s%s%s", i ? " " : "", ids[e[i].a], ids[e[i].b]);
}

static void run_case(const struct graph_case *tc)
{
	struct ny_conf_graph_line lines[MAX_LINES];
	struct ny_conf_edge *edges = NULL;
	struct ny_conf_report r;
	size_t n = 0, n_edges = 0;
	char got[256];
	int ret;

	for (; n < MAX_LINES && tc->lines[n]; n++)
		lines[n] = (struct ny_conf_graph_line){ (char *)tc->lines[n], { (unsigned)n + 10, 5 } };
	ny_conf_report_init(&r);
	ret = ny_conf_graph_expand(lines, n, ids, N_IDS, "central.yaml", &edges, &n_edges, &r);
	if (tc->edges) {
		if (ret)
			ny_conf_report_print(&r, NY_CONF_ERROR, stderr);
		cr_expect_eq(ret, 0, "%s", tc->name);
		format_edges(got, sizeof(got), edges, n_edges);
		cr_expect_str_eq(got, tc->edges, "%s: got \"%s\"", tc->name, got);
	} else {
		char path[32];

		cr_expect_eq(ret, -EINVAL, "%s", tc->name);
		cr_expect_null(edges, "%s", tc->name);
		snprintf(path, sizeof(path), "graph[%zu]", tc->error_line);
		cr_expect_geq(r.n, 1, "%s", tc->name);
		if (r.n) {
			cr_expect(strstr(r.diags[0].message, tc->message), "%s: got \"%s\"", tc->name,
				  r.diags[0].message);
			cr_expect_str_eq(r.diags[0].path, path, "%s", tc->name);
			cr_expect_eq(r.diags[0].line, tc->error_line + 10, "%s", tc->name);
		}
	}
	free(edges);
	ny_conf_report_free(&r);
}

Test(conf_graph, expands_groups_and_cliques_as_nylon)
{
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		if (cases[i].edges)
			run_case(&cases[i]);
	}
}

Test(conf_graph, rejects_malformed_graphs_naming_the_line)
{
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		if (!cases[i].edges)
			run_case(&cases[i]);
	}
}

Test(conf_graph, rejects_group_cycle)
{
	run_case(&cases[14]);
	cr_assert_str_eq(cases[14].name, "cycle");
}

Test(conf_graph, central_lines_are_lower_cased_and_trimmed)
{
	static const char text[] = "routers:\n"
				   "  - {id: a, pubkey: /Exmbq5lOa1IZjcMANVZghakHvpD9deXnIqhOfnThkk=}\n"
				   "  - {id: b, pubkey: 4HaUP7b55BQXc3y93g6DFR0QhfQ1BC/LaQkcuTq4hHA=}\n"
				   "graph: [\"  A ,B  \"]\n";
	struct ny_conf_central *c = NULL;
	struct ny_conf_report r;

	ny_conf_report_init(&r);
	cr_assert_eq(ny_conf_central_parse(&c, "central.yaml", text, strlen(text), &r), 0);
	cr_assert_str_eq(c->graph[0].text, "a ,b");
	cr_assert_eq(ny_conf_central_validate(c, &r), 0);
	cr_assert_eq(c->n_edges, 1);
	ny_conf_central_free(c);
	ny_conf_report_free(&r);
}

Test(conf_graph, several_graph_errors_are_reported)
{
	struct ny_conf_graph_line lines[] = {
		{ "a, x", { 1, 1 } },
		{ "b", { 2, 1 } },
		{ "c, y", { 3, 1 } },
	};
	struct ny_conf_edge *edges = NULL;
	struct ny_conf_report r;
	size_t n = 0;

	ny_conf_report_init(&r);
	cr_assert_eq(ny_conf_graph_expand(lines, 3, ids, N_IDS, "central.yaml", &edges, &n, &r), -EINVAL);
	cr_assert_eq(r.n_errors, 3);
	ny_conf_report_free(&r);
}

Test(conf_graph, large_full_mesh_is_bounded)
{
	/* 3000 nodes in one group listed twice: 4.5 million pairs, over the limit, refused rather than built. */
	enum { N = 3000 };
	static char names[N][8];
	static const char *nid[N];
	static char def[N * 8 + 8];
	struct ny_conf_graph_line lines[2] = { { def, { 1, 1 } }, { "g, g", { 2, 1 } } };
	struct ny_conf_edge *edges = NULL;
	struct ny_conf_report r;
	size_t n = 0, o;

	o = (size_t)snprintf(def, sizeof(def), "g = ");
	for (int i = 0; i < N; i++) {
		snprintf(names[i], sizeof(names[i]), "n%d", i);
		nid[i] = names[i];
		o += (size_t)snprintf(def + o, sizeof(def) - o, "%sn%d", i ? "," : "", i);
	}
	ny_conf_report_init(&r);
	cr_assert_eq(ny_conf_graph_expand(lines, 2, nid, N, "central.yaml", &edges, &n, &r), -EINVAL);
	cr_assert(strstr(r.diags[0].message, "graph too large"));
	ny_conf_report_free(&r);
}
