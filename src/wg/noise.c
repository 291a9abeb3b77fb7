/* Noise_IKpsk2 handshake as the WireGuard whitepaper specifies it (§5.4.2 - §5.4.5). Each step is commented
 * with its Noise token. Intermediate secrets live on the stack or in the peer's handshake and are wiped on
 * every path. Context: owner thread. */
#include "nylon/wg.h"

#include <errno.h>
#include <string.h>

#include "wg/internal.h"

static const char CONSTRUCTION[] = "Noise_IKpsk2_25519_ChaChaPoly_BLAKE2s";
static const char IDENTIFIER[] = "WireGuard v1 zx2c4 Jason@zx2c4.com";

/* C_i = HASH(CONSTRUCTION); H_i = HASH(C_i || IDENTIFIER) || then with the responder's static public key. */
static void handshake_init(uint8_t ck[NY_HASH_LEN], uint8_t hash[NY_HASH_LEN], const uint8_t responder[NY_KEY_LEN])
{
	ny_crypto_hash(ck, CONSTRUCTION, sizeof(CONSTRUCTION) - 1, NULL, 0);
	ny_crypto_hash(hash, ck, NY_HASH_LEN, IDENTIFIER, sizeof(IDENTIFIER) - 1);
	ny_crypto_hash(hash, hash, NY_HASH_LEN, responder, NY_KEY_LEN);
}

static void mix_hash(uint8_t hash[NY_HASH_LEN], const void *data, size_t len)
{
	ny_crypto_hash(hash, hash, NY_HASH_LEN, data, len);
}

/* C = KDF1(C, e); H = HASH(H || e) */
static void mix_ephemeral(uint8_t ck[NY_HASH_LEN], uint8_t hash[NY_HASH_LEN], const uint8_t ephemeral[NY_KEY_LEN])
{
	ny_crypto_kdf(ck, NULL, NULL, ck, ephemeral, NY_KEY_LEN);
	mix_hash(hash, ephemeral, NY_KEY_LEN);
}

/* (C, k) = KDF2(C, DH(private, public)); false on a low-order point. */
static bool mix_dh(uint8_t ck[NY_HASH_LEN], uint8_t *key, const uint8_t priv[NY_KEY_LEN],
		   const uint8_t pub[NY_KEY_LEN])
{
	uint8_t shared[NY_KEY_LEN];
	bool ok = ny_crypto_x25519(shared, priv, pub);

	if (ok)
		ny_crypto_kdf(ck, key, NULL, ck, shared, sizeof(shared));
	ny_crypto_wipe(shared, sizeof(shared));
	return ok;
}

/* (C, k) = KDF2(C, precomputed DH(S_i, S_r)) */
static void mix_precomputed(uint8_t ck[NY_HASH_LEN], uint8_t key[NY_KEY_LEN], const uint8_t shared[NY_KEY_LEN])
{
	ny_crypto_kdf(ck, key, NULL, ck, shared, NY_KEY_LEN);
}

/* (C, t, k) = KDF3(C, Q); H = HASH(H || t) */
static void mix_psk(uint8_t ck[NY_HASH_LEN], uint8_t hash[NY_HASH_LEN], uint8_t key[NY_KEY_LEN],
		    const uint8_t psk[NY_KEY_LEN])
{
	uint8_t temp[NY_HASH_LEN];

	ny_crypto_kdf(ck, temp, key, ck, psk, NY_KEY_LEN);
	mix_hash(hash, temp, sizeof(temp));
	ny_crypto_wipe(temp, sizeof(temp));
}

/* msg = AEAD(k, 0, plain, H); H = HASH(H || msg) */
static void encrypt_and_hash(uint8_t *dst, const uint8_t *plain, size_t len, const uint8_t key[NY_KEY_LEN],
			     uint8_t hash[NY_HASH_LEN])
{
	ny_crypto_aead_seal(dst, plain, len, hash, NY_HASH_LEN, 0, key);
	mix_hash(hash, dst, len + NY_AEAD_TAG_LEN);
}

static bool decrypt_and_hash(uint8_t *plain, const uint8_t *src, size_t src_len, const uint8_t key[NY_KEY_LEN],
			     uint8_t hash[NY_HASH_LEN])
{
	if (!ny_crypto_aead_open(plain, src, src_len, hash, NY_HASH_LEN, 0, key))
		return false;
	mix_hash(hash, src, src_len);
	return true;
}

