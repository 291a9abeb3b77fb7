/* bench_wg: what the WireGuard engine's data path costs next to the bare AEAD it is built on, and how many
 * handshakes one core completes.
 *
 * Each figure is measured against its reference in the same run (engine / raw ratio), because these machines are
 * shared and noisy: absolute figures move between runs, the ratio much less. One line per figure, key=value.
 *
 * What is timed: packets are processed in batches; the clock is read around each batch of the operation under
 * test only. Work that merely prepares the next batch (re-sealing fresh ciphertext for the open / decrypt
 * measurements, resetting lengths) runs outside the timed region, so rates are "operation time only". The
 * replay window forbids decrypting a counter twice, so every decrypt batch gets newly encrypted packets. The
 * raw AEAD measurements follow the same batch structure so that the ratio compares like with like, and raw and
 * engine batches alternate in one loop so that changes of load hit both alike. Rates come from the median batch
 * time (a preempted batch is an outlier, not a figure); the mean-based rate is printed beside it.
 *
 * At 1,420 B the engine seals 1,424 B (padding to 16, whitepaper §5.4.6) and writes a 16-byte header; Gbit/s
 * count payload bits only, so that overhead is part of what the ratio shows.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "nylon/aead.h"
#include "nylon/crypto.h"
#include "nylon/wg.h"

#define BATCH_MAX 256
#define PKT_CAP 2048

struct options {
	double seconds;
	size_t batch;
	bool provider[2]; /* indexed by enum ny_aead_provider */
	bool handshakes;
};

/* Two engine instances back to back with a clock we drive: the handshake benchmark must move time forward so
 * that every initiation carries a newer TAI64N timestamp and stays under the 50/s flood limit. */
struct pair {
	struct ny_wg_device a, b;
	struct ny_wg_peer *a_to_b, *b_to_a;
	uint64_t now;
	uint64_t wall_base;
	uint32_t rng;
};

/* A batch of packet buffers, each PKT_CAP bytes, plus the packet descriptors the engine takes. */
struct batch {
	uint8_t *mem;
	struct ny_wg_packet pkts[BATCH_MAX];
	size_t n;
};

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * NY_WG_NSEC + (uint64_t)ts.tv_nsec;
}

static void die(const char *what)
{
	fprintf(stderr, "bench_wg: %s\n", what);
	exit(1);
}

static uint64_t pair_wall(void *ctx)
{
	const struct pair *p = ctx;

	return p->wall_base + p->now;
}

/* Deterministic and cheap: index and jitter values need not be secret here. */
static void pair_random(void *ctx, void *buf, size_t len)
{
	struct pair *p = ctx;
	uint8_t *out = buf;

	for (size_t i = 0; i < len; i++) {
		p->rng = p->rng * 1103515245u + 12345u;
		out[i] = (uint8_t)(p->rng >> 16);
	}
}

static void pair_setup(struct pair *p)
{
	uint8_t ka[NY_KEY_LEN], kb[NY_KEY_LEN];

	memset(p, 0, sizeof(*p));
	p->now = 1000 * NY_WG_NSEC;
	p->wall_base = UINT64_C(1700000000) * NY_WG_NSEC;
	p->rng = 1;
	ny_crypto_x25519_generate(ka);
	ny_crypto_x25519_generate(kb);
	if (ny_wg_device_init(&p->a, ka, p->now) || ny_wg_device_init(&p->b, kb, p->now))
		die("device init failed");
	ny_crypto_wipe(ka, sizeof(ka));
	ny_crypto_wipe(kb, sizeof(kb));
	p->a.wall_clock_ns = p->b.wall_clock_ns = pair_wall;
	p->a.random = p->b.random = pair_random;
	p->a.source_ctx = p->b.source_ctx = p;
	p->a_to_b = ny_wg_device_add_peer(&p->a, p->b.static_public, NULL);
	p->b_to_a = ny_wg_device_add_peer(&p->b, p->a.static_public, NULL);
	if (!p->a_to_b || !p->b_to_a)
		die("add peer failed");
}

