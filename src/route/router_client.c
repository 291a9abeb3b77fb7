/* Passive clients and the hold (reference §3.6): a gateway originates a client's prefixes under its own router id
 * while the client is heard, holds them at INFM/2 while it sleeps, and lets them expire once another router
 * advertises them (roaming). Context: babel thread.
 */
#include "route/router_internal.h"

/* Some neighbour holds a finite route for one of the client's prefixes from a router id other than ours. */
static bool has_other_advertiser(const struct ny_router *r, const struct rnode *client)
{
	for (uint32_t j = 0; j < client->n_pids; j++) {
		const struct pfx *p = &r->pfx[client->pids[j]];

		for (uint32_t i = 0; i < p->n_nbr; i++)
			if (p->nbr[i].src != r->self && p->nbr[i].metric != NY_ROUTE_INF)
				return true;
	}
	return false;
}

void rt_client_check(struct ny_router *r, uint32_t nb, uint64_t now)
{
	const struct nbr_state *n = &r->nbs[nb];
	const struct rnode *client = &r->nodes[n->node];
	bool recent = n->heard && now - n->last_heard < r->t.client_dead_ns;
	bool other = has_other_advertiser(r, client);

	for (uint32_t j = 0; j < client->n_pids; j++) {
		uint32_t pid = client->pids[j];
		struct pfx *p = &r->pfx[pid];
		bool alive = p->adv.present && p->adv.owner == n->node && now <= p->adv.expiry;
		bool was_hold = alive && p->adv.passive_hold;

		if (!recent && (other || !alive))
			continue; /* not refreshed: the advertisement expires within client_keepalive_ns */
		if (!recent && !was_hold) {
			/* first transition into hold: a new seqno makes the INFM/2 metric feasible everywhere */
			p->self_seqno++;
			rt_emit(r, NY_ROUTER_EV_CLIENT_HOLD, pid, r->self, n->node, p->self_seqno, NY_ROUTE_HOLD_METRIC);
		} else if (recent && (!alive || was_hold)) {
			rt_emit(r, NY_ROUTER_EV_CLIENT_ACTIVE, pid, r->self, n->node, p->self_seqno, client->metrics[j]);
		}
		p->adv = (struct advert){.present = true, .passive_hold = !recent, .owner = n->node,
					 .metric = client->metrics[j], .expiry = now + r->t.client_keepalive_ns};
		rt_compute(r, pid, now);
	}
}

void rt_clients_check(struct ny_router *r, uint64_t now)
{
	for (uint32_t nb = 0; nb < r->n_nbs; nb++)
		if (r->nbs[nb].is_client)
			rt_client_check(r, nb, now);
}

void ny_router_client_heard(struct ny_router *r, size_t nb, uint64_t now)
{
	struct nbr_state *n;
	const struct rnode *client;
	bool need_check = false;

	if (nb >= r->n_nbs || !r->nbs[nb].is_client)
		return;
	n = &r->nbs[nb];
	n->heard = true;
	n->last_heard = now;
	/* Advertise at once when the client (re)appears or wakes from hold, rather than at the next 1 s check: this
	 * is cheap (most calls change nothing) and shortens roaming. */
	client = &r->nodes[n->node];
	for (uint32_t j = 0; j < client->n_pids; j++) {
		const struct advert *a = &r->pfx[client->pids[j]].adv;

		if (!a->present || a->owner != n->node || a->passive_hold)
			need_check = true;
	}
	if (need_check)
		rt_client_check(r, (uint32_t)nb, now);
}
