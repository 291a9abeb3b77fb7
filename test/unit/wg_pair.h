/* Two engine instances wired back to back with a shared simulated clock, for the wg suites. */
#ifndef NYLON_TEST_WG_PAIR_H
#define NYLON_TEST_WG_PAIR_H

#include <criterion/criterion.h>
#include <string.h>

#include "nylon/wg.h"

struct wg_pair {
	struct ny_wg_device a, b;
	struct ny_wg_peer *a_to_b, *b_to_a; /* a's peer entry for b, b's for a */
	struct ny_aead_ctx *aead;
	uint64_t now;
	uint64_t wall;
	uint32_t rng; /* deterministic jitter and indices */
};

static inline uint64_t wg_pair_wall(void *ctx)
{
	struct wg_pair *p = ctx;
	return p->wall + p->now;
}

static inline void wg_pair_random(void *ctx, void *buf, size_t len)
{
	struct wg_pair *p = ctx;
	uint8_t *out = buf;

	for (size_t i = 0; i < len; i++) {
		p->rng = p->rng * 1103515245u + 12345u;
		out[i] = (uint8_t)(p->rng >> 16);
	}
}

static inline void wg_pair_setup(struct wg_pair *p, const uint8_t *psk)
{
	uint8_t ka[NY_KEY_LEN], kb[NY_KEY_LEN];

	memset(p, 0, sizeof(*p));
	cr_assert_eq(ny_crypto_init(), 0);
	p->now = 1000 * NY_WG_NSEC;
	p->wall = UINT64_C(1700000000) * NY_WG_NSEC;
	p->rng = 42;
	ny_crypto_x25519_generate(ka);
	ny_crypto_x25519_generate(kb);
	cr_assert_eq(ny_wg_device_init(&p->a, ka, p->now), 0);
	cr_assert_eq(ny_wg_device_init(&p->b, kb, p->now), 0);
	p->a.wall_clock_ns = p->b.wall_clock_ns = wg_pair_wall;
	p->a.random = p->b.random = wg_pair_random;
	p->a.source_ctx = p->b.source_ctx = p;
	p->a_to_b = ny_wg_device_add_peer(&p->a, p->b.static_public, psk);
	p->b_to_a = ny_wg_device_add_peer(&p->b, p->a.static_public, psk);
	cr_assert_not_null(p->a_to_b);
	cr_assert_not_null(p->b_to_a);
	p->aead = ny_aead_ctx_new(NY_AEAD_DEFAULT);
	cr_assert_not_null(p->aead);
	ny_crypto_wipe(ka, sizeof(ka));
	ny_crypto_wipe(kb, sizeof(kb));
}

static inline void wg_pair_teardown(struct wg_pair *p)
{
	ny_wg_device_destroy(&p->a);
	ny_wg_device_destroy(&p->b);
	ny_aead_ctx_free(p->aead);
}

/* a makes a new initiation (into *init) and b receives it from src, under load or not; rx says what b made of it. */
static inline void wg_pair_initiate(struct wg_pair *p, struct ny_wg_msg_initiation *init, const char *src, bool load,
				    struct ny_wg_rx *rx)
{
	cr_assert_eq(ny_wg_handshake_create_initiation(p->a_to_b, p->now, init), 0);
	ny_wg_device_receive_handshake(&p->b, (uint8_t *)init, sizeof(*init), src, strlen(src), load, p->now, rx);
}

/* Runs an initiation from a and the response from b through the engines; returns b's response. */
static inline struct ny_wg_msg_response wg_pair_handshake(struct wg_pair *p)
{
	struct ny_wg_msg_initiation init;
	struct ny_wg_msg_response resp;
	struct ny_wg_rx rx;

	wg_pair_initiate(p, &init, "src-a", false, &rx);
	cr_assert_eq(rx.drop, NY_WG_DROP_NONE, "initiation dropped: %s", ny_wg_drop_name(rx.drop));
	cr_assert_eq(rx.peer, p->b_to_a);
	cr_assert_eq(rx.reply_len, sizeof(resp));
	memcpy(&resp, rx.reply, sizeof(resp));
	ny_wg_device_receive_handshake(&p->a, (uint8_t *)&resp, sizeof(resp), "src-b", 5, false, p->now, &rx);
	cr_assert_eq(rx.drop, NY_WG_DROP_NONE, "response dropped: %s", ny_wg_drop_name(rx.drop));
	cr_assert_eq(rx.peer, p->a_to_b);
	return resp;
}

/* Encrypts `payload` from `from` and decrypts it on `to`; returns the number of packets accepted (0 or 1). */
static inline int wg_pair_send(struct wg_pair *p, struct ny_wg_peer *from, struct ny_wg_device *to,
			       const void *payload, size_t len, uint8_t *out_plain)
{
	uint8_t buf[2048];
	struct ny_wg_packet pkt = { .buf = buf, .len = (uint32_t)len, .cap = sizeof(buf) };
	struct ny_wg_keypair *kp;
	uint32_t actions;

	memcpy(buf + NY_WG_DATA_HEADER_LEN, payload, len);
	if (ny_wg_transport_encrypt_batch(from, p->aead, &pkt, 1, p->now, &actions) != 1)
		return -1;
	kp = ny_wg_transport_lookup(to, buf, pkt.len);
	if (!kp)
		return -2;
	if (ny_wg_transport_decrypt_batch(to, kp, p->aead, &pkt, 1, p->now, &actions) != 1)
		return 0;
	if (out_plain)
		memcpy(out_plain, buf + NY_WG_DATA_HEADER_LEN, pkt.len);
	return 1;
}

#endif
