/* A deterministic discrete-event network simulator for the router state machine (header only: every test_*.c is
 * its own executable).
 *
 * N routers (node i = "n<i>", prefix 10.<i/65536>.<i/256%256>.<i%256>/32 unless told otherwise), links with latency,
 * loss (a fixed-seed PRNG), cuts and restores, and one simulated clock. A flushed outbox becomes one bundle delivered
 * after the link latency unless it is lost or the link was cut meanwhile. Link metrics come from the link (RTT in
 * µs, or a fixed metric), INF link_dead_ns after a cut, finite again link_alive_ns after a restore. Each router is
 * ticked at the deadline it returned.
 *
 * Invariant checked after every event that changed a forwarding table: following selected next hops toward that
 * prefix from any node never revisits a node (it ends at the owner, a blackhole or a node without a route).
 *
 * Live apply (reference §5.1): the configuration a router gets is built from the simulation as it is now (nodes not
 * `absent`, each node's prefixes but its last `n_pfx_off`, node order rotated by `cfg_rotate`). sim_link() and
 * sim_unlink() change the graph after the start; sim_reconfigure() hands a node the current configuration (starting
 * its router if it has none) and ticks it at once. The prefix universe is fixed at the start: declare every prefix
 * there, switched off with n_pfx_off if it comes later.
 */
#ifndef NY_TEST_ROUTER_SIM_H
#define NY_TEST_ROUTER_SIM_H

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "nylon/router.h"

#define SIM_MS 1000000ull
#define SIM_S 1000000000ull
#define NH_NONE (-1)
#define NH_BH (-2)
#define NH_LOCAL (-3)

enum sim_ev { SIM_TICK, SIM_DELIVER, SIM_LINK_DEAD, SIM_LINK_ALIVE };

struct sim_event {
	uint64_t t, seq;
	enum sim_ev type;
	uint32_t a, b; /* TICK: node; DELIVER: link, direction (0: a→b); LINK_*: link */
	uint32_t epoch;
	struct ny_route_msg *msgs;
	uint32_t n;
};

struct sim_link {
	uint32_t a, b, slot_a, slot_b;
	uint64_t latency;
	uint32_t fixed_metric; /* 0: RTT in µs */
	double loss;
	bool gone;     /* removed by sim_unlink() */
	bool up;       /* carries packets */
	bool metric_up; /* the routers see it */
	uint32_t epoch;
};

struct sim_node {
	struct ny_router *r;
	char id[16];
	struct ny_router_prefix *pfx;
	size_t n_pfx;
	bool is_client;
	bool absent;      /* not in the configuration (yet or any more) */
	size_t n_pfx_off; /* the last n_pfx_off prefixes are not configured */
	uint32_t *cfg2sim; /* this router's configuration's node index → sim node */
	uint32_t *links; /* slot → link */
	uint32_t n_links;
	size_t *nbnodes;
	uint64_t next_tick;
	uint64_t gen;
};

struct sim;
typedef void (*sim_msg_fn)(struct sim *s, uint32_t from, uint32_t to, const struct ny_route_msg *m);

struct sim {
	uint32_t n;
	struct sim_node *nodes;
	struct sim_link *links;
	uint32_t n_links, cap_links;
	struct ny_router_timers timers;
	uint64_t now, seq, rng;
	uint64_t link_dead_ns, link_alive_ns;
	struct sim_event *heap;
	size_t n_heap, cap_heap;
	/* prefixes known to the simulation, sorted like the router sorts them */
	struct ny_conf_cidr *pfx;
	uint32_t n_pfx;
	int32_t *nh;         /* [node * n_pfx + pid] */
	uint32_t *nh_metric; /* same index */
	uint64_t finite;     /* (node, prefix) pairs with a finite route */
	struct ny_router_fwd *fwd;
	uint8_t *color;
	uint64_t events, deliveries, messages, loops, started_at;
	sim_msg_fn on_msg;
	void *user;
	bool check_loops;
	uint32_t cfg_rotate; /* configurations list nodes from this sim index on (renumbering) */
};

static inline uint64_t sim_rand(struct sim *s)
{
	s->rng ^= s->rng >> 12;
	s->rng ^= s->rng << 25;
	s->rng ^= s->rng >> 27;
	return s->rng * 2685821657736338717ull;
}

static inline double sim_rand01(struct sim *s)
{
	return (double)(sim_rand(s) >> 11) / 9007199254740992.0;
}

