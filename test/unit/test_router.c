/* Reference scenarios of Go nylon's core/router_test.go (reference §6.3: HopCost 0, long expiry, fixed link
 * metrics), designed here from their described intent, plus seqno wraparound and passive clients. Most drive one
 * router directly (messages in, outbox out); topology-level ones use router_sim.h.
 *
 * Node i is "n<i>" and owns 10.0.0.i/32. In the direct harness the router under test is A = n0.
 */
#include <criterion/criterion.h>

#include "router_sim.h"

enum { A, B, C, D, S, K, G, X_ };

struct h {
	struct ny_router *r;
	struct ny_router_node nodes[8];
	struct ny_router_prefix pf[8][2];
	char ids[8][8];
	uint64_t now;
	struct ny_route_msg out[256];
	size_t n_out;
	struct ny_router_timers t;
};

static struct ny_router_timers unit_timers(void)
{
	struct ny_router_timers t;

	ny_router_timers_default(&t);
	t.hop_cost = 0;
	t.route_expiry_ns = 36000 * SIM_S;
	return t;
}

/* A = n0 with the given neighbour nodes; K (n5) is a passive client; G (n6) owns the aggregate 10.0.0.0/24. */
static void setup(struct h *h, const size_t *nbs, size_t n_nbs, const struct ny_router_timers *t)
{
	struct ny_router_config cfg;

	memset(h, 0, sizeof(*h));
	h->t = *t;
	h->now = 1000 * SIM_S;
	for (int i = 0; i < 8; i++) {
		snprintf(h->ids[i], sizeof(h->ids[i]), "n%d", i);
		sim_prefix_of((uint32_t)i, &h->pf[i][0].prefix);
		h->nodes[i] = (struct ny_router_node){.id = h->ids[i], .is_client = i == K, .prefixes = h->pf[i],
						      .n_prefixes = 1};
	}
	h->pf[G][0].prefix.addr.bytes[3] = 0;
	h->pf[G][0].prefix.bits = 24;
	cfg = (struct ny_router_config){.nodes = h->nodes, .n_nodes = 8, .self = A, .neighbours = nbs,
					.n_neighbours = n_nbs, .timers = *t};
	h->r = ny_router_new(&cfg, h->now);
	cr_assert_not_null(h->r);
}

/* setup, then every neighbour's link up at metric 10: the scenarios' usual start. */
static void setup_linked(struct h *h, const size_t *nbs, size_t n_nbs, const struct ny_router_timers *t)
{
	setup(h, nbs, n_nbs, t);
	for (size_t i = 0; i < n_nbs; i++)
		ny_router_set_link(h->r, i, 10, h->now);
}

static struct ny_conf_cidr pfx(struct h *h, int node)
{
	return h->pf[node][0].prefix;
}

static void rx(struct h *h, size_t nb, enum ny_route_msg_type type, int router, int prefix_node, uint16_t seqno,
	       uint32_t metric_or_hop)
{
	struct ny_route_msg m = {.type = type, .prefix = pfx(h, prefix_node), .seqno = seqno};

	snprintf(m.router_id, sizeof(m.router_id), "n%d", router);
	if (type == NY_ROUTE_MSG_UPDATE)
		m.metric = metric_or_hop;
	else
		m.hop_count = metric_or_hop;
	ny_router_receive(h->r, nb, &m, h->now);
}

static void upd(struct h *h, size_t nb, int router, int prefix_node, uint16_t seqno, uint32_t metric)
{
	rx(h, nb, NY_ROUTE_MSG_UPDATE, router, prefix_node, seqno, metric);
}

/* Advance to the next flush and collect what goes to neighbour slot nb (other outboxes are drained too). */
static size_t flush(struct h *h, size_t nb)
{
	struct ny_route_msg junk[256];

	h->now += h->t.flush_ns;
	ny_router_tick(h->r, h->now);
	h->n_out = ny_router_take_outbox(h->r, nb, h->out, 256);
	for (size_t i = 0; i < 8; i++)
		if (i != nb)
			while (ny_router_take_outbox(h->r, i, junk, 256))
				;
	return h->n_out;
}

static const struct ny_route_msg *find(struct h *h, enum ny_route_msg_type type, int prefix_node)
{
	struct ny_conf_cidr p = pfx(h, prefix_node);

	for (size_t i = 0; i < h->n_out; i++)
		if (h->out[i].type == type && ny_conf_cidr_equal(&h->out[i].prefix, &p))
			return &h->out[i];
	return NULL;
}

