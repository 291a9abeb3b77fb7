/* The whitepaper's timers (§6) as a deterministic state machine: deadlines are stored, ny_wg_timers_tick() fires
 * those that are due at the injected `now`, and actions are returned instead of performed. The arrangement
 * follows the kernel module: retransmit the initiation after REKEY_TIMEOUT + jitter until REKEY_ATTEMPT_TIME,
 * answer data with a keepalive after KEEPALIVE_TIMEOUT, start a new handshake when data sent got no answer for
 * KEEPALIVE_TIMEOUT + REKEY_TIMEOUT, and erase all keys after 3 * REJECT_AFTER_TIME of silence.
 * Context: owner thread. */
#include "nylon/wg.h"

#include "wg/internal.h"

static uint64_t jitter(struct ny_wg_peer *peer)
{
	uint32_t r;

	peer->device->random(peer->device->source_ctx, &r, sizeof(r));
	return (uint64_t)r % NY_WG_REKEY_TIMEOUT_JITTER_MAX;
}

static void arm(uint64_t *deadline, uint64_t at)
{
	/* 0 means "not armed"; a deadline can never legitimately be 0 after the epoch of the monotonic clock. */
	*deadline = at ? at : 1;
}

bool ny_wg_timers_may_initiate(const struct ny_wg_peer *peer, uint64_t now)
{
	return !peer->timers.ever_sent_handshake || now - peer->timers.last_sent_handshake >= NY_WG_REKEY_TIMEOUT;
}

uint32_t ny_wg_timers_want_initiation(struct ny_wg_peer *peer, uint64_t now, bool is_retry)
{
	if (!is_retry)
		peer->timers.handshake_attempts = 0;
	return ny_wg_timers_may_initiate(peer, now) ? NY_WG_ACTION_SEND_INITIATION : 0;
}

void ny_wg_timers_data_sent(struct ny_wg_peer *peer, uint64_t now)
{
	if (!peer->timers.new_handshake)
		arm(&peer->timers.new_handshake, now + NY_WG_KEEPALIVE_TIMEOUT + NY_WG_REKEY_TIMEOUT + jitter(peer));
}

void ny_wg_timers_data_received(struct ny_wg_peer *peer, uint64_t now)
{
	if (!peer->timers.send_keepalive)
		arm(&peer->timers.send_keepalive, now + NY_WG_KEEPALIVE_TIMEOUT);
	else
		peer->timers.need_another_keepalive = true;
}

void ny_wg_timers_any_authenticated_packet_sent(struct ny_wg_peer *peer, uint64_t now)
{
	peer->timers.send_keepalive = 0;
}

void ny_wg_timers_any_authenticated_packet_received(struct ny_wg_peer *peer, uint64_t now)
{
	peer->timers.new_handshake = 0;
}

void ny_wg_timers_any_authenticated_packet_traversal(struct ny_wg_peer *peer, uint64_t now)
{
	if (peer->persistent_keepalive)
		arm(&peer->timers.persistent_keepalive, now + (uint64_t)peer->persistent_keepalive * NY_WG_NSEC);
}

void ny_wg_timers_handshake_initiated(struct ny_wg_peer *peer, uint64_t now)
{
	peer->timers.last_sent_handshake = now;
	peer->timers.ever_sent_handshake = true;
	arm(&peer->timers.retransmit_handshake, now + NY_WG_REKEY_TIMEOUT + jitter(peer));
}

void ny_wg_timers_handshake_complete(struct ny_wg_peer *peer, uint64_t now)
{
	peer->timers.retransmit_handshake = 0;
	peer->timers.handshake_attempts = 0;
	peer->timers.sent_lastminute_handshake = false;
	peer->stats.last_handshake_wall_ns = peer->device->wall_clock_ns(peer->device->source_ctx);
}

void ny_wg_timers_session_derived(struct ny_wg_peer *peer, uint64_t now)
{
	arm(&peer->timers.zero_key_material, now + 3 * NY_WG_REJECT_AFTER_TIME);
}

void ny_wg_timers_set_persistent_keepalive(struct ny_wg_peer *peer, uint16_t seconds, uint64_t now)
{
	peer->persistent_keepalive = seconds;
	peer->timers.persistent_keepalive = 0;
	if (seconds)
		arm(&peer->timers.persistent_keepalive, now + (uint64_t)seconds * NY_WG_NSEC);
}

static bool due(uint64_t *deadline, uint64_t now)
{
	if (!*deadline || *deadline > now)
		return false;
	*deadline = 0;
	return true;
}

static uint32_t expired_retransmit_handshake(struct ny_wg_peer *peer, uint64_t now)
{
	/* One retry per REKEY_TIMEOUT until REKEY_ATTEMPT_TIME is spent (whitepaper §6.4). The kernel module
	 * allows one retry more (`>`); we stop at the time the paper names. */
	if (peer->timers.handshake_attempts >= NY_WG_MAX_TIMER_HANDSHAKES) {
		/* Give up, and forget the keys later unless a handshake succeeds. */
		peer->timers.send_keepalive = 0;
		if (!peer->timers.zero_key_material)
			arm(&peer->timers.zero_key_material, now + 3 * NY_WG_REJECT_AFTER_TIME);
		return NY_WG_ACTION_GAVE_UP;
	}
	peer->timers.handshake_attempts++;
	return ny_wg_timers_want_initiation(peer, now, true);
}

static uint32_t expired_send_keepalive(struct ny_wg_peer *peer, uint64_t now)
{
	if (peer->timers.need_another_keepalive) {
		peer->timers.need_another_keepalive = false;
		arm(&peer->timers.send_keepalive, now + NY_WG_KEEPALIVE_TIMEOUT);
	}
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
	if (due(&t->persistent_keepalive, now) && peer->persistent_keepalive)
		actions |= NY_WG_ACTION_SEND_KEEPALIVE;
	return actions;
}

uint64_t ny_wg_timers_next_deadline(const struct ny_wg_peer *peer)
{
	const struct ny_wg_timers *t = &peer->timers;
	const uint64_t all[] = { t->retransmit_handshake, t->send_keepalive, t->new_handshake, t->zero_key_material,
				 t->persistent_keepalive };
	uint64_t next = UINT64_MAX;

	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
		if (all[i] && all[i] < next)
			next = all[i];
	return next;
}
