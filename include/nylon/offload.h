/* TUN offload: the virtio-net header, segmentation on read and coalescing on write, and the Internet checksum.
 *
 * The TUN device is opened with IFF_VNET_HDR and TUNSETOFFLOAD(TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6 [| TUN_F_USO4 |
 * TUN_F_USO6]). Every read then starts with a struct ny_vnet_hdr and may carry a TCP or UDP "super-packet" of up to
 * 64 KiB that the kernel left unsegmented (GSO) and whose L4 checksum it left partial (CHECKSUM_PARTIAL); every
 * write must start with one too, and may carry such a super-packet for the kernel to take whole (GRO on write).
 *
 * Everything here is a pure function over byte buffers: no system calls, no allocation, no global state, safe to
 * call from any thread on disjoint buffers. Packets may sit at any alignment (fields are read byte by byte).
 * Malformed input is reported (-EINVAL) or passed through untouched, never trusted: the functions never read or
 * write outside the buffers they were given, whatever the bytes say.
 *
 * This header deliberately includes no Linux header: struct ny_vnet_hdr has the wire layout of
 * struct virtio_net_hdr (linux/virtio_net.h), checked below.
 */
#ifndef NYLON_OFFLOAD_H
#define NYLON_OFFLOAD_H

#include <stddef.h>
#include <stdint.h>

/* ---- The virtio-net header ---------------------------------------------------------------------------------- */

/* struct virtio_net_hdr as TUN reads and writes it. The 16-bit fields are little-endian: TUN uses the
 * virtio 1.0 byte order unless TUNSETVNETBE was called (Linux >= 4.8), and we never call it. The functions below
 * encode and decode it; callers normally only need NY_VNET_HDR_LEN. */
struct ny_vnet_hdr {
	uint8_t flags;	      /* NY_VNET_HDR_F_* */
	uint8_t gso_type;     /* NY_VNET_HDR_GSO_*, possibly | NY_VNET_HDR_GSO_ECN */
	uint16_t hdr_len;     /* L2-L4 header bytes; on reads from TUN only a hint (see ny_offload_split) */
	uint16_t gso_size;    /* payload bytes per segment */
	uint16_t csum_start;  /* where checksumming starts: the L4 header */
	uint16_t csum_offset; /* where the checksum goes, from csum_start */
};

_Static_assert(sizeof(struct ny_vnet_hdr) == 10, "virtio_net_hdr is 10 bytes");
_Static_assert(offsetof(struct ny_vnet_hdr, hdr_len) == 2, "virtio_net_hdr.hdr_len offset");
_Static_assert(offsetof(struct ny_vnet_hdr, gso_size) == 4, "virtio_net_hdr.gso_size offset");
_Static_assert(offsetof(struct ny_vnet_hdr, csum_start) == 6, "virtio_net_hdr.csum_start offset");
_Static_assert(offsetof(struct ny_vnet_hdr, csum_offset) == 8, "virtio_net_hdr.csum_offset offset");

#define NY_VNET_HDR_LEN 10

#define NY_VNET_HDR_F_NEEDS_CSUM 1 /* L4 checksum is partial: finish it from csum_start into csum_offset */
#define NY_VNET_HDR_F_DATA_VALID 2 /* checksum already verified */

#define NY_VNET_HDR_GSO_NONE 0
#define NY_VNET_HDR_GSO_TCPV4 1
#define NY_VNET_HDR_GSO_UDP 3 /* UFO (IP fragmentation), legacy: never offered to TUN, rejected */
#define NY_VNET_HDR_GSO_TCPV6 4
#define NY_VNET_HDR_GSO_UDP_L4 5 /* USO (RFC-less UDP segmentation), TUN since Linux 6.2 */
#define NY_VNET_HDR_GSO_ECN 0x80 /* TCP with ECN: CWR must only go out on the first segment */

/* Decodes the first NY_VNET_HDR_LEN bytes of buf into host byte order. The caller checked the length. */
void ny_offload_hdr_decode(const uint8_t *buf, struct ny_vnet_hdr *hdr);
/* Encodes hdr (host byte order) into NY_VNET_HDR_LEN bytes at buf. */
void ny_offload_hdr_encode(uint8_t *buf, const struct ny_vnet_hdr *hdr);

/* ---- The Internet checksum (RFC 1071) ---------------------------------------------------------------------- */

/* A running sum: bytes are added as big-endian 16-bit words, and the 64-bit value is meaningful only after
 * ny_csum_fold(). Sums of pieces chain (pass the previous result as `sum`) as long as every piece but the last
 * has an even length. The work is done 64 bits at a time with end-around carry (RFC 1071 §2 (B), (C): the sum is
 * byte-order independent and may be computed in wider words and folded at the end). len must be < 16 GiB. */
uint64_t ny_csum_partial(const void *buf, size_t len, uint64_t sum);
/* The same sum of src[0, len), and src copied to dst (not overlapping) in the same pass over the bytes: a
 * segmenter that copies a payload and then sums it would read it twice. */
uint64_t ny_csum_copy(void *dst, const void *src, size_t len, uint64_t sum);

