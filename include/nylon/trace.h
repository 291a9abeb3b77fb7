/* The packet-routing trace of `nylon run --dbg-trace-tc` (reference nylon-behaviour.md §1, §4.1, §5.4): the shards
 * push one line per traffic-control decision into a bounded ring, and every `nylon trace` client reads it through
 * its own cursor, from the moment it attached.
 *
 * Lines (at most NY_TRACE_LINE_MAX bytes, NUL included):
 *   Fwd packet: <src> -> <dst>, via <next-hop id>     forwarded to a neighbour (transit, or from the TUN)
 *   Exit: <src> -> <dst>                              a prefix this node serves: handed to the OS
 *   TTL Expired: <src> -> <dst>                       TTL / hop limit ran out here: handed to the OS (§4.1 step 3)
 *   Unhandled TC packet: <src> -> <dst>, peer <id>    from a peer, no route (or use_system_routing): to the OS,
 *                                                     as the reference's pass-through filter prints it
 *   Drop (<reason>): <src> -> <dst>                   <reason> is ny_dp_drop_name() (blackhole, no_route, ...)
 *   Missed <n> trace lines                            the IPC server's note to a reader that fell behind
 *
 * Concurrency. Writers: any number of threads (the shards), through ny_trace_ring_push / ny_trace_packet. Readers:
 * any number of threads (IPC connections), each with its own struct ny_trace_reader. Everything in the ring is
 * guarded by one spin lock held for one line's copy. A writer never blocks: after a bounded spin it drops its line
 * and counts it (`busy`), so a reader or writer preempted while holding the lock costs lines, not a stalled shard.
 * The ring is full when it holds `lines` entries: the next push overwrites the oldest (`overwritten`), and a reader
 * whose cursor it passed counts the lines it lost in its `missed`. Nothing is formatted while no reader is attached
 * (ny_trace_ring_active), so a daemon started with the flag and never traced pays one relaxed load per decision.
 */
#ifndef NYLON_TRACE_H
#define NYLON_TRACE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define NY_TRACE_LINE_MAX 160
#define NY_TRACE_RING_LINES 4096

struct ny_trace_ring;

struct ny_trace_reader {
	uint64_t cursor; /* the next line's sequence number */
	uint64_t missed; /* lines overwritten before this reader got to them */
};

struct ny_trace_stats {
	uint64_t lines;       /* pushed into the ring */
	uint64_t overwritten; /* oldest lines dropped to make room */
	uint64_t busy;        /* lines dropped because the lock stayed taken for the whole spin */
};

enum ny_trace_event {
	NY_TRACE_FWD,       /* what: the next hop's id */
	NY_TRACE_EXIT,      /* what: unused */
	NY_TRACE_TTL,       /* what: unused */
	NY_TRACE_UNHANDLED, /* what: the id of the peer it came from */
	NY_TRACE_DROP,      /* what: the reason */
};

/* A ring of `lines` entries (a power of two, at least 2); NULL on ENOMEM or a bad size. */
struct ny_trace_ring *ny_trace_ring_new(unsigned lines);
/* Context: no writer or reader left. NULL is fine. */
void ny_trace_ring_free(struct ny_trace_ring *ring);

/* Whether some reader is attached (a relaxed load): writers skip formatting when none is. */
bool ny_trace_ring_active(const struct ny_trace_ring *ring);
/* Appends a line (cut to NY_TRACE_LINE_MAX - 1 bytes). false when it was dropped (lock busy) or empty (ignored).
 * Never blocks. */
bool ny_trace_ring_push(struct ny_trace_ring *ring, const char *line, size_t len);
/* Formats one traffic-control decision about the IP packet at ip (a header ny_dp_ip_len() accepted) and pushes it,
 * when some reader is attached. what: see enum ny_trace_event; NULL prints "-". Context: any thread, never blocks,
 * no system call. */
void ny_trace_packet(struct ny_trace_ring *ring, enum ny_trace_event ev, const uint8_t *ip, const char *what);

/* A reader sees every line pushed after attach (less those it missed). Detach before the reader goes away. */
void ny_trace_reader_attach(struct ny_trace_ring *ring, struct ny_trace_reader *rd);
void ny_trace_reader_detach(struct ny_trace_ring *ring, struct ny_trace_reader *rd);
/* Copies the reader's next line, NUL-terminated, into buf and returns its length; 0 when it has read everything.
 * Lines overwritten before it got to them are skipped and added to rd->missed. */
size_t ny_trace_read(struct ny_trace_ring *ring, struct ny_trace_reader *rd, char buf[NY_TRACE_LINE_MAX]);

void ny_trace_ring_stats(struct ny_trace_ring *ring, struct ny_trace_stats *out);

#endif
