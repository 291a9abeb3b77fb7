/* The whitepaper's timers (§6) on the injected clock: rekeying, rejection, keepalives, retries with jitter, giving
 * up after REKEY_ATTEMPT_TIME, and erasing keys. */
#include <criterion/criterion.h>
#include <errno.h>

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

TestSuite(wg_timers, .init = setup, .fini = teardown);

/* Encrypts pkt on `peer` and returns the engine's result; *actions gets the requested actions. */
static int seal(struct ny_wg_peer *peer, struct ny_wg_packet *pkt, uint32_t *actions)
{
	return ny_wg_transport_encrypt_batch(peer, pair.aead, pkt, 1, pair.now, actions);
}

/* Finds the keypair a sealed packet names on `to` and decrypts it there; returns the engine's result. */
static int open_on(struct ny_wg_device *to, struct ny_wg_packet *pkt, uint32_t *actions)
{
	struct ny_wg_keypair *kp = ny_wg_transport_lookup(to, pkt->buf, pkt->len);

	cr_assert_not_null(kp);
	return ny_wg_transport_decrypt_batch(to, kp, pair.aead, pkt, 1, pair.now, actions);
}

/* Encrypts one packet of len zero bytes on `peer` and returns the engine's result (see seal()). */
static int send_one(struct ny_wg_peer *peer, size_t len, uint32_t *actions)
{
	uint8_t buf[256] = { 0 };
	struct ny_wg_packet pkt = { .buf = buf, .len = (uint32_t)len, .cap = sizeof(buf) };

	return seal(peer, &pkt, actions);
}

/* Handshake, then a's first packet confirms b's keypair. */
static void establish(void)
{
	wg_pair_handshake(&pair);
	cr_assert_eq(wg_pair_send(&pair, pair.a_to_b, &pair.b, "x", 1, NULL), 1);
}

static void advance(uint64_t ns)
{
	pair.now += ns;
}

Test(wg_timers, initiator_rekeys_after_time)
{
	uint32_t actions;

	establish();
	advance(NY_WG_REKEY_AFTER_TIME - NY_WG_NSEC);
	cr_assert_eq(send_one(pair.a_to_b, 10, &actions), 1);
	cr_assert_eq(actions & NY_WG_ACTION_SEND_INITIATION, 0);
	advance(NY_WG_NSEC);
	cr_assert_eq(send_one(pair.a_to_b, 10, &actions), 1);
	cr_assert(actions & NY_WG_ACTION_SEND_INITIATION);
}

Test(wg_timers, responder_does_not_rekey_after_time)
{
	uint32_t actions;

	establish();
	advance(NY_WG_REKEY_AFTER_TIME + NY_WG_NSEC);
	cr_assert_eq(send_one(pair.b_to_a, 10, &actions), 1);
	cr_assert_eq(actions & NY_WG_ACTION_SEND_INITIATION, 0);
}

Test(wg_timers, rekeys_after_messages)
{
	uint32_t actions;

	establish();
	atomic_store(&pair.b_to_a->keypairs.current->send_counter, NY_WG_REKEY_AFTER_MESSAGES);
	cr_assert_eq(send_one(pair.b_to_a, 10, &actions), 1);
	cr_assert(actions & NY_WG_ACTION_SEND_INITIATION);
}

Test(wg_timers, rejects_after_time)
{
	uint8_t buf[256] = { 0 };
	struct ny_wg_packet pkt = { .buf = buf, .len = 10, .cap = sizeof(buf) };
	uint32_t actions;

	establish();
	/* A packet sealed just before the limit is refused by the receiver once the limit has passed. */
	advance(NY_WG_REJECT_AFTER_TIME - 1);
	cr_assert_eq(seal(pair.a_to_b, &pkt, &actions), 1);
	advance(1);
	cr_assert_eq(send_one(pair.a_to_b, 10, &actions), -ENOKEY);
	cr_assert(actions & NY_WG_ACTION_SEND_INITIATION);
	cr_assert_eq(open_on(&pair.b, &pkt, &actions), 0);
	cr_assert_eq(pkt.drop, NY_WG_DROP_KEY_EXPIRED);
}

Test(wg_timers, rejects_after_messages)
{
	uint32_t actions;

	establish();
	advance(NY_WG_REKEY_TIMEOUT); /* out of the initiation rate limit */
	atomic_store(&pair.a_to_b->keypairs.current->send_counter, NY_WG_REJECT_AFTER_MESSAGES - 1);
	cr_assert_eq(send_one(pair.a_to_b, 10, &actions), 1);
	cr_assert_eq(send_one(pair.a_to_b, 10, &actions), -ENOKEY);
	cr_assert(actions & NY_WG_ACTION_SEND_INITIATION);
}

