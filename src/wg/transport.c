/* Transport data (whitepaper §5.4.6): batches of packets of one peer sealed with one keypair, counters reserved
 * a batch at a time; batches received on one keypair opened, replay-checked and accounted in one pass. Everything
 * but the confirmation of a `next` keypair runs on RCU readers without a lock (wg.h). */
#include "nylon/wg.h"

#include <errno.h>
#include <string.h>

#include "nylon/base.h"
#include "wg/internal.h"

/* Rekey on send (§6.2): after REKEY_AFTER_MESSAGES, or REKEY_AFTER_TIME when we initiated this session. */
static uint32_t keep_key_fresh_send(struct ny_wg_peer *peer, const struct ny_wg_seal_job *job, uint64_t now)
{
	if (job->first_counter + job->n > NY_WG_REKEY_AFTER_MESSAGES ||
	    (job->is_initiator && now - job->birth >= NY_WG_REKEY_AFTER_TIME))
		return ny_wg_timers_want_initiation(peer, now, false);
	return 0;
}

/* Rekey on receive: an initiator whose session is about to be rejected tries once more before it is too late. */
static uint32_t keep_key_fresh_receive(struct ny_wg_peer *peer, const struct ny_wg_keypair *kp, uint64_t now)
{
	const uint64_t limit = NY_WG_REJECT_AFTER_TIME - NY_WG_KEEPALIVE_TIMEOUT - NY_WG_REKEY_TIMEOUT;

	if (!kp->is_initiator || now - kp->birth < limit || kp != ny_rcu_dereference(peer->keypairs.current) ||
	    atomic_load_explicit(&peer->timers.sent_lastminute_handshake, memory_order_relaxed))
		return 0;
	/* Once per session, whichever thread gets here first. */
	if (atomic_exchange_explicit(&peer->timers.sent_lastminute_handshake, true, memory_order_relaxed))
		return 0;
	return ny_wg_timers_want_initiation(peer, now, false);
}

int ny_wg_transport_reserve(struct ny_wg_peer *peer, size_t n, uint64_t now, struct ny_wg_seal_job *job,
			    uint32_t *actions)
{
	struct ny_wg_keypair *kp = ny_wg_keypair_for_sending(peer, now);
	uint64_t counter;

	*actions = 0;
	if (!kp) {
		*actions = ny_wg_timers_want_initiation(peer, now, false);
		return -ENOKEY;
	}
	counter = atomic_fetch_add_explicit(&kp->send_counter, n, memory_order_relaxed);
	if (counter + n > NY_WG_REJECT_AFTER_MESSAGES || counter + n < counter) {
		atomic_store_explicit(&kp->valid, false, memory_order_relaxed);
		*actions = ny_wg_timers_want_initiation(peer, now, false);
		return -ENOKEY;
	}
	memcpy(job->key, kp->send_key, sizeof(job->key));
	job->remote_index = kp->remote_index;
	job->first_counter = counter;
	job->n = n;
	job->birth = kp->birth;
	job->is_initiator = kp->is_initiator;
	return 0;
}

#define AEAD_MANY 64 /* packets handed to the AEAD at once */

int ny_wg_transport_seal(const struct ny_wg_seal_job *job, struct ny_aead_ctx *aead, struct ny_wg_packet *pkts)
{
	uint64_t counters[AEAD_MANY];
	uint8_t *bufs[AEAD_MANY];
	size_t lens[AEAD_MANY];

	for (size_t i = 0; i < job->n; i++)
		if (pkts[i].cap < ny_wg_data_message_len(pkts[i].len))
			return -EINVAL;
	ny_aead_set_key(aead, job->key);
	for (size_t first = 0, per = ny_even_chunk(job->n, AEAD_MANY); first < job->n; first += per) {
		size_t n = job->n - first < per ? job->n - first : per;

		for (size_t k = 0; k < n; k++) {
			struct ny_wg_packet *p = &pkts[first + k];
			size_t padded = ny_wg_padded_len(p->len);
			uint8_t *hdr = p->buf;

			counters[k] = job->first_counter + first + k;
			memset(hdr + NY_WG_DATA_HEADER_LEN + p->len, 0, padded - p->len);
			ny_wg_le32_store(hdr, NY_WG_MSG_DATA);
			ny_wg_le32_store(hdr + 4, job->remote_index);
			ny_wg_le64_store(hdr + 8, counters[k]);
			bufs[k] = hdr + NY_WG_DATA_HEADER_LEN;
			lens[k] = padded;
		}
		if (ny_aead_seal_many(aead, counters, bufs, lens, n) < 0)
			return -EIO;
		for (size_t k = 0; k < n; k++) {
			pkts[first + k].len = (uint32_t)(NY_WG_DATA_HEADER_LEN + lens[k] + NY_AEAD_TAG_LEN);
			pkts[first + k].drop = NY_WG_DROP_NONE;
		}
	}
	return 0;
}

