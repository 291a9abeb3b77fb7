/* The endpoint name cache (include/nylon/dns.h; reference §3.7): one entry per address string, looked up again
 * when it is old, expired by a dead endpoint, or never resolved. A handful of entries per node: plain arrays and
 * linear searches. Context: the thread that owns the resolver.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nylon/base.h"
#include "nylon/conf.h"
#include "nylon/dns.h"

#define FAIL_LOG_EVERY 20 /* a name that keeps failing is logged at its first failure, then every 20th (5 min) */

struct entry {
	char *text; /* the endpoint as written: the key */
	char *host;
	uint16_t port;
	bool has_addr;
	struct ny_io_addr addr;
	uint64_t resolved_at; /* when has_addr was last confirmed */
	bool expired;         /* look it up at the next check, whatever its age */
	uint64_t lookup;      /* the lookup in flight, 0 for none */
	uint64_t started_at;  /* when it started: what an answer confirms */
	unsigned failures;    /* consecutive */
	bool marked;
	bool seen_active, seen_inactive; /* this liveness round */
};

struct ny_dns_cache {
	struct ny_dns *dns;
	struct ny_dns_cache_params p;
	ny_dns_cache_change_fn on_change;
	void *arg;
	struct entry *e;
	size_t n, cap;
	bool checked;         /* the first tick happened */
	uint64_t next_check;
};

int ny_dns_cache_new(struct ny_dns_cache **out, struct ny_dns *dns, const struct ny_dns_cache_params *params,
		     ny_dns_cache_change_fn on_change, void *arg)
{
	struct ny_dns_cache *c;

	*out = NULL;
	if (params && (!params->expiry_ns || !params->refresh_ns))
		return -EINVAL;
	if (!(c = calloc(1, sizeof(*c))))
		return -ENOMEM;
	c->dns = dns;
	c->p = params ? *params : (struct ny_dns_cache_params){ NY_DNS_EXPIRY_NS, NY_DNS_REFRESH_NS };
	c->on_change = on_change;
	c->arg = arg;
	*out = c;
	return 0;
}

static void entry_clear(struct entry *e)
{
	free(e->text);
	free(e->host);
}

void ny_dns_cache_free(struct ny_dns_cache *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->n; i++)
		entry_clear(&c->e[i]);
	free(c->e);
	free(c);
}

static struct entry *find(const struct ny_dns_cache *c, const char *text)
{
	for (size_t i = 0; i < c->n; i++)
		if (strcmp(c->e[i].text, text) == 0)
			return &c->e[i];
	return NULL;
}

static struct entry *find_lookup(const struct ny_dns_cache *c, uint64_t id)
{
	for (size_t i = 0; i < c->n; i++)
		if (c->e[i].lookup == id)
			return &c->e[i];
	return NULL;
}

static void on_done(void *arg, uint64_t id, int status, const struct ny_io_addr *addr)
{
	struct ny_dns_cache *c = arg;
	struct entry *e = find_lookup(c, id);
	char text[64];

	if (!e)
		return; /* pruned while in flight */
	e->lookup = 0;
	if (status < 0) {
		/* The last good address stays (§3.7); resolved_at does not move, so the next check tries again. */
		if (e->failures++ % FAIL_LOG_EVERY == 0)
			ny_log_warn("dns", "endpoint %s does not resolve: %s%s (%u time%s in a row)", e->text,
				    ny_dns_strerror(status), e->has_addr ? "; keeping its last address" : "",
				    e->failures, e->failures == 1 ? "" : "s");
		return;
	}
	e->failures = 0;
	e->expired = false;
	e->resolved_at = e->started_at;
	if (e->has_addr && memcmp(&e->addr, addr, sizeof(*addr)) == 0)
		return;
	ny_io_addr_format(addr, text, sizeof(text));
	ny_log_info("dns", "endpoint %s now resolves to %s", e->text, text);
	e->addr = *addr;
	e->has_addr = true;
	if (c->on_change)
		c->on_change(c->arg, e->text, &e->addr);
}

