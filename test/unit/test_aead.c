/* The transport AEAD providers of src/crypto/aead.c: OpenSSL and libsodium must produce the same bytes, open each
 * other's packets, and agree with ny_crypto_aead_seal() with no associated data, which test_crypto.c checks
 * against RFC 8439 Appendix A.5; that chains both providers to the RFC. A few packets are also checked against
 * values computed outside this code. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "nylon/aead.h"
#include "nylon/crypto.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))
#define MAX_PLAIN 65535
#define PROVIDERS 2

/* Besides the edges, lengths whose ChaCha20 ends in each of the ways aead.c splits it: 8 blocks all of our
 * 8-lane code (400, 448), one 16-block pass of OpenSSL's (449, 960), 16 blocks and 1 or 8 of ours (1000, 1420). */
static const size_t sizes[] = { 0, 1, 15, 16, 17, 63, 64, 400, 448, 449, 960, 1000, 1420, 1500, 65535 };
static const uint64_t counters[] = { 0, 1, UINT64_C(1) << 32, UINT64_MAX - 1 };
static const enum ny_aead_provider providers[PROVIDERS] = { NY_AEAD_OPENSSL, NY_AEAD_SODIUM };

static struct ny_aead_ctx *ctx[PROVIDERS];
static uint8_t *plain, *sealed[PROVIDERS], *reference, *work;

static void setup(void)
{
	cr_assert_eq(ny_crypto_init(), 0);
	for (int p = 0; p < PROVIDERS; p++) {
		ctx[p] = ny_aead_ctx_new(providers[p]);
		if (!ctx[p])
			cr_skip_test("the %s provider cannot be set up on this host", ny_aead_provider_name(providers[p]));
		cr_assert_eq(ny_aead_ctx_provider(ctx[p]), providers[p]);
		sealed[p] = malloc(MAX_PLAIN + NY_AEAD_TAG_LEN);
		cr_assert_not_null(sealed[p]);
	}
	plain = malloc(MAX_PLAIN);
	reference = malloc(MAX_PLAIN + NY_AEAD_TAG_LEN);
	work = malloc(MAX_PLAIN + NY_AEAD_TAG_LEN);
	cr_assert(plain && reference && work);
	for (size_t i = 0; i < MAX_PLAIN; i++)
		plain[i] = (uint8_t)(i * 131 + 7);
}

static void teardown(void)
{
	for (int p = 0; p < PROVIDERS; p++) {
		ny_aead_ctx_free(ctx[p]);
		free(sealed[p]);
	}
	free(plain);
	free(reference);
	free(work);
}

TestSuite(aead, .init = setup, .fini = teardown);

static void make_key(uint8_t key[NY_KEY_LEN], uint8_t salt)
{
	for (size_t i = 0; i < NY_KEY_LEN; i++)
		key[i] = (uint8_t)(i * 29 + salt);
}

static void set_key_all(const uint8_t key[NY_KEY_LEN])
{
	for (int p = 0; p < PROVIDERS; p++)
		ny_aead_set_key(ctx[p], key);
}

/* Seals plain[0, len) with provider p into sealed[p]. */
static void seal_with(int p, uint64_t counter, size_t len)
{
	memcpy(sealed[p], plain, len);
	cr_assert_eq(ny_aead_seal(ctx[p], counter, sealed[p], len), 0, "%s: seal of %zu bytes failed",
		     ny_aead_provider_name(providers[p]), len);
}

/* Opens a copy of src (len + tag) with provider p; on success checks the plaintext. */
static bool open_copy(int p, uint64_t counter, const uint8_t *src, size_t len)
{
	memcpy(work, src, len + NY_AEAD_TAG_LEN);
	if (!ny_aead_open(ctx[p], counter, work, len + NY_AEAD_TAG_LEN))
		return false;
	cr_assert_eq(memcmp(work, plain, len), 0, "%s: opened %zu bytes to the wrong plaintext",
		     ny_aead_provider_name(providers[p]), len);
	return true;
}

