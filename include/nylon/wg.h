/* The WireGuard protocol engine: Noise_IKpsk2 handshakes, cookies, keypairs, replay protection, timers and
 * batched transport data. It is pure: no sockets, no threads, no clocks of its own. Time comes in as `now`
 * (monotonic nanoseconds) and the wall clock for TAI64N timestamps comes from the device's callback, so tests
 * drive it deterministically.
 *
 * Ownership and concurrency: a device owns its peers, a peer owns its handshake and keypairs. One thread at a time
 * changes a device (Context: owner: the caller's engine lock): handshakes, timer ticks, keypair rotation. The
 * transport path reads it lock-free as an RCU reader (nylon/rcu.h, QSBR: Context: RCU reader) while the owner
 * changes it:
 * - a peer's current / previous / next keypairs and the index table's chains are published with
 *   ny_rcu_assign_pointer(); a keypair that leaves them is unlinked, marked invalid and put on the device's retired
 *   list, and only wiped and freed once the owner has taken the list (ny_wg_device_take_retired) and waited for a
 *   grace period (ny_wg_retired_free), so a reader may use any keypair it found until its next quiescent
 *   state;
 * - a keypair's send counter is atomic (ranges are reserved with one fetch-add), its replay window sits behind its
 *   own spinlock, and its `valid` flag is atomic;
 * - the timer deadlines and flags the transport path moves, the peer's byte counters and the device's drop
 *   counters are atomics (relaxed: each is a value of its own; the owner's tick re-reads them under its lock).
 * Rotation (a `next` keypair confirmed by its first packet) changes the keypairs: the transport path asks for it
 * (ny_wg_transport_open_account returns true, and marks the keypair as received on) and the owner does it
 * (ny_wg_transport_confirm, or later, from the NY_WG_ACTION_CONFIRM request, ny_wg_transport_confirm_next).
 */
#ifndef NYLON_WG_H
#define NYLON_WG_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "nylon/aead.h"
#include "nylon/crypto.h"
#include "nylon/rcu.h"
#include "nylon/wg_messages.h"

/* Whitepaper §6.1 and §6.4. */
#define NY_WG_REKEY_AFTER_MESSAGES (UINT64_C(1) << 60)
#define NY_WG_REJECT_AFTER_MESSAGES (UINT64_MAX - (UINT64_C(1) << 13))
#define NY_WG_NSEC UINT64_C(1000000000)
#define NY_WG_REKEY_AFTER_TIME (120 * NY_WG_NSEC)
#define NY_WG_REJECT_AFTER_TIME (180 * NY_WG_NSEC)
#define NY_WG_REKEY_ATTEMPT_TIME (90 * NY_WG_NSEC)
#define NY_WG_REKEY_TIMEOUT (5 * NY_WG_NSEC)
#define NY_WG_KEEPALIVE_TIMEOUT (10 * NY_WG_NSEC)
#define NY_WG_REKEY_TIMEOUT_JITTER_MAX (NY_WG_NSEC / 3)
#define NY_WG_MAX_TIMER_HANDSHAKES (NY_WG_REKEY_ATTEMPT_TIME / NY_WG_REKEY_TIMEOUT)
#define NY_WG_COOKIE_SECRET_MAX_AGE (120 * NY_WG_NSEC)
#define NY_WG_COOKIE_SECRET_LATENCY (5 * NY_WG_NSEC)
#define NY_WG_INITIATIONS_PER_SECOND 50

/* Replay window (RFC 6479 style ring of bitmap words): counters from the greatest seen back to greatest - NY_WG_REPLAY_WINDOW
 * are tracked (as the Linux module's counter_validate()). */
#define NY_WG_REPLAY_WORDS 128
#define NY_WG_REPLAY_BITS (NY_WG_REPLAY_WORDS * 64)
#define NY_WG_REPLAY_WINDOW (NY_WG_REPLAY_BITS - 64)

struct ny_wg_device;
struct ny_wg_peer;
struct ny_wg_keypair;

