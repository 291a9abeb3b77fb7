/* Transport data through the batch API: padding, keepalives, replay, tampering, buffer and key checks. */
#include <criterion/criterion.h>
#include <errno.h>

#include "wg_pair.h"

static struct wg_pair pair;

static void setup(void)
{
	wg_pair_setup(&pair, NULL);
	wg_pair_handshake(&pair);
}

static void teardown(void)
{
	wg_pair_teardown(&pair);
}

TestSuite(wg_transport, .init = setup, .fini = teardown);

#define BATCH 32
static uint8_t bufs[BATCH][2048];

static void fill(struct ny_wg_packet *pkts, size_t n, const uint32_t *lens)
{
	for (size_t i = 0; i < n; i++) {
		pkts[i] = (struct ny_wg_packet){ .buf = bufs[i], .len = lens[i], .cap = sizeof(bufs[i]) };
		for (uint32_t j = 0; j < lens[i]; j++)
			bufs[i][NY_WG_DATA_HEADER_LEN + j] = (uint8_t)(i * 31 + j);
	}
}

Test(wg_transport, batch_round_trip_with_padding)
{
	static const uint32_t lens[] = { 0, 1, 15, 16, 17, 64, 100, 1280, 1420, 1500, 2000 - 32 };
	const size_t n = sizeof(lens) / sizeof(lens[0]);
	struct ny_wg_packet pkts[BATCH];
	struct ny_wg_keypair *kp;
	uint64_t before = atomic_load(&pair.a_to_b->keypairs.current->send_counter);
	uint32_t actions;

	fill(pkts, n, lens);
	cr_assert_eq(ny_wg_transport_encrypt_batch(pair.a_to_b, pair.aead, pkts, n, pair.now, &actions), (int)n);
	/* The counter range was reserved in one step. */
	cr_assert_eq(atomic_load(&pair.a_to_b->keypairs.current->send_counter), before + n);
	for (size_t i = 0; i < n; i++) {
		cr_assert_eq(pkts[i].len, ny_wg_data_message_len(lens[i]));
		cr_assert_eq((pkts[i].len - NY_WG_DATA_MIN_LEN) % 16, 0, "padded to 16");
		cr_assert_eq(ny_wg_le64_load(bufs[i] + 8), before + i, "counters in order");
	}
	kp = ny_wg_transport_lookup(&pair.b, bufs[0], pkts[0].len);
	cr_assert_not_null(kp);
	cr_assert_eq(ny_wg_transport_decrypt_batch(&pair.b, kp, pair.aead, pkts, n, pair.now, &actions), (int)n);
	cr_assert(actions & NY_WG_ACTION_SEND_STAGED, "the first packet confirms b's keypair");
	for (size_t i = 0; i < n; i++) {
		cr_assert_eq(pkts[i].drop, NY_WG_DROP_NONE);
		cr_assert_eq(pkts[i].len, ny_wg_padded_len(lens[i]));
		for (uint32_t j = 0; j < lens[i]; j++)
			cr_assert_eq(bufs[i][NY_WG_DATA_HEADER_LEN + j], (uint8_t)(i * 31 + j));
		for (uint32_t j = lens[i]; j < pkts[i].len; j++)
			cr_assert_eq(bufs[i][NY_WG_DATA_HEADER_LEN + j], 0, "padding is zero");
	}
}

Test(wg_transport, replayed_packet_is_dropped_and_counted)
{
	static const uint32_t lens[] = { 40 };
	struct ny_wg_packet pkts[2];
	struct ny_wg_keypair *kp;
	uint32_t actions;

	fill(pkts, 1, lens);
	cr_assert_eq(ny_wg_transport_encrypt_batch(pair.a_to_b, pair.aead, pkts, 1, pair.now, &actions), 1);
	memcpy(bufs[1], bufs[0], pkts[0].len);
	pkts[1] = (struct ny_wg_packet){ .buf = bufs[1], .len = pkts[0].len, .cap = sizeof(bufs[1]) };
	kp = ny_wg_transport_lookup(&pair.b, bufs[0], pkts[0].len);
	cr_assert_eq(ny_wg_transport_decrypt_batch(&pair.b, kp, pair.aead, pkts, 2, pair.now, &actions), 1);
	cr_assert_eq(pkts[0].drop, NY_WG_DROP_NONE);
	cr_assert_eq(pkts[1].drop, NY_WG_DROP_REPLAY);
	cr_assert_eq(pair.b.stats.drops[NY_WG_DROP_REPLAY], 1);
}

