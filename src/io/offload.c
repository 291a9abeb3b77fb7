/* TUN offload: splitting the kernel's GSO super-packets on read, and coalescing segments into them on write.
 *
 * The contract of each function is in include/nylon/offload.h. Both directions work on one layout: an IP header
 * (IPv4 with options, or a bare IPv6 header), a TCP or UDP header, then payload. Every offset is checked against
 * the length before the byte is read; fields are read byte by byte, so packets may sit at any alignment.
 */
#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include "nylon/offload.h"

#define PROTO_TCP 6
#define PROTO_UDP 17

/* TCP flags, RFC 9293 §3.1 (CWR and ECE: RFC 3168 §6.1). */
#define TCP_FIN 0x01u
#define TCP_SYN 0x02u
#define TCP_RST 0x04u
#define TCP_PSH 0x08u
#define TCP_URG 0x20u
#define TCP_CWR 0x80u

#define IPV4_DF 0x4000u
#define IPV4_FRAG_MASK 0x3fffu /* MF and the fragment offset */
#define IPV6_HDR_LEN 40
#define TCP_CSUM_OFF 16
#define UDP_CSUM_OFF 6
#define IP_LEN_MAX 0xffffu

static inline uint16_t get_be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static inline uint32_t get_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static inline void put_be16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static inline void put_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static inline uint16_t get_le16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static inline void put_le16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

void ny_offload_hdr_decode(const uint8_t *buf, struct ny_vnet_hdr *hdr)
{
	hdr->flags = buf[0];
	hdr->gso_type = buf[1];
	hdr->hdr_len = get_le16(buf + 2);
	hdr->gso_size = get_le16(buf + 4);
	hdr->csum_start = get_le16(buf + 6);
	hdr->csum_offset = get_le16(buf + 8);
}

void ny_offload_hdr_encode(uint8_t *buf, const struct ny_vnet_hdr *hdr)
{
	buf[0] = hdr->flags;
	buf[1] = hdr->gso_type;
	put_le16(buf + 2, hdr->hdr_len);
	put_le16(buf + 4, hdr->gso_size);
	put_le16(buf + 6, hdr->csum_start);
	put_le16(buf + 8, hdr->csum_offset);
}

/* Where the pieces of a TCP/UDP packet are. */
struct layout {
	uint8_t ipv;	  /* 4 or 6 */
	uint8_t proto;	  /* PROTO_TCP or PROTO_UDP */
	uint8_t l4;	  /* offset of the L4 header = IP header length (<= 60) */
	uint8_t hlen;	  /* IP + L4 header length = offset of the payload (<= 120) */
	uint8_t csum_off; /* of the L4 checksum, from l4 */
};

static inline const uint8_t *ip_src(const uint8_t *ip, int ipv)
{
	return ip + (ipv == 4 ? 12 : 8);
}

static inline const uint8_t *ip_dst(const uint8_t *ip, int ipv)
{
	return ip + (ipv == 4 ? 16 : 24);
}

/* Stores the L4 checksum of a complete packet: L4 length l4len from lay->l4, whose payload (from lay->hlen) sums
 * to payload_sum (ny_csum_partial() from 0). 0 goes out as 0xffff: required for UDP (RFC 768), the same value for
 * TCP, and what Linux's skb_checksum_help() writes. */
static void l4_checksum_set(uint8_t *ip, const struct layout *lay, size_t l4len, uint64_t payload_sum)
{
	uint8_t *l4 = ip + lay->l4;
	uint64_t sum = ny_csum_pseudo(lay->ipv, ip_src(ip, lay->ipv), ip_dst(ip, lay->ipv), lay->proto,
				      (uint32_t)l4len);
	uint16_t c;

	l4[lay->csum_off] = 0;
	l4[lay->csum_off + 1] = 0;
	/* The L4 header's length is even (TCP: 4 * data offset, UDP: 8), so its sum and the payload's chain. */
	c = ny_csum_finish(ny_csum_partial(l4, (size_t)(lay->hlen - lay->l4), sum) + payload_sum);
	put_be16(l4 + lay->csum_off, c ? c : 0xffff);
}

static void ipv4_checksum_set(uint8_t *ip, size_t ihl)
{
	ip[10] = 0;
	ip[11] = 0;
	put_be16(ip + 10, ny_csum_finish(ny_csum_partial(ip, ihl, 0)));
}

