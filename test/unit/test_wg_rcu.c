/* RCU publication of keypairs: what leaves a peer's current / previous / next waits on the device's retired list
 * until its owner has waited for a grace period, a `next` keypair is confirmed by the owner only, and readers on
 * other threads seal and open lock-free while the owner rotates keys under them. */
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdatomic.h>

#include "nylon/rcu.h"
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

TestSuite(wg_rcu, .init = setup, .fini = teardown);

static void next_handshake(void)
{
	pair.now += 10 * NY_WG_NSEC;
	pair.wall += 10 * NY_WG_NSEC;
	wg_pair_handshake(&pair);
}

static size_t list_len(const struct ny_wg_keypair *kp)
{
	size_t n = 0;

	for (; kp; kp = kp->retired_next)
		n++;
	return n;
}

Test(wg_rcu, a_rotated_out_keypair_waits_on_the_retired_list)
{
	struct ny_wg_keypair *first = pair.a_to_b->keypairs.current;
	uint32_t index = first->entry.index;
	struct ny_wg_retired gone;

	/* Nothing was retired by the first handshake (the test set-up's). */
	cr_assert_not(ny_wg_device_take_retired(&pair.a, &gone));
	next_handshake();
	cr_assert_eq(pair.a_to_b->keypairs.previous, first);
	cr_assert_not(ny_wg_device_take_retired(&pair.a, &gone), "previous is still in service");
	next_handshake();
	cr_assert(ny_wg_device_take_retired(&pair.a, &gone));
	cr_assert_eq(gone.keypairs, first);
	cr_assert_eq(list_len(gone.keypairs), 1);
	cr_assert_null(gone.peers);
	cr_assert_not(atomic_load(&first->valid), "a retired keypair is invalid");
	cr_assert_null(ny_wg_index_lookup(&pair.a, index, NY_WG_INDEX_KEYPAIR), "and no lookup finds it");
	/* Until it is freed, a reader that found it before still reads its keys. */
	cr_assert_neq(first->remote_index, 0);
	ny_wg_retired_free(&gone);
	cr_assert_null(gone.keypairs);
	cr_assert_not(ny_wg_device_take_retired(&pair.a, &gone), "the list was taken");
}

Test(wg_rcu, account_leaves_the_rotation_of_next_to_the_owner)
{
	uint8_t buf[256];
	struct ny_wg_packet pkt = { .buf = buf, .len = 64, .cap = sizeof(buf) };
	struct ny_wg_keypair *kp, *old_current = pair.b_to_a->keypairs.current;
	struct ny_wg_open_job job;
	uint32_t actions = 0;

	memset(buf, 0x5a, sizeof(buf));
	cr_assert_not_null(pair.b_to_a->keypairs.next, "the responder's keypair waits as next");
	cr_assert_eq(ny_wg_transport_encrypt_batch(pair.a_to_b, pair.aead, &pkt, 1, pair.now, &actions), 1);
	kp = ny_wg_transport_lookup(&pair.b, buf, pkt.len);
	cr_assert_eq(kp, pair.b_to_a->keypairs.next);
	cr_assert_eq(ny_wg_transport_open_begin(&pair.b, kp, &pkt, 1, pair.now, &job), 0);
	ny_wg_transport_open(&job, pair.aead, &pkt, 1);
	cr_assert(ny_wg_transport_open_account(&pair.b, &job, &pkt, 1, pair.now, &actions), "confirmation asked");
	cr_assert_eq(job.accepted, 1);
	cr_assert_eq(pair.b_to_a->keypairs.next, kp, "account alone does not rotate");
	cr_assert_eq(pair.b_to_a->keypairs.current, old_current);
	actions = 0;
	ny_wg_transport_confirm(kp, pair.now, &actions);
	cr_assert_eq(pair.b_to_a->keypairs.current, kp);
	cr_assert_null(pair.b_to_a->keypairs.next);
	cr_assert(actions & NY_WG_ACTION_SEND_STAGED);
	/* A second confirmation (another shard's batch) changes nothing. */
	actions = 0;
	ny_wg_transport_confirm(kp, pair.now, &actions);
	cr_assert_eq(pair.b_to_a->keypairs.current, kp);
	cr_assert_eq(actions, 0);
}

