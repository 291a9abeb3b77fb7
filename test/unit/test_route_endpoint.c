/* A neighbour's endpoints and the probe-token table (src/route/endpoint.c, reference nylon-behaviour.md §3.3,
 * §3.7), driven by a simulated clock in ns. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>

#include "nylon/route.h"
#include "nylon/route_endpoint.h"

#define MS 1000000ull
#define S (1000 * MS)
#define T0 (1000 * S) /* the simulated clock starts far from 0, as a monotonic clock does */

static struct ny_io_addr v4(uint8_t a, uint8_t b, uint8_t c, uint8_t d, uint16_t port)
{
	struct ny_io_addr x = { .family = AF_INET, .port = port, .ip = { a, b, c, d } };

	return x;
}

static struct ny_route_endpoints *eps_new(void)
{
	struct ny_route_endpoints *eps;

	cr_assert_eq(ny_route_endpoints_new(&eps, NULL), 0);
	return eps;
}

/* A configured endpoint resolved to addr. */
static size_t add_resolved(struct ny_route_endpoints *eps, const char *text, struct ny_io_addr addr)
{
	int idx = ny_route_endpoints_add_configured(eps, text);

	cr_assert_geq(idx, 0);
	cr_assert_eq(ny_route_endpoints_set_resolved(eps, (size_t)idx, &addr), 0);
	return (size_t)idx;
}

/* n pongs one second apart, each with the same RTT, the first at *now; *now ends after the last. */
static void pongs(struct ny_route_endpoints *eps, size_t idx, uint64_t rtt_ns, int n, uint64_t *now)
{
	uint64_t id = ny_route_endpoints_id(eps, idx);

	for (int i = 0; i < n; i++, *now += S)
		cr_assert_eq(ny_route_endpoints_pong_received(eps, id, rtt_ns, *now, NULL), (int)idx);
}

static bool active(struct ny_route_endpoints *eps, size_t idx, uint64_t now)
{
	struct ny_route_endpoint_status st;

	ny_route_endpoints_status(eps, idx, now, &st);
	return st.active;
}

/* ---- liveness ---- */

Test(route_endpoint, liveness_expires_at_exactly_the_dead_threshold)
{
	struct ny_route_endpoints *eps = eps_new();
	size_t a = add_resolved(eps, "10.0.0.1:57175", v4(10, 0, 0, 1, 57175));
	bool revived = false;

	cr_expect_not(active(eps, a, T0), "never heard from");
	cr_expect_eq(ny_route_endpoints_metric(eps, T0), NY_ROUTE_INF);
	cr_expect_eq(ny_route_endpoints_best(eps, T0), -1);

	struct ny_io_addr src = v4(10, 0, 0, 1, 57175);
	cr_assert_eq(ny_route_endpoints_ping_received(eps, &src, T0, &revived), (int)a);
	cr_expect(revived, "a first ping brings the endpoint up");
	cr_expect(active(eps, a, T0 + 5 * S - 1));
	cr_expect_eq(ny_route_endpoints_metric(eps, T0 + 5 * S - 1), 1000000, "unconfident: 1 s");
	cr_expect_eq(ny_route_endpoints_best(eps, T0 + 5 * S - 1), (int)a);
	cr_expect_not(active(eps, a, T0 + 5 * S), "dead exactly 5 s after it was last heard");
	cr_expect_eq(ny_route_endpoints_metric(eps, T0 + 5 * S), NY_ROUTE_INF);
	cr_expect_eq(ny_route_endpoints_best(eps, T0 + 5 * S), -1);
	ny_route_endpoints_free(eps);
}

Test(route_endpoint, dead_threshold_is_a_parameter)
{
	struct ny_route_endpoint_params p;
	struct ny_route_endpoints *eps;
	struct ny_io_addr src = v4(10, 0, 0, 1, 1);

	ny_route_endpoint_params_default(&p);
	p.link_dead_threshold_ns = 50 * MS;
	cr_assert_eq(ny_route_endpoints_new(&eps, &p), 0);
	cr_assert_eq(ny_route_endpoints_ping_received(eps, &src, T0, NULL), 0);
	cr_expect(active(eps, 0, T0 + 50 * MS - 1));
	cr_expect_not(active(eps, 0, T0 + 50 * MS));
	ny_route_endpoints_free(eps);
}

Test(route_endpoint, poll_link_reports_up_and_down_once)
{
	struct ny_route_endpoints *eps = eps_new();
	struct ny_io_addr src = v4(10, 0, 0, 1, 1);

	cr_expect_eq(ny_route_endpoints_poll_link(eps, T0), NY_ROUTE_LINK_UNCHANGED, "starts down");
	ny_route_endpoints_ping_received(eps, &src, T0, NULL);
	cr_expect_eq(ny_route_endpoints_poll_link(eps, T0), NY_ROUTE_LINK_UP);
	cr_expect_eq(ny_route_endpoints_poll_link(eps, T0 + S), NY_ROUTE_LINK_UNCHANGED);
	cr_expect_eq(ny_route_endpoints_poll_link(eps, T0 + 5 * S), NY_ROUTE_LINK_DOWN);
	cr_expect_eq(ny_route_endpoints_poll_link(eps, T0 + 6 * S), NY_ROUTE_LINK_UNCHANGED);
	ny_route_endpoints_ping_received(eps, &src, T0 + 7 * S, NULL);
	cr_expect_eq(ny_route_endpoints_poll_link(eps, T0 + 7 * S), NY_ROUTE_LINK_UP);
	ny_route_endpoints_free(eps);
}

