/* The routing thread ("babel thread", DESIGN.md §2): it owns the router state machine, the probes of every
 * neighbour's endpoints, the forwarding table it publishes to the shards with RCU, and the kernel route set.
 *
 * Shards hand it decrypted control messages (reference §3.1) through a bounded queue and wake it with an eventfd;
 * it sends its own messages by encrypting them with the engine under wg_lock, like the control thread does.
 * Endpoint names are resolved here too, without ever blocking: the c-ares sockets of its resolver are polled with
 * the eventfd, and an answer that moves a name updates the probes' and the engine's endpoints (nylon/dns.h).
 * Context: everything here runs on the routing thread, except ny_dp_routing_push (shards) and the lifecycle
 * functions (main thread, before the thread starts or after it stopped).
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "dataplane/internal.h"
#include "dataplane/routing.h"
#include "nylon/base.h"
#include "nylon/crypto.h"
#include "nylon/dns.h"
#include "nylon/health.h"
#include "nylon/rcu.h"
#include "nylon/route_endpoint.h"
#include "nylon/route_table.h"
#include "nylon/route_wire.h"
#include "nylon/router.h"
#include "nylon/sys.h"

#define MAX_WAIT_MS 250
#define SYNC_NS 1000000000ull       /* endpoints -> link metrics, peers' endpoints, client checks (reference §3.7) */
#define ROUTES_RETRY_NS 1000000000ull /* a failed kernel route sync is retried (reference §4.4) */

/* ---- the queue (shards -> routing thread) ------------------------------------------------------------------ */

int ny_dp_routing_push(struct ny_dp_node *node, struct ny_dp_peer *peer, const struct ny_io_addr *src,
		       const uint8_t *msg, size_t len, uint64_t now)
{
	struct ny_dp_routing *rt = node->routing;
	uint64_t one = 1;
	int ret = -ENOBUFS;

	if (!rt || len > sizeof(rt->queue[0].data))
		return -EINVAL;
	pthread_mutex_lock(&rt->qlock);
	if (rt->qcount < CTL_QUEUE_LEN) {
		struct ctl_msg *m = &rt->queue[(rt->qhead + rt->qcount++) % CTL_QUEUE_LEN];

		m->peer = peer;
		m->wg = peer->wg;
		m->src = *src;
		m->at = now;
		m->len = (uint16_t)len;
		memcpy(m->data, msg, len);
		ret = 0;
	}
	pthread_mutex_unlock(&rt->qlock);
	if (ret == 0 && write(rt->wake, &one, sizeof(one)) < 0) {
		/* A full counter already means "woken". */
	}
	return ret;
}

/* ---- calls from other threads ------------------------------------------------------------------------------- */

enum call_state { CALL_PENDING, CALL_RUNNING, CALL_DONE, CALL_ABANDONED };

struct routing_call {
	ny_dp_routing_fn fn;
	void *arg;
	enum call_state state; /* under qlock */
	int result;
	pthread_cond_t done;
	struct routing_call *next;
};

static void call_free(struct routing_call *c)
{
	pthread_cond_destroy(&c->done);
	free(c);
}

int ny_dp_routing_call(struct ny_dp_node *node, ny_dp_routing_fn fn, void *arg, int timeout_ms)
{
	struct ny_dp_routing *rt = node->routing;
	struct routing_call *c, **tail;
	struct timespec deadline;
	uint64_t one = 1;
	int ret;

	if (!rt || !rt->started)
		return -ESHUTDOWN;
	if (!(c = calloc(1, sizeof(*c))))
		return -ENOMEM;
	c->fn = fn;
	c->arg = arg;
	pthread_condattr_t attr;
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(&c->done, &attr);
	pthread_condattr_destroy(&attr);
	clock_gettime(CLOCK_MONOTONIC, &deadline);
	deadline.tv_sec += timeout_ms / 1000;
	deadline.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
	if (deadline.tv_nsec >= 1000000000L) {
		deadline.tv_sec++;
		deadline.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&rt->qlock);
	if (rt->stopped) {
		pthread_mutex_unlock(&rt->qlock);
		call_free(c);
		return -ESHUTDOWN;
	}
	for (tail = &rt->calls; *tail; tail = &(*tail)->next)
		;
	*tail = c;
	pthread_mutex_unlock(&rt->qlock);
	if (write(rt->wake, &one, sizeof(one)) < 0) {
		/* already woken */
	}
	pthread_mutex_lock(&rt->qlock);
	while (c->state != CALL_DONE) {
		if (c->state == CALL_PENDING &&
		    pthread_cond_timedwait(&c->done, &rt->qlock, &deadline) == ETIMEDOUT && c->state == CALL_PENDING) {
			c->state = CALL_ABANDONED; /* the routing thread frees it */
			pthread_mutex_unlock(&rt->qlock);
			return -ETIMEDOUT;
		}
		if (c->state == CALL_RUNNING)
			pthread_cond_wait(&c->done, &rt->qlock);
	}
	ret = c->result;
	pthread_mutex_unlock(&rt->qlock);
	call_free(c);
	return ret;
}

/* Runs the queued calls, or with shutdown set fails them all. Context: routing thread. */
static void run_calls(struct ny_dp_routing *rt, uint64_t now, bool shutdown)
{
	pthread_mutex_lock(&rt->qlock);
	while (rt->calls) {
		struct routing_call *c = rt->calls;

		rt->calls = c->next;
		if (c->state == CALL_ABANDONED) {
			call_free(c);
			continue;
		}
		if (shutdown) {
			c->result = -ESHUTDOWN;
		} else {
			c->state = CALL_RUNNING;
			pthread_mutex_unlock(&rt->qlock);
			c->fn(rt, c->arg, now);
			pthread_mutex_lock(&rt->qlock);
			c->result = 0;
		}
		c->state = CALL_DONE;
		pthread_cond_broadcast(&c->done);
	}
	if (shutdown)
		rt->stopped = true;
	pthread_mutex_unlock(&rt->qlock);
}

/* ---- sending ------------------------------------------------------------------------------------------------ */

static size_t index_of(const struct ny_dp_routing *rt, const struct ny_dp_peer *peer)
{
	return (size_t)(peer - rt->node->peers);
}

/* Encrypts one control packet to peer and sends it to dst (NULL: the peer's current endpoint). Without a session
 * a handshake is asked for, and the packet is staged like data unless it is for one particular endpoint: a staged
 * packet goes wherever the session comes from, and a probe that reached another endpoint would credit its pong to
 * the wrong one (the next probe round retries it). */
