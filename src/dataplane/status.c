/* The status snapshot (nylon/status.h): copied out of the router, the endpoints and the engine on the routing
 * thread, so that nothing is read while it changes. The routing thread owns the router and the endpoints; the
 * engine's peer stats and endpoints are read under wg_lock and peer_lock, which the routing thread may take (it
 * does so to send).
 */
#include "nylon/status.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dataplane/internal.h"
#include "dataplane/routing.h"
#include "nylon/base.h"
#include "nylon/crypto.h"
#include "nylon/route_endpoint.h"
#include "nylon/router.h"

struct collect {
	struct ny_status *st;
	int64_t mono_to_wall; /* wall ns - monotonic ns at collection */
	int ret;
};

static void copy(char *dst, size_t len, const char *src)
{
	snprintf(dst, len, "%s", src ? src : "");
}

static const char *node_name(const struct ny_dp_node *node, size_t idx)
{
	const struct ny_conf_central *c = node->central;

	return idx < c->n_routers + c->n_clients ? ny_conf_central_peer(c, idx)->id : "";
}

/* A monotonic deadline as unix seconds; "never" (0 or UINT64_MAX) stays 0. */
static int64_t unix_s(const struct collect *cx, uint64_t mono)
{
	if (mono == 0 || mono == UINT64_MAX)
		return 0;
	return ((int64_t)mono + cx->mono_to_wall) / 1000000000LL;
}

static void *alloc_n(struct collect *cx, size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size);

	if (!p)
		cx->ret = -ENOMEM;
	return p;
}

static void fill_source(struct ny_status_source *s, const struct ny_dp_node *node, size_t router,
			const struct ny_conf_cidr *prefix)
{
	copy(s->node_id, sizeof(s->node_id), node_name(node, router));
	ny_conf_cidr_format(prefix, s->prefix);
}

/* ---- router tables ------------------------------------------------------------------------------------------ */

static void collect_selected(struct ny_dp_routing *rt, struct collect *cx)
{
	struct ny_status *st = cx->st;
	size_t n = ny_router_selected_routes(rt->router, NULL, 0);
	struct ny_router_route_info *info = alloc_n(cx, n, sizeof(*info));
	size_t nbs[64];

	if (!info || !(st->selected = alloc_n(cx, n, sizeof(*st->selected))))
		goto out;
	st->n_selected = n; /* zeroed entries: ny_status_free may walk them all */
	ny_router_selected_routes(rt->router, info, n);
	for (size_t i = 0; i < n; i++) {
		struct ny_status_selected *s = &st->selected[i];
		size_t k = ny_router_retracted_by(rt->router, &info[i].prefix, nbs, 64);

		fill_source(&s->pub_route.source, rt->node, info[i].source_node, &info[i].prefix);
		s->pub_route.fd = (struct ny_status_fd){ info[i].seqno, info[i].metric };
		copy(s->nh, sizeof(s->nh), node_name(rt->node, info[i].nh_node));
		s->expire_at_unix = unix_s(cx, info[i].expire_at);
		k = k > 64 ? 64 : k;
		if (k && (s->retracted_by = alloc_n(cx, k, sizeof(*s->retracted_by)))) {
			for (size_t j = 0; j < k; j++)
				copy(s->retracted_by[j], sizeof(s->retracted_by[j]),
				     nbs[j] < rt->n_slots ? rt->node->peers[rt->slot_dp[nbs[j]]].id : "");
			s->n_retracted_by = k;
		}
	}
out:
	free(info);
}

static void collect_tables(struct ny_dp_routing *rt, struct collect *cx)
{
	struct ny_status *st = cx->st;
	size_t n = ny_router_forward_table(rt->router, NULL, 0);
	struct ny_router_fwd *fwd = alloc_n(cx, n, sizeof(*fwd));

	if (!fwd || !(st->forward = alloc_n(cx, n, sizeof(*st->forward))) ||
	    !(st->exit = alloc_n(cx, n, sizeof(*st->exit))))
		goto out;
	ny_router_forward_table(rt->router, fwd, n);
	for (size_t i = 0; i < n; i++) {
		struct ny_status_table_entry *e = fwd[i].exit ? &st->exit[st->n_exit++] : &st->forward[st->n_forward++];

		ny_conf_cidr_format(&fwd[i].prefix, e->prefix);
		copy(e->nh, sizeof(e->nh), node_name(rt->node, fwd[i].nh_node));
		e->blackhole = fwd[i].blackhole;
		e->metric = fwd[i].metric;
	}
out:
	free(fwd);
}