/* ---- metric and selection ---- */

Test(route_endpoint, best_endpoint_is_the_active_one_with_the_lowest_metric)
{
	struct ny_route_endpoints *eps = eps_new();
	size_t a = add_resolved(eps, "a:1", v4(10, 0, 0, 1, 1));
	size_t b = add_resolved(eps, "b:1", v4(10, 0, 0, 2, 1));
	size_t c = add_resolved(eps, "c:1", v4(10, 0, 0, 3, 1));
	uint64_t now = T0;

	for (int i = 0; i < 15; i++) {
		uint64_t t = now;

		pongs(eps, a, 30 * MS, 1, &t);
		t = now;
		pongs(eps, b, 10 * MS, 1, &t);
		t = now;
		pongs(eps, c, 20 * MS, 1, &t);
		now = t;
	}
	now -= S;
	cr_expect_eq(ny_route_endpoints_best(eps, now), (int)b);
	cr_expect_eq(ny_route_endpoints_metric(eps, now), 10000);

	/* b goes quiet: once it is dead, c (20 ms) is best although b's history is lower. */
	uint64_t later = now;
	for (int i = 0; i < 6; i++) {
		uint64_t t = later;

		pongs(eps, a, 30 * MS, 1, &t);
		t = later;
		pongs(eps, c, 20 * MS, 1, &t);
		later = t;
	}
	later -= S;
	cr_expect_not(active(eps, b, later));
	cr_expect_eq(ny_route_endpoints_best(eps, later), (int)c);
	cr_expect_eq(ny_route_endpoints_metric(eps, later), 20000);
	ny_route_endpoints_free(eps);
}

Test(route_endpoint, equal_metrics_prefer_the_first_in_list)
{
	struct ny_route_endpoints *eps = eps_new();
	size_t a = add_resolved(eps, "a:1", v4(10, 0, 0, 1, 1));
	size_t b = add_resolved(eps, "b:1", v4(10, 0, 0, 2, 1));
	uint64_t t = T0, u = T0;

	pongs(eps, b, 10 * MS, 15, &t);
	pongs(eps, a, 10 * MS, 15, &u);
	cr_expect_eq(ny_route_endpoints_best(eps, t - S), (int)a);
	ny_route_endpoints_free(eps);
}

Test(route_endpoint, renew_after_inactivity_clears_the_rtt_history)
{
	struct ny_route_endpoints *eps = eps_new();
	size_t a = add_resolved(eps, "a:1", v4(10, 0, 0, 1, 1));
	uint64_t id = ny_route_endpoints_id(eps, a), now = T0;
	struct ny_route_endpoint_status st;
	bool revived;

	pongs(eps, a, 10 * MS, 20, &now);
	cr_assert_eq(ny_route_endpoints_metric(eps, now - S), 10000);

	/* Still active: a pong neither revives nor resets. */
	cr_assert_eq(ny_route_endpoints_pong_received(eps, id, 12 * MS, now, &revived), (int)a);
	cr_expect_not(revived);
	cr_expect_eq(ny_route_endpoints_metric(eps, now), 10000);

	/* 5 s of silence, then a pong: revived with a fresh history (1 s until 15 samples). */
	now += 5 * S;
	cr_assert_eq(ny_route_endpoints_pong_received(eps, id, 40 * MS, now, &revived), (int)a);
	cr_expect(revived);
	ny_route_endpoints_status(eps, a, now, &st);
	cr_expect(st.active);
	cr_expect_eq(st.metric, 1000000);
	cr_expect_eq(st.filtered_ns, 40 * MS, "the EWMA restarts from the new sample");
	ny_route_endpoints_free(eps);
}

Test(route_endpoint, ping_renew_after_inactivity_also_clears_history)
{
	struct ny_route_endpoints *eps = eps_new();
	struct ny_io_addr src = v4(10, 0, 0, 1, 1);
	size_t a = add_resolved(eps, "a:1", src);
	uint64_t now = T0;
	bool revived;

	pongs(eps, a, 10 * MS, 20, &now);
	now += 5 * S;
	cr_assert_eq(ny_route_endpoints_ping_received(eps, &src, now, &revived), (int)a);
	cr_expect(revived);
	cr_expect_eq(ny_route_endpoints_metric(eps, now), 1000000);
	ny_route_endpoints_free(eps);
}

