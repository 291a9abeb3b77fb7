/* Backend selection and the calls every backend shares. */
#include "nylon/io.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "io/backend.h"

const char *ny_io_backend_name(enum ny_io_backend backend)
{
	switch (backend) {
	case NY_IO_URING:
		return "io_uring";
	case NY_IO_EPOLL:
		return "epoll";
	default:
		return "auto";
	}
}

int ny_io_backend_parse(const char *name, enum ny_io_backend *out)
{
	static const enum ny_io_backend all[] = { NY_IO_AUTO, NY_IO_URING, NY_IO_EPOLL };

	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
		if (strcmp(name, ny_io_backend_name(all[i])) == 0) {
			*out = all[i];
			return 0;
		}
	}
	return -EINVAL;
}

/* Creates one backend over the descriptors and arms it. */
static int open_backend(struct ny_io **out, enum ny_io_backend backend, int tun_fd, int udp_fd,
			const struct ny_io_features *features, const char **why)
{
	struct ny_io *io = NULL;
	int ret = backend == NY_IO_URING ? ny_io_uring_create(&io, features->uring_compat, why) :
					   ny_io_epoll_create(&io, why);

	if (ret < 0)
		return ret;
	io->tun_fd = tun_fd;
	io->udp_fd = udp_fd;
	io->features = *features;
	if (io->ops->start && (ret = io->ops->start(io)) < 0) {
		*why = "the I/O backend could not arm its first receives";
		io->ops->destroy(io);
		return ret;
	}
	*out = io;
	return 0;
}

int ny_io_create(struct ny_io **out, enum ny_io_backend backend, int tun_fd, int udp_fd,
		 const struct ny_io_features *features, const char **why)
{
	int ret;

	*why = NULL;
	if (backend != NY_IO_AUTO)
		return open_backend(out, backend, tun_fd, udp_fd, features, why);
	ret = open_backend(out, NY_IO_URING, tun_fd, udp_fd, features, why);
	if (ret == 0)
		return 0;
	/* AUTO falls back to epoll when io_uring is missing or blocked (seccomp, kernel.io_uring_disabled); *why
	 * keeps io_uring's reason so the caller can say why. */
	{
		const char *uring_why = *why ? *why : "io_uring failed";
		const char *epoll_why = NULL;

		ret = open_backend(out, NY_IO_EPOLL, tun_fd, udp_fd, features, &epoll_why);
		*why = ret == 0 ? uring_why : epoll_why;
	}
	return ret;
}

int ny_io_fd_set_nonblocking(int fd, bool nonblocking)
{
	int flags = fcntl(fd, F_GETFL);

	if (flags < 0)
		return -errno;
	flags = nonblocking ? flags | O_NONBLOCK : flags & ~O_NONBLOCK;
	return fcntl(fd, F_SETFL, flags) < 0 ? -errno : 0;
}

void ny_io_quiesce(struct ny_io *io)
{
	if (io->ops->quiesce)
		io->ops->quiesce(io);
}

void ny_io_destroy(struct ny_io *io)
{
	if (io)
		io->ops->destroy(io);
}

enum ny_io_backend ny_io_backend_of(const struct ny_io *io)
{
	return io->backend;
}

const char *ny_io_describe(const struct ny_io *io)
{
	return io->detail ? io->detail : ny_io_backend_name(io->backend);
}

int ny_io_wait(struct ny_io *io, int timeout_ms)
{
	io->stats.waits++;
	return io->ops->wait(io, timeout_ms);
}

int ny_io_recv_udp(struct ny_io *io, struct ny_io_dgram *out, size_t n)
{
	int got = io->ops->recv_udp(io, out, n);

	if (got > 0) {
		io->stats.udp_rx_batches++;
		io->stats.udp_rx_dgrams += (uint64_t)got;
	}
	return got;
}

int ny_io_recv_tun(struct ny_io *io, struct ny_io_pkt *out, size_t n)
{
	int got = io->ops->recv_tun(io, out, n);

	if (got > 0) {
		io->stats.tun_rx_batches++;
		io->stats.tun_rx_pkts += (uint64_t)got;
	}
	return got;
}

int ny_io_send_udp(struct ny_io *io, const struct ny_io_send *sends, size_t n)
{
	return n ? io->ops->send_udp(io, sends, n) : 0;
}

int ny_io_send_tun(struct ny_io *io, const struct ny_io_pkt *pkts, size_t n)
{
	return n ? io->ops->send_tun(io, pkts, n) : 0;
}

int ny_io_send_tun_vec(struct ny_io *io, const struct ny_io_vec *vecs, size_t n)
{
	return n ? io->ops->send_tun_vec(io, vecs, n) : 0;
}

void ny_io_wake(struct ny_io *io)
{
	uint64_t one = 1;

	/* A full counter (EAGAIN) already means "woken". */
	if (write(io->wake_fd, &one, sizeof(one)) < 0)
		return;
}

const struct ny_io_stats *ny_io_stats(const struct ny_io *io)
{
	return &io->stats;
}