static void send_control(struct ny_dp_routing *rt, struct ny_dp_peer *peer, const struct ny_io_addr *dst,
			 const uint8_t *plain, size_t len, uint64_t now)
{
	struct ny_dp_node *node = rt->node;
	uint8_t buf[NY_DP_SEG_LEN];
	struct ny_wg_packet pkt = { buf, (uint32_t)len, sizeof(buf), 0 };
	struct ny_io_addr to;
	uint32_t actions = 0;
	bool wake, has_to;
	int ret;

	if (len > NY_DP_SEG_LEN - NY_WG_DATA_HEADER_LEN - NY_WG_PADDING - NY_AEAD_TAG_LEN)
		return;
	memcpy(buf + NY_WG_DATA_HEADER_LEN, plain, len);
	pthread_mutex_lock(&node->wg_lock);
	ret = ny_wg_transport_encrypt_batch(peer->wg, rt->aead, &pkt, 1, now, &actions);
	pthread_mutex_lock(&node->peer_lock);
	if (ret == -ENOKEY && !dst && peer->n_staged < NY_DP_STAGED_MAX) {
		struct ny_dp_staged_pkt *st = &peer->staged[peer->n_staged++];

		st->len = (uint32_t)len;
		memcpy(st->data + NY_WG_DATA_HEADER_LEN, plain, len);
	}
	to = dst ? *dst : peer->endpoint;
	has_to = dst || peer->has_endpoint;
	pthread_mutex_unlock(&node->peer_lock);
	wake = ny_dp_peer_mark(peer, actions);
	if (ret > 0 && has_to)
		ny_dp_send_to(node, &to, buf, pkt.len);
	pthread_mutex_unlock(&node->wg_lock);
	if (wake)
		ny_dp_control_wake(node);
}

static void send_msgs(struct ny_dp_routing *rt, struct ny_dp_peer *peer, const struct ny_io_addr *dst,
		      const struct ny_route_msg *msgs, size_t n, uint64_t now)
{
	uint8_t bundle[NY_DP_SEG_LEN];

	while (n) {
		size_t len;
		int used = ny_route_wire_encode(msgs, n, bundle, sizeof(bundle), &len);

		if (used <= 0) {
			ny_log_warn("route", "peer %s: cannot encode a control message: %s", peer->id,
				    strerror(used < 0 ? -used : EINVAL));
			return;
		}
		send_control(rt, peer, dst, bundle, len, now);
		msgs += used;
		n -= (size_t)used;
	}
}

static void flush_outboxes(struct ny_dp_routing *rt, uint64_t now)
{
	static struct ny_route_msg msgs[64]; /* routing thread only */

	for (size_t k = 0; k < rt->n_slots; k++) {
		size_t n;

		while ((n = ny_router_take_outbox(rt->router, k, msgs, 64)) > 0)
			send_msgs(rt, &rt->node->peers[rt->slot_dp[k]], NULL, msgs, n, now);
	}
}

/* ---- probes (reference §3.3) ------------------------------------------------------------------------------- */

static void send_pings(struct ny_dp_routing *rt, size_t nb, uint64_t now)
{
	struct ny_route_endpoints *eps = rt->eps[nb];
	size_t due[64], n = ny_route_endpoints_due(eps, now, due, 64);

	for (size_t i = 0; i < n; i++) {
		const struct ny_io_addr *addr = ny_route_endpoints_addr(eps, due[i]);
		struct ny_route_msg ping = { .type = NY_ROUTE_MSG_PROBE };

		if (!addr)
			continue;
		ny_crypto_random(&ping.token, sizeof(ping.token));
		if (ny_route_probe_tokens_add(rt->tokens, ping.token, (uint32_t)nb, ny_route_endpoints_id(eps, due[i]),
					      now) < 0)
			continue;
		send_msgs(rt, &rt->node->peers[nb], addr, &ping, 1, now);
	}
}

int ny_dp_routing_send_ping(struct ny_dp_routing *rt, size_t nb, size_t idx, uint64_t token, uint64_t now)
{
	struct ny_route_msg ping = { .type = NY_ROUTE_MSG_PROBE, .token = token };
	const struct ny_io_addr *addr;
	int ret;

	if (nb >= rt->node->n_peers || !rt->eps[nb] || idx >= ny_route_endpoints_count(rt->eps[nb]) ||
	    !(addr = ny_route_endpoints_addr(rt->eps[nb], idx)))
		return -EINVAL;
	ret = ny_route_probe_tokens_add(rt->tokens, token, (uint32_t)nb, ny_route_endpoints_id(rt->eps[nb], idx), now);
	if (ret < 0)
		return ret;
	send_msgs(rt, &rt->node->peers[nb], addr, &ping, 1, now);
	return 0;
}

static void handle_probe(struct ny_dp_routing *rt, size_t nb, const struct ctl_msg *m, const struct ny_route_msg *p)
{
	struct ny_route_endpoints *eps = rt->eps[nb];
	bool changed = false;

	if (!eps)
		return;
	if (!p->has_response) {
		struct ny_route_msg pong = { .type = NY_ROUTE_MSG_PROBE, .token = p->token, .has_response = true,
					     .response_token = p->token };

		send_msgs(rt, m->peer, &m->src, &pong, 1, m->at);
		ny_route_endpoints_ping_received(eps, &m->src, m->at, &changed);
	} else {
		uint64_t ep, sent_at;

		if (rt->user_probes)
			ny_dp_user_probe_pong(rt, p->response_token, m->at);
		if (ny_route_probe_tokens_take(rt->tokens, p->response_token, (uint32_t)nb, m->at, &ep, &sent_at) < 0)
			return;
		ny_route_endpoints_pong_received(eps, ep, m->at > sent_at ? m->at - sent_at : 0, m->at, &changed);
	}
	if (changed)
		rt->next_sync = 0; /* a link may have come up: tell the router now */
}

static void handle_packet(struct ny_dp_routing *rt, const struct ctl_msg *m)
{
	static struct ny_route_msg msgs[NY_ROUTE_WIRE_MAX_MSGS]; /* routing thread only */
	size_t nb = index_of(rt, m->peer), slot = rt->dp_slot[nb];
	int n;

	/* Queued before a config change retired its sender (the slot is free now, or already someone else's). */
	if (slot == SIZE_MAX || m->wg != m->peer->wg)
		return;
	n = ny_route_wire_decode(m->data, m->len, msgs, NY_ROUTE_WIRE_MAX_MSGS);
	if (n < 0) {
		static struct ny_log_ratelimit rl;

		if (ny_log_ratelimit_allow(&rl, 5))
			ny_log_warn("route", "peer %s: malformed control message dropped: %s", m->peer->id,
				    strerror(-n));
		return;
	}
	/* Clients never speak the control protocol (reference §3.1). */
	if (m->peer->is_client)
		return;
	for (int i = 0; i < n; i++) {
		if (msgs[i].type == NY_ROUTE_MSG_PROBE)
			handle_probe(rt, nb, m, &msgs[i]);
		else
			ny_router_receive(rt->router, slot, &msgs[i], m->at);
	}
}

static void drain_queue(struct ny_dp_routing *rt)
{
	static struct ctl_msg batch[CTL_QUEUE_LEN]; /* routing thread only */
	unsigned n;

	pthread_mutex_lock(&rt->qlock);
	n = rt->qcount;
	for (unsigned i = 0; i < n; i++)
		batch[i] = rt->queue[(rt->qhead + i) % CTL_QUEUE_LEN];
	rt->qhead = (rt->qhead + n) % CTL_QUEUE_LEN;
	rt->qcount = 0;
	pthread_mutex_unlock(&rt->qlock);
	for (unsigned i = 0; i < n; i++)
		handle_packet(rt, &batch[i]);
}

