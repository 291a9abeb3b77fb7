/* A router neighbour's endpoints, their liveness and probe schedule, and the table of probes in flight
 * (reference nylon-behaviour.md §3.3, §3.7). See include/nylon/route_endpoint.h. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "nylon/route.h"
#include "nylon/route_endpoint.h"

#define MS 1000000ull

void ny_route_endpoint_params_default(struct ny_route_endpoint_params *p)
{
	*p = (struct ny_route_endpoint_params){
		.probe_delay_ns = 1000 * MS,
		.probe_recovery_delay_ns = 1500 * MS,
		.probe_discovery_delay_ns = 10000 * MS,
		.link_dead_threshold_ns = 5000 * MS,
		.token_ttl_ns = 5000 * MS,
		.token_capacity = 4096,
		.max_remote = 8,
	};
	ny_route_metric_params_default(&p->metric);
}

/* ---- addresses ---- */

static bool family_ok(const struct ny_io_addr *a)
{
	return a->family == AF_INET || a->family == AF_INET6;
}

/* An IPv4 address written as ::ffff:a.b.c.d is the same endpoint as a.b.c.d: compare them in one form. */
static void canonical(const struct ny_io_addr *a, struct ny_io_addr *out)
{
	static const uint8_t v4_mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

	memset(out, 0, sizeof(*out));
	out->family = a->family;
	out->port = a->port;
	if (a->family == AF_INET6 && memcmp(a->ip, v4_mapped, sizeof(v4_mapped)) == 0) {
		out->family = AF_INET;
		memcpy(out->ip, a->ip + 12, 4);
	} else {
		memcpy(out->ip, a->ip, a->family == AF_INET ? 4 : 16);
	}
}

/* ---- endpoints ---- */

struct endpoint {
	uint64_t id;
	char *text;
	bool remote_init;
	bool resolved;
	struct ny_io_addr addr; /* canonical, when resolved */
	bool heard;
	uint64_t last_heard;
	struct ny_route_metric_filter filter;
};

struct ny_route_endpoints {
	struct ny_route_endpoint_params p;
	struct endpoint **v; /* configured [0, n_configured), then remote */
	size_t n, cap, n_configured;
	uint64_t next_id;
	bool started;
	uint64_t next_active, next_inactive, next_discovery; /* the three probe schedules */
	bool link_up;                                         /* as last reported by poll_link */
};

static bool params_valid(const struct ny_route_endpoint_params *p)
{
	struct ny_route_metric_filter probe;

	return p->probe_delay_ns && p->probe_recovery_delay_ns && p->probe_discovery_delay_ns &&
	       p->link_dead_threshold_ns && ny_route_metric_init(&probe, &p->metric) == 0;
}

int ny_route_endpoints_new(struct ny_route_endpoints **out, const struct ny_route_endpoint_params *params)
{
	struct ny_route_endpoints *eps;

	*out = NULL;
	if (params && !params_valid(params))
		return -EINVAL;
	eps = calloc(1, sizeof(*eps));
	if (!eps)
		return -ENOMEM;
	if (params)
		eps->p = *params;
	else
		ny_route_endpoint_params_default(&eps->p);
	eps->next_id = 1;
	*out = eps;
	return 0;
}

static void endpoint_free(struct endpoint *ep)
{
	if (!ep)
		return;
	free(ep->text);
	free(ep);
}

void ny_route_endpoints_free(struct ny_route_endpoints *eps)
{
	if (!eps)
		return;
	for (size_t i = 0; i < eps->n; i++)
		endpoint_free(eps->v[i]);
	free(eps->v);
	free(eps);
}

static struct endpoint *endpoint_new(struct ny_route_endpoints *eps, const char *text, bool remote_init)
{
	struct endpoint *ep = calloc(1, sizeof(*ep));

	if (!ep)
		return NULL;
	ep->text = strdup(text);
	if (!ep->text) {
		free(ep);
		return NULL;
	}
	ep->remote_init = remote_init;
	ep->id = eps->next_id++;
	ny_route_metric_init(&ep->filter, &eps->p.metric); /* valid: checked at new */
	return ep;
}

static int reserve(struct ny_route_endpoints *eps)
{
	struct endpoint **v;
	size_t cap;

	if (eps->n < eps->cap)
		return 0;
	cap = eps->cap ? eps->cap * 2 : 4;
	v = realloc(eps->v, cap * sizeof(*v));
	if (!v)
		return -ENOMEM;
	eps->v = v;
	eps->cap = cap;
	return 0;
}

