/* The asynchronous resolver over c-ares (include/nylon/dns.h). ares.h stays in this file.
 *
 * A lookup owns the c-ares queries made for it (an SRV query, then one getaddrinfo) and counts those in flight:
 * the user's callback runs once (an answer, a failure or the deadline), and the lookup is freed when its last
 * query has come back as well, since c-ares calls every query's callback exactly once (ARES_EDESTRUCTION at the
 * latest). Context: the resolver's thread, see the header.
 */
#include "nylon/dns.h"

#include <ares.h>
#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nylon/base.h"
#include "nylon/conf.h"

struct lookup {
	struct ny_dns *dns;
	uint64_t id;
	char *host;
	uint16_t port;
	uint64_t deadline;
	ny_dns_done_fn done;
	void *arg;
	bool finished; /* done was called */
	int queries;   /* c-ares queries in flight for it */
	struct lookup *next;
};

struct ny_dns {
	ares_channel channel;
	uint32_t timeout_ms;
	uint64_t next_id;
	bool closing;
	struct lookup *lookups;
};

static pthread_once_t library_once = PTHREAD_ONCE_INIT;
static int library_status;

/* ares_library_init is not thread-safe: once per process. */
static void library_init(void)
{
	library_status = ares_library_init(ARES_LIB_INIT_ALL);
}

static int status_errno(int status)
{
	switch (status) {
	case ARES_SUCCESS: return 0;
	case ARES_ENODATA:
	case ARES_ENOTFOUND:
	case ARES_ENONAME: return -ENOENT;
	case ARES_ETIMEOUT: return -ETIMEDOUT;
	case ARES_ECONNREFUSED: return -ECONNREFUSED;
	case ARES_ENOMEM: return -ENOMEM;
	default: return -EIO;
	}
}

const char *ny_dns_strerror(int status)
{
	switch (status) {
	case 0: return "ok";
	case -ENOENT: return "no such name or record";
	case -ETIMEDOUT: return "no answer in time";
	case -ECONNREFUSED: return "connection refused by the DNS server";
	case -ENOMEM: return "out of memory";
	default: return "DNS failure";
	}
}

static int set_servers(ares_channel ch, const struct ny_conf_resolver *servers, size_t n)
{
	struct ares_addr_port_node *nodes = calloc(n, sizeof(*nodes));
	int ret = 0;

	if (!nodes)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		struct ares_addr_port_node *s = &nodes[i];

		s->next = i + 1 < n ? &nodes[i + 1] : NULL;
		s->family = servers[i].addr.family;
		s->udp_port = servers[i].port;
		s->tcp_port = servers[i].port;
		if (s->family == AF_INET)
			memcpy(&s->addr.addr4, servers[i].addr.bytes, 4);
		else if (s->family == AF_INET6)
			memcpy(&s->addr.addr6, servers[i].addr.bytes, 16);
		else
			ret = -EINVAL;
	}
	if (ret == 0 && ares_set_servers_ports(ch, nodes) != ARES_SUCCESS)
		ret = -EIO;
	free(nodes);
	return ret;
}

int ny_dns_new(struct ny_dns **out, const struct ny_dns_options *opt)
{
	struct ares_options o = { 0 };
	struct ny_dns *dns;
	uint32_t timeout = opt && opt->timeout_ms ? opt->timeout_ms : NY_DNS_LOOKUP_TIMEOUT_MS;
	int ret;

	*out = NULL;
	pthread_once(&library_once, library_init);
	if (library_status != ARES_SUCCESS)
		return -EIO;
	if (!(dns = calloc(1, sizeof(*dns))))
		return -ENOMEM;
	dns->timeout_ms = timeout;
	dns->next_id = 1;
	/* Two tries per server, the second with twice the wait (c-ares backs off): 1/3 of the deadline each lets one
	 * server retry once within it. The deadline itself is ours (lookups' deadline), whatever c-ares does. */
	o.timeout = (int)(timeout / 3 ? timeout / 3 : 1);
	o.tries = 2;
	if (ares_init_options(&dns->channel, &o, ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES) != ARES_SUCCESS) {
		free(dns);
		return -EIO;
	}
	if (opt && opt->n_servers && (ret = set_servers(dns->channel, opt->servers, opt->n_servers)) < 0) {
		ares_destroy(dns->channel);
		free(dns);
		return ret;
	}
	*out = dns;
	return 0;
}

