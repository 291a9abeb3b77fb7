/* Router core: configuration, tables, feasibility and route computation (reference §3.5 ComputeRoutes, RFC 8966
 * §3.5-§3.7), timers and read accessors. Context: babel thread.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "route/router_internal.h"

void ny_router_timers_default(struct ny_router_timers *t)
{
	const uint64_t ms = 1000000ull;

	*t = (struct ny_router_timers){
		.route_update_ns = 5000 * ms,
		.route_expiry_ns = 25000 * ms,
		.starvation_ns = 100 * ms,
		.flush_ns = 500 * ms,
		.seqno_dedup_ns = 3000 * ms,
		.gc_ns = 1000 * ms,
		.client_keepalive_ns = 3000 * ms,
		.client_dead_ns = 6000 * ms,
		.client_check_ns = 1000 * ms,
		.hop_cost = 5,
		.large_change = 100000,
		.seqno_hop_count = 64,
		.switch_deadband_pct = 110,
		.safe_mtu = 1200,
	};
}

/* ---- hashing of node ids and prefixes ---- */

static uint32_t fnv(const void *data, size_t len, uint32_t h)
{
	const uint8_t *p = data;

	for (size_t i = 0; i < len; i++)
		h = (h ^ p[i]) * 16777619u;
	return h;
}

static uint32_t cidr_hash(const struct ny_conf_cidr *c)
{
	uint32_t h = fnv(&c->addr.family, sizeof(c->addr.family), 2166136261u);

	h = fnv(c->addr.bytes, c->addr.family == AF_INET ? 4 : 16, h);
	return fnv(&c->bits, 1, h);
}

static int cidr_cmp(const struct ny_conf_cidr *a, const struct ny_conf_cidr *b)
{
	int d;

	if (a->addr.family != b->addr.family)
		return a->addr.family < b->addr.family ? -1 : 1;
	d = memcmp(a->addr.bytes, b->addr.bytes, sizeof(a->addr.bytes));
	if (d)
		return d;
	return (int)a->bits - (int)b->bits;
}

static int cidr_qsort(const void *a, const void *b)
{
	return cidr_cmp(a, b);
}

uint32_t rt_pfx_find(const struct ny_router *r, const struct ny_conf_cidr *c)
{
	uint32_t i = cidr_hash(c) & r->pfx_hash_mask;

	for (; r->pfx_hash[i]; i = (i + 1) & r->pfx_hash_mask) {
		uint32_t pid = r->pfx_hash[i] - 1;

		if (ny_conf_cidr_equal(&r->pfx[pid].cidr, c))
			return pid;
	}
	return NONE32;
}

uint32_t rt_node_find(const struct ny_router *r, const char *id)
{
	uint32_t i = fnv(id, strlen(id), 2166136261u) & r->node_hash_mask;

	for (; r->node_hash[i]; i = (i + 1) & r->node_hash_mask) {
		uint32_t n = r->node_hash[i] - 1;

		if (strcmp(r->nodes[n].id, id) == 0)
			return n;
	}
	return NONE32;
}

static uint32_t pow2_above(size_t n)
{
	uint32_t s = 16;

	while (s < 2 * n)
		s <<= 1;
	return s;
}

bool rt_grow(void **arr, uint32_t *cap, uint32_t need, size_t elem)
{
	uint32_t ncap;
	void *p;

	if (need <= *cap)
		return true;
	ncap = *cap ? *cap * 2 : 2;
	while (ncap < need)
		ncap *= 2;
	p = realloc(*arr, (size_t)ncap * elem);
	if (!p)
		return false;
	*arr = p;
	*cap = ncap;
	return true;
}

/* ---- configuration ---- */

