/* mac1 / mac2 and cookie replies under load (whitepaper §5.3, §5.4.7). */
#include <criterion/criterion.h>

#include "wg_pair.h"

static struct wg_pair pair;
static const char SRC_A[] = "198.18.0.1:51820";
static const char SRC_OTHER[] = "198.18.0.9:51820";

static void setup(void)
{
	wg_pair_setup(&pair, NULL);
}

static void teardown(void)
{
	wg_pair_teardown(&pair);
}

TestSuite(wg_cookie, .init = setup, .fini = teardown);

static void initiation(struct ny_wg_msg_initiation *init)
{
	cr_assert_eq(ny_wg_handshake_create_initiation(pair.a_to_b, pair.now, init), 0);
}

static void deliver_to_b(const void *msg, size_t len, const char *src, bool load, struct ny_wg_rx *rx)
{
	ny_wg_device_receive_handshake(&pair.b, msg, len, src, strlen(src), load, pair.now, rx);
}

/* A rekey timeout later (and with a newer timestamp), a makes another initiation. */
static void later_initiation(struct ny_wg_msg_initiation *init)
{
	pair.now += NY_WG_REKEY_TIMEOUT;
	pair.wall += NY_WG_NSEC;
	initiation(init);
}

/* b under load answers a's first initiation with a cookie; a takes it. */
static void obtain_cookie(void)
{
	struct ny_wg_msg_initiation init;
	struct ny_wg_rx rx;

	wg_pair_initiate(&pair, &init, SRC_A, true, &rx);
	cr_assert_eq(rx.drop, NY_WG_DROP_COOKIE_SENT);
	cr_assert_eq(rx.reply_len, sizeof(struct ny_wg_msg_cookie));
	cr_assert_eq(rx.reply[0], NY_WG_MSG_COOKIE);
	ny_wg_device_receive_handshake(&pair.a, rx.reply, rx.reply_len, "b", 1, false, pair.now, &rx);
	cr_assert_eq(rx.drop, NY_WG_DROP_NONE, "cookie reply refused: %s", ny_wg_drop_name(rx.drop));
	cr_assert(pair.a_to_b->cookie.valid);
}

/* a obtains b's cookie, then makes its next initiation, which carries a mac2 made with it. */
static void initiation_with_cookie(struct ny_wg_msg_initiation *init)
{
	obtain_cookie();
	later_initiation(init);
}

Test(wg_cookie, mac1_is_checked_without_load)
{
	struct ny_wg_msg_initiation init;
	struct ny_wg_rx rx;

	initiation(&init);
	init.macs.mac1[3] ^= 1;
	deliver_to_b(&init, sizeof(init), SRC_A, false, &rx);
	cr_assert_eq(rx.drop, NY_WG_DROP_MAC1);
	cr_assert_eq(rx.reply_len, 0, "no cookie for a bad mac1");
}

Test(wg_cookie, without_load_mac2_is_not_required)
{
	struct ny_wg_msg_initiation init;
	struct ny_wg_rx rx;

	initiation(&init);
	cr_assert(ny_crypto_is_zero(init.macs.mac2, NY_MAC_LEN), "no cookie yet: mac2 is zero");
	deliver_to_b(&init, sizeof(init), SRC_A, false, &rx);
	cr_assert_eq(rx.drop, NY_WG_DROP_NONE);
}

Test(wg_cookie, under_load_a_cookie_reply_then_mac2_is_accepted)
{
	struct ny_wg_msg_initiation init;
	struct ny_wg_rx rx;

	initiation_with_cookie(&init);
	cr_assert_not(ny_crypto_is_zero(init.macs.mac2, NY_MAC_LEN));
	deliver_to_b(&init, sizeof(init), SRC_A, true, &rx);
	cr_assert_eq(rx.drop, NY_WG_DROP_NONE, "dropped: %s", ny_wg_drop_name(rx.drop));
	cr_assert_eq(rx.reply_len, sizeof(struct ny_wg_msg_response));
}

Test(wg_cookie, cookie_is_bound_to_the_source_address)
{
	struct ny_wg_msg_initiation init;
	struct ny_wg_rx rx;

	initiation_with_cookie(&init);
	deliver_to_b(&init, sizeof(init), SRC_OTHER, true, &rx);
	cr_assert_eq(rx.drop, NY_WG_DROP_COOKIE_SENT);
}

Test(wg_cookie, flipped_mac2_under_load_is_rejected)
{
	struct ny_wg_msg_initiation init;
	struct ny_wg_rx rx;

	initiation_with_cookie(&init);
	init.macs.mac2[0] ^= 0x40;
	deliver_to_b(&init, sizeof(init), SRC_A, true, &rx);
	cr_assert_eq(rx.drop, NY_WG_DROP_COOKIE_SENT);
}

