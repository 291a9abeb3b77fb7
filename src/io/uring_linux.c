/* The io_uring backend: one ring per shard. UDP arrives through one multishot recvmsg into a provided buffer
 * ring (re-armed when a completion comes without IORING_CQE_F_MORE; -ENOBUFS only means the ring ran dry),
 * the TUN through one multishot read into a second provided-buffer ring (Linux 6.7; before, a set of one-shot
 * reads kept in flight), and every send of an iteration (TUN writes, UDP sendmsg with GSO) goes to the kernel
 * together with the re-arms in the one io_uring_enter of ny_io_wait().
 * Needs Linux >= 6.0 (multishot recvmsg); anything missing makes creation fail so AUTO falls back to epoll. */
#include <errno.h>
#include <liburing.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "io/backend.h"

#define RING_ENTRIES 512
#define UDP_BUFS 64 /* provided buffers: a power of two */
#define UDP_BGID 1
#define TUN_READS 16 /* TUN slots: one-shot reads in flight, or the provided buffers of the multishot read */
#define TUN_BGID 2
#define SEND_SLOTS 1024
#define CONTROL_LEN 64
#define RECV_NAME_LEN 32 /* sizeof(struct sockaddr_in6) rounded up to 8 */
#define UDP_BUF_LEN (NY_IO_SLOT_LEN + sizeof(struct io_uring_recvmsg_out) + RECV_NAME_LEN + CONTROL_LEN)
/* Linux 6.7; liburing < 2.5 does not name it. */
#define NY_IORING_OP_READ_MULTISHOT 49

/* user_data: the kind of operation in the top byte, an index below. */
enum op {
	OP_UDP_RECV = 1,
	OP_TUN_READ,
	OP_UDP_SEND,
	OP_TUN_WRITE,
	OP_WAKE,
	OP_TUN_MULTISHOT,
};

static uint64_t pack(enum op op, uint32_t index)
{
	return (uint64_t)op << 56 | index;
}

static enum op op_of(uint64_t data)
{
	return (enum op)(data >> 56);
}

static uint32_t index_of(uint64_t data)
{
	return (uint32_t)data;
}

struct send_slot {
	struct msghdr msg;
	struct sockaddr_in6 addr;
	_Alignas(struct cmsghdr) uint8_t control[CONTROL_LEN];
};

struct uring_io {
	struct ny_io io;
	struct io_uring ring;
	bool ring_ok;
	/* UDP: provided buffers and what the last wait reaped. */
	struct io_uring_buf_ring *br;
	size_t br_len;
	uint8_t *udp_bufs;
	struct msghdr recv_tmpl;
	bool udp_armed;
	uint16_t udp_ready[UDP_BUFS];
	int32_t udp_ready_len[UDP_BUFS];
	unsigned n_udp_ready, udp_ready_pos;
	/* TUN: fixed slots, each with a read in flight (or, with the multishot read, in the provided-buffer ring) or
	 * a packet waiting to be consumed. */
	uint8_t *tun_slots;
	struct io_uring_buf_ring *tun_br; /* NULL: one-shot reads */
	size_t tun_br_len;
	bool tun_armed;
	int32_t tun_len[TUN_READS];
	bool tun_busy[TUN_READS];
	uint16_t tun_ready[TUN_READS];
	unsigned n_tun_ready, tun_ready_pos;
	uint64_t wake_value;
	bool wake_armed;
	struct send_slot *sends;
	unsigned n_sends;
	unsigned in_flight; /* sends submitted and not completed */
	bool hold_udp;      /* queued sends read from UDP buffers: they must be done before recycle_udp() */
	bool armed;         /* the first receives are armed (by the shard's thread) */
	unsigned setup_flags; /* what io_uring_setup accepted (see ny_io_uring_create) */
	bool quiesced;      /* nothing in flight any more: the shard's thread cancelled it all */
	char detail[64];    /* io.detail */
};

