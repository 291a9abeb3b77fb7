/* One router neighbour's endpoints and the probes that measure them: nylon's replacement for Babel's Hello/IHU
 * (reference nylon-behaviour.md §3.3, §3.7; RFC 8966 §3.4 is what it replaces).
 *
 * A neighbour has configured endpoints (central.yaml `endpoints`, never removed) and remote-initiated ones (the
 * source ip:port of a ping that matched no endpoint, removed by GC once inactive). An endpoint is active while it
 * was heard from (a ping from it, or a pong to a probe sent to it) within LinkDeadThreshold; its metric is its
 * filtered RTT (route_metric.h) while active and NY_ROUTE_INF otherwise. The neighbour's link metric is that of its
 * best endpoint: the active one with the lowest metric, the first in list order on a tie.
 *
 * Everything is a pure state machine: time comes in as monotonic ns, nothing here sends, resolves names or reads a
 * clock. The caller (the router) sends the probes this asks for, resolves configured names and hands the addresses
 * in, and feeds back pings and pongs.
 *
 * Indices: endpoints are kept in list order, configured ones first (in the order added, and a configured endpoint
 * keeps its index for the life of the object), then remote ones (oldest first). Remote indices move when GC or a
 * replacement removes an endpoint, so anything that outlives one call (a probe in flight) names an endpoint by its
 * id, which is never reused within one struct ny_route_endpoints.
 *
 * Context: routing thread. Neither structure is shared: one thread owns it and calls everything here.
 */
#ifndef NYLON_ROUTE_ENDPOINT_H
#define NYLON_ROUTE_ENDPOINT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "nylon/io.h"
#include "nylon/route_metric.h"

/* Reference §3.8. The simulator and the tests shrink them. */
struct ny_route_endpoint_params {
	uint64_t probe_delay_ns;           /* active endpoints are probed this often: 1 s (ProbeDelay) */
	uint64_t probe_recovery_delay_ns;  /* inactive ones: 1.5 s (ProbeRecoveryDelay) */
	uint64_t probe_discovery_delay_ns; /* every resolved configured one: 10 s (ProbeDiscoveryDelay) */
	uint64_t link_dead_threshold_ns;   /* inactive once not heard from for this long: 5 s (LinkDeadThreshold) */
	uint64_t token_ttl_ns;             /* a probe's token is forgotten after this: 5 s */
	uint32_t token_capacity;           /* probes in flight a token table remembers: 4096 */
	uint32_t max_remote;               /* remote-initiated endpoints per neighbour: 8 */
	struct ny_route_metric_params metric;
};

/* Fills in the reference's values (above). */
void ny_route_endpoint_params_default(struct ny_route_endpoint_params *p);

/* ---- one neighbour's endpoints ---- */

struct ny_route_endpoints;

/* Creates an empty endpoint list with params (NULL: the defaults). 0, -EINVAL on a zero delay or threshold or bad
 * metric params, -ENOMEM. */
int ny_route_endpoints_new(struct ny_route_endpoints **out, const struct ny_route_endpoint_params *params);
void ny_route_endpoints_free(struct ny_route_endpoints *eps);

/* Adds a configured endpoint, unresolved, described by text (as written in central.yaml; kept for status). It goes
 * after the other configured endpoints and before any remote one. Returns its index (>= 0), or -EINVAL (NULL or
 * empty text), -ENOMEM. */
int ny_route_endpoints_add_configured(struct ny_route_endpoints *eps, const char *text);

/* Sets what configured endpoint idx resolves to (NULL: unresolved; it is then neither probed nor matched). Liveness
 * and RTT history are kept across a change of address. 0, or -EINVAL when idx is not a configured endpoint or the
 * address is neither AF_INET nor AF_INET6. A remote endpoint with the same address is left alone: lookups find the
 * configured one first, so the remote one is no longer renewed and GC drops it. */
int ny_route_endpoints_set_resolved(struct ny_route_endpoints *eps, size_t idx, const struct ny_io_addr *addr);

