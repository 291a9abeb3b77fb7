/* Full Noise_IKpsk2 handshakes between two engine instances, then transport data both ways. */
#include <criterion/criterion.h>
#include <string.h>

#include "wg_pair.h"

static struct wg_pair pair;

static void setup(void)
{
	wg_pair_setup(&pair, NULL);
}

static void teardown(void)
{
	wg_pair_teardown(&pair);
}

TestSuite(wg_handshake, .init = setup, .fini = teardown);

static void data_both_ways(void)
{
	const char ping[] = "hello from a";
	const char pong[] = "hello from b, a little longer";
	uint8_t out[64];

	/* b holds its keypair as `next` until a's first packet confirms it. */
	cr_assert_null(ny_wg_keypair_for_sending(pair.b_to_a, pair.now));
	cr_assert_eq(wg_pair_send(&pair, pair.a_to_b, &pair.b, ping, sizeof(ping), out), 1);
	cr_assert_eq(memcmp(out, ping, sizeof(ping)), 0);
	cr_assert_not_null(ny_wg_keypair_for_sending(pair.b_to_a, pair.now));
	cr_assert_eq(wg_pair_send(&pair, pair.b_to_a, &pair.a, pong, sizeof(pong), out), 1);
	cr_assert_eq(memcmp(out, pong, sizeof(pong)), 0);
}

Test(wg_handshake, completes_and_carries_data_both_ways)
{
	wg_pair_handshake(&pair);
	data_both_ways();
}

Test(wg_handshake, completes_with_preshared_key)
{
	uint8_t psk[NY_KEY_LEN];

	wg_pair_teardown(&pair);
	ny_crypto_random(psk, sizeof(psk));
	wg_pair_setup(&pair, psk);
	wg_pair_handshake(&pair);
	data_both_ways();
}

Test(wg_handshake, mismatched_preshared_key_fails)
{
	struct ny_wg_msg_initiation init;
	struct ny_wg_msg_response resp;
	struct ny_wg_rx rx;

	pair.b_to_a->preshared_key[0] ^= 1;
	wg_pair_initiate(&pair, &init, "a", false, &rx);
	cr_assert_eq(rx.drop, NY_WG_DROP_NONE);
	memcpy(&resp, rx.reply, sizeof(resp));
	ny_wg_device_receive_handshake(&pair.a, (uint8_t *)&resp, sizeof(resp), "b", 1, false, pair.now, &rx);
	cr_assert_eq(rx.drop, NY_WG_DROP_HANDSHAKE);
	cr_assert_null(ny_wg_keypair_for_sending(pair.a_to_b, pair.now));
}

Test(wg_handshake, unknown_initiator_is_rejected)
{
	struct ny_wg_msg_initiation init;
	struct ny_wg_rx rx;

	ny_wg_device_remove_peer(&pair.b, pair.b_to_a);
	wg_pair_initiate(&pair, &init, "a", false, &rx);
	cr_assert_eq(rx.drop, NY_WG_DROP_HANDSHAKE);
	cr_assert_eq(rx.reply_len, 0);
}

Test(wg_handshake, replayed_initiation_is_rejected)
{
	struct ny_wg_msg_initiation init;
	struct ny_wg_rx rx;

	wg_pair_initiate(&pair, &init, "a", false, &rx);
	cr_assert_eq(rx.drop, NY_WG_DROP_NONE);
	pair.now += NY_WG_NSEC; /* well past the flood limit: only the timestamp can reject it */
	ny_wg_device_receive_handshake(&pair.b, (uint8_t *)&init, sizeof(init), "a", 1, false, pair.now, &rx);
	cr_assert_eq(rx.drop, NY_WG_DROP_REPLAYED_INITIATION);
	cr_assert_eq(pair.b.stats.drops[NY_WG_DROP_REPLAYED_INITIATION], 1);
}

Test(wg_handshake, initiation_flood_is_rejected)
{
	struct ny_wg_msg_initiation init;
	struct ny_wg_rx rx;

	wg_pair_initiate(&pair, &init, "a", false, &rx);
	cr_assert_eq(rx.drop, NY_WG_DROP_NONE);
	/* A newer timestamp (the TAI64N granularity is 2^24 ns), but sooner than 1/50 s after the last one. */
	pair.wall += NY_WG_NSEC;
	pair.now += NY_WG_NSEC / 100;
	wg_pair_initiate(&pair, &init, "a", false, &rx);
	cr_assert_eq(rx.drop, NY_WG_DROP_FLOOD);
}

Test(wg_handshake, response_to_unknown_index_is_dropped)
{
	struct ny_wg_msg_response resp = wg_pair_handshake(&pair);
	struct ny_wg_rx rx;

	/* The handshake's index now belongs to a keypair: the same response again finds no handshake. */
	ny_wg_device_receive_handshake(&pair.a, (uint8_t *)&resp, sizeof(resp), "b", 1, false, pair.now, &rx);
	cr_assert_eq(rx.drop, NY_WG_DROP_UNKNOWN_INDEX);
}

