/* Per-neighbour I/O batching (reference §3.2): pending updates de-duplicated per prefix (latest wins), seqno
 * requests merged per source (lowest seqno, highest hop count) behind a 3 s de-dup cache, acks as a set; a flush
 * moves them, in the order seqno requests, updates, acks, to the neighbour's ready queue, only while its link is up.
 * Context: babel thread.
 */
#include <stdlib.h>
#include <string.h>

#include "route/router_internal.h"

static bool is_router_nb(const struct ny_router *r, uint32_t nb)
{
	return nb < r->n_nbs && !r->nbs[nb].is_client;
}

void rt_send_update(struct ny_router *r, uint32_t nb, uint32_t pid, uint32_t src, uint16_t seqno, uint32_t metric)
{
	struct nbr_state *n = &r->nbs[nb];
	struct qmsg m = {.type = NY_ROUTE_MSG_UPDATE, .pid = pid, .src = src, .seqno = seqno, .metric = metric};

	if (!is_router_nb(r, nb))
		return;
	if (n->upd_pos[pid]) {
		n->upd[n->upd_pos[pid] - 1] = m;
		return;
	}
	if (!rt_grow((void **)&n->upd, &n->cap_upd, n->n_upd + 1, sizeof(*n->upd))) {
		r->oom = true;
		return;
	}
	n->upd[n->n_upd++] = m;
	n->upd_pos[pid] = n->n_upd;
}

/* Broadcast = every configured router neighbour (reference: BroadcastUsesConfiguredNeighbours); a neighbour whose
 * link is down keeps it pending and is flushed only once the link is back (it also gets the full table then). */
void rt_broadcast_update(struct ny_router *r, uint32_t pid, uint32_t src, uint16_t seqno, uint32_t metric)
{
	for (uint32_t nb = 0; nb < r->n_nbs; nb++)
		rt_send_update(r, nb, pid, src, seqno, metric);
}

void rt_advertise(struct ny_router *r, uint32_t nb_or_all, uint32_t pid)
{
	struct pfx *p = &r->pfx[pid];
	const struct sel *s = &p->sel;

	if (!s->present)
		return;
	rt_fd_update(r, p, s->src, s->seqno, s->metric);
	if (nb_or_all == ALL_NB)
		rt_broadcast_update(r, pid, s->src, s->seqno, s->metric);
	else
		rt_send_update(r, nb_or_all, pid, s->src, s->seqno, s->metric);
}

/* The 3 s de-dup: skipped if a request with an equal or newer seqno went to this neighbour within the TTL. */
static bool dedup_check(struct ny_router *r, struct pfx *p, uint32_t nb, uint32_t src, uint16_t seqno, uint64_t now)
{
	struct dedup *d = NULL;

	for (uint32_t i = 0; i < p->n_dd; i++)
		if (p->dd[i].nb == nb && p->dd[i].src == src)
			d = &p->dd[i];
	if (d && now < d->at + r->t.seqno_dedup_ns && ny_route_seqno_le(seqno, d->seqno))
		return false;
	if (!d) {
		if (!rt_grow((void **)&p->dd, &p->cap_dd, p->n_dd + 1, sizeof(*p->dd))) {
			r->oom = true;
			return false;
		}
		d = &p->dd[p->n_dd++];
	}
	*d = (struct dedup){.nb = nb, .src = src, .seqno = seqno, .at = now};
	return true;
}

void rt_dedup_prune(struct ny_router *r, struct pfx *p, uint64_t now)
{
	uint32_t k = 0;

	for (uint32_t i = 0; i < p->n_dd; i++)
		if (now < p->dd[i].at + r->t.seqno_dedup_ns)
			p->dd[k++] = p->dd[i];
	p->n_dd = k;
}

bool rt_request_seqno(struct ny_router *r, uint32_t nb, uint32_t pid, uint32_t src, uint16_t seqno, uint32_t hop,
		      uint64_t now)
{
	struct nbr_state *n = &r->nbs[nb];

	if (!is_router_nb(r, nb))
		return false;
	if (!dedup_check(r, &r->pfx[pid], nb, src, seqno, now)) {
		r->c.seqno_req_deduped++;
		return false;
	}
	for (uint32_t i = 0; i < n->n_req; i++) {
		struct qmsg *q = &n->req[i];

		if (q->pid != pid || q->src != src)
			continue;
		if (ny_route_seqno_lt(seqno, q->seqno))
			q->seqno = seqno;
		if (hop > q->metric)
			q->metric = hop;
		return true;
	}
	if (!rt_grow((void **)&n->req, &n->cap_req, n->n_req + 1, sizeof(*n->req))) {
		r->oom = true;
		return false;
	}
	n->req[n->n_req++] = (struct qmsg){.type = NY_ROUTE_MSG_SEQNO_REQUEST, .pid = pid, .src = src,
					   .seqno = seqno, .metric = hop};
	return true;
}