static int intern_prefixes(struct ny_router *r, const struct ny_router_config *cfg)
{
	size_t total = 0, k = 0;
	struct ny_conf_cidr *all;

	for (size_t i = 0; i < cfg->n_nodes; i++)
		total += cfg->nodes[i].n_prefixes;
	all = calloc(total ? total : 1, sizeof(*all));
	if (!all)
		return -ENOMEM;
	for (size_t i = 0; i < cfg->n_nodes; i++)
		for (size_t j = 0; j < cfg->nodes[i].n_prefixes; j++)
			all[k++] = cfg->nodes[i].prefixes[j].prefix;
	qsort(all, total, sizeof(*all), cidr_qsort);
	r->pfx = calloc(total ? total : 1, sizeof(*r->pfx));
	r->pfx_hash_mask = pow2_above(total) - 1;
	r->pfx_hash = calloc((size_t)r->pfx_hash_mask + 1, sizeof(*r->pfx_hash));
	if (!r->pfx || !r->pfx_hash) {
		free(all);
		return -ENOMEM;
	}
	for (size_t i = 0; i < total; i++) {
		uint32_t h;

		if (r->n_pfx && cidr_cmp(&r->pfx[r->n_pfx - 1].cidr, &all[i]) == 0)
			continue; /* anycast: the same prefix on several nodes is one table entry */
		r->pfx[r->n_pfx].cidr = all[i];
		for (h = cidr_hash(&all[i]) & r->pfx_hash_mask; r->pfx_hash[h]; h = (h + 1) & r->pfx_hash_mask)
			;
		r->pfx_hash[h] = ++r->n_pfx;
	}
	free(all);
	return 0;
}

static int copy_nodes(struct ny_router *r, const struct ny_router_config *cfg)
{
	r->n_nodes = (uint32_t)cfg->n_nodes;
	r->nodes = calloc(cfg->n_nodes, sizeof(*r->nodes));
	r->node_hash_mask = pow2_above(cfg->n_nodes) - 1;
	r->node_hash = calloc((size_t)r->node_hash_mask + 1, sizeof(*r->node_hash));
	if (!r->nodes || !r->node_hash)
		return -ENOMEM;
	for (uint32_t i = 0; i < r->n_nodes; i++) {
		const struct ny_router_node *src = &cfg->nodes[i];
		struct rnode *n = &r->nodes[i];
		uint32_t h;

		n->id = strdup(src->id ? src->id : "");
		n->is_client = src->is_client;
		n->n_pids = (uint32_t)src->n_prefixes;
		n->pids = calloc(src->n_prefixes ? src->n_prefixes : 1, sizeof(*n->pids));
		n->metrics = calloc(src->n_prefixes ? src->n_prefixes : 1, sizeof(*n->metrics));
		if (!n->id || !n->pids || !n->metrics)
			return -ENOMEM;
		for (size_t j = 0; j < src->n_prefixes; j++) {
			n->pids[j] = rt_pfx_find(r, &src->prefixes[j].prefix);
			n->metrics[j] = src->prefixes[j].metric;
		}
		if (rt_node_find(r, n->id) != NONE32)
			return -EINVAL; /* duplicate id */
		for (h = fnv(n->id, strlen(n->id), 2166136261u) & r->node_hash_mask; r->node_hash[h];
		     h = (h + 1) & r->node_hash_mask)
			;
		r->node_hash[h] = i + 1;
	}
	return 0;
}

static int setup_neighbours(struct ny_router *r, const struct ny_router_config *cfg)
{
	r->n_nbs = (uint32_t)cfg->n_neighbours;
	r->nbs = calloc(cfg->n_neighbours ? cfg->n_neighbours : 1, sizeof(*r->nbs));
	r->nb_of_node = malloc(cfg->n_nodes * sizeof(*r->nb_of_node));
	if (!r->nbs || !r->nb_of_node)
		return -ENOMEM;
	for (uint32_t i = 0; i < r->n_nodes; i++)
		r->nb_of_node[i] = NONE32;
	for (uint32_t i = 0; i < r->n_nbs; i++) {
		struct nbr_state *nb = &r->nbs[i];
		size_t node = cfg->neighbours[i];

		if (node >= cfg->n_nodes || node == cfg->self || r->nb_of_node[node] != NONE32)
			return -EINVAL;
		nb->node = (uint32_t)node;
		nb->is_client = r->nodes[node].is_client;
		nb->link = NY_ROUTE_INF;
		r->nb_of_node[node] = i;
		if (nb->is_client)
			continue;
		nb->upd_pos = calloc(r->n_pfx ? r->n_pfx : 1, sizeof(*nb->upd_pos));
		nb->ack_set = calloc(r->n_pfx ? r->n_pfx : 1, 1);
		if (!nb->upd_pos || !nb->ack_set)
			return -ENOMEM;
	}
	return 0;
}

