/* The transport-data AEAD: ChaCha20-Poly1305 with a 96-bit nonce of 32 zero bits and the little-endian 64-bit
 * counter, no associated data (WireGuard whitepaper §5.4.6). Two providers compute identical output:
 * OpenSSL's libcrypto (ChaCha20 and Poly1305 called through its default provider's dispatch tables, with our own
 * vector code where it does better, see src/crypto/aead.c; the default) and libsodium.
 *
 * Concurrency: a context belongs to one thread. It caches the key set by ny_aead_set_key() so a batch of packets
 * of one keypair pays the key set-up once. It never holds a secret after ny_aead_ctx_free().
 */
#ifndef NYLON_AEAD_H
#define NYLON_AEAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum ny_aead_provider {
	NY_AEAD_OPENSSL,
	NY_AEAD_SODIUM,
};
#define NY_AEAD_DEFAULT NY_AEAD_OPENSSL

struct ny_aead_ctx;

/* NULL when the provider cannot be set up (out of memory, OpenSSL without ChaCha20-Poly1305). */
struct ny_aead_ctx *ny_aead_ctx_new(enum ny_aead_provider provider);
void ny_aead_ctx_free(struct ny_aead_ctx *ctx);
enum ny_aead_provider ny_aead_ctx_provider(const struct ny_aead_ctx *ctx);
const char *ny_aead_provider_name(enum ny_aead_provider provider);
/* Parses "openssl" / "sodium". Returns 0 or -EINVAL. */
int ny_aead_provider_parse(const char *name, enum ny_aead_provider *out);

void ny_aead_set_key(struct ny_aead_ctx *ctx, const uint8_t key[32]);
/* The longest message the providers take: the plaintext of a 64 KiB datagram. */
#define NY_AEAD_MAX_LEN 65536

/* Encrypts len (at most NY_AEAD_MAX_LEN) bytes of buf in place and writes the 16-byte tag at buf + len.
 * Returns 0 or -EIO. */
int ny_aead_seal(struct ny_aead_ctx *ctx, uint64_t counter, uint8_t *buf, size_t len);
/* Decrypts len - 16 bytes of buf in place, checking the tag at the end. False when it does not verify; buf then
 * holds the ciphertext (OpenSSL) or zeros (libsodium) and must not be used. */
bool ny_aead_open(struct ny_aead_ctx *ctx, uint64_t counter, uint8_t *buf, size_t len);

/* The same for n messages under the current key, each with its own counter: as n calls of ny_aead_seal /
 * ny_aead_open, but faster where the ChaCha20 blocks of several messages can share vector passes and Poly1305 runs
 * several messages at once (OpenSSL provider on AVX-512, Poly1305 with IFMA); the messages are worked on in place.
 * seal returns 0 or -EIO (then some messages may be sealed and others not); open sets ok[i] for each message, and a
 * message that fails is never decrypted: it holds what ny_aead_open() leaves (the ciphertext with OpenSSL, zeros
 * with libsodium). */
int ny_aead_seal_many(struct ny_aead_ctx *ctx, const uint64_t counters[], uint8_t *const bufs[], const size_t lens[],
		      size_t n);
void ny_aead_open_many(struct ny_aead_ctx *ctx, const uint64_t counters[], uint8_t *const bufs[], const size_t lens[],
		       bool ok[], size_t n);

#endif
