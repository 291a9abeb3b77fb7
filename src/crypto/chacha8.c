/* Eight, sixteen or thirty-two ChaCha20 blocks in parallel (see chacha8.h). State word i of all the blocks sits in
 * one 256- or 512-bit register, block b in lane b, so the 20 rounds are vector adds, xors and rotates with no
 * shuffles; a transpose then gives each block's 64 bytes. Thirty-two blocks are two such states of 16. */
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

/* The initial state of lanes [first, first + n) (n 1..16) of a pass; lanes past n get counter and nonce 0. */
TARGET512 static void state16(const uint8_t key[32], const struct ny_chacha_lanes *lanes, unsigned first, unsigned n,
			      __m512i s[16])
{
	__mmask16 live = (__mmask16)((1u << n) - 1);

	for (int i = 0; i < 4; i++)
		s[i] = _mm512_set1_epi32((int)sigma[i]);
	for (int i = 0; i < 8; i++)
		s[4 + i] = _mm512_set1_epi32((int)le32(key + 4 * i));
	s[12] = _mm512_maskz_loadu_epi32(live, lanes->counter + first);
	for (int i = 0; i < 3; i++)
		s[13 + i] = _mm512_maskz_loadu_epi32(live, lanes->nonce[i] + first);
}

/* XORs the 16 keystream blocks in x (after the feed-forward; x[w] holds word w of every lane) into the outputs of
 * lanes [first, first + n). */
TARGET512 static void xor_out16(const __m512i x[16], const struct ny_chacha_lanes *lanes, unsigned first, unsigned n)
{
	__m512i blk[16];

	transpose16(x, blk);
	for (unsigned l = 0; l < n; l++) {
		uint8_t *p = lanes->out[first + l];

		_mm512_storeu_si512(p, _mm512_xor_si512(_mm512_loadu_si512(p), blk[l]));
	}
}

/* Two 16-lane states: state 0 in zmm0-15, state 1 in zmm16-31, all 32 registers, so the rounds are written out in
 * assembly (compilers spill part of two states of intrinsics). A half round steps the eight quarter rounds (four
 * per state) together, one instruction of each in turn: eight independent chains keep the vector units busy where
 * one state's four leave them waiting on latency. Each instruction works in place: vpaddd b, a, a is a += b. */
#define VADD(s, d) "vpaddd %%zmm" #s ", %%zmm" #d ", %%zmm" #d "\n\t"
#define VXOR(s, d) "vpxord %%zmm" #s ", %%zmm" #d ", %%zmm" #d "\n\t"
#define VROL(n, d) "vprold $" #n ", %%zmm" #d ", %%zmm" #d "\n\t"
#define EIGHT(OP, x0, y0, x1, y1, x2, y2, x3, y3, x4, y4, x5, y5, x6, y6, x7, y7)                                 \
	OP(x0, y0) OP(x1, y1) OP(x2, y2) OP(x3, y3) OP(x4, y4) OP(x5, y5) OP(x6, y6) OP(x7, y7)
/* Quarter rounds (a_i, b_i, c_i, d_i), i < 8 (RFC 8439 §2.1), one step at a time. */
#define HALF8(a0, b0, c0, d0, a1, b1, c1, d1, a2, b2, c2, d2, a3, b3, c3, d3, a4, b4, c4, d4, a5, b5, c5, d5, a6, b6, \
	      c6, d6, a7, b7, c7, d7)                                                                                \
	EIGHT(VADD, b0, a0, b1, a1, b2, a2, b3, a3, b4, a4, b5, a5, b6, a6, b7, a7)                                  \
	EIGHT(VXOR, a0, d0, a1, d1, a2, d2, a3, d3, a4, d4, a5, d5, a6, d6, a7, d7)                                  \
	EIGHT(VROL, 16, d0, 16, d1, 16, d2, 16, d3, 16, d4, 16, d5, 16, d6, 16, d7)                                  \
	EIGHT(VADD, d0, c0, d1, c1, d2, c2, d3, c3, d4, c4, d5, c5, d6, c6, d7, c7)                                  \
	EIGHT(VXOR, c0, b0, c1, b1, c2, b2, c3, b3, c4, b4, c5, b5, c6, b6, c7, b7)                                  \
	EIGHT(VROL, 12, b0, 12, b1, 12, b2, 12, b3, 12, b4, 12, b5, 12, b6, 12, b7)                                  \
	EIGHT(VADD, b0, a0, b1, a1, b2, a2, b3, a3, b4, a4, b5, a5, b6, a6, b7, a7)                                  \
	EIGHT(VXOR, a0, d0, a1, d1, a2, d2, a3, d3, a4, d4, a5, d5, a6, d6, a7, d7)                                  \
	EIGHT(VROL, 8, d0, 8, d1, 8, d2, 8, d3, 8, d4, 8, d5, 8, d6, 8, d7)                                          \
	EIGHT(VADD, d0, c0, d1, c1, d2, c2, d3, c3, d4, c4, d5, c5, d6, c6, d7, c7)                                  \
	EIGHT(VXOR, c0, b0, c1, b1, c2, b2, c3, b3, c4, b4, c5, b5, c6, b6, c7, b7)                                  \
	EIGHT(VROL, 7, b0, 7, b1, 7, b2, 7, b3, 7, b4, 7, b5, 7, b6, 7, b7)
