/* The eight-lane Poly1305 of the AEAD batches (src/crypto/poly8.c) against libsodium's Poly1305 over the same
 * AEAD input (message, zero pad to 16, le64(0) || le64(length)): every length up to 300 and some long ones, lanes
 * of mixed lengths, one group of eight lanes or two, part full, extreme keys and messages, and sums that land on either side of
 * p = 2^130 - 5 before the final reduction. */
#include <criterion/criterion.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/poly8.h"

#define MAX_LEN 65535

static uint8_t *aead_input; /* the reference's input, built per message */

static void setup(void)
{
	cr_assert_geq(sodium_init(), 0);
	if (!ny_poly8_usable())
		cr_skip_test("this CPU has no AVX-512 IFMA; the batches use OpenSSL's Poly1305");
	aead_input = malloc(MAX_LEN + 32);
	cr_assert_not_null(aead_input);
}

static void teardown(void)
{
	free(aead_input);
}

TestSuite(poly8, .init = setup, .fini = teardown);

/* libsodium's Poly1305 of the AEAD input of msg[0, len) under key. */
static void reference_tag(const uint8_t key[32], const uint8_t *msg, size_t len, uint8_t tag[16])
{
	size_t padded = (len + 15) / 16 * 16;
	uint64_t lens[2] = { 0, len };

	memcpy(aead_input, msg, len);
	memset(aead_input + len, 0, padded - len);
	memcpy(aead_input + padded, lens, sizeof(lens)); /* little-endian host */
	crypto_onetimeauth_poly1305(tag, aead_input, padded + 16, key);
}

/* Runs one group of n and checks every tag against the reference. */
static void check_group(uint8_t keys[][32], uint8_t *const msgs[], const size_t lens[], unsigned n, const char *what)
{
	const uint8_t *k[16], *m[16];
	uint8_t tags[16][16], *t[16], want[16];

	for (unsigned l = 0; l < n; l++) {
		k[l] = keys[l];
		m[l] = msgs[l];
		t[l] = tags[l];
	}
	ny_poly8_aead_tags(k, m, lens, t, n);
	for (unsigned l = 0; l < n; l++) {
		reference_tag(keys[l], msgs[l], lens[l], want);
		cr_assert_eq(memcmp(tags[l], want, 16), 0, "%s: lane %u of %u (%zu bytes) has the wrong tag", what, l, n,
			     lens[l]);
	}
}

Test(poly8, every_length_to_300_in_full_groups_of_equal_length)
{
	uint8_t keys[16][32], *msgs[16];
	size_t lens[16];

	for (int l = 0; l < 16; l++)
		cr_assert_not_null(msgs[l] = malloc(300));
	for (size_t len = 0; len <= 300; len++) {
		for (int l = 0; l < 16; l++) {
			randombytes_buf(keys[l], 32);
			randombytes_buf(msgs[l], len);
			lens[l] = len;
		}
		check_group(keys, msgs, lens, 16, "equal lengths");
	}
	for (int l = 0; l < 16; l++)
		free(msgs[l]);
}

Test(poly8, lanes_of_mixed_lengths_and_groups_of_one_to_eight)
{
	static const size_t pool[] = { 0, 1, 15, 16, 17, 31, 32, 33, 48, 63, 64, 65, 100, 1419, 1420, 1421, 1500, 4096,
				       9000, MAX_LEN };
	uint8_t keys[16][32], *msgs[16];
	size_t lens[16];

	for (int l = 0; l < 16; l++)
		cr_assert_not_null(msgs[l] = malloc(MAX_LEN));
	for (int round = 0; round < 200; round++) {
		unsigned n = 1 + (unsigned)(round % 16);

		for (unsigned l = 0; l < n; l++) {
			lens[l] = pool[randombytes_uniform(sizeof(pool) / sizeof(pool[0]))];
			if (round % 3 == 0) /* mostly near one length, as a batch's sort makes them */
				lens[l] = 1400 + randombytes_uniform(30);
			randombytes_buf(keys[l], 32);
			randombytes_buf(msgs[l], lens[l]);
		}
		check_group(keys, msgs, lens, n, "mixed lengths");
	}
	for (int l = 0; l < 16; l++)
		free(msgs[l]);
}

Test(poly8, extreme_keys_and_messages)
{
	uint8_t keys[16][32], *msgs[16];
	size_t lens[16];

	for (int l = 0; l < 16; l++)
		cr_assert_not_null(msgs[l] = malloc(2048));
	for (int variant = 0; variant < 4; variant++) {
		for (int l = 0; l < 16; l++) {
			memset(keys[l], variant & 1 ? 0xff : 0x00, 32); /* r clamps to its largest value, or 0 */
			if (l % 2)
				randombytes_buf(keys[l] + 16, 16); /* any s */
			memset(msgs[l], variant & 2 ? 0xff : 0x00, 2048); /* largest blocks, or zero ones */
			lens[l] = 2048 - (size_t)l * 17;
		}
		check_group(keys, msgs, lens, 16, "extreme values");
	}
	for (int l = 0; l < 16; l++)
		free(msgs[l]);
}

/* With r = 1, h is the plain sum of the blocks mod p. A 32-byte message c1 || c2 gives the blocks c1 + 2^128,
 * c2 + 2^128 and the lengths block 32 * 2^64 + 2^128; with c2 = 0 and c1 = 2^128 - 2^69 - 5 + d the sum is
 * 2^130 - 5 + d = p + d: for d 0..4 it is at least p but below 2^130 (only the final subtraction of p reduces it),
 * from 5 on it reaches 2^130. The tag is then (d + s) mod 2^128. */
Test(poly8, sums_on_either_side_of_p_reduce_correctly)
{
	uint8_t keys[16][32], *msgs[16], expect[16];
	size_t lens[16];

	for (int l = 0; l < 16; l++)
		cr_assert_not_null(msgs[l] = malloc(32));
	for (int d = 0; d < 16; d++) {
		unsigned __int128 c1 = ~(unsigned __int128)0 - ((unsigned __int128)1 << 69) - 4 + (unsigned)(d % 8);

		memset(keys[d], 0, 32);
		keys[d][0] = 1; /* r = 1 */
		memset(keys[d] + 16, d % 2 ? 0xff : 0x00, 16); /* s = 2^128 - 1 wraps the tag around */
		memcpy(msgs[d], &c1, 16);
		memset(msgs[d] + 16, 0, 16);
		lens[d] = 32;
	}
	check_group(keys, msgs, lens, 16, "sums near p");
	for (int d = 0; d < 16; d++) { /* the reference agrees with the arithmetic above */
		unsigned __int128 want = (unsigned __int128)(unsigned)(d % 8) + (d % 2 ? ~(unsigned __int128)0 : 0);

		reference_tag(keys[d], msgs[d], 32, expect);
		cr_assert_eq(memcmp(expect, &want, 16), 0, "d = %d: the construction does not give p + d", d);
	}
	for (int l = 0; l < 16; l++)
		free(msgs[l]);
}