/* Folds a running sum to 16 bits with end-around carry: the ones' complement sum, not yet complemented. */
uint16_t ny_csum_fold(uint64_t sum);

/* The checksum to store in a header: the complement of the folded sum (RFC 1071 §1). Host byte order. */
static inline uint16_t ny_csum_finish(uint64_t sum)
{
	return (uint16_t)~ny_csum_fold(sum);
}

/* Running sum of the TCP/UDP pseudo-header: RFC 9293 §3.1 and RFC 768 for IPv4 (4-byte addresses), RFC 8200 §8.1
 * for IPv6 (16-byte addresses). ip_version is 4 or 6 (anything else sums as 6); len is the L4 length. */
uint64_t ny_csum_pseudo(int ip_version, const uint8_t *src, const uint8_t *dst, uint8_t proto, uint32_t len);

/* Incremental update (RFC 1624 §3, eqn. 3: HC' = ~(~HC + ~m + m')) when one 16-bit word of the covered data
 * changes from old_word to new_word, e.g. the TTL/protocol word on a TTL decrement. Host byte order in and out. */
uint16_t ny_csum_update16(uint16_t check, uint16_t old_word, uint16_t new_word);

/* ---- Segmentation on read ---------------------------------------------------------------------------------- */

/* Sizing out[]: a super-packet holds at most 65,535 bytes, so it splits into ceil(65535 / gso_size) segments. The
 * kernel picks gso_size from the route MTU but also from the peer's MSS: 536 when the peer sends no MSS option
 * (RFC 9293 §3.7.1), and down to net.ipv4.tcp_min_snd_mss (48) on Linux. 128 buffers of MTU bytes cover every
 * MSS >= 512; below that the caller gets -ENOBUFS and counts the drop. */

/* Splits one packet read from TUN (vnet header + IP packet, len bytes at pkt) into plain IP packets.
 *
 * out[0..n_out) are caller buffers of seg_cap bytes each; they must not overlap pkt. On success the packets are
 * in out[0..ret) with lengths in out_len[0..ret), and the input is unchanged.
 *
 * gso_type NONE: one packet, copied; with NEEDS_CSUM its checksum is finished: the ones' complement sum from
 * csum_start to the end is stored at csum_start + csum_offset (0 is sent as 0xffff, RFC 768; for TCP the two are
 * the same value). The IP header is not parsed.
 *
 * TCPV4, TCPV6 (TSO), UDP_L4 (USO): every segment gets the IP and L4 headers of the super-packet with
 *   IPv4: total length, id (+1 per segment, as Linux GSO does without SKB_GSO_TCP_FIXEDID) and header checksum;
 *   IPv6: payload length;
 *   TCP:  sequence number + payload offset; FIN and PSH only on the last segment, CWR only on the first
 *         (RFC 9293 §3.1, RFC 3168 §6.1.2; what Linux tcp_gso_segment() does); checksum recomputed in full;
 *   UDP:  length and checksum (0 sent as 0xffff, RFC 768).
 * The header length is derived from the headers (csum_start + TCP data offset, or + 8 for UDP), not from
 * hdr_len: Linux fills hdr_len with skb_headlen() (virtio_net_hdr_from_skb()), which may cover payload bytes. The
 * IPv4 total length / IPv6 payload length of the super-packet are not trusted either; len decides.
 *
 * Returns the number of packets, or
 *   -EINVAL   malformed: shorter than the vnet header; unknown gso_type, UFO, or ECN on anything but TCP; a GSO
 *             type without NEEDS_CSUM, with gso_size 0, or without payload; csum_start/csum_offset outside the
 *             packet or (for GSO) not at the L4 header and its checksum field; hdr_len beyond the packet; IP version
 *             not the one the gso_type names; IPv4 header length < 20 or fragmented; L4 protocol not TCP/UDP; IPv6
 *             extension headers (rejected: TUN's TSO6/USO6 packets from local sockets carry none); a segment
 *             that would not fit the 16-bit IP length field.
 *   -ENOBUFS  more segments than n_out, or a segment longer than seg_cap.
 * Context: any thread; pure. */
int ny_offload_split(const uint8_t *pkt, size_t len, uint8_t *const *out, size_t *out_len, size_t n_out,
		     size_t seg_cap);

/* At least as many packets as ny_offload_split() can make of pkt[0, len) (header, len / gso_size + 1, or 1): a
 * caller that prepares one output pointer per packet needs no more than this many, not n_out (a one-packet read
 * should not pay for filling thousands). Context: any thread; pure. */
size_t ny_offload_split_max(const uint8_t *pkt, size_t len);

/* ---- Coalescing on write (GRO) ----------------------------------------------------------------------------- */

/* One packet: an input IP packet for ny_offload_coalesce(), or an output (vnet header + IP packet) in the arena. */
struct ny_offload_pkt {
	uint8_t *data;
	size_t len;
};

