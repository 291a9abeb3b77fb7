/* A node's data plane: the engine and its peers built from the configuration, the shards, and the control
 * thread that owns handshakes and timers (see dataplane.h for who owns what). */
#include "nylon/dataplane.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "dataplane/internal.h"
#include "nylon/base.h"
#include "nylon/rcu.h"

#define HS_QUEUE_LEN 256
#define HS_UNDER_LOAD 32 /* queued handshakes beyond which we answer with cookies (whitepaper §5.3) */

struct ny_dp_hs_queue {
	pthread_mutex_t lock;
	unsigned head, count;
	struct ny_dp_hs_msg msgs[HS_QUEUE_LEN];
};

const char *ny_dp_drop_name(enum ny_dp_drop reason)
{
	static const char *const names[NY_DP_DROP__COUNT] = {
		[NY_DP_DROP_NO_ROUTE] = "no_route",
		[NY_DP_DROP_NOT_IP] = "not_ip",
		[NY_DP_DROP_TOO_BIG] = "too_big",
		[NY_DP_DROP_NO_ENDPOINT] = "no_endpoint",
		[NY_DP_DROP_STAGED_FULL] = "staged_full",
		[NY_DP_DROP_HANDSHAKE_QUEUE] = "handshake_queue_full",
		[NY_DP_DROP_WG] = "wireguard",
		[NY_DP_DROP_CONTROL_QUEUE] = "control_queue_full",
		[NY_DP_DROP_OFFLOAD] = "offload_split",
		[NY_DP_DROP_BLACKHOLE] = "blackhole",
		[NY_DP_DROP_LOOP] = "exit_from_tun",
		[NY_DP_DROP_SOURCE] = "source_not_routed_via_peer",
	};
	return (unsigned)reason < NY_DP_DROP__COUNT ? names[reason] : "unknown";
}

/* ---- configuration -> engine ------------------------------------------------------------------------------- */

int ny_dp_endpoint_resolve(const struct ny_conf_endpoint *ep, struct ny_io_addr *out)
{
	if (!ep->is_ip)
		return -EAGAIN;
	memset(out, 0, sizeof(*out));
	out->family = (uint16_t)ep->ip.family;
	out->port = ep->port;
	memcpy(out->ip, ep->ip.bytes, ep->ip.family == AF_INET ? 4 : 16);
	return 0;
}

int ny_dp_peer_activate(struct ny_dp_node *node, struct ny_dp_peer *peer, const struct ny_conf_central *central,
			size_t conf_index)
{
	const struct ny_conf_peer *cp = ny_conf_central_peer(central, conf_index);
	struct ny_dp_staged_pkt *staged = calloc(NY_DP_STAGED_MAX, sizeof(*staged));
	struct ny_wg_peer *wg = staged ? ny_wg_device_add_peer(&node->dev, cp->pubkey, NULL) : NULL;

	if (!wg) {
		free(staged);
		return errno ? -errno : -ENOMEM;
	}
	memset(peer, 0, sizeof(*peer));
	peer->id = cp->id;
	peer->conf_index = conf_index;
	peer->is_client = cp->is_client;
	peer->staged = staged;
	peer->wg = wg;
	wg->user = peer;
	return 0;
}

struct ny_wg_peer *ny_dp_peer_retire(struct ny_dp_peer *peer)
{
	struct ny_wg_peer *wg = peer->wg;

	/* Shards that find one of its keypairs from now on drop the packet (begin_runs); those that found one before
	 * are done once every shard has passed a quiescent state. */
	wg->user = NULL;
	free(peer->staged);
	memset(peer, 0, sizeof(*peer));
	return wg;
}