/* A fresh ephemeral private key from the device's random source (libsodium's generator unless a test injects
 * one), clamped as RFC 7748 §5 says. */
static void generate_ephemeral(struct ny_wg_device *dev, uint8_t priv[NY_KEY_LEN])
{
	dev->random(dev->source_ctx, priv, NY_KEY_LEN);
	priv[0] &= 248;
	priv[31] = (priv[31] & 127) | 64;
}

/* TAI64N: big-endian 2^62 + 10 + seconds (the label and offset WireGuard uses), then big-endian nanoseconds
 * rounded down to a power of two near 1/INITIATIONS_PER_SECOND so the timestamp does not leak fine timing. */
void ny_wg_tai64n(uint8_t out[NY_WG_TIMESTAMP_LEN], uint64_t wall_ns)
{
	uint64_t sec = UINT64_C(0x400000000000000a) + wall_ns / NY_WG_NSEC;
	uint32_t nsec = (uint32_t)(wall_ns % NY_WG_NSEC) & ~(uint32_t)((1u << 24) - 1);
	uint64_t be_sec = ny_cpu_to_be64(sec);
	uint32_t be_nsec = ny_cpu_to_be32(nsec);

	memcpy(out, &be_sec, 8);
	memcpy(out + 8, &be_nsec, 4);
}

/* A created message takes a fresh sender index: answers to it will find this handshake by it. */
static void announce(struct ny_wg_handshake *hs, struct ny_wg_peer *peer, uint32_t *sender_index,
		     enum ny_wg_handshake_state state)
{
	ny_wg_index_insert(peer->device, &hs->entry, peer, NY_WG_INDEX_HANDSHAKE);
	*sender_index = ny_cpu_to_le32(hs->entry.index);
	hs->state = state;
}

void ny_wg_handshake_zero(struct ny_wg_device *dev, struct ny_wg_handshake *hs)
{
	ny_wg_index_remove(dev, &hs->entry);
	ny_crypto_wipe(hs->ephemeral_private, sizeof(hs->ephemeral_private));
	ny_crypto_wipe(hs->remote_ephemeral, sizeof(hs->remote_ephemeral));
	ny_crypto_wipe(hs->hash, sizeof(hs->hash));
	ny_crypto_wipe(hs->chaining_key, sizeof(hs->chaining_key));
	hs->remote_index = 0;
	hs->state = NY_WG_HANDSHAKE_ZEROED;
}

int ny_wg_noise_create_initiation(struct ny_wg_peer *peer, uint64_t now, struct ny_wg_msg_initiation *msg)
{
	struct ny_wg_device *dev = peer->device;
	struct ny_wg_handshake *hs = &peer->handshake;
	uint8_t key[NY_KEY_LEN];
	uint8_t timestamp[NY_WG_TIMESTAMP_LEN];
	int ret = -EINVAL;

	if (!peer->static_static_ok)
		goto out;
	ny_wg_handshake_zero(dev, hs);
	memset(msg, 0, sizeof(*msg));
	msg->type = ny_cpu_to_le32(NY_WG_MSG_INITIATION);
	handshake_init(hs->chaining_key, hs->hash, peer->public_key);

	/* e */
	generate_ephemeral(dev, hs->ephemeral_private);
	ny_crypto_x25519_public(msg->unencrypted_ephemeral, hs->ephemeral_private);
	mix_ephemeral(hs->chaining_key, hs->hash, msg->unencrypted_ephemeral);

	/* es */
	if (!mix_dh(hs->chaining_key, key, hs->ephemeral_private, peer->public_key))
		goto out;

	/* s */
	encrypt_and_hash(msg->encrypted_static, dev->static_public, NY_KEY_LEN, key, hs->hash);

	/* ss */
	mix_precomputed(hs->chaining_key, key, peer->static_static);

	/* {t} */
	ny_wg_tai64n(timestamp, dev->wall_clock_ns(dev->source_ctx));
	encrypt_and_hash(msg->encrypted_timestamp, timestamp, sizeof(timestamp), key, hs->hash);

	announce(hs, peer, &msg->sender_index, NY_WG_HANDSHAKE_CREATED_INITIATION);
	ret = 0;
out:
	if (ret)
		ny_wg_handshake_zero(dev, hs);
	ny_crypto_wipe(key, sizeof(key));
	return ret;
}