void rt_broadcast_request(struct ny_router *r, uint32_t pid, uint32_t src, uint16_t seqno, uint32_t hop,
			  uint64_t now)
{
	for (uint32_t nb = 0; nb < r->n_nbs; nb++)
		if (rt_request_seqno(r, nb, pid, src, seqno, hop, now))
			r->c.seqno_req_originated++;
}

void rt_send_ack(struct ny_router *r, uint32_t nb, uint32_t pid)
{
	struct nbr_state *n = &r->nbs[nb];

	if (!is_router_nb(r, nb) || n->ack_set[pid])
		return;
	if (!rt_grow((void **)&n->acks, &n->cap_acks, n->n_acks + 1, sizeof(*n->acks))) {
		r->oom = true;
		return;
	}
	n->acks[n->n_acks++] = pid;
	n->ack_set[pid] = 1;
}

void rt_push_full_table(struct ny_router *r, uint32_t nb)
{
	for (uint32_t i = 0; i < r->n_pfx; i++)
		rt_advertise(r, nb, i);
}

void rt_outbox_clear(struct ny_router *r, uint32_t nb)
{
	struct nbr_state *n = &r->nbs[nb];

	for (uint32_t i = 0; i < n->n_upd; i++)
		n->upd_pos[n->upd[i].pid] = 0;
	for (uint32_t i = 0; i < n->n_acks; i++)
		n->ack_set[n->acks[i]] = 0;
	n->n_upd = n->n_req = n->n_acks = 0;
	n->n_ready = n->head_ready = 0;
	n->n_bye = n->head_bye = 0;
}

static bool ready_reserve(struct nbr_state *n, size_t more)
{
	size_t need, ncap;
	struct qmsg *p;

	if (n->head_ready && n->head_ready == n->n_ready)
		n->head_ready = n->n_ready = 0;
	need = n->n_ready + more;
	if (need <= n->cap_ready)
		return true;
	ncap = n->cap_ready ? n->cap_ready : 16;
	while (ncap < need)
		ncap *= 2;
	p = realloc(n->ready, ncap * sizeof(*p));
	if (!p)
		return false;
	n->ready = p;
	n->cap_ready = ncap;
	return true;
}

static void flush_one(struct ny_router *r, uint32_t nb)
{
	struct nbr_state *n = &r->nbs[nb];

	if (!n->n_req && !n->n_upd && !n->n_acks)
		return;
	if (!ready_reserve(n, (size_t)n->n_req + n->n_upd + n->n_acks)) {
		r->oom = true;
		return;
	}
	if (n->n_req) /* memcpy from NULL is undefined even for 0 bytes */
		memcpy(n->ready + n->n_ready, n->req, n->n_req * sizeof(*n->req));
	n->n_ready += n->n_req;
	if (n->n_upd)
		memcpy(n->ready + n->n_ready, n->upd, n->n_upd * sizeof(*n->upd));
	n->n_ready += n->n_upd;
	for (uint32_t i = 0; i < n->n_upd; i++)
		n->upd_pos[n->upd[i].pid] = 0;
	for (uint32_t i = 0; i < n->n_acks; i++) {
		n->ready[n->n_ready++] = (struct qmsg){.type = NY_ROUTE_MSG_ACK_RETRACT, .pid = n->acks[i]};
		n->ack_set[n->acks[i]] = 0;
	}
	n->n_req = n->n_upd = n->n_acks = 0;
}

void rt_flush(struct ny_router *r)
{
	for (uint32_t nb = 0; nb < r->n_nbs; nb++)
		if (rt_nb_active(r, nb))
			flush_one(r, nb);
}

size_t ny_router_take_outbox(struct ny_router *r, size_t nb, struct ny_route_msg *out, size_t cap)
{
	struct nbr_state *n;
	size_t k = 0;

	if (nb >= r->n_nbs)
		return 0;
	n = &r->nbs[nb];
	for (; k < cap && n->head_bye < n->n_bye; k++) {
		out[k] = n->bye[n->head_bye++];
		r->c.tx_update++;
	}
	if (n->head_bye == n->n_bye)
		n->head_bye = n->n_bye = 0;
	for (; k < cap && n->head_ready < n->n_ready; k++) {
		const struct qmsg *q = &n->ready[n->head_ready++];
		struct ny_route_msg *m = &out[k];

		memset(m, 0, sizeof(*m));
		m->type = (enum ny_route_msg_type)q->type;
		m->prefix = r->pfx[q->pid].cidr;
		if (q->type == NY_ROUTE_MSG_ACK_RETRACT) {
			r->c.tx_ack_retract++;
			continue;
		}
		strncpy(m->router_id, r->nodes[q->src].id, NY_ROUTE_ID_MAX);
		m->seqno = q->seqno;
		if (q->type == NY_ROUTE_MSG_UPDATE) {
			m->metric = q->metric;
			r->c.tx_update++;
		} else {
			m->hop_count = q->metric;
			r->c.tx_seqno_request++;
		}
	}
	if (n->head_ready == n->n_ready)
		n->head_ready = n->n_ready = 0;
	return k;
}
