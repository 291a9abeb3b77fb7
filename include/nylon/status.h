/* A snapshot of a running node: what `nylon status`, the UAPI `get=1` answer, `/metrics` and `/readyz` show
 * (reference nylon-behaviour.md §5.3, §5.4; field names follow nylon's IpcResponse StatusResponse).
 *
 * ny_dp_status_collect() gathers it on the routing thread (through ny_dp_routing_call, so router and endpoint
 * state are read without locks) and reads the WireGuard engine's peer stats under node->wg_lock for a moment. The
 * result is plain data: every string is copied into the snapshot, nothing points into the node, and it may be read
 * on any thread, for as long as the caller likes, until ny_status_free().
 *
 * Conventions: lists are sorted deterministically (neighbours by id, prefixes by address then length, endpoints
 * in the neighbour's list order: configured ones first); times are unix times converted from the monotonic clock
 * with (wall now - monotonic now) at collection; `*_unix` fields are seconds, `*_ns` fields nanoseconds; 0 means
 * "never" or "does not expire". Metrics are microseconds, NY_ROUTE_INF (0xffffffff) being unreachable.
 */
#ifndef NYLON_STATUS_H
#define NYLON_STATUS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "nylon/dataplane.h"
#include "nylon/route_endpoint.h"
#include "nylon/router.h"
#include "nylon/wg.h"

#define NY_STATUS_ID_LEN 101     /* a node id (NY_ROUTE_ID_MAX) and its NUL */
#define NY_STATUS_PREFIX_LEN 50  /* NY_CONF_CIDR_STRLEN */
#define NY_STATUS_ADDR_LEN 64    /* "ip:port" or "[ipv6]:port" */
#define NY_STATUS_TEXT_LEN 256   /* an endpoint as written in central.yaml (truncated beyond) */
#define NY_STATUS_KEY_LEN 45     /* a base64 key and its NUL */

struct ny_status_source {
	char node_id[NY_STATUS_ID_LEN]; /* the router that originated the route */
	char prefix[NY_STATUS_PREFIX_LEN];
};

struct ny_status_fd {
	uint32_t seqno;
	uint32_t metric;
};

/* A route as the router publishes it: source and (seqno, metric). */
struct ny_status_pub_route {
	struct ny_status_source source;
	struct ny_status_fd fd;
};

/* A prefix this node (or, in a neighbour's entry, that neighbour) advertises as its own. */
struct ny_status_advert {
	char node_id[NY_STATUS_ID_LEN]; /* self, or the passive client whose prefix we announce */
	char prefix[NY_STATUS_PREFIX_LEN];
	uint32_t metric;
	int64_t expiry_unix; /* 0: permanent (this node's own prefixes) */
	bool passive_hold;   /* a client's prefix held while the client sleeps (reference §3.6) */
};

struct ny_status_seqno {
	char prefix[NY_STATUS_PREFIX_LEN];
	uint32_t seqno;
};

struct ny_status_endpoint {
	char address[NY_STATUS_TEXT_LEN];   /* as configured, or "ip:port" for a remote-initiated one */
	char resolved[NY_STATUS_ADDR_LEN];  /* "" while unresolved */
	bool active;
	bool remote_init;
	bool is_best;
	uint32_t metric;                    /* NY_ROUTE_INF while inactive */
	int64_t filtered_rtt_ns;
	int64_t stabilized_rtt_ns;
};

/* A neighbour's latest update for a prefix. */
struct ny_status_nb_route {
	struct ny_status_pub_route pub_route;
	int64_t expire_at_unix;
};

struct ny_status_wg_peer {
	int64_t latest_handshake_unix_ns; /* 0: never */
	uint64_t tx_bytes;
	uint64_t rx_bytes;
	uint32_t persistent_keepalive_interval; /* seconds, 0 = off */
	char endpoint[NY_STATUS_ADDR_LEN];      /* where data goes now; "" when unknown */
	uint8_t endpoint_family;                /* AF_INET / AF_INET6, 0 when unknown */
};

/* A graph neighbour: a router, or a passive client. */
struct ny_status_neighbour {
	char peer_id[NY_STATUS_ID_LEN];
	char public_key[NY_STATUS_KEY_LEN]; /* base64 */
	uint8_t public_key_raw[32];
	bool passive_client;
	uint32_t best_metric; /* link metric: the best endpoint's, NY_ROUTE_INF when down or a client */
	struct ny_status_endpoint *endpoints;
	size_t n_endpoints;
	struct ny_status_nb_route *routes; /* everything it told us, sorted by prefix then source */
	size_t n_routes;
	struct ny_status_advert *advertised; /* its own configured prefixes (node_id = the neighbour) */
	size_t n_advertised;
	struct ny_status_wg_peer wireguard;
};

struct ny_status_selected {
	struct ny_status_pub_route pub_route;
	char nh[NY_STATUS_ID_LEN]; /* next hop: a neighbour, a client, or this node (exit) */
	int64_t expire_at_unix;    /* 0: does not expire (own prefixes) */
	char (*retracted_by)[NY_STATUS_ID_LEN]; /* neighbours that acknowledged the retraction */
	size_t n_retracted_by;
};

