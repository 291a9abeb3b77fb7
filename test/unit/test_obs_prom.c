/* The Prometheus text-format writer (exposition format 0.0.4): HELP and TYPE once per family whatever order
 * samples arrive in, labels sorted and escaped, values as the shortest exact %g, NaN and infinities, and the
 * errors that would otherwise make Prometheus reject a whole scrape (bad names, a type change, duplicate series). */
#include <criterion/criterion.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "nylon/obs.h"

static char *render(struct ny_prom *p)
{
	char *out = NULL;
	size_t len = 0;

	cr_assert_eq(ny_prom_render(p, &out, &len), 0);
	cr_assert_eq(strlen(out), len);
	return out;
}

static void expect_render(struct ny_prom *p, const char *want)
{
	char *got = render(p);

	cr_expect_str_eq(got, want);
	free(got);
	ny_prom_free(p);
}

Test(obs_prom, unlabelled_gauge_and_counter)
{
	struct ny_prom *p = ny_prom_new();

	cr_assert_eq(ny_prom_add(p, "nylon_up", NY_PROM_GAUGE, "1 while nylon runs.", NULL, 0, 1), 0);
	cr_assert_eq(ny_prom_add(p, "x_total", NY_PROM_COUNTER, "Things.", NULL, 0, 42), 0);
	expect_render(p, "# HELP nylon_up 1 while nylon runs.\n# TYPE nylon_up gauge\nnylon_up 1\n"
			 "# HELP x_total Things.\n# TYPE x_total counter\nx_total 42\n");
}

Test(obs_prom, help_and_type_once_per_family_when_interleaved)
{
	struct ny_prom *p = ny_prom_new();
	const char *peers[] = { "a", "b", "c" };

	for (int i = 0; i < 3; i++) {
		struct ny_prom_label l = { "peer", peers[i] };

		ny_prom_add(p, "tx_total", NY_PROM_COUNTER, "Sent.", &l, 1, i);
		ny_prom_add(p, "rx_total", NY_PROM_COUNTER, "Received.", &l, 1, 10 + i);
	}
	expect_render(p, "# HELP tx_total Sent.\n# TYPE tx_total counter\n"
			 "tx_total{peer=\"a\"} 0\ntx_total{peer=\"b\"} 1\ntx_total{peer=\"c\"} 2\n"
			 "# HELP rx_total Received.\n# TYPE rx_total counter\n"
			 "rx_total{peer=\"a\"} 10\nrx_total{peer=\"b\"} 11\nrx_total{peer=\"c\"} 12\n");
}

Test(obs_prom, labels_sorted_by_name)
{
	struct ny_prom *p = ny_prom_new();
	struct ny_prom_label l[] = { { "router", "r1" }, { "prefix", "10.0.0.0/24" }, { "next_hop", "r2" } };

	cr_assert_eq(ny_prom_add(p, "nylon_route_metric", NY_PROM_GAUGE, "Metric.", l, 3, 105), 0);
	expect_render(p, "# HELP nylon_route_metric Metric.\n# TYPE nylon_route_metric gauge\n"
			 "nylon_route_metric{next_hop=\"r2\",prefix=\"10.0.0.0/24\",router=\"r1\"} 105\n");
}

Test(obs_prom, label_values_escaped)
{
	struct ny_prom *p = ny_prom_new();
	struct ny_prom_label l = { "v", "a\\b\"c\nd" };

	cr_assert_eq(ny_prom_add(p, "m", NY_PROM_GAUGE, "H.", &l, 1, 1), 0);
	expect_render(p, "# HELP m H.\n# TYPE m gauge\nm{v=\"a\\\\b\\\"c\\nd\"} 1\n");
}

Test(obs_prom, help_escapes_backslash_and_newline_not_quotes)
{
	struct ny_prom *p = ny_prom_new();

	cr_assert_eq(ny_prom_add(p, "m", NY_PROM_GAUGE, "a \"q\" \\ b\nc", NULL, 0, 1), 0);
	expect_render(p, "# HELP m a \"q\" \\\\ b\\nc\n# TYPE m gauge\nm 1\n");
}

Test(obs_prom, empty_help_has_no_help_line)
{
	struct ny_prom *p = ny_prom_new();

	cr_assert_eq(ny_prom_add(p, "m", NY_PROM_GAUGE, "", NULL, 0, 1), 0);
	expect_render(p, "# TYPE m gauge\nm 1\n");
}

struct value_case {
	double v;
	const char *text;
};

Test(obs_prom, values_shortest_exact_g)
{
	static const struct value_case cases[] = {
		{ 0, "0" },
		{ 1, "1" },
		{ -3, "-3" },
		{ 0.5, "0.5" },
		{ 0.000123, "0.000123" },
		{ 1e-7, "1e-07" },
		{ 0.1, "0.1" },
		{ 1.0 / 3, "0.3333333333333333" },
		{ 123456789, "123456789" },         /* %g alone would say 1.23457e+08: a counter must stay exact */
		{ 9007199254740992.0, "9007199254740992" }, /* 2^53 */
		{ 1e20, "1e+20" },
		{ 4294967295.0, "4294967295" },     /* NY_ROUTE_INF */
		{ 0.00125, "0.00125" },             /* 1.25 ms as seconds */
		{ 10, "10" },
		{ 1200, "1200" },
		{ 1e15, "1e+15" },
		{ 1.5e16, "1.5e+16" },
	};
	char out[NY_PROM_VALUE_STRLEN];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		ny_prom_format_value(cases[i].v, out);
		cr_expect_str_eq(out, cases[i].text, "value %zu", i);
		cr_expect_eq(strtod(out, NULL), cases[i].v);
	}
}