static inline void sim_prefix_of(uint32_t i, struct ny_conf_cidr *c)
{
	memset(c, 0, sizeof(*c));
	c->addr.family = AF_INET;
	c->addr.bytes[0] = 10;
	c->addr.bytes[1] = (uint8_t)(i >> 16);
	c->addr.bytes[2] = (uint8_t)(i >> 8);
	c->addr.bytes[3] = (uint8_t)i;
	c->bits = 32;
}

static inline struct sim *sim_new(uint32_t n, const struct ny_router_timers *t, uint64_t seed)
{
	struct sim *s = calloc(1, sizeof(*s));

	s->n = n;
	s->nodes = calloc(n, sizeof(*s->nodes));
	s->timers = *t;
	s->rng = seed ? seed : 0x9E3779B97F4A7C15ull;
	s->link_dead_ns = 5 * SIM_S;
	s->link_alive_ns = 1 * SIM_S;
	s->check_loops = true;
	for (uint32_t i = 0; i < n; i++) {
		struct sim_node *nd = &s->nodes[i];

		snprintf(nd->id, sizeof(nd->id), "n%u", i);
		nd->pfx = calloc(4, sizeof(*nd->pfx));
		sim_prefix_of(i, &nd->pfx[0].prefix);
		nd->n_pfx = 1;
	}
	return s;
}

static inline void sim_add_prefix(struct sim *s, uint32_t node, const struct ny_conf_cidr *c, uint32_t metric)
{
	struct sim_node *nd = &s->nodes[node];

	nd->pfx = realloc(nd->pfx, (nd->n_pfx + 1) * sizeof(*nd->pfx));
	nd->pfx[nd->n_pfx].prefix = *c;
	nd->pfx[nd->n_pfx].metric = metric;
	nd->n_pfx++;
}

/* Before sim_start, or after it with initially_up=false followed by sim_reconfigure() of both ends and sim_restore().
 * initially_up=false: configured in the graph but not carrying anything until sim_restore(). */
static inline uint32_t sim_link(struct sim *s, uint32_t a, uint32_t b, uint64_t latency, uint32_t fixed_metric,
				double loss, bool initially_up)
{
	struct sim_link *l;

	if (s->n_links == s->cap_links) {
		s->cap_links = s->cap_links ? 2 * s->cap_links : 64;
		s->links = realloc(s->links, s->cap_links * sizeof(*s->links));
	}
	l = &s->links[s->n_links];
	*l = (struct sim_link){.a = a, .b = b, .latency = latency, .fixed_metric = fixed_metric, .loss = loss,
			       .up = initially_up};
	l->slot_a = s->nodes[a].n_links;
	l->slot_b = s->nodes[b].n_links;
	s->nodes[a].links = realloc(s->nodes[a].links, (l->slot_a + 1) * sizeof(uint32_t));
	s->nodes[a].links[s->nodes[a].n_links++] = s->n_links;
	s->nodes[b].links = realloc(s->nodes[b].links, (l->slot_b + 1) * sizeof(uint32_t));
	s->nodes[b].links[s->nodes[b].n_links++] = s->n_links;
	return s->n_links++;
}

static inline bool sim_ev_less(const struct sim_event *x, const struct sim_event *y)
{
	return x->t < y->t || (x->t == y->t && x->seq < y->seq);
}

static inline void sim_push(struct sim *s, struct sim_event ev)
{
	size_t i;

	ev.seq = s->seq++;
	if (s->n_heap == s->cap_heap) {
		s->cap_heap = s->cap_heap ? 2 * s->cap_heap : 1024;
		s->heap = realloc(s->heap, s->cap_heap * sizeof(*s->heap));
	}
	i = s->n_heap++;
	while (i && sim_ev_less(&ev, &s->heap[(i - 1) / 2])) {
		s->heap[i] = s->heap[(i - 1) / 2];
		i = (i - 1) / 2;
	}
	s->heap[i] = ev;
}

static inline struct sim_event sim_pop(struct sim *s)
{
	struct sim_event top = s->heap[0], last = s->heap[--s->n_heap];
	size_t i = 0;

	for (;;) {
		size_t c = 2 * i + 1;

		if (c >= s->n_heap)
			break;
		if (c + 1 < s->n_heap && sim_ev_less(&s->heap[c + 1], &s->heap[c]))
			c++;
		if (!sim_ev_less(&s->heap[c], &last))
			break;
		s->heap[i] = s->heap[c];
		i = c;
	}
	if (s->n_heap)
		s->heap[i] = last;
	return top;
}

