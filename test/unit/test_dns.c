/* Endpoint names (reference §3.7, nylon/dns.h) against a tiny DNS responder on 127.0.0.1 (random port), run by
 * a thread of this test: SRV `_nylon._udp` is preferred (its target and port), A/AAAA with the given port
 * otherwise, NXDOMAIN is an error, a server that never answers costs at most the lookup timeout and the next
 * server in the list answers; the cache keeps the last good address when a refresh fails, reports changes, looks
 * names up again by age (1 min, checked every 15 s, time injected) or at once after their endpoints went
 * inactive, never caches literals and forgets names no longer configured; the CURLOPT_RESOLVE entry for URLs, and
 * HTTP health checks and bundle fetches going through dns_resolvers (a name only the responder knows). */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "nylon/base.h"
#include "nylon/conf.h"
#include "nylon/dist.h"
#include "nylon/dns.h"
#include "nylon/health.h"
#include "loopback.h"

/* ---- the responder ---- */

enum rr_kind { RR_A, RR_AAAA, RR_SRV, RR_NXDOMAIN, RR_SILENT };

struct rr {
	const char *name;
	enum rr_kind kind;
	const char *value; /* address, or SRV target */
	uint16_t port;     /* SRV */
};

#define MAX_RRS 16

static struct {
	int fd;
	uint16_t port;
	pthread_t thread;
	atomic_bool stop;
	pthread_mutex_t lock;
	struct rr rrs[MAX_RRS]; /* under lock */
	size_t n_rrs;
	unsigned queries;       /* under lock */
} srv = { .lock = PTHREAD_MUTEX_INITIALIZER };

static void rr_set(const char *name, enum rr_kind kind, const char *value, uint16_t port)
{
	pthread_mutex_lock(&srv.lock);
	for (size_t i = 0; i < srv.n_rrs; i++)
		if (strcmp(srv.rrs[i].name, name) == 0 && (srv.rrs[i].kind == kind || kind >= RR_NXDOMAIN ||
							  srv.rrs[i].kind >= RR_NXDOMAIN)) {
			srv.rrs[i] = (struct rr){ name, kind, value, port };
			pthread_mutex_unlock(&srv.lock);
			return;
		}
	cr_assert_lt(srv.n_rrs, MAX_RRS);
	srv.rrs[srv.n_rrs++] = (struct rr){ name, kind, value, port };
	pthread_mutex_unlock(&srv.lock);
}

static unsigned queries(void)
{
	unsigned n;

	pthread_mutex_lock(&srv.lock);
	n = srv.queries;
	pthread_mutex_unlock(&srv.lock);
	return n;
}

/* The question's name as dotted text; returns the offset after QNAME, or 0 when malformed. */
static size_t qname(const uint8_t *m, size_t len, char *out, size_t cap)
{
	size_t at = 12, o = 0;

	while (at < len && m[at]) {
		size_t l = m[at++];

		if (l > 63 || at + l > len || o + l + 2 > cap)
			return 0;
		if (o)
			out[o++] = '.';
		memcpy(out + o, m + at, l);
		o += l;
		at += l;
	}
	out[o] = 0;
	return at < len ? at + 1 : 0;
}

static size_t put_name(uint8_t *p, const char *name)
{
	size_t o = 0;

	while (*name) {
		size_t l = strcspn(name, ".");

		p[o++] = (uint8_t)l;
		memcpy(p + o, name, l);
		o += l;
		name += l;
		if (*name == '.')
			name++;
	}
	p[o++] = 0;
	return o;
}