/* Register r of the two states <-> in[r] / out[r], 64 bytes each. */
#define EACH32(M)                                                                                                    \
	M(0, 0) M(1, 64) M(2, 128) M(3, 192) M(4, 256) M(5, 320) M(6, 384) M(7, 448) M(8, 512) M(9, 576)            \
	M(10, 640) M(11, 704) M(12, 768) M(13, 832) M(14, 896) M(15, 960) M(16, 1024) M(17, 1088) M(18, 1152)       \
	M(19, 1216) M(20, 1280) M(21, 1344) M(22, 1408) M(23, 1472) M(24, 1536) M(25, 1600) M(26, 1664)             \
	M(27, 1728) M(28, 1792) M(29, 1856) M(30, 1920) M(31, 1984)
#define LOAD(r, off) "vmovdqu64 " #off "(%[in]), %%zmm" #r "\n\t"
#define FEED(r, off) "vpaddd " #off "(%[in]), %%zmm" #r ", %%zmm" #r "\n\tvmovdqu64 %%zmm" #r ", " #off "(%[out])\n\t"

/* out[r] = 20 rounds of in[r] plus in[r] (RFC 8439 §2.3), for the two states in[0, 16) and in[16, 32). */
TARGET512 static void block32(const __m512i in[32], __m512i out[32])
{
	unsigned doubles = 10;

	__asm__ volatile(EACH32(LOAD) "1:\n\t"
			 /* column round */
			 HALF8(0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15, 16, 20, 24, 28, 17, 21, 25, 29, 18,
			       22, 26, 30, 19, 23, 27, 31)
			 /* diagonal round */
			 HALF8(0, 5, 10, 15, 1, 6, 11, 12, 2, 7, 8, 13, 3, 4, 9, 14, 16, 21, 26, 31, 17, 22, 27, 28, 18,
			       23, 24, 29, 19, 20, 25, 30)
			 "dec %[doubles]\n\t"
			 "jnz 1b\n\t" EACH32(FEED)
			 : [doubles] "+r"(doubles)
			 : [in] "r"(in), [out] "r"(out)
			 : "cc", "memory", "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9",
			   "xmm10", "xmm11", "xmm12", "xmm13", "xmm14", "xmm15", "xmm16", "xmm17", "xmm18", "xmm19", "xmm20",
			   "xmm21", "xmm22", "xmm23", "xmm24", "xmm25", "xmm26", "xmm27", "xmm28", "xmm29", "xmm30",
			   "xmm31");
}

TARGET512 void ny_chacha32_xor(const uint8_t key[32], const struct ny_chacha_lanes *lanes, unsigned nlanes)
{
	if (nlanes > 16) {
		__m512i in[32], out[32];

		state16(key, lanes, 0, 16, in);
		state16(key, lanes, 16, nlanes - 16, in + 16);
		block32(in, out);
		xor_out16(out, lanes, 0, 16);
		xor_out16(out + 16, lanes, 16, nlanes - 16);
		return;
	}
	__m512i x[16], s[16];

	state16(key, lanes, 0, nlanes, s);
	memcpy(x, s, sizeof(x));
	ROUNDS(_mm512, si512);
	for (int i = 0; i < 16; i++)
		x[i] = _mm512_add_epi32(x[i], s[i]);
	xor_out16(x, lanes, 0, nlanes);
}

#else

void ny_chacha32_xor(const uint8_t key[32], const struct ny_chacha_lanes *lanes, unsigned nlanes)
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