static inline int sim_cidr_cmp(const void *x, const void *y)
{
	const struct ny_conf_cidr *a = x, *b = y;
	int d;

	if (a->addr.family != b->addr.family)
		return a->addr.family < b->addr.family ? -1 : 1;
	d = memcmp(a->addr.bytes, b->addr.bytes, sizeof(a->addr.bytes));
	return d ? d : (int)a->bits - (int)b->bits;
}

static inline int32_t sim_pid(const struct sim *s, const struct ny_conf_cidr *c)
{
	const struct ny_conf_cidr *p = bsearch(c, s->pfx, s->n_pfx, sizeof(*c), sim_cidr_cmp);

	return p ? (int32_t)(p - s->pfx) : -1;
}

static inline uint32_t sim_link_metric(const struct sim_link *l)
{
	return l->fixed_metric ? l->fixed_metric : (uint32_t)(2 * l->latency / 1000);
}

/* Walk toward pid from every node; returns false on a loop (a walk that revisits a node of its own path).
 * Colours: 0 unvisited, 1 on the current walk, 2 known to terminate. O(nodes). */
static inline bool sim_loop_free(struct sim *s, uint32_t pid)
{
	bool ok = true;

	memset(s->color, 0, s->n);
	for (uint32_t start = 0; start < s->n; start++) {
		int32_t v = (int32_t)start;

		while (v >= 0 && s->color[v] == 0) {
			s->color[v] = 1;
			v = s->nh[(size_t)v * s->n_pfx + pid];
		}
		if (v >= 0 && s->color[v] == 1)
			ok = false;
		for (v = (int32_t)start; v >= 0 && s->color[v] == 1; v = s->nh[(size_t)v * s->n_pfx + pid])
			s->color[v] = 2;
	}
	return ok;
}

static inline void sim_after(struct sim *s, uint32_t node);

static inline void sim_flush_out(struct sim *s, uint32_t node)
{
	struct sim_node *nd = &s->nodes[node];

	for (uint32_t slot = 0; slot < nd->n_links; slot++) {
		struct sim_link *l = &s->links[nd->links[slot]];
		struct ny_route_msg *buf = NULL;
		size_t n = 0, cap = 0, got;

		do {
			if (cap - n < 64) {
				cap = cap ? 2 * cap : 128;
				buf = realloc(buf, cap * sizeof(*buf));
			}
			got = ny_router_take_outbox(nd->r, slot, buf + n, cap - n);
			n += got;
		} while (got);
		if (!n || !l->up || (l->loss > 0 && sim_rand01(s) < l->loss)) {
			free(buf);
			continue;
		}
		s->messages += n;
		sim_push(s, (struct sim_event){.t = s->now + l->latency, .type = SIM_DELIVER, .a = nd->links[slot],
					       .b = l->a == node ? 0 : 1, .epoch = l->epoch, .msgs = buf,
					       .n = (uint32_t)n});
	}
}

/* Refresh the cached next hops of node and check loops for every prefix whose next hop changed. */
static inline void sim_after(struct sim *s, uint32_t node)
{
	struct sim_node *nd = &s->nodes[node];
	uint64_t g;
	size_t n;
	int32_t *row = &s->nh[(size_t)node * s->n_pfx];
	uint32_t *mrow = &s->nh_metric[(size_t)node * s->n_pfx];
	int32_t *fresh;

	if (!nd->r)
		return; /* a client or an absent node */
	g = ny_router_table_generation(nd->r);
	if (g == nd->gen)
		return; /* metric-only changes do not bump the generation; tests read metrics from the router */
	nd->gen = g;
	n = ny_router_forward_table(nd->r, s->fwd, s->n_pfx);
	fresh = malloc(s->n_pfx * sizeof(*fresh));
	for (uint32_t i = 0; i < s->n_pfx; i++)
		fresh[i] = NH_NONE;
	for (size_t i = 0; i < n && i < s->n_pfx; i++) {
		int32_t pid = sim_pid(s, &s->fwd[i].prefix);

		if (pid < 0)
			continue;
		uint32_t nh = nd->cfg2sim[s->fwd[i].nh_node];

		if (s->fwd[i].blackhole)
			fresh[pid] = NH_BH;
		else
			fresh[pid] = nh == node || s->nodes[nh].is_client ? NH_LOCAL : (int32_t)nh;
		mrow[pid] = s->fwd[i].metric;
	}
	for (uint32_t pid = 0; pid < s->n_pfx; pid++) {
		bool was = row[pid] >= 0 || row[pid] == NH_LOCAL, is = fresh[pid] >= 0 || fresh[pid] == NH_LOCAL;

		if (fresh[pid] == row[pid])
			continue;
		s->finite += is;
		s->finite -= was;
		row[pid] = fresh[pid];
		if (s->check_loops && !sim_loop_free(s, pid)) {
			s->loops++;
			fprintf(stderr, "router_sim: LOOP toward prefix %u at t=%.3f s (node %u changed)\n", pid,
				(double)s->now / SIM_S, node);
		}
	}
	free(fresh);
}

