/* The --dbg-trace-tc ring (nylon/trace.h): one spin lock, sequence-numbered slots, a cursor per reader. */
#include "nylon/trace.h"

#include <arpa/inet.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

/* Spins a writer makes for the lock before it gives its line up: a holder copies one line (well under a
 * microsecond), so running out means it was preempted and waiting would stall the shard for a time slice. */
#define WRITER_SPINS 1024
/* Spins a reader makes before it yields the CPU (readers are IPC threads: they may wait). */
#define READER_SPINS 64

struct slot {
	uint8_t len;
	char text[NY_TRACE_LINE_MAX];
};

struct ny_trace_ring {
	atomic_flag lock;
	atomic_uint readers;
	unsigned mask;
	/* Under lock. */
	uint64_t head; /* sequence number of the next line; slot head & mask */
	uint64_t overwritten;
	/* Outside the lock (a writer that could not take it). */
	_Atomic uint64_t busy;
	struct slot slots[];
};

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#elif defined(__aarch64__)
	__asm__ __volatile__("yield");
#endif
}

static bool lock_bounded(struct ny_trace_ring *r)
{
	for (unsigned i = 0; i < WRITER_SPINS; i++) {
		if (!atomic_flag_test_and_set_explicit(&r->lock, memory_order_acquire))
			return true;
		cpu_relax();
	}
	return false;
}

static void lock_wait(struct ny_trace_ring *r)
{
	for (unsigned i = 0; atomic_flag_test_and_set_explicit(&r->lock, memory_order_acquire); i++) {
		if (i % READER_SPINS == READER_SPINS - 1)
			sched_yield();
		else
			cpu_relax();
	}
}

static void unlock(struct ny_trace_ring *r)
{
	atomic_flag_clear_explicit(&r->lock, memory_order_release);
}

struct ny_trace_ring *ny_trace_ring_new(unsigned lines)
{
	struct ny_trace_ring *r;

	if (lines < 2 || (lines & (lines - 1)) || lines > (1u << 20))
		return NULL;
	r = calloc(1, sizeof(*r) + (size_t)lines * sizeof(struct slot));
	if (!r)
		return NULL;
	atomic_flag_clear(&r->lock);
	r->mask = lines - 1;
	return r;
}

void ny_trace_ring_free(struct ny_trace_ring *ring)
{
	free(ring);
}

bool ny_trace_ring_active(const struct ny_trace_ring *ring)
{
	return atomic_load_explicit(&ring->readers, memory_order_relaxed) != 0;
}

bool ny_trace_ring_push(struct ny_trace_ring *ring, const char *line, size_t len)
{
	struct slot *sl;

	if (len == 0)
		return false;
	if (len > NY_TRACE_LINE_MAX - 1)
		len = NY_TRACE_LINE_MAX - 1;
	if (!lock_bounded(ring)) {
		atomic_fetch_add_explicit(&ring->busy, 1, memory_order_relaxed);
		return false;
	}
	sl = &ring->slots[ring->head & ring->mask];
	memcpy(sl->text, line, len);
	sl->text[len] = '\0';
	sl->len = (uint8_t)len;
	if (ring->head > ring->mask)
		ring->overwritten++;
	ring->head++;
	unlock(ring);
	return true;
}

/* The source and destination addresses of an IPv4 or IPv6 header, as text. */
static void addresses(const uint8_t *ip, char src[INET6_ADDRSTRLEN], char dst[INET6_ADDRSTRLEN])
{
	if (ip[0] >> 4 == 6) {
		inet_ntop(AF_INET6, ip + 8, src, INET6_ADDRSTRLEN);
		inet_ntop(AF_INET6, ip + 24, dst, INET6_ADDRSTRLEN);
	} else {
		inet_ntop(AF_INET, ip + 12, src, INET6_ADDRSTRLEN);
		inet_ntop(AF_INET, ip + 16, dst, INET6_ADDRSTRLEN);
	}
}

void ny_trace_packet(struct ny_trace_ring *ring, enum ny_trace_event ev, const uint8_t *ip, const char *what)
{
	char src[INET6_ADDRSTRLEN], dst[INET6_ADDRSTRLEN], line[NY_TRACE_LINE_MAX];
	int n;

	if (!ny_trace_ring_active(ring))
		return;
	addresses(ip, src, dst);
	what = what ? what : "-";
	switch (ev) {
	case NY_TRACE_FWD: n = snprintf(line, sizeof(line), "Fwd packet: %s -> %s, via %s", src, dst, what); break;
	case NY_TRACE_EXIT: n = snprintf(line, sizeof(line), "Exit: %s -> %s", src, dst); break;
	case NY_TRACE_TTL: n = snprintf(line, sizeof(line), "TTL Expired: %s -> %s", src, dst); break;
	case NY_TRACE_UNHANDLED:
		n = snprintf(line, sizeof(line), "Unhandled TC packet: %s -> %s, peer %s", src, dst, what);
		break;
	case NY_TRACE_DROP: n = snprintf(line, sizeof(line), "Drop (%s): %s -> %s", what, src, dst); break;
	default: return;
	}
	if (n > 0)
		ny_trace_ring_push(ring, line, (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1);
}

void ny_trace_reader_attach(struct ny_trace_ring *ring, struct ny_trace_reader *rd)
{
	lock_wait(ring);
	rd->cursor = ring->head;
	rd->missed = 0;
	atomic_fetch_add_explicit(&ring->readers, 1, memory_order_relaxed);
	unlock(ring);
}

void ny_trace_reader_detach(struct ny_trace_ring *ring, struct ny_trace_reader *rd)
{
	(void)rd;
	atomic_fetch_sub_explicit(&ring->readers, 1, memory_order_relaxed);
}

size_t ny_trace_read(struct ny_trace_ring *ring, struct ny_trace_reader *rd, char buf[NY_TRACE_LINE_MAX])
{
	const struct slot *sl;
	size_t len;

	lock_wait(ring);
	if (ring->head - rd->cursor > (uint64_t)ring->mask + 1) {
		rd->missed += ring->head - rd->cursor - ring->mask - 1;
		rd->cursor = ring->head - ring->mask - 1;
	}
	if (rd->cursor == ring->head) {
		unlock(ring);
		return 0;
	}
	sl = &ring->slots[rd->cursor++ & ring->mask];
	len = sl->len;
	memcpy(buf, sl->text, len + 1);
	unlock(ring);
	return len;
}

void ny_trace_ring_stats(struct ny_trace_ring *ring, struct ny_trace_stats *out)
{
	lock_wait(ring);
	out->lines = ring->head;
	out->overwritten = ring->overwritten;
	unlock(ring);
	out->busy = atomic_load_explicit(&ring->busy, memory_order_relaxed);
}
