/* Classification of received datagrams (whitepaper §5.4): the type and the exact length are checked before any
 * other field is read. */
#include "nylon/wg.h"

enum ny_wg_message_type ny_wg_message_classify(const uint8_t *buf, size_t len)
{
	/* The first byte is the type; the next three are reserved and must be zero. */
	if (len < 4 || buf[1] != 0 || buf[2] != 0 || buf[3] != 0)
		return NY_WG_MSG_INVALID;
	switch (buf[0]) {
	case NY_WG_MSG_INITIATION:
		return len == sizeof(struct ny_wg_msg_initiation) ? NY_WG_MSG_INITIATION : NY_WG_MSG_INVALID;
	case NY_WG_MSG_RESPONSE:
		return len == sizeof(struct ny_wg_msg_response) ? NY_WG_MSG_RESPONSE : NY_WG_MSG_INVALID;
	case NY_WG_MSG_COOKIE:
		return len == sizeof(struct ny_wg_msg_cookie) ? NY_WG_MSG_COOKIE : NY_WG_MSG_INVALID;
	case NY_WG_MSG_DATA:
		return len >= NY_WG_DATA_MIN_LEN ? NY_WG_MSG_DATA : NY_WG_MSG_INVALID;
	default:
		return NY_WG_MSG_INVALID;
	}
}

const char *ny_wg_drop_name(enum ny_wg_drop reason)
{
	static const char *const names[NY_WG_DROP__COUNT] = {
		[NY_WG_DROP_NONE] = "none",
		[NY_WG_DROP_MALFORMED] = "malformed",
		[NY_WG_DROP_MAC1] = "invalid_mac1",
		[NY_WG_DROP_COOKIE_SENT] = "under_load_cookie_sent",
		[NY_WG_DROP_HANDSHAKE] = "invalid_handshake",
		[NY_WG_DROP_REPLAYED_INITIATION] = "replayed_initiation",
		[NY_WG_DROP_FLOOD] = "initiation_flood",
		[NY_WG_DROP_UNKNOWN_INDEX] = "unknown_index",
		[NY_WG_DROP_COOKIE] = "invalid_cookie",
		[NY_WG_DROP_KEY_EXPIRED] = "key_expired",
		[NY_WG_DROP_DECRYPT] = "decrypt_failed",
		[NY_WG_DROP_REPLAY] = "replayed_counter",
	};
	return (unsigned)reason < NY_WG_DROP__COUNT && names[reason] ? names[reason] : "unknown";
}
