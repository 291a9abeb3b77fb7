/* The router in a simulated network (router_sim.h): convergence, optimality, retraction acks, failover, anycast,
 * held routes, loop freedom under link flaps, and a 1,000-node mesh. Reference §6.2 scenarios where they apply to
 * the router. Simulated figures are printed on stderr.
 */
#include <criterion/criterion.h>

#include "router_sim.h"

static struct ny_router_timers deftimers(void)
{
	struct ny_router_timers t;

	ny_router_timers_default(&t);
	return t;
}

/* A connected random graph: a random spanning tree plus extra random edges, latencies in [lo, hi] ms. */
static void random_graph(struct sim *s, uint32_t extra, uint32_t lo_ms, uint32_t hi_ms, double loss)
{
	for (uint32_t i = 1; i < s->n; i++) {
		uint32_t j = (uint32_t)(sim_rand(s) % i);

		sim_link(s, i, j, (lo_ms + sim_rand(s) % (hi_ms - lo_ms + 1)) * SIM_MS, 0, loss, true);
	}
	for (uint32_t k = 0; k < extra; k++) {
		uint32_t a = (uint32_t)(sim_rand(s) % s->n), b = (uint32_t)(sim_rand(s) % s->n);
		bool dup = a == b;

		for (uint32_t m = 0; !dup && m < s->nodes[a].n_links; m++) {
			const struct sim_link *l = &s->links[s->nodes[a].links[m]];

			dup = (l->a == b || l->b == b);
		}
		if (!dup)
			sim_link(s, a, b, (lo_ms + sim_rand(s) % (hi_ms - lo_ms + 1)) * SIM_MS, 0, loss, true);
	}
}

static double secs(uint64_t ns)
{
	return (double)ns / SIM_S;
}

struct nh_wait {
	uint32_t node, pid;
	int32_t want;
};

static bool nh_is(struct sim *s, void *arg)
{
	const struct nh_wait *w = arg;

	return sim_nh(s, w->node, w->pid) == w->want;
}

/* Reference §6.2 TestOptimalConvergence: a–b 10 ms, a–c 50 ms; then b–c 10 ms appears and a reaches c via b. */
Test(router_sim, optimal_convergence_triangle_default_timers)
{
	struct ny_router_timers t = deftimers();
	struct sim *s = sim_new(3, &t, 1);
	uint32_t bc;
	struct nh_wait w = {.node = 0, .pid = 2, .want = 1};

	sim_link(s, 0, 1, 10 * SIM_MS, 0, 0, true);
	sim_link(s, 0, 2, 50 * SIM_MS, 0, 0, true);
	bc = sim_link(s, 1, 2, 10 * SIM_MS, 0, 0, false);
	sim_start(s, NULL, NULL);
	cr_assert(sim_run(s, 60 * SIM_S, sim_all_finite, NULL), "no initial convergence");
	fprintf(stderr, "router_sim: triangle converged at %.3f s\n", secs(s->now));
	cr_assert_eq(sim_nh(s, 0, 2), 2);
	sim_restore(s, bc);
	{
		uint64_t t0 = s->now;

		cr_assert(sim_run(s, t0 + 200 * SIM_S, nh_is, &w), "a never routes to c via b");
		fprintf(stderr, "router_sim: a→c moved to the 20 ms path %.3f s after b–c came up\n",
			secs(s->now - t0));
	}
	sim_run(s, s->now + 30 * SIM_S, NULL, NULL);
	cr_assert_eq(sim_nh(s, 0, 2), 1, "a left the optimal path");
	cr_assert_eq(s->loops, 0);
	sim_free(s);
}

/* Reference §6.2 TestSimpleRoutedPing: a line a–b–c. */
Test(router_sim, routed_line)
{
	struct ny_router_timers t = deftimers();
	struct sim *s = sim_new(3, &t, 2);

	sim_link(s, 0, 1, 5 * SIM_MS, 0, 0, true);
	sim_link(s, 1, 2, 5 * SIM_MS, 0, 0, true);
	sim_start(s, NULL, NULL);
	cr_assert(sim_run(s, 30 * SIM_S, sim_all_finite, NULL));
	fprintf(stderr, "router_sim: line a–b–c converged at %.3f s\n", secs(s->now));
	cr_assert_eq(sim_path_len(s, 0, 2, NULL), 2);
	cr_assert_eq(sim_path_len(s, 2, 0, NULL), 2);
	sim_free(s);
}

struct ack_seen {
	uint64_t at;
	bool seen;
};