static void pair_teardown(struct pair *p)
{
	ny_wg_device_destroy(&p->a);
	ny_wg_device_destroy(&p->b);
}

/* One complete handshake, a initiating. Returns false when any step is dropped. */
static bool pair_handshake(struct pair *p)
{
	struct ny_wg_msg_initiation init;
	struct ny_wg_rx rx;

	if (ny_wg_handshake_create_initiation(p->a_to_b, p->now, &init))
		return false;
	ny_wg_device_receive_handshake(&p->b, (const uint8_t *)&init, sizeof(init), "a", 1, false, p->now, &rx);
	if (rx.drop != NY_WG_DROP_NONE || rx.reply_len != sizeof(struct ny_wg_msg_response))
		return false;
	ny_wg_device_receive_handshake(&p->a, rx.reply, rx.reply_len, "b", 1, false, p->now, &rx);
	return rx.drop == NY_WG_DROP_NONE;
}

static void batch_init(struct batch *b, size_t n)
{
	b->mem = aligned_alloc(64, BATCH_MAX * PKT_CAP);
	if (!b->mem)
		die("out of memory");
	memset(b->mem, 0xa5, BATCH_MAX * PKT_CAP);
	b->n = n;
	for (size_t i = 0; i < BATCH_MAX; i++)
		b->pkts[i] = (struct ny_wg_packet){ .buf = b->mem + i * PKT_CAP, .cap = PKT_CAP };
}

/* Payload lengths for encryption: the engine takes the payload at buf + header and rewrites len. */
static void batch_set_len(struct batch *b, size_t len)
{
	for (size_t i = 0; i < b->n; i++)
		b->pkts[i].len = (uint32_t)len;
}

/* Per-batch timings. On a shared 2-core machine a batch that was preempted takes many times longer than the
 * rest, so rates are given from the median batch time (robust to preemption) and, for reference, from the mean. */
struct samples {
	uint64_t *ns;
	size_t n, cap;
	uint64_t total_ns, pkts;
	size_t per_batch;
};

static void samples_init(struct samples *s, size_t per_batch)
{
	s->cap = 1u << 20;
	s->ns = malloc(s->cap * sizeof(*s->ns));
	if (!s->ns)
		die("out of memory");
	s->n = 0;
	s->total_ns = s->pkts = 0;
	s->per_batch = per_batch;
}

