/* Eight or sixteen ChaCha20 blocks in parallel (see chacha8.h). State word i of all the blocks sits in one 256- or
 * 512-bit register, block b in lane b, so the 20 rounds are vector adds, xors and rotates with no shuffles; a
 * transpose then gives each block's 64 bytes. */
#include "crypto/chacha8.h"

#include <string.h>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>

#define TARGET __attribute__((target("avx2,avx512f,avx512vl")))

bool ny_chacha8_usable(void)
{
	__builtin_cpu_init();
	return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("avx512f") &&
	       __builtin_cpu_supports("avx512vl");
}

static const uint32_t sigma[4] = { 0x61707865, 0x3320646e, 0x79622d32, 0x6b206574 }; /* "expand 32-byte k" */

static inline uint32_t le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* One quarter round on whole registers of lanes: P is the intrinsics' prefix (_mm256 or _mm512) and S their
 * suffix for a whole register (si256 or si512). */
#define QUARTER(P, S, a, b, c, d)                                                                                    \
	do {                                                                                                         \
		x[a] = P##_add_epi32(x[a], x[b]);                                                                    \
		x[d] = P##_rol_epi32(P##_xor_##S(x[d], x[a]), 16);                                                   \
		x[c] = P##_add_epi32(x[c], x[d]);                                                                    \
		x[b] = P##_rol_epi32(P##_xor_##S(x[b], x[c]), 12);                                                   \
		x[a] = P##_add_epi32(x[a], x[b]);                                                                    \
		x[d] = P##_rol_epi32(P##_xor_##S(x[d], x[a]), 8);                                                    \
		x[c] = P##_add_epi32(x[c], x[d]);                                                                    \
		x[b] = P##_rol_epi32(P##_xor_##S(x[b], x[c]), 7);                                                    \
	} while (0)

/* The 20 rounds: 10 double rounds of a column and a diagonal round (RFC 8439 §2.3). */
#define ROUNDS(P, S)                                                                                                 \
	for (int r = 0; r < 10; r++) {                                                                               \
		QUARTER(P, S, 0, 4, 8, 12);                                                                          \
		QUARTER(P, S, 1, 5, 9, 13);                                                                          \
		QUARTER(P, S, 2, 6, 10, 14);                                                                         \
		QUARTER(P, S, 3, 7, 11, 15);                                                                         \
		QUARTER(P, S, 0, 5, 10, 15);                                                                         \
		QUARTER(P, S, 1, 6, 11, 12);                                                                         \
		QUARTER(P, S, 2, 7, 8, 13);                                                                          \
		QUARTER(P, S, 3, 4, 9, 14);                                                                          \
	}

/* in[0..7] hold word w of blocks 0..7 (w = the array index); out[b] gets words 0..7 of block b. */
TARGET static inline void transpose8(const __m256i in[8], __m256i out[8])
{
	__m256i t[8], u[8];

	for (int i = 0; i < 8; i += 2) {
		t[i] = _mm256_unpacklo_epi32(in[i], in[i + 1]);     /* w_i, w_i+1 of blocks 0, 1 | 4, 5 */
		t[i + 1] = _mm256_unpackhi_epi32(in[i], in[i + 1]); /* blocks 2, 3 | 6, 7 */
	}
	for (int i = 0; i < 8; i += 4) {
		u[i] = _mm256_unpacklo_epi64(t[i], t[i + 2]);         /* w_i..w_i+3 of block 0 | 4 */
		u[i + 1] = _mm256_unpackhi_epi64(t[i], t[i + 2]);     /* block 1 | 5 */
		u[i + 2] = _mm256_unpacklo_epi64(t[i + 1], t[i + 3]); /* block 2 | 6 */
		u[i + 3] = _mm256_unpackhi_epi64(t[i + 1], t[i + 3]); /* block 3 | 7 */
	}
	for (int b = 0; b < 4; b++) {
		out[b] = _mm256_permute2x128_si256(u[b], u[b + 4], 0x20);
		out[b + 4] = _mm256_permute2x128_si256(u[b], u[b + 4], 0x31);
	}
}