static bool route(struct h *h, int prefix_node, struct ny_router_route_info *out)
{
	struct ny_router_route_info ri[16];
	struct ny_conf_cidr p = pfx(h, prefix_node);
	size_t n = ny_router_selected_routes(h->r, ri, 16);

	for (size_t i = 0; i < n && i < 16; i++)
		if (ny_conf_cidr_equal(&ri[i].prefix, &p)) {
			*out = ri[i];
			return true;
		}
	return false;
}

static bool fwd(struct h *h, int prefix_node, struct ny_router_fwd *out)
{
	struct ny_router_fwd f[16];
	struct ny_conf_cidr p = pfx(h, prefix_node);
	size_t n = ny_router_forward_table(h->r, f, 16);

	for (size_t i = 0; i < n && i < 16; i++)
		if (ny_conf_cidr_equal(&f[i].prefix, &p)) {
			*out = f[i];
			return true;
		}
	return false;
}

static bool fd_of(struct h *h, int router, int prefix_node, struct ny_router_source_info *out)
{
	struct ny_router_source_info si[32];
	struct ny_conf_cidr p = pfx(h, prefix_node);
	size_t n = ny_router_sources(h->r, si, 32);

	for (size_t i = 0; i < n && i < 32; i++)
		if (si[i].router_node == (size_t)router && ny_conf_cidr_equal(&si[i].prefix, &p)) {
			*out = si[i];
			return true;
		}
	return false;
}

Test(router, basic_compute_routes)
{
	struct ny_router_timers t = unit_timers();
	size_t nbs[] = {B};
	struct h h;
	struct ny_router_fwd f[4];
	const struct ny_route_msg *m;

	setup(&h, nbs, 1, &t);
	cr_assert_eq(ny_router_forward_table(h.r, f, 4), 1, "only the self route");
	cr_assert(f[0].exit && !f[0].blackhole && f[0].nh_node == A && f[0].metric == 0);
	ny_router_set_link(h.r, 0, 10, h.now);
	flush(&h, 0);
	m = find(&h, NY_ROUTE_MSG_UPDATE, A);
	cr_assert_not_null(m, "self route broadcast");
	cr_assert_str_eq(m->router_id, "n0");
	cr_assert(m->seqno == 0 && m->metric == 0);
	ny_router_free(h.r);
}

Test(router, net1a_basic_retraction)
{
	struct ny_router_timers t = unit_timers();
	size_t nbs[] = {B, C};
	struct h h;
	struct ny_router_route_info ri;
	const struct ny_route_msg *m;

	setup_linked(&h, nbs, 2, &t);
	upd(&h, 0, S, S, 0, 10);
	cr_assert(route(&h, S, &ri) && ri.nh_node == B && ri.metric == 20);
	flush(&h, 0);
	upd(&h, 0, S, S, 0, 30); /* metric increase at the same seqno: unfeasible for the selected route */
	cr_assert(route(&h, S, &ri) && ri.metric == 20, "unfeasible update ignored");
	flush(&h, 0);
	m = find(&h, NY_ROUTE_MSG_SEQNO_REQUEST, S);
	cr_assert_not_null(m);
	cr_assert(m->seqno == 1 && m->hop_count == 64 && strcmp(m->router_id, "n4") == 0);
	ny_router_set_link(h.r, 0, NY_ROUTE_INF, h.now); /* link loss */
	flush(&h, 1);
	m = find(&h, NY_ROUTE_MSG_UPDATE, S);
	cr_assert(m && m->metric == NY_ROUTE_INF, "INF retraction");
	ny_router_free(h.r);
}

Test(router, net2s_solve_starvation)
{
	struct ny_router_timers t = unit_timers();
	size_t nbs[] = {B, C};
	struct h h;
	const struct ny_route_msg *m;

	setup_linked(&h, nbs, 2, &t);
	upd(&h, 0, S, S, 0, 10);
	flush(&h, 1); /* advertised: FD(S) = (0, 20) */
	upd(&h, 1, S, S, 0, 50); /* C's route is unfeasible */
	upd(&h, 0, S, S, 0, NY_ROUTE_INF);
	flush(&h, 1);
	m = find(&h, NY_ROUTE_MSG_SEQNO_REQUEST, S);
	cr_assert(m && m->seqno == 1 && m->hop_count == 64, "starvation request");
	upd(&h, 1, S, S, 1, 50); /* the new seqno makes C's route feasible */
	{
		struct ny_router_route_info ri;

		cr_assert(route(&h, S, &ri) && ri.nh_node == C && ri.metric == 60);
	}
	ny_router_free(h.r);
}