/* One answer: the question echoed, then every record of the name with the asked type (TTL 0). */
static void answer(const uint8_t *q, size_t qlen, struct sockaddr_in *from)
{
	uint8_t out[512];
	char name[256];
	size_t end = qname(q, qlen, name, sizeof(name)), o;
	uint16_t qtype, ancount = 0;
	bool known = false;

	if (!end || end + 4 > qlen)
		return;
	qtype = (uint16_t)(q[end] << 8 | q[end + 1]);
	end += 4;
	memcpy(out, q, end);
	out[2] = 0x81 | (q[2] & 0x01); /* QR, AA, RD copied */
	out[3] = 0x80;                 /* RA, NOERROR */
	out[6] = out[7] = out[8] = out[9] = out[10] = out[11] = 0;
	o = end;
	pthread_mutex_lock(&srv.lock);
	srv.queries++;
	for (size_t i = 0; i < srv.n_rrs; i++) {
		const struct rr *r = &srv.rrs[i];
		uint8_t rdata[300];
		uint16_t type, rdlen;

		if (strcasecmp(r->name, name) != 0)
			continue;
		known = true;
		if (r->kind == RR_SILENT) {
			pthread_mutex_unlock(&srv.lock);
			return;
		}
		if (r->kind == RR_NXDOMAIN) {
			known = false;
			break;
		}
		type = r->kind == RR_A ? 1 : r->kind == RR_AAAA ? 28 : 33;
		if (type != qtype)
			continue;
		if (r->kind == RR_A) {
			inet_pton(AF_INET, r->value, rdata);
			rdlen = 4;
		} else if (r->kind == RR_AAAA) {
			inet_pton(AF_INET6, r->value, rdata);
			rdlen = 16;
		} else {
			rdata[0] = 0, rdata[1] = 10; /* priority */
			rdata[2] = 0, rdata[3] = 5;  /* weight */
			rdata[4] = (uint8_t)(r->port >> 8), rdata[5] = (uint8_t)r->port;
			rdlen = (uint16_t)(6 + put_name(rdata + 6, r->value));
		}
		out[o++] = 0xc0, out[o++] = 12; /* the question's name */
		out[o++] = (uint8_t)(type >> 8), out[o++] = (uint8_t)type;
		out[o++] = 0, out[o++] = 1;                         /* IN */
		out[o++] = 0, out[o++] = 0, out[o++] = 0, out[o++] = 0; /* TTL 0 */
		out[o++] = (uint8_t)(rdlen >> 8), out[o++] = (uint8_t)rdlen;
		memcpy(out + o, rdata, rdlen);
		o += rdlen;
		ancount++;
	}
	pthread_mutex_unlock(&srv.lock);
	if (!known)
		out[3] |= 3; /* NXDOMAIN */
	out[6] = (uint8_t)(ancount >> 8), out[7] = (uint8_t)ancount;
	sendto(srv.fd, out, o, 0, (struct sockaddr *)from, sizeof(*from));
}

static void *responder(void *arg)
{
	(void)arg;
	while (!atomic_load(&srv.stop)) {
		struct pollfd p = { .fd = srv.fd, .events = POLLIN };
		struct sockaddr_in from;
		socklen_t flen = sizeof(from);
		uint8_t q[512];
		ssize_t n;

		if (poll(&p, 1, 50) <= 0)
			continue;
		n = recvfrom(srv.fd, q, sizeof(q), 0, (struct sockaddr *)&from, &flen);
		if (n >= 12)
			answer(q, (size_t)n, &from);
	}
	return NULL;
}

static void responder_start(void)
{
	srv.fd = loopback_socket(SOCK_DGRAM, 0, &srv.port);
	srv.n_rrs = 0;
	srv.queries = 0;
	atomic_store(&srv.stop, false);
	cr_assert_eq(pthread_create(&srv.thread, NULL, responder, NULL), 0);
	rr_set("s.nylon.test", RR_A, "198.18.7.1", 0);
	rr_set("_nylon._udp.s.nylon.test", RR_SRV, "t.nylon.test", 4000);
	rr_set("t.nylon.test", RR_A, "198.18.7.2", 0);
	rr_set("a.nylon.test", RR_A, "198.18.7.3", 0);
	rr_set("v6.nylon.test", RR_AAAA, "fd00::7", 0);
	rr_set("slow.nylon.test", RR_SILENT, NULL, 0);
	rr_set("_nylon._udp.slow.nylon.test", RR_SILENT, NULL, 0);
}

static void responder_stop(void)
{
	atomic_store(&srv.stop, true);
	pthread_join(srv.thread, NULL);
	close(srv.fd);
	ny_dns_set_default_servers(NULL, 0);
}

TestSuite(dns, .init = responder_start, .fini = responder_stop);

/* ---- helpers ---- */

static struct ny_conf_resolver server(uint16_t port)
{
	struct ny_conf_resolver r = { .port = port };

