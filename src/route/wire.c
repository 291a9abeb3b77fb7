/* The control-plane wire codec: struct ny_route_msg <-> 0x80 header + protobuf TransportBundle (reference §3.1,
 * §3.2). The rules it enforces are listed in include/nylon/route_wire.h. protobuf-c does all protobuf reading and
 * writing; this file only maps between its generated structs and ours and checks what the schema cannot say.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "nylon.pb-c.h"
#include "nylon/route_wire.h"

#define V4_LEN 4
#define V6_LEN 16

/* ---- prefixes and router ids ---- */

static size_t family_len(int family)
{
	return family == AF_INET ? V4_LEN : family == AF_INET6 ? V6_LEN : 0;
}

/* Does bytes[0..len) have a bit set past the first `bits`? */
static bool has_host_bits(const uint8_t *bytes, size_t len, unsigned bits)
{
	for (size_t i = bits / 8; i < len; i++) {
		uint8_t keep = i == bits / 8 ? (uint8_t)(0xFF00u >> (bits % 8)) : 0;

		if (bytes[i] & (uint8_t)~keep)
			return true;
	}
	return false;
}

static void clear_host_bits(uint8_t *bytes, size_t len, unsigned bits)
{
	for (size_t i = bits / 8; i < len; i++)
		bytes[i] &= i == bits / 8 ? (uint8_t)(0xFF00u >> (bits % 8)) : 0;
}

int ny_route_wire_prefix_encode(const struct ny_conf_cidr *p, uint8_t out[NY_ROUTE_WIRE_PREFIX_MAX], size_t *len)
{
	size_t alen = family_len(p->addr.family);

	if (!alen || p->bits > alen * 8 || has_host_bits(p->addr.bytes, alen, p->bits))
		return -EINVAL;
	memcpy(out, p->addr.bytes, alen);
	out[alen] = p->bits;
	*len = alen + 1;
	return 0;
}

int ny_route_wire_prefix_decode(const uint8_t *b, size_t len, struct ny_conf_cidr *out)
{
	size_t alen;

	/* netip.Prefix.MarshalBinary: the address (4 bytes, 16, or 16 + zone), then the length. Go writes the
	 * length of an invalid prefix as 0xFF; the family check below rejects it. */
	if (len == V4_LEN + 1)
		alen = V4_LEN;
	else if (len == V6_LEN + 1)
		alen = V6_LEN;
	else
		return -EINVAL;
	if (b[alen] > alen * 8)
		return -EINVAL;
	memset(out, 0, sizeof(*out));
	out->addr.family = alen == V4_LEN ? AF_INET : AF_INET6;
	memcpy(out->addr.bytes, b, alen);
	out->bits = b[alen];
	clear_host_bits(out->addr.bytes, alen, out->bits);
	return 0;
}

bool ny_route_wire_router_id_valid(const char *s)
{
	size_t i;

	for (i = 0; i <= NY_ROUTE_ID_MAX && s[i]; i++) {
		char c = s[i];

		if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || c == '.' || c == '_' || c == '/' ||
		      c == '-'))
			return false;
	}
	return i >= 1 && i <= NY_ROUTE_ID_MAX;
}

/* ---- encoding ---- */

/* One message in protobuf-c form. Strings point into the caller's messages; prefixes live here. */
struct slot {
	Nylon__Ny ny;
	union {
		Nylon__RouteOp update;
		Nylon__SeqnoRequestOp seqno_request;
		Nylon__ProbeOp probe;
		Nylon__AckRetractOp ack_retract;
	} op;
	uint8_t prefix[NY_ROUTE_WIRE_PREFIX_MAX];
};

/* Bytes of a varint (protobuf encoding spec, "Base 128 Varints"). */
static size_t varint_len(size_t v)
{
	size_t n = 1;

	while (v >= 0x80) {
		v >>= 7;
		n++;
	}
	return n;
}