static struct uring_io *uring_io(struct ny_io *io)
{
	return (struct uring_io *)io;
}

static uint8_t *udp_buf(struct uring_io *u, unsigned id)
{
	return u->udp_bufs + (size_t)id * UDP_BUF_LEN;
}

/* An SQE, flushing the submission queue to the kernel when it is full. */
static struct io_uring_sqe *sqe_get(struct uring_io *u)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&u->ring);

	if (!sqe) {
		io_uring_submit(&u->ring);
		sqe = io_uring_get_sqe(&u->ring);
	}
	return sqe;
}

static void arm_udp(struct uring_io *u)
{
	struct io_uring_sqe *sqe = sqe_get(u);

	if (!sqe)
		return;
	io_uring_prep_recvmsg_multishot(sqe, u->io.udp_fd, &u->recv_tmpl, 0);
	sqe->flags |= IOSQE_BUFFER_SELECT;
	sqe->buf_group = UDP_BGID;
	io_uring_sqe_set_data64(sqe, pack(OP_UDP_RECV, 0));
	u->udp_armed = true;
}

static void arm_tun(struct uring_io *u, unsigned slot)
{
	struct io_uring_sqe *sqe = sqe_get(u);

	if (!sqe)
		return;
	io_uring_prep_read(sqe, u->io.tun_fd, u->tun_slots + (size_t)slot * NY_IO_SLOT_LEN, NY_IO_SLOT_LEN, 0);
	io_uring_sqe_set_data64(sqe, pack(OP_TUN_READ, slot));
	u->tun_busy[slot] = true;
}

/* One read that stays armed and fills TUN slots from the provided-buffer ring as packets come (Linux 6.7): a
 * wake-up reads every packet queued, where the one-shot reads took a completion and a re-arm per packet. */
static void arm_tun_multishot(struct uring_io *u)
{
	struct io_uring_sqe *sqe = sqe_get(u);

	if (!sqe)
		return;
	io_uring_prep_rw(NY_IORING_OP_READ_MULTISHOT, sqe, u->io.tun_fd, NULL, 0, 0); /* length: the buffer's */
	sqe->flags |= IOSQE_BUFFER_SELECT;
	sqe->buf_group = TUN_BGID;
	io_uring_sqe_set_data64(sqe, pack(OP_TUN_MULTISHOT, 0));
	u->tun_armed = true;
}

static void arm_wake(struct uring_io *u)
{
	struct io_uring_sqe *sqe = sqe_get(u);

	if (!sqe)
		return;
	io_uring_prep_read(sqe, u->io.wake_fd, &u->wake_value, sizeof(u->wake_value), 0);
	io_uring_sqe_set_data64(sqe, pack(OP_WAKE, 0));
	u->wake_armed = true;
}

/* What the previous iteration consumed goes back: UDP buffers to the buffer ring (recycle_udp), TUN slots to
 * their ring or new reads (recycle_tun). What it did not get to (a batch is smaller than what one wait can reap)
 * stays queued for the next one. */
static void recycle_udp(struct uring_io *u)
{
	unsigned mask = (unsigned)io_uring_buf_ring_mask(UDP_BUFS);
	unsigned used = u->udp_ready_pos;

	for (unsigned i = 0; i < used; i++)
		io_uring_buf_ring_add(u->br, udp_buf(u, u->udp_ready[i]), UDP_BUF_LEN, u->udp_ready[i], mask, (int)i);
	io_uring_buf_ring_advance(u->br, (int)used);
	memmove(u->udp_ready, u->udp_ready + used, (u->n_udp_ready - used) * sizeof(u->udp_ready[0]));
	memmove(u->udp_ready_len, u->udp_ready_len + used, (u->n_udp_ready - used) * sizeof(u->udp_ready_len[0]));
	u->n_udp_ready -= used;
	u->udp_ready_pos = 0;
}

