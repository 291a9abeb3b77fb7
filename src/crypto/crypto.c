/* HASH / MAC / HMAC / KDF on BLAKE2s (libb2), DH on X25519 and AEAD / XAEAD (libsodium): the primitives of the
 * WireGuard whitepaper §5.4, named as there. */
#include "nylon/crypto.h"

#include <blake2.h>
#include <errno.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/nonce.h"

#define BLAKE2S_BLOCK_LEN 64

int ny_crypto_init(void)
{
	return sodium_init() < 0 ? -EIO : 0;
}

void ny_crypto_hash(uint8_t out[NY_HASH_LEN], const void *a, size_t a_len, const void *b, size_t b_len)
{
	blake2s_state s;

	blake2s_init(&s, NY_HASH_LEN);
	blake2s_update(&s, a, a_len);
	if (b)
		blake2s_update(&s, b, b_len);
	blake2s_final(&s, out, NY_HASH_LEN);
	sodium_memzero(&s, sizeof(s));
}

void ny_crypto_mac(uint8_t out[NY_MAC_LEN], const uint8_t *key, size_t key_len, const void *in, size_t len)
{
	/* Every caller passes a 32- or 16-byte key; anything longer is a programming error, not input. */
	if (blake2s(out, in, key, NY_MAC_LEN, len, key_len) != 0)
		abort();
}

void ny_crypto_hmac(uint8_t out[NY_HASH_LEN], const uint8_t *key, size_t key_len, const void *in, size_t len)
{
	uint8_t block[BLAKE2S_BLOCK_LEN] = { 0 };
	uint8_t inner[NY_HASH_LEN];
	blake2s_state s;

	if (key_len > BLAKE2S_BLOCK_LEN)
		blake2s(block, key, NULL, NY_HASH_LEN, key_len, 0);
	else
		memcpy(block, key, key_len);

	for (size_t i = 0; i < sizeof(block); i++)
		block[i] ^= 0x36;
	blake2s_init(&s, NY_HASH_LEN);
	blake2s_update(&s, block, sizeof(block));
	blake2s_update(&s, in, len);
	blake2s_final(&s, inner, sizeof(inner));

	for (size_t i = 0; i < sizeof(block); i++)
		block[i] ^= 0x36 ^ 0x5c;
	blake2s_init(&s, NY_HASH_LEN);
	blake2s_update(&s, block, sizeof(block));
	blake2s_update(&s, inner, sizeof(inner));
	blake2s_final(&s, out, NY_HASH_LEN);

	sodium_memzero(block, sizeof(block));
	sodium_memzero(inner, sizeof(inner));
	sodium_memzero(&s, sizeof(s));
}

/* KDF_n(key, input): t0 = HMAC(key, input); t_i = HMAC(t0, t_{i-1} || i) (whitepaper §5.4, HKDF). */
void ny_crypto_kdf(uint8_t t1[NY_HASH_LEN], uint8_t *t2, uint8_t *t3, const uint8_t ck[NY_HASH_LEN],
		   const void *in, size_t len)
{
	uint8_t t0[NY_HASH_LEN];
	uint8_t buf[NY_HASH_LEN + 1];

	ny_crypto_hmac(t0, ck, NY_HASH_LEN, in, len);

	buf[0] = 1;
	ny_crypto_hmac(buf, t0, sizeof(t0), buf, 1);
	memcpy(t1, buf, NY_HASH_LEN);
	if (t2) {
		buf[NY_HASH_LEN] = 2;
		ny_crypto_hmac(buf, t0, sizeof(t0), buf, NY_HASH_LEN + 1);
		memcpy(t2, buf, NY_HASH_LEN);
	}
	if (t3) {
		buf[NY_HASH_LEN] = 3;
		ny_crypto_hmac(buf, t0, sizeof(t0), buf, NY_HASH_LEN + 1);
		memcpy(t3, buf, NY_HASH_LEN);
	}
	sodium_memzero(t0, sizeof(t0));
	sodium_memzero(buf, sizeof(buf));
}

void ny_crypto_x25519_generate(uint8_t priv[NY_KEY_LEN])
{
	randombytes_buf(priv, NY_KEY_LEN);
	/* Clamping as `wg genkey` does (RFC 7748 §5). */
	priv[0] &= 248;
	priv[31] = (priv[31] & 127) | 64;
}

