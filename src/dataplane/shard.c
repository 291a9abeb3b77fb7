/* A shard: one thread, one TUN queue, one UDP socket, one I/O backend. Each loop iteration waits once, then
 * moves a batch from the UDP socket to the TUN (decrypt) and a batch from the TUN to the UDP socket (encrypt),
 * grouping packets per keypair for the engine and per peer for UDP GSO. Context: its own thread. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dataplane/internal.h"
#include "nylon/base.h"
#include "nylon/offload.h"
#include "nylon/rcu.h"
#include "nylon/trace.h"

#define NY_DP_HEADROOM NY_WG_DATA_HEADER_LEN
#define NY_DP_MAX_PAYLOAD (NY_DP_SEG_LEN - NY_WG_DATA_HEADER_LEN - NY_WG_PADDING - NY_AEAD_TAG_LEN)

struct ny_dp_shard *ny_dp_shard_new(struct ny_dp_node *node, unsigned index, int tun_fd, int udp_fd,
				    char *err, size_t err_len)
{
	struct ny_dp_shard *s = calloc(1, sizeof(*s));
	const char *why = NULL;
	int ret;

	if (!s)
		return NULL;
	s->node = node;
	s->index = index;
	s->tun_fd = tun_fd;
	s->udp_fd = udp_fd;
	s->aead = ny_aead_ctx_new(node->cfg.aead);
	s->arena = malloc((size_t)NY_DP_SEGS * NY_DP_SEG_LEN);
	s->peer_at = calloc(node->peer_cap + 1, sizeof(*s->peer_at));
	s->fwd_arena = malloc((size_t)NY_DP_FWD_COPIES * NY_DP_SEG_LEN);
	if (!s->aead || !s->arena || !s->peer_at || !s->fwd_arena)
		goto fail;
	ret = ny_io_create(&s->io, node->cfg.backend, tun_fd, udp_fd, &node->features, &why);
	if (ret < 0) {
		snprintf(err, err_len, "shard %u: no I/O backend: %s", index, why ? why : strerror(-ret));
		goto fail;
	}
	if (why && index == 0)
		ny_log_warn("io", "io_uring not used: %s; falling back to epoll", why);
	return s;
fail:
	ny_aead_ctx_free(s->aead);
	free(s->arena);
	free(s->peer_at);
	free(s->fwd_arena);
	free(s);
	return NULL;
}

void ny_dp_shard_free(struct ny_dp_shard *s)
{
	if (!s)
		return;
	ny_io_destroy(s->io);
	close(s->tun_fd);
	close(s->udp_fd);
	ny_aead_ctx_free(s->aead);
	free(s->arena);
	free(s->peer_at);
	free(s->fwd_arena);
	free(s);
}

/* ---- UDP -> TUN ---------------------------------------------------------------------------------------------- */

/* Cuts received datagrams (GRO trains included) into WireGuard messages: handshakes go to the control thread,
 * transport data is collected in s->pkts. Returns the number of data packets. */
static size_t collect_udp(struct ny_dp_shard *s, struct ny_io_dgram *d, int n)
{
	size_t count = 0;

	for (int i = 0; i < n; i++) {
		uint32_t step = d[i].gso_size ? d[i].gso_size : d[i].len;

		if (d[i].len == 0) {
			ny_dp_count_drop(&s->stats, NY_DP_DROP_WG, 1);
			continue;
		}
		for (uint32_t off = 0; off < d[i].len && count < NY_DP_SEGS; off += step) {
			uint8_t *msg = d[i].data + off;
			uint32_t len = d[i].len - off < step ? d[i].len - off : step;

			switch (ny_wg_message_classify(msg, len)) {
			case NY_WG_MSG_DATA:
				s->pkts[count] = (struct ny_wg_packet){ msg, len, len, 0 };
				s->pkt_src[count++] = d[i].src;
				break;
			case NY_WG_MSG_INITIATION:
			case NY_WG_MSG_RESPONSE:
			case NY_WG_MSG_COOKIE:
				if (ny_dp_hs_queue_push(s->node, msg, len, &d[i].src) < 0)
					ny_dp_count_drop(&s->stats, NY_DP_DROP_HANDSHAKE_QUEUE, 1);
				break;
			default:
				ny_dp_count_drop(&s->stats, NY_DP_DROP_WG, 1);
				break;
			}
		}
	}
	return count;
}