/* ---- Split ------------------------------------------------------------------------------------------------- */

/* gso_type NONE: one packet, its partial checksum finished if NEEDS_CSUM. */
static int split_one(const uint8_t *ip, size_t iplen, const struct ny_vnet_hdr *h, uint8_t *const *out,
		     size_t *out_len, size_t n_out, size_t seg_cap)
{
	size_t start = h->csum_start, at = start + h->csum_offset;

	if (iplen == 0 || (h->gso_type & NY_VNET_HDR_GSO_ECN))
		return -EINVAL;
	if ((h->flags & NY_VNET_HDR_F_NEEDS_CSUM) && at + 2 > iplen)
		return -EINVAL;
	if (n_out < 1 || seg_cap < iplen)
		return -ENOBUFS;
	memcpy(out[0], ip, iplen);
	if (h->flags & NY_VNET_HDR_F_NEEDS_CSUM) {
		/* The field holds the pseudo-header sum already (CHECKSUM_PARTIAL): sum from csum_start over it. */
		uint16_t c = ny_csum_finish(ny_csum_partial(out[0] + start, iplen - start, 0));

		put_be16(out[0] + at, c ? c : 0xffff);
	}
	out_len[0] = iplen;
	return 1;
}

/* Checks a GSO super-packet against its vnet header and finds its headers. */
static int gso_parse(const uint8_t *ip, size_t iplen, const struct ny_vnet_hdr *h, struct layout *lay)
{
	uint8_t type = h->gso_type & (uint8_t)~NY_VNET_HDR_GSO_ECN;
	bool ecn = h->gso_type & NY_VNET_HDR_GSO_ECN;

	if (!(h->flags & NY_VNET_HDR_F_NEEDS_CSUM) || h->gso_size == 0 || iplen < 20)
		return -EINVAL;
	lay->ipv = (uint8_t)(ip[0] >> 4);
	switch (type) {
	case NY_VNET_HDR_GSO_TCPV4:
	case NY_VNET_HDR_GSO_TCPV6:
		if (lay->ipv != (type == NY_VNET_HDR_GSO_TCPV4 ? 4 : 6))
			return -EINVAL;
		lay->proto = PROTO_TCP;
		lay->csum_off = TCP_CSUM_OFF;
		break;
	case NY_VNET_HDR_GSO_UDP_L4:
		if (ecn || (lay->ipv != 4 && lay->ipv != 6))
			return -EINVAL;
		lay->proto = PROTO_UDP;
		lay->csum_off = UDP_CSUM_OFF;
		break;
	default: /* UFO and anything newer than this code */
		return -EINVAL;
	}
	if (lay->ipv == 4) {
		lay->l4 = (uint8_t)((ip[0] & 0x0f) * 4);
		if (lay->l4 < 20 || lay->l4 > iplen || ip[9] != lay->proto || (get_be16(ip + 6) & IPV4_FRAG_MASK))
			return -EINVAL;
	} else {
		/* The next header must be the L4 header: we do not walk extension headers (RFC 8200 §4). */
		lay->l4 = IPV6_HDR_LEN;
		if (iplen < IPV6_HDR_LEN || ip[6] != lay->proto)
			return -EINVAL;
	}
	if (h->csum_start != lay->l4 || h->csum_offset != lay->csum_off)
		return -EINVAL;
	if (lay->proto == PROTO_TCP) {
		size_t doff;

		if ((size_t)lay->l4 + 20 > iplen)
			return -EINVAL;
		doff = (size_t)(ip[lay->l4 + 12] >> 4) * 4;
		if (doff < 20)
			return -EINVAL;
		lay->hlen = (uint8_t)(lay->l4 + doff);
	} else {
		lay->hlen = (uint8_t)(lay->l4 + 8);
	}
	if (lay->hlen >= iplen) /* no payload to segment */
		return -EINVAL;
	return 0;
}

/* Fixes the headers of segment i (payload bytes [off, off + chunk) of the super-packet, summing to payload_sum)
 * copied to seg. */