/* Why a received message was dropped. Every drop bumps device->stats.drops[reason]. */
enum ny_wg_drop {
	NY_WG_DROP_NONE = 0,
	NY_WG_DROP_MALFORMED,       /* wrong type, reserved bytes or length */
	NY_WG_DROP_MAC1,            /* mac1 does not verify */
	NY_WG_DROP_COOKIE_SENT,     /* under load without a valid mac2: a cookie reply was produced instead */
	NY_WG_DROP_HANDSHAKE,       /* decryption, unknown peer, low-order point, wrong state */
	NY_WG_DROP_REPLAYED_INITIATION, /* TAI64N timestamp not newer than the last accepted */
	NY_WG_DROP_FLOOD,           /* initiations faster than NY_WG_INITIATIONS_PER_SECOND from one peer */
	NY_WG_DROP_UNKNOWN_INDEX,   /* receiver index matches no handshake or keypair */
	NY_WG_DROP_COOKIE,          /* cookie reply that does not decrypt or answers nothing */
	NY_WG_DROP_KEY_EXPIRED,     /* keypair past REJECT_AFTER_TIME or REJECT_AFTER_MESSAGES */
	NY_WG_DROP_DECRYPT,         /* transport data whose tag does not verify */
	NY_WG_DROP_REPLAY,          /* transport counter duplicate or older than the window */
	NY_WG_DROP__COUNT,
};
const char *ny_wg_drop_name(enum ny_wg_drop reason);

/* What the engine asks its caller to do; returned by the functions that can trigger it. */
enum ny_wg_action {
	NY_WG_ACTION_SEND_INITIATION = 1u << 0, /* call ny_wg_handshake_create_initiation() and send it */
	NY_WG_ACTION_SEND_KEEPALIVE = 1u << 1,  /* encrypt and send an empty packet */
	NY_WG_ACTION_GAVE_UP = 1u << 2,         /* REKEY_ATTEMPT_TIME passed: drop packets staged for this peer */
	NY_WG_ACTION_SEND_STAGED = 1u << 3,     /* a new session exists: packets staged for this peer can go now */
	NY_WG_ACTION_CONFIRM = 1u << 4,         /* not the engine's: a reader that saw data on `next` asks the owner to
						 * call ny_wg_transport_confirm_next() */
};

/* ---- replay window (replay.c) ---------------------------------------------------------------------------- */
struct ny_wg_replay {
	uint64_t greatest; /* one more than the greatest counter accepted; 0 = none yet */
	uint64_t bitmap[NY_WG_REPLAY_WORDS];
};
void ny_wg_replay_init(struct ny_wg_replay *r);
/* Accepts a counter seen for the first time and within the window; marks it seen. Context: under the keypair's
 * replay lock. Counters at or beyond NY_WG_REJECT_AFTER_MESSAGES are rejected. */
bool ny_wg_replay_check(struct ny_wg_replay *r, uint64_t counter);

/* ---- receiver-index table (index.c) ----------------------------------------------------------------------- */
enum ny_wg_index_kind {
	NY_WG_INDEX_HANDSHAKE = 1,
	NY_WG_INDEX_KEYPAIR = 2,
};
/* Embedded in a handshake or keypair; linked into the device's table while the index is in use. */
struct ny_wg_index_entry {
	struct ny_wg_index_entry *next;
	uint32_t index; /* host order; sent as little-endian. Written by the owner with __atomic stores (a handshake's
			 * entry is reused while readers may pass it); readers load it the same way. */
	unsigned kind; /* enum ny_wg_index_kind, likewise */
	struct ny_wg_peer *peer; /* set before the entry is published, then constant while hashed */
	bool hashed; /* owner only */
};
#define NY_WG_INDEX_BUCKETS 1024
/* Chains are RCU lists: the owner links an entry at a bucket's head and unlinks it with release stores, leaving the
 * unlinked entry's `next` intact so a reader standing on it walks on. A reader that stands on a handshake's entry
 * while the owner moves it to another bucket may miss an entry: a packet dropped, never a wrong keypair. */
struct ny_wg_index_table {
	struct ny_wg_index_entry *buckets[NY_WG_INDEX_BUCKETS];
};

