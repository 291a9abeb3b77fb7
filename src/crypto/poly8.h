/* Poly1305 (RFC 8439 §2.5) of up to sixteen messages at once, one message per 64-bit lane of AVX-512 registers,
 * for the transport AEAD's batches (aead.c) on CPUs with AVX-512 IFMA (52-bit multiply-add). OpenSSL's vector
 * Poly1305 runs one message eight blocks at a time, which needs the key's powers r^1..r^8 computed first: for
 * packet-sized messages, each under its own one-time key, that set-up is a large part of the work. Here each lane
 * runs the Horner rule h = (h + m) * r on its own message, two blocks per step with r^2 (one multiply of set-up),
 * and eight messages share every multiply. Internal to src/crypto. */
#ifndef NYLON_CRYPTO_POLY8_H
#define NYLON_CRYPTO_POLY8_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Whether this CPU runs ny_poly8_aead_tags (AVX-512F and AVX-512 IFMA). */
bool ny_poly8_usable(void);

/* For each of n (1..16) messages: the tag of the ChaCha20-Poly1305 AEAD without associated data (RFC 8439 §2.8),
 * i.e. Poly1305 under the one-time key keys[i] (32 bytes: r, then s) over msgs[i][0, lens[i]) padded with zeros
 * to a multiple of 16, then le64(0) || le64(lens[i]); written to tags[i] (16 bytes). Up to eight messages fill one
 * group of lanes, more two groups, which interleave. The lanes run in step, so messages of about the same length
 * go best together; each extra block of the longest costs as much as a block of all the group's lanes. */
void ny_poly8_aead_tags(const uint8_t *const keys[], const uint8_t *const msgs[], const size_t lens[],
			uint8_t *const tags[], unsigned n);

#endif