static void gso_fix_segment(uint8_t *seg, const struct layout *lay, size_t i, size_t nseg, size_t off, size_t chunk,
			    uint64_t payload_sum)
{
	size_t len = lay->hlen + chunk;
	uint8_t *l4 = seg + lay->l4;

	if (lay->ipv == 4) {
		put_be16(seg + 2, (uint16_t)len);
		put_be16(seg + 4, (uint16_t)(get_be16(seg + 4) + i)); /* ids count up, as Linux inet_gso_segment() */
		ipv4_checksum_set(seg, lay->l4);
	} else {
		put_be16(seg + 4, (uint16_t)(len - IPV6_HDR_LEN));
	}
	if (lay->proto == PROTO_TCP) {
		uint8_t flags = l4[13];

		put_be32(l4 + 4, get_be32(l4 + 4) + (uint32_t)off); /* RFC 9293 §3.4: seq counts payload bytes */
		if (i + 1 < nseg)
			flags &= (uint8_t)~(TCP_FIN | TCP_PSH); /* they belong to the end of the data */
		if (i > 0)
			flags &= (uint8_t)~TCP_CWR; /* RFC 3168 §6.1.2: one CWR per window reduction */
		l4[13] = flags;
	} else {
		put_be16(l4 + 4, (uint16_t)(len - lay->l4));
	}
	l4_checksum_set(seg, lay, len - lay->l4, payload_sum);
}

static int split_gso(const uint8_t *ip, size_t iplen, const struct ny_vnet_hdr *h, uint8_t *const *out,
		     size_t *out_len, size_t n_out, size_t seg_cap)
{
	struct layout lay;
	size_t payload, mss = h->gso_size, nseg, longest;
	int err = gso_parse(ip, iplen, h, &lay);

	if (err)
		return err;
	payload = iplen - lay.hlen;
	nseg = payload / mss + (payload % mss != 0);
	longest = lay.hlen + (payload < mss ? payload : mss);
	if (longest - (lay.ipv == 6 ? IPV6_HDR_LEN : 0) > IP_LEN_MAX)
		return -EINVAL;
	if (nseg > n_out || longest > seg_cap || nseg > (size_t)0x7fffffff)
		return -ENOBUFS;
	for (size_t i = 0, off = 0; i < nseg; i++, off += mss) {
		size_t chunk = payload - off < mss ? payload - off : mss;

		/* The super-packet's headers are the template (the kernel's own, e.g. the IPv4 id and the TCP flags
		 * of the whole); the offsets in them are rewritten per segment. */
		memcpy(out[i], ip, lay.hlen);
		gso_fix_segment(out[i], &lay, i, nseg, off, chunk,
				ny_csum_copy(out[i] + lay.hlen, ip + lay.hlen + off, chunk, 0));
		out_len[i] = lay.hlen + chunk;
	}
	return (int)nseg;
}

/* One packet, not a super-packet (ECN alone is a flag, not a GSO type). */
static bool gso_none(const struct ny_vnet_hdr *h)
{
	return h->gso_type == NY_VNET_HDR_GSO_NONE || h->gso_type == NY_VNET_HDR_GSO_ECN;
}

size_t ny_offload_split_max(const uint8_t *pkt, size_t len)
{
	struct ny_vnet_hdr h;

	if (len < NY_VNET_HDR_LEN)
		return 1;
	ny_offload_hdr_decode(pkt, &h);
	/* A GSO split makes ceil(payload / gso_size) segments, and the payload is shorter than len. */
	if (gso_none(&h) || h.gso_size == 0)
		return 1;
	return len / h.gso_size + 1;
}

int ny_offload_split(const uint8_t *pkt, size_t len, uint8_t *const *out, size_t *out_len, size_t n_out,
		     size_t seg_cap)
{
	struct ny_vnet_hdr h;

	if (len < NY_VNET_HDR_LEN)
		return -EINVAL;
	ny_offload_hdr_decode(pkt, &h);
	pkt += NY_VNET_HDR_LEN;
	len -= NY_VNET_HDR_LEN;
	if (h.hdr_len > len)
		return -EINVAL;
	if (gso_none(&h))
		return split_one(pkt, len, &h, out, out_len, n_out, seg_cap);
	return split_gso(pkt, len, &h, out, out_len, n_out, seg_cap);
}

/* ---- Coalesce ---------------------------------------------------------------------------------------------- */

#define NO_SEG 0xffffu

enum seg_kind {
	SEG_OTHER, /* not TCP/UDP we understand: written alone, touches no group */
	SEG_FLOW,  /* TCP/UDP with a flow, but not mergeable (SYN, pure ACK, bad checksum...): alone, ends its flow's group */
	SEG_MERGE, /* may join or start a group */
};

