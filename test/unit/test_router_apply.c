/* ny_router_reconfigure (reference §5.1 live apply, §6.2 apply_config): state carried over by id and prefix, nothing
 * converged flaps, removed neighbours / nodes / prefixes are retracted, renumbering changes nothing. The direct
 * harness drives router A = "n0" with a universe of nodes "n<i>" owning 10.0.0.i/32; churn runs in router_sim.h.
 */
#include <criterion/criterion.h>

#include "router_sim.h"

#define UN 8 /* universe size */

struct u {
	char ids[UN][8];
	struct ny_router_prefix pf[UN][4];
	size_t n_pf[UN];
	bool client[UN];
	/* the configuration handed to the router: nodes in `order`, neighbours as universe indices */
	int order[UN];
	size_t n_order;
	int nbs[UN];
	size_t n_nbs;
	struct ny_router_node nodes[UN];
	size_t nb_idx[UN];
	struct ny_router_timers t;
	struct ny_router *r;
	uint64_t now;
	struct ny_route_msg out[256];
	size_t n_out;
};

static void u_init(struct u *u)
{
	memset(u, 0, sizeof(*u));
	ny_router_timers_default(&u->t);
	u->t.hop_cost = 0;
	u->now = 1000 * SIM_S;
	for (int i = 0; i < UN; i++) {
		snprintf(u->ids[i], sizeof(u->ids[i]), "n%d", i);
		for (int j = 0; j < 4; j++) {
			sim_prefix_of((uint32_t)i, &u->pf[i][j].prefix);
			u->pf[i][j].prefix.addr.bytes[2] = (uint8_t)j; /* 10.0.j.i/32 */
		}
		u->n_pf[i] = 1;
		u->order[i] = i;
	}
	u->n_order = UN;
}

static int u_cfg_index(const struct u *u, int node)
{
	for (size_t k = 0; k < u->n_order; k++)
		if (u->order[k] == node)
			return (int)k;
	return -1;
}

static struct ny_router_config u_cfg(struct u *u)
{
	for (size_t k = 0; k < u->n_order; k++) {
		int i = u->order[k];

		u->nodes[k] = (struct ny_router_node){.id = u->ids[i], .is_client = u->client[i], .prefixes = u->pf[i],
						      .n_prefixes = u->n_pf[i]};
	}
	for (size_t k = 0; k < u->n_nbs; k++)
		u->nb_idx[k] = (size_t)u_cfg_index(u, u->nbs[k]);
	return (struct ny_router_config){.nodes = u->nodes, .n_nodes = u->n_order, .self = (size_t)u_cfg_index(u, 0),
					 .neighbours = u->nb_idx, .n_neighbours = u->n_nbs, .timers = u->t};
}

static void u_start(struct u *u)
{
	struct ny_router_config cfg = u_cfg(u);

	u->r = ny_router_new(&cfg, u->now);
	cr_assert_not_null(u->r);
}

static int u_apply(struct u *u)
{
	struct ny_router_config cfg = u_cfg(u);

	return ny_router_reconfigure(u->r, &cfg, u->now);
}

static void u_upd(struct u *u, size_t slot, int router, int owner, int j, uint16_t seqno, uint32_t metric)
{
	struct ny_route_msg m = {.type = NY_ROUTE_MSG_UPDATE, .prefix = u->pf[owner][j].prefix, .seqno = seqno,
				 .metric = metric};

	snprintf(m.router_id, sizeof(m.router_id), "n%d", router);
	ny_router_receive(u->r, slot, &m, u->now);
}

/* Tick past the next flush; collect slot's outbox, drain the others. */
static size_t u_flush(struct u *u, size_t slot)
{
	struct ny_route_msg junk[256];

	u->now += u->t.flush_ns;
	ny_router_tick(u->r, u->now);
	u->n_out = 0;
	for (size_t got; (got = ny_router_take_outbox(u->r, slot, u->out + u->n_out, 256 - u->n_out)) > 0;)
		u->n_out += got;
	for (size_t i = 0; i < UN; i++)
		if (i != slot)
			while (ny_router_take_outbox(u->r, i, junk, 256))
				;
	return u->n_out;
}

static size_t u_pending(struct u *u)
{
	struct ny_route_msg junk[256];
	size_t n = 0;

	ny_router_tick(u->r, u->now);
	for (size_t i = 0; i < u->n_nbs; i++)
		n += ny_router_take_outbox(u->r, i, junk, 256);
	return n;
}