int ny_dp_node_init(struct ny_dp_node *node, const struct ny_dp_config *cfg, const struct ny_conf_central *central,
		    const struct ny_conf_node *local, char *err, size_t err_len)
{
	long self = ny_conf_central_find(central, local->id);
	size_t total = central->n_routers + central->n_clients;
	int ret;

	memset(node, 0, sizeof(*node));
	node->cfg = *cfg;
	node->features.uring_compat = cfg->uring_compat;
	node->central = central;
	node->local = local;
	node->control_wake = -1;
	pthread_mutex_init(&node->wg_lock, NULL);
	pthread_mutex_init(&node->peer_lock, NULL);
	if (self < 0) {
		snprintf(err, err_len, "node id %s is not in the central config", local->id);
		return -EINVAL;
	}
	node->self = (size_t)self;
	if (ny_wg_device_init(&node->dev, local->key, ny_clock_mono_ns()) < 0) {
		snprintf(err, err_len, "the node's private key is invalid");
		return -EINVAL;
	}
	for (size_t i = 0; i < total; i++)
		if (i != (size_t)self && ny_conf_central_adjacent(central, (size_t)self, i))
			node->peer_cap++;
	/* Room for neighbours that a live config change may add (routing.c); beyond it a reload needs a restart. */
	node->peer_cap = node->peer_cap * 2 > NY_DP_PEERS_MIN ? node->peer_cap * 2 : NY_DP_PEERS_MIN;
	node->peers = calloc(node->peer_cap, sizeof(*node->peers));
	node->hs_queue = calloc(1, sizeof(*node->hs_queue));
	node->control_aead = ny_aead_ctx_new(cfg->aead);
	if (!node->peers || !node->hs_queue) {
		snprintf(err, err_len, "out of memory");
		return -ENOMEM;
	}
	if (!node->control_aead) {
		snprintf(err, err_len, "the %s AEAD cannot be set up (%s)", ny_aead_provider_name(cfg->aead),
			 cfg->aead == NY_AEAD_OPENSSL ? "OpenSSL's default provider offers no ChaCha20 or Poly1305 here; "
							"`aead: sodium` in node.yaml or --aead sodium avoids it" :
							"out of memory");
		return -ENOTSUP;
	}
	pthread_mutex_init(&node->hs_queue->lock, NULL);
	for (size_t i = 0; i < total; i++) {
		if (i == (size_t)self || !ny_conf_central_adjacent(central, (size_t)self, i))
			continue;
		if ((ret = ny_dp_peer_activate(node, &node->peers[node->n_peers], central, i)) < 0) {
			snprintf(err, err_len, "peer %s: cannot add it to the WireGuard device: %s",
				 ny_conf_central_peer(central, i)->id, strerror(-ret));
			return ret;
		}
		node->n_peers++;
	}
	return ny_dp_routing_init(node, err, err_len);
}

/* ---- handshake queue and control thread ---------------------------------------------------------------------- */

int ny_dp_hs_queue_push(struct ny_dp_node *node, const uint8_t *msg, size_t len, const struct ny_io_addr *src)
{
	struct ny_dp_hs_queue *q = node->hs_queue;
	int ret = -ENOBUFS;

	if (len > sizeof(q->msgs[0].msg))
		return -EINVAL;
	pthread_mutex_lock(&q->lock);
	if (q->count < HS_QUEUE_LEN) {
		struct ny_dp_hs_msg *m = &q->msgs[(q->head + q->count++) % HS_QUEUE_LEN];

		memcpy(m->msg, msg, len);
		m->len = (uint16_t)len;
		m->src = *src;
		ret = 0;
	}
	pthread_mutex_unlock(&q->lock);
	if (ret == 0)
		ny_dp_control_wake(node);
	return ret;
}

void ny_dp_peer_set_endpoint(struct ny_dp_peer *peer, const struct ny_io_addr *addr)
{
	char where[64];

	if (peer->has_endpoint && memcmp(&peer->endpoint, addr, sizeof(*addr)) == 0)
		return;
	peer->endpoint = *addr;
	peer->has_endpoint = true;
	ny_io_addr_format(addr, where, sizeof(where));
	ny_log_info("wg", "peer %s: endpoint is now %s", peer->id, where);
}

void ny_dp_peer_roam(struct ny_dp_peer *peer, const struct ny_io_addr *src)
{
	if (!peer->pinned)
		ny_dp_peer_set_endpoint(peer, src);
}

bool ny_dp_peer_mark(struct ny_dp_peer *peer, uint32_t actions)
{
	if (!actions)
		return false;
	atomic_fetch_or(&peer->pending, actions);
	return true;
}

void ny_dp_control_wake(struct ny_dp_node *node)
{
	uint64_t one = 1;

	/* A full counter (EAGAIN) already means "woken". */
	if (write(node->control_wake, &one, sizeof(one)) < 0)
		return;
}

static int control_fd(const struct ny_dp_node *node)
{
	return node->shards[0]->udp_fd;
}

