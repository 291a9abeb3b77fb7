/* The data plane of `nylon run`: per-core shards that move packets between the TUN and the UDP port through the
 * WireGuard engine, and a control thread that owns handshakes and timers.
 *
 * Threads and what they own:
 * - shard i: its ny_io (TUN queue + UDP socket), its buffers and counters. It reads and writes packets in
 *   batches and takes node->wg_lock once per batch of one keypair to encrypt or decrypt.
 * - control thread: handshake messages (handed over by the shards through a queue), the engine's timers,
 *   initiations, keepalives and packets staged while a peer had no session. X25519 never runs on a shard.
 * - main thread: creates and stops everything.
 * node->wg_lock guards the WireGuard engine (device, peers, keypairs, timers) and each peer's endpoint and staged
 * packets. Shards hold it once per batch and never across a system call; the control thread sends its few
 * handshake, keepalive and staged packets while holding it. The route table (which peer owns a destination) is
 * published with RCU: shards read it without any lock.
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
	NY_DP_DROP_CONTROL_MSG,    /* a nylon control message (version nibble 8): routing is not built yet */
	NY_DP_DROP_OFFLOAD,        /* a TUN super-packet that could not be split */
	NY_DP_DROP__COUNT,
};
const char *ny_dp_drop_name(enum ny_dp_drop reason);

struct ny_dp_stats {
	_Atomic uint64_t rx_udp_pkts, rx_udp_bytes; /* authenticated transport packets */
	_Atomic uint64_t rx_tun_pkts, rx_tun_bytes; /* IP packets read from the TUN (after splitting) */
	_Atomic uint64_t tx_udp_pkts, tx_tun_pkts;
	_Atomic uint64_t batches, batch_pkts;
	_Atomic uint64_t drops[NY_DP_DROP__COUNT];
};

#define NY_DP_STAGED_MAX 64
#define NY_DP_SEG_LEN 1536 /* one encrypted packet: 16 B header + MTU + padding + tag */

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
	struct ny_io_addr endpoint; /* current; learned from authenticated packets (roaming) */
	bool has_endpoint;
	struct ny_dp_staged_pkt *staged; /* NY_DP_STAGED_MAX slots */
	unsigned n_staged;
	atomic_uint pending; /* enum ny_wg_action bits the control thread must act on */
};

struct ny_dp_route {
	struct ny_conf_cidr prefix;
	struct ny_dp_peer *peer;
};

/* Where packets from the TUN go: an immutable snapshot published with RCU (nylon/rcu.h). Writer: the main thread,
 * which replaces the whole table (ny_dp_table_publish) and frees the old one after a grace period. Readers: the
 * shards, which dereference it once per batch and hold no pointer into it across a quiescent state. */
struct ny_dp_table {
	size_t n_routes;
	struct ny_dp_route routes[];
};

struct ny_dp_table *ny_dp_table_new(size_t n_routes);
/* Publishes table in *slot, waits for a grace period, frees the table it replaced. Context: not an online RCU
 * reader (the main thread). */
void ny_dp_table_publish(struct ny_dp_table **slot, struct ny_dp_table *table);
/* Longest-prefix match of the IP packet's destination; NULL when none. pkt holds at least an IP header. */
struct ny_dp_peer *ny_dp_table_lookup(const struct ny_dp_table *table, const uint8_t *pkt, size_t len);
/* The length an IP packet claims (IPv4 total length, IPv6 payload + 40), 0 when it is not a valid header. */
size_t ny_dp_ip_len(const uint8_t *pkt, size_t len);

struct ny_dp_shard;

struct ny_dp_config {
	const char *ifname;
	uint16_t port;
	unsigned shards; /* 0: one per CPU */
	enum ny_io_backend backend;
	enum ny_aead_provider aead;
	bool vnet; /* TUN offloads (virtio-net header) */
};

struct ny_dp_node {
	struct ny_dp_config cfg;
	pthread_mutex_t wg_lock;
	struct ny_wg_device dev;
	struct ny_dp_peer *peers;
	size_t n_peers;
	struct ny_dp_table *table; /* RCU */
	struct ny_dp_shard **shards;
	unsigned n_shards;
	struct ny_io_features features;
	pthread_t control;
	bool control_started;
	int control_wake; /* eventfd */
	struct ny_dp_hs_queue *hs_queue;
	atomic_bool stop;
	struct ny_aead_ctx *control_aead;
};

/* Builds the node from its configuration: the engine with one peer per graph neighbour, the route table (each
 * neighbour's prefixes). Does not touch the OS. 0 or -errno, with a message in err. */
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

#endif
