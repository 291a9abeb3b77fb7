/* mac1, mac2 and cookie replies: WireGuard's DoS mitigation (whitepaper §5.3, §5.4.4, §5.4.7).
 *
 * mac1 = MAC(HASH("mac1----" || receiver's static public), msg up to mac1) proves the sender knows whom it talks
 * to and is always checked. Under load a responder also demands mac2 = MAC(cookie, msg up to mac2), where the
 * cookie is MAC(a secret rotated every two minutes, the sender's address); a sender without one gets a cookie
 * reply, encrypted with XChaCha20-Poly1305 under HASH("cookie--" || responder's static public) and bound to the
 * mac1 it answers. */
#include "nylon/wg.h"

#include <stddef.h>
#include <string.h>

static const char LABEL_MAC1[] = "mac1----";
static const char LABEL_COOKIE[] = "cookie--";

/* Both handshake messages end with mac1 then mac2: their offsets follow from the length. */
static size_t mac1_offset(size_t len)
{
	return len - sizeof(struct ny_wg_macs);
}

static size_t mac2_offset(size_t len)
{
	return len - NY_MAC_LEN;
}

static void derive_key(uint8_t key[NY_HASH_LEN], const char *label, const uint8_t pub[NY_KEY_LEN])
{
	ny_crypto_hash(key, label, 8, pub, NY_KEY_LEN);
}

void ny_wg_cookie_checker_init(struct ny_wg_cookie_checker *checker, const uint8_t our_public[NY_KEY_LEN])
{
	memset(checker, 0, sizeof(*checker));
	derive_key(checker->mac1_key, LABEL_MAC1, our_public);
	derive_key(checker->cookie_encryption_key, LABEL_COOKIE, our_public);
}

void ny_wg_cookie_init(struct ny_wg_cookie *cookie, const uint8_t peer_public[NY_KEY_LEN])
{
	memset(cookie, 0, sizeof(*cookie));
	derive_key(cookie->mac1_key, LABEL_MAC1, peer_public);
	derive_key(cookie->cookie_decryption_key, LABEL_COOKIE, peer_public);
}

/* The cookie for a source address: MAC(secret, address), with the secret renewed after two minutes. */
static void make_cookie(struct ny_wg_device *dev, uint8_t cookie[NY_WG_COOKIE_LEN], const void *src,
			size_t src_len, uint64_t now)
{
	struct ny_wg_cookie_checker *checker = &dev->cookie_checker;

	if (!checker->secret_set || now - checker->secret_birth >= NY_WG_COOKIE_SECRET_MAX_AGE) {
		dev->random(dev->source_ctx, checker->secret, sizeof(checker->secret));
		checker->secret_birth = now;
		checker->secret_set = true;
	}
	ny_crypto_mac(cookie, checker->secret, sizeof(checker->secret), src, src_len);
}

enum ny_wg_cookie_mac_state ny_wg_cookie_validate(struct ny_wg_device *dev, const uint8_t *msg, size_t len,
						  const void *src, size_t src_len, bool check_cookie, uint64_t now)
{
	uint8_t mac[NY_MAC_LEN];
	uint8_t cookie[NY_WG_COOKIE_LEN];
	enum ny_wg_cookie_mac_state state = NY_WG_COOKIE_INVALID_MAC;

	ny_crypto_mac(mac, dev->cookie_checker.mac1_key, NY_HASH_LEN, msg, mac1_offset(len));
	if (!ny_crypto_equal(mac, msg + mac1_offset(len), NY_MAC_LEN))
		goto out;
	state = NY_WG_COOKIE_VALID_MAC_BUT_NO_COOKIE;
	if (!check_cookie)
		goto out;
	make_cookie(dev, cookie, src, src_len, now);
	ny_crypto_mac(mac, cookie, sizeof(cookie), msg, mac2_offset(len));
	if (ny_crypto_equal(mac, msg + mac2_offset(len), NY_MAC_LEN))
		state = NY_WG_COOKIE_VALID_MAC_WITH_COOKIE;
out:
	ny_crypto_wipe(cookie, sizeof(cookie));
	return state;
}

void ny_wg_cookie_add_macs(struct ny_wg_cookie *cookie, uint8_t *msg, size_t len, uint64_t now)
{
	uint8_t *mac1 = msg + mac1_offset(len);
	uint8_t *mac2 = msg + mac2_offset(len);

	ny_crypto_mac(mac1, cookie->mac1_key, NY_HASH_LEN, msg, mac1_offset(len));
	memcpy(cookie->last_mac1_sent, mac1, NY_MAC_LEN);
	cookie->have_sent_mac1 = true;

	/* A cookie is usable for its secret's lifetime minus the time it may have taken to reach us. */
	if (cookie->valid && now - cookie->birth < NY_WG_COOKIE_SECRET_MAX_AGE - NY_WG_COOKIE_SECRET_LATENCY)
		ny_crypto_mac(mac2, cookie->cookie, NY_WG_COOKIE_LEN, msg, mac2_offset(len));
	else
		memset(mac2, 0, NY_MAC_LEN);
}

void ny_wg_cookie_create_reply(struct ny_wg_device *dev, const uint8_t *msg, size_t len, uint32_t sender_index,
			       const void *src, size_t src_len, uint64_t now, struct ny_wg_msg_cookie *reply)
{
	uint8_t cookie[NY_WG_COOKIE_LEN];

	reply->type = ny_cpu_to_le32(NY_WG_MSG_COOKIE);
	reply->receiver_index = ny_cpu_to_le32(sender_index);
	dev->random(dev->source_ctx, reply->nonce, sizeof(reply->nonce));
	make_cookie(dev, cookie, src, src_len, now);
	ny_crypto_xaead_seal(reply->encrypted_cookie, cookie, sizeof(cookie), msg + mac1_offset(len), NY_MAC_LEN,
			     reply->nonce, dev->cookie_checker.cookie_encryption_key);
	ny_crypto_wipe(cookie, sizeof(cookie));
}

struct ny_wg_peer *ny_wg_cookie_consume_reply(struct ny_wg_device *dev, const struct ny_wg_msg_cookie *msg,
					      uint64_t now, enum ny_wg_drop *why)
{
	struct ny_wg_index_entry *entry;
	struct ny_wg_cookie *cookie;
	uint8_t value[NY_WG_COOKIE_LEN];

	entry = ny_wg_index_lookup(dev, ny_le32_to_cpu(msg->receiver_index),
				   NY_WG_INDEX_HANDSHAKE | NY_WG_INDEX_KEYPAIR);
	if (!entry) {
		*why = NY_WG_DROP_UNKNOWN_INDEX;
		return NULL;
	}
	cookie = &entry->peer->cookie;
	/* A reply is only meaningful for a mac1 we sent; it is bound to it as associated data. */
	if (!cookie->have_sent_mac1 ||
	    !ny_crypto_xaead_open(value, msg->encrypted_cookie, sizeof(msg->encrypted_cookie), cookie->last_mac1_sent,
				  NY_MAC_LEN, msg->nonce, cookie->cookie_decryption_key)) {
		*why = NY_WG_DROP_COOKIE;
		return NULL;
	}
	memcpy(cookie->cookie, value, sizeof(value));
	cookie->birth = now;
	cookie->valid = true;
	cookie->have_sent_mac1 = false;
	ny_crypto_wipe(value, sizeof(value));
	return entry->peer;
}
