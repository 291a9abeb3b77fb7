/* A WireGuard device: our static identity, its peers, the index table, and the handling of handshake messages
 * with the DoS rules of whitepaper §5.3 (mac1 always, mac2 under load, cookie replies). Context: owner thread. */
#include "nylon/wg.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "wg/internal.h"

static uint64_t default_wall_clock(void *ctx)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * NY_WG_NSEC + (uint64_t)ts.tv_nsec;
}

static void default_random(void *ctx, void *buf, size_t len)
{
	ny_crypto_random(buf, len);
}

int ny_wg_device_init(struct ny_wg_device *dev, const uint8_t private_key[NY_KEY_LEN], uint64_t now)
{
	memset(dev, 0, sizeof(*dev));
	if (ny_crypto_is_zero(private_key, NY_KEY_LEN))
		return -EINVAL;
	memcpy(dev->static_private, private_key, NY_KEY_LEN);
	ny_crypto_x25519_public(dev->static_public, dev->static_private);
	ny_wg_cookie_checker_init(&dev->cookie_checker, dev->static_public);
	dev->wall_clock_ns = default_wall_clock;
	dev->random = default_random;
	return 0;
}

/* Unlinks the peer's keypairs and handshake and retires it: readers that found one of its keypairs may still
 * follow the keypair to the peer until a grace period has passed. */
static void peer_retire(struct ny_wg_peer *peer)
{
	struct ny_wg_device *dev = peer->device;

	ny_wg_keypairs_clear(peer);
	ny_wg_handshake_zero(dev, &peer->handshake);
	ny_crypto_wipe(peer->preshared_key, sizeof(peer->preshared_key));
	ny_crypto_wipe(peer->static_static, sizeof(peer->static_static));
	peer->retired_next = dev->retired.peers;
	dev->retired.peers = peer;
}

void ny_wg_device_destroy(struct ny_wg_device *dev)
{
	struct ny_wg_retired retired;

	for (size_t i = 0; i < dev->peer_count; i++)
		peer_retire(dev->peers[i]);
	free(dev->peers);
	ny_wg_device_take_retired(dev, &retired);
	ny_wg_retired_free(&retired);
	ny_crypto_wipe(dev, sizeof(*dev));
}

struct ny_wg_peer *ny_wg_device_find_peer(const struct ny_wg_device *dev, const uint8_t public_key[NY_KEY_LEN])
{
	for (size_t i = 0; i < dev->peer_count; i++)
		if (memcmp(dev->peers[i]->public_key, public_key, NY_KEY_LEN) == 0)
			return dev->peers[i];
	return NULL;
}

struct ny_wg_peer *ny_wg_device_add_peer(struct ny_wg_device *dev, const uint8_t public_key[NY_KEY_LEN],
					 const uint8_t *psk)
{
	struct ny_wg_peer *peer;

	if (memcmp(public_key, dev->static_public, NY_KEY_LEN) == 0) {
		errno = EINVAL;
		return NULL;
	}
	if (ny_wg_device_find_peer(dev, public_key)) {
		errno = EEXIST;
		return NULL;
	}
	if (dev->peer_count == dev->peer_capacity) {
		size_t cap = dev->peer_capacity ? dev->peer_capacity * 2 : 8;
		struct ny_wg_peer **grown = realloc(dev->peers, cap * sizeof(*grown));

		if (!grown)
			return NULL;
		dev->peers = grown;
		dev->peer_capacity = cap;
	}
	peer = calloc(1, sizeof(*peer));
	if (!peer)
		return NULL;
	peer->device = dev;
	memcpy(peer->public_key, public_key, NY_KEY_LEN);
	if (psk)
		memcpy(peer->preshared_key, psk, NY_KEY_LEN);
	/* A low-order public key makes DH(S_i, S_r) zero: keep the peer but never handshake with it. */
	peer->static_static_ok = ny_crypto_x25519(peer->static_static, dev->static_private, public_key);
	ny_wg_cookie_init(&peer->cookie, public_key);
	dev->peers[dev->peer_count++] = peer;
	return peer;
}

void ny_wg_device_remove_peer(struct ny_wg_device *dev, struct ny_wg_peer *peer)
{
	for (size_t i = 0; i < dev->peer_count; i++) {
		if (dev->peers[i] == peer) {
			dev->peers[i] = dev->peers[--dev->peer_count];
			peer_retire(peer);
			return;
		}
	}
}

int ny_wg_handshake_create_initiation(struct ny_wg_peer *peer, uint64_t now, struct ny_wg_msg_initiation *msg)
{
	int ret = ny_wg_noise_create_initiation(peer, now, msg);

	if (ret)
		return ret;
	ny_wg_cookie_add_macs(&peer->cookie, (uint8_t *)msg, sizeof(*msg), now);
	ny_wg_timers_any_authenticated_packet_traversal(peer, now);
	ny_wg_timers_any_authenticated_packet_sent(peer, now);
	ny_wg_timers_handshake_initiated(peer, now);
	return 0;
}

