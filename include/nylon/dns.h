/* Endpoint names (reference nylon-behaviour.md §3.7, §2.1 `dns_resolvers`): an asynchronous resolver over c-ares,
 * the per-address-string cache that keeps router endpoints' names resolved, and a bounded blocking lookup for the
 * threads that may block (HTTP health checks, bundle fetches).
 *
 * Resolution of a name: first SRV `_nylon._udp.<host>` (the first record's target and port, then the target's
 * address), else A/AAAA (the first address) with the endpoint's own or the default port. One deadline (5 s by
 * default) bounds the whole of it, however many servers or tries c-ares goes through, so a slow or silent DNS
 * server delays only that one name.
 *
 * Context: a struct ny_dns and the caches built on it belong to one thread (the routing thread for endpoints):
 * every call on them, and every callback they make, happens on that thread. No locks inside. The process-wide
 * servers (ny_dns_set_default_servers) are the exception: written once at startup, read under a lock by any thread.
 */
#ifndef NYLON_DNS_H
#define NYLON_DNS_H

#include <poll.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "nylon/io.h"

struct ny_conf_endpoint;
struct ny_conf_resolver;

#define NY_DNS_LOOKUP_TIMEOUT_MS 5000             /* per name, SRV and address lookups together (§3.7) */
#define NY_DNS_EXPIRY_NS (60ull * 1000000000ull)  /* EndpointResolveExpiry: a name is looked up again after 1 min */
#define NY_DNS_REFRESH_NS (15ull * 1000000000ull) /* EndpointResolveDelay: the cache checks its names every 15 s */
#define NY_DNS_MAX_FDS 16                         /* sockets one resolver may want polled (ARES_GETSOCK_MAXNUM) */

/* ---- the resolver ---- */

struct ny_dns;

struct ny_dns_options {
	const struct ny_conf_resolver *servers; /* `dns_resolvers`, tried in order; none: the system's resolv.conf */
	size_t n_servers;
	uint32_t timeout_ms; /* 0: NY_DNS_LOOKUP_TIMEOUT_MS */
};

/* 0, -ENOMEM, -EINVAL (a server that is neither IPv4 nor IPv6), -EIO (c-ares cannot start). */
int ny_dns_new(struct ny_dns **out, const struct ny_dns_options *opt);
/* Every lookup in flight is dropped without its callback. Not from inside a callback. */
void ny_dns_free(struct ny_dns *dns);

/* A lookup's end: 0 with addr set, or -ENOENT (the name has no such record), -ETIMEDOUT (no answer before the
 * deadline), -ECONNREFUSED, -EIO (any other failure). Called exactly once per lookup, from ny_dns_resolve itself
 * when the answer is local (a hosts file) or from ny_dns_process. */
typedef void (*ny_dns_done_fn)(void *arg, uint64_t id, int status, const struct ny_io_addr *addr);

/* Starts resolving host (a name, not an IP literal): SRV first when srv is set, then A/AAAA with port. now is the
 * caller's monotonic clock in ns (the deadline is now + timeout). Returns the lookup's id (> 0, never reused by
 * this resolver), or -ENOMEM. done may run before this returns. */
int64_t ny_dns_resolve(struct ny_dns *dns, const char *host, uint16_t port, bool srv, uint64_t now,
		       ny_dns_done_fn done, void *arg);

/* The id the next ny_dns_resolve will return (a callback from inside it already carries it). */
uint64_t ny_dns_next_id(const struct ny_dns *dns);

/* The sockets to poll for the lookups in flight: fills out (at most cap, NY_DNS_MAX_FDS is enough) and returns how
 * many. */
size_t ny_dns_pollfds(struct ny_dns *dns, struct pollfd *out, size_t cap);
/* Reads the answers of the sockets poll marked (fds as filled by ny_dns_pollfds, revents set; n may be 0), then
 * retries or fails what timed out, c-ares' own timers and the lookups' deadlines. Callbacks run from here. */
void ny_dns_process(struct ny_dns *dns, const struct pollfd *fds, size_t n, uint64_t now);
/* Milliseconds until ny_dns_process has timers to run, -1 with no lookup in flight. */
int ny_dns_timeout_ms(struct ny_dns *dns, uint64_t now);
/* Lookups in flight (their callbacks not called yet). */
size_t ny_dns_pending(const struct ny_dns *dns);

/* A done callback's status in words, for logs. */
const char *ny_dns_strerror(int status);

/* ---- blocking lookups (threads that may wait) ---- */

/* The process-wide `dns_resolvers`, for lookups that have no resolver of their own (health checks, bundle
 * fetches): copied; n 0 goes back to the system resolver. 0 or -ENOMEM. Any thread. */
