/* The many-lane ChaCha20 of the AEAD batches (src/crypto/chacha8.c) against libsodium's IETF ChaCha20: every lane
 * count from 1 to 32 (one 16-lane state, or two interleaved in assembly), lanes with counters and nonces of their
 * own, extreme counters and nonces, outputs at every alignment, and nothing written but the lanes' 64 bytes. */
#include <criterion/criterion.h>
#include <sodium.h>
#include <string.h>

#include "crypto/chacha8.h"

static void setup(void)
{
	cr_assert_geq(sodium_init(), 0);
	if (!ny_chacha8_usable())
		cr_skip_test("this CPU has no AVX-512; the batches use OpenSSL's ChaCha20");
}

TestSuite(chacha, .init = setup);

#define GUARD 16 /* bytes on either side of each lane's block that must stay untouched */

/* Runs nlanes lanes, lane l writing into its own slot at offset shift from a 64-byte boundary, and checks each
 * against libsodium's keystream XORed into the same data. */
static void check_lanes(const uint8_t key[32], const uint32_t counter[], const uint8_t nonce[][12], unsigned nlanes,
			unsigned shift)
{
	static uint8_t slots[NY_CHACHA_LANES][GUARD + 64 + 64 + GUARD] __attribute__((aligned(64)));
	uint8_t before[sizeof(slots)], want[64];
	struct ny_chacha_lanes lanes;

	randombytes_buf(slots, sizeof(slots));
	memcpy(before, slots, sizeof(slots));
	memset(&lanes, 0xa5, sizeof(lanes)); /* lanes past nlanes hold junk; the code must not use them */
	for (unsigned l = 0; l < nlanes; l++) {
		lanes.counter[l] = counter[l];
		for (int w = 0; w < 3; w++)
			lanes.nonce[w][l] = (uint32_t)nonce[l][4 * w] | (uint32_t)nonce[l][4 * w + 1] << 8 |
					    (uint32_t)nonce[l][4 * w + 2] << 16 | (uint32_t)nonce[l][4 * w + 3] << 24;
		lanes.out[l] = slots[l] + GUARD + shift;
	}
	ny_chacha32_xor(key, &lanes, nlanes);
	for (unsigned l = 0; l < NY_CHACHA_LANES; l++) {
		const uint8_t *old = before + (size_t)l * sizeof(slots[0]);

		if (l >= nlanes) {
			cr_assert_arr_eq(slots[l], old, sizeof(slots[l]), "lane %u of %u was written", l, nlanes);
			continue;
		}
		crypto_stream_chacha20_ietf_xor_ic(want, old + GUARD + shift, 64, nonce[l], counter[l], key);
		cr_assert_arr_eq(slots[l] + GUARD + shift, want, 64, "lane %u of %u, counter %u, shift %u", l, nlanes,
				 counter[l], shift);
		cr_assert_arr_eq(slots[l], old, GUARD + shift, "lane %u of %u wrote before its block", l, nlanes);
		cr_assert_arr_eq(slots[l] + GUARD + shift + 64, old + GUARD + shift + 64, sizeof(slots[l]) - GUARD - shift - 64,
				 "lane %u of %u wrote past its block", l, nlanes);
	}
}

Test(chacha, every_lane_count_with_random_counters_and_nonces)
{
	uint8_t key[32], nonce[NY_CHACHA_LANES][12];
	uint32_t counter[NY_CHACHA_LANES];

	for (unsigned round = 0; round < 8; round++)
		for (unsigned n = 1; n <= NY_CHACHA_LANES; n++) {
			randombytes_buf(key, sizeof(key));
			randombytes_buf(nonce, sizeof(nonce));
			for (unsigned l = 0; l < n; l++)
				counter[l] = randombytes_uniform(2048); /* a message's blocks are 0..1024 */
			check_lanes(key, counter, (const uint8_t(*)[12])nonce, n, (n + round) % 64);
		}
}

Test(chacha, extreme_counters_nonces_and_keys)
{
	static const uint32_t counters[] = { 0, 1, 0x7fffffff, 0x80000000, 0xfffffffe, 0xffffffff };
	uint8_t key[32], nonce[NY_CHACHA_LANES][12];
	uint32_t counter[NY_CHACHA_LANES];

	for (int fill = 0; fill < 2; fill++) {
		memset(key, fill ? 0xff : 0, sizeof(key));
		for (unsigned l = 0; l < NY_CHACHA_LANES; l++) {
			memset(nonce[l], (l & 1) ? 0xff : 0, sizeof(nonce[l]));
			nonce[l][l % 12] ^= 0x80;
			counter[l] = counters[l % (sizeof(counters) / sizeof(counters[0]))];
		}
		for (unsigned n = 15; n <= 18; n++)
			check_lanes(key, counter, (const uint8_t(*)[12])nonce, n, 0);
		check_lanes(key, counter, (const uint8_t(*)[12])nonce, NY_CHACHA_LANES, 1);
	}
}

/* Lanes may share a message: consecutive blocks of one nonce in consecutive lanes give the message's keystream. */
Test(chacha, consecutive_blocks_of_one_message)
{
	uint8_t key[32], nonce[12], msg[64 * NY_CHACHA_LANES], want[sizeof(msg)];
	struct ny_chacha_lanes lanes;

	randombytes_buf(key, sizeof(key));
	randombytes_buf(nonce, sizeof(nonce));
	randombytes_buf(msg, sizeof(msg));
	crypto_stream_chacha20_ietf_xor_ic(want, msg, sizeof(msg), nonce, 1, key);
	for (unsigned l = 0; l < NY_CHACHA_LANES; l++) {
		lanes.counter[l] = 1 + l;
		for (int w = 0; w < 3; w++)
			memcpy(&lanes.nonce[w][l], nonce + 4 * w, 4); /* little-endian host */
		lanes.out[l] = msg + 64 * l;
	}
	ny_chacha32_xor(key, &lanes, NY_CHACHA_LANES);
	cr_assert_arr_eq(msg, want, sizeof(msg));
}