Test(route_endpoint, sorted_lists_resolved_endpoints_by_metric_inactive_last)
{
	struct ny_route_endpoints *eps = eps_new();
	size_t a = add_resolved(eps, "a:1", v4(10, 0, 0, 1, 1));
	size_t b = add_resolved(eps, "b:1", v4(10, 0, 0, 2, 1));
	int u = ny_route_endpoints_add_configured(eps, "unresolved.example:1");
	size_t c = add_resolved(eps, "c:1", v4(10, 0, 0, 3, 1));
	size_t d = add_resolved(eps, "d:1", v4(10, 0, 0, 4, 1));
	size_t out[8];
	uint64_t t = T0, t2 = T0;

	cr_assert_geq(u, 0);
	pongs(eps, c, 10 * MS, 15, &t);
	pongs(eps, a, 20 * MS, 15, &t2);
	/* b and d never heard: INF, in list order after the active ones. */
	cr_assert_eq(ny_route_endpoints_sorted(eps, t - S, out, 8), 4);
	cr_expect_eq(out[0], c);
	cr_expect_eq(out[1], a);
	cr_expect_eq(out[2], b);
	cr_expect_eq(out[3], d);
	cr_assert_eq(ny_route_endpoints_sorted(eps, t - S, out, 2), 2, "cap bounds the output");
	cr_expect_eq(out[0], c);
	cr_expect_eq(out[1], a);
	ny_route_endpoints_free(eps);
}

/* ---- remote endpoints ---- */

Test(route_endpoint, ping_from_a_configured_address_renews_it)
{
	struct ny_route_endpoints *eps = eps_new();
	size_t a = add_resolved(eps, "a:1", v4(192, 0, 2, 1, 4000));
	/* The same address written as an IPv4-mapped IPv6 address is the same endpoint. */
	struct ny_io_addr mapped = { .family = AF_INET6, .port = 4000,
				     .ip = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 192, 0, 2, 1 } };
	bool revived;

	cr_expect_eq(ny_route_endpoints_ping_received(eps, &mapped, T0, &revived), (int)a);
	cr_expect(revived);
	cr_expect_eq(ny_route_endpoints_count(eps), 1, "no remote endpoint for a known address");
	cr_expect_eq(ny_route_endpoints_ping_received(eps, &mapped, T0 + S, &revived), (int)a);
	cr_expect_not(revived, "already active");
	ny_route_endpoints_free(eps);
}

Test(route_endpoint, unknown_source_creates_a_remote_endpoint_that_gc_drops_once_inactive)
{
	struct ny_route_endpoints *eps = eps_new();
	struct ny_io_addr src = v4(198, 51, 100, 7, 4000);
	struct ny_route_endpoint_status st;
	bool revived;
	int r;

	add_resolved(eps, "a:1", v4(10, 0, 0, 1, 1));
	r = ny_route_endpoints_ping_received(eps, &src, T0, &revived);
	cr_assert_eq(r, 1, "remote endpoints follow the configured ones");
	cr_expect(revived, "a new endpoint counts as coming up");
	ny_route_endpoints_status(eps, 1, T0, &st);
	cr_expect(st.remote_init);
	cr_expect(st.active);
	cr_expect(st.resolved);
	cr_expect_str_eq(st.text, "198.51.100.7:4000");
	cr_expect_eq(memcmp(&st.addr, &src, sizeof(src)), 0);
	cr_expect_eq(ny_route_endpoints_best(eps, T0), 1);

	cr_expect_eq(ny_route_endpoints_ping_received(eps, &src, T0 + S, &revived), 1);
	cr_expect_not(revived);
	cr_expect_eq(ny_route_endpoints_count(eps), 2);

	cr_expect_not(ny_route_endpoints_gc(eps, T0 + 6 * S - 1), "heard 1 s in: active until 6 s");
	cr_expect_eq(ny_route_endpoints_count(eps), 2);
	cr_expect(ny_route_endpoints_gc(eps, T0 + 6 * S));
	cr_expect_eq(ny_route_endpoints_count(eps), 1, "the configured endpoint is never collected");
	cr_expect_not(ny_route_endpoints_gc(eps, T0 + 100 * S));
	cr_expect_eq(ny_route_endpoints_count(eps), 1);
	ny_route_endpoints_free(eps);
}

Test(route_endpoint, remote_endpoints_are_bounded)
{
	struct ny_route_endpoints *eps = eps_new();
	struct ny_io_addr src;
	uint64_t id0;
	bool revived;

	/* Eight remote endpoints, all active. */
	for (uint16_t i = 0; i < 8; i++) {
		src = v4(198, 51, 100, 1, (uint16_t)(1000 + i));
		cr_assert_eq(ny_route_endpoints_ping_received(eps, &src, T0 + i * MS, NULL), i);
	}
	id0 = ny_route_endpoints_id(eps, 0);
	src = v4(198, 51, 100, 1, 2000);
	cr_expect_eq(ny_route_endpoints_ping_received(eps, &src, T0 + S, &revived), -ENOSPC,
		     "a ninth source is refused while all eight are active");
	cr_expect_eq(ny_route_endpoints_count(eps), 8);

	/* Keep all but ports 1000 and 1001 alive; after 5 s those two are inactive, 1000 heard from longest ago. */
	for (uint16_t i = 2; i < 8; i++) {
		struct ny_io_addr keep = v4(198, 51, 100, 1, (uint16_t)(1000 + i));

		ny_route_endpoints_ping_received(eps, &keep, T0 + 4 * S, NULL);
	}
	cr_assert_eq(ny_route_endpoints_ping_received(eps, &src, T0 + 5 * S + 1 * MS, &revived), 7,
		     "replaces an inactive one and goes last");
	cr_expect(revived);
	cr_expect_eq(ny_route_endpoints_count(eps), 8);
	cr_expect_eq(ny_route_endpoints_find_id(eps, id0), -ENOENT, "the oldest inactive one was replaced");
	struct ny_route_endpoint_status st;
	ny_route_endpoints_status(eps, 0, T0 + 5 * S + 1 * MS, &st);
	cr_expect_str_eq(st.text, "198.51.100.1:1001");
	ny_route_endpoints_free(eps);
}