	cr_assert_eq(ny_conf_addr_parse(&r.addr, "127.0.0.1"), 0);
	return r;
}

static struct ny_dns_options options(struct ny_conf_resolver *r, uint32_t timeout_ms)
{
	*r = server(srv.port);
	return (struct ny_dns_options){ r, 1, timeout_ms };
}

static void addr_is(const struct ny_io_addr *a, const char *want)
{
	char text[64];

	ny_io_addr_format(a, text, sizeof(text));
	cr_expect_str_eq(text, want);
}

/* Polls the resolver (real sockets, time now_ns as the lookups' clock) until done() holds, at most 3 s. */
static void drive(struct ny_dns *dns, uint64_t now_ns, bool (*done)(void *), void *arg)
{
	uint64_t until = ny_clock_mono_ns() + 3000000000ull;

	while (!done(arg) && ny_clock_mono_ns() < until) {
		struct pollfd fds[NY_DNS_MAX_FDS];
		size_t n = ny_dns_pollfds(dns, fds, NY_DNS_MAX_FDS);

		poll(fds, n, 20);
		ny_dns_process(dns, fds, n, now_ns);
	}
	cr_assert(done(arg), "the resolver did not finish within 3 s");
}

/* ---- the resolver ---- */

Test(dns, srv_record_is_preferred)
{
	struct ny_conf_resolver r;
	struct ny_dns_options o = options(&r, 0);
	struct ny_io_addr a;

	cr_assert_eq(ny_dns_lookup(&o, "s.nylon.test", 57175, true, &a), 0);
	addr_is(&a, "198.18.7.2:4000"); /* the SRV target and port, not s's own A record */
}

Test(dns, without_srv_the_address_record_and_given_port)
{
	struct ny_conf_resolver r;
	struct ny_dns_options o = options(&r, 0);
	struct ny_io_addr a;

	cr_assert_eq(ny_dns_lookup(&o, "a.nylon.test", 57175, true, &a), 0);
	addr_is(&a, "198.18.7.3:57175");
	cr_assert_eq(ny_dns_lookup(&o, "s.nylon.test", 1234, false, &a), 0); /* SRV not asked for */
	addr_is(&a, "198.18.7.1:1234");
	cr_assert_eq(ny_dns_lookup(&o, "v6.nylon.test", 5000, true, &a), 0);
	addr_is(&a, "[fd00::7]:5000");
}

Test(dns, nxdomain_is_an_error)
{
	struct ny_conf_resolver r;
	struct ny_dns_options o = options(&r, 0);
	struct ny_io_addr a;

	cr_assert_eq(ny_dns_lookup(&o, "missing.nylon.test", 57175, true, &a), -ENOENT);
}

Test(dns, a_silent_server_costs_at_most_the_timeout)
{
	struct ny_conf_resolver r;
	struct ny_dns_options o = options(&r, 300);
	struct ny_io_addr a;
	uint64_t t0 = ny_clock_mono_ns(), ms;

	cr_assert_eq(ny_dns_lookup(&o, "slow.nylon.test", 57175, true, &a), -ETIMEDOUT);
	ms = (ny_clock_mono_ns() - t0) / 1000000;
	cr_expect(ms >= 250 && ms < 1000, "timed out after %llu ms, expected about 300", (unsigned long long)ms);
}

Test(dns, next_server_answers_when_the_first_is_dead)
{
	struct ny_conf_resolver rs[2];
	int dead = socket(AF_INET, SOCK_DGRAM, 0);
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(sa);
	struct ny_io_addr a;

	/* A port nobody listens on: bound, then closed. */
	cr_assert_eq(bind(dead, (struct sockaddr *)&sa, sizeof(sa)), 0);
	cr_assert_eq(getsockname(dead, (struct sockaddr *)&sa, &len), 0);
	close(dead);
	rs[0] = server(ntohs(sa.sin_port));
	rs[1] = server(srv.port);
	cr_assert_eq(ny_dns_lookup(&(struct ny_dns_options){ rs, 2, 3000 }, "a.nylon.test", 57175, true, &a), 0);
	addr_is(&a, "198.18.7.3:57175");
}

struct counted {
	unsigned calls;
	int status;
};

