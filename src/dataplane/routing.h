/* Private to src/dataplane/: the routing thread's state, for the code that runs on it (routing.c, and functions
 * handed to ny_dp_routing_call, such as the status collector). Everything here belongs to the routing thread
 * except what is marked otherwise. */
#ifndef NYLON_DATAPLANE_ROUTING_H
#define NYLON_DATAPLANE_ROUTING_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "dataplane/internal.h"

struct ny_dns;
struct ny_dns_cache;
struct ny_health;
struct ny_router;
struct ny_route_endpoints;
struct ny_route_probe_tokens;
struct ny_router_node;
struct ny_router_prefix;
struct ny_sys;

#define CTL_QUEUE_LEN 256

struct ctl_msg {
	struct ny_dp_peer *peer;
	struct ny_wg_peer *wg; /* peer->wg when queued: a config change may retire the slot meanwhile */
	struct ny_io_addr src;
	uint64_t at;
	uint16_t len;
	uint8_t data[NY_DP_SEG_LEN];
};

struct ny_dp_routing {
	struct ny_dp_node *node;
	/* This node's prefix health monitors (nylon/health.h). Set before the thread starts, stopped by
	 * ny_dp_routing_stop before the thread is joined, freed with rt; driven by the routing thread (live apply). */
	struct ny_health *health;
	pthread_t thread;
	bool started;
	int wake; /* eventfd */
	atomic_bool routes_enabled; /* set by the main thread once the interface is up; ifindex is valid then */
	bool routes_on;             /* the routing thread has seen routes_enabled */

	pthread_mutex_t qlock; /* guards the queue and the calls: shards and the main thread push, the thread drains */
	unsigned qhead, qcount;
	struct ctl_msg *queue;
	struct routing_call *calls; /* ny_dp_routing_call, oldest first */
	bool stopped;               /* under qlock: the thread has exited; calls fail with -ESHUTDOWN */

	struct ny_router *router;
	/* Per node->peers index (peer_cap entries): */
	struct ny_route_endpoints **eps; /* NULL for passive clients and free slots */
	struct ny_route_probe_tokens *tokens;
	struct ny_aead_ctx *aead;
	uint32_t *link;           /* last link metric given to the router, per slot */
	uint64_t *client_rx;      /* last_rx last reported to the router, per slot */
	bool *client_new;         /* client_rx changed since the router heard it */
	size_t *dp_slot;          /* node->peers index -> the router's neighbour slot, SIZE_MAX for a free slot */
	/* Per router neighbour slot (the router numbers its neighbours 0..n_slots in configuration order): */
	size_t *slot_dp;          /* -> node->peers index */
	size_t n_slots;
	struct ny_dp_peer **peer_of_node; /* central index -> our peer, NULL when not a neighbour */
	size_t n_nodes;                   /* entries of peer_of_node */
	uint64_t fib_generation;
	bool fib_stale; /* rebuild the forwarding table even if the router's generation did not move */
	uint64_t next_sync;

	struct ny_sys *sys;
	unsigned ifindex;
	bool routes_dirty;
	uint64_t routes_retry_at;

	/* Endpoint names (nylon/dns.h): the resolver with node.yaml's dns_resolvers, and the cache of every configured
	 * name, kept up to date by the loop (its sockets are polled with the wake eventfd). */
	struct ny_dns *dns;
	struct ny_dns_cache *dns_cache;

	struct ny_dp_user_probe *user_probes; /* `nylon probe` pings in flight (status.c), newest first */

	/* What the router was configured with (it copies what it keeps; these only live through ny_router_new). */
	struct ny_router_node *nodes;
	struct ny_router_prefix *prefixes;
	size_t *neighbours;
};

/* Runs fn(rt, arg, now) on the routing thread, between two of its iterations, and waits for it: at most timeout_ms
 * for the thread to pick the call up (once running, fn is waited for to the end, so arg may live on the caller's
 * stack). fn must be quick and must not call back into ny_dp_routing_call. 0, -ETIMEDOUT (the thread did not pick it
 * up in time: fn will never run), -ESHUTDOWN (no routing thread), -ENOMEM. Context: any thread but the routing
 * thread. */
typedef void (*ny_dp_routing_fn)(struct ny_dp_routing *rt, void *arg, uint64_t now);
int ny_dp_routing_call(struct ny_dp_node *node, ny_dp_routing_fn fn, void *arg, int timeout_ms);

/* `nylon probe` (status.c): sends one ping with token to resolved endpoint idx of neighbour slot nb, recording the
 * token like a scheduled probe's (so the pong also feeds the endpoint's RTT). 0, or -EEXIST (draw another token),
 * -EINVAL (no such resolved endpoint). Context: routing thread. */
int ny_dp_routing_send_ping(struct ny_dp_routing *rt, size_t nb, size_t idx, uint64_t token, uint64_t now);
/* A pong for token arrived at now: a user probe waiting for it records the reply (status.c). Context: routing
 * thread. */
void ny_dp_user_probe_pong(struct ny_dp_routing *rt, uint64_t token, uint64_t now);
/* Frees the user probes left behind by callers that gave up (status.c). Context: routing thread stopped. */
void ny_dp_user_probes_free(struct ny_dp_routing *rt);
/* The router's neighbour slot of a peer, SIZE_MAX for a free slot. Context: routing thread. */
static inline size_t ny_dp_routing_slot(const struct ny_dp_routing *rt, const struct ny_dp_peer *peer)
{
	return rt->dp_slot[peer - rt->node->peers];
}

#endif
