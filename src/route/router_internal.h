/* Router internals shared by src/route/router*.c. Context: the babel thread only (see nylon/router.h).
 *
 * Layout. Every prefix configured on any node is interned once at creation into a dense, sorted array of `struct pfx`
 * (pid = index); a small open-addressing hash maps a prefix to its pid. Everything the reference keys by prefix hangs
 * off the pfx: the selected route, the advertisement, our own seqno, the feasibility distances of every source of the
 * prefix, and the neighbour routes (one per neighbour, sorted by neighbour slot = configured order). Work is therefore
 * per prefix: a received message recomputes one prefix, not the whole table, which keeps a 1,000-node mesh linear.
 */
#ifndef NY_ROUTE_ROUTER_INTERNAL_H
#define NY_ROUTE_ROUTER_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "nylon/router.h"

#define NONE32 UINT32_MAX

/* A neighbour's latest update for a prefix (reference §3.5 `Neighbours[].Routes`). */
struct nbroute {
	uint32_t nb;     /* neighbour slot */
	uint32_t src;    /* router id, node index */
	uint16_t seqno;
	uint32_t metric; /* as advertised */
	uint64_t expire;
};

/* Feasibility distance of the source (src, prefix) (RFC 8966 §3.2.5). */
struct fd {
	uint32_t src;
	uint16_t seqno;
	uint32_t metric;
};

/* Seqno-request de-dup cache entry (reference §3.2: SeqnoDedupTTL). */
struct dedup {
	uint32_t nb;
	uint32_t src;
	uint16_t seqno;
	uint64_t at;
};

/* The selected route (reference §3.5 `Routes[prefix]`). */
struct sel {
	bool present;
	uint32_t src;
	uint16_t seqno;
	uint32_t metric; /* INF = held / retracted */
	uint32_t nh;     /* node index: self, a client, or a neighbour router; NONE32 once a reconfiguration removed it
			  * (only a held route: it is reported as self) */
	uint64_t expire;
	uint32_t *retracted_by; /* neighbour slots that acked the retraction */
	uint32_t n_retracted, cap_retracted;
};

/* A local advertisement (reference §3.5 `Advertised[prefix]`): one of self's prefixes or a client's. */
struct advert {
	bool present;
	bool passive_hold;
	uint32_t owner;  /* node index: self or the client */
	uint32_t metric; /* self: configured or health-checked metric; client: the client's configured metric */
	uint64_t expiry; /* UINT64_MAX for self's prefixes */
};

struct pfx {
	struct ny_conf_cidr cidr;
	uint16_t self_seqno;
	bool starve_dirty, starving;
	bool fwd_present, fwd_blackhole; /* what the forwarding table holds now, to detect changes */
	uint32_t fwd_nh;
	struct advert adv;
	struct sel sel;
	struct nbroute *nbr;
	uint32_t n_nbr, cap_nbr;
	struct fd *fds;
	uint32_t n_fd, cap_fd;
	struct dedup *dd;
	uint32_t n_dd, cap_dd;
};

struct rnode {
	char *id;
	bool is_client;
	uint32_t *pids; /* its configured prefixes, interned */
	uint32_t *metrics;
	uint32_t n_pids;
};

/* Compact queued messages; converted to struct ny_route_msg by ny_router_take_outbox(). */
struct qmsg {
	uint8_t type; /* enum ny_route_msg_type */
	uint32_t pid;
	uint32_t src;
	uint16_t seqno;
	uint32_t metric; /* update: metric; seqno request: hop count */
};

struct nbr_state {
	uint32_t node;
	bool is_client;
	uint32_t link; /* best endpoint metric or INF */
	uint64_t last_heard; /* clients */
	bool heard;
	/* pending (not yet flushed), reference §3.2 */
	struct qmsg *upd;
	uint32_t n_upd, cap_upd;
	uint32_t *upd_pos; /* pid → index+1 in upd, 0 = none */
	struct qmsg *req;
	uint32_t n_req, cap_req;
	uint32_t *acks;
	uint32_t n_acks, cap_acks;
	uint8_t *ack_set; /* pid → queued */
	/* flushed, waiting for ny_router_take_outbox() */
	struct qmsg *ready;
	size_t n_ready, cap_ready, head_ready;
	/* retractions for router ids or prefixes a reconfiguration removed, encoded since the tables no longer name
	 * them; handed out before ready */
	struct ny_route_msg *bye;
	size_t n_bye, head_bye;
};