Test(router, net3a_handle_retraction_and_release_after_all_acks)
{
	struct ny_router_timers t = unit_timers();
	size_t nbs[] = {B, C};
	struct h h;
	struct ny_router_fwd f;
	struct ny_router_route_info ri;

	setup_linked(&h, nbs, 2, &t);
	upd(&h, 0, S, S, 0, 10);
	flush(&h, 0);
	upd(&h, 0, S, S, 0, NY_ROUTE_INF);
	flush(&h, 0);
	cr_assert_not_null(find(&h, NY_ROUTE_MSG_ACK_RETRACT, S), "INF always acked");
	cr_assert(fwd(&h, S, &f) && f.blackhole, "held route blackholed");
	rx(&h, 1, NY_ROUTE_MSG_ACK_RETRACT, 0, S, 0, 0);
	cr_assert(route(&h, S, &ri) && ri.retracted_by == 1);
	rx(&h, 0, NY_ROUTE_MSG_ACK_RETRACT, 0, S, 0, 0);
	cr_assert_not(fwd(&h, S, &f), "released once every connected neighbour acked");
	ny_router_free(h.r);
}

Test(router, ack_retract_ignored_for_finite_route)
{
	struct ny_router_timers t = unit_timers();
	size_t nbs[] = {B, C};
	struct h h;
	struct ny_router_route_info ri;

	setup_linked(&h, nbs, 2, &t);
	upd(&h, 0, S, S, 0, 10);
	rx(&h, 1, NY_ROUTE_MSG_ACK_RETRACT, 0, S, 0, 0);
	cr_assert(route(&h, S, &ri) && ri.retracted_by == 0 && ri.metric == 20);
	ny_router_free(h.r);
}

Test(router, retracted_by_cleared_when_held_route_recovers)
{
	struct ny_router_timers t = unit_timers();
	size_t nbs[] = {B, C};
	struct h h;
	struct ny_router_route_info ri;

	setup_linked(&h, nbs, 2, &t);
	upd(&h, 0, S, S, 0, 10);
	upd(&h, 0, S, S, 0, NY_ROUTE_INF);
	rx(&h, 1, NY_ROUTE_MSG_ACK_RETRACT, 0, S, 0, 0);
	cr_assert(route(&h, S, &ri) && ri.retracted_by == 1);
	upd(&h, 0, S, S, 1, 10);
	cr_assert(route(&h, S, &ri) && ri.metric == 20 && ri.retracted_by == 0);
	upd(&h, 0, S, S, 1, NY_ROUTE_INF);
	cr_assert(route(&h, S, &ri) && ri.metric == NY_ROUTE_INF && ri.retracted_by == 0, "a fresh hold");
	ny_router_free(h.r);
}

Test(router, net5a_selected_unfeasible_update)
{
	struct ny_router_timers t = unit_timers();
	size_t nbs[] = {B};
	struct h h;
	struct ny_router_route_info ri;
	uint64_t gen;

	setup_linked(&h, nbs, 1, &t);
	upd(&h, 0, S, S, 3, 10);
	flush(&h, 0);
	gen = ny_router_table_generation(h.r);
	upd(&h, 0, S, S, 3, 25);
	cr_assert(route(&h, S, &ri) && ri.metric == 20 && ri.seqno == 3, "the selected route is kept");
	cr_assert_eq(ny_router_table_generation(h.r), gen);
	flush(&h, 0);
	cr_assert(find(&h, NY_ROUTE_MSG_SEQNO_REQUEST, S) && find(&h, NY_ROUTE_MSG_SEQNO_REQUEST, S)->seqno == 4);
	ny_router_free(h.r);
}

/* Go compared the advertised metric with the selected total metric; the request must be about total metrics. */
Test(router, unfeasible_update_preference_uses_total_metric)
{
	struct ny_router_timers t = unit_timers();
	size_t nbs[] = {B, C, D};
	struct h h;

	setup(&h, nbs, 3, &t);
	ny_router_set_link(h.r, 0, 10, h.now);
	ny_router_set_link(h.r, 1, 1000, h.now);
	ny_router_set_link(h.r, 2, 10, h.now);
	upd(&h, 0, S, S, 0, 100);
	flush(&h, 1);                              /* FD(S) = (0, 110) */
	ny_router_set_link(h.r, 0, 400, h.now); /* selected metric 500, no triggered update: FD stays 110 */
	upd(&h, 1, S, S, 0, 200);                  /* new entry from C */
	upd(&h, 1, S, S, 0, 200);                  /* unfeasible; total 1200 > 500: no request */
	flush(&h, 1);
	cr_assert_null(find(&h, NY_ROUTE_MSG_SEQNO_REQUEST, S), "advertised 200 < 500 but total 1200 is worse");
	upd(&h, 2, S, S, 0, 200);
	upd(&h, 2, S, S, 0, 200); /* via D: total 210 < selected: request */
	flush(&h, 2);
	cr_assert_not_null(find(&h, NY_ROUTE_MSG_SEQNO_REQUEST, S));
	ny_router_free(h.r);
}

