/* The Babel-style router (reference nylon-behaviour.md §3.2, §3.5, §3.6, §3.8; RFC 8966 with the differences of
 * §3.9) as a pure state machine.
 *
 * Inputs: the configuration (nodes, their prefixes, this node's graph neighbours), per-neighbour link metrics, decoded
 * control messages, local prefix metrics (health checks), "client heard" events and the time. Outputs: per-neighbour
 * control messages (batched and de-duplicated as the reference's neighbour I/O), the forwarding and exit tables, and
 * events for logs.
 *
 * The router owns no thread, socket or clock: `now` is a monotonic time in nanoseconds passed in by the caller, who
 * calls ny_router_tick() no later than the deadline it returned (and after every other input, to flush).
 *
 * Context: one thread (the babel thread). Nothing here is safe to call concurrently on one router; distinct routers
 * are independent (the simulator runs thousands in one thread).
 */
#ifndef NYLON_ROUTER_H
#define NYLON_ROUTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "nylon/conf.h"
#include "nylon/route.h"

struct ny_router;

/* Reference §3.8. ny_router_timers_default() fills the reference values; tests may shrink them. */
struct ny_router_timers {
	uint64_t route_update_ns;     /* 5 s: full dump to every neighbour (RouteUpdateDelay) */
	uint64_t route_expiry_ns;     /* 25 s: neighbour route lifetime (RouteExpiryTime) */
	uint64_t starvation_ns;       /* 100 ms: SolveStarvation period */
	uint64_t flush_ns;            /* 500 ms: neighbour I/O flush (NeighbourIOFlushDelay) */
	uint64_t seqno_dedup_ns;      /* 3 s: seqno request de-dup TTL (SeqnoDedupTTL) */
	uint64_t gc_ns;               /* 1 s: GC period */
	uint64_t client_keepalive_ns; /* 3 s: client advertisement lifetime (ClientKeepaliveInterval) */
	uint64_t client_dead_ns;      /* 6 s: client not heard → passive hold (ClientDeadThreshold) */
	uint64_t client_check_ns;     /* 1 s: client check period */
	uint32_t hop_cost;            /* 5 µs added per hop (HopCost) */
	uint32_t large_change;        /* 100000 µs: |Δmetric| that triggers an update (LargeChangeThreshold) */
	uint32_t seqno_hop_count;     /* 64 (SeqnoRequestHopCount) */
	uint32_t switch_deadband_pct; /* 110: switch only if new·1.10 ≤ current (LinkSwitchDeadband) */
	size_t safe_mtu;              /* 1200: informative; the caller's codec packs bundles (SafeMTU) */
};

void ny_router_timers_default(struct ny_router_timers *t);

/* A configured prefix of a node and its static metric (health-checked prefixes start at this value too). */
struct ny_router_prefix {
	struct ny_conf_cidr prefix;
	uint32_t metric;
};

/* Every node in central.yaml, routers and passive clients. */
struct ny_router_node {
	const char *id;
	bool is_client;
	const struct ny_router_prefix *prefixes;
	size_t n_prefixes;
};

enum ny_router_event_type {
	NY_ROUTER_EV_ROUTE_INSERTED = 1, /* a prefix got a finite route or changed next hop (forwarding insert) */
	NY_ROUTER_EV_ROUTE_RETRACTED,    /* a finite route became INF: retraction broadcast, blackhole installed */
	NY_ROUTER_EV_ROUTE_RELEASED,     /* a held route was released: blackhole removed */
	NY_ROUTER_EV_SEQNO_BUMPED,       /* own seqno of a prefix changed (request or passive hold) */
	NY_ROUTER_EV_CLIENT_HOLD,        /* a client went into passive hold */
	NY_ROUTER_EV_CLIENT_ACTIVE,      /* a client was heard again after a hold or for the first time */
};

struct ny_router_event {
	enum ny_router_event_type type;
	struct ny_conf_cidr prefix;
	size_t source_node; /* router id of the route, node index */
	size_t nh_node;     /* next hop node index (self = cfg.self) */
	uint16_t seqno;
	uint32_t metric;
};

/* Called synchronously from inside router calls; it must not call back into the router. */
typedef void (*ny_router_event_fn)(void *arg, const struct ny_router_event *ev);

struct ny_router_config {
	const struct ny_router_node *nodes; /* the router copies what it keeps */
	size_t n_nodes;
	size_t self;              /* index of this node; must be a router */
	const size_t *neighbours; /* graph neighbours (node indices), in configured order */
	size_t n_neighbours;
	struct ny_router_timers timers;
	ny_router_event_fn on_event; /* may be NULL */
	void *event_arg;
};