/* Sets a bytes field to the prefix's binary form. */
static int set_prefix(struct slot *s, const struct ny_conf_cidr *p, protobuf_c_boolean *has, ProtobufCBinaryData *f)
{
	size_t len;
	int err = ny_route_wire_prefix_encode(p, s->prefix, &len);

	if (err)
		return err;
	*has = 1;
	f->data = s->prefix;
	f->len = len;
	return 0;
}

/* proto3 leaves out a scalar equal to zero: has_ is set only for non-zero values. protobuf-c does not write the
 * pointer fields of a message it packs, so the router id may point at the caller's const string. */
static int fill_update(struct slot *s, const struct ny_route_msg *m)
{
	Nylon__RouteOp *op = &s->op.update;

	nylon__route_op__init(op);
	if (!ny_route_wire_router_id_valid(m->router_id))
		return -EINVAL;
	op->routerid = (char *)m->router_id;
	op->has_seqno = m->seqno != 0;
	op->seqno = m->seqno;
	op->has_metric = m->metric != 0;
	op->metric = m->metric;
	s->ny.type_case = NYLON__NY__TYPE_UPDATE;
	s->ny.update = op;
	return set_prefix(s, &m->prefix, &op->has_prefix, &op->prefix);
}

static int fill_seqno_request(struct slot *s, const struct ny_route_msg *m)
{
	Nylon__SeqnoRequestOp *op = &s->op.seqno_request;

	nylon__seqno_request_op__init(op);
	if (!ny_route_wire_router_id_valid(m->router_id))
		return -EINVAL;
	op->routerid = (char *)m->router_id;
	op->has_seqno = m->seqno != 0;
	op->seqno = m->seqno;
	op->has_hopcount = m->hop_count != 0;
	op->hopcount = m->hop_count;
	s->ny.type_case = NYLON__NY__TYPE_SEQNO_REQUEST;
	s->ny.seqnorequest = op;
	return set_prefix(s, &m->prefix, &op->has_prefix, &op->prefix);
}

static void fill_probe(struct slot *s, const struct ny_route_msg *m)
{
	Nylon__ProbeOp *op = &s->op.probe;

	nylon__probe_op__init(op);
	op->has_token = m->token != 0;
	op->token = m->token;
	/* proto3 `optional`: present means pong, whatever the value (reference §3.1). */
	op->has_responsetoken = m->has_response;
	op->responsetoken = m->has_response ? m->response_token : 0;
	s->ny.type_case = NYLON__NY__TYPE_PROBE;
	s->ny.probe = op;
}

static int fill_ack_retract(struct slot *s, const struct ny_route_msg *m)
{
	Nylon__AckRetractOp *op = &s->op.ack_retract;

	nylon__ack_retract_op__init(op);
	s->ny.type_case = NYLON__NY__TYPE_ACK_RETRACT;
	s->ny.ackretract = op;
	return set_prefix(s, &m->prefix, &op->has_prefix, &op->prefix);
}

/* Fills s from m; fields m's type does not use are not looked at. 0 or -EINVAL. */
static int fill(struct slot *s, const struct ny_route_msg *m)
{
	nylon__ny__init(&s->ny);
	switch (m->type) {
	case NY_ROUTE_MSG_UPDATE:
		return fill_update(s, m);
	case NY_ROUTE_MSG_SEQNO_REQUEST:
		return fill_seqno_request(s, m);
	case NY_ROUTE_MSG_PROBE:
		fill_probe(s, m);
		return 0;
	case NY_ROUTE_MSG_ACK_RETRACT:
		return fill_ack_retract(s, m);
	}
	return -EINVAL;
}

/* Fills slots for msgs[0..) while the bundle stays < mtu and the packet within cap (reference §3.2; the first
 * message always goes in). Returns how many, or the first message's error; *payload_len is the bundle's size. */