static void collect_fds(struct ny_dp_routing *rt, struct collect *cx)
{
	struct ny_status *st = cx->st;
	size_t n = ny_router_sources(rt->router, NULL, 0);
	struct ny_router_source_info *info = alloc_n(cx, n, sizeof(*info));

	if (!info || !(st->fds = alloc_n(cx, n, sizeof(*st->fds))))
		goto out;
	ny_router_sources(rt->router, info, n);
	for (size_t i = 0; i < n; i++) {
		fill_source(&st->fds[i].source, rt->node, info[i].router_node, &info[i].prefix);
		st->fds[i].fd = (struct ny_status_fd){ info[i].seqno, info[i].metric };
	}
	st->n_fds = n;
out:
	free(info);
}

static void collect_self(struct ny_dp_routing *rt, struct collect *cx)
{
	struct ny_status_node *nd = &cx->st->node;
	size_t n_seq = ny_router_self_seqnos(rt->router, NULL, 0), n_adv = ny_router_advertised(rt->router, NULL, 0);
	struct ny_router_self_seqno *seq = alloc_n(cx, n_seq, sizeof(*seq));
	struct ny_router_advert_info *adv = alloc_n(cx, n_adv, sizeof(*adv));

	if (!seq || !adv || !(nd->seqnos = alloc_n(cx, n_seq, sizeof(*nd->seqnos))) ||
	    !(nd->advertised = alloc_n(cx, n_adv, sizeof(*nd->advertised))))
		goto out;
	ny_router_self_seqnos(rt->router, seq, n_seq);
	for (size_t i = 0; i < n_seq; i++) {
		ny_conf_cidr_format(&seq[i].prefix, nd->seqnos[i].prefix);
		nd->seqnos[i].seqno = seq[i].seqno;
	}
	nd->n_seqnos = n_seq;
	ny_router_advertised(rt->router, adv, n_adv);
	for (size_t i = 0; i < n_adv; i++) {
		struct ny_status_advert *a = &nd->advertised[i];

		copy(a->node_id, sizeof(a->node_id), node_name(rt->node, adv[i].owner_node));
		ny_conf_cidr_format(&adv[i].prefix, a->prefix);
		a->metric = adv[i].metric;
		a->expiry_unix = unix_s(cx, adv[i].expiry);
		a->passive_hold = adv[i].passive_hold;
	}
	nd->n_advertised = n_adv;
out:
	free(seq);
	free(adv);
}

/* ---- neighbours --------------------------------------------------------------------------------------------- */

static void collect_endpoints(struct ny_dp_routing *rt, size_t nb, struct ny_status_neighbour *out,
			      struct collect *cx, uint64_t now)
{
	struct ny_route_endpoints *eps = rt->eps[nb];
	size_t n;
	int best;

	if (!eps)
		return;
	n = ny_route_endpoints_count(eps);
	best = ny_route_endpoints_best(eps, now);
	if (!(out->endpoints = alloc_n(cx, n, sizeof(*out->endpoints))))
		return;
	for (size_t i = 0; i < n; i++) {
		struct ny_status_endpoint *e = &out->endpoints[i];
		struct ny_route_endpoint_status s;

		ny_route_endpoints_status(eps, i, now, &s);
		copy(e->address, sizeof(e->address), s.text);
		if (s.resolved)
			ny_io_addr_format(&s.addr, e->resolved, sizeof(e->resolved));
		e->active = s.active;
		e->remote_init = s.remote_init;
		e->is_best = best >= 0 && (size_t)best == i;
		e->metric = s.metric;
		e->filtered_rtt_ns = (int64_t)s.filtered_ns;
		e->stabilized_rtt_ns = (int64_t)s.stabilized_ns;
		cx->st->node.stats.active_endpoint_count += s.active;
	}
	out->n_endpoints = n;
}