/* NULL on allocation failure or invalid configuration (self out of range or a client, neighbour out of range). */
struct ny_router *ny_router_new(const struct ny_router_config *cfg, uint64_t now);
void ny_router_free(struct ny_router *r);

/* Replaces the configuration of a running router (central.yaml changed, reference §5.1 live apply). Nodes, neighbours
 * and prefixes are matched by id / prefix, not by index: cfg's indices may all differ from the old ones. Returns 0,
 * or -EINVAL (cfg invalid: self out of range or a client, or self's id differs from the old self's id), -ENOMEM (the
 * router is unchanged). Neighbour slots are renumbered as cfg->neighbours lists them; the caller renumbers its own
 * per-slot state the same way. Context: the router's thread.
 *
 * Rules (everything is allocated before the old state is touched, so an error leaves the router as it was):
 *  - Identity. A node is kept when cfg has its id with the same role; a node that changed between router and client
 *    is removed and added. A prefix is kept while some node of cfg configures it. Invalid also: a neighbour out of
 *    range, listed twice or self, a duplicate node id.
 *  - Kept router neighbours keep their link metric, received routes, pending and ready messages; kept clients keep
 *    their heard time and hold. What names a removed router id or prefix is dropped from them. Added neighbours
 *    start with link INF (set it when probes succeed: link-up queues the full table as usual).
 *  - Removed neighbours: their outbox is dropped and their routes are dropped as if the link went down and the
 *    routes expired; routes through them are recomputed now (retracted and held, or replaced, as ComputeRoutes
 *    does). A held route whose next hop left the configuration reports nh_node = self (it is a blackhole).
 *  - Removed router ids: their sources and routes are dropped. A finite selected route whose router id or prefix
 *    is gone is retracted at once (Update INF with the old id and seqno, ahead of the outbox) to every kept router
 *    neighbour whose link is up: those still on the old configuration learn it now, those on the new one drop it as
 *    unknown. Then the prefix is selected afresh (or, configured nowhere, forgotten: no hold, no blackhole).
 *  - Self's prefixes: a removed one is retracted (neighbours get the INF update) as when its health check fails; an
 *    added one is advertised with seqno 0, or with the kept self seqno if the prefix existed. A kept one keeps its
 *    health-checked metric unless its configured metric changed (then the new one applies, with a triggered update
 *    if the change is large). Clients' prefixes follow their client's configured metrics likewise.
 *  - Kept: self seqnos, feasibility distances, selected routes, retraction acks and seqno de-dup of kept prefixes and
 *    router ids, the timers' deadlines (cfg->timers applies from the next period), counters and the generation.
 *    Every prefix is then recomputed; one whose inputs did not change selects the same route and sends nothing.
 *  - The generation changes only if an entry of the forwarding table changed (prefix, next hop id, blackhole):
 *    a renumbering alone does not bump it; the caller, who renumbers, refreshes what it keeps by node index.
 *  - Key rotation is invisible here (same id). The router copies what it keeps; cfg stays the caller's. */
int ny_router_reconfigure(struct ny_router *r, const struct ny_router_config *cfg, uint64_t now);

/* Link state of neighbour slot nb (0..n_neighbours-1, not a node index): the best endpoint metric or NY_ROUTE_INF
 * while the link is down (reference §3.3). A link that comes up (INF → finite) gets the full table queued. Clients'
 * slots have no link metric (they are reached through WireGuard); setting it is ignored. */
void ny_router_set_link(struct ny_router *r, size_t nb, uint32_t metric, uint64_t now);

/* A decoded Update / SeqnoRequest / AckRetract from neighbour slot nb. Probes are not the router's business and are
 * ignored (counted). Unknown router ids, unconfigured prefixes and clients as senders are dropped and counted. */
void ny_router_receive(struct ny_router *r, size_t nb, const struct ny_route_msg *msg, uint64_t now);

/* Local metric of one of self's configured prefixes (health checks: NY_ROUTE_INF while failing). 0 or -ENOENT. */
int ny_router_set_prefix_metric(struct ny_router *r, const struct ny_conf_cidr *prefix, uint32_t metric,
				uint64_t now);

/* Passive client neighbour slot nb sent an authenticated packet (handshake or data) at now (reference §3.6). */
void ny_router_client_heard(struct ny_router *r, size_t nb, uint64_t now);

/* Runs everything due at now (starvation, full dump, GC, client checks, flush) and returns the next deadline (> now). */
uint64_t ny_router_tick(struct ny_router *r, uint64_t now);