static int pack_plan(const struct ny_route_msg *msgs, size_t n, size_t mtu, size_t cap, struct slot *slots,
		     Nylon__Ny **ptrs, size_t *payload_len)
{
	size_t room = cap - NY_ROUTE_WIRE_HEADER_LEN;
	size_t total = 0, k;

	for (k = 0; k < n && k < NY_ROUTE_WIRE_MAX_MSGS; k++) {
		size_t len, elem;
		int err = fill(&slots[k], &msgs[k]);

		if (err) {
			if (k == 0)
				return err;
			break;
		}
		/* A TransportBundle element: tag of field 1 (one byte), length varint, the Ny itself. */
		len = nylon__ny__get_packed_size(&slots[k].ny);
		elem = 1 + varint_len(len) + len;
		if (k > 0 && (total + elem >= mtu || total + elem > room))
			break;
		if (k == 0 && elem > room)
			return -ENOBUFS;
		total += elem;
		ptrs[k] = &slots[k].ny;
	}
	*payload_len = total;
	return (int)k;
}

int ny_route_wire_encode_mtu(const struct ny_route_msg *msgs, size_t n, size_t mtu, uint8_t *out, size_t cap,
			     size_t *out_len)
{
	Nylon__TransportBundle bundle = NYLON__TRANSPORT_BUNDLE__INIT;
	size_t want = n < NY_ROUTE_WIRE_MAX_MSGS ? n : NY_ROUTE_WIRE_MAX_MSGS;
	size_t payload_len = 0;
	struct slot *slots;
	Nylon__Ny **ptrs;
	int k;

	*out_len = 0;
	if (n == 0)
		return 0;
	if (cap <= NY_ROUTE_WIRE_HEADER_LEN)
		return -ENOBUFS;
	/* The 16-bit length field bounds every bundle; a single message is far below it. */
	if (mtu > NY_ROUTE_WIRE_PAYLOAD_MAX + 1)
		mtu = NY_ROUTE_WIRE_PAYLOAD_MAX + 1;
	slots = calloc(want, sizeof(*slots));
	ptrs = calloc(want, sizeof(*ptrs));
	if (!slots || !ptrs) {
		k = -ENOMEM;
		goto out;
	}
	k = pack_plan(msgs, n, mtu, cap, slots, ptrs, &payload_len);
	if (k < 0)
		goto out;
	bundle.n_packets = (size_t)k;
	bundle.packets = ptrs;
	if (nylon__transport_bundle__get_packed_size(&bundle) != payload_len ||
	    payload_len > NY_ROUTE_WIRE_PAYLOAD_MAX)
		abort(); /* the plan's arithmetic disagrees with protobuf-c: cannot happen */
	out[0] = NY_ROUTE_WIRE_MAGIC;
	out[1] = (uint8_t)(payload_len >> 8);
	out[2] = (uint8_t)payload_len;
	nylon__transport_bundle__pack(&bundle, out + NY_ROUTE_WIRE_HEADER_LEN);
	*out_len = NY_ROUTE_WIRE_HEADER_LEN + payload_len;
out:
	free(ptrs);
	free(slots);
	return k;
}

int ny_route_wire_encode(const struct ny_route_msg *msgs, size_t n, uint8_t *out, size_t cap, size_t *out_len)
{
	return ny_route_wire_encode_mtu(msgs, n, NY_ROUTE_WIRE_SAFE_MTU, out, cap, out_len);
}

/* ---- decoding ---- */

static int take_router_id(struct ny_route_msg *m, const char *id)
{
	if (!id || !ny_route_wire_router_id_valid(id))
		return -EINVAL;
	strcpy(m->router_id, id); /* valid: at most NY_ROUTE_ID_MAX characters */
	return 0;
}

static int take_prefix(struct ny_route_msg *m, protobuf_c_boolean has, const ProtobufCBinaryData *f)
{
	if (!has)
		return -EINVAL;
	return ny_route_wire_prefix_decode(f->data, f->len, &m->prefix);
}