/* Starts a lookup for e. Its id is known before the call, since the answer may come from inside it (a hosts
 * file); e itself is not used after the call. */
static void start(struct ny_dns_cache *c, struct entry *e, uint64_t now)
{
	e->lookup = ny_dns_next_id(c->dns);
	e->started_at = now;
	if (ny_dns_resolve(c->dns, e->host, e->port, true, now, on_done, c) < 0)
		e->lookup = 0; /* out of memory: the next check tries again */
}

int ny_dns_cache_want(struct ny_dns_cache *c, const struct ny_conf_endpoint *ep, uint64_t now)
{
	struct entry *e;

	if (ep->is_ip)
		return 0;
	if ((e = find(c, ep->text))) {
		e->marked = true;
		return 0;
	}
	if (c->n == c->cap) {
		size_t cap = c->cap ? 2 * c->cap : 8;
		struct entry *grown = realloc(c->e, cap * sizeof(*grown));

		if (!grown)
			return -ENOMEM;
		c->e = grown;
		c->cap = cap;
	}
	e = &c->e[c->n];
	memset(e, 0, sizeof(*e));
	if (!(e->text = strdup(ep->text)) || !(e->host = strdup(ep->host))) {
		entry_clear(e);
		return -ENOMEM;
	}
	e->port = ep->port;
	e->marked = true;
	c->n++;
	start(c, e, now);
	return 0;
}

void ny_dns_cache_unmark(struct ny_dns_cache *c)
{
	for (size_t i = 0; i < c->n; i++)
		c->e[i].marked = false;
}

size_t ny_dns_cache_prune(struct ny_dns_cache *c)
{
	size_t kept = 0, dropped = 0;

	for (size_t i = 0; i < c->n; i++) {
		if (!c->e[i].marked) {
			entry_clear(&c->e[i]);
			dropped++;
			continue;
		}
		c->e[kept++] = c->e[i];
	}
	c->n = kept;
	return dropped;
}

int ny_dns_cache_get(const struct ny_dns_cache *c, const char *text, struct ny_io_addr *out)
{
	const struct entry *e = find(c, text);

	if (!e || !e->has_addr)
		return -ENOENT;
	*out = e->addr;
	return 0;
}

void ny_dns_cache_note(struct ny_dns_cache *c, const char *text, bool active)
{
	struct entry *e = find(c, text);

	if (!e)
		return;
	if (active)
		e->seen_active = true;
	else
		e->seen_inactive = true;
}

void ny_dns_cache_note_end(struct ny_dns_cache *c)
{
	for (size_t i = 0; i < c->n; i++) {
		struct entry *e = &c->e[i];

		if (e->seen_inactive && !e->seen_active)
			e->expired = true;
		e->seen_active = e->seen_inactive = false;
	}
}

static bool due(const struct ny_dns_cache *c, const struct entry *e, uint64_t now)
{
	return !e->has_addr || e->expired || now - e->resolved_at >= c->p.expiry_ns;
}

uint64_t ny_dns_cache_tick(struct ny_dns_cache *c, uint64_t now)
{
	if (c->checked && now < c->next_check)
		return c->next_check;
	c->checked = true;
	c->next_check = now + c->p.refresh_ns;
	/* By index: a lookup answered at once may change entries through on_change, never their number. */
	for (size_t i = 0; i < c->n; i++)
		if (!c->e[i].lookup && due(c, &c->e[i], now))
			start(c, &c->e[i], now);
	return c->next_check;
}

size_t ny_dns_cache_count(const struct ny_dns_cache *c)
{
	return c->n;
}

bool ny_dns_cache_expired(const struct ny_dns_cache *c, const char *text, uint64_t now)
{
	const struct entry *e = find(c, text);

	return e && due(c, e, now);
}

bool ny_dns_cache_in_flight(const struct ny_dns_cache *c, const char *text)
{
	const struct entry *e = find(c, text);

	return e && e->lookup != 0;
}