static const struct ny_route_msg *u_find(const struct u *u, int owner, int j)
{
	for (size_t i = 0; i < u->n_out; i++)
		if (u->out[i].type == NY_ROUTE_MSG_UPDATE &&
		    ny_conf_cidr_equal(&u->out[i].prefix, &u->pf[owner][j].prefix))
			return &u->out[i];
	return NULL;
}

/* The forwarding entry toward owner's prefix j, next hop as a node id ("" if none). */
struct ent {
	bool present, blackhole;
	char nh[16];
	uint32_t metric;
};

static struct ent u_fwd(struct u *u, int owner, int j)
{
	struct ny_router_fwd f[64];
	size_t n = ny_router_forward_table(u->r, f, 64);
	struct ent e = {0};

	for (size_t i = 0; i < n && i < 64; i++)
		if (ny_conf_cidr_equal(&f[i].prefix, &u->pf[owner][j].prefix)) {
			e.present = true;
			e.blackhole = f[i].blackhole;
			e.metric = f[i].metric;
			snprintf(e.nh, sizeof(e.nh), "%s", ny_router_node_id(u->r, f[i].nh_node));
		}
	return e;
}

static bool ent_eq(const struct ent *a, const struct ent *b)
{
	return a->present == b->present && a->blackhole == b->blackhole && strcmp(a->nh, b->nh) == 0 &&
	       a->metric == b->metric;
}

/* A = n0 with neighbours B = n1 (slot 0, metric 10) and C = n2 (slot 1, metric 30); B advertises itself and D = n3,
 * C advertises itself and D (worse). A selects n1 → B, n2 → C, n3 → B. */
static void converged(struct u *u)
{
	u_init(u);
	u->nbs[0] = 1;
	u->nbs[1] = 2;
	u->n_nbs = 2;
	u_start(u);
	ny_router_set_link(u->r, 0, 10, u->now);
	ny_router_set_link(u->r, 1, 30, u->now);
	u_upd(u, 0, 1, 1, 0, 1, 0);
	u_upd(u, 0, 3, 3, 0, 1, 10);
	u_upd(u, 1, 2, 2, 0, 1, 0);
	u_upd(u, 1, 3, 3, 0, 1, 10);
	u_flush(u, 0);
	u_flush(u, 0);
	cr_assert_str_eq(u_fwd(u, 3, 0).nh, "n1");
}

Test(router_apply, identical_config_changes_nothing)
{
	struct u u;
	struct ent before[4];
	uint64_t gen;

	converged(&u);
	gen = ny_router_table_generation(u.r);
	for (int i = 0; i < 4; i++)
		before[i] = u_fwd(&u, i, 0);
	cr_assert_eq(u_apply(&u), 0);
	cr_assert_eq(u_pending(&u), 0, "an identical configuration queued messages");
	cr_assert_eq(ny_router_table_generation(u.r), gen);
	for (int i = 0; i < 4; i++) {
		struct ent e = u_fwd(&u, i, 0);

		cr_assert(ent_eq(&before[i], &e), "prefix of n%d changed", i);
	}
	cr_assert_eq(u_flush(&u, 0), 0);
	ny_router_free(u.r);
}

Test(router_apply, renumbered_nodes_change_nothing)
{
	struct u u;
	struct ent before[4];
	uint64_t gen;

	converged(&u);
	gen = ny_router_table_generation(u.r);
	for (int i = 0; i < 4; i++)
		before[i] = u_fwd(&u, i, 0);
	for (int k = 0; k < UN; k++)
		u.order[k] = UN - 1 - k; /* every index moves */
	cr_assert_eq(u_apply(&u), 0);
	cr_assert_eq(u_pending(&u), 0);
	cr_assert_eq(ny_router_table_generation(u.r), gen);
	for (int i = 0; i < 4; i++) {
		struct ent e = u_fwd(&u, i, 0);

		cr_assert(ent_eq(&before[i], &e), "prefix of n%d changed", i);
	}
	cr_assert_str_eq(ny_router_node_id(u.r, ny_router_neighbour_node(u.r, 0)), "n1");
	cr_assert_eq(ny_router_link_metric(u.r, 1), 30);

	/* neighbour slots renumbered: C first now */
	u.nbs[0] = 2;
	u.nbs[1] = 1;
	cr_assert_eq(u_apply(&u), 0);
	cr_assert_eq(u_pending(&u), 0);
	cr_assert_eq(ny_router_table_generation(u.r), gen);
	cr_assert_str_eq(ny_router_node_id(u.r, ny_router_neighbour_node(u.r, 0)), "n2");
	cr_assert_eq(ny_router_link_metric(u.r, 0), 30);
	cr_assert_eq(ny_router_link_metric(u.r, 1), 10);
	cr_assert_eq(ny_router_neighbour_routes(u.r, 1, NULL, 0), 2, "B's routes did not follow its slot");
	cr_assert_str_eq(u_fwd(&u, 3, 0).nh, "n1");
	ny_router_free(u.r);
}

