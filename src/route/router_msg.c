/* Receive handlers (reference §3.5: update, seqno request, AckRetract) and starvation (RFC 8966 §3.8.2.1).
 * Context: babel thread.
 */
#include <string.h>

#include "route/router_internal.h"

static bool nbr_insert(struct ny_router *r, struct pfx *p, const struct nbroute *e)
{
	uint32_t at = 0;

	if (!rt_grow((void **)&p->nbr, &p->cap_nbr, p->n_nbr + 1, sizeof(*p->nbr))) {
		r->oom = true;
		return false;
	}
	while (at < p->n_nbr && p->nbr[at].nb < e->nb)
		at++; /* kept in neighbour slot order = configured order */
	memmove(&p->nbr[at + 1], &p->nbr[at], (p->n_nbr - at) * sizeof(*p->nbr));
	p->nbr[at] = *e;
	p->n_nbr++;
	return true;
}

static uint16_t fd_seqno(struct pfx *p, uint32_t src)
{
	const struct fd *fd = rt_fd_find(p, src);

	return fd ? fd->seqno : 0;
}

/* RFC 8966 §3.8.2.2: a unicast request to the neighbour that sent an unfeasible update, for FD.seqno+1. */
static void request_from(struct ny_router *r, uint32_t nb, uint32_t pid, uint32_t src, uint64_t now)
{
	if (rt_request_seqno(r, nb, pid, src, (uint16_t)(fd_seqno(&r->pfx[pid], src) + 1), r->t.seqno_hop_count, now))
		r->c.seqno_req_originated++;
}

/* RFC 8966 §3.5.3 route acquisition, as reference §3.5 "Update receive". */
static void handle_update(struct ny_router *r, uint32_t nb, uint32_t pid, uint32_t src, const struct ny_route_msg *m,
			  uint64_t now)
{
	struct pfx *p = &r->pfx[pid];
	struct nbroute *e = rt_nbr_find(p, nb);

	if (m->metric == NY_ROUTE_INF)
		rt_send_ack(r, nb, pid); /* always: the implicit ack of reference §3.9 */
	if (!e) {
		struct nbroute ne = {.nb = nb, .src = src, .seqno = m->seqno, .metric = m->metric,
				     .expire = now + r->t.route_expiry_ns};

		/* Deviation: RFC 8966 §3.5.3 lets an unfeasible new update be ignored, and Go does. We keep it
		 * (it is never selected while unfeasible) so that starvation sees it and requests a new seqno at
		 * once; ignoring it left the far side of a ring unreachable until the stale source expired
		 * (2 x route_expiry_ns). */
		if (m->metric == NY_ROUTE_INF || !nbr_insert(r, p, &ne))
			return;
	} else {
		if (!rt_feasible(p, src, m->seqno, m->metric)) {
			const struct sel *s = &p->sel;
			bool selected = s->present && s->nh == r->nbs[nb].node && s->src == e->src && src == e->src;
			uint32_t total = rt_nb_cost(r, nb, m->metric);

			if (selected) {
				request_from(r, nb, pid, src, now);
				return; /* conservative: keep the selected route rather than lose it */
			}
			/* Go compared the advertised metric with the selected total here; compare totals. */
			if (s->present && total < s->metric)
				request_from(r, nb, pid, src, now);
		}
		e->src = src;
		e->seqno = m->seqno;
		e->metric = m->metric;
		if (m->metric != NY_ROUTE_INF)
			e->expire = now + r->t.route_expiry_ns;
	}
	rt_compute(r, pid, now);
}

/* Forward to a neighbour other than the requester with an active link and a finite feasible route, else any finite
 * route (RFC 8966 §3.8.1.2). Go's first pass could pick the requester; retracted (INF) routes are never used. */
static uint32_t forward_target(struct ny_router *r, struct pfx *p, uint32_t from)
{
	uint32_t fallback = NONE32;

	for (uint32_t i = 0; i < p->n_nbr; i++) {
		const struct nbroute *e = &p->nbr[i];

		if (e->nb == from || !rt_nb_active(r, e->nb) || e->metric == NY_ROUTE_INF)
			continue;
		if (rt_feasible(p, e->src, e->seqno, e->metric))
			return e->nb;
		if (fallback == NONE32)
			fallback = e->nb;
	}
	return fallback;
}

static void handle_seqno_request(struct ny_router *r, uint32_t nb, uint32_t pid, uint32_t src,
				 const struct ny_route_msg *m, uint64_t now)
{
	struct pfx *p = &r->pfx[pid];
	const struct sel *s = &p->sel;
	uint32_t to;

	if (!s->present)
		return;
	if (s->metric != NY_ROUTE_INF && (s->src != src || ny_route_seqno_le(m->seqno, s->seqno)))
		rt_advertise(r, nb, pid);
	if (s->src != src || !ny_route_seqno_lt(s->seqno, m->seqno))
		return;
	if (src == r->self) {
		/* A jump to the requested seqno, not +1: seqnos are not persisted (reference §3.9). */
		p->self_seqno = m->seqno;
		rt_emit(r, NY_ROUTER_EV_SEQNO_BUMPED, pid, src, s->nh, m->seqno, s->metric);
		rt_compute(r, pid, now);
		return;
	}
	if (m->hop_count < 2)
		return;
	to = forward_target(r, p, nb);
	if (to != NONE32 && rt_request_seqno(r, to, pid, src, m->seqno, m->hop_count - 1, now))
		r->c.seqno_req_forwarded++;
}

