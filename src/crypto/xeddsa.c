/* XEdDSA on Curve25519, from Signal's specification "The XEdDSA and VXEdDSA Signature Schemes" (revision 1,
 * 2016-10-20), built on libsodium's Ed25519 group and scalar operations.
 *
 * libsodium has no public field arithmetic, and verification needs one field computation: the Montgomery u to
 * Edwards y conversion of §2.3. It is done here in radix 2^51 with 128-bit products. It only ever touches public
 * values (the signer's public key), so it is written for clarity, not constant time.
 */
#include "nylon/xeddsa.h"

#include <errno.h>
#include <sodium.h>
#include <string.h>

/* ---- GF(2^255 - 19), radix 2^51: just enough for y = (u - 1) / (u + 1) ---- */

#define MASK51 ((UINT64_C(1) << 51) - 1)

struct fe {
	uint64_t v[5];
};

static uint64_t load64_le(const uint8_t *s)
{
	uint64_t w = 0;

	for (int i = 7; i >= 0; i--)
		w = (w << 8) | s[i];
	return w;
}

static void store64_le(uint8_t *d, uint64_t w)
{
	for (int i = 0; i < 8; i++, w >>= 8)
		d[i] = (uint8_t)w;
}

/* Bit 255 is ignored, as in RFC 7748; the caller has already rejected u >= p. */
static void fe_frombytes(struct fe *h, const uint8_t s[32])
{
	uint64_t w0 = load64_le(s), w1 = load64_le(s + 8), w2 = load64_le(s + 16), w3 = load64_le(s + 24);

	h->v[0] = w0 & MASK51;
	h->v[1] = ((w0 >> 51) | (w1 << 13)) & MASK51;
	h->v[2] = ((w1 >> 38) | (w2 << 26)) & MASK51;
	h->v[3] = ((w2 >> 25) | (w3 << 39)) & MASK51;
	h->v[4] = (w3 >> 12) & MASK51;
}

/* Brings every limb below 2^51 (limb 0 may keep a carry of a few bits), folding 2^255 back as 19. */
static void fe_carry(struct fe *h)
{
	uint64_t c;

	for (int i = 0; i < 4; i++) {
		c = h->v[i] >> 51;
		h->v[i] &= MASK51;
		h->v[i + 1] += c;
	}
	c = h->v[4] >> 51;
	h->v[4] &= MASK51;
	h->v[0] += c * 19;
}

static void fe_add(struct fe *h, const struct fe *f, const struct fe *g)
{
	for (int i = 0; i < 5; i++)
		h->v[i] = f->v[i] + g->v[i];
	fe_carry(h);
}

/* f + 2p - g, so that no limb goes negative (g's limbs are below 2^52). */
static void fe_sub(struct fe *h, const struct fe *f, const struct fe *g)
{
	h->v[0] = f->v[0] + (2 * (MASK51 - 18)) - g->v[0];
	for (int i = 1; i < 5; i++)
		h->v[i] = f->v[i] + 2 * MASK51 - g->v[i];
	fe_carry(h);
}

static void fe_mul(struct fe *h, const struct fe *f, const struct fe *g)
{
	typedef unsigned __int128 u128;
	const uint64_t *a = f->v, *b = g->v;
	uint64_t b19[5];
	u128 t[5], x;
	uint64_t c;

	for (int i = 1; i < 5; i++)
		b19[i] = b[i] * 19;
	t[0] = (u128)a[0] * b[0] + (u128)a[1] * b19[4] + (u128)a[2] * b19[3] + (u128)a[3] * b19[2] +
	       (u128)a[4] * b19[1];
	t[1] = (u128)a[0] * b[1] + (u128)a[1] * b[0] + (u128)a[2] * b19[4] + (u128)a[3] * b19[3] +
	       (u128)a[4] * b19[2];
	t[2] = (u128)a[0] * b[2] + (u128)a[1] * b[1] + (u128)a[2] * b[0] + (u128)a[3] * b19[4] +
	       (u128)a[4] * b19[3];
	t[3] = (u128)a[0] * b[3] + (u128)a[1] * b[2] + (u128)a[2] * b[1] + (u128)a[3] * b[0] +
	       (u128)a[4] * b19[4];
	t[4] = (u128)a[0] * b[4] + (u128)a[1] * b[3] + (u128)a[2] * b[2] + (u128)a[3] * b[1] + (u128)a[4] * b[0];
	for (int i = 0; i < 4; i++) {
		t[i + 1] += t[i] >> 51;
		h->v[i] = (uint64_t)t[i] & MASK51;
	}
	h->v[4] = (uint64_t)t[4] & MASK51;
	c = (uint64_t)(t[4] >> 51);
	x = (u128)h->v[0] + (u128)c * 19;
	h->v[0] = (uint64_t)x & MASK51;
	h->v[1] += (uint64_t)(x >> 51);
}