/* ---- endpoints -> link metrics and the engine's endpoints --------------------------------------------------- */

/* Where data and handshakes go: the best probed endpoint carries data (routers do not roam while one is active);
 * handshakes go to every known endpoint (see send_initiation in node.c). Context: under peer_lock. */
static void update_peer_endpoints(struct ny_dp_routing *rt, size_t nb, uint64_t now)
{
	struct ny_dp_peer *peer = &rt->node->peers[nb];
	struct ny_route_endpoints *eps = rt->eps[nb];
	int best = ny_route_endpoints_best(eps, now);
	size_t idx[NY_DP_ALT_MAX], n = ny_route_endpoints_sorted(eps, now, idx, NY_DP_ALT_MAX);

	peer->n_alt = 0;
	for (size_t i = 0; i < n; i++)
		peer->alt[peer->n_alt++] = *ny_route_endpoints_addr(eps, idx[i]);
	peer->pinned = best >= 0;
	if (best >= 0)
		ny_dp_peer_set_endpoint(peer, ny_route_endpoints_addr(eps, (size_t)best));
}

/* ---- endpoint names (reference §3.7; nylon/dns.h) ------------------------------------------------------------ */

/* A name's address changed: every configured endpoint written as text goes there, and the engine's endpoints
 * follow at once (handshakes go to the new address, reference §3.7). A peer that had no address at all is asked
 * for a handshake now rather than at its next timer. Context: routing thread (or the main thread before it
 * starts), from the DNS cache. */
static void dns_changed(void *arg, const char *text, const struct ny_io_addr *addr)
{
	struct ny_dp_routing *rt = arg;
	struct ny_dp_node *node = rt->node;
	uint64_t now = ny_clock_mono_ns();
	bool wake = false;

	for (size_t nb = 0; nb < node->n_peers; nb++) {
		struct ny_route_endpoints *eps = rt->eps[nb];
		struct ny_dp_peer *peer = &node->peers[nb];
		bool hit = false, had_none;

		for (size_t i = 0; eps && i < ny_route_endpoints_configured_count(eps); i++) {
			struct ny_route_endpoint_status st;

			ny_route_endpoints_status(eps, i, now, &st);
			if (strcmp(st.text, text) == 0)
				hit |= ny_route_endpoints_set_resolved(eps, i, addr) == 0;
		}
		if (!hit)
			continue;
		pthread_mutex_lock(&node->peer_lock);
		had_none = peer->n_alt == 0;
		update_peer_endpoints(rt, nb, now);
		if (!peer->has_endpoint) {
			peer->endpoint = *addr;
			peer->has_endpoint = true;
		}
		if (had_none)
			wake |= ny_dp_peer_mark(peer, NY_WG_ACTION_SEND_INITIATION);
		pthread_mutex_unlock(&node->peer_lock);
	}
	if (wake)
		ny_dp_control_wake(node);
	rt->next_sync = 0; /* the probes' view too */
}

/* Reference §3.5 GC: a name whose endpoints are all inactive is looked up again at the cache's next check. */
static void note_dns_liveness(struct ny_dp_routing *rt, uint64_t now)
{
	for (size_t nb = 0; nb < rt->node->n_peers; nb++) {
		struct ny_route_endpoints *eps = rt->eps[nb];

		for (size_t i = 0; eps && i < ny_route_endpoints_configured_count(eps); i++) {
			struct ny_route_endpoint_status st;

			ny_route_endpoints_status(eps, i, now, &st);
			ny_dns_cache_note(rt->dns_cache, st.text, st.active);
		}
	}
	ny_dns_cache_note_end(rt->dns_cache);
}

/* After a configuration change: the cache holds exactly the configured names (new ones are looked up now). */
static void sync_dns_names(struct ny_dp_routing *rt, uint64_t now)
{
	size_t dropped;

	ny_dns_cache_unmark(rt->dns_cache);
	for (size_t nb = 0; nb < rt->node->n_peers; nb++) {
		const struct ny_conf_peer *cp;

		if (!rt->eps[nb])
			continue;
		cp = ny_conf_central_peer(rt->node->central, rt->node->peers[nb].conf_index);
		for (size_t e = 0; e < cp->n_endpoints; e++)
			if (ny_dns_cache_want(rt->dns_cache, &cp->endpoints[e], now) < 0)
				ny_log_warn("dns", "endpoint %s: out of memory; not resolved", cp->endpoints[e].text);
	}
	if ((dropped = ny_dns_cache_prune(rt->dns_cache)) > 0)
		ny_log_info("dns", "%zu endpoint name%s no longer configured", dropped, dropped == 1 ? "" : "s");
}

/* Engine side, every SYNC_NS: the peers' data endpoints and handshake lists, and when clients were last heard. */
static void sync_peers(struct ny_dp_routing *rt, uint64_t now)
{
	struct ny_dp_node *node = rt->node;

	pthread_mutex_lock(&node->peer_lock);
	for (size_t nb = 0; nb < node->n_peers; nb++) {
		struct ny_dp_peer *peer = &node->peers[nb];

		if (rt->eps[nb]) {
			ny_route_endpoints_gc(rt->eps[nb], now);
			update_peer_endpoints(rt, nb, now);
		} else if (peer->wg && peer->last_rx != rt->client_rx[nb]) {
			rt->client_rx[nb] = peer->last_rx;
			rt->client_new[nb] = true;
		}
	}
	pthread_mutex_unlock(&node->peer_lock);
	note_dns_liveness(rt, now);
	for (size_t nb = 0; nb < node->n_peers; nb++) {
		if (rt->client_new[nb] && rt->dp_slot[nb] != SIZE_MAX)
			ny_router_client_heard(rt->router, rt->dp_slot[nb], rt->client_rx[nb]);
		rt->client_new[nb] = false;
	}
}

/* Router side, every loop iteration (at most MAX_WAIT_MS apart): a link that went silent for the link-dead
 * threshold is down at once, not at the next SYNC_NS, since every failover waits for it. */
static bool sync_links(struct ny_dp_routing *rt, uint64_t now)
{
	struct ny_dp_node *node = rt->node;
	bool best_changed = false;

	for (size_t nb = 0; nb < node->n_peers; nb++) {
		uint32_t metric;

		if (!rt->eps[nb])
			continue;
		switch (ny_route_endpoints_poll_link(rt->eps[nb], now)) {
		case NY_ROUTE_LINK_UP: ny_log_info("route", "peer %s: link up", node->peers[nb].id); break;
		case NY_ROUTE_LINK_DOWN: ny_log_info("route", "peer %s: link down", node->peers[nb].id); break;
		default: break;
		}
		metric = ny_route_endpoints_metric(rt->eps[nb], now);
		if (metric == rt->link[nb])
			continue;
		best_changed |= (metric == NY_ROUTE_INF) != (rt->link[nb] == NY_ROUTE_INF);
		rt->link[nb] = metric;
		ny_router_set_link(rt->router, rt->dp_slot[nb], metric, now);
	}
	return best_changed;
}