#define NY_OFFLOAD_COALESCE_UDP 0x1u  /* also coalesce UDP (needs TUN_F_USO4|TUN_F_USO6 accepted, Linux >= 6.2) */
#define NY_OFFLOAD_DATA_VALID 0x2u    /* packets written alone get NY_VNET_HDR_F_DATA_VALID instead of flags 0 */
#define NY_OFFLOAD_VERIFY_CSUM 0x4u   /* only coalesce segments whose L4 checksum verifies */

/* How many input packets one call looks at together; a longer batch is processed in windows of this many, and
 * segments in different windows are not coalesced with each other. 512 takes in a whole receive batch of one TCP
 * stream (about 300 packets in one run): at 128, the window edges cut a 45-segment group short every 128 packets,
 * and a TUN write carried 35 segments on average instead of 44. */
#define NY_OFFLOAD_WINDOW 512

/* Most UDP segments in one USO super-packet. Linux's virtio_net_hdr_to_skb() rejects USO packets with more
 * payload than gso_size * UDP_MAX_SEGMENTS (a 2023 syzbot fix); UDP_MAX_SEGMENTS is 1 << 6 in most releases and
 * 1 << 7 in some later trees, so 64 is accepted everywhere. */
#define NY_OFFLOAD_UDP_MAX_SEGS 64

/* Arena bytes that always suffice for ny_offload_coalesce() of n packets of total_len bytes in all. */
#define NY_OFFLOAD_ARENA_SIZE(n, total_len) ((size_t)(n) * NY_VNET_HDR_LEN + (size_t)(total_len))

/* Turns n_in IP packets bound for TUN into at most n_in packets to write, each starting with a vnet header.
 *
 * Coalesced into one super-packet (NEEDS_CSUM, gso_type TCPV4/TCPV6 or UDP_L4, gso_size = the first segment's
 * payload, hdr_len = IP + L4 header, csum_start at the L4 header, and the pseudo-header sum (folded, not
 * complemented) in the L4 checksum field, as Linux expects of CHECKSUM_PARTIAL) are segments of one flow, in
 * order, found anywhere in the same window:
 *   both: IPv4 without options or fragmentation, with equal TOS, TTL, DF, and ids that count up by one (or, with
 *         DF, are all equal: RFC 6864 §4.1 makes the id of an atomic datagram meaningless); or IPv6 without
 *         extension headers, with equal traffic class, flow label and hop limit; the same addresses and ports;
 *         equal payload sizes except a shorter (non-empty) last one; at most 65,535 bytes of IP packet in all;
 *   TCP:  the next sequence number each; equal ack, window, data offset and options (so equal timestamps, as
 *         Linux tcp_gro_receive() requires); flags ACK and ECE equal, PSH only on the last; no SYN, FIN, RST, URG,
 *         CWR, or empty payload anywhere (these are written alone, as Linux GRO flushes on them);
 *   UDP:  only with NY_OFFLOAD_COALESCE_UDP; a length field that matches the IP length; at most
 *         NY_OFFLOAD_UDP_MAX_SEGS segments.
 * A group of one is written alone. Everything else (other protocols, malformed packets) is written alone,
 * unchanged, after a vnet header with gso_type NONE and flags 0 (or DATA_VALID with NY_OFFLOAD_DATA_VALID; note
 * that TUN's write path, tun_get_user() -> virtio_net_hdr_to_skb(), only acts on NEEDS_CSUM, so this is a hint).
 * Splitting a super-packet with ny_offload_split() gives back the original segments byte for byte (except the
 * ids of a DF group with equal ids, which come back counting up).
 *
 * Ownership: in[] and the packets it points to are only read. Outputs are written to out[0..ret), each pointing
 * into arena (arena_cap bytes, owned by the caller, not overlapping any input); the order is that of each output's
 * first input packet. out[] needs n_in entries and the arena NY_OFFLOAD_ARENA_SIZE(n_in, sum of in[i].len)
 * bytes; this is checked up front.
 *
 * Returns the number of outputs, or -ENOBUFS (nothing written) when out[] or the arena is too small.
 * Context: any thread; pure; uses about 26 KiB of stack (48 bytes per window slot). */
int ny_offload_coalesce(const struct ny_offload_pkt *in, size_t n_in, struct ny_offload_pkt *out, size_t n_out,
			uint8_t *arena, size_t arena_cap, unsigned int flags);

/* The same decisions without copying a byte, for a writer that gathers (writev): every in[i].data must have
 * NY_VNET_HDR_LEN writable bytes before it. Output k (k < the return value) is counts[k] consecutive pieces, taken
 * in order from pieces[]: a group's head packet with its vnet header written in that headroom and its headers
 * rewritten for the whole super-packet, then each member's payload where it lies. Written back to back, the
 * pieces of output k are byte for byte output k of ny_offload_coalesce(). Packets written alone get their vnet
 * header in the headroom too. pieces[] and counts[] need n_out >= n_in entries. Returns the number of outputs, or
 * -ENOBUFS (nothing written) when n_out is too small. The input packets' headers may be rewritten. */
int ny_offload_coalesce_in_place(const struct ny_offload_pkt *in, size_t n_in, struct ny_offload_pkt *pieces,
				 uint32_t *counts, size_t n_out, unsigned int flags);

#endif