Test(wg_timers, keepalive_answers_data_after_keepalive_timeout)
{
	uint32_t actions;

	establish();
	/* b received data: it owes a keepalive KEEPALIVE_TIMEOUT later unless it sends something itself. */
	cr_assert_eq(ny_wg_timers_tick(pair.b_to_a, pair.now + NY_WG_KEEPALIVE_TIMEOUT - 1), 0);
	cr_assert_eq(ny_wg_timers_tick(pair.b_to_a, pair.now + NY_WG_KEEPALIVE_TIMEOUT), NY_WG_ACTION_SEND_KEEPALIVE);
	/* Fired once only. */
	cr_assert_eq(ny_wg_timers_tick(pair.b_to_a, pair.now + 2 * NY_WG_KEEPALIVE_TIMEOUT), 0);
	(void)actions;
}

Test(wg_timers, outgoing_data_cancels_the_keepalive)
{
	uint32_t actions;

	establish();
	advance(NY_WG_NSEC);
	cr_assert_eq(send_one(pair.b_to_a, 10, &actions), 1);
	cr_assert_eq(ny_wg_timers_tick(pair.b_to_a, pair.now + NY_WG_KEEPALIVE_TIMEOUT) & NY_WG_ACTION_SEND_KEEPALIVE,
		     0);
}

Test(wg_timers, keepalive_is_empty_and_accepted)
{
	uint8_t buf[64] = { 0 };
	struct ny_wg_packet pkt = { .buf = buf, .len = 0, .cap = sizeof(buf) };
	uint32_t actions;

	establish();
	cr_assert_eq(seal(pair.b_to_a, &pkt, &actions), 1);
	cr_assert_eq(pkt.len, NY_WG_DATA_MIN_LEN);
	cr_assert_eq(open_on(&pair.a, &pkt, &actions), 1);
	cr_assert_eq(pkt.len, 0);
	/* A keepalive is not data: it must not itself be answered by a keepalive. */
	cr_assert_eq(ny_wg_timers_tick(pair.a_to_b, pair.now + NY_WG_KEEPALIVE_TIMEOUT) & NY_WG_ACTION_SEND_KEEPALIVE,
		     0);
}

Test(wg_timers, retransmits_initiation_after_rekey_timeout_with_jitter)
{
	struct ny_wg_msg_initiation init;
	uint64_t deadline, seen_min = UINT64_MAX, seen_max = 0;

	for (int i = 0; i < 10; i++) {
		cr_assert_eq(ny_wg_handshake_create_initiation(pair.a_to_b, pair.now, &init), 0);
		deadline = ny_wg_timers_next_deadline(pair.a_to_b);
		cr_assert_geq(deadline, pair.now + NY_WG_REKEY_TIMEOUT);
		cr_assert_lt(deadline, pair.now + NY_WG_REKEY_TIMEOUT + NY_WG_REKEY_TIMEOUT_JITTER_MAX);
		seen_min = deadline - pair.now < seen_min ? deadline - pair.now : seen_min;
		seen_max = deadline - pair.now > seen_max ? deadline - pair.now : seen_max;
		cr_assert_eq(ny_wg_timers_tick(pair.a_to_b, deadline - 1), 0);
		cr_assert_eq(ny_wg_timers_tick(pair.a_to_b, deadline), NY_WG_ACTION_SEND_INITIATION);
		pair.now = deadline;
	}
	cr_assert_neq(seen_min, seen_max, "the retry interval must be jittered");
}

Test(wg_timers, gives_up_after_rekey_attempt_time)
{
	struct ny_wg_msg_initiation init;
	uint64_t start = pair.now, deadline;
	uint32_t actions = NY_WG_ACTION_SEND_INITIATION;
	int initiations = 0;

	while (actions & NY_WG_ACTION_SEND_INITIATION) {
		cr_assert_eq(ny_wg_handshake_create_initiation(pair.a_to_b, pair.now, &init), 0);
		initiations++;
		cr_assert_lt(initiations, 100, "never gave up");
		deadline = ny_wg_timers_next_deadline(pair.a_to_b);
		pair.now = deadline;
		actions = ny_wg_timers_tick(pair.a_to_b, pair.now);
	}
	cr_assert_eq(actions, NY_WG_ACTION_GAVE_UP);
	/* The first attempt plus one retry per REKEY_TIMEOUT for REKEY_ATTEMPT_TIME. */
	cr_assert_eq(initiations, 1 + NY_WG_MAX_TIMER_HANDSHAKES);
	cr_assert_geq(pair.now - start, NY_WG_REKEY_ATTEMPT_TIME);
	cr_assert_lt(pair.now - start, NY_WG_REKEY_ATTEMPT_TIME + NY_WG_REKEY_TIMEOUT + 20 * NY_WG_REKEY_TIMEOUT_JITTER_MAX);
	/* Nothing retransmits any more; only the key-erasure timer remains. */
	cr_assert_eq(ny_wg_timers_next_deadline(pair.a_to_b), pair.a_to_b->timers.zero_key_material);
}