Test(route_endpoint, ping_flood_from_new_ports_stays_bounded)
{
	struct ny_route_endpoints *eps = eps_new();
	size_t refused = 0;

	add_resolved(eps, "a:1", v4(10, 0, 0, 1, 1));
	/* 20,000 pings, 10 ms apart, each from a port never seen before. */
	for (uint32_t i = 0; i < 20000; i++) {
		struct ny_io_addr src = v4(198, 51, 100, (uint8_t)(i >> 16), (uint16_t)i);
		int r = ny_route_endpoints_ping_received(eps, &src, T0 + i * 10 * MS, NULL);

		cr_assert(r == -ENOSPC || (r >= 1 && r <= 8), "ping %u: %d", i, r);
		refused += r == -ENOSPC;
		cr_assert_leq(ny_route_endpoints_count(eps), 9);
	}
	/* Eight slots, each freed 5 s after its last ping: about 8 accepted every 5 s, the rest refused. */
	cr_expect_gt(refused, 19000);
	cr_expect_eq(ny_route_endpoints_configured_count(eps), 1);
	ny_route_endpoints_free(eps);
}

Test(route_endpoint, max_remote_zero_refuses_every_unknown_source)
{
	struct ny_route_endpoint_params p;
	struct ny_route_endpoints *eps;
	struct ny_io_addr src = v4(198, 51, 100, 1, 1);

	ny_route_endpoint_params_default(&p);
	p.max_remote = 0;
	cr_assert_eq(ny_route_endpoints_new(&eps, &p), 0);
	cr_expect_eq(ny_route_endpoints_ping_received(eps, &src, T0, NULL), -ENOSPC);
	ny_route_endpoints_free(eps);
}

Test(route_endpoint, configured_endpoints_keep_their_index_and_precede_remote_ones)
{
	struct ny_route_endpoints *eps = eps_new();
	struct ny_io_addr src = v4(198, 51, 100, 7, 4000);
	uint64_t remote_id;

	cr_assert_eq(ny_route_endpoints_add_configured(eps, "a:1"), 0);
	cr_assert_eq(ny_route_endpoints_ping_received(eps, &src, T0, NULL), 1);
	remote_id = ny_route_endpoints_id(eps, 1);
	cr_assert_eq(ny_route_endpoints_add_configured(eps, "b:1"), 1, "configured endpoints go before remote ones");
	cr_expect_eq(ny_route_endpoints_configured_count(eps), 2);
	cr_expect_eq(ny_route_endpoints_find_id(eps, remote_id), 2, "the remote one is found by id");
	ny_route_endpoints_gc(eps, T0 + 10 * S);
	cr_expect_eq(ny_route_endpoints_count(eps), 2);
	ny_route_endpoints_free(eps);
}

Test(route_endpoint, rejects_bad_input)
{
	struct ny_route_endpoints *eps = eps_new();
	struct ny_io_addr bad = { .family = 1234, .port = 1 };
	struct ny_io_addr src = v4(198, 51, 100, 7, 4000);
	struct ny_route_endpoint_params p;
	struct ny_route_endpoints *other;

	cr_expect_eq(ny_route_endpoints_add_configured(eps, ""), -EINVAL);
	cr_expect_eq(ny_route_endpoints_add_configured(eps, NULL), -EINVAL);
	cr_assert_eq(ny_route_endpoints_add_configured(eps, "a:1"), 0);
	cr_expect_eq(ny_route_endpoints_set_resolved(eps, 0, &bad), -EINVAL);
	cr_expect_eq(ny_route_endpoints_set_resolved(eps, 1, &src), -EINVAL, "no such endpoint");
	cr_expect_eq(ny_route_endpoints_ping_received(eps, &bad, T0, NULL), -EAFNOSUPPORT);
	cr_assert_eq(ny_route_endpoints_ping_received(eps, &src, T0, NULL), 1);
	cr_expect_eq(ny_route_endpoints_set_resolved(eps, 1, &src), -EINVAL, "remote endpoints are not resolved");
	cr_expect_eq(ny_route_endpoints_pong_received(eps, 999, 1, T0, NULL), -ENOENT);

	ny_route_endpoint_params_default(&p);
	p.probe_delay_ns = 0;
	cr_expect_eq(ny_route_endpoints_new(&other, &p), -EINVAL);
	cr_expect_null(other);
	ny_route_endpoint_params_default(&p);
	p.metric.window = 0;
	cr_expect_eq(ny_route_endpoints_new(&other, &p), -EINVAL);
	ny_route_endpoints_free(eps);
}