/* ---- keypairs (keypair.c) --------------------------------------------------------------------------------- */
struct ny_wg_keypair {
	struct ny_wg_index_entry entry; /* our index: the receiver index of data sent to us */
	uint32_t remote_index;          /* the peer's index: written into data we send */
	uint8_t send_key[NY_KEY_LEN];
	uint8_t recv_key[NY_KEY_LEN];
	_Atomic uint64_t send_counter; /* next counter to use; reserved a batch at a time */
	atomic_flag replay_lock;
	struct ny_wg_replay replay;
	uint64_t birth; /* monotonic ns */
	bool is_initiator;
	atomic_bool valid; /* false once expired, exhausted or retired */
	atomic_bool received; /* an authenticated packet arrived on it (what confirms a `next` keypair) */
	struct ny_wg_keypair *retired_next; /* the device's retired list (owner) */
};

/* current: used to send; previous: still accepted on receive; next: responder's key, confirmed by the first data
 * packet the initiator sends with it (whitepaper §5.4.6 footnote). Writer: owner (ny_rcu_assign_pointer);
 * readers: the owner, and RCU readers through ny_rcu_dereference(). */
struct ny_wg_keypairs {
	struct ny_wg_keypair *current;
	struct ny_wg_keypair *previous;
	struct ny_wg_keypair *next;
};

/* ---- handshake (noise.c) ---------------------------------------------------------------------------------- */
enum ny_wg_handshake_state {
	NY_WG_HANDSHAKE_ZEROED = 0,
	NY_WG_HANDSHAKE_CREATED_INITIATION,
	NY_WG_HANDSHAKE_CONSUMED_INITIATION,
	NY_WG_HANDSHAKE_CREATED_RESPONSE,
	NY_WG_HANDSHAKE_CONSUMED_RESPONSE,
};
struct ny_wg_handshake {
	struct ny_wg_index_entry entry; /* our sender index while a handshake is in flight */
	enum ny_wg_handshake_state state;
	uint32_t remote_index;
	uint8_t ephemeral_private[NY_KEY_LEN];
	uint8_t remote_ephemeral[NY_KEY_LEN];
	uint8_t hash[NY_HASH_LEN];
	uint8_t chaining_key[NY_HASH_LEN];
	uint8_t latest_timestamp[NY_WG_TIMESTAMP_LEN]; /* newest TAI64N accepted from this peer */
	uint64_t last_initiation_consumption;        /* monotonic ns; 0 = never */
	bool have_consumed_initiation;
};

/* ---- cookies (cookie.c) ----------------------------------------------------------------------------------- */
/* The device's side: checks mac1/mac2 of messages sent to us and makes cookie replies (whitepaper §5.4.7). */
struct ny_wg_cookie_checker {
	uint8_t secret[NY_HASH_LEN];
	uint64_t secret_birth; /* monotonic ns; rotated after NY_WG_COOKIE_SECRET_MAX_AGE */
	bool secret_set;
	uint8_t mac1_key[NY_HASH_LEN];          /* HASH("mac1----" || our public key) */
	uint8_t cookie_encryption_key[NY_HASH_LEN]; /* HASH("cookie--" || our public key) */
};
/* The peer's side: the keys for messages we send to this peer and the last cookie it gave us. */
struct ny_wg_cookie {
	uint8_t mac1_key[NY_HASH_LEN];
	uint8_t cookie_decryption_key[NY_HASH_LEN];
	uint8_t cookie[NY_WG_COOKIE_LEN];
	uint64_t birth; /* monotonic ns */
	bool valid;
	uint8_t last_mac1_sent[NY_MAC_LEN];
	bool have_sent_mac1;
};
enum ny_wg_cookie_mac_state {
	NY_WG_COOKIE_INVALID_MAC,
	NY_WG_COOKIE_VALID_MAC_BUT_NO_COOKIE,
	NY_WG_COOKIE_VALID_MAC_WITH_COOKIE,
};

/* ---- timers (timers.c) ------------------------------------------------------------------------------------ */
/* Deadlines in monotonic ns; 0 = not armed. The whitepaper's §6 timers as the kernel module arranges them. */
/* The transport path (any thread) arms, disarms and reads them as atomics; the owner's tick fires them with a
 * compare-and-swap, so an event from the transport path is never lost to a tick that runs at the same time. */