static void samples_add(struct samples *s, uint64_t ns)
{
	if (s->n < s->cap)
		s->ns[s->n++] = ns;
	s->total_ns += ns;
	s->pkts += s->per_batch;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* Operations per second from the median batch. Sorts the samples. */
static double samples_rate(struct samples *s)
{
	uint64_t med;

	if (!s->n)
		return 0.0;
	qsort(s->ns, s->n, sizeof(*s->ns), cmp_u64);
	med = s->ns[s->n / 2];
	return med ? (double)s->per_batch * 1e9 / (double)med : 0.0;
}

static double samples_mean_rate(const struct samples *s)
{
	return s->total_ns ? (double)s->pkts * 1e9 / (double)s->total_ns : 0.0;
}

static void samples_free(struct samples *s)
{
	free(s->ns);
}

/* Prints one figure and returns its median-based rate. */
static double print_rate(const char *kind, const char *aead, const char *op, size_t size, struct samples *s)
{
	double pps = samples_rate(s);

	printf("%s aead=%s op=%s size=%zu pkts_per_s=%.0f gbit_s=%.3f ns_per_pkt=%.1f mean_pkts_per_s=%.0f "
	       "batches=%zu\n",
	       kind, aead, op, size, pps, pps * (double)size * 8 / 1e9, pps > 0 ? 1e9 / pps : 0.0,
	       samples_mean_rate(s), s->n);
	return pps;
}

static void print_ratio(const char *aead, const char *op, size_t size, double engine, double raw)
{
	printf("ratio aead=%s op=%s size=%zu engine_over_raw=%.3f\n", aead, op, size, raw > 0 ? engine / raw : 0.0);
}

static struct ny_aead_ctx *aead_new(enum ny_aead_provider prov)
{
	struct ny_aead_ctx *ctx = ny_aead_ctx_new(prov);

	if (!ctx)
		die("cannot set up the AEAD provider");
	return ctx;
}

/* Raw and engine batches alternate inside one loop so that a change of load on the machine hits both sides of
 * the ratio alike. Raw: one ctx keyed once, counters increasing, the buffers sealed in place. Engine: one peer
 * with an established session, ny_wg_transport_encrypt_batch (header, padding, counter reservation, timers). */
static void duel_encrypt(enum ny_aead_provider prov, struct pair *p, struct batch *b, size_t size, double seconds)
{
	const char *name = ny_aead_provider_name(prov);
	struct ny_aead_ctx *raw_ctx = aead_new(prov), *eng_ctx = aead_new(prov);
	struct samples raw, eng;
	uint8_t key[NY_KEY_LEN];
	uint64_t counter = 0, deadline = mono_ns() + (uint64_t)(seconds * 1e9);
	uint32_t actions;
	double r, e;

	ny_crypto_random(key, sizeof(key));
	ny_aead_set_key(raw_ctx, key);
	samples_init(&raw, b->n);
	samples_init(&eng, b->n);
	while (mono_ns() < deadline) {
		uint64_t t0 = mono_ns(), t1;
		int ret;

		for (size_t i = 0; i < b->n; i++)
			if (ny_aead_seal(raw_ctx, counter++, b->pkts[i].buf, size))
				die("seal failed");
		samples_add(&raw, mono_ns() - t0);

		batch_set_len(b, size);
		t1 = mono_ns();
		ret = ny_wg_transport_encrypt_batch(p->a_to_b, eng_ctx, b->pkts, b->n, p->now, &actions);
		samples_add(&eng, mono_ns() - t1);
		if (ret != (int)b->n)
			die("encrypt_batch failed");
	}
	r = print_rate("raw", name, "seal", size, &raw);
	e = print_rate("engine", name, "encrypt", size, &eng);
	print_ratio(name, "encrypt/seal", size, e, r);
	samples_free(&raw);
	samples_free(&eng);
	ny_crypto_wipe(key, sizeof(key));
	ny_aead_ctx_free(raw_ctx);
	ny_aead_ctx_free(eng_ctx);
}

/* Opening needs fresh ciphertext every batch (the replay window rejects a counter twice, and an open in place
 * destroys its input), so each side seals its batch first, untimed, and then times only the open: raw
 * ny_aead_open per packet, or the engine's lookup of the batch's keypair plus ny_wg_transport_decrypt_batch
 * (header checks, replay window under its lock, stats, timers, confirming `next` on the first batch). */
static void duel_decrypt(enum ny_aead_provider prov, struct pair *p, struct batch *b, size_t size, double seconds)
{
	const char *name = ny_aead_provider_name(prov);
	struct ny_aead_ctx *raw_ctx = aead_new(prov), *eng_ctx = aead_new(prov);
	struct samples raw, eng;
	uint8_t key[NY_KEY_LEN];
	uint64_t counter = 0, deadline = mono_ns() + (uint64_t)(seconds * 1e9);
	uint32_t actions;
	double r, e;

	ny_crypto_random(key, sizeof(key));
	ny_aead_set_key(raw_ctx, key);
	samples_init(&raw, b->n);
	samples_init(&eng, b->n);
	while (mono_ns() < deadline) {
		struct ny_wg_keypair *kp;
		uint64_t first = counter, t0, t1;
		int ret;

		for (size_t i = 0; i < b->n; i++)
			ny_aead_seal(raw_ctx, counter++, b->pkts[i].buf, size);
		t0 = mono_ns();
		for (size_t i = 0; i < b->n; i++)
			if (!ny_aead_open(raw_ctx, first + i, b->pkts[i].buf, size + NY_AEAD_TAG_LEN))
				die("open failed");
		samples_add(&raw, mono_ns() - t0);

		batch_set_len(b, size);
		if (ny_wg_transport_encrypt_batch(p->a_to_b, eng_ctx, b->pkts, b->n, p->now, &actions) != (int)b->n)
			die("encrypt_batch failed");
		t1 = mono_ns();
		kp = ny_wg_transport_lookup(&p->b, b->pkts[0].buf, b->pkts[0].len);
		ret = kp ? ny_wg_transport_decrypt_batch(&p->b, kp, eng_ctx, b->pkts, b->n, p->now, &actions) : -1;
		samples_add(&eng, mono_ns() - t1);
		if (ret != (int)b->n)
			die("decrypt_batch dropped packets");
	}
	r = print_rate("raw", name, "open", size, &raw);
	e = print_rate("engine", name, "decrypt", size, &eng);
	print_ratio(name, "decrypt/open", size, e, r);
	samples_free(&raw);
	samples_free(&eng);
	ny_crypto_wipe(key, sizeof(key));
	ny_aead_ctx_free(raw_ctx);
	ny_aead_ctx_free(eng_ctx);
}

static void bench_provider(enum ny_aead_provider prov, const struct options *o)
{
	static const size_t sizes[] = { 1420, 64 };
	struct batch b;
	struct pair p;

	batch_init(&b, o->batch);
	pair_setup(&p);
	if (!pair_handshake(&p))
		die("handshake failed");
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		duel_encrypt(prov, &p, &b, sizes[i], o->seconds);
		duel_decrypt(prov, &p, &b, sizes[i], o->seconds);
	}
	pair_teardown(&p);
	free(b.mem);
}