Test(router, unfeasible_equal_metric_update_does_not_request_seqno)
{
	struct ny_router_timers t = unit_timers();
	size_t nbs[] = {B, C};
	struct h h;

	setup(&h, nbs, 2, &t);
	ny_router_set_link(h.r, 0, 10, h.now);
	ny_router_set_link(h.r, 1, 20, h.now);
	upd(&h, 0, S, S, 0, 10);
	flush(&h, 1);                            /* FD (0, 20) */
	ny_router_set_link(h.r, 0, 30, h.now); /* selected 40 */
	upd(&h, 1, S, S, 0, 20); /* new entry: stored, never selected while unfeasible */
	upd(&h, 1, S, S, 0, 20); /* unfeasible (20 ≥ 20), total 40 = selected: not strictly better */
	flush(&h, 1);
	cr_assert_null(find(&h, NY_ROUTE_MSG_SEQNO_REQUEST, S));
	ny_router_free(h.r);
}

Test(router, keeps_selected_route_on_equal_metric)
{
	struct ny_router_timers t = unit_timers();
	size_t nbs[] = {B, C};
	struct h h;
	struct ny_router_route_info ri;

	setup_linked(&h, nbs, 2, &t);
	upd(&h, 1, S, S, 0, 10);
	upd(&h, 0, S, S, 0, 10); /* B comes first in configured order, same metric */
	cr_assert(route(&h, S, &ri) && ri.nh_node == C);
	upd(&h, 0, S, S, 0, 5); /* 15 vs 20: 10% better, switch */
	cr_assert(route(&h, S, &ri) && ri.nh_node == B);
	ny_router_free(h.r);
}

Test(router, held_route_installs_blackhole_under_aggregate)
{
	struct ny_router_timers t = unit_timers();
	size_t nbs[] = {B, C};
	struct h h;
	struct ny_router_fwd f;
	struct ny_conf_cidr agg;

	setup_linked(&h, nbs, 2, &t);
	upd(&h, 1, G, G, 0, 10); /* 10.0.0.0/24 */
	upd(&h, 0, S, S, 0, 10); /* 10.0.0.4/32 */
	upd(&h, 0, S, S, 0, NY_ROUTE_INF);
	cr_assert(fwd(&h, S, &f) && f.blackhole && f.prefix.bits == 32, "exact-prefix blackhole");
	agg = pfx(&h, G);
	cr_assert(fwd(&h, G, &f) && !f.blackhole && f.nh_node == C && f.prefix.bits == agg.bits);
	ny_router_free(h.r);
}

Test(router, held_route_release_deletes_blackhole_on_expiry)
{
	struct ny_router_timers t = unit_timers();
	size_t nbs[] = {B, C};
	struct h h;
	struct ny_router_fwd f;

	t.route_expiry_ns = 3 * SIM_S;
	setup_linked(&h, nbs, 2, &t);
	upd(&h, 0, S, S, 0, 10);
	upd(&h, 0, S, S, 0, NY_ROUTE_INF); /* nobody acks */
	cr_assert(fwd(&h, S, &f) && f.blackhole);
	for (int i = 0; i < 10; i++)
		flush(&h, 0);
	cr_assert_not(fwd(&h, S, &f), "hold expired, blackhole removed");
	ny_router_free(h.r);
}

Test(router, held_route_does_not_reinstall_blackhole_on_noop_recompute)
{
	struct ny_router_timers t = unit_timers();
	size_t nbs[] = {B, C};
	struct h h;
	uint64_t gen;
	struct ny_router_counters c0, c1;

	setup_linked(&h, nbs, 2, &t);
	upd(&h, 0, S, S, 0, 10);
	upd(&h, 0, S, S, 0, NY_ROUTE_INF);
	gen = ny_router_table_generation(h.r);
	ny_router_get_counters(h.r, &c0);
	for (int i = 0; i < 6; i++)
		flush(&h, 0); /* GC and recompute run */
	ny_router_get_counters(h.r, &c1);
	cr_assert_eq(ny_router_table_generation(h.r), gen);
	cr_assert_eq(c1.route_changes, c0.route_changes);
	ny_router_free(h.r);
}

