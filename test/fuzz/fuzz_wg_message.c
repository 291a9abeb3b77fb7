/* libFuzzer target for received WireGuard messages: classification, handshake handling (initiation, response,
 * cookie reply; with and without load) and transport data lookup and decryption.
 *
 * Every input gets a fresh world so that a crash reproduces from its input alone: our device ("us", fixed key)
 * with one peer ("them", fixed key), a session with them in which we were the responder (its keypair waits as
 * `next`, so data can confirm it), and a handshake we initiated that is still in flight (so responses and cookie
 * replies find an index). Clocks and index/jitter randomness are injected and reset per input.
 *
 * The engine draws ephemeral keys from libsodium, not from the device's random callback, so no response, cookie
 * reply or data message stays valid from one process to the next. To reach the paths behind the MACs and tags
 * anyway, an input can ask for a template: "them" builds a genuine message of the chosen kind against this
 * input's world, and the rest of the input is XORed over it (zero bytes keep it valid; its length is the input's).
 *
 * Input: one flags byte, then the message (or, in template mode, the XOR mask).
 *   bit 0     under load (mac2 required)
 *   bit 1     template mode
 *   bits 2-3  template kind: initiation, response, cookie reply, data
 *   bits 4-5  when the message arrives: +1 s, +0 (flood limit), +REJECT_AFTER_TIME, +REKEY_AFTER_TIME
 *   bit 6     data: the batch holds the message twice (the second must be a replay)
 *   bit 7     AEAD provider for data: OpenSSL or libsodium
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nylon/aead.h"
#include "nylon/crypto.h"
#include "nylon/wg.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define F_UNDER_LOAD 0x01u
#define F_TEMPLATE 0x02u
#define F_KIND_SHIFT 2
#define F_TIME_SHIFT 4
#define F_TWICE 0x40u
#define F_SODIUM 0x80u

enum kind { KIND_INITIATION, KIND_RESPONSE, KIND_COOKIE, KIND_DATA };

#define MSG_MAX 2048
#define T0 (1000 * NY_WG_NSEC)
#define DATA_PAYLOAD_LEN 64

/* Fixed static keys: the same world for every input and every run. */
static const uint8_t US_PRIVATE[NY_KEY_LEN] = { 0x48, 0x1e, 0x2a, 0x7c, 0x55, 0x03, 0x91, 0xbe, 0x0d, 0x66, 0x19,
						0xf2, 0x3a, 0x84, 0x27, 0xc1, 0x70, 0x5b, 0x9e, 0x12, 0xe8, 0x4f,
						0x33, 0xa6, 0xd0, 0x61, 0x0c, 0x97, 0x2e, 0xb5, 0x8a, 0x44 };
static const uint8_t THEM_PRIVATE[NY_KEY_LEN] = { 0x90, 0x37, 0xc4, 0x0b, 0x6e, 0xa1, 0x58, 0x23, 0xfd, 0x14, 0x89,
						  0x4a, 0xb7, 0x62, 0x05, 0xde, 0x31, 0xcc, 0x76, 0x1b, 0xe2, 0x95,
						  0x48, 0x0f, 0xa9, 0x5c, 0x27, 0xd3, 0x6a, 0x80, 0x1f, 0x73 };
/* The source addresses cookies are bound to: IPv4 address and port, as a caller would pass them. */
#define SRC_LEN 6
static const uint8_t SRC_US[SRC_LEN] = { 198, 18, 0, 1, 0xca, 0x6c };
static const uint8_t SRC_THEM[SRC_LEN] = { 198, 18, 0, 2, 0xca, 0x6c };

/* The injected sources of one device: a simulated wall clock that follows `now`, and an LCG for indices. */
struct source {
	uint64_t now;
	uint32_t rng;
};

struct world {
	struct ny_wg_device us, them;
	struct ny_wg_peer *us_them, *them_us;
	struct source us_src, them_src;
	struct ny_wg_msg_initiation in_flight; /* our initiation still waiting for its response */
};

static uint64_t source_wall(void *ctx)
{
	const struct source *s = ctx;

	return UINT64_C(1700000000) * NY_WG_NSEC + s->now;
}

static void source_random(void *ctx, void *buf, size_t len)
{
	struct source *s = ctx;
	uint8_t *out = buf;

	for (size_t i = 0; i < len; i++) {
		s->rng = s->rng * 1103515245u + 12345u;
		out[i] = (uint8_t)(s->rng >> 16);
	}
}

static void device_setup(struct ny_wg_device *dev, const uint8_t priv[NY_KEY_LEN], struct source *src,
			 uint32_t seed)
{
	src->now = T0;
	src->rng = seed;
	if (ny_wg_device_init(dev, priv, src->now))
		abort();
	dev->wall_clock_ns = source_wall;
	dev->random = source_random;
	dev->source_ctx = src;
}