static void lookup_unlink_free(struct lookup *l)
{
	struct lookup **p;

	for (p = &l->dns->lookups; *p && *p != l; p = &(*p)->next)
		;
	if (*p)
		*p = l->next;
	free(l->host);
	free(l);
}

/* The user's callback, once; the lookup goes when no query refers to it any more. */
static void finish(struct lookup *l, int status, const struct ny_io_addr *addr)
{
	if (!l->finished && !l->dns->closing) {
		l->finished = true;
		l->done(l->arg, l->id, status, status == 0 ? addr : NULL);
	}
	l->finished = true;
	if (l->queries == 0)
		lookup_unlink_free(l);
}

static void on_addrinfo(void *arg, int status, int timeouts, struct ares_addrinfo *res)
{
	struct lookup *l = arg;
	struct ny_io_addr addr;
	int ret = status_errno(status);

	(void)timeouts;
	l->queries--;
	if (ret == 0 && (!res || !res->nodes || !res->nodes->ai_addr))
		ret = -ENOENT;
	if (ret == 0) {
		ny_io_addr_from_sockaddr(&addr, res->nodes->ai_addr);
		addr.port = l->port;
	}
	if (res)
		ares_freeaddrinfo(res);
	finish(l, ret, &addr);
}

static void resolve_address(struct lookup *l, const char *host)
{
	struct ares_addrinfo_hints hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_DGRAM };

	l->queries++;
	ares_getaddrinfo(l->dns->channel, host, NULL, &hints, on_addrinfo, l);
}

/* SRV `_nylon._udp.<host>` (reference §3.7): the first record's target and port; anything else falls back to the
 * host's own address and port. */
static void on_srv(void *arg, int status, int timeouts, unsigned char *abuf, int alen)
{
	struct lookup *l = arg;
	struct ares_srv_reply *srv = NULL;

	(void)timeouts;
	l->queries--;
	if (l->finished || l->dns->closing) {
		finish(l, -ECANCELED, NULL);
		return;
	}
	if (status == ARES_SUCCESS && ares_parse_srv_reply(abuf, alen, &srv) == ARES_SUCCESS && srv && srv->host &&
	    srv->host[0] && strcmp(srv->host, ".") != 0) {
		l->port = srv->port;
		resolve_address(l, srv->host);
	} else {
		resolve_address(l, l->host);
	}
	if (srv)
		ares_free_data(srv);
}

int64_t ny_dns_resolve(struct ny_dns *dns, const char *host, uint16_t port, bool srv, uint64_t now,
		       ny_dns_done_fn done, void *arg)
{
	struct lookup *l = calloc(1, sizeof(*l));
	char *name = NULL;
	uint64_t id;

	if (!l || !(l->host = strdup(host)) || (srv && asprintf(&name, "_nylon._udp.%s", host) < 0)) {
		if (l)
			free(l->host);
		free(l);
		return -ENOMEM;
	}
	id = dns->next_id++;
	*l = (struct lookup){ dns, id, l->host, port, now + (uint64_t)dns->timeout_ms * 1000000ull, done, arg,
			      false, 0, dns->lookups };
	dns->lookups = l;
	/* Both may call back at once, and free l: id was kept for the return. */
	if (srv) {
		l->queries++;
		ares_query(dns->channel, name, ns_c_in, ns_t_srv, on_srv, l);
		free(name);
	} else {
		resolve_address(l, host);
	}
	return (int64_t)id;
}

uint64_t ny_dns_next_id(const struct ny_dns *dns)
{
	return dns->next_id;
}

size_t ny_dns_pollfds(struct ny_dns *dns, struct pollfd *out, size_t cap)
{
	ares_socket_t socks[ARES_GETSOCK_MAXNUM];
	int bits = ares_getsock(dns->channel, socks, ARES_GETSOCK_MAXNUM);
	size_t n = 0;

	for (int i = 0; i < ARES_GETSOCK_MAXNUM && n < cap; i++) {
		short ev = 0;

		if (ARES_GETSOCK_READABLE(bits, i))
			ev |= POLLIN;
		if (ARES_GETSOCK_WRITABLE(bits, i))
			ev |= POLLOUT;
		if (!ev)
			break;
		out[n++] = (struct pollfd){ .fd = socks[i], .events = ev };
	}
	return n;
}