static void insert_at(struct ny_route_endpoints *eps, size_t at, struct endpoint *ep)
{
	memmove(&eps->v[at + 1], &eps->v[at], (eps->n - at) * sizeof(eps->v[0]));
	eps->v[at] = ep;
	eps->n++;
}

static void remove_at(struct ny_route_endpoints *eps, size_t at)
{
	endpoint_free(eps->v[at]);
	memmove(&eps->v[at], &eps->v[at + 1], (eps->n - at - 1) * sizeof(eps->v[0]));
	eps->n--;
}

int ny_route_endpoints_add_configured(struct ny_route_endpoints *eps, const char *text)
{
	struct endpoint *ep;
	size_t at = eps->n_configured;

	if (!text || !*text)
		return -EINVAL;
	if (reserve(eps))
		return -ENOMEM;
	ep = endpoint_new(eps, text, false);
	if (!ep)
		return -ENOMEM;
	insert_at(eps, at, ep);
	eps->n_configured++;
	return (int)at;
}

int ny_route_endpoints_set_resolved(struct ny_route_endpoints *eps, size_t idx, const struct ny_io_addr *addr)
{
	struct endpoint *ep;

	if (idx >= eps->n_configured || (addr && !family_ok(addr)))
		return -EINVAL;
	ep = eps->v[idx];
	ep->resolved = addr != NULL;
	if (addr)
		canonical(addr, &ep->addr);
	return 0;
}

/* Reference §3.3: active = heard from within LinkDeadThreshold. Exactly the threshold after the last time heard,
 * the endpoint is inactive. */
static bool is_active(const struct ny_route_endpoints *eps, const struct endpoint *ep, uint64_t now)
{
	if (!ep->heard)
		return false;
	return now < ep->last_heard || now - ep->last_heard < eps->p.link_dead_threshold_ns;
}

/* Renew(): heard from now. An endpoint coming back from inactive starts a fresh RTT history, since the path it
 * measured before may be gone. Returns whether it was inactive. */
static bool renew(struct ny_route_endpoints *eps, struct endpoint *ep, uint64_t now)
{
	bool revived = !is_active(eps, ep, now);

	if (revived)
		ny_route_metric_reset(&ep->filter);
	ep->heard = true;
	if (now > ep->last_heard || revived)
		ep->last_heard = now;
	return revived;
}

static uint32_t endpoint_metric(const struct ny_route_endpoints *eps, const struct endpoint *ep, uint64_t now)
{
	return is_active(eps, ep, now) ? ny_route_metric_us(&ep->filter) : NY_ROUTE_INF;
}

static int find_addr(const struct ny_route_endpoints *eps, const struct ny_io_addr *canon)
{
	for (size_t i = 0; i < eps->n; i++) {
		const struct endpoint *ep = eps->v[i];

		if (ep->resolved && memcmp(&ep->addr, canon, sizeof(*canon)) == 0)
			return (int)i;
	}
	return -1;
}

/* The remote endpoint to give up for a new one: the inactive one heard from longest ago, or -1. */
static int remote_victim(const struct ny_route_endpoints *eps, uint64_t now)
{
	int victim = -1;

	for (size_t i = eps->n_configured; i < eps->n; i++) {
		const struct endpoint *ep = eps->v[i];

		if (is_active(eps, ep, now))
			continue;
		if (victim < 0 || ep->last_heard < eps->v[victim]->last_heard)
			victim = (int)i;
	}
	return victim;
}

static int add_remote(struct ny_route_endpoints *eps, const struct ny_io_addr *canon, uint64_t now)
{
	char text[64];
	struct endpoint *ep;

	if (eps->n - eps->n_configured >= eps->p.max_remote) {
		int victim = remote_victim(eps, now);

		if (victim < 0)
			return -ENOSPC;
		remove_at(eps, (size_t)victim);
	}
	if (reserve(eps))
		return -ENOMEM;
	ny_io_addr_format(canon, text, sizeof(text));
	ep = endpoint_new(eps, text, true);
	if (!ep)
		return -ENOMEM;
	ep->resolved = true;
	ep->addr = *canon;
	renew(eps, ep, now);
	insert_at(eps, eps->n, ep);
	return (int)eps->n - 1;
}

int ny_route_endpoints_ping_received(struct ny_route_endpoints *eps, const struct ny_io_addr *src, uint64_t now,
				     bool *became_active)
{
	struct ny_io_addr canon;
	bool revived = false;
	int idx;

	if (!family_ok(src))
		return -EAFNOSUPPORT;
	canonical(src, &canon);
	idx = find_addr(eps, &canon);
	if (idx >= 0) {
		revived = renew(eps, eps->v[idx], now);
	} else {
		idx = add_remote(eps, &canon, now);
		revived = idx >= 0;
	}
	if (became_active)
		*became_active = revived;
	return idx;
}