static void recycle_tun(struct uring_io *u)
{
	unsigned mask = (unsigned)io_uring_buf_ring_mask(TUN_READS);
	unsigned used = u->tun_ready_pos;

	if (u->tun_br) {
		for (unsigned i = 0; i < used; i++)
			io_uring_buf_ring_add(u->tun_br, u->tun_slots + (size_t)u->tun_ready[i] * NY_IO_SLOT_LEN,
					      NY_IO_SLOT_LEN, u->tun_ready[i], mask, (int)i);
		io_uring_buf_ring_advance(u->tun_br, (int)used);
	} else {
		for (unsigned i = 0; i < used; i++)
			arm_tun(u, u->tun_ready[i]);
	}
	memmove(u->tun_ready, u->tun_ready + used, (u->n_tun_ready - used) * sizeof(u->tun_ready[0]));
	u->n_tun_ready -= used;
	u->tun_ready_pos = 0;
	u->n_sends = 0;
	if (!u->udp_armed)
		arm_udp(u);
	if (u->tun_br && !u->tun_armed)
		arm_tun_multishot(u);
	if (!u->wake_armed)
		arm_wake(u);
}

static void reap_one(struct uring_io *u, const struct io_uring_cqe *cqe)
{
	uint64_t data = io_uring_cqe_get_data64(cqe);
	unsigned idx = index_of(data);

	switch (op_of(data)) {
	case OP_UDP_RECV:
		if (!(cqe->flags & IORING_CQE_F_MORE))
			u->udp_armed = false;
		if (cqe->res >= 0 && (cqe->flags & IORING_CQE_F_BUFFER)) {
			u->udp_ready[u->n_udp_ready] = (uint16_t)(cqe->flags >> IORING_CQE_BUFFER_SHIFT);
			u->udp_ready_len[u->n_udp_ready++] = cqe->res;
		}
		/* -ENOBUFS: every buffer is waiting to be consumed; the re-arm after recycling resumes. */
		break;
	case OP_TUN_READ:
		u->tun_busy[idx] = false;
		if (cqe->res > 0) {
			u->tun_len[idx] = cqe->res;
			u->tun_ready[u->n_tun_ready++] = (uint16_t)idx;
		} else if (cqe->res != -ECANCELED) {
			u->tun_ready[u->n_tun_ready] = (uint16_t)idx; /* re-armed by recycle(), nothing to read */
			u->tun_len[idx] = 0;
			u->n_tun_ready++;
		}
		break;
	case OP_TUN_MULTISHOT:
		if (!(cqe->flags & IORING_CQE_F_MORE))
			u->tun_armed = false;
		/* A completion with a buffer hands its slot over, even an empty read: recycle_tun() gives it back. */
		if (cqe->flags & IORING_CQE_F_BUFFER) {
			idx = cqe->flags >> IORING_CQE_BUFFER_SHIFT;
			u->tun_len[idx] = cqe->res;
			u->tun_ready[u->n_tun_ready++] = (uint16_t)idx;
		}
		/* -ENOBUFS: every slot is waiting to be consumed; the re-arm after recycling resumes. */
		break;
	case OP_UDP_SEND:
		u->in_flight--;
		if (cqe->res < 0)
			u->io.stats.udp_tx_errors++;
		break;
	case OP_TUN_WRITE:
		u->in_flight--;
		if (cqe->res < 0)
			u->io.stats.tun_tx_errors++;
		else
			u->io.stats.tun_tx_pkts++;
		break;
	case OP_WAKE:
		u->wake_armed = false;
		break;
	}
}

static unsigned reap(struct uring_io *u)
{
	struct io_uring_cqe *cqe;
	unsigned head, n = 0;

	io_uring_for_each_cqe(&u->ring, head, cqe) {
		reap_one(u, cqe);
		n++;
	}
	io_uring_cq_advance(&u->ring, n);
	return n;
}