/* A timestamp is newer when it is greater as a 12-byte big-endian number. */
static bool timestamp_is_newer(const uint8_t candidate[NY_WG_TIMESTAMP_LEN], const uint8_t latest[NY_WG_TIMESTAMP_LEN])
{
	return memcmp(candidate, latest, NY_WG_TIMESTAMP_LEN) > 0;
}

struct ny_wg_peer *ny_wg_noise_consume_initiation(struct ny_wg_device *dev, const struct ny_wg_msg_initiation *msg,
						  uint64_t now, enum ny_wg_drop *why)
{
	struct ny_wg_peer *peer = NULL;
	struct ny_wg_handshake *hs;
	uint8_t ck[NY_HASH_LEN], hash[NY_HASH_LEN], key[NY_KEY_LEN];
	uint8_t s[NY_KEY_LEN], t[NY_WG_TIMESTAMP_LEN];
	bool flood, replay;

	*why = NY_WG_DROP_HANDSHAKE;
	handshake_init(ck, hash, dev->static_public);

	/* e */
	mix_ephemeral(ck, hash, msg->unencrypted_ephemeral);

	/* es */
	if (!mix_dh(ck, key, dev->static_private, msg->unencrypted_ephemeral))
		goto out;

	/* s */
	if (!decrypt_and_hash(s, msg->encrypted_static, sizeof(msg->encrypted_static), key, hash))
		goto out;
	peer = ny_wg_device_find_peer(dev, s);
	if (!peer || !peer->static_static_ok)
		goto fail;

	/* ss */
	mix_precomputed(ck, key, peer->static_static);

	/* {t} */
	if (!decrypt_and_hash(t, msg->encrypted_timestamp, sizeof(msg->encrypted_timestamp), key, hash))
		goto fail;

	hs = &peer->handshake;
	replay = !timestamp_is_newer(t, hs->latest_timestamp);
	flood = hs->have_consumed_initiation &&
		now - hs->last_initiation_consumption < NY_WG_NSEC / NY_WG_INITIATIONS_PER_SECOND;
	if (replay || flood) {
		*why = replay ? NY_WG_DROP_REPLAYED_INITIATION : NY_WG_DROP_FLOOD;
		goto fail;
	}

	/* Accepted: this initiation replaces whatever handshake was in progress with the peer. */
	ny_wg_handshake_zero(dev, hs);
	memcpy(hs->remote_ephemeral, msg->unencrypted_ephemeral, NY_KEY_LEN);
	memcpy(hs->latest_timestamp, t, sizeof(t));
	memcpy(hs->hash, hash, sizeof(hash));
	memcpy(hs->chaining_key, ck, sizeof(ck));
	hs->remote_index = ny_le32_to_cpu(msg->sender_index);
	hs->last_initiation_consumption = now;
	hs->have_consumed_initiation = true;
	hs->state = NY_WG_HANDSHAKE_CONSUMED_INITIATION;
	*why = NY_WG_DROP_NONE;
	goto out;
fail:
	peer = NULL;
out:
	ny_crypto_wipe(ck, sizeof(ck));
	ny_crypto_wipe(hash, sizeof(hash));
	ny_crypto_wipe(key, sizeof(key));
	ny_crypto_wipe(s, sizeof(s));
	ny_crypto_wipe(t, sizeof(t));
	return peer;
}

int ny_wg_noise_create_response(struct ny_wg_peer *peer, uint64_t now, struct ny_wg_msg_response *msg)
{
	struct ny_wg_device *dev = peer->device;
	struct ny_wg_handshake *hs = &peer->handshake;
	uint8_t key[NY_KEY_LEN];
	int ret = -EINVAL;

	if (hs->state != NY_WG_HANDSHAKE_CONSUMED_INITIATION)
		goto out;
	memset(msg, 0, sizeof(*msg));
	msg->type = ny_cpu_to_le32(NY_WG_MSG_RESPONSE);
	msg->receiver_index = ny_cpu_to_le32(hs->remote_index);

	/* e */
	generate_ephemeral(dev, hs->ephemeral_private);
	ny_crypto_x25519_public(msg->unencrypted_ephemeral, hs->ephemeral_private);
	mix_ephemeral(hs->chaining_key, hs->hash, msg->unencrypted_ephemeral);

	/* ee */
	if (!mix_dh(hs->chaining_key, NULL, hs->ephemeral_private, hs->remote_ephemeral))
		goto out;

	/* se */
	if (!mix_dh(hs->chaining_key, NULL, hs->ephemeral_private, peer->public_key))
		goto out;

	/* psk */
	mix_psk(hs->chaining_key, hs->hash, key, peer->preshared_key);

	/* {} */
	encrypt_and_hash(msg->encrypted_nothing, NULL, 0, key, hs->hash);

	announce(hs, peer, &msg->sender_index, NY_WG_HANDSHAKE_CREATED_RESPONSE);
	ret = 0;
out:
	if (ret)
		ny_wg_handshake_zero(dev, hs);
	ny_crypto_wipe(key, sizeof(key));
	return ret;
}

