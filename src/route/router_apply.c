/* Live reconfiguration (reference §5.1 live apply): a new router is built from the new configuration and the old
 * one's state is carried over to it by node id and prefix, then ComputeRoutes (reference §3.5) runs over every
 * prefix. The rules are in nylon/router.h at ny_router_reconfigure(). Context: babel thread.
 *
 * Everything is allocated in the new router before the old one is touched; only then are the two swapped, so an
 * allocation failure leaves the running router as it was.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "route/router_internal.h"

/* Old index → new index (NONE32: gone). */
struct remap {
	uint32_t *node;
	uint32_t *pid;
	uint32_t *slot;
};

static void remap_free(struct remap *m)
{
	free(m->node);
	free(m->pid);
	free(m->slot);
}

/* A node is kept when the new configuration has its id with the same role (router / client). */
static int remap_build(struct remap *m, const struct ny_router *o, const struct ny_router *n)
{
	m->node = malloc(((size_t)o->n_nodes + 1) * sizeof(*m->node));
	m->pid = malloc(((size_t)o->n_pfx + 1) * sizeof(*m->pid));
	m->slot = malloc(((size_t)o->n_nbs + 1) * sizeof(*m->slot));
	if (!m->node || !m->pid || !m->slot)
		return -ENOMEM;
	for (uint32_t i = 0; i < o->n_nodes; i++) {
		uint32_t k = rt_node_find(n, o->nodes[i].id);

		m->node[i] = k != NONE32 && n->nodes[k].is_client == o->nodes[i].is_client ? k : NONE32;
	}
	for (uint32_t i = 0; i < o->n_pfx; i++)
		m->pid[i] = rt_pfx_find(n, &o->pfx[i].cidr);
	for (uint32_t i = 0; i < o->n_nbs; i++) {
		uint32_t k = m->node[o->nbs[i].node];

		m->slot[i] = k == NONE32 ? NONE32 : n->nb_of_node[k];
	}
	return 0;
}

static uint32_t map_node(const struct remap *m, uint32_t node)
{
	return node == NONE32 ? NONE32 : m->node[node];
}

/* ---- per prefix: neighbour routes, sources, de-dup, selected route ---- */

static int nbr_cmp(const void *a, const void *b)
{
	const struct nbroute *x = a, *y = b;

	return x->nb < y->nb ? -1 : x->nb > y->nb;
}

static int move_nbr(struct pfx *np, const struct pfx *op, const struct remap *m)
{
	np->nbr = malloc(((size_t)op->n_nbr + 1) * sizeof(*np->nbr));
	if (!np->nbr)
		return -ENOMEM;
	np->cap_nbr = op->n_nbr + 1;
	for (uint32_t i = 0; i < op->n_nbr; i++) {
		struct nbroute e = op->nbr[i];

		e.nb = m->slot[e.nb];
		e.src = m->node[e.src];
		if (e.nb != NONE32 && e.src != NONE32)
			np->nbr[np->n_nbr++] = e;
	}
	/* kept sorted by slot, which now follows the new configured order */
	qsort(np->nbr, np->n_nbr, sizeof(*np->nbr), nbr_cmp);
	return 0;
}

static int move_fds_dedup(struct pfx *np, const struct pfx *op, const struct remap *m)
{
	np->fds = malloc(((size_t)op->n_fd + 1) * sizeof(*np->fds));
	np->dd = malloc(((size_t)op->n_dd + 1) * sizeof(*np->dd));
	if (!np->fds || !np->dd)
		return -ENOMEM;
	np->cap_fd = op->n_fd + 1;
	np->cap_dd = op->n_dd + 1;
	for (uint32_t i = 0; i < op->n_fd; i++) {
		struct fd f = op->fds[i];

		f.src = m->node[f.src];
		if (f.src != NONE32)
			np->fds[np->n_fd++] = f;
	}
	for (uint32_t i = 0; i < op->n_dd; i++) {
		struct dedup d = op->dd[i];

		d.nb = m->slot[d.nb];
		d.src = m->node[d.src];
		if (d.nb != NONE32 && d.src != NONE32)
			np->dd[np->n_dd++] = d;
	}
	return 0;
}

/* The selected route survives if its router id does; a next hop that left becomes NONE32 (the route will be held).
 * Without its router id it cannot be held (no id to retract under): it was retracted by bye_prefix(). */
static int move_sel(struct pfx *np, const struct pfx *op, const struct remap *m)
{
	const struct sel *os = &op->sel;
	struct sel *ns = &np->sel;

	np->fwd_present = op->fwd_present;
	np->fwd_blackhole = op->fwd_blackhole;
	np->fwd_nh = map_node(m, op->fwd_nh);
	if (!os->present || m->node[os->src] == NONE32)
		return 0;
	*ns = *os;
	ns->src = m->node[os->src];
	ns->nh = map_node(m, os->nh);
	ns->retracted_by = NULL;
	ns->n_retracted = ns->cap_retracted = 0;
	if (!os->n_retracted)
		return 0;
	ns->retracted_by = malloc(os->n_retracted * sizeof(*ns->retracted_by));
	if (!ns->retracted_by)
		return -ENOMEM;
	ns->cap_retracted = os->n_retracted;
	for (uint32_t i = 0; i < os->n_retracted; i++)
		if (m->slot[os->retracted_by[i]] != NONE32)
			ns->retracted_by[ns->n_retracted++] = m->slot[os->retracted_by[i]];
	return 0;
}

