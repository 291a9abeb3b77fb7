/* What every I/O backend implements; private to src/io/. Each backend's state starts with struct ny_io. */
#ifndef NYLON_IO_BACKEND_H
#define NYLON_IO_BACKEND_H

#include "nylon/io.h"

struct ny_io_ops {
	int (*start)(struct ny_io *io); /* optional: arm receives once the descriptors are set */
	int (*wait)(struct ny_io *io, int timeout_ms);
	int (*recv_udp)(struct ny_io *io, struct ny_io_dgram *out, size_t n);
	int (*recv_tun)(struct ny_io *io, struct ny_io_pkt *out, size_t n);
	int (*send_udp)(struct ny_io *io, const struct ny_io_send *sends, size_t n);
	int (*send_tun)(struct ny_io *io, const struct ny_io_pkt *pkts, size_t n);
	int (*send_tun_vec)(struct ny_io *io, const struct ny_io_vec *vecs, size_t n);
	void (*quiesce)(struct ny_io *io); /* optional: end everything in flight, on the thread that used it */
	void (*destroy)(struct ny_io *io);
};

struct ny_io {
	const struct ny_io_ops *ops;
	enum ny_io_backend backend;
	int tun_fd;
	int udp_fd;
	int wake_fd; /* eventfd: ny_io_wake() from any thread */
	struct ny_io_features features;
	struct ny_io_stats stats;
	const char *detail; /* optional: the mechanisms in use, for ny_io_describe() */
};

/* A slot holds the largest GRO datagram or TUN super-packet plus its virtio-net header. */
#define NY_IO_SLOT_LEN (NY_IO_TUN_MAX_PKT + 64)

int ny_io_epoll_create(struct ny_io **out, const char **why);
/* compat: as Linux 6.1 to 6.6 offer io_uring (see ny_io_features.uring_compat). */
int ny_io_uring_create(struct ny_io **out, bool compat, const char **why);

/* Sets or clears O_NONBLOCK. 0 or -errno. */
int ny_io_fd_set_nonblocking(int fd, bool nonblocking);

/* Fills the cmsg for UDP_SEGMENT; shared by the backends that use sendmsg. Returns the control length. */
size_t ny_io_udp_gso_cmsg(void *control, size_t control_len, uint16_t gso_size);
/* Reads the UDP_GRO segment size from a received message's control data, 0 when absent. */
uint16_t ny_io_udp_gro_size(const void *msghdr);

#endif