Test(router_apply, removed_neighbour_routes_go_others_stay)
{
	struct u u;
	struct ent c_before;
	struct ent e;

	converged(&u);
	c_before = u_fwd(&u, 2, 0);
	u.nbs[0] = 2; /* B is no longer a neighbour (still a node) */
	u.n_nbs = 1;
	cr_assert_eq(u_apply(&u), 0);
	e = u_fwd(&u, 2, 0);
	cr_assert(ent_eq(&c_before, &e), "C's route changed");
	e = u_fwd(&u, 3, 0);
	cr_assert(e.present && !e.blackhole, "D is reachable through C");
	cr_assert_str_eq(e.nh, "n2");
	e = u_fwd(&u, 1, 0);
	cr_assert(!e.present || e.blackhole, "a route through the removed neighbour is still forwarded");
	cr_assert_eq(ny_router_neighbour_routes(u.r, 0, NULL, 0), 2);
	/* C hears the retraction of B's prefix, acks it, and the held route is released */
	u_flush(&u, 0);
	{
		const struct ny_route_msg *m = u_find(&u, 1, 0);

		cr_assert(m && m->metric == NY_ROUTE_INF, "no retraction of n1 to C");
	}
	{
		struct ny_route_msg ack = {.type = NY_ROUTE_MSG_ACK_RETRACT, .prefix = u.pf[1][0].prefix};

		ny_router_receive(u.r, 0, &ack, u.now);
	}
	cr_assert_not(u_fwd(&u, 1, 0).present, "held route not released once every neighbour acked");
	ny_router_free(u.r);
}

Test(router_apply, self_prefix_removed_and_added)
{
	struct u u;
	const struct ny_route_msg *m;

	converged(&u);
	u.n_pf[0] = 2; /* 10.0.1.0/32 added to self */
	cr_assert_eq(u_apply(&u), 0);
	u_flush(&u, 0);
	m = u_find(&u, 0, 1);
	cr_assert(m && m->metric != NY_ROUTE_INF && m->seqno == 0, "no finite update for the added prefix");
	cr_assert_str_eq(m->router_id, "n0");
	cr_assert_null(u_find(&u, 0, 0), "the kept prefix was re-announced");

	u.n_pf[0] = 1; /* removed again: configured nowhere */
	cr_assert_eq(u_apply(&u), 0);
	u_flush(&u, 0);
	m = u_find(&u, 0, 1);
	cr_assert(m && m->metric == NY_ROUTE_INF, "no retraction of a prefix configured nowhere any more");
	cr_assert_str_eq(m->router_id, "n0");
	cr_assert_not(u_fwd(&u, 0, 1).present);

	/* moved to D: still configured, so self retracts it as when a health check fails */
	u.n_pf[0] = 2;
	cr_assert_eq(u_apply(&u), 0);
	u_flush(&u, 0);
	u.n_pf[0] = 1;
	u.pf[3][1] = u.pf[0][1];
	u.n_pf[3] = 2;
	cr_assert_eq(u_apply(&u), 0);
	u_flush(&u, 1);
	m = u_find(&u, 0, 1);
	cr_assert(m && m->metric == NY_ROUTE_INF, "no retraction to C of the prefix self no longer has");
	ny_router_free(u.r);
}

Test(router_apply, static_metric_change_is_recomputed)
{
	struct u u;
	const struct ny_route_msg *m;

	converged(&u);
	u.pf[0][0].metric = 500000; /* > large_change */
	cr_assert_eq(u_apply(&u), 0);
	u_flush(&u, 0);
	m = u_find(&u, 0, 0);
	cr_assert(m && m->metric == 500000, "no triggered update for a large metric change");
	/* a health-check metric survives an apply that does not change the configured metric */
	cr_assert_eq(ny_router_set_prefix_metric(u.r, &u.pf[0][0].prefix, NY_ROUTE_INF, u.now), 0);
	u_flush(&u, 0);
	cr_assert_eq(u_apply(&u), 0);
	cr_assert_eq(u_fwd(&u, 0, 0).blackhole, true);
	ny_router_free(u.r);
}