/* ---- forwarding table and kernel routes --------------------------------------------------------------------- */

static struct ny_dp_fib *build_fib(struct ny_dp_routing *rt, const struct ny_router_fwd *fwd, size_t n)
{
	struct ny_route_table_builder *b = ny_route_table_builder_new();
	struct ny_dp_fib *fib = ny_dp_fib_new(n);

	if (!b || !fib)
		goto fail;
	for (size_t i = 0; i < n; i++) {
		struct ny_dp_fib_entry *e = &fib->entries[fib->n_entries];

		if (fwd[i].blackhole) {
			e->kind = NY_DP_FIB_BLACKHOLE;
		} else if (fwd[i].exit) {
			e->kind = NY_DP_FIB_EXIT;
		} else {
			e->kind = NY_DP_FIB_PEER;
			e->peer = fwd[i].nh_node < rt->n_nodes ? rt->peer_of_node[fwd[i].nh_node] : NULL;
			if (!e->peer)
				continue; /* cannot happen: next hops are neighbours */
		}
		if (ny_route_table_builder_add(b, &fwd[i].prefix, (uint32_t)fib->n_entries) < 0)
			goto fail;
		fib->n_entries++;
	}
	fib->table = ny_route_table_build(b);
	b = NULL;
	if (!fib->table)
		goto fail;
	return fib;
fail:
	ny_route_table_builder_free(b);
	ny_dp_fib_free(fib);
	return NULL;
}

/* Reference §2.4: every selected prefix (held ones too, so that their traffic is blackholed here rather than
 * leaked to the default route), minus what this node serves and the excludes. */
static int sync_kernel_routes(struct ny_dp_routing *rt, const struct ny_router_fwd *fwd, size_t n)
{
	const struct ny_conf_central *c = rt->node->central;
	const struct ny_conf_node *l = rt->node->local;
	struct ny_conf_cidr *all = calloc(n ? n : 1, sizeof(*all)), *own = calloc(n ? n : 1, sizeof(*own)), *out = NULL;
	size_t n_own = 0, n_out = 0;
	int ret = -ENOMEM;

	if (!all || !own)
		goto out;
	for (size_t i = 0; i < n; i++) {
		all[i] = fwd[i].prefix;
		if (fwd[i].exit)
			own[n_own++] = fwd[i].prefix;
	}
	struct ny_conf_routeset_input in = {
		.routes = { all, n },
		.central_exclude = { c->exclude_ips, c->n_exclude_ips },
		.own = { own, n_own },
		.node_unexclude = { l->unexclude_ips, l->n_unexclude_ips },
		.node_exclude = { l->exclude_ips, l->n_exclude_ips },
	};
	if ((ret = ny_conf_routeset_compute(&in, &out, &n_out)) < 0)
		goto out;
	ret = ny_sys_routes_sync(rt->sys, rt->ifindex, out, n_out);
out:
	free(all);
	free(own);
	free(out);
	return ret;
}

static void publish_tables(struct ny_dp_routing *rt, uint64_t now)
{
	uint64_t gen = ny_router_table_generation(rt->router);
	struct ny_router_fwd *fwd = NULL;
	struct ny_dp_fib *fib;
	size_t n;
	int ret;

	if (!rt->routes_on && atomic_load(&rt->routes_enabled)) {
		rt->routes_on = true;
		rt->routes_dirty = true;
	}
	if (gen == rt->fib_generation && !rt->fib_stale &&
	    !(rt->routes_on && rt->routes_dirty && now >= rt->routes_retry_at))
		return;
	n = ny_router_forward_table(rt->router, NULL, 0);
	if (!(fwd = calloc(n ? n : 1, sizeof(*fwd))))
		return;
	ny_router_forward_table(rt->router, fwd, n);
	if (gen != rt->fib_generation || rt->fib_stale) {
		if (!(fib = build_fib(rt, fwd, n))) {
			ny_log_error("route", "out of memory building the forwarding table; keeping the old one");
			free(fwd);
			return;
		}
		ny_dp_fib_publish(&rt->node->fib, fib);
		rt->fib_generation = gen;
		rt->fib_stale = false;
		rt->routes_dirty = true;
		rt->routes_retry_at = 0;
	}
	if (rt->sys && rt->routes_on && rt->routes_dirty && now >= rt->routes_retry_at) {
		if ((ret = sync_kernel_routes(rt, fwd, n)) < 0) {
			ny_log_warn("route", "kernel routes: %s; retrying in 1 s", strerror(-ret));
			rt->routes_retry_at = now + ROUTES_RETRY_NS;
		} else {
			rt->routes_dirty = false;
		}
	}
	free(fwd);
}

/* ---- the thread ---------------------------------------------------------------------------------------------- */

/* Node names from the configuration: the router's own accessors are not usable while ny_router_new() runs, and it
 * reports events from there too. */
static const char *node_name(const struct ny_dp_routing *rt, size_t node)
{
	const struct ny_conf_central *c = rt->node->central;

	return node < c->n_routers + c->n_clients ? ny_conf_central_peer(c, node)->id : "-";
}

static void log_event(void *arg, const struct ny_router_event *ev)
{
	static const char *const names[] = {
		[NY_ROUTER_EV_ROUTE_INSERTED] = "route_inserted", [NY_ROUTER_EV_ROUTE_RETRACTED] = "route_retracted",
		[NY_ROUTER_EV_ROUTE_RELEASED] = "route_released", [NY_ROUTER_EV_SEQNO_BUMPED] = "seqno_bumped",
		[NY_ROUTER_EV_CLIENT_HOLD] = "client_hold",       [NY_ROUTER_EV_CLIENT_ACTIVE] = "client_active",
	};
	struct ny_dp_routing *rt = arg;
	char prefix[NY_CONF_CIDR_STRLEN];

	ny_conf_cidr_format(&ev->prefix, prefix);
	ny_log_info("route", "%s prefix=%s router=%s nh=%s seqno=%u metric=%u",
		    (unsigned)ev->type < sizeof(names) / sizeof(names[0]) && names[ev->type] ? names[ev->type] : "event",
		    prefix, node_name(rt, ev->source_node), node_name(rt, ev->nh_node),
		    ev->seqno, ev->metric);
}

static uint64_t next_deadline(struct ny_dp_routing *rt, uint64_t router_next)
{
	uint64_t next = router_next < rt->next_sync ? router_next : rt->next_sync;

	for (size_t nb = 0; nb < rt->node->n_peers; nb++) {
		uint64_t d;

		if (rt->eps[nb] && (d = ny_route_endpoints_next_deadline(rt->eps[nb])) < next)
			next = d;
	}
	return next;
}