static uint32_t receiver_index(const struct ny_wg_packet *p)
{
	return ny_wg_le32_load(p->buf + 4);
}

/* A run of received packets that share a receiver index: one engine batch. */
struct open_run {
	size_t first, n;
	struct ny_wg_open_job job;
	bool confirm; /* the first accepted batch on the peer's `next` keypair: the owner rotates it in */
	uint32_t actions;
};

/* Finds each run's keypair in the RCU-published index table and checks it is usable, without a lock: the keypair
 * (and its peer) cannot be freed before this shard's next quiescent state. */
static size_t begin_runs(struct ny_dp_shard *s, size_t n, struct open_run *runs, uint64_t now)
{
	struct ny_wg_device *dev = &s->node->dev;
	size_t n_runs = 0;

	for (size_t i = 0, j; i < n; i = j) {
		struct ny_wg_keypair *kp = ny_wg_transport_lookup(dev, s->pkts[i].buf, s->pkts[i].len);

		for (j = i + 1; j < n && receiver_index(&s->pkts[j]) == receiver_index(&s->pkts[i]); j++)
			;
		if (!kp) {
			/* The lookup counted the first packet; the engine's counter is per packet. */
			atomic_fetch_add_explicit(&dev->stats.drops[NY_WG_DROP_UNKNOWN_INDEX], j - i - 1,
						  memory_order_relaxed);
			for (size_t k = i; k < j; k++)
				s->pkts[k].drop = NY_WG_DROP_UNKNOWN_INDEX;
			continue;
		}
		if (ny_wg_transport_open_begin(dev, kp, s->pkts + i, j - i, now, &runs[n_runs].job) < 0)
			continue;
		runs[n_runs].first = i;
		runs[n_runs++].n = j - i;
	}
	return n_runs;
}

/* Under peer_lock, once per batch: the data plane's side of each run (which neighbour slot, roaming, the liveness
 * time). The rare rotation of a confirmed `next` keypair is the control thread's (it may be computing a handshake
 * under wg_lock right now): the shard only asks for it. Nothing here costs more than a few loads. */
static void end_runs(struct ny_dp_shard *s, struct open_run *runs, size_t n_runs, uint64_t now)
{
	struct ny_dp_node *node = s->node;
	bool wake = false;

	pthread_mutex_lock(&node->peer_lock);
	for (size_t r = 0; r < n_runs; r++) {
		struct open_run *run = &runs[r];
		struct ny_dp_peer *peer = ny_wg_keypair_peer(run->job.kp)->user;
		size_t last_ok = SIZE_MAX;
		uint32_t actions = run->actions;

		if (!peer) {
			/* A peer retired by a config change has no user any more: its keypairs are as good as unknown.
			 * They are counted in the data plane's counters once, with the other refused packets, later. */
			atomic_fetch_add_explicit(&node->dev.stats.drops[NY_WG_DROP_UNKNOWN_INDEX], run->n,
						  memory_order_relaxed);
			for (size_t k = run->first; k < run->first + run->n; k++)
				s->pkts[k].drop = NY_WG_DROP_UNKNOWN_INDEX;
			continue;
		}
		if (run->confirm)
			actions |= NY_WG_ACTION_CONFIRM;
		for (size_t k = run->first; k < run->first + run->n; k++) {
			s->pkt_peer[k] = peer;
			if (s->pkts[k].drop == NY_WG_DROP_NONE)
				last_ok = k;
		}
		if (last_ok != SIZE_MAX) {
			ny_dp_peer_roam(peer, &s->pkt_src[last_ok]);
			peer->last_rx = now;
		}
		wake |= ny_dp_peer_mark(peer, actions);
	}
	pthread_mutex_unlock(&node->peer_lock);
	if (wake)
		ny_dp_control_wake(node);
}