/* The first receives are armed by the shard's first wait, not at creation: io_uring runs a request's task work
 * (the copy of each datagram a multishot recvmsg takes, a TUN read's retry) on the thread that submitted it. Armed
 * by the main thread, they had it woken from sigwait for every batch and doing a tenth of the receive work. */
static void arm_first(struct uring_io *u)
{
	if (u->tun_br)
		arm_tun_multishot(u);
	else
		for (unsigned i = 0; i < TUN_READS; i++)
			arm_tun(u, i);
	arm_udp(u);
	arm_wake(u);
	u->armed = true;
}

/* io_uring_enable_rings(), which liburing 2.3 declares but does not export. */
static int enable_rings(struct uring_io *u)
{
	return syscall(__NR_io_uring_register, u->ring.ring_fd, IORING_REGISTER_ENABLE_RINGS, NULL, 0) < 0 ? -errno : 0;
}

/* Reaps until every submitted send has completed. */
static int drain_sends(struct uring_io *u)
{
	struct io_uring_cqe *cqe;
	int ret;

	reap(u);
	while (u->in_flight) {
		if ((ret = io_uring_wait_cqe(&u->ring, &cqe)) < 0 && ret != -EINTR)
			return ret;
		reap(u);
	}
	return 0;
}

static int uring_wait(struct ny_io *io, int timeout_ms)
{
	struct uring_io *u = uring_io(io);
	struct __kernel_timespec ts = { .tv_sec = timeout_ms / 1000, .tv_nsec = (long long)(timeout_ms % 1000) * 1000000 };
	struct io_uring_cqe *cqe;
	bool udp_late = false;
	int ret;

	if (!u->armed) {
		/* The shard's thread enables the ring, which makes it the single issuer (see ny_io_uring_create). */
		if ((u->setup_flags & IORING_SETUP_R_DISABLED) && (ret = enable_rings(u)) < 0)
			return ret;
		arm_first(u);
	}
	/* Gathered TUN writes (and transit packets sealed in place) point into UDP buffers: finish them before the
	 * buffers go back to the kernel. They complete inline in the submit, before the enter sleeps, so the buffers
	 * go back once it returns; the multishot recvmsg meanwhile has the other buffers. Only when it is not armed
	 * (it ran dry) must they go back first, so that the re-arm does not sleep without buffers: then it costs one
	 * more io_uring_enter. */
	if (u->hold_udp) {
		u->hold_udp = false;
		udp_late = u->udp_armed;
		if (!udp_late) {
			if ((ret = io_uring_submit(&u->ring)) < 0 && ret != -EINTR)
				return ret;
			if ((ret = drain_sends(u)) < 0)
				return ret;
		}
	}
	if (!udp_late)
		recycle_udp(u);
	recycle_tun(u);
	/* Input left over from the last batch: hand the kernel our sends and re-arms, but do not sleep. With
	 * DEFER_TASKRUN, completions are only made when we ask for events: ask, so receives keep flowing. */
	if (u->n_udp_ready || u->n_tun_ready)
		ret = u->setup_flags & IORING_SETUP_DEFER_TASKRUN ? io_uring_submit_and_get_events(&u->ring) :
								    io_uring_submit(&u->ring);
	else
		ret = io_uring_submit_and_wait_timeout(&u->ring, &cqe, 1, timeout_ms < 0 ? NULL : &ts, NULL);
	if (ret < 0 && ret != -ETIME && ret != -EINTR)
		return ret;
	reap(u);
	/* The contract: send buffers are free once wait returns. Sends complete at once in practice. */
	if ((ret = drain_sends(u)) < 0)
		return ret;
	if (udp_late)
		recycle_udp(u);
	return (int)(u->n_udp_ready + u->n_tun_ready);
}