int ny_route_endpoints_find_id(const struct ny_route_endpoints *eps, uint64_t id)
{
	for (size_t i = 0; i < eps->n; i++)
		if (eps->v[i]->id == id)
			return (int)i;
	return -ENOENT;
}

int ny_route_endpoints_pong_received(struct ny_route_endpoints *eps, uint64_t id, uint64_t rtt_ns, uint64_t now,
				     bool *became_active)
{
	int idx = ny_route_endpoints_find_id(eps, id);
	bool revived = false;

	if (idx >= 0) {
		struct endpoint *ep = eps->v[idx];

		revived = renew(eps, ep, now);
		ny_route_metric_add_sample(&ep->filter, rtt_ns);
	}
	if (became_active)
		*became_active = revived;
	return idx;
}

/* ---- probe schedule ---- */

/* Whether a schedule is due at now; if so, moves it to its next round (one period later, or one period from now if
 * that is already past, so a late caller gets one round, not a burst). */
static bool schedule_fire(uint64_t *deadline, uint64_t period, uint64_t now)
{
	if (now < *deadline)
		return false;
	*deadline += period;
	if (*deadline <= now)
		*deadline = now + period;
	return true;
}

size_t ny_route_endpoints_due(struct ny_route_endpoints *eps, uint64_t now, size_t *idx_out, size_t cap)
{
	bool active_round, inactive_round, discovery_round;
	size_t k = 0;

	if (!eps->started) {
		/* Reference §3.3: every schedule also runs once at start. */
		eps->started = true;
		eps->next_active = eps->next_inactive = eps->next_discovery = now;
	}
	active_round = schedule_fire(&eps->next_active, eps->p.probe_delay_ns, now);
	inactive_round = schedule_fire(&eps->next_inactive, eps->p.probe_recovery_delay_ns, now);
	discovery_round = schedule_fire(&eps->next_discovery, eps->p.probe_discovery_delay_ns, now);
	if (!active_round && !inactive_round && !discovery_round)
		return 0;
	for (size_t i = 0; i < eps->n && k < cap; i++) {
		const struct endpoint *ep = eps->v[i];
		bool active;

		if (!ep->resolved)
			continue;
		active = is_active(eps, ep, now);
		/* Discovery probes configured endpoints whatever their state (the reference also re-adds configured
		 * endpoints missing from the list; ours are never removed). */
		if ((active && active_round) || (!active && inactive_round) || (!ep->remote_init && discovery_round))
			idx_out[k++] = i;
	}
	return k;
}

uint64_t ny_route_endpoints_next_deadline(const struct ny_route_endpoints *eps)
{
	uint64_t d;

	if (!eps->started)
		return 0;
	d = eps->next_active;
	if (eps->next_inactive < d)
		d = eps->next_inactive;
	if (eps->next_discovery < d)
		d = eps->next_discovery;
	return d;
}

/* ---- selection and liveness ---- */

bool ny_route_endpoints_gc(struct ny_route_endpoints *eps, uint64_t now)
{
	bool changed = false;

	for (size_t i = eps->n; i-- > eps->n_configured;) {
		if (!is_active(eps, eps->v[i], now)) {
			remove_at(eps, i);
			changed = true;
		}
	}
	return changed;
}

int ny_route_endpoints_best(const struct ny_route_endpoints *eps, uint64_t now)
{
	uint32_t best_metric = NY_ROUTE_INF;
	int best = -1;

	for (size_t i = 0; i < eps->n; i++) {
		const struct endpoint *ep = eps->v[i];
		uint32_t m;

		if (!is_active(eps, ep, now))
			continue;
		m = ny_route_metric_us(&ep->filter); /* <= INFM: an active endpoint always beats "none" */
		if (best < 0 || m < best_metric) {
			best = (int)i;
			best_metric = m;
		}
	}
	return best;
}

uint32_t ny_route_endpoints_metric(const struct ny_route_endpoints *eps, uint64_t now)
{
	int best = ny_route_endpoints_best(eps, now);

	return best < 0 ? NY_ROUTE_INF : ny_route_metric_us(&eps->v[best]->filter);
}

enum ny_route_link_event ny_route_endpoints_poll_link(struct ny_route_endpoints *eps, uint64_t now)
{
	bool up = ny_route_endpoints_best(eps, now) >= 0;

	if (up == eps->link_up)
		return NY_ROUTE_LINK_UNCHANGED;
	eps->link_up = up;
	return up ? NY_ROUTE_LINK_UP : NY_ROUTE_LINK_DOWN;
}