/* inv(z) = z^(p-2) (§2.1; 0 for 0), by square-and-multiply over the public exponent 2^255 - 21. */
static void fe_invert(struct fe *out, const struct fe *z)
{
	struct fe r = { { 1, 0, 0, 0, 0 } };

	for (int bit = 254; bit >= 0; bit--) {
		/* p - 2 = 0x7fff...ffeb: every bit set except bits 2 and 4. */
		bool set = !(bit == 2 || bit == 4);

		fe_mul(&r, &r, &r);
		if (set)
			fe_mul(&r, &r, z);
	}
	*out = r;
}

/* The canonical encoding (value mod p, bit 255 clear). */
static void fe_tobytes(uint8_t s[32], const struct fe *f)
{
	struct fe h = *f;
	uint64_t q;

	fe_carry(&h);
	fe_carry(&h);
	/* Now h < 2^255 + 2^51 < 2p: subtract p once if h + 19 reaches 2^255. */
	q = (h.v[0] + 19) >> 51;
	for (int i = 1; i < 5; i++)
		q = (h.v[i] + q) >> 51;
	h.v[0] += 19 * q;
	for (int i = 0; i < 4; i++) {
		h.v[i + 1] += h.v[i] >> 51;
		h.v[i] &= MASK51;
	}
	h.v[4] &= MASK51;
	store64_le(s, h.v[0] | (h.v[1] << 51));
	store64_le(s + 8, (h.v[1] >> 13) | (h.v[2] << 38));
	store64_le(s + 16, (h.v[2] >> 26) | (h.v[3] << 25));
	store64_le(s + 24, (h.v[3] >> 39) | (h.v[4] << 12));
}

/* u < p = 2^255 - 19 as a 256-bit little-endian integer (a set bit 255 makes it larger). */
static bool mont_is_canonical(const uint8_t u[32])
{
	static const uint8_t p[32] = {
		0xed, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
		0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f,
	};

	for (int i = 31; i >= 0; i--) {
		if (u[i] != p[i])
			return u[i] < p[i];
	}
	return false; /* u == p */
}

int ny_xeddsa_mont_to_edwards(uint8_t ed_pub[32], const uint8_t x25519_pub[32])
{
	static const struct fe one = { { 1, 0, 0, 0, 0 } };
	struct fe u, num, den, y;

	if (!mont_is_canonical(x25519_pub))
		return -EINVAL;
	/* §2.3 u_to_y: y = (u - 1) * inv(u + 1); convert_mont sets P.s = 0. */
	fe_frombytes(&u, x25519_pub);
	fe_sub(&num, &u, &one);
	fe_add(&den, &u, &one);
	fe_invert(&den, &den);
	fe_mul(&y, &num, &den);
	fe_tobytes(ed_pub, &y);
	ed_pub[31] &= 0x7f;
	return 0;
}

/* ---- XEdDSA §3 ---- */

/* hash_1(X) = SHA-512(2^256 - 1 - 1 || X), the prefix as 32 little-endian bytes (§2.5): fe ff ff ... ff. It keeps
 * r's hash domain apart from Ed25519's h = SHA-512(R || A || M), whose first input is a point encoding. */
static const uint8_t hash1_prefix[32] = {
	0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
};

/* A 64-byte hash reduced mod q into a 32-byte scalar. */
static void hash_to_scalar(uint8_t out[32], crypto_hash_sha512_state *st)
{
	uint8_t digest[crypto_hash_sha512_BYTES];

	crypto_hash_sha512_final(st, digest);
	crypto_core_ed25519_scalar_reduce(out, digest);
	sodium_memzero(digest, sizeof(digest));
}