struct ny_router {
	struct rnode *nodes;
	uint32_t n_nodes;
	uint32_t self;
	uint32_t *node_hash; /* open addressing: node index+1, 0 = empty */
	uint32_t node_hash_mask;

	struct pfx *pfx;
	uint32_t n_pfx;
	uint32_t *pfx_hash; /* pid+1 */
	uint32_t pfx_hash_mask;

	struct nbr_state *nbs;
	uint32_t n_nbs;
	uint32_t *nb_of_node; /* node index → slot, NONE32 if not a neighbour */
	uint32_t connected;   /* router neighbours with a finite link */

	struct ny_router_timers t;
	ny_router_event_fn on_event;
	void *event_arg;

	uint64_t next_starve, next_dump, next_gc, next_client, next_flush;
	uint64_t generation;
	uint32_t *starve_list; /* pids with starve_dirty or starving set */
	uint32_t n_starve;
	struct ny_router_counters c;
	bool oom; /* an allocation failed on a table growth; the message was dropped */
};

/* router.c: tables and route computation */
int rt_build(struct ny_router *r, const struct ny_router_config *cfg);
void rt_release(struct ny_router *r);
uint32_t rt_pfx_find(const struct ny_router *r, const struct ny_conf_cidr *c);
uint32_t rt_node_find(const struct ny_router *r, const char *id);
bool rt_grow(void **arr, uint32_t *cap, uint32_t need, size_t elem);
struct fd *rt_fd_find(struct pfx *p, uint32_t src);
bool rt_feasible(struct pfx *p, uint32_t src, uint16_t seqno, uint32_t metric);
void rt_fd_update(struct ny_router *r, struct pfx *p, uint32_t src, uint16_t seqno, uint32_t metric);
struct nbroute *rt_nbr_find(struct pfx *p, uint32_t nb);
uint32_t rt_nb_cost(const struct ny_router *r, uint32_t nb, uint32_t metric);
bool rt_nb_active(const struct ny_router *r, uint32_t nb);
void rt_compute(struct ny_router *r, uint32_t pid, uint64_t now);
void rt_compute_all(struct ny_router *r, uint64_t now);
void rt_mark_starve(struct ny_router *r, uint32_t pid);
void rt_emit(struct ny_router *r, enum ny_router_event_type type, uint32_t pid, uint32_t src, uint32_t nh,
	     uint16_t seqno, uint32_t metric);

/* router_io.c: per-neighbour outbox (reference §3.2) */
void rt_send_update(struct ny_router *r, uint32_t nb, uint32_t pid, uint32_t src, uint16_t seqno, uint32_t metric);
void rt_broadcast_update(struct ny_router *r, uint32_t pid, uint32_t src, uint16_t seqno, uint32_t metric);
/* Advertise the selected route of pid: FD update first when finite (reference §3.5), then unicast or broadcast. */
void rt_advertise(struct ny_router *r, uint32_t nb_or_all, uint32_t pid);
bool rt_request_seqno(struct ny_router *r, uint32_t nb, uint32_t pid, uint32_t src, uint16_t seqno, uint32_t hop,
		      uint64_t now);
void rt_broadcast_request(struct ny_router *r, uint32_t pid, uint32_t src, uint16_t seqno, uint32_t hop,
			  uint64_t now);
void rt_send_ack(struct ny_router *r, uint32_t nb, uint32_t pid);
void rt_push_full_table(struct ny_router *r, uint32_t nb);
void rt_flush(struct ny_router *r);
void rt_outbox_clear(struct ny_router *r, uint32_t nb);
void rt_dedup_prune(struct ny_router *r, struct pfx *p, uint64_t now);

/* router_msg.c: receive handlers */
void rt_solve_starvation(struct ny_router *r, uint64_t now);

/* router_client.c: passive clients (reference §3.6) */
void rt_client_check(struct ny_router *r, uint32_t nb, uint64_t now);
void rt_clients_check(struct ny_router *r, uint64_t now);

#define ALL_NB UINT32_MAX

/* The next hop reported for a selected route (a held route whose next hop left the configuration reports self). */
static inline size_t rt_sel_nh(const struct ny_router *r, const struct sel *s)
{
	return s->nh == NONE32 ? r->self : s->nh;
}

#endif