size_t ny_route_endpoints_sorted(const struct ny_route_endpoints *eps, uint64_t now, size_t *idx_out, size_t cap)
{
	size_t k = 0;

	/* Insertion sort keyed by metric, inserting after equal keys: stable, and lists are a handful long. */
	for (size_t i = 0; i < eps->n; i++) {
		uint32_t m;
		size_t at;

		if (!eps->v[i]->resolved)
			continue;
		m = endpoint_metric(eps, eps->v[i], now);
		at = k;
		while (at > 0 && endpoint_metric(eps, eps->v[idx_out[at - 1]], now) > m)
			at--;
		if (at >= cap)
			continue;
		if (k == cap)
			k--; /* the last one falls off */
		memmove(&idx_out[at + 1], &idx_out[at], (k - at) * sizeof(idx_out[0]));
		idx_out[at] = i;
		k++;
	}
	return k;
}

/* ---- status ---- */

size_t ny_route_endpoints_count(const struct ny_route_endpoints *eps)
{
	return eps->n;
}

size_t ny_route_endpoints_configured_count(const struct ny_route_endpoints *eps)
{
	return eps->n_configured;
}

uint64_t ny_route_endpoints_id(const struct ny_route_endpoints *eps, size_t idx)
{
	return eps->v[idx]->id;
}

const struct ny_io_addr *ny_route_endpoints_addr(const struct ny_route_endpoints *eps, size_t idx)
{
	return eps->v[idx]->resolved ? &eps->v[idx]->addr : NULL;
}

void ny_route_endpoints_status(const struct ny_route_endpoints *eps, size_t idx, uint64_t now,
			       struct ny_route_endpoint_status *out)
{
	const struct endpoint *ep = eps->v[idx];

	*out = (struct ny_route_endpoint_status){
		.text = ep->text,
		.resolved = ep->resolved,
		.addr = ep->addr,
		.remote_init = ep->remote_init,
		.active = is_active(eps, ep, now),
		.heard = ep->heard,
		.last_heard_ns = ep->last_heard,
		.metric = endpoint_metric(eps, ep, now),
		.filtered_ns = ny_route_metric_filtered_ns(&ep->filter),
		.stabilized_ns = ny_route_metric_stabilized_ns(&ep->filter),
		.id = ep->id,
	};
}

/* ---- probe tokens ---- */

struct token_slot {
	uint64_t token;
	uint64_t ep_id;
	uint64_t sent_at;
	uint32_t nb;
	bool used;
};

/* Send order, for expiry and eviction. An entry whose token was taken since stays until it reaches the head. */
struct token_fifo_entry {
	uint64_t token;
	uint64_t sent_at;
};

struct ny_route_probe_tokens {
	uint64_t ttl;
	size_t mask;                    /* slots - 1 */
	size_t live;                    /* used slots */
	struct token_slot *slots;       /* mask + 1 */
	struct token_fifo_entry *fifo;  /* (mask + 1) / 2: the most ever live, so the hash stays half empty */
	size_t fifo_cap, fifo_head, fifo_len;
	struct ny_route_probe_token_stats stats;
};

int ny_route_probe_tokens_new(struct ny_route_probe_tokens **out, const struct ny_route_endpoint_params *params)
{
	struct ny_route_endpoint_params defaults;
	struct ny_route_probe_tokens *t;
	size_t slots = 2;

	*out = NULL;
	if (!params) {
		ny_route_endpoint_params_default(&defaults);
		params = &defaults;
	}
	if (!params->token_ttl_ns || params->token_capacity < 2 || params->token_capacity > (1u << 24))
		return -EINVAL;
	while (slots < params->token_capacity)
		slots *= 2;
	t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	t->ttl = params->token_ttl_ns;
	t->mask = slots - 1;
	t->fifo_cap = slots / 2;
	t->slots = calloc(slots, sizeof(t->slots[0]));
	t->fifo = calloc(t->fifo_cap, sizeof(t->fifo[0]));
	if (!t->slots || !t->fifo) {
		ny_route_probe_tokens_free(t);
		return -ENOMEM;
	}
	*out = t;
	return 0;
}

void ny_route_probe_tokens_free(struct ny_route_probe_tokens *t)
{
	if (!t)
		return;
	free(t->slots);
	free(t->fifo);
	free(t);
}

/* Tokens are the caller's random numbers, but a pong's token is chosen by the neighbour: mix it so that no token
 * value lands anywhere in particular (splitmix64's finaliser). */
static size_t token_home(const struct ny_route_probe_tokens *t, uint64_t token)
{
	token ^= token >> 30;
	token *= 0xBF58476D1CE4E5B9ull;
	token ^= token >> 27;
	token *= 0x94D049BB133111EBull;
	token ^= token >> 31;
	return (size_t)token & t->mask;
}