/* Decrypts runs of packets that share a receiver index as engine batches. Lookup, AEAD, replay windows, counters
 * and timers run without a lock (the keypairs are RCU-published), so shards decrypt in parallel and a handshake
 * on the control thread does not hold them up; only the data plane's bookkeeping takes the lock, once. */
static void decrypt_all(struct ny_dp_shard *s, size_t n, uint64_t now)
{
	static _Thread_local struct open_run runs[NY_DP_SEGS];
	size_t n_runs = begin_runs(s, n, runs, now);

	for (size_t r = 0; r < n_runs; r++) {
		struct open_run *run = &runs[r];

		ny_wg_transport_open(&run->job, s->aead, s->pkts + run->first, run->n);
		run->confirm = ny_wg_transport_open_account(&s->node->dev, &run->job, s->pkts + run->first, run->n, now,
							    &run->actions);
	}
	end_runs(s, runs, n_runs, now);
}

/* --dbg-trace-tc: one line per traffic-control decision (nylon/trace.h). Each call site costs one predictable
 * branch on node->trace when tracing is off; the peer's id and the drop's name are only read when it is on. */
static inline void trace(const struct ny_dp_shard *s, enum ny_trace_event ev, const uint8_t *ip, const char *what)
{
	if (__builtin_expect(s->node->trace != NULL, 0))
		ny_trace_packet(s->node->trace, ev, ip, what);
}

static inline void trace_peer(const struct ny_dp_shard *s, enum ny_trace_event ev, const uint8_t *ip,
			      const struct ny_dp_peer *peer)
{
	if (__builtin_expect(s->node->trace != NULL, 0))
		ny_trace_packet(s->node->trace, ev, ip, peer ? peer->id : NULL); /* NULL id: a retired slot */
}

static inline void trace_drop(const struct ny_dp_shard *s, enum ny_dp_drop why, const uint8_t *ip)
{
	if (__builtin_expect(s->node->trace != NULL, 0))
		ny_trace_packet(s->node->trace, NY_TRACE_DROP, ip, ny_dp_drop_name(why));
}

/* A transit packet goes out again to peer: sealed in place when the sealed packet fits the buffer it came in
 * (senders pad to 16 like us), else from a copy. */
static void forward(struct ny_dp_shard *s, struct ny_wg_packet *p, size_t ip_len, struct ny_dp_peer *peer)
{
	struct ny_wg_packet out = { p->buf, (uint32_t)ip_len, p->cap, 0 };

	if (ny_wg_data_message_len(ip_len) > p->cap) {
		if (s->n_fwd_copies == NY_DP_FWD_COPIES || ip_len > NY_DP_SEG_LEN - NY_DP_HEADROOM - 32) {
			ny_dp_count_drop(&s->stats, NY_DP_DROP_TOO_BIG, 1);
			return;
		}
		out.buf = s->fwd_arena + s->n_fwd_copies++ * NY_DP_SEG_LEN;
		out.cap = NY_DP_SEG_LEN;
		memcpy(out.buf + NY_DP_HEADROOM, p->buf + NY_DP_HEADROOM, ip_len);
	}
	s->fwd[s->n_fwd] = out;
	s->fwd_peer[s->n_fwd++] = peer;
	ny_dp_count(&s->stats.fwd_pkts, 1);
}

/* Traffic control for a packet that came from a peer (reference §4.1): the OS gets what this node serves, what
 * expires here and what no route covers; a held route drops; anything else is forwarded to its next hop unless
 * use_system_routing hands transit to the OS. Returns true when the packet goes to the OS. */
