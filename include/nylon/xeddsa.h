/* XEdDSA (XEd25519): Ed25519-compatible signatures made and checked with X25519 keys.
 *
 * Implements Signal's "The XEdDSA and VXEdDSA Signature Schemes" (Trevor Perrin, revision 1, 2016-10-20) §3 on
 * Curve25519 (§5), the scheme nylon's config bundles are signed with (go.step.sm/crypto/x25519 in the Go
 * implementation; reference §5.1). Signatures are R || s, 64 bytes, byte-compatible with that implementation and
 * with libsignal. All functions are thread-safe, allocate nothing and need ny_crypto_init() first.
 */
#ifndef NYLON_XEDDSA_H
#define NYLON_XEDDSA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define NY_XEDDSA_SIG_LEN 64
#define NY_XEDDSA_RANDOM_LEN 64 /* Z of the spec: 64 bytes of fresh randomness per signature */

/* xeddsa_sign(k, M, Z): signs msg with the X25519 private key (clamped here, as X25519 does). random must be 64
 * fresh random bytes (ny_crypto_random); the spec randomises signatures to protect against fault and side-channel
 * attacks, and the same (key, message, random) gives the same signature, which the tests use. Returns 0, or
 * -EINVAL for a private key whose Edwards point is the identity (impossible for a clamped key; kept as a check).
 * Every secret intermediate is wiped on every path. */
int ny_xeddsa_sign(uint8_t sig[NY_XEDDSA_SIG_LEN], const uint8_t x25519_priv[32], const uint8_t *msg, size_t len,
		   const uint8_t random[NY_XEDDSA_RANDOM_LEN]);

/* xeddsa_verify(u, M, (R || s)): true when sig is a valid signature of msg by the X25519 public key. Rejects, as
 * the spec requires, u >= p (including a set top bit) and s >= 2^253; and, by Ed25519 verification of the
 * converted key, points not on the curve, non-canonical s or R, and small-order keys or R. Variable time: every
 * input is public. */
bool ny_xeddsa_verify(const uint8_t sig[NY_XEDDSA_SIG_LEN], const uint8_t x25519_pub[32], const uint8_t *msg,
		      size_t len);

/* convert_mont(u) of the spec (§2.3): the Ed25519 public key with y = (u - 1) / (u + 1) and sign bit 0 that
 * XEdDSA signatures by the X25519 key u verify under. Returns 0, or -EINVAL when u >= p. */
int ny_xeddsa_mont_to_edwards(uint8_t ed_pub[32], const uint8_t x25519_pub[32]);

#endif
