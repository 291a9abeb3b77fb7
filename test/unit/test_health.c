/* Prefix health checks (reference §5.2): the result -> metric mapping (the override only while healthy, INF before
 * the first success and while failing), which configuration changes restart a monitor, the ICMP echo build/parse
 * (checksum, identifier/sequence matching, foreign replies rejected), and the http check against a tiny server on
 * loopback (200 passes, 500 and a timeout fail), alone and through a running monitor. */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "nylon/base.h"
#include "nylon/conf.h"
#include "nylon/health.h"
#include "nylon/offload.h"
#include "nylon/route.h"
#include "loopback.h"

/* ---- metric mapping ---- */

static struct ny_conf_prefix ping_prefix(void)
{
	struct ny_conf_prefix p = { .type = NY_CONF_PREFIX_PING, .delay_ns = 1000000000LL, .max_failures = 3 };

	cr_assert_eq(ny_conf_cidr_parse(&p.prefix, "198.19.9.9/32"), 0);
	cr_assert_eq(ny_conf_addr_parse(&p.addr, "10.9.0.1"), 0);
	return p;
}

struct metric_case {
	bool has_metric;
	uint32_t override;
	bool healthy;
	uint64_t elapsed_ns;
	uint32_t want;
};

Test(health, metric_mapping)
{
	static const struct metric_case cases[] = {
		{ false, 0, false, 0, NY_ROUTE_INF },          /* failing (or no success yet): not advertised */
		{ false, 0, false, 5000000, NY_ROUTE_INF },    /* a failed round's time means nothing */
		{ true, 10, false, 5000000, NY_ROUTE_INF },    /* the override only while healthy (our decision) */
		{ false, 0, true, 1234567, 1234 },             /* healthy: measured µs */
		{ false, 0, true, 10, 1 },                     /* never 0 µs */
		{ false, 0, true, UINT64_MAX, NY_ROUTE_INFM }, /* saturates below INF */
		{ true, 10, true, 1234567, 10 },               /* healthy with override */
		{ true, 0, true, 1234567, 0 },                 /* override 0 is a metric */
		{ true, NY_ROUTE_INF, true, 1, NY_ROUTE_INFM }, /* healthy is never a retraction */
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct ny_conf_prefix p = ping_prefix();

		p.has_metric = cases[i].has_metric;
		p.metric = cases[i].override;
		cr_expect_eq(ny_health_metric(&p, cases[i].healthy, cases[i].elapsed_ns), cases[i].want,
			     "case %zu: got %u, want %u", i, ny_health_metric(&p, cases[i].healthy, cases[i].elapsed_ns),
			     cases[i].want);
	}
}

Test(health, conf_equal_restarts_only_on_a_change)
{
	struct ny_conf_prefix a = ping_prefix(), b = ping_prefix();
	char if1[] = "eth0", if2[] = "eth0", if3[] = "eth1";

	cr_expect(ny_health_conf_equal(&a, &b));
	a.bind_if = if1;
	b.bind_if = if2;
	cr_expect(ny_health_conf_equal(&a, &b), "same bind_if in different buffers");
	b.bind_if = if3;
	cr_expect_not(ny_health_conf_equal(&a, &b));
	b = a;
	b.delay_ns++;
	cr_expect_not(ny_health_conf_equal(&a, &b));
	b = a;
	b.max_failures = 1;
	cr_expect_not(ny_health_conf_equal(&a, &b));
	b = a;
	b.addr.bytes[3]++;
	cr_expect_not(ny_health_conf_equal(&a, &b));
	b = a;
	b.has_metric = true;
	cr_expect_not(ny_health_conf_equal(&a, &b));
	b = a;
	b.type = NY_CONF_PREFIX_HTTP;
	cr_expect_not(ny_health_conf_equal(&a, &b));
}

/* ---- ICMP ---- */

/* The checksum the ping check computes and verifies with (include/nylon/offload.h). */
static uint16_t icmp_checksum(const void *buf, size_t len)
{
	return ny_csum_finish(ny_csum_partial(buf, len, 0));
}