/* Validates cfg and allocates r's tables from it (prefixes interned, nodes copied, neighbour slots), without any
 * routing state. On error r holds whatever was allocated: release it with rt_release(). */
int rt_build(struct ny_router *r, const struct ny_router_config *cfg)
{
	int err;

	if (!cfg || cfg->self >= cfg->n_nodes || cfg->nodes[cfg->self].is_client || cfg->n_nodes >= NONE32)
		return -EINVAL;
	r->self = (uint32_t)cfg->self;
	r->t = cfg->timers;
	if (r->t.switch_deadband_pct < 100)
		r->t.switch_deadband_pct = 100;
	r->on_event = cfg->on_event;
	r->event_arg = cfg->event_arg;
	err = intern_prefixes(r, cfg);
	if (!err)
		err = copy_nodes(r, cfg);
	if (!err)
		err = setup_neighbours(r, cfg);
	if (err)
		return err;
	r->starve_list = calloc(r->n_pfx ? r->n_pfx : 1, sizeof(*r->starve_list));
	return r->starve_list ? 0 : -ENOMEM;
}

struct ny_router *ny_router_new(const struct ny_router_config *cfg, uint64_t now)
{
	struct ny_router *r;
	const struct rnode *self;

	r = calloc(1, sizeof(*r));
	if (!r)
		return NULL;
	if (rt_build(r, cfg)) {
		ny_router_free(r);
		return NULL;
	}
	self = &r->nodes[r->self];
	for (uint32_t j = 0; j < self->n_pids; j++) {
		struct advert *a = &r->pfx[self->pids[j]].adv;

		*a = (struct advert){.present = true, .owner = r->self, .metric = self->metrics[j], .expiry = UINT64_MAX};
	}
	r->next_starve = now + r->t.starvation_ns;
	r->next_dump = now + r->t.route_update_ns;
	r->next_gc = now + r->t.gc_ns;
	r->next_client = now + r->t.client_check_ns;
	r->next_flush = now + r->t.flush_ns;
	rt_compute_all(r, now);
	return r;
}

void rt_release(struct ny_router *r)
{
	for (uint32_t i = 0; r->pfx && i < r->n_pfx; i++) {
		free(r->pfx[i].nbr);
		free(r->pfx[i].fds);
		free(r->pfx[i].dd);
		free(r->pfx[i].sel.retracted_by);
	}
	for (uint32_t i = 0; r->nodes && i < r->n_nodes; i++) {
		free(r->nodes[i].id);
		free(r->nodes[i].pids);
		free(r->nodes[i].metrics);
	}
	for (uint32_t i = 0; r->nbs && i < r->n_nbs; i++) {
		free(r->nbs[i].upd);
		free(r->nbs[i].upd_pos);
		free(r->nbs[i].req);
		free(r->nbs[i].acks);
		free(r->nbs[i].ack_set);
		free(r->nbs[i].ready);
		free(r->nbs[i].bye);
	}
	free(r->pfx);
	free(r->pfx_hash);
	free(r->nodes);
	free(r->node_hash);
	free(r->nbs);
	free(r->nb_of_node);
	free(r->starve_list);
}

void ny_router_free(struct ny_router *r)
{
	if (!r)
		return;
	rt_release(r);
	free(r);
}

/* ---- feasibility (RFC 8966 §3.5.1, §3.7.3; reference §3.5) ---- */

struct fd *rt_fd_find(struct pfx *p, uint32_t src)
{
	for (uint32_t i = 0; i < p->n_fd; i++)
		if (p->fds[i].src == src)
			return &p->fds[i];
	return NULL;
}

/* Checked against the advertised metric, as the reference does: feasible if no FD, a newer seqno, a retraction, or
 * the same seqno with a strictly smaller metric. */