Test(wg_cookie, reply_is_bound_to_the_mac1_it_answers)
{
	struct ny_wg_msg_initiation init;
	struct ny_wg_rx rx;
	uint8_t reply[sizeof(struct ny_wg_msg_cookie)];

	wg_pair_initiate(&pair, &init, SRC_A, true, &rx);
	cr_assert_eq(rx.drop, NY_WG_DROP_COOKIE_SENT);
	memcpy(reply, rx.reply, sizeof(reply));
	/* The mac1 it answers is its associated data: any other mac1 makes it fail to decrypt. */
	pair.a_to_b->cookie.last_mac1_sent[0] ^= 1;
	ny_wg_device_receive_handshake(&pair.a, reply, sizeof(reply), "b", 1, false, pair.now, &rx);
	cr_assert_eq(rx.drop, NY_WG_DROP_COOKIE);
	cr_assert_not(pair.a_to_b->cookie.valid);
	pair.a_to_b->cookie.last_mac1_sent[0] ^= 1;
	/* a sent another initiation since: its index changed, so the old reply answers nothing. */
	later_initiation(&init);
	ny_wg_device_receive_handshake(&pair.a, reply, sizeof(reply), "b", 1, false, pair.now, &rx);
	cr_assert_eq(rx.drop, NY_WG_DROP_UNKNOWN_INDEX);
	cr_assert_not(pair.a_to_b->cookie.valid);
}

Test(wg_cookie, reply_to_unknown_index_is_dropped)
{
	struct ny_wg_msg_cookie reply = { .type = NY_WG_MSG_COOKIE, .receiver_index = 0x12345678 };
	struct ny_wg_rx rx;

	ny_wg_device_receive_handshake(&pair.a, (uint8_t *)&reply, sizeof(reply), "b", 1, false, pair.now, &rx);
	cr_assert_eq(rx.drop, NY_WG_DROP_UNKNOWN_INDEX);
}

Test(wg_cookie, secret_rotates_after_two_minutes)
{
	struct ny_wg_msg_initiation init;
	struct ny_wg_rx rx;

	obtain_cookie();
	/* The cookie a holds was made with a secret that b has replaced since. */
	pair.now += NY_WG_COOKIE_SECRET_MAX_AGE - NY_WG_COOKIE_SECRET_LATENCY - NY_WG_NSEC;
	pair.wall += NY_WG_NSEC;
	initiation(&init);
	cr_assert_not(ny_crypto_is_zero(init.macs.mac2, NY_MAC_LEN), "cookie still fresh on a's side");
	pair.now += 2 * NY_WG_COOKIE_SECRET_LATENCY;
	deliver_to_b(&init, sizeof(init), SRC_A, true, &rx);
	cr_assert_eq(rx.drop, NY_WG_DROP_COOKIE_SENT);
}

Test(wg_cookie, sender_stops_using_an_old_cookie)
{
	struct ny_wg_msg_initiation init;

	obtain_cookie();
	pair.now += NY_WG_COOKIE_SECRET_MAX_AGE - NY_WG_COOKIE_SECRET_LATENCY;
	pair.wall += NY_WG_NSEC;
	initiation(&init);
	cr_assert(ny_crypto_is_zero(init.macs.mac2, NY_MAC_LEN));
}

Test(wg_cookie, response_under_load_needs_mac2_too)
{
	struct ny_wg_msg_initiation init;
	struct ny_wg_msg_response resp;
	struct ny_wg_rx rx;

	wg_pair_initiate(&pair, &init, SRC_A, false, &rx);
	memcpy(&resp, rx.reply, sizeof(resp));
	/* a is under load: b's response has no cookie, so a answers with a cookie reply to b's index. */
	ny_wg_device_receive_handshake(&pair.a, (uint8_t *)&resp, sizeof(resp), "b", 1, true, pair.now, &rx);
	cr_assert_eq(rx.drop, NY_WG_DROP_COOKIE_SENT);
	cr_assert_eq(rx.reply_len, sizeof(struct ny_wg_msg_cookie));
	cr_assert_eq(ny_wg_le32_load(rx.reply + 4), ny_le32_to_cpu(resp.sender_index));
	ny_wg_device_receive_handshake(&pair.b, rx.reply, rx.reply_len, "a", 1, false, pair.now, &rx);
	cr_assert_eq(rx.drop, NY_WG_DROP_NONE, "b refused a's cookie: %s", ny_wg_drop_name(rx.drop));
	cr_assert(pair.b_to_a->cookie.valid);
}