static bool route_incoming(struct ny_dp_shard *s, const struct ny_dp_fib *fib, struct ny_wg_packet *p, uint8_t *ip,
			   size_t len, struct ny_dp_peer *from)
{
	const struct ny_dp_fib_entry *e = ny_dp_fib_lookup(fib, ip);

	if (s->node->cfg.validate_source) {
		const struct ny_dp_fib_entry *src = ny_dp_fib_lookup_source(fib, ip);

		if (!src || src->kind != NY_DP_FIB_PEER || src->peer != from) {
			ny_dp_count_drop(&s->stats, NY_DP_DROP_SOURCE, 1);
			trace_drop(s, NY_DP_DROP_SOURCE, ip);
			return false;
		}
	}
	if (e && e->kind == NY_DP_FIB_EXIT) {
		trace(s, NY_TRACE_EXIT, ip, NULL);
		return true;
	}
	if (s->node->cfg.use_system_routing) {
		trace_peer(s, NY_TRACE_UNHANDLED, ip, from);
		return true;
	}
	if (!ny_dp_ttl_decrement(ip)) {
		ny_dp_count(&s->stats.ttl_expired, 1);
		trace(s, NY_TRACE_TTL, ip, NULL);
		return true;
	}
	if (!e) {
		trace_peer(s, NY_TRACE_UNHANDLED, ip, from);
		return true;
	}
	if (e->kind == NY_DP_FIB_BLACKHOLE) {
		ny_dp_count_drop(&s->stats, NY_DP_DROP_BLACKHOLE, 1);
		trace_drop(s, NY_DP_DROP_BLACKHOLE, ip);
		return false;
	}
	trace_peer(s, NY_TRACE_FWD, ip, e->peer);
	forward(s, p, len, e->peer);
	return false;
}

/* Sorts the decrypted packets: control messages to the routing thread, packets for the OS into s->gro_in (their
 * number is returned), transit packets into s->fwd. */
static size_t inner_packets(struct ny_dp_shard *s, size_t n, uint64_t now)
{
	const struct ny_dp_fib *fib = ny_rcu_dereference(s->node->fib);
	size_t out = 0;

	for (size_t i = 0; i < n; i++) {
		struct ny_wg_packet *p = &s->pkts[i];
		uint8_t *ip = p->buf + NY_WG_DATA_HEADER_LEN;
		size_t len;

		if (p->drop != NY_WG_DROP_NONE) {
			ny_dp_count_drop(&s->stats, NY_DP_DROP_WG, 1);
			continue;
		}
		ny_dp_count(&s->stats.rx_udp_pkts, 1);
		ny_dp_count(&s->stats.rx_udp_bytes, p->len);
		if (p->len == 0) /* keepalive */
			continue;
		if (ip[0] >> 4 == 8) {
			if (ny_dp_routing_push(s->node, s->pkt_peer[i], &s->pkt_src[i], ip, p->len, now) < 0)
				ny_dp_count_drop(&s->stats, NY_DP_DROP_CONTROL_QUEUE, 1);
			else
				ny_dp_count(&s->stats.control_pkts, 1);
			continue;
		}
		len = ny_dp_ip_len(ip, p->len);
		if (!len) {
			ny_dp_count_drop(&s->stats, NY_DP_DROP_NOT_IP, 1);
			continue;
		}
		if (route_incoming(s, fib, p, ip, len, s->pkt_peer[i]))
			s->gro_in[out++] = (struct ny_offload_pkt){ ip, len };
	}
	return out;
}

/* TUN writes for the inner packets. With offloads on, consecutive segments of one flow are coalesced into
 * super-packets (GRO on write) so the kernel's stack sees a few large packets instead of many small ones. The
 * super-packets are gathered where the packets were decrypted: each head's virtio-net header goes into the room
 * its WireGuard header left, and the members' payloads are written from their receive buffers (no copy). */