static void count_done(void *arg, uint64_t id, int status, const struct ny_io_addr *addr)
{
	struct counted *c = arg;

	(void)id;
	(void)addr;
	c->calls++;
	c->status = status;
}

Test(dns, deadline_is_the_callers_clock_and_callbacks_run_once)
{
	struct ny_conf_resolver r;
	struct ny_dns_options o = options(&r, 5000);
	struct ny_dns *dns;
	struct counted c = { 0, 1 };
	uint64_t now = 1000000000000ull;

	cr_assert_eq(ny_dns_new(&dns, &o), 0);
	cr_assert_gt(ny_dns_resolve(dns, "slow.nylon.test", 57175, true, now, count_done, &c), 0);
	cr_assert_eq(ny_dns_pending(dns), 1);
	ny_dns_process(dns, NULL, 0, now + 4999000000ull);
	cr_expect_eq(c.calls, 0);
	ny_dns_process(dns, NULL, 0, now + 5000000000ull);
	cr_expect_eq(c.calls, 1);
	cr_expect_eq(c.status, -ETIMEDOUT);
	cr_expect_eq(ny_dns_pending(dns), 0);
	ny_dns_process(dns, NULL, 0, now + 9000000000ull);
	cr_expect_eq(c.calls, 1);
	ny_dns_free(dns); /* its queries are still in c-ares: dropped without a second callback */
	cr_expect_eq(c.calls, 1);
}

Test(dns, free_with_lookups_in_flight_calls_nothing)
{
	struct ny_conf_resolver r;
	struct ny_dns_options o = options(&r, 0);
	struct ny_dns *dns;
	struct counted c = { 0, 1 };

	cr_assert_eq(ny_dns_new(&dns, &o), 0);
	cr_assert_gt(ny_dns_resolve(dns, "a.nylon.test", 57175, true, 0, count_done, &c), 0);
	ny_dns_free(dns);
	cr_expect_eq(c.calls, 0);
}

/* ---- the cache ---- */

struct changes {
	unsigned n;
	char text[64];
	char addr[64];
};

static void on_change(void *arg, const char *text, const struct ny_io_addr *addr)
{
	struct changes *ch = arg;

	ch->n++;
	snprintf(ch->text, sizeof(ch->text), "%s", text);
	ny_io_addr_format(addr, ch->addr, sizeof(ch->addr));
}

struct idle_arg {
	struct ny_dns_cache *c;
	const char *text;
};

static bool idle(void *arg)
{
	struct idle_arg *a = arg;

	return !ny_dns_cache_in_flight(a->c, a->text);
}

static struct ny_conf_endpoint endpoint(const char *text)
{
	struct ny_conf_endpoint ep;

	cr_assert_eq(ny_conf_endpoint_parse(&ep, text), 0, "%s", text);
	return ep;
}

#define T0 1000000000000ull
#define SEC 1000000000ull

struct cache_fixture {
	struct ny_conf_resolver r;
	struct ny_dns *dns;
	struct ny_dns_cache *c;
	struct changes ch;
};

static void cache_setup(struct cache_fixture *f)
{
	struct ny_dns_options o = options(&f->r, 1000);

	memset(&f->ch, 0, sizeof(f->ch));
	cr_assert_eq(ny_dns_new(&f->dns, &o), 0);
	cr_assert_eq(ny_dns_cache_new(&f->c, f->dns, NULL, on_change, &f->ch), 0);
}

static void cache_teardown(struct cache_fixture *f)
{
	ny_dns_cache_free(f->c);
	ny_dns_free(f->dns);
}

static void settle(struct cache_fixture *f, const char *text, uint64_t now)
{
	struct idle_arg a = { f->c, text };

	drive(f->dns, now, idle, &a);
}

Test(dns, cache_resolves_new_names_and_reports_them)
{
	struct cache_fixture f;
	struct ny_conf_endpoint ep = endpoint("s.nylon.test");
	struct ny_io_addr a;

	cache_setup(&f);
	cr_assert_eq(ny_dns_cache_want(f.c, &ep, T0), 0);
	cr_expect_eq(ny_dns_cache_get(f.c, "s.nylon.test", &a), -ENOENT); /* in flight, nothing known yet */
	settle(&f, "s.nylon.test", T0);
	cr_assert_eq(ny_dns_cache_get(f.c, "s.nylon.test", &a), 0);
	addr_is(&a, "198.18.7.2:4000");
	cr_expect_eq(f.ch.n, 1);
	cr_expect_str_eq(f.ch.text, "s.nylon.test");
	cr_expect_str_eq(f.ch.addr, "198.18.7.2:4000");
	ny_conf_endpoint_clear(&ep);
	cache_teardown(&f);
}