static void collect_nb_routes(struct ny_dp_routing *rt, size_t nb, struct ny_status_neighbour *out,
			      struct collect *cx)
{
	size_t n = ny_router_neighbour_routes(rt->router, nb, NULL, 0);
	struct ny_router_nb_route_info *info = alloc_n(cx, n, sizeof(*info));

	if (!info || !(out->routes = alloc_n(cx, n, sizeof(*out->routes))))
		goto out;
	ny_router_neighbour_routes(rt->router, nb, info, n);
	for (size_t i = 0; i < n; i++) {
		fill_source(&out->routes[i].pub_route.source, rt->node, info[i].router_node, &info[i].prefix);
		out->routes[i].pub_route.fd = (struct ny_status_fd){ info[i].seqno, info[i].metric };
		out->routes[i].expire_at_unix = unix_s(cx, info[i].expire_at);
	}
	out->n_routes = n;
out:
	free(info);
}

/* The neighbour's own prefixes, as central.yaml configures them. */
static void collect_nb_advertised(const struct ny_conf_peer *cp, struct ny_status_neighbour *out, struct collect *cx)
{
	if (!(out->advertised = alloc_n(cx, cp->n_prefixes, sizeof(*out->advertised))))
		return;
	for (size_t i = 0; i < cp->n_prefixes; i++) {
		copy(out->advertised[i].node_id, sizeof(out->advertised[i].node_id), cp->id);
		ny_conf_cidr_format(&cp->prefixes[i].prefix, out->advertised[i].prefix);
		out->advertised[i].metric = cp->prefixes[i].metric;
	}
	out->n_advertised = cp->n_prefixes;
}

/* Engine state: per-peer stats and endpoints, and the engine's drop counters. Context: routing thread. */
static void collect_engine(struct ny_dp_node *node, struct collect *cx)
{
	struct ny_status *st = cx->st;

	pthread_mutex_lock(&node->wg_lock);
	pthread_mutex_lock(&node->peer_lock);
	for (size_t k = 0; k < node->routing->n_slots; k++) {
		const struct ny_dp_peer *peer = &node->peers[node->routing->slot_dp[k]];
		struct ny_status_wg_peer *w = &st->neighbours[k].wireguard;

		w->latest_handshake_unix_ns = (int64_t)peer->wg->stats.last_handshake_wall_ns;
		w->tx_bytes = peer->wg->stats.tx_bytes;
		w->rx_bytes = peer->wg->stats.rx_bytes;
		w->persistent_keepalive_interval = peer->wg->persistent_keepalive;
		if (peer->has_endpoint) {
			ny_io_addr_format(&peer->endpoint, w->endpoint, sizeof(w->endpoint));
			w->endpoint_family = (uint8_t)peer->endpoint.family;
		}
		st->node.stats.tx_bytes += w->tx_bytes;
		st->node.stats.rx_bytes += w->rx_bytes;
	}
	memcpy(st->counters.wg_drops, node->dev.stats.drops, sizeof(st->counters.wg_drops));
	pthread_mutex_unlock(&node->peer_lock);
	pthread_mutex_unlock(&node->wg_lock);
}

static void collect_neighbours(struct ny_dp_routing *rt, struct collect *cx, uint64_t now)
{
	struct ny_dp_node *node = rt->node;
	struct ny_status *st = cx->st;

	/* Neighbours in the router's slot order; node->peers may have free slots (neighbours a reload removed). */
	if (!(st->neighbours = alloc_n(cx, rt->n_slots, sizeof(*st->neighbours))))
		return;
	st->n_neighbours = rt->n_slots;
	for (size_t k = 0; k < rt->n_slots; k++) {
		size_t nb = rt->slot_dp[k];
		const struct ny_dp_peer *peer = &node->peers[nb];
		struct ny_status_neighbour *n = &st->neighbours[k];

		copy(n->peer_id, sizeof(n->peer_id), peer->id);
		memcpy(n->public_key_raw, peer->wg->public_key, sizeof(n->public_key_raw));
		ny_key_to_base64(n->public_key, peer->wg->public_key);
		n->passive_client = peer->is_client;
		n->best_metric = ny_router_link_metric(rt->router, k);
		collect_endpoints(rt, nb, n, cx, now);
		collect_nb_routes(rt, k, n, cx);
		collect_nb_advertised(ny_conf_central_peer(node->central, peer->conf_index), n, cx);
	}
	collect_engine(node, cx);
}

