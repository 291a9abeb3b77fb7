/* The epoll backend: readiness from epoll, batches from recvmmsg and non-blocking TUN reads, sends with sendmsg
 * (one per GSO group) and write. The fallback where io_uring is missing or blocked. */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "io/backend.h"

#define CONTROL_LEN 64

struct epoll_io {
	struct ny_io io;
	int epfd;
	bool added;
	uint8_t *udp_slots; /* NY_IO_BATCH x NY_IO_SLOT_LEN */
	uint8_t *tun_slots;
	struct mmsghdr msgs[NY_IO_BATCH];
	struct iovec iovs[NY_IO_BATCH];
	struct sockaddr_storage names[NY_IO_BATCH];
	_Alignas(struct cmsghdr) uint8_t controls[NY_IO_BATCH][CONTROL_LEN];
};

static struct epoll_io *epoll_io(struct ny_io *io)
{
	return (struct epoll_io *)io;
}

static int watch(struct epoll_io *e, int fd)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.fd = fd };

	return epoll_ctl(e->epfd, EPOLL_CTL_ADD, fd, &ev) < 0 ? -errno : 0;
}

static int epoll_wait_io(struct ny_io *io, int timeout_ms)
{
	struct epoll_io *e = epoll_io(io);
	struct epoll_event evs[4];
	int n, ret;

	if (!e->added) {
		if ((ret = watch(e, io->tun_fd)) < 0 || (ret = watch(e, io->udp_fd)) < 0 ||
		    (ret = watch(e, io->wake_fd)) < 0)
			return ret;
		e->added = true;
	}
	n = epoll_wait(e->epfd, evs, 4, timeout_ms);
	if (n < 0)
		return errno == EINTR ? 0 : -errno;
	for (int i = 0; i < n; i++) {
		if (evs[i].data.fd == io->wake_fd) {
			uint64_t v;

			if (read(io->wake_fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
				return -errno;
		}
	}
	return n;
}

static int epoll_recv_udp(struct ny_io *io, struct ny_io_dgram *out, size_t n)
{
	struct epoll_io *e = epoll_io(io);
	int got;

	if (n > NY_IO_BATCH)
		n = NY_IO_BATCH;
	for (size_t i = 0; i < n; i++) {
		e->iovs[i] = (struct iovec){ e->udp_slots + i * NY_IO_SLOT_LEN, NY_IO_SLOT_LEN };
		e->msgs[i].msg_hdr = (struct msghdr){
			.msg_name = &e->names[i], .msg_namelen = sizeof(e->names[i]),
			.msg_iov = &e->iovs[i], .msg_iovlen = 1,
			.msg_control = e->controls[i], .msg_controllen = CONTROL_LEN,
		};
	}
	got = recvmmsg(io->udp_fd, e->msgs, (unsigned)n, MSG_DONTWAIT, NULL);
	if (got < 0)
		return errno == EAGAIN || errno == EINTR ? 0 : -errno;
	for (int i = 0; i < got; i++) {
		out[i].data = e->iovs[i].iov_base;
		out[i].len = e->msgs[i].msg_len;
		out[i].gso_size = ny_io_udp_gro_size(&e->msgs[i].msg_hdr);
		ny_io_addr_from_sockaddr(&out[i].src, (struct sockaddr *)&e->names[i]);
	}
	return got;
}

static int epoll_recv_tun(struct ny_io *io, struct ny_io_pkt *out, size_t n)
{
	struct epoll_io *e = epoll_io(io);
	size_t got = 0;

	if (n > NY_IO_BATCH)
		n = NY_IO_BATCH;
	while (got < n) {
		uint8_t *slot = e->tun_slots + got * NY_IO_SLOT_LEN;
		ssize_t r = read(io->tun_fd, slot, NY_IO_SLOT_LEN);

		if (r < 0) {
			if (errno == EAGAIN || errno == EINTR)
				break;
			return got ? (int)got : -errno;
		}
		out[got++] = (struct ny_io_pkt){ slot, (uint32_t)r };
	}
	return (int)got;
}

/* A full socket buffer is back-pressure: wait briefly for room rather than drop a whole GSO train. */
static ssize_t sendmsg_retry(int fd, const struct msghdr *m)
{
	for (int tries = 0; tries < 4; tries++) {
		ssize_t r = sendmsg(fd, m, 0);
		struct pollfd p = { .fd = fd, .events = POLLOUT };

		if (r >= 0 || (errno != EAGAIN && errno != ENOBUFS))
			return r;
		poll(&p, 1, 2);
	}
	return -1;
}

static int epoll_send_udp(struct ny_io *io, const struct ny_io_send *sends, size_t n)
{
	int sent = 0;

	for (size_t i = 0; i < n; i++) {
		const struct ny_io_send *s = &sends[i];
		struct sockaddr_storage ss;
		_Alignas(struct cmsghdr) uint8_t control[CONTROL_LEN];
		struct msghdr m = { .msg_name = &ss, .msg_iov = (struct iovec *)s->iov, .msg_iovlen = s->iovcnt };

		m.msg_namelen = (socklen_t)ny_io_addr_to_sockaddr(&s->dst, &ss, sizeof(ss));
		if (s->gso_size) {
			m.msg_control = control;
			m.msg_controllen = ny_io_udp_gso_cmsg(control, sizeof(control), s->gso_size);
		}
		if (sendmsg_retry(io->udp_fd, &m) < 0) {
			io->stats.udp_tx_errors++;
			continue;
		}
		io->stats.udp_tx_calls++;
		for (unsigned j = 0; j < s->iovcnt; j++)
			io->stats.udp_tx_bytes += s->iov[j].iov_len;
		sent++;
	}
	return sent;
}

/* Counts one TUN write's result; 1 when it was written. */
static int count_tun_write(struct ny_io *io, ssize_t ret)
{
	if (ret < 0) {
		io->stats.tun_tx_errors++;
		return 0;
	}
	io->stats.tun_tx_pkts++;
	return 1;
}

static int epoll_send_tun(struct ny_io *io, const struct ny_io_pkt *pkts, size_t n)
{
	int sent = 0;

	for (size_t i = 0; i < n; i++)
		sent += count_tun_write(io, write(io->tun_fd, pkts[i].data, pkts[i].len));
	return sent;
}

/* Written at once, so the pieces' buffers are free again on return. */
static int epoll_send_tun_vec(struct ny_io *io, const struct ny_io_vec *vecs, size_t n)
{
	int sent = 0;

	for (size_t i = 0; i < n; i++)
		sent += count_tun_write(io, writev(io->tun_fd, vecs[i].iov, (int)vecs[i].iovcnt));
	return sent;
}

/* Readiness tells that a read will not block; the descriptors must not block either when it is spurious. */
static int epoll_start(struct ny_io *io)
{
	int ret = ny_io_fd_set_nonblocking(io->tun_fd, true);

	return ret < 0 ? ret : ny_io_fd_set_nonblocking(io->udp_fd, true);
}

static void epoll_destroy(struct ny_io *io)
{
	struct epoll_io *e = epoll_io(io);

	if (e->epfd >= 0)
		close(e->epfd);
	if (io->wake_fd >= 0)
		close(io->wake_fd);
	free(e->udp_slots);
	free(e->tun_slots);
	free(e);
}

static const struct ny_io_ops EPOLL_OPS = {
	.start = epoll_start,
	.wait = epoll_wait_io,
	.recv_udp = epoll_recv_udp,
	.recv_tun = epoll_recv_tun,
	.send_udp = epoll_send_udp,
	.send_tun = epoll_send_tun,
	.send_tun_vec = epoll_send_tun_vec,
	.destroy = epoll_destroy,
};

int ny_io_epoll_create(struct ny_io **out, const char **why)
{
	struct epoll_io *e = calloc(1, sizeof(*e));

	if (!e)
		return -ENOMEM;
	e->io.ops = &EPOLL_OPS;
	e->io.backend = NY_IO_EPOLL;
	e->epfd = epoll_create1(EPOLL_CLOEXEC);
	e->io.wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	e->udp_slots = malloc((size_t)NY_IO_BATCH * NY_IO_SLOT_LEN);
	e->tun_slots = malloc((size_t)NY_IO_BATCH * NY_IO_SLOT_LEN);
	if (e->epfd < 0 || e->io.wake_fd < 0 || !e->udp_slots || !e->tun_slots) {
		*why = "epoll: cannot allocate its descriptors or buffers";
		epoll_destroy(&e->io);
		return -ENOMEM;
	}
	*out = &e->io;
	return 0;
}