Test(obs_prom, nan_and_infinities)
{
	char out[NY_PROM_VALUE_STRLEN];
	struct ny_prom *p = ny_prom_new();
	struct ny_prom_label l[3] = { { "k", "nan" }, { "k", "pinf" }, { "k", "ninf" } };

	ny_prom_format_value(NAN, out);
	cr_expect_str_eq(out, "NaN");
	ny_prom_format_value(INFINITY, out);
	cr_expect_str_eq(out, "+Inf");
	ny_prom_format_value(-INFINITY, out);
	cr_expect_str_eq(out, "-Inf");
	ny_prom_add(p, "m", NY_PROM_GAUGE, "H.", &l[0], 1, NAN);
	ny_prom_add(p, "m", NY_PROM_GAUGE, "H.", &l[1], 1, INFINITY);
	ny_prom_add(p, "m", NY_PROM_GAUGE, "H.", &l[2], 1, -INFINITY);
	expect_render(p, "# HELP m H.\n# TYPE m gauge\nm{k=\"nan\"} NaN\nm{k=\"pinf\"} +Inf\nm{k=\"ninf\"} -Inf\n");
}

Test(obs_prom, bad_metric_names_rejected)
{
	static const char *bad[] = { "", "1abc", "a-b", "a b", "a.b", "é" };
	static const char *good[] = { "a", "_a", ":a", "a:b_c9", "nylon_up" };

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct ny_prom *p = ny_prom_new();
		char *out = NULL;
		size_t len;

		cr_expect_eq(ny_prom_add(p, bad[i], NY_PROM_GAUGE, "H.", NULL, 0, 1), -EINVAL, "%s", bad[i]);
		cr_expect_eq(ny_prom_render(p, &out, &len), -EINVAL, "render remembers the error");
		cr_expect_null(out);
		ny_prom_free(p);
	}
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		struct ny_prom *p = ny_prom_new();

		cr_expect_eq(ny_prom_add(p, good[i], NY_PROM_GAUGE, "H.", NULL, 0, 1), 0, "%s", good[i]);
		ny_prom_free(p);
	}
}

Test(obs_prom, bad_label_names_rejected)
{
	static const char *bad[] = { "", "__name", "a:b", "1a", "a-b" };

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct ny_prom *p = ny_prom_new();
		struct ny_prom_label l = { bad[i], "v" };

		cr_expect_eq(ny_prom_add(p, "m", NY_PROM_GAUGE, "H.", &l, 1, 1), -EINVAL, "%s", bad[i]);
		ny_prom_free(p);
	}
}

Test(obs_prom, repeated_label_name_rejected)
{
	struct ny_prom *p = ny_prom_new();
	struct ny_prom_label l[] = { { "peer", "a" }, { "peer", "b" } };

	cr_expect_eq(ny_prom_add(p, "m", NY_PROM_GAUGE, "H.", l, 2, 1), -EINVAL);
	ny_prom_free(p);
}

Test(obs_prom, type_change_rejected)
{
	struct ny_prom *p = ny_prom_new();

	cr_assert_eq(ny_prom_add(p, "m", NY_PROM_GAUGE, "H.", NULL, 0, 1), 0);
	cr_expect_eq(ny_prom_add(p, "m", NY_PROM_COUNTER, "H.", NULL, 0, 1), -EINVAL);
	ny_prom_free(p);
}

Test(obs_prom, duplicate_series_rejected_whatever_the_label_order)
{
	struct ny_prom *p = ny_prom_new();
	struct ny_prom_label l1[] = { { "peer", "a" }, { "endpoint", "1.2.3.4:5" } };
	struct ny_prom_label l2[] = { { "endpoint", "1.2.3.4:5" }, { "peer", "a" } };
	char *out = NULL;
	size_t len;

	cr_assert_eq(ny_prom_add(p, "m", NY_PROM_GAUGE, "H.", l1, 2, 1), 0);
	cr_assert_eq(ny_prom_add(p, "m", NY_PROM_GAUGE, "H.", l2, 2, 2), 0);
	cr_expect_eq(ny_prom_render(p, &out, &len), -EEXIST);
	ny_prom_free(p);
}

Test(obs_prom, same_labels_in_different_families_are_fine)
{
	struct ny_prom *p = ny_prom_new();
	struct ny_prom_label l = { "peer", "a" };

	ny_prom_add(p, "m1", NY_PROM_GAUGE, "H.", &l, 1, 1);
	ny_prom_add(p, "m2", NY_PROM_GAUGE, "H.", &l, 1, 2);
	free(render(p));
	ny_prom_free(p);
}

Test(obs_prom, empty_writer_renders_nothing)
{
	struct ny_prom *p = ny_prom_new();

	expect_render(p, "");
}
