/* libFuzzer target for the TUN offload layer (src/io/offload.c): ny_offload_split() on what the kernel could hand
 * us, and ny_offload_coalesce() on what a peer could send us, with oracles beyond "no crash":
 *
 *   split:    a GSO super-packet that splits gives segments whose IPv4 header checksum and L4 checksum verify;
 *   coalesce: every output splits again, into segments whose checksums verify; the split gives back exactly
 *             the input packets, each once (checksum fields and DF ids aside, see same_packet()); outputs
 *             written alone carry the input unchanged.
 *
 * Every buffer is its own allocation of the exact size, so that ASan sees any byte read or written past it.
 *
 * Input: one flags byte, then
 *   bit 0 clear (split): the vnet header and packet as read from TUN;
 *     bits 1-2  segment buffer size: 64, 1280, 1500, 9000;  bits 3-4  segment buffers: 1, 4, 16, 64
 *   bit 0 set (coalesce): packets, each a big-endian 16-bit length and its bytes (at most 64 packets);
 *     bit 1 NY_OFFLOAD_COALESCE_UDP, bit 2 NY_OFFLOAD_DATA_VALID, bit 3 NY_OFFLOAD_VERIFY_CSUM,
 *     bit 4 fix up IPv4 total length and header checksum, and IPv6 payload length, of every packet first
 *           (so that mutations reach the grouping rules instead of dying at the IP header checks).
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nylon/offload.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_PKTS 64

static const size_t SEG_CAPS[4] = { 64, 1280, 1500, 9000 };
static const size_t N_OUTS[4] = { 1, 4, 16, 64 };

static uint16_t be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static void wbe16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void check(bool ok, const char *what)
{
	if (!ok) {
		fprintf(stderr, "fuzz_offload: %s\n", what);
		abort();
	}
}

/* The checksums a split GSO segment must have. */
static void check_segment(const uint8_t *ip, size_t len)
{
	size_t l4;
	uint8_t proto;
	const uint8_t *src, *dst;
	int v = ip[0] >> 4;

	check(len >= 20, "segment shorter than an IP header");
	if (v == 4) {
		l4 = (size_t)(ip[0] & 15) * 4;
		check(ny_csum_fold(ny_csum_partial(ip, l4, 0)) == 0xffff, "segment IPv4 header checksum");
		check(be16(ip + 2) == len, "segment IPv4 total length");
		proto = ip[9], src = ip + 12, dst = ip + 16;
	} else {
		check(v == 6 && len >= 40 && be16(ip + 4) == len - 40, "segment IPv6 header");
		l4 = 40, proto = ip[6], src = ip + 8, dst = ip + 24;
	}
	check(ny_csum_fold(ny_csum_partial(ip + l4, len - l4, ny_csum_pseudo(v, src, dst, proto, (uint32_t)(len - l4)))) ==
		      0xffff,
	      "segment L4 checksum");
}

static void fuzz_split(uint8_t mode, const uint8_t *data, size_t size)
{
	size_t seg_cap = SEG_CAPS[(mode >> 1) & 3], n_out = N_OUTS[(mode >> 3) & 3];
	uint8_t *out[MAX_PKTS];
	size_t out_len[MAX_PKTS];
	uint8_t *pkt = malloc(size ? size : 1);
	struct ny_vnet_hdr h = { 0 };
	int n;

	check(pkt != NULL, "out of memory");
	memcpy(pkt, data, size);
	for (size_t i = 0; i < n_out; i++) {
		out[i] = malloc(seg_cap);
		check(out[i] != NULL, "out of memory");
	}
	n = ny_offload_split(pkt, size, out, out_len, n_out, seg_cap);
	check(n == -EINVAL || n == -ENOBUFS || (n >= 1 && (size_t)n <= n_out), "split result out of range");
	check(memcmp(pkt, data, size) == 0, "split changed its input");
	if (size >= NY_VNET_HDR_LEN)
		ny_offload_hdr_decode(pkt, &h);
	for (int i = 0; i < n; i++) {
		check(out_len[i] <= seg_cap, "segment longer than its buffer");
		if (h.gso_type != NY_VNET_HDR_GSO_NONE)
			check_segment(out[i], out_len[i]);
	}
	for (size_t i = 0; i < n_out; i++)
		free(out[i]);
	free(pkt);
}

static void fix_ip_header(uint8_t *ip, size_t len)
{
	if (len >= 20 && ip[0] >> 4 == 4) {
		size_t ihl = (size_t)(ip[0] & 15) * 4;

		wbe16(ip + 2, (uint16_t)len);
		if (ihl >= 20 && ihl <= len) {
			ip[10] = ip[11] = 0;
			wbe16(ip + 10, ny_csum_finish(ny_csum_partial(ip, ihl, 0)));
		}
	} else if (len >= 40 && ip[0] >> 4 == 6) {
		wbe16(ip + 4, (uint16_t)(len - 40));
	}
}

/* Does packet seg equal input packet in? Masked (for segments split from a group), it is compared without the
 * IPv4 id and header checksum (see the DF rule in offload.h) and without the L4 checksum: without
 * NY_OFFLOAD_VERIFY_CSUM a wrong one is merged and comes back right, and a TCP checksum of 0x0000 comes back as
 * the equal 0xffff. check_segment() holds those fields to their own standard. */
