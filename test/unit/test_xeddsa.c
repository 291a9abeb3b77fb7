/* XEdDSA (src/crypto/xeddsa.c): round trips, tamper detection, the spec's rejection rules, agreement with
 * libsodium's own Ed25519 for the converted key, and a published known answer.
 *
 * Known answer: libsignal's ed25519 test suite, xeddsa_fast_test() in tests.c (curve25519-java
 * android/jni/ed25519/tests/tests.c, commit 7587cb3fd0a1604ea2118541c9c8c80c76e81571, also quoted by
 * Waher.Security.EllipticCurves' XEddsaTests): private key 00..00 bd 00..00 (byte 8 = 189) clamped, message 200
 * zero bytes, Z = 64 zero bytes. */
#include <criterion/criterion.h>
#include <errno.h>
#include <sodium.h>
#include <stdint.h>
#include <string.h>

#include "nylon/crypto.h"
#include "nylon/xeddsa.h"

#define ROUNDS 64
#define MSG_MAX 300

static void setup(void)
{
	cr_assert_eq(ny_crypto_init(), 0);
}

TestSuite(xeddsa, .init = setup);

static void unhex(uint8_t *out, size_t len, const char *hex)
{
	cr_assert_eq(strlen(hex), 2 * len);
	for (size_t i = 0; i < len; i++) {
		unsigned v;

		cr_assert_eq(sscanf(hex + 2 * i, "%2x", &v), 1);
		out[i] = (uint8_t)v;
	}
}

/* A fresh key pair, message and signature. */
struct signed_msg {
	uint8_t priv[32];
	uint8_t pub[32];
	uint8_t msg[MSG_MAX];
	size_t len;
	uint8_t sig[64];
};

static void make_signed(struct signed_msg *m, size_t len)
{
	uint8_t z[64];

	ny_crypto_x25519_generate(m->priv);
	ny_crypto_x25519_public(m->pub, m->priv);
	m->len = len;
	ny_crypto_random(m->msg, len);
	ny_crypto_random(z, sizeof(z));
	cr_assert_eq(ny_xeddsa_sign(m->sig, m->priv, m->msg, len, z), 0);
}

Test(xeddsa, signs_and_verifies_random_keys_and_messages)
{
	for (int i = 0; i < ROUNDS; i++) {
		struct signed_msg m;

		make_signed(&m, (size_t)i * 5 % MSG_MAX);
		cr_assert(ny_xeddsa_verify(m.sig, m.pub, m.msg, m.len), "round %d", i);
	}
}

Test(xeddsa, signature_is_randomised_by_z_and_deterministic_for_a_fixed_z)
{
	uint8_t priv[32], pub[32], z1[64] = { 0 }, z2[64] = { 1 }, s1[64], s2[64], s3[64];
	const uint8_t msg[] = "config bundle";

	ny_crypto_x25519_generate(priv);
	ny_crypto_x25519_public(pub, priv);
	cr_assert_eq(ny_xeddsa_sign(s1, priv, msg, sizeof(msg), z1), 0);
	cr_assert_eq(ny_xeddsa_sign(s2, priv, msg, sizeof(msg), z1), 0);
	cr_assert_eq(ny_xeddsa_sign(s3, priv, msg, sizeof(msg), z2), 0);
	cr_assert_arr_eq(s1, s2, 64);
	cr_assert_arr_neq(s1, s3, 64);
	cr_assert(ny_xeddsa_verify(s3, pub, msg, sizeof(msg)));
}

