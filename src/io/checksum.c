/* The Internet checksum (RFC 1071), its pseudo-headers and its incremental update (RFC 1624).
 *
 * Userspace segmentation and coalescing rewrite headers and recompute L4 checksums over whole payloads, so this
 * loop is on the hot path (perf-anchors lesson 5). It sums the buffer as native-endian 64-bit words with
 * end-around carry in four independent accumulators, so that the carries of one chain do not stall the next add;
 * on a 2-vCPU x86-64 guest that ran about 9x the byte-pair loop (see bench/bench_offload.c). RFC 1071 §2 (B) makes
 * the result byte-order independent up to a final byte swap, and §2 (C) lets us fold the wide sum at the end.
 */
#include <stdbool.h>
#include <string.h>

#include "nylon/offload.h"

static inline uint64_t load64(const uint8_t *p)
{
	uint64_t w;

	memcpy(&w, p, sizeof(w)); /* any alignment: packets start wherever the ring put them */
	return w;
}

/* a + b with the carry out of bit 63 added back in (ones' complement addition in 64 bits). */
static inline uint64_t add_carry(uint64_t a, uint64_t b)
{
	uint64_t s = a + b;

	return s + (s < a);
}

static inline uint16_t fold64(uint64_t s)
{
	s = (s & 0xffffffffu) + (s >> 32);
	s = (s & 0xffffffffu) + (s >> 32);
	s = (s & 0xffffu) + (s >> 16);
	s = (s & 0xffffu) + (s >> 16);
	return (uint16_t)s;
}

/* The folded sum of buf in native byte order (16-bit words as the CPU loads them). */
static uint16_t sum_native(const uint8_t *p, size_t len)
{
	uint64_t a0 = 0, a1 = 0, a2 = 0, a3 = 0;

	if (len <= 64 && len % 4 == 0) {
		/* Headers and addresses (a segmenter sums four of them per segment): 32-bit words into a 64-bit sum,
		 * which cannot carry out, with no call for a tail. */
		for (size_t i = 0; i < len; i += 4) {
			uint32_t w;

			memcpy(&w, p + i, sizeof(w));
			a0 += w;
		}
		return fold64(a0);
	}

	while (len >= 32) {
		a0 = add_carry(a0, load64(p));
		a1 = add_carry(a1, load64(p + 8));
		a2 = add_carry(a2, load64(p + 16));
		a3 = add_carry(a3, load64(p + 24));
		p += 32;
		len -= 32;
	}
	while (len >= 8) {
		a0 = add_carry(a0, load64(p));
		p += 8;
		len -= 8;
	}
	if (len) {
		/* The tail, zero-padded in memory order: an odd last byte is then the high byte of a big-endian word,
		 * which is the padding RFC 1071 §4.1 describes. */
		uint8_t tail[8] = { 0 };

		memcpy(tail, p, len);
		a1 = add_carry(a1, load64(tail));
	}
	return fold64(add_carry(add_carry(a0, a1), add_carry(a2, a3)));
}

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>

/* sum_native() of p, copying it to dst in the same pass, 32 bytes at a time in AVX2 registers: the 32-bit words
 * of each load go into 64-bit lanes (low and high halves apart), which cannot overflow below 2^32 loads, and are
 * folded at the end (RFC 1071 §2 (C): any word size that is a multiple of 16 bits gives the same sum). */
__attribute__((target("avx2"))) static uint16_t sum_native_copy_avx2(uint8_t *dst, const uint8_t *p, size_t len)
{
	const __m256i low32 = _mm256_set1_epi64x(0xffffffff);
	__m256i lo = _mm256_setzero_si256(), hi = _mm256_setzero_si256();
	uint64_t lanes[4], s = 0;

	for (; len >= 32; p += 32, dst += 32, len -= 32) {
		__m256i v = _mm256_loadu_si256((const __m256i *)p);

		_mm256_storeu_si256((__m256i *)dst, v);
		lo = _mm256_add_epi64(lo, _mm256_and_si256(v, low32));
		hi = _mm256_add_epi64(hi, _mm256_srli_epi64(v, 32));
	}
	_mm256_storeu_si256((__m256i *)lanes, _mm256_add_epi64(lo, hi)); /* each below 2^38 */
	for (int i = 0; i < 4; i++)
		s = add_carry(s, lanes[i]);
	memcpy(dst, p, len); /* the last 0-31 bytes, which start at an even offset: their sum chains on */
	return fold64(add_carry(s, sum_native(p, len)));
}

static bool have_avx2(void)
{
	static int known; /* 0 unknown, 1 no, 2 yes; a race only computes it twice */
	int k = __atomic_load_n(&known, __ATOMIC_RELAXED);

	if (!k) {
		__builtin_cpu_init();
		k = __builtin_cpu_supports("avx2") ? 2 : 1;
		__atomic_store_n(&known, k, __ATOMIC_RELAXED);
	}
	return k == 2;
}
#else
static bool have_avx2(void)
{
	return false;
}

static uint16_t sum_native_copy_avx2(uint8_t *dst, const uint8_t *p, size_t len)
{
	(void)dst, (void)p, (void)len;
	return 0;
}
#endif

/* A folded native-order sum as a running sum in network order (RFC 1071 §2 (B)). */
static uint64_t add_native(uint64_t sum, uint16_t s)
{
#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_BIG_ENDIAN__
	s = __builtin_bswap16(s); /* little-endian words summed: swap once to big-endian */
#endif
	return add_carry(sum, s);
}

uint64_t ny_csum_partial(const void *buf, size_t len, uint64_t sum)
{
	return add_native(sum, sum_native(buf, len));
}

uint64_t ny_csum_copy(void *dst, const void *src, size_t len, uint64_t sum)
{
	if (have_avx2())
		return add_native(sum, sum_native_copy_avx2(dst, src, len));
	memcpy(dst, src, len); /* two passes: copy, then sum */
	return add_native(sum, sum_native(dst, len));
}

uint16_t ny_csum_fold(uint64_t sum)
{
	return fold64(sum);
}

uint64_t ny_csum_pseudo(int ip_version, const uint8_t *src, const uint8_t *dst, uint8_t proto, uint32_t len)
{
	size_t alen = ip_version == 4 ? 4 : 16;
	uint64_t sum = ny_csum_partial(src, alen, 0);

	sum = ny_csum_partial(dst, alen, sum);
	/* IPv4: zero, protocol, 16-bit length; IPv6: 32-bit length, three zero bytes, next header. Both add up to
	 * proto + len as 16-bit words, as len < 2^32. */
	return sum + proto + (len >> 16) + (len & 0xffffu);
}

uint16_t ny_csum_update16(uint16_t check, uint16_t old_word, uint16_t new_word)
{
	/* RFC 1624 §3 eqn. 3. RFC 1141's HC' = HC + ~m + m' can give 0xffff where recomputing gives 0x0000
	 * (RFC 1624 §4's example); complementing around the sum, as here, agrees with recomputing. */
	uint32_t s = (uint32_t)(uint16_t)~check + (uint16_t)~old_word + new_word;

	return (uint16_t)~fold64(s);
}