void ny_dns_process(struct ny_dns *dns, const struct pollfd *fds, size_t n, uint64_t now)
{
	struct lookup *l, *next;

	if (!dns->lookups)
		return; /* no query in c-ares either: every query belongs to a lookup */
	for (size_t i = 0; i < n; i++) {
		bool rd = fds[i].revents & (POLLIN | POLLERR | POLLHUP), wr = fds[i].revents & POLLOUT;

		if (rd || wr)
			ares_process_fd(dns->channel, rd ? fds[i].fd : ARES_SOCKET_BAD, wr ? fds[i].fd : ARES_SOCKET_BAD);
	}
	ares_process_fd(dns->channel, ARES_SOCKET_BAD, ARES_SOCKET_BAD); /* c-ares' own timeouts */
	/* Deadlines: the lookup is over for its caller; c-ares' queries finish on their own later. */
	for (l = dns->lookups; l; l = next) {
		next = l->next;
		if (!l->finished && now >= l->deadline) {
			/* finish() may free l but never another lookup: next stays valid. */
			finish(l, -ETIMEDOUT, NULL);
		}
	}
}

int ny_dns_timeout_ms(struct ny_dns *dns, uint64_t now)
{
	struct timeval max = { 3600, 0 }, tv, *t;
	uint64_t first = UINT64_MAX;
	int64_t ms;
	bool any = false;

	for (const struct lookup *l = dns->lookups; l; l = l->next) {
		any = true;
		if (!l->finished && l->deadline < first)
			first = l->deadline;
	}
	if (!any)
		return -1;
	t = ares_timeout(dns->channel, &max, &tv);
	ms = (int64_t)t->tv_sec * 1000 + t->tv_usec / 1000 + 1;
	if (first != UINT64_MAX) {
		int64_t d = first <= now ? 0 : (int64_t)((first - now) / 1000000 + 1);

		if (d < ms)
			ms = d;
	}
	return ms > 3600000 ? 3600000 : (int)ms;
}

size_t ny_dns_pending(const struct ny_dns *dns)
{
	size_t n = 0;

	for (const struct lookup *l = dns->lookups; l; l = l->next)
		n += !l->finished;
	return n;
}

void ny_dns_free(struct ny_dns *dns)
{
	if (!dns)
		return;
	dns->closing = true;
	ares_destroy(dns->channel); /* every query's callback, with ARES_EDESTRUCTION: no user callback */
	while (dns->lookups) {
		struct lookup *l = dns->lookups;

		dns->lookups = l->next;
		free(l->host);
		free(l);
	}
	free(dns);
}

/* ---- blocking lookups ---------------------------------------------------------------------------------------- */

static pthread_mutex_t default_lock = PTHREAD_MUTEX_INITIALIZER;
static struct ny_conf_resolver *default_servers; /* under default_lock */
static size_t n_default_servers;

int ny_dns_set_default_servers(const struct ny_conf_resolver *servers, size_t n)
{
	struct ny_conf_resolver *copy = NULL;

	if (n && !(copy = calloc(n, sizeof(*copy))))
		return -ENOMEM;
	if (n)
		memcpy(copy, servers, n * sizeof(*copy));
	pthread_mutex_lock(&default_lock);
	free(default_servers);
	default_servers = copy;
	n_default_servers = n;
	pthread_mutex_unlock(&default_lock);
	return 0;
}

bool ny_dns_have_default_servers(void)
{
	bool have;

	pthread_mutex_lock(&default_lock);
	have = n_default_servers > 0;
	pthread_mutex_unlock(&default_lock);
	return have;
}

/* A resolver with the default servers (copied while locked: ny_dns_new copies them into c-ares). */
static int new_default(struct ny_dns **out, uint32_t timeout_ms)
{
	struct ny_dns_options o = { 0 };
	int ret;

	pthread_mutex_lock(&default_lock);
	o.servers = default_servers;
	o.n_servers = n_default_servers;
	o.timeout_ms = timeout_ms;
	ret = ny_dns_new(out, &o);
	pthread_mutex_unlock(&default_lock);
	return ret;
}

struct wait_result {
	bool done;
	int status;
	struct ny_io_addr addr;
};