struct ny_status_table_entry {
	char prefix[NY_STATUS_PREFIX_LEN];
	char nh[NY_STATUS_ID_LEN];
	bool blackhole;
	uint32_t metric; /* ours: not in nylon's RouteTableEntry, for /metrics */
};

struct ny_status_fdist {
	struct ny_status_source source;
	struct ny_status_fd fd;
};

struct ny_status_node_stats {
	uint32_t neighbour_count;
	uint32_t active_endpoint_count;
	uint32_t selected_route_count;
	uint32_t advertised_prefix_count;
	uint64_t tx_bytes; /* sum over the WireGuard peers */
	uint64_t rx_bytes;
};

/* The data plane's counters as plain numbers (struct ny_dp_stats without the atomics). */
struct ny_status_dp_counters {
	uint64_t rx_udp_pkts, rx_udp_bytes;
	uint64_t rx_tun_pkts, rx_tun_bytes;
	uint64_t tx_udp_pkts, tx_tun_pkts;
	uint64_t fwd_pkts;
	uint64_t ttl_expired;
	uint64_t control_pkts;
	uint64_t batches, batch_pkts;
	uint64_t drops[NY_DP_DROP__COUNT]; /* names: ny_dp_drop_name() */
};

/* Ours, beyond nylon's status: counters for /metrics and debugging. */
struct ny_status_counters {
	struct ny_status_dp_counters dp;        /* summed over the shards */
	struct ny_status_dp_counters *shards;   /* per shard, n_shards of them */
	unsigned n_shards;
	uint64_t wg_drops[NY_WG_DROP__COUNT];   /* the engine's; names: ny_wg_drop_name() */
	struct ny_router_counters router;
	struct ny_route_probe_token_stats probe_tokens;
};

struct ny_status_node {
	char node_id[NY_STATUS_ID_LEN];
	char interface[32];
	char public_key[NY_STATUS_KEY_LEN];
	uint16_t listen_port;
	int64_t config_timestamp; /* central.yaml `timestamp` (unix ns, as nylon's seal writes it) */
	bool trace_enabled;       /* false here; the IPC server, which knows about --dbg-trace-tc, sets it */
	struct ny_status_advert *advertised;
	size_t n_advertised;
	struct ny_status_seqno *seqnos;
	size_t n_seqnos;
	struct ny_status_node_stats stats;
	char backend[16]; /* ours: the I/O backend name */
};

struct ny_status {
	int64_t collected_unix_ns; /* wall clock at collection */
	struct ny_status_node node;
	struct ny_status_neighbour *neighbours; /* sorted by peer_id */
	size_t n_neighbours;
	struct ny_status_selected *selected;    /* sorted by prefix */
	size_t n_selected;
	struct ny_status_table_entry *forward;  /* forwarding table (next hop a neighbour or blackhole), by prefix */
	size_t n_forward;
	struct ny_status_table_entry *exit;     /* prefixes this node delivers to the OS, by prefix */
	size_t n_exit;
	struct ny_status_fdist *fds;            /* feasibility distances, by prefix then source */
	size_t n_fds;
	struct ny_status_counters counters;
};

/* Takes a snapshot of node. timeout_ms bounds the wait for the routing thread to pick the request up (IPC uses
 * 1000, reference §5.4). 0 with *out set (free it with ny_status_free), -ETIMEDOUT, -ESHUTDOWN (the node is not
 * running), -ENOMEM. Context: any thread but the routing thread; never while holding node->wg_lock. */
int ny_dp_status_collect(struct ny_dp_node *node, struct ny_status **out, int timeout_ms);

/* Frees a snapshot and everything in it; NULL is fine. */
void ny_status_free(struct ny_status *st);

/* ---- probe (`nylon probe`, reference §5.4) ---- */

enum ny_probe_status {
	NY_PROBE_UNKNOWN = 0,
	NY_PROBE_REPLIED,
	NY_PROBE_TIMEOUT,
	NY_PROBE_SEND_ERROR,
	NY_PROBE_RESOLVE_ERROR,
};

struct ny_probe_result {
	char address[NY_STATUS_TEXT_LEN];  /* as in ny_status_endpoint */
	char resolved[NY_STATUS_ADDR_LEN]; /* "" while unresolved */
	enum ny_probe_status status;
	int64_t latency_ns;                /* REPLIED: the round trip */
};

/* Pings every endpoint of neighbour peer_id once and waits up to timeout_ms for the pongs (the pongs also count as
 * ordinary probe samples). Results are in the neighbour's endpoint order, sorted by address; *out is malloc'd (free
 * it). 0, -ENOENT (not a neighbour of this node), -ETIMEDOUT (the routing thread did not answer within 1 s),
 * -ESHUTDOWN, -ENOMEM. Context: any thread but the routing thread; blocks for up to timeout_ms + a few ms. */
int ny_dp_probe(struct ny_dp_node *node, const char *peer_id, int timeout_ms, struct ny_probe_result **out,
		size_t *n_out);

#endif
