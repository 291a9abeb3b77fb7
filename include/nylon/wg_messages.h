/* WireGuard message formats on the wire (whitepaper §5.4.2 - §5.4.7). All integers are little-endian.
 *
 * ny_wg_message_classify() is the only way a received datagram is interpreted: it checks the type and the exact
 * length before any field is read.
 */
#ifndef NYLON_WG_MESSAGES_H
#define NYLON_WG_MESSAGES_H

#include <stddef.h>
#include <stdint.h>

#include "nylon/byteorder.h"
#include "nylon/crypto.h"

enum ny_wg_message_type {
	NY_WG_MSG_INVALID = 0,
	NY_WG_MSG_INITIATION = 1,
	NY_WG_MSG_RESPONSE = 2,
	NY_WG_MSG_COOKIE = 3,
	NY_WG_MSG_DATA = 4,
};

#define NY_WG_TIMESTAMP_LEN 12 /* TAI64N */
#define NY_WG_COOKIE_LEN 16

/* mac1 and mac2 close every handshake message. */
struct ny_wg_macs {
	uint8_t mac1[NY_MAC_LEN];
	uint8_t mac2[NY_MAC_LEN];
};

/* Integer fields hold little-endian values: convert with ny_cpu_to_le32() / ny_le32_to_cpu(). */
struct ny_wg_msg_initiation {
	uint32_t type; /* 1, then three reserved zero bytes */
	uint32_t sender_index;
	uint8_t unencrypted_ephemeral[NY_KEY_LEN];
	uint8_t encrypted_static[NY_KEY_LEN + NY_AEAD_TAG_LEN];
	uint8_t encrypted_timestamp[NY_WG_TIMESTAMP_LEN + NY_AEAD_TAG_LEN];
	struct ny_wg_macs macs;
};

struct ny_wg_msg_response {
	uint32_t type;
	uint32_t sender_index;
	uint32_t receiver_index;
	uint8_t unencrypted_ephemeral[NY_KEY_LEN];
	uint8_t encrypted_nothing[NY_AEAD_TAG_LEN];
	struct ny_wg_macs macs;
};

struct ny_wg_msg_cookie {
	uint32_t type;
	uint32_t receiver_index;
	uint8_t nonce[NY_XAEAD_NONCE_LEN];
	uint8_t encrypted_cookie[NY_WG_COOKIE_LEN + NY_AEAD_TAG_LEN];
};

struct ny_wg_msg_data {
	uint32_t type;
	uint32_t receiver_index;
	uint64_t counter;
	uint8_t encrypted_data[]; /* padded plaintext + 16-byte tag */
};

_Static_assert(sizeof(struct ny_wg_msg_initiation) == 148, "initiation is 148 bytes");
_Static_assert(sizeof(struct ny_wg_msg_response) == 92, "response is 92 bytes");
_Static_assert(sizeof(struct ny_wg_msg_cookie) == 64, "cookie reply is 64 bytes");
_Static_assert(sizeof(struct ny_wg_msg_data) == 16, "transport header is 16 bytes");
_Static_assert(offsetof(struct ny_wg_msg_initiation, macs) == 116, "initiation mac1 offset");
_Static_assert(offsetof(struct ny_wg_msg_response, macs) == 60, "response mac1 offset");
_Static_assert(offsetof(struct ny_wg_msg_data, encrypted_data) == 16, "transport payload offset");

#define NY_WG_DATA_HEADER_LEN 16
#define NY_WG_DATA_MIN_LEN (NY_WG_DATA_HEADER_LEN + NY_AEAD_TAG_LEN) /* a keepalive */
#define NY_WG_PADDING 16

/* Padded plaintext length for a payload of len bytes (whitepaper §5.4.6: pad to a multiple of 16). */
static inline size_t ny_wg_padded_len(size_t len)
{
	return (len + NY_WG_PADDING - 1) & ~(size_t)(NY_WG_PADDING - 1);
}

/* Bytes a transport message needs for a payload of len bytes. */
static inline size_t ny_wg_data_message_len(size_t len)
{
	return NY_WG_DATA_HEADER_LEN + ny_wg_padded_len(len) + NY_AEAD_TAG_LEN;
}

/* A little-endian 32-bit field at any alignment. */
static inline uint32_t ny_wg_le32_load(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static inline uint64_t ny_wg_le64_load(const uint8_t *p)
{
	return (uint64_t)ny_wg_le32_load(p) | (uint64_t)ny_wg_le32_load(p + 4) << 32;
}

static inline void ny_wg_le32_store(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

static inline void ny_wg_le64_store(uint8_t *p, uint64_t v)
{
	ny_wg_le32_store(p, (uint32_t)v);
	ny_wg_le32_store(p + 4, (uint32_t)(v >> 32));
}

/* The type of a datagram, or NY_WG_MSG_INVALID when its type byte, reserved bytes or length are wrong
 * (handshake messages must have their exact size; data at least NY_WG_DATA_MIN_LEN). */
enum ny_wg_message_type ny_wg_message_classify(const uint8_t *buf, size_t len);

#endif