Test(route_endpoint, unresolving_stops_matching_and_probing)
{
	struct ny_route_endpoints *eps = eps_new();
	struct ny_io_addr src = v4(10, 0, 0, 1, 1);
	size_t out[4];

	add_resolved(eps, "a:1", src);
	cr_assert_eq(ny_route_endpoints_set_resolved(eps, 0, NULL), 0);
	cr_expect_null(ny_route_endpoints_addr(eps, 0));
	cr_expect_eq(ny_route_endpoints_due(eps, T0, out, 4), 0);
	cr_expect_eq(ny_route_endpoints_ping_received(eps, &src, T0, NULL), 1, "now an unknown source");
	ny_route_endpoints_free(eps);
}

/* ---- probe schedule ---- */

/* Runs the schedule from T0 to T0 + horizon in 100 ms steps, calling hook before each due(), and records for each
 * endpoint index the times (ms since T0) it was probed. */
struct probe_log {
	uint64_t at_ms[4][64];
	size_t n[4];
};

static void run_schedule(struct ny_route_endpoints *eps, uint64_t horizon,
			 void (*hook)(struct ny_route_endpoints *, uint64_t), struct probe_log *log)
{
	size_t out[8];

	memset(log, 0, sizeof(*log));
	for (uint64_t now = T0; now <= T0 + horizon; now += 100 * MS) {
		size_t k;

		if (hook)
			hook(eps, now);
		k = ny_route_endpoints_due(eps, now, out, 8);
		for (size_t i = 0; i < k; i++) {
			cr_assert_lt(out[i], 4u);
			for (size_t j = 0; j < i; j++)
				cr_assert_neq(out[i], out[j], "an endpoint is probed once per call");
			cr_assert_lt(log->n[out[i]], 64u);
			log->at_ms[out[i]][log->n[out[i]]++] = (now - T0) / MS;
		}
		cr_assert_gt(ny_route_endpoints_next_deadline(eps), now, "the next deadline is in the future");
	}
}

static void expect_times(const struct probe_log *log, size_t idx, const uint64_t *want, size_t n, const char *what)
{
	cr_expect_eq(log->n[idx], n, "%s: %zu probes, expected %zu", what, log->n[idx], n);
	for (size_t i = 0; i < n && i < log->n[idx]; i++)
		cr_expect_eq(log->at_ms[idx][i], want[i], "%s: probe %zu at %llu ms, expected %llu ms", what, i,
			     (unsigned long long)log->at_ms[idx][i], (unsigned long long)want[i]);
}

/* Endpoint 0 is kept alive by a ping every 100 ms. */
static void keep_first_alive(struct ny_route_endpoints *eps, uint64_t now)
{
	struct ny_io_addr src = v4(10, 0, 0, 1, 1);

	cr_assert_eq(ny_route_endpoints_ping_received(eps, &src, now, NULL), 0);
}

Test(route_endpoint, probe_schedule_active_1s_inactive_1500ms_discovery_10s)
{
	struct ny_route_endpoints *eps = eps_new();
	struct ny_io_addr remote = v4(198, 51, 100, 7, 4000);
	struct probe_log log;

	add_resolved(eps, "a:1", v4(10, 0, 0, 1, 1));                         /* 0: always active */
	add_resolved(eps, "b:1", v4(10, 0, 0, 2, 1));                         /* 1: never heard */
	cr_assert_eq(ny_route_endpoints_add_configured(eps, "unresolved:1"), 2); /* 2: never probed */
	cr_assert_eq(ny_route_endpoints_ping_received(eps, &remote, T0, NULL), 3); /* 3: silent from T0 */
	cr_expect_eq(ny_route_endpoints_next_deadline(eps), 0, "everything is due at start");

	run_schedule(eps, 21 * S, keep_first_alive, &log);

	static const uint64_t active_every_second[] = { 0,     1000,  2000,  3000,  4000,  5000,  6000,  7000,
							8000,  9000,  10000, 11000, 12000, 13000, 14000, 15000,
							16000, 17000, 18000, 19000, 20000, 21000 };
	/* Inactive rounds every 1.5 s, plus discovery at 10 s and 20 s (0 s coincides). */
	static const uint64_t configured_inactive[] = { 0,     1500,  3000,  4500,  6000,  7500,  9000, 10000,
							10500, 12000, 13500, 15000, 16500, 18000, 19500, 20000,
							21000 };
	/* Active rounds while heard within 5 s (0-4 s), then inactive rounds; discovery skips remote endpoints. */
	static const uint64_t remote_going_quiet[] = { 0,     1000,  2000,  3000,  4000,  6000,
						       7500,  9000,  10500, 12000, 13500, 15000,
						       16500, 18000, 19500, 21000 };

	expect_times(&log, 0, active_every_second, sizeof(active_every_second) / 8, "active");
	expect_times(&log, 1, configured_inactive, sizeof(configured_inactive) / 8, "configured, inactive");
	expect_times(&log, 2, NULL, 0, "unresolved");
	expect_times(&log, 3, remote_going_quiet, sizeof(remote_going_quiet) / 8, "remote, going quiet");
	ny_route_endpoints_free(eps);
}