void ny_crypto_x25519_public(uint8_t pub[NY_KEY_LEN], const uint8_t priv[NY_KEY_LEN])
{
	crypto_scalarmult_base(pub, priv);
}

bool ny_crypto_x25519(uint8_t out[NY_KEY_LEN], const uint8_t priv[NY_KEY_LEN], const uint8_t pub[NY_KEY_LEN])
{
	/* libsodium fails on an all-zero shared secret, which a low-order public point produces. */
	if (crypto_scalarmult(out, priv, pub) != 0) {
		sodium_memzero(out, NY_KEY_LEN);
		return false;
	}
	return true;
}

void ny_crypto_aead_seal(uint8_t *dst, const uint8_t *src, size_t len, const uint8_t *ad, size_t ad_len,
			 uint64_t counter, const uint8_t key[NY_KEY_LEN])
{
	uint8_t nonce[12];

	ny_crypto_counter_nonce(nonce, counter);
	crypto_aead_chacha20poly1305_ietf_encrypt(dst, NULL, src, len, ad, ad_len, NULL, nonce, key);
}

bool ny_crypto_aead_open(uint8_t *dst, const uint8_t *src, size_t src_len, const uint8_t *ad, size_t ad_len,
			 uint64_t counter, const uint8_t key[NY_KEY_LEN])
{
	uint8_t nonce[12];

	if (src_len < NY_AEAD_TAG_LEN)
		return false;
	ny_crypto_counter_nonce(nonce, counter);
	return crypto_aead_chacha20poly1305_ietf_decrypt(dst, NULL, NULL, src, src_len, ad, ad_len, nonce, key) == 0;
}

void ny_crypto_xaead_seal(uint8_t *dst, const uint8_t *src, size_t len, const uint8_t *ad, size_t ad_len,
			  const uint8_t nonce[NY_XAEAD_NONCE_LEN], const uint8_t key[NY_KEY_LEN])
{
	crypto_aead_xchacha20poly1305_ietf_encrypt(dst, NULL, src, len, ad, ad_len, NULL, nonce, key);
}

bool ny_crypto_xaead_open(uint8_t *dst, const uint8_t *src, size_t src_len, const uint8_t *ad, size_t ad_len,
			  const uint8_t nonce[NY_XAEAD_NONCE_LEN], const uint8_t key[NY_KEY_LEN])
{
	if (src_len < NY_AEAD_TAG_LEN)
		return false;
	return crypto_aead_xchacha20poly1305_ietf_decrypt(dst, NULL, NULL, src, src_len, ad, ad_len, nonce,
							  key) == 0;
}

void ny_crypto_random(void *buf, size_t len)
{
	randombytes_buf(buf, len);
}

uint32_t ny_crypto_random_uniform(uint32_t bound)
{
	return randombytes_uniform(bound);
}

void ny_crypto_wipe(void *p, size_t len)
{
	sodium_memzero(p, len);
}

bool ny_crypto_equal(const void *a, const void *b, size_t len)
{
	return sodium_memcmp(a, b, len) == 0;
}

bool ny_crypto_is_zero(const void *p, size_t len)
{
	return sodium_is_zero(p, len) == 1;
}

int ny_key_from_base64(uint8_t key[NY_KEY_LEN], const char *text, size_t len)
{
	size_t bin_len = 0;
	const char *end = NULL;

	/* Exactly 44 characters with one '=' of padding, as `wg` writes and reads them. */
	if (len != NY_KEY_BASE64_LEN || text[NY_KEY_BASE64_LEN - 1] != '=')
		return -EINVAL;
	if (sodium_base642bin(key, NY_KEY_LEN, text, len, NULL, &bin_len, &end, sodium_base64_VARIANT_ORIGINAL) != 0 ||
	    bin_len != NY_KEY_LEN || end != text + len) {
		sodium_memzero(key, NY_KEY_LEN);
		return -EINVAL;
	}
	return 0;
}

void ny_key_to_base64(char out[NY_KEY_BASE64_LEN + 1], const uint8_t key[NY_KEY_LEN])
{
	sodium_bin2base64(out, NY_KEY_BASE64_LEN + 1, key, NY_KEY_LEN, sodium_base64_VARIANT_ORIGINAL);
}