/* A client's advertisement is kept while the client is and still configures the prefix (its new metric applies). */
static void move_client_adv(struct ny_router *n, struct pfx *np, const struct pfx *op, const struct remap *m)
{
	uint32_t owner = map_node(m, op->adv.owner), pid = (uint32_t)(np - n->pfx);
	const struct rnode *c;

	if (!op->adv.present || owner == NONE32 || owner == n->self)
		return; /* self's advertisements follow the new configuration: set_self_adverts() */
	c = &n->nodes[owner];
	for (uint32_t j = 0; j < c->n_pids; j++) {
		if (c->pids[j] != pid)
			continue;
		np->adv = op->adv;
		np->adv.owner = owner;
		np->adv.metric = c->metrics[j];
		return;
	}
}

static int move_prefixes(struct ny_router *n, const struct ny_router *o, const struct remap *m)
{
	for (uint32_t i = 0; i < o->n_pfx; i++) {
		const struct pfx *op = &o->pfx[i];
		struct pfx *np;

		if (m->pid[i] == NONE32)
			continue;
		np = &n->pfx[m->pid[i]];
		np->self_seqno = op->self_seqno;
		if (move_nbr(np, op, m) || move_fds_dedup(np, op, m) || move_sel(np, op, m))
			return -ENOMEM;
		move_client_adv(n, np, op, m);
	}
	return 0;
}

/* Self's advertisements: a kept one keeps its (health-checked) metric unless the configured metric changed. */
static void set_self_adverts(struct ny_router *n, const struct ny_router *o, const struct remap *m)
{
	const struct rnode *os = &o->nodes[o->self], *ns = &n->nodes[n->self];

	for (uint32_t j = 0; j < ns->n_pids; j++) {
		struct pfx *np = &n->pfx[ns->pids[j]];
		uint32_t metric = ns->metrics[j];

		if (np->adv.present)
			continue; /* a kept client's advertisement of the same prefix, as the client check left it */
		for (uint32_t k = 0; k < os->n_pids; k++) {
			const struct pfx *op = &o->pfx[os->pids[k]];

			if (m->pid[os->pids[k]] == ns->pids[j] && os->metrics[k] == metric && op->adv.present &&
			    op->adv.owner == o->self)
				metric = op->adv.metric;
		}
		np->adv = (struct advert){.present = true, .owner = n->self, .metric = metric, .expiry = UINT64_MAX};
	}
}

/* ---- per neighbour: link, client state, queued messages ---- */

static bool msg_kept(const struct qmsg *q, const struct remap *m, struct qmsg *out)
{
	*out = *q;
	out->pid = m->pid[q->pid];
	if (out->pid == NONE32)
		return false;
	if (q->type == NY_ROUTE_MSG_ACK_RETRACT)
		return true;
	out->src = m->node[q->src];
	return out->src != NONE32;
}

static int move_queues(struct nbr_state *nn, const struct nbr_state *on, const struct remap *m)
{
	struct qmsg q;

	nn->upd = malloc(((size_t)on->n_upd + 1) * sizeof(*nn->upd));
	nn->req = malloc(((size_t)on->n_req + 1) * sizeof(*nn->req));
	nn->acks = malloc(((size_t)on->n_acks + 1) * sizeof(*nn->acks));
	nn->ready = malloc((on->n_ready - on->head_ready + 1) * sizeof(*nn->ready));
	if (!nn->upd || !nn->req || !nn->acks || !nn->ready)
		return -ENOMEM;
	nn->cap_upd = on->n_upd + 1;
	nn->cap_req = on->n_req + 1;
	nn->cap_acks = on->n_acks + 1;
	nn->cap_ready = on->n_ready - on->head_ready + 1;
	for (uint32_t i = 0; i < on->n_upd; i++)
		if (msg_kept(&on->upd[i], m, &q)) {
			nn->upd[nn->n_upd++] = q;
			nn->upd_pos[q.pid] = nn->n_upd;
		}
	for (uint32_t i = 0; i < on->n_req; i++)
		if (msg_kept(&on->req[i], m, &q))
			nn->req[nn->n_req++] = q;
	for (uint32_t i = 0; i < on->n_acks; i++) {
		uint32_t pid = m->pid[on->acks[i]];

		if (pid != NONE32) {
			nn->acks[nn->n_acks++] = pid;
			nn->ack_set[pid] = 1;
		}
	}
	for (size_t i = on->head_ready; i < on->n_ready; i++)
		if (msg_kept(&on->ready[i], m, &q))
			nn->ready[nn->n_ready++] = q;
	return 0;
}