bool rt_feasible(struct pfx *p, uint32_t src, uint16_t seqno, uint32_t metric)
{
	const struct fd *fd = rt_fd_find(p, src);

	if (!fd || ny_route_seqno_lt(fd->seqno, seqno) || metric == NY_ROUTE_INF)
		return true;
	return fd->seqno == seqno && metric < fd->metric;
}

/* Before sending a finite update. Retractions never update the FD (RFC 8966 §3.7.3). */
void rt_fd_update(struct ny_router *r, struct pfx *p, uint32_t src, uint16_t seqno, uint32_t metric)
{
	struct fd *fd;

	if (metric == NY_ROUTE_INF)
		return;
	fd = rt_fd_find(p, src);
	if (!fd) {
		if (!rt_grow((void **)&p->fds, &p->cap_fd, p->n_fd + 1, sizeof(*p->fds))) {
			r->oom = true;
			return;
		}
		p->fds[p->n_fd++] = (struct fd){.src = src, .seqno = seqno, .metric = metric};
	} else if (ny_route_seqno_lt(fd->seqno, seqno)) {
		fd->seqno = seqno;
		fd->metric = metric;
	} else if (fd->seqno == seqno && metric < fd->metric) {
		fd->metric = metric;
	} else {
		return;
	}
	rt_mark_starve(r, (uint32_t)(p - r->pfx));
}

struct nbroute *rt_nbr_find(struct pfx *p, uint32_t nb)
{
	for (uint32_t i = 0; i < p->n_nbr; i++)
		if (p->nbr[i].nb == nb)
			return &p->nbr[i];
	return NULL;
}

bool rt_nb_active(const struct ny_router *r, uint32_t nb)
{
	return !r->nbs[nb].is_client && r->nbs[nb].link != NY_ROUTE_INF;
}

/* Cost(A, B) + HopCost + Cost(S, B), saturating (reference §3.4). */
uint32_t rt_nb_cost(const struct ny_router *r, uint32_t nb, uint32_t metric)
{
	if (!rt_nb_active(r, nb))
		return NY_ROUTE_INF;
	return ny_route_metric_add(ny_route_metric_add(r->nbs[nb].link, r->t.hop_cost), metric);
}

void rt_mark_starve(struct ny_router *r, uint32_t pid)
{
	struct pfx *p = &r->pfx[pid];

	if (!p->starve_dirty && !p->starving)
		r->starve_list[r->n_starve++] = pid;
	p->starve_dirty = true;
}

void rt_emit(struct ny_router *r, enum ny_router_event_type type, uint32_t pid, uint32_t src, uint32_t nh,
	     uint16_t seqno, uint32_t metric)
{
	struct ny_router_event ev = {.type = type, .prefix = r->pfx[pid].cidr, .source_node = src,
				     .nh_node = nh == NONE32 ? r->self : nh,
				     .seqno = seqno, .metric = metric};

	if (r->on_event)
		r->on_event(r->event_arg, &ev);
}

/* ---- ComputeRoutes for one prefix (reference §3.5 steps 1-6) ---- */

struct cand {
	bool present;
	bool carried; /* the held route of last round: keeps its retractedBy */
	bool local;   /* a local advertisement */
	uint32_t src, metric, nh;
	uint16_t seqno;
	uint64_t expire;
};

/* Step 1: a route is held (RFC 8966 §3.5.4) while it is INF or its next hop has no link, fewer neighbours than are
 * connected have acked its retraction, and it has not expired. */
static bool is_held(const struct ny_router *r, const struct sel *s, uint64_t now)
{
	uint32_t nb;
	bool has_link;

	if (!s->present || s->nh == r->self)
		return false;
	nb = s->nh < r->n_nodes ? r->nb_of_node[s->nh] : NONE32; /* NONE32: next hop left the configuration */
	has_link = nb != NONE32 && rt_nb_active(r, nb);
	return (s->metric == NY_ROUTE_INF || !has_link) && s->n_retracted < r->connected && s->expire > now;
}

