/* Private to src/dataplane/. */
#ifndef NYLON_DATAPLANE_INTERNAL_H
#define NYLON_DATAPLANE_INTERNAL_H

#include <sys/uio.h>

#include "nylon/dataplane.h"
#include "nylon/offload.h"

/* Segments one shard iteration can hold: a batch of TUN super-packets split into MTU-sized packets. */
#define NY_DP_SEGS 2048
#define NY_DP_GSO_MAX 64 /* UDP_MAX_SEGMENTS of Linux < 6.9 */
#define NY_DP_GSO_BYTES (65535 - 8 - 40) /* UDP payload that still fits IPv6's and IPv4's length fields */
#define NY_DP_FWD_COPIES 256 /* transit packets per iteration that did not fit their receive buffer */

struct ny_dp_shard {
	struct ny_dp_node *node;
	unsigned index;
	int tun_fd;
	int udp_fd;
	struct ny_io *io;
	pthread_t thread;
	bool started;
	struct ny_aead_ctx *aead;
	struct ny_dp_stats stats;
	/* Per-iteration scratch, reused after each ny_io_wait(). */
	uint8_t *arena;                        /* NY_DP_SEGS x NY_DP_SEG_LEN */
	struct ny_wg_packet pkts[NY_DP_SEGS];
	struct ny_dp_peer *pkt_peer[NY_DP_SEGS];
	struct ny_io_addr pkt_src[NY_DP_SEGS];
	struct iovec iov[NY_DP_SEGS];
	struct ny_io_send sends[NY_DP_SEGS];
	struct ny_io_pkt tun_out[NY_DP_SEGS];
	uint8_t *split_out[NY_DP_SEGS];
	size_t split_len[NY_DP_SEGS];
	struct ny_offload_pkt gro_in[NY_DP_SEGS];
	/* Coalesced TUN writes, gathered in place from the receive buffers (no copy): pieces, pieces per write, and
	 * what the backend reads until the next ny_io_wait(). */
	struct ny_offload_pkt gro_pieces[NY_DP_SEGS];
	uint32_t gro_counts[NY_DP_SEGS];
	struct iovec tun_iov[NY_DP_SEGS];
	struct ny_io_vec tun_vec[NY_DP_SEGS];
	/* Transit packets found while decrypting, re-encrypted with the TUN's packets of the same iteration. They stay
	 * in the receive buffers when the sealed packet fits there, else they are copied into fwd_arena. */
	struct ny_wg_packet fwd[NY_DP_SEGS];
	struct ny_dp_peer *fwd_peer[NY_DP_SEGS];
	size_t n_fwd;
	uint8_t *fwd_arena; /* NY_DP_FWD_COPIES x NY_DP_SEG_LEN */
	size_t n_fwd_copies;
	size_t *peer_at;    /* peer_cap + 1: where each peer's packets start while grouping */
};

/* Handshake messages travel from the shards to the control thread through this queue. */
struct ny_dp_hs_msg {
	uint8_t msg[sizeof(struct ny_wg_msg_initiation)];
	uint16_t len;
	struct ny_io_addr src;
};

int ny_dp_hs_queue_push(struct ny_dp_node *node, const uint8_t *msg, size_t len, const struct ny_io_addr *src);

/* A control message (reference §3.1) from peer, for the routing thread. 0, or -ENOBUFS when its queue is full.
 * Context: any shard. */
int ny_dp_routing_push(struct ny_dp_node *node, struct ny_dp_peer *peer, const struct ny_io_addr *src,
		       const uint8_t *msg, size_t len, uint64_t now);

struct ny_dp_shard *ny_dp_shard_new(struct ny_dp_node *node, unsigned index, int tun_fd, int udp_fd,
				    char *err, size_t err_len);
int ny_dp_shard_start(struct ny_dp_shard *shard);
void ny_dp_shard_join(struct ny_dp_shard *shard);
void ny_dp_shard_free(struct ny_dp_shard *shard);


/* An authenticated packet or handshake came from src: the peer is there now (roaming, whitepaper §2.1), unless
 * it is a router whose endpoint the probes chose (reference §3.7: routers do not roam). Context: under peer_lock. */
void ny_dp_peer_roam(struct ny_dp_peer *peer, const struct ny_io_addr *src);
/* Sends data to addr from now on (logged when it changes). Context: under peer_lock. */
void ny_dp_peer_set_endpoint(struct ny_dp_peer *peer, const struct ny_io_addr *addr);
/* Neighbour slots (routing.c changes them on a config change). activate: a free slot becomes the neighbour at
 * central's conf_index, with a new engine peer (0 or -errno); its endpoints come from the routing thread's
 * probing state (setup_peer_endpoints). retire: the slot is free again and the engine peer is returned: keep it until every shard has passed a
 * quiescent state (ny_rcu_synchronize), then ny_wg_device_remove_peer. Context: under wg_lock and peer_lock (or
 * before start). */
int ny_dp_peer_activate(struct ny_dp_node *node, struct ny_dp_peer *peer, const struct ny_conf_central *central,
			size_t conf_index);
struct ny_wg_peer *ny_dp_peer_retire(struct ny_dp_peer *peer);
/* A configured endpoint's literal address: 0, or -EAGAIN for a name (the routing thread's DNS cache resolves
 * those, asynchronously: nylon/dns.h). */
int ny_dp_endpoint_resolve(const struct ny_conf_endpoint *ep, struct ny_io_addr *out);
/* One datagram from the node's port (shard 0's socket), never waiting for room. Any thread. */
void ny_dp_send_to(struct ny_dp_node *node, const struct ny_io_addr *dst, const void *buf, size_t len);

/* The routing thread (routing.c). init builds the router and the first forwarding table; start runs the thread
 * (and opens its netlink handle when cfg.configure_routes); enable_routes lets it install kernel routes on ifindex
 * once the main thread has brought the interface up; stop joins it after it removed its routes. Context: main
 * thread. */
int ny_dp_routing_init(struct ny_dp_node *node, char *err, size_t err_len);
int ny_dp_routing_start(struct ny_dp_node *node, char *err, size_t err_len);
void ny_dp_routing_stop(struct ny_dp_node *node);
void ny_dp_routing_free(struct ny_dp_node *node);

/* Asks the control thread to act for peer (enum ny_wg_action bits): mark, then wake it once after dropping any
 * lock (the wake is a system call). ny_dp_peer_mark returns whether there was anything to ask. Any thread. */
bool ny_dp_peer_mark(struct ny_dp_peer *peer, uint32_t actions);
void ny_dp_control_wake(struct ny_dp_node *node);

/* A shard's counters have one writer, the shard: a relaxed load and store (plain moves on x86) are enough for
 * readers on other threads to see whole values, without the cost of a locked add per packet. */
static inline void ny_dp_count(_Atomic uint64_t *counter, uint64_t n)
{
	atomic_store_explicit(counter, atomic_load_explicit(counter, memory_order_relaxed) + n,
			      memory_order_relaxed);
}

static inline void ny_dp_count_drop(struct ny_dp_stats *s, enum ny_dp_drop why, uint64_t n)
{
	ny_dp_count(&s->drops[why], n);
}

#endif