enum id_mode { ID_UNKNOWN, ID_COUNT, ID_FIXED };

/* One input packet of the window; the group fields are used on group heads only. */
struct seg {
	const uint8_t *ip;
	size_t len;
	struct layout lay;
	uint8_t kind;	 /* enum seg_kind */
	uint8_t id_mode; /* enum id_mode of the group */
	bool member;	 /* joined an earlier packet's group */
	bool closed;	 /* the group takes no more segments */
	uint16_t next;	 /* next segment of the group */
	uint16_t tail;	 /* last segment of the group */
	uint16_t count;	 /* segments in the group */
	uint32_t next_seq;
	size_t total; /* IP bytes of the super-packet */
};

/* A TCP/UDP packet whose header lengths agree with its length; its L4 checksum verified if asked. */
static bool flow_parse(const uint8_t *ip, size_t len, unsigned int flags, struct layout *lay)
{
	if (len < 20)
		return false;
	lay->ipv = (uint8_t)(ip[0] >> 4);
	if (lay->ipv == 4) {
		/* Options could differ per packet: Linux inet_gro_receive() does not merge them either. */
		if (ip[0] != 0x45 || get_be16(ip + 2) != len || (get_be16(ip + 6) & IPV4_FRAG_MASK) ||
		    ny_csum_fold(ny_csum_partial(ip, 20, 0)) != 0xffff)
			return false;
		lay->l4 = 20;
		lay->proto = ip[9];
	} else if (lay->ipv == 6) {
		if (len < IPV6_HDR_LEN || (size_t)get_be16(ip + 4) + IPV6_HDR_LEN != len)
			return false;
		lay->l4 = IPV6_HDR_LEN;
		lay->proto = ip[6];
	} else {
		return false;
	}
	if (lay->proto == PROTO_TCP) {
		size_t doff;

		if ((size_t)lay->l4 + 20 > len)
			return false;
		doff = (size_t)(ip[lay->l4 + 12] >> 4) * 4;
		if (doff < 20 || lay->l4 + doff > len)
			return false;
		lay->hlen = (uint8_t)(lay->l4 + doff);
		lay->csum_off = TCP_CSUM_OFF;
	} else if (lay->proto == PROTO_UDP && (flags & NY_OFFLOAD_COALESCE_UDP)) {
		if ((size_t)lay->l4 + 8 > len || get_be16(ip + lay->l4 + 4) != len - lay->l4)
			return false;
		lay->hlen = (uint8_t)(lay->l4 + 8);
		lay->csum_off = UDP_CSUM_OFF;
	} else {
		return false;
	}
	return true;
}

static bool l4_checksum_ok(const uint8_t *ip, size_t len, const struct layout *lay)
{
	const uint8_t *l4 = ip + lay->l4;
	uint64_t sum;

	if (lay->proto == PROTO_UDP && lay->ipv == 4 && get_be16(l4 + UDP_CSUM_OFF) == 0)
		return false; /* RFC 768: no checksum was sent, so there is nothing to verify */
	sum = ny_csum_pseudo(lay->ipv, ip_src(ip, lay->ipv), ip_dst(ip, lay->ipv), lay->proto,
			     (uint32_t)(len - lay->l4));
	return ny_csum_fold(ny_csum_partial(l4, len - lay->l4, sum)) == 0xffff;
}

static void seg_classify(struct seg *s, unsigned int flags)
{
	s->kind = SEG_OTHER;
	if (!flow_parse(s->ip, s->len, flags, &s->lay))
		return;
	s->kind = SEG_FLOW;
	if (s->lay.hlen == s->len)
		return; /* nothing to merge: pure ACKs and empty datagrams */
	if (s->lay.proto == PROTO_TCP && (s->ip[s->lay.l4 + 13] & (TCP_SYN | TCP_FIN | TCP_RST | TCP_URG | TCP_CWR)))
		return;
	if ((flags & NY_OFFLOAD_VERIFY_CSUM) && !l4_checksum_ok(s->ip, s->len, &s->lay))
		return;
	s->kind = SEG_MERGE;
}