static bool deadband_better(const struct ny_router *r, uint32_t new_metric, uint32_t cur_metric)
{
	return (uint64_t)new_metric * r->t.switch_deadband_pct <= (uint64_t)cur_metric * 100u;
}

/* Step 3. Among the finite feasible neighbour routes take the cheapest (ties: last round's next hop, then configured
 * order), but keep last round's next hop unless the cheapest is 10% better (LinkSwitchDeadband).
 *
 * Deviation: the reference walks neighbours in configured order and compares each against the running candidate,
 * so which route wins within the deadband depends on that order and can move away from the incumbent to a worse
 * route (reference §9.5). Here the incumbent is what the deadband protects; selection is a local policy, so this
 * does not affect interoperation. Routes carrying our own router id are never selected: they lead back to us. */
static bool select_neighbour(struct ny_router *r, struct pfx *p, struct cand *out)
{
	const struct nbroute *best = NULL, *inc = NULL;
	uint32_t best_cost = NY_ROUTE_INF, inc_cost = NY_ROUTE_INF;
	const struct sel *old = &p->sel;

	for (uint32_t i = 0; i < p->n_nbr; i++) {
		const struct nbroute *e = &p->nbr[i];
		uint32_t cost, node = r->nbs[e->nb].node;

		if (e->src == r->self)
			continue;
		cost = rt_nb_cost(r, e->nb, e->metric);
		if (cost == NY_ROUTE_INF || !rt_feasible(p, e->src, e->seqno, e->metric))
			continue;
		if (!best || cost < best_cost || (cost == best_cost && old->present && node == old->nh)) {
			best = e;
			best_cost = cost;
		}
		if (old->present && node == old->nh) {
			inc = e;
			inc_cost = cost;
		}
	}
	if (!best)
		return false;
	if (inc && inc != best && !deadband_better(r, best_cost, inc_cost)) {
		best = inc;
		best_cost = inc_cost;
	}
	*out = (struct cand){.present = true, .src = best->src, .seqno = best->seqno, .metric = best_cost,
			     .nh = r->nbs[best->nb].node, .expire = best->expire};
	return true;
}

static void select_route(struct ny_router *r, struct pfx *p, uint64_t now, struct cand *c)
{
	struct cand nb;

	*c = (struct cand){0};
	if (is_held(r, &p->sel, now))
		*c = (struct cand){.present = true, .carried = true, .src = p->sel.src, .seqno = p->sel.seqno,
				   .metric = NY_ROUTE_INF, .nh = p->sel.nh, .expire = p->sel.expire};
	if (p->adv.present) {
		uint64_t exp = now + r->t.route_expiry_ns;

		*c = (struct cand){.present = true, .local = true, .src = r->self, .seqno = p->self_seqno,
				   .metric = p->adv.passive_hold ? NY_ROUTE_HOLD_METRIC : p->adv.metric,
				   .nh = p->adv.owner, .expire = exp < p->adv.expiry ? exp : p->adv.expiry};
	}
	if (!select_neighbour(r, p, &nb))
		return;
	/* A finite route always beats a held one; a neighbour displaces a local advertisement (anycast) only when
	 * 10% better. */
	if (!c->present || c->metric == NY_ROUTE_INF || !c->local || deadband_better(r, nb.metric, c->metric))
		*c = nb;
}

static void store(struct sel *s, const struct cand *c, bool keep_retracted)
{
	s->present = c->present;
	s->src = c->src;
	s->seqno = c->seqno;
	s->metric = c->metric;
	s->nh = c->nh;
	s->expire = c->expire;
	if (!keep_retracted)
		s->n_retracted = 0;
}

static void sync_forwarding(struct ny_router *r, struct pfx *p)
{
	bool bh = p->sel.present && p->sel.metric == NY_ROUTE_INF;

	if (p->fwd_present == p->sel.present && (!p->sel.present || (p->fwd_blackhole == bh && p->fwd_nh == p->sel.nh)))
		return;
	p->fwd_present = p->sel.present;
	p->fwd_blackhole = bh;
	p->fwd_nh = p->sel.nh;
	r->generation++;
	r->c.route_changes++;
}