static int uring_recv_udp(struct ny_io *io, struct ny_io_dgram *out, size_t n)
{
	struct uring_io *u = uring_io(io);
	size_t got = 0;

	while (got < n && u->udp_ready_pos < u->n_udp_ready) {
		unsigned i = u->udp_ready_pos++;
		uint8_t *buf = udp_buf(u, u->udp_ready[i]);
		struct io_uring_recvmsg_out *o = io_uring_recvmsg_validate(buf, u->udp_ready_len[i], &u->recv_tmpl);
		struct msghdr m = { 0 };

		if (!o || (o->flags & MSG_TRUNC)) {
			io->stats.udp_rx_errors++;
			continue;
		}
		/* The control data follows the name, whose room is the template's msg_namelen. */
		m.msg_control = (uint8_t *)io_uring_recvmsg_name(o) + u->recv_tmpl.msg_namelen;
		m.msg_controllen = o->controllen;
		out[got].data = io_uring_recvmsg_payload(o, &u->recv_tmpl);
		out[got].len = io_uring_recvmsg_payload_length(o, u->udp_ready_len[i], &u->recv_tmpl);
		out[got].gso_size = ny_io_udp_gro_size(&m);
		ny_io_addr_from_sockaddr(&out[got].src, io_uring_recvmsg_name(o));
		got++;
	}
	return (int)got;
}

static int uring_recv_tun(struct ny_io *io, struct ny_io_pkt *out, size_t n)
{
	struct uring_io *u = uring_io(io);
	size_t got = 0;

	while (got < n && u->tun_ready_pos < u->n_tun_ready) {
		unsigned slot = u->tun_ready[u->tun_ready_pos++];

		if (u->tun_len[slot] <= 0)
			continue;
		out[got++] = (struct ny_io_pkt){ u->tun_slots + (size_t)slot * NY_IO_SLOT_LEN, (uint32_t)u->tun_len[slot] };
	}
	return (int)got;
}

static bool in_udp_bufs(const struct uring_io *u, const void *p)
{
	const uint8_t *b = p;

	return b >= u->udp_bufs && b < u->udp_bufs + (size_t)UDP_BUFS * UDP_BUF_LEN;
}

static int uring_send_udp(struct ny_io *io, const struct ny_io_send *sends, size_t n)
{
	struct uring_io *u = uring_io(io);
	size_t done = 0;

	for (; done < n && u->n_sends < SEND_SLOTS; done++) {
		const struct ny_io_send *s = &sends[done];
		struct send_slot *slot = &u->sends[u->n_sends];
		struct io_uring_sqe *sqe = sqe_get(u);

		if (!sqe)
			break;
		slot->msg = (struct msghdr){ .msg_name = &slot->addr, .msg_iov = (struct iovec *)s->iov,
					     .msg_iovlen = s->iovcnt };
		slot->msg.msg_namelen = (socklen_t)ny_io_addr_to_sockaddr(&s->dst, &slot->addr, sizeof(slot->addr));
		if (s->gso_size) {
			slot->msg.msg_control = slot->control;
			slot->msg.msg_controllen = ny_io_udp_gso_cmsg(slot->control, sizeof(slot->control), s->gso_size);
		}
		io_uring_prep_sendmsg(sqe, io->udp_fd, &slot->msg, 0);
		io_uring_sqe_set_data64(sqe, pack(OP_UDP_SEND, u->n_sends++));
		u->in_flight++;
		io->stats.udp_tx_calls++;
		for (unsigned j = 0; j < s->iovcnt; j++) {
			io->stats.udp_tx_bytes += s->iov[j].iov_len;
			/* A transit packet re-sealed where it was received: sent before its buffer goes back. */
			u->hold_udp |= in_udp_bufs(u, s->iov[j].iov_base);
		}
	}
	io->stats.udp_tx_errors += n - done;
	return (int)done;
}