static int take_update(struct ny_route_msg *m, const Nylon__RouteOp *op)
{
	m->type = NY_ROUTE_MSG_UPDATE;
	m->seqno = (uint16_t)op->seqno; /* 16-bit in state (reference §3.1) */
	m->metric = op->metric;
	if (take_router_id(m, op->routerid))
		return -EINVAL;
	return take_prefix(m, op->has_prefix, &op->prefix);
}

static int take_seqno_request(struct ny_route_msg *m, const Nylon__SeqnoRequestOp *op)
{
	m->type = NY_ROUTE_MSG_SEQNO_REQUEST;
	m->seqno = (uint16_t)op->seqno;
	m->hop_count = op->hopcount;
	if (take_router_id(m, op->routerid))
		return -EINVAL;
	return take_prefix(m, op->has_prefix, &op->prefix);
}

static void take_probe(struct ny_route_msg *m, const Nylon__ProbeOp *op)
{
	m->type = NY_ROUTE_MSG_PROBE;
	m->token = op->token;
	m->has_response = op->has_responsetoken;
	m->response_token = op->has_responsetoken ? op->responsetoken : 0;
}

/* One Ny into a zeroed message. protobuf-c leaves unset scalars zero and sets the pointer of the oneof case it
 * found; the NULL checks only guard against a protobuf-c that would not. */
static int take(struct ny_route_msg *m, const Nylon__Ny *ny)
{
	memset(m, 0, sizeof(*m));
	switch (ny->type_case) {
	case NYLON__NY__TYPE_UPDATE:
		return ny->update ? take_update(m, ny->update) : -EINVAL;
	case NYLON__NY__TYPE_SEQNO_REQUEST:
		return ny->seqnorequest ? take_seqno_request(m, ny->seqnorequest) : -EINVAL;
	case NYLON__NY__TYPE_PROBE:
		if (!ny->probe)
			return -EINVAL;
		take_probe(m, ny->probe);
		return 0;
	case NYLON__NY__TYPE_ACK_RETRACT:
		if (!ny->ackretract)
			return -EINVAL;
		m->type = NY_ROUTE_MSG_ACK_RETRACT;
		return take_prefix(m, ny->ackretract->has_prefix, &ny->ackretract->prefix);
	default:
		return -EINVAL; /* empty, or a message type this node does not know */
	}
}

int ny_route_wire_decode(const uint8_t *pkt, size_t len, struct ny_route_msg *out, size_t cap)
{
	Nylon__TransportBundle *bundle;
	size_t payload_len;
	int ret;

	if (len < NY_ROUTE_WIRE_HEADER_LEN || pkt[0] != NY_ROUTE_WIRE_MAGIC)
		return -EINVAL;
	payload_len = (size_t)pkt[1] << 8 | pkt[2];
	if (payload_len > len - NY_ROUTE_WIRE_HEADER_LEN)
		return -EINVAL;
	/* NULL allocator: malloc. protobuf-c frees what it allocated when it fails, and returns NULL both for
	 * malformed input and for allocation failure; the input is the likelier culprit. */
	bundle = nylon__transport_bundle__unpack(NULL, payload_len, pkt + NY_ROUTE_WIRE_HEADER_LEN);
	if (!bundle)
		return -EINVAL;
	/* Canonical form only (see the header): what protobuf-c would pack again must be what arrived. */
	if (nylon__transport_bundle__get_packed_size(bundle) != payload_len) {
		ret = -EINVAL;
		goto out;
	}
	if (bundle->n_packets > cap) {
		ret = -E2BIG;
		goto out;
	}
	for (size_t i = 0; i < bundle->n_packets; i++) {
		ret = take(&out[i], bundle->packets[i]);
		if (ret)
			goto out;
	}
	ret = (int)bundle->n_packets;
out:
	nylon__transport_bundle__free_unpacked(bundle, NULL);
	return ret;
}