struct ny_wg_timers {
	_Atomic uint64_t retransmit_handshake;
	_Atomic uint64_t send_keepalive;
	_Atomic uint64_t new_handshake;
	_Atomic uint64_t zero_key_material;
	_Atomic uint64_t persistent_keepalive;
	_Atomic uint32_t handshake_attempts;
	atomic_bool need_another_keepalive;
	atomic_bool sent_lastminute_handshake;
	_Atomic uint64_t last_sent_handshake; /* monotonic ns, for rate limiting initiations to one per REKEY_TIMEOUT */
	atomic_bool ever_sent_handshake;
};

/* ---- peers and devices (device.c, peer.c) ----------------------------------------------------------------- */
struct ny_wg_peer_stats {
	_Atomic uint64_t rx_bytes;
	_Atomic uint64_t tx_bytes;
	_Atomic uint64_t last_handshake_wall_ns; /* wall clock of the newest completed handshake; 0 = never */
};

struct ny_wg_peer {
	struct ny_wg_device *device;
	uint8_t public_key[NY_KEY_LEN];
	uint8_t preshared_key[NY_KEY_LEN];      /* all zero when none */
	uint8_t static_static[NY_KEY_LEN];      /* DH(our static, its static), precomputed */
	bool static_static_ok;                  /* false when its public key is a low-order point */
	struct ny_wg_handshake handshake;
	struct ny_wg_keypairs keypairs;
	struct ny_wg_cookie cookie;
	struct ny_wg_timers timers;
	struct ny_wg_peer_stats stats;
	_Atomic uint16_t persistent_keepalive; /* seconds; 0 = off */
	void *user;                    /* the caller's (endpoint, queues) */
	struct ny_wg_peer *retired_next; /* the device's retired list (owner) */
};

/* Keypairs and peers taken out of service but perhaps still in use by RCU readers: freed after a grace period. */
struct ny_wg_retired {
	struct ny_wg_keypair *keypairs;
	struct ny_wg_peer *peers;
};

struct ny_wg_device_stats {
	_Atomic uint64_t drops[NY_WG_DROP__COUNT];
};

struct ny_wg_device {
	uint8_t static_private[NY_KEY_LEN];
	uint8_t static_public[NY_KEY_LEN];
	struct ny_wg_cookie_checker cookie_checker;
	struct ny_wg_index_table index_table;
	struct ny_wg_peer **peers;
	size_t peer_count;
	size_t peer_capacity;
	struct ny_wg_device_stats stats;
	struct ny_wg_retired retired; /* out of service, waiting for a grace period (owner) */
	/* Injected sources; defaults are the real clock and libsodium's generator (thread-safe: the transport path
	 * draws timer jitter from any thread). */
	uint64_t (*wall_clock_ns)(void *ctx);
	void (*random)(void *ctx, void *buf, size_t len);
	void *source_ctx;
};

/* Sets up a device with its private key. Returns 0 or -EINVAL (all-zero key). */
int ny_wg_device_init(struct ny_wg_device *dev, const uint8_t private_key[NY_KEY_LEN], uint64_t now);
/* Frees all peers and keypairs (retired ones included) and wipes every secret. Context: owner, no reader left. */
void ny_wg_device_destroy(struct ny_wg_device *dev);
/* Takes what was retired since the last call (keypairs rotated out, peers removed); false when nothing was.
 * Context: owner. The caller waits for a grace period (ny_rcu_synchronize, outside its engine lock: readers may
 * be waiting for that lock), then frees them with ny_wg_retired_free. */
bool ny_wg_device_take_retired(struct ny_wg_device *dev, struct ny_wg_retired *out);
/* Wipes and frees what ny_wg_device_take_retired took. Context: any thread, after a grace period. */
void ny_wg_retired_free(struct ny_wg_retired *retired);
/* Adds a peer; psk may be NULL. Returns NULL with errno set: EEXIST (same public key), EINVAL (our own key),
 * ENOMEM. */
struct ny_wg_peer *ny_wg_device_add_peer(struct ny_wg_device *dev, const uint8_t public_key[NY_KEY_LEN],
					 const uint8_t *psk);
/* Unlinks the peer and its keypairs; the memory is retired (ny_wg_device_take_retired), as readers that found one
 * of its keypairs may still use it. Context: owner. */