TARGET void ny_chacha8_xor(const uint8_t key[32], uint32_t counter, const uint8_t nonce[12], uint8_t *buf,
			   unsigned nblocks)
{
	__m256i x[16], s[16], lo[8], hi[8];

	for (int i = 0; i < 4; i++)
		s[i] = _mm256_set1_epi32((int)sigma[i]);
	for (int i = 0; i < 8; i++)
		s[4 + i] = _mm256_set1_epi32((int)le32(key + 4 * i));
	s[12] = _mm256_add_epi32(_mm256_set1_epi32((int)counter), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
	for (int i = 0; i < 3; i++)
		s[13 + i] = _mm256_set1_epi32((int)le32(nonce + 4 * i));
	memcpy(x, s, sizeof(x));
	ROUNDS(_mm256, si256);
	for (int i = 0; i < 16; i++)
		x[i] = _mm256_add_epi32(x[i], s[i]);
	transpose8(x, lo);
	transpose8(x + 8, hi);
	for (unsigned b = 0; b < nblocks && b < 8; b++) {
		uint8_t *p = buf + 64 * (size_t)b;

		_mm256_storeu_si256((__m256i *)p, _mm256_xor_si256(_mm256_loadu_si256((const __m256i *)p), lo[b]));
		_mm256_storeu_si256((__m256i *)(p + 32),
				    _mm256_xor_si256(_mm256_loadu_si256((const __m256i *)(p + 32)), hi[b]));
	}
}

#define TARGET512 __attribute__((target("avx2,avx512f,avx512vl")))

/* 16x16 transpose of 32-bit words: in[w] holds word w of lanes 0..15, out[l] gets words 0..15 of lane l. Within
 * each 128-bit chunk, two unpack rounds transpose 4x4 groups; two rounds of 128-bit shuffles then move the chunks. */
TARGET512 static inline void transpose16(const __m512i in[16], __m512i out[16])
{
	__m512i t[16], u[16], v[16];

	for (int i = 0; i < 16; i += 2) {
		t[i] = _mm512_unpacklo_epi32(in[i], in[i + 1]);
		t[i + 1] = _mm512_unpackhi_epi32(in[i], in[i + 1]);
	}
	/* u[4g + k]: words 4g..4g+3 of lane 4c + k in chunk c. */
	for (int g = 0; g < 4; g++) {
		u[4 * g] = _mm512_unpacklo_epi64(t[4 * g], t[4 * g + 2]);
		u[4 * g + 1] = _mm512_unpackhi_epi64(t[4 * g], t[4 * g + 2]);
		u[4 * g + 2] = _mm512_unpacklo_epi64(t[4 * g + 1], t[4 * g + 3]);
		u[4 * g + 3] = _mm512_unpackhi_epi64(t[4 * g + 1], t[4 * g + 3]);
	}
	/* v[8h + k]: chunks (c = 0, 1 | 2, 3 for h = 0 | 1) of word groups 0, 1 then 2, 3 for lane offset k. */
	for (int k = 0; k < 4; k++) {
		v[k] = _mm512_shuffle_i32x4(u[k], u[4 + k], 0x44);      /* g0 c0, g0 c1, g1 c0, g1 c1 */
		v[4 + k] = _mm512_shuffle_i32x4(u[8 + k], u[12 + k], 0x44); /* g2 c0, g2 c1, g3 c0, g3 c1 */
		v[8 + k] = _mm512_shuffle_i32x4(u[k], u[4 + k], 0xee);  /* g0 c2, g0 c3, g1 c2, g1 c3 */
		v[12 + k] = _mm512_shuffle_i32x4(u[8 + k], u[12 + k], 0xee);
	}
	for (int k = 0; k < 4; k++) {
		out[k] = _mm512_shuffle_i32x4(v[k], v[4 + k], 0x88);           /* lane k: chunk 0 of g0..g3 */
		out[4 + k] = _mm512_shuffle_i32x4(v[k], v[4 + k], 0xdd);       /* lane 4 + k: chunk 1 */
		out[8 + k] = _mm512_shuffle_i32x4(v[8 + k], v[12 + k], 0x88);  /* lane 8 + k: chunk 2 */
		out[12 + k] = _mm512_shuffle_i32x4(v[8 + k], v[12 + k], 0xdd); /* lane 12 + k: chunk 3 */
	}
}

TARGET512 void ny_chacha16_xor(const uint8_t key[32], const struct ny_chacha16_lanes *lanes, unsigned nlanes)
{
	__m512i x[16], s[16], blk[16];

	for (int i = 0; i < 4; i++)
		s[i] = _mm512_set1_epi32((int)sigma[i]);
	for (int i = 0; i < 8; i++)
		s[4 + i] = _mm512_set1_epi32((int)le32(key + 4 * i));
	s[12] = _mm512_loadu_si512(lanes->counter);
	for (int i = 0; i < 3; i++)
		s[13 + i] = _mm512_loadu_si512(lanes->nonce[i]);
	memcpy(x, s, sizeof(x));
	ROUNDS(_mm512, si512);
	for (int i = 0; i < 16; i++)
		x[i] = _mm512_add_epi32(x[i], s[i]);
	transpose16(x, blk);
	for (unsigned l = 0; l < nlanes && l < 16; l++)
		_mm512_storeu_si512(lanes->out[l], _mm512_xor_si512(_mm512_loadu_si512(lanes->out[l]), blk[l]));
}

#else

void ny_chacha16_xor(const uint8_t key[32], const struct ny_chacha16_lanes *lanes, unsigned nlanes)
{
	(void)key, (void)lanes, (void)nlanes;
}

bool ny_chacha8_usable(void)
{
	return false;
}

void ny_chacha8_xor(const uint8_t key[32], uint32_t counter, const uint8_t nonce[12], uint8_t *buf,
		    unsigned nblocks)
{
	(void)key, (void)counter, (void)nonce, (void)buf, (void)nblocks;
}

#endif