void rt_compute(struct ny_router *r, uint32_t pid, uint64_t now)
{
	struct pfx *p = &r->pfx[pid];
	struct sel old = p->sel;
	bool old_finite = old.present && old.metric != NY_ROUTE_INF;
	struct cand c;

	select_route(r, p, now, &c);
	if (c.present && c.metric != NY_ROUTE_INF) {
		/* steps 4-5 */
		bool moved = !old_finite || old.nh != c.nh;
		uint32_t d = old_finite ? (c.metric > old.metric ? c.metric - old.metric : old.metric - c.metric) : 0;
		bool trigger = !old.present || old.src != c.src || old.seqno != c.seqno || !old_finite ||
			       d > r->t.large_change;

		store(&p->sel, &c, false);
		if (moved)
			rt_emit(r, NY_ROUTER_EV_ROUTE_INSERTED, pid, c.src, c.nh, c.seqno, c.metric);
		if (trigger) {
			r->c.triggered_updates++;
			rt_advertise(r, ALL_NB, pid);
		}
	} else if (old_finite) {
		/* step 6: retraction with the old source and seqno; kept as INF (blackholed) until acked or expired.
		 * Unlike the reference, which waits for the next 500 ms flush, a retraction is flushed at the next tick:
		 * neighbours that route through us should look for another path now (RFC 8966 §3.7.2 sends
		 * retractions as triggered updates), and it takes up to half a second off every failover. */
		rt_broadcast_update(r, pid, old.src, old.seqno, NY_ROUTE_INF);
		r->next_flush = 0;
		if (c.present)
			store(&p->sel, &c, false);
		p->sel.metric = NY_ROUTE_INF;
		p->sel.n_retracted = 0;
		rt_emit(r, NY_ROUTER_EV_ROUTE_RETRACTED, pid, old.src, old.nh, old.seqno, NY_ROUTE_INF);
	} else if (c.present) {
		/* INF before and now: a held route carried over, or a local advertisement whose health check fails */
		if (!old.present)
			rt_broadcast_update(r, pid, c.src, c.seqno, NY_ROUTE_INF);
		store(&p->sel, &c, c.carried);
	} else if (old.present) {
		p->sel.present = false;
		p->sel.n_retracted = 0;
		rt_emit(r, NY_ROUTER_EV_ROUTE_RELEASED, pid, old.src, old.nh, old.seqno, NY_ROUTE_INF);
	}
	sync_forwarding(r, p);
	rt_mark_starve(r, pid);
}

void rt_compute_all(struct ny_router *r, uint64_t now)
{
	for (uint32_t i = 0; i < r->n_pfx; i++)
		rt_compute(r, i, now);
}

/* ---- GC (reference §3.5 RunGC) ---- */

static void gc_prefix(struct ny_router *r, struct pfx *p, uint64_t now)
{
	uint32_t k = 0;

	for (uint32_t i = 0; i < p->n_nbr; i++) {
		struct nbroute *e = &p->nbr[i];

		if (now > e->expire) {
			if (e->metric == NY_ROUTE_INF)
				continue; /* second expiry: delete */
			e->metric = NY_ROUTE_INF;
			e->expire = now + r->t.route_expiry_ns;
		}
		p->nbr[k++] = *e;
	}
	p->n_nbr = k;
	if (p->adv.present && now > p->adv.expiry)
		p->adv.present = false;
}

static bool source_referenced(const struct ny_router *r, const struct pfx *p, uint32_t src)
{
	if ((p->sel.present && p->sel.src == src) || (p->adv.present && src == r->self))
		return true;
	for (uint32_t i = 0; i < p->n_nbr; i++)
		if (p->nbr[i].src == src)
			return true;
	return false;
}

static void gc_sources(struct ny_router *r, struct pfx *p)
{
	uint32_t k = 0;

	for (uint32_t i = 0; i < p->n_fd; i++)
		if (source_referenced(r, p, p->fds[i].src))
			p->fds[k++] = p->fds[i];
	p->n_fd = k;
}