/* Keys every provider with the key made from salt, then runs check for every size and counter. */
static void each_size_and_counter(uint8_t salt,
				  void (*check)(const uint8_t key[NY_KEY_LEN], size_t len, uint64_t counter))
{
	uint8_t key[NY_KEY_LEN];

	make_key(key, salt);
	set_key_all(key);
	for (size_t s = 0; s < ARRAY_LEN(sizes); s++) {
		for (size_t c = 0; c < ARRAY_LEN(counters); c++)
			check(key, sizes[s], counters[c]);
	}
}

static void agrees_with_the_handshake_aead(const uint8_t key[NY_KEY_LEN], size_t len, uint64_t counter)
{
	ny_crypto_aead_seal(reference, plain, len, NULL, 0, counter, key);
	for (int p = 0; p < PROVIDERS; p++) {
		seal_with(p, counter, len);
		cr_assert_eq(memcmp(sealed[p], reference, len + NY_AEAD_TAG_LEN), 0,
			     "%s differs from ny_crypto_aead_seal: %zu bytes, counter %llu",
			     ny_aead_provider_name(providers[p]), len, (unsigned long long)counter);
	}
}

Test(aead, providers_agree_byte_for_byte_with_the_handshake_aead)
{
	each_size_and_counter(1, agrees_with_the_handshake_aead);
}

static void opens_the_others_packets(const uint8_t key[NY_KEY_LEN], size_t len, uint64_t counter)
{
	for (int from = 0; from < PROVIDERS; from++) {
		seal_with(from, counter, len);
		for (int to = 0; to < PROVIDERS; to++)
			cr_assert(open_copy(to, counter, sealed[from], len),
				  "%s cannot open %s's %zu bytes at counter %llu", ny_aead_provider_name(providers[to]),
				  ny_aead_provider_name(providers[from]), len, (unsigned long long)counter);
	}
	cr_assert(ny_crypto_aead_open(work, sealed[0], len + NY_AEAD_TAG_LEN, NULL, 0, counter, key));
}

Test(aead, each_provider_opens_the_others_packets)
{
	each_size_and_counter(2, opens_the_others_packets);
}

struct transport_vector {
	size_t len;
	uint64_t counter;
	const char *sealed;
};

/* key = 00 01 .. 1f, plaintext = 00 01 .. (len - 1), no associated data, nonce = 00000000 || counter in
 * little-endian (whitepaper §5.4.6). Source: Python 3.11 cryptography 48 ChaCha20Poly1305(key).encrypt(
 * b"\0" * 4 + struct.pack("<Q", counter), plaintext, None). */
static const struct transport_vector transport_vectors[] = {
	{ 0, 1, "a8d30d2553bfe08494e6aa8fd5b07296" },
	{ 17, UINT64_MAX - 1, "501638062838879352f7300e86040d7fb51d4752662e810ba422c219c911f6ad52" },
	{ 64, UINT64_C(1) << 32,
	  "537103750dde416a8ed8aaccc9c8ed9c5694d7099e8ef950eb64457f11df4f5ce7874fbc60d83df3d44eea52080dfbb6"
	  "b016101e446ad125279e17f180f22a0052fb45ff01236328faa8530f699c1fc6" },
};