Test(route_endpoint, probe_schedule_catches_up_without_bursts)
{
	struct ny_route_endpoints *eps = eps_new();
	size_t out[4];

	add_resolved(eps, "a:1", v4(10, 0, 0, 1, 1));
	cr_expect_eq(ny_route_endpoints_due(eps, T0, out, 4), 1);
	cr_expect_eq(ny_route_endpoints_next_deadline(eps), T0 + S, "the active round, even with none active");
	cr_expect_eq(ny_route_endpoints_due(eps, T0 + 1499 * MS, out, 4), 0, "inactive: not probed in active rounds");
	/* The caller sleeps through several rounds: one probe, then the cadence resumes a period later. */
	cr_expect_eq(ny_route_endpoints_due(eps, T0 + 7 * S, out, 4), 1);
	cr_expect_eq(ny_route_endpoints_due(eps, T0 + 7 * S, out, 4), 0);
	cr_expect_eq(ny_route_endpoints_next_deadline(eps), T0 + 8 * S);
	cr_expect_eq(ny_route_endpoints_due(eps, T0 + 8 * S, out, 4), 0);
	cr_expect_eq(ny_route_endpoints_due(eps, T0 + 8500 * MS, out, 4), 1, "the inactive round, 1.5 s after 7 s");
	ny_route_endpoints_free(eps);
}

Test(route_endpoint, probe_schedule_periods_are_parameters)
{
	struct ny_route_endpoint_params p;
	struct ny_route_endpoints *eps;
	struct probe_log log;

	ny_route_endpoint_params_default(&p);
	p.probe_recovery_delay_ns = 400 * MS;
	p.probe_discovery_delay_ns = 1000 * S; /* out of the way */
	cr_assert_eq(ny_route_endpoints_new(&eps, &p), 0);
	add_resolved(eps, "b:1", v4(10, 0, 0, 2, 1));
	run_schedule(eps, 2 * S, NULL, &log);

	static const uint64_t every_400ms[] = { 0, 400, 800, 1200, 1600, 2000 };
	expect_times(&log, 0, every_400ms, 6, "inactive, 400 ms");
	ny_route_endpoints_free(eps);
}

/* ---- probe tokens ---- */

static struct ny_route_probe_tokens *tokens_new(uint32_t capacity)
{
	struct ny_route_endpoint_params p;
	struct ny_route_probe_tokens *t;

	ny_route_endpoint_params_default(&p);
	if (capacity)
		p.token_capacity = capacity;
	cr_assert_eq(ny_route_probe_tokens_new(&t, &p), 0);
	return t;
}

Test(route_probe_tokens, pong_matches_its_token_once)
{
	struct ny_route_probe_tokens *t = tokens_new(0);
	uint64_t ep = 0, sent = 0;

	cr_assert_eq(ny_route_probe_tokens_add(t, 0xfeed, 3, 42, T0), 0);
	cr_expect_eq(ny_route_probe_tokens_add(t, 0xfeed, 3, 43, T0), -EEXIST);
	cr_expect_eq(ny_route_probe_tokens_count(t), 1);
	cr_expect_eq(ny_route_probe_tokens_take(t, 0xfeed, 3, T0 + 20 * MS, &ep, &sent), 0);
	cr_expect_eq(ep, 42);
	cr_expect_eq(sent, T0);
	cr_expect_eq(ny_route_probe_tokens_take(t, 0xfeed, 3, T0 + 20 * MS, &ep, &sent), -ENOENT, "consumed");
	cr_expect_eq(ny_route_probe_tokens_count(t), 0);
	cr_expect_eq(ny_route_probe_tokens_stats(t)->matched, 1);
	ny_route_probe_tokens_free(t);
}

Test(route_probe_tokens, tokens_expire_after_the_ttl)
{
	struct ny_route_probe_tokens *t = tokens_new(0);

	cr_assert_eq(ny_route_probe_tokens_add(t, 1, 0, 1, T0), 0);
	cr_assert_eq(ny_route_probe_tokens_add(t, 2, 0, 1, T0), 0);
	cr_expect_eq(ny_route_probe_tokens_take(t, 1, 0, T0 + 5 * S - 1, NULL, NULL), 0, "just inside 5 s");
	cr_expect_eq(ny_route_probe_tokens_take(t, 2, 0, T0 + 5 * S, NULL, NULL), -ENOENT, "5 s old is expired");
	cr_expect_eq(ny_route_probe_tokens_stats(t)->expired, 1);
	cr_expect_eq(ny_route_probe_tokens_count(t), 0, "an expired token is dropped when seen");

	/* Tokens nobody answers are dropped by later adds. */
	for (uint64_t i = 0; i < 100; i++)
		cr_assert_eq(ny_route_probe_tokens_add(t, 100 + i, 0, 1, T0 + i * 100 * MS), 0);
	cr_expect_eq(ny_route_probe_tokens_count(t), 50, "only the last 5 s at 10 a second remain");
	ny_route_probe_tokens_free(t);
}