static void record_ack(struct sim *s, uint32_t from, uint32_t to, const struct ny_route_msg *m)
{
	struct ack_seen *a = s->user;

	if (m->type == NY_ROUTE_MSG_ACK_RETRACT && from == 0 && to == 1 && !a->seen) {
		a->seen = true;
		a->at = s->now;
	}
}

/* Reference §6.2 TestAckRetractSentOnWire: b retracts its prefix; a's AckRetract reaches b within 5 s and b
 * releases its hold. */
Test(router_sim, ack_retract_within_5s)
{
	struct ny_router_timers t = deftimers();
	struct sim *s = sim_new(2, &t, 3);
	struct ack_seen a = {0};
	struct ny_conf_cidr p;
	uint64_t t0;

	sim_link(s, 0, 1, 10 * SIM_MS, 0, 0, true);
	sim_start(s, NULL, NULL);
	cr_assert(sim_run(s, 30 * SIM_S, sim_all_finite, NULL));
	s->user = &a;
	s->on_msg = record_ack;
	sim_prefix_of(1, &p);
	t0 = s->now;
	cr_assert_eq(ny_router_set_prefix_metric(s->nodes[1].r, &p, NY_ROUTE_INF, s->now), 0);
	sim_after(s, 1);
	sim_run(s, t0 + 5 * SIM_S, NULL, NULL);
	cr_assert(a.seen, "no AckRetract within 5 s");
	fprintf(stderr, "router_sim: AckRetract reached the retracting node %.3f s after the retraction\n",
		secs(a.at - t0));
	cr_assert_eq(sim_nh(s, 0, 1), NH_NONE, "a should have released the retracted prefix");
	sim_free(s);
}

/* Failover: a ring of 8; a link on the path dies; everything is reachable again within the dead-link delay plus
 * a few seconds (reference §3.8: < 10 s), seqno requests solving the starvation on the far side. */
Test(router_sim, failover_and_starvation_recovery)
{
	struct ny_router_timers t = deftimers();
	struct sim *s = sim_new(8, &t, 4);
	uint64_t t0;
	struct ny_router_counters c;
	uint64_t reqs = 0;

	for (uint32_t i = 0; i < 8; i++)
		sim_link(s, i, (i + 1) % 8, 10 * SIM_MS, 0, 0, true);
	sim_start(s, NULL, NULL);
	cr_assert(sim_run(s, 30 * SIM_S, sim_all_finite, NULL));
	sim_run(s, s->now + 10 * SIM_S, NULL, NULL);
	sim_cut(s, 0); /* 0–1 */
	t0 = s->now;
	sim_run(s, t0 + s->link_dead_ns + 1, NULL, NULL);
	cr_assert(sim_run(s, t0 + 20 * SIM_S, sim_all_finite, NULL), "no recovery after a cut");
	fprintf(stderr, "router_sim: ring of 8, all routes back %.3f s after the cut (link declared dead at 5 s)\n",
		secs(s->now - t0));
	cr_assert_leq(s->now - t0, 10 * SIM_S);
	cr_assert_eq(sim_path_len(s, 0, 1, NULL), 7);
	for (uint32_t i = 0; i < 8; i++) {
		ny_router_get_counters(s->nodes[i].r, &c);
		reqs += c.seqno_req_originated;
	}
	fprintf(stderr, "router_sim: seqno requests originated in the ring: %llu\n", (unsigned long long)reqs);
	cr_assert_eq(s->loops, 0);
	sim_free(s);
}

/* Anycast: one extra prefix served by two nodes; every node reaches one of them, and stays loop-free as links
 * flap. */
Test(router_sim, anycast_no_loops)
{
	struct ny_router_timers t = deftimers();
	struct sim *s = sim_new(12, &t, 5);
	struct ny_conf_cidr x;
	int32_t xp;

	random_graph(s, 8, 2, 30, 0);
	memset(&x, 0, sizeof(x));
	x.addr.family = AF_INET;
	x.addr.bytes[0] = 192;
	x.addr.bytes[1] = 168;
	x.bits = 24;
	sim_add_prefix(s, 0, &x, 0);
	sim_add_prefix(s, 7, &x, 0);
	sim_start(s, NULL, NULL);
	cr_assert(sim_run(s, 60 * SIM_S, sim_all_finite, NULL));
	xp = sim_pid(s, &x);
	for (uint32_t i = 0; i < s->n; i++) {
		uint32_t end = UINT32_MAX;

		cr_assert_geq(sim_path_len(s, i, (uint32_t)xp, &end), 0);
		cr_assert(end == 0 || end == 7, "node %u reached %u", i, end);
	}
	for (int k = 0; k < 40; k++) {
		uint32_t li = (uint32_t)(sim_rand(s) % s->n_links);

		if (s->links[li].up)
			sim_cut(s, li);
		else
			sim_restore(s, li);
		sim_run(s, s->now + (1 + sim_rand(s) % 4) * SIM_S, NULL, NULL);
	}
	cr_assert_eq(s->loops, 0);
	sim_free(s);
}