static void run_gc(struct ny_router *r, uint64_t now)
{
	for (uint32_t i = 0; i < r->n_pfx; i++)
		gc_prefix(r, &r->pfx[i], now);
	/* ComputeRoutes after expiry, then the source table (order fixed in Go #110) */
	rt_compute_all(r, now);
	for (uint32_t i = 0; i < r->n_pfx; i++) {
		gc_sources(r, &r->pfx[i]);
		rt_dedup_prune(r, &r->pfx[i], now);
	}
}

static void full_dump(struct ny_router *r)
{
	r->c.full_dumps++;
	for (uint32_t i = 0; i < r->n_pfx; i++)
		if (r->pfx[i].sel.present)
			rt_advertise(r, ALL_NB, i);
}

static uint64_t min64(uint64_t a, uint64_t b)
{
	return a < b ? a : b;
}

uint64_t ny_router_tick(struct ny_router *r, uint64_t now)
{
	if (now >= r->next_gc) {
		run_gc(r, now);
		r->next_gc = now + r->t.gc_ns;
	}
	if (now >= r->next_client) {
		rt_clients_check(r, now);
		r->next_client = now + r->t.client_check_ns;
	}
	if (now >= r->next_dump) {
		full_dump(r);
		r->next_dump = now + r->t.route_update_ns;
	}
	if (now >= r->next_starve) {
		rt_solve_starvation(r, now);
		r->next_starve = now + r->t.starvation_ns;
	}
	if (now >= r->next_flush) {
		rt_flush(r);
		r->next_flush = now + r->t.flush_ns;
	}
	return min64(min64(min64(r->next_gc, r->next_client), min64(r->next_dump, r->next_starve)), r->next_flush);
}

/* ---- inputs ---- */

void ny_router_set_link(struct ny_router *r, size_t nb, uint32_t metric, uint64_t now)
{
	struct nbr_state *n;
	bool was_up, up;

	if (nb >= r->n_nbs || r->nbs[nb].is_client)
		return;
	n = &r->nbs[nb];
	was_up = n->link != NY_ROUTE_INF;
	up = metric != NY_ROUTE_INF;
	if (n->link == metric)
		return;
	n->link = metric;
	if (was_up != up)
		r->connected += up ? 1 : (uint32_t)-1;
	if (!up)
		rt_outbox_clear(r, (uint32_t)nb); /* stale I/O state for a dead link */
	rt_compute_all(r, now);
	if (up && !was_up)
		rt_push_full_table(r, (uint32_t)nb); /* reference §3.3: a link that comes up gets the full table */
}

int ny_router_set_prefix_metric(struct ny_router *r, const struct ny_conf_cidr *prefix, uint32_t metric,
				uint64_t now)
{
	uint32_t pid = rt_pfx_find(r, prefix);
	const struct rnode *self = &r->nodes[r->self];

	for (uint32_t j = 0; pid != NONE32 && j < self->n_pids; j++) {
		if (self->pids[j] != pid)
			continue;
		r->pfx[pid].adv.metric = metric;
		rt_compute(r, pid, now);
		return 0;
	}
	return -ENOENT;
}

/* ---- outputs and accessors ---- */

uint64_t ny_router_table_generation(const struct ny_router *r)
{
	return r->generation;
}

size_t ny_router_forward_table(const struct ny_router *r, struct ny_router_fwd *out, size_t cap)
{
	size_t n = 0;

	for (uint32_t i = 0; i < r->n_pfx; i++) {
		const struct sel *s = &r->pfx[i].sel;

		if (!s->present)
			continue;
		if (n < cap)
			out[n] = (struct ny_router_fwd){.prefix = r->pfx[i].cidr, .nh_node = rt_sel_nh(r, s),
							.blackhole = s->metric == NY_ROUTE_INF,
							.exit = s->nh == r->self && s->metric != NY_ROUTE_INF,
							.metric = s->metric};
		n++;
	}
	return n;
}