static inline void sim_set_link_metric(struct sim *s, uint32_t li, bool up)
{
	struct sim_link *l = &s->links[li];
	uint32_t m = up ? sim_link_metric(l) : NY_ROUTE_INF;

	l->metric_up = up;
	if (s->nodes[l->a].r)
		ny_router_set_link(s->nodes[l->a].r, l->slot_a, m, s->now);
	if (s->nodes[l->b].r)
		ny_router_set_link(s->nodes[l->b].r, l->slot_b, m, s->now);
	sim_after(s, l->a);
	sim_after(s, l->b);
}

static inline void sim_schedule_tick(struct sim *s, uint32_t node, uint64_t t)
{
	s->nodes[node].next_tick = t;
	sim_push(s, (struct sim_event){.t = t, .type = SIM_TICK, .a = node});
}

/* The configuration as it is now: present nodes from sim index cfg_rotate on. Fills cfg (s->n entries) and both
 * index maps; returns the node count. */
static inline uint32_t sim_cfg_nodes(const struct sim *s, struct ny_router_node *cfg, uint32_t *cfg2sim,
				     uint32_t *sim2cfg)
{
	uint32_t k = 0;

	for (uint32_t j = 0; j < s->n; j++) {
		uint32_t i = (j + s->cfg_rotate) % s->n;
		const struct sim_node *nd = &s->nodes[i];

		sim2cfg[i] = UINT32_MAX;
		if (nd->absent)
			continue;
		cfg[k] = (struct ny_router_node){.id = nd->id, .is_client = nd->is_client, .prefixes = nd->pfx,
						 .n_prefixes = nd->n_pfx - nd->n_pfx_off};
		cfg2sim[k] = i;
		sim2cfg[i] = k++;
	}
	return k;
}

/* Builds node i's configuration and creates its router (at now) or reconfigures it. Returns the router's answer. */
static inline int sim_apply(struct sim *s, uint32_t i, ny_router_event_fn on_event, void *arg, uint64_t now)
{
	struct sim_node *nd = &s->nodes[i];
	struct ny_router_node *cfg = calloc(s->n, sizeof(*cfg));
	uint32_t *sim2cfg = malloc(s->n * sizeof(*sim2cfg));
	struct ny_router_config rc = {.nodes = cfg, .timers = s->timers, .on_event = on_event, .event_arg = arg};
	int err = 0;

	nd->cfg2sim = realloc(nd->cfg2sim, s->n * sizeof(*nd->cfg2sim));
	rc.n_nodes = sim_cfg_nodes(s, cfg, nd->cfg2sim, sim2cfg);
	rc.self = sim2cfg[i];
	free(nd->nbnodes);
	nd->nbnodes = calloc(nd->n_links ? nd->n_links : 1, sizeof(size_t));
	for (uint32_t k = 0; k < nd->n_links; k++) {
		const struct sim_link *l = &s->links[nd->links[k]];

		nd->nbnodes[k] = sim2cfg[l->a == i ? l->b : l->a];
	}
	rc.neighbours = nd->nbnodes;
	rc.n_neighbours = nd->n_links;
	if (!nd->r) {
		nd->r = ny_router_new(&rc, now);
		err = nd->r ? 0 : -EINVAL;
	} else {
		err = ny_router_reconfigure(nd->r, &rc, now);
	}
	free(cfg);
	free(sim2cfg);
	return err;
}

/* Create the routers (each at a random offset within the first 100 ms so timers are not in lock-step) and bring
 * the initially-up links up after a first "probe" (link_alive_ns / 10). */