struct bh_wait {
	uint32_t node, pid;
};

static bool is_bh(struct sim *s, void *arg)
{
	const struct bh_wait *w = arg;

	return sim_nh(s, w->node, w->pid) == NH_BH;
}

/* Held routes: c's link dies; b retracts c's prefix and holds it as a blackhole until a has acked, then releases
 * it; a never routes c's prefix back through anyone (no loop). */
Test(router_sim, held_route_blackhole_then_release)
{
	struct ny_router_timers t = deftimers();
	struct sim *s = sim_new(3, &t, 6);
	struct bh_wait w = {.node = 1, .pid = 2};

	sim_link(s, 0, 1, 10 * SIM_MS, 0, 0, true);
	sim_link(s, 1, 2, 10 * SIM_MS, 0, 0, true);
	sim_start(s, NULL, NULL);
	cr_assert(sim_run(s, 30 * SIM_S, sim_all_finite, NULL));
	sim_cut(s, 1);
	cr_assert(sim_run(s, s->now + 10 * SIM_S, is_bh, &w), "b never blackholed c's prefix");
	fprintf(stderr, "router_sim: b blackholed c's prefix at %.3f s\n", secs(s->now));
	sim_run(s, s->now + 5 * SIM_S, NULL, NULL);
	cr_assert_eq(sim_nh(s, 1, 2), NH_NONE, "b's hold was not released after a's ack");
	cr_assert(sim_nh(s, 0, 2) == NH_NONE || sim_nh(s, 0, 2) == NH_BH);
	cr_assert_eq(s->loops, 0);
	sim_free(s);
}

/* Convergence to the optimum on a 50-node random graph with default timers: every selected metric is within
 * the switch deadband of the Dijkstra optimum (compounded over a few hops at most). */
Test(router_sim, converges_near_optimum_50)
{
	struct ny_router_timers t = deftimers();
	struct sim *s = sim_new(50, &t, 7);
	uint64_t *dist = malloc(50 * sizeof(*dist));
	struct ny_router_fwd *fwd = malloc(s->n * 2 * sizeof(*fwd));
	double worst = 1.0, sum = 0;
	uint32_t exact = 0, total = 0;

	random_graph(s, 60, 1, 40, 0);
	sim_start(s, NULL, NULL);
	cr_assert(sim_run(s, 60 * SIM_S, sim_all_finite, NULL));
	fprintf(stderr, "router_sim: 50 nodes/%u links converged (all finite) at %.3f s, %llu bundles\n", s->n_links,
		secs(s->now), (unsigned long long)s->deliveries);
	sim_run(s, s->now + 60 * SIM_S, NULL, NULL);
	for (uint32_t o = 0; o < s->n; o++) {
		sim_dijkstra(s, o, dist);
		for (uint32_t i = 0; i < s->n; i++) {
			size_t n = ny_router_forward_table(s->nodes[i].r, fwd, s->n * 2);

			if (i == o)
				continue;
			for (size_t k = 0; k < n; k++) {
				double ratio;

				if (sim_pid(s, &fwd[k].prefix) != (int32_t)o)
					continue;
				cr_assert_neq(fwd[k].metric, NY_ROUTE_INF);
				ratio = (double)fwd[k].metric / (double)dist[i];
				cr_assert_geq(ratio, 0.999, "metric below the optimum?");
				worst = ratio > worst ? ratio : worst;
				sum += ratio;
				exact += ratio < 1.0001;
				total++;
			}
		}
	}
	fprintf(stderr, "router_sim: optimality over %u routes: %u exact, mean ratio %.4f, worst %.4f\n", total,
		exact, sum / total, worst);
	cr_assert_leq(worst, 1.1 * 1.1 + 1e-9);
	cr_assert_eq(s->loops, 0);
	free(dist);
	free(fwd);
	sim_free(s);
}

/* Random link flaps on a 50-node random graph for 10 simulated minutes (with 1% bundle loss): the loop-freedom
 * invariant holds after every event. */