Test(route_probe_tokens, wrong_neighbour_is_rejected_and_the_token_kept)
{
	struct ny_route_probe_tokens *t = tokens_new(0);
	uint64_t ep = 0;

	cr_assert_eq(ny_route_probe_tokens_add(t, 77, 1, 5, T0), 0);
	cr_expect_eq(ny_route_probe_tokens_take(t, 77, 2, T0 + MS, &ep, NULL), -EPERM);
	cr_expect_eq(ny_route_probe_tokens_stats(t)->wrong_neighbour, 1);
	cr_expect_eq(ny_route_probe_tokens_take(t, 77, 1, T0 + MS, &ep, NULL), 0, "the right neighbour still matches");
	cr_expect_eq(ep, 5);
	ny_route_probe_tokens_free(t);
}

static uint64_t splitmix(uint64_t *s)
{
	uint64_t z = (*s += 0x9E3779B97F4A7C15ull);

	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
	return z ^ (z >> 31);
}

Test(route_probe_tokens, flood_of_unknown_tokens_leaves_the_table_unchanged)
{
	struct ny_route_probe_tokens *t = tokens_new(64);
	uint64_t seed = 1, ep;

	for (uint64_t i = 0; i < 16; i++)
		cr_assert_eq(ny_route_probe_tokens_add(t, 1000 + i, 1, i, T0), 0);
	for (int i = 0; i < 200000; i++) {
		uint64_t tok = splitmix(&seed);

		if (tok >= 1000 && tok < 1016)
			continue;
		cr_assert_eq(ny_route_probe_tokens_take(t, tok, 1, T0 + MS, NULL, NULL), -ENOENT);
	}
	cr_expect_eq(ny_route_probe_tokens_count(t), 16);
	cr_expect_geq(ny_route_probe_tokens_stats(t)->unknown, 199000);
	for (uint64_t i = 0; i < 16; i++) {
		cr_expect_eq(ny_route_probe_tokens_take(t, 1000 + i, 1, T0 + MS, &ep, NULL), 0);
		cr_expect_eq(ep, i);
	}
	ny_route_probe_tokens_free(t);
}

Test(route_probe_tokens, more_probes_than_capacity_forget_the_oldest)
{
	struct ny_route_probe_tokens *t = tokens_new(64); /* at most 32 in flight */

	for (uint64_t i = 0; i < 10000; i++) {
		cr_assert_eq(ny_route_probe_tokens_add(t, i, 1, i, T0 + i), 0);
		cr_assert_leq(ny_route_probe_tokens_count(t), 32);
	}
	cr_expect_eq(ny_route_probe_tokens_stats(t)->evicted, 10000 - 32);
	cr_expect_eq(ny_route_probe_tokens_take(t, 10000 - 33, 1, T0 + 10000, NULL, NULL), -ENOENT);
	for (uint64_t i = 10000 - 32; i < 10000; i++)
		cr_expect_eq(ny_route_probe_tokens_take(t, i, 1, T0 + 10000, NULL, NULL), 0, "token %llu",
			     (unsigned long long)i);
	ny_route_probe_tokens_free(t);
}

Test(route_probe_tokens, rejects_bad_params)
{
	struct ny_route_endpoint_params p;
	struct ny_route_probe_tokens *t;

	ny_route_endpoint_params_default(&p);
	p.token_ttl_ns = 0;
	cr_expect_eq(ny_route_probe_tokens_new(&t, &p), -EINVAL);
	ny_route_endpoint_params_default(&p);
	p.token_capacity = 1;
	cr_expect_eq(ny_route_probe_tokens_new(&t, &p), -EINVAL);
	cr_assert_eq(ny_route_probe_tokens_new(&t, NULL), 0);
	ny_route_probe_tokens_free(t);
}

/* A long random run against a plain list of the tokens in flight: adds (one a step), takes of live, expired,
 * unknown and wrong-neighbour tokens, in a small table so that clusters form and backward-shift deletion is
 * exercised. The TTL keeps fewer tokens in flight than the table holds, so the model needs no eviction. */
struct model_entry {
	uint64_t token, ep, sent_at;
	uint32_t nb;
};