static inline void sim_start(struct sim *s, ny_router_event_fn on_event, void *arg)
{
	struct ny_conf_cidr *all = NULL;
	size_t total = 0;

	for (uint32_t i = 0; i < s->n; i++) {
		all = realloc(all, (total + s->nodes[i].n_pfx) * sizeof(*all));
		for (size_t j = 0; j < s->nodes[i].n_pfx; j++)
			all[total++] = s->nodes[i].pfx[j].prefix;
	}
	qsort(all, total, sizeof(*all), sim_cidr_cmp);
	s->pfx = malloc((total ? total : 1) * sizeof(*s->pfx));
	for (size_t i = 0; i < total; i++)
		if (!s->n_pfx || sim_cidr_cmp(&s->pfx[s->n_pfx - 1], &all[i]))
			s->pfx[s->n_pfx++] = all[i];
	free(all);
	s->nh = malloc((size_t)s->n * s->n_pfx * sizeof(*s->nh));
	s->nh_metric = calloc((size_t)s->n * s->n_pfx, sizeof(*s->nh_metric));
	for (size_t i = 0; i < (size_t)s->n * s->n_pfx; i++)
		s->nh[i] = NH_NONE;
	s->fwd = malloc(s->n_pfx * sizeof(*s->fwd));
	s->color = malloc(s->n);
	for (uint32_t i = 0; i < s->n; i++) {
		uint64_t off = s->now + sim_rand(s) % (100 * SIM_MS);

		if (s->nodes[i].is_client || s->nodes[i].absent)
			continue;
		if (sim_apply(s, i, on_event, arg, off)) {
			fprintf(stderr, "router_sim: ny_router_new failed for node %u\n", i);
			abort();
		}
		sim_schedule_tick(s, i, off);
	}
	for (uint32_t i = 0; i < s->n_links; i++)
		if (s->links[i].up)
			sim_push(s, (struct sim_event){.t = s->now + 100 * SIM_MS + s->link_alive_ns / 10,
						       .type = SIM_LINK_ALIVE, .a = i, .epoch = s->links[i].epoch});
	s->started_at = s->now;
}

/* Live apply on node i: the current configuration, then a tick at once (it flushes what the change queued). The
 * router's neighbour slots follow the node's link list, as the configuration lists them. */
static inline int sim_reconfigure(struct sim *s, uint32_t i)
{
	int err;

	if (s->nodes[i].is_client || s->nodes[i].absent)
		return 0;
	err = sim_apply(s, i, NULL, NULL, s->now);
	if (err)
		return err;
	sim_schedule_tick(s, i, s->now);
	sim_after(s, i);
	return 0;
}

/* Removes link li from the graph: nothing more crosses it, and both ends' later slots move down by one. Reconfigure
 * both ends before the next event (their slots changed). */
static inline void sim_unlink(struct sim *s, uint32_t li)
{
	struct sim_link *l = &s->links[li];
	uint32_t ends[2] = {l->a, l->b}, slots[2] = {l->slot_a, l->slot_b};

	l->gone = true;
	l->up = l->metric_up = false;
	l->epoch++;
	for (int e = 0; e < 2; e++) {
		struct sim_node *nd = &s->nodes[ends[e]];

		memmove(&nd->links[slots[e]], &nd->links[slots[e] + 1],
			(nd->n_links - slots[e] - 1) * sizeof(*nd->links));
		nd->n_links--;
		for (uint32_t k = slots[e]; k < nd->n_links; k++) {
			struct sim_link *o = &s->links[nd->links[k]];

			if (o->a == ends[e])
				o->slot_a = k;
			else
				o->slot_b = k;
		}
	}
}

static inline void sim_cut(struct sim *s, uint32_t li)
{
	struct sim_link *l = &s->links[li];

	l->up = false;
	l->epoch++;
	sim_push(s, (struct sim_event){.t = s->now + s->link_dead_ns, .type = SIM_LINK_DEAD, .a = li,
				       .epoch = l->epoch});
}

static inline void sim_restore(struct sim *s, uint32_t li)
{
	struct sim_link *l = &s->links[li];

	l->up = true;
	l->epoch++;
	sim_push(s, (struct sim_event){.t = s->now + s->link_alive_ns, .type = SIM_LINK_ALIVE, .a = li,
				       .epoch = l->epoch});
}

