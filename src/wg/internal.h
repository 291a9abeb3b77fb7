/* Functions shared between the files of src/wg/ and not part of the engine's interface. */
#ifndef NYLON_WG_INTERNAL_H
#define NYLON_WG_INTERNAL_H

#include "nylon/wg.h"

void ny_wg_tai64n(uint8_t out[NY_WG_TIMESTAMP_LEN], uint64_t wall_ns);
void ny_wg_handshake_zero(struct ny_wg_device *dev, struct ny_wg_handshake *hs);

struct ny_wg_keypair *ny_wg_keypair_new(uint64_t now, bool initiator, uint32_t remote_index);
/* Installs a freshly derived keypair: an initiator's becomes current, a responder's waits as next. */
void ny_wg_keypairs_install(struct ny_wg_peer *peer, struct ny_wg_keypair *kp);
/* The first packet received on `next` confirms it: it becomes current. True when that happened. */
bool ny_wg_keypairs_received_with(struct ny_wg_peer *peer, struct ny_wg_keypair *kp);

/* Asks for an initiation unless one went out less than REKEY_TIMEOUT ago. A request that is not a timer retry
 * starts the attempt count afresh. Returns NY_WG_ACTION_SEND_INITIATION or 0. */
uint32_t ny_wg_timers_want_initiation(struct ny_wg_peer *peer, uint64_t now, bool is_retry);

#endif