static void *routing_main(void *arg)
{
	struct ny_dp_routing *rt = arg;
	struct ny_dp_node *node = rt->node;
	uint64_t next = 0, dns_next;

	ny_thread_name("ny-routing");
	while (!atomic_load(&node->stop)) {
		uint64_t now = ny_clock_mono_ns(), v;
		struct pollfd p[1 + NY_DNS_MAX_FDS] = { { .fd = rt->wake, .events = POLLIN } };
		size_t n_dns = ny_dns_pollfds(rt->dns, p + 1, NY_DNS_MAX_FDS);
		int timeout = next <= now ? 0 : (int)((next - now) / 1000000 + 1), dns_ms = ny_dns_timeout_ms(rt->dns, now);

		if (dns_ms >= 0 && dns_ms < timeout)
			timeout = dns_ms;
		poll(p, 1 + n_dns, timeout > MAX_WAIT_MS ? MAX_WAIT_MS : timeout);
		if (read(rt->wake, &v, sizeof(v)) < 0 && errno != EAGAIN)
			break;
		now = ny_clock_mono_ns();
		/* Answers (and DNS timeouts) first: a name that moved is probed at its new address this iteration. */
		ny_dns_process(rt->dns, p + 1, n_dns, now);
		dns_next = ny_dns_cache_tick(rt->dns_cache, now);
		drain_queue(rt);
		run_calls(rt, now, false);
		for (size_t nb = 0; nb < node->n_peers; nb++)
			if (rt->eps[nb])
				send_pings(rt, nb, now);
		if (sync_links(rt, now) || now >= rt->next_sync) {
			sync_peers(rt, now);
			rt->next_sync = now + SYNC_NS;
		}
		next = ny_router_tick(rt->router, now);
		flush_outboxes(rt, now);
		publish_tables(rt, now);
		next = next_deadline(rt, next);
		if (dns_next < next)
			next = dns_next;
		if (rt->routes_dirty && rt->routes_retry_at && rt->routes_retry_at < next)
			next = rt->routes_retry_at;
	}
	run_calls(rt, 0, true);
	if (rt->sys) {
		/* New routes before old ones, and ours gone before the addresses and the interface (reference §4.4). */
		ny_sys_undo_all(rt->sys);
		ny_sys_close(rt->sys);
		rt->sys = NULL;
	}
	return NULL;
}

/* ---- lifecycle ----------------------------------------------------------------------------------------------- */

/* The slot maps and peer_of_node from node->peers, after a change of slots or of configuration. */
static int rebuild_maps(struct ny_dp_routing *rt)
{
	struct ny_dp_node *node = rt->node;
	size_t total = node->central->n_routers + node->central->n_clients;
	struct ny_dp_peer **pon = calloc(total ? total : 1, sizeof(*pon));

	if (!pon)
		return -ENOMEM;
	free(rt->peer_of_node);
	rt->peer_of_node = pon;
	rt->n_nodes = total;
	rt->n_slots = 0;
	for (size_t i = 0; i < node->n_peers; i++) {
		struct ny_dp_peer *peer = &node->peers[i];

		rt->dp_slot[i] = SIZE_MAX;
		if (!peer->wg)
			continue;
		rt->dp_slot[i] = rt->n_slots;
		rt->slot_dp[rt->n_slots++] = i;
		pon[peer->conf_index] = peer;
	}
	return 0;
}

/* The router's view of a configuration: every node with its prefixes, and the neighbours in slot order (slots[k]
 * is the central index of neighbour slot k). The arrays replace rt's (the router copies what it keeps). */
static int make_router_config(struct ny_dp_routing *rt, const struct ny_conf_central *c, size_t self,
			      const size_t *slots, size_t n_slots, struct ny_router_config *cfg)
{
	size_t total = c->n_routers + c->n_clients, n_prefixes = 0, at = 0;
	struct ny_router_node *nodes;
	struct ny_router_prefix *prefixes;
	size_t *neighbours;

	for (size_t i = 0; i < total; i++)
		n_prefixes += ny_conf_central_peer(c, i)->n_prefixes;
	nodes = calloc(total ? total : 1, sizeof(*nodes));
	prefixes = calloc(n_prefixes ? n_prefixes : 1, sizeof(*prefixes));
	neighbours = calloc(n_slots ? n_slots : 1, sizeof(*neighbours));
	if (!nodes || !prefixes || !neighbours) {
		free(nodes);
		free(prefixes);
		free(neighbours);
		return -ENOMEM;
	}
	for (size_t i = 0; i < total; i++) {
		const struct ny_conf_peer *p = ny_conf_central_peer(c, i);

		nodes[i] = (struct ny_router_node){ p->id, p->is_client, prefixes + at, p->n_prefixes };
		for (size_t j = 0; j < p->n_prefixes; j++)
			prefixes[at++] = (struct ny_router_prefix){ p->prefixes[j].prefix, p->prefixes[j].metric };
	}
	memcpy(neighbours, slots, n_slots * sizeof(*neighbours));
	free(rt->nodes);
	free(rt->prefixes);
	free(rt->neighbours);
	rt->nodes = nodes;
	rt->prefixes = prefixes;
	rt->neighbours = neighbours;
	*cfg = (struct ny_router_config){ .nodes = nodes, .n_nodes = total, .self = self, .neighbours = neighbours,
					  .n_neighbours = n_slots, .on_event = log_event, .event_arg = rt };
	ny_router_timers_default(&cfg->timers);
	return 0;
}

/* ---- prefix health checks (reference §5.2; include/nylon/health.h) ------------------------------------------ */

#define HEALTH_CALL_MS 500 /* a monitor waits this long for the routing thread, then tries again next round */

struct health_result {
	struct ny_health_monitor *monitor;
	const struct ny_conf_cidr *prefix;
	uint32_t metric;
};

static void apply_health(struct ny_dp_routing *rt, void *arg, uint64_t now)
{
	const struct health_result *r = arg;

	/* A monitor replaced by a live apply may still have been probing: its result is for the old configuration. */
	if (!ny_health_monitor_current(r->monitor))
		return;
	ny_router_set_prefix_metric(rt->router, r->prefix, r->metric, now);
}

/* Context: a monitor's thread. */
static int report_health(void *arg, struct ny_health_monitor *m, const struct ny_conf_cidr *prefix, uint32_t metric)
{
	struct health_result r = { m, prefix, metric };

	return ny_dp_routing_call(arg, apply_health, &r, HEALTH_CALL_MS);
}

/* Hands this node's prefixes to the monitors (ny_health_set: a monitor per checked prefix, kept ones run on),
 * unless there are none yet. Returns which prefixes kept a running monitor (free()), NULL when out of memory; a
 * failure is logged. */
static bool *set_monitors(struct ny_dp_routing *rt, const struct ny_conf_peer *self)
{
	bool *kept = calloc(self->n_prefixes ? self->n_prefixes : 1, sizeof(*kept));
	int ret = kept ? 0 : -ENOMEM;

	if (kept && rt->health)
		ret = ny_health_set(rt->health, self->prefixes, self->n_prefixes, kept);
	if (ret < 0 && ret != -ESHUTDOWN)
		ny_log_error("health", "cannot start every health check: %s; those prefixes are not advertised",
			     strerror(-ret));
	return kept;
}

