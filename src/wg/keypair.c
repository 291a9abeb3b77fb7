/* The current / previous / next keypairs of a peer and their rotation (whitepaper §5.4.6 and the kernel
 * module's arrangement: a responder's new keypair waits as `next` until the initiator proves it has it).
 * Context: owner thread. The three slots are RCU-published: a keypair taken out of them is retired, not freed, so
 * that a transport path still using it finishes its batch; its keys are wiped when the retired list is freed after
 * a grace period. */
#include "nylon/wg.h"

#include <stdlib.h>

#include "wg/internal.h"

struct ny_wg_keypair *ny_wg_keypair_new(uint64_t now, bool initiator, uint32_t remote_index)
{
	struct ny_wg_keypair *kp = calloc(1, sizeof(*kp));

	if (!kp)
		return NULL;
	atomic_init(&kp->send_counter, 0);
	atomic_flag_clear(&kp->replay_lock);
	ny_wg_replay_init(&kp->replay);
	kp->birth = now;
	kp->is_initiator = initiator;
	kp->remote_index = remote_index;
	atomic_init(&kp->valid, true);
	return kp;
}

/* Takes the keypair out of service: no lookup finds it from now on, and it goes on the retired list. */
static void keypair_retire(struct ny_wg_device *dev, struct ny_wg_keypair *kp)
{
	if (!kp)
		return;
	ny_wg_index_remove(dev, &kp->entry);
	atomic_store_explicit(&kp->valid, false, memory_order_relaxed);
	kp->retired_next = dev->retired.keypairs;
	dev->retired.keypairs = kp;
}

bool ny_wg_device_take_retired(struct ny_wg_device *dev, struct ny_wg_retired *out)
{
	*out = dev->retired;
	dev->retired = (struct ny_wg_retired){ NULL, NULL };
	return out->keypairs || out->peers;
}

void ny_wg_retired_free(struct ny_wg_retired *retired)
{
	for (struct ny_wg_keypair *kp = retired->keypairs, *next; kp; kp = next) {
		next = kp->retired_next;
		ny_crypto_wipe(kp, sizeof(*kp));
		free(kp);
	}
	for (struct ny_wg_peer *peer = retired->peers, *next; peer; peer = next) {
		next = peer->retired_next;
		ny_crypto_wipe(peer, sizeof(*peer));
		free(peer);
	}
	retired->keypairs = NULL;
	retired->peers = NULL;
}

static void set(struct ny_wg_keypair **slot, struct ny_wg_keypair *kp)
{
	ny_rcu_assign_pointer(*slot, kp);
}

void ny_wg_keypairs_install(struct ny_wg_peer *peer, struct ny_wg_keypair *kp)
{
	struct ny_wg_keypairs *k = &peer->keypairs;
	struct ny_wg_device *dev = peer->device;
	struct ny_wg_keypair *old_prev = k->previous, *old_cur = k->current, *old_next = k->next;

	/* Publish first, retire after: a reader sees either the old or the new arrangement, never a retired keypair
	 * in a slot. */
	if (kp->is_initiator) {
		/* A pending `next` (we were also responding) is superseded: it becomes previous, current goes. */
		if (old_next) {
			set(&k->previous, old_next);
			set(&k->next, NULL);
			set(&k->current, kp);
			keypair_retire(dev, old_prev);
			keypair_retire(dev, old_cur);
		} else {
			set(&k->previous, old_cur);
			set(&k->current, kp);
			keypair_retire(dev, old_prev);
		}
	} else {
		set(&k->next, kp);
		set(&k->previous, NULL);
		keypair_retire(dev, old_next);
		keypair_retire(dev, old_prev);
	}
}

bool ny_wg_keypairs_received_with(struct ny_wg_peer *peer, struct ny_wg_keypair *kp)
{
	struct ny_wg_keypairs *k = &peer->keypairs;
	struct ny_wg_keypair *old_prev = k->previous;

	if (kp != k->next)
		return false;
	set(&k->previous, k->current);
	set(&k->current, kp);
	set(&k->next, NULL);
	keypair_retire(peer->device, old_prev);
	return true;
}

void ny_wg_keypairs_clear(struct ny_wg_peer *peer)
{
	struct ny_wg_keypairs *k = &peer->keypairs;
	struct ny_wg_keypair *cur = k->current, *prev = k->previous, *next = k->next;

	set(&k->current, NULL);
	set(&k->previous, NULL);
	set(&k->next, NULL);
	keypair_retire(peer->device, cur);
	keypair_retire(peer->device, prev);
	keypair_retire(peer->device, next);
}

bool ny_wg_keypair_expired(const struct ny_wg_keypair *kp, uint64_t now)
{
	return !atomic_load_explicit(&kp->valid, memory_order_relaxed) || now - kp->birth >= NY_WG_REJECT_AFTER_TIME ||
	       atomic_load_explicit(&kp->send_counter, memory_order_relaxed) >= NY_WG_REJECT_AFTER_MESSAGES;
}

struct ny_wg_keypair *ny_wg_keypair_for_sending(struct ny_wg_peer *peer, uint64_t now)
{
	struct ny_wg_keypair *kp = ny_rcu_dereference(peer->keypairs.current);

	return kp && !ny_wg_keypair_expired(kp, now) ? kp : NULL;
}