Test(wg_transport, tampered_packet_is_dropped_without_moving_the_window)
{
	static const uint32_t lens[] = { 64 };
	struct ny_wg_packet pkts[1];
	struct ny_wg_keypair *kp;
	uint8_t copy[2048];
	uint32_t actions, len;

	fill(pkts, 1, lens);
	cr_assert_eq(ny_wg_transport_encrypt_batch(pair.a_to_b, pair.aead, pkts, 1, pair.now, &actions), 1);
	len = pkts[0].len;
	memcpy(copy, bufs[0], len);
	kp = ny_wg_transport_lookup(&pair.b, bufs[0], len);
	cr_assert_not_null(kp);
	for (uint32_t i = NY_WG_DATA_HEADER_LEN; i < len; i += 7) {
		memcpy(bufs[0], copy, len);
		bufs[0][i] ^= 0x10;
		pkts[0].len = len;
		cr_assert_eq(ny_wg_transport_decrypt_batch(&pair.b, kp, pair.aead, pkts, 1, pair.now, &actions), 0);
		cr_assert_eq(pkts[0].drop, NY_WG_DROP_DECRYPT, "byte %u", i);
	}
	/* A forged counter far ahead must not have advanced the window either. */
	memcpy(bufs[0], copy, len);
	ny_wg_le64_store(bufs[0] + 8, 1u << 20);
	pkts[0].len = len;
	cr_assert_eq(ny_wg_transport_decrypt_batch(&pair.b, kp, pair.aead, pkts, 1, pair.now, &actions), 0);
	memcpy(bufs[0], copy, len);
	pkts[0].len = len;
	cr_assert_eq(ny_wg_transport_decrypt_batch(&pair.b, kp, pair.aead, pkts, 1, pair.now, &actions), 1);
}

Test(wg_transport, unknown_index_and_short_packets_are_dropped)
{
	uint8_t msg[64] = { NY_WG_MSG_DATA };

	ny_wg_le32_store(msg + 4, 0xdeadbeef);
	cr_assert_null(ny_wg_transport_lookup(&pair.b, msg, sizeof(msg)));
	cr_assert_eq(pair.b.stats.drops[NY_WG_DROP_UNKNOWN_INDEX], 1);
	cr_assert_null(ny_wg_transport_lookup(&pair.b, msg, NY_WG_DATA_MIN_LEN - 1));
	cr_assert_eq(pair.b.stats.drops[NY_WG_DROP_MALFORMED], 1);
}

Test(wg_transport, packet_for_another_keypair_in_a_batch_is_malformed)
{
	static const uint32_t lens[] = { 10, 10 };
	struct ny_wg_packet pkts[2];
	struct ny_wg_keypair *kp;
	uint32_t actions;

	fill(pkts, 2, lens);
	cr_assert_eq(ny_wg_transport_encrypt_batch(pair.a_to_b, pair.aead, pkts, 2, pair.now, &actions), 2);
	kp = ny_wg_transport_lookup(&pair.b, bufs[0], pkts[0].len);
	ny_wg_le32_store(bufs[1] + 4, kp->entry.index ^ 1);
	cr_assert_eq(ny_wg_transport_decrypt_batch(&pair.b, kp, pair.aead, pkts, 2, pair.now, &actions), 1);
	cr_assert_eq(pkts[1].drop, NY_WG_DROP_MALFORMED);
}

Test(wg_transport, small_buffer_is_refused_before_anything_is_touched)
{
	static const uint32_t lens[] = { 100 };
	struct ny_wg_packet pkts[1];
	uint64_t before = atomic_load(&pair.a_to_b->keypairs.current->send_counter);
	uint32_t actions;

	fill(pkts, 1, lens);
	pkts[0].cap = (uint32_t)ny_wg_data_message_len(100) - 1;
	cr_assert_eq(ny_wg_transport_encrypt_batch(pair.a_to_b, pair.aead, pkts, 1, pair.now, &actions), -EINVAL);
	cr_assert_eq(atomic_load(&pair.a_to_b->keypairs.current->send_counter), before);
}

Test(wg_transport, no_session_asks_for_a_handshake)
{
	static const uint32_t lens[] = { 10 };
	struct ny_wg_packet pkts[1];
	uint32_t actions;

	fill(pkts, 1, lens);
	/* b's keypair is still `next`: it may not send until a confirms it. */
	cr_assert_eq(ny_wg_transport_encrypt_batch(pair.b_to_a, pair.aead, pkts, 1, pair.now, &actions), -ENOKEY);
	cr_assert(actions & NY_WG_ACTION_SEND_INITIATION);
}