Test(router_apply, removed_node_is_retracted_and_forgotten)
{
	struct u u;
	const struct ny_route_msg *m;
	struct ent e;

	converged(&u);
	u.order[3] = 7; /* D = n3 leaves the configuration (its prefix was only its own) */
	u.order[7] = 3;
	u.n_order = UN - 1;
	cr_assert_eq(u_apply(&u), 0);
	cr_assert_eq(u_apply(&u), 0); /* a second apply before the first one's retractions went out keeps them */
	e = u_fwd(&u, 3, 0);
	cr_assert_not(e.present, "D's prefix is still in the table");
	cr_assert_eq(ny_router_neighbour_routes(u.r, 0, NULL, 0), 1);
	u_flush(&u, 1);
	m = u_find(&u, 3, 0);
	cr_assert(m && m->metric == NY_ROUTE_INF, "C was not told D's prefix is gone");
	cr_assert_str_eq(m->router_id, "n3");
	{
		struct ny_router_source_info si[16];
		size_t n = ny_router_sources(u.r, si, 16);

		for (size_t i = 0; i < n; i++)
			cr_assert_str_neq(ny_router_node_id(u.r, si[i].router_node), "n3");
	}
	ny_router_free(u.r);
}

Test(router_apply, role_change_router_to_client_and_back)
{
	struct u u;

	converged(&u);
	u.client[1] = true; /* B becomes a passive client, still attached */
	cr_assert_eq(u_apply(&u), 0);
	cr_assert_eq(ny_router_neighbour_routes(u.r, 0, NULL, 0), 0);
	cr_assert_eq(ny_router_link_metric(u.r, 0), NY_ROUTE_INF);
	ny_router_client_heard(u.r, 0, u.now);
	cr_assert_str_eq(u_fwd(&u, 1, 0).nh, "n1");
	cr_assert_str_eq(u_fwd(&u, 3, 0).nh, "n2", "D not re-routed through C");
	u_flush(&u, 1);
	u.client[1] = false;
	cr_assert_eq(u_apply(&u), 0);
	cr_assert_eq(ny_router_link_metric(u.r, 0), NY_ROUTE_INF, "a re-added router neighbour starts down");
	u_flush(&u, 1);
	ny_router_set_link(u.r, 0, 10, u.now);
	u_upd(&u, 0, 1, 1, 0, 2, 0);
	cr_assert_str_eq(u_fwd(&u, 1, 0).nh, "n1");
	ny_router_free(u.r);
}

Test(router_apply, invalid_config_leaves_router_unchanged)
{
	struct u u;
	struct ny_router_config cfg;
	uint64_t gen;

	converged(&u);
	gen = ny_router_table_generation(u.r);
	cfg = u_cfg(&u);
	cfg.self = 1; /* another id */
	cr_assert_eq(ny_router_reconfigure(u.r, &cfg, u.now), -EINVAL);
	cfg.self = UN;
	cr_assert_eq(ny_router_reconfigure(u.r, &cfg, u.now), -EINVAL);
	u.client[0] = true;
	cr_assert_eq(u_apply(&u), -EINVAL);
	u.client[0] = false;
	u.nbs[1] = 1; /* listed twice */
	cr_assert_eq(u_apply(&u), -EINVAL);
	u.nbs[1] = 2;
	cr_assert_eq(ny_router_table_generation(u.r), gen);
	cr_assert_str_eq(u_fwd(&u, 3, 0).nh, "n1");
	cr_assert_eq(u_pending(&u), 0);
	ny_router_free(u.r);
}