Test(router, selected_neighbour_unfeasible_source_change_is_unselected)
{
	struct ny_router_timers t = unit_timers();
	size_t nbs[] = {B, C};
	struct h h;
	struct ny_router_route_info ri;

	setup_linked(&h, nbs, 2, &t);
	upd(&h, 1, D, G, 0, 10); /* G's aggregate from router D via C: 20, FD(D) = (0, 20) */
	upd(&h, 0, S, G, 0, 5);  /* from router S via B: 15, 10% better: selected */
	cr_assert(route(&h, G, &ri) && ri.nh_node == B && ri.source_node == S);
	upd(&h, 0, D, G, 0, 50); /* B now carries D's route, unfeasible (50 ≥ 20) */
	cr_assert(route(&h, G, &ri));
	cr_assert(!(ri.nh_node == B && ri.source_node == D), "unfeasible route must not stay selected");
	cr_assert(ri.nh_node == C && ri.source_node == D && ri.metric == 20);
	ny_router_free(h.r);
}

Test(router, does_not_select_inactive_endpoint_route)
{
	struct ny_router_timers t = unit_timers();
	size_t nbs[] = {B};
	struct h h;
	struct ny_router_route_info ri;

	setup(&h, nbs, 1, &t);
	upd(&h, 0, S, S, 0, 10); /* B's link was never up */
	cr_assert_not(route(&h, S, &ri));
	ny_router_set_link(h.r, 0, 10, h.now);
	cr_assert(route(&h, S, &ri) && ri.nh_node == B);
	ny_router_free(h.r);
}

Test(router, seqno_request_not_forwarded_back_to_requester)
{
	struct ny_router_timers t = unit_timers();
	size_t nbs[] = {B, C};
	struct h h;

	setup_linked(&h, nbs, 2, &t);
	upd(&h, 0, S, S, 0, 10); /* only B has a route */
	rx(&h, 0, NY_ROUTE_MSG_SEQNO_REQUEST, S, S, 5, 10);
	flush(&h, 0);
	cr_assert_null(find(&h, NY_ROUTE_MSG_SEQNO_REQUEST, S), "not back to the requester");
	upd(&h, 1, S, S, 0, 5);
	rx(&h, 0, NY_ROUTE_MSG_SEQNO_REQUEST, S, S, 6, 10);
	flush(&h, 1);
	cr_assert(find(&h, NY_ROUTE_MSG_SEQNO_REQUEST, S) && find(&h, NY_ROUTE_MSG_SEQNO_REQUEST, S)->hop_count == 9);
	ny_router_free(h.r);
}

Test(router, seqno_request_skips_inactive_forwarding_neighbour)
{
	struct ny_router_timers t = unit_timers();
	size_t nbs[] = {B, C, D};
	struct h h;

	setup(&h, nbs, 3, &t);
	for (size_t i = 0; i < 3; i++)
		ny_router_set_link(h.r, i, 10, h.now);
	upd(&h, 1, S, S, 0, 5);
	upd(&h, 2, S, S, 0, 10);
	ny_router_set_link(h.r, 1, NY_ROUTE_INF, h.now);
	rx(&h, 0, NY_ROUTE_MSG_SEQNO_REQUEST, S, S, 5, 10);
	flush(&h, 2);
	cr_assert_not_null(find(&h, NY_ROUTE_MSG_SEQNO_REQUEST, S), "forwarded to D");
	ny_router_set_link(h.r, 1, 10, h.now);
	flush(&h, 1);
	cr_assert_null(find(&h, NY_ROUTE_MSG_SEQNO_REQUEST, S), "never to C while its link was down");
	ny_router_free(h.r);
}

Test(router, seqno_request_does_not_forward_to_retracted_route)
{
	struct ny_router_timers t = unit_timers();
	size_t nbs[] = {B, C};
	struct h h;

	setup_linked(&h, nbs, 2, &t);
	upd(&h, 0, S, S, 0, 10);
	upd(&h, 1, S, S, 0, 15);
	upd(&h, 1, S, S, 0, NY_ROUTE_INF);
	rx(&h, 0, NY_ROUTE_MSG_SEQNO_REQUEST, S, S, 5, 10);
	flush(&h, 1);
	cr_assert_null(find(&h, NY_ROUTE_MSG_SEQNO_REQUEST, S));
	ny_router_free(h.r);
}

