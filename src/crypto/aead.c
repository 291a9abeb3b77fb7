/* Transport AEAD providers: OpenSSL EVP ChaCha20-Poly1305 and libsodium's, byte-for-byte identical. */
#include "nylon/aead.h"

#include <errno.h>
#include <openssl/evp.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/nonce.h"

struct ny_aead_ctx {
	enum ny_aead_provider provider;
	EVP_CIPHER_CTX *enc; /* OpenSSL: cipher and key set once, the nonce per packet */
	EVP_CIPHER_CTX *dec;
	uint8_t key[32]; /* libsodium: the key of the current batch */
};

const char *ny_aead_provider_name(enum ny_aead_provider provider)
{
	return provider == NY_AEAD_SODIUM ? "sodium" : "openssl";
}

int ny_aead_provider_parse(const char *name, enum ny_aead_provider *out)
{
	if (strcmp(name, "openssl") == 0)
		*out = NY_AEAD_OPENSSL;
	else if (strcmp(name, "sodium") == 0)
		*out = NY_AEAD_SODIUM;
	else
		return -EINVAL;
	return 0;
}

static bool openssl_ctx_init(EVP_CIPHER_CTX **ctx, int encrypt)
{
	*ctx = EVP_CIPHER_CTX_new();
	return *ctx && EVP_CipherInit_ex(*ctx, EVP_chacha20_poly1305(), NULL, NULL, NULL, encrypt) == 1;
}

struct ny_aead_ctx *ny_aead_ctx_new(enum ny_aead_provider provider)
{
	struct ny_aead_ctx *ctx = calloc(1, sizeof(*ctx));

	if (!ctx)
		return NULL;
	ctx->provider = provider;
	if (provider == NY_AEAD_OPENSSL && (!openssl_ctx_init(&ctx->enc, 1) || !openssl_ctx_init(&ctx->dec, 0))) {
		ny_aead_ctx_free(ctx);
		return NULL;
	}
	return ctx;
}

void ny_aead_ctx_free(struct ny_aead_ctx *ctx)
{
	if (!ctx)
		return;
	EVP_CIPHER_CTX_free(ctx->enc); /* EVP_CIPHER_CTX_free cleanses the key schedule */
	EVP_CIPHER_CTX_free(ctx->dec);
	sodium_memzero(ctx->key, sizeof(ctx->key));
	free(ctx);
}

enum ny_aead_provider ny_aead_ctx_provider(const struct ny_aead_ctx *ctx)
{
	return ctx->provider;
}

void ny_aead_set_key(struct ny_aead_ctx *ctx, const uint8_t key[32])
{
	if (ctx->provider == NY_AEAD_OPENSSL) {
		EVP_CipherInit_ex(ctx->enc, NULL, NULL, key, NULL, 1);
		EVP_CipherInit_ex(ctx->dec, NULL, NULL, key, NULL, 0);
	} else {
		memcpy(ctx->key, key, sizeof(ctx->key));
	}
}

static int openssl_seal(EVP_CIPHER_CTX *c, const uint8_t nonce[12], uint8_t *buf, size_t len)
{
	int out_len = 0;

	if (len > INT32_MAX || EVP_CipherInit_ex(c, NULL, NULL, NULL, nonce, 1) != 1 ||
	    EVP_EncryptUpdate(c, buf, &out_len, buf, (int)len) != 1 ||
	    EVP_EncryptFinal_ex(c, buf + out_len, &out_len) != 1 ||
	    EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_GET_TAG, 16, buf + len) != 1)
		return -EIO;
	return 0;
}

static bool openssl_open(EVP_CIPHER_CTX *c, const uint8_t nonce[12], uint8_t *buf, size_t len)
{
	int out_len = 0;
	size_t plain = len - 16;

	return plain <= INT32_MAX && EVP_CipherInit_ex(c, NULL, NULL, NULL, nonce, 0) == 1 &&
	       EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_SET_TAG, 16, buf + plain) == 1 &&
	       EVP_DecryptUpdate(c, buf, &out_len, buf, (int)plain) == 1 &&
	       EVP_DecryptFinal_ex(c, buf + out_len, &out_len) == 1;
}

int ny_aead_seal(struct ny_aead_ctx *ctx, uint64_t counter, uint8_t *buf, size_t len)
{
	uint8_t nonce[12];

	ny_crypto_counter_nonce(nonce, counter);
	if (ctx->provider == NY_AEAD_OPENSSL)
		return openssl_seal(ctx->enc, nonce, buf, len);
	crypto_aead_chacha20poly1305_ietf_encrypt_detached(buf, buf + len, NULL, buf, len, NULL, 0, NULL, nonce,
							   ctx->key);
	return 0;
}

bool ny_aead_open(struct ny_aead_ctx *ctx, uint64_t counter, uint8_t *buf, size_t len)
{
	uint8_t nonce[12];

	if (len < 16)
		return false;
	ny_crypto_counter_nonce(nonce, counter);
	if (ctx->provider == NY_AEAD_OPENSSL)
		return openssl_open(ctx->dec, nonce, buf, len);
	return crypto_aead_chacha20poly1305_ietf_decrypt_detached(buf, NULL, buf, len - 16, buf + len - 16, NULL, 0,
								  nonce, ctx->key) == 0;
}