void ny_wg_transport_sent(struct ny_wg_peer *peer, const struct ny_wg_seal_job *job, uint64_t bytes, bool data,
			  uint64_t now, uint32_t *actions)
{
	atomic_fetch_add_explicit(&peer->stats.tx_bytes, bytes, memory_order_relaxed);
	ny_wg_timers_any_authenticated_packet_traversal(peer, now);
	ny_wg_timers_any_authenticated_packet_sent(peer, now);
	if (data)
		ny_wg_timers_data_sent(peer, now);
	*actions |= keep_key_fresh_send(peer, job, now);
}

int ny_wg_transport_encrypt_batch(struct ny_wg_peer *peer, struct ny_aead_ctx *aead, struct ny_wg_packet *pkts,
				  size_t n, uint64_t now, uint32_t *actions)
{
	struct ny_wg_seal_job job;
	uint64_t bytes = 0;
	bool data = false;
	int ret;

	*actions = 0;
	/* Without a session the answer is -ENOKEY whatever the buffers; with one, no counter is spent on a batch
	 * that cannot be sealed. */
	if (ny_wg_keypair_for_sending(peer, now))
		for (size_t i = 0; i < n; i++)
			if (pkts[i].cap < ny_wg_data_message_len(pkts[i].len))
				return -EINVAL;
	for (size_t i = 0; i < n; i++)
		data |= pkts[i].len > 0;
	if ((ret = ny_wg_transport_reserve(peer, n, now, &job, actions)) < 0)
		return ret;
	ret = ny_wg_transport_seal(&job, aead, pkts);
	ny_crypto_wipe(job.key, sizeof(job.key));
	if (ret < 0)
		return ret;
	for (size_t i = 0; i < n; i++)
		bytes += pkts[i].len;
	ny_wg_transport_sent(peer, &job, bytes, data, now, actions);
	return (int)n;
}

struct ny_wg_keypair *ny_wg_transport_lookup(struct ny_wg_device *dev, const uint8_t *msg, size_t len)
{
	struct ny_wg_index_entry *entry;

	if (ny_wg_message_classify(msg, len) != NY_WG_MSG_DATA) {
		atomic_fetch_add_explicit(&dev->stats.drops[NY_WG_DROP_MALFORMED], 1, memory_order_relaxed);
		return NULL;
	}
	entry = ny_wg_index_lookup(dev, ny_wg_le32_load(msg + 4), NY_WG_INDEX_KEYPAIR);
	if (!entry) {
		atomic_fetch_add_explicit(&dev->stats.drops[NY_WG_DROP_UNKNOWN_INDEX], 1, memory_order_relaxed);
		return NULL;
	}
	return (struct ny_wg_keypair *)((uint8_t *)entry - offsetof(struct ny_wg_keypair, entry));
}

static bool replay_check(struct ny_wg_keypair *kp, uint64_t counter)
{
	bool ok;

	while (atomic_flag_test_and_set_explicit(&kp->replay_lock, memory_order_acquire))
		;
	ok = ny_wg_replay_check(&kp->replay, counter);
	atomic_flag_clear_explicit(&kp->replay_lock, memory_order_release);
	return ok;
}

/* Whether the window already rejects counter: such a packet costs no decryption. */
static bool replay_too_old(struct ny_wg_keypair *kp, uint64_t counter)
{
	bool old;

	while (atomic_flag_test_and_set_explicit(&kp->replay_lock, memory_order_acquire))
		;
	old = counter + NY_WG_REPLAY_WINDOW < kp->replay.greatest;
	atomic_flag_clear_explicit(&kp->replay_lock, memory_order_release);
	return old;
}

/* What can be refused before decrypting: not a data message of this keypair, or a counter out of range; returns
 * why, or NY_WG_DROP_NONE. The replay window is updated later, only for packets whose tag verified, so forged
 * packets cannot move it. */
static enum ny_wg_drop open_check(struct ny_wg_keypair *kp, const struct ny_wg_packet *p)
{
	uint64_t counter;

	if (p->len < NY_WG_DATA_MIN_LEN || ny_wg_message_classify(p->buf, p->len) != NY_WG_MSG_DATA ||
	    ny_wg_le32_load(p->buf + 4) != kp->entry.index)
		return NY_WG_DROP_MALFORMED;
	counter = ny_wg_le64_load(p->buf + 8);
	if (counter >= NY_WG_REJECT_AFTER_MESSAGES || replay_too_old(kp, counter))
		return NY_WG_DROP_REPLAY;
	return NY_WG_DROP_NONE;
}

static void count_drops(struct ny_wg_device *dev, enum ny_wg_drop why, uint64_t n)
{
	atomic_fetch_add_explicit(&dev->stats.drops[why], n, memory_order_relaxed);
}

int ny_wg_transport_open_begin(struct ny_wg_device *dev, struct ny_wg_keypair *kp, struct ny_wg_packet *pkts,
			       size_t n, uint64_t now, struct ny_wg_open_job *job)
{
	if (!atomic_load_explicit(&kp->valid, memory_order_relaxed) || now - kp->birth >= NY_WG_REJECT_AFTER_TIME) {
		for (size_t i = 0; i < n; i++)
			pkts[i].drop = NY_WG_DROP_KEY_EXPIRED;
		count_drops(dev, NY_WG_DROP_KEY_EXPIRED, n);
		return -EKEYEXPIRED;
	}
	job->kp = kp;
	job->accepted = 0;
	return 0;
}