/* Full handshakes against X25519, alternating. A handshake: initiation created by a, received by b (mac1,
 * consume, response, b's session), response received by a (consume, a's session); it costs eight X25519
 * (initiator e + es, responder es, responder e + ee + se, initiator ee + se) plus BLAKE2s and small AEADs. Time
 * moves 50 ms per handshake, beyond both the 20 ms flood limit and the 2^24 ns granularity of the TAI64N
 * timestamp. X25519 runs with a fixed private key against changing public keys, as a handshake's DH steps do. */
static void bench_handshakes(double seconds)
{
	enum { HS_PER_SAMPLE = 4, DH_PER_SAMPLE = 32 };
	uint8_t priv[NY_KEY_LEN], pub[NY_KEY_LEN], out[NY_KEY_LEN];
	uint64_t deadline = mono_ns() + (uint64_t)(seconds * 1e9);
	struct samples hs, dh;
	struct pair p;
	double h, d;

	pair_setup(&p);
	ny_crypto_x25519_generate(priv);
	ny_crypto_x25519_public(pub, priv);
	samples_init(&hs, HS_PER_SAMPLE);
	samples_init(&dh, DH_PER_SAMPLE);
	while (mono_ns() < deadline) {
		uint64_t t0 = mono_ns(), t1;

		for (int i = 0; i < HS_PER_SAMPLE; i++) {
			p.now += 50 * NY_WG_NSEC / 1000;
			if (!pair_handshake(&p))
				die("handshake dropped");
		}
		samples_add(&hs, mono_ns() - t0);

		t1 = mono_ns();
		for (int i = 0; i < DH_PER_SAMPLE; i++) {
			if (!ny_crypto_x25519(out, priv, pub))
				die("x25519 low-order result");
			memcpy(pub, out, sizeof(pub));
		}
		samples_add(&dh, mono_ns() - t1);
	}
	h = samples_rate(&hs);
	d = samples_rate(&dh);
	printf("x25519 ops_per_s=%.0f us_per_op=%.2f mean_ops_per_s=%.0f\n", d, d > 0 ? 1e6 / d : 0.0,
	       samples_mean_rate(&dh));
	printf("handshake handshakes_per_s=%.0f us_per_handshake=%.1f mean_handshakes_per_s=%.0f "
	       "x25519_equivalents=%.2f\n",
	       h, h > 0 ? 1e6 / h : 0.0, samples_mean_rate(&hs), h > 0 ? d / h : 0.0);
	ny_crypto_wipe(priv, sizeof(priv));
	samples_free(&hs);
	samples_free(&dh);
	pair_teardown(&p);
}