/* Same addresses, protocol and ports. */
static bool same_flow(const struct seg *a, const struct seg *b)
{
	int ipv = a->lay.ipv;

	return ipv == b->lay.ipv && a->lay.proto == b->lay.proto &&
	       memcmp(ip_src(a->ip, ipv), ip_src(b->ip, ipv), ipv == 4 ? 8 : 32) == 0 &&
	       memcmp(a->ip + a->lay.l4, b->ip + b->lay.l4, 4) == 0;
}

/* The IP header rules of the header comment; on success *mode is the group's id mode with c in it. */
static bool ip_can_append(const struct seg *h, const struct seg *c, enum id_mode *mode)
{
	const uint8_t *a = h->ip, *b = c->ip;

	if (h->lay.ipv == 6)
		return memcmp(a, b, 4) == 0 && a[7] == b[7]; /* version, class, flow label; hop limit */
	if (a[1] != b[1] || a[8] != b[8] || a[6] != b[6] || a[7] != b[7]) /* TOS, TTL, DF */
		return false;
	if (get_be16(b + 4) == (uint16_t)(get_be16(a + 4) + h->count) && h->id_mode != ID_FIXED) {
		*mode = ID_COUNT;
		return true;
	}
	if (get_be16(b + 4) == get_be16(a + 4) && (get_be16(a + 6) & IPV4_DF) && h->id_mode != ID_COUNT) {
		*mode = ID_FIXED; /* RFC 6864 §4.1: an atomic datagram's id means nothing */
		return true;
	}
	return false;
}

/* The L4 and size rules of the header comment; the flows are the same. */
static bool l4_can_append(const struct seg *h, const struct seg *c)
{
	const uint8_t *a = h->ip + h->lay.l4, *b = c->ip + c->lay.l4;
	size_t gso = h->len - h->lay.hlen, pay = c->len - c->lay.hlen;

	if (pay > gso || h->total + pay > IP_LEN_MAX || c->lay.hlen != h->lay.hlen)
		return false;
	if (h->lay.proto == PROTO_UDP)
		return h->count < NY_OFFLOAD_UDP_MAX_SEGS;
	/* ack and data offset; flags but PSH (the head has none, or the group would be closed); window; urgent
	 * pointer; options (equal lengths: the data offsets are equal). */
	return get_be32(b + 4) == h->next_seq && memcmp(a + 8, b + 8, 5) == 0 &&
	       (b[13] & (uint8_t)~TCP_PSH) == a[13] && memcmp(a + 14, b + 14, 2) == 0 &&
	       memcmp(a + 18, b + 18, h->lay.hlen - h->lay.l4 - 18) == 0;
}

static void group_start(struct seg *s, uint16_t self)
{
	s->count = 1;
	s->tail = self;
	s->total = s->len;
	s->id_mode = ID_UNKNOWN;
	s->closed = s->lay.proto == PROTO_TCP && (s->ip[s->lay.l4 + 13] & TCP_PSH);
	if (s->lay.proto == PROTO_TCP)
		s->next_seq = get_be32(s->ip + s->lay.l4 + 4) + (uint32_t)(s->len - s->lay.hlen);
}

static void group_append(struct seg *segs, struct seg *h, uint16_t ci, enum id_mode mode)
{
	struct seg *c = &segs[ci];
	size_t pay = c->len - c->lay.hlen;

	segs[h->tail].next = ci;
	h->tail = ci;
	h->count++;
	h->total += pay;
	h->id_mode = (uint8_t)mode;
	c->member = true;
	if (h->lay.proto == PROTO_TCP) {
		h->next_seq += (uint32_t)pay;
		if (c->ip[c->lay.l4 + 13] & TCP_PSH)
			h->closed = true;
	}
	if (pay < h->len - h->lay.hlen) /* a short segment ends the group: gso_size is the first's */
		h->closed = true;
}

/* Sorts the window into groups: at most one open group per flow; a packet of the flow that cannot join closes
 * it, so that no later packet of the flow is moved ahead of it. */