void ny_dp_send_to(struct ny_dp_node *node, const struct ny_io_addr *dst, const void *buf, size_t len)
{
	struct sockaddr_storage ss;
	size_t ss_len = ny_io_addr_to_sockaddr(dst, &ss, sizeof(ss));

	/* Never wait for socket room while holding wg_lock: a lost handshake or keepalive is retried by the timers. */
	if (sendto(control_fd(node), buf, len, MSG_DONTWAIT, (struct sockaddr *)&ss, (socklen_t)ss_len) < 0) {
		static struct ny_log_ratelimit rl;
		char where[64];

		ny_io_addr_format(dst, where, sizeof(where));
		/* Endpoints we cannot route to are expected: a neighbour lists one per link, and probes and handshakes
		 * try them all (reference §3.3); only the others are worth a warning. */
		if (errno == ENETUNREACH || errno == EHOSTUNREACH || errno == EADDRNOTAVAIL)
			ny_log_debug("dataplane", "send to %s failed: %s", where, strerror(errno));
		else if (ny_log_ratelimit_allow(&rl, 5))
			ny_log_warn("dataplane", "send to %s failed: %s", where, strerror(errno));
	}
}

/* Where data to peer goes, copied under peer_lock; false while it has none. */
static bool peer_endpoint(struct ny_dp_node *node, const struct ny_dp_peer *peer, struct ny_io_addr *out)
{
	bool has;

	pthread_mutex_lock(&node->peer_lock);
	has = peer->has_endpoint;
	if (has)
		*out = peer->endpoint;
	pthread_mutex_unlock(&node->peer_lock);
	return has;
}

/* Encrypts n packets (payload at buf + 16) to peer and sends them. Context: control thread, under wg_lock. */
static int seal_and_send(struct ny_dp_node *node, struct ny_dp_peer *peer, struct ny_wg_packet *pkts, size_t n,
			 uint64_t now)
{
	struct ny_io_addr dst;
	uint32_t actions;
	int ret = ny_wg_transport_encrypt_batch(peer->wg, node->control_aead, pkts, n, now, &actions);

	if (ret < 0)
		return ret;
	if (peer_endpoint(node, peer, &dst))
		for (size_t i = 0; i < n; i++)
			ny_dp_send_to(node, &dst, pkts[i].buf, pkts[i].len);
	atomic_fetch_or(&peer->pending, actions);
	return ret;
}

static void send_initiation(struct ny_dp_node *node, struct ny_dp_peer *peer, uint64_t now)
{
	struct ny_wg_msg_initiation msg;
	struct ny_io_addr dst, alt[NY_DP_ALT_MAX];
	unsigned n_alt;
	bool has;

	pthread_mutex_lock(&node->peer_lock);
	has = peer->has_endpoint;
	dst = peer->endpoint;
	n_alt = peer->n_alt;
	memcpy(alt, peer->alt, n_alt * sizeof(alt[0]));
	pthread_mutex_unlock(&node->peer_lock);
	/* The X25519 of the initiation runs outside peer_lock: shards keep moving data meanwhile. */
	if (!has || ny_wg_handshake_create_initiation(peer->wg, now, &msg) < 0)
		return;
	ny_log_debug("wg", "peer %s: sending handshake initiation", peer->id);
	ny_dp_send_to(node, &dst, &msg, sizeof(msg));
	/* The same initiation to every other known endpoint: whichever path works answers, and a copy that arrives
	 * twice is refused as a replay (its timestamp is not newer), so nothing is lost by trying them all at once
	 * instead of rotating through them one rekey timeout at a time (reference §3.7). */
	for (unsigned i = 0; i < n_alt; i++)
		if (memcmp(&alt[i], &dst, sizeof(alt[i])) != 0)
			ny_dp_send_to(node, &alt[i], &msg, sizeof(msg));
}

/* The staged packets leave the peer's queue under peer_lock and are sealed and sent outside it; if there is no
 * session after all they go back to the front of the queue (as many as still fit). */
