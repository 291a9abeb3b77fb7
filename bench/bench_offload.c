/* bench_offload: what the TUN offload layer costs.
 *
 *   csum_<size>_*:  ny_csum_partial() against the plainest RFC 1071 loop (big-endian 16-bit words added one at a
 *                   time into 32 bits) over the same buffer, at 1,420 B (one tunnel MTU) and 64 KiB (one
 *                   super-packet); the ratio is the figure that travels between machines (perf-anchors lesson 5).
 *   split_*:        ny_offload_split() of a 64 KiB TCPv4 super-packet (47 segments of 1,380 B + one of 635 B).
 *   coalesce_*:     ny_offload_coalesce() of those 48 segments back into one super-packet; memcpy of the same
 *                   bytes is the reference (coalescing copies every byte once, then checksums only headers).
 *
 * Rounds alternate the contenders so that load changes hit both alike; each figure is the median round (a
 * preempted round is an outlier, not a figure). One line per figure, key=value. Usage: bench_offload [seconds].
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "nylon/offload.h"

#define ROUNDS_MAX 4096
#define SEGS 48
#define MSS 1380
#define SEG_CAP 2048
#define PAYLOAD (65535 - 40)

struct rounds {
	double rate[ROUNDS_MAX];
	size_t n;
};

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void die(const char *what)
{
	fprintf(stderr, "bench_offload: %s\n", what);
	exit(1);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static double median(struct rounds *r)
{
	qsort(r->rate, r->n, sizeof(r->rate[0]), cmp_double);
	return r->n ? r->rate[r->n / 2] : 0;
}

static void record(struct rounds *r, double units, double seconds)
{
	if (r->n < ROUNDS_MAX && seconds > 0)
		r->rate[r->n++] = units / seconds;
}

/* Kept out of line and opaque to the optimizer (no inlining, no hoisting as a pure call) so that it stays a
 * loop, as a plain C reference should be. */
#if defined(__clang__)
#define NY_BENCH_OPAQUE __attribute__((noinline)) /* clang has no noipa; the body is optimized either way */
#else
#define NY_BENCH_OPAQUE __attribute__((noipa))
#endif
NY_BENCH_OPAQUE static uint16_t naive_csum(const uint8_t *p, size_t len)
{
	uint32_t sum = 0;

	for (size_t i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)(p[i] << 8 | p[i + 1]);
	if (len & 1)
		sum += (uint32_t)p[len - 1] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)sum;
}

static volatile uint32_t sink;

/* Tells the compiler the buffer may have changed, so that no call over it is hoisted out of a timing loop. */
static inline void clobber(const void *p)
{
	__asm__ volatile("" : : "r"(p) : "memory");
}

static void bench_csum(const char *name, const uint8_t *buf, size_t len, double seconds)
{
	static struct rounds fast, naive;
	size_t iters = (size_t)(4e6 / (double)len) + 1;
	double end = now_s() + seconds;

	fast.n = naive.n = 0;
	if (ny_csum_fold(ny_csum_partial(buf, len, 0)) != naive_csum(buf, len))
		die("ny_csum_partial disagrees with the reference");
	while (now_s() < end && fast.n < ROUNDS_MAX) {
		double t0 = now_s(), t1, t2;
		uint32_t acc = 0;

		for (size_t i = 0; i < iters; i++) {
			clobber(buf);
			acc += ny_csum_fold(ny_csum_partial(buf, len, 0));
		}
		t1 = now_s();
		for (size_t i = 0; i < iters; i++) {
			clobber(buf);
			acc += naive_csum(buf, len);
		}
		t2 = now_s();
		sink += acc;
		record(&fast, (double)(iters * len) * 8e-9, t1 - t0);
		record(&naive, (double)(iters * len) * 8e-9, t2 - t1);
	}
	double f = median(&fast), r = median(&naive);

	printf("csum_%s_gbps=%.1f\n", name, f);
	printf("csum_%s_naive_gbps=%.1f\n", name, r);
	printf("csum_%s_ratio=%.2f\n", name, r > 0 ? f / r : 0);
}