Test(router, seqno_request_for_own_prefix_jumps_and_wraps)
{
	struct ny_router_timers t = unit_timers();
	size_t nbs[] = {B};
	struct h h;
	const struct ny_route_msg *m;

	setup_linked(&h, nbs, 1, &t);
	rx(&h, 0, NY_ROUTE_MSG_SEQNO_REQUEST, A, A, 30000, 64); /* 0 < 30000 modulo 2^16 */
	flush(&h, 0);
	m = find(&h, NY_ROUTE_MSG_UPDATE, A);
	cr_assert(m && m->seqno == 30000, "jump to the requested seqno, not +1");
	rx(&h, 0, NY_ROUTE_MSG_SEQNO_REQUEST, A, A, 60000, 64);
	flush(&h, 0);
	rx(&h, 0, NY_ROUTE_MSG_SEQNO_REQUEST, A, A, 5, 64); /* 60000 < 5 modulo 2^16: wraps */
	flush(&h, 0);
	m = find(&h, NY_ROUTE_MSG_UPDATE, A);
	cr_assert(m && m->seqno == 5);
	rx(&h, 0, NY_ROUTE_MSG_SEQNO_REQUEST, A, A, 1, 64); /* older: answered, no jump */
	flush(&h, 0);
	m = find(&h, NY_ROUTE_MSG_UPDATE, A);
	cr_assert(m && m->seqno == 5);
	ny_router_free(h.r);
}

Test(router, seqno_wraparound_update_is_newer)
{
	struct ny_router_timers t = unit_timers();
	size_t nbs[] = {B};
	struct h h;
	struct ny_router_route_info ri;

	setup_linked(&h, nbs, 1, &t);
	upd(&h, 0, S, S, 65535, 10);
	flush(&h, 0);
	upd(&h, 0, S, S, 0, 90); /* 0 follows 65535: feasible although the metric grew */
	cr_assert(route(&h, S, &ri) && ri.seqno == 0 && ri.metric == 100);
	upd(&h, 0, S, S, 65534, 5); /* older: unfeasible for the selected route, ignored */
	cr_assert(route(&h, S, &ri) && ri.seqno == 0);
	ny_router_free(h.r);
}

Test(router, full_table_update_does_not_update_feasibility_for_retraction)
{
	struct ny_router_timers t = unit_timers();
	size_t nbs[] = {B, C};
	struct h h;
	struct ny_router_source_info f0, f1;

	setup_linked(&h, nbs, 2, &t);
	upd(&h, 0, S, S, 0, 10);
	flush(&h, 0);
	upd(&h, 0, S, S, 1, NY_ROUTE_INF); /* newer seqno, but a retraction */
	cr_assert(fd_of(&h, S, S, &f0));
	for (int i = 0; i < 12; i++)
		flush(&h, 1); /* past a full dump, which re-sends the held INF route */
	cr_assert(fd_of(&h, S, S, &f1));
	cr_assert(f1.seqno == f0.seqno && f1.metric == f0.metric && f0.seqno == 0 && f0.metric == 20);
	ny_router_free(h.r);
}

Test(router, solve_starvation_ignores_retracted_neighbour_route)
{
	struct ny_router_timers t = unit_timers();
	size_t nbs[] = {B, C};
	struct h h;

	setup_linked(&h, nbs, 2, &t);
	upd(&h, 0, S, S, 0, 10);
	flush(&h, 0);
	upd(&h, 0, S, S, 0, NY_ROUTE_INF);
	for (int i = 0; i < 4; i++) {
		flush(&h, 1);
		cr_assert_null(find(&h, NY_ROUTE_MSG_SEQNO_REQUEST, S));
	}
	ny_router_free(h.r);
}

Test(router, broadcast_uses_configured_neighbours)
{
	struct ny_router_timers t = unit_timers();
	size_t nbs[] = {B, K, C};
	struct h h;
	struct ny_route_msg out[16];

	setup(&h, nbs, 3, &t);
	ny_router_set_link(h.r, 0, 10, h.now);
	ny_router_set_link(h.r, 1, 10, h.now); /* a client's slot: ignored */
	ny_router_set_link(h.r, 2, 10, h.now);
	h.now += t.flush_ns;
	ny_router_tick(h.r, h.now);
	cr_assert_gt(ny_router_take_outbox(h.r, 0, out, 16), 0);
	cr_assert_eq(ny_router_take_outbox(h.r, 1, out, 16), 0, "clients never get control messages");
	cr_assert_gt(ny_router_take_outbox(h.r, 2, out, 16), 0);
	cr_assert_eq(ny_router_take_outbox(h.r, 7, out, 16), 0);
	ny_router_free(h.r);
}

