/* The current / previous / next keypairs of a peer and their rotation (whitepaper §5.4.6 and the kernel
 * module's arrangement: a responder's new keypair waits as `next` until the initiator proves it has it).
 * Context: owner thread; see wg.h for the fields other threads touch. */
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
	kp->valid = true;
	return kp;
}

/* Takes the keypair out of service; it is freed (and its keys wiped) once no decryption holds it. */
static void keypair_free(struct ny_wg_device *dev, struct ny_wg_keypair *kp)
{
	if (!kp)
		return;
	ny_wg_index_remove(dev, &kp->entry);
	kp->valid = false;
	kp->dead = true;
	if (kp->refs)
		return;
	ny_crypto_wipe(kp, sizeof(*kp));
	free(kp);
}

void ny_wg_keypair_get(struct ny_wg_keypair *kp)
{
	kp->refs++;
}

void ny_wg_keypair_put(struct ny_wg_device *dev, struct ny_wg_keypair *kp)
{
	if (--kp->refs == 0 && kp->dead)
		keypair_free(dev, kp);
}

void ny_wg_keypairs_install(struct ny_wg_peer *peer, struct ny_wg_keypair *kp)
{
	struct ny_wg_keypairs *k = &peer->keypairs;
	struct ny_wg_device *dev = peer->device;

	if (kp->is_initiator) {
		/* A pending `next` (we were also responding) is superseded: it becomes previous, current goes. */
		if (k->next) {
			keypair_free(dev, k->previous);
			k->previous = k->next;
			k->next = NULL;
			keypair_free(dev, k->current);
		} else {
			keypair_free(dev, k->previous);
			k->previous = k->current;
		}
		k->current = kp;
	} else {
		keypair_free(dev, k->next);
		k->next = kp;
		keypair_free(dev, k->previous);
		k->previous = NULL;
	}
}

bool ny_wg_keypairs_received_with(struct ny_wg_peer *peer, struct ny_wg_keypair *kp)
{
	struct ny_wg_keypairs *k = &peer->keypairs;

	if (kp != k->next)
		return false;
	keypair_free(peer->device, k->previous);
	k->previous = k->current;
	k->current = kp;
	k->next = NULL;
	return true;
}

void ny_wg_keypairs_clear(struct ny_wg_peer *peer)
{
	struct ny_wg_keypairs *k = &peer->keypairs;

	keypair_free(peer->device, k->current);
	keypair_free(peer->device, k->previous);
	keypair_free(peer->device, k->next);
	k->current = k->previous = k->next = NULL;
}

bool ny_wg_keypair_expired(const struct ny_wg_keypair *kp, uint64_t now)
{
	return !kp->valid || now - kp->birth >= NY_WG_REJECT_AFTER_TIME ||
	       atomic_load_explicit(&kp->send_counter, memory_order_relaxed) >= NY_WG_REJECT_AFTER_MESSAGES;
}

struct ny_wg_keypair *ny_wg_keypair_for_sending(struct ny_wg_peer *peer, uint64_t now)
{
	struct ny_wg_keypair *kp = peer->keypairs.current;

	return kp && !ny_wg_keypair_expired(kp, now) ? kp : NULL;
}
