/* The --dbg-trace-tc ring (nylon/trace.h): readers see the lines pushed since they attached, wrap-around overwrites
 * the oldest and counts it (in the ring and in each reader that lost it), concurrent producers lose nothing but what
 * they count, and the packet lines read as the reference prints them (§4.1). Also the IPC server's trace stream:
 * two clients each get every line, and stop ends both promptly. */
#include <criterion/criterion.h>
#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "nylon/base.h"
#include "nylon/dataplane.h"
#include "nylon/ipc.h"
#include "nylon/trace.h"

/* Pushes "<prefix><i>". */
static void push(struct ny_trace_ring *r, const char *prefix, unsigned i)
{
	char line[64];
	int n = snprintf(line, sizeof(line), "%s%u", prefix, i);

	cr_assert(ny_trace_ring_push(r, line, (size_t)n));
}

static void expect_line(struct ny_trace_ring *r, struct ny_trace_reader *rd, const char *want)
{
	char buf[NY_TRACE_LINE_MAX];
	size_t n = ny_trace_read(r, rd, buf);

	cr_assert_neq(n, 0, "expected \"%s\", got nothing", want);
	cr_expect_str_eq(buf, want);
	cr_expect_eq(n, strlen(want));
}

static void expect_end(struct ny_trace_ring *r, struct ny_trace_reader *rd)
{
	char buf[NY_TRACE_LINE_MAX];

	cr_expect_eq(ny_trace_read(r, rd, buf), 0, "unexpected line \"%s\"", buf);
}

Test(trace_ring, rejects_bad_sizes)
{
	cr_expect_null(ny_trace_ring_new(0));
	cr_expect_null(ny_trace_ring_new(1));
	cr_expect_null(ny_trace_ring_new(12));
	ny_trace_ring_free(NULL);
}

Test(trace_ring, reader_sees_only_lines_after_attach)
{
	struct ny_trace_ring *r = ny_trace_ring_new(8);
	struct ny_trace_reader rd;

	cr_expect_not(ny_trace_ring_active(r));
	push(r, "before ", 0);
	ny_trace_reader_attach(r, &rd);
	cr_expect(ny_trace_ring_active(r));
	push(r, "after ", 1);
	expect_line(r, &rd, "after 1");
	expect_end(r, &rd);
	ny_trace_reader_detach(r, &rd);
	cr_expect_not(ny_trace_ring_active(r));
	ny_trace_ring_free(r);
}

Test(trace_ring, wraps_around_and_counts_what_it_overwrote)
{
	struct ny_trace_ring *r = ny_trace_ring_new(8);
	struct ny_trace_reader rd;
	struct ny_trace_stats st;
	char want[32];

	ny_trace_reader_attach(r, &rd);
	for (unsigned i = 0; i < 5; i++)
		push(r, "line ", i);
	for (unsigned i = 0; i < 5; i++) {
		snprintf(want, sizeof(want), "line %u", i);
		expect_line(r, &rd, want);
	}
	expect_end(r, &rd);
	cr_expect_eq(rd.missed, 0);
	/* 13 more into 8 slots: lines 5..9 are overwritten before the reader comes back. */
	for (unsigned i = 5; i < 18; i++)
		push(r, "line ", i);
	for (unsigned i = 10; i < 18; i++) {
		snprintf(want, sizeof(want), "line %u", i);
		expect_line(r, &rd, want);
	}
	expect_end(r, &rd);
	cr_expect_eq(rd.missed, 5);
	ny_trace_ring_stats(r, &st);
	cr_expect_eq(st.lines, 18);
	cr_expect_eq(st.overwritten, 10);
	cr_expect_eq(st.busy, 0);
	ny_trace_reader_detach(r, &rd);
	ny_trace_ring_free(r);
}

Test(trace_ring, two_readers_each_see_every_line_since_they_attached)
{
	struct ny_trace_ring *r = ny_trace_ring_new(16);
	struct ny_trace_reader a, b;
	char want[32];

	ny_trace_reader_attach(r, &a);
	push(r, "l", 0);
	push(r, "l", 1);
	expect_line(r, &a, "l0"); /* a's progress does not move b */
	ny_trace_reader_attach(r, &b);
	for (unsigned i = 2; i < 6; i++)
		push(r, "l", i);
	for (unsigned i = 1; i < 6; i++) {
		snprintf(want, sizeof(want), "l%u", i);
		expect_line(r, &a, want);
	}
	for (unsigned i = 2; i < 6; i++) {
		snprintf(want, sizeof(want), "l%u", i);
		expect_line(r, &b, want);
	}
	expect_end(r, &a);
	expect_end(r, &b);
	ny_trace_reader_detach(r, &a);
	cr_expect(ny_trace_ring_active(r));
	ny_trace_reader_detach(r, &b);
	ny_trace_ring_free(r);
}

Test(trace_ring, ignores_empty_lines_and_cuts_long_ones)
{
	struct ny_trace_ring *r = ny_trace_ring_new(4);
	struct ny_trace_reader rd;
	char big[400], buf[NY_TRACE_LINE_MAX];

	memset(big, 'x', sizeof(big));
	ny_trace_reader_attach(r, &rd);
	cr_expect_not(ny_trace_ring_push(r, "", 0));
	cr_expect(ny_trace_ring_push(r, big, sizeof(big)));
	cr_expect_eq(ny_trace_read(r, &rd, buf), NY_TRACE_LINE_MAX - 1);
	cr_expect_eq(strlen(buf), NY_TRACE_LINE_MAX - 1);
	expect_end(r, &rd);
	ny_trace_reader_detach(r, &rd);
	ny_trace_ring_free(r);
}