static void to_tun(struct ny_dp_shard *s, size_t n)
{
	const struct ny_io_features *f = &s->node->features;
	unsigned flags = NY_OFFLOAD_DATA_VALID | (f->tun_uso ? NY_OFFLOAD_COALESCE_UDP : 0);
	size_t piece = 0;
	int out;

	_Static_assert(NY_WG_DATA_HEADER_LEN >= NY_VNET_HDR_LEN, "the vnet header fits where the WireGuard one was");
	if (!f->tun_vnet) {
		for (size_t i = 0; i < n; i++)
			s->tun_out[i] = (struct ny_io_pkt){ s->gro_in[i].data, (uint32_t)s->gro_in[i].len };
		ny_dp_count(&s->stats.tx_tun_pkts, (uint64_t)ny_io_send_tun(s->io, s->tun_out, n));
		return;
	}
	out = ny_offload_coalesce_in_place(s->gro_in, n, s->gro_pieces, s->gro_counts, NY_DP_SEGS, flags);
	if (out < 0) {
		ny_dp_count_drop(&s->stats, NY_DP_DROP_OFFLOAD, n);
		return;
	}
	for (int i = 0; i < out; i++) {
		s->tun_vec[i] = (struct ny_io_vec){ &s->tun_iov[piece], s->gro_counts[i] };
		for (uint32_t k = 0; k < s->gro_counts[i]; k++, piece++)
			s->tun_iov[piece] = (struct iovec){ s->gro_pieces[piece].data, s->gro_pieces[piece].len };
	}
	ny_dp_count(&s->stats.tx_tun_pkts, (uint64_t)ny_io_send_tun_vec(s->io, s->tun_vec, (size_t)out));
}

static void udp_to_tun(struct ny_dp_shard *s, struct ny_io_dgram *d, int n, uint64_t now)
{
	size_t count = collect_udp(s, d, n);

	if (!count)
		return;
	decrypt_all(s, count, now);
	to_tun(s, inner_packets(s, count, now));
}

/* ---- TUN -> UDP ---------------------------------------------------------------------------------------------- */

static uint8_t *seg(struct ny_dp_shard *s, size_t i)
{
	return s->arena + i * NY_DP_SEG_LEN;
}

/* Splits what the TUN gave (super-packets with a virtio-net header when offloads are on) into IP packets in
 * segment buffers with room for the WireGuard header, padding and tag. Returns how many packets it wrote from
 * index `at`; each gets the same peer, looked up once. */
static size_t split_one(struct ny_dp_shard *s, const struct ny_io_pkt *in, size_t at, size_t limit)
{
	size_t room = limit - at, max;
	int n;

	if (!s->node->features.tun_vnet) {
		if (in->len > NY_DP_MAX_PAYLOAD) {
			ny_dp_count_drop(&s->stats, NY_DP_DROP_TOO_BIG, 1);
			return 0;
		}
		memcpy(seg(s, at) + NY_DP_HEADROOM, in->data, in->len);
		s->split_len[0] = in->len;
		return room ? 1 : 0;
	}
	max = ny_offload_split_max(in->data, in->len);
	if (max < room) /* a one-packet read fills one pointer, not thousands */
		room = max;
	for (size_t i = 0; i < room && i < NY_DP_SEGS; i++)
		s->split_out[i] = seg(s, at + i) + NY_DP_HEADROOM;
	n = ny_offload_split(in->data, in->len, s->split_out, s->split_len, room, NY_DP_MAX_PAYLOAD);
	if (n < 0) {
		ny_dp_count_drop(&s->stats, n == -ENOBUFS ? NY_DP_DROP_TOO_BIG : NY_DP_DROP_OFFLOAD, 1);
		return 0;
	}
	return (size_t)n;
}

/* Where a packet from the OS goes: the next hop's peer, or NULL (dropped and counted). The n segments of one TUN
 * super-packet share a header and a decision: they are traced as one line. */
static struct ny_dp_peer *route_outgoing(struct ny_dp_shard *s, const struct ny_dp_fib *fib, const uint8_t *ip,
					 size_t n)
{
	const struct ny_dp_fib_entry *e = ny_dp_fib_lookup(fib, ip);
	enum ny_dp_drop why;

	if (!e)
		why = NY_DP_DROP_NO_ROUTE;
	else if (e->kind == NY_DP_FIB_BLACKHOLE)
		why = NY_DP_DROP_BLACKHOLE;
	else if (e->kind == NY_DP_FIB_EXIT)
		why = NY_DP_DROP_LOOP;
	else {
		trace_peer(s, NY_TRACE_FWD, ip, e->peer);
		return e->peer;
	}
	ny_dp_count_drop(&s->stats, why, n);
	trace_drop(s, why, ip);
	return NULL;
}