Test(router_apply, kept_client_keeps_heard_time_and_hold)
{
	struct u u;
	struct ny_router_self_seqno ss[16];
	uint16_t seqno = 0;
	size_t n;

	converged(&u);
	u.client[5] = true;
	u.nbs[2] = 5;
	u.n_nbs = 3;
	cr_assert_eq(u_apply(&u), 0);
	ny_router_client_heard(u.r, 2, u.now);
	cr_assert_str_eq(u_fwd(&u, 5, 0).nh, "n5");
	for (int i = 0; i < 20; i++)
		u_flush(&u, 0); /* 10 s of silence: passive hold */
	cr_assert_eq(u_fwd(&u, 5, 0).metric, NY_ROUTE_HOLD_METRIC);
	n = ny_router_self_seqnos(u.r, ss, 16);
	for (size_t i = 0; i < n; i++)
		if (ny_conf_cidr_equal(&ss[i].prefix, &u.pf[5][0].prefix))
			seqno = ss[i].seqno;
	u.order[0] = 5; /* renumbered too */
	u.order[5] = 0;
	cr_assert_eq(u_apply(&u), 0);
	u_flush(&u, 0);
	cr_assert_eq(u_fwd(&u, 5, 0).metric, NY_ROUTE_HOLD_METRIC, "the hold was lost");
	n = ny_router_self_seqnos(u.r, ss, 16);
	for (size_t i = 0; i < n; i++)
		if (ny_conf_cidr_equal(&ss[i].prefix, &u.pf[5][0].prefix))
			cr_assert_eq(ss[i].seqno, seqno, "the hold bumped the seqno again");
	ny_router_client_heard(u.r, 2, u.now);
	cr_assert_neq(u_fwd(&u, 5, 0).metric, NY_ROUTE_HOLD_METRIC);
	ny_router_free(u.r);
}

/* ---- churn in a simulated 10-node mesh ---- */

static bool base_finite(struct sim *s, void *arg)
{
	const uint32_t *n_base = arg;
	uint32_t ok = 0;

	for (uint32_t node = 0; node < s->n; node++)
		for (uint32_t i = 0; i < s->n; i++) {
			struct ny_conf_cidr c;
			int32_t nh;

			sim_prefix_of(i, &c);
			nh = sim_nh(s, node, (uint32_t)sim_pid(s, &c));
			ok += nh >= 0 || nh == NH_LOCAL;
		}
	return ok == *n_base;
}

Test(router_apply, alternating_configs_in_a_mesh_never_loop)
{
	struct ny_router_timers t;
	struct sim *s;
	uint32_t n_base = 100, extra_link = UINT32_MAX;

	ny_router_timers_default(&t);
	s = sim_new(10, &t, 7);
	for (uint32_t k = 0; k < 50; k++) {
		struct ny_conf_cidr c;

		sim_prefix_of(1000 + k, &c);
		sim_add_prefix(s, 4, &c, 0);
	}
	s->nodes[4].n_pfx_off = 50;
	for (uint32_t i = 0; i < 10; i++) /* a ring plus chords */
		sim_link(s, i, (i + 1) % 10, (5 + i % 3) * SIM_MS, 0, 0, true);
	sim_link(s, 0, 5, 8 * SIM_MS, 0, 0, true);
	sim_link(s, 2, 7, 9 * SIM_MS, 0, 0, true);
	sim_start(s, NULL, NULL);
	cr_assert(sim_run(s, 60 * SIM_S, base_finite, &n_base), "no initial convergence");
	for (int round = 0; round < 100; round++) {
		bool big = round % 2 == 0;

		s->nodes[4].n_pfx_off = big ? 0 : 50;
		s->cfg_rotate = (uint32_t)round % 10; /* every apply renumbers too */
		if (big) {
			extra_link = sim_link(s, 3, 8, 6 * SIM_MS, 0, 0, false);
		} else {
			sim_unlink(s, extra_link);
		}
		for (uint32_t i = 0; i < 10; i++)
			cr_assert_eq(sim_reconfigure(s, i), 0);
		if (big)
			sim_restore(s, extra_link);
		sim_run(s, s->now + (round % 3 + 1) * 700 * SIM_MS, NULL, NULL);
		cr_assert_eq(s->loops, 0, "a loop after round %d", round);
	}
	cr_assert(sim_run(s, s->now + 60 * SIM_S, base_finite, &n_base), "no convergence after the churn");
	sim_run(s, s->now + 30 * SIM_S, NULL, NULL);
	cr_assert_eq(s->loops, 0);
	cr_assert(base_finite(s, &n_base));
	for (uint32_t k = 0; k < 50; k++) {
		struct ny_conf_cidr c;

		sim_prefix_of(1000 + k, &c);
		for (uint32_t node = 0; node < 10; node++)
			cr_assert_eq(sim_nh(s, node, (uint32_t)sim_pid(s, &c)), NH_NONE,
				     "an unconfigured prefix kept state at n%u", node);
	}
	fprintf(stderr, "router_apply: 100 applies in a 10-node mesh, %llu messages, no loop\n",
		(unsigned long long)s->messages);
	sim_free(s);
}