/* Delivers a handshake message to dev at its source's time; returns the reply (may be empty). */
static size_t deliver(struct ny_wg_device *dev, const void *msg, size_t len, const uint8_t *src, bool load,
		      struct ny_wg_rx *rx)
{
	const struct source *s = dev->source_ctx;

	ny_wg_device_receive_handshake(dev, msg, len, src, SRC_LEN, load, s->now, rx);
	return rx->drop == NY_WG_DROP_NONE || rx->drop == NY_WG_DROP_COOKIE_SENT ? rx->reply_len : 0;
}

/* Builds the world described at the top. Any step failing is a bug in the engine, not in the input. */
static void world_setup(struct world *w)
{
	struct ny_wg_msg_initiation init;
	struct ny_wg_rx rx;

	memset(w, 0, sizeof(*w));
	device_setup(&w->us, US_PRIVATE, &w->us_src, 1);
	device_setup(&w->them, THEM_PRIVATE, &w->them_src, 2);
	w->us_them = ny_wg_device_add_peer(&w->us, w->them.static_public, NULL);
	w->them_us = ny_wg_device_add_peer(&w->them, w->us.static_public, NULL);
	if (!w->us_them || !w->them_us)
		abort();

	/* They initiate, we respond: our keypair waits as `next`, theirs is current. */
	if (ny_wg_handshake_create_initiation(w->them_us, w->them_src.now, &init))
		abort();
	if (deliver(&w->us, &init, sizeof(init), SRC_THEM, false, &rx) != sizeof(struct ny_wg_msg_response) ||
	    deliver(&w->them, rx.reply, rx.reply_len, SRC_US, false, &rx) != 0 || rx.drop != NY_WG_DROP_NONE)
		abort();

	/* Our own initiation, still in flight. */
	if (ny_wg_handshake_create_initiation(w->us_them, w->us_src.now, &w->in_flight))
		abort();
}

static void world_teardown(struct world *w)
{
	ny_wg_device_destroy(&w->us);
	ny_wg_device_destroy(&w->them);
}

/* They answer our initiation in flight. */
static size_t template_response(struct world *w, uint8_t *out)
{
	struct ny_wg_rx rx;
	size_t len = deliver(&w->them, &w->in_flight, sizeof(w->in_flight), SRC_US, false, &rx);

	if (len != sizeof(struct ny_wg_msg_response))
		abort();
	memcpy(out, rx.reply, len);
	return len;
}

/* They answer our initiation in flight with a cookie reply, as a responder under load does. */
static size_t template_cookie(struct world *w, uint8_t *out)
{
	struct ny_wg_rx rx;
	size_t len = deliver(&w->them, &w->in_flight, sizeof(w->in_flight), SRC_US, true, &rx);

	if (len != sizeof(struct ny_wg_msg_cookie))
		abort();
	memcpy(out, rx.reply, len);
	return len;
}

/* A new initiation from them, later than the first. When we are under load it carries a valid mac2: we give
 * them a cookie first, as a loaded responder would. */
static size_t template_initiation(struct world *w, uint8_t *out, bool load)
{
	struct ny_wg_msg_initiation init;
	struct ny_wg_rx rx;

	w->them_src.now += NY_WG_NSEC / 10;
	if (load) {
		if (ny_wg_handshake_create_initiation(w->them_us, w->them_src.now, &init))
			abort();
		if (deliver(&w->us, &init, sizeof(init), SRC_THEM, true, &rx) != sizeof(struct ny_wg_msg_cookie))
			abort();
		if (deliver(&w->them, rx.reply, rx.reply_len, SRC_US, false, &rx) != 0 || rx.drop != NY_WG_DROP_NONE)
			abort();
		w->them_src.now += NY_WG_NSEC / 10;
	}
	if (ny_wg_handshake_create_initiation(w->them_us, w->them_src.now, &init))
		abort();
	memcpy(out, &init, sizeof(init));
	return sizeof(init);
}

/* Data from them on their current keypair, which is our `next`. */
static size_t template_data(struct world *w, struct ny_aead_ctx *aead, uint8_t *out)
{
	struct ny_wg_packet pkt = { .buf = out, .len = DATA_PAYLOAD_LEN, .cap = MSG_MAX };
	uint32_t actions;

	memset(out + NY_WG_DATA_HEADER_LEN, 0x45, DATA_PAYLOAD_LEN); /* an IPv4 header's first byte, repeated */
	if (ny_wg_transport_encrypt_batch(w->them_us, aead, &pkt, 1, w->them_src.now, &actions) != 1)
		abort();
	return pkt.len;
}

