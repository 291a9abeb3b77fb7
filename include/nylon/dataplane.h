/* The data plane of `nylon run`: per-core shards that move packets between the TUN and the UDP port through the
 * WireGuard engine, and a control thread that owns handshakes and timers.
 *
 * Threads and what they own:
 * - shard i: its ny_io (TUN queue + UDP socket), its buffers and counters. It reads and writes packets in
 *   batches; keypair lookups, sealing, opening, replay windows and the engine's timers run lock-free on the
 *   RCU-published keypairs (nylon/wg.h), and it takes node->peer_lock once per batch and direction for the peers'
 *   endpoints, roaming and staging. It never takes wg_lock: a handshake being computed does not hold it up.
 * - control thread: handshake messages (handed over by the shards through a queue), the engine's timers,
 *   initiations, keepalives and packets staged while a peer had no session. X25519 never runs on a shard.
 * - routing thread (routing.c): the router state machine, probes, the forwarding table and the kernel routes.
 *   Shards hand it control messages through a queue; it sends its own through the engine under wg_lock.
 * - main thread: creates and stops everything.
 * Two locks, always taken in this order:
 * - node->wg_lock guards the WireGuard engine's owner state (handshakes, timer ticks, keypair rotation, peers) and
 *   the neighbour slots' engine peers. The control thread holds it while it computes handshakes, the routing
 *   thread for config changes and its own messages. Shards never take it: the rotation of a confirmed `next`
 *   keypair, which they detect, they leave to the control thread (NY_WG_ACTION_CONFIRM).
 * - node->peer_lock guards each neighbour's data-plane fields (endpoint, alternatives, pinning, last_rx, staged
 *   packets) and, with wg_lock, a slot's engine peer (changed under both). Every holder keeps it for a few loads
 *   and stores: no crypto, no system call (but the log line of an endpoint change).
 * The control thread frees retired keypairs after a grace period outside both. The forwarding table (what to do
 * with a destination) is published with RCU by the routing thread: shards read it without any lock.
 */
#ifndef NYLON_DATAPLANE_H
#define NYLON_DATAPLANE_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "nylon/aead.h"
#include "nylon/conf.h"
#include "nylon/io.h"
#include "nylon/wg.h"

/* Why the data plane dropped a packet; counted per shard. The engine's own reasons are in enum ny_wg_drop. */
enum ny_dp_drop {
	NY_DP_DROP_NO_ROUTE,       /* from the TUN: no peer owns the destination */
	NY_DP_DROP_NOT_IP,         /* from the TUN or a peer: not IPv4/IPv6, or a length that does not fit */
	NY_DP_DROP_TOO_BIG,        /* does not fit a segment buffer */
	NY_DP_DROP_NO_ENDPOINT,    /* a session but no known endpoint (a passive client that never reached us) */
	NY_DP_DROP_STAGED_FULL,    /* no session and the staging queue is full */
	NY_DP_DROP_HANDSHAKE_QUEUE, /* the control thread's handshake queue is full */
	NY_DP_DROP_WG,             /* the engine refused it (see the engine's counters) */
	NY_DP_DROP_CONTROL_QUEUE,  /* a control message (version nibble 8) while the routing thread's queue is full */
	NY_DP_DROP_OFFLOAD,        /* a TUN super-packet that could not be split */
	NY_DP_DROP_BLACKHOLE,      /* the destination's route is retracted and held (RFC 8966 §3.5.4) */
	NY_DP_DROP_LOOP,           /* from the TUN to a prefix this node serves: the OS sent back what it owns */
	NY_DP_DROP_SOURCE,         /* source address not routed through the sending neighbour (validate_source) */
	NY_DP_DROP__COUNT,
};
const char *ny_dp_drop_name(enum ny_dp_drop reason);

struct ny_dp_stats {
	_Atomic uint64_t rx_udp_pkts, rx_udp_bytes; /* authenticated transport packets */
	_Atomic uint64_t rx_tun_pkts, rx_tun_bytes; /* IP packets read from the TUN (after splitting) */
	_Atomic uint64_t tx_udp_pkts, tx_tun_pkts;
	_Atomic uint64_t fwd_pkts;     /* transit packets re-encrypted to the next hop */
	_Atomic uint64_t ttl_expired;  /* transit packets handed to the OS for Time Exceeded */
	_Atomic uint64_t control_pkts; /* control messages handed to the routing thread */
	_Atomic uint64_t batches, batch_pkts;
	_Atomic uint64_t drops[NY_DP_DROP__COUNT];
};