/* ---- counters ----------------------------------------------------------------------------------------------- */

static void dp_counters(struct ny_status_dp_counters *out, const struct ny_dp_stats *s)
{
	out->rx_udp_pkts = s->rx_udp_pkts;
	out->rx_udp_bytes = s->rx_udp_bytes;
	out->rx_tun_pkts = s->rx_tun_pkts;
	out->rx_tun_bytes = s->rx_tun_bytes;
	out->tx_udp_pkts = s->tx_udp_pkts;
	out->tx_tun_pkts = s->tx_tun_pkts;
	out->fwd_pkts = s->fwd_pkts;
	out->ttl_expired = s->ttl_expired;
	out->control_pkts = s->control_pkts;
	out->batches = s->batches;
	out->batch_pkts = s->batch_pkts;
	for (int d = 0; d < NY_DP_DROP__COUNT; d++)
		out->drops[d] = s->drops[d];
}

static void collect_counters(struct ny_dp_routing *rt, struct collect *cx)
{
	struct ny_dp_node *node = rt->node;
	struct ny_status_counters *c = &cx->st->counters;
	struct ny_dp_stats sum;

	ny_dp_node_stats(node, &sum);
	dp_counters(&c->dp, &sum);
	if ((c->shards = alloc_n(cx, node->n_shards, sizeof(*c->shards)))) {
		for (unsigned i = 0; i < node->n_shards; i++)
			dp_counters(&c->shards[i], &node->shards[i]->stats);
		c->n_shards = node->n_shards;
	}
	ny_router_get_counters(rt->router, &c->router);
	c->probe_tokens = *ny_route_probe_tokens_stats(rt->tokens);
}

/* ---- the call ----------------------------------------------------------------------------------------------- */

static int cmp_neighbour(const void *a, const void *b)
{
	return strcmp(((const struct ny_status_neighbour *)a)->peer_id, ((const struct ny_status_neighbour *)b)->peer_id);
}

/* Context: routing thread (through ny_dp_routing_call). */
static void collect_on_routing(struct ny_dp_routing *rt, void *arg, uint64_t now)
{
	struct collect *cx = arg;
	struct ny_dp_node *node = rt->node;
	struct ny_status_node *nd = &cx->st->node;

	cx->mono_to_wall = (int64_t)ny_clock_wall_ns() - (int64_t)ny_clock_mono_ns();
	cx->st->collected_unix_ns = (int64_t)ny_clock_wall_ns();
	copy(nd->node_id, sizeof(nd->node_id), node->local->id);
	copy(nd->interface, sizeof(nd->interface), node->cfg.ifname);
	ny_key_to_base64(nd->public_key, node->dev.static_public);
	nd->listen_port = node->cfg.port;
	nd->config_timestamp = node->central->timestamp;
	copy(nd->backend, sizeof(nd->backend), ny_dp_node_backend(node));

	collect_self(rt, cx);
	collect_selected(rt, cx);
	collect_tables(rt, cx);
	collect_fds(rt, cx);
	collect_neighbours(rt, cx, now);
	collect_counters(rt, cx);
	nd->stats.neighbour_count = (uint32_t)cx->st->n_neighbours;
	nd->stats.selected_route_count = (uint32_t)cx->st->n_selected;
	nd->stats.advertised_prefix_count = (uint32_t)nd->n_advertised;
	if (cx->st->neighbours)
		qsort(cx->st->neighbours, cx->st->n_neighbours, sizeof(*cx->st->neighbours), cmp_neighbour);
}