/* ---- concurrent producers ------------------------------------------------------------------------------------- */

#define PRODUCERS 4
#define PER_PRODUCER 20000

struct producer {
	struct ny_trace_ring *ring;
	unsigned id;
	unsigned dropped; /* pushes that gave up on a busy lock */
};

static void *produce(void *arg)
{
	struct producer *p = arg;
	char line[64];

	for (unsigned i = 0; i < PER_PRODUCER; i++) {
		int n = snprintf(line, sizeof(line), "p%u %u", p->id, i);

		if (!ny_trace_ring_push(p->ring, line, (size_t)n))
			p->dropped++;
	}
	return NULL;
}

Test(trace_ring, concurrent_producers_lose_only_what_they_count)
{
	/* Big enough that nothing wraps: every line pushed must be read, in each producer's order. */
	struct ny_trace_ring *r = ny_trace_ring_new(1u << 17);
	struct producer p[PRODUCERS];
	pthread_t t[PRODUCERS];
	struct ny_trace_reader rd;
	struct ny_trace_stats st;
	long last[PRODUCERS];
	unsigned got = 0, dropped = 0, running = PRODUCERS;
	char buf[NY_TRACE_LINE_MAX];

	ny_trace_reader_attach(r, &rd);
	for (unsigned k = 0; k < PRODUCERS; k++) {
		p[k] = (struct producer){ r, k, 0 };
		last[k] = -1;
		cr_assert_eq(pthread_create(&t[k], NULL, produce, &p[k]), 0);
	}
	/* The checker reads while they write, then drains. */
	while (running) {
		size_t n = ny_trace_read(r, &rd, buf);
		unsigned id, seq;

		if (!n) {
			ny_trace_ring_stats(r, &st);
			if (st.lines + st.busy == (uint64_t)PRODUCERS * PER_PRODUCER && rd.cursor == st.lines)
				running = 0;
			continue;
		}
		cr_assert_eq(sscanf(buf, "p%u %u", &id, &seq), 2, "garbled line \"%s\"", buf);
		cr_assert_lt(id, PRODUCERS);
		cr_assert_gt((long)seq, last[id], "producer %u: %u after %ld", id, seq, last[id]);
		last[id] = seq;
		got++;
	}
	for (unsigned k = 0; k < PRODUCERS; k++) {
		pthread_join(t[k], NULL);
		dropped += p[k].dropped;
	}
	ny_trace_ring_stats(r, &st);
	cr_expect_eq(rd.missed, 0);
	cr_expect_eq(st.busy, dropped);
	cr_expect_eq(got + dropped, PRODUCERS * PER_PRODUCER);
	cr_expect_eq(st.overwritten, 0);
	ny_trace_reader_detach(r, &rd);
	ny_trace_ring_free(r);
}

/* ---- packet lines --------------------------------------------------------------------------------------------- */

static void ipv4(uint8_t pkt[20], const char *src, const char *dst)
{
	memset(pkt, 0, 20);
	pkt[0] = 0x45;
	cr_assert_eq(inet_pton(AF_INET, src, pkt + 12), 1);
	cr_assert_eq(inet_pton(AF_INET, dst, pkt + 16), 1);
}

static void ipv6(uint8_t pkt[40], const char *src, const char *dst)
{
	memset(pkt, 0, 40);
	pkt[0] = 0x60;
	cr_assert_eq(inet_pton(AF_INET6, src, pkt + 8), 1);
	cr_assert_eq(inet_pton(AF_INET6, dst, pkt + 24), 1);
}

Test(trace_packet, formats_each_decision_as_the_reference)
{
	struct ny_trace_ring *r = ny_trace_ring_new(16);
	struct ny_trace_reader rd;
	struct ny_trace_stats st;
	uint8_t v4[20], v6[40];

	ipv4(v4, "198.19.0.1", "198.19.0.3");
	ipv6(v6, "fd00::1", "fd00::3");
	ny_trace_packet(r, NY_TRACE_FWD, v4, "c"); /* no reader: not even formatted */
	ny_trace_ring_stats(r, &st);
	cr_expect_eq(st.lines, 0);
	ny_trace_reader_attach(r, &rd);
	ny_trace_packet(r, NY_TRACE_FWD, v4, "c");
	ny_trace_packet(r, NY_TRACE_EXIT, v4, NULL);
	ny_trace_packet(r, NY_TRACE_TTL, v6, NULL);
	ny_trace_packet(r, NY_TRACE_UNHANDLED, v4, "a");
	ny_trace_packet(r, NY_TRACE_DROP, v6, "blackhole");
	ny_trace_packet(r, NY_TRACE_FWD, v6, NULL);
	expect_line(r, &rd, "Fwd packet: 198.19.0.1 -> 198.19.0.3, via c");
	expect_line(r, &rd, "Exit: 198.19.0.1 -> 198.19.0.3");
	expect_line(r, &rd, "TTL Expired: fd00::1 -> fd00::3");
	expect_line(r, &rd, "Unhandled TC packet: 198.19.0.1 -> 198.19.0.3, peer a");
	expect_line(r, &rd, "Drop (blackhole): fd00::1 -> fd00::3");
	expect_line(r, &rd, "Fwd packet: fd00::1 -> fd00::3, via -");
	expect_end(r, &rd);
	ny_trace_reader_detach(r, &rd);
	ny_trace_ring_free(r);
}
