/* The whitepaper's timers (§6) as a deterministic state machine: deadlines are stored, ny_wg_timers_tick() fires
 * those that are due at the injected `now`, and actions are returned instead of performed. The arrangement
 * follows the kernel module: retransmit the initiation after REKEY_TIMEOUT + jitter until REKEY_ATTEMPT_TIME,
 * answer data with a keepalive after KEEPALIVE_TIMEOUT, start a new handshake when data sent got no answer for
 * KEEPALIVE_TIMEOUT + REKEY_TIMEOUT, and erase all keys after 3 * REJECT_AFTER_TIME of silence.
 * Context: owner thread, except the data and authenticated-packet events, which the transport path calls from any
 * thread: those arm and disarm deadlines with single atomic operations, and the tick fires a deadline only if it
 * still holds the value it found due (compare-and-swap), so each event lands either before or after the tick. */
#include "nylon/wg.h"

#include "wg/internal.h"

/* Jitter comes from a per-thread pool refilled 64 values at a time: traffic both ways re-arms the new-handshake
 * timer about once per batch (received packets disarm it), and a getrandom(2) per batch cost a shard ~1% of its
 * time. The values are no secret. */
static uint64_t jitter(struct ny_wg_peer *peer)
{
	static _Thread_local uint32_t pool[64];
	static _Thread_local unsigned left;

	if (!left) {
		peer->device->random(peer->device->source_ctx, pool, sizeof(pool));
		left = sizeof(pool) / sizeof(pool[0]);
	}
	return (uint64_t)pool[--left] % NY_WG_REKEY_TIMEOUT_JITTER_MAX;
}

#define LOAD(x) atomic_load_explicit(&(x), memory_order_relaxed)
#define STORE(x, v) atomic_store_explicit(&(x), (v), memory_order_relaxed)

/* 0 means "not armed"; a deadline can never legitimately be 0 after the epoch of the monotonic clock. */
static uint64_t deadline_at(uint64_t at)
{
	return at ? at : 1;
}

static void arm(_Atomic uint64_t *deadline, uint64_t at)
{
	atomic_store_explicit(deadline, deadline_at(at), memory_order_relaxed);
}

/* Arms the deadline unless it is armed already; true when it was. */
static bool arm_unless_armed(_Atomic uint64_t *deadline, uint64_t at)
{
	uint64_t none = 0;

	return !atomic_compare_exchange_strong_explicit(deadline, &none, deadline_at(at), memory_order_relaxed,
							memory_order_relaxed);
}

bool ny_wg_timers_may_initiate(const struct ny_wg_peer *peer, uint64_t now)
{
	return !LOAD(peer->timers.ever_sent_handshake) ||
	       now - LOAD(peer->timers.last_sent_handshake) >= NY_WG_REKEY_TIMEOUT;
}

uint32_t ny_wg_timers_want_initiation(struct ny_wg_peer *peer, uint64_t now, bool is_retry)
{
	if (!is_retry)
		STORE(peer->timers.handshake_attempts, 0);
	return ny_wg_timers_may_initiate(peer, now) ? NY_WG_ACTION_SEND_INITIATION : 0;
}

void ny_wg_timers_data_sent(struct ny_wg_peer *peer, uint64_t now)
{
	/* Jitter only when the timer is off: the common case (armed) costs one load. */
	if (!LOAD(peer->timers.new_handshake))
		arm_unless_armed(&peer->timers.new_handshake,
				 now + NY_WG_KEEPALIVE_TIMEOUT + NY_WG_REKEY_TIMEOUT + jitter(peer));
}

void ny_wg_timers_data_received(struct ny_wg_peer *peer, uint64_t now)
{
	if (LOAD(peer->timers.send_keepalive) || arm_unless_armed(&peer->timers.send_keepalive,
								   now + NY_WG_KEEPALIVE_TIMEOUT)) {
		if (!LOAD(peer->timers.need_another_keepalive))
			STORE(peer->timers.need_another_keepalive, true);
	}
}

void ny_wg_timers_any_authenticated_packet_sent(struct ny_wg_peer *peer, uint64_t now)
{
	if (LOAD(peer->timers.send_keepalive))
		STORE(peer->timers.send_keepalive, 0);
}

void ny_wg_timers_any_authenticated_packet_received(struct ny_wg_peer *peer, uint64_t now)
{
	if (LOAD(peer->timers.new_handshake))
		STORE(peer->timers.new_handshake, 0);
}

void ny_wg_timers_any_authenticated_packet_traversal(struct ny_wg_peer *peer, uint64_t now)
{
	uint16_t seconds = LOAD(peer->persistent_keepalive);

	if (seconds)
		arm(&peer->timers.persistent_keepalive, now + (uint64_t)seconds * NY_WG_NSEC);
}