int ny_dp_status_collect(struct ny_dp_node *node, struct ny_status **out, int timeout_ms)
{
	struct collect cx = { 0 };
	int ret;

	*out = NULL;
	if (!(cx.st = calloc(1, sizeof(*cx.st))))
		return -ENOMEM;
	ret = ny_dp_routing_call(node, collect_on_routing, &cx, timeout_ms);
	if (ret == 0)
		ret = cx.ret;
	if (ret < 0) {
		ny_status_free(cx.st);
		return ret;
	}
	*out = cx.st;
	return 0;
}

void ny_status_free(struct ny_status *st)
{
	if (!st)
		return;
	free(st->node.advertised);
	free(st->node.seqnos);
	for (size_t i = 0; st->neighbours && i < st->n_neighbours; i++) {
		free(st->neighbours[i].endpoints);
		free(st->neighbours[i].routes);
		free(st->neighbours[i].advertised);
	}
	free(st->neighbours);
	for (size_t i = 0; st->selected && i < st->n_selected; i++)
		free(st->selected[i].retracted_by);
	free(st->selected);
	free(st->forward);
	free(st->exit);
	free(st->fds);
	free(st->counters.shards);
	free(st);
}

/* ---- probe -------------------------------------------------------------------------------------------------- */

#define PROBE_DISPATCH_MS 1000
#define PROBE_POLL_NS 10000000ull         /* how often the caller looks for pongs */
#define PROBE_ABANDONED_NS 60000000000ull /* a user probe this old belongs to a caller that gave up */

/* A ping sent for `nylon probe`, owned by the routing thread (rt->user_probes). */
struct ny_dp_user_probe {
	uint64_t token;
	uint64_t sent_at;
	uint64_t rtt;
	bool replied;
	struct ny_dp_user_probe *next;
};

struct probe_call {
	const char *peer_id;
	int ret;
	struct ny_probe_result *res;
	struct ny_dp_user_probe **pending; /* per result, NULL when nothing was sent */
	size_t n;
	bool done;
};

void ny_dp_user_probe_pong(struct ny_dp_routing *rt, uint64_t token, uint64_t now)
{
	for (struct ny_dp_user_probe *p = rt->user_probes; p; p = p->next) {
		if (p->token == token && !p->replied) {
			p->replied = true;
			p->rtt = now > p->sent_at ? now - p->sent_at : 1;
			return;
		}
	}
}

void ny_dp_user_probes_free(struct ny_dp_routing *rt)
{
	while (rt->user_probes) {
		struct ny_dp_user_probe *p = rt->user_probes;

		rt->user_probes = p->next;
		free(p);
	}
}

static void unlink_probe(struct ny_dp_routing *rt, struct ny_dp_user_probe *victim)
{
	for (struct ny_dp_user_probe **pp = &rt->user_probes; *pp; pp = &(*pp)->next) {
		if (*pp == victim) {
			*pp = victim->next;
			free(victim);
			return;
		}
	}
}

static void prune_abandoned(struct ny_dp_routing *rt, uint64_t now)
{
	struct ny_dp_user_probe **pp = &rt->user_probes;

	while (*pp) {
		struct ny_dp_user_probe *p = *pp;

		if (now > p->sent_at + PROBE_ABANDONED_NS) {
			*pp = p->next;
			free(p);
		} else {
			pp = &p->next;
		}
	}
}

static struct ny_dp_user_probe *send_user_ping(struct ny_dp_routing *rt, size_t nb, size_t idx, uint64_t now)
{
	struct ny_dp_user_probe *p = calloc(1, sizeof(*p));

	if (!p)
		return NULL;
	for (int attempt = 0; attempt < 4; attempt++) {
		ny_crypto_random(&p->token, sizeof(p->token));
		if (ny_dp_routing_send_ping(rt, nb, idx, p->token, now) == 0) {
			p->sent_at = now;
			p->next = rt->user_probes;
			rt->user_probes = p;
			return p;
		}
	}
	free(p);
	return NULL;
}

