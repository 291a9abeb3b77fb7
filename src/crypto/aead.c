/* Transport AEAD providers: OpenSSL's ChaCha20 and Poly1305, and libsodium's ChaCha20-Poly1305, byte-for-byte
 * identical. */
#include "nylon/aead.h"

#include <endian.h>
#include <errno.h>
#include <openssl/core_dispatch.h>
#include <openssl/crypto.h>
#include <openssl/provider.h>
#include <pthread.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "crypto/chacha8.h"
#include "crypto/nonce.h"
#include "crypto/poly8.h"
#include "nylon/base.h"

/* The OpenSSL provider computes ChaCha20-Poly1305 from its two halves rather than through the EVP AEAD: the
 * AEAD derives the Poly1305 key with a ChaCha20 call of one block and encrypts a length that is not a multiple of
 * 64 with one more, and each short call takes the slow path of the vector code (on AVX-512, a 64-byte call costs
 * about as much as 256 bytes). Here one ChaCha20 call from block counter 0 covers the Poly1305 key block and the
 * whole message rounded up to 64 bytes, in a scratch buffer that holds [64 zero bytes | message | pad]; Poly1305
 * runs over the ciphertext (RFC 8439 §2.8, no associated data). At 1,424 B this takes about 0.65 of the EVP AEAD's
 * time, copies included.
 *
 * Both halves are called through the default provider's dispatch tables (OSSL_PROVIDER_query_operation), the
 * functions libcrypto's EVP layer calls itself: the EVP wrappers look parameters up by name on every call (the
 * IV length when a nonce is set, the MAC size at the end), about 85 ns of a 700-ns packet.
 *
 * On CPUs with AVX-512, OpenSSL's ChaCha20 computes 16 blocks per pass whatever is left (a 1,420-byte packet needs
 * 24 blocks and gets 32) and runs messages of at most 512 bytes on a slower path still: there the last 1-8 blocks,
 * or the whole of a message of at most 8 blocks, go through our 8-lane code (crypto/chacha8.h) instead. And a batch
 * of messages (ny_aead_seal_many / ny_aead_open_many) runs all its blocks through our 32-lane code, one block per
 * lane whatever message it belongs to, so no pass is left part empty but the batch's last. */
#define SCRATCH_LEN (64 + NY_AEAD_MAX_LEN + 64)

/* The default provider's ChaCha20 and Poly1305, found once per process. */
static struct {
	OSSL_PROVIDER *prov;
	void *provctx;
	OSSL_FUNC_cipher_newctx_fn *cipher_new;
	OSSL_FUNC_cipher_freectx_fn *cipher_free;
	OSSL_FUNC_cipher_encrypt_init_fn *cipher_init;
	OSSL_FUNC_cipher_update_fn *cipher_update;
	OSSL_FUNC_mac_newctx_fn *mac_new;
	OSSL_FUNC_mac_freectx_fn *mac_free;
	OSSL_FUNC_mac_init_fn *mac_init;
	OSSL_FUNC_mac_update_fn *mac_update;
	OSSL_FUNC_mac_final_fn *mac_final;
	bool ok;
	bool chacha8; /* ny_chacha8_usable(): the 8-lane and the 32-lane code */
	bool poly8;   /* ny_poly8_usable(): up to sixteen Poly1305 messages at once */
} ossl;
static pthread_once_t ossl_once = PTHREAD_ONCE_INIT;

/* Whether name is one of the colon-separated names of an algorithm. */
static bool names_include(const char *names, const char *name)
{
	size_t len = strlen(name);

	for (const char *p = names; p && *p; p = strchr(p, ':') ? strchr(p, ':') + 1 : NULL)
		if (strncasecmp(p, name, len) == 0 && (p[len] == ':' || p[len] == '\0'))
			return true;
	return false;
}

static const OSSL_DISPATCH *ossl_find(int operation, const char *name)
{
	int no_cache;
	const OSSL_ALGORITHM *alg = OSSL_PROVIDER_query_operation(ossl.prov, operation, &no_cache);

	for (; alg && alg->algorithm_names; alg++)
		if (names_include(alg->algorithm_names, name))
			return alg->implementation;
	return NULL;
}