#define NY_DP_STAGED_MAX 64
#define NY_DP_SEG_LEN 1536 /* one encrypted packet: 16 B header + MTU + padding + tag */

#define NY_DP_ALT_MAX 8
#define NY_DP_PEERS_MIN 64 /* neighbour slots, at least */

struct ny_dp_staged_pkt {
	uint32_t len;
	uint8_t data[NY_DP_SEG_LEN];
};

/* A WireGuard neighbour: a router with configured endpoints, or a passive client that roams. */
struct ny_dp_peer {
	struct ny_wg_peer *wg;
	const char *id;
	size_t conf_index; /* in central.yaml's combined router + client list */
	bool is_client;
	struct ny_io_addr endpoint; /* where data goes: the best probed endpoint, else the latest source (roaming) */
	bool has_endpoint;
	bool pinned;                /* a router whose endpoint the routing thread chose from probes: no roaming */
	struct ny_io_addr alt[NY_DP_ALT_MAX]; /* every known endpoint of a router: handshakes go to all of them */
	unsigned n_alt;
	uint64_t last_rx;           /* monotonic ns of the newest authenticated packet (passive clients) */
	struct ny_dp_staged_pkt *staged; /* NY_DP_STAGED_MAX slots */
	unsigned n_staged;
	atomic_uint pending; /* enum ny_wg_action bits the control thread must act on */
};

/* What traffic control does with a destination (reference §4.1, in one longest-prefix match instead of the
 * reference's exit table checked before the forward table: a more specific route through a neighbour inside a
 * prefix this node serves wins, as longest-prefix match means everywhere else). */
enum ny_dp_fib_kind {
	NY_DP_FIB_PEER,      /* encrypt to entry->peer (forward, or send for local traffic) */
	NY_DP_FIB_EXIT,      /* a prefix this node serves: hand it to the OS */
	NY_DP_FIB_BLACKHOLE, /* a retracted route held until its retraction is acknowledged: drop */
};

struct ny_dp_fib_entry {
	enum ny_dp_fib_kind kind;
	struct ny_dp_peer *peer; /* NY_DP_FIB_PEER */
};

/* The forwarding table: an immutable snapshot published with RCU (nylon/rcu.h). Writer: the routing thread, which
 * builds a whole new one whenever the router's selected routes change (ny_dp_fib_publish frees the old one after a
 * grace period). Readers: the shards, which dereference it once per batch and keep no pointer into it across a
 * quiescent state. table maps a prefix to an index into entries. */
struct ny_route_table;
struct ny_dp_fib {
	struct ny_route_table *table;
	size_t n_entries;
	struct ny_dp_fib_entry entries[];
};

struct ny_dp_fib *ny_dp_fib_new(size_t n_entries);
void ny_dp_fib_free(struct ny_dp_fib *fib);
/* Publishes fib in *slot, waits for a grace period, frees the one it replaced. Context: a thread that is not an
 * online RCU reader. */
void ny_dp_fib_publish(struct ny_dp_fib **slot, struct ny_dp_fib *fib);
/* The entry for the destination (or the source) of an IP packet whose header ny_dp_ip_len() accepted; NULL when no
 * route covers it. */
const struct ny_dp_fib_entry *ny_dp_fib_lookup(const struct ny_dp_fib *fib, const uint8_t *ip);
const struct ny_dp_fib_entry *ny_dp_fib_lookup_source(const struct ny_dp_fib *fib, const uint8_t *ip);
/* The length an IP packet claims (IPv4 total length, IPv6 payload + 40), 0 when it is not a valid header. */
size_t ny_dp_ip_len(const uint8_t *pkt, size_t len);
/* A transit packet loses one TTL / hop limit, the IPv4 checksum updated incrementally (RFC 1624). Returns false,
 * leaving the packet untouched, when it arrived with TTL <= 1: it expires here and goes to the OS, which answers
 * ICMP Time Exceeded so that traceroute works (reference §4.1). */
bool ny_dp_ttl_decrement(uint8_t *ip);

struct ny_dp_shard;
struct ny_trace_ring;

struct ny_dp_config {
	const char *ifname;
	uint16_t port;
	unsigned shards; /* 0: one per CPU */
	enum ny_io_backend backend;
	enum ny_aead_provider aead;
	bool vnet; /* TUN offloads (virtio-net header) */
	bool use_system_routing; /* transit packets go to the OS instead of being forwarded here (reference §4.1) */
	bool validate_source;    /* drop packets whose source is not routed through the neighbour that sent them */
	bool configure_routes;   /* install the kernel route set (not with no_net_configure) */
	bool uring_compat;       /* io_uring as Linux 6.1 offers it (ny_io_features.uring_compat), for tests */
};