/* Context: routing thread. */
static void probe_start(struct ny_dp_routing *rt, void *arg, uint64_t now)
{
	struct probe_call *pc = arg;
	struct ny_dp_node *node = rt->node;
	size_t nb;

	prune_abandoned(rt, now);
	for (nb = 0; nb < node->n_peers && (!node->peers[nb].wg || strcmp(node->peers[nb].id, pc->peer_id) != 0);
	     nb++)
		;
	if (nb == node->n_peers) {
		pc->ret = -ENOENT;
		return;
	}
	pc->n = rt->eps[nb] ? ny_route_endpoints_count(rt->eps[nb]) : 0;
	pc->res = calloc(pc->n ? pc->n : 1, sizeof(*pc->res));
	pc->pending = calloc(pc->n ? pc->n : 1, sizeof(*pc->pending));
	if (!pc->res || !pc->pending) {
		pc->ret = -ENOMEM;
		return;
	}
	for (size_t i = 0; i < pc->n; i++) {
		struct ny_route_endpoint_status s;

		ny_route_endpoints_status(rt->eps[nb], i, now, &s);
		copy(pc->res[i].address, sizeof(pc->res[i].address), s.text);
		if (!s.resolved) {
			pc->res[i].status = NY_PROBE_RESOLVE_ERROR;
			continue;
		}
		ny_io_addr_format(&s.addr, pc->res[i].resolved, sizeof(pc->res[i].resolved));
		pc->pending[i] = send_user_ping(rt, nb, i, now);
		pc->res[i].status = pc->pending[i] ? NY_PROBE_TIMEOUT : NY_PROBE_SEND_ERROR;
	}
}

/* Context: routing thread. */
static void probe_poll(struct ny_dp_routing *rt, void *arg, uint64_t now)
{
	struct probe_call *pc = arg;

	(void)rt;
	(void)now;
	pc->done = true;
	for (size_t i = 0; i < pc->n; i++) {
		struct ny_dp_user_probe *p = pc->pending[i];

		if (!p)
			continue;
		if (p->replied) {
			pc->res[i].status = NY_PROBE_REPLIED;
			pc->res[i].latency_ns = (int64_t)p->rtt;
		} else {
			pc->done = false;
		}
	}
}

/* Context: routing thread. */
static void probe_finish(struct ny_dp_routing *rt, void *arg, uint64_t now)
{
	struct probe_call *pc = arg;

	probe_poll(rt, arg, now);
	for (size_t i = 0; i < pc->n; i++)
		if (pc->pending[i])
			unlink_probe(rt, pc->pending[i]);
}

static int cmp_result(const void *a, const void *b)
{
	return strcmp(((const struct ny_probe_result *)a)->address, ((const struct ny_probe_result *)b)->address);
}

int ny_dp_probe(struct ny_dp_node *node, const char *peer_id, int timeout_ms, struct ny_probe_result **out,
		size_t *n_out)
{
	struct probe_call pc = { .peer_id = peer_id };
	uint64_t deadline;
	int ret;

	*out = NULL;
	*n_out = 0;
	if ((ret = ny_dp_routing_call(node, probe_start, &pc, PROBE_DISPATCH_MS)) < 0 || (ret = pc.ret) < 0)
		goto out;
	deadline = ny_clock_mono_ns() + (uint64_t)(timeout_ms > 0 ? timeout_ms : 0) * 1000000ull;
	while (!pc.done && ny_clock_mono_ns() < deadline) {
		struct timespec ts = { 0, (long)PROBE_POLL_NS };

		nanosleep(&ts, NULL);
		if ((ret = ny_dp_routing_call(node, probe_poll, &pc, PROBE_DISPATCH_MS)) < 0)
			break; /* the entries are pruned later as abandoned */
	}
	if (ret == 0)
		ret = ny_dp_routing_call(node, probe_finish, &pc, PROBE_DISPATCH_MS);
	if (ret < 0)
		goto out;
	qsort(pc.res, pc.n, sizeof(*pc.res), cmp_result);
	*out = pc.res;
	*n_out = pc.n;
	pc.res = NULL;
out:
	free(pc.res);
	free(pc.pending);
	return ret;
}