static bool flush_staged(struct ny_dp_node *node, struct ny_dp_peer *peer, uint64_t now)
{
	static struct ny_dp_staged_pkt out[NY_DP_STAGED_MAX]; /* control thread only */
	struct ny_wg_packet pkts[NY_DP_STAGED_MAX];
	unsigned n;

	pthread_mutex_lock(&node->peer_lock);
	n = peer->n_staged;
	for (unsigned i = 0; i < n; i++) {
		out[i].len = peer->staged[i].len;
		memcpy(out[i].data + NY_WG_DATA_HEADER_LEN, peer->staged[i].data + NY_WG_DATA_HEADER_LEN, out[i].len);
	}
	peer->n_staged = 0;
	pthread_mutex_unlock(&node->peer_lock);
	if (!n)
		return false;
	for (unsigned i = 0; i < n; i++)
		pkts[i] = (struct ny_wg_packet){ out[i].data, out[i].len, NY_DP_SEG_LEN, 0 };
	if (seal_and_send(node, peer, pkts, n, now) >= 0)
		return true;
	pthread_mutex_lock(&node->peer_lock); /* the slot cannot be retired: that takes wg_lock, which we hold */
	n = n < NY_DP_STAGED_MAX - peer->n_staged ? n : NY_DP_STAGED_MAX - peer->n_staged;
	memmove(peer->staged + n, peer->staged, peer->n_staged * sizeof(peer->staged[0]));
	memcpy(peer->staged, out, n * sizeof(out[0]));
	peer->n_staged += n;
	pthread_mutex_unlock(&node->peer_lock);
	return false;
}

static void act(struct ny_dp_node *node, struct ny_dp_peer *peer, uint32_t actions, uint64_t now)
{
	struct ny_io_addr dst;
	bool sent_data = false;

	if (actions & NY_WG_ACTION_GAVE_UP) {
		unsigned dropped;

		pthread_mutex_lock(&node->peer_lock);
		dropped = peer->n_staged;
		peer->n_staged = 0;
		pthread_mutex_unlock(&node->peer_lock);
		if (dropped)
			ny_log_info("wg", "peer %s: no handshake for 90 s, dropping %u staged packets", peer->id,
				    dropped);
	}
	if (actions & NY_WG_ACTION_SEND_STAGED)
		sent_data = flush_staged(node, peer, now);
	if ((actions & NY_WG_ACTION_SEND_KEEPALIVE) && !sent_data && peer_endpoint(node, peer, &dst)) {
		uint8_t buf[NY_WG_DATA_MIN_LEN];
		struct ny_wg_packet ka = { buf, 0, sizeof(buf), 0 };

		seal_and_send(node, peer, &ka, 1, now);
	}
	if (actions & NY_WG_ACTION_SEND_INITIATION)
		send_initiation(node, peer, now);
}

static void handle_handshake(struct ny_dp_node *node, const struct ny_dp_hs_msg *m, bool under_load, uint64_t now)
{
	struct ny_wg_rx rx;
	struct ny_dp_peer *peer;

	ny_wg_device_receive_handshake(&node->dev, m->msg, m->len, &m->src, sizeof(m->src), under_load, now, &rx);
	if (rx.reply_len && !rx.peer) /* a cookie reply */
		ny_dp_send_to(node, &m->src, rx.reply, rx.reply_len);
	if (!rx.peer)
		return;
	peer = rx.peer->user;
	if (!peer) /* retired by a config change a moment ago */
		return;
	pthread_mutex_lock(&node->peer_lock);
	ny_dp_peer_roam(peer, &m->src);
	peer->last_rx = now;
	pthread_mutex_unlock(&node->peer_lock);
	if (rx.reply_len)
		ny_dp_send_to(node, &m->src, rx.reply, rx.reply_len);
	if (rx.type == NY_WG_MSG_RESPONSE)
		ny_log_info("wg", "peer %s: handshake complete", peer->id);
	act(node, peer, rx.actions, now);
}

static void drain_handshakes(struct ny_dp_node *node, uint64_t now)
{
	static struct ny_dp_hs_msg batch[HS_QUEUE_LEN]; /* control thread only */
	struct ny_dp_hs_queue *q = node->hs_queue;
	unsigned n;
	bool under_load;

	pthread_mutex_lock(&q->lock);
	n = q->count;
	under_load = n > HS_UNDER_LOAD;
	for (unsigned i = 0; i < n; i++)
		batch[i] = q->msgs[(q->head + i) % HS_QUEUE_LEN];
	q->head = (q->head + n) % HS_QUEUE_LEN;
	q->count = 0;
	pthread_mutex_unlock(&q->lock);

	for (unsigned i = 0; i < n; i++)
		handle_handshake(node, &batch[i], under_load, now);
}