static uint8_t hex_byte(const char *h)
{
	unsigned v = 0;

	for (int i = 0; i < 2; i++) {
		char c = h[i];

		cr_assert((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'), "bad hex digit in a test vector");
		v = v << 4 | (unsigned)(c <= '9' ? c - '0' : c - 'a' + 10);
	}
	return (uint8_t)v;
}

Test(aead, providers_match_an_independent_computation_of_wireguard_nonces)
{
	uint8_t key[NY_KEY_LEN], buf[128];

	for (size_t i = 0; i < NY_KEY_LEN; i++)
		key[i] = (uint8_t)i;
	set_key_all(key);
	for (size_t v = 0; v < ARRAY_LEN(transport_vectors); v++) {
		const struct transport_vector *t = &transport_vectors[v];

		cr_assert_eq(strlen(t->sealed), 2 * (t->len + NY_AEAD_TAG_LEN));
		for (int p = 0; p < PROVIDERS; p++) {
			for (size_t i = 0; i < t->len; i++)
				buf[i] = (uint8_t)i;
			cr_assert_eq(ny_aead_seal(ctx[p], t->counter, buf, t->len), 0);
			for (size_t i = 0; i < t->len + NY_AEAD_TAG_LEN; i++)
				cr_assert_eq(buf[i], hex_byte(t->sealed + 2 * i), "%s: vector %zu, byte %zu",
					     ny_aead_provider_name(providers[p]), v, i);
		}
	}
}

/* Through the ciphertext by stride, then its last byte, then every byte of the tag. */
static size_t next_position(size_t byte, size_t len, size_t stride)
{
	if (byte >= len || byte + 1 == len)
		return byte + 1;
	return byte + stride < len ? byte + stride : len - 1;
}

/* Flips every bit of the packet (all of them for small packets, a stride through large ones plus every tag
 * bit) and expects both providers to refuse each. */
Test(aead, a_flipped_bit_anywhere_fails_to_open_with_both_providers)
{
	static const size_t tamper_sizes[] = { 0, 1, 17, 64, 1420, 65535 };
	uint8_t key[NY_KEY_LEN];
	const uint64_t counter = 7;

	make_key(key, 3);
	set_key_all(key);
	for (size_t s = 0; s < ARRAY_LEN(tamper_sizes); s++) {
		size_t len = tamper_sizes[s], total = len + NY_AEAD_TAG_LEN;
		size_t stride = len > 64 ? 61 : 1;

		seal_with(0, counter, len);
		for (size_t byte = 0; byte < total; byte = next_position(byte, len, stride)) {
			for (int bit = 0; bit < 8; bit++) {
				sealed[0][byte] ^= (uint8_t)(1u << bit);
				for (int p = 0; p < PROVIDERS; p++)
					cr_assert_not(open_copy(p, counter, sealed[0], len),
						      "%s opened %zu bytes with byte %zu bit %d flipped",
						      ny_aead_provider_name(providers[p]), len, byte, bit);
				sealed[0][byte] ^= (uint8_t)(1u << bit);
			}
		}
		for (int p = 0; p < PROVIDERS; p++)
			cr_assert(open_copy(p, counter, sealed[0], len), "untampered packet no longer opens");
	}
}

Test(aead, a_wrong_counter_fails_to_open)
{
	static const uint64_t wrong[] = { 1, 2, UINT64_C(1) << 8, UINT64_C(1) << 32, UINT64_C(1) << 63 };
	uint8_t key[NY_KEY_LEN];

	make_key(key, 4);
	set_key_all(key);
	for (size_t c = 0; c < ARRAY_LEN(counters); c++) {
		uint64_t counter = counters[c];

		for (int p = 0; p < PROVIDERS; p++) {
			seal_with(p, counter, 1420);
			for (size_t w = 0; w < ARRAY_LEN(wrong); w++)
				for (int q = 0; q < PROVIDERS; q++)
					cr_assert_not(open_copy(q, counter ^ wrong[w], sealed[p], 1420),
						      "%s opened counter %llu's packet as counter %llu",
						      ny_aead_provider_name(providers[q]), (unsigned long long)counter,
						      (unsigned long long)(counter ^ wrong[w]));
			cr_assert(open_copy(p, counter, sealed[p], 1420));
		}
	}
}

Test(aead, packets_shorter_than_a_tag_fail_to_open)
{
	uint8_t buf[NY_AEAD_TAG_LEN] = { 0 };

	for (int p = 0; p < PROVIDERS; p++)
		for (size_t len = 0; len < NY_AEAD_TAG_LEN; len++)
			cr_assert_not(ny_aead_open(ctx[p], 0, buf, len), "%s opened %zu bytes",
				      ny_aead_provider_name(providers[p]), len);
}

/* One context serves several keypairs in turn: each set_key must fully replace the previous key. */
Test(aead, switching_keys_between_packets_uses_the_new_key)
{
	uint8_t keys[2][NY_KEY_LEN];

	make_key(keys[0], 5);
	make_key(keys[1], 6);
	for (int round = 0; round < 8; round++) {
		int k = round % 2;
		uint64_t counter = (uint64_t)round;
		size_t len = 100 + (size_t)round;

		ny_crypto_aead_seal(reference, plain, len, NULL, 0, counter, keys[k]);
		for (int p = 0; p < PROVIDERS; p++) {
			ny_aead_set_key(ctx[p], keys[k]);
			seal_with(p, counter, len);
			cr_assert_eq(memcmp(sealed[p], reference, len + NY_AEAD_TAG_LEN), 0,
				     "%s sealed round %d with the wrong key", ny_aead_provider_name(providers[p]), round);
		}
		for (int p = 0; p < PROVIDERS; p++) {
			ny_aead_set_key(ctx[p], keys[1 - k]);
			cr_assert_not(open_copy(p, counter, reference, len), "%s opened round %d with the other key",
				      ny_aead_provider_name(providers[p]), round);
			ny_aead_set_key(ctx[p], keys[k]);
			cr_assert(open_copy(p, counter, reference, len), "%s cannot open round %d after switching back",
				  ny_aead_provider_name(providers[p]), round);
		}
	}
}

/* A batch (ny_aead_seal_many / ny_aead_open_many) gives what one call per message gives: lengths that share and
 * cross 16-lane passes, more messages than one shared run takes, one longer than the scratch buffer holds next to
 * others, arbitrary counters; opening reports each message, a tampered one and a short one among good ones. */
#define MANY 90

/* Message i's plaintext: len bytes of the pattern from offset i where they fit (so messages differ). */
static const uint8_t *many_src(size_t i, size_t len)
{
	return plain + (len + i <= MAX_PLAIN ? i : 0);
}

Test(aead, a_batch_seals_and_opens_as_one_call_per_message_does)
{
	static const size_t pattern[] = { 1420, 0, 64, 1, 400, 1000, 448, 449, 1420, 65535, 17, 960, 1500 };
	uint8_t key[NY_KEY_LEN], *bufs[MANY], *one = malloc(MAX_PLAIN + NY_AEAD_TAG_LEN);
	size_t lens[MANY], sealed_lens[MANY];
	uint64_t ctrs[MANY];
	bool ok[MANY];

	cr_assert_not_null(one);
	make_key(key, 9);
	set_key_all(key);
	for (size_t i = 0; i < MANY; i++) {
		lens[i] = pattern[i % ARRAY_LEN(pattern)];
		ctrs[i] = i * 7919 + (i % 3 == 0 ? UINT64_C(1) << 40 : 0);
		bufs[i] = malloc(lens[i] + NY_AEAD_TAG_LEN);
		cr_assert_not_null(bufs[i]);
	}
	for (int p = 0; p < PROVIDERS; p++) {
		for (size_t i = 0; i < MANY; i++)
			memcpy(bufs[i], many_src(i, lens[i]), lens[i]);
		cr_assert_eq(ny_aead_seal_many(ctx[p], ctrs, bufs, lens, MANY), 0);
		for (size_t i = 0; i < MANY; i++) {
			memcpy(one, many_src(i, lens[i]), lens[i]);
			cr_assert_eq(ny_aead_seal(ctx[p], ctrs[i], one, lens[i]), 0);
			cr_assert_eq(memcmp(one, bufs[i], lens[i] + NY_AEAD_TAG_LEN), 0,
				     "%s: message %zu (%zu bytes) sealed differently in a batch", ny_aead_provider_name(providers[p]),
				     i, lens[i]);
			sealed_lens[i] = lens[i] + NY_AEAD_TAG_LEN;
		}
		bufs[5][0] ^= 1;      /* tampered */
		sealed_lens[7] = 15; /* shorter than a tag */
		ny_aead_open_many(ctx[p], ctrs, bufs, sealed_lens, ok, MANY);
		for (size_t i = 0; i < MANY; i++) {
			cr_assert_eq(ok[i], i != 5 && i != 7, "%s: message %zu opened: %d", ny_aead_provider_name(providers[p]), i,
				     ok[i]);
			if (ok[i])
				cr_assert_eq(memcmp(bufs[i], many_src(i, lens[i]), lens[i]), 0, "%s: message %zu opened to the wrong plaintext",
					     ny_aead_provider_name(providers[p]), i);
		}
	}
	for (size_t i = 0; i < MANY; i++)
		free(bufs[i]);
	free(one);
}

/* Every batch size from 2 to 70: small batches (their Poly1305 goes message by message below four messages, and in
 * part-filled groups of lanes above), sizes just past a run's 64 messages (cut into even chunks), lengths that
 * differ within a batch; each message as one call per message gives, and a tampered one fails alone. */
Test(aead, batches_of_every_size_match_one_call_per_message)
{
	static const size_t pattern[] = { 1420, 1420, 52, 1420, 1419, 700, 1420, 64 };
	uint8_t key[NY_KEY_LEN], *bufs[70], *one = malloc(1420 + NY_AEAD_TAG_LEN);
	size_t lens[70], sealed_lens[70];
	uint64_t ctrs[70];
	bool ok[70];

	cr_assert_not_null(one);
	make_key(key, 11);
	set_key_all(key);
	for (size_t i = 0; i < 70; i++) {
		lens[i] = pattern[i % ARRAY_LEN(pattern)];
		ctrs[i] = 1000 + i;
		cr_assert_not_null(bufs[i] = malloc(lens[i] + NY_AEAD_TAG_LEN));
	}
	for (size_t n = 2; n <= 70; n++) {
		for (size_t i = 0; i < n; i++)
			memcpy(bufs[i], many_src(i, lens[i]), lens[i]);
		cr_assert_eq(ny_aead_seal_many(ctx[0], ctrs, bufs, lens, n), 0);
		for (size_t i = 0; i < n; i++) {
			memcpy(one, many_src(i, lens[i]), lens[i]);
			cr_assert_eq(ny_aead_seal(ctx[0], ctrs[i], one, lens[i]), 0);
			cr_assert_eq(memcmp(one, bufs[i], lens[i] + NY_AEAD_TAG_LEN), 0,
				     "batch of %zu: message %zu sealed differently", n, i);
			sealed_lens[i] = lens[i] + NY_AEAD_TAG_LEN;
		}
		bufs[n / 2][lens[n / 2]] ^= 0x80; /* a tag bit */
		ny_aead_open_many(ctx[0], ctrs, bufs, sealed_lens, ok, n);
		for (size_t i = 0; i < n; i++) {
			cr_assert_eq(ok[i], i != n / 2, "batch of %zu: message %zu opened: %d", n, i, ok[i]);
			if (ok[i])
				cr_assert_eq(memcmp(bufs[i], many_src(i, lens[i]), lens[i]), 0,
					     "batch of %zu: message %zu opened to the wrong plaintext", n, i);
		}
	}
	for (size_t i = 0; i < 70; i++)
		free(bufs[i]);
	free(one);
}

Test(aead, provider_names_round_trip_and_unknown_names_are_rejected)
{
	static const char *const bad[] = { "foo", "", "opensslx", "sodiu" };
	enum ny_aead_provider got;

	for (int p = 0; p < PROVIDERS; p++) {
		const char *name = ny_aead_provider_name(providers[p]);

		cr_assert_not_null(name);
		got = providers[PROVIDERS - 1 - p];
		cr_assert_eq(ny_aead_provider_parse(name, &got), 0, "\"%s\" not parsed", name);
		cr_assert_eq(got, providers[p], "\"%s\" parsed as another provider", name);
	}
	cr_assert_str_eq(ny_aead_provider_name(NY_AEAD_OPENSSL), "openssl");
	cr_assert_str_eq(ny_aead_provider_name(NY_AEAD_SODIUM), "sodium");
	for (size_t i = 0; i < ARRAY_LEN(bad); i++)
		cr_assert_eq(ny_aead_provider_parse(bad[i], &got), -EINVAL, "\"%s\" accepted", bad[i]);
}