static int move_neighbours(struct ny_router *n, const struct ny_router *o, const struct remap *m)
{
	for (uint32_t i = 0; i < o->n_nbs; i++) {
		const struct nbr_state *on = &o->nbs[i];
		struct nbr_state *nn;

		if (m->slot[i] == NONE32)
			continue; /* removed: its outbox goes, its routes were not carried over */
		nn = &n->nbs[m->slot[i]];
		nn->link = on->link;
		nn->heard = on->heard;
		nn->last_heard = on->last_heard;
		if (nn->is_client)
			continue;
		if (nn->link != NY_ROUTE_INF)
			n->connected++;
		if (move_queues(nn, on, m))
			return -ENOMEM;
	}
	return 0;
}

/* ---- retractions the new tables cannot express ---- */

/* A finite selected route whose router id or prefix is gone: its retraction names them, so it is encoded now. */
static bool needs_bye(const struct ny_router *o, uint32_t i, const struct remap *m)
{
	const struct sel *s = &o->pfx[i].sel;

	return s->present && s->metric != NY_ROUTE_INF && (m->pid[i] == NONE32 || m->node[s->src] == NONE32);
}

/* Retractions not yet taken from a kept neighbour's outbox stay queued, ahead of the new ones. */
static int queue_byes(struct ny_router *n, const struct ny_router *o, const struct remap *m)
{
	size_t count = 0;

	for (uint32_t i = 0; i < o->n_pfx; i++)
		count += needs_bye(o, i, m);
	for (uint32_t i = 0; i < o->n_nbs; i++) {
		const struct nbr_state *on = &o->nbs[i];
		size_t left = on->n_bye - on->head_bye;
		struct nbr_state *nn;

		if (m->slot[i] == NONE32 || !rt_nb_active(o, i) || !(count + left))
			continue; /* a link that is down gets the full table, without these prefixes, once up */
		nn = &n->nbs[m->slot[i]];
		nn->bye = calloc(count + left, sizeof(*nn->bye));
		if (!nn->bye)
			return -ENOMEM;
		if (left)
			memcpy(nn->bye, on->bye + on->head_bye, left * sizeof(*nn->bye));
		nn->n_bye = left;
		for (uint32_t p = 0; p < o->n_pfx; p++) {
			const struct sel *s = &o->pfx[p].sel;
			struct ny_route_msg *msg = &nn->bye[nn->n_bye];

			if (!needs_bye(o, p, m))
				continue;
			msg->type = NY_ROUTE_MSG_UPDATE;
			strncpy(msg->router_id, o->nodes[s->src].id, NY_ROUTE_ID_MAX);
			msg->prefix = o->pfx[p].cidr;
			msg->seqno = s->seqno;
			msg->metric = NY_ROUTE_INF;
			nn->n_bye++;
		}
	}
	return 0;
}

/* Forwarding entries of prefixes that disappear or lose their selected route with their router id. */
static uint32_t dropped_entries(const struct ny_router *o, const struct remap *m)
{
	uint32_t count = 0;

	for (uint32_t i = 0; i < o->n_pfx; i++)
		count += o->pfx[i].fwd_present && m->pid[i] == NONE32;
	return count;
}

static int migrate(struct ny_router *n, const struct ny_router *o, const struct remap *m)
{
	uint32_t gone;

	if (move_prefixes(n, o, m) || move_neighbours(n, o, m) || queue_byes(n, o, m))
		return -ENOMEM;
	set_self_adverts(n, o, m);
	n->next_starve = o->next_starve;
	n->next_dump = o->next_dump;
	n->next_gc = o->next_gc;
	n->next_client = o->next_client;
	n->next_flush = o->next_flush;
	n->c = o->c;
	gone = dropped_entries(o, m);
	n->generation = o->generation + (gone ? 1 : 0);
	n->c.route_changes += gone;
	return 0;
}

int ny_router_reconfigure(struct ny_router *r, const struct ny_router_config *cfg, uint64_t now)
{
	struct ny_router n = {0};
	struct remap m = {0};
	const char *self_id;
	int err;

	if (!cfg || cfg->self >= cfg->n_nodes)
		return -EINVAL;
	self_id = cfg->nodes[cfg->self].id ? cfg->nodes[cfg->self].id : "";
	if (strcmp(self_id, r->nodes[r->self].id) != 0)
		return -EINVAL;
	err = rt_build(&n, cfg);
	if (!err)
		err = remap_build(&m, r, &n);
	if (!err)
		err = migrate(&n, r, &m);
	remap_free(&m);
	if (err) {
		rt_release(&n);
		return err;
	}
	rt_release(r);
	*r = n;
	rt_compute_all(r, now);
	return 0;
}