/* A 64 KiB TCPv4 super-packet as TUN reads it; returns its length. */
static size_t build_super(uint8_t *buf)
{
	static const uint8_t ip[20] = { 0x45, 0, 0xff, 0xff, 0x12, 0x34, 0x40, 0, 64, 6, 0, 0, 10, 0, 0, 1, 10, 0, 1, 2 };
	static const uint8_t tcp[20] = { 0x9c, 0x40, 0x14, 0x51, 0, 0, 0x10, 0, 0, 0, 0, 77, 0x50, 0x18, 0x01, 0xf5 };
	struct ny_vnet_hdr h = { .flags = NY_VNET_HDR_F_NEEDS_CSUM, .gso_type = NY_VNET_HDR_GSO_TCPV4, .hdr_len = 40,
				 .gso_size = MSS, .csum_start = 20, .csum_offset = 16 };
	uint8_t *p = buf + NY_VNET_HDR_LEN;
	uint16_t partial;

	ny_offload_hdr_encode(buf, &h);
	memcpy(p, ip, 20);
	memcpy(p + 20, tcp, 20);
	for (size_t i = 0; i < PAYLOAD; i++)
		p[40 + i] = (uint8_t)(i * 131 + 7);
	partial = ny_csum_fold(ny_csum_pseudo(4, p + 12, p + 16, 6, PAYLOAD + 20));
	p[36] = (uint8_t)(partial >> 8);
	p[37] = (uint8_t)partial;
	return NY_VNET_HDR_LEN + 40 + PAYLOAD;
}

static void bench_gro_gso(double seconds)
{
	static uint8_t super[NY_VNET_HDR_LEN + 65536], segmem[SEGS][SEG_CAP], arena[SEGS * (SEG_CAP + NY_VNET_HDR_LEN)];
	static struct rounds split, coalesce, copy;
	uint8_t *seg[SEGS];
	size_t seg_len[SEGS], len = build_super(super), iters = 20;
	struct ny_offload_pkt in[SEGS], out[SEGS];
	double end = now_s() + seconds;
	int n;

	for (size_t i = 0; i < SEGS; i++)
		seg[i] = segmem[i];
	n = ny_offload_split(super, len, seg, seg_len, SEGS, SEG_CAP);
	if (n != SEGS)
		die("the super-packet did not split into 48 segments");
	for (int i = 0; i < n; i++)
		in[i] = (struct ny_offload_pkt){ .data = seg[i], .len = seg_len[i] };
	if (ny_offload_coalesce(in, SEGS, out, SEGS, arena, sizeof(arena), 0) != 1)
		die("the segments did not coalesce into one super-packet");
	while (now_s() < end && split.n < ROUNDS_MAX) {
		double t0 = now_s(), t1, t2, t3;

		for (size_t i = 0; i < iters; i++) {
			clobber(super);
			sink += (uint32_t)ny_offload_split(super, len, seg, seg_len, SEGS, SEG_CAP);
		}
		t1 = now_s();
		for (size_t i = 0; i < iters; i++) {
			clobber(in);
			sink += (uint32_t)ny_offload_coalesce(in, SEGS, out, SEGS, arena, sizeof(arena), 0);
		}
		t2 = now_s();
		for (size_t i = 0; i < iters; i++) {
			size_t pos = 0;

			for (size_t k = 0; k < SEGS; k++) {
				memcpy(arena + pos, in[k].data, in[k].len);
				pos += in[k].len;
			}
			clobber(arena);
			sink += arena[pos / 2];
		}
		t3 = now_s();
		record(&split, (double)iters, t1 - t0);
		record(&coalesce, (double)iters, t2 - t1);
		record(&copy, (double)iters, t3 - t2);
	}
	double s = median(&split), c = median(&coalesce), m = median(&copy);

	printf("split_64k_tcp4_per_s=%.0f\n", s);
	printf("split_64k_tcp4_gbps=%.1f\n", s * PAYLOAD * 8e-9);
	printf("coalesce_48x1380_tcp4_per_s=%.0f\n", c);
	printf("coalesce_48x1380_tcp4_gbps=%.1f\n", c * PAYLOAD * 8e-9);
	printf("coalesce_vs_memcpy_ratio=%.2f\n", m > 0 ? c / m : 0);
}

int main(int argc, char **argv)
{
	static uint8_t buf[65536];
	double seconds = argc > 1 ? strtod(argv[1], NULL) : 1.0;

	if (!(seconds > 0 && seconds < 3600))
		die("usage: bench_offload [seconds per figure group]");
	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)(i * 2654435761u >> 13);
	bench_csum("1420", buf + 1, 1420, seconds); /* odd address: packets are not aligned */
	bench_csum("65536", buf, 65536, seconds);
	bench_gro_gso(seconds);
	return 0;
}
