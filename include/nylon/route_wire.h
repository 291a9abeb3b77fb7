/* The control-plane wire codec (reference nylon-behaviour.md §3.1, §3.2): struct ny_route_msg <-> the plaintext of
 * a WireGuard transport packet that carries a TransportBundle.
 *
 *   byte 0      0x80 (IP version nibble 8: not an IP packet, a nylon control packet)
 *   bytes 1-2   payload length, big endian, excluding these 3 bytes
 *   payload     protobuf TransportBundle (proto/nylon.proto); WireGuard's zero padding follows and is ignored
 *
 * Encoding is byte-identical to Go's deterministic marshal of nylon's proto3 schema: fields in number order, a
 * scalar equal to zero and an empty string are left out, ResponseToken is written whenever a probe has a response
 * (even 0). Prefixes are Go's netip.Prefix binary form: 4 or 16 address bytes, then one byte of prefix length.
 *
 * Decoding treats its input as hostile: one packet is accepted whole or dropped whole (-EINVAL), never partially.
 * Rules beyond the schema, all enforced on both sides so that whatever decodes re-encodes to the same messages:
 *   - the encoding must be the canonical one (what protobuf-c packs again from the decoded form, byte for byte in
 *     size): overlong varints, a singular field or oneof written twice and NUL bytes inside a string are rejected.
 *     Go never produces them; they are exactly the inputs whose decoded form would silently lose information.
 *   - Update and SeqnoRequest need a router id (1-100 characters of [0-9a-z._/-], reference §2.1) and a prefix;
 *     AckRetract needs a prefix. A missing field (proto3 leaves empty ones out) rejects the whole packet.
 *   - a prefix is 5 bytes (IPv4, length <= 32) or 17 (IPv6, length <= 128); an IPv6 zone (more bytes) is rejected:
 *     Go's netip.Prefix drops zones when it marshals, so no sender writes one. A v4-mapped IPv6 address stays
 *     IPv6, as in Go. Host bits on receive are cleared (10.0.0.1/24 becomes 10.0.0.0/24), matching what
 *     configuration parsing does with the same text; on send they are a caller bug and rejected.
 *   - seqno is 16-bit: the upper bits of the uint32 on the wire are ignored.
 *   - a Ny without a known oneof case (empty, or a message type from a newer nylon) rejects the packet.
 * Unknown fields inside known messages are accepted and ignored, as proto3 does. Messages are returned in wire
 * order, duplicates included (two updates for one prefix: the router applies both, the later wins).
 *
 * Every function is reentrant and keeps no state. Decoding allocates transiently through protobuf-c, bounded by
 * the 16-bit length field (a 64 KiB payload costs at most a few MiB) and freed before it returns.
 */
#ifndef NYLON_ROUTE_WIRE_H
#define NYLON_ROUTE_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "nylon/conf.h"
#include "nylon/route.h"

#define NY_ROUTE_WIRE_MAGIC 0x80
#define NY_ROUTE_WIRE_HEADER_LEN 3
#define NY_ROUTE_WIRE_SAFE_MTU 1200 /* bundles stay under this many bytes of protobuf (reference §3.2) */
#define NY_ROUTE_WIRE_MAX_MSGS 512  /* most messages one packet carries: the encoder never packs more, and a
				     * receiver passing this as cap accepts every packet a nylon node sends */
#define NY_ROUTE_WIRE_PREFIX_MAX 17 /* netip.Prefix binary form of an IPv6 prefix without zone */
#define NY_ROUTE_WIRE_PAYLOAD_MAX 0xFFFF /* the length field is 16 bits */

/* Is this decrypted transport plaintext a control message (IP version nibble 8)? Such a packet is never an IP
 * packet: it goes to ny_route_wire_decode() and is dropped there if malformed. */
static inline bool ny_route_wire_is_control(const uint8_t *p, size_t len)
{
	return len >= 1 && (p[0] >> 4) == (NY_ROUTE_WIRE_MAGIC >> 4);
}

/* Encodes msgs[0..n) into out (header + protobuf), packing as many messages, in order, as keep the bundle's
 * protobuf size (payload, framing of every element included) < mtu and the whole packet within cap, and at most
 * NY_ROUTE_WIRE_MAX_MSGS of them. The first message always goes in, even when it alone reaches mtu (reference
 * §3.2: an oversized message that never fitted made nylon loop, #113). A message that cannot be encoded ends the
 * bundle before it, so that the call that reaches it reports it.
 *
 * Returns the number of messages consumed (>= 1 when n >= 1; 0 and *out_len = 0 when n == 0) and sets *out_len,
 * or -EINVAL (msgs[0] cannot be encoded: unknown type, router id missing, too long or outside [0-9a-z._/-],
 * prefix of unknown family, too long or with host bits set), -ENOBUFS (msgs[0] does not fit in cap; at most
 * NY_ROUTE_WIRE_HEADER_LEN + 140 bytes are ever needed for one message), or -ENOMEM. */
int ny_route_wire_encode_mtu(const struct ny_route_msg *msgs, size_t n, size_t mtu, uint8_t *out, size_t cap,
			     size_t *out_len);

/* ny_route_wire_encode_mtu() with mtu = NY_ROUTE_WIRE_SAFE_MTU: what a node sends. */
int ny_route_wire_encode(const struct ny_route_msg *msgs, size_t n, uint8_t *out, size_t cap, size_t *out_len);

/* Decodes one received control packet (header + payload + any padding). Returns the number of messages written
 * to out[0..cap) (0 for an empty bundle), with every field a type does not use zero; or -EINVAL (bad magic,
 * length field beyond the buffer, malformed or non-canonical protobuf, unknown or empty oneof, a missing or
 * invalid router id or prefix: see the rules at the top; also when protobuf-c cannot allocate, which it does not
 * tell apart from malformed input) or -E2BIG (more than cap messages). On error out[] holds garbage. */
int ny_route_wire_decode(const uint8_t *pkt, size_t len, struct ny_route_msg *out, size_t cap);

/* A prefix in netip.Prefix binary form. encode: 0, or -EINVAL (family not AF_INET/AF_INET6, length beyond the
 * family's, host bits set); *len is 5 or 17. decode: 0 with out masked (host bits cleared, unused address bytes
 * zero), or -EINVAL (size neither 5 nor 17, which includes zoned IPv6; length beyond the family's). */
int ny_route_wire_prefix_encode(const struct ny_conf_cidr *p, uint8_t out[NY_ROUTE_WIRE_PREFIX_MAX], size_t *len);
int ny_route_wire_prefix_decode(const uint8_t *b, size_t len, struct ny_conf_cidr *out);

/* Is s a router id as the wire carries it: 1-NY_ROUTE_ID_MAX characters of [0-9a-z._/-], NUL-terminated within
 * NY_ROUTE_ID_MAX + 1 bytes? */
bool ny_route_wire_router_id_valid(const char *s);

#endif