static void on_done(void *arg, uint64_t id, int status, const struct ny_io_addr *addr)
{
	struct wait_result *r = arg;

	(void)id;
	r->done = true;
	r->status = status;
	if (addr)
		r->addr = *addr;
}

static int lookup_on(struct ny_dns *dns, const char *host, uint16_t port, bool srv, struct ny_io_addr *out)
{
	struct wait_result r = { false, -EIO, { 0 } };
	int64_t id;

	if ((id = ny_dns_resolve(dns, host, port, srv, ny_clock_mono_ns(), on_done, &r)) < 0) {
		ny_dns_free(dns);
		return (int)id;
	}
	while (!r.done) {
		struct pollfd fds[NY_DNS_MAX_FDS];
		size_t n = ny_dns_pollfds(dns, fds, NY_DNS_MAX_FDS);
		int timeout = ny_dns_timeout_ms(dns, ny_clock_mono_ns());

		if (poll(fds, n, timeout < 0 ? 100 : timeout) < 0 && errno != EINTR)
			break;
		ny_dns_process(dns, fds, n, ny_clock_mono_ns());
	}
	ny_dns_free(dns);
	if (r.done && r.status == 0)
		*out = r.addr;
	return r.done ? r.status : -EIO;
}

int ny_dns_lookup(const struct ny_dns_options *opt, const char *host, uint16_t port, bool srv, struct ny_io_addr *out)
{
	struct ny_dns *dns;
	int ret = opt ? ny_dns_new(&dns, opt) : new_default(&dns, 0);

	return ret < 0 ? ret : lookup_on(dns, host, port, srv, out);
}

static int lookup_default(const char *host, uint16_t port, uint32_t timeout_ms, struct ny_io_addr *out)
{
	struct ny_dns *dns;
	int ret = new_default(&dns, timeout_ms);

	return ret < 0 ? ret : lookup_on(dns, host, port, false, out);
}

/* scheme://[userinfo@]host[:port][/...]: the host (brackets removed) and the port (the scheme's default). */
static int url_host(const char *url, char *host, size_t host_len, uint16_t *port)
{
	const char *p = strstr(url, "://"), *end, *at, *colon;
	size_t len;

	if (!p)
		return -ENOENT;
	*port = strncmp(url, "https", 5) == 0 ? 443 : 80;
	p += 3;
	end = p + strcspn(p, "/?#");
	at = memchr(p, '@', (size_t)(end - p));
	if (at)
		p = at + 1;
	if (*p == '[') {
		const char *close = memchr(p, ']', (size_t)(end - p));

		if (!close)
			return -EINVAL;
		len = (size_t)(close - p - 1);
		colon = close + 1 < end && close[1] == ':' ? close + 1 : NULL;
		p++;
	} else {
		colon = memchr(p, ':', (size_t)(end - p));
		len = (size_t)((colon ? colon : end) - p);
	}
	if (len == 0 || len >= host_len)
		return -EINVAL;
	memcpy(host, p, len);
	host[len] = 0;
	if (colon && colon + 1 < end) {
		char *stop;
		unsigned long v = strtoul(colon + 1, &stop, 10);

		if (stop != end || v == 0 || v > 65535)
			return -EINVAL;
		*port = (uint16_t)v;
	}
	return 0;
}

int ny_dns_curl_resolve_entry(const char *url, uint32_t timeout_ms, char *out, size_t out_len)
{
	char host[256], ip[INET6_ADDRSTRLEN];
	unsigned char probe[16];
	struct ny_io_addr addr;
	uint16_t port;
	int ret, n;

	if (!ny_dns_have_default_servers() || url_host(url, host, sizeof(host), &port) < 0)
		return 1;
	if (inet_pton(AF_INET, host, probe) == 1 || inet_pton(AF_INET6, host, probe) == 1)
		return 1;
	if ((ret = lookup_default(host, port, timeout_ms, &addr)) < 0)
		return ret;
	inet_ntop(addr.family, addr.ip, ip, sizeof(ip));
	/* CURLOPT_RESOLVE takes IPv6 addresses in brackets since 7.57 (ours is >= 7.85). */
	n = snprintf(out, out_len, addr.family == AF_INET6 ? "%s:%u:[%s]" : "%s:%u:%s", host, port, ip);
	return n < 0 || (size_t)n >= out_len ? -ENAMETOOLONG : 0;
}
