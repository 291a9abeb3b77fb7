/* A shard's I/O: one TUN queue and one UDP socket, moved in batches through a backend chosen at run time
 * (io_uring, or epoll with recvmmsg/sendmsg when io_uring is unavailable).
 *
 * The contract, the same for every backend:
 * - ny_io_wait() hands the kernel everything queued since the last call and blocks until input is ready, the
 *   shard is woken (ny_io_wake), or the timeout passes. Every buffer given to a send function stays untouched by
 *   the caller until ny_io_wait() returns; by then the backend no longer needs it.
 * - ny_io_recv_udp() / ny_io_recv_tun() return batches that were ready, without blocking. The buffers they point
 *   into belong to the backend and stay valid, and writable in place, until the next ny_io_wait().
 * - Received UDP datagrams may be GRO super-datagrams: gso_size > 0 means segments of gso_size bytes back to back,
 *   the last possibly shorter. TUN packets start with a virtio-net header when the queue has offloads on.
 *
 * Context: one shard thread per struct ny_io, except ny_io_wake(), which any thread may call.
 */
#ifndef NYLON_IO_H
#define NYLON_IO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

/* A UDP endpoint in a form that is portable, comparable with memcmp, and hashable for cookies. */
struct ny_io_addr {
	uint16_t family; /* AF_INET or AF_INET6 */
	uint16_t port;   /* host order */
	uint8_t ip[16];  /* IPv4 in ip[0..3] */
};

struct ny_io_dgram {
	uint8_t *data;
	uint32_t len;
	uint16_t gso_size; /* 0: one datagram */
	struct ny_io_addr src;
};

struct ny_io_pkt {
	uint8_t *data;
	uint32_t len;
};

/* One TUN write gathered from pieces (a coalesced super-packet whose payloads stay in the receive buffers). */
struct ny_io_vec {
	const struct iovec *iov;
	unsigned iovcnt;
};

/* One UDP send: iov holds datagrams back to back; with gso_size > 0 the kernel cuts them into gso_size pieces
 * (every piece but the last exactly gso_size), one sendmsg for all (UDP_SEGMENT). */
struct ny_io_send {
	struct ny_io_addr dst;
	const struct iovec *iov;
	unsigned iovcnt;
	uint16_t gso_size;
};

enum ny_io_backend {
	NY_IO_AUTO = 0,
	NY_IO_URING,
	NY_IO_EPOLL,
};

/* Features found at start, logged once. */
struct ny_io_features {
	bool udp_probe_port_free; /* in: ny_io_udp_open first checks that no other process holds the port */
	bool udp_gso;
	bool udp_gro;
	bool tun_vnet;  /* virtio-net header + TSO/CSUM offload on the TUN */
	bool tun_uso;   /* UDP segmentation offload on the TUN (Linux >= 6.2) */
	/* in: io_uring as Linux 6.1 to 6.6 offer it (Debian 12's kernel is 6.1): no DEFER_TASKRUN and no multishot
	 * TUN read, so COOP_TASKRUN and one-shot reads. For testing those paths on a newer kernel. */
	bool uring_compat;
};

struct ny_io_stats {
	uint64_t waits;
	uint64_t udp_rx_batches, udp_rx_dgrams;
	uint64_t tun_rx_batches, tun_rx_pkts;
	uint64_t udp_tx_calls, udp_tx_bytes;
	uint64_t tun_tx_pkts;
	uint64_t udp_tx_errors, tun_tx_errors;
	uint64_t udp_rx_errors; /* truncated or malformed receives */
};

struct ny_io;

/* Creates a backend over already-open descriptors (the shard keeps ownership of them). backend AUTO tries
 * io_uring first and falls back to epoll. Returns 0 or -errno; *why explains a failure, or, on success after a
 * fallback, why io_uring was not used (NULL otherwise). */
int ny_io_create(struct ny_io **out, enum ny_io_backend backend, int tun_fd, int udp_fd,
		 const struct ny_io_features *features, const char **why);
void ny_io_destroy(struct ny_io *io);
enum ny_io_backend ny_io_backend_of(const struct ny_io *io);
/* The backend and the kernel mechanisms it found, for the start-up log: "io_uring (defer_taskrun, tun
 * read_multishot)". Valid while io is. */
const char *ny_io_describe(const struct ny_io *io);
const char *ny_io_backend_name(enum ny_io_backend backend);
/* Parses "auto", "io_uring", "epoll". 0 or -EINVAL. */
int ny_io_backend_parse(const char *name, enum ny_io_backend *out);

/* Returns > 0 when input may be ready, 0 on timeout or wake, -errno on failure. timeout_ms < 0: no timeout. */
int ny_io_wait(struct ny_io *io, int timeout_ms);
int ny_io_recv_udp(struct ny_io *io, struct ny_io_dgram *out, size_t n);
int ny_io_recv_tun(struct ny_io *io, struct ny_io_pkt *out, size_t n);
/* Queue sends; return how many were accepted (all, unless the queue is full: the rest are dropped and counted). */
int ny_io_send_udp(struct ny_io *io, const struct ny_io_send *sends, size_t n);
int ny_io_send_tun(struct ny_io *io, const struct ny_io_pkt *pkts, size_t n);
/* The same, each write gathered from its pieces. The pieces may lie in buffers ny_io_recv_udp() returned: the
 * backend gives those back to the kernel only after the writes that read them are done. */
int ny_io_send_tun_vec(struct ny_io *io, const struct ny_io_vec *vecs, size_t n);
void ny_io_wake(struct ny_io *io);
/* Ends every receive in flight; after it the backend holds no reference to the descriptors, and only
 * ny_io_destroy() may follow. Context: the shard thread, as it leaves its loop (io_uring lets only the thread
 * that submitted cancel, and ny_io_destroy() runs on another one after the join). */
void ny_io_quiesce(struct ny_io *io);
const struct ny_io_stats *ny_io_stats(const struct ny_io *io);

/* ---- descriptors (tun_<os>.c, udp_<os>.c) ---- */

/* A receive batch is at most this many datagrams or TUN packets. */
#define NY_IO_BATCH 32
#define NY_IO_TUN_MAX_PKT 65536 /* a super-packet read from the TUN, vnet header excluded */
#define NY_IO_VNET_HDR_LEN 10

/* Opens one queue of a multi-queue TUN interface named ifname (created by the first open). With vnet, asks for
 * the virtio-net header and TSO/checksum offloads and reports what was granted in *features. 0 or -errno. */
int ny_io_tun_open(const char *ifname, bool vnet, int *fd, struct ny_io_features *features);
/* Opens a dual-stack UDP socket on port with SO_REUSEPORT (one per shard), UDP_GRO if the kernel has it, and
 * reports GSO/GRO availability. 0 or -errno (-EADDRINUSE when another process holds the port). */
int ny_io_udp_open(uint16_t port, int *fd, struct ny_io_features *features);

/* Converts between ny_io_addr and the OS's socket addresses (sockaddr_in6 with v4-mapped addresses for v4). */
struct sockaddr;
size_t ny_io_addr_to_sockaddr(const struct ny_io_addr *a, void *ss, size_t ss_len);
void ny_io_addr_from_sockaddr(struct ny_io_addr *a, const struct sockaddr *sa);
/* "ip:port" / "[ip]:port" into buf. */
void ny_io_addr_format(const struct ny_io_addr *a, char *buf, size_t len);

#endif