Test(route_probe_tokens, random_run_matches_a_reference_model)
{
	struct ny_route_endpoint_params p;
	struct ny_route_probe_tokens *t;
	struct model_entry model[256];
	size_t n = 0;
	uint64_t seed = 2024;

	ny_route_endpoint_params_default(&p);
	p.token_capacity = 128;
	p.token_ttl_ns = 40; /* one add per ns: at most 40 in flight, the FIFO holds 64 */
	cr_assert_eq(ny_route_probe_tokens_new(&t, &p), 0);
	for (uint64_t now = 1; now < 200000; now++) {
		uint64_t r = splitmix(&seed), tok = splitmix(&seed) % 4096;
		bool dup = false;

		/* The model drops expired entries the way add does. */
		for (size_t i = 0; i < n;) {
			if (now - model[i].sent_at >= p.token_ttl_ns)
				model[i] = model[--n];
			else
				i++;
		}
		for (size_t i = 0; i < n; i++)
			dup |= model[i].token == tok;
		int ret = ny_route_probe_tokens_add(t, tok, (uint32_t)(r & 3), r >> 40, now);
		cr_assert_eq(ret, dup ? -EEXIST : 0, "add at %llu", (unsigned long long)now);
		if (!dup)
			model[n++] = (struct model_entry){ tok, r >> 40, now, (uint32_t)(r & 3) };
		cr_assert_eq(ny_route_probe_tokens_count(t), n, "count at %llu", (unsigned long long)now);

		/* Up to two takes a step: a known token (right or wrong neighbour) or a random one. */
		for (int k = 0; k < (int)(r >> 8 & 1) + 1; k++) {
			uint64_t q = splitmix(&seed), ep = 0, sent = 0;
			uint32_t nb = (uint32_t)(q & 3);
			size_t m = n;

			tok = q >> 32 & 4095;
			if (n && (q & 4)) {
				m = (size_t)(q >> 16 & 0xffff) % n;
				tok = model[m].token;
			} else {
				for (m = 0; m < n && model[m].token != tok; m++)
					;
			}
			int want = m == n ? -ENOENT : model[m].nb != nb ? -EPERM : 0;
			ret = ny_route_probe_tokens_take(t, tok, nb, now, &ep, &sent);
			cr_assert_eq(ret, want, "take %llu at %llu", (unsigned long long)tok, (unsigned long long)now);
			if (want == 0) {
				cr_assert_eq(ep, model[m].ep);
				cr_assert_eq(sent, model[m].sent_at);
				model[m] = model[--n];
			}
		}
	}
	cr_expect_eq(ny_route_probe_tokens_stats(t)->evicted, 0);
	ny_route_probe_tokens_free(t);
}

/* ---- the pieces together: schedule -> token -> pong -> metric ---- */

Test(route_endpoint, probe_round_trip_through_the_token_table)
{
	struct ny_route_endpoints *eps = eps_new();
	struct ny_route_probe_tokens *t = tokens_new(0);
	struct ny_io_addr remote = v4(198, 51, 100, 7, 4000);
	uint64_t token = 1, now = T0;
	size_t out[4];

	add_resolved(eps, "a:1", v4(10, 0, 0, 1, 1));
	cr_assert_eq(ny_route_endpoints_ping_received(eps, &remote, T0, NULL), 1);
	for (int round = 0; round < 20; round++, now += S) {
		size_t k = ny_route_endpoints_due(eps, now, out, 4);

		for (size_t i = 0; i < k; i++) {
			uint64_t ep_id, sent;
			bool revived;

			cr_assert_eq(ny_route_probe_tokens_add(t, token, 7, ny_route_endpoints_id(eps, out[i]), now), 0);
			/* Only the configured endpoint answers, 25 ms later. */
			if (out[i] == 0) {
				cr_assert_eq(ny_route_probe_tokens_take(t, token, 7, now + 25 * MS, &ep_id, &sent), 0);
				cr_assert_eq(ny_route_endpoints_pong_received(eps, ep_id, now + 25 * MS - sent,
									       now + 25 * MS, &revived), 0);
				cr_expect_eq(revived, round == 0);
			}
			token++;
		}
		/* GC while the remote endpoint's probe is still in flight. */
		ny_route_endpoints_gc(eps, now);
	}
	cr_expect_eq(ny_route_endpoints_count(eps), 1, "the silent remote endpoint was collected");
	cr_expect_eq(ny_route_endpoints_metric(eps, now), 25000);
	ny_route_endpoints_free(eps);
	ny_route_probe_tokens_free(t);
}

Test(route_endpoint, pong_for_a_collected_endpoint_is_ignored)
{
	struct ny_route_endpoints *eps = eps_new();
	struct ny_io_addr remote = v4(198, 51, 100, 7, 4000);
	uint64_t id;

	cr_assert_eq(ny_route_endpoints_ping_received(eps, &remote, T0, NULL), 0);
	id = ny_route_endpoints_id(eps, 0);
	cr_assert(ny_route_endpoints_gc(eps, T0 + 5 * S));
	cr_expect_eq(ny_route_endpoints_pong_received(eps, id, 10 * MS, T0 + 5 * S, NULL), -ENOENT);
	/* The same address pinging again is a new endpoint with a new id. */
	cr_assert_eq(ny_route_endpoints_ping_received(eps, &remote, T0 + 6 * S, NULL), 0);
	cr_expect_neq(ny_route_endpoints_id(eps, 0), id);
	ny_route_endpoints_free(eps);
}