Test(router, drops_and_counts_bad_input)
{
	struct ny_router_timers t = unit_timers();
	size_t nbs[] = {B, K};
	struct h h;
	struct ny_route_msg m = {.type = NY_ROUTE_MSG_UPDATE, .metric = 1};
	struct ny_router_counters c;

	setup(&h, nbs, 2, &t);
	strcpy(m.router_id, "nobody");
	m.prefix = pfx(&h, S);
	ny_router_receive(h.r, 0, &m, h.now);
	strcpy(m.router_id, "n4");
	m.prefix.bits = 31;
	ny_router_receive(h.r, 0, &m, h.now);
	m.prefix = pfx(&h, S);
	ny_router_receive(h.r, 1, &m, h.now);
	ny_router_receive(h.r, 9, &m, h.now);
	ny_router_get_counters(h.r, &c);
	cr_assert(c.drop_unknown_router == 1 && c.drop_unknown_prefix == 1 && c.drop_from_client == 1 &&
		  c.drop_bad_neighbour == 1);
	ny_router_free(h.r);
}

Test(router, gc_routes_expiry_then_deletion)
{
	struct ny_router_timers t = unit_timers();
	size_t nbs[] = {B, C};
	struct h h;
	struct ny_router_nb_route_info nr[4];
	const struct ny_route_msg *m;
	bool retracted = false;

	t.route_expiry_ns = 3 * SIM_S;
	setup_linked(&h, nbs, 2, &t);
	upd(&h, 0, S, S, 0, 10);
	for (int i = 0; i < 10 && !retracted; i++) {
		flush(&h, 1);
		m = find(&h, NY_ROUTE_MSG_UPDATE, S);
		retracted = m && m->metric == NY_ROUTE_INF;
	}
	cr_assert(retracted, "expiry → INF broadcast");
	cr_assert_eq(ny_router_neighbour_routes(h.r, 0, nr, 4), 1);
	cr_assert_eq(nr[0].metric, NY_ROUTE_INF);
	for (int i = 0; i < 10; i++)
		flush(&h, 1);
	cr_assert_eq(ny_router_neighbour_routes(h.r, 0, nr, 4), 0, "deleted after the second expiry");
	ny_router_free(h.r);
}

Test(router, net6a_converge_optimal)
{
	struct ny_router_timers t = unit_timers();
	size_t nbs[] = {B, C};
	struct h h;
	struct ny_router_route_info ri;

	setup(&h, nbs, 2, &t);
	ny_router_set_link(h.r, 0, 10, h.now);
	upd(&h, 0, S, S, 0, 10);
	flush(&h, 1);
	ny_router_set_link(h.r, 1, 10, h.now); /* a new link, no better: no action */
	upd(&h, 1, S, S, 0, 15);
	flush(&h, 0);
	cr_assert(route(&h, S, &ri) && ri.nh_node == B);
	cr_assert_null(find(&h, NY_ROUTE_MSG_UPDATE, S));
	upd(&h, 1, S, S, 0, 5); /* 15 vs 20: switch, Δ < 100 ms: no broadcast */
	cr_assert(route(&h, S, &ri) && ri.nh_node == C && ri.metric == 15);
	flush(&h, 0);
	cr_assert_null(find(&h, NY_ROUTE_MSG_UPDATE, S));
	ny_router_set_link(h.r, 1, 10000000, h.now); /* degrade to 10 s / 12 s */
	ny_router_set_link(h.r, 0, 12000000, h.now);
	flush(&h, 0);
	cr_assert(route(&h, S, &ri) && ri.metric > 10000000);
	cr_assert_not_null(find(&h, NY_ROUTE_MSG_UPDATE, S), "large change broadcast");
	ny_router_free(h.r);
}

Test(router, passive_client_hold_and_roam)
{
	struct ny_router_timers t = unit_timers();
	size_t nbs[] = {B, K};
	struct h h;
	struct ny_router_route_info ri;
	struct ny_router_fwd f;
	uint16_t seq0;

	setup(&h, nbs, 2, &t);
	ny_router_set_link(h.r, 0, 10, h.now);
	cr_assert_not(route(&h, K, &ri), "not advertised before the client is heard");
	ny_router_client_heard(h.r, 1, h.now);
	cr_assert(route(&h, K, &ri) && ri.source_node == A && ri.nh_node == K && ri.metric == 0);
	cr_assert(fwd(&h, K, &f) && !f.exit && f.nh_node == K);
	seq0 = ri.seqno;
	for (int i = 0; i < 16; i++)
		flush(&h, 0); /* 8 s without hearing it */
	cr_assert(route(&h, K, &ri) && ri.metric == NY_ROUTE_HOLD_METRIC, "passive hold");
	cr_assert_eq(ri.seqno, (uint16_t)(seq0 + 1), "one seqno bump into hold");
	for (int i = 0; i < 20; i++)
		flush(&h, 0);
	cr_assert(route(&h, K, &ri) && ri.metric == NY_ROUTE_HOLD_METRIC && ri.seqno == (uint16_t)(seq0 + 1),
		  "hold refreshed while nobody else advertises");
	upd(&h, 0, B, K, 0, 0); /* the client roamed to B */
	cr_assert(route(&h, K, &ri) && ri.nh_node == B, "B's real metric displaces the hold");
	for (int i = 0; i < 12; i++)
		flush(&h, 0);
	{
		struct ny_router_self_seqno ss[8];
		size_t n = ny_router_self_seqnos(h.r, ss, 8);

		cr_assert_geq(n, 1);
	}
	cr_assert(route(&h, K, &ri) && ri.nh_node == B && ri.source_node == B);
	ny_router_client_heard(h.r, 1, h.now); /* back at A: advertised again at its real metric */
	cr_assert(route(&h, K, &ri) && ri.nh_node == K && ri.source_node == A);
	ny_router_free(h.r);
}