struct ny_dp_node {
	struct ny_dp_config cfg;
	pthread_mutex_t wg_lock;
	pthread_mutex_t peer_lock; /* after wg_lock, see above */
	struct ny_wg_device dev;
	/* Neighbour slots: peers[0..n_peers) have been used, those with wg == NULL are free (a neighbour removed by a
	 * config change). Slots keep their address for the node's life, so the forwarding table may point at them.
	 * Writer: the routing thread (config changes), under wg_lock and peer_lock. */
	struct ny_dp_peer *peers;
	size_t n_peers;
	size_t peer_cap;
	const struct ny_conf_central *central; /* the caller's; outlives the node */
	const struct ny_conf_node *local;
	size_t self;                           /* this node's index in central's combined list */
	struct ny_dp_fib *fib;                 /* RCU */
	struct ny_dp_routing *routing;
	struct ny_dp_shard **shards;
	unsigned n_shards;
	struct ny_io_features features;
	pthread_t control;
	bool control_started;
	int control_wake; /* eventfd */
	struct ny_dp_hs_queue *hs_queue;
	atomic_bool stop;
	struct ny_aead_ctx *control_aead;
	/* --dbg-trace-tc (nylon/trace.h): NULL when off. The owner sets it between ny_dp_node_init() and
	 * ny_dp_node_start() and frees it after ny_dp_node_destroy(); shards push one line per traffic-control
	 * decision, IPC readers read. */
	struct ny_trace_ring *trace;
};

/* Builds the node from its configuration: the engine with one peer per graph neighbour, the router, and a first
 * forwarding table (this node's own prefixes). central and local must outlive the node. Does not touch the OS.
 * 0 or -errno, with a message in err. */
int ny_dp_node_init(struct ny_dp_node *node, const struct ny_dp_config *cfg, const struct ny_conf_central *central,
		    const struct ny_conf_node *local, char *err, size_t err_len);
/* Opens the TUN queues and UDP sockets, starts the shards and the control thread. 0 or -errno, with err. */
int ny_dp_node_start(struct ny_dp_node *node, char *err, size_t err_len);
/* Stops and joins every thread; the counters stay readable until ny_dp_node_destroy(). */
void ny_dp_node_stop(struct ny_dp_node *node);
/* Stops if needed, closes descriptors (the last TUN queue closed removes the interface) and frees everything. */
void ny_dp_node_destroy(struct ny_dp_node *node);
/* Sums the shards' counters (relaxed atomics: exact once stopped, approximate while running). */
void ny_dp_node_stats(const struct ny_dp_node *node, struct ny_dp_stats *out);
/* Sums the shards' I/O backend counters. Context: only after ny_dp_node_stop() (they are plain fields). */
void ny_dp_node_io_stats(const struct ny_dp_node *node, struct ny_io_stats *out);
const char *ny_dp_node_backend(const struct ny_dp_node *node);
/* The backend with the kernel mechanisms it found (ny_io_describe), for the start-up log. */
const char *ny_dp_node_io_detail(const struct ny_dp_node *node);
/* Live apply of a changed central.yaml (reference §5.1): neighbours added and removed, keys rotated without
 * changing next hops, prefixes added and removed, endpoints changed; traffic between unaffected nodes keeps
 * flowing. central must be expanded and validated, and outlive the node (or the next apply); on APPLIED the node
 * uses it from then on and the caller may free the old one. msg says what happened. Context: any thread but the
 * node's; one apply at a time. */
enum ny_dp_apply_result {
	NY_DP_APPLY_APPLIED,
	NY_DP_APPLY_REJECTED,         /* nothing changed (out of memory, the routing thread did not answer) */
	NY_DP_APPLY_RESTART_REQUIRED, /* nothing changed: this node is no longer a router, or too many neighbours */
};
int ny_dp_node_apply(struct ny_dp_node *node, const struct ny_conf_central *central, char *msg, size_t msg_len);

/* The main thread has brought interface ifindex up with the node's addresses: the routing thread may install the
 * kernel route set from now on (and takes it away again when it stops). Context: main thread, after start. */
void ny_dp_routing_enable_routes(struct ny_dp_node *node, unsigned ifindex);

#endif