/* Starts a monitor per checked prefix of this node whose check is new or changed (kept ones run on) and holds
 * those prefixes at INF until their first success. With reconfigured set (live apply), static prefixes get their
 * configured metric again: one that was health-checked before would otherwise keep the router's last health
 * metric. Context: routing thread (or before it starts). */
static void sync_health(struct ny_dp_routing *rt, bool reconfigured, uint64_t now)
{
	const struct ny_conf_peer *self = ny_conf_central_peer(rt->node->central, rt->node->self);
	bool *kept = set_monitors(rt, self);

	for (size_t j = 0; j < self->n_prefixes; j++) {
		const struct ny_conf_prefix *p = &self->prefixes[j];

		if (p->type == NY_CONF_PREFIX_STATIC) {
			if (reconfigured)
				ny_router_set_prefix_metric(rt->router, &p->prefix, p->metric, now);
		} else if (!kept || !kept[j]) {
			ny_router_set_prefix_metric(rt->router, &p->prefix, NY_ROUTE_INF, now);
		}
	}
	free(kept);
}

/* The first monitors, once their reports can reach the routing thread (their prefixes are at INF since
 * setup_router). Only the monitor set is touched here: the router belongs to the running thread. */
static void start_health(struct ny_dp_routing *rt)
{
	free(set_monitors(rt, ny_conf_central_peer(rt->node->central, rt->node->self)));
}

static int setup_router(struct ny_dp_routing *rt, uint64_t now)
{
	struct ny_router_config cfg;
	size_t *slots = calloc(rt->n_slots ? rt->n_slots : 1, sizeof(*slots));
	int ret;

	if (!slots)
		return -ENOMEM;
	for (size_t k = 0; k < rt->n_slots; k++)
		slots[k] = rt->node->peers[rt->slot_dp[k]].conf_index;
	ret = make_router_config(rt, rt->node->central, rt->node->self, slots, rt->n_slots, &cfg);
	free(slots);
	if (ret < 0)
		return ret;
	if (!(rt->router = ny_router_new(&cfg, now)))
		return -ENOMEM;
	sync_health(rt, false, now); /* no monitors yet (rt->health is NULL): every checked prefix starts at INF */
	return 0;
}

/* The probing state of router neighbour i (node->peers index) from its configured endpoints. */
static int setup_peer_endpoints(struct ny_dp_routing *rt, size_t i)
{
	struct ny_dp_peer *peer = &rt->node->peers[i];
	const struct ny_conf_peer *cp = ny_conf_central_peer(rt->node->central, peer->conf_index);
	struct ny_route_endpoint_params params;
	int ret;

	ny_route_endpoints_free(rt->eps[i]);
	rt->eps[i] = NULL;
	rt->link[i] = NY_ROUTE_INF;
	rt->client_rx[i] = 0;
	rt->client_new[i] = false;
	if (peer->is_client || !peer->wg)
		return 0;
	ny_route_endpoint_params_default(&params);
	if ((ret = ny_route_endpoints_new(&rt->eps[i], &params)) < 0)
		return ret;
	for (size_t e = 0; e < cp->n_endpoints; e++) {
		struct ny_io_addr addr;
		int idx = ny_route_endpoints_add_configured(rt->eps[i], cp->endpoints[e].text);

		if (idx < 0)
			return idx;
		/* A name: its last known address, if any; its first lookup starts here, and dns_changed fills it in
		 * when the answer comes. */
		if (!cp->endpoints[e].is_ip && (ret = ny_dns_cache_want(rt->dns_cache, &cp->endpoints[e],
								       ny_clock_mono_ns())) < 0)
			return ret;
		if (ny_dp_endpoint_resolve(&cp->endpoints[e], &addr) == 0 ||
		    ny_dns_cache_get(rt->dns_cache, cp->endpoints[e].text, &addr) == 0)
			ny_route_endpoints_set_resolved(rt->eps[i], (size_t)idx, &addr);
	}
	/* Until the probes find the best endpoint, data goes to the first that resolved and handshakes to all of
	 * them (update_peer_endpoints keeps this up to date from then on). */
	pthread_mutex_lock(&rt->node->peer_lock);
	peer->n_alt = 0;
	for (size_t e = 0; e < ny_route_endpoints_count(rt->eps[i]) && peer->n_alt < NY_DP_ALT_MAX; e++) {
		const struct ny_io_addr *a = ny_route_endpoints_addr(rt->eps[i], e);

		if (!a)
			continue;
		if (!peer->has_endpoint) {
			peer->endpoint = *a;
			peer->has_endpoint = true;
		}
		peer->alt[peer->n_alt++] = *a;
	}
	pthread_mutex_unlock(&rt->node->peer_lock);
	return 0;
}

static int setup_endpoints(struct ny_dp_routing *rt)
{
	struct ny_route_endpoint_params params;
	int ret;

	ny_route_endpoint_params_default(&params);
	if ((ret = ny_route_probe_tokens_new(&rt->tokens, &params)) < 0)
		return ret;
	for (size_t i = 0; i < rt->node->n_peers; i++)
		if ((ret = setup_peer_endpoints(rt, i)) < 0)
			return ret;
	return 0;
}

static int setup_dns(struct ny_dp_routing *rt)
{
	const struct ny_conf_node *l = rt->node->local;
	struct ny_dns_options o = { l->dns_resolvers, l->n_dns_resolvers, 0 };
	int ret;

	if ((ret = ny_dns_new(&rt->dns, &o)) < 0)
		return ret;
	return ny_dns_cache_new(&rt->dns_cache, rt->dns, NULL, dns_changed, rt);
}

int ny_dp_routing_init(struct ny_dp_node *node, char *err, size_t err_len)
{
	struct ny_dp_routing *rt = calloc(1, sizeof(*rt));
	size_t n = node->peer_cap;
	uint64_t now = ny_clock_mono_ns();
	int ret = -ENOMEM;

	if (!rt)
		goto fail;
	node->routing = rt;
	rt->node = node;
	rt->wake = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	pthread_mutex_init(&rt->qlock, NULL);
	rt->queue = calloc(CTL_QUEUE_LEN, sizeof(*rt->queue));
	rt->eps = calloc(n, sizeof(*rt->eps));
	rt->link = calloc(n, sizeof(*rt->link));
	rt->client_rx = calloc(n, sizeof(*rt->client_rx));
	rt->client_new = calloc(n, sizeof(*rt->client_new));
	rt->dp_slot = calloc(n, sizeof(*rt->dp_slot));
	rt->slot_dp = calloc(n, sizeof(*rt->slot_dp));
	rt->aead = ny_aead_ctx_new(node->cfg.aead);
	if (rt->wake < 0 || !rt->queue || !rt->eps || !rt->link || !rt->client_rx || !rt->client_new || !rt->dp_slot ||
	    !rt->slot_dp || !rt->aead)
		goto fail;
	for (size_t i = 0; i < n; i++)
		rt->link[i] = NY_ROUTE_INF;
	if ((ret = setup_dns(rt)) < 0)
		goto fail;
	if ((ret = rebuild_maps(rt)) < 0 || (ret = setup_router(rt, now)) < 0 || (ret = setup_endpoints(rt)) < 0)
		goto fail;
	/* The first table: this node's own prefixes, before any neighbour speaks. */
	ny_router_tick(rt->router, now);
	publish_tables(rt, now);
	return 0;
fail:
	snprintf(err, err_len, "routing: %s", strerror(-ret));
	return ret;
}