/* Reference Net4A: an overlapping (anycast) service X from S and D; a square S–A–B–D–S. No loops while links
 * flap and while S's metric for X increases (then everyone prefers D). */
Test(router, net4a_overlapping_service_hold_loop_and_metric_increase)
{
	struct ny_router_timers t = unit_timers();
	struct sim *s;
	struct ny_conf_cidr x;
	int32_t xp;

	t.route_expiry_ns = 25 * SIM_S;
	s = sim_new(4, &t, 11);
	memset(&x, 0, sizeof(x));
	x.addr.family = AF_INET;
	x.addr.bytes[0] = 172;
	x.bits = 16;
	sim_add_prefix(s, 0, &x, 0);
	sim_add_prefix(s, 3, &x, 0);
	sim_link(s, 0, 1, 5 * SIM_MS, 10, 0, true);
	sim_link(s, 1, 2, 5 * SIM_MS, 10, 0, true);
	sim_link(s, 2, 3, 5 * SIM_MS, 10, 0, true);
	sim_link(s, 3, 0, 5 * SIM_MS, 10, 0, true);
	sim_start(s, NULL, NULL);
	cr_assert(sim_run(s, 30 * SIM_S, sim_all_finite, NULL));
	xp = sim_pid(s, &x);
	for (int k = 0; k < 30; k++) {
		uint32_t li = (uint32_t)(sim_rand(s) % s->n_links);

		if (s->links[li].up)
			sim_cut(s, li);
		else
			sim_restore(s, li);
		sim_run(s, s->now + (1 + sim_rand(s) % 6) * SIM_S, NULL, NULL);
	}
	for (uint32_t li = 0; li < s->n_links; li++)
		if (!s->links[li].up)
			sim_restore(s, li);
	sim_run(s, s->now + 40 * SIM_S, NULL, NULL);
	ny_router_set_prefix_metric(s->nodes[0].r, &x, 1000000, s->now);
	sim_after(s, 0);
	sim_run(s, s->now + 20 * SIM_S, NULL, NULL);
	for (uint32_t i = 0; i < 4; i++) {
		uint32_t end = UINT32_MAX;

		cr_assert_geq(sim_path_len(s, i, (uint32_t)xp, &end), 0);
		if (i != 0)
			cr_assert_eq(end, 3, "node %u should use D after S's metric increase", i);
	}
	cr_assert_eq(s->loops, 0);
	sim_free(s);
}

/* Reference BackupRouteOverridesHeldRoute: A–C fails; A switches to A–B–C. */
Test(router, backup_route_overrides_held_route)
{
	struct ny_router_timers t = unit_timers();
	struct sim *s;
	uint32_t ac;

	t.route_expiry_ns = 25 * SIM_S;
	s = sim_new(3, &t, 12);
	sim_link(s, 0, 1, 5 * SIM_MS, 10, 0, true);
	sim_link(s, 1, 2, 5 * SIM_MS, 10, 0, true);
	ac = sim_link(s, 0, 2, 5 * SIM_MS, 5, 0, true);
	sim_start(s, NULL, NULL);
	cr_assert(sim_run(s, 30 * SIM_S, sim_all_finite, NULL));
	cr_assert_eq(sim_nh(s, 0, 2), 2);
	sim_cut(s, ac);
	sim_run(s, s->now + 15 * SIM_S, NULL, NULL);
	cr_assert_eq(sim_nh(s, 0, 2), 1, "A reaches C via B");
	cr_assert_eq(sim_nh(s, 2, 0), 1, "C reaches A via B");
	cr_assert_eq(s->loops, 0);
	sim_free(s);
}