Test(wg_timers, unanswered_data_starts_a_new_handshake)
{
	uint32_t actions;
	uint64_t deadline, first_send;

	wg_pair_handshake(&pair);
	advance(NY_WG_REKEY_TIMEOUT + NY_WG_NSEC); /* out of the initiation rate limit */
	first_send = pair.now;
	cr_assert_eq(send_one(pair.a_to_b, 10, &actions), 1);
	/* Later data does not push the deadline back: it counts from the first unanswered packet. */
	advance(NY_WG_NSEC);
	cr_assert_eq(send_one(pair.a_to_b, 10, &actions), 1);
	pair.now = first_send;
	deadline = pair.a_to_b->timers.new_handshake;
	cr_assert_geq(deadline, pair.now + NY_WG_KEEPALIVE_TIMEOUT + NY_WG_REKEY_TIMEOUT);
	cr_assert_lt(deadline, pair.now + NY_WG_KEEPALIVE_TIMEOUT + NY_WG_REKEY_TIMEOUT + NY_WG_REKEY_TIMEOUT_JITTER_MAX);
	cr_assert_eq(ny_wg_timers_tick(pair.a_to_b, deadline) & NY_WG_ACTION_SEND_INITIATION,
		     NY_WG_ACTION_SEND_INITIATION);
}

Test(wg_timers, answered_data_starts_no_handshake)
{
	uint32_t actions;

	establish();
	advance(NY_WG_REKEY_TIMEOUT + NY_WG_NSEC);
	cr_assert_eq(send_one(pair.a_to_b, 10, &actions), 1);
	cr_assert_eq(wg_pair_send(&pair, pair.b_to_a, &pair.a, "y", 1, NULL), 1);
	cr_assert_eq(pair.a_to_b->timers.new_handshake, 0);
}

Test(wg_timers, initiations_are_rate_limited_to_one_per_rekey_timeout)
{
	struct ny_wg_msg_initiation init;

	cr_assert(ny_wg_timers_may_initiate(pair.a_to_b, pair.now));
	cr_assert_eq(ny_wg_handshake_create_initiation(pair.a_to_b, pair.now, &init), 0);
	cr_assert_not(ny_wg_timers_may_initiate(pair.a_to_b, pair.now + NY_WG_REKEY_TIMEOUT - 1));
	cr_assert(ny_wg_timers_may_initiate(pair.a_to_b, pair.now + NY_WG_REKEY_TIMEOUT));
}

Test(wg_timers, persistent_keepalive_fires_every_interval)
{
	uint32_t actions;

	establish();
	ny_wg_timers_set_persistent_keepalive(pair.a_to_b, 25, pair.now);
	cr_assert_eq(ny_wg_timers_tick(pair.a_to_b, pair.now + 25 * NY_WG_NSEC - 1) & NY_WG_ACTION_SEND_KEEPALIVE, 0);
	cr_assert(ny_wg_timers_tick(pair.a_to_b, pair.now + 25 * NY_WG_NSEC) & NY_WG_ACTION_SEND_KEEPALIVE);
	/* Sending the keepalive re-arms it. */
	advance(25 * NY_WG_NSEC);
	cr_assert_eq(send_one(pair.a_to_b, 0, &actions), 1);
	cr_assert_eq(pair.a_to_b->timers.persistent_keepalive, pair.now + 25 * NY_WG_NSEC);
}

Test(wg_timers, keys_are_erased_after_three_reject_times)
{
	establish();
	cr_assert_not_null(pair.a_to_b->keypairs.current);
	pair.a_to_b->timers.new_handshake = 0;
	pair.a_to_b->timers.send_keepalive = 0;
	ny_wg_timers_tick(pair.a_to_b, pair.now + 3 * NY_WG_REJECT_AFTER_TIME);
	cr_assert_null(pair.a_to_b->keypairs.current);
	cr_assert_null(pair.a_to_b->keypairs.previous);
	cr_assert_null(pair.a_to_b->keypairs.next);
}

Test(wg_timers, initiator_rekeys_once_when_receiving_near_rejection)
{
	uint32_t actions;
	uint8_t buf[64] = { 0 };
	struct ny_wg_packet pkt = { .buf = buf, .len = 0, .cap = sizeof(buf) };

	establish();
	advance(NY_WG_REJECT_AFTER_TIME - NY_WG_KEEPALIVE_TIMEOUT - NY_WG_REKEY_TIMEOUT);
	for (int i = 0; i < 2; i++) {
		pkt.len = 0;
		cr_assert_eq(seal(pair.b_to_a, &pkt, &actions), 1);
		cr_assert_eq(open_on(&pair.a, &pkt, &actions), 1);
		if (i == 0)
			cr_assert(actions & NY_WG_ACTION_SEND_INITIATION);
		else
			cr_assert_eq(actions & NY_WG_ACTION_SEND_INITIATION, 0, "asked twice");
	}
}

Test(wg_timers, completed_handshake_stops_retransmission)
{
	wg_pair_handshake(&pair);
	cr_assert_eq(pair.a_to_b->timers.retransmit_handshake, 0);
	cr_assert_eq(pair.a_to_b->timers.handshake_attempts, 0);
	cr_assert_neq(pair.a_to_b->stats.last_handshake_wall_ns, 0);
}