/* A ping from this neighbour arrived from src (the outer UDP source) at now. The endpoint that resolves to src is
 * renewed; with none, a remote endpoint is created for src. When max_remote remote endpoints already exist, the one
 * heard from longest ago among the inactive ones is replaced; when all of them are active the ping is refused
 * (-ENOSPC) and nothing changes, so a neighbour cannot churn live endpoints by pinging from new ports.
 * *became_active (may be NULL) is set when the endpoint is new or was inactive: the caller then recomputes routes
 * and sends this neighbour its full table (reference §3.3).
 * Returns the endpoint's index, or -ENOSPC, -EAFNOSUPPORT (src neither AF_INET nor AF_INET6), -ENOMEM. */
int ny_route_endpoints_ping_received(struct ny_route_endpoints *eps, const struct ny_io_addr *src, uint64_t now,
				     bool *became_active);

/* A pong matched a probe sent to endpoint id (see ny_route_probe_tokens_take) with the given RTT: renews the
 * endpoint (clearing its RTT history if it was inactive) and adds the sample. *became_active as above. Returns the
 * endpoint's index, or -ENOENT when the endpoint is gone (GC removed it while the probe was in flight). */
int ny_route_endpoints_pong_received(struct ny_route_endpoints *eps, uint64_t id, uint64_t rtt_ns, uint64_t now,
				     bool *became_active);

/* The probe schedule (reference §3.3): every probe_delay the active endpoints, every probe_recovery_delay the
 * inactive ones, every probe_discovery_delay every configured one; unresolved endpoints are skipped. All three run
 * at the first call. Writes the indices of the endpoints to probe now into idx_out (each at most once per call, in
 * list order; at most cap, the rest skipped until their next round: pass cap >= ny_route_endpoints_count()) and
 * returns how many. A schedule that fell behind keeps its cadence without bursts: the next round is one period
 * after the one that was due, or one period from now if that is already past.
 * The caller sends one ping per index, recording its token with the endpoint's id (ny_route_endpoints_id). */
size_t ny_route_endpoints_due(struct ny_route_endpoints *eps, uint64_t now, size_t *idx_out, size_t cap);

/* When ny_route_endpoints_due next has work: the earliest of the three schedules (0 before the first call). */
uint64_t ny_route_endpoints_next_deadline(const struct ny_route_endpoints *eps);

/* Drops every inactive remote endpoint. Returns whether any was dropped (indices of remote endpoints moved). */
bool ny_route_endpoints_gc(struct ny_route_endpoints *eps, uint64_t now);

/* The best endpoint (active, lowest metric, first on a tie) as an index, or -1 when none is active. */
int ny_route_endpoints_best(const struct ny_route_endpoints *eps, uint64_t now);

/* The neighbour's link metric: the best endpoint's metric, NY_ROUTE_INF without one. */
uint32_t ny_route_endpoints_metric(const struct ny_route_endpoints *eps, uint64_t now);

enum ny_route_link_event {
	NY_ROUTE_LINK_UNCHANGED,
	NY_ROUTE_LINK_UP,   /* some endpoint is active, and none was at the last call */
	NY_ROUTE_LINK_DOWN, /* no endpoint is active any more */
};

/* Liveness transitions for the log and for routing, relative to the previous call (the first call compares with
 * "down"). Expiry is only seen here, at a call: call it from the routing thread's periodic tick. */
enum ny_route_link_event ny_route_endpoints_poll_link(struct ny_route_endpoints *eps, uint64_t now);

/* Writes the indices of the resolved endpoints sorted by metric (stable: list order on equal metrics, inactive
 * ones last) into idx_out, at most cap; returns how many. This is the WireGuard peer's endpoint list, [0] being the
 * default for data (reference §3.7). */
size_t ny_route_endpoints_sorted(const struct ny_route_endpoints *eps, uint64_t now, size_t *idx_out, size_t cap);

