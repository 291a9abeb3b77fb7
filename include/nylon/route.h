/* Routing vocabulary shared by the prefix table, the wire codec, the router state machine and the data plane
 * (reference nylon-behaviour.md §3): metrics, sequence numbers and the control messages in their decoded form.
 *
 * Everything here is plain data and inline arithmetic: no allocation, no threads.
 */
#ifndef NYLON_ROUTE_H
#define NYLON_ROUTE_H

#include <stdbool.h>
#include <stdint.h>

#include "nylon/conf.h"

/* Metrics are microseconds of round-trip time (reference §3.4). INF is a retraction; finite sums saturate at
 * INFM so that a very long path never turns into a retraction by overflow. */
#define NY_ROUTE_INF 0xFFFFFFFFu
#define NY_ROUTE_INFM 0xFFFFFFFEu
#define NY_ROUTE_HOLD_METRIC (NY_ROUTE_INFM / 2) /* a passive client's prefix while it sleeps (reference §3.6) */

/* a + b, INF if either is INF, else saturating at INFM. */
static inline uint32_t ny_route_metric_add(uint32_t a, uint32_t b)
{
	uint64_t s;

	if (a == NY_ROUTE_INF || b == NY_ROUTE_INF)
		return NY_ROUTE_INF;
	s = (uint64_t)a + b;
	return s >= NY_ROUTE_INFM ? NY_ROUTE_INFM : (uint32_t)s;
}

/* Sequence numbers are 16-bit and compared modulo 2^16 (RFC 8966 §3.2.1; reference §3.5): a < b iff
 * 0 < (b - a) mod 65536 < 32768. */
static inline bool ny_route_seqno_lt(uint16_t a, uint16_t b)
{
	uint16_t d = (uint16_t)(b - a);

	return d != 0 && d < 0x8000;
}

static inline bool ny_route_seqno_le(uint16_t a, uint16_t b)
{
	return a == b || ny_route_seqno_lt(a, b);
}

/* Router ids are node ids: ^[0-9a-z._/-]+$, at most 100 characters (reference §2.1). */
#define NY_ROUTE_ID_MAX 100

enum ny_route_msg_type {
	NY_ROUTE_MSG_UPDATE = 1,        /* RouteOp: (router_id, prefix, seqno, metric); metric INF = retraction */
	NY_ROUTE_MSG_SEQNO_REQUEST = 2, /* SeqnoRequestOp: (router_id, prefix, seqno, hop_count) */
	NY_ROUTE_MSG_PROBE = 3,         /* ProbeOp: token; with has_response a pong (response_token) */
	NY_ROUTE_MSG_ACK_RETRACT = 4,   /* AckRetractOp: prefix */
};

/* One control message, decoded. Fields a type does not use are zero. */
struct ny_route_msg {
	enum ny_route_msg_type type;
	char router_id[NY_ROUTE_ID_MAX + 1]; /* NUL-terminated */
	struct ny_conf_cidr prefix;          /* masked: no host bits */
	uint16_t seqno;                      /* sent widened to uint32; the upper bits are ignored on receive */
	uint32_t metric;
	uint32_t hop_count;
	uint64_t token;
	bool has_response;
	uint64_t response_token;
};

#endif