static void window_group(struct seg *segs, size_t n, unsigned int flags)
{
	uint16_t open[NY_OFFLOAD_WINDOW];
	size_t n_open = 0;

	for (size_t i = 0; i < n; i++) {
		struct seg *c = &segs[i];
		bool joined = false;

		c->next = NO_SEG;
		c->member = false;
		c->count = 1;
		seg_classify(c, flags);
		if (c->kind == SEG_OTHER)
			continue;
		for (size_t k = 0; k < n_open; k++) {
			struct seg *h = &segs[open[k]];
			enum id_mode mode = ID_UNKNOWN;

			if (!same_flow(h, c))
				continue;
			if (c->kind == SEG_MERGE && ip_can_append(h, c, &mode) && l4_can_append(h, c)) {
				group_append(segs, h, (uint16_t)i, mode);
				joined = true;
			} else {
				h->closed = true;
			}
			if (h->closed)
				open[k] = open[--n_open];
			break;
		}
		if (!joined && c->kind == SEG_MERGE) {
			group_start(c, (uint16_t)i);
			if (!c->closed)
				open[n_open++] = (uint16_t)i;
		}
	}
}

/* Loads the next window (at most NY_OFFLOAD_WINDOW of the left packets) into segs and groups it. Its size. */
static inline size_t window_load(struct seg *segs, const struct ny_offload_pkt *in, size_t left, unsigned int flags)
{
	size_t wn = left < NY_OFFLOAD_WINDOW ? left : NY_OFFLOAD_WINDOW;

	for (size_t i = 0; i < wn; i++) {
		segs[i].ip = in[i].data;
		segs[i].len = in[i].len;
	}
	window_group(segs, wn, flags);
	return wn;
}

static size_t emit_alone(uint8_t *dst, const struct seg *s, unsigned int flags)
{
	struct ny_vnet_hdr h = { 0 };

	if (flags & NY_OFFLOAD_DATA_VALID)
		h.flags = NY_VNET_HDR_F_DATA_VALID;
	ny_offload_hdr_encode(dst, &h);
	memcpy(dst + NY_VNET_HDR_LEN, s->ip, s->len);
	return NY_VNET_HDR_LEN + s->len;
}

/* Gives the head's headers (at ip, with NY_VNET_HDR_LEN bytes before it for the virtio-net header) the lengths of
 * a super-packet of pos IP bytes, and the checksum state the kernel expects of one. */
static void group_fix_headers(uint8_t *ip, const struct seg *segs, const struct seg *h, size_t pos)
{
	const struct layout *lay = &h->lay;
	uint8_t *l4 = ip + lay->l4;
	size_t l4len;
	struct ny_vnet_hdr vh = {
		.flags = NY_VNET_HDR_F_NEEDS_CSUM,
		.gso_size = (uint16_t)(h->len - lay->hlen),
		.hdr_len = (uint16_t)lay->hlen,
		.csum_start = (uint16_t)lay->l4,
		.csum_offset = (uint16_t)lay->csum_off,
	};
	uint64_t sum;

	if (lay->proto == PROTO_UDP)
		vh.gso_type = NY_VNET_HDR_GSO_UDP_L4;
	else
		vh.gso_type = lay->ipv == 4 ? NY_VNET_HDR_GSO_TCPV4 : NY_VNET_HDR_GSO_TCPV6;
	ny_offload_hdr_encode(ip - NY_VNET_HDR_LEN, &vh);
	if (lay->ipv == 4) {
		put_be16(ip + 2, (uint16_t)pos);
		ipv4_checksum_set(ip, lay->l4);
	} else {
		put_be16(ip + 4, (uint16_t)(pos - IPV6_HDR_LEN));
	}
	l4len = pos - lay->l4;
	if (lay->proto == PROTO_TCP)
		l4[13] |= segs[h->tail].ip[lay->l4 + 13] & TCP_PSH; /* the last segment's PSH, for the split */
	else
		put_be16(l4 + 4, (uint16_t)l4len);
	/* CHECKSUM_PARTIAL: the field holds the folded pseudo-header sum, uncomplemented; the kernel adds the
	 * rest (Linux tcp_v4_send_check() / __tcp_v4_send_check() leave the same). */
	sum = ny_csum_pseudo(lay->ipv, ip_src(ip, lay->ipv), ip_dst(ip, lay->ipv), lay->proto, (uint32_t)l4len);
	put_be16(l4 + lay->csum_off, ny_csum_fold(sum));
}

