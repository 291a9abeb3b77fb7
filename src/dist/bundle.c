/* Config bundles: the byte format of reference §5.1 (see include/nylon/bundle.h). Cryptography comes from
 * nylon/crypto.h and nylon/xeddsa.h; the base64 codec is here because the format's rules (strict, line breaks
 * ignored, size bounded before decoding) are the format's own. */
#include "nylon/bundle.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "dist/internal.h"

static const char b64_alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* Standard base64 with '=' padding, no line breaks (Go's base64.StdEncoding.EncodeToString). */
static char *b64_encode(const uint8_t *in, size_t len)
{
	size_t out_len = (len + 2) / 3 * 4;
	char *out = malloc(out_len + 1);
	char *p = out;
	size_t i = 0;

	if (!out)
		return NULL;
	for (; i + 3 <= len; i += 3) {
		uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];

		*p++ = b64_alphabet[v >> 18];
		*p++ = b64_alphabet[(v >> 12) & 63];
		*p++ = b64_alphabet[(v >> 6) & 63];
		*p++ = b64_alphabet[v & 63];
	}
	if (len - i == 1) {
		uint32_t v = (uint32_t)in[i] << 16;

		*p++ = b64_alphabet[v >> 18];
		*p++ = b64_alphabet[(v >> 12) & 63];
		*p++ = '=';
		*p++ = '=';
	} else if (len - i == 2) {
		uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8;

		*p++ = b64_alphabet[v >> 18];
		*p++ = b64_alphabet[(v >> 12) & 63];
		*p++ = b64_alphabet[(v >> 6) & 63];
		*p++ = '=';
	}
	*p = '\0';
	return out;
}