/* The slot holding token, or -1. Terminates: at most half the slots are used. */
static ptrdiff_t token_find(const struct ny_route_probe_tokens *t, uint64_t token)
{
	for (size_t i = token_home(t, token);; i = (i + 1) & t->mask) {
		if (!t->slots[i].used)
			return -1;
		if (t->slots[i].token == token)
			return (ptrdiff_t)i;
	}
}

/* Linear-probing deletion by backward shift: every later entry of the cluster that may move into the hole does,
 * so lookups never need tombstones and the table never clogs. */
static void token_delete(struct ny_route_probe_tokens *t, size_t hole)
{
	for (size_t j = (hole + 1) & t->mask; t->slots[j].used; j = (j + 1) & t->mask) {
		size_t home = token_home(t, t->slots[j].token);
		/* The entry at j stays if its home lies cyclically in (hole, j]. */
		bool stays = hole <= j ? (hole < home && home <= j) : (hole < home || home <= j);

		if (stays)
			continue;
		t->slots[hole] = t->slots[j];
		hole = j;
	}
	t->slots[hole].used = false;
	t->live--;
}

static bool token_expired(const struct ny_route_probe_tokens *t, uint64_t sent_at, uint64_t now)
{
	return now >= sent_at && now - sent_at >= t->ttl;
}

/* Pops the FIFO's head, deleting its token from the hash if it is still that send's entry. Returns whether a live
 * entry was deleted. */
static bool fifo_pop(struct ny_route_probe_tokens *t)
{
	struct token_fifo_entry e = t->fifo[t->fifo_head];
	ptrdiff_t at = token_find(t, e.token);
	bool live = at >= 0 && t->slots[at].sent_at == e.sent_at;

	if (live)
		token_delete(t, (size_t)at);
	t->fifo_head = (t->fifo_head + 1) % t->fifo_cap;
	t->fifo_len--;
	return live;
}

/* Forgets, from the oldest on, every token that expired or was already taken. */
static void tokens_expire(struct ny_route_probe_tokens *t, uint64_t now)
{
	while (t->fifo_len) {
		struct token_fifo_entry e = t->fifo[t->fifo_head];
		ptrdiff_t at = token_find(t, e.token);
		bool live = at >= 0 && t->slots[at].sent_at == e.sent_at;

		if (live && !token_expired(t, e.sent_at, now))
			break;
		fifo_pop(t);
	}
}

int ny_route_probe_tokens_add(struct ny_route_probe_tokens *t, uint64_t token, uint32_t nb, uint64_t ep_id,
			      uint64_t now)
{
	size_t i;

	tokens_expire(t, now);
	if (token_find(t, token) >= 0)
		return -EEXIST;
	if (t->fifo_len == t->fifo_cap && fifo_pop(t))
		t->stats.evicted++;
	for (i = token_home(t, token); t->slots[i].used; i = (i + 1) & t->mask)
		;
	t->slots[i] = (struct token_slot){ .token = token, .ep_id = ep_id, .sent_at = now, .nb = nb, .used = true };
	t->live++;
	t->fifo[(t->fifo_head + t->fifo_len) % t->fifo_cap] = (struct token_fifo_entry){ token, now };
	t->fifo_len++;
	t->stats.added++;
	return 0;
}

int ny_route_probe_tokens_take(struct ny_route_probe_tokens *t, uint64_t token, uint32_t nb, uint64_t now,
			       uint64_t *ep_id, uint64_t *sent_at)
{
	ptrdiff_t at = token_find(t, token);
	struct token_slot s;

	if (at < 0) {
		t->stats.unknown++;
		return -ENOENT;
	}
	s = t->slots[at];
	if (token_expired(t, s.sent_at, now)) {
		token_delete(t, (size_t)at);
		t->stats.expired++;
		return -ENOENT;
	}
	if (s.nb != nb) {
		/* Reference §3.3: a pong from the wrong peer is ignored; the right one may still answer. */
		t->stats.wrong_neighbour++;
		return -EPERM;
	}
	token_delete(t, (size_t)at);
	t->stats.matched++;
	if (ep_id)
		*ep_id = s.ep_id;
	if (sent_at)
		*sent_at = s.sent_at;
	return 0;
}

size_t ny_route_probe_tokens_count(const struct ny_route_probe_tokens *t)
{
	return t->live;
}

const struct ny_route_probe_token_stats *ny_route_probe_tokens_stats(const struct ny_route_probe_tokens *t)
{
	return &t->stats;
}