/* Writes the group headed by h: its headers with the lengths of the whole, then every payload in order. */
static size_t emit_group(uint8_t *dst, const struct seg *segs, const struct seg *h)
{
	const struct layout *lay = &h->lay;
	uint8_t *ip = dst + NY_VNET_HDR_LEN;
	size_t pos = h->len;

	memcpy(ip, h->ip, h->len);
	for (uint16_t m = h->next; m != NO_SEG; m = segs[m].next) {
		const struct seg *s = &segs[m];

		memcpy(ip + pos, s->ip + lay->hlen, s->len - lay->hlen);
		pos += s->len - lay->hlen;
	}
	group_fix_headers(ip, segs, h, pos);
	return NY_VNET_HDR_LEN + pos;
}

/* The same group without a copy: the head's own buffer gets the headers, the members' payloads stay where they
 * are and are listed as pieces after it. Returns the number of pieces. */
static size_t emit_group_in_place(struct ny_offload_pkt *pieces, const struct seg *segs, const struct seg *h)
{
	uint8_t *ip = (uint8_t *)h->ip;
	size_t pos = h->len, n = 1;

	for (uint16_t m = h->next; m != NO_SEG; m = segs[m].next) {
		const struct seg *s = &segs[m];

		pieces[n++] = (struct ny_offload_pkt){ (uint8_t *)s->ip + h->lay.hlen, s->len - h->lay.hlen };
		pos += s->len - h->lay.hlen;
	}
	group_fix_headers(ip, segs, h, pos);
	pieces[0] = (struct ny_offload_pkt){ ip - NY_VNET_HDR_LEN, NY_VNET_HDR_LEN + h->len };
	return n;
}

static size_t emit_alone_in_place(struct ny_offload_pkt *piece, const struct seg *s, unsigned int flags)
{
	struct ny_vnet_hdr h = { 0 };
	uint8_t *dst = (uint8_t *)s->ip - NY_VNET_HDR_LEN;

	if (flags & NY_OFFLOAD_DATA_VALID)
		h.flags = NY_VNET_HDR_F_DATA_VALID;
	ny_offload_hdr_encode(dst, &h);
	*piece = (struct ny_offload_pkt){ dst, NY_VNET_HDR_LEN + s->len };
	return 1;
}

int ny_offload_coalesce_in_place(const struct ny_offload_pkt *in, size_t n_in, struct ny_offload_pkt *pieces,
				 uint32_t *counts, size_t n_out, unsigned int flags)
{
	struct seg segs[NY_OFFLOAD_WINDOW];
	size_t n = 0, used = 0;

	if (n_out < n_in || n_in > (size_t)0x7fffffff)
		return -ENOBUFS;
	for (size_t base = 0; base < n_in; base += NY_OFFLOAD_WINDOW) {
		size_t wn = window_load(segs, in + base, n_in - base, flags);

		for (size_t i = 0; i < wn; i++) {
			const struct seg *s = &segs[i];

			if (s->member)
				continue;
			if (s->kind == SEG_MERGE && s->count > 1)
				counts[n] = (uint32_t)emit_group_in_place(pieces + used, segs, s);
			else
				counts[n] = (uint32_t)emit_alone_in_place(pieces + used, s, flags);
			used += counts[n++];
		}
	}
	return (int)n;
}

int ny_offload_coalesce(const struct ny_offload_pkt *in, size_t n_in, struct ny_offload_pkt *out, size_t n_out,
			uint8_t *arena, size_t arena_cap, unsigned int flags)
{
	struct seg segs[NY_OFFLOAD_WINDOW];
	size_t need = 0, used = 0, n = 0;

	if (n_out < n_in || n_in > (size_t)0x7fffffff)
		return -ENOBUFS;
	for (size_t i = 0; i < n_in; i++) {
		if (__builtin_add_overflow(need, in[i].len, &need) ||
		    __builtin_add_overflow(need, (size_t)NY_VNET_HDR_LEN, &need))
			return -ENOBUFS;
	}
	if (need > arena_cap)
		return -ENOBUFS;
	for (size_t base = 0; base < n_in; base += NY_OFFLOAD_WINDOW) {
		size_t wn = window_load(segs, in + base, n_in - base, flags);

		for (size_t i = 0; i < wn; i++) {
			const struct seg *s = &segs[i];

			if (s->member)
				continue;
			out[n].data = arena + used;
			if (s->kind == SEG_MERGE && s->count > 1)
				out[n].len = emit_group(arena + used, segs, s);
			else
				out[n].len = emit_alone(arena + used, s, flags);
			used += out[n++].len;
		}
	}
	return (int)n;
}