/* ---- status (for logs and IPC) ---- */

size_t ny_route_endpoints_count(const struct ny_route_endpoints *eps);
size_t ny_route_endpoints_configured_count(const struct ny_route_endpoints *eps);
/* The index of endpoint id, or -ENOENT. */
int ny_route_endpoints_find_id(const struct ny_route_endpoints *eps, uint64_t id);
/* The following take a valid index (< ny_route_endpoints_count()). */
uint64_t ny_route_endpoints_id(const struct ny_route_endpoints *eps, size_t idx);
/* The resolved address, or NULL when unresolved. Valid until the endpoint is changed or removed. */
const struct ny_io_addr *ny_route_endpoints_addr(const struct ny_route_endpoints *eps, size_t idx);

struct ny_route_endpoint_status {
	const char *text;   /* configured: as written; remote: "ip:port" / "[ip]:port". Valid like addr. */
	bool resolved;
	struct ny_io_addr addr; /* when resolved */
	bool remote_init;
	bool active;
	bool heard;              /* ever heard from since created */
	uint64_t last_heard_ns;  /* when heard */
	uint32_t metric;         /* NY_ROUTE_INF when inactive */
	uint64_t filtered_ns;    /* EWMA RTT (0 before the first pong since the last revival) */
	uint64_t stabilized_ns;  /* the RTT the metric is made of */
	uint64_t id;
};
void ny_route_endpoints_status(const struct ny_route_endpoints *eps, size_t idx, uint64_t now,
			       struct ny_route_endpoint_status *out);

/* ---- probe tokens ---- */

/* The probes in flight, of one neighbour or of all of them: token -> (neighbour, endpoint id, send time), each
 * forgotten after token_ttl. A fixed table of token_capacity entries (an open-addressing hash kept at most half
 * full, plus a FIFO in send order): pongs never add entries, so a flood of unknown tokens cannot grow it, and when
 * more probes are in flight than it holds, the oldest is forgotten (counted in evicted). nb is the caller's
 * neighbour handle, opaque here. */
struct ny_route_probe_tokens;

struct ny_route_probe_token_stats {
	uint64_t added;
	uint64_t matched;
	uint64_t unknown;        /* never sent, already taken, or forgotten */
	uint64_t expired;        /* known but older than the TTL */
	uint64_t wrong_neighbour;
	uint64_t evicted;        /* forgotten before its TTL because the table was full */
};

/* 0, -EINVAL (zero TTL or a capacity below 2 or above 2^24), -ENOMEM. params NULL: the defaults. The capacity is
 * rounded up to a power of two. */
int ny_route_probe_tokens_new(struct ny_route_probe_tokens **out, const struct ny_route_endpoint_params *params);
void ny_route_probe_tokens_free(struct ny_route_probe_tokens *t);

/* Records a ping sent at now with token (random, from the caller) to endpoint ep_id of neighbour nb. Forgets
 * expired tokens first. 0, or -EEXIST when token is already in flight (draw another). */
int ny_route_probe_tokens_add(struct ny_route_probe_tokens *t, uint64_t token, uint32_t nb, uint64_t ep_id,
			      uint64_t now);

/* Matches a pong's token from neighbour nb received at now. 0 with *ep_id and *sent_at set (the entry is consumed);
 * -ENOENT for an unknown or expired token; -EPERM when the token belongs to another neighbour (the entry stays for
 * the right one). ep_id and sent_at may be NULL. */
int ny_route_probe_tokens_take(struct ny_route_probe_tokens *t, uint64_t token, uint32_t nb, uint64_t now,
			       uint64_t *ep_id, uint64_t *sent_at);

/* Tokens currently remembered (expired ones included until the next add). */
size_t ny_route_probe_tokens_count(const struct ny_route_probe_tokens *t);
const struct ny_route_probe_token_stats *ny_route_probe_tokens_stats(const struct ny_route_probe_tokens *t);

#endif