static void ossl_load(void)
{
	const OSSL_DISPATCH *f;

	if (!(ossl.prov = OSSL_PROVIDER_load(NULL, "default"))) /* held for the process's life */
		return;
	ossl.provctx = OSSL_PROVIDER_get0_provider_ctx(ossl.prov);
	for (f = ossl_find(OSSL_OP_CIPHER, "ChaCha20"); f && f->function_id; f++) {
		switch (f->function_id) {
		case OSSL_FUNC_CIPHER_NEWCTX: ossl.cipher_new = OSSL_FUNC_cipher_newctx(f); break;
		case OSSL_FUNC_CIPHER_FREECTX: ossl.cipher_free = OSSL_FUNC_cipher_freectx(f); break;
		case OSSL_FUNC_CIPHER_ENCRYPT_INIT: ossl.cipher_init = OSSL_FUNC_cipher_encrypt_init(f); break;
		case OSSL_FUNC_CIPHER_UPDATE: ossl.cipher_update = OSSL_FUNC_cipher_update(f); break;
		}
	}
	for (f = ossl_find(OSSL_OP_MAC, "POLY1305"); f && f->function_id; f++) {
		switch (f->function_id) {
		case OSSL_FUNC_MAC_NEWCTX: ossl.mac_new = OSSL_FUNC_mac_newctx(f); break;
		case OSSL_FUNC_MAC_FREECTX: ossl.mac_free = OSSL_FUNC_mac_freectx(f); break;
		case OSSL_FUNC_MAC_INIT: ossl.mac_init = OSSL_FUNC_mac_init(f); break;
		case OSSL_FUNC_MAC_UPDATE: ossl.mac_update = OSSL_FUNC_mac_update(f); break;
		case OSSL_FUNC_MAC_FINAL: ossl.mac_final = OSSL_FUNC_mac_final(f); break;
		}
	}
	ossl.chacha8 = ny_chacha8_usable();
	ossl.poly8 = ny_poly8_usable();
	ossl.ok = ossl.cipher_new && ossl.cipher_free && ossl.cipher_init && ossl.cipher_update && ossl.mac_new &&
		  ossl.mac_free && ossl.mac_init && ossl.mac_update && ossl.mac_final;
}

struct ny_aead_ctx {
	enum ny_aead_provider provider;
	void *stream;     /* OpenSSL: ChaCha20, the key set once a batch, the counter and nonce per packet */
	void *mac;        /* Poly1305, keyed per packet */
	uint8_t *scratch; /* SCRATCH_LEN bytes */
	uint8_t key[32];  /* the key of the current batch (libsodium's, and our 8-lane ChaCha20's) */
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

static bool openssl_ctx_init(struct ny_aead_ctx *ctx)
{
	pthread_once(&ossl_once, ossl_load);
	if (!ossl.ok)
		return false;
	ctx->stream = ossl.cipher_new(ossl.provctx);
	ctx->mac = ossl.mac_new(ossl.provctx);
	ctx->scratch = malloc(SCRATCH_LEN);
	return ctx->stream && ctx->mac && ctx->scratch;
}

struct ny_aead_ctx *ny_aead_ctx_new(enum ny_aead_provider provider)
{
	struct ny_aead_ctx *ctx = calloc(1, sizeof(*ctx));