static int b64_value(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

static bool is_line_break(char c)
{
	return c == '\r' || c == '\n';
}

/* The number of base64 characters (line breaks skipped). */
static size_t b64_significant(const char *in, size_t len)
{
	size_t n = 0;

	for (size_t i = 0; i < len; i++)
		n += !is_line_break(in[i]);
	return n;
}

/* Decodes the n significant characters of in into out (n / 4 * 3 bytes at most). Strict: n must be a multiple of
 * 4, '=' only as one or two final characters, and the bits padding leaves over must be zero, so that a bundle
 * has exactly one text form and no change to its text goes unnoticed. Go's decoder tolerates non-zero padding
 * bits; its encoder never writes them. Returns the decoded length, or -1 with *bad at the offending index. */
static long b64_decode(uint8_t *out, const char *in, size_t len, size_t n, size_t *bad)
{
	uint32_t acc = 0;
	size_t seen = 0, o = 0, pad = 0;

	if (n % 4 != 0) {
		*bad = len;
		return -1;
	}
	for (size_t i = 0; i < len; i++) {
		int v;

		if (is_line_break(in[i]))
			continue;
		seen++;
		if (in[i] == '=') {
			/* Padding: only the last one or two characters of the text. */
			if (seen + 1 < n) {
				*bad = i;
				return -1;
			}
			pad++;
			acc <<= 6;
		} else {
			v = b64_value(in[i]);
			if (v < 0 || pad > 0) {
				*bad = i;
				return -1;
			}
			acc = acc << 6 | (uint32_t)v;
		}
		if (seen % 4 == 0) {
			if ((pad == 2 && (acc & 0xffff)) || (pad == 1 && (acc & 0xff))) {
				*bad = i;
				return -1;
			}
			out[o++] = (uint8_t)(acc >> 16);
			if (pad < 2)
				out[o++] = (uint8_t)(acc >> 8);
			if (pad < 1)
				out[o++] = (uint8_t)acc;
			acc = 0;
		}
	}
	return (long)o;
}


int ny_bundle_seal(const char *yaml, size_t len, const uint8_t dist_priv[NY_KEY_LEN], char **b64_out)
{
	uint8_t pub[NY_KEY_LEN], z[NY_XEDDSA_RANDOM_LEN];
	uint8_t *plain = NULL, *raw = NULL;
	size_t plain_len = NY_XEDDSA_SIG_LEN + len;
	size_t raw_len = NY_XAEAD_NONCE_LEN + plain_len + NY_AEAD_TAG_LEN;
	int ret = -ENOMEM;

	*b64_out = NULL;
	if (len > NY_BUNDLE_MAX_YAML)
		return -EFBIG;
	plain = malloc(plain_len);
	raw = malloc(raw_len);
	if (!plain || !raw)
		goto out;

	/* sig(64) || yaml. XEdDSA fails only when r = 0 (mod q), about 2^-252: fresh randomness ends it. */
	memcpy(plain + NY_XEDDSA_SIG_LEN, yaml, len);
	do {
		ny_crypto_random(z, sizeof(z));
		ret = ny_xeddsa_sign(plain, dist_priv, (const uint8_t *)yaml, len, z);
	} while (ret == -EAGAIN);
	if (ret)
		goto out;

	/* nonce(24) || XChaCha20-Poly1305(key = the distribution public key, empty AD). */
	ny_crypto_x25519_public(pub, dist_priv);
	ny_crypto_random(raw, NY_XAEAD_NONCE_LEN);
	ny_crypto_xaead_seal(raw + NY_XAEAD_NONCE_LEN, plain, plain_len, NULL, 0, raw, pub);

	*b64_out = b64_encode(raw, raw_len);
	ret = *b64_out ? 0 : -ENOMEM;
out:
	if (plain)
		ny_crypto_wipe(plain, plain_len);
	free(plain);
	free(raw);
	ny_crypto_wipe(z, sizeof(z));
	ny_crypto_wipe(pub, sizeof(pub));
	return ret;
}

int ny_bundle_open(const char *b64, size_t len, const uint8_t dist_pub[NY_KEY_LEN], char **yaml_out,
		   size_t *yaml_len, char *err, size_t err_len)
{
	uint8_t *raw = NULL, *plain = NULL;
	size_t n, bad = 0, raw_len, plain_len = 0, body_len;
	long got;
	int ret;

	*yaml_out = NULL;
	*yaml_len = 0;
	/* Bound the work by the text's size before allocating anything in proportion to it. */
	n = b64_significant(b64, len);
	if (n > NY_BUNDLE_MAX_BASE64) {
		ny_dist_set_err(err, err_len, "bundle is too large: %zu base64 characters, expected at most %d (1 MiB of YAML)",
			n, NY_BUNDLE_MAX_BASE64);
		return -EFBIG;
	}
	raw = malloc(n / 4 * 3 + 1);
	if (!raw)
		return -ENOMEM;
	got = b64_decode(raw, b64, len, n, &bad);
	if (got < 0) {
		if (bad >= len)
			ny_dist_set_err(err, err_len, "bundle is not valid base64: %zu characters, expected a multiple of 4", n);
		else
			ny_dist_set_err(err, err_len, "bundle is not valid base64: unexpected character at offset %zu", bad);
		ret = -EINVAL;
		goto out;
	}
	raw_len = (size_t)got;
	if (raw_len < NY_BUNDLE_OVERHEAD) {
		ny_dist_set_err(err, err_len, "bundle is too short: %zu bytes, expected at least %d", raw_len,
			NY_BUNDLE_OVERHEAD);
		ret = -EINVAL;
		goto out;
	}

	plain_len = raw_len - NY_XAEAD_NONCE_LEN - NY_AEAD_TAG_LEN;
	plain = malloc(plain_len);
	if (!plain) {
		ret = -ENOMEM;
		goto out;
	}
	if (!ny_crypto_xaead_open(plain, raw + NY_XAEAD_NONCE_LEN, raw_len - NY_XAEAD_NONCE_LEN, NULL, 0, raw,
				  dist_pub)) {
		ny_dist_set_err(err, err_len,
			"cannot decrypt the bundle: it was sealed for another distribution key, or it was modified");
		ret = -EBADMSG;
		goto out;
	}
	body_len = plain_len - NY_XEDDSA_SIG_LEN;
	if (body_len > NY_BUNDLE_MAX_YAML) {
		ny_dist_set_err(err, err_len, "bundle is too large: %zu bytes of YAML, expected at most %d", body_len,
			NY_BUNDLE_MAX_YAML);
		ret = -EFBIG;
		goto out;
	}
	if (!ny_xeddsa_verify(plain, dist_pub, plain + NY_XEDDSA_SIG_LEN, body_len)) {
		ny_dist_set_err(err, err_len, "bad bundle signature: not signed by the distribution key");
		ret = -EKEYREJECTED;
		goto out;
	}
	*yaml_out = malloc(body_len + 1);
	if (!*yaml_out) {
		ret = -ENOMEM;
		goto out;
	}
	memcpy(*yaml_out, plain + NY_XEDDSA_SIG_LEN, body_len);
	(*yaml_out)[body_len] = '\0';
	*yaml_len = body_len;
	ret = 0;
out:
	if (plain)
		ny_crypto_wipe(plain, plain_len);
	free(plain);
	free(raw);
	return ret;
}