int ny_dns_set_default_servers(const struct ny_conf_resolver *servers, size_t n);
/* Whether default servers are set: only then do callers resolve names themselves instead of leaving it to the
 * library they use. Any thread. */
bool ny_dns_have_default_servers(void);

/* Resolves host to one address with port, as ny_dns_resolve (srv: SRV first) does, waiting at most the
 * options' timeout (opt NULL: the default servers and timeout). Same results as the done callback. Any thread. */
int ny_dns_lookup(const struct ny_dns_options *opt, const char *host, uint16_t port, bool srv, struct ny_io_addr *out);

/* For libcurl's CURLOPT_RESOLVE, when default servers are set: url's host looked up with them, as
 * "host:port:address" in out (Debian's libcurl has no CURLOPT_DNS_SERVERS). 0; 1 when there is nothing to do (no
 * default servers, no host name in the URL, or the host is an IP literal): libcurl resolves as usual; a lookup's
 * error, which should fail the transfer (the configured servers do not know the name), or -ENAMETOOLONG when out is
 * too small. Any thread; blocks up to timeout_ms (0: NY_DNS_LOOKUP_TIMEOUT_MS). */
int ny_dns_curl_resolve_entry(const char *url, uint32_t timeout_ms, char *out, size_t out_len);

/* ---- the endpoint name cache ---- */

/* One entry per endpoint address string (as written in central.yaml, e.g. "node-b.example:4000"); names shared
 * by several endpoints are looked up once. An entry keeps its last good address while a refresh fails, and is
 * looked up again when it is older than the expiry, when it was expired (its endpoint went inactive) or when it
 * never resolved; the cache checks for such entries every refresh period. IP literals have no entry: they are
 * never looked up. */
struct ny_dns_cache;

struct ny_dns_cache_params {
	uint64_t expiry_ns;  /* NY_DNS_EXPIRY_NS */
	uint64_t refresh_ns; /* NY_DNS_REFRESH_NS */
};

/* An entry's address changed (or it resolved for the first time): every endpoint written as text now goes to
 * addr. Not called when a lookup fails: the last good address stays. */
typedef void (*ny_dns_cache_change_fn)(void *arg, const char *text, const struct ny_io_addr *addr);

/* dns is borrowed and must outlive the cache. params NULL: the defaults. 0, -ENOMEM, -EINVAL (a zero period). */
int ny_dns_cache_new(struct ny_dns_cache **out, struct ny_dns *dns, const struct ny_dns_cache_params *params,
		     ny_dns_cache_change_fn on_change, void *arg);
void ny_dns_cache_free(struct ny_dns_cache *c);

/* The endpoint is configured: creates its entry (and starts its first lookup) unless it is an IP literal or
 * already there, and marks the entry as in use (ny_dns_cache_prune). 0 or -ENOMEM. on_change may run from here. */
int ny_dns_cache_want(struct ny_dns_cache *c, const struct ny_conf_endpoint *ep, uint64_t now);
/* Mark and sweep after a configuration change: unmark every entry, ny_dns_cache_want every configured endpoint,
 * then prune drops the unmarked entries (a lookup in flight for one is forgotten). Returns how many it dropped. */
void ny_dns_cache_unmark(struct ny_dns_cache *c);
size_t ny_dns_cache_prune(struct ny_dns_cache *c);

/* The last good address of text: 0, or -ENOENT (no entry, or it never resolved). */
int ny_dns_cache_get(const struct ny_dns_cache *c, const char *text, struct ny_io_addr *out);

/* Liveness, once per sync round (reference §3.5 GC): note every configured endpoint's state, then end the round.
 * An entry whose endpoints were all inactive is expired, so its name is looked up again at the next check (a
 * dynamic DNS name that moved); one active endpoint with the same text keeps it. */
void ny_dns_cache_note(struct ny_dns_cache *c, const char *text, bool active);
void ny_dns_cache_note_end(struct ny_dns_cache *c);

/* Starts the lookups that are due when the refresh period has passed since the last check (the first call
 * checks). Returns when it next wants to be called. */
uint64_t ny_dns_cache_tick(struct ny_dns_cache *c, uint64_t now);

/* For tests and status: entries, and whether text's entry is expired / has a lookup in flight. */
size_t ny_dns_cache_count(const struct ny_dns_cache *c);
bool ny_dns_cache_expired(const struct ny_dns_cache *c, const char *text, uint64_t now);
bool ny_dns_cache_in_flight(const struct ny_dns_cache *c, const char *text);

#endif