void ny_wg_device_remove_peer(struct ny_wg_device *dev, struct ny_wg_peer *peer);
struct ny_wg_peer *ny_wg_device_find_peer(const struct ny_wg_device *dev, const uint8_t public_key[NY_KEY_LEN]);

/* The result of handling one received datagram. */
struct ny_wg_rx {
	enum ny_wg_drop drop;       /* NY_WG_DROP_NONE when accepted */
	enum ny_wg_message_type type;
	struct ny_wg_peer *peer;    /* the authenticated sender: its endpoint may be updated from the source */
	uint32_t actions;           /* enum ny_wg_action bits for `peer` */
	size_t reply_len;           /* > 0: send reply[0..reply_len) back to the source (response or cookie) */
	uint8_t reply[sizeof(struct ny_wg_msg_initiation)];
};

/* Handles a handshake initiation, response or cookie reply. `src` is the sender's address in any stable binary
 * form (the cookie is bound to it); `under_load` makes mac2 mandatory (whitepaper §5.3).
 * Context: owner thread. */
void ny_wg_device_receive_handshake(struct ny_wg_device *dev, const uint8_t *msg, size_t len, const void *src,
				    size_t src_len, bool under_load, uint64_t now, struct ny_wg_rx *rx);

/* Noise_IKpsk2 steps (noise.c). Each returns 0 or a negative errno and leaves the handshake zeroed on failure. */
int ny_wg_noise_create_initiation(struct ny_wg_peer *peer, uint64_t now, struct ny_wg_msg_initiation *msg);
struct ny_wg_peer *ny_wg_noise_consume_initiation(struct ny_wg_device *dev, const struct ny_wg_msg_initiation *msg,
						  uint64_t now, enum ny_wg_drop *why);
int ny_wg_noise_create_response(struct ny_wg_peer *peer, uint64_t now, struct ny_wg_msg_response *msg);
struct ny_wg_peer *ny_wg_noise_consume_response(struct ny_wg_device *dev, const struct ny_wg_msg_response *msg,
						uint64_t now, enum ny_wg_drop *why);
/* Derives the transport keys from a finished handshake and installs the keypair. */
int ny_wg_noise_begin_session(struct ny_wg_peer *peer, uint64_t now);

/* Makes an initiation for peer with both MACs, arms the retransmit timer, and records the time for rate limiting.
 * Context: owner thread. */
int ny_wg_handshake_create_initiation(struct ny_wg_peer *peer, uint64_t now, struct ny_wg_msg_initiation *msg);

/* Cookie machinery (cookie.c). */
void ny_wg_cookie_checker_init(struct ny_wg_cookie_checker *checker, const uint8_t our_public[NY_KEY_LEN]);
void ny_wg_cookie_init(struct ny_wg_cookie *cookie, const uint8_t peer_public[NY_KEY_LEN]);
/* Checks mac1 of a handshake message of len bytes sent to us, and mac2 when check_cookie. */
enum ny_wg_cookie_mac_state ny_wg_cookie_validate(struct ny_wg_device *dev, const uint8_t *msg, size_t len,
						  const void *src, size_t src_len, bool check_cookie, uint64_t now);
void ny_wg_cookie_add_macs(struct ny_wg_cookie *cookie, uint8_t *msg, size_t len, uint64_t now);
void ny_wg_cookie_create_reply(struct ny_wg_device *dev, const uint8_t *msg, size_t len, uint32_t sender_index,
			       const void *src, size_t src_len, uint64_t now, struct ny_wg_msg_cookie *reply);
struct ny_wg_peer *ny_wg_cookie_consume_reply(struct ny_wg_device *dev, const struct ny_wg_msg_cookie *msg,
					      uint64_t now, enum ny_wg_drop *why);

/* Index table (index.c). */
void ny_wg_index_insert(struct ny_wg_device *dev, struct ny_wg_index_entry *entry, struct ny_wg_peer *peer,
			enum ny_wg_index_kind kind);
void ny_wg_index_remove(struct ny_wg_device *dev, struct ny_wg_index_entry *entry);
void ny_wg_index_replace(struct ny_wg_device *dev, struct ny_wg_index_entry *old,
			 struct ny_wg_index_entry *replacement, enum ny_wg_index_kind kind);