/* Splits and routes what the TUN gave into s->pkts from index 0, leaving `reserve` slots for transit packets. */
static size_t collect_tun(struct ny_dp_shard *s, const struct ny_io_pkt *in, int n, size_t reserve)
{
	const struct ny_dp_fib *fib = ny_rcu_dereference(s->node->fib);
	size_t count = 0, room = NY_DP_SEGS - reserve;

	for (int i = 0; i < n && count < room; i++) {
		size_t got = split_one(s, &in[i], count, room);
		const uint8_t *first = seg(s, count) + NY_DP_HEADROOM;
		struct ny_dp_peer *peer;

		if (!got)
			continue;
		if (!ny_dp_ip_len(first, s->split_len[0])) {
			ny_dp_count_drop(&s->stats, NY_DP_DROP_NOT_IP, got);
			continue;
		}
		if (!(peer = route_outgoing(s, fib, first, got)))
			continue;
		for (size_t k = 0; k < got; k++, count++) {
			s->pkts[count] = (struct ny_wg_packet){ seg(s, count), (uint32_t)s->split_len[k], NY_DP_SEG_LEN, 0 };
			s->pkt_peer[count] = peer;
			ny_dp_count(&s->stats.rx_tun_bytes, s->split_len[k]);
		}
		ny_dp_count(&s->stats.rx_tun_pkts, got);
	}
	return count;
}

/* Reorders packets so each peer's are contiguous, keeping their order within a peer: a counting sort on the
 * peer's index, linear in packets and peers. */
static void group_by_peer(struct ny_dp_shard *s, size_t n)
{
	static _Thread_local struct ny_wg_packet tmp[NY_DP_SEGS];
	static _Thread_local struct ny_dp_peer *tmp_peer[NY_DP_SEGS];
	struct ny_dp_peer *base = s->node->peers;
	size_t n_peers = s->node->peer_cap, *at = s->peer_at;

	memset(at, 0, (n_peers + 1) * sizeof(*at));
	for (size_t i = 0; i < n; i++)
		at[s->pkt_peer[i] - base + 1]++;
	for (size_t p = 1; p <= n_peers; p++)
		at[p] += at[p - 1];
	for (size_t i = 0; i < n; i++) {
		size_t k = at[s->pkt_peer[i] - base]++;

		tmp[k] = s->pkts[i];
		tmp_peer[k] = s->pkt_peer[i];
	}
	memcpy(s->pkts, tmp, n * sizeof(tmp[0]));
	memcpy(s->pkt_peer, tmp_peer, n * sizeof(tmp_peer[0]));
}

/* No session yet: keep copies for the control thread to send after the handshake. Context: under peer_lock. */
static void stage(struct ny_dp_shard *s, struct ny_dp_peer *peer, const struct ny_wg_packet *pkts, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		struct ny_dp_staged_pkt *st;

		if (peer->n_staged == NY_DP_STAGED_MAX) {
			ny_dp_count_drop(&s->stats, NY_DP_DROP_STAGED_FULL, n - i);
			return;
		}
		st = &peer->staged[peer->n_staged++];
		st->len = pkts[i].len;
		memcpy(st->data + NY_DP_HEADROOM, pkts[i].buf + NY_DP_HEADROOM, pkts[i].len);
	}
}