/* Queues one TUN write, of buf[0, len) or, with iov, of iov[0, iovcnt). False when the ring has no room. */
static bool queue_tun_write(struct uring_io *u, uint32_t index, const void *buf, size_t len,
			    const struct iovec *iov, unsigned iovcnt)
{
	struct io_uring_sqe *sqe = sqe_get(u);

	if (!sqe)
		return false;
	if (iov)
		io_uring_prep_writev(sqe, u->io.tun_fd, iov, iovcnt, 0);
	else
		io_uring_prep_write(sqe, u->io.tun_fd, buf, (unsigned)len, 0);
	io_uring_sqe_set_data64(sqe, pack(OP_TUN_WRITE, index));
	u->in_flight++;
	return true;
}

static int uring_send_tun(struct ny_io *io, const struct ny_io_pkt *pkts, size_t n)
{
	struct uring_io *u = uring_io(io);
	size_t done = 0;

	while (done < n && queue_tun_write(u, (uint32_t)done, pkts[done].data, pkts[done].len, NULL, 0))
		done++;
	io->stats.tun_tx_errors += n - done;
	return (int)done;
}

static int uring_send_tun_vec(struct ny_io *io, const struct ny_io_vec *vecs, size_t n)
{
	struct uring_io *u = uring_io(io);
	size_t done = 0;

	while (done < n && queue_tun_write(u, (uint32_t)done, NULL, 0, vecs[done].iov, vecs[done].iovcnt))
		done++;
	u->hold_udp |= done > 0;
	io->stats.tun_tx_errors += n - done;
	return (int)done;
}

/* Cancels every request in flight and waits for them to complete. io_uring_queue_exit() would leave that to a
 * kernel workqueue, and a TUN read still in flight keeps the queue's file, so the interface could outlive the
 * shard (the post_down hook must find it gone); the multishot recvmsg likewise keeps the UDP port bound.
 * Linux < 6.0 has no synchronous cancel: then it is left to the workqueue, as before.
 * Context: the ring's submitter (under SINGLE_ISSUER the kernel refuses the cancel from any other thread, and
 * with DEFER_TASKRUN only the submitter's io_uring_enter completes what was cancelled). */
static void cancel_all(struct uring_io *u)
{
	struct io_uring_sync_cancel_reg reg = { .flags = IORING_ASYNC_CANCEL_ANY, .timeout = { 1, 0 } };

	io_uring_submit(&u->ring);
	if (io_uring_register_sync_cancel(&u->ring, &reg) == -EEXIST)
		return; /* not the submitter */
	io_uring_submit_and_get_events(&u->ring);
	reap(u);
	u->quiesced = true;
}

static void uring_quiesce(struct ny_io *io)
{
	struct uring_io *u = uring_io(io);

	if (u->armed && !u->quiesced)
		cancel_all(u);
}

static void uring_destroy(struct ny_io *io)
{
	struct uring_io *u = uring_io(io);

	if (u->ring_ok) {
		/* Not quiesced by its shard: fine while the ring was never enabled or has no single issuer (creation
		 * failed, or the shard never ran). Otherwise a kernel may refuse the cancel with -EEXIST (6.18 lets it
		 * through once the submitter has exited) and the workqueue cleans up. */
		if (!u->quiesced)
			cancel_all(u);
		io_uring_queue_exit(&u->ring);
	}
	if (u->br)
		munmap(u->br, u->br_len);
	if (u->tun_br)
		munmap(u->tun_br, u->tun_br_len);
	if (io->wake_fd >= 0)
		close(io->wake_fd);
	free(u->udp_bufs);
	free(u->tun_slots);
	free(u->sends);
	free(u);
}

static int uring_start(struct ny_io *io)
{
	/* io_uring honours O_NONBLOCK by failing with -EAGAIN instead of waiting: the ring must own the waiting. */
	int ret = ny_io_fd_set_nonblocking(io->tun_fd, false);

	return ret < 0 ? ret : ny_io_fd_set_nonblocking(io->udp_fd, false);
}