/* Messages flushed for neighbour slot nb, in send order (seqno requests, updates, acks; reference §3.2). The caller
 * packs them into bundles under safe_mtu and encrypts. Returns the count copied; call until 0. Only router neighbours
 * whose link is finite are flushed; clients never get control messages. */
size_t ny_router_take_outbox(struct ny_router *r, size_t nb, struct ny_route_msg *out, size_t cap);

/* Forwarding state. The generation changes whenever the forward or exit table changes. */
uint64_t ny_router_table_generation(const struct ny_router *r);

struct ny_router_fwd {
	struct ny_conf_cidr prefix;
	size_t nh_node;  /* node index; self = cfg.self; a client's index for its prefixes */
	bool blackhole;  /* held / retracted (INF) route: drop, never fall back to a covering or default route */
	bool exit;       /* nh is self: deliver to the OS (the exit table is the entries with exit set) */
	uint32_t metric;
};

/* All selected prefixes, held/INF ones included (blackholed), sorted by prefix. Returns the total count, even if it
 * is greater than cap (then only cap entries are written). */
size_t ny_router_forward_table(const struct ny_router *r, struct ny_router_fwd *out, size_t cap);

/* ---- read accessors for `status` (all return the total count, writing at most cap entries) ---- */

struct ny_router_route_info {
	struct ny_conf_cidr prefix;
	size_t source_node; /* router id */
	uint16_t seqno;
	uint32_t metric;    /* INF = held */
	size_t nh_node;
	uint64_t expire_at; /* ns, same clock as now */
	size_t retracted_by; /* neighbours that acked the retraction */
};
size_t ny_router_selected_routes(const struct ny_router *r, struct ny_router_route_info *out, size_t cap);

struct ny_router_source_info {
	struct ny_conf_cidr prefix;
	size_t router_node;
	uint16_t seqno; /* feasibility distance */
	uint32_t metric;
};
size_t ny_router_sources(const struct ny_router *r, struct ny_router_source_info *out, size_t cap);

struct ny_router_self_seqno {
	struct ny_conf_cidr prefix;
	uint16_t seqno;
};
size_t ny_router_self_seqnos(const struct ny_router *r, struct ny_router_self_seqno *out, size_t cap);

struct ny_router_nb_route_info {
	struct ny_conf_cidr prefix;
	size_t router_node;
	uint16_t seqno;
	uint32_t metric;    /* as advertised by the neighbour */
	uint64_t expire_at;
};
size_t ny_router_neighbour_routes(const struct ny_router *r, size_t nb, struct ny_router_nb_route_info *out,
				  size_t cap);

/* Prefixes this node advertises as their origin (reference §3.5 `Advertised`): its own, and its passive clients'. */
struct ny_router_advert_info {
	struct ny_conf_cidr prefix;
	size_t owner_node;   /* self, or the client */
	uint32_t metric;
	uint64_t expiry;     /* ns, same clock as now; UINT64_MAX for self's prefixes */
	bool passive_hold;
};
size_t ny_router_advertised(const struct ny_router *r, struct ny_router_advert_info *out, size_t cap);

/* The neighbour slots that acknowledged the retraction of prefix's selected route; 0 for an unknown prefix. */
size_t ny_router_retracted_by(const struct ny_router *r, const struct ny_conf_cidr *prefix, size_t *nb_out,
			      size_t cap);

/* Link metric last set for slot nb (INF when down or a client). */
uint32_t ny_router_link_metric(const struct ny_router *r, size_t nb);
size_t ny_router_neighbour_node(const struct ny_router *r, size_t nb);
const char *ny_router_node_id(const struct ny_router *r, size_t node);

struct ny_router_counters {
	uint64_t rx_update, rx_seqno_request, rx_ack_retract, rx_ignored_probe;
	uint64_t drop_bad_neighbour;    /* slot out of range */
	uint64_t drop_from_client;      /* a passive client sent a control message */
	uint64_t drop_unknown_router;   /* router id not in the configuration */
	uint64_t drop_unknown_prefix;   /* prefix not configured on any node */
	uint64_t drop_bad_type;
	uint64_t tx_update, tx_seqno_request, tx_ack_retract; /* messages handed out by ny_router_take_outbox */
	uint64_t seqno_req_originated;  /* starvation and unfeasible-update requests queued */
	uint64_t seqno_req_forwarded;
	uint64_t seqno_req_deduped;     /* skipped by the 3 s de-dup */
	uint64_t route_changes;         /* forwarding-table changes (insert, next hop change, retract, release) */
	uint64_t triggered_updates;
	uint64_t full_dumps;
};
void ny_router_get_counters(const struct ny_router *r, struct ny_router_counters *out);

#endif