/* Fires due timers and pending requests; returns the next deadline. Context: control thread, under wg_lock. */
static uint64_t run_timers(struct ny_dp_node *node, uint64_t now)
{
	uint64_t next = UINT64_MAX;

	for (size_t i = 0; i < node->n_peers; i++) {
		struct ny_dp_peer *peer = &node->peers[i];
		uint32_t actions;
		uint64_t d;

		if (!peer->wg)
			continue;
		actions = ny_wg_timers_tick(peer->wg, now) | atomic_exchange(&peer->pending, 0);
		if (actions & NY_WG_ACTION_CONFIRM) /* a shard saw data on the `next` keypair */
			ny_wg_transport_confirm_next(peer->wg, now, &actions);
		act(node, peer, actions, now);
		d = ny_wg_timers_next_deadline(peer->wg);
		next = d < next ? d : next;
	}
	return next;
}

static void *control_main(void *arg)
{
	struct ny_dp_node *node = arg;
	uint64_t next = 0;

	ny_thread_name("ny-control");
	while (!atomic_load(&node->stop)) {
		struct ny_wg_retired gone;
		bool retired;
		uint64_t now = ny_clock_mono_ns(), v;
		struct pollfd p = { .fd = node->control_wake, .events = POLLIN };
		int timeout = next <= now ? 0 : (int)((next - now) / 1000000 + 1);

		poll(&p, 1, timeout > 250 ? 250 : timeout);
		if (read(node->control_wake, &v, sizeof(v)) < 0 && errno != EAGAIN)
			break;
		now = ny_clock_mono_ns();
		pthread_mutex_lock(&node->wg_lock);
		drain_handshakes(node, now);
		next = run_timers(node, now);
		retired = ny_wg_device_take_retired(&node->dev, &gone);
		pthread_mutex_unlock(&node->wg_lock);
		/* Keypairs rotated out and peers removed: shards may still use them until their next quiescent state. */
		if (retired) {
			ny_rcu_synchronize();
			ny_wg_retired_free(&gone);
		}
	}
	return NULL;
}

/* ---- lifecycle ----------------------------------------------------------------------------------------------- */

static unsigned shard_count(const struct ny_dp_config *cfg)
{
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);

	if (cfg->shards)
		return cfg->shards;
	return cpus > 0 ? (unsigned)cpus : 1;
}

static int open_shard(struct ny_dp_node *node, unsigned i, char *err, size_t err_len)
{
	int tun_fd = -1, udp_fd = -1, ret;

	ret = ny_io_tun_open(node->cfg.ifname, node->cfg.vnet, &tun_fd, &node->features);
	if (ret < 0) {
		snprintf(err, err_len, "cannot open TUN queue %u of %s: %s%s", i, node->cfg.ifname, strerror(-ret),
			 ret == -EPERM ? " (nylon run needs root or CAP_NET_ADMIN)" :
			 ret == -ENOENT ? " (no /dev/net/tun: load the tun module)" : "");
		return ret;
	}
	node->features.udp_probe_port_free = i == 0;
	ret = ny_io_udp_open(node->cfg.port, &udp_fd, &node->features);
	if (ret < 0) {
		snprintf(err, err_len, "cannot listen on UDP port %u: %s%s", node->cfg.port, strerror(-ret),
			 ret == -EADDRINUSE ? " (another nylon or WireGuard on this port?)" : "");
		close(tun_fd);
		return ret;
	}
	node->shards[i] = ny_dp_shard_new(node, i, tun_fd, udp_fd, err, err_len);
	if (!node->shards[i]) {
		close(tun_fd);
		close(udp_fd);
		return -ENOMEM;
	}
	return 0;
}

int ny_dp_node_start(struct ny_dp_node *node, char *err, size_t err_len)
{
	unsigned n = shard_count(&node->cfg);
	int ret;

	node->shards = calloc(n, sizeof(*node->shards));
	node->control_wake = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (!node->shards || node->control_wake < 0) {
		snprintf(err, err_len, "out of memory");
		return -ENOMEM;
	}
	for (unsigned i = 0; i < n; i++) {
		if ((ret = open_shard(node, i, err, err_len)) < 0)
			return ret;
		node->n_shards++;
	}
	for (unsigned i = 0; i < n; i++) {
		if ((ret = ny_dp_shard_start(node->shards[i])) < 0) {
			snprintf(err, err_len, "cannot start shard %u: %s", i, strerror(-ret));
			return ret;
		}
	}
	/* Routers with endpoints get a session at once, so the first packet does not wait for a handshake. */
	for (size_t i = 0; i < node->n_peers; i++)
		if (node->peers[i].has_endpoint)
			atomic_fetch_or(&node->peers[i].pending, NY_WG_ACTION_SEND_INITIATION);
	if ((ret = pthread_create(&node->control, NULL, control_main, node)) != 0) {
		snprintf(err, err_len, "cannot start the control thread: %s", strerror(ret));
		return -ret;
	}
	node->control_started = true;
	return ny_dp_routing_start(node, err, err_len);
}