/* Seals one packet a -> b and runs it through b's reader steps (lookup, open, account) without the owner's
 * confirmation; returns the keypair it arrived on. */
static struct ny_wg_keypair *read_one_on_b(void)
{
	uint8_t buf[256];
	struct ny_wg_packet pkt = { .buf = buf, .len = 64, .cap = sizeof(buf) };
	struct ny_wg_keypair *kp;
	struct ny_wg_open_job job;
	uint32_t actions = 0;

	memset(buf, 0x5a, sizeof(buf));
	cr_assert_eq(ny_wg_transport_encrypt_batch(pair.a_to_b, pair.aead, &pkt, 1, pair.now, &actions), 1);
	kp = ny_wg_transport_lookup(&pair.b, buf, pkt.len);
	cr_assert_not_null(kp);
	cr_assert_eq(ny_wg_transport_open_begin(&pair.b, kp, &pkt, 1, pair.now, &job), 0);
	ny_wg_transport_open(&job, pair.aead, &pkt, 1);
	cr_assert(ny_wg_transport_open_account(&pair.b, &job, &pkt, 1, pair.now, &actions), "confirmation asked");
	return kp;
}

/* Shards do not rotate: they ask the owner (NY_WG_ACTION_CONFIRM), which confirms `next` later, and only a `next`
 * that data arrived on. */
Test(wg_rcu, the_owner_confirms_next_later_only_once_data_arrived_on_it)
{
	struct ny_wg_keypair *kp = pair.b_to_a->keypairs.next, *old_current = pair.b_to_a->keypairs.current;
	uint32_t actions = 0;

	cr_assert_not_null(kp);
	ny_wg_transport_confirm_next(pair.b_to_a, pair.now, &actions);
	cr_assert_eq(pair.b_to_a->keypairs.next, kp, "no data yet: nothing to confirm");
	cr_assert_eq(actions, 0);
	cr_assert_eq(read_one_on_b(), kp);
	cr_assert_eq(pair.b_to_a->keypairs.current, old_current, "the reader did not rotate");

	/* Before the owner gets to it, a newer handshake replaces `next`: the new one has seen no data. */
	pair.now += NY_WG_NSEC;
	pair.wall += NY_WG_NSEC;
	wg_pair_handshake(&pair);
	cr_assert_not_null(pair.b_to_a->keypairs.next);
	cr_assert_neq(pair.b_to_a->keypairs.next, kp);
	kp = pair.b_to_a->keypairs.next;
	ny_wg_transport_confirm_next(pair.b_to_a, pair.now, &actions);
	cr_assert_eq(pair.b_to_a->keypairs.next, kp, "an unconfirmed successor stays next");
	cr_assert_eq(actions, 0);

	/* Data on the new `next`, then the owner's deferred confirmation rotates it in. */
	cr_assert_eq(read_one_on_b(), kp);
	ny_wg_transport_confirm_next(pair.b_to_a, pair.now, &actions);
	cr_assert_eq(pair.b_to_a->keypairs.current, kp);
	cr_assert_null(pair.b_to_a->keypairs.next);
	cr_assert(actions & NY_WG_ACTION_SEND_STAGED);
}

Test(wg_rcu, a_removed_peer_waits_for_a_grace_period)
{
	struct ny_wg_peer *peer = pair.a_to_b;
	struct ny_wg_retired gone;

	ny_wg_device_remove_peer(&pair.a, peer);
	cr_assert_null(ny_wg_device_find_peer(&pair.a, pair.b.static_public));
	cr_assert(ny_wg_device_take_retired(&pair.a, &gone));
	cr_assert_eq(gone.peers, peer);
	cr_assert_eq(list_len(gone.keypairs), 1, "its one keypair went with it");
	ny_wg_retired_free(&gone);
}