static size_t build_message(struct world *w, struct ny_aead_ctx *aead, unsigned flags, const uint8_t *in,
			    size_t in_len, uint8_t *msg)
{
	uint8_t tmpl[MSG_MAX];
	size_t tmpl_len = 0;

	if (in_len > MSG_MAX)
		in_len = MSG_MAX;
	if (!(flags & F_TEMPLATE)) {
		memcpy(msg, in, in_len);
		return in_len;
	}
	switch ((enum kind)((flags >> F_KIND_SHIFT) & 3)) {
	case KIND_INITIATION:
		tmpl_len = template_initiation(w, tmpl, flags & F_UNDER_LOAD);
		break;
	case KIND_RESPONSE:
		tmpl_len = template_response(w, tmpl);
		break;
	case KIND_COOKIE:
		tmpl_len = template_cookie(w, tmpl);
		break;
	case KIND_DATA:
		tmpl_len = template_data(w, aead, tmpl);
		break;
	}
	for (size_t i = 0; i < in_len; i++)
		msg[i] = in[i] ^ (i < tmpl_len ? tmpl[i] : 0);
	return in_len;
}

/* Returns why the first packet was dropped, or NY_WG_DROP_NONE. */
static enum ny_wg_drop receive_data(struct world *w, struct ny_aead_ctx *aead, const uint8_t *msg, size_t len,
				    bool twice, uint64_t now)
{
	/* Decryption works in place: each packet of the batch has a buffer of its own. */
	static uint8_t bufs[2][MSG_MAX];
	struct ny_wg_packet pkts[2];
	struct ny_wg_keypair *kp = ny_wg_transport_lookup(&w->us, msg, len);
	size_t n = twice ? 2 : 1;
	uint32_t actions;

	if (!kp)
		return NY_WG_DROP_UNKNOWN_INDEX;
	for (size_t i = 0; i < n; i++) {
		memcpy(bufs[i], msg, len);
		pkts[i] = (struct ny_wg_packet){ .buf = bufs[i], .len = (uint32_t)len, .cap = MSG_MAX };
	}
	ny_wg_transport_decrypt_batch(&w->us, kp, aead, pkts, n, now, &actions);
	/* An accepted packet's plaintext is what arrived less header and tag, and a packet is accepted once. */
	for (size_t i = 0; i < n; i++)
		if (pkts[i].drop == NY_WG_DROP_NONE && pkts[i].len + NY_WG_DATA_HEADER_LEN + NY_AEAD_TAG_LEN != len)
			abort();
	if (twice && pkts[0].drop == NY_WG_DROP_NONE && pkts[1].drop != NY_WG_DROP_REPLAY)
		abort();
	return pkts[0].drop;
}

static uint64_t arrival(unsigned flags)
{
	static const uint64_t offsets[4] = { NY_WG_NSEC, 0, NY_WG_REJECT_AFTER_TIME, NY_WG_REKEY_AFTER_TIME };

	return T0 + offsets[(flags >> F_TIME_SHIFT) & 3];
}

/* One input through a fresh world; returns why the message was dropped, or NY_WG_DROP_NONE. */
static enum ny_wg_drop run_one(const uint8_t *data, size_t size)
{
	static uint8_t msg[MSG_MAX];
	enum ny_wg_drop why = NY_WG_DROP_MALFORMED;
	struct ny_aead_ctx *aead;
	struct ny_wg_rx rx;
	struct world w;
	unsigned flags;
	size_t len;

	if (size < 1)
		return why;
	flags = data[0];
	aead = ny_aead_ctx_new(flags & F_SODIUM ? NY_AEAD_SODIUM : NY_AEAD_OPENSSL);
	if (!aead)
		abort();
	world_setup(&w);
	len = build_message(&w, aead, flags, data + 1, size - 1, msg);
	w.us_src.now = arrival(flags);

	if (ny_wg_message_classify(msg, len) == NY_WG_MSG_DATA) {
		why = receive_data(&w, aead, msg, len, flags & F_TWICE, w.us_src.now);
	} else {
		/* Handshake messages and anything invalid: the device must classify and drop the latter itself. */
		ny_wg_device_receive_handshake(&w.us, msg, len, SRC_THEM, SRC_LEN, flags & F_UNDER_LOAD,
					       w.us_src.now, &rx);
		if (rx.reply_len > sizeof(rx.reply) || (rx.drop != NY_WG_DROP_NONE && rx.peer))
			abort();
		why = rx.drop;
	}
	world_teardown(&w);
	ny_aead_ctx_free(aead);
	return why;
}