Test(health, checksum_rfc1071_example)
{
	/* RFC 1071 §3: the words 0001 f203 f4f5 f6f7 sum (one's complement) to ddf2. */
	static const uint8_t data[] = { 0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7 };

	cr_expect_eq(icmp_checksum(data, sizeof(data)), (uint16_t)~0xddf2);
	cr_expect_eq(icmp_checksum((const uint8_t *)"\x01", 1), (uint16_t)~0x0100, "odd length pads with 0");
}

/* The reply a kernel sends to our request: type 0 (v4, inside an IPv4 header) or 129 (v6), same id/seq/payload. */
static size_t make_reply(uint8_t *out, int family, uint16_t id, uint16_t seq)
{
	uint8_t icmp[NY_HEALTH_ICMP_LEN];
	uint16_t sum;

	ny_health_icmp_build(icmp, family, id, seq);
	if (family == AF_INET6) {
		icmp[0] = 129;
		memcpy(out, icmp, sizeof(icmp));
		return sizeof(icmp);
	}
	icmp[0] = 0;
	icmp[2] = icmp[3] = 0;
	sum = icmp_checksum(icmp, sizeof(icmp));
	icmp[2] = (uint8_t)(sum >> 8);
	icmp[3] = (uint8_t)sum;
	memset(out, 0, 20);
	out[0] = 0x45; /* v4, 20-byte header */
	out[9] = IPPROTO_ICMP;
	memcpy(out + 20, icmp, sizeof(icmp));
	return 20 + sizeof(icmp);
}

Test(health, icmp_request_is_well_formed)
{
	uint8_t b[NY_HEALTH_ICMP_LEN];

	ny_health_icmp_build(b, AF_INET, 0x1234, 0xabcd);
	cr_expect_eq(b[0], 8);
	cr_expect_eq(b[1], 0);
	cr_expect_eq(b[4] << 8 | b[5], 0x1234);
	cr_expect_eq(b[6] << 8 | b[7], 0xabcd);
	cr_expect_eq(icmp_checksum(b, sizeof(b)), 0, "the checksum verifies");
	ny_health_icmp_build(b, AF_INET6, 0x1234, 0xabcd);
	cr_expect_eq(b[0], 128);
	cr_expect_eq(b[2] | b[3], 0, "v6: the kernel fills the checksum in");
}

Test(health, icmp_reply_matches_only_our_id_and_seq)
{
	uint8_t b[64];
	size_t n;

	n = make_reply(b, AF_INET, 0x1234, 7);
	cr_expect(ny_health_icmp_match(b, n, AF_INET, 0x1234, 7));
	cr_expect_not(ny_health_icmp_match(b, n, AF_INET, 0x1235, 7), "another pinger's identifier");
	cr_expect_not(ny_health_icmp_match(b, n, AF_INET, 0x1234, 6), "an older attempt's sequence");
	n = make_reply(b, AF_INET6, 0x1234, 7);
	cr_expect(ny_health_icmp_match(b, n, AF_INET6, 0x1234, 7));
	cr_expect_not(ny_health_icmp_match(b, n, AF_INET6, 0x4321, 7));
	cr_expect_not(ny_health_icmp_match(b, n, AF_INET, 0x1234, 7), "an ICMPv6 message is no IPv4 packet");
}