void ny_wg_timers_handshake_initiated(struct ny_wg_peer *peer, uint64_t now)
{
	STORE(peer->timers.last_sent_handshake, now);
	STORE(peer->timers.ever_sent_handshake, true);
	arm(&peer->timers.retransmit_handshake, now + NY_WG_REKEY_TIMEOUT + jitter(peer));
}

void ny_wg_timers_handshake_complete(struct ny_wg_peer *peer, uint64_t now)
{
	STORE(peer->timers.retransmit_handshake, 0);
	STORE(peer->timers.handshake_attempts, 0);
	STORE(peer->timers.sent_lastminute_handshake, false);
	STORE(peer->stats.last_handshake_wall_ns, peer->device->wall_clock_ns(peer->device->source_ctx));
}

void ny_wg_timers_session_derived(struct ny_wg_peer *peer, uint64_t now)
{
	arm(&peer->timers.zero_key_material, now + 3 * NY_WG_REJECT_AFTER_TIME);
}

void ny_wg_timers_set_persistent_keepalive(struct ny_wg_peer *peer, uint16_t seconds, uint64_t now)
{
	STORE(peer->persistent_keepalive, seconds);
	STORE(peer->timers.persistent_keepalive, 0);
	if (seconds)
		arm(&peer->timers.persistent_keepalive, now + (uint64_t)seconds * NY_WG_NSEC);
}

/* Fires a deadline that is due: it is disarmed only if no other thread moved it since it was read. */
static bool due(_Atomic uint64_t *deadline, uint64_t now)
{
	uint64_t at = atomic_load_explicit(deadline, memory_order_relaxed);

	while (at && at <= now)
		if (atomic_compare_exchange_weak_explicit(deadline, &at, 0, memory_order_relaxed, memory_order_relaxed))
			return true;
	return false;
}

static uint32_t expired_retransmit_handshake(struct ny_wg_peer *peer, uint64_t now)
{
	/* One retry per REKEY_TIMEOUT until REKEY_ATTEMPT_TIME is spent (whitepaper §6.4). The kernel module
	 * allows one retry more (`>`); we stop at the time the paper names. */
	if (LOAD(peer->timers.handshake_attempts) >= NY_WG_MAX_TIMER_HANDSHAKES) {
		/* Give up, and forget the keys later unless a handshake succeeds. */
		STORE(peer->timers.send_keepalive, 0);
		arm_unless_armed(&peer->timers.zero_key_material, now + 3 * NY_WG_REJECT_AFTER_TIME);
		return NY_WG_ACTION_GAVE_UP;
	}
	atomic_fetch_add_explicit(&peer->timers.handshake_attempts, 1, memory_order_relaxed);
	return ny_wg_timers_want_initiation(peer, now, true);
}

static uint32_t expired_send_keepalive(struct ny_wg_peer *peer, uint64_t now)
{
	if (atomic_exchange_explicit(&peer->timers.need_another_keepalive, false, memory_order_relaxed))
		arm(&peer->timers.send_keepalive, now + NY_WG_KEEPALIVE_TIMEOUT);
	return NY_WG_ACTION_SEND_KEEPALIVE;
}

static void expired_zero_key_material(struct ny_wg_peer *peer)
{
	ny_wg_keypairs_clear(peer);
	ny_wg_handshake_zero(peer->device, &peer->handshake);
}

uint32_t ny_wg_timers_tick(struct ny_wg_peer *peer, uint64_t now)
{
	struct ny_wg_timers *t = &peer->timers;
	uint32_t actions = 0;

	if (due(&t->retransmit_handshake, now))
		actions |= expired_retransmit_handshake(peer, now);
	if (due(&t->send_keepalive, now))
		actions |= expired_send_keepalive(peer, now);
	if (due(&t->new_handshake, now))
		actions |= ny_wg_timers_want_initiation(peer, now, false);
	if (due(&t->zero_key_material, now))
		expired_zero_key_material(peer);
	if (due(&t->persistent_keepalive, now) && LOAD(peer->persistent_keepalive))
		actions |= NY_WG_ACTION_SEND_KEEPALIVE;
	return actions;
}

uint64_t ny_wg_timers_next_deadline(const struct ny_wg_peer *peer)
{
	const struct ny_wg_timers *t = &peer->timers;
	const uint64_t all[] = { LOAD(t->retransmit_handshake), LOAD(t->send_keepalive), LOAD(t->new_handshake),
				 LOAD(t->zero_key_material), LOAD(t->persistent_keepalive) };
	uint64_t next = UINT64_MAX;

	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
		if (all[i] && all[i] < next)
			next = all[i];
	return next;
}