/* Seeds for test/fuzz/corpus/fuzz_wg_message, written by the target itself so that they follow its input format:
 * NY_FUZZ_WRITE_SEEDS=<dir> fuzz_wg_message. Raw messages keep the indices of this deterministic world (their
 * MACs and tags are bound to this process's ephemerals, except the initiation's); templates are a flags byte and
 * a zero mask, which stay valid in every process. Each seed is checked and its outcome printed. */
struct seed {
	const char *name;
	uint8_t flags;
	int raw_kind; /* -1: template seed of the kind in flags; otherwise the template to store raw */
	size_t data_len;
	enum ny_wg_drop expect;
};

static void write_seed(const char *dir, const struct seed *sd)
{
	uint8_t in[1 + MSG_MAX] = { 0 };
	char path[4096];
	size_t len = 1 + sd->data_len;
	enum ny_wg_drop got;
	FILE *f;

	in[0] = sd->flags;
	if (sd->raw_kind >= 0) {
		struct ny_aead_ctx *aead = ny_aead_ctx_new(NY_AEAD_OPENSSL);
		uint8_t zero[MSG_MAX] = { 0 };
		struct world w;

		if (!aead)
			abort();
		world_setup(&w);
		len = 1 + build_message(&w, aead, F_TEMPLATE | (unsigned)sd->raw_kind << F_KIND_SHIFT, zero,
					sd->data_len, in + 1);
		world_teardown(&w);
		ny_aead_ctx_free(aead);
	}
	got = run_one(in, len);
	fprintf(stderr, "seed %-16s %4zu bytes: %s (expected %s)\n", sd->name, len, ny_wg_drop_name(got),
		ny_wg_drop_name(sd->expect));
	snprintf(path, sizeof(path), "%s/%s", dir, sd->name);
	f = fopen(path, "wb");
	if (!f || fwrite(in, 1, len, f) != len || fclose(f))
		abort();
}

static void write_seeds(const char *dir)
{
	const unsigned T = F_TEMPLATE;
	const size_t data_len = ny_wg_data_message_len(DATA_PAYLOAD_LEN);
	const struct seed seeds[] = {
		{ "raw-initiation", 0, KIND_INITIATION, sizeof(struct ny_wg_msg_initiation), NY_WG_DROP_NONE },
		{ "raw-init-load", F_UNDER_LOAD, KIND_INITIATION, sizeof(struct ny_wg_msg_initiation),
		  NY_WG_DROP_COOKIE_SENT },
		{ "raw-response", 0, KIND_RESPONSE, sizeof(struct ny_wg_msg_response), NY_WG_DROP_HANDSHAKE },
		{ "raw-cookie", 0, KIND_COOKIE, sizeof(struct ny_wg_msg_cookie), NY_WG_DROP_COOKIE },
		{ "raw-data", 0, KIND_DATA, data_len, NY_WG_DROP_DECRYPT },
		{ "tmpl-initiation", T | KIND_INITIATION << F_KIND_SHIFT, -1, sizeof(struct ny_wg_msg_initiation),
		  NY_WG_DROP_NONE },
		{ "tmpl-init-load", T | F_UNDER_LOAD | KIND_INITIATION << F_KIND_SHIFT, -1,
		  sizeof(struct ny_wg_msg_initiation), NY_WG_DROP_NONE },
		{ "tmpl-init-flood", T | KIND_INITIATION << F_KIND_SHIFT | 1u << F_TIME_SHIFT, -1,
		  sizeof(struct ny_wg_msg_initiation), NY_WG_DROP_FLOOD },
		{ "tmpl-response", T | KIND_RESPONSE << F_KIND_SHIFT, -1, sizeof(struct ny_wg_msg_response),
		  NY_WG_DROP_NONE },
		{ "tmpl-cookie", T | KIND_COOKIE << F_KIND_SHIFT, -1, sizeof(struct ny_wg_msg_cookie),
		  NY_WG_DROP_NONE },
		{ "tmpl-data", T | KIND_DATA << F_KIND_SHIFT, -1, data_len, NY_WG_DROP_NONE },
		{ "tmpl-data-twice", T | F_TWICE | F_SODIUM | KIND_DATA << F_KIND_SHIFT, -1, data_len,
		  NY_WG_DROP_NONE },
		{ "tmpl-data-expired", T | KIND_DATA << F_KIND_SHIFT | 2u << F_TIME_SHIFT, -1, data_len,
		  NY_WG_DROP_KEY_EXPIRED },
	};

	for (size_t i = 0; i < sizeof(seeds) / sizeof(seeds[0]); i++)
		write_seed(dir, &seeds[i]);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *seed_dir = getenv("NY_FUZZ_WRITE_SEEDS");

	if (ny_crypto_init())
		abort();
	if (seed_dir) {
		write_seeds(seed_dir);
		exit(0);
	}
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	run_one(data, size);
	return 0;
}