static bool same_packet(const uint8_t *seg, size_t seg_len, const struct ny_offload_pkt *in, bool masked)
{
	size_t l4, csum;

	if (seg_len != in->len)
		return false;
	if (!masked)
		return memcmp(seg, in->data, seg_len) == 0;
	l4 = seg[0] >> 4 == 4 ? 20 : 40;
	csum = l4 + ((seg[0] >> 4 == 4 ? seg[9] : seg[6]) == 6 ? 16 : 6);
	for (size_t i = 0; i < seg_len; i++) {
		bool skip = i == csum || i == csum + 1 || (l4 == 20 && (i == 4 || i == 5 || i == 10 || i == 11));

		if (!skip && seg[i] != in->data[i])
			return false;
	}
	return true;
}

/* Finds an unused input equal to seg (exactly, or as same_packet() allows) and marks it used. */
static bool claim(const uint8_t *seg, size_t seg_len, bool masked, const struct ny_offload_pkt *in, size_t n_in,
		  bool *used)
{
	for (size_t i = 0; i < n_in; i++) {
		if (!used[i] && same_packet(seg, seg_len, &in[i], masked)) {
			used[i] = true;
			return true;
		}
	}
	return false;
}

static void check_outputs(const struct ny_offload_pkt *in, size_t n_in, const struct ny_offload_pkt *out, int n_outs,
			  size_t max_len)
{
	bool used[MAX_PKTS] = { false }, done[MAX_PKTS] = { false }, gso[MAX_PKTS];
	uint8_t *seg[MAX_PKTS];
	size_t seg_len[MAX_PKTS], total = 0;

	for (size_t i = 0; i < n_in; i++) {
		seg[i] = malloc(max_len ? max_len : 1);
		check(seg[i] != NULL, "out of memory");
	}
	for (int k = 0; k < n_outs; k++) {
		struct ny_vnet_hdr h;
		int n;

		check(out[k].len >= NY_VNET_HDR_LEN, "output shorter than a vnet header");
		ny_offload_hdr_decode(out[k].data, &h);
		check(total < n_in, "more packets out than in");
		if (h.gso_type == NY_VNET_HDR_GSO_NONE) {
			/* Written alone: the input, unchanged, whatever it is. */
			check(h.flags == 0 || h.flags == NY_VNET_HDR_F_DATA_VALID, "alone with odd flags");
			seg_len[total] = out[k].len - NY_VNET_HDR_LEN;
			memcpy(seg[total], out[k].data + NY_VNET_HDR_LEN, seg_len[total]);
			gso[total++] = false;
			continue;
		}
		n = ny_offload_split(out[k].data, out[k].len, seg + total, seg_len + total, n_in - total, max_len);
		check(n >= 2, "a coalesced output does not split into two or more packets");
		for (int j = 0; j < n; j++) {
			check_segment(seg[total], seg_len[total]);
			gso[total++] = true;
		}
	}
	check(total == n_in, "outputs do not hold every input");
	/* Exact matches first, so that a masked comparison cannot take an input that only one packet equals. */
	for (size_t j = 0; j < total; j++)
		done[j] = claim(seg[j], seg_len[j], false, in, n_in, used);
	for (size_t j = 0; j < total; j++) {
		if (!done[j])
			check(gso[j] && claim(seg[j], seg_len[j], true, in, n_in, used),
			      "a split output is none of the inputs");
	}
	for (size_t i = 0; i < n_in; i++)
		free(seg[i]);
}

static void fuzz_coalesce(uint8_t mode, const uint8_t *data, size_t size)
{
	struct ny_offload_pkt in[MAX_PKTS], out[MAX_PKTS];
	unsigned int flags = (mode >> 1) & 7;
	size_t n_in = 0, total = 0, max_len = 0, arena_cap;
	uint8_t *arena;
	int n;

	while (size >= 2 && n_in < MAX_PKTS) {
		size_t len = be16(data);

		data += 2, size -= 2;
		if (len > size)
			len = size;
		in[n_in].data = malloc(len ? len : 1);
		check(in[n_in].data != NULL, "out of memory");
		memcpy(in[n_in].data, data, len);
		in[n_in].len = len;
		if (mode & 0x10)
			fix_ip_header(in[n_in].data, len);
		total += len;
		max_len = len > max_len ? len : max_len;
		data += len, size -= len;
		n_in++;
	}
	arena_cap = NY_OFFLOAD_ARENA_SIZE(n_in, total);
	arena = malloc(arena_cap ? arena_cap : 1);
	check(arena != NULL, "out of memory");
	n = ny_offload_coalesce(in, n_in, out, n_in, arena, arena_cap, flags);
	check(n >= 0 && (size_t)n <= n_in, "coalesce failed with a big enough output area");
	check_outputs(in, n_in, out, n, max_len);
	if (n_in > 0)
		check(ny_offload_coalesce(in, n_in, out, n_in, arena, arena_cap - 1, flags) == -ENOBUFS,
		      "coalesce accepted an arena one byte short");
	free(arena);
	for (size_t i = 0; i < n_in; i++)
		free(in[i].data);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	if (data[0] & 1)
		fuzz_coalesce(data[0], data + 1, size - 1);
	else
		fuzz_split(data[0], data + 1, size - 1);
	return 0;
}
