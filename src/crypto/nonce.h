/* The 96-bit ChaCha20-Poly1305 nonce WireGuard builds from a 64-bit counter: 32 zero bits, then the counter in
 * little-endian (whitepaper §5.4). Private to src/crypto/. */
#ifndef NYLON_CRYPTO_NONCE_H
#define NYLON_CRYPTO_NONCE_H

#include <stdint.h>
#include <string.h>

static inline void ny_crypto_counter_nonce(uint8_t nonce[12], uint64_t counter)
{
	memset(nonce, 0, 4);
	for (int i = 0; i < 8; i++)
		nonce[4 + i] = (uint8_t)(counter >> (8 * i));
}

#endif
