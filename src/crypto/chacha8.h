/* ChaCha20 (RFC 8439 §2.3-2.4) on many blocks at once, one block per 32-bit lane, for the transport AEAD (aead.c)
 * on AVX-512 CPUs. 8 consecutive blocks of one message in 256-bit registers take what OpenSSL's AVX-512 code does
 * badly: the last 1-8 blocks of a message (its 16-block pass computes 16 whatever the length) and messages of at
 * most 8 blocks (a slow path of its own). 16 or 32 blocks with a counter and nonce each in 512-bit registers
 * let the blocks of a batch of messages share passes. (On this machine's CPU a 512-bit pass costs more than a
 * 256-bit one, so a single message's tail takes the 8-lane code.) Internal to src/crypto. */
#ifndef NYLON_CRYPTO_CHACHA8_H
#define NYLON_CRYPTO_CHACHA8_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Whether this CPU runs ny_chacha8_xor (AVX2, AVX-512F and AVX-512VL). */
bool ny_chacha8_usable(void);

/* XORs the keystream of blocks counter .. counter + nblocks - 1 (nblocks 1..8) under key and the 96-bit nonce into
 * buf[0, 64 * nblocks). */
void ny_chacha8_xor(const uint8_t key[32], uint32_t counter, const uint8_t nonce[12], uint8_t *buf,
		    unsigned nblocks);

/* One block in each of up to 32 lanes of AVX-512 registers, each lane with its own block counter and nonce (blocks
 * of different messages under one key share a pass): XORs lane l's keystream into out[l][0, 64), l < nlanes
 * (1..32). Up to 16 lanes take one state of 16 registers; more take two states interleaved, which fill the vector
 * units that one state's chain of dependent adds, xors and rotates leaves idle (on this machine's CPU 32 blocks
 * cost about 1.2 times 16). */
#define NY_CHACHA_LANES 32
struct ny_chacha_lanes {
	uint32_t counter[NY_CHACHA_LANES];
	uint32_t nonce[3][NY_CHACHA_LANES]; /* word w of lane l's nonce, little-endian */
	uint8_t *out[NY_CHACHA_LANES];
};
void ny_chacha32_xor(const uint8_t key[32], const struct ny_chacha_lanes *lanes, unsigned nlanes);

#endif