/* Appends UDP sends for one peer's sealed packets: runs of equal-sized packets become one GSO send. */
static size_t add_sends(struct ny_dp_shard *s, size_t n_sends, const struct ny_io_addr *dst, size_t first,
			size_t n)
{
	const bool gso = s->node->features.udp_gso;

	for (size_t i = first; i < first + n;) {
		uint32_t size = s->pkts[i].len;
		size_t j = i + 1;

		size_t total = size;

		s->iov[i] = (struct iovec){ s->pkts[i].buf, size };
		/* A GSO train is one UDP datagram to the kernel until it is cut: it must fit the 16-bit length. */
		while (gso && j < first + n && j - i < NY_DP_GSO_MAX && s->pkts[j].len <= size &&
		       total + s->pkts[j].len <= NY_DP_GSO_BYTES) {
			total += s->pkts[j].len;
			s->iov[j] = (struct iovec){ s->pkts[j].buf, s->pkts[j].len };
			/* A shorter packet may only end a GSO train. */
			if (s->pkts[j++].len < size)
				break;
		}
		s->sends[n_sends++] = (struct ny_io_send){ *dst, &s->iov[i], (unsigned)(j - i),
							   (uint16_t)(j - i > 1 ? size : 0) };
		i = j;
	}
	return n_sends;
}

/* Per peer group of one batch: what sealing needs, taken under the lock and used outside it. */
struct seal_group {
	size_t first, n;
	struct ny_dp_peer *peer;
	struct ny_wg_peer *wg; /* the slot's engine peer when the batch was grouped: valid until the quiescent state */
	struct ny_io_addr dst;
	struct ny_wg_seal_job job;
};

/* Under peer_lock, once per batch: each peer's engine peer and endpoint (the data plane's fields), the counter
 * reservation on its RCU-published keypair (an atomic add), or staging while it has no session. */
static size_t reserve_groups(struct ny_dp_shard *s, size_t count, struct seal_group *groups, uint64_t now)
{
	struct ny_dp_node *node = s->node;
	size_t n_groups = 0;
	bool wake = false;

	pthread_mutex_lock(&node->peer_lock);
	for (size_t i = 0, j; i < count; i = j) {
		struct seal_group *g = &groups[n_groups];
		struct ny_dp_peer *peer = s->pkt_peer[i];
		uint32_t actions = 0;
		int ret;

		for (j = i + 1; j < count && s->pkt_peer[j] == peer; j++)
			;
		if (!peer->wg) { /* retired by a config change after this batch read the forwarding table */
			ny_dp_count_drop(&s->stats, NY_DP_DROP_NO_ROUTE, j - i);
			continue;
		}
		if (!peer->has_endpoint) {
			ny_dp_count_drop(&s->stats, NY_DP_DROP_NO_ENDPOINT, j - i);
			continue;
		}
		ret = ny_wg_transport_reserve(peer->wg, j - i, now, &g->job, &actions);
		if (ret == -ENOKEY)
			stage(s, peer, s->pkts + i, j - i);
		else if (ret < 0)
			ny_dp_count_drop(&s->stats, NY_DP_DROP_WG, j - i);
		else {
			g->first = i;
			g->n = j - i;
			g->peer = peer;
			g->wg = peer->wg;
			g->dst = peer->endpoint;
			n_groups++;
		}
		wake |= ny_dp_peer_mark(peer, actions);
	}
	pthread_mutex_unlock(&node->peer_lock);
	if (wake)
		ny_dp_control_wake(node);
	return n_groups;
}

/* The sealed batches count in each peer's stats and timers: atomics, no lock. */
static void account_groups(struct ny_dp_shard *s, struct seal_group *groups, size_t n_groups, uint64_t now)
{
	bool wake = false;

	for (size_t k = 0; k < n_groups; k++) {
		struct seal_group *g = &groups[k];
		uint64_t bytes = 0;
		uint32_t actions = 0;
		bool data = false;

		if (!g->n) /* sealing failed */
			continue;
		for (size_t i = g->first; i < g->first + g->n; i++) {
			bytes += s->pkts[i].len;
			data |= s->pkts[i].len > NY_WG_DATA_MIN_LEN;
		}
		ny_wg_transport_sent(g->wg, &g->job, bytes, data, now, &actions);
		wake |= ny_dp_peer_mark(g->peer, actions);
	}
	if (wake)
		ny_dp_control_wake(s->node);
}