Test(dns, cache_never_holds_literals)
{
	struct cache_fixture f;
	struct ny_conf_endpoint v4 = endpoint("198.18.0.1:4000"), v6 = endpoint("[fd00::1]:4000");
	struct ny_io_addr a;

	cache_setup(&f);
	cr_assert_eq(ny_dns_cache_want(f.c, &v4, T0), 0);
	cr_assert_eq(ny_dns_cache_want(f.c, &v6, T0), 0);
	cr_expect_eq(ny_dns_cache_count(f.c), 0);
	cr_expect_eq(ny_dns_cache_get(f.c, "198.18.0.1:4000", &a), -ENOENT);
	cr_expect_eq(ny_dns_pending(f.dns), 0);
	ny_conf_endpoint_clear(&v4);
	ny_conf_endpoint_clear(&v6);
	cache_teardown(&f);
}

Test(dns, cache_keeps_the_last_good_address_when_a_refresh_fails)
{
	struct cache_fixture f;
	struct ny_conf_endpoint ep = endpoint("a.nylon.test:4100");
	struct ny_io_addr a;

	cache_setup(&f);
	cr_assert_eq(ny_dns_cache_want(f.c, &ep, T0), 0);
	settle(&f, ep.text, T0);
	ny_dns_cache_tick(f.c, T0); /* first check: nothing due */
	cr_expect_not(ny_dns_cache_in_flight(f.c, ep.text));
	rr_set("a.nylon.test", RR_NXDOMAIN, NULL, 0);
	ny_dns_cache_tick(f.c, T0 + 60 * SEC); /* old: looked up again, and fails */
	cr_expect(ny_dns_cache_in_flight(f.c, ep.text));
	settle(&f, ep.text, T0 + 60 * SEC);
	cr_assert_eq(ny_dns_cache_get(f.c, ep.text, &a), 0);
	addr_is(&a, "198.18.7.3:4100");
	cr_expect_eq(f.ch.n, 1); /* a failure is no change */
	cr_expect(ny_dns_cache_expired(f.c, ep.text, T0 + 60 * SEC)); /* still due: tried again next check */
	ny_conf_endpoint_clear(&ep);
	cache_teardown(&f);
}

Test(dns, cache_refreshes_by_age_on_its_check_period)
{
	struct cache_fixture f;
	struct ny_conf_endpoint ep = endpoint("a.nylon.test");
	unsigned q;

	cache_setup(&f);
	cr_assert_eq(ny_dns_cache_want(f.c, &ep, T0), 0);
	settle(&f, ep.text, T0);
	cr_expect_eq(ny_dns_cache_tick(f.c, T0 + SEC), T0 + 16 * SEC);
	q = queries();
	cr_expect_eq(ny_dns_cache_tick(f.c, T0 + 16 * SEC), T0 + 31 * SEC); /* 16 s old: not yet */
	cr_expect_not(ny_dns_cache_in_flight(f.c, ep.text));
	cr_expect_eq(ny_dns_cache_tick(f.c, T0 + 46 * SEC), T0 + 61 * SEC);
	cr_expect_not(ny_dns_cache_in_flight(f.c, ep.text));
	cr_expect_eq(queries(), q);
	/* Between checks nothing happens even once it is old; at the check it is looked up. */
	cr_expect_eq(ny_dns_cache_tick(f.c, T0 + 60 * SEC), T0 + 61 * SEC);
	cr_expect_not(ny_dns_cache_in_flight(f.c, ep.text));
	ny_dns_cache_tick(f.c, T0 + 61 * SEC);
	cr_expect(ny_dns_cache_in_flight(f.c, ep.text));
	rr_set("a.nylon.test", RR_A, "198.18.7.9", 0);
	settle(&f, ep.text, T0 + 61 * SEC);
	cr_expect_eq(f.ch.n, 2);
	cr_expect_str_eq(f.ch.addr, "198.18.7.9:57175");
	cr_expect_not(ny_dns_cache_expired(f.c, ep.text, T0 + 62 * SEC));
	ny_conf_endpoint_clear(&ep);
	cache_teardown(&f);
}