static const struct ny_io_ops URING_OPS = {
	.start = uring_start,
	.wait = uring_wait,
	.recv_udp = uring_recv_udp,
	.recv_tun = uring_recv_tun,
	.send_udp = uring_send_udp,
	.send_tun = uring_send_tun,
	.send_tun_vec = uring_send_tun_vec,
	.quiesce = uring_quiesce,
	.destroy = uring_destroy,
};

/* Registers n (a power of two) buffers of len bytes from base as group bgid. On failure *br stays NULL or mapped
 * for uring_destroy() to unmap. */
static int setup_buf_ring(struct uring_io *u, uint16_t bgid, unsigned n, uint8_t *base, unsigned len,
			  struct io_uring_buf_ring **br, size_t *br_len)
{
	struct io_uring_buf_reg reg = { 0 };
	unsigned mask = (unsigned)io_uring_buf_ring_mask(n);
	void *map;
	int ret;

	*br_len = n * sizeof(struct io_uring_buf);
	map = mmap(NULL, *br_len, PROT_READ | PROT_WRITE, MAP_ANONYMOUS | MAP_PRIVATE, -1, 0);
	if (map == MAP_FAILED)
		return -ENOMEM;
	*br = map;
	reg.ring_addr = (uint64_t)(uintptr_t)map;
	reg.ring_entries = n;
	reg.bgid = bgid;
	if ((ret = io_uring_register_buf_ring(&u->ring, &reg, 0)) < 0)
		return ret;
	io_uring_buf_ring_init(*br);
	for (unsigned i = 0; i < n; i++)
		io_uring_buf_ring_add(*br, base + (size_t)i * len, len, (unsigned short)i, mask, (int)i);
	io_uring_buf_ring_advance(*br, (int)n);
	return 0;
}

/* Multishot recvmsg is the newest operation we need (Linux 6.0); a probe answers whether it is there, and
 * whether the multishot read is (Linux 6.7), which the TUN uses when present. */
static bool kernel_has_features(struct io_uring *ring, bool *read_multishot)
{
	struct io_uring_probe *probe = io_uring_get_probe_ring(ring);
	bool ok = probe && io_uring_opcode_supported(probe, IORING_OP_SENDMSG) &&
		  io_uring_opcode_supported(probe, IORING_OP_RECVMSG) &&
		  io_uring_opcode_supported(probe, IORING_OP_SOCKET); /* 5.19: a proxy for the multishot era */

	*read_multishot = ok && io_uring_opcode_supported(probe, NY_IORING_OP_READ_MULTISHOT);
	io_uring_free_probe(probe);
	return ok;
}

/* Completions (a TUN read that found data, a send done) are finished as task work on the shard's thread, the
 * first choice the kernel accepts:
 * - DEFER_TASKRUN (Linux 6.1) keeps that work until the shard asks for completions in io_uring_enter, and runs it
 *   there in one batch: no interrupting the thread, no task-work signalling. It needs SINGLE_ISSUER, and the ring
 *   is set up on the main thread: it starts disabled (R_DISABLED) and the shard's first wait enables it, which
 *   makes the shard's thread the submitter. Then only that thread may cancel: the shard calls ny_io_quiesce()
 *   as it leaves its loop.
 * - COOP_TASKRUN (Linux 5.19) lets the work wait for the shard's next io_uring_enter, which comes within one
 *   batch anyway, instead of an IPI; TASKRUN_FLAG tells liburing when such work is pending so a submit runs it.
 * - Older kernels refuse the flags: go without. */
static const unsigned SETUPS[] = {
	IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN | IORING_SETUP_R_DISABLED,
	IORING_SETUP_COOP_TASKRUN | IORING_SETUP_TASKRUN_FLAG,
	0,
};

/* Creates the ring with the first of SETUPS[from..] the kernel accepts. */
static int init_ring(struct uring_io *u, unsigned from)
{
	int ret = -EINVAL;

	for (unsigned i = from; i < sizeof(SETUPS) / sizeof(SETUPS[0]) && ret == -EINVAL; i++) {
		u->setup_flags = SETUPS[i];
		ret = io_uring_queue_init(RING_ENTRIES, &u->ring, u->setup_flags);
	}
	return ret;
}