void ny_wg_transport_open(const struct ny_wg_open_job *job, struct ny_aead_ctx *aead, struct ny_wg_packet *pkts,
			  size_t n)
{
	uint64_t counters[AEAD_MANY];
	uint8_t *bufs[AEAD_MANY];
	size_t lens[AEAD_MANY], which[AEAD_MANY], m = 0, per = ny_even_chunk(n, AEAD_MANY);
	bool ok[AEAD_MANY];

	ny_aead_set_key(aead, job->kp->recv_key);
	for (size_t i = 0; i < n; i++) {
		if ((pkts[i].drop = open_check(job->kp, &pkts[i])) == NY_WG_DROP_NONE) {
			counters[m] = ny_wg_le64_load(pkts[i].buf + 8);
			bufs[m] = pkts[i].buf + NY_WG_DATA_HEADER_LEN;
			lens[m] = pkts[i].len - NY_WG_DATA_HEADER_LEN;
			which[m++] = i;
		}
		if (m == per || (i + 1 == n && m)) {
			ny_aead_open_many(aead, counters, bufs, lens, ok, m);
			for (size_t k = 0; k < m; k++)
				if (!ok[k])
					pkts[which[k]].drop = NY_WG_DROP_DECRYPT;
			m = 0;
		}
	}
}

bool ny_wg_transport_open_account(struct ny_wg_device *dev, struct ny_wg_open_job *job, struct ny_wg_packet *pkts,
				  size_t n, uint64_t now, uint32_t *actions)
{
	struct ny_wg_keypair *kp = job->kp;
	struct ny_wg_peer *peer = ny_wg_keypair_peer(kp);
	uint64_t bytes = 0;
	bool data = false;
	int accepted = 0;

	*actions = 0;
	for (size_t i = 0; i < n; i++) {
		struct ny_wg_packet *p = &pkts[i];

		if (p->drop == NY_WG_DROP_NONE && !replay_check(kp, ny_wg_le64_load(p->buf + 8)))
			p->drop = NY_WG_DROP_REPLAY;
		if (p->drop != NY_WG_DROP_NONE) {
			count_drops(dev, p->drop, 1);
			continue;
		}
		accepted++;
		bytes += p->len;
		p->len -= NY_WG_DATA_HEADER_LEN + NY_AEAD_TAG_LEN;
		data |= p->len > 0;
	}
	job->accepted = accepted;
	if (!accepted)
		return false;
	atomic_fetch_add_explicit(&peer->stats.rx_bytes, bytes, memory_order_relaxed);
	*actions |= keep_key_fresh_receive(peer, kp, now);
	ny_wg_timers_any_authenticated_packet_received(peer, now);
	ny_wg_timers_any_authenticated_packet_traversal(peer, now);
	if (data)
		ny_wg_timers_data_received(peer, now);
	/* The first packet on `next` proves the initiator has it: rotating it in is the owner's. */
	if (kp != ny_rcu_dereference(peer->keypairs.next))
		return false;
	if (!atomic_load_explicit(&kp->received, memory_order_relaxed))
		atomic_store_explicit(&kp->received, true, memory_order_relaxed);
	return true;
}

void ny_wg_transport_confirm(struct ny_wg_keypair *kp, uint64_t now, uint32_t *actions)
{
	struct ny_wg_peer *peer = ny_wg_keypair_peer(kp);

	if (ny_wg_keypairs_received_with(peer, kp)) {
		ny_wg_timers_handshake_complete(peer, now);
		*actions |= NY_WG_ACTION_SEND_STAGED;
	}
}

void ny_wg_transport_confirm_next(struct ny_wg_peer *peer, uint64_t now, uint32_t *actions)
{
	struct ny_wg_keypair *kp = peer->keypairs.next;

	if (kp && atomic_load_explicit(&kp->received, memory_order_relaxed))
		ny_wg_transport_confirm(kp, now, actions);
}

int ny_wg_transport_open_end(struct ny_wg_device *dev, struct ny_wg_open_job *job, struct ny_wg_packet *pkts,
			     size_t n, uint64_t now, uint32_t *actions)
{
	if (ny_wg_transport_open_account(dev, job, pkts, n, now, actions))
		ny_wg_transport_confirm(job->kp, now, actions);
	job->kp = NULL;
	return job->accepted;
}

int ny_wg_transport_decrypt_batch(struct ny_wg_device *dev, struct ny_wg_keypair *kp, struct ny_aead_ctx *aead,
				  struct ny_wg_packet *pkts, size_t n, uint64_t now, uint32_t *actions)
{
	struct ny_wg_open_job job;

	*actions = 0;
	if (ny_wg_transport_open_begin(dev, kp, pkts, n, now, &job) < 0)
		return 0;
	ny_wg_transport_open(&job, aead, pkts, n);
	return ny_wg_transport_open_end(dev, &job, pkts, n, now, actions);
}
