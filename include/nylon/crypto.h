/* Cryptographic primitives for WireGuard, named after the whitepaper's functions (§5.4).
 *
 * HASH, MAC, HMAC and KDF are BLAKE2s (libb2); DH is X25519 and AEAD / XAEAD are ChaCha20-Poly1305 and
 * XChaCha20-Poly1305 (libsodium). All functions are thread-safe and allocate nothing. Dependency headers stay in
 * src/crypto/. Call ny_crypto_init() once before anything else.
 */
#ifndef NYLON_CRYPTO_H
#define NYLON_CRYPTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define NY_KEY_LEN 32
#define NY_HASH_LEN 32
#define NY_MAC_LEN 16
#define NY_AEAD_TAG_LEN 16
#define NY_XAEAD_NONCE_LEN 24
#define NY_KEY_BASE64_LEN 44 /* without the terminating NUL */

/* Initialises libsodium. Returns 0 or -EIO. Safe to call more than once. */
int ny_crypto_init(void);

/* HASH(input): BLAKE2s-256 of the concatenation of up to two buffers (b may be NULL). */
void ny_crypto_hash(uint8_t out[NY_HASH_LEN], const void *a, size_t a_len, const void *b, size_t b_len);
/* MAC(key, input): keyed BLAKE2s with a 128-bit output. key_len is at most 32 (BLAKE2s' key size). */
void ny_crypto_mac(uint8_t out[NY_MAC_LEN], const uint8_t *key, size_t key_len, const void *in, size_t len);
/* HMAC(key, input) over BLAKE2s-256 (RFC 2104, block size 64). */
void ny_crypto_hmac(uint8_t out[NY_HASH_LEN], const uint8_t *key, size_t key_len, const void *in, size_t len);
/* KDF_n(key, input) for n = 1..3: t1 is required, t2 and t3 may be NULL (whitepaper §5.4). */
void ny_crypto_kdf(uint8_t t1[NY_HASH_LEN], uint8_t *t2, uint8_t *t3, const uint8_t ck[NY_HASH_LEN],
                   const void *in, size_t len);

/* A fresh clamped Curve25519 private key, as `wg genkey` makes. */
void ny_crypto_x25519_generate(uint8_t priv[NY_KEY_LEN]);
/* DH_PUBKEY(private). */
void ny_crypto_x25519_public(uint8_t pub[NY_KEY_LEN], const uint8_t priv[NY_KEY_LEN]);
/* DH(private, public). False when the result is all zero (a low-order point): the caller must abort. */
bool ny_crypto_x25519(uint8_t out[NY_KEY_LEN], const uint8_t priv[NY_KEY_LEN], const uint8_t pub[NY_KEY_LEN]);

/* AEAD(key, counter, plain, ad) for handshake messages: writes len + 16 bytes to dst (may equal src). */
void ny_crypto_aead_seal(uint8_t *dst, const uint8_t *src, size_t len, const uint8_t *ad, size_t ad_len,
                         uint64_t counter, const uint8_t key[NY_KEY_LEN]);
/* Opens src_len bytes (ciphertext + tag) into dst (src_len - 16 bytes). False when the tag does not verify. */
bool ny_crypto_aead_open(uint8_t *dst, const uint8_t *src, size_t src_len, const uint8_t *ad, size_t ad_len,
                         uint64_t counter, const uint8_t key[NY_KEY_LEN]);
/* XAEAD with a 24-byte random nonce, for cookie replies. */
void ny_crypto_xaead_seal(uint8_t *dst, const uint8_t *src, size_t len, const uint8_t *ad, size_t ad_len,
                          const uint8_t nonce[NY_XAEAD_NONCE_LEN], const uint8_t key[NY_KEY_LEN]);
bool ny_crypto_xaead_open(uint8_t *dst, const uint8_t *src, size_t src_len, const uint8_t *ad, size_t ad_len,
                          const uint8_t nonce[NY_XAEAD_NONCE_LEN], const uint8_t key[NY_KEY_LEN]);

void ny_crypto_random(void *buf, size_t len);
/* Uniform in [0, bound). */
uint32_t ny_crypto_random_uniform(uint32_t bound);
/* Wipes memory in a way the compiler cannot elide. */
void ny_crypto_wipe(void *p, size_t len);
/* Constant-time comparisons. */
bool ny_crypto_equal(const void *a, const void *b, size_t len);
bool ny_crypto_is_zero(const void *p, size_t len);

/* Keys in WireGuard's text form: standard base64 of 32 bytes, 44 characters with one '=' of padding.
 * Decoding ignores nothing: surrounding whitespace must be trimmed by the caller. Returns 0 or -EINVAL. */
int ny_key_from_base64(uint8_t key[NY_KEY_LEN], const char *text, size_t len);
void ny_key_to_base64(char out[NY_KEY_BASE64_LEN + 1], const uint8_t key[NY_KEY_LEN]);

#endif