Test(wg_transport, both_providers_interoperate)
{
	static const uint32_t lens[] = { 1420 };
	struct ny_aead_ctx *sodium = ny_aead_ctx_new(NY_AEAD_SODIUM);
	struct ny_wg_packet pkts[1];
	struct ny_wg_keypair *kp;
	uint32_t actions;

	cr_assert_not_null(sodium);
	fill(pkts, 1, lens);
	cr_assert_eq(ny_wg_transport_encrypt_batch(pair.a_to_b, sodium, pkts, 1, pair.now, &actions), 1);
	kp = ny_wg_transport_lookup(&pair.b, bufs[0], pkts[0].len);
	cr_assert_eq(ny_wg_transport_decrypt_batch(&pair.b, kp, pair.aead, pkts, 1, pair.now, &actions), 1);
	ny_aead_ctx_free(sodium);
}

Test(wg_transport, reserved_jobs_seal_in_any_order)
{
	static const uint32_t lens[] = { 100, 200, 300 };
	struct ny_wg_packet pkts[3];
	struct ny_wg_seal_job first, second;
	struct ny_wg_keypair *kp;
	uint32_t actions = 0;

	fill(pkts, 3, lens);
	/* Two shards reserve ranges under the lock, then seal outside it in the opposite order. */
	cr_assert_eq(ny_wg_transport_reserve(pair.a_to_b, 2, pair.now, &first, &actions), 0);
	cr_assert_eq(ny_wg_transport_reserve(pair.a_to_b, 1, pair.now, &second, &actions), 0);
	cr_assert_eq(second.first_counter, first.first_counter + 2, "ranges do not overlap");
	cr_assert_eq(ny_wg_transport_seal(&second, pair.aead, pkts + 2), 0);
	cr_assert_eq(ny_wg_transport_seal(&first, pair.aead, pkts), 0);
	ny_wg_transport_sent(pair.a_to_b, &first, pkts[0].len + pkts[1].len, true, pair.now, &actions);
	ny_wg_transport_sent(pair.a_to_b, &second, pkts[2].len, true, pair.now, &actions);
	cr_assert_eq(pair.a_to_b->stats.tx_bytes, (uint64_t)pkts[0].len + pkts[1].len + pkts[2].len);
	cr_assert_neq(pair.a_to_b->timers.new_handshake, 0, "data sent arms the new-handshake timer");
	kp = ny_wg_transport_lookup(&pair.b, bufs[2], pkts[2].len);
	cr_assert_eq(ny_wg_transport_decrypt_batch(&pair.b, kp, pair.aead, pkts + 2, 1, pair.now, &actions), 1);
	cr_assert_eq(ny_wg_transport_decrypt_batch(&pair.b, kp, pair.aead, pkts, 2, pair.now, &actions), 2);
	for (int i = 0; i < 3; i++)
		cr_assert_eq(bufs[i][NY_WG_DATA_HEADER_LEN], (uint8_t)(i * 31), "payload %d", i);
}

Test(wg_transport, a_keypair_rotated_out_during_decryption_lives_until_it_ends)
{
	static const uint32_t lens[] = { 64 };
	struct ny_wg_packet pkts[1];
	struct ny_wg_open_job job;
	struct ny_wg_keypair *kp;
	uint32_t actions;

	fill(pkts, 1, lens);
	cr_assert_eq(ny_wg_transport_encrypt_batch(pair.a_to_b, pair.aead, pkts, 1, pair.now, &actions), 1);
	kp = ny_wg_transport_lookup(&pair.b, bufs[0], pkts[0].len);
	cr_assert_not_null(kp);
	cr_assert_eq(ny_wg_transport_open_begin(&pair.b, kp, pkts, 1, pair.now, &job), 0);
	/* Meanwhile two more handshakes push this keypair out of b's current / previous / next: b frees it. */
	for (int i = 0; i < 2; i++) {
		pair.now += 10 * NY_WG_NSEC;
		pair.wall += 10 * NY_WG_NSEC;
		wg_pair_handshake(&pair);
	}
	cr_assert_null(ny_wg_transport_lookup(&pair.b, bufs[0], pkts[0].len), "its index is gone");
	ny_wg_transport_open(&job, pair.aead, pkts, 1);
	cr_assert_eq(ny_wg_transport_open_end(&pair.b, &job, pkts, 1, pair.now, &actions), 1,
		     "a packet sealed before the rotation is still authentic");
	cr_assert_eq(pkts[0].len, ny_wg_padded_len(64));
}