Test(dns, cache_expires_names_whose_endpoints_all_went_inactive)
{
	struct cache_fixture f;
	struct ny_conf_endpoint ep = endpoint("a.nylon.test"), other = endpoint("t.nylon.test");

	cache_setup(&f);
	cr_assert_eq(ny_dns_cache_want(f.c, &ep, T0), 0);
	cr_assert_eq(ny_dns_cache_want(f.c, &other, T0), 0);
	settle(&f, ep.text, T0);
	settle(&f, other.text, T0);
	ny_dns_cache_tick(f.c, T0);
	/* The same name on two neighbours: one of them active keeps the entry. */
	ny_dns_cache_note(f.c, ep.text, false);
	ny_dns_cache_note(f.c, ep.text, true);
	ny_dns_cache_note(f.c, other.text, true);
	ny_dns_cache_note_end(f.c);
	cr_expect_not(ny_dns_cache_expired(f.c, ep.text, T0 + SEC));
	ny_dns_cache_note(f.c, ep.text, false);
	ny_dns_cache_note(f.c, other.text, true);
	ny_dns_cache_note_end(f.c);
	cr_expect(ny_dns_cache_expired(f.c, ep.text, T0 + SEC));
	cr_expect_not(ny_dns_cache_expired(f.c, other.text, T0 + SEC));
	/* Within one check period (15 s), not a minute. */
	ny_dns_cache_tick(f.c, T0 + 15 * SEC);
	cr_expect(ny_dns_cache_in_flight(f.c, ep.text));
	cr_expect_not(ny_dns_cache_in_flight(f.c, other.text));
	settle(&f, ep.text, T0 + 15 * SEC);
	cr_expect_not(ny_dns_cache_expired(f.c, ep.text, T0 + 16 * SEC));
	ny_conf_endpoint_clear(&ep);
	ny_conf_endpoint_clear(&other);
	cache_teardown(&f);
}

Test(dns, cache_forgets_names_no_longer_configured)
{
	struct cache_fixture f;
	struct ny_conf_endpoint keep = endpoint("a.nylon.test"), drop = endpoint("slow.nylon.test");
	struct ny_io_addr a;

	cache_setup(&f);
	cr_assert_eq(ny_dns_cache_want(f.c, &keep, T0), 0);
	cr_assert_eq(ny_dns_cache_want(f.c, &drop, T0), 0);
	cr_expect_eq(ny_dns_cache_count(f.c), 2);
	ny_dns_cache_unmark(f.c);
	cr_assert_eq(ny_dns_cache_want(f.c, &keep, T0), 0);
	cr_expect_eq(ny_dns_cache_prune(f.c), 1);
	cr_expect_eq(ny_dns_cache_count(f.c), 1);
	settle(&f, keep.text, T0);
	cr_expect_eq(ny_dns_cache_get(f.c, keep.text, &a), 0);
	cr_expect_eq(ny_dns_cache_get(f.c, drop.text, &a), -ENOENT);
	/* The dropped name's lookup times out later and is ignored. */
	ny_dns_process(f.dns, NULL, 0, T0 + 10 * SEC);
	cr_expect_eq(ny_dns_pending(f.dns), 0);
	cr_expect_eq(f.ch.n, 1);
	ny_conf_endpoint_clear(&keep);
	ny_conf_endpoint_clear(&drop);
	cache_teardown(&f);
}

/* ---- URLs for libcurl ---- */