size_t ny_router_selected_routes(const struct ny_router *r, struct ny_router_route_info *out, size_t cap)
{
	size_t n = 0;

	for (uint32_t i = 0; i < r->n_pfx; i++) {
		const struct sel *s = &r->pfx[i].sel;

		if (!s->present)
			continue;
		if (n < cap)
			out[n] = (struct ny_router_route_info){.prefix = r->pfx[i].cidr, .source_node = s->src,
								.seqno = s->seqno, .metric = s->metric,
								.nh_node = rt_sel_nh(r, s), .expire_at = s->expire,
								.retracted_by = s->n_retracted};
		n++;
	}
	return n;
}

size_t ny_router_sources(const struct ny_router *r, struct ny_router_source_info *out, size_t cap)
{
	size_t n = 0;

	for (uint32_t i = 0; i < r->n_pfx; i++)
		for (uint32_t j = 0; j < r->pfx[i].n_fd; j++, n++)
			if (n < cap)
				out[n] = (struct ny_router_source_info){.prefix = r->pfx[i].cidr,
									 .router_node = r->pfx[i].fds[j].src,
									 .seqno = r->pfx[i].fds[j].seqno,
									 .metric = r->pfx[i].fds[j].metric};
	return n;
}

size_t ny_router_self_seqnos(const struct ny_router *r, struct ny_router_self_seqno *out, size_t cap)
{
	size_t n = 0;

	for (uint32_t i = 0; i < r->n_pfx; i++) {
		if (!r->pfx[i].adv.present && r->pfx[i].self_seqno == 0)
			continue;
		if (n < cap)
			out[n] = (struct ny_router_self_seqno){.prefix = r->pfx[i].cidr, .seqno = r->pfx[i].self_seqno};
		n++;
	}
	return n;
}

size_t ny_router_neighbour_routes(const struct ny_router *r, size_t nb, struct ny_router_nb_route_info *out,
				  size_t cap)
{
	size_t n = 0;

	for (uint32_t i = 0; i < r->n_pfx; i++) {
		const struct pfx *p = &r->pfx[i];

		for (uint32_t j = 0; j < p->n_nbr; j++) {
			if (p->nbr[j].nb != nb)
				continue;
			if (n < cap)
				out[n] = (struct ny_router_nb_route_info){.prefix = p->cidr,
									   .router_node = p->nbr[j].src,
									   .seqno = p->nbr[j].seqno,
									   .metric = p->nbr[j].metric,
									   .expire_at = p->nbr[j].expire};
			n++;
		}
	}
	return n;
}

size_t ny_router_advertised(const struct ny_router *r, struct ny_router_advert_info *out, size_t cap)
{
	size_t n = 0;

	for (uint32_t i = 0; i < r->n_pfx; i++) {
		const struct advert *a = &r->pfx[i].adv;

		if (!a->present)
			continue;
		if (n < cap)
			out[n] = (struct ny_router_advert_info){.prefix = r->pfx[i].cidr, .owner_node = a->owner,
								 .metric = a->metric, .expiry = a->expiry,
								 .passive_hold = a->passive_hold};
		n++;
	}
	return n;
}

size_t ny_router_retracted_by(const struct ny_router *r, const struct ny_conf_cidr *prefix, size_t *nb_out,
			      size_t cap)
{
	uint32_t pid = rt_pfx_find(r, prefix);
	const struct sel *s;

	if (pid == NONE32)
		return 0;
	s = &r->pfx[pid].sel;
	if (!s->present)
		return 0;
	for (uint32_t i = 0; i < s->n_retracted && i < cap; i++)
		nb_out[i] = s->retracted_by[i];
	return s->n_retracted;
}

uint32_t ny_router_link_metric(const struct ny_router *r, size_t nb)
{
	return nb < r->n_nbs ? r->nbs[nb].link : NY_ROUTE_INF;
}

size_t ny_router_neighbour_node(const struct ny_router *r, size_t nb)
{
	return nb < r->n_nbs ? r->nbs[nb].node : SIZE_MAX;
}

const char *ny_router_node_id(const struct ny_router *r, size_t node)
{
	return node < r->n_nodes ? r->nodes[node].id : NULL;
}

void ny_router_get_counters(const struct ny_router *r, struct ny_router_counters *out)
{
	*out = r->c;
}