int ny_io_uring_create(struct ny_io **out, bool compat, const char **why)
{
	struct uring_io *u = calloc(1, sizeof(*u));
	bool read_multishot;
	int ret;

	if (!u)
		return -ENOMEM;
	u->io.ops = &URING_OPS;
	u->io.backend = NY_IO_URING;
	u->io.wake_fd = eventfd(0, EFD_CLOEXEC);
	u->udp_bufs = malloc((size_t)UDP_BUFS * UDP_BUF_LEN);
	u->tun_slots = malloc((size_t)TUN_READS * NY_IO_SLOT_LEN);
	u->sends = calloc(SEND_SLOTS, sizeof(*u->sends));
	if (u->io.wake_fd < 0 || !u->udp_bufs || !u->tun_slots || !u->sends) {
		*why = "io_uring: out of memory";
		ret = -ENOMEM;
		goto fail;
	}
	if ((ret = init_ring(u, 0)) < 0) {
		*why = ret == -EPERM || ret == -ENOSYS ?
			"io_uring is disabled here (kernel.io_uring_disabled or a seccomp filter)" :
			"io_uring_setup failed";
		goto fail;
	}
	u->ring_ok = true;
	if (!kernel_has_features(&u->ring, &read_multishot)) {
		*why = "this kernel's io_uring lacks multishot recvmsg (needs Linux >= 6.0)";
		ret = -ENOTSUP;
		goto fail;
	}
	if (compat) /* as on Linux 6.1 to 6.6: then the fallback below is the one those kernels take */
		read_multishot = false;
	/* DEFER_TASKRUN pays only with the multishot TUN read. With sixteen one-shot reads, every packet wakes them
	 * all and the deferred work trails the shard (Linux 6.18, tcp1: 2.5 against 3.1 Gbit per tunnel CPU-s for
	 * COOP_TASKRUN, with retransmits); kernels without the multishot read get the next setup. */
	if ((u->setup_flags & IORING_SETUP_DEFER_TASKRUN) && !read_multishot) {
		io_uring_queue_exit(&u->ring);
		u->ring_ok = false;
		if ((ret = init_ring(u, 1)) < 0) {
			*why = "io_uring_setup failed";
			goto fail;
		}
		u->ring_ok = true;
	}
	if ((ret = setup_buf_ring(u, UDP_BGID, UDP_BUFS, u->udp_bufs, UDP_BUF_LEN, &u->br, &u->br_len)) < 0) {
		*why = "io_uring: cannot register a provided-buffer ring (needs Linux >= 5.19)";
		goto fail;
	}
	if (read_multishot && setup_buf_ring(u, TUN_BGID, TUN_READS, u->tun_slots, NY_IO_SLOT_LEN, &u->tun_br,
					     &u->tun_br_len) < 0 && u->tun_br) {
		io_uring_unregister_buf_ring(&u->ring, TUN_BGID);
		munmap(u->tun_br, u->tun_br_len);
		u->tun_br = NULL; /* one-shot reads then */
	}
	snprintf(u->detail, sizeof(u->detail), "io_uring (%s, tun %s)",
		 u->setup_flags & IORING_SETUP_DEFER_TASKRUN ? "defer_taskrun" :
		 u->setup_flags & IORING_SETUP_COOP_TASKRUN ? "coop_taskrun" : "taskrun ipi",
		 u->tun_br ? "read_multishot" : "one-shot reads");
	u->io.detail = u->detail;
	/* Room for the name rounded up to 8, so the control data after it is aligned for struct cmsghdr. */
	u->recv_tmpl.msg_namelen = RECV_NAME_LEN;
	u->recv_tmpl.msg_controllen = CONTROL_LEN;
	*out = &u->io;
	return 0;
fail:
	uring_destroy(&u->io);
	return ret;
}