Test(health, icmp_rejects_malformed_and_foreign)
{
	uint8_t b[64], req[NY_HEALTH_ICMP_LEN];
	size_t n = make_reply(b, AF_INET, 1, 2);

	for (size_t len = 0; len < n; len++) /* every truncation, IP header included */
		cr_expect_not(ny_health_icmp_match(b, len, AF_INET, 1, 2), "truncated to %zu", len);
	b[25] ^= 0x40; /* a corrupted identifier (0x4001 now): the checksum no longer verifies */
	cr_expect_not(ny_health_icmp_match(b, n, AF_INET, 0x4001, 2));
	n = make_reply(b, AF_INET, 1, 2);
	b[0] = 0x4f; /* IHL 60 > length */
	cr_expect_not(ny_health_icmp_match(b, n, AF_INET, 1, 2));
	n = make_reply(b, AF_INET, 1, 2);
	b[9] = IPPROTO_UDP;
	cr_expect_not(ny_health_icmp_match(b, n, AF_INET, 1, 2));
	/* Our own request looped back is no reply. */
	ny_health_icmp_build(req, AF_INET6, 1, 2);
	cr_expect_not(ny_health_icmp_match(req, sizeof(req), AF_INET6, 1, 2));
	n = make_reply(b, AF_INET6, 1, 2);
	b[1] = 1; /* non-zero code */
	cr_expect_not(ny_health_icmp_match(b, n, AF_INET6, 1, 2));
}

/* ---- HTTP against a loopback server ---- */

struct server {
	int fd;
	uint16_t port;
	pthread_t thread;
	atomic_int requests;
};

/* One connection: / and /ok answer 200 with a body, /fail 500, /slow nothing for 3 s. */
static void serve(int c)
{
	char req[1024];
	ssize_t n = recv(c, req, sizeof(req) - 1, 0);
	const char *resp;

	if (n <= 0)
		return;
	req[n] = '\0';
	if (strncmp(req, "GET /slow", 9) == 0) {
		struct timeval tv = { 3, 0 };

		setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		(void)recv(c, req, sizeof(req), 0); /* returns when the client gives up, or after 3 s */
		return;
	}
	if (strncmp(req, "GET /fail", 9) == 0)
		resp = "HTTP/1.1 500 Internal Server Error\r\nContent-Length: 5\r\nConnection: close\r\n\r\nerror";
	else
		resp = "HTTP/1.1 200 OK\r\nContent-Length: 12\r\nConnection: close\r\n\r\nhello health";
	(void)send(c, resp, strlen(resp), MSG_NOSIGNAL);
}

static void *server_main(void *arg)
{
	struct server *s = arg;
	int c;

	while ((c = accept(s->fd, NULL, NULL)) >= 0) {
		atomic_fetch_add(&s->requests, 1);
		serve(c);
		close(c);
	}
	return NULL;
}

static void server_start(struct server *s)
{
	s->fd = loopback_socket(SOCK_STREAM, 16, &s->port);
	atomic_init(&s->requests, 0);
	cr_assert_eq(pthread_create(&s->thread, NULL, server_main, s), 0);
}

static void server_stop(struct server *s)
{
	shutdown(s->fd, SHUT_RDWR); /* wakes accept() */
	pthread_join(s->thread, NULL);
	close(s->fd);
}

static void url(char *out, size_t len, const struct server *s, const char *path)
{
	snprintf(out, len, "http://127.0.0.1:%u%s", s->port, path);
}

Test(health, http_status_200_passes_500_and_timeout_fail)
{
	struct server s;
	char u[128];
	uint64_t elapsed = 0, t0;
	long status = 0;

	server_start(&s);
	url(u, sizeof(u), &s, "/ok");
	cr_expect_eq(ny_health_http_get(u, 2000000000LL, -1, &elapsed, &status), 0);
	cr_expect_eq(status, 200);
	cr_expect_gt(elapsed, 0);
	url(u, sizeof(u), &s, "/fail");
	cr_expect_eq(ny_health_http_get(u, 2000000000LL, -1, &elapsed, &status), -EPROTO);
	cr_expect_eq(status, 500);
	url(u, sizeof(u), &s, "/slow");
	t0 = ny_clock_mono_ns();
	cr_expect_eq(ny_health_http_get(u, 300000000LL, -1, &elapsed, NULL), -ETIMEDOUT);
	cr_expect_lt(ny_clock_mono_ns() - t0, 2000000000ULL, "the timeout is the check's delay");
	server_stop(&s);
	/* Nobody listens any more: a refused connection is a failure too, and says so. */
	url(u, sizeof(u), &s, "/ok");
	cr_expect_eq(ny_health_http_get(u, 1000000000LL, -1, &elapsed, NULL), -ECONNREFUSED);
}