static void drop(struct ny_wg_device *dev, struct ny_wg_rx *rx, enum ny_wg_drop reason)
{
	rx->drop = reason;
	rx->peer = NULL;
	rx->actions = 0;
	rx->reply_len = 0;
	atomic_fetch_add_explicit(&dev->stats.drops[reason], 1, memory_order_relaxed);
}

/* Initiation accepted: answer with a response and derive the responder's keypair (it waits as `next`). */
static void handle_initiation(struct ny_wg_device *dev, const uint8_t *msg, uint64_t now, struct ny_wg_rx *rx)
{
	struct ny_wg_msg_response *response = (struct ny_wg_msg_response *)rx->reply;
	struct ny_wg_msg_initiation initiation;
	enum ny_wg_drop why;
	struct ny_wg_peer *peer;

	memcpy(&initiation, msg, sizeof(initiation));
	peer = ny_wg_noise_consume_initiation(dev, &initiation, now, &why);
	if (!peer)
		return drop(dev, rx, why);
	if (ny_wg_noise_create_response(peer, now, response) || ny_wg_noise_begin_session(peer, now))
		return drop(dev, rx, NY_WG_DROP_HANDSHAKE);
	ny_wg_cookie_add_macs(&peer->cookie, rx->reply, sizeof(*response), now);
	rx->reply_len = sizeof(*response);
	rx->peer = peer;
	ny_wg_timers_session_derived(peer, now);
	ny_wg_timers_any_authenticated_packet_sent(peer, now);
}

/* Response accepted: our keypair is current at once; a keepalive (or staged data) confirms it to the peer. */
static void handle_response(struct ny_wg_device *dev, const uint8_t *msg, uint64_t now, struct ny_wg_rx *rx)
{
	struct ny_wg_msg_response response;
	enum ny_wg_drop why;
	struct ny_wg_peer *peer;

	memcpy(&response, msg, sizeof(response));
	peer = ny_wg_noise_consume_response(dev, &response, now, &why);
	if (!peer)
		return drop(dev, rx, why);
	if (ny_wg_noise_begin_session(peer, now))
		return drop(dev, rx, NY_WG_DROP_HANDSHAKE);
	rx->peer = peer;
	rx->actions = NY_WG_ACTION_SEND_KEEPALIVE | NY_WG_ACTION_SEND_STAGED;
	ny_wg_timers_session_derived(peer, now);
	ny_wg_timers_handshake_complete(peer, now);
}

static uint32_t sender_index_of(const uint8_t *msg)
{
	/* Initiations and responses both carry the sender's index right after the type. */
	return ny_wg_le32_load(msg + 4);
}

void ny_wg_device_receive_handshake(struct ny_wg_device *dev, const uint8_t *msg, size_t len, const void *src,
				    size_t src_len, bool under_load, uint64_t now, struct ny_wg_rx *rx)
{
	enum ny_wg_cookie_mac_state mac;
	enum ny_wg_drop why;

	memset(rx, 0, offsetof(struct ny_wg_rx, reply));
	rx->type = ny_wg_message_classify(msg, len);
	switch (rx->type) {
	case NY_WG_MSG_COOKIE: {
		struct ny_wg_msg_cookie cookie;

		memcpy(&cookie, msg, sizeof(cookie));
		if (!ny_wg_cookie_consume_reply(dev, &cookie, now, &why))
			drop(dev, rx, why);
		/* The retransmit timer sends the next initiation, now with mac2. */
		return;
	}
	case NY_WG_MSG_INITIATION:
	case NY_WG_MSG_RESPONSE:
		break;
	default:
		return drop(dev, rx, NY_WG_DROP_MALFORMED);
	}

	mac = ny_wg_cookie_validate(dev, msg, len, src, src_len, under_load, now);
	if (mac == NY_WG_COOKIE_INVALID_MAC)
		return drop(dev, rx, NY_WG_DROP_MAC1);
	if (under_load && mac != NY_WG_COOKIE_VALID_MAC_WITH_COOKIE) {
		struct ny_wg_msg_cookie reply;

		drop(dev, rx, NY_WG_DROP_COOKIE_SENT);
		ny_wg_cookie_create_reply(dev, msg, len, sender_index_of(msg), src, src_len, now, &reply);
		memcpy(rx->reply, &reply, sizeof(reply));
		rx->reply_len = sizeof(reply);
		return;
	}

	if (rx->type == NY_WG_MSG_INITIATION)
		handle_initiation(dev, msg, now, rx);
	else
		handle_response(dev, msg, now, rx);
	if (rx->peer) {
		ny_wg_timers_any_authenticated_packet_received(rx->peer, now);
		ny_wg_timers_any_authenticated_packet_traversal(rx->peer, now);
	}
}