int ny_dp_routing_start(struct ny_dp_node *node, char *err, size_t err_len)
{
	struct ny_dp_routing *rt = node->routing;
	int ret;

	if (node->cfg.configure_routes && (ret = ny_sys_open(&rt->sys)) < 0) {
		snprintf(err, err_len, "routing: netlink: %s", strerror(-ret));
		return ret;
	}
	/* Created before the thread that reads it; started once ny_dp_routing_call can reach the thread. */
	if (!(rt->health = ny_health_new(report_health, node))) {
		snprintf(err, err_len, "routing: health checks: %s", strerror(ENOMEM));
		return -ENOMEM;
	}
	if ((ret = pthread_create(&rt->thread, NULL, routing_main, rt)) != 0) {
		snprintf(err, err_len, "cannot start the routing thread: %s", strerror(ret));
		return -ret;
	}
	rt->started = true;
	start_health(rt);
	return 0;
}

void ny_dp_routing_enable_routes(struct ny_dp_node *node, unsigned ifindex)
{
	struct ny_dp_routing *rt = node->routing;
	uint64_t one = 1;

	if (!rt)
		return;
	rt->ifindex = ifindex; /* written before the flag that publishes it */
	atomic_store(&rt->routes_enabled, true);
	if (write(rt->wake, &one, sizeof(one)) < 0) {
		/* already woken */
	}
}

void ny_dp_routing_stop(struct ny_dp_node *node)
{
	struct ny_dp_routing *rt = node->routing;
	uint64_t one = 1;

	if (!rt)
		return;
	/* The monitors first, while the routing thread still serves their last reports (each waits at most
	 * HEALTH_CALL_MS). */
	if (rt->health)
		ny_health_stop(rt->health);
	if (!rt->started)
		return;
	if (write(rt->wake, &one, sizeof(one)) < 0) {
		/* already woken */
	}
	pthread_join(rt->thread, NULL);
	rt->started = false;
}

void ny_dp_routing_free(struct ny_dp_node *node)
{
	struct ny_dp_routing *rt = node->routing;

	if (!rt)
		return;
	ny_dp_routing_stop(node);
	ny_health_free(rt->health);
	while (rt->calls) { /* abandoned calls the thread never reached */
		struct routing_call *c = rt->calls;

		rt->calls = c->next;
		call_free(c);
	}
	if (rt->sys) {
		ny_sys_undo_all(rt->sys);
		ny_sys_close(rt->sys);
	}
	for (size_t nb = 0; rt->eps && nb < node->n_peers; nb++)
		ny_route_endpoints_free(rt->eps[nb]);
	ny_dp_user_probes_free(rt);
	ny_dns_cache_free(rt->dns_cache);
	ny_dns_free(rt->dns);
	ny_route_probe_tokens_free(rt->tokens);
	ny_router_free(rt->router);
	ny_aead_ctx_free(rt->aead);
	if (rt->wake >= 0)
		close(rt->wake);
	pthread_mutex_destroy(&rt->qlock);
	free(rt->queue);
	free(rt->eps);
	free(rt->link);
	free(rt->client_rx);
	free(rt->client_new);
	free(rt->peer_of_node);
	free(rt->dp_slot);
	free(rt->slot_dp);
	free(rt->nodes);
	free(rt->prefixes);
	free(rt->neighbours);
	free(rt);
	node->routing = NULL;
}

/* ---- live apply of a changed central config (reference §5.1) ---------------------------------------------- */

struct apply_req {
	const struct ny_conf_central *central; /* expanded and validated; this node is a router in it */
	size_t self;
	int result; /* enum ny_dp_apply_result */
	char *msg;
	size_t msg_len;
};

static bool same_endpoints(const struct ny_conf_peer *a, const struct ny_conf_peer *b)
{
	if (a->n_endpoints != b->n_endpoints)
		return false;
	for (size_t i = 0; i < a->n_endpoints; i++)
		if (strcmp(a->endpoints[i].text, b->endpoints[i].text) != 0)
			return false;
	return true;
}

/* What happens to each slot: the new central index of a kept neighbour, or RETIRE / FREE. */
#define SLOT_FREE ((long)-1)
#define SLOT_RETIRE ((long)-2)

struct apply_plan {
	long *next;      /* per slot (peer_cap): new central index, SLOT_FREE or SLOT_RETIRE */
	bool *rotate;    /* per slot: same id, new public key */
	bool *reprobe;   /* per slot: its endpoints changed, or it is new */
	size_t n_peers;  /* slots in use afterwards */
};

/* Matches the current neighbours with the new configuration's by id, and finds slots for the new ones among the
 * slots that are free now (a slot retired by this change may still be in a shard's forwarding table until the
 * grace period ends). -ENOSPC when there are more neighbours than slots. */
static int plan_apply(struct ny_dp_routing *rt, const struct apply_req *req, struct apply_plan *plan)
{
	struct ny_dp_node *node = rt->node;
	const struct ny_conf_central *nc = req->central;
	size_t total = nc->n_routers + nc->n_clients;

	plan->n_peers = node->n_peers;
	for (size_t i = 0; i < node->n_peers; i++) {
		struct ny_dp_peer *peer = &node->peers[i];
		long j;

		plan->next[i] = SLOT_FREE;
		if (!peer->wg)
			continue;
		j = ny_conf_central_find(nc, peer->id);
		if (j < 0 || (size_t)j == req->self || !ny_conf_central_adjacent(nc, req->self, (size_t)j) ||
		    ny_conf_central_peer(nc, (size_t)j)->is_client != peer->is_client) {
			plan->next[i] = SLOT_RETIRE;
			continue;
		}
		plan->next[i] = j;
		plan->rotate[i] = memcmp(ny_conf_central_peer(nc, (size_t)j)->pubkey, peer->wg->public_key,
					 NY_KEY_LEN) != 0;
		plan->reprobe[i] = !same_endpoints(ny_conf_central_peer(nc, (size_t)j),
						   ny_conf_central_peer(node->central, peer->conf_index));
	}
	for (size_t j = 0, free_at = 0; j < total; j++) {
		bool kept = false;

		if (j == req->self || !ny_conf_central_adjacent(nc, req->self, j))
			continue;
		for (size_t i = 0; i < node->n_peers && !kept; i++)
			kept = plan->next[i] == (long)j;
		if (kept)
			continue;
		while (free_at < plan->n_peers && plan->next[free_at] != SLOT_FREE)
			free_at++;
		if (free_at == plan->n_peers && plan->n_peers == node->peer_cap)
			return -ENOSPC;
		if (free_at == plan->n_peers)
			plan->next[plan->n_peers++] = SLOT_FREE;
		plan->next[free_at] = (long)j;
		plan->rotate[free_at] = false;
		plan->reprobe[free_at++] = true;
	}
	return 0;
}