/* kind may be a mask of several kinds. Context: owner, or an RCU reader (which may then miss a handshake entry
 * being moved, see struct ny_wg_index_table). */
struct ny_wg_index_entry *ny_wg_index_lookup(const struct ny_wg_device *dev, uint32_t index,
					     unsigned kind_mask);

/* Keypairs (keypair.c). Context: owner. */
void ny_wg_keypairs_clear(struct ny_wg_peer *peer);
/* The keypair that data to `peer` is encrypted with, or NULL when there is none usable at `now`.
 * Context: owner or RCU reader. */
struct ny_wg_keypair *ny_wg_keypair_for_sending(struct ny_wg_peer *peer, uint64_t now);
bool ny_wg_keypair_expired(const struct ny_wg_keypair *kp, uint64_t now);

/* ---- transport data (transport.c) --------------------------------------------------------------------------
 * A packet buffer for the batch API. To encrypt: the payload sits at buf + NY_WG_DATA_HEADER_LEN, len is its
 * length, and cap >= ny_wg_data_message_len(len); on success buf[0..len) is the whole transport message.
 * To decrypt: buf[0..len) is a transport message; on success the plaintext (still padded) is at
 * buf + NY_WG_DATA_HEADER_LEN and len is its length. `drop` says why a packet failed (NY_WG_DROP_NONE if not).
 */
struct ny_wg_packet {
	uint8_t *buf;
	uint32_t len;
	uint32_t cap;
	enum ny_wg_drop drop;
};

/* Encrypts n packets to peer with its current keypair, reserving n counters at once.
 * Returns the number of packets encrypted (n) or -ENOKEY when there is no usable keypair (nothing is touched;
 * the caller stages the packets and *actions asks for a handshake), or -EINVAL when a buffer is too small.
 * *actions may ask for a handshake (rekey by time or messages). Context: owner or RCU reader. */
int ny_wg_transport_encrypt_batch(struct ny_wg_peer *peer, struct ny_aead_ctx *aead, struct ny_wg_packet *pkts,
				  size_t n, uint64_t now, uint32_t *actions);

/* The same in three steps, so that shards can seal in parallel without any lock: reserve n counters on the current
 * keypair and copy what sealing needs (-ENOKEY as above), seal with no engine state touched (-EINVAL when a buffer
 * is too small), then account the sealed batch in the peer's stats and timers. All three: Context: owner or RCU
 * reader. The job holds a key: wipe it after use. Packets sealed with a keypair that was rotated meanwhile are
 * still accepted: the peer keeps the previous keypair. */
struct ny_wg_seal_job {
	uint8_t key[NY_KEY_LEN];
	uint32_t remote_index;
	uint64_t first_counter;
	size_t n;
	uint64_t birth;
	bool is_initiator;
};
int ny_wg_transport_reserve(struct ny_wg_peer *peer, size_t n, uint64_t now, struct ny_wg_seal_job *job,
			    uint32_t *actions);
int ny_wg_transport_seal(const struct ny_wg_seal_job *job, struct ny_aead_ctx *aead, struct ny_wg_packet *pkts);
void ny_wg_transport_sent(struct ny_wg_peer *peer, const struct ny_wg_seal_job *job, uint64_t bytes, bool data,
			  uint64_t now, uint32_t *actions);

/* Decrypts n transport messages that all carry the receiver index of one keypair (see
 * ny_wg_transport_lookup). Each packet's drop field says whether it was accepted. Returns the number accepted.
 * Updates stats and timers, confirms the `next` keypair on its first packet, and sets *actions.
 * Context: owner thread (it may rotate keypairs). */
int ny_wg_transport_decrypt_batch(struct ny_wg_device *dev, struct ny_wg_keypair *kp, struct ny_aead_ctx *aead,
				  struct ny_wg_packet *pkts, size_t n, uint64_t now, uint32_t *actions);