/* calculate_key_pair(k) (§2.3): E = kB; A = E with its sign bit cleared; a = k, or -k when E's sign bit was set, so
 * that aB = A. k is the X25519-clamped private key, reduced mod q. Chosen without branching on the sign bit. */
static int calculate_key_pair(uint8_t A[32], uint8_t a[32], const uint8_t priv[32])
{
	uint8_t wide[64] = { 0 };
	uint8_t k[32], neg[32];
	uint8_t mask;
	int ret = 0;

	memcpy(wide, priv, 32);
	wide[0] &= 248;
	wide[31] &= 127;
	wide[31] |= 64;
	crypto_core_ed25519_scalar_reduce(k, wide);
	if (crypto_scalarmult_ed25519_base_noclamp(A, k) != 0) {
		ret = -EINVAL;
		goto out;
	}
	crypto_core_ed25519_scalar_negate(neg, k);
	mask = (uint8_t)(0 - (A[31] >> 7));
	for (int i = 0; i < 32; i++)
		a[i] = (uint8_t)(k[i] ^ (mask & (k[i] ^ neg[i])));
	A[31] &= 0x7f;
out:
	sodium_memzero(wide, sizeof(wide));
	sodium_memzero(k, sizeof(k));
	sodium_memzero(neg, sizeof(neg));
	return ret;
}

int ny_xeddsa_sign(uint8_t sig[NY_XEDDSA_SIG_LEN], const uint8_t x25519_priv[32], const uint8_t *msg, size_t len,
		   const uint8_t random[NY_XEDDSA_RANDOM_LEN])
{
	crypto_hash_sha512_state st;
	uint8_t A[32], a[32], r[32], h[32], ha[32];
	int ret;

	ret = calculate_key_pair(A, a, x25519_priv);
	if (ret)
		goto out;

	/* r = hash_1(a || M || Z) (mod q) */
	crypto_hash_sha512_init(&st);
	crypto_hash_sha512_update(&st, hash1_prefix, sizeof(hash1_prefix));
	crypto_hash_sha512_update(&st, a, sizeof(a));
	crypto_hash_sha512_update(&st, msg, len);
	crypto_hash_sha512_update(&st, random, NY_XEDDSA_RANDOM_LEN);
	hash_to_scalar(r, &st);

	/* R = rB. Fails only for r = 0 (mod q), a 2^-252 event; the caller may retry with fresh randomness. */
	if (crypto_scalarmult_ed25519_base_noclamp(sig, r) != 0) {
		ret = -EAGAIN;
		goto out;
	}

	/* h = hash(R || A || M) (mod q) */
	crypto_hash_sha512_init(&st);
	crypto_hash_sha512_update(&st, sig, 32);
	crypto_hash_sha512_update(&st, A, sizeof(A));
	crypto_hash_sha512_update(&st, msg, len);
	hash_to_scalar(h, &st);

	/* s = r + ha (mod q) */
	crypto_core_ed25519_scalar_mul(ha, h, a);
	crypto_core_ed25519_scalar_add(sig + 32, r, ha);
out:
	if (ret)
		sodium_memzero(sig, NY_XEDDSA_SIG_LEN);
	sodium_memzero(&st, sizeof(st));
	sodium_memzero(a, sizeof(a));
	sodium_memzero(r, sizeof(r));
	sodium_memzero(h, sizeof(h));
	sodium_memzero(ha, sizeof(ha));
	return ret;
}

bool ny_xeddsa_verify(const uint8_t sig[NY_XEDDSA_SIG_LEN], const uint8_t x25519_pub[32], const uint8_t *msg,
		      size_t len)
{
	uint8_t A[32];

	/* §3: reject u >= p, R.y >= 2^|p| and s >= 2^|q|. R is 32 bytes whose top bit is the sign, so R.y < 2^255
	 * always; a non-canonical R.y (>= p) can never equal the canonical encoding of sB - hA computed below. */
	if (sig[63] & 0xe0)
		return false;
	if (ny_xeddsa_mont_to_edwards(A, x25519_pub) != 0)
		return false;
	/* A = convert_mont(u); on_curve(A); h = hash(R || A || M); Rcheck = sB - hA; R == Rcheck: exactly Ed25519
	 * verification under A, which libsodium also makes reject s >= q and small-order A or R. */
	return crypto_sign_ed25519_verify_detached(sig, msg, len, A) == 0;
}