/* The engine side of a plan. Context: routing thread, under wg_lock and peer_lock. Returns how many engine peers
 * it retired into retired[] (to be removed after a grace period). */
static size_t apply_slots(struct ny_dp_routing *rt, const struct apply_req *req, const struct apply_plan *plan,
			  struct ny_wg_peer **retired)
{
	struct ny_dp_node *node = rt->node;
	const struct ny_conf_central *nc = req->central;
	size_t n_retired = 0;

	for (size_t i = 0; i < plan->n_peers; i++) {
		struct ny_dp_peer *peer = &node->peers[i];
		const struct ny_conf_peer *cp;

		if (plan->next[i] == SLOT_RETIRE) {
			ny_log_info("route", "peer %s: no longer a neighbour; removed", peer->id);
			retired[n_retired++] = ny_dp_peer_retire(peer);
			continue;
		}
		if (plan->next[i] == SLOT_FREE)
			continue;
		cp = ny_conf_central_peer(nc, (size_t)plan->next[i]);
		if (!peer->wg) {
			if (ny_dp_peer_activate(node, peer, nc, (size_t)plan->next[i]) < 0) {
				ny_log_error("route", "peer %s: cannot add it to the WireGuard device", cp->id);
				continue;
			}
			ny_log_info("route", "peer %s: new neighbour", cp->id);
		} else if (plan->rotate[i]) {
			struct ny_wg_peer *wg = ny_wg_device_add_peer(&node->dev, cp->pubkey, NULL);

			if (!wg) {
				ny_log_error("route", "peer %s: cannot take its new key: %s", cp->id, strerror(errno));
			} else {
				/* Same neighbour, same slot, same next hop for every route: only the session is new. */
				peer->wg->user = NULL;
				retired[n_retired++] = peer->wg;
				peer->wg = wg;
				wg->user = peer;
				peer->n_staged = 0;
				ny_log_info("route", "peer %s: public key rotated", cp->id);
			}
		}
		peer->id = cp->id; /* the old configuration is freed after this */
		peer->conf_index = (size_t)plan->next[i];
	}
	node->n_peers = plan->n_peers;
	node->central = nc;
	node->self = req->self;
	return n_retired;
}

static void apply_on_thread(struct ny_dp_routing *rt, void *arg, uint64_t now)
{
	struct apply_req *req = arg;
	struct ny_dp_node *node = rt->node;
	size_t cap = node->peer_cap, n_slots = 0, n_retired;
	struct apply_plan plan = { calloc(cap, sizeof(long)), calloc(cap, sizeof(bool)), calloc(cap, sizeof(bool)), 0 };
	struct ny_wg_peer **retired = calloc(2 * cap, sizeof(*retired));
	size_t *slots = calloc(cap, sizeof(*slots));
	struct ny_router_config cfg;
	int ret = -ENOMEM;

	req->result = NY_DP_APPLY_REJECTED;
	if (!plan.next || !plan.rotate || !plan.reprobe || !retired || !slots)
		goto out;
	if ((ret = plan_apply(rt, req, &plan)) < 0) {
		req->result = NY_DP_APPLY_RESTART_REQUIRED;
		snprintf(req->msg, req->msg_len, "more neighbours than the %zu slots this node started with", cap);
		goto done;
	}
	/* The router first: it allocates everything before it changes anything, so a failure leaves all as it was. */
	for (size_t i = 0; i < plan.n_peers; i++)
		if (plan.next[i] >= 0)
			slots[n_slots++] = (size_t)plan.next[i];
	if ((ret = make_router_config(rt, req->central, req->self, slots, n_slots, &cfg)) < 0 ||
	    (ret = ny_router_reconfigure(rt->router, &cfg, now)) < 0)
		goto out;

	/* Shards wait on peer_lock while the slots change: new engine peers cost an X25519 each, once per change. */
	pthread_mutex_lock(&node->wg_lock);
	pthread_mutex_lock(&node->peer_lock);
	n_retired = apply_slots(rt, req, &plan, retired);
	pthread_mutex_unlock(&node->peer_lock);
	pthread_mutex_unlock(&node->wg_lock);

	for (size_t i = 0; i < plan.n_peers; i++)
		if (plan.next[i] == SLOT_RETIRE || plan.reprobe[i])
			setup_peer_endpoints(rt, i);
	sync_dns_names(rt, now);
	/* A new session for new neighbours, new keys and new endpoints, once the endpoints are known. */
	for (size_t i = 0; i < plan.n_peers; i++)
		if (plan.next[i] >= 0 && (plan.rotate[i] || plan.reprobe[i]))
			atomic_fetch_or(&node->peers[i].pending, NY_WG_ACTION_SEND_INITIATION);
	if ((ret = rebuild_maps(rt)) < 0)
		goto out;
	sync_health(rt, true, now);
	/* Next hops are looked up by node index, which the new configuration may have renumbered. */
	rt->fib_stale = true;
	rt->routes_dirty = true;
	publish_tables(rt, now);
	/* No shard holds a retired peer once every shard has passed a quiescent state since it left the table. */
	ny_rcu_synchronize();
	pthread_mutex_lock(&node->wg_lock);
	for (size_t i = 0; i < n_retired; i++)
		ny_wg_device_remove_peer(&node->dev, retired[i]);
	pthread_mutex_unlock(&node->wg_lock);
	ny_dp_control_wake(node);
	req->result = NY_DP_APPLY_APPLIED;
	snprintf(req->msg, req->msg_len, "applied");
	goto done;
out:
	snprintf(req->msg, req->msg_len, "cannot apply: %s", strerror(-ret));
done:
	free(plan.next);
	free(plan.rotate);
	free(plan.reprobe);
	free(retired);
	free(slots);
}

int ny_dp_node_apply(struct ny_dp_node *node, const struct ny_conf_central *central, char *msg, size_t msg_len)
{
	struct apply_req req = { central, 0, NY_DP_APPLY_REJECTED, msg, msg_len };
	long self = ny_conf_central_find(central, node->local->id);
	int ret;

	if (self < 0 || ny_conf_central_peer(central, (size_t)self)->is_client) {
		snprintf(msg, msg_len, "node %s is no longer a router in the new configuration", node->local->id);
		return NY_DP_APPLY_RESTART_REQUIRED;
	}
	req.self = (size_t)self;
	if ((ret = ny_dp_routing_call(node, apply_on_thread, &req, 1000)) < 0) {
		snprintf(msg, msg_len, "%s", ret == -ETIMEDOUT ? "timed out waiting for dispatch" : strerror(-ret));
		return NY_DP_APPLY_REJECTED;
	}
	return req.result;
}