Test(router_sim, flaps_50_nodes_10_minutes_loop_free, .timeout = 120)
{
	struct ny_router_timers t = deftimers();
	struct sim *s = sim_new(50, &t, 8);
	uint32_t flaps = 0;

	random_graph(s, 40, 1, 40, 0.01);
	sim_start(s, NULL, NULL);
	while (s->now < 600 * SIM_S) {
		uint32_t li = (uint32_t)(sim_rand(s) % s->n_links);

		if (s->links[li].up)
			sim_cut(s, li);
		else
			sim_restore(s, li);
		flaps++;
		sim_run(s, s->now + (200 + sim_rand(s) % 3000) * SIM_MS, NULL, NULL);
	}
	fprintf(stderr, "router_sim: 50 nodes, %u flaps over 600 s: %llu events, %llu bundles, %llu messages, "
			"%llu loops\n",
		flaps, (unsigned long long)s->events, (unsigned long long)s->deliveries,
		(unsigned long long)s->messages, (unsigned long long)s->loops);
	cr_assert_eq(s->loops, 0);
	sim_free(s);
}

/* A 1,000-node random mesh converges: every node gets a finite route to every node's prefix. Loop checks run once
 * at the end (per event they would be quadratic). */
Test(router_sim, mesh_1000_converges, .timeout = 200)
{
	struct ny_router_timers t = deftimers();
	struct sim *s = sim_new(1000, &t, 9);
	uint32_t loops = 0;

	random_graph(s, 1500, 1, 30, 0);
	s->check_loops = false;
	sim_start(s, NULL, NULL);
	cr_assert(sim_run(s, 120 * SIM_S, sim_all_finite, NULL), "1000-node mesh did not converge in 120 s (%llu "
								  "of %llu routes)",
		  (unsigned long long)s->finite, (unsigned long long)s->n * s->n_pfx);
	fprintf(stderr, "router_sim: 1000 nodes/%u links converged at %.3f s simulated: %llu events, %llu bundles, "
			"%llu messages\n",
		s->n_links, secs(s->now), (unsigned long long)s->events, (unsigned long long)s->deliveries,
		(unsigned long long)s->messages);
	for (uint32_t p = 0; p < s->n_pfx; p++)
		loops += !sim_loop_free(s, p);
	cr_assert_eq(loops, 0);
	sim_free(s);
}

/* Reference §5.1 live apply: a–b–c converged, then d joins next to c. Every router gets the new configuration; all
 * reach d, and the routes among a, b and c never change meanwhile (checked after every event). */
struct steady {
	int32_t nh[3][3];
	bool broken;
};

static void steady_check(struct sim *s, struct steady *st)
{
	for (uint32_t x = 0; x < 3; x++)
		for (uint32_t y = 0; y < 3; y++)
			if (sim_nh(s, x, y) != st->nh[x][y])
				st->broken = true;
}

static bool steady_until_all(struct sim *s, void *arg)
{
	struct steady *st = arg;

	steady_check(s, st);
	return st->broken || sim_all_finite(s, NULL);
}

Test(router_sim, live_apply_adds_a_node_without_disturbing_the_others)
{
	struct ny_router_timers t = deftimers();
	struct sim *s = sim_new(4, &t, 3);
	struct steady st = {0};
	uint32_t cd;
	uint64_t gen[3], t0;

	s->nodes[3].absent = true;
	sim_link(s, 0, 1, 10 * SIM_MS, 0, 0, true);
	sim_link(s, 1, 2, 10 * SIM_MS, 0, 0, true);
	sim_start(s, NULL, NULL);
	sim_run(s, 60 * SIM_S, NULL, NULL);
	for (uint32_t x = 0; x < 3; x++)
		for (uint32_t y = 0; y < 3; y++) {
			st.nh[x][y] = sim_nh(s, x, y);
			cr_assert(st.nh[x][y] >= 0 || st.nh[x][y] == NH_LOCAL, "n%u has no route to n%u", x, y);
		}
	s->nodes[3].absent = false;
	cd = sim_link(s, 2, 3, 10 * SIM_MS, 0, 0, false);
	for (uint32_t i = 0; i < 3; i++)
		gen[i] = ny_router_table_generation(s->nodes[i].r);
	for (uint32_t i = 0; i < 4; i++) {
		cr_assert_eq(sim_reconfigure(s, i), 0);
		steady_check(s, &st);
	}
	for (uint32_t i = 0; i < 3; i++)
		cr_assert_eq(ny_router_table_generation(s->nodes[i].r), gen[i], "n%u's table changed on apply", i);
	sim_restore(s, cd);
	t0 = s->now;
	cr_assert(sim_run(s, s->now + 60 * SIM_S, steady_until_all, &st), "d never reached by everyone");
	cr_assert_not(st.broken, "a route among a, b, c changed during the apply");
	cr_assert_eq(sim_path_len(s, 0, 3, NULL), 3);
	fprintf(stderr, "router_sim: d reachable from everyone %.3f s after the apply\n",
		secs(s->now - t0));
	cr_assert_eq(s->loops, 0);
	sim_free(s);
}