Test(dns, curl_resolve_entry_with_default_servers)
{
	struct ny_conf_resolver r = server(srv.port);
	char out[128];

	cr_expect_eq(ny_dns_curl_resolve_entry("http://a.nylon.test:8080/health", 0, out, sizeof(out)), 1,
		     "no dns_resolvers: left to libcurl");
	cr_assert_eq(ny_dns_set_default_servers(&r, 1), 0);
	cr_assert_eq(ny_dns_curl_resolve_entry("http://a.nylon.test:8080/health", 0, out, sizeof(out)), 0);
	cr_expect_str_eq(out, "a.nylon.test:8080:198.18.7.3");
	cr_assert_eq(ny_dns_curl_resolve_entry("https://user@v6.nylon.test/x?y", 0, out, sizeof(out)), 0);
	cr_expect_str_eq(out, "v6.nylon.test:443:[fd00::7]");
	cr_expect_eq(ny_dns_curl_resolve_entry("http://198.18.0.1:80/", 0, out, sizeof(out)), 1);
	cr_expect_eq(ny_dns_curl_resolve_entry("http://[fd00::1]:80/", 0, out, sizeof(out)), 1);
	cr_expect_eq(ny_dns_curl_resolve_entry("file:/etc/hosts", 0, out, sizeof(out)), 1);
	cr_expect_eq(ny_dns_curl_resolve_entry("http://missing.nylon.test/", 0, out, sizeof(out)), -ENOENT);
	cr_expect_eq(ny_dns_curl_resolve_entry("http://a.nylon.test/", 0, out, 8), -ENAMETOOLONG);
}

/* ---- health checks and bundle fetches (reference §2.1: dns_resolvers applies to them) ---- */

static struct {
	int fd;
	pthread_t thread;
	atomic_bool stop;
} web;

/* Answers every request on 127.0.0.1 with 200 and "hello". */
static void *web_main(void *arg)
{
	static const char reply[] = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello";

	(void)arg;
	while (!atomic_load(&web.stop)) {
		struct pollfd p = { .fd = web.fd, .events = POLLIN };
		char req[2048];
		size_t got = 0;
		int c;

		if (poll(&p, 1, 50) <= 0 || (c = accept(web.fd, NULL, NULL)) < 0)
			continue;
		while (got < sizeof(req) - 1) {
			struct pollfd q = { .fd = c, .events = POLLIN };
			ssize_t n;

			if (poll(&q, 1, 1000) <= 0 || (n = read(c, req + got, sizeof(req) - 1 - got)) <= 0)
				break;
			got += (size_t)n;
			req[got] = 0;
			if (strstr(req, "\r\n\r\n"))
				break;
		}
		if (write(c, reply, sizeof(reply) - 1) < 0) {
			/* the client went away: nothing to tell */
		}
		close(c);
	}
	return NULL;
}

static uint16_t web_start(void)
{
	uint16_t port;

	web.fd = loopback_socket(SOCK_STREAM, 8, &port);
	atomic_store(&web.stop, false);
	cr_assert_eq(pthread_create(&web.thread, NULL, web_main, NULL), 0);
	return port;
}

static void web_stop(void)
{
	atomic_store(&web.stop, true);
	pthread_join(web.thread, NULL);
	close(web.fd);
}

Test(dns, health_checks_and_bundle_fetches_use_dns_resolvers)
{
	struct ny_conf_resolver r = server(srv.port);
	uint16_t port = web_start();
	atomic_bool stop = false;
	char url[128], missing[128], err[256];
	uint64_t elapsed;
	char *body = NULL;
	size_t len = 0;

	rr_set("web.nylon.test", RR_A, "127.0.0.1", 0);
	snprintf(url, sizeof(url), "http://web.nylon.test:%u/health", port);
	snprintf(missing, sizeof(missing), "http://nope.nylon.test:%u/health", port);
	cr_assert_eq(ny_dns_set_default_servers(&r, 1), 0);

	cr_expect_eq(ny_health_http_get(url, 2000000000, -1, &elapsed, NULL), 0);
	cr_expect_eq(ny_health_http_get(missing, 2000000000, -1, &elapsed, NULL), -EHOSTUNREACH);
	cr_expect_eq(ny_dist_fetch(url, &stop, &body, &len, err, sizeof(err)), 0, "%s", err);
	cr_expect_eq(len, 5);
	cr_expect(body && memcmp(body, "hello", 5) == 0);
	free(body);
	body = NULL;
	cr_expect_lt(ny_dist_fetch(missing, &stop, &body, &len, err, sizeof(err)), 0);
	cr_expect(strstr(err, "dns_resolvers"), "error: %s", err);
	free(body);
	web_stop();
}