void ny_dp_node_stop(struct ny_dp_node *node)
{
	atomic_store(&node->stop, true);
	/* The routing thread first: it takes its kernel routes away while the interface and addresses still exist. */
	ny_dp_routing_stop(node);
	if (node->control_wake >= 0)
		ny_dp_control_wake(node);
	for (unsigned i = 0; i < node->n_shards; i++)
		ny_dp_shard_join(node->shards[i]);
	if (node->control_started)
		pthread_join(node->control, NULL);
	node->control_started = false;
}

void ny_dp_node_destroy(struct ny_dp_node *node)
{
	ny_dp_node_stop(node);
	ny_dp_routing_free(node);
	for (unsigned i = 0; i < node->n_shards; i++)
		ny_dp_shard_free(node->shards[i]);
	node->n_shards = 0;
	free(node->shards);
	if (node->control_wake >= 0)
		close(node->control_wake);
	for (size_t i = 0; i < node->n_peers; i++)
		free(node->peers[i].staged); /* the engine frees its own peers */
	free(node->peers);
	ny_dp_fib_publish(&node->fib, NULL);
	free(node->hs_queue);
	ny_aead_ctx_free(node->control_aead);
	ny_wg_device_destroy(&node->dev);
	pthread_mutex_destroy(&node->wg_lock);
	pthread_mutex_destroy(&node->peer_lock);
}

void ny_dp_node_stats(const struct ny_dp_node *node, struct ny_dp_stats *out)
{
	memset(out, 0, sizeof(*out));
	for (unsigned i = 0; i < node->n_shards; i++) {
		const struct ny_dp_stats *s = &node->shards[i]->stats;

		out->rx_udp_pkts += s->rx_udp_pkts;
		out->rx_udp_bytes += s->rx_udp_bytes;
		out->rx_tun_pkts += s->rx_tun_pkts;
		out->rx_tun_bytes += s->rx_tun_bytes;
		out->tx_udp_pkts += s->tx_udp_pkts;
		out->tx_tun_pkts += s->tx_tun_pkts;
		out->fwd_pkts += s->fwd_pkts;
		out->ttl_expired += s->ttl_expired;
		out->control_pkts += s->control_pkts;
		out->batches += s->batches;
		out->batch_pkts += s->batch_pkts;
		for (int d = 0; d < NY_DP_DROP__COUNT; d++)
			out->drops[d] += s->drops[d];
	}
}

void ny_dp_node_io_stats(const struct ny_dp_node *node, struct ny_io_stats *out)
{
	memset(out, 0, sizeof(*out));
	for (unsigned i = 0; i < node->n_shards; i++) {
		const struct ny_io_stats *s = ny_io_stats(node->shards[i]->io);

		out->waits += s->waits;
		out->udp_rx_batches += s->udp_rx_batches;
		out->udp_rx_dgrams += s->udp_rx_dgrams;
		out->tun_rx_batches += s->tun_rx_batches;
		out->tun_rx_pkts += s->tun_rx_pkts;
		out->udp_tx_calls += s->udp_tx_calls;
		out->udp_tx_bytes += s->udp_tx_bytes;
		out->tun_tx_pkts += s->tun_tx_pkts;
		out->udp_tx_errors += s->udp_tx_errors;
		out->tun_tx_errors += s->tun_tx_errors;
		out->udp_rx_errors += s->udp_rx_errors;
	}
}

const char *ny_dp_node_backend(const struct ny_dp_node *node)
{
	return node->n_shards ? ny_io_backend_name(ny_io_backend_of(node->shards[0]->io)) : "none";
}

const char *ny_dp_node_io_detail(const struct ny_dp_node *node)
{
	return node->n_shards ? ny_io_describe(node->shards[0]->io) : "none";
}