static void usage(FILE *f)
{
	fprintf(f, "usage: bench_wg [--seconds S] [--batch N] [--aead openssl|sodium] [--no-handshake]\n"
		   "  Raw ChaCha20-Poly1305 (ny_aead_seal/open) against the engine's batched transport\n"
		   "  (ny_wg_transport_encrypt/decrypt_batch) at 1420 and 64 bytes, for each AEAD provider,\n"
		   "  then X25519 and full handshakes per second. One figure per line, key=value.\n"
		   "  --seconds S   wall time of each measurement (default 1)\n"
		   "  --batch N     packets per batch, 1..%d (default 64)\n"
		   "  --aead P      only this provider (default both)\n"
		   "  --no-handshake  skip the X25519 and handshake figures\n",
		BATCH_MAX);
}

static int parse_args(int argc, char **argv, struct options *o)
{
	*o = (struct options){ .seconds = 1.0, .batch = 64, .provider = { true, true }, .handshakes = true };
	for (int i = 1; i < argc; i++) {
		const char *arg = argv[i];
		const char *val = i + 1 < argc ? argv[i + 1] : NULL;
		char *end;

		if (!strcmp(arg, "--help") || !strcmp(arg, "-h")) {
			usage(stdout);
			exit(0);
		} else if (!strcmp(arg, "--no-handshake")) {
			o->handshakes = false;
			continue;
		}
		if (!val) {
			fprintf(stderr, "bench_wg: %s needs a value\n", arg);
			return -EINVAL;
		}
		i++;
		if (!strcmp(arg, "--seconds")) {
			o->seconds = strtod(val, &end);
			if (*end || !(o->seconds > 0 && o->seconds <= 600)) {
				fprintf(stderr, "bench_wg: --seconds: expected a number in (0, 600], got '%s'\n", val);
				return -EINVAL;
			}
		} else if (!strcmp(arg, "--batch")) {
			unsigned long n = strtoul(val, &end, 10);

			if (*end || n < 1 || n > BATCH_MAX) {
				fprintf(stderr, "bench_wg: --batch: expected 1..%d, got '%s'\n", BATCH_MAX, val);
				return -EINVAL;
			}
			o->batch = n;
		} else if (!strcmp(arg, "--aead")) {
			enum ny_aead_provider prov;

			if (ny_aead_provider_parse(val, &prov)) {
				fprintf(stderr, "bench_wg: --aead: expected openssl or sodium, got '%s'\n", val);
				return -EINVAL;
			}
			o->provider[NY_AEAD_OPENSSL] = o->provider[NY_AEAD_SODIUM] = false;
			o->provider[prov] = true;
		} else {
			fprintf(stderr, "bench_wg: unknown option '%s'\n", arg);
			return -EINVAL;
		}
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct options o;

	if (parse_args(argc, argv, &o)) {
		usage(stderr);
		return 2;
	}
	if (ny_crypto_init())
		die("crypto init failed");
	printf("config seconds=%.2f batch=%zu\n", o.seconds, o.batch);
	if (o.provider[NY_AEAD_OPENSSL])
		bench_provider(NY_AEAD_OPENSSL, &o);
	if (o.provider[NY_AEAD_SODIUM])
		bench_provider(NY_AEAD_SODIUM, &o);
	if (o.handshakes)
		bench_handshakes(o.seconds);
	return 0;
}