static inline void sim_step(struct sim *s, struct sim_event ev)
{
	struct sim_link *l;

	s->now = ev.t;
	s->events++;
	switch (ev.type) {
	case SIM_TICK:
		if (ev.t != s->nodes[ev.a].next_tick)
			break;
		sim_schedule_tick(s, ev.a, ny_router_tick(s->nodes[ev.a].r, s->now));
		sim_after(s, ev.a);
		sim_flush_out(s, ev.a);
		break;
	case SIM_DELIVER: {
		uint32_t to, slot, from;

		l = &s->links[ev.a];
		to = ev.b ? l->a : l->b;
		from = ev.b ? l->b : l->a;
		slot = ev.b ? l->slot_a : l->slot_b;
		if (l->up && ev.epoch == l->epoch) {
			s->deliveries++;
			for (uint32_t i = 0; i < ev.n; i++) {
				if (s->on_msg)
					s->on_msg(s, from, to, &ev.msgs[i]);
				ny_router_receive(s->nodes[to].r, slot, &ev.msgs[i], s->now);
			}
			sim_after(s, to);
		}
		free(ev.msgs);
		break;
	}
	case SIM_LINK_DEAD:
		l = &s->links[ev.a];
		if (ev.epoch == l->epoch && !l->up && l->metric_up)
			sim_set_link_metric(s, ev.a, false);
		break;
	case SIM_LINK_ALIVE:
		l = &s->links[ev.a];
		if (ev.epoch == l->epoch && l->up && !l->metric_up)
			sim_set_link_metric(s, ev.a, true);
		break;
	}
}

typedef bool (*sim_stop_fn)(struct sim *s, void *arg);

/* Runs events up to time `until` (or until stop() says so, checked after each event). Returns true if stopped. */
static inline bool sim_run(struct sim *s, uint64_t until, sim_stop_fn stop, void *arg)
{
	while (s->n_heap && s->heap[0].t <= until) {
		sim_step(s, sim_pop(s));
		if (stop && stop(s, arg))
			return true;
	}
	s->now = until;
	return false;
}

static inline bool sim_all_finite(struct sim *s, void *arg)
{
	(void)arg;
	return s->finite == (uint64_t)s->n * s->n_pfx;
}

/* Next hop (node index), NH_LOCAL, NH_BH or NH_NONE of node toward pid. */
static inline int32_t sim_nh(const struct sim *s, uint32_t node, uint32_t pid)
{
	return s->nh[(size_t)node * s->n_pfx + pid];
}

/* Walks next hops from node toward pid; returns the hop count to the owner or -1 if it does not get there. */
static inline int sim_path_len(const struct sim *s, uint32_t node, uint32_t pid, uint32_t *end)
{
	int hops = 0;
	int32_t v = (int32_t)node;

	while (hops <= (int)s->n) {
		int32_t nh = sim_nh(s, (uint32_t)v, pid);

		if (nh == NH_LOCAL) {
			if (end)
				*end = (uint32_t)v;
			return hops;
		}
		if (nh < 0)
			return -1;
		v = nh;
		hops++;
	}
	return -1;
}

static inline void sim_free(struct sim *s)
{
	while (s->n_heap)
		free(sim_pop(s).msgs);
	for (uint32_t i = 0; i < s->n; i++) {
		ny_router_free(s->nodes[i].r);
		free(s->nodes[i].pfx);
		free(s->nodes[i].links);
		free(s->nodes[i].nbnodes);
		free(s->nodes[i].cfg2sim);
	}
	free(s->nodes);
	free(s->links);
	free(s->heap);
	free(s->pfx);
	free(s->nh);
	free(s->nh_metric);
	free(s->fwd);
	free(s->color);
	free(s);
}

/* Dijkstra from every owner over link metrics + hop cost (the router's own cost function): dist[node] toward pid
 * owner `owner`. O(n^2) per call, fine for the sizes it is used at. */
static inline void sim_dijkstra(const struct sim *s, uint32_t owner, uint64_t *dist)
{
	bool *done = calloc(s->n, sizeof(*done));

	for (uint32_t i = 0; i < s->n; i++)
		dist[i] = UINT64_MAX;
	dist[owner] = 0;
	for (;;) {
		uint32_t u = UINT32_MAX;

		for (uint32_t i = 0; i < s->n; i++)
			if (!done[i] && dist[i] != UINT64_MAX && (u == UINT32_MAX || dist[i] < dist[u]))
				u = i;
		if (u == UINT32_MAX)
			break;
		done[u] = true;
		for (uint32_t k = 0; k < s->nodes[u].n_links; k++) {
			const struct sim_link *l = &s->links[s->nodes[u].links[k]];
			uint32_t v = l->a == u ? l->b : l->a;
			uint64_t d;

			if (!l->up)
				continue;
			d = dist[u] + sim_link_metric(l) + s->timers.hop_cost;
			if (d < dist[v])
				dist[v] = d;
		}
	}
	free(done);
}

#endif