struct ny_wg_peer *ny_wg_noise_consume_response(struct ny_wg_device *dev, const struct ny_wg_msg_response *msg,
						uint64_t now, enum ny_wg_drop *why)
{
	struct ny_wg_index_entry *entry;
	struct ny_wg_peer *peer = NULL;
	struct ny_wg_handshake *hs;
	uint8_t ck[NY_HASH_LEN], hash[NY_HASH_LEN], key[NY_KEY_LEN];
	uint8_t nothing[1];

	entry = ny_wg_index_lookup(dev, ny_le32_to_cpu(msg->receiver_index), NY_WG_INDEX_HANDSHAKE);
	if (!entry) {
		*why = NY_WG_DROP_UNKNOWN_INDEX;
		return NULL;
	}
	*why = NY_WG_DROP_HANDSHAKE;
	hs = &entry->peer->handshake;
	if (hs->state != NY_WG_HANDSHAKE_CREATED_INITIATION)
		return NULL;
	/* Work on copies: a forged response must not disturb the handshake in flight. */
	memcpy(ck, hs->chaining_key, sizeof(ck));
	memcpy(hash, hs->hash, sizeof(hash));

	/* e */
	mix_ephemeral(ck, hash, msg->unencrypted_ephemeral);

	/* ee */
	if (!mix_dh(ck, NULL, hs->ephemeral_private, msg->unencrypted_ephemeral))
		goto out;

	/* se */
	if (!mix_dh(ck, NULL, dev->static_private, msg->unencrypted_ephemeral))
		goto out;

	/* psk */
	mix_psk(ck, hash, key, entry->peer->preshared_key);

	/* {} */
	if (!decrypt_and_hash(nothing, msg->encrypted_nothing, sizeof(msg->encrypted_nothing), key, hash))
		goto out;

	memcpy(hs->remote_ephemeral, msg->unencrypted_ephemeral, NY_KEY_LEN);
	memcpy(hs->chaining_key, ck, sizeof(ck));
	memcpy(hs->hash, hash, sizeof(hash));
	hs->remote_index = ny_le32_to_cpu(msg->sender_index);
	hs->state = NY_WG_HANDSHAKE_CONSUMED_RESPONSE;
	peer = entry->peer;
	*why = NY_WG_DROP_NONE;
out:
	ny_crypto_wipe(ck, sizeof(ck));
	ny_crypto_wipe(hash, sizeof(hash));
	ny_crypto_wipe(key, sizeof(key));
	return peer;
}

int ny_wg_noise_begin_session(struct ny_wg_peer *peer, uint64_t now)
{
	struct ny_wg_device *dev = peer->device;
	struct ny_wg_handshake *hs = &peer->handshake;
	struct ny_wg_keypair *kp;
	bool initiator;

	if (hs->state != NY_WG_HANDSHAKE_CREATED_RESPONSE && hs->state != NY_WG_HANDSHAKE_CONSUMED_RESPONSE)
		return -EINVAL;
	initiator = hs->state == NY_WG_HANDSHAKE_CONSUMED_RESPONSE;
	kp = ny_wg_keypair_new(now, initiator, hs->remote_index);
	if (!kp)
		return -ENOMEM;

	/* (T_send, T_recv) = KDF2(C, e) for the initiator; the responder's are swapped. */
	if (initiator)
		ny_crypto_kdf(kp->send_key, kp->recv_key, NULL, hs->chaining_key, NULL, 0);
	else
		ny_crypto_kdf(kp->recv_key, kp->send_key, NULL, hs->chaining_key, NULL, 0);

	/* The keypair answers to the index the handshake announced. */
	ny_wg_index_replace(dev, &hs->entry, &kp->entry, NY_WG_INDEX_KEYPAIR);
	ny_wg_handshake_zero(dev, hs);
	ny_wg_keypairs_install(peer, kp);
	return 0;
}