/* Delivers msg to dev once for each byte before `end`, that byte's `bit` flipped in a copy: each must be refused. */
static void each_flip_is_refused(struct ny_wg_device *dev, const void *msg, size_t len, size_t end, uint8_t bit,
				 const char *src)
{
	uint8_t bad[sizeof(struct ny_wg_msg_initiation)]; /* the larger message */
	struct ny_wg_rx rx;

	cr_assert_leq(len, sizeof(bad));
	for (size_t i = 0; i < end; i++) {
		memcpy(bad, msg, len);
		bad[i] ^= bit;
		ny_wg_device_receive_handshake(dev, bad, len, src, strlen(src), false, pair.now, &rx);
		cr_assert_neq(rx.drop, NY_WG_DROP_NONE, "flipped byte %zu accepted", i);
	}
}

/* Every single-bit flip of every byte of an initiation or response must be rejected. */
Test(wg_handshake, every_flipped_byte_of_initiation_is_rejected)
{
	struct ny_wg_msg_initiation init;
	struct ny_wg_rx rx;

	cr_assert_eq(ny_wg_handshake_create_initiation(pair.a_to_b, pair.now, &init), 0);
	/* mac2 is only checked under load: test_wg_cookie covers it. */
	each_flip_is_refused(&pair.b, &init, sizeof(init), offsetof(struct ny_wg_msg_initiation, macs.mac2), 0x01, "a");
	ny_wg_device_receive_handshake(&pair.b, (uint8_t *)&init, sizeof(init), "a", 1, false, pair.now, &rx);
	cr_assert_eq(rx.drop, NY_WG_DROP_NONE, "the intact initiation must still be accepted");
}

Test(wg_handshake, every_flipped_byte_of_response_is_rejected)
{
	struct ny_wg_msg_initiation init;
	struct ny_wg_msg_response resp;
	struct ny_wg_rx rx;

	wg_pair_initiate(&pair, &init, "a", false, &rx);
	cr_assert_eq(rx.drop, NY_WG_DROP_NONE);
	memcpy(&resp, rx.reply, sizeof(resp));
	/* mac2 is only checked under load: test_wg_cookie covers it. */
	each_flip_is_refused(&pair.a, &resp, sizeof(resp), offsetof(struct ny_wg_msg_response, macs.mac2), 0x80, "b");
	/* The untouched response still completes the handshake: failed attempts left no trace. */
	ny_wg_device_receive_handshake(&pair.a, (uint8_t *)&resp, sizeof(resp), "b", 1, false, pair.now, &rx);
	cr_assert_eq(rx.drop, NY_WG_DROP_NONE);
}

Test(wg_handshake, wrong_sizes_are_malformed)
{
	uint8_t buf[200] = { NY_WG_MSG_INITIATION };
	struct ny_wg_rx rx;

	ny_wg_device_receive_handshake(&pair.b, buf, 147, "a", 1, false, pair.now, &rx);
	cr_assert_eq(rx.drop, NY_WG_DROP_MALFORMED);
	ny_wg_device_receive_handshake(&pair.b, buf, 149, "a", 1, false, pair.now, &rx);
	cr_assert_eq(rx.drop, NY_WG_DROP_MALFORMED);
	buf[0] = NY_WG_MSG_RESPONSE;
	ny_wg_device_receive_handshake(&pair.b, buf, 91, "a", 1, false, pair.now, &rx);
	cr_assert_eq(rx.drop, NY_WG_DROP_MALFORMED);
	buf[0] = 9;
	ny_wg_device_receive_handshake(&pair.b, buf, 148, "a", 1, false, pair.now, &rx);
	cr_assert_eq(rx.drop, NY_WG_DROP_MALFORMED);
}

Test(wg_handshake, new_handshake_rotates_keypairs)
{
	const char msg[] = "x";
	struct ny_wg_keypair *first;

	wg_pair_handshake(&pair);
	cr_assert_eq(wg_pair_send(&pair, pair.a_to_b, &pair.b, msg, 1, NULL), 1);
	first = pair.a_to_b->keypairs.current;
	pair.now += 10 * NY_WG_NSEC;
	pair.wall += 10 * NY_WG_NSEC;
	wg_pair_handshake(&pair);
	cr_assert_eq(pair.a_to_b->keypairs.previous, first);
	cr_assert_neq(pair.a_to_b->keypairs.current, first);
	/* b still sends on its old keypair until a's first packet confirms the new one; a accepts both. */
	cr_assert_eq(wg_pair_send(&pair, pair.b_to_a, &pair.a, msg, 1, NULL), 1);
	cr_assert_eq(wg_pair_send(&pair, pair.a_to_b, &pair.b, msg, 1, NULL), 1);
	cr_assert_null(pair.b_to_a->keypairs.next);
	cr_assert_eq(wg_pair_send(&pair, pair.b_to_a, &pair.a, msg, 1, NULL), 1);
}