/* ---- monitors ---- */

struct reports {
	pthread_mutex_t lock;
	unsigned n;
	uint32_t last;
};

static int record(void *arg, struct ny_health_monitor *m, const struct ny_conf_cidr *prefix, uint32_t metric)
{
	struct reports *r = arg;

	(void)m;
	(void)prefix;
	pthread_mutex_lock(&r->lock);
	r->n++;
	r->last = metric;
	pthread_mutex_unlock(&r->lock);
	return 0;
}

/* Waits (bounded, 5 s) for at least n reports; returns the last metric. */
static uint32_t wait_reports(struct reports *r, unsigned n)
{
	for (int i = 0; i < 500; i++) {
		uint32_t last;
		bool done;

		pthread_mutex_lock(&r->lock);
		done = r->n >= n;
		last = r->last;
		pthread_mutex_unlock(&r->lock);
		if (done)
			return last;
		usleep(10000);
	}
	cr_assert_fail("fewer than %u reports in 5 s", n);
	return 0;
}

Test(health, monitor_reports_and_is_kept_or_restarted)
{
	struct reports r = { PTHREAD_MUTEX_INITIALIZER, 0, 0 };
	struct ny_conf_prefix p[2] = { { .type = NY_CONF_PREFIX_STATIC }, { .type = NY_CONF_PREFIX_HTTP } };
	struct ny_health *h = ny_health_new(record, &r);
	struct server s;
	char u[128], u2[128];
	bool kept[2];
	uint64_t t0;

	cr_assert(h);
	server_start(&s);
	url(u, sizeof(u), &s, "/ok");
	url(u2, sizeof(u2), &s, "/fail");
	cr_assert_eq(ny_conf_cidr_parse(&p[0].prefix, "10.1.0.0/16"), 0);
	cr_assert_eq(ny_conf_cidr_parse(&p[1].prefix, "198.19.9.9/32"), 0);
	p[1].delay_ns = 100000000LL;
	p[1].url = u;
	cr_assert_eq(ny_health_set(h, p, 2, kept), 0);
	cr_expect_not(kept[0]);
	cr_expect_not(kept[1], "a new monitor");
	cr_expect_lt(wait_reports(&r, 2), NY_ROUTE_INF, "200: healthy, a finite metric");

	cr_assert_eq(ny_health_set(h, p, 2, kept), 0);
	cr_expect(kept[1], "unchanged: kept running");

	p[1].has_metric = true;
	p[1].metric = 10;
	cr_assert_eq(ny_health_set(h, p, 2, kept), 0);
	cr_expect_not(kept[1], "changed: restarted");
	pthread_mutex_lock(&r.lock);
	r.n = 0;
	pthread_mutex_unlock(&r.lock);
	cr_expect_eq(wait_reports(&r, 2), 10, "the override while healthy");

	p[1].url = u2;
	cr_assert_eq(ny_health_set(h, p, 2, kept), 0);
	pthread_mutex_lock(&r.lock);
	r.n = 0;
	pthread_mutex_unlock(&r.lock);
	cr_expect_eq(wait_reports(&r, 2), NY_ROUTE_INF, "500: INF, override or not");

	/* Stopping does not wait for a probe: a monitor stuck on a slow server gives up at once (libcurl checks
	 * within a second). */
	url(u2, sizeof(u2), &s, "/slow");
	p[1].delay_ns = 10000000000LL;
	cr_assert_eq(ny_health_set(h, p, 2, kept), 0);
	usleep(200000);
	t0 = ny_clock_mono_ns();
	ny_health_free(h);
	cr_expect_lt(ny_clock_mono_ns() - t0, 2500000000ULL, "stopped within a bound");
	server_stop(&s);
}