/* Encrypts what the TUN gave and the transit packets of this iteration: counters are reserved on the
 * RCU-published keypairs, packets sealed without any lock (so shards encrypt in parallel), then sent as GSO
 * trains per peer. */
static void tun_to_udp(struct ny_dp_shard *s, const struct ny_io_pkt *in, int n, uint64_t now)
{
	static _Thread_local struct seal_group groups[NY_DP_SEGS];
	size_t count = n > 0 ? collect_tun(s, in, n, s->n_fwd) : 0, n_groups, n_sends = 0, sealed = 0;

	memcpy(s->pkts + count, s->fwd, s->n_fwd * sizeof(s->fwd[0]));
	memcpy(s->pkt_peer + count, s->fwd_peer, s->n_fwd * sizeof(s->fwd_peer[0]));
	count += s->n_fwd;
	s->n_fwd = 0;
	s->n_fwd_copies = 0;
	if (!count)
		return;
	group_by_peer(s, count);
	n_groups = reserve_groups(s, count, groups, now);
	for (size_t k = 0; k < n_groups; k++) {
		struct seal_group *g = &groups[k];

		if (ny_wg_transport_seal(&g->job, s->aead, s->pkts + g->first) < 0) {
			ny_dp_count_drop(&s->stats, NY_DP_DROP_WG, g->n);
			g->n = 0;
		}
		ny_crypto_wipe(g->job.key, sizeof(g->job.key));
	}
	account_groups(s, groups, n_groups, now);
	for (size_t k = 0; k < n_groups; k++) {
		if (!groups[k].n)
			continue;
		n_sends = add_sends(s, n_sends, &groups[k].dst, groups[k].first, groups[k].n);
		sealed += groups[k].n;
	}
	ny_io_send_udp(s->io, s->sends, n_sends);
	ny_dp_count(&s->stats.tx_udp_pkts, sealed);
}

/* ---- the loop ---------------------------------------------------------------------------------------------- */

static void *shard_main(void *arg)
{
	struct ny_dp_shard *s = arg;
	struct ny_io_dgram dgrams[NY_IO_BATCH];
	struct ny_io_pkt tun[NY_IO_BATCH];

	ny_thread_name("ny-shard%u", s->index);
	ny_rcu_register_thread();
	while (!atomic_load_explicit(&s->node->stop, memory_order_relaxed)) {
		uint64_t now;
		int ret, n;

		/* No RCU-protected pointer survives an iteration; offline while blocked in the kernel. */
		ny_rcu_quiescent();
		ny_rcu_offline();
		ret = ny_io_wait(s->io, 200);
		ny_rcu_online();
		now = ny_clock_mono_ns();

		if (ret < 0) {
			ny_log_error("shard", "shard %u: waiting for I/O failed: %s", s->index, strerror(-ret));
			break;
		}
		n = ny_io_recv_udp(s->io, dgrams, NY_IO_BATCH);
		if (n > 0) {
			udp_to_tun(s, dgrams, n, now);
			ny_dp_count(&s->stats.batches, 1);
			ny_dp_count(&s->stats.batch_pkts, (uint64_t)n);
		}
		n = ny_io_recv_tun(s->io, tun, NY_IO_BATCH);
		if (n > 0 || s->n_fwd)
			tun_to_udp(s, tun, n, now);
		if (n > 0) {
			ny_dp_count(&s->stats.batches, 1);
			ny_dp_count(&s->stats.batch_pkts, (uint64_t)n);
		}
	}
	ny_io_quiesce(s->io);
	ny_rcu_unregister_thread();
	return NULL;
}

int ny_dp_shard_start(struct ny_dp_shard *s)
{
	int ret = pthread_create(&s->thread, NULL, shard_main, s);

	if (ret)
		return -ret;
	s->started = true;
	return 0;
}

void ny_dp_shard_join(struct ny_dp_shard *s)
{
	if (!s || !s->started)
		return;
	ny_io_wake(s->io);
	pthread_join(s->thread, NULL);
	s->started = false;
}