Test(xeddsa, rejects_every_bit_flip_of_signature_message_and_key)
{
	struct signed_msg m;

	make_signed(&m, 48);
	for (size_t bit = 0; bit < 64 * 8; bit++) {
		m.sig[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		cr_assert_not(ny_xeddsa_verify(m.sig, m.pub, m.msg, m.len), "signature bit %zu", bit);
		m.sig[bit / 8] ^= (uint8_t)(1u << (bit % 8));
	}
	for (size_t bit = 0; bit < m.len * 8; bit++) {
		m.msg[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		cr_assert_not(ny_xeddsa_verify(m.sig, m.pub, m.msg, m.len), "message bit %zu", bit);
		m.msg[bit / 8] ^= (uint8_t)(1u << (bit % 8));
	}
	for (size_t bit = 0; bit < 32 * 8; bit++) {
		m.pub[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		cr_assert_not(ny_xeddsa_verify(m.sig, m.pub, m.msg, m.len), "key bit %zu", bit);
		m.pub[bit / 8] ^= (uint8_t)(1u << (bit % 8));
	}
	cr_assert(ny_xeddsa_verify(m.sig, m.pub, m.msg, m.len));
	cr_assert_not(ny_xeddsa_verify(m.sig, m.pub, m.msg, m.len - 1), "truncated message");
}

Test(xeddsa, rejects_a_signature_by_another_key)
{
	struct signed_msg a, b;

	make_signed(&a, 32);
	make_signed(&b, 32);
	cr_assert_not(ny_xeddsa_verify(a.sig, b.pub, a.msg, a.len));
}

/* The Edwards key from libsodium's own arithmetic: E = kB for the clamped k, with the sign bit cleared. */
static void edwards_from_private(uint8_t A[32], const uint8_t priv[32])
{
	uint8_t k[32];

	memcpy(k, priv, 32);
	k[0] &= 248;
	k[31] &= 127;
	k[31] |= 64;
	cr_assert_eq(crypto_scalarmult_ed25519_base_noclamp(A, k), 0);
	A[31] &= 0x7f;
}

Test(xeddsa, converts_montgomery_u_to_the_edwards_key_libsodium_computes)
{
	for (int i = 0; i < ROUNDS; i++) {
		uint8_t priv[32], pub[32], want[32], got[32], back[32];

		ny_crypto_x25519_generate(priv);
		ny_crypto_x25519_public(pub, priv);
		edwards_from_private(want, priv);
		cr_assert_eq(ny_xeddsa_mont_to_edwards(got, pub), 0);
		cr_assert_arr_eq(got, want, 32, "round %d", i);
		/* And back: libsodium's Edwards-to-Montgomery map gives u again. */
		cr_assert_eq(crypto_sign_ed25519_pk_to_curve25519(back, got), 0);
		cr_assert_arr_eq(back, pub, 32);
	}
}

Test(xeddsa, signatures_verify_under_libsodium_ed25519_with_the_converted_key)
{
	for (int i = 0; i < ROUNDS; i++) {
		struct signed_msg m;
		uint8_t A[32];

		make_signed(&m, (size_t)i * 3);
		edwards_from_private(A, m.priv);
		cr_assert_eq(crypto_sign_ed25519_verify_detached(m.sig, m.msg, m.len, A), 0, "round %d", i);
	}
}

Test(xeddsa, rejects_u_at_or_above_p)
{
	struct signed_msg m;
	uint8_t u[32], ed[32];

	make_signed(&m, 16);
	/* The same u with bit 255 set names the same point to X25519, but the spec refuses it. */
	memcpy(u, m.pub, 32);
	u[31] |= 0x80;
	cr_assert_not(ny_xeddsa_verify(m.sig, u, m.msg, m.len));
	cr_assert_eq(ny_xeddsa_mont_to_edwards(ed, u), -EINVAL);
	/* p itself, and p + 1 (u = 1 once reduced). */
	memset(u, 0xff, 32);
	u[0] = 0xed;
	u[31] = 0x7f;
	cr_assert_eq(ny_xeddsa_mont_to_edwards(ed, u), -EINVAL);
	u[0] = 0xee;
	cr_assert_eq(ny_xeddsa_mont_to_edwards(ed, u), -EINVAL);
	/* p - 1 is in range: u + 1 = 0, inv(0) = 0, y = 0 (§2.1). */
	u[0] = 0xec;
	cr_assert_eq(ny_xeddsa_mont_to_edwards(ed, u), 0);
	for (int i = 0; i < 32; i++)
		cr_assert_eq(ed[i], 0);
}

Test(xeddsa, rejects_s_at_or_above_2_to_the_253)
{
	struct signed_msg m;

	make_signed(&m, 16);
	for (int bit = 5; bit < 8; bit++) {
		uint8_t sig[64];

		memcpy(sig, m.sig, 64);
		sig[63] |= (uint8_t)(1u << bit);
		cr_assert_not(ny_xeddsa_verify(sig, m.pub, m.msg, m.len), "bit %d", 248 + bit);
	}
}

Test(xeddsa, rejects_s_plus_q)
{
	/* s + q < 2^253 is the same scalar, non-canonical: Ed25519 (and so XEdDSA's sB - hA check with canonical
	 * scalars) must refuse the malleated signature. */
	static const uint8_t q[32] = {
		0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14,
		0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x10,
	};
	struct signed_msg m;
	unsigned carry = 0;

	/* About half of all s are below 2^252, where s + q stays below 2^253. */
	do
		make_signed(&m, 16);
	while (m.sig[63] >= 0x10);
	for (int i = 0; i < 32; i++) {
		carry += (unsigned)m.sig[32 + i] + q[i];
		m.sig[32 + i] = (uint8_t)carry;
		carry >>= 8;
	}
	cr_assert_eq(m.sig[63] & 0xe0, 0);
	cr_assert_not(ny_xeddsa_verify(m.sig, m.pub, m.msg, m.len));
}

Test(xeddsa, matches_libsignal_known_answer)
{
	static const char want_hex[] = "11c7f3e6c4df9e8a5150e1db3b30f92de3a3b3aa438656545fa7390f4bcc7bb2"
				       "6c431d9e90643e4f0eaa0e9c557766fa69ada576d63dcaf2ac326c11d0b97702";
	uint8_t priv[32] = { 0 }, pub[32], msg[200] = { 0 }, z[64] = { 0 }, sig[64], want[64];

	priv[8] = 189;
	unhex(want, sizeof(want), want_hex);
	ny_crypto_x25519_public(pub, priv);
	cr_assert_eq(ny_xeddsa_sign(sig, priv, msg, sizeof(msg), z), 0);
	cr_assert_arr_eq(sig, want, 64);
	cr_assert(ny_xeddsa_verify(want, pub, msg, sizeof(msg)));
	want[0] ^= 1;
	cr_assert_not(ny_xeddsa_verify(want, pub, msg, sizeof(msg)));
}