	if (!ctx)
		return NULL;
	ctx->provider = provider;
	if (provider == NY_AEAD_OPENSSL && !openssl_ctx_init(ctx)) {
		ny_aead_ctx_free(ctx);
		return NULL;
	}
	return ctx;
}

void ny_aead_ctx_free(struct ny_aead_ctx *ctx)
{
	if (!ctx)
		return;
	if (ctx->stream) /* both free functions cleanse their keys */
		ossl.cipher_free(ctx->stream);
	if (ctx->mac)
		ossl.mac_free(ctx->mac);
	if (ctx->scratch)
		OPENSSL_cleanse(ctx->scratch, SCRATCH_LEN); /* the last message and its Poly1305 key */
	free(ctx->scratch);
	sodium_memzero(ctx->key, sizeof(ctx->key));
	free(ctx);
}

enum ny_aead_provider ny_aead_ctx_provider(const struct ny_aead_ctx *ctx)
{
	return ctx->provider;
}

void ny_aead_set_key(struct ny_aead_ctx *ctx, const uint8_t key[32])
{
	if (ctx->provider == NY_AEAD_OPENSSL)
		ossl.cipher_init(ctx->stream, key, 32, NULL, 0, NULL);
	memcpy(ctx->key, key, sizeof(ctx->key));
}

/* Runs ChaCha20 from block 0 over [zeros | buf[0, len) | pad] in the scratch buffer: afterwards the scratch holds
 * the Poly1305 key in its first 32 bytes and buf XOR keystream from byte 64. */
static bool openssl_xor(struct ny_aead_ctx *ctx, const uint8_t nonce[12], const uint8_t *buf, size_t len)
{
	uint8_t iv[16] = { 0 }; /* 32-bit little-endian block counter, then the nonce */
	size_t whole = 64 + ((len + 63) & ~(size_t)63), head = whole, out_len;

	memcpy(iv + 4, nonce, 12);
	memset(ctx->scratch, 0, 64);
	memcpy(ctx->scratch + 64, buf, len);
	/* OpenSSL takes whole 16-block passes; at most 8 blocks past the last one are ours. */
	if (ossl.chacha8 && whole % 1024 != 0 && whole % 1024 <= 512)
		head = whole - whole % 1024;
	if (head && (ossl.cipher_init(ctx->stream, NULL, 0, iv, sizeof(iv), NULL) != 1 ||
		     ossl.cipher_update(ctx->stream, ctx->scratch, &out_len, head, ctx->scratch, head) != 1))
		return false;
	if (head < whole)
		ny_chacha8_xor(ctx->key, (uint32_t)(head / 64), nonce, ctx->scratch + head, (unsigned)((whole - head) / 64));
	return true;
}

/* The Poly1305 tag of ciphertext ct[0, len) under the one-time key poly_key. */
static bool openssl_tag(struct ny_aead_ctx *ctx, const uint8_t *poly_key, const uint8_t *ct, size_t len,
			uint8_t tag[16])
{
	static const uint8_t zeros[16];
	uint8_t lengths[16] = { 0 }; /* le64(associated data length = 0) || le64(len) */
	size_t tag_len;

	for (int i = 0; i < 8; i++)
		lengths[8 + i] = (uint8_t)((uint64_t)len >> (8 * i));
	return ossl.mac_init(ctx->mac, poly_key, 32, NULL) == 1 && ossl.mac_update(ctx->mac, ct, len) == 1 &&
	       (len % 16 == 0 || ossl.mac_update(ctx->mac, zeros, 16 - len % 16) == 1) &&
	       ossl.mac_update(ctx->mac, lengths, sizeof(lengths)) == 1 &&
	       ossl.mac_final(ctx->mac, tag, &tag_len, 16) == 1 && tag_len == 16;
}

/* One message through the scratch buffer. seal: the ciphertext back into buf, the tag after it. open: the tag of
 * the ciphertext in buf checked, and only then the plaintext back into buf. */
static int openssl_seal(struct ny_aead_ctx *ctx, const uint8_t nonce[12], uint8_t *buf, size_t len)
{
	if (len > NY_AEAD_MAX_LEN || !openssl_xor(ctx, nonce, buf, len))
		return -EIO;
	memcpy(buf, ctx->scratch + 64, len);
	return openssl_tag(ctx, ctx->scratch, buf, len, buf + len) ? 0 : -EIO;
}

static bool openssl_open(struct ny_aead_ctx *ctx, const uint8_t nonce[12], uint8_t *buf, size_t len)
{
	size_t plain = len - 16;
	uint8_t tag[16];

	if (plain > NY_AEAD_MAX_LEN || !openssl_xor(ctx, nonce, buf, plain) ||
	    !openssl_tag(ctx, ctx->scratch, buf, plain, tag) || CRYPTO_memcmp(tag, buf + plain, 16) != 0)
		return false;
	memcpy(buf, ctx->scratch + 64, plain);
	return true;
}

int ny_aead_seal(struct ny_aead_ctx *ctx, uint64_t counter, uint8_t *buf, size_t len)
{
	uint8_t nonce[12];

	ny_crypto_counter_nonce(nonce, counter);
	if (ctx->provider == NY_AEAD_OPENSSL)
		return openssl_seal(ctx, nonce, buf, len);
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
		return openssl_open(ctx, nonce, buf, len);
	return crypto_aead_chacha20poly1305_ietf_decrypt_detached(buf, NULL, buf, len - 16, buf + len - 16, NULL, 0,
								  nonce, ctx->key) == 0;
}

/* ---- batches ------------------------------------------------------------------------------------------------ */

/* A batch works on the messages where they lie: ChaCha20 XORs each whole 64-byte block of a message in place, so
 * only the Poly1305 key block and a last partial block of each message pass through the scratch buffer (the
 * single-message path copies the whole message in and out). Poly1305 then runs up to sixteen messages at a time
 * where the CPU has IFMA (crypto/poly8.h), sorted by length so that the lanes of a group finish together. */
#define MANY_MAX 64 /* messages per shared ChaCha20 run */
#define KEYBLK(ctx, k) ((ctx)->scratch + 64 * (size_t)(k))                 /* ChaCha20 block 0 of message k */
#define TAILBLK(ctx, k) ((ctx)->scratch + 64 * (size_t)(MANY_MAX + (k))) /* its last partial block */
#define POLY8_MIN 4 /* fewer messages than this take OpenSSL's Poly1305 one by one */
_Static_assert(SCRATCH_LEN >= 2 * 64 * MANY_MAX, "the scratch buffer holds the batch's key and tail blocks");

/* ChaCha20 blocks of many messages in passes of up to 32 lanes, one block per lane whatever message it belongs
 * to. */
struct many_run {
	struct ny_aead_ctx *ctx;
	struct ny_chacha_lanes lanes;
	unsigned used;
};

/* Adds blocks counter .. counter + count - 1 of one message (its nonce as the state words) to the run, block i
 * XORed into out + 64 i; each full pass runs at once. The lanes are filled a stretch at a time, in loops the
 * compiler vectorises, rather than one block per call. */
static void run_blocks(struct many_run *run, uint32_t counter, const uint32_t words[3], uint8_t *out, size_t count)
{
	struct ny_chacha_lanes *lanes = &run->lanes;

	while (count) {
		unsigned used = run->used, k = count < NY_CHACHA_LANES - used ? (unsigned)count : NY_CHACHA_LANES - used;

		for (unsigned i = 0; i < k; i++) {
			lanes->counter[used + i] = counter + i;
			lanes->nonce[0][used + i] = words[0];
			lanes->nonce[1][used + i] = words[1];
			lanes->nonce[2][used + i] = words[2];
			lanes->out[used + i] = out + 64 * (size_t)i;
		}
		counter += k;
		out += 64 * (size_t)k;
		count -= k;
		run->used = used + k;
		if (run->used == NY_CHACHA_LANES) {
			ny_chacha32_xor(run->ctx->key, lanes, NY_CHACHA_LANES);
			run->used = 0;
		}
	}
}

static void run_flush(struct many_run *run)
{
	if (run->used)
		ny_chacha32_xor(run->ctx->key, &run->lanes, run->used);
	run->used = 0;
}

/* The nonce of a counter as the cipher's three state words. */
static void nonce_words(uint64_t counter, uint32_t words[3])
{
	uint8_t nonce[12];

	ny_crypto_counter_nonce(nonce, counter);
	memcpy(words, nonce, 12);
	for (int w = 0; w < 3; w++)
		words[w] = le32toh(words[w]);
}

/* For messages k < n with use[k] (all if use is NULL): with keys, block 0 of the keystream into KEYBLK(k) (its
 * first 32 bytes are the Poly1305 key); with data, msgs[k][0, lens[k]) XOR blocks 1.. of the keystream, in
 * place. */
static void xor_many(struct ny_aead_ctx *ctx, const uint64_t counters[], uint8_t *const msgs[], const size_t lens[],
		     size_t n, const bool use[], bool keys, bool data)
{
	struct many_run run = { .ctx = ctx };

	for (size_t k = 0; k < n; k++) {
		size_t whole = lens[k] / 64, rem = lens[k] % 64;
		uint32_t words[3];

		if (use && !use[k])
			continue;
		nonce_words(counters[k], words);
		if (keys) {
			memset(KEYBLK(ctx, k), 0, 64);
			run_blocks(&run, 0, words, KEYBLK(ctx, k), 1);
		}
		if (!data)
			continue;
		run_blocks(&run, 1, words, msgs[k], whole);
		if (rem) {
			memcpy(TAILBLK(ctx, k), msgs[k] + 64 * whole, rem);
			run_blocks(&run, (uint32_t)(whole + 1), words, TAILBLK(ctx, k), 1);
		}
	}
	run_flush(&run);
	for (size_t k = 0; data && k < n; k++)
		if ((!use || use[k]) && lens[k] % 64)
			memcpy(msgs[k] + lens[k] / 64 * 64, TAILBLK(ctx, k), lens[k] % 64);
}

/* The AEAD tags of msgs[k][0, lens[k]) under the Poly1305 keys in KEYBLK(k), k < n (at most MANY_MAX). */
static bool tags_many(struct ny_aead_ctx *ctx, uint8_t *const msgs[], const size_t lens[], uint8_t *const tags[],
		      size_t n)
{
	uint8_t order[MANY_MAX];
	size_t k = 0;

	for (size_t i = 0; i < n; i++) { /* insertion sort by length: a batch is mostly of one or two lengths */
		size_t j = i;

		for (; j > 0 && lens[order[j - 1]] > lens[i]; j--)
			order[j] = order[j - 1];
		order[j] = (uint8_t)i;
	}
	while (ossl.poly8 && n - k >= POLY8_MIN) {
		const uint8_t *g_keys[16], *g_msgs[16];
		uint8_t *g_tags[16];
		size_t g_lens[16];
		unsigned g = n - k < 16 ? (unsigned)(n - k) : 16;

		for (unsigned l = 0; l < g; l++) {
			g_keys[l] = KEYBLK(ctx, order[k + l]);
			g_msgs[l] = msgs[order[k + l]];
			g_lens[l] = lens[order[k + l]];
			g_tags[l] = tags[order[k + l]];
		}
		ny_poly8_aead_tags(g_keys, g_msgs, g_lens, g_tags, g);
		k += g;
	}
	for (; k < n; k++)
		if (!openssl_tag(ctx, KEYBLK(ctx, order[k]), msgs[order[k]], lens[order[k]], tags[order[k]]))
			return false;
	return true;
}

int ny_aead_seal_many(struct ny_aead_ctx *ctx, const uint64_t counters[], uint8_t *const bufs[], const size_t lens[],
		      size_t n)
{
	/* One message alone fills no more lanes than the single-message path, which is a little faster. */
	if (ctx->provider != NY_AEAD_OPENSSL || !ossl.chacha8 || n == 1) {
		for (size_t i = 0; i < n; i++)
			if (ny_aead_seal(ctx, counters[i], bufs[i], lens[i]) < 0)
				return -EIO;
		return 0;
	}
	for (size_t i = 0, per = ny_even_chunk(n, MANY_MAX); i < n; i += per) {
		size_t m = n - i < per ? n - i : per;
		uint8_t *tags[MANY_MAX];

		for (size_t k = 0; k < m; k++) {
			if (lens[i + k] > NY_AEAD_MAX_LEN)
				return -EIO;
			tags[k] = bufs[i + k] + lens[i + k];
		}
		xor_many(ctx, counters + i, bufs + i, lens + i, m, NULL, true, true);
		if (!tags_many(ctx, bufs + i, lens + i, tags, m))
			return -EIO;
	}
	return 0;
}

void ny_aead_open_many(struct ny_aead_ctx *ctx, const uint64_t counters[], uint8_t *const bufs[], const size_t lens[],
		       bool ok[], size_t n)
{
	if (ctx->provider != NY_AEAD_OPENSSL || !ossl.chacha8 || n == 1) {
		for (size_t i = 0; i < n; i++)
			ok[i] = ny_aead_open(ctx, counters[i], bufs[i], lens[i]);
		return;
	}
	for (size_t i = 0, per = ny_even_chunk(n, MANY_MAX); i < n; i += per) {
		size_t m = n - i < per ? n - i : per, plain[MANY_MAX];
		uint8_t tag[MANY_MAX][16], *tags[MANY_MAX];
		bool *use = ok + i;

		/* The tags are checked first; only the messages that verify are decrypted. A message too short for
		 * its tag, or too long, is tagged as one of length 0 and fails. */
		for (size_t k = 0; k < m; k++) {
			use[k] = lens[i + k] >= 16 && lens[i + k] - 16 <= NY_AEAD_MAX_LEN;
			plain[k] = use[k] ? lens[i + k] - 16 : 0;
			tags[k] = tag[k];
		}
		xor_many(ctx, counters + i, bufs + i, plain, m, NULL, true, false);
		if (!tags_many(ctx, bufs + i, plain, tags, m)) {
			memset(use, 0, m * sizeof(*use));
			continue;
		}
		for (size_t k = 0; k < m; k++)
			use[k] = use[k] && CRYPTO_memcmp(tag[k], bufs[i + k] + plain[k], 16) == 0;
		xor_many(ctx, counters + i, bufs + i, plain, m, use, false, true);
	}
}