static void handle_ack(struct ny_router *r, uint32_t nb, uint32_t pid, uint64_t now)
{
	struct sel *s = &r->pfx[pid].sel;

	if (!s->present || s->metric != NY_ROUTE_INF)
		return; /* only a held route is waiting for acks */
	for (uint32_t i = 0; i < s->n_retracted; i++)
		if (s->retracted_by[i] == nb)
			return;
	if (!rt_grow((void **)&s->retracted_by, &s->cap_retracted, s->n_retracted + 1, sizeof(*s->retracted_by))) {
		r->oom = true;
		return;
	}
	s->retracted_by[s->n_retracted++] = nb;
	rt_compute(r, pid, now);
}

void ny_router_receive(struct ny_router *r, size_t nb, const struct ny_route_msg *m, uint64_t now)
{
	uint32_t pid, src = NONE32;

	if (nb >= r->n_nbs) {
		r->c.drop_bad_neighbour++;
		return;
	}
	if (m->type == NY_ROUTE_MSG_PROBE) {
		r->c.rx_ignored_probe++;
		return;
	}
	if (r->nbs[nb].is_client) {
		r->c.drop_from_client++;
		return;
	}
	if (m->type != NY_ROUTE_MSG_UPDATE && m->type != NY_ROUTE_MSG_SEQNO_REQUEST &&
	    m->type != NY_ROUTE_MSG_ACK_RETRACT) {
		r->c.drop_bad_type++;
		return;
	}
	pid = rt_pfx_find(r, &m->prefix);
	if (pid == NONE32) {
		r->c.drop_unknown_prefix++;
		return;
	}
	if (m->type != NY_ROUTE_MSG_ACK_RETRACT) {
		char id[NY_ROUTE_ID_MAX + 1];

		memcpy(id, m->router_id, NY_ROUTE_ID_MAX);
		id[NY_ROUTE_ID_MAX] = '\0';
		src = rt_node_find(r, id);
		if (src == NONE32) {
			r->c.drop_unknown_router++;
			return;
		}
	}
	switch (m->type) {
	case NY_ROUTE_MSG_UPDATE:
		r->c.rx_update++;
		handle_update(r, (uint32_t)nb, pid, src, m, now);
		break;
	case NY_ROUTE_MSG_SEQNO_REQUEST:
		r->c.rx_seqno_request++;
		handle_seqno_request(r, (uint32_t)nb, pid, src, m, now);
		break;
	default:
		r->c.rx_ack_retract++;
		handle_ack(r, (uint32_t)nb, pid, now);
		break;
	}
}

/* ---- starvation (reference §3.5 SolveStarvation) ---- */

/* Does the source of entry i have a finite route over an active link but no feasible one? Retracted (INF) routes
 * are ignored: a source that is simply gone is not starvation. */
static bool source_starving(const struct ny_router *r, struct pfx *p, uint32_t i)
{
	uint32_t src = p->nbr[i].src;

	for (uint32_t j = 0; j < p->n_nbr; j++) {
		const struct nbroute *e = &p->nbr[j];

		if (e->src != src || e->metric == NY_ROUTE_INF || !rt_nb_active(r, e->nb))
			continue;
		if (j < i)
			return false; /* this source was examined at its first entry */
		if (rt_feasible(p, e->src, e->seqno, e->metric))
			return false;
	}
	return p->nbr[i].metric != NY_ROUTE_INF && rt_nb_active(r, p->nbr[i].nb);
}

/* Returns whether the prefix is starving; broadcasts the requests (FD.seqno+1, hop 64, de-duplicated). */
static bool starve_prefix(struct ny_router *r, uint32_t pid, uint64_t now)
{
	struct pfx *p = &r->pfx[pid];
	bool starving = false;

	for (uint32_t i = 0; i < p->n_nbr; i++) {
		uint32_t src = p->nbr[i].src;

		if (src == r->self || !source_starving(r, p, i))
			continue;
		starving = true;
		rt_broadcast_request(r, pid, src, (uint16_t)(fd_seqno(p, src) + 1), r->t.seqno_hop_count, now);
	}
	return starving;
}

void rt_solve_starvation(struct ny_router *r, uint64_t now)
{
	uint32_t k = 0;

	for (uint32_t i = 0; i < r->n_starve; i++) {
		uint32_t pid = r->starve_list[i];
		struct pfx *p = &r->pfx[pid];

		p->starve_dirty = false;
		p->starving = starve_prefix(r, pid, now);
		if (p->starving)
			r->starve_list[k++] = pid;
	}
	r->n_starve = k;
}