/* ---- readers on other threads while the owner rotates ------------------------------------------------------- */

#define READERS 2
#define ROTATIONS 150

static _Atomic uint64_t clock_now;
static atomic_bool stop;
static atomic_uint sealed, opened;

static void safe_random(void *ctx, void *buf, size_t len)
{
	ny_crypto_random(buf, len);
}

/* Seals one packet to b with a's current keypair and opens it on b, as a shard would: no lock, one quiescent
 * state per iteration. Expired or missing keys (the owner is mid-rotation) are fine; wrong plaintext is not. */
static void *reader(void *arg)
{
	struct ny_aead_ctx *aead = ny_aead_ctx_new(NY_AEAD_DEFAULT);
	uint8_t buf[256];
	bool ok = aead != NULL;

	ny_rcu_register_thread();
	while (ok && !atomic_load(&stop)) {
		struct ny_wg_packet pkt = { .buf = buf, .len = 100, .cap = sizeof(buf) };
		uint64_t now = atomic_load(&clock_now);
		struct ny_wg_seal_job seal;
		struct ny_wg_open_job open;
		struct ny_wg_keypair *kp;
		uint32_t actions;

		memset(buf + NY_WG_DATA_HEADER_LEN, 0xa5, 100);
		if (ny_wg_transport_reserve(pair.a_to_b, 1, now, &seal, &actions) == 0) {
			ok = ny_wg_transport_seal(&seal, aead, &pkt) == 0;
			ny_wg_transport_sent(pair.a_to_b, &seal, pkt.len, true, now, &actions);
			ny_crypto_wipe(seal.key, sizeof(seal.key));
			atomic_fetch_add(&sealed, 1);
			kp = ny_wg_transport_lookup(&pair.b, buf, pkt.len);
			if (kp && ny_wg_transport_open_begin(&pair.b, kp, &pkt, 1, now, &open) == 0) {
				ny_wg_transport_open(&open, aead, &pkt, 1);
				ny_wg_transport_open_account(&pair.b, &open, &pkt, 1, now, &actions);
				if (open.accepted) {
					ok = buf[NY_WG_DATA_HEADER_LEN] == 0xa5 && buf[NY_WG_DATA_HEADER_LEN + 99] == 0xa5;
					atomic_fetch_add(&opened, 1);
				}
			}
		}
		ny_rcu_quiescent();
	}
	ny_rcu_unregister_thread();
	ny_aead_ctx_free(aead);
	return (void *)(uintptr_t)ok;
}

static void reclaim(struct ny_wg_device *dev)
{
	struct ny_wg_retired gone;

	if (ny_wg_device_take_retired(dev, &gone)) {
		ny_rcu_synchronize();
		ny_wg_retired_free(&gone);
	}
}

Test(wg_rcu, readers_seal_and_open_while_the_owner_rotates)
{
	pthread_t threads[READERS];

	pair.a.random = pair.b.random = safe_random; /* jitter is drawn on the readers' threads too */
	atomic_store(&clock_now, pair.now);
	atomic_store(&stop, false);
	for (int i = 0; i < READERS; i++)
		cr_assert_eq(pthread_create(&threads[i], NULL, reader, NULL), 0);
	for (int i = 0; i < ROTATIONS; i++) {
		pair.now += NY_WG_NSEC;
		pair.wall += NY_WG_NSEC;
		wg_pair_handshake(&pair);
		atomic_store(&clock_now, pair.now);
		reclaim(&pair.a);
		reclaim(&pair.b);
	}
	atomic_store(&stop, true);
	for (int i = 0; i < READERS; i++) {
		void *ok;

		pthread_join(threads[i], &ok);
		cr_assert(ok, "reader %d saw a wrong plaintext or a failed seal", i);
	}
	cr_assert_gt(atomic_load(&sealed), 0);
	cr_assert_gt(atomic_load(&opened), 0);
}