/* The same in steps, so that shards decrypt without any lock. begin checks the keypair is still valid
 * (-EKEYEXPIRED marks and counts every packet); open authenticates and decrypts, touching only the keypair's
 * replay spinlock; account applies the replay window, stats and timers and returns true when the batch was the
 * first accepted on the peer's `next` keypair; only then confirm rotates it in (Context: owner; it re-checks).
 * begin, open and account: Context: owner or RCU reader, the keypair used before the reader's next quiescent
 * state (it may be retired meanwhile: a packet sealed before a rotation is still authentic). end is account and
 * confirm together, for the owner; it returns what ny_wg_transport_decrypt_batch returns. */
struct ny_wg_open_job {
	struct ny_wg_keypair *kp;
	int accepted; /* set by account */
};
int ny_wg_transport_open_begin(struct ny_wg_device *dev, struct ny_wg_keypair *kp, struct ny_wg_packet *pkts,
			       size_t n, uint64_t now, struct ny_wg_open_job *job);
void ny_wg_transport_open(const struct ny_wg_open_job *job, struct ny_aead_ctx *aead, struct ny_wg_packet *pkts,
			  size_t n);
bool ny_wg_transport_open_account(struct ny_wg_device *dev, struct ny_wg_open_job *job, struct ny_wg_packet *pkts,
				  size_t n, uint64_t now, uint32_t *actions);
void ny_wg_transport_confirm(struct ny_wg_keypair *kp, uint64_t now, uint32_t *actions);
/* Confirms peer's `next` keypair if a packet has arrived on it: what a reader's NY_WG_ACTION_CONFIRM asks for,
 * done later by the owner (a newer handshake may have replaced that keypair since; its successor is left alone
 * until data arrives on it too). Context: owner. */
void ny_wg_transport_confirm_next(struct ny_wg_peer *peer, uint64_t now, uint32_t *actions);
int ny_wg_transport_open_end(struct ny_wg_device *dev, struct ny_wg_open_job *job, struct ny_wg_packet *pkts,
			     size_t n, uint64_t now, uint32_t *actions);

/* The keypair a transport message is addressed to, or NULL (counted as NY_WG_DROP_UNKNOWN_INDEX).
 * Context: owner or RCU reader. */
struct ny_wg_keypair *ny_wg_transport_lookup(struct ny_wg_device *dev, const uint8_t *msg, size_t len);
/* The peer a keypair belongs to. */
static inline struct ny_wg_peer *ny_wg_keypair_peer(const struct ny_wg_keypair *kp)
{
	return kp->entry.peer;
}

/* ---- timers (timers.c) ------------------------------------------------------------------------------------ */
/* Fires every timer of peer that is due at `now` and returns enum ny_wg_action bits. Context: owner thread. */
uint32_t ny_wg_timers_tick(struct ny_wg_peer *peer, uint64_t now);
/* The earliest armed deadline of peer, or UINT64_MAX when none is armed. */
uint64_t ny_wg_timers_next_deadline(const struct ny_wg_peer *peer);
void ny_wg_timers_set_persistent_keepalive(struct ny_wg_peer *peer, uint16_t seconds, uint64_t now);
/* Events, called by the engine itself (and by callers that send or receive outside the batch API). The data and
 * authenticated-packet events are atomic: Context: owner or RCU reader; the handshake ones: owner. */
void ny_wg_timers_data_sent(struct ny_wg_peer *peer, uint64_t now);
void ny_wg_timers_data_received(struct ny_wg_peer *peer, uint64_t now);
void ny_wg_timers_any_authenticated_packet_sent(struct ny_wg_peer *peer, uint64_t now);
void ny_wg_timers_any_authenticated_packet_received(struct ny_wg_peer *peer, uint64_t now);
void ny_wg_timers_any_authenticated_packet_traversal(struct ny_wg_peer *peer, uint64_t now);
void ny_wg_timers_handshake_initiated(struct ny_wg_peer *peer, uint64_t now);
void ny_wg_timers_handshake_complete(struct ny_wg_peer *peer, uint64_t now);
void ny_wg_timers_session_derived(struct ny_wg_peer *peer, uint64_t now);
/* True when an initiation may be sent now: not more than one per REKEY_TIMEOUT (whitepaper §6.2). */
bool ny_wg_timers_may_initiate(const struct ny_wg_peer *peer, uint64_t now);

#endif
